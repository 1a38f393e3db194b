"""Fellegi–Sunter match weights: how much each field's agreement says about "same person".

For a field at level l, m = P(level l | same person) and u = P(level l | different people); the
pair's match weight is the sum over fields of log2(m / u) (a missing value adds 0), plus a prior,
log2 of the odds that two records picked at random are one person.

* u is measured directly: the level frequencies over random record pairs, which are almost all
  different people.
* m is estimated from the data with expectation–maximisation over blocked pairs, one EM session
  per training rule. A field used by a session's rule always agrees inside it, so that session
  learns nothing about it: each field's m comes from the sessions that did not block on it (the
  approach Splink documents). A session whose EM expects fewer than MIN_SESSION_MATCHES matches is
  dropped (with almost no duplicates EM fits noise and m drifts towards u), and a field whose
  learnt m makes exact agreement no likelier among matches than among non-matches is not credible.
  Such fields keep DEFAULT_M, the documented fallback below.
* Term frequency: agreeing on "Nguyễn" (about 38% of Vietnamese) is weak evidence, agreeing on
  "Khổng" strong. For the exact level of family, middle and given names and of the province, u is
  the value's own frequency instead of the average (Winkler's adjustment), so a common name (Văn,
  Thị) or a crowded province (TP.HCM) earns little and a rare one much more.
* Prior: by default each record is expected to have about one other record of the same person
  among all the others, so the prior odds are 1 : (n - 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from resolver.comparisons import FIELDS, LEVELS, TERM_FREQUENCY_FIELDS, RecordColumns, compare

# Fallback m per field when no EM session could estimate it: most of the mass on the top level.
DEFAULT_M_TOP = 0.90
MIN_SESSION_MATCHES = 10.0  # an EM session expecting fewer matches than this teaches nothing about m
M_FLOOR = 1e-4
U_FLOOR = 1e-6


def _levels_count(field_name: str) -> int:
    return len(LEVELS[field_name]) + 2  # 0 missing, 1 disagree, 2.. agreement levels


def default_m(field_name: str) -> np.ndarray:
    k = _levels_count(field_name)
    m = np.zeros(k)
    m[k - 1] = DEFAULT_M_TOP
    rest = (1.0 - DEFAULT_M_TOP) / (k - 2)
    m[1:k - 1] = rest
    return m


@dataclass(slots=True)
class MatchParameters:
    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    prior_log2: float
    trained: dict[str, str] = field(default_factory=dict)  # field -> where its m came from

    def weights(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for f in FIELDS:
            w = np.log2(np.maximum(self.m[f], M_FLOOR) / np.maximum(self.u[f], U_FLOOR))
            w[0] = 0.0
            out[f] = w
        return out

    def as_json(self) -> dict[str, Any]:
        return {"prior_log2": self.prior_log2, "trained": self.trained,
                "m": {f: [round(float(x), 6) for x in self.m[f]] for f in FIELDS},
                "u": {f: [round(float(x), 8) for x in self.u[f]] for f in FIELDS}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MatchParameters:
        return cls(m={f: np.asarray(data["m"][f]) for f in FIELDS}, u={f: np.asarray(data["u"][f]) for f in FIELDS},
                   prior_log2=float(data["prior_log2"]), trained=dict(data.get("trained", {})))


def estimate_u(cols: RecordColumns, pairs: int, rng: np.random.Generator,
               known_same: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Level frequencies over random pairs, among pairs where both values are present.

    `known_same` (a cluster label per record, e.g. after identifier stitching) drops the random
    pairs already known to be one person: u is P(level | different people), and in a small set
    with many duplicates those pairs are most of the random pairs that agree on a birth date or a
    street (6,700 records, 3,000 of them duplicates: a birth-date u 6x too high, 2.6 bits lost)."""
    n = cols.size
    left = rng.integers(0, n, size=pairs)
    right = rng.integers(0, n, size=pairs)
    keep = left != right
    if known_same is not None:
        keep &= known_same[left] != known_same[right]
    levels = compare(cols, left[keep], right[keep])
    u: dict[str, np.ndarray] = {}
    for f, name in enumerate(FIELDS):
        counts = np.bincount(levels[:, f], minlength=_levels_count(name)).astype(np.float64)
        counts[0] = 0.0
        total = counts.sum()
        # A level never seen among random pairs gets half a pair's worth, not zero (no infinite weights).
        u[name] = np.where(counts > 0, counts, 0.5) / max(total, 1.0)
        u[name][0] = 0.0
    return u


