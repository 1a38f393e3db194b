"""Bodies of the profile HTTP API, one model per direction (never a table row)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schema.events import GoldenProfile


class ProfileOut(BaseModel):
    """A golden record as served by the API; `requested_id` differs when the id was merged away."""

    requested_id: str
    customer_id: str
    profile: GoldenProfile
    shared_with: list[str] = Field(
        default_factory=list,
        description="Lookup only: the other customers holding the same phone or email (a family address, a "
                    "household or shop phone). The answer is the value's first holder; these are different "
                    "people who use it too.")


class SearchHit(BaseModel):
    customer_id: str
    full_name: str | None
    province_code: str | None
    phones: list[str]
    emails: list[str]
    last_seen: datetime


class SearchResult(BaseModel):
    query: str
    province_code: str | None
    hits: list[SearchHit]


class TimelineItem(BaseModel):
    event_id: str
    channel: str
    source: str
    source_record_id: str
    kind: str
    occurred_at: datetime
    summary: str | None = None
    amount_vnd: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class TimelinePage(BaseModel):
    customer_id: str
    items: list[TimelineItem]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next (older) page")


class LinkExplanation(BaseModel):
    source: str
    source_record_id: str
    channel: str
    rule: str = Field(description="new_customer | shared_identifier | same_source_record")
    identifier: str | None = None
    first_event_id: str


class MergeExplanation(BaseModel):
    survivor: str
    absorbed: str
    reason: str
    evidence: dict[str, Any]
    at: datetime


class ExplainOut(BaseModel):
    """Why these records are one customer: each record's link rule and every merge with its evidence."""

    customer_id: str
    records: list[LinkExplanation]
    merges: list[MergeExplanation]
