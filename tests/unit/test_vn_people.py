"""The benchmark population (bench/vn_people.py): deterministic, realistic, and normalisable."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.vn_people import HARD_CASE_KINDS, PROVINCES, PeopleGenerator, hard_cases
from resolver.address import normalise_address
from resolver.name import name_fold_key
from resolver.normalise import Rejected, canonical_event


def _snapshot(seed: int) -> list[tuple[str, str | None, list[str], list[str]]]:
    gen = PeopleGenerator(seed)
    return [(r.pid, r.contact.name, r.contact.phones, r.contact.emails) for r in gen.records(300)]


def test_same_seed_same_records_other_seed_other_records() -> None:
    assert _snapshot(7) == _snapshot(7)
    assert _snapshot(7) != _snapshot(8)


def test_family_names_follow_vietnamese_frequencies() -> None:
    gen = PeopleGenerator(1)
    families = Counter(gen.person().family for _ in range(20_000))
    assert 0.35 < families["Nguyễn"] / 20_000 < 0.42
    assert 0.09 < families["Trần"] / 20_000 < 0.13
    assert families["Lê"] > families["Phạm"] > families["Đặng"]


@pytest.mark.parametrize("spellings", [s for s, _ in PROVINCES], ids=[s[0] for s, _ in PROVINCES])
def test_every_province_spelling_resolves_to_one_province(spellings: list[str]) -> None:
    codes = {normalise_address(s).province_code for s in spellings}
    assert len(codes) == 1 and None not in codes


def test_records_normalise_and_people_have_unique_phones() -> None:
    gen = PeopleGenerator(3)
    records = list(gen.records(2_000))
    events = [canonical_event(r.contact, r.key) for r in records]
    rejected = [e for e in events if isinstance(e, Rejected)]
    assert len(rejected) < 0.01 * len(records)  # only call records with neither name nor a valid number
    owners: dict[str, set[str]] = {}
    for r, e in zip(records, events):
        if not isinstance(e, Rejected):
            for ident in e.identifiers:
                if ident.type.value == "phone":
                    owners.setdefault(ident.value, set()).add(r.pid)
    assert owners and all(len(p) == 1 for p in owners.values())  # legacy 0168x forms map back to the owner
    people = Counter(r.pid for r in records)
    assert 0.4 < sum(1 for n in people.values() if n > 1) / len(people) < 0.8  # a large share has duplicates


def test_hard_cases_have_the_truth_they_claim() -> None:
    gen = PeopleGenerator(5)
    cases = hard_cases(gen, per_kind=2)
    assert Counter(c.kind for c in cases) == {k: 2 for k in HARD_CASE_KINDS}
    for case in cases:
        people = {r.pid for r in case.records}
        assert (len(people) > 1) == (case.expect == "apart"), case.kind
    household = next(c for c in cases if c.kind == "household_phone")
    phones = {canonical_event(r.contact, r.key).identifiers[0].value for r in household.records}  # type: ignore[union-attr]
    assert len(phones) == 1
    namesakes = next(c for c in cases if c.kind == "namesakes_one_province")
    names = {name_fold_key(f"{r.contact.name}") for r in namesakes.records}
    assert len({r.pid for r in namesakes.records}) == 2 and len(names) <= 4
    bridge = next(c for c in cases if c.kind == "zalo_bridge")
    submit = [r for r in bridge.records if r.contact.interaction_kind == "user_submit_info"]
    assert len(submit) == 1 and submit[0].contact.phones and submit[0].contact.channel_ids
