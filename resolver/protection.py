"""Merge protection: the checks every union of two clusters must pass, whatever proposed it.

A wrong merge shows one customer another's orders, so the engine refuses a union when:

* **conflict**: the two sides hold different national ids, or birth dates that are neither equal
  nor one typo apart (a transposed or mistyped digit is a typo; 1990 vs 1978 is two people). The
  birth-date rule is waived only for a scored pair whose other fields outweigh the disagreement
  by a wide margin (`EngineConfig.override_probability`): birth dates are typed by hand at a till
  and on forms, and FEBRL-style data corrupts a third of them; a national id is never waived;
* **limit**: the merged customer would hold more distinct values of one identifier type than a
  person plausibly has (`IDENTIFIER_LIMITS`), the signature of a chain through shared values.

A refused union is not lost: it is returned as a `Refusal` and goes to the review queue.

Shared identifiers are detected before stitching (`shared_identifiers`): a phone or an email held
by records whose names are clearly different people (a household phone, a shop's email, the till's
"0909000000" typed for every walk-in) stops linking on its own and links only records that also
agree on the name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from resolver.features import SHAREABLE_ID_TYPES, MatchRecord

N = TypeVar("N", int, str)

# At most this many distinct values of a type on one customer (a person with 5 phone numbers is
# rare; a cluster with 30 is a chain through a shared value).
IDENTIFIER_LIMITS: dict[str, int] = {
    "phone": 5, "email": 5, "national_id": 1, "zalo": 8, "fb_psid": 8, "pos_customer": 8,
    "external": 20, "cookie": 50,
}


@dataclass(frozen=True, slots=True)
class Refusal(Generic[N]):
    left: N  # a node (record index, customer id) of each side
    right: N
    reason: str  # conflict:birth_date | conflict:national_id | limit:<type>
    detail: str


def birth_dates_compatible(a: str, b: str) -> bool:
    return a == b or DamerauLevenshtein.distance(a, b) <= 1


SHORT_WORD = 5  # letters: below this, one letter replaced by another makes another name, not a typo


def _close(x: str, y: str, cutoff: float = 0.92) -> bool:
    """Equal, similar (Jaro-Winkler), or one typo apart ("Hpạm" / "Phạm": a transposition).

    Vietnamese names are single syllables, and in a short one a letter replaced by another is
    usually another name (Hùng / Dũng, Mạnh / Thanh -> "manh" / "tanh", Lan / Lam): there only a
    letter lost, doubled or swapped counts as a typo ("Tùy" for "Thùy", "Biinh" for "Bình")."""
    if x == y or JaroWinkler.normalized_similarity(x, y) >= cutoff:
        return True
    if min(len(x), len(y)) < 3 or DamerauLevenshtein.distance(x, y, score_cutoff=1) > 1:
        return False
    return len(x) != len(y) or min(len(x), len(y)) >= SHORT_WORD or sorted(x) == sorted(y)


def _words_among(few: list[str], many: list[str]) -> bool:
    """Whether each word of `few` is one of `many`'s words (each used once), exactly or within a typo
    (`_close`): "Truuong Kim Van" is among "Trương Kim Vân", "Tang Lê" among "Lê Mỹ Trang". The order
    is free, because the parser's order is a guess for a name written given-name first with a typo in
    the family name ("Ngguyễn Thị Diệp" read as Diệp Ngguyễn Thị)."""
    if len(few) > len(many):
        return False
    left = list(many)
    for word in sorted(few, key=lambda w: w not in left):  # exact words first, so a typo takes what is left
        match = word if word in left else next((w for w in left if _close(word, w)), None)
        if match is None:
            return False
        left.remove(match)
    return True


def names_compatible(a: MatchRecord, b: MatchRecord) -> bool:
    """Could these two names be one person? Missing names are compatible with anything.

    Lenient on what people leave out (a name cut short at the till, "Phạm Văn" for "Phạm Văn Anh";
    a Zalo display name "Anh Đỗ" for "Đỗ Tiến Anh"): when the words of one name are all among the
    other's, in any order and each within a typo, they may be one person. Strict on what they change:
    a different given name, family name, or a different middle name where both wrote one ("Nguyễn
    Tuấn Anh" / "Nguyễn Hữu Anh").
    """
    if not a.given or not b.given:
        return True
    words_a, words_b = a.full_name.split(), b.full_name.split()
    if _words_among(words_a, words_b) or _words_among(words_b, words_a):
        return True
    if not _close(a.given, b.given):
        return False
    if a.family and b.family and not _close(a.family, b.family):
        return False
    return not (a.middle and b.middle and not _close(a.middle, b.middle, 0.88))


class Guard(Generic[N]):
    """Union-find over clusters that checks merge protection before every union.

    Generic over what a node is: record indices in the bulk engine (`GuardedClusters`), customer
    ids in the stream (`CustomerGuard`), so both refuse exactly the same merges. Per-root facts
    (birth dates, identifier values by type) are built lazily from the node itself on first use:
    a root that never merged is its own node, and most nodes never need them.
    """

    def __init__(self) -> None:
        self.parent: dict[N, N] = {}
        self.birth_dates: dict[N, set[str]] = {}
        self.values: dict[N, dict[str, set[str]]] = {}
        self.cannot: dict[N, set[N]] = {}  # root -> nodes an operator said are someone else
        self._built: set[N] = set()

    def _facts(self, node: N) -> tuple[Iterable[str], Iterable[tuple[str, str]]]:
        """(birth dates, identifiers) of a node that has not merged with anything yet."""
        raise NotImplementedError

    def _before(self, a: N, b: N) -> bool:
        """Whether a, rather than b, names the merged cluster."""
        raise NotImplementedError

    def _aggregate(self, root: N) -> None:
        if root in self._built:
            return
        self._built.add(root)
        dates, identifiers = self._facts(root)
        self.add_facts(root, dates, identifiers)

    def add_facts(self, root: N, dates: Iterable[str], identifiers: Iterable[tuple[str, str]]) -> None:
        """More of what a cluster holds (an event that joined it without a merge)."""
        self._aggregate(root)
        for d in dates:
            self.birth_dates.setdefault(root, set()).add(d)
        for t, v in identifiers:
            self.values.setdefault(root, {}).setdefault(t, set()).add(v)

    def find(self, i: N) -> N:
        parent = self.parent
        root = i
        while root in parent:
            root = parent[root]
        while i in parent and parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def forbid(self, i: N, j: N) -> None:
        """An operator's decision: i and j are different people, whatever links them."""
        self.cannot.setdefault(self.find(i), set()).add(j)
        self.cannot.setdefault(self.find(j), set()).add(i)

    def force(self, i: N, j: N) -> None:
        """An operator's decision that i and j are one person: no protection rule applies."""
        a, b = self.find(i), self.find(j)
        if a != b:
            self._aggregate(a)
            self._aggregate(b)
            self._link(a, b)

    def refusal(self, a: N, b: N, birth_dates: bool = True) -> Refusal[N] | None:
        """Why the clusters of a and b must not merge, or None. Both must be roots."""
        for x, y in ((a, b), (b, a)):
            if any(self.find(k) == y for k in self.cannot.get(x, ())):
                return Refusal(a, b, "review_rejected", "an operator decided these are different people")
        self._aggregate(a)
        self._aggregate(b)
        da, db = self.birth_dates.get(a), self.birth_dates.get(b)
        if birth_dates and da and db and not any(birth_dates_compatible(x, y) for x in da for y in db):
            return Refusal(a, b, "conflict:birth_date", f"{len(da | db)} birth dates, not one typo apart")
        va, vb = self.values.get(a), self.values.get(b)
        if va and vb:
            na, nb = va.get("national_id"), vb.get("national_id")
            if na and nb and not (na & nb):
                return Refusal(a, b, "conflict:national_id", "two different national ids")
            small, large = (va, vb) if len(va) <= len(vb) else (vb, va)
            for t, values in small.items():
                other = large.get(t)
                limit = IDENTIFIER_LIMITS.get(t)
                if other and limit is not None and len(values) + len(other) > limit and len(values | other) > limit:
                    return Refusal(a, b, f"limit:{t}", f"{len(values | other)} distinct {t} values (limit {limit})")
        return None

    def distinct_holders(self, i: N, j: N, types: Iterable[str] = SHAREABLE_ID_TYPES) -> bool:
        """Whether the clusters of i and j each hold a value of one of `types` and share none:
        two phones of their own, or one a phone and the other a mailbox. Not a conflict in general
        (people change numbers, and show a phone at the till and a mailbox online), but two
        namesakes look exactly like that, so it outweighs evidence as weak as a name and a province."""
        a, b = self.find(i), self.find(j)
        if a == b:
            return False
        self._aggregate(a)
        self._aggregate(b)
        va, vb = self.values.get(a, {}), self.values.get(b, {})
        held_a = {(t, v) for t in types for v in va.get(t, ())}
        held_b = {(t, v) for t in types for v in vb.get(t, ())}
        return bool(held_a and held_b and not (held_a & held_b))

    def union(self, i: N, j: N, birth_dates: bool = True) -> Refusal[N] | None:
        """Merge the clusters of i and j unless protection refuses; None when merged (or already one).

        `birth_dates=False` waives the birth-date conflict (never the national-id one) for a pair
        whose scored evidence already priced the disagreement and still overwhelms it."""
        a, b = self.find(i), self.find(j)
        if a == b:
            return None
        refused = self.refusal(a, b, birth_dates)
        if refused is not None:
            return Refusal(i, j, refused.reason, refused.detail)
        self._link(a, b)
        return None

    def _link(self, a: N, b: N) -> None:
        if not self._before(a, b):
            a, b = b, a
        self.parent[b] = a
        if b in self.birth_dates:
            self.birth_dates.setdefault(a, set()).update(self.birth_dates.pop(b))
        if b in self.values:
            mine = self.values.setdefault(a, {})
            for t, vs in self.values.pop(b).items():
                mine.setdefault(t, set()).update(vs)
        if b in self.cannot:
            self.cannot.setdefault(a, set()).update(self.cannot.pop(b))

    def same(self, i: N, j: N) -> bool:
        return self.find(i) == self.find(j)


class GuardedClusters(Guard[int]):
    """The bulk engine's guard: nodes are indices into time-ordered records; the earliest names a cluster."""

    def __init__(self, records: Sequence[MatchRecord]) -> None:
        super().__init__()
        self.records = records
        # Records merged in bulk (resolver/stitching.py), sorted by their root.
        self._bulk_roots = np.empty(0, dtype=np.int64)
        self._bulk_members = np.empty(0, dtype=np.int64)
        # For each record, the root it was merged into in bulk (itself if it was not). Kept as an
        # array, not in `parent`: half a million dict entries and their int objects were 60 MB at a
        # million records. A bulk root is never itself moved, so `find` hops here once, then walks
        # `parent`, which holds only the unions made one at a time.
        self._bulk_parent: np.ndarray | None = None

    def bulk_merge(self, labels: np.ndarray, merge: np.ndarray) -> None:
        """Merge whole components at once (labels = smallest record index of each component), for
        the records where `merge` is set: components stitching proved no union of could be refused.
        Members are kept sorted by root, so a root's facts are read by binary search when needed.
        Called once, before any union: the merged records have no entry in `parent`."""
        moved = np.flatnonzero(merge & (labels != np.arange(len(labels))))
        roots = labels[moved]
        self._bulk_parent = np.arange(len(labels), dtype=np.int64)
        self._bulk_parent[moved] = roots
        order = np.argsort(roots, kind="stable")
        self._bulk_roots, self._bulk_members = roots[order], moved[order]

    def find(self, i: int) -> int:
        if self._bulk_parent is not None:
            i = int(self._bulk_parent[i])
        return super().find(i)

    def roots(self) -> np.ndarray:
        """`find(i)` of every record at once: pointer jumping over the parent array in NumPy, rather
        than a million Python calls. (No path compression; the roots are the same.)"""
        n = len(self.records)
        parent = np.arange(n, dtype=np.int64) if self._bulk_parent is None else self._bulk_parent.copy()
        if self.parent:
            parent[np.fromiter(self.parent.keys(), dtype=np.int64, count=len(self.parent))] = np.fromiter(
                self.parent.values(), dtype=np.int64, count=len(self.parent))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                return parent
            parent = jumped

    def _facts(self, node: int) -> tuple[Iterable[str], Iterable[tuple[str, str]]]:
        lo, hi = np.searchsorted(self._bulk_roots, [node, node + 1])
        rs = [self.records[i] for i in (node, *self._bulk_members[lo:hi].tolist())]
        return [r.birth_date for r in rs if r.birth_date], [ident for r in rs for ident in r.identifiers]

    def _before(self, a: int, b: int) -> bool:
        return a < b


class CustomerGuard(Guard[str]):
    """The stream's guard: nodes are customer ids, with facts read from the store (`facts`) and
    the survivor rule of resolver/plan.py (`rank`: oldest first)."""

    def __init__(self, facts: Mapping[str, tuple[Iterable[str], Iterable[tuple[str, str]]]],
                 rank: Callable[[str], Any]) -> None:
        super().__init__()
        self.facts = facts
        self.rank = rank

    def _facts(self, node: str) -> tuple[Iterable[str], Iterable[tuple[str, str]]]:
        return self.facts.get(node, ((), ()))

    def _before(self, a: str, b: str) -> bool:
        return bool(self.rank(a) <= self.rank(b))


def shared_identifiers(records: Sequence[MatchRecord], holders: dict[tuple[str, str], list[int]],
                       ) -> dict[tuple[str, str], str]:
    """Phones and emails held by clearly different people, with the reason (evidence for review)."""
    shared: dict[tuple[str, str], str] = {}
    compatible: dict[tuple[tuple[str, str, str], tuple[str, str, str]], bool] = {}
    for key, idx in holders.items():
        if key[0] not in SHAREABLE_ID_TYPES or len(idx) < 2:
            continue
        holding = [records[i] for i in idx]
        distinct = _distinct_people(holding, compatible)
        if len(distinct) >= 2:
            shared[key] = "held by different people: " + " / ".join(p.full_name for p in distinct)
            continue
        dates = {r.birth_date for r in holding if r.birth_date}
        first_date = min(dates, default="")
        if len(dates) >= 2 and not all(birth_dates_compatible(first_date, d) for d in dates):
            shared[key] = "held by people with different birth dates"
    return shared


def _distinct_people(holding: list[MatchRecord],
                     compatible: dict[tuple[tuple[str, str, str], tuple[str, str, str]], bool]) -> list[MatchRecord]:
    """The first two named records that cannot be one person (two are enough to call a value shared).

    Whether two records can be one person depends on their names only, so a record whose name an
    earlier one already wrote is skipped (it is compatible with that one, or with whoever that one
    was), and each pair of names is judged once per run (`compatible`): at a million records the
    same few names meet again on thousands of phones."""
    out: list[MatchRecord] = []
    out_names: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for r in holding:
        if not r.given:
            continue
        name = (r.family, r.middle, r.given)
        if name in seen:
            continue
        seen.add(name)
        for p, p_name in zip(out, out_names, strict=True):
            verdict = compatible.get((name, p_name))
            if verdict is None:
                verdict = compatible[(name, p_name)] = names_compatible(r, p)
            if verdict:
                break
        else:
            out.append(r)
            out_names.append(name)
            if len(out) == 2:
                break
    return out