def estimate_m(levels: np.ndarray, u: dict[str, np.ndarray], fixed: set[str], iterations: int = 25,
               ) -> tuple[dict[str, np.ndarray], float]:
    """EM over one training session's pairs; fields in `fixed` (the session's blocking fields) are skipped."""
    active = [f for f, name in enumerate(FIELDS) if name not in fixed]
    # Distinct level patterns with their counts: EM runs over a few hundred patterns, not every pair.
    # Rows are packed into one int64 (levels < 8, 3 bits each) so the grouping is a plain 1-D unique.
    packed = np.zeros(len(levels), dtype=np.int64)
    for f in active:
        packed = (packed << 3) | levels[:, f].astype(np.int64)
    codes, first, counts = np.unique(packed, return_index=True, return_counts=True)
    patterns = levels[first][:, active]
    counts = counts.astype(np.float64)
    m = {FIELDS[f]: default_m(FIELDS[f]) for f in active}
    lam = 0.1
    for _ in range(iterations):
        log_m = np.zeros(len(patterns))
        log_u = np.zeros(len(patterns))
        for col, f in enumerate(active):
            name = FIELDS[f]
            lv = patterns[:, col]
            present = lv > 0
            log_m[present] += np.log(np.maximum(m[name][lv[present]], M_FLOOR))
            log_u[present] += np.log(np.maximum(u[name][lv[present]], U_FLOOR))
        a = np.log(lam) + log_m
        b = np.log1p(-lam) + log_u
        top = np.maximum(a, b)
        p = np.exp(a - top) / (np.exp(a - top) + np.exp(b - top))
        weight = p * counts
        lam = float(np.clip(weight.sum() / counts.sum(), 1e-6, 1 - 1e-6))
        for col, f in enumerate(active):
            name = FIELDS[f]
            k = _levels_count(name)
            lv = patterns[:, col]
            mass = np.bincount(lv, weights=weight, minlength=k)
            mass[0] = 0.0
            if mass.sum() > 0:
                m[name] = mass / mass.sum()
    return m, lam * float(counts.sum())


def train(cols: RecordColumns, sessions: Sequence[tuple[tuple[str, ...], np.ndarray, np.ndarray]],
          expected_matches_per_record: float = 1.0, u_pairs: int = 1_000_000, seed: int = 13,
          known_same: np.ndarray | None = None) -> MatchParameters:
    """Parameters estimated from the records themselves: u from random pairs (less those in one
    `known_same` cluster), m by EM per session."""
    rng = np.random.default_rng(seed)
    u = estimate_u(cols, min(u_pairs, max(10_000, cols.size * 30)), rng, known_same)
    sums = {name: np.zeros(_levels_count(name)) for name in FIELDS}
    seen: dict[str, list[str]] = {name: [] for name in FIELDS}
    for rule, left, right in sessions:
        if len(left) < 50:
            continue
        if len(left) > 2_000_000:  # EM needs a representative sample, not every pair
            pick = rng.choice(len(left), size=2_000_000, replace=False)
            left, right = left[pick], right[pick]
        m, expected_matches = estimate_m(compare(cols, left, right), u, set(_fields_of(rule)))
        if expected_matches < MIN_SESSION_MATCHES:  # EM found (almost) no matches here: nothing to learn m from
            continue
        for name, values in m.items():
            sums[name] += values
            seen[name].append("+".join(rule))
    m_final: dict[str, np.ndarray] = {}
    trained: dict[str, str] = {}
    for name in FIELDS:
        m_em = sums[name] / len(seen[name]) if seen[name] else None
        if m_em is not None and m_em[-1] > u[name][-1]:
            m_final[name] = m_em
            trained[name] = "em:" + ",".join(seen[name])
        else:  # never learnt, or learnt that agreement is no likelier among matches: not credible
            m_final[name] = default_m(name)
            trained[name] = "default"
    n = max(2, cols.size)
    prior = math.log2(expected_matches_per_record / (n - 1))
    return MatchParameters(m=m_final, u=u, prior_log2=prior, trained=trained)


