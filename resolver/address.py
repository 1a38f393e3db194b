"""Free-text Vietnamese address -> province (both code systems), district, ward and street.

Pure code in the resolver stage: connectors hand over whatever the customer typed ("123 Lê Lợi,
P. Bến Thành, Q.1, TP.HCM", "so 5 ngo 12 Tran Duy Hung, Cau Giay, Ha Noi"); the normalised event
carries the raw value, a tidy display form and a folded match key, with the province resolved to the
unit in force today (VN-2025 code) and, when the text allows, the pre-2025 unit (VN-2004 code).

How it reads an address (facts in ../shared/reference/vn_admin_units.md, data in
`resolver.admin_units`):
- Parts are split on commas, semicolons, newlines, "|" and spaced dashes; a one-part address is
  also split before level markers ("P.", "Q.1", "Huyện" ...). The province is usually last, so it is
  looked up in the last part (or the last two joined: "Bà Rịa - Vũng Tàu"), then as the last words of
  the last part ("... Cau Giay Ha Noi"), then from a well-known city name ("Nha Trang").
- Lookup is on a folded key (no diacritics, đ -> d, punctuation as spaces) after dropping a
  "Tỉnh"/"T."/"Thành phố"/"TP." prefix. Unit types never enter a key: four units changed type
  after their codes were fixed.
- Two-letter abbreviations the note calls ambiguous (QN, ĐN, BD, HD, HP, CT) are not guessed: they
  resolve only with context (a city name in the address, or "TP." for HP and CT), else flag
  "ambiguous".
- The pre-2025 unit is set when the text names a unit that no longer exists (Bình Dương), a unit
  that did not merge (Nghệ An), or a city inside a merged unit ("Quy Nhơn, Gia Lai" was Bình Định).
  The name a merged unit kept ("Lào Cai") is left undetermined: since 2025 it also covers Yên Bái.
- Districts were abolished on 1 July 2025 but are kept as written; ward, street and any part whose
  level cannot be told ("Cầu Giấy" is an old district and a new ward) are kept as text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from resolver.admin_units import (
    AMBIGUOUS_ABBREVIATIONS,
    CITY_NAMES,
    CITY_PREFIX_RESOLVES,
    FORMER_NAMES,
    LEGACY_PROVINCES,
    MERGER_DATE,
    LegacyProvince,
    Province,
    legacy_province,
    successor,
)


@dataclass(frozen=True, slots=True)
class AddressResult:
    raw: str
    normalised: str
    match_key: str
    province_code: str | None  # VN-2025
    province_name: str | None
    province_code_2025_before: str | None  # VN-2004, the unit before 1 July 2025
    province_name_before: str | None
    district: str | None
    ward: str | None
    street: str | None
    locality: str | None = None  # parts between street and province whose level is unknown
    flags: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.province_code is not None


# --- folding ------------------------------------------------------------------------------------


# Vietnamese marks are all in the first block; the slow per-character check is for anything else.
_COMMON_MARKS = re.compile("[\u0300-\u036f]+")


def _fold(text: str) -> str:
    """Comparison form: casefolded, no combining marks, đ -> d (ð too: legacy encodings type it)."""
    text = text.casefold()
    if text.isascii():
        return text
    text = _COMMON_MARKS.sub("", unicodedata.normalize("NFD", text.replace("đ", "d").replace("ð", "d")))
    if text.isascii():
        return text
    return "".join(ch for ch in text if not unicodedata.combining(ch))


_NOT_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=8192)
def _key(text: str) -> str:
    # cached: the same few parts ("TP.HCM", "Q.1", "Hà Nội") come back in most addresses
    return _NOT_WORD.sub(" ", _fold(text)).strip()


def _marked_key(text: str) -> str | None:
    """Like `_key` but keeping each word's marks (sorted, so "Hoà" = "Hòa"); None if text has none."""
    words = []
    for word in _NOT_WORD.sub(" ", text.casefold().replace("đ", "d\u0335")).split():
        decomposed = unicodedata.normalize("NFD", word)
        marks = sorted(ch for ch in decomposed if unicodedata.combining(ch))
        words.append("".join(ch for ch in decomposed if not unicodedata.combining(ch)) + "".join(marks))
    if " ".join(words) == _key(text):
        return None
    # drop a "Tỉnh"/"TP." prefix the way `_lookup` does, judged on the folded words
    prefix = _PROVINCE_PREFIX.match(" ".join(_fold(w) for w in words) + " ")
    return " ".join(words[len(prefix.group().split()) if prefix else 0 :])


