"""Publishes raw events to Kafka and returns only once the broker acknowledged the write (acks=all)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from hopnhat.settings import Settings
from schema.errors import BrokerUnavailable
from streams.topics import bootstrap_servers

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Ack:
    topic: str
    partition: int
    offset: int


class RawPublisher:
    def __init__(self, settings: Settings, timeout_s: float = 5.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=bootstrap_servers(self.settings), acks="all", linger_ms=0,
                    request_timeout_ms=int(self.timeout_s * 1000), client_id="hopnhat-webhooks",
                )
                try:
                    await asyncio.wait_for(producer.start(), self.timeout_s)
                except (KafkaError, OSError, TimeoutError) as exc:
                    await producer.stop()
                    raise BrokerUnavailable(f"cannot reach the broker: {exc!r}") from exc
                self._producer = producer
            return self._producer

    async def publish_all(self, topic: str, records: list[tuple[bytes, bytes]]) -> list[Ack]:
        """Publish several records; return when the broker acknowledged every one of them."""
        producer = await self._ensure()
        try:
            futures = [await producer.send(topic, value=value, key=key) for key, value in records]
            metas = await asyncio.wait_for(asyncio.gather(*futures), self.timeout_s)
        except (KafkaError, TimeoutError) as exc:
            raise BrokerUnavailable(f"broker did not acknowledge the write to {topic}: {exc!r}") from exc
        return [Ack(m.topic, m.partition, m.offset) for m in metas]

    async def check_reachable(self) -> None:
        """Raise BrokerUnavailable unless the broker answers a metadata request now (for /readyz)."""
        producer = await self._ensure()
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), self.timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise BrokerUnavailable(f"broker did not answer a metadata request: {exc!r}") from exc

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
