"""Deterministic stitching of a whole record set, vectorised where protection cannot object.

Sequential stitching (one guarded union per shared identifier, in time order) is exact but costs a
Python call per identifier: 29 s at a million records. Most of that work is provably unnecessary:
a connected component of records linked by non-shared identifiers, whose records hold at most one
birth date, no more distinct values of any type than the per-type limit, no value that might be
shared and no operator decision, can never see a union refused. Such *safe* components are merged
in one step here (NumPy label propagation); only the records of the other, *risky* components go
through the sequential guarded loop, so the result is the same as stitching everything one union
at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from resolver.comparisons import RecordColumns
from resolver.features import SHAREABLE_ID_TYPES, MatchRecord
from resolver.protection import IDENTIFIER_LIMITS, GuardedClusters, shared_identifiers


@dataclass(slots=True)
class StitchPlan:
    shared: dict[tuple[str, str], str]  # identifier -> why it is shared
    holders: dict[tuple[str, str], list[int]]  # identifier -> holders in time order (risky records' identifiers)
    risky: list[int]  # records to stitch one union at a time, in time order
    safe_links: list[tuple[int, int, str]]  # (first holder, holder, identifier type) merged in bulk


def _name_codes(cols: RecordColumns) -> np.ndarray:
    """One code per distinct (family, middle, given), -1 without a given name: from the column codes."""
    family, middle, given = (cols[f].codes.astype(np.int64) for f in ("family", "middle", "given"))
    code = (family + 1) * (int(middle.max(initial=0)) + 2) + (middle + 1)
    code = code * (int(given.max(initial=0)) + 2) + (given + 1)
    code[given < 0] = -1
    return code


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Label of every record = the smallest record index of its connected component."""
    labels = np.arange(n, dtype=np.int64)
    while True:
        before = labels.copy()
        np.minimum.at(labels, b, labels[a])
        np.minimum.at(labels, a, labels[b])
        labels = labels[labels]
        labels = labels[labels]
        if np.array_equal(labels, before):
            return labels


def _count_distinct_per_label(labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each label (record index space), how many distinct non-negative values its records hold."""
    keep = values >= 0
    pairs = np.unique(np.stack([labels[keep], values[keep]], axis=1), axis=0) if keep.any() else np.empty((0, 2))
    return np.bincount(pairs[:, 0].astype(np.int64), minlength=len(labels)) if len(pairs) else np.zeros(len(labels))


def plan_stitching(records: Sequence[MatchRecord], cols: RecordColumns, guard: GuardedClusters,
                   decided: Collection[int], vectorised: bool = True,
                   allocated: tuple[Sequence[MatchRecord], np.ndarray] | None = None) -> StitchPlan:
    """`vectorised=False` sends every record through the sequential loop (the reference the tests compare to)."""
    n = len(records)
    index: dict[tuple[str, str], int] = {}
    get = index.setdefault
    # `allocated`: the same records in memory order, with each one's position in `records`; reading
    # a million objects in that order is much faster than in time order.
    walk, position = allocated if allocated is not None else (records, np.arange(n, dtype=np.int64))
    occ_rec = [i for i, r in enumerate(walk) for _ in r.identifiers]
    occ_code = [get(ident, len(index)) for r in walk for ident in r.identifiers]
    idents = list(index)
    rec = position[np.asarray(occ_rec, dtype=np.int64)]
    code = np.asarray(occ_code, dtype=np.int64)
    order = np.lexsort((rec, code))  # by identifier, then record (time order)
    rec, code = rec[order], code[order]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]]) if len(code) else np.empty(0, dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(code)])
    group = np.repeat(np.arange(len(starts)), sizes)
    first = rec[starts][group]

    # Shared candidates: shareable values whose holders show two different names or birth dates.
    given = _name_codes(cols)
    dates = cols["birth_date"].codes.astype(np.int64)
    multi_groups = np.flatnonzero(sizes >= 2)
    type_of = np.array([kind for kind, _ in idents], dtype=object)
    shareable_code = np.isin(type_of, list(SHAREABLE_ID_TYPES)) if len(type_of) else np.empty(0, dtype=bool)
    kinds = shareable_code[code[starts]] if len(starts) else np.empty(0, dtype=bool)
    n_given = _count_distinct_per_label(group, given[rec])[: len(starts)]
    n_dates = _count_distinct_per_label(group, dates[rec])[: len(starts)]
    suspect = [g for g in multi_groups if kinds[g] and (n_given[g] >= 2 or n_dates[g] >= 2)]
    candidates = {idents[code[starts[g]]]: rec[starts[g]:starts[g] + sizes[g]].tolist() for g in suspect}
    shared = shared_identifiers(records, candidates)
    shared_codes = np.array(sorted(index[k] for k in shared), dtype=np.int64)

    # Components over non-shared links; what makes one risky.
    is_shared = np.isin(code, shared_codes)
    link = (rec != first) & ~is_shared
    labels = _components(n, first[link], rec[link])
    risky = np.zeros(n, dtype=bool)
    risky[rec[is_shared]] = True
    risky[np.asarray(sorted(decided), dtype=np.int64)] = True
    risky_label = np.zeros(n, dtype=bool)
    risky_label[labels[risky]] = True
    risky_label[np.flatnonzero(_count_distinct_per_label(labels, dates) >= 2)] = True
    for kind, limit in IDENTIFIER_LIMITS.items():
        of_kind = np.flatnonzero(type_of == kind) if len(type_of) else np.empty(0, dtype=np.int64)
        if not len(of_kind):
            continue
        mine = np.isin(code, of_kind)
        if mine.any():  # distinct values of this type per component label
            per_label = _count_distinct_per_label(labels[rec[mine]], code[mine])
            risky_label[np.flatnonzero(per_label[:n] > limit)] = True
    risky_record = risky_label[labels] | (not vectorised)

    # Safe components merge at once; their links are the evidence.
    safe_edge = link & ~risky_record[rec]
    guard.bulk_merge(labels, ~risky_record)
    safe_links = list(zip(first[safe_edge].tolist(), rec[safe_edge].tolist(),
                          type_of[code[safe_edge]].tolist() if safe_edge.any() else [], strict=True))

    # The risky records go one union at a time; they need the holders of their identifiers.
    risky_ids = {idents[c] for c in np.unique(code[risky_record[rec]])}
    holders: dict[tuple[str, str], list[int]] = {}
    for g in multi_groups:
        key = idents[code[starts[g]]]
        if key in risky_ids:
            holders[key] = rec[starts[g]:starts[g] + sizes[g]].tolist()
    return StitchPlan(shared, holders, np.flatnonzero(risky_record).tolist(), safe_links)
