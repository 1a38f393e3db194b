"""The bulk engine's one read of its records: every field it needs, taken in a single pass.

At a million records the engine's cost is not comparing strings (that runs in C) but touching a
million Python objects: each attribute read of a record that is not in the CPU cache is a memory
stall. The engine used to walk the records once per field and again per identifier, in time order
(scattered in memory). `RecordTable.read` reads each field once, in the order the records were
allocated, in C (`map(attrgetter)`); everything later works on these lists and on integer codes.

Strings are factorised once, into codes numbered in order of first appearance (the numbering a
`dict.setdefault` scan gives), so every code, and so every later result, is what the per-record
loops produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass
from itertools import chain, count
from operator import attrgetter, eq
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:  # annotations only: the pair worker process then loads no name parsing or pydantic
    from resolver.features import MatchRecord

T = TypeVar("T")

# Fields compared as columns (resolver/comparisons.py FIELDS minus phone and email, which come from
# the identifiers), and what the engine reads besides.
SCALAR_FIELDS: tuple[str, ...] = ("family", "given", "middle", "birth_date", "gender", "province", "postcode",
                                  "locality", "street", "id_number")
ENGINE_FIELDS: tuple[str, ...] = ("occurred_at", "key", "event_id")  # kept as lists of str


def factorise(raw: Iterable[T], size: int | None = None) -> tuple[np.ndarray, list[T]]:
    """int32 code per value in order of first appearance, -1 for "" (missing); and the distinct values.

    One C-level pass over a dict (`map(index.setdefault, raw, count())` stores each new value with the
    position it first appears at), then the positions are renumbered 0, 1, ... in NumPy: the
    numbering of a Python `setdefault` loop, twice as fast as it, and each value hashed once.
    `raw` may be an iterator (then `size` is its length): a field is factorised as it is read."""
    n = len(raw) if size is None and isinstance(raw, Sized) else size
    if n is None:
        raise TypeError("factorise of an iterator needs its size")
    index: dict[Any, int] = {"": -1, None: -1}  # None is no field's value; missing in the old loops too
    first_at = np.fromiter(map(index.setdefault, raw, count()), dtype=np.int64, count=n)
    del index[""], index[None]
    firsts = np.fromiter(index.values(), dtype=np.int64, count=len(index))
    renumber = np.empty(n + 1, dtype=np.int32)
    renumber[firsts] = np.arange(len(firsts), dtype=np.int32)
    renumber[-1] = -1  # position -1: missing
    return renumber[first_at], list(index)


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` for a 1-D integer array, by sorting. NumPy >= 2.3 answers a plain
    `np.unique` with a hash table, which is many times slower on millions of distinct int64 (14 s
    against 0.2 s for 12M on the benchmark machine); the sort gives the same sorted result."""
    if not len(values):
        return values.copy()
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def renumber_by_first_appearance(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 = missing) renumbered 0, 1, ... in order of first appearance; and, for each new code,
    the old one. Used where a column's values are already coded by another factorisation."""
    present = np.flatnonzero(codes >= 0)
    out = np.full(len(codes), -1, dtype=np.int32)
    if not len(present):
        return out, np.empty(0, dtype=np.int64)
    old, first, inverse = np.unique(codes[present], return_index=True, return_inverse=True)
    by_first = np.argsort(first, kind="stable")
    new_of_old = np.empty(len(old), dtype=np.int32)
    new_of_old[by_first] = np.arange(len(old), dtype=np.int32)
    out[present] = new_of_old[inverse]
    return out, old[by_first]


