"""The identity-resolution engine on named edge cases (resolver/engine.py), no I/O.

Probabilistic cases sit inside a seeded background population of a few hundred Vietnamese
records, so that u (random-pair agreement) and the name frequencies are measured as in real use.
"""

from __future__ import annotations

import random

import pytest

from resolver.engine import EngineConfig, resolve_records
from resolver.features import MatchRecord, name_parts

FAMILIES = ["nguyen"] * 38 + ["tran"] * 11 + ["le"] * 9 + ["pham"] * 7 + ["hoang"] * 5 + ["huynh"] * 5 + [
    "phan", "vu", "vo", "dang", "bui", "do", "ho", "ngo", "duong", "ly"] * 2
MIDDLES = ["van", "thi", "huu", "minh", "ngoc", "thanh", "duc", "quoc"]
GIVENS = ["anh", "hoa", "lan", "nam", "hung", "dung", "trang", "linh", "tuan", "huong", "minh", "thao",
          "phuong", "long", "khanh", "quynh", "son", "hai", "yen", "binh"]
PROVINCES = ["01", "79", "48", "31", "92", "75", "56", "22"]


def record(key: str, *, t: str = "2026-01-01T00:00:00+00:00", ids: tuple[tuple[str, str], ...] = (),
           name: str = "", **fields: str) -> MatchRecord:
    family, middle, given = name_parts(name) if name else ("", "", "")
    return MatchRecord(key=key, event_id=key, occurred_at=t, identifiers=ids, family=family, middle=middle,
                       given=given, **fields)


