"""Survivorship: which of a customer's values the golden record shows, by declared rules.

Every value is kept on the profile with its sources and first/last seen time; survivorship only
chooses the one to *show* (`full_name`, `primary_phone`, `primary_email`, `province_code`) and
says why on `profile["survivorship"]`. Each candidate gets a score from four declared rules:

* source trust   how reliable the channel is for this kind of value (`SOURCE_TRUST`): a name
                 typed by a cashier from an order or in a CRM beats a Zalo or Facebook display
                 name, which people pick for fun ("Bé Heo", "Mẹ Bắp");
* completeness   a full Vietnamese name with diacritics beats "Hà" or "nguyen thi ha";
* recency        the most recently seen value beats an old one (numbers change hands);
* frequency      a value confirmed by several sources beats a one-off.

The weights (`RULE_WEIGHTS`) sum to 1; ties go to the most recent, then the smaller value, so the
choice is deterministic. Pure functions: the profile builder calls `choose` for touched customers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from functools import lru_cache
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

# Trust per source system (the part of `source` before ":"), 0..1; unknown systems get DEFAULT_TRUST.
SOURCE_TRUST: dict[str, float] = {
    "kiotviet": 0.9, "sapo": 0.9, "haravan": 0.9, "pos": 0.9, "bulk": 0.8, "crm": 0.8,
    "webform": 0.7, "email": 0.6, "stringee": 0.5, "callcenter": 0.5, "asterisk": 0.5,
    "omicall": 0.5, "caresoft": 0.5,
    "facebook": 0.35, "zalo": 0.35,
}
DEFAULT_TRUST = 0.5
RULE_WEIGHTS: dict[str, float] = {"trust": 0.4, "completeness": 0.3, "recency": 0.2, "frequency": 0.1}


class SeenLike(Protocol):
    """What the profile knows of one value: its sources and when it was last seen."""

    @property
    def sources(self) -> AbstractSet[str]: ...

    @property
    def last_seen(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Seen:
    sources: frozenset[str]
    first_seen: datetime
    last_seen: datetime


@lru_cache(maxsize=4096)
def _source_trust(source: str) -> float:
    return SOURCE_TRUST.get(source.split(":", 1)[0], DEFAULT_TRUST)


def trust(sources: AbstractSet[str]) -> float:
    return max((_source_trust(s) for s in sources), default=DEFAULT_TRUST)


def name_completeness(name: str) -> float:
    """Three or more words, written with diacritics, is complete."""
    words = min(len(name.split()), 3) / 3
    return 0.8 * words + (0.2 if not name.isascii() else 0.0)


def choose(values: Mapping[str, SeenLike], completeness: Callable[[str], float] = lambda _: 1.0,
           ) -> tuple[str, dict[str, Any]] | None:
    """The value to show, and why (its rule scores); None when there is none."""
    if not values:
        return None
    if len(values) == 1:  # most customers hold one name, one phone: nothing to rank (the stream's hot path)
        ((value, seen),) = values.items()
        parts = {"trust": trust(seen.sources), "completeness": completeness(value), "recency": 1.0, "frequency": 1.0}
        total = sum(RULE_WEIGHTS[k] * parts[k] for k in RULE_WEIGHTS)
        return value, {"score": round(total, 4), **{k: round(v, 4) for k, v in parts.items()},
                       "sources": sorted(seen.sources)}
    newest = sorted(values, key=lambda v: values[v].last_seen)
    recency = {v: (i / (len(newest) - 1) if len(newest) > 1 else 1.0) for i, v in enumerate(newest)}
    most_sources = max(len(s.sources) for s in values.values())
    scored: list[tuple[float, datetime, str, dict[str, float]]] = []
    for value, seen in values.items():
        parts = {"trust": trust(seen.sources), "completeness": completeness(value), "recency": recency[value],
                 "frequency": len(seen.sources) / most_sources}
        total = sum(RULE_WEIGHTS[k] * parts[k] for k in RULE_WEIGHTS)
        scored.append((total, seen.last_seen, value, parts))
    total, _, value, parts = max(scored, key=lambda t: (t[0], t[1], [-ord(c) for c in t[2]]))
    return value, {"score": round(total, 4), **{k: round(v, 4) for k, v in parts.items()},
                   "sources": sorted(values[value].sources)}
