"""Metric helpers: bounded labels, per-batch tallies, resolution outcomes, the status JSON contract."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from hopnhat.metrics import StageTally, record_resolution, webhook_channel
from hopnhat.offsets import PartitionLag
from hopnhat.status import DatabaseFigures, DlqDepth, LastEvent, QualityRow, Rate, StatusReport
from streams.postgres_sink import BatchOutcome


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(("path", "channel"), [
    ("/webhooks/zalo/oa-1", "zalo"),
    ("/webhooks/webform/lien-he", "webform"),
    ("/webhooks/tiktok/x", "unknown"),  # bounded: an unknown channel is one series, not one per name
    ("/v1/customers/lookup", None),
    ("/metrics", None),
], ids=["zalo", "webform", "unknown-channel", "api", "metrics"])
def test_webhook_channel_is_bounded_by_the_registry(path: str, channel: str | None) -> None:
    assert webhook_channel(path) == channel


def test_stage_tally_adds_a_batch_once() -> None:
    before_in = value("hopnhat_events_in_total", stage="normalise", channel="zalo")
    before_out = value("hopnhat_events_out_total", stage="normalise", channel="zalo")
    before_dead = value("hopnhat_dead_letters_total", stage="normalise", reason="invalid-envelope")
    before_batches = value("hopnhat_batch_size_count", stage="normalise")
    tally = StageTally("normalise")
    for _ in range(3):
        tally.took("zalo")
    tally.passed_on("zalo", 2)
    tally.dead_lettered("normalise", "invalid-envelope")
    assert value("hopnhat_events_in_total", stage="normalise", channel="zalo") == before_in  # nothing until flush
    tally.flush(3)
    assert value("hopnhat_events_in_total", stage="normalise", channel="zalo") == before_in + 3
    assert value("hopnhat_events_out_total", stage="normalise", channel="zalo") == before_out + 2
    assert value("hopnhat_dead_letters_total", stage="normalise", reason="invalid-envelope") == before_dead + 1
    assert value("hopnhat_batch_size_count", stage="normalise") == before_batches + 1
    assert value("hopnhat_last_event_timestamp_seconds", stage="normalise", channel="zalo") > 1.7e9


def test_resolution_outcomes_count_what_the_batch_reports() -> None:
    outcomes = ("new_customer", "merged", "duplicate", "review", "shared_identifier")
    before = {o: value("hopnhat_resolutions_total", outcome=o) for o in outcomes}
    refused_before = value("hopnhat_merge_refusals_total", reason="conflict:birth_date")
    record_resolution(BatchOutcome(stored=5, skipped=2, new_customers=3, merges=[], review_queued=1,
                                   refused={"shared_identifier": 4, "conflict:birth_date": 1}))
    after = {o: value("hopnhat_resolutions_total", outcome=o) - before[o] for o in outcomes}
    assert after == {"new_customer": 3, "merged": 0, "duplicate": 2, "review": 1, "shared_identifier": 4}
    assert value("hopnhat_merge_refusals_total", reason="conflict:birth_date") == refused_before + 1


def test_status_json_has_the_contract_keys_and_healthy_follows_problems() -> None:
    at = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    report = StatusReport(
        generated_at=at,
        lag=[PartitionLag("hopnhat", "raw.zalo", 0, 10, 12, 2)],
        rates=[Rate("resolve", "zalo", 1.5)],
        dlq=[DlqDepth("dlq.normalise", 4, 0, {})],
        database=DatabaseFigures(8_000_000, 120, 340, "0004", "0004"),
        last_event=[LastEvent("zalo", at, at)],
        quality=[QualityRow("zalo:oa-1", "phone", "accuracy", 0.97, False)],
    )
    body = report.as_dict()
    assert body["healthy"] is True and body["problems"] == []
    assert body["generated_at"] == "2026-11-22T08:30:00+00:00"
    assert body["lag"] == [{"group": "hopnhat", "topic": "raw.zalo", "partition": 0, "committed": 10, "end": 12,
                            "lag": 2}]
    assert body["rates"][0].items() >= {"stage": "resolve", "channel": "zalo", "events_per_s": 1.5}.items()
    assert body["dlq"][0]["topic"] == "dlq.normalise" and body["dlq"][0]["depth"] == 4
    assert {"size_bytes", "customers", "interactions"} <= set(body["database"])
    assert body["last_event"] == [{"channel": "zalo", "at": at.isoformat(), "stored_at": at.isoformat()}]
    assert body["quality"][0].items() >= {"source": "zalo:oa-1", "field": "phone", "criterion": "accuracy",
                                          "score": 0.97}.items()
    report.problems.append("raw.zalo[0]: lags")
    assert report.as_dict()["healthy"] is False


def test_a_second_worker_on_the_host_takes_the_next_free_port() -> None:
    import socket
    import urllib.request

    from hopnhat.embedded import free_port
    from hopnhat.metrics import start_worker_metrics
    from hopnhat.settings import Settings

    base = free_port()
    with socket.socket() as taken:  # the first worker's port
        taken.bind(("127.0.0.1", base))
        taken.listen()
        port = start_worker_metrics(Settings(worker_metrics_port=base))
        assert port is not None and base < port <= base + 15
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert b"hopnhat_events_in_total" in answer.read()
    assert start_worker_metrics(Settings(worker_metrics_port=0)) is None


def test_status_exits_1_naming_a_broker_and_database_that_do_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from hopnhat.cli.main import cli
    from hopnhat.embedded import free_port

    monkeypatch.setenv("HOPNHAT_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("HOPNHAT_DATABASE_URL", f"postgresql://hopnhat@127.0.0.1:{free_port()}/hopnhat")
    result = CliRunner().invoke(cli, ["status", "--json"])
    assert result.exit_code == 1
    import json

    body = json.loads(result.output)
    assert body["healthy"] is False
    assert [p.split(":")[0] for p in body["problems"]] == ["database unreachable", "broker unreachable"]


def test_status_watch_refreshes_until_ctrl_c_and_exits_with_the_last_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import hopnhat.status
    from hopnhat.cli import status as status_cli
    from hopnhat.cli.main import cli

    verdicts = iter([[], ["dlq.normalise: 2 dead letters"], []])
    made: list[StatusReport] = []

    def collect(*, settings: object) -> StatusReport:
        made.append(StatusReport(generated_at=datetime.now(UTC), problems=next(verdicts)))
        return made[-1]

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(hopnhat.status, "collect_status", collect)
    monkeypatch.setattr(status_cli.time, "sleep", sleep)
    result = CliRunner().invoke(cli, ["status", "--watch", "2", "--json"])
    assert len(made) == 2 and sleeps == [2.0, 2.0]
    assert result.exit_code == 1  # the last report (the second) had a problem
    assert result.output.count('"healthy"') == 2
