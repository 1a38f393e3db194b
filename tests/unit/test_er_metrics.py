"""The benchmark clustering metrics (bench/er_metrics.py) on examples computed by hand."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest

from bench.er_metrics import bcubed, case_outcome, pair_counts, pairwise

# Truth: Lan has three records, Bình two, Cường one. The prediction keeps two of Lan's together, puts
# her third with both of Bình's, and Cường alone.
TRUTH = {"lan-1": "lan", "lan-2": "lan", "lan-3": "lan", "binh-1": "binh", "binh-2": "binh", "cuong-1": "cuong"}
PRED = {"lan-1": "k1", "lan-2": "k1", "lan-3": "k2", "binh-1": "k2", "binh-2": "k2", "cuong-1": "k3"}


def test_pairwise_by_hand() -> None:
    # true pairs: C(3,2) + C(2,2) = 4; predicted: C(2,2) + C(3,2) = 4; both: (lan-1, lan-2), (binh-1, binh-2).
    counts = pair_counts(PRED, TRUTH)
    assert (counts.true_positive, counts.predicted, counts.actual) == (2, 4, 4)
    assert (counts.false_positive, counts.false_negative) == (2, 2)
    assert pairwise(PRED, TRUTH).as_dict() == {"precision": 0.5, "recall": 0.5, "f1": 0.5}


def test_bcubed_by_hand() -> None:
    # precision per record: 1, 1, 1/3, 2/3, 2/3, 1 -> 14/3 / 6 = 7/9; recall: 2/3, 2/3, 1/3, 1, 1, 1 -> 7/9.
    scores = bcubed(PRED, TRUTH)
    assert scores.precision == pytest.approx(7 / 9) and scores.recall == pytest.approx(7 / 9)
    assert scores.f1 == pytest.approx(7 / 9)


def test_all_singletons_link_nothing_wrong_and_find_nothing() -> None:
    singletons = {r: r for r in TRUTH}
    assert pairwise(singletons, TRUTH).as_dict() == {"precision": 1.0, "recall": 0.0, "f1": 0.0}
    scores = bcubed(singletons, TRUTH)
    # recall: Lan's records 1/3 each, Bình's 1/2 each, Cường 1 -> (1 + 1 + 1) / 6 = 1/2
    assert (scores.precision, scores.recall) == (1.0, pytest.approx(0.5))


def test_one_giant_cluster_is_punished_quadratically_by_pairwise_and_linearly_by_bcubed() -> None:
    giant = {r: "all" for r in TRUTH}
    p = pairwise(giant, TRUTH)
    assert (p.precision, p.recall) == (pytest.approx(4 / 15), 1.0)  # 4 true pairs of C(6,2) = 15
    b = bcubed(giant, TRUTH)
    # precision: Lan's records 3/6, Bình's 2/6, Cường's 1/6 -> (3*3 + 2*2 + 1) / 36 = 14/36
    assert (b.precision, b.recall) == (pytest.approx(14 / 36), 1.0)


def test_perfect_prediction_with_other_cluster_names() -> None:
    renamed = {r: f"c-{e}" for r, e in TRUTH.items()}
    assert pairwise(renamed, TRUTH).f1 == 1.0 and bcubed(renamed, TRUTH).f1 == 1.0


def test_records_must_match() -> None:
    with pytest.raises(ValueError, match="different records"):
        pairwise({"lan-1": "k1"}, TRUTH)


def test_pair_counts_agree_with_enumerating_pairs() -> None:
    rng = random.Random(7)
    records = [f"r{i}" for i in range(60)]
    truth = {r: rng.randrange(15) for r in records}
    pred = {r: rng.randrange(12) for r in records}
    pairs = list(itertools.combinations(records, 2))
    same_pred = {p for p in pairs if pred[p[0]] == pred[p[1]]}
    same_true = {p for p in pairs if truth[p[0]] == truth[p[1]]}
    counts = pair_counts(pred, truth)
    assert (counts.true_positive, counts.predicted, counts.actual) == (
        len(same_pred & same_true), len(same_pred), len(same_true))
    # B-cubed by definition, record by record, in exact fractions
    precision = sum(Fraction(sum(1 for s in records if pred[s] == pred[r] and truth[s] == truth[r]),
                             sum(1 for s in records if pred[s] == pred[r])) for r in records) / len(records)
    assert bcubed(pred, truth).precision == pytest.approx(float(precision))


@pytest.mark.parametrize(("pred", "verdict", "clusters"), [
    ({"a": 1, "b": 1, "c": 2}, "correct", 2),
    ({"a": 1, "b": 1, "c": 1}, "over-merged", 1),
    ({"a": 1, "b": 3, "c": 2}, "split", 3),
    ({"a": 1, "b": 2, "c": 2}, "over-merged and split", 2),
], ids=["correct", "over-merged", "split", "both"])
def test_case_outcome(pred: dict[str, int], verdict: str, clusters: int) -> None:
    # a and b are one household member's two records; c is her husband sharing the phone
    truth = {"a": "vo", "b": "vo", "c": "chong"}
    outcome = case_outcome(["a", "b", "c"], pred, truth)
    assert (outcome.verdict, outcome.clusters, outcome.entities) == (verdict, clusters, 2)
