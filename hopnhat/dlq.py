"""Dead letters: read them back (`hopnhat dlq list|show`) and send their records through again (`replay`).

A `DeadLetter` (schema/events.py) on dlq.normalise / dlq.resolve names the stage, the reason and the
original record's topic, partition and offset, and keeps a copy of its value. Replaying re-publishes
the *original record* to its original topic: it is read back from topic/partition/offset (exact
bytes), or, once retention dropped it, rebuilt from the copy in the letter. The record then takes the
whole path again (normalise, resolve), so a fix to a normaliser, a connector, a setting or the
database applies to it.

Replay creates no duplicates: the event id is the idempotency key of the whole pipeline (interactions
are keyed by it and the sink skips ids it has stored), so replaying a letter twice, or a record that
was stored meanwhile, stores it once. Letters that name the same original record are replayed once
per run. Replay deletes nothing: the letters stay in the DLQ topic (Kafka topics are append-only);
`hopnhat status` counts only dead letters newer than `status_dlq_window_s` as a problem.

Not replayed: ingest-stage letters (dlq.ingest) hold what a source sent before it became a record (a
malformed webhook body, a bad file row, an unparseable mail); fix the source or the file and send or
import again (`hopnhat import` resumes and skips rows already published).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from hopnhat.settings import Settings
from schema.errors import ConfigError
from schema.events import DeadLetter
from streams.topics import Topics, bootstrap_servers


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """One record of a DLQ topic: where it sits there and the letter it holds."""

    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    letter: DeadLetter

    @property
    def ref(self) -> str:
        return f"{self.dlq_topic}:{self.dlq_partition}:{self.dlq_offset}"

    def summary(self) -> dict[str, Any]:
        letter = self.letter
        return {"dlq": self.ref, "stage": letter.stage, "reason": letter.reason, "field": letter.field,
                "error": letter.error, "topic": letter.topic, "partition": letter.partition,
                "offset": letter.offset, "key": letter.key, "at": letter.at.isoformat()}

    def as_dict(self) -> dict[str, Any]:
        return {"dlq": self.ref, **self.letter.model_dump(mode="json")}


@dataclass(frozen=True, slots=True)
class DlqFilter:
    topic: str | None = None  # a DLQ topic (dlq.normalise, or just "normalise") or an original topic (raw.zalo)
    reason: str | None = None
    since: datetime | None = None

    def matches(self, entry: DeadLetterEntry, settings: Settings) -> bool:
        if self.reason is not None and entry.letter.reason != self.reason:
            return False
        if self.since is not None and entry.letter.at < self.since:
            return False
        if self.topic is not None:
            wanted = {self.topic, settings.topic(self.topic), settings.topic(f"dlq.{self.topic}")}
            if entry.dlq_topic not in wanted and entry.letter.topic not in wanted:
                return False
        return True


@dataclass(slots=True)
class ReplayItem:
    dlq: str
    stage: str
    reason: str
    target_topic: str | None
    source: str  # "original" (read back from topic/partition/offset), "letter" (its copy), or "" when skipped
    status: str  # "published", "would-publish" (dry run), "already-replayed" (same original this run), "skipped"
    detail: str = ""
    published: dict[str, int] = field(default_factory=dict)  # partition/offset of the new record

    def as_dict(self) -> dict[str, Any]:
        return {"dlq": self.dlq, "stage": self.stage, "reason": self.reason, "target_topic": self.target_topic,
                "source": self.source, "status": self.status, "detail": self.detail, "published": self.published}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """'30m', '2h', '1d', '45s' (ago) or an ISO 8601 time (naive = UTC)."""
    now = now or datetime.now(UTC)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value)
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return now - timedelta(**{unit: float(m.group(1))})
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--since {value!r}: use a duration such as 30m, 2h, 1d or an ISO time "
                          "such as 2026-11-22T08:00:00+07:00") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def dlq_topics(settings: Settings) -> list[str]:
    t = Topics.from_settings(settings)
    return [t.dlq_ingest, t.dlq_normalise, t.dlq_resolve]


def _consumer(settings: Settings) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(bootstrap_servers=bootstrap_servers(settings), client_id="hopnhat-dlq",
                         enable_auto_commit=False, fetch_max_wait_ms=100)


def read_dead_letters(settings: Settings, topics: list[str] | None = None,
                      timeout_s: float = 30.0) -> Iterator[DeadLetterEntry]:
    """Every letter in the DLQ topics, oldest first per partition, up to the end measured at the start.

    Reads until each partition reached its measured end offset (hopnhat/offsets.py: the embedded
    broker under-reports end offsets), not until the topic is idle for a while, so a slow first fetch
    never yields an empty DLQ. Records that are not DeadLetter JSON come back with reason
    "unreadable-letter"."""
    from kafka import TopicPartition

    from hopnhat.offsets import measured_end_offsets

    consumer = _consumer(settings)
    try:
        for name in topics or dlq_topics(settings):
            tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
            ends = {tp: end for tp, end in measured_end_offsets(consumer, tps).items() if end > 0}
            if not ends:
                continue
            consumer.assign(list(ends))
            consumer.seek_to_beginning(*ends)
            deadline = time.monotonic() + timeout_s
            pending = set(ends)
            while pending and time.monotonic() < deadline:
                for tp, records in consumer.poll(timeout_ms=200).items():
                    for msg in records:
                        if msg.offset >= ends[tp]:
                            pending.discard(tp)
                            continue
                        yield DeadLetterEntry(msg.topic, msg.partition, msg.offset, _letter(msg, name))
                        if msg.offset + 1 >= ends[tp]:
                            pending.discard(tp)
            if pending:
                from schema.errors import BrokerUnavailable

                raise BrokerUnavailable(f"could not read {name} to its end within {timeout_s:.0f}s")
    finally:
        consumer.close()


def _letter(msg: Any, topic: str) -> DeadLetter:
    try:
        return DeadLetter.model_validate_json(msg.value or b"")
    except ValidationError as exc:
        return DeadLetter(stage="unknown", reason="unreadable-letter", error=str(exc.errors()[0]["msg"]),
                          topic=topic, partition=msg.partition, offset=msg.offset, value="",
                          at=datetime.fromtimestamp(msg.timestamp / 1000, UTC))


def list_dead_letters(*, settings: Settings, where: DlqFilter = DlqFilter()) -> list[DeadLetterEntry]:
    return [e for e in read_dead_letters(settings) if where.matches(e, settings)]


def show_dead_letter(*, settings: Settings, ref: str) -> DeadLetterEntry:
    """`dlq.normalise:0:12` (or `normalise:12`, partition 0) -> that entry; ConfigError when absent."""
    parts = ref.split(":")
    if len(parts) not in (2, 3) or not all(p.lstrip("-").isdigit() for p in parts[1:]):
        raise ConfigError(f"{ref!r}: name a letter as <dlq topic>:<partition>:<offset> or <dlq topic>:<offset>, "
                          "as `hopnhat dlq list` prints it")
    name = parts[0] if parts[0].startswith(settings.topic("dlq.")) else settings.topic(
        parts[0] if parts[0].startswith("dlq.") else f"dlq.{parts[0]}")
    partition, offset = (int(parts[1]), int(parts[2])) if len(parts) == 3 else (0, int(parts[1]))
    for entry in read_dead_letters(settings, [name]):
        if entry.dlq_partition == partition and entry.dlq_offset == offset:
            return entry
    raise ConfigError(f"no dead letter at {name}:{partition}:{offset}")


def _read_original(consumer: Any, topic: str, partition: int, offset: int, timeout_s: float = 3.0) -> Any | None:
    """The record at topic/partition/offset, or None when it is gone (retention) or never existed."""
    from kafka import TopicPartition

    tp = TopicPartition(topic, partition)
    if partition not in (consumer.partitions_for_topic(topic) or ()):
        return None
    consumer.assign([tp])
    consumer.seek(tp, offset)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                if record.offset == offset:
                    return record
                if record.offset > offset:
                    return None
    return None


def replay_dead_letters(*, settings: Settings, where: DlqFilter = DlqFilter(), dry_run: bool = False) -> list[ReplayItem]:
    """Re-publish the original record of every matching letter to its original topic (see module doc)."""
    from kafka import KafkaProducer

    topics = Topics.from_settings(settings)
    replayable = set(topics.raw.values()) | {topics.canonical}
    entries = list_dead_letters(settings=settings, where=where)
    items: list[ReplayItem] = []
    seen: set[tuple[str, int, int]] = set()
    consumer = _consumer(settings)
    producer = None if dry_run else KafkaProducer(bootstrap_servers=bootstrap_servers(settings), acks="all",
                                                  client_id="hopnhat-dlq-replay")
    try:
        pending: list[tuple[ReplayItem, Any]] = []
        for entry in entries:
            letter = entry.letter
            item = ReplayItem(entry.ref, letter.stage, letter.reason, letter.topic, "", "skipped")
            items.append(item)
            if letter.stage == "ingest" or letter.topic not in replayable:
                item.target_topic = None
                item.detail = ("holds what a source sent before it became a record; fix the source or file and "
                               "send or import it again")
                continue
            original = (letter.topic, letter.partition, letter.offset)
            if letter.partition >= 0 and original in seen:
                item.status, item.detail = "already-replayed", "another letter of this run names the same record"
                continue
            seen.add(original)
            record = _read_original(consumer, *original) if letter.partition >= 0 else None
            if record is not None:
                key, value, item.source = record.key, record.value, "original"
            else:
                key = letter.key.encode("utf-8") if letter.key is not None else None
                value, item.source = letter.value.encode("utf-8"), "letter"
                item.detail = "original no longer in the topic; re-published the copy kept in the letter"
                if letter.stage == "resolve":  # the copy of a store-rejected record is its canonical event
                    item.target_topic = topics.canonical
            if dry_run:
                item.status = "would-publish"
                continue
            assert producer is not None
            pending.append((item, producer.send(item.target_topic, key=key, value=value)))
        if producer is not None:
            producer.flush()
            for item, future in pending:
                meta = future.get(timeout=30)
                item.status, item.published = "published", {"partition": meta.partition, "offset": meta.offset}
    finally:
        consumer.close()
        if producer is not None:
            producer.close()
    return items
