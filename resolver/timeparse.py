"""Timestamps from any source -> aware UTC datetimes.

Sources send ISO 8601 with or without an offset, epoch seconds (Zalo, POS exports) or epoch
milliseconds (Facebook, JavaScript forms), and spreadsheets send Vietnamese day-first dates
("05/03/2024 14:30" is 5 March). A time without an offset is the source's local time, by default
Asia/Ho_Chi_Minh (UTC+7, no daylight saving since 1975). Errors are `NormalisationError` naming the
field, so a connector can turn them into `MalformedPayload` and the stream into a DLQ record.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schema.errors import NormalisationError

VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
# Epoch magnitudes: 1e11 seconds is the year 5138, so anything larger is milliseconds; 1e14 ms is
# the year 5138 again, so larger is microseconds, and larger than 1e17 nanoseconds.
_MS, _US, _NS = 1e11, 1e14, 1e17
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_DAY_FIRST = re.compile(
    r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ T,]+(\d{1,2})[:hg](\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?")


@lru_cache(maxsize=64)
def source_zone(name: str) -> tzinfo:
    if name in ("Asia/Ho_Chi_Minh", "Asia/Saigon", "+07:00"):
        return VN_TZ  # fixed offset: the same answer whether or not tzdata is installed
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise NormalisationError("source_tz", name, "unknown time zone") from exc


def to_utc(value: object, source_tz: str = "Asia/Ho_Chi_Minh", field: str = "time") -> datetime:
    """ISO 8601, day-first dates, epoch s/ms/µs/ns or a datetime -> aware UTC datetime."""
    zone = source_zone(source_tz)
    if isinstance(value, bool) or value is None:
        raise NormalisationError(field, repr(value), f"expected a timestamp, got {type(value).__name__}")
    if isinstance(value, datetime):
        return _in_utc(value if value.tzinfo else value.replace(tzinfo=zone), field)
    if isinstance(value, date):
        return _in_utc(datetime(value.year, value.month, value.day, tzinfo=zone), field)
    if isinstance(value, int | float):
        return _from_epoch(float(value), str(value), field)
    if not isinstance(value, str):
        raise NormalisationError(field, repr(value)[:40], f"expected a timestamp, got {type(value).__name__}")
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return _from_epoch(float(text), text, field)
    parsed = _parse_text(text)
    if parsed is None:
        raise NormalisationError(field, text[:40], f"not an ISO 8601 timestamp: {text[:40]!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return _in_utc(parsed, field)


def _in_utc(moment: datetime, field: str) -> datetime:
    """`astimezone(UTC)` overflows for 0001-01-01 at +07:00 or 9999-12-31 at -05:00: a bad value, not a crash."""
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise NormalisationError(field, moment.isoformat()[:40], "timestamp out of range in UTC") from exc


def _from_epoch(number: float, text: str, field: str) -> datetime:
    magnitude = abs(number)
    if magnitude > _NS:
        number /= 1e9
    elif magnitude > _US:
        number /= 1e6
    elif magnitude > _MS:
        number /= 1e3
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise NormalisationError(field, text, f"epoch out of range: {text}") from exc


def _parse_text(text: str) -> datetime | None:
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    if " " in iso and "T" not in iso and re.match(r"\d{4}-\d{2}-\d{2} ", iso):
        iso = iso.replace(" ", "T", 1)
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    match = _DAY_FIRST.fullmatch(text)
    if not match:
        return None
    day, month, year, hour, minute, second, fraction = match.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                        int((fraction or "0").ljust(6, "0")))
    except ValueError:
        return None