# --- the province index -------------------------------------------------------------------------

_PROVINCE_PREFIX = re.compile(r"^(?:thanh pho|tp|t p|tinh|t)\s+")
_ENGLISH_TYPE = re.compile(r"\s+(?:city|province)$")  # "Hanoi City", "Dong Nai Province"
_INDEX: dict[str, LegacyProvince] = {}
_FORMER: dict[str, str] = {}  # key -> flag reason
_MARKED: set[str] = set()  # spellings with diacritics, marks kept


def _index(name: str, old: LegacyProvince) -> None:
    if (marked := _marked_key(name)) is not None:
        _MARKED.add(marked)
    key = _key(name)
    for k in (key, key.replace(" ", "")):
        if _INDEX.setdefault(k, old) is not old:
            raise ValueError(f"province alias {name!r} folds to {k!r}, already used")


for _old in LEGACY_PROVINCES:
    for _name in (_old.name, *_old.aliases):
        _index(_name, _old)
for _name, (_code, _reason) in FORMER_NAMES.items():
    _old_unit = legacy_province(_code)
    assert _old_unit is not None
    if _key(_name) not in _INDEX:
        _index(_name, _old_unit)
    _FORMER[_key(_name)] = _FORMER[_key(_name).replace(" ", "")] = _reason

_AMBIGUOUS = {_key(k): v for k, v in AMBIGUOUS_ABBREVIATIONS.items()}
_BY_CITY_PREFIX = {_key(k): v for k, v in CITY_PREFIX_RESOLVES.items()}
_CITIES: dict[str, tuple[str, LegacyProvince]] = {}
for _name, _code in CITY_NAMES.items():
    _old_unit = legacy_province(_code)
    assert _old_unit is not None
    _CITIES[_key(_name)] = _CITIES[_key(_name).replace(" ", "")] = (_name, _old_unit)
_CITY_PREFIX = re.compile(r"^(?:thanh pho|tp|t p|thi xa|tx)\s+")
_HOUSE_NUMBER = re.compile(r"(?:số nhà|so nha|số|so|sn)?\s*\d[\w/.-]*", re.IGNORECASE)
# "Xa lộ Hà Nội", "Phố Huế": a province name right after a street word is a street name.
_STREET_WORDS = {"duong", "pho", "lo", "ql", "tl", "dl", "hem", "ngo", "kiet"}


@dataclass(frozen=True, slots=True)
class _Named:
    """What a piece of text names: a pre-2025 unit, or a set of candidates it may stand for."""

    unit: LegacyProvince | None
    former: str | None = None  # reason, when the text uses a name older than the 63-unit list
    candidates: tuple[str, ...] = ()  # VN-2004 codes of an ambiguous abbreviation
    text: str = ""


def _lookup(text: str, strip_prefix: bool = True) -> _Named | None:
    key = _key(text)
    if not key:
        return None
    stripped = _ENGLISH_TYPE.sub("", _PROVINCE_PREFIX.sub("", key)) if strip_prefix else key
    for k in (key, key.replace(" ", ""), stripped, stripped.replace(" ", "")):
        if k in _INDEX:
            return _Named(_INDEX[k], _FORMER.get(k), text=text)
    if stripped != key and stripped in _BY_CITY_PREFIX:
        return _Named(legacy_province(_BY_CITY_PREFIX[stripped]), text=text)
    if stripped in _AMBIGUOUS:
        return _Named(None, candidates=_AMBIGUOUS[stripped], text=text)
    return None


