"""Offsets the consumer skipped: detect them in the stream and read them directly, before acking.

Every hopnhat topic the agents read is append-only, neither compacted nor written in transactions, so
the offsets of a partition are dense: a consumer that saw offset n and next receives n + k (k > 1)
without a rebalance in between was never handed k - 1 records. faust acks and commits past such a
hole (it treats acked gaps as filled), so those records would be lost without a trace.

It happened: in a 200,000-event run on the embedded Tansu broker (bench/chaos.py, reference run, no
fault injected) six consecutive records of events.canonical partition 0 never reached the resolve
agent, with no rebalance, error or warning, while reading the partition afterwards returned them. The
cause (faust, aiokafka or the broker answering a fetch with a later batch) is not established; the
same symptom is reported against faust (faust-streaming/faust#605). Whatever the cause, the agents now
check each batch: `OffsetTracker.holes` finds the skipped ranges, `read_range` fetches them with a
group-less consumer, and the agent processes them with the batch, so they are stored before the
batch's offsets are committed. A false alarm (after a rebalance the tracker is cleared for revoked
partitions, but a partition can come back further on) only re-reads records the sinks skip as
duplicates. Each repair is logged as a warning and counted in hopnhat_skipped_offsets_repaired_total.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Hole:
    topic: str
    partition: int
    start: int  # first missing offset
    end: int  # first offset after the hole (the one that was received)

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class OffsetTracker:
    """The last offset handed to an agent per partition, and the holes after it."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], int] = {}

    def holes(self, offsets: Iterable[tuple[str, int, int]]) -> list[Hole]:
        """(topic, partition, offset) of a batch in arrival order -> the ranges skipped before them."""
        found = []
        for topic, partition, offset in offsets:
            key = (topic, partition)
            previous = self.last.get(key)
            if previous is not None and offset > previous + 1:
                found.append(Hole(topic, partition, previous + 1, offset))
            if previous is None or offset > previous:
                self.last[key] = offset
            elif offset < previous:  # redelivered from an earlier committed offset: follow it
                self.last[key] = offset
        return found

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Partitions revoked in a rebalance: whoever owns them next may have moved them on."""
        for key in partitions:
            self.last.pop(key, None)


async def repair(bootstrap: list[str], tracker: OffsetTracker, messages: list[Record]) -> list[Record]:
    """The batch's messages with whatever the consumer skipped before them, in offset order per partition."""
    holes = tracker.holes((m.topic, m.partition, m.offset) for m in messages)
    if not holes:
        return messages
    from hopnhat.metrics import SKIPPED_REPAIRED

    found: list[Record] = []
    for hole in holes:
        log.warning("consumer skipped %s[%d] offsets %d..%d (%d records); reading them directly",
                    hole.topic, hole.partition, hole.start, hole.end - 1, hole.size)
        for _attempt in range(3):
            records = await read_range(bootstrap, hole)
            if len(records) >= hole.size:
                break
        SKIPPED_REPAIRED.labels(hole.topic).inc(len(records))
        found += records
    return sorted(found + messages, key=lambda m: (m.topic, m.partition, m.offset))


async def read_range(bootstrap: list[str], hole: Hole, timeout_s: float = READ_TIMEOUT_S) -> list[Record]:
    """The records at offsets [hole.start, hole.end) of one partition, read without a consumer group."""
    tp = TopicPartition(hole.topic, hole.partition)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                client_id="hopnhat-gap-repair")
    await consumer.start()
    out: list[Record] = []
    try:
        consumer.assign([tp])
        consumer.seek(tp, hole.start)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=500)
            for m in batch.get(tp, []):
                if hole.start <= m.offset < hole.end:
                    out.append(Record(m.topic, m.partition, m.offset, m.key, m.value))
            if out and out[-1].offset >= hole.end - 1 or await consumer.position(tp) >= hole.end:
                break
    finally:
        await consumer.stop()
    if len(out) < hole.size:
        log.warning("gap repair read %d of %d records of %s[%d] offsets %d..%d", len(out), hole.size,
                    hole.topic, hole.partition, hole.start, hole.end - 1)
    return out
