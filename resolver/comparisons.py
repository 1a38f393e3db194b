"""Field comparisons for record pairs, computed column-wise: one call per field for all pairs.

Each comparison turns a pair of values into a small integer *level*: 0 = a value is missing (no
evidence either way), 1 = the values disagree, higher = closer agreement; Fellegi–Sunter gives
each level its own weight (resolver/fellegi_sunter.py). String similarities run inside rapidfuzz
(`process.cpdist`, C++, both cores) over the whole pair list; equality runs on integer codes in
NumPy. Nothing here loops over pairs in Python (DESIGN.md: hot loops stay in C).

The levels follow what FEBRL-style linkage and Splink's defaults use (exact / Jaro–Winkler >= 0.92
/ >= 0.80 for names; exact / one edit for dates and numbers), and each says why in `LEVELS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
from rapidfuzz.process import cpdist

from resolver.features import MatchRecord

# Fields the engine compares, with the meaning of each level above 1 (level 1 = disagree).
LEVELS: dict[str, tuple[str, ...]] = {
    "family": ("jaro-winkler >= 0.80", "jaro-winkler >= 0.92", "exact"),
    "given": ("jaro-winkler >= 0.80", "jaro-winkler >= 0.92", "exact"),
    "middle": ("jaro-winkler >= 0.88", "exact"),
    "birth_date": ("day and month swapped, or two edits", "one edit (a typo)", "exact"),
    "gender": ("same",),
    "province": ("same",),
    "postcode": ("one edit", "exact"),
    "locality": ("jaro-winkler >= 0.80", "jaro-winkler >= 0.92"),
    "street": ("jaro-winkler >= 0.80", "jaro-winkler >= 0.92"),
    "id_number": ("one edit or transposition", "exact"),
    "phone": ("one digit differs", "exact"),
    "email": ("one edit", "exact"),
}
FIELDS: tuple[str, ...] = tuple(LEVELS)
NAME_FIELDS = frozenset({"family", "middle", "given"})
TERM_FREQUENCY_FIELDS = ("family", "given")  # exact agreement on a rare value weighs more
NON_NAME = tuple(name not in NAME_FIELDS for name in FIELDS)  # fields whose agreement is "more than a name"


@dataclass(slots=True)
class Column:
    values: np.ndarray  # object array of str ("" = missing)
    codes: np.ndarray  # int32 code per record, -1 when missing
    frequency: np.ndarray  # float64 share of non-missing records holding each code


class RecordColumns:
    """The records of one resolution run, column by column."""

    def __init__(self, records: Sequence[MatchRecord]) -> None:
        self.size = len(records)
        self.columns: dict[str, Column] = {}
        scalar = [f for f in FIELDS if f not in ("phone", "email")]
        # One attrgetter call per record and a transposition in C, rather than a pass per field.
        by_field = dict(zip(scalar, zip(*map(attrgetter(*scalar), records), strict=True), strict=True)) \
            if records else {f: () for f in scalar}
        for name in FIELDS:
            if name == "phone":
                raw = [_first(r.identifiers, "phone") for r in records]
            elif name == "email":
                raw = [_first(r.identifiers, "email") for r in records]
            else:
                raw = list(by_field[name])
            self.columns[name] = _column(raw)
        # Derived keys used only for blocking, computed once per distinct value, not per record.
        self.columns["phone_tail"] = _derived(self.columns["phone"], lambda p: p[-7:])
        self.columns["given_initial"] = _derived(self.columns["given"], lambda g: g[:1])
        self.columns["email_local"] = _derived(self.columns["email"], lambda e: e.split("@", 1)[0])
        # For each record, the code of its birth date with day and month exchanged (-1 if none).
        dates = self.columns["birth_date"]
        uniques = _uniques(dates)
        index = {v: c for c, v in enumerate(uniques)}
        swapped = np.array([index.get(f"{v[:4]}-{v[8:10]}-{v[5:7]}", -1) if len(v) == 10 else -1 for v in uniques]
                           + [-1], dtype=np.int32)
        self.birth_date_swapped = swapped[dates.codes]  # code -1 picks the trailing -1

    def reordered(self, order: np.ndarray) -> RecordColumns:
        """The same columns with record k taken from position order[k]. The engine reads records in
        the order they were allocated (memory-local, twice as fast at a million) and sorts here."""
        out = RecordColumns.__new__(RecordColumns)
        out.size = self.size
        out.columns = {name: Column(c.values[order], c.codes[order], c.frequency) for name, c in self.columns.items()}
        out.birth_date_swapped = self.birth_date_swapped[order]
        return out

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]


def _uniques(col: Column) -> list[str]:
    """The distinct values of a column in code order (code k is uniques[k])."""
    out = [""] * len(col.frequency)
    present = np.flatnonzero(col.codes >= 0)
    first = np.unique(col.codes[present], return_index=True)[1] if len(present) else np.empty(0, dtype=np.int64)
    for code, at in enumerate(first.tolist()):
        out[code] = col.values[present[at]]
    return out


def _derived(col: Column, key: Callable[[str], str]) -> Column:
    """A column computed from another, value by distinct value, then spread back to the records."""
    uniques = _uniques(col)
    derived = _column([key(v) for v in uniques])
    codes = np.append(derived.codes, -1)[col.codes]  # code -1 picks the trailing -1
    values = np.append(derived.values, "")[col.codes] if len(col.codes) else np.array([], dtype=object)
    counts = np.bincount(codes[codes >= 0], minlength=len(derived.frequency)).astype(np.float64)
    return Column(values, codes.astype(np.int32), counts / max(1.0, float(counts.sum())))


def _first(identifiers: tuple[tuple[str, str], ...], kind: str) -> str:
    for t, v in identifiers:
        if t == kind:
            return v
    return ""


def _column(raw: list[str]) -> Column:
    index: dict[str, int] = {}
    get = index.setdefault
    codes = np.array([get(v, len(index)) if v else -1 for v in raw], dtype=np.int32)
    counts = np.bincount(codes[codes >= 0], minlength=len(index)).astype(np.float64)
    present = max(1.0, float(counts.sum()))
    return Column(np.array(raw, dtype=object), codes, counts / present)


def compare(cols: RecordColumns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Levels for every pair (left[k], right[k]): an int8 matrix, one row per pair, one column per field."""
    out = np.zeros((len(left), len(FIELDS)), dtype=np.int8)
    for f, name in enumerate(FIELDS):
        out[:, f] = _levels(name, cols[name], left, right)
    _swapped_names(cols, left, right, out)
    bd = FIELDS.index("birth_date")
    swapped = (out[:, bd] == 1) & (cols.birth_date_swapped[left] >= 0) & (
        cols.birth_date_swapped[left] == cols["birth_date"].codes[right])
    out[swapped, bd] = 2
    return out


