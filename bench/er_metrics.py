"""Clustering quality for the entity-resolution benchmarks: pairwise and B-cubed precision/recall/F1.

The benchmarks (bench/er_febrl.py, er_vn.py, er_scale.py) compare a predicted cluster id per record
with the true entity id per record. Both measures are computed from the contingency counts
(predicted cluster x true entity), so a million records cost one pass and no pair enumeration:

* pairwise: a "pair" is two records in one cluster. Precision = true pairs found / pairs predicted,
  recall = true pairs found / true pairs. Large clusters dominate (n^2), which is what an
  over-merge costs a business (every pair in a giant cluster is a wrong link).
* B-cubed (Bagga & Baldwin 1998): per record, the share of its predicted cluster that is truly its
  entity (precision) and the share of its entity that landed in its cluster (recall), averaged over
  records. Every record weighs the same, so small clusters count.

Conventions: with no predicted pairs pairwise precision is 1.0 (nothing wrongly linked); with no true
pairs recall is 1.0. Pure standard library: the unit tests run in the main venv.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    f1: float

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        return {k: round(v, digits) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class PairCounts:
    """The pair counts behind pairwise scores: true positives, predicted pairs and true pairs."""

    true_positive: int
    predicted: int
    actual: int

    @property
    def false_positive(self) -> int:
        return self.predicted - self.true_positive

    @property
    def false_negative(self) -> int:
        return self.actual - self.true_positive

    def scores(self) -> Scores:
        precision = self.true_positive / self.predicted if self.predicted else 1.0
        recall = self.true_positive / self.actual if self.actual else 1.0
        return Scores(precision, recall, _f1(precision, recall))


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _check(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> None:
    if predicted.keys() != truth.keys():
        missing = next(iter(set(truth) - set(predicted)), None)
        extra = next(iter(set(predicted) - set(truth)), None)
        raise ValueError(f"predicted and true clusterings cover different records (e.g. missing {missing!r}, "
                         f"extra {extra!r})")


def pair_counts(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> PairCounts:
    """Pair counts of a predicted clustering (record -> cluster id) against the truth (record -> entity)."""
    _check(predicted, truth)
    cells = Counter((predicted[r], truth[r]) for r in truth)
    return PairCounts(
        true_positive=sum(_pairs(n) for n in cells.values()),
        predicted=sum(_pairs(n) for n in Counter(predicted.values()).values()),
        actual=sum(_pairs(n) for n in Counter(truth.values()).values()),
    )


def pairwise(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> Scores:
    return pair_counts(predicted, truth).scores()


def bcubed(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> Scores:
    """B-cubed precision/recall/F1, averaged over records."""
    _check(predicted, truth)
    if not truth:
        return Scores(1.0, 1.0, 1.0)
    cells = Counter((predicted[r], truth[r]) for r in truth)
    cluster_size = Counter(predicted.values())
    entity_size = Counter(truth.values())
    # Each of the n records in cell (c, e) has precision n/|c| and recall n/|e|.
    precision = sum(n * n / cluster_size[c] for (c, _), n in cells.items()) / len(truth)
    recall = sum(n * n / entity_size[e] for (_, e), n in cells.items()) / len(truth)
    return Scores(precision, recall, _f1(precision, recall))


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """How a predicted clustering treated a hand-built group of records with known entities."""

    over_merged: bool  # records of different entities share a predicted cluster
    split: bool        # records of one entity are in several predicted clusters
    clusters: int      # predicted clusters among the case's records
    entities: int      # true entities among them

    @property
    def verdict(self) -> str:
        if self.over_merged and self.split:
            return "over-merged and split"
        return "over-merged" if self.over_merged else "split" if self.split else "correct"


def case_outcome(records: Iterable[Hashable], predicted: Mapping[Hashable, Hashable],
                 truth: Mapping[Hashable, Hashable]) -> CaseOutcome:
    """Over-merge and split of the given records only (a hard case of bench/er_vn.py)."""
    records = list(records)
    entities_of: dict[Hashable, set[Hashable]] = {}
    clusters_of: dict[Hashable, set[Hashable]] = {}
    for r in records:
        entities_of.setdefault(predicted[r], set()).add(truth[r])
        clusters_of.setdefault(truth[r], set()).add(predicted[r])
    return CaseOutcome(
        over_merged=any(len(e) > 1 for e in entities_of.values()),
        split=any(len(c) > 1 for c in clusters_of.values()),
        clusters=len(entities_of),
        entities=len(clusters_of),
    )
