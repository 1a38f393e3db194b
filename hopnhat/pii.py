"""Masking of personal data for callers without the PII permission, for exports and for logs.

Pure functions, no I/O: the profile API, the CLI exports and the log formatter all call these, so a
phone looks the same (`+84 91* *** 678`) wherever it is masked. What counts as PII here: phones,
emails, national ids (CMND 9 digits / CCCD 12 digits), addresses and birth dates. Names are not
masked: analysts search and group by them, and a Vietnamese name alone identifies nobody (a handful
of family names cover most of the country).

Masks keep just enough to tell values apart in a list and to check a record on the phone with the
customer (the last digits, the mail domain, the province), never enough to contact the person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MASK = "***"

_DIGITS = re.compile(r"\d")


def mask_phone(value: str) -> str:
    """`+84912345678` -> `+84 91* *** 678`; a local or foreign number keeps its last three digits only."""
    digits = "".join(_DIGITS.findall(value))
    if value.strip().startswith("+84") or (digits.startswith("84") and len(digits) in (11, 12)):
        national = digits[2:]
        if len(national) >= 8:
            return f"+84 {national[:2]}* *** {national[-3:]}"
    elif digits.startswith("0") and len(digits) in (10, 11):
        return f"0{digits[1:3]}* *** {digits[-3:]}"
    if len(digits) <= 4:
        return MASK
    prefix = "+" if value.strip().startswith("+") else ""
    return f"{prefix}{'*' * (len(digits) - 3)}{digits[-3:]}"


def mask_email(value: str) -> str:
    """`nguyen.lan@gmail.com` -> `n***@gmail.com`: the domain stays (it says which provider, not who)."""
    local, at, domain = value.strip().rpartition("@")
    if not at or not local:
        return MASK
    return f"{local[0]}{MASK}@{domain}"


def mask_national_id(value: str) -> str:
    """CCCD `079190001234` -> `079*******34`: the first three digits are the province of registration."""
    digits = "".join(_DIGITS.findall(value))
    if len(digits) < 6:
        return MASK
    return f"{digits[:3]}{'*' * (len(digits) - 5)}{digits[-2:]}"


def mask_address(value: str) -> str:
    """`12 Lê Lợi, Phường Bến Nghé, TP. Hồ Chí Minh` -> `***, TP. Hồ Chí Minh`: only the province part stays."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if len(parts) <= 1:
        return MASK
    return f"{MASK}, {parts[-1]}"


def mask_birth_date(value: str) -> str:
    """`1990-05-17` -> `1990-**-**`: the year (an age band for analysts) stays, day and month go."""
    match = re.search(r"(19|20)\d\d", value)
    return f"{match.group(0)}-**-**" if match else MASK


def mask_identifier(typed: str) -> str:
    """`phone:+84912345678` -> `phone:+84 91* *** 678`; channel ids (zalo, fb_psid ...) stay as they are."""
    kind, sep, value = typed.partition(":")
    if not sep:
        return redact_text(typed)
    masker = _BY_IDENTIFIER_TYPE.get(kind)
    return f"{kind}:{masker(value)}" if masker else typed


_BY_IDENTIFIER_TYPE: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "email": mask_email,
    "national_id": mask_national_id,
}

# Payload keys (lower-cased, any channel) whose value is PII of a known kind. Connectors keep source
# payloads as received, so the keys are the sources' own spellings.
_KEY_KINDS: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
    (re.compile(r"phone|mobile|sdt|so_dien_thoai|tel|caller|callee|msisdn|from_number|to_number"), mask_phone),
    (re.compile(r"e-?mail|mail_from|reply_to"), mask_email),
    (re.compile(r"national_id|cccd|cmnd|id_card|identity_number|passport"), mask_national_id),
    (re.compile(r"address|dia_chi|street"), mask_address),
    (re.compile(r"birth|dob|ngay_sinh"), mask_birth_date),
)


def _masker_for_key(key: str) -> Callable[[str], str] | None:
    lowered = key.lower()
    for pattern, masker in _KEY_KINDS:
        if pattern.search(lowered):
            return masker
    return None


# Free text: a Vietnamese phone written any usual way (+84 / 84 / 0, dots, spaces, dashes), an email,
# a 12-digit CCCD. Lookarounds keep order numbers and amounts (digits glued to other digits) intact.
_PHONE_TEXT = re.compile(r"(?<![\w+])(?:\+84|84|0)[\s.\-]?(?:\d[\s.\-]?){8,9}\d(?!\d)")
_EMAIL_TEXT = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_CCCD_TEXT = re.compile(r"(?<!\d)\d{12}(?!\d)")


def redact_text(text: str) -> str:
    """Every phone, email and 12-digit national id inside free text, masked (log lines, summaries)."""
    text = _EMAIL_TEXT.sub(lambda m: mask_email(m.group(0)), text)
    text = _PHONE_TEXT.sub(lambda m: mask_phone(m.group(0)), text)
    return _CCCD_TEXT.sub(lambda m: mask_national_id(m.group(0)), text)


def mask_payload(value: Any, key: str | None = None) -> Any:
    """A channel payload (nested dicts and lists) with PII masked by key name, and in all free text."""
    if isinstance(value, dict):
        return {k: mask_payload(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_payload(v, key) for v in value]
    if isinstance(value, str):
        masker = _masker_for_key(key) if key else None
        return masker(value) if masker else redact_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and key and _masker_for_key(key) is mask_phone:
        return mask_phone(str(value))  # phones sent as JSON numbers (some call-centre events)
    return value


def mask_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """A golden record (as JSON) with phones, emails, addresses, identifiers and any birth date masked."""
    out = dict(profile)
    for field, masker in (("phones", mask_phone), ("emails", mask_email), ("addresses", mask_address)):
        out[field] = [{**v, "value": masker(v["value"])} for v in profile.get(field, [])]
    out["identifiers"] = [mask_identifier(i) for i in profile.get("identifiers", [])]
    shown = dict(profile.get("survivorship") or {})  # survivorship repeats the values it chose
    for field, masker in (("primary_phone", mask_phone), ("primary_email", mask_email)):
        if isinstance(profile.get(field), str):
            out[field] = masker(profile[field])
        if isinstance(shown.get(field), dict) and isinstance(shown[field].get("value"), str):
            shown[field] = {**shown[field], "value": masker(shown[field]["value"])}
    if "survivorship" in profile:
        out["survivorship"] = shown
    for field, masker in (("birth_date", mask_birth_date), ("national_id", mask_national_id)):
        if isinstance(profile.get(field), str):
            out[field] = masker(profile[field])
    return out


# The fields a masked read hides, as recorded in the audit table when a caller sees them unmasked.
PROFILE_PII_FIELDS = ("phones", "emails", "addresses", "identifiers", "birth_date", "national_id", "primary_phone",
                      "primary_email")