def _swapped_names(cols: RecordColumns, left: np.ndarray, right: np.ndarray, out: np.ndarray) -> None:
    """Family and given written the other way round on one side ("Webb Sam" / "Sam Webb"): both
    fields count as close (one level under exact), not as two disagreements."""
    fam, giv = cols["family"], cols["given"]
    # the same string has the same code in both columns only if the columns share codes, so compare text
    f, g = FIELDS.index("family"), FIELDS.index("given")
    candidates = np.flatnonzero((out[:, f] == 1) & (out[:, g] == 1))
    if not len(candidates):
        return
    a_f, a_g = fam.values[left[candidates]], giv.values[left[candidates]]
    b_f, b_g = fam.values[right[candidates]], giv.values[right[candidates]]
    swapped = (a_f == b_g) & (a_g == b_f)
    hit = candidates[swapped]
    out[hit, f] = len(LEVELS["family"])
    out[hit, g] = len(LEVELS["given"])


def _levels(name: str, col: Column, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    a, b = col.codes[left], col.codes[right]
    level = np.zeros(len(left), dtype=np.int8)
    present = (a >= 0) & (b >= 0)
    exact = present & (a == b)
    differ = present & ~exact
    top = len(LEVELS[name]) + 1
    level[present] = 1
    level[exact] = top
    if name in ("gender", "province") or not differ.any():
        return level
    idx = np.flatnonzero(differ)
    va, vb = col.values[left[idx]], col.values[right[idx]]
    if name in ("family", "given", "locality", "street", "middle"):
        sim = cpdist(va, vb, scorer=JaroWinkler.normalized_similarity, score_cutoff=0.8, workers=-1)
        if name == "middle":
            level[idx[sim >= 0.88]] = 2
        elif name in ("locality", "street"):
            level[idx[sim >= 0.80]] = 2
            level[idx[sim >= 0.92]] = 3
            level[exact] = 3
        else:
            level[idx[sim >= 0.80]] = 2
            level[idx[sim >= 0.92]] = 3
    elif name == "birth_date":
        dist = cpdist(va, vb, scorer=DamerauLevenshtein.distance, score_cutoff=2, workers=-1)
        level[idx[dist <= 2]] = 2
        level[idx[dist <= 1]] = 3  # day/month exchanged: level 2 too, set in compare()
    else:  # postcode, id_number, phone, email: one edit (Damerau: a transposition is one edit)
        dist = cpdist(va, vb, scorer=DamerauLevenshtein.distance, score_cutoff=1, workers=-1)
        level[idx[dist <= 1]] = 2
    return level
