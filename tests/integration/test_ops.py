"""Operations on real processes: metrics scraped from `hopnhat serve` and `hopnhat worker`, /readyz,
`GET /v1/status` and `hopnhat status`, and DLQ replay that stores a fixed record exactly once."""

from __future__ import annotations

import asyncio
import json
import re
import time

import httpx
import psycopg
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from connectors import REGISTRY
from hopnhat.access import create_key
from hopnhat.cli.main import cli
from hopnhat.embedded import ChildService, free_port
from hopnhat.processes import running_stack
from hopnhat.sample import generate
from hopnhat.settings import Settings
from hopnhat.webform_client import encode_submission, post_visits, signed_headers
from streams.topics import ensure_topics
from tests.unit.test_ops_config import dashboard_metric_names

pytestmark = pytest.mark.integration
FORM, SECRET = "lien-he", "van-hanh"


def sample_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for m in re.finditer(rf"^{re.escape(name)}(?:\{{([^}}]*)\}})? (\S+)$", text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def worker_metrics_url(child: ChildService) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"metrics\s+(http://\S+/metrics)", child.log_path.read_text())
        if m:
            return m.group(1)
        time.sleep(0.1)
    raise AssertionError(f"worker printed no metrics address:\n{child.log_tail()}")


def post(base: str, fields: dict[str, str], submission_id: str) -> None:
    body, ctype = encode_submission(fields, submission_id, True)
    r = httpx.post(f"{base}/webhooks/webform/{FORM}", content=body, headers=signed_headers(SECRET, body, ctype))
    assert r.status_code == 200, r.text


def interactions(url: str, where: str = "TRUE") -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM interactions WHERE {where}").fetchone()
    return int(row[0]) if row else 0


def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def use_settings(monkeypatch: pytest.MonkeyPatch, s: Settings) -> None:
    for name in ("kafka_bootstrap", "database_url", "topic_prefix", "app_id"):
        monkeypatch.setenv(f"HOPNHAT_{name.upper()}", str(getattr(s, name)))


