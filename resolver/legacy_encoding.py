"""Repair of Vietnamese text typed in pre-Unicode font encodings (TCVN3/ABC, VNI-Windows) and of
UTF-8 read as cp1252, before any other name cleaning.

Facts: ../shared/reference/vn_names.md section 6. Such text reaches us as Latin-1 look-alikes
("NguyÔn", "Nguyeãn"), one character per original byte. Python has no codec for TCVN3 or VNI, so
the tables are here: TCVN3 maps one byte to one precomposed letter; VNI writes a base letter
followed by one mark byte (tone, circumflex or breve, or both in one byte). The byte values agree
with the reference's worked examples (Nguyễn, Trần, Đặng, Hương, Việt Nam in both encodings).

Detection is deliberately conservative: a field with any letter that exists only in Vietnamese
Unicode is left alone, and a conversion is kept only when every word of the result is a well-formed
Vietnamese syllable while the input was not ("Lê Hà" stays, "José" and "Raphaël" stay). Some bytes
mean different letters in the two tables (Ñ is ẹ in TCVN3 but Đ in VNI), so both are tried.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from resolver.family_names import COMMON_GIVEN_NAMES, FAMILY_NAMES, MIDDLE_MARKERS, MINORITY_FAMILY_NAMES

# TCVN3 (ABC) lower-case letters. Upper-case accented letters were typed in a separate ".VnTimeH"
# font using the same bytes, so they come out lower-case; callers re-case afterwards.
_TCVN3_ROWS = {
    "a": "µ¶·¸¹", "ă": "»¼½¾Æ", "â": "ÇÈÉÊË", "e": "ÌÎÏÐÑ", "ê": "ÒÓÔÕÖ", "i": "×ØÜÝÞ",
    "o": "ßáâãä", "ô": "åæçèé", "ơ": "êëìíî", "u": "ïñòóô", "ư": "õö÷øù", "y": "úûüýþ",
}
# Order of each row above: grave, hook, tilde, acute, dot below (TCVN3's own order).
_TONES = ("\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
TCVN3_TO_UNICODE: dict[str, str] = {
    "¨": "ă", "©": "â", "ª": "ê", "«": "ô", "¬": "ơ", "\u00ad": "ư", "®": "đ",
    "¡": "Ă", "¢": "Â", "£": "Ê", "¤": "Ô", "¥": "Ơ", "¦": "Ư", "§": "Đ",
}
for _base, _row in _TCVN3_ROWS.items():
    for _tone, _byte in zip(_TONES, _row, strict=True):
        TCVN3_TO_UNICODE[_byte] = unicodedata.normalize("NFC", _base + _tone)

_TCVN3_TABLE = str.maketrans(TCVN3_TO_UNICODE)

# VNI-Windows: mark bytes that follow a base vowel, as combining sequences (lower, UPPER).
_VNI_MARK_ROWS = [
    ("øØ", "\u0300"), ("ùÙ", "\u0301"), ("ûÛ", "\u0309"), ("õÕ", "\u0303"), ("ïÏ", "\u0323"),
    ("âÂ", "\u0302"), ("àÀ", "\u0302\u0300"), ("áÁ", "\u0302\u0301"), ("åÅ", "\u0302\u0309"),
    ("ãÃ", "\u0302\u0303"), ("äÄ", "\u0302\u0323"),
    ("êÊ", "\u0306"), ("èÈ", "\u0306\u0300"), ("éÉ", "\u0306\u0301"), ("úÚ", "\u0306\u0309"),
    ("üÜ", "\u0306\u0303"), ("ëË", "\u0306\u0323"),
]
VNI_MARKS: dict[str, str] = {ch: seq for chars, seq in _VNI_MARK_ROWS for ch in chars}
# Letters VNI writes as one byte of their own.
VNI_LETTERS = {"ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư", "ñ": "đ", "Ñ": "Đ", "æ": "ỉ", "Æ": "Ỉ",
               "ó": "ĩ", "Ó": "Ĩ", "ò": "ị", "Ò": "Ị", "î": "ỵ", "Î": "Ỵ"}
_CIRCUMFLEX_BASES = set("aeoAEO")
_BREVE_BASES = set("aA")
_VOWELS = set("aeiouyAEIOUYơưƠƯ")

_VIETNAMESE_ONLY = re.compile("[\u1ea0-\u1ef9ăĂđĐơƠưƯĩĨũŨ]")
_LATIN1 = re.compile("[\u00a0-\u00ff]")
_MOJIBAKE = re.compile("á»|áº|Æ°|Æ¡|Ä‘|Ä\u0090|Ä\u0091|Ã¡|Ã |Ã¢|Ã´|Ãª")

_NAME_WORDS = {unicodedata.normalize("NFC", w).casefold() for w in FAMILY_NAMES + MINORITY_FAMILY_NAMES
               + COMMON_GIVEN_NAMES} | MIDDLE_MARKERS

_ONSET = "(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
_NUCLEI = ("a e i o u y ai ao au ay eo eu ia ie iu ieu oa oai oao oay oe oeo oi oo ua uay ue ui uo uoi uou "
           "uu uy uya uye uyu ye yeu ưa")
_SYLLABLE = re.compile(
    f"{_ONSET}(?:{'|'.join(sorted(_NUCLEI.split(), key=len, reverse=True))})(?:ch|ng|nh|[cmnpt])?")
_TONE_MARKS = set(_TONES)
_VOWEL_MARKS = {"\u0302", "\u0306", "\u031b"}  # circumflex, breve, horn


# Pure, and names reuse a small vocabulary of syllables (a few thousand): cached per token. Measured
# on the bench/normalise.py names: parse_name without its own cache 38.4 -> 35.4 us per name.
@lru_cache(maxsize=16_384)
def is_vietnamese_syllable(token: str) -> bool:
    """A well-formed Vietnamese syllable: valid onset, nucleus and coda, at most one tone mark."""
    decomposed = unicodedata.normalize("NFD", token.casefold())
    tones = sum(ch in _TONE_MARKS for ch in decomposed)
    if tones > 1 or any(unicodedata.combining(ch) and ch not in _TONE_MARKS and ch not in _VOWEL_MARKS
                        for ch in decomposed):
        return False
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("đ", "d")
    return bool(_SYLLABLE.fullmatch(bare))


def decode_tcvn3(text: str) -> str:
    # One str.translate (every key is one character): the per-character generator it replaces was the
    # largest single cost of an uncached TCVN3 name.
    return unicodedata.normalize("NFC", text.translate(_TCVN3_TABLE))


def decode_vni(text: str) -> str:
    out: list[str] = []
    for ch in text:
        mark = VNI_MARKS.get(ch)
        if mark and out and _vni_mark_fits(out[-1], mark):
            out[-1] += mark
        elif ch in VNI_LETTERS and (ch not in "ñÑ" or not out or not out[-1][-1].isalpha()):
            out.append(VNI_LETTERS[ch])
        else:
            out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _vni_mark_fits(previous: str, mark: str) -> bool:
    if len(previous) != 1 or previous not in _VOWELS:
        return False  # not a bare vowel, or already carries a mark
    if mark[0] == "\u0302":
        return previous in _CIRCUMFLEX_BASES
    if mark[0] == "\u0306":
        return previous in _BREVE_BASES
    return True


_WORD_BREAKS = re.compile(r"[\s\-'.,]+")  # compiled once: re.split(pattern, ...) looks it up per call


def _all_syllables(text: str) -> bool:
    words = [w for w in _WORD_BREAKS.split(text) if w]
    return bool(words) and all(is_vietnamese_syllable(w) for w in words if not w.isdigit())


def repair_legacy_encoding(text: str) -> tuple[str, str | None]:
    """(repaired text, encoding name) or (text, None) when nothing was detected."""
    # Every legacy form uses Latin-1 characters (U+00A0-U+00FF); NFD input and real Unicode do not need
    # the syllable checks below.
    if text.isascii() or not _LATIN1.search(text) or _VIETNAMESE_ONLY.search(text):
        return text, None
    if _MOJIBAKE.search(text):
        for codec in ("cp1252", "latin-1"):
            try:
                return unicodedata.normalize("NFC", text.encode(codec).decode("utf-8")), "utf8-as-cp1252"
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
    original_valid = _all_syllables(text)
    known = _known_words(text) if original_valid else -1
    for name, decode in (("tcvn3", decode_tcvn3), ("vni", decode_vni)):
        candidate = decode(text)
        # Text that already reads as Vietnamese is converted only when the other reading has more
        # known name words: "Voõ Thò Kim Oanh" (VNI) is all syllables, but "Võ Thị Kim Oanh" is names.
        if candidate != text and _all_syllables(candidate) and _known_words(candidate) > known:
            return _recase(text, candidate), name
    return text, None


def _known_words(text: str) -> int:
    return sum(w.casefold() in _NAME_WORDS for w in text.split())


def _recase(original: str, converted: str) -> str:
    """TCVN3 upper-case text comes out partly lower-case ("NGUYễN"): give whole-caps words back."""
    out = []
    for before, after in zip(original.split(" "), converted.split(" "), strict=False):
        letters = [c for c in before if c.isascii() and c.isalpha()]
        out.append(after.upper() if len(letters) > 1 and all(c.isupper() for c in letters) else after)
    return " ".join(out) if len(out) == len(converted.split(" ")) else converted
