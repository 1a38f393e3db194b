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

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from resolver.columnar import RecordTable, unique_sorted
from resolver.comparisons import RecordColumns
from resolver.features import SHAREABLE_ID_TYPES, MatchRecord
from resolver.protection import IDENTIFIER_LIMITS, GuardedClusters, shared_identifiers


@dataclass(slots=True)
class StitchPlan:
    shared: dict[tuple[str, str], str]  # identifier -> why it is shared
    holders: dict[tuple[str, str], list[int]]  # identifier -> holders in time order (risky records' identifiers)
    risky: list[int]  # records to stitch one union at a time, in time order
    safe_links: SafeLinks  # merged in bulk


@dataclass(slots=True)
class SafeLinks:
    """The links of the components merged in bulk, as arrays: link k joins record `first[k]` (the
    identifier's first holder) and `holder[k]` through an identifier of type `kind[k]`."""

    first: np.ndarray
    holder: np.ndarray
    kind: np.ndarray  # type code: type_names[kind[k]]
    type_names: list[str]

    def __len__(self) -> int:
        return len(self.first)

    def __iter__(self) -> Iterator[tuple[int, int, str]]:
        names = self.type_names
        return zip(self.first.tolist(), self.holder.tolist(), [names[k] for k in self.kind.tolist()], strict=True)


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
    if not keep.any():
        return np.zeros(len(labels))
    # (label, value) packed into one int64, so the distinct pairs are a 1-D unique (a 2-D unique
    # with axis=0 sorts rows as opaque bytes, several times slower).
    values = values[keep].astype(np.int64)
    radix = int(values.max()) + 1
    if radix * len(labels) >= 2**62:  # the packed pair could overflow: number the values compactly first
        values = np.unique(values, return_inverse=True)[1].astype(np.int64)
        radix = int(values.max()) + 1
    pairs = unique_sorted(labels[keep].astype(np.int64) * radix + values)
    return np.bincount(pairs // radix, minlength=len(labels))


def plan_stitching(records: Sequence[MatchRecord], cols: RecordColumns, guard: GuardedClusters,
                   decided: Collection[int], vectorised: bool = True, table: RecordTable | None = None,
                   position: np.ndarray | None = None) -> StitchPlan:
    """`vectorised=False` sends every record through the sequential loop (the reference the tests compare to).

    `table`: the records as the engine read them (`RecordTable.read`, memory order), with `position`
    the place of each in `records` (time order); read here when not given."""
    n = len(records)
    if table is None or position is None:
        table, position = RecordTable.read(records), np.arange(n, dtype=np.int64)
    idents = table.idents
    rec = position[table.occ_record]
    code = table.occ_code
    order = np.lexsort((rec, code))  # by identifier, then record (time order)
    rec, code = rec[order], code[order]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]]) if len(code) else np.empty(0, dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(code)])
    group = np.repeat(np.arange(len(starts)), sizes)
    first = rec[starts][group]
    type_of_code = table.ident_type  # identifier code -> type code
    occ_type = type_of_code[code]

    # Shared candidates: shareable values whose holders show two different names or birth dates.
    given = _name_codes(cols)
    dates = cols["birth_date"].codes.astype(np.int64)
    shareable_types = [table.type_code(kind) for kind in sorted(SHAREABLE_ID_TYPES)]
    kinds = np.isin(type_of_code[code[starts]], shareable_types)
    n_given = _count_distinct_per_label(group, given[rec])[: len(starts)]
    n_dates = _count_distinct_per_label(group, dates[rec])[: len(starts)]
    suspect = np.flatnonzero((sizes >= 2) & kinds & ((n_given >= 2) | (n_dates >= 2)))
    code_of = {idents[c]: c for c in code[starts[suspect]].tolist()}
    candidates = {idents[code[starts[g]]]: rec[starts[g]:starts[g] + sizes[g]].tolist() for g in suspect.tolist()}
    shared = shared_identifiers(records, candidates)
    shared_codes = np.array(sorted(code_of[k] for k in shared), dtype=np.int64)

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
        mine = occ_type == table.type_code(kind)
        if mine.any():  # distinct values of this type per component label
            per_label = _count_distinct_per_label(labels[rec[mine]], code[mine])
            risky_label[np.flatnonzero(per_label[:n] > limit)] = True
    risky_record = risky_label[labels] | (not vectorised)

    # Safe components merge at once; their links are the evidence.
    safe_edge = link & ~risky_record[rec]
    guard.bulk_merge(labels, ~risky_record)
    safe_links = SafeLinks(first[safe_edge], rec[safe_edge], occ_type[safe_edge], table.type_names)

    # The risky records go one union at a time; they need the holders of their identifiers.
    risky_holders = np.add.reduceat(risky_record[rec].astype(np.int64), starts) if len(starts) else starts
    holders = {idents[code[starts[g]]]: rec[starts[g]:starts[g] + sizes[g]].tolist()
               for g in np.flatnonzero((risky_holders > 0) & (sizes >= 2)).tolist()}
    return StitchPlan(shared, holders, np.flatnonzero(risky_record).tolist(), safe_links)
