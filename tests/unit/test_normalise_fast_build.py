"""canonical_event builds the event's models directly for trusted inputs (resolver/normalise.py,
_built_event): the result must be what the model's validator returns for the same values, field by
field, with the same value types, fields set, extra and private state, and the same JSON.

bench/normalise_identity.py compares the whole normaliser with the code before this path existed.
"""

from __future__ import annotations

from collections import UserDict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import resolver.normalise as normalise
from resolver.normalise import canonical_event
from schema.contact import RawContact
from schema.events import CanonicalEvent, RawRef

NOW = datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC)


def state(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return (type(obj), {k: state(v) for k, v in obj.__dict__.items()}, obj.__pydantic_fields_set__,
                obj.__pydantic_extra__, obj.__pydantic_private__)
    if isinstance(obj, list):
        return [state(v) for v in obj]
    if isinstance(obj, dict):
        return {k: state(v) for k, v in obj.items()}
    return (type(obj), obj)


def both_ways(monkeypatch: pytest.MonkeyPatch, contact: RawContact, raw_ref: RawRef | None = None) -> tuple[Any, Any]:
    built = canonical_event(contact, "e1", raw_ref)
    with monkeypatch.context() as m:
        m.setattr(normalise, "_trusted", lambda *args: False)
        validated = canonical_event(contact, "e1", raw_ref)
    return built, validated


def contact(**kw: Any) -> RawContact:
    values: dict[str, Any] = {"channel": "webform", "source": "webform:t", "source_record_id": "r1", "occurred_at": NOW,
                              "received_at": NOW, "interaction_kind": "form_submission"}
    return RawContact(**(values | kw))


TEXT = st.text(alphabet="0123456789 +().-abcxăđêô@_", max_size=16)


@settings(max_examples=300, deadline=None)
@given(name=st.none() | st.sampled_from(["Nguyễn Văn An", "chị Lan", "x", "NGUYỄN THỊ LAN", "Lan Nguyễn Thị", ""]),
       phones=st.lists(st.sampled_from(["0912345678", "+84 912 345 678", "0168.442.2590", "1800 1091", "abc",
                                        "0912345678 hoặc 0987654321", "024 3812 3456 ext 12", "+1 650 253 0000"])
                       | TEXT, max_size=3),
       emails=st.lists(st.sampled_from(["Lan@GMAIL.com", "a.b+c@gmail.com", "x@gmial.com", "test@test.com", "bad@"])
                       | TEXT, max_size=2),
       channel_ids=st.lists(st.tuples(st.sampled_from(["zalo", "fb_psid", "external"]), TEXT), max_size=2),
       attributes=st.dictionaries(st.sampled_from(["utm_source", "name.flags", "k"]), TEXT, max_size=2),
       summary=st.none() | TEXT, amount=st.none() | st.integers(-10**20, 10**20),
       payload=st.sampled_from([{}, {"a": 1}, {"n": {"x": [1, None]}}, {"t": NOW}]),
       when=st.sampled_from([NOW, NOW.replace(tzinfo=None), NOW.astimezone(timezone(timedelta(hours=7))),
                             NOW.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))]),
       address=st.none() | st.sampled_from(["12 Nguyễn Huệ, Quận 1, TP HCM", "abc"]),
       raw_ref=st.none() | st.just(RawRef(topic="raw.webform", partition=1, offset=7)))
def test_built_event_is_what_the_validator_returns(name: str | None, phones: list[str], emails: list[str],
                                                   channel_ids: list[tuple[str, str]], attributes: dict[str, str],
                                                   summary: str | None, amount: int | None, payload: dict[str, Any],
                                                   when: datetime, address: str | None, raw_ref: RawRef | None) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        c = contact(name=name, phones=phones, emails=emails, channel_ids=channel_ids, attributes=attributes,
                    summary=summary, amount_vnd=amount, payload=payload, occurred_at=when, address=address)
        assert normalise._trusted(c, "e1", raw_ref)
        built, validated = both_ways(monkeypatch, c, raw_ref)
    assert type(built) is type(validated)
    if isinstance(built, CanonicalEvent):
        assert state(built) == state(validated)
        assert built.model_dump_json() == validated.model_dump_json()
        assert built == validated
        assert built.interaction.payload is not c.payload  # a copy, as the validator makes
    else:
        assert built == validated


class Str(str):
    pass


@pytest.mark.parametrize("change", [
    {"amount_vnd": True}, {"amount_vnd": "12"}, {"amount_vnd": 1.0}, {"summary": 5}, {"channel": Str("webform")},
    {"occurred_at": "2026-11-23T01:02:03Z"}, {"attributes": {"k": 1}}, {"attributes": {"k": Str("v")}},
    {"payload": {1: "x"}}, {"phones": [Str("0912345678")]}, {"channel_ids": [("zalo", Str("123"))]},
    {"name": Str("Nguyễn Văn An")}, {"source": None}, {"attributes": UserDict({"k": "v"})},
])
def test_anything_else_goes_through_the_validator(change: dict[str, Any]) -> None:
    """A str subclass, a bool or "12" for an int, a string for a time, a non-str key or value: the
    validator coerces or refuses these, so the event is never built directly from them."""
    c = contact(**({"name": "Nguyễn Văn An", "phones": ["0912345678"]} | change))
    assert not normalise._trusted(c, "e1", None)
    assert not normalise._trusted(contact(), "e1", {"topic": "t", "partition": 0, "offset": 1})  # type: ignore[arg-type]
    assert not normalise._trusted(contact(), Str("e1"), None)
