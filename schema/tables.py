"""PostgreSQL tables (SQLAlchemy 2.0 declarative models): the store of profiles and timelines.

customers        one row per customer id ever minted; `merged_into` points an absorbed customer at
                 its survivor (kept one hop deep: a merge re-points earlier absorbed ids too), and
                 `profile` holds the golden record as published on customers.profiles.
identifiers      typed identifier -> current customer; unique on (type, value).
identifier_holders  the other customers holding a shared phone or email (a family address, a shop
                 phone): the stream links a record through such a value to the holder its name fits.
source_records   one row per record in a source system, linked to a customer with the rule that
                 linked it.
interactions     the timeline: one row per event id (the idempotency key of the whole pipeline).
match_evidence   why something was linked or merged (rule, identifier, weights).
merges           one row per merge, pointing at its evidence; `undone_at` is set by an unmerge.
quality_scores   data-quality figures per source, field and criterion, one set per `hopnhat quality`.
ingest_checkpoints  how far a file import or mailbox poll has got (resume without duplicates).
review_queue     pairs of source records the engine was unsure of, or whose merge it refused.
review_decisions an operator's verdict on a pair (same person or not), applied to later resolutions.
match_parameters Fellegi-Sunter parameters trained by `hopnhat resolve`.
match_keys       hashed blocking keys per source record: fuzzy-match candidates for the stream.
api_keys         API keys (only their SHA-256 is stored) with a role; revoked keys keep their row.
audit_log        every read of unmasked PII and every export: who (key id), when, what, which fields.
suppressions     salted hashes of erased identifiers: their events are dropped until fresh consent.
erasure_salt     the salt of those hashes, unless HOPNHAT_SUPPRESSION_SALT holds it outside the database.

The migrations in schema/migrations/ create exactly these tables; tests check they do not drift.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


TZ = DateTime(timezone=True)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id"), index=True
    )
    profile: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())


class IdentifierRow(Base):
    __tablename__ = "identifiers"
    __table_args__ = (UniqueConstraint("type", "value"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(Text, nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id"), nullable=False, index=True
    )
    first_seen: Mapped[datetime] = mapped_column(TZ, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(TZ, nullable=False)


class IdentifierHolder(Base):
    """A customer that holds a phone or email another customer owns in `identifiers`: the value turned
    out shared (the names on the two sides are clearly different people), so it has several holders.
    Rows name the customer the holder was at the time; readers follow `merged_into` to its root."""

    __tablename__ = "identifier_holders"

    type: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id"), primary_key=True, index=True
    )


class MatchEvidence(Base):
    __tablename__ = "match_evidence"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(Text, nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    event_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())


class SourceRecord(Base):
    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("source", "source_record_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    source_record_id: Mapped[str] = mapped_column(Text, nullable=False)
    channel: Mapped[str] = mapped_column(Text, nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id"), nullable=False, index=True
    )
    link_rule: Mapped[str] = mapped_column(Text, nullable=False)
    link_identifier: Mapped[str | None] = mapped_column(Text)
    record: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    first_event_id: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())


class InteractionRow(Base):
    __tablename__ = "interactions"
    __table_args__ = (Index(None, "customer_id", "occurred_at"),)

    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id"), nullable=False
    )
    channel: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    source_record_id: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    received_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    summary: Mapped[str | None] = mapped_column(Text)
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    raw_topic: Mapped[str | None] = mapped_column(Text)
    raw_partition: Mapped[int | None] = mapped_column(Integer)
    raw_offset: Mapped[int | None] = mapped_column(BigInteger)
    stored_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())


class QualityScore(Base):
    """One data-quality figure (criterion x source x field) of one `hopnhat quality` run."""

    __tablename__ = "quality_scores"
    __table_args__ = (Index(None, "computed_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    computed_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    field: Mapped[str] = mapped_column(Text, nullable=False)
    criterion: Mapped[str] = mapped_column(Text, nullable=False)
    numerator: Mapped[int] = mapped_column(BigInteger, nullable=False)
    denominator: Mapped[int] = mapped_column(BigInteger, nullable=False)
    score: Mapped[float | None] = mapped_column(Double)
    threshold: Mapped[float] = mapped_column(Double, nullable=False)
    flagged: Mapped[bool] = mapped_column(Boolean, nullable=False)


class IngestCheckpoint(Base):
    """Where a pull-based ingest (file import, IMAP mailbox) has got to, so it resumes without duplicates.

    `checkpoint` is the ingest's own JSON (e.g. {"uidvalidity": 7, "last_uid": 1234} or
    {"sha256": ..., "rows_published": 5000}); it is written only after the broker acknowledged
    everything up to that point.
    """

    __tablename__ = "ingest_checkpoints"

    source: Mapped[str] = mapped_column(Text, primary_key=True)
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())


class Merge(Base):
    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    survivor_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id"), nullable=False, index=True
    )
    absorbed_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id"), nullable=False, index=True
    )
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    evidence_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("match_evidence.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())
    undone_at: Mapped[datetime | None] = mapped_column(TZ)


class ReviewItem(Base):
    """A pair of source records the engine was unsure about, or whose merge protection refused."""

    __tablename__ = "review_queue"
    __table_args__ = (UniqueConstraint("left_record", "right_record"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    left_record: Mapped[str] = mapped_column(Text, nullable=False)  # "source|source_record_id"
    right_record: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    probability: Mapped[float | None] = mapped_column(Double)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(TZ)
    decided_by: Mapped[str | None] = mapped_column(Text)


class ReviewDecision(Base):
    """An operator's verdict on two records, applied to every later resolution (must / cannot link)."""

    __tablename__ = "review_decisions"

    left_record: Mapped[str] = mapped_column(Text, primary_key=True)
    right_record: Mapped[str] = mapped_column(Text, primary_key=True)
    same_person: Mapped[bool] = mapped_column(Boolean, nullable=False)
    decided_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())
    decided_by: Mapped[str | None] = mapped_column(Text)


class MatchParameterSet(Base):
    """Fellegi-Sunter m/u parameters trained by `hopnhat resolve` (resolver/fellegi_sunter.py)."""

    __tablename__ = "match_parameters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    trained_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())
    records: Mapped[int] = mapped_column(BigInteger, nullable=False)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)


class ApiKey(Base):
    """An API key: `id` is the public prefix printed in lists and audit rows, `key_hash` the SHA-256 of the key."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("key_hash"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    key_hash: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)


class AuditRecord(Base):
    """One read of unmasked PII (`read_pii`) or one export (`export`). `query` holds masked values only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now(), index=True)
    key_id: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    query: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    fields: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)


class MatchKey(Base):
    """A source record's blocking key (a 64-bit hash, resolver/candidates.py): how the stream finds
    fuzzy-match candidates without holding phone digits or birth dates in clear."""

    __tablename__ = "match_keys"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(Text, primary_key=True)
    source_record_id: Mapped[str] = mapped_column(Text, primary_key=True)


class Suppression(Base):
    """One erased identifier, as HMAC-SHA256(salt, "type:value"): enough to recognise it, not to read it."""

    __tablename__ = "suppressions"

    hash: Mapped[str] = mapped_column(Text, primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())


class ErasureSalt(Base):
    """The suppression hashes' salt (one row, id 1), generated at the first erasure."""

    __tablename__ = "erasure_salt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    salt: Mapped[str] = mapped_column(Text, nullable=False)
