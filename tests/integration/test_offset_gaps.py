"""Reading skipped offsets back from the real broker (streams/gaps.py)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer

from hopnhat.settings import Settings
from streams.gaps import OffsetTracker, Record, repair
from streams.topics import Topics, bootstrap_servers, ensure_topics

pytestmark = pytest.mark.integration


def test_repair_puts_the_records_the_consumer_skipped_back_in_offset_order(isolated_settings: Settings) -> None:
    s = isolated_settings
    ensure_topics(s)
    topic = Topics.from_settings(s).canonical
    servers = bootstrap_servers(s)

    async def run() -> list[Record]:
        producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
        await producer.start()
        try:
            metas = [await (await producer.send(topic, f"Khách {i}".encode(), key=b"k", partition=0))
                     for i in range(12)]
        finally:
            await producer.stop()
        assert [m.offset for m in metas] == list(range(12))
        tracker = OffsetTracker()
        first = [Record(topic, 0, o, b"k", f"Khách {o}".encode()) for o in range(0, 4)]
        assert await repair(servers, tracker, first) == first
        after_hole = [Record(topic, 0, o, b"k", f"Khách {o}".encode()) for o in (9, 10)]
        return await repair(servers, tracker, after_hole)

    repaired = asyncio.run(run())
    assert [r.offset for r in repaired] == [4, 5, 6, 7, 8, 9, 10]
    assert [r.value for r in repaired][:5] == [f"Khách {o}".encode() for o in range(4, 9)]