@dataclass(slots=True)
class RecordTable:
    """What the engine reads of each record, record k being records[k] (memory order).

    Identifiers are kept as *occurrences* (one per record and identifier, in record order, then in
    the record's own order): `occ_record` the record, `occ_code` the identifier's code; `idents[c]`
    is identifier c, `ident_type[c]` the code of its type in `type_names`."""

    size: int
    fields: dict[str, list[str]]  # ENGINE_FIELDS
    coded: dict[str, tuple[np.ndarray, list[str]]]  # SCALAR_FIELDS, factorised (`factorise`)
    occ_record: np.ndarray
    occ_code: np.ndarray
    idents: list[tuple[str, str]]
    ident_type: np.ndarray
    type_names: list[str]

    @classmethod
    def read(cls, records: Sequence[MatchRecord]) -> RecordTable:
        n = len(records)
        # One C-level pass per field: faster than one attrgetter of every field followed by a
        # transposition (0.7 s against 1.1 s at a million records), the records being read in order.
        columns = [list(map(attrgetter(name), records)) for name in ENGINE_FIELDS]
        coded = {name: factorise(map(attrgetter(name), records), n) for name in SCALAR_FIELDS}
        identifiers = list(map(attrgetter("identifiers"), records))
        counts = np.fromiter(map(len, identifiers), dtype=np.int64, count=n)
        occ_code, idents = factorise(list(chain.from_iterable(identifiers)))
        type_codes, type_names = factorise([kind for kind, _ in idents])
        return cls(size=n, fields=dict(zip(ENGINE_FIELDS, columns, strict=True)), coded=coded,
                   occ_record=np.repeat(np.arange(n, dtype=np.int64), counts), occ_code=occ_code.astype(np.int64),
                   idents=idents, ident_type=type_codes.astype(np.int64), type_names=type_names)

    def type_code(self, kind: str) -> int:
        return self.type_names.index(kind) if kind in self.type_names else -2  # -2 matches no identifier

    def first_of_type(self, kind: str) -> tuple[np.ndarray, list[str]]:
        """The column of each record's first identifier of `kind` ("" when none), factorised like
        `factorise` would: codes in order of first appearance, and the distinct values."""
        mine = self.ident_type[self.occ_code] == self.type_code(kind)
        rec, code = self.occ_record[mine], self.occ_code[mine]
        first = np.r_[True, rec[1:] != rec[:-1]] if len(rec) else np.empty(0, dtype=bool)
        per_record = np.full(self.size, -1, dtype=np.int64)
        per_record[rec[first]] = code[first]
        codes, old = renumber_by_first_appearance(per_record)
        return codes, [self.idents[c][1] for c in old.tolist()]

    def time_order(self) -> list[int]:
        """Record positions sorted by (occurred_at, key): the order the engine resolves in.

        Sorted by the timestamp alone (the rare ties are then put in key order): in NumPy when every
        timestamp is ASCII (ISO 8601 is), else by Python's sort of plain strings, its fastest path."""
        occurred, keys = self.fields["occurred_at"], self.fields["key"]
        by_bytes = _ascii_argsort(occurred)
        if by_bytes is None:
            order = sorted(range(self.size), key=occurred.__getitem__)
            in_time = list(map(occurred.__getitem__, order))
            tied = np.flatnonzero(np.fromiter(map(eq, in_time, in_time[1:]), dtype=bool,
                                              count=max(0, self.size - 1)))
        else:
            positions, in_order = by_bytes
            order = positions.tolist()
            tied = np.flatnonzero(in_order[1:] == in_order[:-1])
        start = 0
        for t in tied.tolist():  # each run of equal timestamps [t, end), sorted by key
            if t < start:
                continue
            end = t + 2
            while end < self.size and occurred[order[end]] == occurred[order[t]]:
                end += 1
            order[t:end] = sorted(order[t:end], key=keys.__getitem__)
            start = end
        return order


def _ascii_argsort(values: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Stable argsort of strings as NumPy bytes, and the sorted bytes; None unless every value is
    ASCII without NUL. For ASCII, byte order is Python's string order; NumPy ignores trailing NULs,
    hence none allowed. A million timestamps: 0.8 s of CPU against 2 s for Python's sort."""
    if not values or max(map(len, values)) > 64 or "\x00" in "".join(values):  # > 64: a wide matrix for one
        return None
    try:
        raw = np.array(values, dtype="S")
    except UnicodeEncodeError:
        return None
    order = np.argsort(raw, kind="stable")
    return order, raw[order]
