"""Personal names: repaired, NFC, cased for display, split into family / middle / given, and folded.

Facts: ../shared/reference/vn_names.md. The steps, in order:
1. Legacy encodings (TCVN3, VNI, UTF-8 read as cp1252) are repaired first (resolver/legacy_encoding.py),
   because TCVN3's ư is the soft hyphen that step 2 would delete.
2. NFC (NFD input from macOS and some keyboards), NFKC for full-width and decorative letters,
   invisible characters removed, Icelandic eth (a mistyped Đ) mapped to Đ, apostrophes unified.
3. Honorifics and titles (chị, anh, Mr, Quý khách ...) are removed from the front, only when a name
   follows and the word cannot be a name itself in the form written ("Anh" is also a given name).
4. Order: Vietnamese names are family-middle-given; Zalo and Facebook display names often put the
   given name first ("Lan Nguyễn Thị", "Hùng Trần"). The family-name list decides, and the decision
   is flagged, never silent. The display form is in Vietnamese order.
5. Casing: whole-caps or lower-case words are title-cased ("NGUYỄN VĂN AN" -> "Nguyễn Văn An").

`fold_key` (lower-case, no diacritics, đ -> d) is for blocking and comparison only: folding merges
Thủy/Thúy/Thùy, so a folded match is a weak signal, and a name alone never merges (DESIGN).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from resolver.family_names import (
    ACCENTED_BUSINESS_WORDS,
    ALSO_GIVEN_NAMES,
    AMBIGUOUS_HONORIFICS,
    BUSINESS_PHRASES,
    BUSINESS_WORDS,
    COMPOUND_FAMILY_NAMES,
    FAMILY_NAMES,
    HONORIFIC_PAIRS,
    HONORIFICS,
    MIDDLE_MARKERS,
    MINORITY_FAMILY_NAMES,
    PARENT_WORDS,
    PLACEHOLDER_FOLDED,
    PLACEHOLDER_NAMES,
)
from resolver.flags import Flag, flag_codes
from resolver.legacy_encoding import is_vietnamese_syllable, repair_legacy_encoding

_SPACES = re.compile(r"\s+")
_PLAIN = re.compile(r"[\w .,'\-]*")  # letters, digits, marks-free punctuation: no symbol scan needed
_LATIN_WORD = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff'\\-.]*")
_LATIN_TEXT = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff'\\-. ]*")  # _LATIN_WORD and the space
_NON_ALNUM = re.compile(r"[\W_]+")
# NBSP and zero-width space separate words; joiners, BOM and the soft hyphen are deleted (5.3 step 2).
_INVISIBLE = str.maketrans({"\u00a0": " ", "\u200b": " ", "\u2007": " ", "\u202f": " ", "\u200c": None,
                            "\u200d": None, "\ufeff": None, "\u00ad": None, "\u2060": None})
# The same before legacy repair, keeping the soft hyphen: it is the letter ư in TCVN3.
_PRE_LEGACY = str.maketrans({k: v for k, v in _INVISIBLE.items() if k != 0xAD})
_ETH = str.maketrans({"\u00d0": "Đ", "\u00f0": "đ", "\u0189": "Đ"})
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_FOLD_DD = str.maketrans({"đ": "d", "ð": "d"})
_EDGE_PUNCT = ".,;:!?\"()[]{}<>*~_|/\\+=-'"
_HAS_EDGE_PUNCT = re.compile("[" + re.escape(_EDGE_PUNCT) + "]")
_BRACKETED = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")


def _chars_of(table: Mapping[int, str | None]) -> re.Pattern[str]:
    return re.compile("[" + re.escape("".join(map(chr, table))) + "]")


# str.translate with a dict looks every character up (~0.7-1 us for a name, even with nothing to
# replace); a regex search for the table's characters costs ~0.1 us, and these characters are rare.
_HAS_INVISIBLE, _HAS_PRE_LEGACY = _chars_of(_INVISIBLE), _chars_of(_PRE_LEGACY)
_HAS_ETH, _HAS_APOSTROPHE = _chars_of(_ETH), _chars_of(_APOSTROPHES)


def _translate(text: str, table: Mapping[int, str | None], present: re.Pattern[str]) -> str:
    """`text.translate(table)`, skipped when none of the table's characters occur."""
    return text.translate(table) if present.search(text) else text


