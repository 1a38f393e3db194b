"""resolver/timeparse.to_utc: every timestamp shape the connectors see, to aware UTC."""

from datetime import UTC, date, datetime, timezone, timedelta

import pytest

from resolver.timeparse import to_utc
from schema.errors import NormalisationError

NOON_UTC = datetime(2024, 3, 5, 7, 30, tzinfo=UTC)  # 14:30 in Hà Nội / TP.HCM
EPOCH = int(NOON_UTC.timestamp())

CASES = [
    ("iso-offset", "2024-03-05T14:30:00+07:00", NOON_UTC), ("iso-z", "2024-03-05T07:30:00Z", NOON_UTC),
    ("iso-lower-z", "2024-03-05t07:30:00z", NOON_UTC), ("iso-utc-offset", "2024-03-05T07:30:00+00:00", NOON_UTC),
    ("iso-naive-is-vietnam", "2024-03-05T14:30:00", NOON_UTC), ("iso-space", "2024-03-05 14:30:00", NOON_UTC),
    ("iso-millis", "2024-03-05T14:30:00.000+07:00", NOON_UTC), ("iso-basic", "20240305T073000Z", NOON_UTC),
    ("iso-other-offset", "2024-03-05T16:30:00+09:00", NOON_UTC), ("iso-padded", "  2024-03-05T14:30:00+07:00 ", NOON_UTC),
    ("epoch-seconds", EPOCH, NOON_UTC), ("epoch-seconds-text", str(EPOCH), NOON_UTC),
    ("epoch-seconds-float", float(EPOCH), NOON_UTC), ("epoch-millis", EPOCH * 1000, NOON_UTC),
    ("epoch-millis-text", str(EPOCH * 1000), NOON_UTC), ("epoch-micros", EPOCH * 1_000_000, NOON_UTC),
    ("epoch-nanos", EPOCH * 1_000_000_000, NOON_UTC), ("epoch-seconds-decimal-text", f"{EPOCH}.0", NOON_UTC),
    ("day-first-slash", "05/03/2024 14:30", NOON_UTC), ("day-first-seconds", "05/03/2024 14:30:00", NOON_UTC),
    ("day-first-dash", "05-03-2024 14:30", NOON_UTC), ("day-first-dots", "5.3.2024 14:30", NOON_UTC),
    ("day-first-h", "05/03/2024 14h30", NOON_UTC),
    ("date-only", "2024-03-05", datetime(2024, 3, 4, 17, 0, tzinfo=UTC)),
    ("day-first-date-only", "05/03/2024", datetime(2024, 3, 4, 17, 0, tzinfo=UTC)),
    ("aware-datetime", datetime(2024, 3, 5, 14, 30, tzinfo=timezone(timedelta(hours=7))), NOON_UTC),
    ("naive-datetime", datetime(2024, 3, 5, 14, 30), NOON_UTC),
    ("date", date(2024, 3, 5), datetime(2024, 3, 4, 17, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_to_utc(value: object, expected: datetime) -> None:
    result = to_utc(value)
    assert result == expected and result.tzinfo is UTC


def test_naive_time_in_another_source_zone() -> None:
    assert to_utc("2024-03-05T16:30:00", source_tz="Asia/Tokyo") == NOON_UTC
    assert to_utc("2024-03-05T07:30:00", source_tz="UTC") == NOON_UTC


BAD = [("text", "hôm qua"), ("none", None), ("bool", True), ("list", [1]), ("bad-date", "31/02/2024"),
       ("empty", ""), ("huge-epoch", "9" * 30), ("half-iso", "2024-13-45T99:00")]


@pytest.mark.parametrize("value", [c[1] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_values_raise_the_typed_error_naming_the_field(value: object) -> None:
    with pytest.raises(NormalisationError) as info:
        to_utc(value, field="submitted_at")
    assert info.value.field == "submitted_at"


def test_unknown_zone_is_a_typed_error() -> None:
    with pytest.raises(NormalisationError):
        to_utc("2024-03-05T14:30:00", source_tz="Mars/Olympus")
