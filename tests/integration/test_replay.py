"""Replay the raw topics into a fresh store: same interactions, same clustering as the original."""

import asyncio
import time

import psycopg
import pytest
from click.testing import CliRunner

from hopnhat.cli.main import cli
from hopnhat.processes import running_stack
from hopnhat.replay import replay
from hopnhat.sample import generate
from hopnhat.webform_client import encode_submission, post_visits, signed_headers
from streams.topics import ensure_topics
from tests.integration.test_workers import stored_clusters

pytestmark = pytest.mark.integration
FORM, SECRET = "lien-he", "phat-lai"


def identifiers(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return set(conn.execute("SELECT type, value FROM identifiers").fetchall())


def test_replay_from_the_beginning_rebuilds_the_same_store(isolated_settings, database_factory, monkeypatch) -> None:
    s = isolated_settings.with_secret("webform", FORM, SECRET).model_copy(update={"resolve_linger_s": 0.05})
    _, visits = generate(60, seed=11)
    ensure_topics(s)
    with running_stack(s, workers=1):
        report = asyncio.run(post_visits(f"http://{s.http_host}:{s.http_port}", FORM, SECRET, visits))
        # one placeholder-only submission: rejected by the normaliser in both runs
        import httpx

        body, ctype = encode_submission({"phone": "0000000000"}, "rac", True)
        assert httpx.post(f"http://{s.http_host}:{s.http_port}/webhooks/webform/{FORM}", content=body,
                          headers=signed_headers(SECRET, body, ctype)).status_code == 200
        deadline = time.monotonic() + 60
        while stored_clusters(s.database_url)[0] < report.accepted and time.monotonic() < deadline:
            time.sleep(0.2)
    original = stored_clusters(s.database_url)
    assert original[0] == len(visits)

    fresh = s.model_copy(update={"database_url": database_factory()})
    result = replay(settings=fresh)
    assert (result.records, result.stored, result.rejected) == (len(visits) + 1, len(visits), 1)
    assert stored_clusters(fresh.database_url) == original
    assert identifiers(fresh.database_url) == identifiers(s.database_url)

    # Into a non-empty store only with --force, and then it is a no-op.
    monkeypatch.setenv("HOPNHAT_KAFKA_BOOTSTRAP", fresh.kafka_bootstrap)
    monkeypatch.setenv("HOPNHAT_DATABASE_URL", fresh.database_url)
    monkeypatch.setenv("HOPNHAT_TOPIC_PREFIX", fresh.topic_prefix)
    refused = CliRunner().invoke(cli, ["replay", "--from-beginning", "--json"])
    assert refused.exit_code != 0
    again = CliRunner().invoke(cli, ["replay", "--from-beginning", "--force", "--json"])
    assert again.exit_code == 0, again.output
    assert '"stored": 0' in again.output and f'"skipped": {len(visits)}' in again.output
    assert stored_clusters(fresh.database_url) == original
