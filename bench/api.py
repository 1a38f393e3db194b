"""Benchmark: profile API latency with a large store.

    python bench/api.py [--interactions 1000000] [--customers 200000] [--requests 2000]

Fills a fresh embedded PostgreSQL with N interactions spread over M customers (each with a phone
identifier and a profile), set-based in SQL — this measures reads, not ingest — then starts the
real `hopnhat serve` and times sequential HTTP requests (one keep-alive connection):
lookup by phone, written in a local format the API must normalise ("0912.345.678"), and the first
timeline page (50 items), with an `agent` API key (unmasked reads, so every answer also writes its
audit row). Final JSON line: interactions, customers, lookup_p50_ms, lookup_p99_ms,
timeline_p50_ms, timeline_p99_ms, load_s.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from hopnhat.access import create_key  # noqa: E402
from hopnhat.embedded import embedded_services, free_port  # noqa: E402
from hopnhat.migrate import migrate  # noqa: E402
from hopnhat.processes import running_stack  # noqa: E402
from hopnhat.settings import Settings  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402

LOAD_SQL = """
INSERT INTO customers (id, profile, created_at, updated_at)
SELECT md5('c' || g)::uuid,
       jsonb_build_object('customer_id', md5('c' || g)::uuid::text, 'full_name', 'Khách ' || g, 'names', '[]'::jsonb,
                          'phones', jsonb_build_array(jsonb_build_object('value', '+849' || lpad(g::text, 8, '0'),
                              'sources', jsonb_build_array('webform:bench'), 'first_seen', '2026-01-01T00:00:00+00:00',
                              'last_seen', '2026-11-01T00:00:00+00:00')),
                          'emails', '[]'::jsonb, 'identifiers', jsonb_build_array('phone:+849' || lpad(g::text, 8, '0')),
                          'channels', jsonb_build_array('webform'), 'merged_from', '[]'::jsonb,
                          'interactions', %(per)s, 'first_seen', '2026-01-01T00:00:00+00:00',
                          'last_seen', '2026-11-01T00:00:00+00:00', 'updated_at', '2026-11-01T00:00:00+00:00'),
       now(), now()
  FROM generate_series(1, %(customers)s) g;
INSERT INTO identifiers (type, value, customer_id, first_seen, last_seen)
SELECT 'phone', '+849' || lpad(g::text, 8, '0'), md5('c' || g)::uuid, now(), now()
  FROM generate_series(1, %(customers)s) g;
INSERT INTO interactions (event_id, customer_id, channel, source, source_record_id, kind, occurred_at, received_at,
                          summary, amount_vnd, payload)
SELECT 'bench:' || g, md5('c' || (1 + g %% %(customers)s))::uuid,
       (ARRAY['webform', 'zalo', 'pos', 'facebook'])[1 + g %% 4], 'bench', g::text,
       (ARRAY['form_submission', 'message', 'order', 'comment'])[1 + g %% 4],
       timestamptz '2026-01-01' + (g || ' minutes')::interval, now(), 'Đơn hàng / tin nhắn số ' || g,
       CASE WHEN g %% 4 = 2 THEN (g %% 1000) * 1000 END, '{}'::jsonb
  FROM generate_series(1, %(interactions)s) g;
ANALYZE;
"""


def pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1], 2)


def run(interactions: int, customers: int, requests: int) -> dict[str, object]:
    with embedded_services(Settings()) as s:
        s = s.model_copy(update={"http_port": free_port()})
        assert s.database_url
        migrate(database_url=s.database_url)
        ensure_topics(s)
        # A PII role, as a call-centre screen would use: each answer also writes its audit row.
        api_key = create_key(database_url=s.database_url, role="agent", name="bench/api.py").key
        t0 = time.perf_counter()
        with psycopg.connect(s.database_url, autocommit=True) as conn:
            params = {"customers": customers, "interactions": interactions, "per": interactions // customers}
            for statement in LOAD_SQL.split(";"):
                if statement.strip():
                    conn.execute(statement, params if "%(" in statement else None)
        load_s = time.perf_counter() - t0
        print(f"loaded {interactions} interactions for {customers} customers in {load_s:.0f}s", file=sys.stderr)
        rng = random.Random(1)
        with running_stack(s, workers=0):
            base = f"http://{s.http_host}:{s.http_port}/v1/customers"
            lookups: list[float] = []
            timelines: list[float] = []
            with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {api_key}"}) as client:
                for i in range(requests + 50):
                    g = rng.randrange(1, customers + 1)
                    local = f"09{str(g).zfill(8)[:2]}.{str(g).zfill(8)[2:5]}.{str(g).zfill(8)[5:]}"
                    t = time.perf_counter()
                    r = client.get(f"{base}/lookup", params={"type": "phone", "value": local})
                    dt_lookup = (time.perf_counter() - t) * 1000
                    assert r.status_code == 200, r.text
                    cid = r.json()["customer_id"]
                    t = time.perf_counter()
                    page = client.get(f"{base}/{cid}/timeline", params={"limit": 50})
                    dt_timeline = (time.perf_counter() - t) * 1000
                    assert page.status_code == 200 and page.json()["items"], page.text
                    if i >= 50:  # warm-up excluded
                        lookups.append(dt_lookup)
                        timelines.append(dt_timeline)
    return {"bench": "api", "interactions": interactions, "customers": customers, "requests": requests,
            "lookup_p50_ms": pct(lookups, 50), "lookup_p99_ms": pct(lookups, 99),
            "timeline_p50_ms": pct(timelines, 50), "timeline_p99_ms": pct(timelines, 99),
            "load_s": round(load_s, 1), "python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(run(args.interactions, args.customers, args.requests)))


if __name__ == "__main__":
    main()
