"""Benchmark: events/s from signed webhook to rows in PostgreSQL, on the embedded broker and database.

    python bench/e2e.py [--events 10000] [--workers 1] [--concurrency 32] [--source webhook|kafka]

Starts the embedded Tansu broker and PostgreSQL (or uses HOPNHAT_KAFKA_BOOTSTRAP /
HOPNHAT_DATABASE_URL), `hopnhat serve` and W x `hopnhat worker` as child processes, posts N signed
form submissions over HTTP (the generated Vietnamese sample, people returning several times), and
waits until every accepted event is stored. Prints progress to stderr and a final JSON line:
events, workers, events_per_s (end to end: first POST to last row committed), ingest_per_s
(accept rate of the HTTP endpoint alone, or the produce rate with --source kafka), wall_s, customers, merges, bytes_per_event, dlq, and where
the CPU went in that interval (bench/proc_cpu.py): cpu_s and cpu_us_per_event by process role
(worker, broker, postgres, serve, bench), cpu_outside_s (what other users of the machine took) and
cpu_available_s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from bench.proc_cpu import cpu_by_role, delta, machine_busy_s  # noqa: E402
from hopnhat.embedded import embedded_services, free_port  # noqa: E402
from hopnhat.migrate import migrate  # noqa: E402
from hopnhat.processes import running_stack  # noqa: E402
from hopnhat.sample import generate  # noqa: E402
from hopnhat.settings import Settings, psycopg_url  # noqa: E402
from hopnhat.stats import dlq_depth, store_counts  # noqa: E402
from hopnhat.webform_client import encode_submission, post_visits  # noqa: E402
from hopnhat.sample import Visit  # noqa: E402
from connectors import load_connector  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402


CPUS = os.cpu_count() or 1


def sample(events: int, seed: int) -> list[Visit]:
    _, visits = generate(max(1, int(events / 2.4)), seed)
    while len(visits) < events:  # top up deterministically if the sample came out short
        _, more = generate(max(1, events - len(visits)), seed + len(visits))
        visits += more
    return visits[:events]


async def produce_raw(s: Settings, visits: list[Visit]) -> float:
    """Write the visits to raw.webform as the webhook would (same CloudEvents), straight to the broker."""
    webform = load_connector("webform")
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=5,
                                max_batch_size=512 * 1024)
    await producer.start()
    t0 = time.perf_counter()
    try:
        topic = s.topic("raw.webform")
        now = datetime.now(UTC)
        pending = []
        for v in visits:
            body, ctype = encode_submission(v.fields, v.submission_id, v.as_json)
            for event in webform.parse(body, ctype, "bench", now):
                pending.append(await producer.send(topic, key=webform.kafka_key(event).encode(),
                                                   value=event.model_dump_json().encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - t0


def wait_until_stored(database_url: str, accepted: int, t0: float, timeout_s: float = 7200) -> None:
    """Return once `accepted` interaction rows are committed, measuring PostgreSQL as little as possible.

    A `count(*)` over interactions twice a second on a fresh connection cost the database more CPU than
    a tenth of the pipeline's own at 1M rows (and showed up as "postgres" in the CPU split), so progress
    is read from the table's insert counter (pg_stat, cheap) on one connection, and the exact count is
    taken only when that counter says it is done or stops moving for half a second (a backend that goes
    idle flushes its counts only after ~10 s, so a stalled counter may be hiding the last batches).
    """
    last, moved_at = -1, time.perf_counter()
    with psycopg.connect(psycopg_url(database_url), autocommit=True) as conn:
        while time.perf_counter() - t0 < timeout_s:
            row = conn.execute("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'interactions'").fetchone()
            inserted = int(row[0]) if row else 0
            now = time.perf_counter()
            if inserted != last:
                moved_at = now
            if inserted >= accepted or now - moved_at > 0.5:
                exact = conn.execute("SELECT count(*) FROM interactions").fetchone()
                if exact and exact[0] >= accepted:
                    return
                moved_at = now
            if inserted // 10_000 != last // 10_000:
                print(f"  stored ~{inserted}/{accepted} after {now - t0:.0f}s", file=sys.stderr)
            last = inserted
            time.sleep(0.05)
    raise SystemExit(f"timeout: about {last}/{accepted} stored after {timeout_s:.0f}s")


def run(events: int, workers: int, concurrency: int, seed: int, source: str) -> dict[str, object]:
    visits = sample(events, seed)
    secret = secrets.token_urlsafe(16)
    started = time.perf_counter()
    with embedded_services(Settings()) as base:
        s = base.with_secret("webform", "bench", secret).model_copy(update={"http_port": free_port(),
                                    "app_id": f"bench-{secrets.token_hex(3)}", "partitions": max(4, workers * 2)})
        assert s.database_url
        migrate(database_url=s.database_url)
        ensure_topics(s)
        with running_stack(s, workers=workers):
            cpu_before, busy_before = cpu_by_role(), machine_busy_s()
            t0 = time.perf_counter()
            if source == "webhook":
                report = asyncio.run(post_visits(f"http://{s.http_host}:{s.http_port}", "bench", secret, visits,
                                                 concurrency=concurrency))
                accepted, ingest_s = report.accepted, report.seconds
            else:
                accepted, ingest_s = len(visits), asyncio.run(produce_raw(s, visits))
            print(f"ingested {accepted}/{events} via {source} in {ingest_s:.1f}s", file=sys.stderr)
            wait_until_stored(s.database_url, accepted, t0)
            elapsed = time.perf_counter() - t0
            cpu = delta(cpu_before, cpu_by_role())
            busy = machine_busy_s() - busy_before
            counts = store_counts(s.database_url)
            dlq = dlq_depth(s)
    return {
        "bench": "e2e", "source": source, "events": events, "accepted": accepted, "workers": workers,
        "events_per_s": round(accepted / elapsed, 1), "ingest_per_s": round(accepted / ingest_s, 1),
        "e2e_s": round(elapsed, 2), "wall_s": round(time.perf_counter() - started, 2),
        "customers": counts.customers, "merges": counts.merges, "dlq": dlq,
        "bytes_per_event": round(counts.bytes / max(1, counts.interactions)),
        # where the CPU went while the events flowed: seconds and µs per event by process role, and what
        # the rest of the machine (other users of the cores) took in the same interval
        "cpu_s": cpu, "cpu_us_per_event": {role: round(1e6 * sec / accepted) for role, sec in cpu.items()},
        "cpu_outside_s": round(max(0.0, busy - sum(cpu.values())), 1), "cpu_available_s": round(elapsed * CPUS, 1),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32, help="parallel HTTP requests")
    parser.add_argument("--seed", type=int, default=84)
    parser.add_argument("--source", choices=["webhook", "kafka"], default="webhook",
                        help="webhook: signed POSTs through hopnhat serve; kafka: the same CloudEvents "
                             "produced straight to raw.webform (measures normalise + resolve)")
    args = parser.parse_args()
    print(json.dumps(run(args.events, args.workers, args.concurrency, args.seed, args.source)))


if __name__ == "__main__":
    main()
