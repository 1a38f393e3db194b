"""Publish a micro-batch's output records in one Kafka record batch per partition, and wait for the acks.

Why not faust's `Topic.send` per record: each call builds a FutureMessage, schedules a task, runs faust's
sensors and then aiokafka's per-message accumulator path. A py-spy profile of a worker (--gil, 30,000
events) put those sends at about a quarter of its CPU (docs/BENCHMARKS.md, "Where a worker's CPU goes").
The agents already wait for every send of a batch before their loop body returns, i.e. before faust
acks the consumed offsets, so sending the batch as a few aiokafka `BatchBuilder`s (one per partition,
one future each) keeps the same delivery guarantee at a fraction of the cost.

Partitioning is the producer's own (its partitioner over the key bytes, murmur2 by default), so a
record lands on the partition `Topic.send` would have chosen, and the records of one partition keep
their order: they are appended to one builder in order, and a full builder is submitted before the
next one is started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import faust

Outgoing = tuple[str, bytes | None, bytes | None]  # (topic, key, value); a None value is a tombstone


def kafka_producer(app: faust.App) -> Any:
    """The aiokafka producer faust started for this app (faust keeps it private; started with the app)."""
    return app.producer._ensure_producer()  # type: ignore[attr-defined]  # faust has no public accessor


async def publish(producer: Any, records: Sequence[Outgoing]) -> None:
    """Send every record with `producer` (a started aiokafka producer) and return once the broker has
    acknowledged all of them (acks as the producer is configured)."""
    if not records:
        return
    for topic in {topic for topic, _, _ in records}:
        await producer.partitions_for(topic)  # the partitioner below needs the topic's metadata
    builders: dict[tuple[str, int], Any] = {}
    acks: list[asyncio.Future[Any]] = []
    for topic, key, value in records:
        partition = producer._partition(topic, None, None, None, key, value)
        batch = builders.get((topic, partition))
        if batch is None:
            batch = builders[(topic, partition)] = producer.create_batch()
        if batch.append(timestamp=None, key=key, value=value) is None:  # full: submit it, start the next
            acks.append(await producer.send_batch(batch, topic, partition=partition))
            batch = builders[(topic, partition)] = producer.create_batch()
            if batch.append(timestamp=None, key=key, value=value) is None:
                raise ValueError(f"a record of {len(value or b'')} bytes does not fit an empty batch for {topic}")
    for (topic, partition), batch in builders.items():
        batch.close()  # so aiokafka adds no record of its own send() path to it
        acks.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*acks)
