"""Benchmark: events/s from signed webhook to rows in PostgreSQL, on the embedded broker and database.

    python bench/e2e.py [--events 10000] [--workers 1] [--concurrency 32]

Starts the embedded Tansu broker and PostgreSQL (or uses HOPNHAT_KAFKA_BOOTSTRAP /
HOPNHAT_DATABASE_URL), `hopnhat serve` and W x `hopnhat worker` as child processes, posts N signed
form submissions over HTTP (the generated Vietnamese sample, people returning several times), and
waits until every accepted event is stored. Prints progress to stderr and a final JSON line:
events, workers, events_per_s (end to end: first POST to last row committed), webhook_per_s
(accept rate of the HTTP endpoint alone), wall_s, customers, merges, bytes_per_event, dlq.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hopnhat.embedded import embedded_services, free_port  # noqa: E402
from hopnhat.migrate import migrate  # noqa: E402
from hopnhat.processes import running_stack  # noqa: E402
from hopnhat.sample import generate  # noqa: E402
from hopnhat.settings import Settings  # noqa: E402
from hopnhat.stats import dlq_depth, interactions_count, store_counts  # noqa: E402
from hopnhat.webform_client import post_visits  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402


def run(events: int, workers: int, concurrency: int, seed: int) -> dict[str, object]:
    _, visits = generate(max(1, int(events / 2.4)), seed)
    while len(visits) < events:  # top up deterministically if the sample came out short
        _, more = generate(max(1, events - len(visits)), seed + len(visits))
        visits += more
    visits = visits[:events]
    secret = secrets.token_urlsafe(16)
    started = time.perf_counter()
    with embedded_services(Settings()) as base:
        s = base.with_secret("webform", "bench", secret).model_copy(update={"http_port": free_port(),
                                    "app_id": f"bench-{secrets.token_hex(3)}", "partitions": max(4, workers * 2)})
        assert s.database_url
        migrate(database_url=s.database_url)
        ensure_topics(s)
        with running_stack(s, workers=workers):
            t0 = time.perf_counter()
            report = asyncio.run(post_visits(f"http://{s.http_host}:{s.http_port}", "bench", secret, visits,
                                             concurrency=concurrency))
            print(f"posted {report.accepted}/{events} in {report.seconds:.1f}s", file=sys.stderr)
            while True:
                stored = interactions_count(s.database_url)
                if stored >= report.accepted:
                    break
                if time.perf_counter() - t0 > 600:
                    raise SystemExit(f"timeout: {stored}/{report.accepted} stored")
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            counts = store_counts(s.database_url)
            dlq = dlq_depth(s)
    return {
        "bench": "e2e", "events": events, "accepted": report.accepted, "workers": workers,
        "events_per_s": round(report.accepted / elapsed, 1), "webhook_per_s": round(report.accepted / report.seconds, 1),
        "e2e_s": round(elapsed, 2), "wall_s": round(time.perf_counter() - started, 2),
        "customers": counts.customers, "merges": counts.merges, "dlq": dlq,
        "bytes_per_event": round(counts.bytes / max(1, counts.interactions)),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32, help="parallel HTTP requests")
    parser.add_argument("--seed", type=int, default=84)
    args = parser.parse_args()
    print(json.dumps(run(args.events, args.workers, args.concurrency, args.seed)))


if __name__ == "__main__":
    main()
