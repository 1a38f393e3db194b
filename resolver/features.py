"""`MatchRecord`: the compact, comparison-ready view of one source record that the engine works on.

A `CanonicalEvent` carries everything a timeline needs (payload, raw reference, flags); matching
needs a dozen short strings. `match_record()` extracts them once (folded name parts, birth date,
province, street, ...), so the engine can hold a million records in well under a gigabyte and
compare them column by column in C (rapidfuzz) rather than object by object.

Where the fields come from:
* name parts: `parse_name` of the display name (Vietnamese order detected), unless the source gave
  `given_name` / `family_name` attributes (bulk lists with separate columns), which win;
* `birth_date`, `gender`, `postcode`, `id_number` (a soft document number, compared fuzzily) and
  `national_id` (a strong one, which blocks a merge when two differ) from attributes/identifiers;
* address: the normalised province code, and the street/ward/district text folded for comparison
  (`street` / `locality` attributes win, for lists that keep them in columns of their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from resolver.email import email_match_key
from resolver.name import name_fold_key, parse_name
from schema.events import CanonicalEvent

# Channel ids are unique to one person; phones and emails are strong but shareable (DESIGN.md).
PERSONAL_ID_TYPES = frozenset({"zalo", "fb_psid", "pos_customer", "national_id", "external", "cookie"})
SHAREABLE_ID_TYPES = frozenset({"phone", "email"})


@dataclass(frozen=True, slots=True)
class MatchRecord:
    key: str  # "source|source_record_id": the unit the engine clusters
    event_id: str
    occurred_at: str  # ISO, UTC: orders records deterministically
    identifiers: tuple[tuple[str, str], ...]  # (type, linking value); emails as their match key
    family: str = ""  # folded (no diacritics, đ -> d, lower case); "" when unknown
    middle: str = ""
    given: str = ""
    birth_date: str = ""  # yyyy-mm-dd
    gender: str = ""
    province: str = ""  # current (2025) province code
    postcode: str = ""
    locality: str = ""  # ward / district / suburb, folded
    street: str = ""  # street line, folded
    id_number: str = ""  # soft document number (compared with edit distance)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.family, self.middle, self.given) if p)


@lru_cache(maxsize=131_072)
def name_parts(display: str) -> tuple[str, str, str]:
    """(family, middle, given), folded. Names with no recognised Vietnamese family name keep their
    written order: first word as family, last as given (consistent between spellings of one name)."""
    parsed = parse_name(display)
    if parsed.display is None:
        return "", "", ""
    if parsed.family:
        return (name_fold_key(parsed.family), name_fold_key(parsed.middle or ""),
                name_fold_key(parsed.given or ""))
    words = name_fold_key(parsed.display).split()
    if len(words) == 1:
        return "", "", words[0]
    return words[0], " ".join(words[1:-1]), words[-1]


@lru_cache(maxsize=65_536)
def _fold(text: str) -> str:
    return name_fold_key(text) if text else ""


def match_record(event: CanonicalEvent) -> MatchRecord:
    address = event.address.model_dump() if event.address is not None else None
    return _record(f"{event.source}|{event.source_record_id}", event.event_id, event.occurred_at.isoformat(),
                   [(i.type.value, i.value) for i in event.identifiers],
                   event.name.value if event.name is not None else None, address, event.attributes)


def match_record_from_stored(key: str, event_id: str, occurred_at: str, record: dict[str, Any]) -> MatchRecord:
    """The same view from a stored `source_records.record` (identifiers, name, address, attributes)."""
    name = record.get("name") or {}
    return _record(key, event_id, occurred_at, [(i["type"], i["value"]) for i in record.get("identifiers", [])],
                   name.get("value"), record.get("address"), record.get("attributes") or {})


def _record(key: str, event_id: str, occurred_at: str, identifiers: list[tuple[str, str]], name: str | None,
            address: dict[str, Any] | None, attrs: dict[str, str]) -> MatchRecord:
    idents: list[tuple[str, str]] = []
    for kind, raw_value in identifiers:
        value = email_match_key(raw_value) if kind == "email" else raw_value
        if (kind, value) not in idents:
            idents.append((kind, value))
    family, middle, given = name_parts(name) if name else ("", "", "")
    if "given_name" in attrs or "family_name" in attrs:
        family, middle, given = _fold(attrs.get("family_name", "")), "", _fold(attrs.get("given_name", ""))
    province = locality = street = ""
    if address is not None:
        province = address.get("province_code") or ""
        locality = _fold(" ".join(p for p in (address.get("ward"), address.get("district")) if p))
        street = _fold(address.get("street") or "")
        if not (street or locality or province):
            street = address.get("match_key") or ""
    street = _fold(attrs["street"]) if attrs.get("street") else street
    locality = _fold(attrs["locality"]) if attrs.get("locality") else locality
    return MatchRecord(
        key=key, event_id=event_id, occurred_at=occurred_at, identifiers=tuple(idents),
        family=family, middle=middle, given=given,
        birth_date=attrs.get("birth_date", ""), gender=attrs.get("gender", "").lower(),
        province=province, postcode=attrs.get("postcode", "").strip(), locality=locality, street=street,
        id_number="".join(ch for ch in attrs.get("id_number", "") if ch.isalnum()),
    )