def _fields_of(rule: tuple[str, ...]) -> list[str]:
    from resolver.blocking import BLOCKED_FIELD
    return [BLOCKED_FIELD.get(f, f) for f in rule]


def score(cols: RecordColumns, params: MatchParameters, left: np.ndarray, right: np.ndarray,
          non_name: Sequence[bool], term_frequencies: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(levels, match weight, non-name agreement bits) for each pair: `score_parts` with one mask."""
    levels, total, bits = score_parts(cols, params, left, right, (non_name,), term_frequencies)
    return levels, total, bits[0]


def score_parts(cols: RecordColumns, params: MatchParameters, left: np.ndarray, right: np.ndarray,
                masks: Sequence[Sequence[bool]], term_frequencies: bool = True,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(levels, match weight, agreement bits per mask) for each pair: bits[k] sums the positive
    weights of the fields `masks[k]` selects (e.g. the fields outside the name).

    The per-field weights are summed as they are computed, never held as a pairs x fields float
    matrix (at ten million candidate pairs that matrix alone was a gigabyte); `field_weights`
    recomputes them for the few pairs whose evidence is kept.
    """
    levels = compare(cols, left, right)
    table = params.weights()
    total = np.full(len(left), params.prior_log2, dtype=np.float64)
    bits = np.zeros((len(masks), len(left)), dtype=np.float64)
    for f, name in enumerate(FIELDS):
        w = _weights(cols, params, table, name, levels[:, f], left, term_frequencies)
        total += w
        chosen = [k for k, mask in enumerate(masks) if mask[f]]
        if chosen:
            agreement = np.clip(w, 0, None)
            for k in chosen:
                bits[k] += agreement
    return levels, total, bits


def field_weights(cols: RecordColumns, params: MatchParameters, levels: np.ndarray, i: int,
                  term_frequencies: bool = True, table: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Each field's weight for one record pair (row `levels`, left record `i`): the evidence kept.
    `table`: `params.weights()`, when the caller asks for many pairs (it is the same for all)."""
    table = params.weights() if table is None else table
    left = np.array([i])
    return np.array([_weights(cols, params, table, name, levels[f:f + 1], left, term_frequencies)[0]
                     for f, name in enumerate(FIELDS)])


def evidence_fields(levels: np.ndarray, weights: np.ndarray) -> dict[str, dict[str, Any]]:
    """One pair's evidence as stored and explained: per present field, its level, meaning and weight."""
    out: dict[str, dict[str, Any]] = {}
    for f, name in enumerate(FIELDS):
        level = int(levels[f])
        if level == 0:
            continue
        meaning = "disagree" if level == 1 else LEVELS[name][level - 2]
        out[name] = {"level": level, "meaning": meaning, "weight": round(float(weights[f]), 3)}
    return out


def _weights(cols: RecordColumns, params: MatchParameters, table: dict[str, np.ndarray], name: str,
             levels: np.ndarray, left: np.ndarray, term_frequencies: bool = True) -> np.ndarray:
    w = table[name][levels]
    if term_frequencies and name in TERM_FREQUENCY_FIELDS:
        top = len(table[name]) - 1
        exact = levels == top
        if exact.any():
            col = cols[name]
            tf = col.frequency[col.codes[left[exact]]]
            m_top = max(float(params.m[name][top]), M_FLOOR)
            w = w.copy()
            w[exact] = np.log2(m_top / np.maximum(tf, U_FLOOR))
    return w


def probability(match_weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-match_weight))