_FAMILY = {unicodedata.normalize("NFC", n).casefold() for n in FAMILY_NAMES + MINORITY_FAMILY_NAMES}


def _slow_fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_FOLD_DD)


# Hot path: one str.translate for every Latin letter with diacritics (and the combining marks of NFD
# input), built once from the slow definition above; anything else falls back to it.
_FOLD_TABLE: dict[int, str | None] = {cp: _slow_fold(chr(cp)) for r in (range(0xC0, 0x250), range(0x1E00, 0x1F00)) for cp in r
               if unicodedata.category(chr(cp)).startswith("L")}
_FOLD_TABLE.update({cp: None for cp in range(0x300, 0x370)})
_FOLD_TABLE.update({cp: chr(cp + 32) for cp in range(ord("A"), ord("Z") + 1)})


def _fold_text(word: str) -> str:
    if word.isascii():
        return word.lower()
    fast = word.translate(_FOLD_TABLE)
    return fast if fast.isascii() else _slow_fold(word)


# Pure, and names reuse a small vocabulary: cached, like is_vietnamese_syllable. A name that misses
# parse_name's cache folds its words, its first two words and all its words joined (order, honorific
# and placeholder checks), and other spellings of the same name fold the same words and phrases again
# (measured: caching the phrases too is faster than folding them afresh). Emptied by `clear_name_caches`.
_fold_word = lru_cache(maxsize=65_536)(_fold_text)

_COMPOUNDS = [(compound, compound.count(" ") + 1) for compound in COMPOUND_FAMILY_NAMES]  # in list order
_MINORITY_FAMILY = {unicodedata.normalize("NFC", n).casefold() for n in MINORITY_FAMILY_NAMES}
_FAMILY_FOLDED = {_fold_word(n) for n in _FAMILY}


@dataclass(frozen=True, slots=True)
class NameResult:
    raw: str
    display: str | None  # None for blank, placeholder or unreadable names: they never link anything
    fold_key: str | None
    family: str | None = None
    middle: str | None = None
    given: str | None = None
    reason: str | None = None  # why display is None
    extra: tuple[str, ...] = ()  # text kept out of the name: digits (birth years), bracketed notes
    flags: tuple[Flag, ...] = ()

    @property
    def ok(self) -> bool:
        return self.display is not None

    @property
    def flag_codes(self) -> list[str]:
        return flag_codes(self.flags)

    @property
    def match_key(self) -> str | None:
        return self.fold_key


def name_fold_key(text: str) -> str:
    """Lower-case, no diacritics, Đ/đ (and the look-alike eth) -> d, punctuation runs -> one space."""
    if text.isascii():
        return _NON_ALNUM.sub(" ", text.lower()).strip()
    # Folding can leave Latin-1 letters (ø, æ) that read as legacy-encoded text; fold until stable so
    # that a key folds to itself.
    for _ in range(3):
        text, _ = repair_legacy_encoding(_translate(text, _PRE_LEGACY, _HAS_PRE_LEGACY))
        folded = _NON_ALNUM.sub(" ", _fold_word(_translate(unicodedata.normalize("NFKC", text), _INVISIBLE,
                                                           _HAS_INVISIBLE))).strip()
        if folded == text or folded.isascii():
            return folded
        text = folded
    return text


def normalise_name(raw: str) -> str | None:
    """The display form (NFC, cased, Vietnamese order); None for blank or placeholder names."""
    return parse_name(raw).display


