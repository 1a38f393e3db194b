"""Stream resolution of one micro-batch into a plan of writes (no I/O here).

Records that share a strong identifier (phone, email, channel id) or the same source record are
one customer; names never link anything. Events are taken in batch order and the outcome is the
same as processing them one at a time:

* an event whose identifiers are all unknown mints a customer (id = uuid5 of the event id, so a
  replay mints the same id, and the bulk engine names the same cluster the same way);
* an event whose identifiers belong to one customer joins it;
* an event whose identifiers belong to several customers merges them into the oldest one (the
  survivor), with the event and the identifiers on each side as evidence.

Each of those links passes the bulk engine's merge protection (resolver/protection.py): conflicts,
per-type limits, shared phones and emails, and the review queue's decisions. What protection stops
is returned as `plan.refused` for the review queue.

A phone or email can have several holders. When a record's name is clearly not the owner's (two
sisters on one family address, a shop phone), the customer the record ends up in becomes another
holder of the value (`plan.holders`, stored in identifier_holders), and a later record links through
the value to the holder its name fits, whichever of them wrote first (the owner, then the oldest holder,
when a name cut short fits several; a record without a name joins the owner, as before a value is shared).

Fuzzy (probabilistic) matching is not done per batch: `hopnhat resolve` runs it over the store
(docs/MATCHING.md says why and how often).

The caller (streams/postgres_sink.py) reads the current owners of the batch's identifiers and the
facts protection needs, hands them in, and applies the returned plan in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from resolver.features import MatchRecord, match_record, name_parts
from resolver.profile import ProfileBuilder
from resolver.protection import SHAREABLE_ID_TYPES, CustomerGuard, names_compatible
from schema.events import CanonicalEvent

CUSTOMER_NAMESPACE = uuid.UUID("6f1d6c2e-8f0b-5c3a-9d57-686f706e6861")
SOURCE_KEY_TYPE = "_source"  # a source record links like an identifier, and is stored separately
FUZZY_KEY_TYPE = "_matched"  # a fuzzy match found for the event (never stored as an identifier)

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
    refused: list[Refused] = field(default_factory=list)  # links and merges protection stopped
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> why it joined (fuzzy)
    records: dict[str, MatchRecord] = field(default_factory=dict)  # event id -> its matching view
    # shared phones/emails gained a holder: (key, final root) for identifier_holders
    holders: list[tuple[Key, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoreFacts:
    """What merge protection needs to know about the customers a batch touches, read by the sink.

    `facts`: customer -> (birth dates, identifiers (type, value)) it holds; `names`: customer ->
    its display names; `apart`: pairs of nodes (customer ids, or a batch event's record key) an
    operator decided are different people (review_decisions, "different")."""

    facts: Mapping[str, tuple[Iterable[str], Iterable[tuple[str, str]]]] = field(default_factory=dict)
    names: Mapping[str, Sequence[str]] = field(default_factory=dict)
    apart: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True, slots=True)
class Refused:
    """A link or merge the batch did not make: merge protection or a decision stopped it."""

    event_id: str
    customer_id: str  # the customer the event's key belongs to
    key: str  # "type:value"
    reason: str  # conflict:birth_date | limit:phone | review_rejected | shared_identifier
    detail: str


def resolve_batch(
    events: Sequence[CanonicalEvent],
    owners: Mapping[Key, str],
    existing: Mapping[str, ExistingCustomer],
    now: datetime,
    store: StoreFacts | None = None,
    hints: Mapping[str, tuple[str, str, dict[str, Any]]] | None = None,
    holders: Mapping[Key, Sequence[str]] | None = None,
) -> ResolutionPlan:
    """Resolve `events` against `owners` (key -> root customer id, read from the store).

    Every link and merge passes the same merge protection as the bulk engine (CustomerGuard):
    an event whose phone or email belongs to a customer with clearly different names does not
    link through it (the value is shared: a household or shop phone); a merge that would put two
    birth dates, two national ids, too many identifiers or two records an operator kept apart in
    one customer is refused and reported in `plan.refused` (the sink queues it for review).

    `hints` are fuzzy matches found for events none of whose keys is known (resolver/candidates.py):
    event id -> (customer id, matched record, evidence). Such an event joins that customer, through
    the same protection, with the rule `probabilistic`; the evidence is kept in `plan.evidence`.

    `holders` are the other customers holding a shared phone or email (key -> customer ids, read from
    identifier_holders); customers the batch adds to them are returned in `plan.holders`.
    """
    hints = hints or {}
    others: dict[Key, list[str]] = {k: list(v) for k, v in (holders or {}).items()}
    gained: list[tuple[Key, str]] = []
    store = store or StoreFacts()
    plan = ResolutionPlan()
    minted: dict[str, tuple[int, str, str]] = {}
    rank_of = {cid: (0, c.created_at.isoformat(), cid) for cid, c in existing.items()}

    def rank(cid: str) -> tuple[int, str, str]:
        return rank_of.get(cid) or minted[cid]

    guard = CustomerGuard(store.facts, rank)
    names: dict[str, list[MatchRecord]] = {cid: [_named(n) for n in ns] for cid, ns in store.names.items()}
    node_of_record: dict[str, str] = {}
    for e in events:
        node_of_record.setdefault(f"{e.source}|{e.source_record_id}", customer_id_for(e.event_id))
    for a, b in store.apart:
        guard.forbid(node_of_record.get(a, a), node_of_record.get(b, b))
    owner: dict[Key, str] = dict(owners)

    for event in events:
        record = plan.records[event.event_id] = match_record(event)
        node = customer_id_for(event.event_id)
        if node not in rank_of:
            minted.setdefault(node, (1, f"{len(minted):012d}", node))
        guard.add_facts(node, (record.birth_date,) if record.birth_date else (), record.identifiers)
        by_customer: dict[str, list[Key]] = {}
        unheld: list[Key] = []  # shared values whose holders are all clearly other people
        for key in event_keys(event):
            if key not in owner:
                continue
            root = guard.find(owner[key])
            if key[0] in SHAREABLE_ID_TYPES and record.given:
                holding = _holding(guard, root, others.get(key, ()))
                fits = [h for h in holding if _same_person(record, names.get(h, []))]
                if not fits:
                    plan.refused.append(Refused(
                        event.event_id, root, f"{key[0]}:{key[1]}", "shared_identifier",
                        "held by a customer with clearly different names" if len(holding) == 1 else
                        f"shared by {len(holding)} customers, all with clearly different names"))
                    unheld.append(key)
                    continue
                root = fits[0]  # the owner if it fits, else the oldest holder that does
            by_customer.setdefault(root, []).append(key)
        hint = hints.get(event.event_id)
        if hint is not None and not by_customer:
            by_customer[guard.find(hint[0])] = [(FUZZY_KEY_TYPE, hint[1])]
        rule, linked_by = "new_customer", None
        for root in sorted(by_customer, key=rank):
            before = guard.find(node)
            refused = guard.union(node, root)
            if refused is not None:
                plan.refused.append(Refused(event.event_id, root, ",".join(f"{t}:{v}" for t, v in by_customer[root]),
                                            refused.reason, refused.detail))
                continue
            if linked_by is None:
                first_type, first_value = by_customer[root][0]
                rule = {SOURCE_KEY_TYPE: "same_source_record", FUZZY_KEY_TYPE: "probabilistic"}.get(
                    first_type, "shared_identifier")
                linked_by = f"{first_type}:{first_value}"
                if first_type == FUZZY_KEY_TYPE and hint is not None:
                    plan.evidence[event.event_id] = {"matched_record": hint[1], **hint[2]}
            elif before != root:  # the event bridges two customers: a merge
                survivor, absorbed = sorted((before, root), key=rank)
                plan.merges.append(MergeDecision(
                    survivor=survivor, absorbed=absorbed, rule="shared_identifier",
                    evidence={"event_id": event.event_id,
                              "survivor_keys": [f"{t}:{v}" for t, v in by_customer.get(survivor, [])],
                              "absorbed_keys": [f"{t}:{v}" for t, v in by_customer.get(absorbed, [])]},
                ))
        cid = guard.find(node)
        if cid == node and node not in rank_of and node not in plan.new_customers:
            plan.new_customers.append(node)
        names.setdefault(cid, []).append(record)
        for key in event_keys(event):
            owner.setdefault(key, cid)
        for key in unheld:  # a person none of the value's holders can be: holds it too
            if cid not in _holding(guard, guard.find(owner[key]), others.get(key, ())):
                others.setdefault(key, []).append(cid)
                gained.append((key, cid))
        plan.links[event.event_id] = Link(event.event_id, cid, rule, linked_by)

    # Final roots for every link and key, then the touched profiles.
    for event_id, link in plan.links.items():
        root = guard.find(link.customer_id)
        if root != link.customer_id:
            plan.links[event_id] = Link(event_id, root, link.rule, link.identifier)
    for event in events:
        for key in event_keys(event):
            plan.owners[key] = guard.find(owner[key])
    plan.holders = sorted({(key, root) for key, c in gained if (root := guard.find(c)) != plan.owners[key]})
    plan.redirects = {m.absorbed: guard.find(m.absorbed) for m in plan.merges}
    plan.profiles = _profiles(events, plan, existing, guard, now)
    return plan


def _holding(guard: CustomerGuard, owner_root: str, others: Iterable[str]) -> list[str]:
    """The distinct current customers holding a value: its owner's root first, then the other holders'."""
    roots = [owner_root]
    for c in others:
        if (root := guard.find(c)) not in roots:
            roots.append(root)
    return roots


def _named(display: str) -> MatchRecord:
    family, middle, given = name_parts(display)
    return MatchRecord(key="", event_id="", occurred_at="", identifiers=(), family=family, middle=middle, given=given)


def _same_person(record: MatchRecord, known: Sequence[MatchRecord]) -> bool:
    """Could the event's person be the one behind these names? (No names known: nothing says no.)"""
    named = [k for k in known if k.given]
    return not named or any(names_compatible(record, k) for k in named)


def _profiles(
    events: Iterable[CanonicalEvent],
    plan: ResolutionPlan,
    existing: Mapping[str, ExistingCustomer],
    customers: CustomerGuard,
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
