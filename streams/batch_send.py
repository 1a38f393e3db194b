"""Publish many records as one Kafka record batch per partition: the workers' output and file imports.

Why not one `send` per record: faust's `Topic.send` builds a FutureMessage, schedules a task and runs
faust's sensors, and aiokafka's `send` then goes through its per-message accumulator path. A py-spy
profile of a worker (--gil, 30,000 events) put those sends at about a quarter of its CPU, and in the
importer `send` per row cost as much as parsing the row (docs/BENCHMARKS.md). Callers wait for all of a
batch's acknowledgements before they ack what they consumed or checkpoint what they read, so a few
`BatchBuilder`s (one per partition, one future each) keep the same delivery guarantee for much less.

Partitioning is the default partitioner's (murmur2 over the key bytes, as the Java client, modulo the
topic's partitions), so a record lands where `send` would have put it, and a partition's records keep
their order: they are appended to one builder in order, and a full builder is submitted before the
next one is started. Keyless records and records too large for a batch go through `send` itself.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the importer uses this module too and should not pay for importing faust
    import faust

Outgoing = tuple[str, bytes | None, bytes | None]  # (topic, key, value); a None value is a tombstone

# Records this large go through `send`, which checks them against max_request_size as it always did.
LARGE_RECORD = 256 << 10

_WORDS = {n: struct.Struct(f"<{n}I") for n in range(64)}  # little-endian 32-bit words of keys up to 255 bytes


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash of a record key (the Java client's Utils.murmur2), as aiokafka computes it to
    pick a partition, at about a third of its CPU: the key is read as 32-bit words in one call instead of
    byte by byte (tests compare both on random keys). It was the importer's biggest cost after parsing."""
    mask, m = 0xFFFFFFFF, 0x5BD1E995
    length = len(data)
    h = 0x9747B28C ^ length
    words = length // 4
    unpack = _WORDS[words].unpack_from if words < 64 else struct.Struct(f"<{words}I").unpack_from
    for k in unpack(data):
        k = (k * m) & mask
        k ^= k >> 24
        h = ((h * m) & mask) ^ ((k * m) & mask)
    tail, end = length & 3, length & ~3
    if tail >= 3:
        h ^= data[end + 2] << 16
    if tail >= 2:
        h ^= data[end + 1] << 8
    if tail >= 1:
        h = ((h ^ data[end]) * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    return h ^ (h >> 15)


def kafka_producer(app: "faust.App") -> Any:
    """The aiokafka producer faust started for this app (faust keeps it private; started with the app)."""
    return app.producer._ensure_producer()  # type: ignore[attr-defined]  # faust has no public accessor


async def submit(producer: Any, records: Iterable[Outgoing]) -> list[asyncio.Future[Any]]:
    """Queue every record with `producer` (a started aiokafka producer); return the futures that resolve
    when the broker has acknowledged them (acks as the producer is configured)."""
    partitions: dict[str, list[int]] = {}  # topic -> its partitions, in the order aiokafka's send passes them
    builders: dict[tuple[str, int], Any] = {}
    acks: list[asyncio.Future[Any]] = []

    async def flush(topic: str, partition: int) -> None:
        batch = builders.pop((topic, partition), None)
        if batch is not None:
            batch.close()  # closed: no `send` elsewhere may add to it once it is queued
            acks.append(await producer.send_batch(batch, topic, partition=partition))

    for topic, key, value in records:
        if topic not in partitions:
            partitions[topic] = sorted(await producer.partitions_for(topic))
        if key is None:  # the default partitioner picks any partition; let send do it
            acks.append(await producer.send(topic, value=value, key=key))
            continue
        ps = partitions[topic]
        partition = ps[(murmur2(key) & 0x7FFFFFFF) % len(ps)]
        if value is not None and len(value) > LARGE_RECORD:
            await flush(topic, partition)  # the records before it go first
            acks.append(await producer.send(topic, value=value, key=key, partition=partition))
            continue
        batch = builders.get((topic, partition))
        if batch is not None and batch.append(key=key, value=value, timestamp=None) is not None:
            continue
        await flush(topic, partition)  # full (max_batch_size), or there was none
        batch = builders[(topic, partition)] = producer.create_batch()
        batch.append(key=key, value=value, timestamp=None)  # an empty batch takes any record
    for topic, partition in list(builders):
        await flush(topic, partition)
    return acks


async def publish(producer: Any, records: Sequence[Outgoing]) -> None:
    """Send every record and return once the broker has acknowledged all of them."""
    if records:
        await asyncio.gather(*await submit(producer, records))
