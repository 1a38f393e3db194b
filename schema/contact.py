"""`RawContact`: what a connector extracts from its channel's raw event, before normalisation.

It is the hand-over between connectors/ (which know each channel's native field names) and
resolver/ (which knows how to clean Vietnamese phones, emails and names). Values are still raw.
Internal to one process (never on a topic), so a slotted dataclass rather than a pydantic model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class RawContact:
    channel: str
    source: str
    source_record_id: str
    occurred_at: datetime
    received_at: datetime
    interaction_kind: str
    name: str | None = None
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    address: str | None = None  # one postal address as written (parts joined with ", ")
    channel_ids: list[tuple[str, str]] = field(default_factory=list)  # (identifier type, value)
    attributes: dict[str, str] = field(default_factory=dict)
    summary: str | None = None
    amount_vnd: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