def test_serve_and_worker_export_metrics_status_and_readiness(isolated_settings: Settings,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    s = isolated_settings.with_secret("webform", FORM, SECRET).model_copy(
        update={"resolve_linger_s": 0.05, "worker_metrics_port": free_port()})
    _, visits = generate(40, seed=7)
    ensure_topics(s)
    base = f"http://{s.http_host}:{s.http_port}"
    with running_stack(s, workers=1) as children:
        report = asyncio.run(post_visits(base, FORM, SECRET, visits))
        assert report.accepted == len(visits)
        post(base, {"phone": "0000000000"}, "chi-co-so-gia")  # placeholder only: the normaliser rejects it
        bad = httpx.post(f"{base}/webhooks/webform/{FORM}", content=b"{}",
                         headers={"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=00"})
        assert bad.status_code == 401
        wait_for(lambda: interactions(s.database_url) == len(visits))

        api = httpx.get(f"{base}/metrics").text
        assert sample_value(api, "hopnhat_webhook_responses_total", channel="webform", status="200") == len(visits) + 1
        assert sample_value(api, "hopnhat_webhook_responses_total", channel="webform", status="401") == 1
        assert sample_value(api, "hopnhat_events_out_total", stage="ingest", channel="webform") == len(visits) + 1

        url = worker_metrics_url(children[1])
        wait_for(lambda: sample_value(httpx.get(url).text, "hopnhat_events_out_total", stage="resolve",
                                      channel="webform") == len(visits), timeout=20)
        worker = httpx.get(url).text
        assert sample_value(worker, "hopnhat_events_in_total", stage="normalise", channel="webform") == len(visits) + 1
        assert sample_value(worker, "hopnhat_events_out_total", stage="normalise", channel="webform") == len(visits)
        assert sample_value(worker, "hopnhat_dead_letters_total", stage="normalise") == 1
        with psycopg.connect(s.database_url) as conn:
            customers = conn.execute("SELECT count(*) FROM customers").fetchone()[0]  # type: ignore[index]
            merges = conn.execute("SELECT count(*) FROM merges").fetchone()[0]  # type: ignore[index]
        assert sample_value(worker, "hopnhat_resolutions_total", outcome="new_customer") == customers
        assert sample_value(worker, "hopnhat_resolutions_total", outcome="merged") == merges
        assert sample_value(worker, "hopnhat_batch_size_count", stage="resolve") >= 1
        # measured on scrape and cached for 10 s: an early scrape may still show the DLQ empty
        wait_for(lambda: sample_value(httpx.get(url).text, "hopnhat_dlq_depth",
                                      topic=f"{s.topic_prefix}dlq.normalise") == 1, timeout=30)
        worker = httpx.get(url).text
        lag_rows = re.findall(r"^hopnhat_consumer_lag\{.*\} \S+$", worker, re.M)
        assert len(lag_rows) == (len(REGISTRY) + 1) * s.partitions  # raw.<channel> and events.canonical

        # Every metric the Grafana dashboard queries is exported by one of the two processes.
        exported = api + worker
        missing = [m for m in sorted(dashboard_metric_names()) if not re.search(rf"^{m}[{{ ]", exported, re.M)]
        assert not missing, missing

        assert httpx.get(f"{base}/readyz").json() == {"status": "ready", "checks": {"broker": "ok", "database": "ok"}}

        assert httpx.get(f"{base}/v1/status", timeout=30).status_code == 401  # stream health needs a key
        analyst = create_key(database_url=s.database_url, role="analyst", name="bao cao").key
        assert httpx.get(f"{base}/v1/status", headers={"X-API-Key": analyst}, timeout=30).status_code == 403
        ops_key = {"Authorization": "Bearer " + create_key(database_url=s.database_url, role="engineer",
                                                           name="van hanh").key}
        body = httpx.get(f"{base}/v1/status", headers=ops_key, timeout=30).json()
        assert set(body) >= {"healthy", "problems", "generated_at", "lag", "rates", "dlq", "database",
                             "last_event", "quality"}
        assert body["healthy"] is False  # one dead letter arrived within the window
        assert any("dlq.normalise" in p and "chi-co-so-gia" not in p for p in body["problems"])
        assert {d["topic"]: d["depth"] for d in body["dlq"]}[f"{s.topic_prefix}dlq.normalise"] == 1
        assert body["database"]["interactions"] == len(visits) and body["database"]["size_bytes"] > 0
        assert [e["channel"] for e in body["last_event"]] == ["webform"]
        rates = {(r["stage"], r["channel"]): r["events_per_s"] for r in body["rates"]}
        assert rates[("ingest", "webform")] == pytest.approx((len(visits) + 1) / 60, abs=0.001)
        assert rates[("normalise", "webform")] == pytest.approx(len(visits) / 60, abs=0.001)  # one dead-lettered
        assert rates[("resolve", "webform")] == pytest.approx(len(visits) / 60, abs=0.001)
        wait_for(lambda: all(row["lag"] == 0 for row in httpx.get(f"{base}/v1/status", headers=ops_key,
                                                                  timeout=30).json()["lag"]))
        lag = httpx.get(f"{base}/v1/status", headers=ops_key, timeout=30).json()["lag"]
        raw = [row for row in lag if row["topic"] == f"{s.topic_prefix}raw.webform"]
        assert sum(row["end"] for row in raw) == len(visits) + 1  # measured ends count every record
        assert {row["group"] for row in lag} == {s.app_id}

    use_settings(monkeypatch, s)
    unhealthy = CliRunner().invoke(cli, ["status", "--json"])
    assert unhealthy.exit_code == 1, unhealthy.output
    monkeypatch.setenv("HOPNHAT_STATUS_MAX_NEW_DEAD_LETTERS", "1")
    healthy = CliRunner().invoke(cli, ["status"])
    assert healthy.exit_code == 0, healthy.output
    assert "HEALTHY" in healthy.output and "webform" in healthy.output


def test_readyz_names_the_failed_check(services: Settings, database_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    from hopnhat.http.app import create_app
    from hopnhat.migrate import migrate

    old = database_factory(migrate_schema=False)
    migrate(database_url=old, revision="0003")
    settings = services.model_copy(update={"database_url": old})
    with TestClient(create_app(settings)) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["broker"] == "ok"
    assert "revision 0003" in r.json()["checks"]["database"] and "hopnhat migrate" in r.json()["checks"]["database"]

    down = services.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}",
                                       "database_url": database_factory()})
    with TestClient(create_app(down)) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "ok" and r.json()["checks"]["broker"] != "ok"


