"""Vietnamese-first phone normalisation to E.164 (default region VN).

Recipe and facts: ../shared/reference/vn_phone.md, section 8. The fast path reduces the input to a
national significant number (NSN) and full-matches it against phonenumbers' *own* VN patterns (read
once at import), so it can never disagree with the pinned library; only what the fast path cannot
decide (foreign numbers, odd input) goes through `phonenumbers.parse`, which is ~10x slower.

The 2018 conversion of 11-digit mobiles (0168x -> 038x, ...) is applied before validation and the
legacy form is kept as an alias. Placeholders (0000000000, 0123456789, ...) never become identifiers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType

_VN = PhoneMetadata.metadata_for_region("VN")
assert _VN is not None and _VN.mobile is not None and _VN.fixed_line is not None
assert _VN.mobile.national_number_pattern and _VN.fixed_line.national_number_pattern
_MOBILE = re.compile(_VN.mobile.national_number_pattern)
_FIXED = re.compile(_VN.fixed_line.national_number_pattern)

# Decision 798/QĐ-BTTTT (2018): old 4-digit mobile prefix -> new 3-digit prefix, last 7 digits kept.
# Keyed on the NSN without trunk 0 ("168" = 0168). Source: vn_phone.md section 3.
LEGACY_MOBILE_PREFIX = {
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    "162": "32", "163": "33", "164": "34", "165": "35", "166": "36",
    "167": "37", "168": "38", "169": "39", "186": "56", "188": "58", "199": "59",
}
# Only a 10-digit NSN is legacy: 0121 0xx.., 0160.., 0140.. are *new* 10-digit numbers (section 2).
_LEGACY_NSN = re.compile(r"1(?:2\d|6[2-9]|86|88|99)\d{7}")
_SPREADSHEET_INT = re.compile(r"\d+\.0")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_NOT_DIGIT = re.compile(r"\D")
_PLACEHOLDER_NSN = {"123456789", "1234567890", "987654321", "0123456789"}


@dataclass(frozen=True, slots=True)
class PhoneResult:
    raw: str
    e164: str | None
    kind: str  # mobile | landline | service | foreign | invalid
    reason: str | None = None
    legacy_alias: str | None = None

    @property
    def ok(self) -> bool:
        return self.e164 is not None

    @property
    def flags(self) -> list[str]:
        return ["legacy_11_digit"] if self.legacy_alias else []


def _invalid(raw: str, reason: str) -> PhoneResult:
    return PhoneResult(raw, None, "invalid", reason)


def normalise_phone(raw: str, default_region: str = "VN") -> PhoneResult:
    """Normalise one phone value; never raises on bad input (the result says why)."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if _SPREADSHEET_INT.fullmatch(text):
        text = text[:-2]
    if _SCIENTIFIC.fullmatch(text):
        return _invalid(raw, "spreadsheet-float")
    # Words before the number ("SĐT:", "tel:", "Zalo") are dropped; words after it would be read as
    # keypad digits by phonenumbers ("0912345678 (Lan)" -> ...526), so cut at the first letter then.
    digits_seen = False
    kept = []
    for ch in text.replace("(0)", ""):
        if ch.isdigit():
            digits_seen = True
        elif _LETTERS.match(ch) and digits_seen:
            break
        kept.append(ch)
    cleaned = "".join(kept).strip()
    plus = cleaned.lstrip(" :.").startswith("+") or "+" in cleaned[:6]
    digits = _NOT_DIGIT.sub("", cleaned)
    if not digits:
        return _invalid(raw, "no-digits")
    if len(set(digits)) == 1:
        return _invalid(raw, "placeholder")
    if digits.startswith("00"):
        digits, plus = digits[2:], True
    if digits.startswith("84") and (plus or len(digits) in (11, 12)):
        nsn = digits[2:]
        if nsn.startswith("0"):
            nsn = nsn[1:]
    elif plus:
        return _parse_with_library(raw, "+" + digits, default_region)
    else:
        nsn = digits[1:] if digits.startswith("0") else digits
    if nsn in _PLACEHOLDER_NSN or len(set(nsn)) == 1:
        return _invalid(raw, "placeholder")
    legacy = None
    if _LEGACY_NSN.fullmatch(nsn):
        legacy = "+84" + nsn
        nsn = LEGACY_MOBILE_PREFIX[nsn[:3]] + nsn[3:]
    if _MOBILE.fullmatch(nsn):
        return PhoneResult(raw, "+84" + nsn, "mobile", None, legacy)
    if _FIXED.fullmatch(nsn):
        return PhoneResult(raw, "+84" + nsn, "landline", None, legacy)
    return _parse_with_library(raw, "+84" + nsn, default_region, legacy)


def _parse_with_library(raw: str, candidate: str, region: str, legacy: str | None = None) -> PhoneResult:
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return _invalid(raw, "unparseable")
    if not phonenumbers.is_valid_number(number):
        reason = "too-short" if len(str(number.national_number)) < 8 else "unassigned-prefix"
        return PhoneResult(raw, None, "invalid", reason, legacy)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if number.country_code != 84:
        return PhoneResult(raw, e164, "foreign", None, legacy)
    kind = phonenumbers.number_type(number)
    if kind in (PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE, PhoneNumberType.UAN):
        return PhoneResult(raw, e164, "service", None, legacy)
    return PhoneResult(raw, e164, "landline" if kind == PhoneNumberType.FIXED_LINE else "mobile", None, legacy)