def _city(text: str) -> tuple[str, LegacyProvince] | None:
    key = _CITY_PREFIX.sub("", _key(text))
    return _CITIES.get(key) or _CITIES.get(key.replace(" ", ""))


def resolve_province(text: str) -> Province | None:
    """The current (VN-2025) unit a bare province field names, e.g. "Bình Dương" -> Hồ Chí Minh.

    Accepts any spelling `normalise_address` accepts for its last part, and a well-known city name.
    None when the text names no province or only an ambiguous abbreviation ("QN").
    """
    named = _lookup(text)
    if named is not None and named.unit is not None:
        return successor(named.unit)
    city = _city(text)
    return successor(city[1]) if city else None


# --- splitting and levels -----------------------------------------------------------------------

_WS = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[,;|\n]|\s[-–—]+\s")
# Only for one-part addresses: split before a level marker ("... P.Bến Thành Q.1 TPHCM"). Full words
# "xã"/"tỉnh" are left out: "Xã Đàn" and "Tỉnh lộ 10" are streets.
_MARKER_START = re.compile(
    r"\s(?=(?:p|f|q|h|x|tx|tt|tp|dk|đk)\.|(?:p|f|q)\d|(?:phường|quận|huyện|thị xã|thị trấn|thành phố)\s)",
    re.IGNORECASE,
)
_COUNTRY = {"viet nam", "vietnam", "vn", "viet nam vn"}
_POSTCODE = re.compile(r"\d{5,6}")
_TRAILING_COUNTRY = re.compile(r"\s+(?:việt nam|viet nam|vietnam)\.?$", re.IGNORECASE)
_STRIP = " .,-–—:;/\\"

# level, display word, how it is written (lower case, NFC). A one-letter or short abbreviation needs
# a dot, a digit or a space after it; a full word needs a space, dot or digit.
_LEVELS: tuple[tuple[str, str, str], ...] = (
    ("ward", "Phường", r"phường|phuong|p|f|ward"),
    ("ward", "Xã", r"xã|xa(?!\s+lo\b)|x"),
    ("ward", "Thị trấn", r"thị trấn|thi tran|tt"),
    ("ward", "Đặc khu", r"đặc khu|dac khu|đk|dk"),
    ("district", "Quận", r"quận|quan|q|district"),
    ("district", "Huyện", r"huyện|huyen|h"),
    ("district", "Thị xã", r"thị xã|thi xa|tx"),
    ("district", "Thành phố", r"thành phố|thanh pho|tp|t\.p"),
)
_LEVEL_RES = tuple(
    (level, word, re.compile(rf"(?:{pattern})(?:\.\s*|\s+|(?=\d))(?P<rest>\S.*)", re.IGNORECASE))
    for level, word, pattern in _LEVELS
)
_BARE_MARKER = re.compile(
    "|".join(rf"(?:{pattern})\.?" for _, _, pattern in _LEVELS), re.IGNORECASE
)
_STREET_LIKE = re.compile(
    r"\d|\b(?:so|sn|ngo|ngach|hem|kiet|duong|pho|thon|xom|ap|to|kp|khu|lo|cc|chung cu|toa|block|km|kdt|"
    r"kcn|tdp|khom)\b"
)


_VOWEL = re.compile(r"[aeiouy]")


def _capitalise(word: str, upper: bool) -> str:
    # In an all-caps part a word without a vowel is an abbreviation (KP, TDP, HCM): every Vietnamese
    # syllable has a vowel.
    if upper and not _VOWEL.search(_fold(word)):
        return word
    return word[:1].upper() + word[1:].lower()


