"""The normalise stage as a function of one Kafka record: raw CloudEvent -> canonical event or DLQ.

Kept free of faust so it is tested directly and reused by `hopnhat dlq replay` later. A record that
cannot be decoded, extracted or normalised becomes a `DeadLetter` value with stage, field, reason and
the original topic/partition/offset; it is never raised through the agent. An event of an erased
person (the suppression list, hopnhat/suppression.py) becomes `Suppressed` and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from pydantic import ValidationError

from connectors import load_connector
from connectors.base import Connector
from hopnhat.suppression import SuppressionList
from resolver.normalise import Rejected, canonical_event
from schema.errors import HopnhatError, MalformedPayload
from schema.events import CanonicalEvent, CloudEvent, DeadLetter, RawRef


@cache
def _connector(channel: str) -> Connector:
    return load_connector(channel)


def dead_letter(stage: str, reason: str, error: str, topic: str, partition: int, offset: int,
                key: bytes | None, value: bytes | None, field: str | None = None) -> DeadLetter:
    return DeadLetter(
        stage=stage, reason=reason, field=field, error=error, topic=topic, partition=partition, offset=offset,
        key=key.decode("utf-8", "replace") if key is not None else None,
        value=(value or b"").decode("utf-8", "replace"), at=datetime.now(UTC),
    )


@dataclass(frozen=True, slots=True)
class Suppressed:
    """An event of an erased person (hopnhat/suppression.py): dropped, neither stored nor dead-lettered
    (a DLQ record would keep the very PII the erasure removed)."""

    event_id: str
    topic: str
    partition: int
    offset: int


def normalise_record(channel: str, topic: str, partition: int, offset: int, key: bytes | None,
                     value: bytes | None, suppression: SuppressionList | None = None
                     ) -> CanonicalEvent | DeadLetter | Suppressed:
    def reject(reason: str, error: str, field: str | None = None) -> DeadLetter:
        return dead_letter("normalise", reason, error, topic, partition, offset, key, value, field)

    if value is None:
        return reject("empty", "record has no value")
    try:
        raw = CloudEvent.model_validate_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        return reject("invalid-envelope", first["msg"], ".".join(str(p) for p in first["loc"]))
    try:
        contact = _connector(channel).extract(raw)
    except MalformedPayload as exc:
        return reject("malformed", exc.reason, exc.field)
    except (KeyError, TypeError, ValueError) as exc:
        return reject("extract-failed", f"{type(exc).__name__}: {exc}")
    try:
        result = canonical_event(contact, raw.id, RawRef(topic=topic, partition=partition, offset=offset))
    except (HopnhatError, ValidationError, ValueError) as exc:
        return reject("normalise-failed", f"{type(exc).__name__}: {exc}")
    if isinstance(result, Rejected):
        return reject(result.reason, f"{result.field}: {result.reason}", result.field)
    if suppression is not None and suppression.blocks(result):
        return Suppressed(result.event_id, topic, partition, offset)
    return result


def canonical_key(event: CanonicalEvent) -> bytes:
    """Key on events.canonical: the stable source key, so one record's events stay in order."""
    return f"{event.source}|{event.source_record_id}".encode()


def dumps(obj: DeadLetter | CanonicalEvent) -> bytes:
    return obj.model_dump_json().encode("utf-8")
