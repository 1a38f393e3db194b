"""A rare name corroborated by a province (resolver/corroboration.py), inside the engine, on named cases.

The background population (tests/unit/test_engine.py) holds 400 records with common Vietnamese
names spread over 8 provinces, so u, the name frequencies and the province frequencies are
measured as in real use: "Khổng Minh Triết" is rare there, "Nguyễn Văn Anh" is not.
"""

from __future__ import annotations

import numpy as np
import pytest

from resolver.corroboration import weakly_corroborated
from resolver.engine import resolve_records
from tests.unit.test_engine import background, clusters, record

LATER = "2026-03-01T00:00:00+00:00"


def _review(result, keys: set[str]) -> set[str]:  # noqa: ANN001 - test helper
    return {r.reason for r in result.review if {r.left, r.right} <= keys}


def test_a_rare_name_and_its_province_merge_a_till_record_with_no_phone_into_the_customer() -> None:
    recs = background() + [
        record("pos|1", ids=(("phone", "+84912000111"),), name="Khổng Minh Triết", province="92"),
        record("pos|2", t=LATER, name="KHONG MINH TRIET", province="92"),
    ]
    result = resolve_records(recs)
    assert result.cluster_of["pos|1"] == result.cluster_of["pos|2"]
    link = next(x for x in result.links if {x.left, x.right} == {"pos|1", "pos|2"})
    assert link.rule == "probabilistic" and link.fields is not None
    assert link.fields["province"]["meaning"] == "same" and link.fields["province"]["weight"] >= 2.0
    assert result.stats["corroborated_links"] == 1


def test_a_common_name_and_a_province_never_merge() -> None:
    recs = background() + [
        record("pos|1", ids=(("phone", "+84912000111"),), name="Nguyễn Văn Anh", province="79"),
        record("pos|2", t=LATER, name="Nguyen Van Anh", province="79"),
    ]
    result = resolve_records(recs)
    assert result.cluster_of["pos|1"] != result.cluster_of["pos|2"]
    assert result.stats["corroborated_links"] == 0


def test_a_rare_name_with_nothing_else_in_common_still_only_goes_to_review() -> None:
    recs = background() + [record("web|1", name="Khổng Minh Triết"),
                           record("pos|2", t=LATER, name="Khong Minh Triet")]
    result = resolve_records(recs)
    assert result.cluster_of["web|1"] != result.cluster_of["pos|2"]
    assert _review(result, {"web|1", "pos|2"}) == {"name_only"}


@pytest.mark.parametrize(("second", "why"), [
    ({"ids": (("phone", "+84912999888"),)}, "another phone on the pair itself"),
    ({"birth_date": "1990-01-01"}, "another birth date"),
    ({"street": "77 tran phu"}, "another street"),
], ids=["other-phone", "other-birth-date", "other-street"])
def test_rare_namesakes_in_one_province_stay_apart_when_anything_identifying_differs(second: dict,
                                                                                     why: str) -> None:
    recs = background() + [
        record("pos|1", ids=(("phone", "+84912000111"),), name="Khổng Minh Triết", province="92",
               birth_date="1971-05-30", street="12 le loi"),
        record("pos|2", t=LATER, name="Khổng Minh Triết", province="92", **second),
    ]
    result = resolve_records(recs)
    assert result.cluster_of["pos|1"] != result.cluster_of["pos|2"], why


def test_a_quiet_pair_does_not_join_two_clusters_that_hold_phones_of_their_own() -> None:
    # pos|2 says nothing about a phone, but its cluster (with pos|3) holds another number.
    recs = background() + [
        record("pos|1", ids=(("phone", "+84912000111"),), name="Khổng Minh Triết", province="92"),
        record("pos|2", t=LATER, ids=(("email", "triet.k@gmail.com"),), name="Khổng Minh Triết",
               province="92"),
        record("pos|3", t="2026-04-01T00:00:00+00:00",
               ids=(("email", "triet.k@gmail.com"), ("phone", "+84977000222")), name="Khổng Minh Triết"),
    ]
    result = resolve_records(recs)
    assert result.cluster_of["pos|2"] == result.cluster_of["pos|3"]
    assert result.cluster_of["pos|1"] != result.cluster_of["pos|2"]
    assert "ambiguous" in _review(result, {"pos|1", "pos|2", "pos|3"})


def test_a_phone_customer_and_a_mailbox_customer_with_one_rare_name_and_province_stay_apart() -> None:
    # Vũ Tuấn Phong in Hà Nội: one gave a mailbox on a web form, another a phone at the till. A name
    # and a province cannot tell one person from two namesakes here (er_vn's namesake case, seed 2026).
    recs = background() + [
        record("web|1", ids=(("email", "phong.vu3689@gmail.com"),), name="Vu Tuan Phong", province="01"),
        record("pos|2", t=LATER, ids=(("phone", "+84793946650"),), name="Vũ Tuấn Phong", province="01"),
    ]
    result = resolve_records(recs)
    assert result.cluster_of["web|1"] != result.cluster_of["pos|2"]
    assert _review(result, {"web|1", "pos|2"}) == {"ambiguous"}


def test_a_record_that_fits_two_rare_namesakes_equally_joins_neither() -> None:
    # Two Khổng Minh Triết in Cần Thơ (92), each with a phone of his own; a till record with the name
    # and the province only could be either of them.
    recs = background() + [
        record("pos|a1", ids=(("phone", "+84912000111"),), name="Khổng Minh Triết", province="92"),
        record("pos|a2", t=LATER, ids=(("phone", "+84912000111"),), name="Khong Minh Triet", province="92"),
        record("pos|b1", ids=(("phone", "+84977000222"),), name="Khổng Minh Triết", province="92"),
        record("pos|b2", t=LATER, ids=(("phone", "+84977000222"),), name="KHỔNG MINH TRIẾT", province="92"),
        record("pos|walk-in", t="2026-05-01T00:00:00+00:00", name="Khổng Minh Triết", province="92"),
    ]
    result = resolve_records(recs)
    assert len(clusters(result, ["pos|a1", "pos|a2", "pos|b1", "pos|b2", "pos|walk-in"])) == 3
    assert result.cluster_of["pos|walk-in"] not in clusters(result, ["pos|a1", "pos|b1"])
    assert "ambiguous" in _review(result, {"pos|walk-in", "pos|a1", "pos|a2", "pos|b1", "pos|b2"})


def test_weakly_corroborated_selects_sure_uncontradicted_pairs_with_enough_support() -> None:
    # columns: family, given, middle, birth date, gender, province, postcode, locality, street, id,
    # phone, email
    quiet = [4, 4, 3, 0, 0, 2, 0, 0, 0, 0, 0, 0]
    contradicted = [4, 4, 3, 0, 0, 2, 0, 0, 0, 0, 1, 0]  # the phones differ
    levels = np.array([quiet, contradicted, quiet, quiet], dtype=np.int8)
    sure = np.array([True, True, False, True])
    identified = np.array([False, False, False, True])  # the last already merges on identifying fields
    bits = np.array([2.5, 2.5, 2.5, 2.5])
    assert weakly_corroborated(levels, sure, identified, bits, 2.0).tolist() == [0]
    assert weakly_corroborated(levels, sure, identified, bits, 3.0).tolist() == []

