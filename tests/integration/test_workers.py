"""Two `hopnhat worker` processes in one consumer group, racing on events that share identifiers,
end with exactly the clustering the identity rule defines (the connected-components oracle), with no
event lost or doubled — on the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from datetime import UTC, datetime

import psycopg
import pytest

from connectors import load_connector
from hopnhat.processes import running_stack
from hopnhat.sample import generate
from hopnhat.settings import Settings
from hopnhat.webform_client import encode_submission, post_visits
from resolver.normalise import canonical_event
from schema.events import CanonicalEvent
from streams.topics import ensure_topics
from tests.unit.test_resolution_plan import oracle_clusters

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FORM, SECRET = "lien-he", "hai-worker"


def expected_events(visits) -> list[CanonicalEvent]:
    webform = load_connector("webform")
    out = []
    for v in visits:
        body, ctype = encode_submission(v.fields, v.submission_id, v.as_json)
        [raw] = webform.parse(body, ctype, FORM, datetime.now(UTC))
        event = canonical_event(webform.extract(raw), raw.id)
        assert isinstance(event, CanonicalEvent)
        out.append(event)
    return out


def stored_clusters(url: str) -> tuple[int, set[frozenset[str]]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("""SELECT coalesce(c.merged_into, c.id), i.event_id
                                 FROM interactions i JOIN customers c ON c.id = i.customer_id""").fetchall()
    groups: dict[str, set[str]] = {}
    for root, eid in rows:
        groups.setdefault(str(root), set()).add(eid)
    return len(rows), {frozenset(g) for g in groups.values()}


def stored_by_worker(log_path: Path) -> int:
    """Events a worker stored, from its 'resolved batch' log lines."""
    return sum(int(m.group(1)) for m in re.finditer(r"resolved batch events=\d+ stored=(\d+)", log_path.read_text()))


def test_two_workers_match_the_oracle_clustering(isolated_settings: Settings, tmp_path: Path) -> None:
    s = isolated_settings.with_secret("webform", FORM, SECRET).model_copy(
        update={"partitions": 4, "resolve_batch_size": 20, "resolve_linger_s": 0.02})
    _, visits = generate(150, seed=2026)
    ensure_topics(s)
    with running_stack(s, workers=2, log_dir=tmp_path) as children:
        report = asyncio.run(post_visits(f"http://{s.http_host}:{s.http_port}", FORM, SECRET, visits))
        assert report.accepted == len(visits)
        deadline = time.monotonic() + 90
        while stored_clusters(s.database_url)[0] < len(visits) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert all(c.alive() for c in children)
    per_worker = [stored_by_worker(tmp_path / f"worker-{i}.log") for i in range(2)]
    assert sum(per_worker) == len(visits) and all(per_worker), per_worker  # both took part
    count, clusters = stored_clusters(s.database_url)
    assert count == len(visits)  # nothing lost, nothing doubled (event id is the primary key)
    assert clusters == oracle_clusters(expected_events(visits))
