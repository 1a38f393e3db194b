"""The deterministic engine against an independent oracle: connected components over shared keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.plan import ExistingCustomer, StoreFacts, event_keys, resolve_batch
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
        self.holders: dict[tuple[str, str], list[str]] = {}  # identifier_holders
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
        holders = {k: [self.root(c) for c in self.holders[k]] for k in keys if k in self.holders}
        existing = {c: ExistingCustomer(c, self.created[c], self.profiles[c])
                    for c in set(owners.values()) | {c for held in holders.values() for c in held}}
        names = {c: [n["value"] for n in x.profile.get("names", [])] for c, x in existing.items()}
        plan = resolve_batch(batch, owners, existing, T0, StoreFacts(names=names), holders=holders)
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
        for key, cid in plan.holders:
            self.holders.setdefault(key, []).append(cid)
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


def shuffled_into_batches(events: list[CanonicalEvent], data: st.DataObject) -> MemoryStore:
    """The events in an order and cut into batches hypothesis draws, applied to a fresh store."""
    order = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=5)))
    store = MemoryStore()
    start = 0
    for cut in [*cuts, len(order)]:
        if cut > start:
            store.apply(list(order[start:cut]))
            start = cut
    return store


@settings(max_examples=150, deadline=None)
@given(specs=event_specs, data=st.data())
def test_same_final_clusters_whatever_the_order_and_batching(specs, data) -> None:
    events = [event(f"e{i}", phone=p, email=m, minute=i) for i, (p, m) in enumerate(specs)]
    store = shuffled_into_batches(events, data)
    assert store.clusters() == oracle_clusters(events)
    # Every live customer's profile counts exactly its own events.
    live = {store.root(c) for c in store.event_customer.values()}
    for cid in live:
        members = [e for e, c in store.event_customer.items() if store.root(c) == cid]
        assert GoldenProfile.model_validate(store.profiles[cid]).interactions == len(members)


# Three people on one family address, each also with a phone of their own; names as each writes them.
FAMILY_EMAIL = "giadinh.thao@icloud.com"
FAMILY = {
    "thu": ("+84912525562", ["Nguyễn Thu Thảo", "Nguyen Thu Thao", "Thảo Nguyễn Thu"]),
    "thanh": ("+84987111222", ["Nguyễn Thanh Thảo", "NGUYEN THANH THAO"]),
    "hung": ("+84903555777", ["Trần Văn Hùng", "Tran Van Hung"]),
}
family_specs = st.lists(st.tuples(st.sampled_from(sorted(FAMILY)), st.sampled_from(["phone", "email", "both"]),
                                  st.integers(0, 2)), min_size=1, max_size=14)


def per_person_clusters(events: list[CanonicalEvent], person_of: dict[str, str]) -> set[frozenset[str]]:
    """The right answer: the shared email is a separate key for each person who uses it."""
    return oracle_clusters([e.model_copy(update={"identifiers": [
        i.model_copy(update={"value": f"{person_of[e.event_id]}/{i.value}"}) if i.value == FAMILY_EMAIL else i
        for i in e.identifiers]}) for e in events])


@settings(max_examples=150, deadline=None)
@given(specs=family_specs, data=st.data())
def test_a_shared_email_splits_by_person_whatever_the_order_and_batching(specs, data) -> None:
    """Whoever writes the family address first owns it; the others become its holders, and each later
    record links through it to the one person its name fits, so arrival order does not change who is who."""
    events, person_of = [], {}
    for i, (person, uses, spelling) in enumerate(specs):
        phone, names = FAMILY[person]
        events.append(event(f"{person}-{i}", phone=phone if uses != "email" else None,
                            email=FAMILY_EMAIL if uses != "phone" else None,
                            name=names[spelling % len(names)], minute=i))
        person_of[events[-1].event_id] = person
    store = shuffled_into_batches(events, data)
    assert store.clusters() == per_person_clusters(events, person_of)


def test_a_second_holder_is_recorded_and_a_later_record_joins_the_holder_its_name_fits() -> None:
    store = MemoryStore()
    store.apply([event("thanh", email=FAMILY_EMAIL, name="Nguyễn Thanh Thảo")])
    store.apply([event("thu-1", phone="+84912525562", email=FAMILY_EMAIL, name="Nguyễn Thu Thảo")])
    thanh, thu = store.event_customer["thanh"], store.event_customer["thu-1"]
    assert thanh != thu
    assert store.owner[("email", FAMILY_EMAIL)] == thanh  # the first writer keeps the value...
    assert store.holders[("email", FAMILY_EMAIL)] == [thu]  # ... and Thu Thảo's customer holds it too
    store.apply([event("thu-2", email=FAMILY_EMAIL, name="Nguyen Thu Thao")])
    assert store.event_customer["thu-2"] == thu


def test_on_a_value_with_two_holders_a_nameless_or_vague_record_joins_the_owner_and_makes_no_holder() -> None:
    store = MemoryStore()
    store.apply([event("thanh", email=FAMILY_EMAIL, name="Nguyễn Thanh Thảo")])
    store.apply([event("thu", email=FAMILY_EMAIL, name="Nguyễn Thu Thảo")])
    store.apply([event("hung", email=FAMILY_EMAIL, name="Trần Văn Hùng")])
    assert len(store.holders[("email", FAMILY_EMAIL)]) == 2
    store.apply([event("nameless", email=FAMILY_EMAIL, name=""),  # no name: as before, the owner
                 event("vague", email=FAMILY_EMAIL, name="Nguyễn Thảo")])  # fits both sisters: the owner
    assert store.event_customer["nameless"] == store.event_customer["vague"] == store.event_customer["thanh"]
    assert len(store.holders[("email", FAMILY_EMAIL)]) == 2
