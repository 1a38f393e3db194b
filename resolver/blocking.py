"""Blocking: which record pairs are worth comparing at all.

Comparing every pair of a million records is 5e11 comparisons; comparing pairs that share a
blocking key is a few million. Each rule names the fields whose (folded) values must be equal; a
record missing any of them gets no key for that rule. A pair found by several rules is kept once.

Blocks larger than `max_block` are skipped (and counted): a block of 5,000 "Nguyễn Văn Anh" in one
province would alone produce 12.5 million pairs, almost all of them different people, which is
exactly why the rules combine a name with something else. Grouping runs in NumPy on the integer
codes of `RecordColumns` (a sort per rule), not in Python dictionaries: at a million records that
is the difference between seconds and a minute. Rules are documented in docs/MATCHING.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from resolver.columnar import unique_sorted
from resolver.comparisons import RecordColumns

# Each rule: the columns that must be equal (phone_tail = last 7 digits, given_initial, email_local
# are derived columns, see RecordColumns).
DEFAULT_RULES: tuple[tuple[str, ...], ...] = (
    ("family", "given", "birth_date"),
    ("given", "birth_date"),
    ("family", "birth_date"),
    ("family", "given", "province"),
    ("family", "given", "postcode"),
    ("family", "given", "locality"),
    ("family", "given", "middle"),
    ("family", "locality"),
    ("family", "postcode"),
    ("given", "locality"),
    ("birth_date", "postcode"),
    ("birth_date", "street"),
    ("given", "street"),
    ("id_number",),
    ("phone_tail", "given_initial"),
    ("email_local",),
)
# Rules on names alone (plus a province) find crowds of namesakes: their blocks are capped lower.
CROWDED_RULES = frozenset({("family", "given", "province"), ("family", "given", "middle")})
CROWDED_MAX_BLOCK = 20

# Which compared field a blocking column stands for (a session blocked on it cannot learn its m).
BLOCKED_FIELD = {"phone_tail": "phone", "given_initial": "given", "email_local": "email"}


@dataclass(slots=True)
class BlockingStats:
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    skipped_blocks: dict[str, int] = field(default_factory=dict)
    candidate_pairs: int = 0


def rule_name(rule: tuple[str, ...]) -> str:
    return "+".join(rule)


def _rule_keys(cols: RecordColumns, rule: tuple[str, ...]) -> np.ndarray:
    """One int64 key per record (-1 when a field is missing), equal exactly when all fields are.

    Codes are combined arithmetically (mixed radix); only when the product of the fields'
    cardinalities could overflow 63 bits is the running key re-coded compactly (a sort)."""
    key = np.zeros(cols.size, dtype=np.int64)
    valid = np.ones(cols.size, dtype=bool)
    span = 1
    for name in rule:
        codes = cols[name].codes
        valid &= codes >= 0
        radix = int(codes.max(initial=0)) + 1
        if span * radix >= 2**62:
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
            span = int(key.max(initial=0)) + 1
        key = key * radix + np.maximum(codes, 0)
        span *= radix
    key[~valid] = -1
    return key


def rule_pairs(cols: RecordColumns, rule: tuple[str, ...], max_block: int) -> tuple[np.ndarray, int]:
    """Pairs (as int64 codes i * n + j, i < j) of records sharing the rule's key; and skipped blocks."""
    n = cols.size
    key = _rule_keys(cols, rule)
    members = np.flatnonzero(key >= 0)
    order = members[np.argsort(key[members], kind="stable")]  # stable: ascending index within a block
    sorted_keys = key[order]
    if len(order) < 2:
        return np.empty(0, dtype=np.int64), 0
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    skipped = int((sizes > max_block).sum())
    chunks: list[np.ndarray] = []
    for size in unique_sorted(sizes[(sizes >= 2) & (sizes <= max_block)]):
        block_starts = starts[sizes == size]
        m = order[block_starts[:, None] + np.arange(size)]  # (blocks, size)
        a, b = np.triu_indices(int(size), k=1)
        chunks.append((m[:, a] * n + m[:, b]).ravel())
    if not chunks:
        return np.empty(0, dtype=np.int64), skipped
    return np.concatenate(chunks), skipped


def candidate_pairs(cols: RecordColumns, rules: Sequence[tuple[str, ...]], max_block: int = 400,
                    ) -> tuple[np.ndarray, np.ndarray, BlockingStats, dict[tuple[str, ...], np.ndarray]]:
    """(left, right) index arrays of every pair some rule blocks together, each pair once; and the
    pairs of each rule (as codes), which training reuses."""
    stats = BlockingStats()
    per_rule: dict[tuple[str, ...], np.ndarray] = {}
    for rule in rules:
        codes, skipped = rule_pairs(cols, rule, min(max_block, CROWDED_MAX_BLOCK) if rule in CROWDED_RULES else max_block)
        per_rule[rule] = codes
        stats.pairs_by_rule[rule_name(rule)] = len(codes)
        if skipped:
            stats.skipped_blocks[rule_name(rule)] = skipped
    n = max(1, cols.size)
    codes = unique_sorted(np.concatenate(list(per_rule.values()))) if per_rule else np.empty(0, dtype=np.int64)
    stats.candidate_pairs = len(codes)
    return codes // n, codes % n, stats, per_rule
