"""Survivorship for the golden record, kept deliberately simple in this first version.

A profile is folded from events and from the profiles of customers merged into it, so it can be
recomputed for touched customers only. Every value keeps its sources and first/last seen time.
Rule for the display name: the most recently seen name (a richer rule set, with source trust and
completeness, comes with the identity-resolution work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schema.events import CanonicalEvent, GoldenProfile, IdentifierType, ProfileValue


@dataclass(slots=True)
class _Value:
    sources: set[str]
    first_seen: datetime
    last_seen: datetime

    def see(self, source: str, at: datetime) -> None:
        self.sources.add(source)
        self.first_seen = min(self.first_seen, at)
        self.last_seen = max(self.last_seen, at)


@dataclass(slots=True)
class ProfileBuilder:
    customer_id: str
    names: dict[str, _Value] = field(default_factory=dict)
    phones: dict[str, _Value] = field(default_factory=dict)
    emails: dict[str, _Value] = field(default_factory=dict)
    identifiers: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    merged_from: set[str] = field(default_factory=set)
    interactions: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @staticmethod
    def _see(bucket: dict[str, _Value], value: str, source: str, at: datetime) -> None:
        current = bucket.get(value)
        if current is None:
            bucket[value] = _Value({source}, at, at)
        else:
            current.see(source, at)

    def _span(self, first: datetime, last: datetime) -> None:
        self.first_seen = first if self.first_seen is None else min(self.first_seen, first)
        self.last_seen = last if self.last_seen is None else max(self.last_seen, last)

    def add_event(self, event: CanonicalEvent) -> None:
        at = event.occurred_at
        if event.name is not None:
            self._see(self.names, event.name.value, event.source, at)
        for ident in event.identifiers:
            self.identifiers.add(f"{ident.type.value}:{ident.value}")
            if ident.type is IdentifierType.phone:
                self._see(self.phones, ident.value, event.source, at)
            elif ident.type is IdentifierType.email:
                self._see(self.emails, ident.value, event.source, at)
        self.channels.add(event.channel)
        self.interactions += 1
        self._span(at, at)

    def absorb(self, other: GoldenProfile) -> None:
        """Fold another customer's profile into this one (a merge)."""
        for bucket, values in ((self.names, other.names), (self.phones, other.phones), (self.emails, other.emails)):
            for v in values:
                for source in v.sources or [""]:
                    self._see(bucket, v.value, source, v.first_seen)
                bucket[v.value].last_seen = max(bucket[v.value].last_seen, v.last_seen)
        self.identifiers.update(other.identifiers)
        self.channels.update(other.channels)
        self.merged_from.update(other.merged_from)
        self.merged_from.add(other.customer_id)
        self.interactions += other.interactions
        self._span(other.first_seen, other.last_seen)

    @classmethod
    def from_profile(cls, profile: GoldenProfile) -> ProfileBuilder:
        builder = cls(profile.customer_id)
        builder.absorb(profile)
        builder.merged_from = set(profile.merged_from)
        return builder

    def build(self, updated_at: datetime) -> GoldenProfile:
        def values(bucket: dict[str, _Value]) -> list[ProfileValue]:
            return [ProfileValue(value=k, sources=sorted(s for s in v.sources if s), first_seen=v.first_seen,
                                 last_seen=v.last_seen)
                    for k, v in sorted(bucket.items(), key=lambda kv: (kv[1].first_seen, kv[0]))]

        full_name = max(self.names.items(), key=lambda kv: (kv[1].last_seen, kv[0]))[0] if self.names else None
        first = self.first_seen or updated_at
        return GoldenProfile(
            customer_id=self.customer_id, full_name=full_name, names=values(self.names),
            phones=values(self.phones), emails=values(self.emails), identifiers=sorted(self.identifiers),
            channels=sorted(self.channels), merged_from=sorted(self.merged_from), interactions=self.interactions,
            first_seen=first, last_seen=self.last_seen or first, updated_at=updated_at,
        )


def profile_from_json(data: dict[str, Any]) -> GoldenProfile:
    return GoldenProfile.model_validate(data)
