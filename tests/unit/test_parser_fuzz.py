"""Property-based fuzzing of every connector's parser and of the normalisation step after it.

The corpus (test_bad_inputs.py) holds the cases someone thought of; this draws the rest. For every
channel in the registry, from three sources of input — arbitrary bytes, arbitrary JSON documents, and
the channel's own good delivery (test_connector_contract.CHANNELS) with one value anywhere in it
replaced by an arbitrary JSON value or the body cut short — `secret_id`, `is_unsigned_probe` and
`parse` raise nothing but the typed errors (`MalformedPayload`, `InvalidSignature` from `secret_id`),
and every event that parses also extracts and normalises (`canonical_event` answers an event or a
`Rejected`, never an exception). Budget: docs/RELIABILITY.md ("Fuzzing budget"); the examples per
test scale with HYPOTHESIS_EXAMPLES like test_normalise_properties.py, and CI draws them derandomised.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import REGISTRY, load_connector
from resolver.normalise import Rejected, canonical_event
from resolver.timeparse import to_utc
from schema.contact import RawContact
from schema.errors import InvalidSignature, MalformedPayload, NormalisationError
from schema.events import CanonicalEvent, IdentifierType
from tests.unit.test_connector_contract import CHANNELS, NOW

EXAMPLES = max(10, int(os.environ.get("HYPOTHESIS_EXAMPLES", "400")) // 8)  # 50 per test by default
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

VIETNAMESE = "Nguyễn Thị Lan Trần Văn Đức Phạm Hồng Ánh đơn hàng Quận 1 Hà Nội 0912 345 678 +84 ₫ "
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=30) | st.text(alphabet=VIETNAMESE, max_size=30)
           | st.sampled_from(["", "0", "-1", "0001-01-01", "9999-12-31T23:59:59", "1795317100", "84912345678",
                              "\u0000", "\r\nBcc: x@evil.vn", "1" * 30, "NaN"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a decoded JSON document (the root excluded)."""
    found: list[tuple[Any, ...]] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for key, value in items:
        found.append(prefix + (key,))
        found.extend(_paths(value, prefix + (key,)))
    return found


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(doc))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


@st.composite
def mutated_delivery(draw: st.DrawFn, channel: str) -> bytes:
    """The channel's good body with one value replaced, or cut short, or with bytes flipped."""
    good = CHANNELS[channel].good()
    how = draw(st.sampled_from(["replace", "truncate", "flip"]))
    if how == "truncate":
        return good[:draw(st.integers(0, len(good)))]
    if how == "flip":
        at = draw(st.integers(0, len(good) - 1))
        return good[:at] + bytes([draw(st.integers(0, 255))]) + good[at + 1:]
    try:
        doc = json.loads(good)
    except ValueError:  # CSV and MIME bodies: replace a slice with arbitrary text instead
        start = draw(st.integers(0, len(good)))
        text = draw(st.text(alphabet=VIETNAMESE + ",\"\r\n;=?:<>@", max_size=20)).encode()
        return good[:start] + text + good[start + draw(st.integers(0, 20)):]
    path = draw(st.sampled_from(_paths(doc)))
    return json.dumps(_replace(doc, path, draw(json_values)), ensure_ascii=draw(st.booleans())).encode()


def _parse_typed_or_nothing(channel: str, body: bytes) -> None:
    """What the webhook route runs after the body is read, minus the signature: typed errors only."""
    fx, connector = CHANNELS[channel], load_connector(channel)
    try:
        connector.is_unsigned_probe({}, body)
        connector.secret_id(fx.source_id, body)
        events = connector.parse(body, fx.content_type, fx.source_id, NOW)
    except (MalformedPayload, InvalidSignature):
        return
    for event in events:
        assert event.hopnhatchannel == channel and connector.kafka_key(event)
        contact = connector.extract(event)
        normalised = canonical_event(contact, event.id)
        assert isinstance(normalised, CanonicalEvent | Rejected)
        json.loads(event.model_dump_json())  # what the route publishes must serialise


@pytest.mark.parametrize("channel", sorted(REGISTRY))
@FUZZ
@given(data=st.data())
def test_any_mutation_of_a_good_delivery_parses_or_is_malformed(channel: str, data: st.DataObject) -> None:
    _parse_typed_or_nothing(channel, data.draw(mutated_delivery(channel)))


@pytest.mark.parametrize("channel", sorted(REGISTRY))
@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bytes_and_json_parse_or_are_malformed(channel: str, body: bytes) -> None:
    _parse_typed_or_nothing(channel, body)


TEXT = st.text(max_size=40) | st.text(alphabet=VIETNAMESE + "@.,-()/\u0000\u200b\u0301", max_size=40)


@FUZZ
@given(name=st.none() | TEXT, phones=st.lists(TEXT, max_size=3), emails=st.lists(TEXT, max_size=2),
       address=st.none() | TEXT, ids=st.lists(st.tuples(st.sampled_from([t.value for t in IdentifierType]), TEXT),
                                               max_size=2),
       occurred=st.datetimes(timezones=st.just(UTC)), amount=st.none() | st.integers(-10**12, 10**12))
def test_canonical_event_answers_an_event_or_a_rejection_for_any_contact(
        name: str | None, phones: list[str], emails: list[str], address: str | None,
        ids: list[tuple[str, str]], occurred: datetime, amount: int | None) -> None:
    contact = RawContact(channel="zalo", source="zalo:oa1", source_record_id="u1", occurred_at=occurred,
                         received_at=NOW, interaction_kind="contact_shared", name=name, phones=phones,
                         emails=emails, address=address, channel_ids=ids, amount_vnd=amount)
    result = canonical_event(contact, "zalo:fuzz")
    assert isinstance(result, CanonicalEvent | Rejected)
    if isinstance(result, Rejected):
        assert result.field and result.reason


@FUZZ
@given(st.datetimes(timezones=st.none() | st.timezones()) | st.dates()
       | st.datetimes().map(datetime.isoformat) | st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
       st.sampled_from(["Asia/Ho_Chi_Minh", "UTC", "America/Los_Angeles", "Pacific/Kiritimati"]))
def test_to_utc_of_any_date_or_iso_text_in_any_zone_is_aware_or_the_typed_error(value: object, zone: str) -> None:
    """Years 1 and 9999 included: shifting them to UTC overflows `datetime`, which must be a bad value."""
    try:
        moment = to_utc(value, zone, "t")
    except NormalisationError as exc:
        assert exc.field == "t"
        return
    assert moment.tzinfo is not None and moment.utcoffset() == UTC.utcoffset(None)


def test_year_one_at_plus_seven_is_a_typed_error_not_an_overflow() -> None:
    with pytest.raises(NormalisationError, match="out of range"):
        to_utc("0001-01-01", "Asia/Ho_Chi_Minh", "submitted_at")
    with pytest.raises(NormalisationError, match="out of range"):
        to_utc(datetime(9999, 12, 31, 23, 0), "America/Los_Angeles", "t")
