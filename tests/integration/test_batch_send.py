"""streams/batch_send.py against the real broker: every record once, on the partition a per-record send
picks, in order per key, tombstones kept, full batches split, acknowledged before publish() returns."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hopnhat.settings import Settings
from streams.batch_send import publish
from streams.topics import Topics, bootstrap_servers, ensure_topics


async def _read_all(bootstrap: list[str], topic: str, partitions: int,
                    expected: int) -> list[tuple[int, int, bytes, bytes | None]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        out: list[tuple[int, int, bytes, bytes | None]] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(out) < expected and asyncio.get_running_loop().time() < deadline:
            for tp, messages in (await consumer.getmany(timeout_ms=300)).items():
                out += [(tp.partition, m.offset, m.key, m.value) for m in messages]
        return out
    finally:
        await consumer.stop()


def test_publish_batches_per_partition_like_per_record_sends(isolated_settings: Settings) -> None:
    settings = isolated_settings.model_copy(update={"partitions": 4})
    ensure_topics(settings)
    topic = Topics.from_settings(settings).profiles
    bootstrap = bootstrap_servers(settings)
    # 40 customers, 15 versions each, ~1 KB of Vietnamese text per record: 16 KiB batches overflow often
    records: list[tuple[str, bytes | None, bytes | None]] = []
    for version in range(15):
        for customer in range(40):
            text = f"Nguyễn Thị Hồng Nhung {customer} phiên bản {version:02d} " * 20
            records.append((topic, f"customer-{customer}".encode(), text.encode()))
    records.append((topic, b"customer-7", None))  # tombstone, last for its key
    records.append((topic, b"customer-big", ("Đ" * 20_000).encode()))  # larger than a whole batch

    async def run() -> tuple[list[tuple[int, int, bytes, bytes | None]], dict[bytes, int]]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=16 * 1024)
        await producer.start()
        try:
            await publish(producer, records)
            stored = await _read_all(bootstrap, topic, 4, len(records))
            # where one send() per record puts each key (probes go after everything else)
            probes = {key: (await producer.send_and_wait(topic, key=key, value=b"probe")).partition
                      for key in {k for _, k, _ in records if k is not None}}
            return stored, probes
        finally:
            await producer.stop()

    stored, probes = asyncio.run(run())
    assert len(stored) == len(records)
    assert sorted((k, v or b"") for _, _, k, v in stored) == sorted((k or b"", v or b"") for _, k, v in records)
    for partition, _, key, _ in stored:
        assert partition == probes[key], key
    for customer in range(40):
        key = f"customer-{customer}".encode()
        mine = sorted((offset, value) for partition, offset, k, value in stored if k == key)
        versions = [value.decode().split("phiên bản ")[1][:2] for _, value in mine if value is not None]
        assert versions == [f"{v:02d}" for v in range(15)]
        if customer == 7:
            assert mine[-1][1] is None

