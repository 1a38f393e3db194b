"""The engine's columnar read (resolver/columnar.py) must give exactly what the per-record loops gave:
the same codes (numbered in order of first appearance), the same time order, the same cluster ids."""

from __future__ import annotations

import random
import uuid

import numpy as np
import pytest

from resolver.columnar import RecordTable, factorise, renumber_by_first_appearance, unique_sorted
from resolver.comparisons import FIELDS, RecordColumns
from resolver.engine import CUSTOMER_NAMESPACE, cluster_id_for, cluster_ids_for
from resolver.features import MatchRecord
from resolver.protection import GuardedClusters


def _reference_codes(raw: list[str]) -> list[int]:
    """The loop the engine used before: dict.setdefault in order, -1 for missing."""
    index: dict[str, int] = {}
    return [index.setdefault(v, len(index)) if v else -1 for v in raw]


def _records(n: int, seed: int) -> list[MatchRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ids = [("phone", f"+8490{rng.randrange(50):07d}")] if rng.random() < 0.8 else []
        if rng.random() < 0.5:
            ids.append(("email", f"k{rng.randrange(40)}@gmail.com"))
        if rng.random() < 0.3:
            ids.insert(0, ("zalo", f"oa:{rng.randrange(30)}"))
        if rng.random() < 0.2:
            ids.append(("phone", f"+8491{rng.randrange(50):07d}"))
        out.append(MatchRecord(
            key=f"src|{rng.randrange(n)}", event_id=f"e{i}",
            occurred_at=rng.choice(["", "2026-01-01T00:00:00+00:00", f"2026-01-0{rng.randrange(1, 9)}T00:00:00+00:00"]),
            identifiers=tuple(dict.fromkeys(ids)), family=rng.choice(["nguyen", "tran", "", "le"]),
            middle=rng.choice(["van", "thi", ""]), given=rng.choice(["lan", "nam", "hoa", "", "anh"]),
            birth_date=rng.choice(["", "1990-01-02", "1990-02-01", "1985-05-05"]),
            gender=rng.choice(["", "f", "m"]), province=rng.choice(["", "01", "79"]),
            street=rng.choice(["", "12 le loi", "12 le lo1"]), postcode=rng.choice(["", "700000"])))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_factorise_numbers_like_the_setdefault_loop(seed: int) -> None:
    rng = random.Random(seed)
    raw = [rng.choice(["", "a", "b", "c", "đ", "a b"]) for _ in range(rng.randrange(0, 300))]
    codes, uniques = factorise(raw)
    assert codes.tolist() == _reference_codes(raw)
    assert uniques == list(dict.fromkeys(v for v in raw if v))


def test_renumber_and_unique_sorted() -> None:
    codes, old = renumber_by_first_appearance(np.array([7, -1, 3, 7, 9, 3, -1]))
    assert codes.tolist() == [0, -1, 1, 0, 2, 1, -1] and old.tolist() == [7, 3, 9]
    values = np.random.default_rng(1).integers(0, 50, 1000)
    assert unique_sorted(values).tolist() == np.unique(values).tolist()
    assert unique_sorted(np.empty(0, dtype=np.int64)).tolist() == []


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_columns_from_the_table_equal_the_per_record_columns(seed: int) -> None:
    """Codes numbered in memory order then reordered by time, as the engine did it record by record."""
    records = _records(400, seed)
    table = RecordTable.read(records)
    order = table.time_order()
    assert order == sorted(range(len(records)), key=lambda i: (records[i].occurred_at, records[i].key))
    from resolver.engine import _columns

    permutation = np.asarray(order, dtype=np.int64)
    engine_cols = _columns(table, permutation)
    reference = RecordColumns(records).reordered(permutation)  # the per-record path, then reordered
    for name in (*FIELDS, "phone_tail", "given_initial", "email_local"):
        mine, ref = engine_cols[name], reference[name]
        assert mine.codes.tolist() == ref.codes.tolist(), name
        assert mine.frequency.tolist() == ref.frequency.tolist(), name
        assert mine.values.tolist() == ref.values.tolist(), name
    assert engine_cols.birth_date_swapped.tolist() == reference.birth_date_swapped.tolist()
    # and the raw loop: the first phone of each record, numbered by first appearance
    phones = [next((v for t, v in r.identifiers if t == "phone"), "") for r in records]
    assert table.first_of_type("phone")[0].tolist() == _reference_codes(phones)
    idents = [ident for r in records for ident in r.identifiers]
    index: dict[tuple[str, str], int] = {}
    assert table.occ_code.tolist() == [index.setdefault(i, len(index)) for i in idents]


@pytest.mark.parametrize("stamps", [
    ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.5+00:00", "2025-12-31T23:59:59+00:00", ""],
    ["b", "a", "b", "a", "", "ab", "a"],  # ties, put in key order
    ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+07:00", "2026-01-01T00:00:00+00:00"],
    ["a", "a\x00", "a\x00b", "a"],  # NUL: NumPy would ignore a trailing one, so Python sorts these
    ["2026-01-01", "2026-01-01é", "2026-01-01"],  # not ASCII: Python sorts
    ["z" * 80, "a", "z" * 80],  # too long for the byte matrix: Python sorts
], ids=["iso", "ties", "offsets", "nul", "non-ascii", "long"])
def test_time_order_is_by_timestamp_then_key(stamps: list[str]) -> None:
    records = [MatchRecord(key=f"k{(7 * i) % len(stamps)}-{i}", event_id=f"e{i}", occurred_at=stamp, identifiers=())
               for i, stamp in enumerate(stamps)]
    order = RecordTable.read(records).time_order()
    assert order == sorted(range(len(records)), key=lambda i: (records[i].occurred_at, records[i].key))


def test_cluster_ids_for_many_equal_uuid5_one_by_one() -> None:
    event_ids = ["w|0", "kiotviet:shop1:KH000777", "zalo:oa1:4512:msg-Đặng", ""] + [f"e{i}" for i in range(300)]
    assert cluster_ids_for(event_ids) == [cluster_id_for(e) for e in event_ids]
    assert cluster_ids_for(event_ids[:3]) == [str(uuid.uuid5(CUSTOMER_NAMESPACE, e)) for e in event_ids[:3]]
    assert cluster_ids_for([]) == []


def test_roots_of_every_record_equal_find() -> None:
    records = _records(200, 5)
    guard = GuardedClusters(records)
    rng = random.Random(5)
    for _ in range(150):
        guard.force(rng.randrange(200), rng.randrange(200))
    assert guard.roots().tolist() == [guard.find(i) for i in range(200)]


def test_empty_and_tiny_inputs_resolve() -> None:
    from resolver.engine import resolve_records

    assert resolve_records([]).cluster_of == {}
    one = MatchRecord(key="a", event_id="e1", occurred_at="", identifiers=())
    assert resolve_records([one]).cluster_of == {"a": cluster_id_for("e1")}
    two = MatchRecord(key="b", event_id="e2", occurred_at="", identifiers=(("phone", "+84901234567"),))
    three = MatchRecord(key="c", event_id="e3", occurred_at="", identifiers=(("phone", "+84901234567"),))
    result = resolve_records([three, two])
    assert result.cluster_of == {"b": cluster_id_for("e2"), "c": cluster_id_for("e2")}
    assert [(x.left, x.right, x.rule) for x in result.links] == [("b", "c", "identifier:phone")]
