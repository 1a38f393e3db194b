"""The identity-resolution engine: source records in, one cluster (customer) per real person out.

Pure code, no I/O: the bulk path (`hopnhat resolve`, bench/er_*.py) calls `resolve_records`; the
stream resolves each micro-batch with the same protection and scoring (resolver/plan.py).

Stages, in order (docs/MATCHING.md has the reasoning and the numbers):

1. **Deterministic stitching.** Records sharing an identifier join, in time order, through
   `GuardedClusters` (merge protection: birth-date and national-id conflicts, per-type limits).
   A phone or email held by clearly different people is *shared*: it then joins only records that
   also agree on the name.
2. **Probabilistic matching** of what stitching left apart: blocking rules propose pairs,
   rapidfuzz compares them column-wise, Fellegi–Sunter weights (u from random pairs, m by EM,
   term-frequency adjusted names) give each pair a match probability.
3. **Decisions.** Above `merge_threshold` a pair merges, strongest first, through the same
   protection — but only if a field that identifies a person agrees (`min_non_name_bits`), or,
   for a name rare enough to make the pair sure with a province, if nothing contradicts it and the
   match is unambiguous (resolver/corroboration.py): a name alone never merges. Between the
   thresholds, or refused by protection, it goes to review.

Every union is kept as evidence: the identifier that linked, or the per-field levels and weights.
"""

from __future__ import annotations

import gc
import hashlib
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, cast

import numpy as np

from resolver.blocking import DEFAULT_RULES, BlockingStats, candidate_pairs
from resolver.columnar import RecordTable
from resolver.comparisons import CORROBORATING, IDENTIFYING, RecordColumns
from resolver.corroboration import refusal_reason, sure_partners, weakly_corroborated
from resolver.fellegi_sunter import (
    MatchParameters,
    evidence_fields,
    field_weights,
    probability,
    score_parts,
    train,
)
from resolver.features import MatchRecord, match_record
from resolver.protection import GuardedClusters, names_compatible
from resolver.stitching import plan_stitching
from schema.events import CanonicalEvent

CUSTOMER_NAMESPACE = uuid.UUID("6f1d6c2e-8f0b-5c3a-9d57-686f706e6861")  # same as resolver/plan.py
MAX_PEOPLE_PER_SHARED_VALUE = 64  # distinct people a shared phone/email links records to (stitching)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    merge_threshold: float = 0.99  # match probability at or above which a pair merges
    review_threshold: float = 0.50  # between this and merge_threshold: the review queue
    min_non_name_bits: float = 4.0  # agreement of identifying fields needed to merge (bits of weight)
    # Less than that merges a sure pair only through resolver/corroboration.py's guards: at least
    # this much agreement outside the name (a province holding a quarter of customers: 2 bits).
    min_corroboration_bits: float = 2.0
    override_probability: float = 1 - 1e-6  # a scored pair this sure merges despite differing birth dates
    max_block: int = 100  # larger blocks are skipped (counted in stats): same-name crowds, not leads
    expected_matches_per_record: float = 1.0  # the prior
    rules: tuple[tuple[str, ...], ...] = DEFAULT_RULES
    training_pairs_per_rule: int = 100_000
    u_pairs: int = 300_000  # random pairs measuring u (at most 30 per record)
    seed: int = 13
    vectorised_stitching: bool = True  # False: every union one at a time (the reference, for tests)


@dataclass(frozen=True, slots=True)
class Link:
    """One accepted union between the clusters of two records."""

    left: str  # record keys
    right: str
    rule: str  # identifier:<type> | identifier+name:<type> | probabilistic | review_accepted
    match_weight: float | None = None
    probability: float | None = None
    fields: dict[str, dict[str, Any]] | None = None  # field -> {level, meaning, weight}


@dataclass(frozen=True, slots=True)
class ReviewPair:
    left: str
    right: str
    reason: str  # uncertain | name_only | conflict:birth_date | limit:phone ...
    probability: float | None
    detail: str = ""
    fields: dict[str, dict[str, Any]] | None = None


@dataclass(slots=True)
class BulkResolution:
    cluster_of: dict[str, str]  # record key -> cluster (customer) id
    links: list[Link]
    review: list[ReviewPair]
    shared: dict[str, str]  # "phone:+8491..." -> why it is considered shared
    params: MatchParameters | None
    stats: dict[str, Any] = field(default_factory=dict)


