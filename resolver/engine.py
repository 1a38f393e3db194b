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
import os
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, cast

import numpy as np

from resolver.blocking import DEFAULT_RULES, BlockingStats
from resolver.columnar import RecordTable
from resolver.comparisons import RecordColumns
from resolver.corroboration import refusal_reason, sure_partners, weakly_corroborated
from resolver.fellegi_sunter import MatchParameters, evidence_fields, field_weights
from resolver.features import MatchRecord, match_record
from resolver.pair_scoring import PairWork, PairWorker, ScoredPairs, cpu_count, score_candidates
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
    # Processes: with 2, blocking, training and scoring run in a forked worker while this process
    # stitches (resolver/pair_scoring.py); 1 runs everything here. The result is the same either way.
    workers: int = 2
    parallel_min_records: int = 50_000  # below this, forking costs more than it saves


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
_IDS_AT_ONCE = 65_536


def cluster_ids_for(event_ids: Sequence[str], _namespace: bytes = CUSTOMER_NAMESPACE.bytes) -> list[str]:
    """`cluster_id_for` of many event ids: only the SHA-1 is computed per id; the version and variant
    bits and the hex text are set for all of them at once in NumPy (half a million clusters at 1M)."""
    if len(event_ids) > _IDS_AT_ONCE:  # in slices: the text matrix is 144 bytes per id (72 MB for 500,000)
        return [name for start in range(0, len(event_ids), _IDS_AT_ONCE)
                for name in cluster_ids_for(event_ids[start:start + _IDS_AT_ONCE], _namespace)]
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
        return _resolve(list(items), config, params, decisions or {})


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


def _resolve(given: list[CanonicalEvent | MatchRecord], config: EngineConfig, params: MatchParameters | None,
             decisions: Mapping[tuple[str, str], bool]) -> BulkResolution:
    # Started first, so that its interpreter and imports come up while this process reads the records.
    parallel = config.workers >= 2 and len(given) >= max(2, config.parallel_min_records) and cpu_count() >= 2
    with PairWorker() if parallel else nullcontext() as worker:
        return _resolve_with(given, config, params, decisions, worker)


def _resolve_with(given: list[CanonicalEvent | MatchRecord], config: EngineConfig, params: MatchParameters | None,
                  decisions: Mapping[tuple[str, str], bool], worker: PairWorker | None) -> BulkResolution:
    clock = _Clock()
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
    del order  # a million int objects: 36 MB
    position = np.empty_like(permutation)
    position[permutation] = np.arange(len(permutation))
    work = _pair_work(config)
    if worker is not None:
        worker.submit(cols, work, params)
        # The worker compares; this process reads only the names and birth dates (stitching) and the
        # name and province frequencies (the evidence of decided pairs) from now on, while the worker holds its copy.
        cols = cols.only(("family", "middle", "given", "birth_date", "province"))
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
                             "shared_identifiers": len(shared), "workers": 1 if worker is None else 2}
    if len(records) >= 2:
        scored = worker.result() if worker is not None else score_candidates(cols, work, params, guard.roots())
        params = _match(records, cols, guard, links, review, config, scored, stats, clock)
    roots = guard.roots()
    event_ids = table.fields["event_id"]
    # What the clusters are named from is all that is left to use: let the rest go before the
    # output's million entries are built (this is where the engine's memory peaks).
    del guard, cols, table, position, records
    # Clusters numbered by their root (the earliest record), found by marking roots: no sort needed.
    is_root = np.zeros(len(roots), dtype=bool)
    is_root[roots] = True
    cluster_roots = np.flatnonzero(is_root)
    cluster_of_record = (np.cumsum(is_root) - 1)[roots]
    names = np.array(cluster_ids_for(list(map(event_ids.__getitem__, permutation[cluster_roots].tolist()))),
                     dtype=object)
    stats["clusters"] = len(cluster_roots)
    cluster_of = dict(zip(keys.tolist(), names[cluster_of_record].tolist(), strict=True))
    clock.lap("clusters")
    stats["seconds"] = clock.laps
    stats["cpu_seconds"] = clock.cpu_laps
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
    # The columns hold these codes from now on (reordered); the table's copies are let go (40 MB at
    # a million records, while stitching and the pair worker need memory).
    table.coded.clear()
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


