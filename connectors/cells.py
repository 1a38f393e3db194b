"""Cell values of exported spreadsheets as the file connectors read them: text, phones, VND, times.

Spreadsheet damage is repaired here, before normalisation, because only the file connectors know a
cell came through Excel: a phone column stored as a number loses its leading 0 (`912345678`,
`912345678.0`), and scientific notation (`9.12E+08`) has lost digits for good, so that row is
rejected rather than guessed. Money is whole dong (VND has no minor unit, ISO 4217); the rules and
the `parse_vnd` code are from /work/shared/reference/pos.md section 6.2.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from resolver.timeparse import to_utc
from schema.errors import MalformedPayload, NormalisationError

_PHONE_SPLIT = re.compile(r"\s*(?:[,;/|\n]|\s-\s|\s+hoặc\s+|\s+or\s+)\s*", re.I)
_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?e\+?\d+$", re.I)
_NINE_DIGIT_MOBILE = re.compile(r"^[35789]\d{8}$")
_CURRENCY = re.compile(r"(₫|đồng|đ|VNĐ|VND)", re.I)
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_PLAIN_AMOUNT = re.compile(r"(\d+)([.,]\d{1,2})?")
_GROUPED_AMOUNT = re.compile(r"\d{1,3}([.,])\d{3}(?:\1\d{3})*(?:([.,])\d{1,2})?")


def cell_text(value: Any) -> str:
    """A cell as stripped text; integral floats lose their `.0` (openpyxl reads numbers as float)."""
    if type(value) is str:  # the common case (every CSV cell): skip the checks below
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).strip()


def phone_cells(value: Any, field: str) -> list[str]:
    """Every phone number in one cell, as text; restores the leading 0 Excel dropped."""
    if isinstance(value, float) and not value.is_integer():
        raise MalformedPayload(field, f"phone stored as a fractional number {value!r}")
    text = cell_text(value)
    if not text:
        return []
    if _SCIENTIFIC.match(text.replace(" ", "")):
        raise MalformedPayload(field, f"phone in scientific notation {text!r}: digits were lost in Excel")
    phones = []
    for part in _PHONE_SPLIT.split(text):
        part = part.strip()
        if part.endswith(".0") and part[:-2].isdigit():
            part = part[:-2]
        if _NINE_DIGIT_MOBILE.match(part):
            part = "0" + part  # a 9-digit mobile is a 10-digit one whose leading 0 was dropped
        if part:
            phones.append(part)
    return phones


def parse_vnd(value: Any, field: str) -> int:
    """Whole dong from a POS export cell: `1.250.000`, `1,250,000 ₫`, `1250000.00`, Excel floats."""
    if isinstance(value, bool):
        raise MalformedPayload(field, "expected an amount, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise MalformedPayload(field, f"fractional dong {value!r}")
        return int(value)
    s = _SPACES.sub("", _CURRENCY.sub("", str(value)))
    negative = s.startswith("-") or (s.startswith("(") and s.endswith(")"))
    s = s.strip("-()+")
    if m := _PLAIN_AMOUNT.fullmatch(s):
        digits, fraction = m.group(1), (m.group(2) or "")[1:]
    elif m := _GROUPED_AMOUNT.fullmatch(s):
        if m.group(2) == m.group(1):
            raise MalformedPayload(field, f"not an amount {value!r}")
        whole, fraction = s.rsplit(m.group(2), 1) if m.group(2) else (s, "")
        digits = whole.replace(m.group(1), "")
    else:
        raise MalformedPayload(field, f"not an amount {str(value)[:40]!r}")
    if fraction.strip("0"):
        raise MalformedPayload(field, f"fractional dong {value!r}")
    return -int(digits) if negative else int(digits)


def cell_time(value: Any, field: str, source_tz: str = "Asia/Ho_Chi_Minh") -> datetime:
    """ISO, day-first (`22/11/2026 14:05`) or an Excel datetime -> aware UTC; naive = `source_tz`."""
    try:
        return to_utc(value, source_tz, field)
    except NormalisationError as exc:
        raise MalformedPayload(field, exc.reason) from exc
