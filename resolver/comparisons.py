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

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
from rapidfuzz.process import cpdist

from resolver.columnar import factorise
from resolver.edits import CodePoints, within_one_edit
if TYPE_CHECKING:  # annotations only: the pair worker process then loads no name parsing or pydantic
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
    "street": ("jaro-winkler >= 0.80, or another house number", "jaro-winkler >= 0.92, same house number"),
    "id_number": ("one edit or transposition", "exact"),
    "phone": ("one digit differs", "exact"),
    "email": ("one edit", "exact"),
}
FIELDS: tuple[str, ...] = tuple(LEVELS)
# rapidfuzz threads per comparison: -1, every core. The engine's pair worker (resolver/pair_scoring.py)
# sets 1 for its own process, whose other core is the engine's, stitching meanwhile.
CPDIST_WORKERS = -1
NAME_FIELDS = frozenset({"family", "middle", "given"})
# Exact agreement on a rare value weighs more (Winkler): "Nguyễn", "Văn", "Thị" and TP.HCM are each
# shared by a fifth to a third of customers, "Khổng", "Diệu" and Long An by one or two in a hundred.
TERM_FREQUENCY_FIELDS = ("family", "given", "middle", "province")
NON_NAME = tuple(name not in NAME_FIELDS for name in FIELDS)  # fields whose agreement is "more than a name"
# A province and a sex are each shared by millions (and Vietnamese middle and given names already
# tell the sex): they corroborate a name, they do not identify a person.
COARSE_FIELDS = frozenset({"province", "gender"})
IDENTIFYING = tuple(name not in NAME_FIELDS | COARSE_FIELDS for name in FIELDS)
# What may corroborate a rare name: the identifying fields and the province (not the sex, see above).
CORROBORATING = tuple(name not in NAME_FIELDS | {"gender"} for name in FIELDS)