def _pair_work(config: EngineConfig) -> PairWork:
    return PairWork(rules=config.rules, max_block=config.max_block,
                    training_pairs_per_rule=config.training_pairs_per_rule, u_pairs=config.u_pairs, seed=config.seed,
                    expected_matches_per_record=config.expected_matches_per_record,
                    keep_from=min(config.review_threshold, config.merge_threshold))


def _match(records: Sequence[MatchRecord], cols: RecordColumns, guard: GuardedClusters, links: list[Link],
           review: list[ReviewPair], config: EngineConfig, scored: ScoredPairs, stats: dict[str, Any],
           clock: _Clock) -> MatchParameters:
    """Decisions on the scored pairs that stitching left apart (`scored`: every candidate pair)."""
    stats["pair_work_seconds"], stats["pair_work_cpu_seconds"] = scored.seconds, scored.cpu_seconds
    if scored.memory_mb:
        stats["pair_worker_memory_mb"] = scored.memory_mb
    stats["blocking"] = _blocking_stats(scored.blocking)
    clock.lap("pair_work")  # with a worker: the wait after stitching; without: blocking, training, scoring
    params = scored.params
    weights = params.weights()  # per field and level, for the evidence of each decided pair
    stats["scored_pairs"], scored = scored.apart(guard.roots())
    levels, match_weight, prob = scored.levels, scored.match_weight, scored.probability
    identifying_bits, corroborating_bits = scored.identifying_bits, scored.corroborating_bits
    left, right = scored.left[scored.kept], scored.right[scored.kept]  # the records of each kept pair
    clock.lap("apart")

    strong = prob >= config.merge_threshold
    mergeable = strong & (identifying_bits >= config.min_non_name_bits)
    order = np.flatnonzero(mergeable)
    order = order[np.argsort(-match_weight[order], kind="stable")]
    for k in order:
        i, j = scored.pair(k)
        if guard.same(i, j):
            continue
        evidence = evidence_fields(levels[k], field_weights(cols, params, levels[k], i, table=weights))
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
                                                      params, weights)
    decided = mergeable.copy()
    decided[corroborated] = True  # merged or sent to review there
    uncertain = np.flatnonzero((prob >= config.review_threshold) & ~decided)
    for k in uncertain:
        i, j = scored.pair(k)
        if guard.same(i, j):
            continue
        reason = "name_only" if strong[k] else "uncertain"
        review.append(ReviewPair(records[i].key, records[j].key, reason, round(float(prob[k]), 6), "",
                                 evidence_fields(levels[k], field_weights(cols, params, levels[k], i, table=weights))))
    stats["probabilistic_links"] = sum(1 for link in links if link.rule == "probabilistic")
    stats["review_pairs"] = len(review)
    clock.lap("decisions")
    return params


def _merge_corroborated(records: Sequence[MatchRecord], guard: GuardedClusters, links: list[Link],
                        review: list[ReviewPair], left: np.ndarray, right: np.ndarray, candidates: np.ndarray,
                        levels: np.ndarray, match_weight: np.ndarray, prob: np.ndarray, strong: np.ndarray,
                        cols: RecordColumns, params: MatchParameters, weights: dict[str, np.ndarray]) -> int:
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
        evidence = evidence_fields(levels[k], field_weights(cols, params, levels[k], i, table=weights))
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


class _Clock:
    """Wall and CPU time per engine stage, for the benchmarks' stage split (stats["seconds"] and
    stats["cpu_seconds"]). CPU time counts every thread of this process and the worker processes it
    has waited for: on a shared machine wall time says little, and parallel stages must show their
    full cost."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.cpu_laps: dict[str, float] = {}
        self._last = time.perf_counter()
        self._last_cpu = _cpu_seconds()

    def lap(self, stage: str) -> None:
        now, cpu = time.perf_counter(), _cpu_seconds()
        self.laps[stage] = round(self.laps.get(stage, 0.0) + now - self._last, 3)
        self.cpu_laps[stage] = round(self.cpu_laps.get(stage, 0.0) + cpu - self._last_cpu, 3)
        self._last, self._last_cpu = now, cpu


def _cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its waited-for children."""
    times = os.times()  # children's share: 0 where the platform does not report it
    return time.process_time() + times.children_user + times.children_system


def _blocking_stats(stats: BlockingStats) -> dict[str, Any]:
    return {"candidate_pairs": stats.candidate_pairs, "pairs_by_rule": stats.pairs_by_rule,
            "skipped_blocks": stats.skipped_blocks}
