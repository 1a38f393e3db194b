"""Where a consumer group stands on each partition: committed offset, true end offset, lag.

Used by `hopnhat status`, `GET /v1/status` and the worker's `hopnhat_consumer_lag` gauge.

The end offset is *measured*, not taken from ListOffsets alone: the embedded Tansu answers
ListOffsets with the base offset of a partition's last record batch + 1, which undercounts a batched
write (measured: end offset 1 for a partition holding 30 records written in one batch). So for each
non-empty partition we fetch from (reported end - 1), which on Tansu returns the whole last batch,
and take the highest offset read + 1. On Apache Kafka that fetch returns the single record at
end - 1 and the result equals the reported end offset, so the same code is right on both brokers.
Cost: one short fetch per non-empty partition.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from hopnhat.settings import Settings
from streams.topics import bootstrap_servers


@dataclass(frozen=True, slots=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group never committed on this partition
    end: int
    lag: int  # records not yet processed by the group (end - committed, or end when never committed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def unreachable_brokers(settings: Settings, timeout_s: float = 3.0) -> list[str]:
    """Bootstrap servers that refuse a TCP connection; all of them = the broker is down.

    Checked first because the Kafka clients spend their whole request timeout (30 s) failing to
    bootstrap, which would make `hopnhat status` hang exactly when it is most needed."""
    import socket

    down = []
    for server in bootstrap_servers(settings):
        host, _, port = server.rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
        except (OSError, ValueError):
            down.append(server)
    return down


def _consumer(settings: Settings) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(bootstrap_servers=bootstrap_servers(settings), client_id="hopnhat-offsets",
                         enable_auto_commit=False, fetch_max_wait_ms=100, request_timeout_ms=10000)


def measured_end_offsets(consumer: Any, partitions: Iterable[Any], timeout_s: float = 3.0) -> dict[Any, int]:
    """End offset of each partition, corrected for brokers that report the last batch's base offset + 1."""
    tps = list(partitions)
    reported: dict[Any, int] = dict(consumer.end_offsets(tps))
    ends = dict(reported)
    probe = [tp for tp in tps if reported.get(tp, 0) > 0]
    if not probe:
        return ends
    consumer.assign(probe)
    for tp in probe:
        consumer.seek(tp, reported[tp] - 1)
    deadline = time.monotonic() + timeout_s
    pending = set(probe)
    while time.monotonic() < deadline:
        polled = consumer.poll(timeout_ms=200, max_records=100_000)
        if not polled and not pending:
            break
        for tp, records in polled.items():
            pending.discard(tp)
            if records:
                ends[tp] = max(ends[tp], records[-1].offset + 1)
    consumer.assign([])
    return ends


def group_lag(settings: Settings, group: str, topics: Iterable[str]) -> list[PartitionLag]:
    """Lag of `group` on every partition of `topics` (missing topics are left out)."""
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient

    consumer = _consumer(settings)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(settings), client_id="hopnhat-offsets",
                             request_timeout_ms=10000)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not tps:
            return []
        committed_by_tp = admin.list_group_offsets({group: tps}).get(group, {})
        ends = measured_end_offsets(consumer, tps)
    finally:
        admin.close()
        consumer.close()
    rows = []
    for tp in tps:
        meta = committed_by_tp.get(tp)
        committed = meta.offset if meta is not None and meta.offset >= 0 else None
        end = ends.get(tp, 0)
        lag = max(0, end - (committed or 0))
        rows.append(PartitionLag(group, tp.topic, tp.partition, committed, end, lag))
    return rows