@lru_cache(maxsize=65_536)
def parse_name(raw: str) -> NameResult:
    """Never raises on bad input: an unusable name comes back with display None and a reason.

    Cached (the result is immutable): the same spelling of a name arrives again and again in a
    stream (returning customers, and one Vietnamese in three is a Nguyễn).
    """
    result = _parse(raw)
    if result.display is not None:
        # Cleaning (brackets, digits, symbols removed) can leave text that now reads as a legacy
        # encoding; parse that once more so that the display form is a fixed point.
        repaired, encoding = _legacy_reading(result.display)
        if encoding:
            again = _parse(repaired)
            return NameResult(raw, again.display, again.fold_key, again.family, again.middle, again.given,
                              again.reason, result.extra + again.extra, result.flags + again.flags)
    return result


# The same display forms come back from many raw spellings; the legacy-encoding check on them (its
# syllable tests run on every display with a Latin-1 letter such as ê or à) is done once per display.
@lru_cache(maxsize=65_536)
def _legacy_reading(display: str) -> tuple[str, str | None]:
    return repair_legacy_encoding(display)


def _parse(raw: str) -> NameResult:
    flags: list[Flag] = []
    text = _clean_text(raw, flags)
    extra: list[str] = []
    if "(" in text or "[" in text:
        extra.extend(m.group(1) or m.group(2) for m in _BRACKETED.finditer(text) if (m.group(1) or m.group(2)))
        text = _BRACKETED.sub(" ", text)
        if extra:
            flags.append(Flag("bracketed_text", f"text in brackets kept apart from the name: {', '.join(extra)}"))
    # Most names have no edge punctuation, digit or non-Latin letter: a scan of the whole text spares
    # them a call per word, and gives the same words (_strip_edges returns a word without any of
    # _EDGE_PUNCT unchanged; letters and spaces alone hold no digit).
    if _HAS_EDGE_PUNCT.search(text):
        words = [w for w in (_strip_edges(w) for w in text.split()) if w]
    else:
        words = text.split()
    digits = [] if text.replace(" ", "").isalpha() else [w for w in words if any(map(str.isdigit, w))]
    if digits:
        words = [w for w in words if w not in digits]
        extra.extend(digits)
        flags.append(Flag("digits_removed", f"digits are not part of a name (a birth year, a phone): {' '.join(digits)}"))
    if _is_placeholder(words):
        return NameResult(raw, None, None, reason="placeholder" if raw.strip() else "empty", extra=tuple(extra),
                          flags=tuple(flags) + (Flag("placeholder", "blank or placeholder name, never an identity"),))
    # Every word is a substring of text (after the cleaning's whitespace collapsing, words are split
    # on " " only), so a text of Latin letters and spaces has no mixed-script word.
    mixed = [] if text.isascii() or _LATIN_TEXT.fullmatch(text) else [w for w in words if _mixed_script(w)]
    if mixed:
        return NameResult(raw, None, None, reason="mixed-script", extra=tuple(extra), flags=tuple(flags) + (Flag(
            "mixed_script", f"letters of several scripts in one word ({mixed[0]}): text extraction garbage"),))
    stripped = _strip_honorifics(words, flags)
    # Most names have no honorific: the same words were checked above (~2 us per uncached name).
    if stripped != words and _is_placeholder(stripped):
        return NameResult(raw, None, None, reason="placeholder", extra=tuple(extra), flags=tuple(flags))
    shown = _display_parts(tuple(map(_title_case, stripped)))
    flags.extend(shown.flags)
    if shown.display is None:
        return NameResult(raw, None, None, reason="placeholder", extra=tuple(extra), flags=tuple(flags))
    return NameResult(raw, shown.display, shown.fold_key, shown.family, shown.middle, shown.given, None,
                      tuple(extra), tuple(flags))


class _Display(NamedTuple):
    """What the name's words give once cleaned: display form, fold key, parts and the order flags."""

    display: str | None  # None: the words are a placeholder
    fold_key: str | None
    family: str | None
    middle: str | None
    given: str | None
    flags: tuple[Flag, ...]