def test_dlq_replay_after_a_fix_stores_the_record_exactly_once(isolated_settings: Settings,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A record PostgreSQL rejects (a trigger stands in for the bug) lands in dlq.resolve; after the fix
    `hopnhat dlq replay` sends it through again and it is stored once; a second replay changes nothing."""
    s = isolated_settings.with_secret("webform", FORM, SECRET).model_copy(
        update={"resolve_linger_s": 0.05, "worker_metrics_port": 0})
    with psycopg.connect(s.database_url, autocommit=True) as conn:
        conn.execute("""CREATE FUNCTION kho_loi() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN IF NEW.source_record_id = 'don-hang-loi' THEN
                          RAISE EXCEPTION 'kho hỏng: không lưu được'; END IF; RETURN NEW; END $$""")
        conn.execute("CREATE TRIGGER kho_loi BEFORE INSERT ON interactions FOR EACH ROW EXECUTE FUNCTION kho_loi()")
    ensure_topics(s)
    base = f"http://{s.http_host}:{s.http_port}"
    use_settings(monkeypatch, s)
    with running_stack(s, workers=1):
        post(base, {"name": "Trần Thị Bích Ngọc", "phone": "0912 345 678"}, "don-hang-tot")
        post(base, {"name": "Lê Văn Hùng", "phone": "+84 983 111 222", "email": "hung.le@gmail.com"}, "don-hang-loi")
        wait_for(lambda: interactions(s.database_url) == 1)
        wait_for(lambda: '"store-rejected"' in CliRunner().invoke(cli, ["dlq", "list", "--json"]).output)
        listed = CliRunner().invoke(cli, ["dlq", "list", "--reason", "store-rejected", "--since", "10m", "--json"])
        assert listed.exit_code == 0, listed.output
        [letter] = json.loads(listed.output)
        assert letter["stage"] == "resolve" and "kho hỏng" in letter["error"]
        assert letter["topic"] == f"{s.topic_prefix}raw.webform"
        shown = CliRunner().invoke(cli, ["dlq", "show", letter["dlq"]])
        assert shown.exit_code == 0 and "don-hang-loi" in shown.output

        dry = CliRunner().invoke(cli, ["dlq", "replay", "--reason", "store-rejected", "--dry-run", "--json"])
        [planned] = json.loads(dry.output)
        assert planned["status"] == "would-publish" and planned["source"] == "original"
        time.sleep(1.0)
        assert interactions(s.database_url) == 1  # a dry run publishes nothing

        with psycopg.connect(s.database_url, autocommit=True) as conn:  # the fix
            conn.execute("DROP TRIGGER kho_loi ON interactions")
        for _ in range(2):
            done = CliRunner().invoke(cli, ["dlq", "replay", "--reason", "store-rejected", "--json"])
            assert done.exit_code == 0, done.output
            [item] = json.loads(done.output)
            assert item["status"] == "published" and item["target_topic"] == f"{s.topic_prefix}raw.webform"
            wait_for(lambda: interactions(s.database_url, "source_record_id = 'don-hang-loi'") == 1)
        # the second replay was processed (its offset committed) and stored nothing new
        wait_for(lambda: all(row.lag == 0 for row in _lag(s)))
        assert interactions(s.database_url, "source_record_id = 'don-hang-loi'") == 1
        assert interactions(s.database_url) == 2


def _lag(s: Settings, channel: str = "webform") -> list:  # type: ignore[type-arg]
    from hopnhat.offsets import group_lag
    from streams.topics import Topics

    t = Topics.from_settings(s)
    return group_lag(s, s.app_id, [t.raw[channel], t.canonical])


def test_replay_uses_the_letters_copy_when_the_original_is_gone_and_skips_ingest_letters(
        isolated_settings: Settings) -> None:
    """No worker here: what replay publishes is read back from the topics."""
    from datetime import UTC, datetime

    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from connectors import load_connector
    from hopnhat.dlq import DlqFilter, list_dead_letters, replay_dead_letters
    from schema.events import DeadLetter

    s = isolated_settings
    ensure_topics(s)
    body, ctype = encode_submission({"name": "Phạm Minh Châu", "phone": "0987 654 321"}, "form-mat-goc", True)
    [raw] = load_connector("webform").parse(body, ctype, FORM, datetime.now(UTC))
    raw_topic = f"{s.topic_prefix}raw.webform"
    lost = DeadLetter(stage="normalise", reason="invalid-envelope", error="x", topic=raw_topic, partition=1,
                      offset=41, key="84987654321", value=raw.model_dump_json(), at=datetime.now(UTC))
    malformed = DeadLetter(stage="ingest", reason="malformed", field="Id", error="missing",
                           topic=f"{s.topic_prefix}raw.kiotviet", partition=-1, offset=-1, key="cua-hang-1",
                           value='{"Notifications": []}', at=datetime.now(UTC))
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    producer.send(f"{s.topic_prefix}dlq.normalise", key=b"84987654321", value=lost.model_dump_json().encode())
    producer.send(f"{s.topic_prefix}dlq.ingest", key=b"cua-hang-1", value=malformed.model_dump_json().encode())
    producer.send(f"{s.topic_prefix}dlq.normalise", key=b"x", value=b"not a letter")
    producer.flush()
    producer.close()

    listed = list_dead_letters(settings=s)
    assert sorted(e.letter.reason for e in listed) == ["invalid-envelope", "malformed", "unreadable-letter"]
    items = {i.reason: i for i in replay_dead_letters(settings=s, where=DlqFilter())}
    assert items["malformed"].status == "skipped" and items["malformed"].target_topic is None
    assert items["unreadable-letter"].status == "skipped"
    replayed = items["invalid-envelope"]
    assert (replayed.status, replayed.source, replayed.target_topic) == ("published", "letter", raw_topic)

    consumer = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
    tp = TopicPartition(raw_topic, replayed.published["partition"])
    consumer.assign([tp])
    consumer.seek(tp, replayed.published["offset"])
    records = []
    deadline = time.monotonic() + 10
    while not records and time.monotonic() < deadline:
        records = [r for rs in consumer.poll(timeout_ms=200).values() for r in rs
                   if r.offset == replayed.published["offset"]]
    consumer.close()
    assert records and records[0].key == b"84987654321"
    assert json.loads(records[0].value)["id"] == raw.id  # same event id: the sink would skip a second copy


def test_depth_and_end_offsets_count_every_record_of_a_batched_write(isolated_settings: Settings) -> None:
    """The embedded Tansu reports a partition's end as its last batch's base offset + 1; hopnhat measures it."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from hopnhat.offsets import measured_end_offsets
    from hopnhat.stats import topic_depths

    s = isolated_settings
    ensure_topics(s)
    topic = f"{s.topic_prefix}dlq.resolve"
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=50)
    for i in range(25):
        producer.send(topic, key=f"84912{i:06d}".encode(), value=b'{"reason": "store-rejected"}')
    producer.flush()
    producer.close()
    assert topic_depths(s, [topic]) == {topic: 25}
    consumer = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
    try:
        tp = TopicPartition(topic, 0)
        assert measured_end_offsets(consumer, [tp]) == {tp: 25}
    finally:
        consumer.close()


