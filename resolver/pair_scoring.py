"""The probabilistic half's pair work — blocking, training, scoring — optionally in a worker process.

Blocking, training (u from random pairs, m by EM) and scoring read only the columns of the records
(`RecordColumns`: NumPy codes and the distinct values), never the stitching's union-find: which
candidate pairs stitching has already joined is decided afterwards (`ScoredPairs.apart`). A pair's
levels and weight depend on that pair alone, so scoring every candidate and dropping the joined
ones afterwards gives exactly the numbers of scoring only the pairs left apart. The pair work is
therefore independent of stitching, and on a two-core machine it runs in a second process while
the engine stitches (stitching is Python-bound; the pair work is mostly NumPy and rapidfuzz).

Why a fresh interpreter (`python -m resolver.pair_scoring`) and not a fork of the engine: CPython
writes a reference count into every object it touches, so a forked worker reading the distinct
values, and the engine touching its records while it stitches, turn the shared pages into private
copies; measured at a million records, a fork held 875 MB of private memory, nearly the whole
input. A fresh worker holds what it is sent (the columns, ~150 MB at a million records) and its
own work. It is started when the engine starts, so its imports overlap the engine's first stages.

Only what the decisions can use comes back: every candidate pair (to drop the joined ones and
count the rest) and, for pairs whose probability reaches `keep_from` (the lower of the review and
merge thresholds), their levels and weights. Below that a pair is neither merged nor reviewed.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from resolver import comparisons
from resolver.blocking import BlockingStats, candidate_pairs
from resolver.comparisons import CORROBORATING, DERIVED, FIELDS, IDENTIFYING, RecordColumns
from resolver.fellegi_sunter import MatchParameters, probability, score_parts, train


@dataclass(frozen=True, slots=True)
class PairWork:
    """What the pair work needs besides the columns (the engine's configuration, in short)."""

    rules: tuple[tuple[str, ...], ...]
    max_block: int
    training_pairs_per_rule: int
    u_pairs: int
    seed: int
    expected_matches_per_record: float
    keep_from: float  # pairs with a match probability below this come back without levels or weights


@dataclass(slots=True)
class ScoredPairs:
    """Every candidate pair (left[k], right[k]), left < right, in pair-code order; and the kept ones,
    kept[j] being the index of a pair whose probability reached `PairWork.keep_from`, in that order."""

    left: np.ndarray
    right: np.ndarray
    kept: np.ndarray
    levels: np.ndarray  # int8, kept pairs x fields
    match_weight: np.ndarray  # per kept pair
    identifying_bits: np.ndarray  # agreement bits of fields that identify a person (resolver/comparisons.py)
    corroborating_bits: np.ndarray  # the same, with the province: what may corroborate a rare name
    probability: np.ndarray
    params: MatchParameters
    blocking: BlockingStats
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of blocking, training, scoring
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # the same, in CPU time (all threads)
    memory_mb: dict[str, int] = field(default_factory=dict)  # a worker's peak resident set, when there was one

    def apart(self, roots: np.ndarray) -> tuple[int, ScoredPairs]:
        """How many candidate pairs join records of different clusters (`roots`: cluster root per
        record); and the kept pairs among them, in the same order."""
        apart = roots[self.left] != roots[self.right]
        keep = apart[self.kept]
        kept = ScoredPairs(self.left, self.right, self.kept[keep], self.levels[keep], self.match_weight[keep],
                           self.identifying_bits[keep], self.corroborating_bits[keep], self.probability[keep],
                           self.params, self.blocking,
                           self.seconds, self.cpu_seconds, self.memory_mb)
        return int(apart.sum()), kept

    def pair(self, j: int | np.integer) -> tuple[int, int]:
        """The records of kept pair j."""
        k = self.kept[j]
        return int(self.left[k]), int(self.right[k])


SCORE_CHUNK = 262_144  # pairs scored at a time: bounds the comparison's temporary arrays in the worker


def score_candidates(cols: RecordColumns, work: PairWork, params: MatchParameters | None,
                     roots: np.ndarray | None = None) -> ScoredPairs:
    """Block, train (unless `params` are given) and score every candidate pair; with `roots` (the
    cluster root of each record, when stitching is already done: in-process), only the candidate
    pairs of different clusters are kept and scored.

    Pairs are scored a chunk at a time (a pair's levels and weight do not depend on the others in
    its chunk) and only the kept ones are held, so the worker's memory does not grow with the
    full pairs x fields matrix."""
    laps = _Laps()
    left, right, blocking, per_rule = candidate_pairs(cols, work.rules, work.max_block)
    if cols.size < 2**31:  # record indices fit: half the memory here and on the way back
        left, right = left.astype(np.int32), right.astype(np.int32)
    for name in DERIVED:  # derived keys: let their strings go before training's allocations (one the
        cols.columns.pop(name, None)  # comparison reads, the house number, is built again when read)
    laps.lap("blocking")
    if params is None:
        params = _train(cols, per_rule, work)
        laps.lap("training")
    del per_rule
    if roots is not None:
        apart = roots[left] != roots[right]
        left, right = left[apart], right[apart]
    parts: list[tuple[np.ndarray, ...]] = [  # kept index, levels, weight, the two bits, probability
        (np.empty(0, dtype=np.int64), np.empty((0, len(FIELDS)), dtype=np.int8), np.empty(0), np.empty(0),
         np.empty(0), np.empty(0))]
    for start in range(0, len(left), SCORE_CHUNK):
        stop = start + SCORE_CHUNK
        levels, match_weight, (identifying, corroborating) = score_parts(
            cols, params, left[start:stop], right[start:stop], (IDENTIFYING, CORROBORATING))
        prob = probability(match_weight)
        keep = np.flatnonzero(prob >= work.keep_from)
        parts.append((keep + start, levels[keep], match_weight[keep], identifying[keep], corroborating[keep],
                      prob[keep]))
    kept, levels, match_weight, identifying, corroborating, prob = (
        np.concatenate([p[i] for p in parts]) for i in range(6))
    laps.lap("scoring")
    return ScoredPairs(left, right, kept, levels, match_weight, identifying, corroborating, prob, params, blocking,
                       laps.wall, laps.cpu)


def _train(cols: RecordColumns, per_rule: dict[tuple[str, ...], np.ndarray], work: PairWork) -> MatchParameters:
    rng = np.random.default_rng(work.seed)
    sessions = []
    n = max(1, cols.size)
    for rule, codes in per_rule.items():
        if len(codes) > work.training_pairs_per_rule:  # sorted first: the sample must not depend on input order
            codes = rng.choice(np.sort(codes), size=work.training_pairs_per_rule, replace=False)
        sessions.append((rule, codes // n, codes % n))
    return train(cols, sessions, work.expected_matches_per_record, work.u_pairs, work.seed)


class PairWorkerFailed(RuntimeError):
    """The pair-scoring worker ended without a result (its exit code and error say why)."""

    def __init__(self, exitcode: int | None, error: object) -> None:
        super().__init__(f"pair-scoring worker failed (exit code {exitcode}): {error}")
        self.exitcode = exitcode


class PairWorker:
    """A worker process for one run's pair work: started early, sent the columns once, read once.

    `close()` (or leaving the `with` block) ends a worker that was never asked or not yet read."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[1])  # the folder holding this `resolver` package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "resolver.pair_scoring"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def submit(self, cols: RecordColumns, work: PairWork, params: MatchParameters | None) -> None:
        process = self._running()
        assert process.stdin is not None
        try:
            pickle.dump((cols, work, params), process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.close()
        except BrokenPipeError as error:  # the worker died before reading
            raise PairWorkerFailed(process.wait(), error) from error

    def result(self) -> ScoredPairs:
        process = self._running()
        assert process.stdout is not None
        try:
            outcome = pickle.load(process.stdout)
        except (EOFError, pickle.UnpicklingError) as error:  # killed (out of memory?) before answering
            outcome = error
        exitcode = process.wait()
        process.stdout.close()
        self._process = None
        if not isinstance(outcome, ScoredPairs):
            raise PairWorkerFailed(exitcode, outcome)
        # This process's peak so far covers the worker's whole life: added to the worker's peak, a
        # bound on what both held at once (afterwards there is one process again).
        outcome.memory_mb.update({f"engine_{k}_meanwhile": v for k, v in _peak_memory_mb().items()})
        return outcome

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
            self._process = None

    def __enter__(self) -> PairWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("the pair worker was already read or closed")
        return self._process


def _serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The worker's side: columns in, scored pairs out (an error comes back as its text)."""
    gc.disable()  # a short-lived process building no reference cycles: no collector passes over big inputs
    comparisons.CPDIST_WORKERS = 1  # one thread: the engine stitches on the other core meanwhile
    cols, work, params = pickle.load(source)
    outcome: ScoredPairs | str
    try:
        outcome = score_candidates(cols, work, params)
        outcome.memory_mb = _peak_memory_mb()
    except Exception as error:  # sent back and raised in the engine, which has the context
        outcome = f"{type(error).__name__}: {error}"
    pickle.dump(outcome, sink, protocol=pickle.HIGHEST_PROTOCOL)
    sink.flush()


def _peak_memory_mb() -> dict[str, int]:
    """This process's peak resident set (MB), where Linux tells it: the engine adds it to its own."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return {"peak_rss": int(line.split()[1]) // 1024}
    except OSError:  # not Linux: nothing to report
        pass
    return {}


class _Laps:
    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._last, self._last_cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.wall[stage] = round(now - self._last, 3)
        self.cpu[stage] = round(cpu - self._last_cpu, 3)
        self._last, self._last_cpu = now, cpu


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


if __name__ == "__main__":
    # Served by the imported module, not this `__main__` copy, so that what is pickled back names
    # resolver.pair_scoring's classes, which the engine can load.
    from resolver import pair_scoring

    pair_scoring._serve(sys.stdin.buffer, sys.stdout.buffer)