# Pure in the words, and far fewer distinct than raw spellings: "NGUYỄN VĂN AN", "chị Nguyễn Văn An"
# in NFD and "Nguyễn Văn An" differ as raw strings (parse_name's cache misses) but clean to the same
# title-cased words. Order detection, the placeholder check and the fold key (~12 us of an uncached
# name) are then done once per word sequence. Cleared with parse_name's cache by `clear_name_caches`.
@lru_cache(maxsize=65_536)
def _display_parts(words: tuple[str, ...]) -> _Display:
    split_flags: list[Flag] = []
    display_words, family, middle, given = _split(list(words), split_flags)
    display = " ".join(display_words)
    # Checked again after reordering: "Van A Nguyen" is the placeholder "Nguyễn Văn A" given-name-first
    # (hypothesis found it: the display must be a fixed point of parse_name).
    if not display or _is_placeholder(display_words):
        return _Display(None, None, None, None, None, tuple(split_flags))
    return _Display(display, name_fold_key(display), family, middle, given, tuple(split_flags))


def clear_name_caches() -> None:
    """Empties parse_name's cache and those behind it (word sequences, displays, folded and title-cased
    words): benchmarks time cold runs."""
    parse_name.cache_clear()
    _display_parts.cache_clear()
    _legacy_reading.cache_clear()
    _fold_word.cache_clear()
    _title_case.cache_clear()


def _clean_text(raw: str, flags: list[Flag]) -> str:
    text = _translate(raw, _PRE_LEGACY, _HAS_PRE_LEGACY)
    if text != raw:
        flags.append(Flag("invisible_characters", "no-break or zero-width spaces or joiners removed"))
    text, encoding = repair_legacy_encoding(text)
    if encoding:
        flags.append(Flag("legacy_encoding", f"text was in the {encoding} encoding (typed with an old Vietnamese "
                          "font or read with the wrong code page) and was converted to Unicode"))
    if not text.isascii():
        if not unicodedata.is_normalized("NFC", text):
            flags.append(Flag("nfd_input", "decomposed Unicode (NFD, e.g. from macOS) was composed to NFC"))
        text = unicodedata.normalize("NFC", text)
        compat = text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)
        if compat != text:
            flags.append(Flag("compatibility_characters", "full-width or decorative letters mapped to plain ones"))
            text = compat
        cleaned = _translate(text, _INVISIBLE, _HAS_INVISIBLE)
        if cleaned != text:
            flags.append(Flag("invisible_characters", "soft hyphens removed"))
            text = cleaned
        cleaned = _translate(text, _ETH, _HAS_ETH)
        if cleaned != text:
            flags.append(Flag("eth_as_d", "Icelandic eth (Ð/ð), a look-alike of Đ/đ, replaced by Đ/đ"))
            text = cleaned
        cleaned = text if _PLAIN.fullmatch(text) else "".join(
            ch for ch in text if not unicodedata.category(ch).startswith(("S", "C")) or ch in "\t\n")
        if cleaned != text:
            flags.append(Flag("symbols_removed", "emoji, symbols or control characters removed"))
            text = cleaned
        # NFC again: deletions may have split a letter.
        text = unicodedata.normalize("NFC", _translate(text, _APOSTROPHES, _HAS_APOSTROPHE))
    return _SPACES.sub(" ", text).strip()


def _strip_edges(word: str) -> str:
    stripped = word.strip(_EDGE_PUNCT)
    # Keep the dot of an abbreviated honorific ("A.") for _strip_honorifics, drop it everywhere else.
    if word.endswith(".") and len(stripped) == 1:
        return stripped + "."
    return stripped


def _is_placeholder(words: list[str]) -> bool:
    joined = " ".join(words).casefold()
    return joined in PLACEHOLDER_NAMES or _fold_word(joined) in PLACEHOLDER_FOLDED or not any(
        map(str.isalpha, joined))


def _mixed_script(word: str) -> bool:
    if word.isascii() or _LATIN_WORD.fullmatch(word):
        return False
    scripts = {"LATIN" if ord(ch) < 0x250 or 0x1E00 <= ord(ch) < 0x1F00 else unicodedata.name(ch, "?").split(" ")[0]
               for ch in word if ch.isalpha()}
    return len(scripts) > 1