def test_a_lead_graph_refused_is_fetched_after_the_fix_by_replaying_dlq_normalise(
        isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Normalise-stage proof: Graph refuses the Page token (expired), the leadgen lands in dlq.normalise;
    once the token works, `dlq replay` sends the raw leadgen through again, the worker fetches the
    answers and the lead is stored once; a second replay stores nothing more."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from typing import Any

    from pydantic import SecretStr

    from tests.integration.test_webhook_channels_e2e import (APP_SECRET, FB_APP, FB_PAGE, FIXTURES, PAGE_TOKEN,
                                                             fb_body, post_fb)

    lead = (FIXTURES / "facebook_graph_lead.json").read_bytes()
    token_valid = threading.Event()

    class Graph(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            ok = token_valid.is_set() and self.path.startswith("/v25.0/1234500000000001?")
            body = lead if ok else b'{"error":{"message":"Error validating access token: Session has expired",' \
                                   b'"type":"OAuthException","code":190}}'
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    graph = ThreadingHTTPServer(("127.0.0.1", 0), Graph)
    threading.Thread(target=graph.serve_forever, daemon=True).start()
    s = (isolated_settings.with_secret("facebook", FB_APP, APP_SECRET)
         .model_copy(update={"resolve_linger_s": 0.05, "worker_metrics_port": 0,
                             "facebook_graph_url": f"http://127.0.0.1:{graph.server_address[1]}/v25.0",
                             "facebook_page_tokens": {FB_PAGE: SecretStr(PAGE_TOKEN)}}))
    ensure_topics(s)
    use_settings(monkeypatch, s)
    leads = "kind = 'lead'"
    try:
        with running_stack(s, workers=1):
            assert post_fb(s, fb_body("leadgen")).status_code == 200
            wait_for(lambda: '"lead-fetch-failed"' in CliRunner().invoke(cli, ["dlq", "list", "--json"]).output)
            assert interactions(s.database_url, "kind = 'leadgen'") == 1 and interactions(s.database_url, leads) == 0

            token_valid.set()  # the fix: a new Page token
            for _ in range(2):
                done = CliRunner().invoke(cli, ["dlq", "replay", "--topic", "normalise", "--reason",
                                                "lead-fetch-failed", "--json"])
                assert done.exit_code == 0, done.output
                [item] = json.loads(done.output)
                assert (item["status"], item["source"]) == ("published", "original")
                assert item["target_topic"] == f"{s.topic_prefix}raw.facebook"
                wait_for(lambda: interactions(s.database_url, leads) == 1)
            wait_for(lambda: all(row.lag == 0 for row in _lag(s, "facebook")))
            assert interactions(s.database_url, leads) == 1
            assert interactions(s.database_url, "kind = 'leadgen'") == 1
            with psycopg.connect(s.database_url) as conn:
                phone = conn.execute("SELECT count(*) FROM identifiers WHERE type = 'phone' AND value = '+84938123456'"
                                     ).fetchone()
            assert phone == (1,)
    finally:
        graph.shutdown()
        graph.server_close()