def cluster_id_for(event_id: str, _namespace: bytes = CUSTOMER_NAMESPACE.bytes) -> str:
    """A cluster is named after its earliest record's event: the id the stream would have minted.

    str(uuid.uuid5(CUSTOMER_NAMESPACE, event_id)) computed directly (RFC 4122 section 4.3: SHA-1 of
    namespace + name, version and variant bits set): 4.5x faster, and a bulk run names half a
    million clusters (tests check the two agree)."""
    digest = bytearray(hashlib.sha1(_namespace + event_id.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_DIGIT_AT = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])  # where the 32 hex digits go


def cluster_ids_for(event_ids: Sequence[str], _namespace: bytes = CUSTOMER_NAMESPACE.bytes) -> list[str]:
    """`cluster_id_for` of many event ids: only the SHA-1 is computed per id; the version and variant
    bits and the hex text are set for all of them at once in NumPy (half a million clusters at 1M)."""
    if not event_ids:
        return []
    sha1 = hashlib.sha1
    digests = b"".join([sha1(_namespace + e.encode()).digest()[:16] for e in event_ids])
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = np.empty((len(raw), 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX_DIGITS[raw >> 4]
    digits[:, 1::2] = _HEX_DIGITS[raw & 0x0F]
    text = np.full((len(raw), 36), ord("-"), dtype=np.uint32)  # UCS-4 code points: a numpy str array
    text[:, _UUID_DIGIT_AT] = digits
    return text.view("<U36").ravel().tolist()


def resolve_records(items: Iterable[CanonicalEvent | MatchRecord], config: EngineConfig | None = None,
                    params: MatchParameters | None = None,
                    decisions: Mapping[tuple[str, str], bool] | None = None) -> BulkResolution:
    """Resolve a whole set of records at once.

    `params` (from an earlier run) skips training. `decisions` are the review queue's verdicts,
    (record key, record key) -> same person or not: "not" forbids any union that would put the two
    together, "same" joins them before anything else, as if a strong identifier linked them.
    """
    config = config or EngineConfig()
    with _no_gc_pauses():
        return _resolve(items, config, params, decisions or {})


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Python's cyclic collector rescans every live object each time enough new ones accumulate;
    building a million records' worth of tuples, sets and links triggered it thousands of times
    (the columns stage took 42 s at 1M records and 1 s at 100k). The engine creates no reference
    cycles, so it runs with the collector paused; reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _resolve(items: Iterable[CanonicalEvent | MatchRecord], config: EngineConfig, params: MatchParameters | None,
             decisions: Mapping[tuple[str, str], bool]) -> BulkResolution:
    clock = _Clock()
    given = list(items)
    if all(map(isinstance, given, repeat(MatchRecord))):  # the type test in C: bulk input is all records
        unordered = cast(list[MatchRecord], given)
    else:
        unordered = [i if isinstance(i, MatchRecord) else match_record(i) for i in given]
    del given
    # Read every record once, in the order it was allocated (memory-local: twice as fast at a million
    # as reading them in time order); everything below works on these lists and on codes.
    table = RecordTable.read(unordered)
    order = table.time_order()
    clock.lap("features")
    permutation = np.asarray(order, dtype=np.int64)
    cols = _columns(table, permutation)
    records = list(map(unordered.__getitem__, order))
    position = np.empty_like(permutation)
    position[permutation] = np.arange(len(permutation))
    clock.lap("columns")
    guard = GuardedClusters(records)
    links: list[Link] = []
    review: list[ReviewPair] = []
    decided = _apply_decisions(records, guard, links, decisions)
    keys = np.array(table.fields["key"], dtype=object)[permutation]  # record keys in time order
    shared = _stitch(records, cols, guard, links, review, decided, config.vectorised_stitching, (table, position),
                     keys)
    del unordered
    clock.lap("stitch")
    stats: dict[str, Any] = {"records": len(records), "deterministic_links": len(links),
                             "shared_identifiers": len(shared)}
    if len(records) >= 2:
        params = _match(records, cols, guard, links, review, config, params, stats, clock)
    roots = guard.roots()
    # Clusters numbered by their root (the earliest record), found by marking roots: no sort needed.
    is_root = np.zeros(len(records), dtype=bool)
    is_root[roots] = True
    cluster_roots = np.flatnonzero(is_root)
    cluster_of_record = (np.cumsum(is_root) - 1)[roots]
    event_ids = table.fields["event_id"]
    names = np.array(cluster_ids_for(list(map(event_ids.__getitem__, permutation[cluster_roots].tolist()))),
                     dtype=object)
    stats["clusters"] = len(cluster_roots)
    cluster_of = dict(zip(keys.tolist(), names[cluster_of_record].tolist(), strict=True))
    clock.lap("clusters")
    stats["seconds"] = clock.laps
    return BulkResolution(
        cluster_of=cluster_of,
        links=links, review=review, shared={f"{t}:{v}": why for (t, v), why in shared.items()},
        params=params, stats=stats,
    )


def _columns(table: RecordTable, order: np.ndarray) -> RecordColumns:
    """The compared columns in time order, from the table's codes: phone and email (each record's
    first) taken from the identifiers, already factorised."""
    coded = dict(table.coded)
    coded["phone"] = table.first_of_type("phone")
    coded["email"] = table.first_of_type("email")
    return RecordColumns.from_codes(table.size, coded, order)


def _apply_decisions(records: Sequence[MatchRecord], guard: GuardedClusters, links: list[Link],
                     decisions: Mapping[tuple[str, str], bool]) -> set[int]:
    """Apply the review queue's verdicts; return the records they concern."""
    index = {r.key: i for i, r in enumerate(records)} if decisions else {}
    decided: set[int] = set()
    for (a, b), same in sorted(decisions.items(), key=lambda kv: not kv[1]):  # "different" last: it wins
        if a in index and b in index:
            decided |= {index[a], index[b]}
            if same:
                guard.force(index[a], index[b])
                links.append(Link(a, b, "review_accepted"))
            else:
                guard.forbid(index[a], index[b])
    return decided


def _stitch(records: Sequence[MatchRecord], cols: RecordColumns, guard: GuardedClusters, links: list[Link],
            review: list[ReviewPair], decided: Collection[int], vectorised: bool,
            read: tuple[RecordTable, np.ndarray], keys: np.ndarray) -> dict[tuple[str, str], str]:
    plan = plan_stitching(records, cols, guard, decided, vectorised, *read)
    safe = plan.safe_links
    # The bulk-merged links built from arrays (keys and rule names gathered in NumPy), not per record.
    rules = np.array([f"identifier:{kind}" for kind in safe.type_names], dtype=object)
    links.extend(map(Link, keys[safe.first].tolist(), keys[safe.holder].tolist(), rules[safe.kind].tolist()))
    holders, shared = plan.holders, plan.shared
    # For a shared value, one earlier holder per person seen on it (the first record whose name fits
    # none before it): a later named holder links to the earliest of them its name fits. Two sisters
    # with the same given name on one address ("Nguyễn Thanh Thảo", "Nguyễn Thu Thảo") are two people,
    # and the second one's records join each other whoever wrote first, as the stream does with
    # identifier_holders (resolver/plan.py). A till's number typed for hundreds of walk-ins keeps at
    # most MAX_PEOPLE_PER_SHARED_VALUE of them, so no record scans an unbounded list.
    people: dict[tuple[str, str], list[int]] = {}
    for i in plan.risky:
        r = records[i]
        for ident in r.identifiers:
            holding = holders.get(ident)
            if not holding:
                continue
            if ident not in shared:
                target, rule = holding[0], f"identifier:{ident[0]}"
                if target == i:
                    continue
            else:  # a shared value links only records that also agree on the name
                if not r.given:
                    continue
                seen = people.setdefault(ident, [])
                fitting = next((p for p in seen if names_compatible(r, records[p])), None)
                if fitting is None:
                    if len(seen) < MAX_PEOPLE_PER_SHARED_VALUE:
                        seen.append(i)
                    continue
                target, rule = fitting, f"identifier+name:{ident[0]}"
            if guard.same(i, target):
                continue
            refused = guard.union(i, target)
            if refused is None:
                links.append(Link(records[target].key, r.key, rule))
            else:
                review.append(ReviewPair(records[target].key, r.key, refused.reason, None,
                                         f"{ident[0]}: {refused.detail}"))  # no values: PII stays in the records
    return shared


def _match(records: Sequence[MatchRecord], cols: RecordColumns, guard: GuardedClusters, links: list[Link],
           review: list[ReviewPair], config: EngineConfig, params: MatchParameters | None, stats: dict[str, Any],
           clock: _Clock) -> MatchParameters:
    left, right, blocking, per_rule = candidate_pairs(cols, config.rules, config.max_block)
    stats["blocking"] = _blocking_stats(blocking)
    clock.lap("blocking")
    roots = guard.roots()
    if params is None:
        params = _train(cols, per_rule, config, roots)
        clock.lap("training")
    apart = roots[left] != roots[right]
    left, right = left[apart], right[apart]
    levels, match_weight, (identifying_bits, corroborating_bits) = score_parts(
        cols, params, left, right, (IDENTIFYING, CORROBORATING))
    prob = probability(match_weight)
    stats["scored_pairs"] = len(left)
    clock.lap("scoring")

    strong = prob >= config.merge_threshold
    mergeable = strong & (identifying_bits >= config.min_non_name_bits)
    order = np.flatnonzero(mergeable)
    order = order[np.argsort(-match_weight[order], kind="stable")]
    for k in order:
        i, j = int(left[k]), int(right[k])
        if guard.same(i, j):
            continue
        evidence = evidence_fields(levels[k], field_weights(cols, params, levels[k], i))
        refused = guard.union(i, j, birth_dates=bool(prob[k] < config.override_probability))
        if refused is None:
            links.append(Link(records[i].key, records[j].key, "probabilistic", round(float(match_weight[k]), 3),
                              round(float(prob[k]), 6), evidence))
        else:
            review.append(ReviewPair(records[i].key, records[j].key, refused.reason, round(float(prob[k]), 6),
                                     refused.detail, evidence))
    corroborated = weakly_corroborated(levels, strong, mergeable, corroborating_bits,
                                       config.min_corroboration_bits)
    stats["corroborated_links"] = _merge_corroborated(records, guard, links, review, left, right,
                                                      corroborated, levels, match_weight, prob, strong, cols,
                                                      params)
    decided = mergeable.copy()
    decided[corroborated] = True  # merged or sent to review there
    uncertain = np.flatnonzero((prob >= config.review_threshold) & ~decided)
    for k in uncertain:
        i, j = int(left[k]), int(right[k])
        if guard.same(i, j):
            continue
        reason = "name_only" if strong[k] else "uncertain"
        review.append(ReviewPair(records[i].key, records[j].key, reason, round(float(prob[k]), 6), "",
                                 evidence_fields(levels[k], field_weights(cols, params, levels[k], i))))
    stats["probabilistic_links"] = sum(1 for link in links if link.rule == "probabilistic")
    stats["review_pairs"] = len(review)
    clock.lap("decisions")
    return params


def _merge_corroborated(records: Sequence[MatchRecord], guard: GuardedClusters, links: list[Link],
                        review: list[ReviewPair], left: np.ndarray, right: np.ndarray, candidates: np.ndarray,
                        levels: np.ndarray, match_weight: np.ndarray, prob: np.ndarray, strong: np.ndarray,
                        cols: RecordColumns, params: MatchParameters) -> int:
    """The `candidates` (sure pairs whose only support outside the name is weak, a province): merged,
    strongest first, when resolver/corroboration.py finds nothing against them; the rest go to
    review. Runs after the identified merges, so its checks see the clusters those built. Returns
    the links made."""
    order = candidates[np.argsort(-match_weight[candidates], kind="stable")]
    partners = sure_partners(left, right, strong, np.concatenate([left[order], right[order]]).tolist())
    made = 0
    for k in order:
        i, j = int(left[k]), int(right[k])
        if guard.same(i, j):
            continue
        evidence = evidence_fields(levels[k], field_weights(cols, params, levels[k], i))
        refused = refusal_reason(guard, i, j, partners)
        if refused is None:
            refusal = guard.union(i, j)  # never waives a birth-date conflict: the evidence is too thin
            refused = None if refusal is None else refusal.reason
        if refused is None:
            made += 1
            links.append(Link(records[i].key, records[j].key, "probabilistic",
                              round(float(match_weight[k]), 3), round(float(prob[k]), 6), evidence))
        else:
            review.append(ReviewPair(records[i].key, records[j].key, refused, round(float(prob[k]), 6), "",
                                     evidence))
    return made


def _train(cols: RecordColumns, per_rule: dict[tuple[str, ...], np.ndarray], config: EngineConfig,
           stitched: np.ndarray) -> MatchParameters:
    """m and u from this run's records; `stitched` (each record's cluster after identifier
    stitching) keeps pairs already known to be one person out of u."""
    rng = np.random.default_rng(config.seed)
    sessions = []
    n = max(1, cols.size)
    for rule, codes in per_rule.items():
        if len(codes) > config.training_pairs_per_rule:  # sorted first: the sample must not depend on input order
            codes = rng.choice(np.sort(codes), size=config.training_pairs_per_rule, replace=False)
        sessions.append((rule, codes // n, codes % n))
    return train(cols, sessions, config.expected_matches_per_record, config.u_pairs, config.seed, stitched)


class _Clock:
    """Wall time per engine stage, for the benchmarks' stage split (stats["seconds"])."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = round(self.laps.get(stage, 0.0) + now - self._last, 3)
        self._last = now


def _blocking_stats(stats: BlockingStats) -> dict[str, Any]:
    return {"candidate_pairs": stats.candidate_pairs, "pairs_by_rule": stats.pairs_by_rule,
            "skipped_blocks": stats.skipped_blocks}