def _is_family(word: str) -> bool:
    lowered = word.casefold()
    return lowered in _FAMILY if not lowered.isascii() else lowered in _FAMILY_FOLDED


def _is_middle_marker(word: str) -> bool:
    return word.casefold() in MIDDLE_MARKERS


def _strip_honorifics(words: list[str], flags: list[Flag]) -> list[str]:
    while len(words) >= 2:
        pair = _fold_word(" ".join(words[:2]))
        if pair in HONORIFIC_PAIRS and len(words) >= 3:
            flags.append(Flag("honorific_removed", f"'{' '.join(words[:2])}' is a form of address, not part of the name"))
            words = words[2:]
            continue
        first = words[0]
        bare = first.rstrip(".")
        lowered = bare.casefold()
        if not bare or lowered not in HONORIFICS:
            break
        ambiguous = (lowered.isascii() and lowered in AMBIGUOUS_HONORIFICS) or lowered in {"anh", "ông"}
        if ambiguous and _is_middle_marker(words[1]) and len(words) >= 3:
            break  # "chu văn nguyện", "Ông Văn Tùng": a family name before Văn/Thị
        if lowered == "anh" and len(words) == 3 and _is_family(words[1]) and _is_middle_marker(words[2]):
            break  # "Anh Phạm Văn": nothing would be left for a given name, so Anh is it (given first)
        # "Anh/Ông Nguyễn Văn An": before a family name the word is a title; an unaccented "Chu"/"Ong"
        # is a family name itself there ("Chu Biện An"), so only its lower-case or dotted form counts.
        before_family = len(words) >= 3 and _is_family(words[1]) and not _is_middle_marker(words[1]) and (
            not _is_family(bare) or lowered in ("ông", "anh"))
        if ambiguous and not (bare[0].islower() or first.endswith(".") or before_family):
            break
        flags.append(Flag("honorific_removed", f"'{first}' is a form of address, not part of the name"))
        words = words[1:]
    return [w.rstrip(".") if len(w) == 2 and w.endswith(".") else w for w in words]


_APOSTROPHE_OR_HYPHEN = re.compile(r"(['\-])")


@lru_cache(maxsize=65_536)  # pure in the word; a few thousand distinct words (see _fold_word)
def _title_case(word: str) -> str:
    if word[:1].isupper() and (len(word) == 1 or word[1:].islower()) and "'" not in word and "-" not in word:
        return word  # already "Nguyễn"
    letters = [ch for ch in word if ch.isalpha()]
    if not letters:
        return word
    if not (all(ch.isupper() for ch in letters) or all(ch.islower() for ch in letters)
            or is_vietnamese_syllable(word)):
        return word  # deliberate mixed case (McDonald, DeAnna)
    parts = _APOSTROPHE_OR_HYPHEN.split(word.lower())
    return "".join(p[:1].title() + p[1:] for p in parts)