def _tidy(text: str) -> str:
    """Whitespace collapsed, edge punctuation dropped, all-lower or ALL-CAPS parts capitalised."""
    text = _WS.sub(" ", text).strip(_STRIP)
    letters = [ch for ch in text if ch.isalpha()]
    lower = all(ch.islower() for ch in letters)
    if letters and (lower or all(ch.isupper() for ch in letters)):
        text = " ".join(_capitalise(w, not lower) for w in text.split(" "))
    return text


def _level(part: str) -> tuple[str | None, str]:
    """(level, display text) of one part: "P.7" -> ("ward", "Phường 7"); unmarked -> (None, tidy)."""
    for level, word, pattern in _LEVEL_RES:
        m = pattern.fullmatch(part)
        if m:
            rest = _tidy(m.group("rest"))
            if rest:
                return level, f"{word} {rest}"
    return None, _tidy(part)


def _split(text: str) -> list[str]:
    # A part with nothing to compare ("<", "...") is dropped: it would only shift the others' levels.
    parts = [p for p in (_WS.sub(" ", s).strip(_STRIP) for s in _SEPARATORS.split(text)) if _key(p)]
    while parts:
        if _key(parts[-1]) in _COUNTRY or _POSTCODE.fullmatch(parts[-1]):
            parts.pop()
            continue
        tail = _TRAILING_COUNTRY.sub("", parts[-1]).strip(_STRIP)
        if tail == parts[-1] or not _key(tail) or _BARE_MARKER.fullmatch(tail):
            break
        parts[-1] = tail  # "Hanoi Vietnam"
    if len(parts) == 1:
        parts = _split_before_markers(parts[0])
    return parts


def _split_before_markers(text: str) -> list[str]:
    parts: list[str] = []
    for piece in (s.strip(_STRIP) for s in _MARKER_START.split(text)):
        if parts and _BARE_MARKER.fullmatch(parts[-1]):
            parts[-1] = f"{parts[-1]} {piece}"  # "Phường P0": the marker's own name, not a new part
        elif _key(piece):
            parts.append(piece)
    return parts


# --- the province in a list of parts ------------------------------------------------------------


def _names_a_street_or_ward(head: str) -> bool:
    """True when the words before a province-like name make it a street's or ward's own name:
    "Phố Huế", "Xa lộ Hà Nội" (street word), "Phường Hà Nội" (level word), "123 Hòa Bình" (house)."""
    words = _key(head).split()
    return bool(words and words[-1] in _STREET_WORDS) or any(
        p.fullmatch(head) for p in (_BARE_MARKER, _HOUSE_NUMBER)
    )


def _find_province(parts: list[str]) -> tuple[_Named | None, list[str]]:
    """The province named at the end of `parts`, and the parts left before it."""
    ambiguous: _Named | None = None
    if len(parts) >= 2:
        # Only a name written across a dash ("Bà Rịa - Vũng Tàu"); "TP, Hà Giang" is two parts.
        joined = _lookup(f"{parts[-2]} {parts[-1]}", strip_prefix=False)
        if joined is not None and joined.unit is not None:
            return joined, parts[:-2]
    if parts:
        named = _lookup(parts[-1])
        if named is not None and named.unit is not None:
            return named, parts[:-1]
        ambiguous = named
        words = parts[-1].split(" ")
        for k in range(min(5, len(words) - 1), 0, -1):
            head, tail = " ".join(words[:-k]), " ".join(words[-k:])
            if _names_a_street_or_ward(head):
                continue

            named = _lookup(tail)
            # Inside a street the diacritics must agree: "Nguyễn Huệ" ends in "hue", but not in Huế.
            marked = _marked_key(tail)
            if marked is not None and marked not in _MARKED:
                continue
            if named is not None and named.unit is not None:
                return named, [*parts[:-1], head]
    return ambiguous, parts


@dataclass(frozen=True, slots=True)
class _Parts:
    street: list[str]
    ward: list[str]
    district: list[str]
    locality: list[str]


