"""Typed messages on hopnhat's topics, one model per direction.

raw.<channel>       -> `CloudEvent` (CloudEvents 1.0 JSON, structured mode), written by connectors/
events.canonical    -> `CanonicalEvent`, written by the normalise stage in streams/
customers.profiles  -> `GoldenProfile` keyed by customer id (compacted; a null value is a tombstone)
customers.merges    -> `MergeEvent`
dlq.<stage>         -> `DeadLetter`

These are pydantic v2 models so the JSON Schemas in schema/jsonschema/ are generated from the same
source the code validates with.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudEvent(_Model):
    """A raw event as a connector received it, wrapped as a CloudEvents 1.0 structured JSON event.

    `id` is derived from the source's own id (submission id, message id, order code ...), so a
    redelivered webhook or a re-imported file produces the same id and is a no-op downstream.
    """

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, description="Idempotency key derived from the source's own id")
    source: str = Field(min_length=1, description="URI-reference of the producer, e.g. /webform/contact")
    type: str = Field(min_length=1, description="Reverse-DNS event type, e.g. vn.hopnhat.webform.submitted")
    subject: str | None = Field(default=None, description="The sender id the Kafka key is derived from")
    time: datetime = Field(description="When the source says the event happened (UTC)")
    datacontenttype: Literal["application/json"] = "application/json"
    hopnhatchannel: str = Field(description="CloudEvents extension: hopnhat channel name (webform, zalo ...)")
    hopnhatreceived: datetime = Field(description="CloudEvents extension: when hopnhat received it (UTC)")
    data: dict[str, Any] = Field(description="The source's payload, kept as received (after parsing)")


class IdentifierType(StrEnum):
    """Typed identifiers; channel ids are unique to one person, phones and emails are strong but shareable."""

    phone = "phone"
    email = "email"
    zalo = "zalo"
    fb_psid = "fb_psid"
    pos_customer = "pos_customer"
    national_id = "national_id"
    external = "external"
    cookie = "cookie"


class Identifier(_Model):
    """One normalised identifier with the raw value it came from."""

    type: IdentifierType
    value: str = Field(description="Normalised value: E.164 phone, lower-cased email, channel id ...")
    raw: str = Field(description="The value exactly as the source sent it")
    flags: list[str] = Field(default_factory=list, description="Normaliser remarks, e.g. legacy_11_digit")


class NormalisedText(_Model):
    raw: str
    value: str


class NormalisedAddress(_Model):
    """A postal address with its province resolved to the current (post-1-July-2025) unit."""

    raw: str
    normalised: str
    match_key: str
    province_code: str | None = Field(default=None, description="Current unit code (34 units since 2025-07-01)")
    province_name: str | None = None
    province_code_before: str | None = Field(default=None, description="The pre-2025 unit (63), when known")
    province_name_before: str | None = None
    district: str | None = Field(default=None, description="Kept as written; the 2025 system has no districts")
    ward: str | None = None
    street: str | None = None
    flags: list[str] = Field(default_factory=list)


class RawRef(_Model):
    """Where the raw event sits in Kafka: the DLQ and explanations point back to it."""

    topic: str
    partition: int
    offset: int


class Interaction(_Model):
    """One entry of the customer's timeline."""

    kind: str = Field(description="form_submission, message, order, call, email ...")
    summary: str | None = Field(default=None, description="Short human text for the timeline")
    amount_vnd: int | None = Field(default=None, description="Money amounts in VND as integers")
    payload: dict[str, Any] = Field(default_factory=dict, description="Channel-specific details")


class CanonicalEvent(_Model):
    """A raw event of any channel after normalisation: what the resolver consumes."""

    event_id: str
    channel: str
    source: str = Field(description="The source system, e.g. webform:contact")
    source_record_id: str = Field(description="The record's id in its source (submission id ...)")
    occurred_at: datetime
    received_at: datetime
    identifiers: list[Identifier] = Field(default_factory=list)
    name: NormalisedText | None = None
    address: NormalisedAddress | None = None
    attributes: dict[str, str] = Field(default_factory=dict, description="UTM fields, consent flags ...")
    interaction: Interaction
    raw_ref: RawRef | None = None


class ProfileValue(_Model):
    """A value of the golden record with its provenance."""

    value: str
    sources: list[str] = Field(default_factory=list)
    first_seen: datetime
    last_seen: datetime


class ConsentValue(_Model):
    """The person's latest statement on one purpose over one channel, with where and when it was made."""

    channel: str
    purpose: str = Field(description="marketing | customer_care | the source's own purpose name")
    granted: bool
    source: str
    event_id: str
    at: datetime


class GoldenProfile(_Model):
    """The golden customer record as published on customers.profiles, keyed by customer_id."""

    customer_id: str
    full_name: str | None = Field(default=None, description="The name shown, chosen by survivorship rules")
    primary_phone: str | None = Field(default=None, description="The phone shown, chosen by survivorship rules")
    primary_email: str | None = Field(default=None, description="The email shown, chosen by survivorship rules")
    names: list[ProfileValue] = Field(default_factory=list)
    phones: list[ProfileValue] = Field(default_factory=list)
    emails: list[ProfileValue] = Field(default_factory=list)
    addresses: list[ProfileValue] = Field(default_factory=list, description="Normalised display forms")
    province_code: str | None = Field(default=None, description="Province of the most recently seen address")
    identifiers: list[str] = Field(default_factory=list, description="type:value of every identifier")
    channels: list[str] = Field(default_factory=list)
    merged_from: list[str] = Field(default_factory=list, description="Customer ids absorbed into this one")
    interactions: int = 0
    first_seen: datetime
    last_seen: datetime
    updated_at: datetime
    consents: list[ConsentValue] = Field(
        default_factory=list, description="Per channel and purpose, the latest consent statement (resolver/consent.py)")
    survivorship: dict[str, Any] = Field(
        default_factory=dict,
        description="Per shown field: the value, its rule scores (trust, completeness, recency, frequency) and sources")


class MergeEvent(_Model):
    """One merge or split of customers, as published on customers.merges.

    merge: `absorbed` now redirects to `survivor`. split (`hopnhat unmerge`): `absorbed` is a
    customer of its own again, carved out of `survivor`; its profile follows on customers.profiles.
    """

    kind: Literal["merge", "split"] = "merge"
    survivor: str
    absorbed: str
    reason: str = Field(description="The rule that decided, e.g. shared_identifier")
    evidence: dict[str, Any] = Field(default_factory=dict)
    evidence_id: int | None = None
    at: datetime


class DeadLetter(_Model):
    """A record that failed a stage; the original bytes are kept so it can be replayed after a fix."""

    stage: str = Field(description="ingest, normalise, resolve")
    reason: str
    field: str | None = None
    error: str
    topic: str
    partition: int
    offset: int
    key: str | None = None
    value: str = Field(description="The original message value, decoded as UTF-8 with replacement")
    at: datetime


# The contract of each topic: what schema/jsonschema/<file> is generated from.
TOPIC_MODELS: dict[str, type[BaseModel]] = {
    "raw": CloudEvent,
    "events.canonical": CanonicalEvent,
    "customers.profiles": GoldenProfile,
    "customers.merges": MergeEvent,
    "dlq": DeadLetter,
}
