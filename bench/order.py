"""Benchmark: does the stream's clustering depend on the order partitions are interleaved in?

    python bench/order.py [--events 300000] [--seeds 1,2] [--partitions 4] [--batch 500]

A worker sees each partition of events.canonical in order, but how the partitions interleave depends
on fetch timing and on how many workers share them. This script takes the generated Vietnamese sample
(hopnhat/sample.py, as bench/e2e.py), normalises it in-process, splits the canonical events over
`--partitions` by key as the topic does, and for every seed merges the partitions in a different
random interleaving (each partition's order kept), applying the result in `--batch`-event batches to a
fresh database with the resolve agent's own sink (streams/postgres_sink.py). No broker, no
concurrency: any difference in the final clustering comes from the resolver's order dependence.

Final JSON line: events, seeds, customers per seed, and for each later seed against the first the
number of clusters found only in one of the two, with a few example record groups on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from bench.e2e import sample  # noqa: E402
from connectors import load_connector  # noqa: E402
from hopnhat.embedded import embedded_services  # noqa: E402
from hopnhat.migrate import migrate  # noqa: E402
from hopnhat.settings import Settings, psycopg_url  # noqa: E402
from hopnhat.webform_client import encode_submission  # noqa: E402
from schema.events import CanonicalEvent  # noqa: E402
from streams.normalise import canonical_key, normalise_record  # noqa: E402
from streams.postgres_sink import PostgresSink  # noqa: E402

Clustering = set[frozenset[str]]


def partitioned_events(events: int, partitions: int) -> list[list[str]]:
    """The sample's canonical events (JSON), split over partitions by their key, in arrival order."""
    webform, now = load_connector("webform"), datetime.now(UTC)
    parts: list[list[str]] = [[] for _ in range(partitions)]
    for i, visit in enumerate(sample(events, 84)):  # the same submissions bench/e2e.py sends
        body, ctype = encode_submission(visit.fields, visit.submission_id, visit.as_json)
        for raw in webform.parse(body, ctype, "bench", now):
            result = normalise_record("webform", "raw.webform", 0, i, None, raw.model_dump_json().encode())
            if isinstance(result, CanonicalEvent):
                key = canonical_key(result)
                parts[int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big") % partitions].append(
                    result.model_dump_json())
    return parts


def interleave(parts: list[list[str]], seed: int) -> list[str]:
    """One random interleaving: runs of 1-300 events from a random partition, each partition in order."""
    rng, positions, out = random.Random(seed), [0] * len(parts), []
    while live := [p for p, part in enumerate(parts) if positions[p] < len(part)]:
        p = rng.choice(live)
        take = rng.randint(1, 300)
        out += parts[p][positions[p]:positions[p] + take]
        positions[p] += take
    return out


async def resolve(database_url: str, events: list[str], batch: int) -> None:
    sink = await PostgresSink.connect(database_url)
    try:
        for i in range(0, len(events), batch):
            await sink.apply([CanonicalEvent.model_validate_json(e) for e in events[i:i + batch]])
    finally:
        await sink.close()


def clustering(database_url: str) -> Clustering:
    """The source records of every live customer, as a set of record-id groups (ids do not matter)."""
    with psycopg.connect(psycopg_url(database_url)) as conn:
        rows = conn.execute("""SELECT s.source_record_id, coalesce(c.merged_into, c.id) FROM source_records s
                                 JOIN customers c ON c.id = s.customer_id""").fetchall()
    groups: dict[str, set[str]] = defaultdict(set)
    for record, customer in rows:
        groups[str(customer)].add(record)
    return {frozenset(g) for g in groups.values()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--seeds", default="1,2", help="comma-separated interleaving seeds (at least two)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500, help="events per resolve batch (the worker's default)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if len(seeds) < 2:
        parser.error("--seeds needs at least two seeds to compare")
    print(f"normalising {args.events:,} events ...", file=sys.stderr)
    parts = partitioned_events(args.events, args.partitions)
    results: dict[int, Clustering] = {}
    with embedded_services(Settings()) as s:
        assert s.database_url
        for seed in seeds:
            with psycopg.connect(psycopg_url(s.database_url), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE order_{seed}")
            url = s.database_url.rsplit("/", 1)[0] + f"/order_{seed}"
            migrate(database_url=url)
            asyncio.run(resolve(url, interleave(parts, seed), args.batch))
            results[seed] = clustering(url)
            print(f"seed {seed}: {len(results[seed]):,} customers", file=sys.stderr)
    first = results[seeds[0]]
    differences = {}
    for seed in seeds[1:]:
        only_first, only_other = first - results[seed], results[seed] - first
        differences[str(seed)] = {"clusters_only_in_first": len(only_first), "clusters_only_in_this": len(only_other)}
        for group in sorted(only_first, key=min)[:5]:
            print(f"  only with seed {seeds[0]}: {sorted(group)}", file=sys.stderr)
        for group in sorted(only_other, key=min)[:5]:
            print(f"  only with seed {seed}: {sorted(group)}", file=sys.stderr)
    print(json.dumps({"bench": "order", "events": args.events, "partitions": args.partitions, "batch": args.batch,
                      "seeds": seeds, "customers": {str(k): len(v) for k, v in results.items()},
                      "against_first_seed": differences,
                      "order_independent": all(results[s] == first for s in seeds[1:])}))


if __name__ == "__main__":
    main()
