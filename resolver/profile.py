"""Survivorship for the golden record, kept deliberately simple in this first version.

A profile is folded from events and from the profiles of customers merged into it, so it can be
recomputed for touched customers only. Every value keeps its sources and first/last seen time.
The values shown (full name, primary phone and email) are chosen by the declared rules of
resolver/survivorship.py (source trust, completeness, recency, frequency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from resolver.consent import ConsentStatement, consent_statements
from resolver.survivorship import choose, name_completeness
from schema.events import CanonicalEvent, IdentifierType


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
    addresses: dict[str, _Value] = field(default_factory=dict)
    provinces: dict[str, datetime] = field(default_factory=dict)  # province code -> last seen
    identifiers: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    merged_from: set[str] = field(default_factory=set)
    interactions: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    consents: dict[tuple[str, str], ConsentStatement] = field(default_factory=dict)  # (channel, purpose) -> latest

    def _consent(self, statements: list[ConsentStatement]) -> None:
        for st in statements:
            key = (st.channel, st.purpose)
            current = self.consents.get(key)
            if current is None or (st.at, st.event_id) > (current.at, current.event_id):
                self.consents[key] = st

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
        address = event.address
        self._add(event.name.value if event.name is not None else None,
                  [(i.type.value, i.value) for i in event.identifiers],
                  address.normalised if address else None, address.province_code if address else None,
                  event.channel, event.source, event.occurred_at)
        if event.attributes:
            self._consent(consent_statements(channel=event.channel, source=event.source, event_id=event.event_id,
                                             at=event.occurred_at, attributes=event.attributes))

    def add_stored(self, record: dict[str, Any], channel: str, source: str, at: datetime) -> None:
        """One interaction rebuilt from the store (its source record's JSON and its own time): how
        a split recomputes profiles from scratch. Same effect as `add_event` for the same event."""
        name = record.get("name") or {}
        address = record.get("address") or {}
        self._add(name.get("value"), [(i["type"], i["value"]) for i in record.get("identifiers", [])],
                  address.get("normalised"), address.get("province_code"), channel, source, at)
        if record.get("attributes"):
            self._consent(consent_statements(channel=channel, source=source, event_id=record.get("event_id", ""),
                                             at=at, attributes=record["attributes"]))

    def _add(self, name: str | None, identifiers: list[tuple[str, str]], address: str | None,
             province: str | None, channel: str, source: str, at: datetime) -> None:
        if name is not None:
            self._see(self.names, name, source, at)
        for kind, value in identifiers:
            self.identifiers.add(f"{kind}:{value}")
            if kind == IdentifierType.phone.value:
                self._see(self.phones, value, source, at)
            elif kind == IdentifierType.email.value:
                self._see(self.emails, value, source, at)
        if address is not None:
            self._see(self.addresses, address, source, at)
            if province:
                self.provinces[province] = max(self.provinces.get(province, at), at)
        self.channels.add(channel)
        self.interactions += 1
        self._span(at, at)

    def absorb(self, other: ProfileBuilder) -> None:
        """Fold another customer's profile into this one (a merge)."""
        for code, seen in other.provinces.items():
            self.provinces[code] = max(self.provinces.get(code, seen), seen)
        for mine, theirs in ((self.names, other.names), (self.phones, other.phones), (self.emails, other.emails),
                             (self.addresses, other.addresses)):
            for value, v in theirs.items():
                current = mine.get(value)
                if current is None:
                    mine[value] = _Value(set(v.sources), v.first_seen, v.last_seen)
                else:
                    current.sources |= v.sources
                    current.first_seen = min(current.first_seen, v.first_seen)
                    current.last_seen = max(current.last_seen, v.last_seen)
        self.identifiers |= other.identifiers
        self.channels |= other.channels
        self.merged_from |= other.merged_from
        self.merged_from.add(other.customer_id)
        self.interactions += other.interactions
        self._consent(list(other.consents.values()))
        if other.first_seen is not None and other.last_seen is not None:
            self._span(other.first_seen, other.last_seen)

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> ProfileBuilder:
        """Rebuild from a stored profile (customers.profile JSON) without a validation pass: the
        store only ever holds what `build()` produced, and this runs for every touched customer."""
        parse = datetime.fromisoformat

        def values(items: list[dict[str, Any]]) -> dict[str, _Value]:
            return {v["value"]: _Value(set(v["sources"]), parse(v["first_seen"]), parse(v["last_seen"]))
                    for v in items}

        return cls(
            customer_id=data["customer_id"], names=values(data["names"]), phones=values(data["phones"]),
            emails=values(data["emails"]), addresses=values(data.get("addresses", [])),
            provinces=({data["province_code"]: parse(data["last_seen"])} if data.get("province_code") else {}),
            identifiers=set(data["identifiers"]), channels=set(data["channels"]),
            merged_from=set(data["merged_from"]), interactions=int(data["interactions"]),
            first_seen=parse(data["first_seen"]), last_seen=parse(data["last_seen"]),
            consents={(c["channel"], c["purpose"]): ConsentStatement(c["channel"], c["purpose"], c["granted"],
                                                                     c["source"], c["event_id"], parse(c["at"]))
                      for c in data.get("consents", [])},
        )

    def build(self, updated_at: datetime) -> dict[str, Any]:
        """The golden record as the JSON object of `schema.events.GoldenProfile`.

        A plain dict, not a model: it is built here from typed values and only ever serialised
        (to customers.profile and customers.profiles), so constructing pydantic objects per value
        only cost time (measured: a third of the resolver's batch time). tests/unit check that
        the output validates against GoldenProfile.
        """

        def values(bucket: dict[str, _Value]) -> list[dict[str, Any]]:
            return [{"value": k, "sources": sorted(s for s in v.sources if s),
                     "first_seen": v.first_seen.isoformat(), "last_seen": v.last_seen.isoformat()}
                    for k, v in sorted(bucket.items(), key=lambda kv: (kv[1].first_seen, kv[0]))]

        shown: dict[str, Any] = {}
        for field_name, bucket, complete in (("full_name", self.names, name_completeness),
                                             ("primary_phone", self.phones, None),
                                             ("primary_email", self.emails, None)):
            picked = choose(bucket, complete or (lambda _: 1.0))
            if picked is not None:
                shown[field_name] = {"value": picked[0], **picked[1]}
        first = self.first_seen or updated_at
        return {
            "customer_id": self.customer_id, "full_name": shown.get("full_name", {}).get("value"),
            "primary_phone": shown.get("primary_phone", {}).get("value"),
            "primary_email": shown.get("primary_email", {}).get("value"), "names": values(self.names),
            "phones": values(self.phones), "emails": values(self.emails), "addresses": values(self.addresses),
            "province_code": max(self.provinces.items(), key=lambda kv: (kv[1], kv[0]))[0] if self.provinces else None,
            "identifiers": sorted(self.identifiers),
            "channels": sorted(self.channels), "merged_from": sorted(self.merged_from),
            "interactions": self.interactions, "first_seen": first.isoformat(),
            "last_seen": (self.last_seen or first).isoformat(), "updated_at": updated_at.isoformat(),
            "survivorship": shown,
            "consents": [self.consents[k].as_dict() for k in sorted(self.consents)],
        }
