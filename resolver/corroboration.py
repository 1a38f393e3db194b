"""A rare name corroborated by a weak field: the engine's second, guarded way to merge a scored pair.

The first way (resolver/engine.py) needs 4 bits of agreement from fields that identify a person
(birth date, street, phone, email, id number). Many true duplicates have none: a POS customer who
left no phone, a web form with only a mailbox, both with the same name and province. For a common
name that is rightly not enough — "Nguyễn Văn Anh" in TP.HCM is thousands of people, and the pair's
match probability says so. For a rare name (term-frequency adjusted family, middle and given name:
"Lâm Diệu Oanh") the name and a province together can make the pair as sure as an identifier
would, and Fellegi–Sunter prices that correctly *provided* nothing contradicts it.

So a pair that is sure (probability >= the merge threshold) but only weakly corroborated merges
only when:

1. something outside the name agrees by at least `min_bits` (a province that holds a quarter of the
   customers earns 2 bits; the sex earns none here, the name already tells it);
2. no field outside the name disagrees (another phone, another mailbox, another birth date, another
   street): a namesake in the same province is exactly the pair that agrees on name and place and
   differs on everything that identifies;
3. the two clusters do not each hold a phone or a mailbox of their own (none shared): the pair may
   be quiet on the phone while the clusters it joins are two people with two numbers, or one with
   a phone and the other with a mailbox — two namesakes look exactly like one person who gave a
   phone at the till and a mailbox online, and a name and a province cannot tell them apart;
4. the match is unambiguous: the clusters the two records are sure matches of (by name and place)
   are all compatible with one another. When a record with only "Lâm Diệu Oanh, Long An" is an
   equally good match for two clusters with different phones, it is the namesakes' problem, not
   evidence; it goes to review.

A pair refused here goes to review (`ambiguous` or `name_only`), never lost. A name alone — with
nothing outside it agreeing — never merges, however rare (condition 1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations

import numpy as np

from resolver.comparisons import NON_NAME
from resolver.protection import GuardedClusters

_OUTSIDE_NAME = np.flatnonzero(np.asarray(NON_NAME))
DISAGREE = 1  # the comparison level "values present on both sides and different"


def weakly_corroborated(levels: np.ndarray, sure: np.ndarray, identified: np.ndarray,
                        corroborating_bits: np.ndarray, min_bits: float) -> np.ndarray:
    """Indices of the pairs that may merge on a corroborated name (conditions 1 and 2): sure, not
    already mergeable on identifying fields, corroborated by `min_bits`, contradicted by nothing."""
    contradicted = (levels[:, _OUTSIDE_NAME] == DISAGREE).any(axis=1)
    return np.flatnonzero(sure & ~identified & (corroborating_bits >= min_bits) & ~contradicted)


def sure_partners(left: np.ndarray, right: np.ndarray, sure: np.ndarray, of: Iterable[int],
                  ) -> dict[int, list[int]]:
    """For the records in `of`, the records they are sure matches of (either side of a sure pair)."""
    wanted = set(of)
    partners: dict[int, list[int]] = defaultdict(list)
    for i, j in zip(left[sure].tolist(), right[sure].tolist(), strict=True):
        if i in wanted:
            partners[i].append(j)
        if j in wanted:
            partners[j].append(i)
    return partners


def refusal_reason(guard: GuardedClusters, i: int, j: int, partners: dict[int, list[int]]) -> str | None:
    """Why the corroborated pair (i, j) must not merge now (conditions 3 and 4), or None."""
    if guard.distinct_holders(i, j):
        return "ambiguous"
    roots = {guard.find(x) for x in (i, j, *partners.get(i, ()), *partners.get(j, ()))}
    if len(roots) > 2:
        for a, b in combinations(sorted(roots), 2):
            if guard.distinct_holders(a, b) or guard.refusal(a, b) is not None:
                return "ambiguous"
    return None
