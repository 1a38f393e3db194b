"""The pair work in a worker process (resolver/pair_scoring.py) gives the engine's one-process result.

Whatever runs where, the same records must give the same clusters, links (with weights and field
evidence), review pairs and shared identifiers: `workers=2` (forced on small sets with
`parallel_min_records=0`) against `workers=1`, on data full of shared phones, birth-date and
national-id conflicts, limit breakers, operator decisions, values too long for the edit matrix
and non-ASCII text.
"""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from resolver import pair_scoring
from resolver.comparisons import RecordColumns
from resolver.engine import BulkResolution, EngineConfig, _pair_work, resolve_records
from resolver.features import MatchRecord
from tests.unit.test_engine import background, record

ONE = EngineConfig(workers=1)
TWO = EngineConfig(workers=2, parallel_min_records=0)


def outcome(result: BulkResolution) -> tuple[object, ...]:
    return (result.cluster_of, result.links, result.review, result.shared, result.stats.get("scored_pairs"),
            result.params.as_json() if result.params else None)


def crowded(seed: int, n: int = 500) -> list[MatchRecord]:
    """Shared phones and emails, conflicting birth dates, a few national ids, groups of Zalo ids,
    typo'd names, long and non-ASCII emails: every path of stitching and scoring."""
    rng = random.Random(seed)
    phones = [f"+84909{k:06d}" for k in range(60)]
    emails = [f"k{k}@gmail.com" for k in range(40)] + ["rất.dài." + "x" * 45 + "@example.vn", "nul\x00@x.vn"]
    out = []
    for i in range(n):
        ids = [("phone", rng.choice(phones))] if rng.random() < 0.8 else []
        if rng.random() < 0.5:
            ids.append(("email", rng.choice(emails)))
        if rng.random() < 0.05:
            ids.append(("national_id", f"0010900000{rng.randrange(3)}"))
        if rng.random() < 0.4:
            ids = [("zalo", f"oa1:{i // 4}")] if rng.random() < 0.7 else ids + [("zalo", f"oa1:{i // 4}")]
        out.append(MatchRecord(
            key=f"r|{i}", event_id=f"e{i}", occurred_at=f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}+00:00",
            identifiers=tuple(dict.fromkeys(ids)), family=rng.choice(["nguyen", "tran", "le", "nguyne", ""]),
            middle=rng.choice(["van", "thi", ""]), given=rng.choice(["lan", "nam", "hoa", "hao", ""]),
            birth_date=rng.choice(["", "", "1990-01-01", "1990-01-10", "1985-05-05"]),
            province=rng.choice(["", "01", "79"]), street=rng.choice(["", "12 le loi", "12 le loj", "đường số 3"])))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_a_worker_process_gives_the_one_process_result(seed: int) -> None:
    records = crowded(seed) + background(300, seed)
    assert outcome(resolve_records(records, TWO)) == outcome(resolve_records(records, ONE))
    assert resolve_records(records, TWO).stats["workers"] == 2


def test_with_given_parameters_and_review_decisions_too() -> None:
    records = crowded(4)
    trained = resolve_records(records, ONE).params
    decisions = {("r|1", "r|2"): True, ("r|3", "r|4"): False, ("r|5", "r|9"): False}
    one = resolve_records(records, ONE, params=trained, decisions=decisions)
    two = resolve_records(records, TWO, params=trained, decisions=decisions)
    assert outcome(two) == outcome(one)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_inputs_with_a_worker(n: int) -> None:
    phone = ("phone", "+84901234567")
    records = [record(f"t|{i}", t=f"2026-01-0{i + 1}T00:00:00+00:00", ids=(phone,), name="Lê Văn Nam")
               for i in range(n)]
    assert outcome(resolve_records(records, TWO)) == outcome(resolve_records(records, ONE))


def test_scoring_in_chunks_gives_the_numbers_of_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    records = crowded(5) + background(200, 5)
    whole = resolve_records(records, ONE)
    monkeypatch.setattr(pair_scoring, "SCORE_CHUNK", 7)
    assert outcome(resolve_records(records, ONE)) == outcome(whole)


def test_columns_survive_the_trip_to_the_worker() -> None:
    records = crowded(6, 120)
    cols = RecordColumns(records)
    back = pickle.loads(pickle.dumps(cols, protocol=pickle.HIGHEST_PROTOCOL))
    for name in cols.columns:
        assert back[name].distinct.tolist() == cols[name].distinct.tolist(), name  # "", NUL, non-ASCII kept
        assert np.array_equal(back[name].codes, cols[name].codes), name
        assert np.array_equal(back[name].frequency, cols[name].frequency), name
    assert np.array_equal(back.birth_date_swapped, cols.birth_date_swapped)


def test_a_worker_that_fails_says_so() -> None:
    with pair_scoring.PairWorker() as worker:
        worker.submit(None, _pair_work(ONE), None)  # type: ignore[arg-type]  # nothing to score: it fails
        with pytest.raises(pair_scoring.PairWorkerFailed, match="AttributeError"):
            worker.result()


def test_a_worker_never_asked_is_ended() -> None:
    worker = pair_scoring.PairWorker()
    process = worker._process
    worker.close()
    assert process is not None and process.returncode is not None
