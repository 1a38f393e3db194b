"""Stream fuzzy matching without a database: blocking keys, best matches and hints in resolve_batch."""

from __future__ import annotations

from datetime import UTC, datetime

from resolver.candidates import best_matches, block_keys
from resolver.engine import resolve_records
from resolver.plan import ExistingCustomer, StoreFacts, resolve_batch
from resolver.profile import ProfileBuilder
from tests.unit.test_engine import background, record
from tests.unit.test_resolution_plan import event

T = datetime(2026, 11, 1, tzinfo=UTC)


def test_block_keys_are_stable_hashes_that_hide_the_values() -> None:
    a = record("x|1", ids=(("phone", "+84912345678"),), name="Lê Thị Thảo", birth_date="1992-01-01")
    keys = block_keys(a)
    assert keys == block_keys(a) and len(keys) >= 3
    assert all(isinstance(k, int) and -2**63 <= k < 2**63 for k in keys)
    assert "1992" not in repr(keys) and "912345678" not in repr(keys)


def test_best_matches_needs_more_than_a_name() -> None:
    params = resolve_records(background()).params
    assert params is not None
    stored = [record("pos|1", name="Đặng Thị Quỳnh", birth_date="1988-09-05", street="12 le loi", province="79",
                     locality="ben nghe", postcode="700000"),
              record("pos|2", name="Nguyễn Văn Anh", province="79")]
    new = [record("web|1", name="Dang Thi Quynh", birth_date="1988-09-05", street="12 le loi", province="79",
                  locality="ben nghe", postcode="700000"),
           record("web|2", name="Nguyen Van Anh", province="79")]
    found = best_matches(new, stored, {"pos|1": "c1", "pos|2": "c2"}, params)
    assert set(found) == {"web|1"} and found["web|1"].customer_id == "c1"
    assert found["web|1"].fields["birth_date"]["meaning"] == "exact"


def test_a_hint_joins_through_merge_protection() -> None:
    existing = {"c1": ExistingCustomer("c1", T, ProfileBuilder("c1").build(T))}
    e = event("web-7", email="quynh@gmail.com")
    plan = resolve_batch([e], {}, existing, T, hints={"web-7": ("c1", "pos|1", {"probability": 0.999})})
    assert plan.links["web-7"].customer_id == "c1" and plan.links["web-7"].rule == "probabilistic"
    assert plan.evidence["web-7"]["matched_record"] == "pos|1" and plan.new_customers == []
    # The same hint against a customer holding another national id is refused: a new customer instead.
    facts = StoreFacts(facts={"c1": ((), [("national_id", "001090000001")])})
    e2 = event("web-8", email="quynh@gmail.com")
    e2 = e2.model_copy(update={"identifiers": [*e2.identifiers, _national_id("001090000002")]})
    plan = resolve_batch([e2], {}, existing, T, facts, hints={"web-8": ("c1", "pos|1", {})})
    assert plan.links["web-8"].customer_id != "c1"
    assert [r.reason for r in plan.refused] == ["conflict:national_id"]


def _national_id(value: str):  # noqa: ANN202 - test helper
    from schema.events import Identifier, IdentifierType

    return Identifier(type=IdentifierType.national_id, value=value, raw=value)


def test_the_stream_does_not_count_a_province_and_a_sex_as_evidence_outside_the_name() -> None:
    # 2.55 + 0.98 bits of province and sex and a locality's 0.85 reach the 4 bits, but none of them
    # identifies anyone: the stream has no ambiguity check, so such a pair waits for `hopnhat resolve`.
    import numpy as np

    from resolver.comparisons import FIELDS
    from resolver.fellegi_sunter import MatchParameters, default_m
    from resolver.features import MatchRecord

    def levels_u(name: str) -> np.ndarray:
        k = len(default_m(name))
        u = np.full(k, 0.5 / (k - 1))
        u[0] = 0.0
        return u

    u = {f: levels_u(f) for f in FIELDS}
    u["province"] = np.array([0.0, 0.83, 0.17])
    u["gender"] = np.array([0.0, 0.5, 0.5])
    u["locality"] = np.array([0.0, 0.5, 0.25, 0.25])
    for f in ("family", "middle", "given"):
        u[f][-1] = 1e-4  # a very rare name: the probability alone is far above the threshold
    params = MatchParameters(m={f: default_m(f) for f in FIELDS}, u=u, prior_log2=-10.0)
    stored = MatchRecord("pos|1", "e1", "2026-01-01T00:00:00+00:00", (), "khong", "minh", "triet",
                         gender="male", province="92", locality="phuong an hoa")
    new = MatchRecord("web|2", "e2", "2026-02-01T00:00:00+00:00", (), "khong", "minh", "triet", gender="male",
                      province="92", locality="phuong an hoa")
    assert best_matches([new], [stored], {"pos|1": "c1"}, params) == {}
