"""Fuzzy matching for the stream: blocking keys a record can be looked up by, and the scoring of a
few new records against the stored records that share a key with them.

The bulk engine (resolver/engine.py) blocks by sorting whole columns; a stream batch instead looks
its candidates up in `match_keys` (PostgreSQL), one row per (blocking key, source record). Keys are
stored as 64-bit hashes: the table then holds no phone digits, emails or birth dates in clear.

Scoring uses the parameters the last `hopnhat resolve` trained (match_parameters) and the same
comparisons, thresholds and merge protection; only the name term frequencies are missing (a batch
sees too few records to measure them), so exact name agreement weighs its population average.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from resolver.blocking import CROWDED_RULES, DEFAULT_RULES
from resolver.comparisons import IDENTIFYING, RecordColumns
from resolver.fellegi_sunter import MatchParameters, evidence_fields, field_weights, probability, score
from resolver.features import MatchRecord

# Point-lookup rules: the bulk rules minus the namesake crowds (a lookup cannot cap a block).
STREAM_RULES = tuple(rule for rule in DEFAULT_RULES if rule not in CROWDED_RULES)


def _value(record: MatchRecord, name: str) -> str:
    if name == "phone_tail":
        return next((v[-7:] for t, v in record.identifiers if t == "phone"), "")
    if name == "given_initial":
        return record.given[:1]
    if name == "email_local":
        return next((v.split("@", 1)[0] for t, v in record.identifiers if t == "email"), "")
    return str(getattr(record, name))


def block_keys(record: MatchRecord) -> list[int]:
    """The record's blocking keys (signed 64-bit hashes), one per rule whose fields it has."""
    keys = []
    for rule in STREAM_RULES:
        values = [_value(record, f) for f in rule]
        if all(values):
            digest = hashlib.blake2b("\x1f".join(["+".join(rule), *values]).encode(), digest_size=8).digest()
            keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@dataclass(frozen=True, slots=True)
class FuzzyMatch:
    record: str  # the new record's key
    candidate: str  # the stored record it matched
    customer_id: str  # the candidate's customer
    probability: float
    match_weight: float
    fields: dict[str, dict[str, Any]]


def best_matches(new: Sequence[MatchRecord], stored: Sequence[MatchRecord], customer_of: dict[str, str],
                 params: MatchParameters, merge_threshold: float = 0.99, min_non_name_bits: float = 4.0,
                 ) -> dict[str, FuzzyMatch]:
    """For each new record, the stored record it matches best, if it clears the merge threshold with
    agreement of identifying fields outside the name (a common name alone never merges; a province
    and a sex do not count, as in the bulk engine's first path: the stream has no ambiguity check
    for the second, resolver/corroboration.py). Pairs are all (new, stored) combinations sharing a
    blocking key."""
    if not new or not stored:
        return {}
    records = list(new) + list(stored)
    keys = [set(block_keys(r)) for r in records]
    left, right = [], []
    for i in range(len(new)):
        for j in range(len(new), len(records)):
            if keys[i] & keys[j]:
                left.append(i)
                right.append(j)
    if not left:
        return {}
    cols = RecordColumns(records)
    lv, weight, non_name = score(cols, params, np.asarray(left), np.asarray(right), IDENTIFYING,
                                 term_frequencies=False)
    prob = probability(weight)
    out: dict[str, FuzzyMatch] = {}
    for k in np.argsort(-weight, kind="stable"):
        i, j = left[k], right[k]
        if prob[k] < merge_threshold or non_name[k] < min_non_name_bits or records[i].key in out:
            continue
        fields = evidence_fields(lv[k], field_weights(cols, params, lv[k], i, term_frequencies=False))
        out[records[i].key] = FuzzyMatch(records[i].key, records[j].key, customer_of[records[j].key],
                                         round(float(prob[k]), 6), round(float(weight[k]), 3), fields)
    return out
