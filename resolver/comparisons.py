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

from collections.abc import Sequence
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
        for name in FIELDS:
            if name == "phone":
                raw = [_first(r.identifiers, "phone") for r in records]
            elif name == "email":
                raw = [_first(r.identifiers, "email") for r in records]
            else:
                raw = [getattr(r, name) for r in records]
            self.columns[name] = _column(raw)

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]


def _first(identifiers: tuple[tuple[str, str], ...], kind: str) -> str:
    for t, v in identifiers:
        if t == kind:
            return v
    return ""


def _column(raw: list[str]) -> Column:
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) if v else -1 for v in raw), dtype=np.int32,
                        count=len(raw))
    counts = np.bincount(codes[codes >= 0], minlength=len(index)).astype(np.float64)
    present = max(1.0, float(counts.sum()))
    return Column(np.array(raw, dtype=object), codes, counts / present)


def compare(cols: RecordColumns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Levels for every pair (left[k], right[k]): an int8 matrix, one row per pair, one column per field."""
    out = np.zeros((len(left), len(FIELDS)), dtype=np.int8)
    for f, name in enumerate(FIELDS):
        out[:, f] = _levels(name, cols[name], left, right)
    return out


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
        sim = cpdist(va, vb, scorer=JaroWinkler.normalized_similarity, workers=-1)
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
        dist = cpdist(va, vb, scorer=DamerauLevenshtein.distance, workers=-1)
        level[idx[dist <= 2]] = 2
        level[idx[dist <= 1]] = 3
        swapped = np.fromiter((_day_month_swapped(x, y) for x, y in zip(va, vb, strict=True)), dtype=bool,
                              count=len(idx))
        level[idx[swapped & (dist > 1)]] = 2
    else:  # postcode, id_number, phone, email: one edit (Damerau: a transposition is one edit)
        dist = cpdist(va, vb, scorer=DamerauLevenshtein.distance, workers=-1)
        level[idx[dist <= 1]] = 2
    return level


def _day_month_swapped(a: str, b: str) -> bool:
    # yyyy-mm-dd typed as yyyy-dd-mm somewhere (a US-format form, a spreadsheet's locale)
    return len(a) == 10 and len(b) == 10 and a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]