@dataclass(slots=True)
class Column:
    distinct: np.ndarray  # object array: the value of each code, then "" (so code -1 reads "")
    codes: np.ndarray  # int32 code per record, -1 when missing
    frequency: np.ndarray  # float64 share of non-missing records holding each code
    _points: CodePoints | None = field(default=None, repr=False)  # distinct values as code points, when asked

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (for the engine's pair worker, resolver/pair_scoring.py) with the distinct values
        as one string and their lengths: pickling half a million short strings one by one took the
        engine most of a second at a million records. Codes travel (and stay) as int16 when they fit:
        every use of them indexes or widens first. The code points are rebuilt when asked."""
        values = self.distinct.tolist()
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        codes = self.codes.astype(np.int16) if len(values) < 2**15 else self.codes
        return _unpickle_column, ("".join(values), lengths, codes, self.frequency)

    def code_points(self) -> CodePoints:
        if self._points is None:
            self._points = CodePoints.of(self.distinct)
        return self._points

    def values_at(self, records: np.ndarray) -> np.ndarray:
        """The values (str, "" = missing) of these records. Gathered from the distinct values when
        asked, for the few pairs that need a string comparison: a full per-record object column
        would cost a million reference-count writes per field."""
        return self.distinct[self.codes[records]]

    @property
    def values(self) -> np.ndarray:
        """Every record's value (object array of str, "" = missing)."""
        return self.values_at(np.arange(len(self.codes)))


class RecordColumns:
    """The records of one resolution run, column by column."""

    def __init__(self, records: Sequence[MatchRecord]) -> None:
        scalar = [f for f in FIELDS if f not in ("phone", "email")]
        # One attrgetter call per record and a transposition in C, rather than a pass per field.
        by_field = dict(zip(scalar, zip(*map(attrgetter(*scalar), records), strict=True), strict=True)) \
            if records else {f: () for f in scalar}
        coded = {name: factorise(by_field[name]) for name in scalar}
        for name in ("phone", "email"):
            coded[name] = factorise([_first(r.identifiers, name) for r in records])
        self._build(len(records), coded, None)

    @classmethod
    def from_codes(cls, size: int, coded: Mapping[str, tuple[np.ndarray, list[str]]],
                   order: np.ndarray | None = None) -> RecordColumns:
        """From each field's codes and distinct values, as `resolver.columnar.factorise` numbers them
        (first appearance, -1 missing). `order`: record k is taken from position order[k] (the engine
        reads records in memory order and resolves them in time order)."""
        out = cls.__new__(cls)
        out._build(size, coded, order)
        return out

    def _build(self, size: int, coded: Mapping[str, tuple[np.ndarray, list[str]]], order: np.ndarray | None) -> None:
        self.size = size
        self.columns: dict[str, Column] = {}
        uniques: dict[str, list[str]] = {}
        for name in FIELDS:
            codes, uniques[name] = coded[name]
            self.columns[name] = _column_from_codes(codes if order is None else codes[order], uniques[name])
        # For each record, the code of its birth date with day and month exchanged (-1 if none).
        dates = uniques["birth_date"]
        index = {v: c for c, v in enumerate(dates)}
        swapped = np.array([index.get(f"{v[:4]}-{v[8:10]}-{v[5:7]}", -1) if len(v) == 10 else -1 for v in dates]
                           + [-1], dtype=np.int32)
        self.birth_date_swapped = swapped[self.columns["birth_date"].codes]  # code -1 picks the trailing -1

    def reordered(self, order: np.ndarray) -> RecordColumns:
        """The same columns with record k taken from position order[k]."""
        out = RecordColumns.__new__(RecordColumns)
        out.size = self.size
        out.columns = {name: Column(c.distinct, c.codes[order], c.frequency) for name, c in self.columns.items()}
        out.birth_date_swapped = self.birth_date_swapped[order]
        return out

    def only(self, names: Sequence[str]) -> RecordColumns:
        """The same records with only these columns (the arrays shared, not copied)."""
        out = RecordColumns.__new__(RecordColumns)
        out.size, out.birth_date_swapped = self.size, self.birth_date_swapped
        out.columns = {name: self[name] for name in names}
        return out

    def __getitem__(self, name: str) -> Column:
        column = self.columns.get(name)
        if column is None and name in DERIVED:  # built on first use: only blocking reads them
            source, key = DERIVED[name]
            column = self.columns[name] = _derived(self.columns[source], self.columns[source].distinct[:-1].tolist(), key)
        if column is None:
            raise KeyError(name)
        return column


def _phone_tail(phone: str) -> str:
    return phone[-7:]


def _given_initial(given: str) -> str:
    return given[:1]


def _email_local(email: str) -> str:
    return email.split("@", 1)[0]


# "12", "12a", "45/3" (a house in alley 45), after an optional "so" (số, "number"); folded text.
_HOUSE_NUMBER = re.compile(r"(?:so\.? ?)?(\d+[a-z]?(?:/\d+[a-z]?)*)\b")


def house_number(street: str) -> str:
    """The house number a street line starts with, or "" ("159 cach mang thang tam" -> "159")."""
    found = _HOUSE_NUMBER.match(street)
    return found.group(1) if found else ""


# Keys derived from a compared column (for blocking, and the house number for the street level),
# once per distinct value, not per record, and only when blocking or scoring asks (by then the engine's pair work may run in another process,
# which then builds them there: the engine itself never holds their half a million strings).
DERIVED: dict[str, tuple[str, Callable[[str], str]]] = {
    "phone_tail": ("phone", _phone_tail), "given_initial": ("given", _given_initial),
    "email_local": ("email", _email_local), "house_number": ("street", house_number),
}


def _unpickle_column(joined: str, lengths: np.ndarray, codes: np.ndarray, frequency: np.ndarray) -> Column:
    ends = np.cumsum(lengths).tolist()
    distinct = np.empty(len(ends), dtype=object)
    distinct[:] = [joined[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
    return Column(distinct, codes, frequency)


def _column_from_codes(codes: np.ndarray, uniques: list[str]) -> Column:
    """A column from its codes and distinct values."""
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques)).astype(np.float64)
    present = max(1.0, float(counts.sum()))
    distinct = np.empty(len(uniques) + 1, dtype=object)
    distinct[:-1] = uniques
    distinct[-1] = ""  # what code -1 reads
    return Column(distinct, codes.astype(np.int32, copy=False), counts / present)


def _derived(col: Column, uniques: list[str], key: Callable[[str], str]) -> Column:
    """A column computed from another, value by distinct value, then spread back to the records."""
    codes, derived_uniques = factorise([key(v) for v in uniques])
    per_record = np.append(codes, -1)[col.codes]  # code -1 picks the trailing -1
    return _column_from_codes(per_record.astype(np.int32), derived_uniques)


def _first(identifiers: tuple[tuple[str, str], ...], kind: str) -> str:
    for t, v in identifiers:
        if t == kind:
            return v
    return ""


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
    _other_house(cols, left, right, out)
    return out


def _other_house(cols: RecordColumns, left: np.ndarray, right: np.ndarray, out: np.ndarray) -> None:
    """Two street lines that differ only in the house number ("159 / 299 Cách Mạng Tháng Tám") are
    as alike as Jaro–Winkler gets, and two addresses: such a pair is lowered to the weaker level."""
    st = FIELDS.index("street")
    top = np.flatnonzero(out[:, st] == len(LEVELS["street"]) + 1)
    if not len(top):
        return
    codes = cols["house_number"].codes
    a, b = codes[left[top]], codes[right[top]]
    out[top[(a >= 0) & (b >= 0) & (a != b)], st] = len(LEVELS["street"])


def _swapped_names(cols: RecordColumns, left: np.ndarray, right: np.ndarray, out: np.ndarray) -> None:
    """Family and given written the other way round on one side ("Webb Sam" / "Sam Webb"): both
    fields count as close (one level under exact), not as two disagreements."""
    fam, giv = cols["family"], cols["given"]
    # the same string has the same code in both columns only if the columns share codes, so compare text
    f, g = FIELDS.index("family"), FIELDS.index("given")
    candidates = np.flatnonzero((out[:, f] == 1) & (out[:, g] == 1))
    if not len(candidates):
        return
    a_f, a_g = fam.values_at(left[candidates]), giv.values_at(left[candidates])
    b_f, b_g = fam.values_at(right[candidates]), giv.values_at(right[candidates])
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
    if name in ("family", "given", "locality", "street", "middle"):
        sim = _jaro_winkler(col, a[idx], b[idx])
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
        dist = cpdist(col.distinct[a[idx]], col.distinct[b[idx]], scorer=DamerauLevenshtein.distance, score_cutoff=2,
                      workers=CPDIST_WORKERS)
        level[idx[dist <= 2]] = 2
        level[idx[dist <= 1]] = 3  # day/month exchanged: level 2 too, set in compare()
    else:  # postcode, id_number, phone, email: one edit (Damerau: a transposition is one edit)
        level[idx[_one_edit_apart(col, a[idx], b[idx])]] = 2
    return level


DISTINCT_PAIRS_AT_MOST = 0.5  # compare distinct value pairs when they are at most this share of the pairs


def _jaro_winkler(col: Column, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaro-Winkler similarity (cut at 0.8) of pairs of different values (codes a, b).

    A column with few distinct values (family, given and middle names: a few hundred) sees the same
    value pairs over and over among 300,000 random pairs; each distinct pair is then compared once
    and its score spread back, the same scores for a fraction of the work."""
    radix = len(col.distinct)
    if radix * radix < 2**62 and len(a) > 1000:
        keys = a.astype(np.int64) * radix + b
        distinct_keys, inverse = np.unique(keys, return_inverse=True)
        if len(distinct_keys) <= DISTINCT_PAIRS_AT_MOST * len(a):
            da, db = col.distinct[distinct_keys // radix], col.distinct[distinct_keys % radix]
            scores = cpdist(da, db, scorer=JaroWinkler.normalized_similarity, score_cutoff=0.8, workers=CPDIST_WORKERS)
            return np.asarray(scores)[inverse.ravel()]
    return np.asarray(cpdist(col.distinct[a], col.distinct[b], scorer=JaroWinkler.normalized_similarity,
                             score_cutoff=0.8, workers=CPDIST_WORKERS))


def _one_edit_apart(col: Column, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Damerau distance <= 1 for pairs of different values (codes a, b): in NumPy
    (resolver/edits.py) where both values fit its matrix, by rapidfuzz for the rest."""
    points = col.code_points()
    fast = points.fits[a] & points.fits[b]
    close = np.zeros(len(a), dtype=bool)
    close[fast] = within_one_edit(points, a[fast], b[fast])
    slow = np.flatnonzero(~fast)
    if len(slow):
        close[slow] = cpdist(col.distinct[a[slow]], col.distinct[b[slow]], scorer=DamerauLevenshtein.distance,
                             score_cutoff=1, workers=CPDIST_WORKERS) <= 1
    return close
