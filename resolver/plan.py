"""Deterministic resolution of one micro-batch into a plan of writes (no I/O here).

Rule of this first engine: records that share a strong identifier (phone, email, channel id) or
the same source record are one customer. Names never link anything. Events are taken in batch
order and the outcome is the same as processing them one at a time:

* an event whose identifiers are all unknown mints a customer (id = uuid5 of the event id, so a
  replay mints the same id);
* an event whose identifiers belong to one customer joins it;
* an event whose identifiers belong to several customers merges them into the oldest one (the
  survivor), with the event and the identifiers on each side as evidence.

The caller (streams/postgres_sink.py) reads the current owners of the batch's identifiers, hands
them in, and applies the returned plan in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from resolver.profile import ProfileBuilder
from schema.events import CanonicalEvent

CUSTOMER_NAMESPACE = uuid.UUID("6f1d6c2e-8f0b-5c3a-9d57-686f706e6861")
SOURCE_KEY_TYPE = "_source"  # a source record links like an identifier, and is stored separately

Key = tuple[str, str]  # (identifier type, normalised value)


def customer_id_for(event_id: str) -> str:
    return str(uuid.uuid5(CUSTOMER_NAMESPACE, event_id))


def event_keys(event: CanonicalEvent) -> list[Key]:
    """The keys an event links by: its identifiers, then its source record."""
    keys: list[Key] = [(i.type.value, i.value) for i in event.identifiers]
    keys.append((SOURCE_KEY_TYPE, f"{event.source}|{event.source_record_id}"))
    return keys


@dataclass(frozen=True, slots=True)
class ExistingCustomer:
    customer_id: str
    created_at: datetime
    profile: dict[str, Any]  # as stored in customers.profile (GoldenProfile JSON)


@dataclass(frozen=True, slots=True)
class MergeDecision:
    survivor: str
    absorbed: str
    rule: str
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Link:
    event_id: str
    customer_id: str
    rule: str  # new_customer | shared_identifier | same_source_record
    identifier: str | None


@dataclass(slots=True)
class ResolutionPlan:
    new_customers: list[str] = field(default_factory=list)
    merges: list[MergeDecision] = field(default_factory=list)
    links: dict[str, Link] = field(default_factory=dict)  # event id -> link (customer = final root)
    owners: dict[Key, str] = field(default_factory=dict)  # every batch key -> final root customer
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # touched roots, GoldenProfile JSON
    redirects: dict[str, str] = field(default_factory=dict)  # absorbed customer -> final root


class _Customers:
    """Union-find over customer ids with the survivor rule: oldest first, then smallest id."""

    def __init__(self, existing: Mapping[str, ExistingCustomer]) -> None:
        self.parent: dict[str, str] = {}
        self.rank: dict[str, tuple[int, str, str]] = {}
        for cid, c in existing.items():
            self.rank[cid] = (0, c.created_at.isoformat(), cid)
        self._minted = 0

    def mint(self, cid: str) -> None:
        self._minted += 1
        self.rank.setdefault(cid, (1, f"{self._minted:012d}", cid))

    def find(self, cid: str) -> str:
        root = cid
        while root in self.parent:
            root = self.parent[root]
        while cid != root:
            self.parent[cid], cid = root, self.parent[cid]
        return root

    def union(self, a: str, b: str) -> tuple[str, str]:
        """Merge two roots; return (survivor, absorbed)."""
        survivor, absorbed = sorted((a, b), key=self.rank.__getitem__)
        self.parent[absorbed] = survivor
        return survivor, absorbed


def resolve_batch(
    events: Sequence[CanonicalEvent],
    owners: Mapping[Key, str],
    existing: Mapping[str, ExistingCustomer],
    now: datetime,
) -> ResolutionPlan:
    """Resolve `events` against `owners` (key -> root customer id, read from the store)."""
    plan = ResolutionPlan()
    customers = _Customers(existing)
    owner: dict[Key, str] = dict(owners)
    assigned: dict[str, str] = {}

    for event in events:
        keys = event_keys(event)
        by_customer: dict[str, list[Key]] = {}
        for key in keys:
            if key in owner:
                by_customer.setdefault(customers.find(owner[key]), []).append(key)
        if not by_customer:
            cid = customer_id_for(event.event_id)
            customers.mint(cid)
            plan.new_customers.append(cid)
            link = Link(event.event_id, cid, "new_customer", None)
        else:
            roots = sorted(by_customer, key=customers.rank.__getitem__)
            cid = roots[0]
            for other in roots[1:]:
                survivor, absorbed = customers.union(customers.find(cid), other)
                plan.merges.append(MergeDecision(
                    survivor=survivor, absorbed=absorbed, rule="shared_identifier",
                    evidence={
                        "event_id": event.event_id,
                        "survivor_keys": [f"{t}:{v}" for t, v in by_customer.get(survivor, [])],
                        "absorbed_keys": [f"{t}:{v}" for t, v in by_customer.get(absorbed, [])],
                    },
                ))
                cid = survivor
            first_type, first_value = by_customer[roots[0]][0]
            rule = "same_source_record" if first_type == SOURCE_KEY_TYPE else "shared_identifier"
            link = Link(event.event_id, cid, rule, f"{first_type}:{first_value}")
        for key in keys:
            owner.setdefault(key, cid)
        assigned[event.event_id] = cid
        plan.links[event.event_id] = link

    # Final roots for every link and key, then the touched profiles.
    for event_id, link in plan.links.items():
        root = customers.find(link.customer_id)
        if root != link.customer_id:
            plan.links[event_id] = Link(event_id, root, link.rule, link.identifier)
    for event in events:
        for key in event_keys(event):
            plan.owners[key] = customers.find(owner[key])
    plan.redirects = {m.absorbed: customers.find(m.absorbed) for m in plan.merges}
    plan.profiles = _profiles(events, plan, existing, customers, now)
    return plan


def _profiles(
    events: Iterable[CanonicalEvent],
    plan: ResolutionPlan,
    existing: Mapping[str, ExistingCustomer],
    customers: _Customers,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    builders: dict[str, ProfileBuilder] = {}

    def builder(root: str) -> ProfileBuilder:
        if root not in builders:
            prior = existing.get(root)
            builders[root] = ProfileBuilder.from_stored(prior.profile) if prior else ProfileBuilder(root)
        return builders[root]

    for event in events:
        builder(customers.find(plan.links[event.event_id].customer_id)).add_event(event)
    for merge in plan.merges:
        target = builder(customers.find(merge.absorbed))
        prior = existing.get(merge.absorbed)
        if prior is not None:
            target.absorb(ProfileBuilder.from_stored(prior.profile))
        else:  # minted and absorbed within this batch: its events are already on the survivor
            target.merged_from.add(merge.absorbed)
    return {cid: b.build(now) for cid, b in builders.items()}
