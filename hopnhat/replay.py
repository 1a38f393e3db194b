"""`hopnhat replay --from-beginning`: rebuild a store from the raw topics.

Reads every raw.<channel> topic from offset 0 until it has passed the end offsets seen at start and
the topics are idle (a poll of 1 s returns nothing), runs each record
through the same code as the worker (`streams.normalise.normalise_record`, then
`streams.postgres_sink.PostgresSink.apply` in micro-batches) and writes into the database in
HOPNHAT_DATABASE_URL, which must be migrated and empty (or --force). Because every sink is
idempotent and resolution does not depend on arrival order or batching, the rebuilt store holds the
same interactions and the same clustering of records into customers as the original. It does not
publish to customers.profiles or the DLQ topics (records the normaliser rejects are counted), and it
commits no consumer offsets, so running workers are unaffected. Records of people erased with
`hopnhat erase` are dropped by the suppression list of the target database (`suppressed`); copy its
`suppressions` and `erasure_salt` tables first when rebuilding into a new database. Use it after fixing a normaliser, or
to build a store for a new deployment from retained topics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from hopnhat.settings import Settings, psycopg_url
from schema.errors import ConfigError
from schema.events import CanonicalEvent
from hopnhat.suppression import lift, load_suppression
from streams.normalise import Suppressed, normalise_record
from streams.postgres_sink import PostgresSink
from streams.topics import Topics, bootstrap_servers


@dataclass(frozen=True, slots=True)
class ReplayResult:
    records: int
    stored: int
    skipped: int
    rejected: int
    merges: int
    events_per_s: float
    wall_s: float
    suppressed: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _store_is_empty(database_url: str) -> bool:
    with psycopg.connect(psycopg_url(database_url)) as conn:
        row = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM interactions) AND NOT EXISTS (SELECT 1 FROM customers)"
                           ).fetchone()
    return bool(row and row[0])


async def _replay(settings: Settings, batch_size: int,
                  progress: Callable[[int, int], None] | None) -> ReplayResult:
    assert settings.database_url
    topics = Topics.from_settings(settings)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers(settings), group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest", client_id="hopnhat-replay")
    await consumer.start()
    sink = await PostgresSink.connect(psycopg_url(settings.database_url))
    suppression = load_suppression(settings)  # erased people stay erased (hopnhat/suppression.py)
    started = time.perf_counter()
    records = stored = skipped = rejected = merges = suppressed = 0
    try:
        partitions = [TopicPartition(t, p) for t in topics.raw.values()
                      for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        total = sum(end.values())
        # Stop once every partition has reached the end offset seen at start AND a poll comes back
        # empty: the embedded Tansu reports the base offset of the last record batch + 1 as the end
        # offset (measured: 73 where 75 records were readable), so the end offsets alone would drop
        # the tail of a batched write.
        next_offset = {tp: 0 for tp in partitions}
        while True:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=batch_size)
            if not fetched and all(next_offset[tp] >= end[tp] for tp in partitions):
                break
            batch: list[CanonicalEvent] = []
            for tp, messages in fetched.items():
                for msg in messages:
                    next_offset[tp] = max(next_offset[tp], msg.offset + 1)
                    records += 1
                    result = normalise_record(topics.channel_of(tp.topic), tp.topic, tp.partition, msg.offset,
                                              msg.key, msg.value, suppression)
                    if isinstance(result, CanonicalEvent):
                        batch.append(result)
                    elif isinstance(result, Suppressed):
                        suppressed += 1
                    else:
                        rejected += 1
            if batch:
                outcome = await sink.apply(batch)
                stored += outcome.stored
                skipped += outcome.skipped
                merges += len(outcome.merges)
            if progress:
                progress(records, total)
    finally:
        await sink.close()
        await consumer.stop()
    lift(settings, suppression.lifted)
    wall = time.perf_counter() - started
    return ReplayResult(records, stored, skipped, rejected, merges, round(records / wall, 1) if wall else 0.0,
                        round(wall, 2), suppressed)


def replay(*, settings: Settings, force: bool = False, batch_size: int = 500,
           progress: Callable[[int, int], None] | None = None) -> ReplayResult:
    if not settings.database_url or not settings.kafka_bootstrap:
        raise ConfigError("replay needs HOPNHAT_KAFKA_BOOTSTRAP (where the raw topics are) and "
                          "HOPNHAT_DATABASE_URL (the store to rebuild; migrate it first)")
    if not force and not _store_is_empty(settings.database_url):
        raise ConfigError("the target database already holds customers or interactions; replay into a fresh, "
                          "migrated database (or pass --force to replay into this one, idempotently)")
    return asyncio.run(_replay(settings, batch_size, progress))