def background(n: int = 400, seed: int = 7) -> list[MatchRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(MatchRecord(
            key=f"bg|{i}", event_id=f"bg-{i}", occurred_at="2025-06-01T00:00:00+00:00",
            identifiers=(("phone", f"+849{rng.randrange(10**7, 10**8)}"),),
            family=rng.choice(FAMILIES), middle=rng.choice(MIDDLES), given=rng.choice(GIVENS),
            birth_date=f"{rng.randrange(1950, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            province=rng.choice(PROVINCES), street=f"{rng.randrange(1, 300)} duong so {rng.randrange(1, 40)}"))
    return out


def clusters(result, keys):  # noqa: ANN001 - test helper
    return {result.cluster_of[k] for k in keys}


def test_records_sharing_a_phone_are_one_customer_with_the_identifier_as_evidence() -> None:
    recs = [record("pos|1", ids=(("phone", "+84912345678"),), name="Nguyễn Thị Hoa"),
            record("web|9", t="2026-02-01T00:00:00+00:00", ids=(("phone", "+84912345678"), ("email", "hoa@gmail.com")),
                   name="Nguyen Thi Hoa")]
    result = resolve_records(recs)
    assert len(clusters(result, ["pos|1", "web|9"])) == 1
    assert [(link.left, link.right, link.rule) for link in result.links] == [("pos|1", "web|9", "identifier:phone")]


def test_household_phone_is_marked_shared_and_links_only_records_that_agree_on_the_name() -> None:
    phone = ("phone", "+84903111222")
    recs = [record("pos|mother", ids=(phone,), name="Trần Thị Lan"),
            record("pos|son", t="2026-01-02T00:00:00+00:00", ids=(phone,), name="Lê Văn Nam"),
            record("zalo|mother-again", t="2026-01-03T00:00:00+00:00", ids=(phone, ("zalo", "z-1")),
                   name="Tran Thi Lan")]
    result = resolve_records(recs)
    assert "phone:+84903111222" in result.shared
    assert result.cluster_of["pos|mother"] == result.cluster_of["zalo|mother-again"]
    assert result.cluster_of["pos|son"] != result.cluster_of["pos|mother"]
    assert any(link.rule == "identifier+name:phone" for link in result.links)


def test_sisters_with_one_given_name_on_a_family_email_are_two_people_whoever_wrote_first() -> None:
    """Nguyễn Thanh Thảo writes the address first; Nguyễn Thu Thảo's records, two with her phone and two with
    only the email, are one customer (matching the earlier holder by given name alone left those two apart)."""
    email, phone = ("email", "giadinh.thao@icloud.com"), ("phone", "+84912525562")
    recs = [record("form|thanh", ids=(email,), name="Nguyễn Thanh Thảo"),
            record("form|thu-1", t="2026-01-01T00:01:00+00:00", ids=(phone, email), name="Nguyen Thu Thao"),
            record("form|thu-2", t="2026-01-01T00:02:00+00:00", ids=(email,), name="Nguyễn Thu Thảo"),
            record("form|thu-3", t="2026-01-01T00:03:00+00:00", ids=(email,), name="NGUYỄN THU THẢO"),
            record("form|thu-4", t="2026-01-01T00:04:00+00:00", ids=(phone, email), name="Nguyễn Thu Thảo")]
    result = resolve_records(recs + background())
    assert "email:giadinh.thao@icloud.com" in result.shared
    thu = {result.cluster_of[f"form|thu-{i}"] for i in range(1, 5)}
    assert len(thu) == 1 and result.cluster_of["form|thanh"] not in thu


def test_an_email_held_by_people_with_different_birth_dates_is_shared_and_links_nothing_alone() -> None:
    email = ("email", "giadinh.nguyen@gmail.com")
    recs = [record("crm|a", ids=(email,), birth_date="1990-04-12"),
            record("crm|b", t="2026-01-02T00:00:00+00:00", ids=(email,), birth_date="1978-11-30")]
    result = resolve_records(recs)
    assert result.cluster_of["crm|a"] != result.cluster_of["crm|b"]
    assert result.shared == {"email:giadinh.nguyen@gmail.com": "held by people with different birth dates"}


def test_different_birth_dates_block_a_merge_on_a_personal_id_and_send_it_to_review() -> None:
    zalo = ("zalo", "oa7:99812")  # a channel id is never "shared", so the conflict rule is what stops it
    recs = [record("zalo|a", ids=(zalo,), birth_date="1990-04-12"),
            record("zalo|b", t="2026-01-02T00:00:00+00:00", ids=(zalo,), birth_date="1978-11-30")]
    result = resolve_records(recs)
    assert result.cluster_of["zalo|a"] != result.cluster_of["zalo|b"]
    assert [(r.left, r.right, r.reason) for r in result.review] == [("zalo|a", "zalo|b", "conflict:birth_date")]


def test_a_birth_date_typo_is_not_a_conflict() -> None:
    email = ("email", "minh.tran@yahoo.com")
    recs = [record("crm|a", ids=(email,), birth_date="1990-04-12"),
            record("crm|b", t="2026-01-02T00:00:00+00:00", ids=(email,), birth_date="1990-04-21")]
    assert len(clusters(resolve_records(recs), ["crm|a", "crm|b"])) == 1


def test_two_national_ids_never_merge() -> None:
    phone = ("phone", "+84987654321")
    recs = [record("bank|1", ids=(phone, ("national_id", "001090000001")), name="Phạm Minh Tuấn"),
            record("bank|2", t="2026-01-02T00:00:00+00:00", ids=(phone, ("national_id", "001090000002")),
                   name="Phạm Minh Tuấn")]
    result = resolve_records(recs)
    assert result.cluster_of["bank|1"] != result.cluster_of["bank|2"]
    assert result.review[0].reason == "conflict:national_id"


def test_a_chain_through_shared_values_stops_at_the_per_type_limit() -> None:
    # One email typed at a shop for walk-ins, each with their own phone: at most 5 phones per customer.
    email = ("email", "cuahang.abc@gmail.com")
    recs = [record(f"pos|{i}", t=f"2026-01-{i + 1:02d}T00:00:00+00:00", ids=(email, ("phone", f"+8491000000{i}")))
            for i in range(7)]
    result = resolve_records(recs)
    assert len(clusters(result, [r.key for r in recs])) == 3  # 5 + refused + refused
    assert {r.reason for r in result.review} == {"limit:phone"}


def test_a_common_name_alone_never_merges() -> None:
    recs = background() + [record(f"web|{i}", name="Nguyễn Văn Anh", province="79") for i in range(6)]
    result = resolve_records(recs)
    assert len(clusters(result, [f"web|{i}" for i in range(6)])) == 6


def test_a_rare_name_alone_does_not_merge_either_but_is_offered_for_review() -> None:
    recs = background() + [record("web|1", name="Khổng Minh Triết"), record("form|2", name="Khong Minh Triet")]
    result = resolve_records(recs)
    assert result.cluster_of["web|1"] != result.cluster_of["form|2"]
    assert [(r.reason, {r.left, r.right}) for r in result.review if not r.left.startswith("bg")] == [
        ("name_only", {"web|1", "form|2"})]


def test_name_birth_date_and_street_with_typos_merge_probabilistically_with_field_evidence() -> None:
    recs = background() + [
        record("pos|77", ids=(("phone", "+84911222333"),), name="Đặng Thị Quỳnh", birth_date="1988-09-05",
               province="48", street="12 le loi"),
        record("form|5", t="2026-03-01T00:00:00+00:00", ids=(("email", "quynh.dang@gmail.com"),),
               name="Dang Thi Quynh", birth_date="1988-09-05", province="48", street="12 le lơi".replace("ơ", "o")),
    ]
    result = resolve_records(recs)
    assert result.cluster_of["pos|77"] == result.cluster_of["form|5"]
    link = next(x for x in result.links if {x.left, x.right} == {"pos|77", "form|5"})
    assert link.rule == "probabilistic" and link.probability is not None and link.probability >= 0.99
    assert link.fields is not None and link.fields["birth_date"]["meaning"] == "exact"
    assert link.fields["given"]["weight"] > 0


def test_same_name_same_province_different_birth_dates_are_two_people() -> None:
    recs = background() + [
        record("pos|1", name="Nguyễn Văn Hùng", birth_date="1985-02-11", province="01", street="5 hang bai"),
        record("pos|2", name="Nguyễn Văn Hùng", birth_date="1996-07-23", province="01", street="88 kim ma"),
    ]
    result = resolve_records(recs)
    assert result.cluster_of["pos|1"] != result.cluster_of["pos|2"]


def test_two_identities_bridged_only_by_a_zalo_submit_info_event() -> None:
    recs = [record("zalo|msg-1", ids=(("zalo", "oa1:4512"),), name="Bé Na"),
            record("pos|inv-9", t="2026-01-05T00:00:00+00:00", ids=(("phone", "+84935556677"),), name="Võ Thị Na"),
            record("zalo|submit-3", t="2026-01-09T00:00:00+00:00",
                   ids=(("zalo", "oa1:4512"), ("phone", "+84935556677")), name="Võ Thị Na")]
    result = resolve_records(recs)
    assert len(clusters(result, ["zalo|msg-1", "pos|inv-9", "zalo|submit-3"])) == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_clustering_does_not_depend_on_input_order(seed: int) -> None:
    recs = background(250) + [
        record("a|1", ids=(("phone", "+84901000001"),), name="Lê Thị Thảo", birth_date="1992-01-01"),
        record("a|2", t="2026-01-02T00:00:00+00:00", ids=(("phone", "+84901000001"), ("email", "thao@x.vn")),
               name="Le Thi Thao"),
        record("a|3", t="2026-01-03T00:00:00+00:00", ids=(("email", "thao@x.vn"),), birth_date="1992-01-01"),
    ]
    shuffled = recs[:]
    random.Random(seed).shuffle(shuffled)
    first, second = resolve_records(recs), resolve_records(shuffled)
    assert first.cluster_of == second.cluster_of


def test_cluster_ids_are_the_ids_the_stream_mints_for_the_earliest_record() -> None:
    from resolver.plan import customer_id_for

    recs = [record("w|1", t="2026-01-02T00:00:00+00:00", ids=(("phone", "+84912000111"),)),
            record("w|0", t="2026-01-01T00:00:00+00:00", ids=(("phone", "+84912000111"),))]
    result = resolve_records(recs)
    assert result.cluster_of["w|1"] == result.cluster_of["w|0"] == customer_id_for("w|0")


def test_trained_parameters_can_be_saved_and_reused() -> None:
    from resolver.fellegi_sunter import MatchParameters

    recs = background(300)
    first = resolve_records(recs)
    assert first.params is not None
    again = resolve_records(recs, params=MatchParameters.from_json(first.params.as_json()))
    assert again.cluster_of == first.cluster_of


def test_thresholds_are_configurable() -> None:
    recs = background() + [record("web|1", name="Khổng Minh Triết", birth_date="1970-01-01"),
                           record("form|2", name="Khong Minh Triet", birth_date="1970-01-01")]
    assert len(clusters(resolve_records(recs), ["web|1", "form|2"])) == 1
    strict = EngineConfig(merge_threshold=1.0)
    assert len(clusters(resolve_records(recs, strict), ["web|1", "form|2"])) == 2


def test_review_decisions_are_applied_as_must_and_cannot_link() -> None:
    recs = background() + [record("web|1", name="Khổng Minh Triết"), record("form|2", name="Khong Minh Triet"),
                           record("zalo|3", ids=(("zalo", "oa:1"),), name="Lý Thu Hà"),
                           record("zalo|4", t="2026-01-02T00:00:00+00:00", ids=(("zalo", "oa:1"),), name="Lý Thu Hà")]
    result = resolve_records(recs, decisions={("web|1", "form|2"): True, ("zalo|3", "zalo|4"): False})
    assert result.cluster_of["web|1"] == result.cluster_of["form|2"]
    assert result.cluster_of["zalo|3"] != result.cluster_of["zalo|4"]  # the shared Zalo id no longer joins them
    assert any(r.reason == "review_rejected" for r in result.review)


@pytest.mark.parametrize(("a", "b", "compatible"), [
    ("Phạm Văn", "Phạm Văn Anh", True),  # cut short at the till
    ("Anh Đỗ", "Đỗ Tiến Anh", True),  # a Zalo display name, given name first, middle left out
    ("Nguyễn Tuấn Anh", "Nguyễn Hữu Anh", False),  # both wrote a middle name, and they differ
    ("Trần Thị Lan", "Lê Văn Nam", False),
    ("Nguyen Thi Hoa", "Nguyễn Thị Hòa", True),
    # given name first with a typo: the parser's order is a guess, the words are still the same
    ("Ms Truuong Kim Van", "Trương Kim Vân", True),
    ("Ngguyễn Thị Diệp", "Nguyễn Thị Diệp", True),
    ("Tang Lê", "Lê Mỹ Trang", True),  # "Trang Lê" with a letter lost, read as the family name Tăng
    ("Nguyễn Văn Nam", "Nguyễn Văn Hùng", False),  # father and son on the household phone
    ("Nguyễn Thị Lan", "Nguyễn Văn Lan", False),
    ("Bui Tanh Dung", "Bùi Mạnh Hùng", False),  # son (Thành typed Tanh) and father on one phone
    ("Trần Thị Lan", "Trần Thị Lam", False),  # one letter replaced in a short syllable: another name
    ("Lê Mỹ Tùy", "Lê Mỹ Thùy", True),  # a letter lost
    ("Phan Văn Biinh", "Phan Văn Bình", True),  # a letter doubled
    ("Nguyễn Văn Hpạm", "Nguyễn Văn Phạm", True),  # two letters swapped
    ("Nguyan Thi Hoa", "Nguyễn Thị Hoa", True),  # a letter replaced in a long word: a typo
], ids=["cut-short", "zalo-given-first", "other-middle", "other-people", "no-diacritics",
        "given-first-typo-family",
        "typo-read-as-given-first", "typo-family-like-word", "father-and-son", "thi-vs-van",
        "manh-vs-tanh-hung-vs-dung", "lan-vs-lam", "letter-lost", "letter-doubled", "letters-swapped",
        "long-word-substitution"])
def test_names_compatible(a: str, b: str, compatible: bool) -> None:
    from resolver.protection import names_compatible

    assert names_compatible(record("x|1", name=a), record("x|2", name=b)) is compatible


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_vectorised_stitching_gives_the_clusters_of_one_union_at_a_time(seed: int) -> None:
    """Safe components merged in bulk must end exactly where the sequential guarded loop ends,
    on data full of shared phones, conflicting birth dates, national ids and limit breakers."""
    rng = random.Random(seed)
    phones = [f"+84909{n:06d}" for n in range(40)]
    emails = [f"k{n}@gmail.com" for n in range(30)]
    recs = []
    for i in range(400):
        ids = [("phone", rng.choice(phones))] if rng.random() < 0.8 else []
        if rng.random() < 0.5:
            ids.append(("email", rng.choice(emails)))
        if rng.random() < 0.05:
            ids.append(("national_id", f"0010900000{rng.randrange(3)}"))
        if rng.random() < 0.4:  # small groups of channel ids: the components stitching merges in bulk
            ids = [("zalo", f"oa1:{i // 4}")] if rng.random() < 0.7 else ids + [("zalo", f"oa1:{i // 4}")]
        recs.append(MatchRecord(
            key=f"r|{i}", event_id=f"e{i}", occurred_at=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}+00:00",
            identifiers=tuple(dict.fromkeys(ids)), family=rng.choice(["nguyen", "tran", "le"]),
            given=rng.choice(["lan", "nam", "hoa", ""]),
            birth_date=rng.choice(["", "", "1990-01-01", "1985-05-05"])))
    fast = resolve_records(recs, EngineConfig(vectorised_stitching=True))
    slow = resolve_records(recs, EngineConfig(vectorised_stitching=False))
    assert fast.cluster_of == slow.cluster_of
    assert fast.shared == slow.shared


def test_cluster_ids_are_exactly_uuid5_of_the_event_id() -> None:
    import uuid

    from resolver.engine import CUSTOMER_NAMESPACE, cluster_id_for

    for event_id in ["w|0", "kiotviet:shop1:KH000777", "zalo:oa1:4512:msg-Đặng", ""] + [f"e{i}" for i in range(500)]:
        assert cluster_id_for(event_id) == str(uuid.uuid5(CUSTOMER_NAMESPACE, event_id))
