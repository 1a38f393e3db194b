"""Blocking: which record pairs are worth comparing at all.

Comparing every pair of a million records is 5e11 comparisons; comparing pairs that share a
blocking key is a few million. Each rule names the fields whose (folded) values must be equal; a
record missing any of them gets no key for that rule. A pair found by several rules is kept once.

Blocks larger than `max_block` are skipped (and counted): a block of 5,000 "Nguyễn Văn Anh" in one
province would alone produce 12.5 million pairs, almost all of them different people, which is
exactly why the rules combine a name with something else. Rules are listed in DEFAULT_RULES and
documented in docs/MATCHING.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from resolver.features import MatchRecord

# Each rule: the MatchRecord fields (or derived keys below) that must be equal.
DEFAULT_RULES: tuple[tuple[str, ...], ...] = (
    ("family", "given", "birth_date"),
    ("given", "birth_date"),
    ("family", "given", "province"),
    ("family", "given", "postcode"),
    ("family", "given", "locality"),
    ("birth_date", "postcode"),
    ("birth_date", "street"),
    ("given", "street"),
    ("id_number",),
    ("phone_tail", "given_initial"),
    ("email_local",),
    ("family", "given", "middle"),
)


def _derived(record: MatchRecord, name: str) -> str:
    if name == "phone_tail":
        phones = [v for t, v in record.identifiers if t == "phone"]
        return phones[0][-7:] if phones else ""
    if name == "given_initial":
        return record.given[:1]
    if name == "email_local":
        emails = [v for t, v in record.identifiers if t == "email"]
        return emails[0].split("@", 1)[0] if emails else ""
    return str(getattr(record, name))


@dataclass(slots=True)
class BlockingStats:
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    skipped_blocks: dict[str, int] = field(default_factory=dict)
    candidate_pairs: int = 0


def rule_name(rule: tuple[str, ...]) -> str:
    return "+".join(rule)


def rule_pairs(records: Sequence[MatchRecord], rule: tuple[str, ...], max_block: int) -> tuple[np.ndarray, int]:
    """Pairs (as int64 codes i * n + j, i < j) of records sharing the rule's key; and skipped blocks."""
    n = len(records)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, r in enumerate(records):
        key = tuple(_derived(r, f) for f in rule)
        if all(key):
            groups.setdefault(key, []).append(i)
    by_size: dict[int, list[list[int]]] = {}
    skipped = 0
    for members in groups.values():
        size = len(members)
        if size < 2:
            continue
        if size > max_block:
            skipped += 1
            continue
        by_size.setdefault(size, []).append(members)
    chunks: list[np.ndarray] = []
    for size, blocks in by_size.items():
        m = np.asarray(blocks, dtype=np.int64)  # (blocks, size), members ascending
        a, b = np.triu_indices(size, k=1)
        chunks.append((m[:, a] * n + m[:, b]).ravel())
    if not chunks:
        return np.empty(0, dtype=np.int64), skipped
    return np.concatenate(chunks), skipped


def candidate_pairs(records: Sequence[MatchRecord], rules: Sequence[tuple[str, ...]] = DEFAULT_RULES,
                    max_block: int = 400) -> tuple[np.ndarray, np.ndarray, BlockingStats]:
    """(left, right) index arrays of every pair some rule blocks together, each pair once."""
    stats = BlockingStats()
    all_codes: list[np.ndarray] = []
    for rule in rules:
        codes, skipped = rule_pairs(records, rule, max_block)
        stats.pairs_by_rule[rule_name(rule)] = len(codes)
        if skipped:
            stats.skipped_blocks[rule_name(rule)] = skipped
        all_codes.append(codes)
    n = max(1, len(records))
    codes = np.unique(np.concatenate(all_codes)) if all_codes else np.empty(0, dtype=np.int64)
    stats.candidate_pairs = len(codes)
    return codes // n, codes % n, stats