def _split(words: list[str], flags: list[Flag]) -> tuple[list[str], str | None, str | None, str | None]:
    """(display words in Vietnamese order, family, middle, given)."""
    n = len(words)
    if n == 0:
        return [], None, None, None
    folded = [_fold_word(w) for w in words]
    if _is_business(words, folded):
        flags.append(Flag("business", "contains a shop or company word: a business name, not split"))
        return words, None, None, None
    if n == 2 and words[0].casefold() in PARENT_WORDS:
        flags.append(Flag("nickname", f"'{words[0]} {words[1]}': a parent named after a child's nickname"))
        return words, None, None, None
    if n == 1:
        flags.append(Flag("single_word", "only one word: read as a given name, cannot be matched on its own"))
        return words, None, None, words[0]
    if folded[0] in ("y", "h", "k") or (words[0][:2].casefold() in ("h'", "k'")):
        # Ê Đê and Kơ Ho: given name first, clan name last (section 2.4).
        flags.append(Flag("minority_order", "Tây Nguyên naming: given name first, clan name last"))
        clan = next((i for i in range(1, n) if words[i].casefold() in _MINORITY_FAMILY), n - 1)
        return words, " ".join(words[clan:]), None, " ".join(words[:clan])
    for compound, size in _COMPOUNDS:
        if n > size and " ".join(folded[:size]) == compound:
            return _vietnamese_order(words, size)
    first_family, last_family = _is_family(words[0]), _is_family(words[-1])
    # Given name first, then family and middle names: "Lan Nguyễn Thị" (Facebook first/last fields).
    # A family name inside the name while the first word is none: the given name was put first. A
    # family name that is also a given name (Hà, Mai) counts only before middle names (Thị, Văn).
    first_strong = first_family and (folded[0] not in ALSO_GIVEN_NAMES or _is_middle_marker(words[1]))
    for i in range(1, n - 1):
        if not first_strong and _is_family(words[i]) and not _is_middle_marker(words[i]) and (
                words[i].casefold() not in HONORIFICS) and (
                folded[i] not in ALSO_GIVEN_NAMES or all(_is_middle_marker(w) for w in words[i + 1:])):
            ordered = words[i:] + words[:i]
            flags.append(_reversed_flag(words, ordered))
            return _vietnamese_order(ordered, _family_size(ordered))
    if first_family and (n >= 3 and _is_middle_marker(words[1]) or not last_family):
        return _vietnamese_order(words, 1)
    if last_family and folded[-1] in ALSO_GIVEN_NAMES and not first_family:
        flags.append(Flag("family_name_unknown", f"'{words[-1]}' is a family name and a given name; order unknown, "
                          "the last word is taken as the given name"))
        return words, None, " ".join(words[:-1]) or None, words[-1]
    # An honorific-looking family name (Ông, Chu) is never moved to the front, where it would read as a title.
    if last_family and words[-1].casefold() not in HONORIFICS and (
            not first_family or (folded[0] in ALSO_GIVEN_NAMES and folded[-1] not in ALSO_GIVEN_NAMES)):
        ordered = words[-1:] + words[:-1]
        flags.append(_reversed_flag(words, ordered))
        return _vietnamese_order(ordered, _family_size(ordered))
    if first_family:
        if folded[-1] not in ALSO_GIVEN_NAMES:
            flags.append(Flag("order_guessed", "both ends are family names; read in Vietnamese order"))
        return _vietnamese_order(words, 1)
    flags.append(Flag("family_name_unknown", "no known family name at either end; the last word is taken "
                      "as the given name"))
    return words, None, " ".join(words[:-1]) or None, words[-1]


def _family_size(words: list[str]) -> int:
    """1, or the length of a compound family name (Tôn Nữ, Nguyễn Phước) at the start."""
    folded = " ".join(_fold_word(w) for w in words[:4])
    for compound, size in _COMPOUNDS:
        if len(words) > size and (folded == compound or folded.startswith(compound + " ")):
            return size
    return 1


def _vietnamese_order(words: list[str], family_size: int) -> tuple[list[str], str | None, str | None, str | None]:
    family = " ".join(words[:family_size])
    rest = words[family_size:]
    if not rest:
        return words, family, None, None
    return words, family, " ".join(rest[:-1]) or None, rest[-1]


def _reversed_flag(written: list[str], ordered: list[str]) -> Flag:
    return Flag("reversed_order", f"given name written first ('{' '.join(written)}'); shown in Vietnamese order "
                f"'{' '.join(ordered)}'")


def _is_business(words: list[str], folded: list[str]) -> bool:
    joined = " ".join(folded)
    if any(phrase in joined for phrase in BUSINESS_PHRASES):
        return True
    for word, fold in zip(words, folded, strict=True):
        if word.casefold() in ACCENTED_BUSINESS_WORDS:
            return True
        if fold in BUSINESS_WORDS and fold not in ("quan", "si", "kho", "tiem"):
            return True
    return False
