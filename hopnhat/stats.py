"""Counts read back from the store and the broker, for the demo, `status` and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from hopnhat.settings import Settings, psycopg_url
from streams.topics import Topics, bootstrap_servers


@dataclass(frozen=True, slots=True)
class StoreCounts:
    interactions: int
    customers: int  # live golden records (not merged away)
    customer_ids: int  # every id ever minted, merged ones included
    merges: int
    identifiers: int
    source_records: int
    bytes: int


def store_counts(database_url: str) -> StoreCounts:
    with psycopg.connect(psycopg_url(database_url)) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM interactions),
                      (SELECT count(*) FROM customers WHERE merged_into IS NULL),
                      (SELECT count(*) FROM customers),
                      (SELECT count(*) FROM merges WHERE undone_at IS NULL),
                      (SELECT count(*) FROM identifiers),
                      (SELECT count(*) FROM source_records),
                      (SELECT sum(pg_total_relation_size(c))::bigint FROM unnest(ARRAY['customers', 'identifiers',
                         'source_records', 'interactions', 'merges', 'match_evidence']) AS c)"""
        ).fetchone()
    assert row is not None
    return StoreCounts(*(int(v or 0) for v in row))


def interactions_count(database_url: str) -> int:
    with psycopg.connect(psycopg_url(database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM interactions").fetchone()
    return int(row[0]) if row else 0


def topic_depths(settings: Settings, names: list[str]) -> dict[str, int]:
    """Records in each topic: measured end offset - beginning offset, per partition.

    Not from the reported end offsets alone: the embedded Tansu reports the base offset of the last
    record batch + 1, which undercounts a batched write (measured: 73 where 75 were readable);
    `hopnhat.offsets.measured_end_offsets` reads the last batch to correct it. (Counting by reading
    until the consumer was idle for 300 ms returned 0 whenever the first fetch took longer, which
    happens on a loaded machine.) Right for topics that are not compacted and not transactional,
    as hopnhat's DLQ and raw topics are.
    """
    from kafka import KafkaConsumer, TopicPartition

    from hopnhat.offsets import measured_end_offsets

    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers(settings), client_id="hopnhat-stats",
                             enable_auto_commit=False, fetch_max_wait_ms=100)
    try:
        depths: dict[str, int] = {}
        for name in names:
            tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
            if not tps:
                depths[name] = 0
                continue
            begin = consumer.beginning_offsets(tps)
            ends = measured_end_offsets(consumer, tps)
            depths[name] = sum(max(0, ends[tp] - begin[tp]) for tp in tps)
        return depths
    finally:
        consumer.close()


def dlq_depth(settings: Settings) -> int:
    t = Topics.from_settings(settings)
    return sum(topic_depths(settings, [t.dlq_ingest, t.dlq_normalise, t.dlq_resolve]).values())
