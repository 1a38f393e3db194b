"""Backup and restore on the real broker and PostgreSQL: a store built by the pipeline is dumped with
its worker group's offsets, restored into a fresh database, compared table by table and profile by
profile, and the stream resumes on it without losing or doubling anything."""

from __future__ import annotations

import asyncio
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from hopnhat.backup import group_offsets
from hopnhat.processes import running_stack, settings_env
from hopnhat.sample import generate
from hopnhat.settings import Settings
from hopnhat.webform_client import encode_submission, post_visits, signed_headers
from streams.topics import ensure_topics
from tests.integration.test_workers import stored_clusters

pytestmark = pytest.mark.integration
FORM, SECRET = "lien-he", "sao-luu"


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        names = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {n: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(n))).fetchone()[0]
                for n in names}


def profiles(url: str) -> dict[str, dict]:
    with psycopg.connect(url) as conn:
        return {str(cid): p for cid, p in conn.execute("SELECT id, profile FROM customers")}


def hopnhat(s: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **settings_env(s)}
    return subprocess.run([sys.executable, "-m", "hopnhat.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=180)


def wait_interactions(url: str, expected: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (n := stored_clusters(url)[0]) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return n


def test_backup_restores_into_a_fresh_database_and_the_stream_resumes(isolated_settings, database_factory,
                                                                       tmp_path: Path) -> None:
    s = isolated_settings.with_secret("webform", FORM, SECRET).model_copy(update={"resolve_linger_s": 0.05})
    _, visits = generate(60, seed=23)
    total = len(visits)
    assert total > 80
    ensure_topics(s)
    with running_stack(s, workers=1):
        report = asyncio.run(post_visits(f"http://{s.http_host}:{s.http_port}", FORM, SECRET, visits[:60]))
        assert wait_interactions(s.database_url, report.accepted) == report.accepted == 60
        time.sleep(2)  # past broker_commit_interval: the group's offsets reach the broker
    hopnhat(s, "keys", "create", "--role", "analyst", "--name", "BI")  # api_keys has a row to carry over

    out = tmp_path / "backup"
    backed = hopnhat(s, "backup", "--out", str(out), "--json")
    assert backed.returncode == 0, backed.stderr
    manifest = json.loads(backed.stdout)
    original = table_counts(s.database_url)
    assert manifest["tables"] == original and original["interactions"] == 60 and original["api_keys"] == 1
    assert manifest["schema_revision"] and manifest["group"] == s.app_id
    saved = {(o["topic"], o["partition"]): o["offset"] for o in manifest["offsets"]}
    assert sum(v for (t, _), v in saved.items() if t == s.topic("raw.webform")) == 60  # every raw record committed
    assert any(t == s.topic("events.canonical") for t, _ in saved)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "store.dump"]

    # The embedded broker keeps the stopped worker's membership, and refuses commits from outside a
    # group with members: the restored store resumes under a new group id (what a rebuilt deployment does).
    fresh = s.model_copy(update={"database_url": database_factory(migrate_schema=False), "app_id": s.app_id + "-r"})
    restored = hopnhat(fresh, "restore", str(out), "--yes", "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["offsets_committed"] == len(manifest["offsets"])
    assert table_counts(fresh.database_url) == original
    before, after = profiles(s.database_url), profiles(fresh.database_url)
    assert set(after) == set(before)
    for cid in random.Random(5).sample(sorted(before), 15):
        assert after[cid] == before[cid]
    assert stored_clusters(fresh.database_url) == stored_clusters(s.database_url)
    assert {(o.topic, o.partition): o.offset for o in group_offsets(fresh)} == saved

    again = hopnhat(fresh, "restore", str(out), "--yes")
    assert again.returncode == 2 and "already has tables" in again.stderr  # never over a live store

    # The stream resumes on the restored store: the later visits arrive once each, nothing earlier doubles.
    with running_stack(fresh, workers=1) as children:
        later = asyncio.run(post_visits(f"http://{fresh.http_host}:{fresh.http_port}", FORM, SECRET, visits[60:]))
        duplicate = visits[0]
        body, ctype = encode_submission(duplicate.fields, duplicate.submission_id, duplicate.as_json)
        assert httpx.post(f"http://{fresh.http_host}:{fresh.http_port}/webhooks/webform/{FORM}", content=body,
                          headers=signed_headers(SECRET, body, ctype)).status_code == 200  # a redelivery
        assert later.accepted == total - 60
        assert wait_interactions(fresh.database_url, total) == total
        time.sleep(1)
        worker_log = children[-1].log_path.read_text()
    assert stored_clusters(fresh.database_url)[0] == total
    # The worker started from the restored offsets: it resolved the new deliveries (and the redelivery),
    # not the 60 old records again.
    resolved = sum(int(n) for n in re.findall(r"resolved batch events=(\d+)", worker_log))
    assert resolved == total - 60 + 1, worker_log[-3000:]
