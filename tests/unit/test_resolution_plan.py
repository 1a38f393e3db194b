"""The deterministic engine against an independent oracle: connected components over shared keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.plan import ExistingCustomer, event_keys, resolve_batch
from schema.events import CanonicalEvent, GoldenProfile, Identifier, IdentifierType, Interaction, NormalisedText

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def event(eid: str, phone: str | None = None, email: str | None = None, name: str = "Nguyễn Văn An",
          minute: int = 0) -> CanonicalEvent:
    idents = []
    if phone:
        idents.append(Identifier(type=IdentifierType.phone, value=phone, raw=phone))
    if email:
        idents.append(Identifier(type=IdentifierType.email, value=email, raw=email))
    return CanonicalEvent(event_id=eid, channel="webform", source="webform:lien-he", source_record_id=eid,
                          occurred_at=T0 + timedelta(minutes=minute), received_at=T0, identifiers=idents,
                          name=NormalisedText(raw=name, value=name), interaction=Interaction(kind="form_submission"))


class MemoryStore:
    """Applies plans the way streams/postgres_sink.py does, in memory."""

    def __init__(self) -> None:
        self.owner: dict[tuple[str, str], str] = {}
        self.merged_into: dict[str, str] = {}
        self.created: dict[str, datetime] = {}
        self.profiles: dict[str, dict] = {}
        self.event_customer: dict[str, str] = {}
        self.merges = 0
        self.clock = 0

    def root(self, cid: str) -> str:
        return self.merged_into.get(cid, cid)

    def apply(self, batch: list[CanonicalEvent]) -> None:
        keys = {k for e in batch for k in event_keys(e)}
        owners = {k: self.root(self.owner[k]) for k in keys if k in self.owner}
        existing = {c: ExistingCustomer(c, self.created[c], self.profiles[c])
                    for c in set(owners.values())}
        plan = resolve_batch(batch, owners, existing, T0)
        for cid in plan.new_customers:
            self.clock += 1
            self.created[cid] = T0 + timedelta(seconds=self.clock)
        for old, new in plan.redirects.items():
            self.merged_into[old] = new
            for cid, target in list(self.merged_into.items()):
                if target == old:
                    self.merged_into[cid] = new
        self.merges += len(plan.merges)
        self.owner.update(plan.owners)
        self.profiles.update(plan.profiles)
        for eid, link in plan.links.items():
            self.event_customer[eid] = link.customer_id

    def clusters(self) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for eid, cid in self.event_customer.items():
            groups.setdefault(self.root(cid), set()).add(eid)
        return {frozenset(g) for g in groups.values()}


def oracle_clusters(events: list[CanonicalEvent]) -> set[frozenset[str]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for e in events:
        for k in event_keys(e):
            parent[find("k:" + "|".join(k))] = find("e:" + e.event_id)
    groups: dict[str, set[str]] = {}
    for e in events:
        groups.setdefault(find("e:" + e.event_id), set()).add(e.event_id)
    return {frozenset(g) for g in groups.values()}


def test_shared_phone_links_two_submissions() -> None:
    store = MemoryStore()
    store.apply([event("a", phone="+84912345678"), event("b", phone="+84912345678", email="an@gmail.com")])
    assert store.clusters() == {frozenset({"a", "b"})}
    assert store.merges == 0


def test_bridging_submission_merges_with_evidence() -> None:
    store = MemoryStore()
    store.apply([event("a", phone="+84912345678")])
    store.apply([event("b", email="an@gmail.com")])
    keys = {k for e in [event("c", phone="+84912345678", email="an@gmail.com")] for k in event_keys(e)}
    owners = {k: store.root(store.owner[k]) for k in keys if k in store.owner}
    existing = {c: ExistingCustomer(c, store.created[c], store.profiles[c])
                for c in set(owners.values())}
    plan = resolve_batch([event("c", phone="+84912345678", email="an@gmail.com")], owners, existing, T0)
    assert len(plan.merges) == 1
    merge = plan.merges[0]
    assert merge.survivor == store.event_customer["a"]  # the older customer survives
    assert merge.evidence["event_id"] == "c"
    assert merge.evidence["survivor_keys"] == ["phone:+84912345678"]
    assert merge.evidence["absorbed_keys"] == ["email:an@gmail.com"]
    profile = GoldenProfile.model_validate(plan.profiles[merge.survivor])  # the output honours the contract
    assert profile.merged_from == [merge.absorbed]
    assert profile.interactions == 3
    assert [p.value for p in profile.phones] == ["+84912345678"] and [e.value for e in profile.emails] == ["an@gmail.com"]


def test_same_common_name_alone_never_merges() -> None:
    store = MemoryStore()
    store.apply([event("a", phone="+84912345678", name="Nguyễn Văn An"),
                 event("b", phone="+84987654321", name="Nguyễn Văn An"),
                 event("c", email="an@gmail.com", name="Nguyễn Văn An")])
    assert len(store.clusters()) == 3


def test_redelivered_event_in_same_batch_keeps_one_link() -> None:
    store = MemoryStore()
    store.apply([event("a", phone="+84912345678"), event("a", phone="+84912345678")])
    assert store.clusters() == {frozenset({"a"})}


PHONES = [f"+8491234560{i}" for i in range(5)]
EMAILS = [f"khach{i}@gmail.com" for i in range(5)]
event_specs = st.lists(
    st.tuples(st.one_of(st.none(), st.sampled_from(PHONES)), st.one_of(st.none(), st.sampled_from(EMAILS))),
    min_size=1, max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(specs=event_specs, data=st.data())
def test_same_final_clusters_whatever_the_order_and_batching(specs, data) -> None:
    events = [event(f"e{i}", phone=p, email=m, minute=i) for i, (p, m) in enumerate(specs)]
    order = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=5)))
    store = MemoryStore()
    start = 0
    for cut in [*cuts, len(order)]:
        if cut > start:
            store.apply(list(order[start:cut]))
            start = cut
    assert store.clusters() == oracle_clusters(events)
    # Every live customer's profile counts exactly its own events.
    live = {store.root(c) for c in store.event_customer.values()}
    for cid in live:
        members = [e for e, c in store.event_customer.items() if store.root(c) == cid]
        assert GoldenProfile.model_validate(store.profiles[cid]).interactions == len(members)