def _assign(levelled: list[tuple[str | None, str]]) -> _Parts:
    out = _Parts([], [], [], [])
    rest: list[int] = []
    for i, (level, text) in enumerate(levelled):
        if level == "ward":
            out.ward.append(text)
        elif level == "district":
            out.district.append(text)
        elif i == len(out.street) and (i == 0 or _STREET_LIKE.search(_key(text))):
            out.street.append(text)
        else:
            rest.append(i)
    if len(levelled) == 1 and out.street and not _STREET_LIKE.search(_key(out.street[0])):
        out.locality.append(out.street.pop())
    texts = [levelled[i][1] for i in rest]
    if len(rest) == 2 and not out.ward and not out.district:
        out.ward.append(texts[0])
        out.district.append(texts[1])
    elif len(rest) == 1 and out.ward and not out.district:
        out.district.append(texts[0])
    elif len(rest) == 1 and out.district and not out.ward:
        out.ward.append(texts[0])
    else:
        out.locality.extend(texts)
    return out


def _names(codes: tuple[str, ...]) -> str:
    names = [p.name for c in codes if (p := legacy_province(c)) is not None]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# --- the entry point ----------------------------------------------------------------------------


def normalise_address(raw: str) -> AddressResult:
    """Normalise one free-text address; never raises on bad input (flags say what is missing)."""
    text = unicodedata.normalize("NFKC", raw)
    flags: list[tuple[str, str]] = []
    parts = _split(text)
    if not parts:
        flags.append(("empty", "no address text"))
    named, rest = _find_province(parts)

    cities = [(c, part) for part in rest if (c := _city(part)) is not None]
    unit = named.unit if named is not None else None
    if unit is None and named is not None and named.candidates:
        fitting = [c for c in cities if c[0][1].code in named.candidates]
        if fitting:
            (city_name, unit), _ = fitting[0]
            rest = parts[:-1]  # the abbreviation named the province; the resolved name replaces it
            flags.append(("province-from-city", f"{named.text!r} read as {unit.name}: {city_name} is in it"))
        else:
            flags.append(("ambiguous", f"{named.text!r} may be {_names(named.candidates)}; not guessed"))
            rest = parts
    if unit is None and named is None and cities:
        city, _ = cities[-1]
        unit = city[1]
        flags.append(("province-from-city", f"{city[0]} is in {unit.name}"))

    current: Province | None = None
    before: LegacyProvince | None = None
    if unit is None:
        if parts:
            flags.append(("province-unresolved", "no province or city name found in the address"))
    else:
        current = successor(unit)
        if named is not None and named.former:
            flags.append(("old-name", named.former))
        if unit.name != current.name:
            before = unit
            flags.append(("old-unit", f"{unit.name} merged into {current.display_name} on {MERGER_DATE}"))
        elif not current.merged:
            before = unit
        for (city_name, city_unit), _ in cities:
            if city_unit.successor_code != current.code or before not in (None, city_unit):
                flags.append(("province-conflict", f"{city_name} is in {city_unit.name}, not {unit.name}"))
            else:
                before = city_unit

    levelled = [_level(p) for p in rest]
    assigned = _assign(levelled)
    shown = [t for _, t in levelled]
    if unit is not None and current is not None:
        shown.append(current.display_name if unit.name == current.name else unit.name)
    return AddressResult(
        raw=raw,
        normalised=", ".join(shown),
        match_key="|".join(
            [
                current.code if current else "",
                *(_key(" ".join(texts)) for texts in (assigned.district, assigned.ward, assigned.street)),
                _key(" ".join(assigned.locality)),
            ]
        ),
        province_code=current.code if current else None,
        province_name=current.name if current else None,
        province_code_2025_before=before.code if before else None,
        province_name_before=before.name if before else None,
        district=", ".join(assigned.district) or None,
        ward=", ".join(assigned.ward) or None,
        street=", ".join(assigned.street) or None,
        locality=", ".join(assigned.locality) or None,
        flags=flags,
    )


__all__ = ["AddressResult", "normalise_address", "resolve_province"]
