"""Zalo OA connector on the documented payloads (tests/fixtures/zalo_events.json) and signature vectors."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.zalo import ZaloConnector, zalo_signature
from resolver.normalise import canonical_event
from schema.errors import InvalidSignature, MalformedPayload
from schema.events import CanonicalEvent

APP, OA, USER, BY_APP = "1234567890123456789", "579745863508352884", "8448021542710133051", "3017604586227812744"
OA_KEY = b"demo-oa-secret"
CLOCK = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # an hour after the fixtures' events
FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "zalo_events.json").read_text(encoding="utf-8"))

# The worked example of the reference note (section 3.3): 228 bytes, computed independently.
NOTE_BODY = ('{"app_id":"1234567890123456789","event_name":"user_send_text","sender":{"id":"8448021542710133051"},'
             '"recipient":{"id":"579745863508352884"},"message":{"msg_id":"a5e1c9f0b7d24e3c","text":"Chào shop"},'
             '"timestamp":"1795316400000"}').encode()
NOTE_MAC = "22ac4b3972cee1ff6fbc7a03ba0c778ffc9d34df4bf2fd2bfe7cb8a3d297c25c"


@pytest.fixture
def zalo() -> ZaloConnector:
    return ZaloConnector(clock=lambda: CLOCK)


def wire(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def signed(body: bytes, key: bytes = OA_KEY) -> dict[str, str]:
    doc = json.loads(body)
    return {"x-zevent-signature": "mac=" + zalo_signature(doc["app_id"], body, doc["timestamp"], key)}


def canonical(zalo: ZaloConnector, name: str) -> CanonicalEvent:
    [event] = zalo.parse(wire(FIXTURES[name]), "application/json", APP, CLOCK)
    result = canonical_event(zalo.extract(event), event.id)
    assert isinstance(result, CanonicalEvent), result
    return result


def test_note_worked_example_verifies(zalo: ZaloConnector) -> None:
    assert len(NOTE_BODY) == 228
    assert zalo_signature(APP, NOTE_BODY, "1795316400000", OA_KEY) == NOTE_MAC
    zalo.verify({"x-zevent-signature": f"mac={NOTE_MAC}"}, NOTE_BODY, OA_KEY)
    zalo.verify({"x-zevent-signature": f"mac={NOTE_MAC.upper()}"}, NOTE_BODY, OA_KEY)


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("mac=58ab8763e40312896bdef96a71a2eed1db68180570486e662c9de79dc5f35522", OA_KEY),  # HMAC, not SHA-256
        ("mac=254e30bd0289b22217b685b62a5d090d0ade7f086ad42cec322f934c22eee58b", OA_KEY),  # re-serialised JSON
        (f"mac={NOTE_MAC}", b"the-app-secret"),  # app secret instead of the OA Secret Key
        (NOTE_MAC, OA_KEY),  # no mac= prefix
        ("", OA_KEY),
    ],
    ids=["hmac-construction", "reserialised-body", "app-secret-not-oa-key", "no-mac-prefix", "missing"],
)
def test_wrong_constructions_are_rejected(zalo: ZaloConnector, header: str, key: bytes) -> None:
    assert hmac.new(OA_KEY, APP.encode() + NOTE_BODY + b"1795316400000", hashlib.sha256).hexdigest() == \
        "58ab8763e40312896bdef96a71a2eed1db68180570486e662c9de79dc5f35522"
    with pytest.raises(InvalidSignature):
        zalo.verify({"x-zevent-signature": header} if header else {}, NOTE_BODY, key)


@pytest.mark.parametrize(
    ("age", "accepted"),
    [(timedelta(hours=12), True), (timedelta(hours=25), False), (timedelta(minutes=-10), False)],
    ids=["retry-after-12h", "older-than-24h", "10-min-in-the-future"],
)
def test_replay_window_accepts_honest_retries_only(age: timedelta, accepted: bool) -> None:
    zalo = ZaloConnector(clock=lambda: datetime(2026, 11, 22, 3, tzinfo=UTC) + age)
    headers = {"x-zevent-signature": f"mac={NOTE_MAC}"}
    if accepted:
        zalo.verify(headers, NOTE_BODY, OA_KEY)
    else:
        with pytest.raises(InvalidSignature, match="window"):
            zalo.verify(headers, NOTE_BODY, OA_KEY)


@pytest.mark.parametrize(
    ("name", "event_id", "kind", "direction"),
    [
        ("user_send_text", f"zalo:{OA}:9f2c4e7a1b3d5f60a8c1", "message", "inbound"),
        ("user_send_image", f"zalo:{OA}:0b7d9e21c4a6f3e58d20", "message", "inbound"),
        ("user_send_link", f"zalo:{OA}:5c1e8a3f90d24b7e6a11", "message", "inbound"),
        ("user_send_sticker", f"zalo:{OA}:7a3e0c51d8b94f26e1c3", "message", "inbound"),
        ("user_send_file", f"zalo:{OA}:2d8f6b0e4a1c7e93b5f2", "message", "inbound"),
        ("user_send_location", f"zalo:{OA}:e4b2a90c13d67f58a0b9", "message", "inbound"),
        ("follow", f"zalo:{OA}:follow:{USER}:1795316100000", "follow", "inbound"),
        ("unfollow", f"zalo:{OA}:unfollow:{USER}:1795316990000", "unfollow", "inbound"),
        ("user_submit_info_flat", f"zalo:{OA}:submit:{USER}:1795316760000", "contact_shared", "inbound"),
        ("user_received_message", f"zalo:{OA}:recv:c0ffee5a1b2c3d4e5f60", "message_status", "status"),
        ("user_seen_message", f"zalo:{OA}:seen:c0ffee5a1b2c3d4e5f60,c0ffee5a1b2c3d4e5f61:1795316880000",
         "message_status", "status"),
        ("oa_send_text", f"zalo:{OA}:d1e2f3a4b5c6d7e8f901", "message", "outbound"),
        ("user_click_chatnow", f"zalo:{OA}:chatnow:{USER}", "zalo_event", "inbound"),
        ("user_reacted_message", f"zalo:{OA}:react:d1e2f3a4b5c6d7e8f901:/-heart:1795316960000", "zalo_event",
         "inbound"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("zalo:") else None,
)
def test_every_documented_event_lands_on_the_users_timeline(zalo: ZaloConnector, name: str, event_id: str,
                                                             kind: str, direction: str) -> None:
    body = wire(FIXTURES[name])
    assert zalo.secret_id(APP, body) == f"{APP}:{OA}"  # the OA side is found whichever way the event points
    zalo.verify(signed(body), body, OA_KEY)
    [event] = zalo.parse(body, "application/json", APP, CLOCK)
    assert event.id == event_id
    assert zalo.kafka_key(event) == f"{OA}:{USER}"  # the user, also for the OA's own messages
    assert event.time == datetime.fromtimestamp(int(FIXTURES[name]["timestamp"]) / 1000, UTC)
    result = canonical(zalo, name)
    assert [(i.type.value, i.value) for i in result.identifiers if i.type.value == "zalo"] == [
        ("zalo", f"{OA}:{USER}"), ("zalo", f"app:{APP}:{BY_APP}")]
    assert result.interaction.kind == kind and result.interaction.payload["direction"] == direction
    assert result.source == f"zalo:{OA}" and result.source_record_id == USER


def test_phones_typed_in_messages_are_not_identifiers(zalo: ZaloConnector) -> None:
    result = canonical(zalo, "user_send_text")
    assert "0912 345 678" in (result.interaction.summary or "")
    assert {i.type.value for i in result.identifiers} == {"zalo"}


def test_attachments_keep_urls_names_and_coordinates(zalo: ZaloConnector) -> None:
    assert canonical(zalo, "user_send_file").interaction.payload["attachments"] == [
        {"type": "file", "url": "https://f.example.zdn.vn/don-dat-hang.pdf", "name": "Đơn đặt hàng tháng 11.pdf"}]
    location = canonical(zalo, "user_send_location").interaction.payload["attachments"][0]
    assert location["coordinates"] == {"latitude": "10.7769", "longitude": "106.7009"}
    assert canonical(zalo, "oa_send_text").interaction.payload["admin_id"] == "2211009988776655443"


@pytest.mark.parametrize("shape", ["user_submit_info_flat", "user_submit_info_full_address"],
                         ids=["flat-info", "full-address-info"])
def test_submitted_info_gives_name_phone_and_address_in_both_shapes(zalo: ZaloConnector, shape: str) -> None:
    result = canonical(zalo, shape)
    assert result.name is not None and result.name.raw == "Nguyễn Thị Thu Hà"
    phones = [(i.value, i.raw) for i in result.identifiers if i.type.value == "phone"]
    assert phones == [("+84912345678", "84912345678")]
    assert result.attributes["zalo_address"] == "123 Nguyễn Đình Chiểu"
    assert result.attributes["zalo_ward"] == "Phường Võ Thị Sáu"
    assert result.attributes["zalo_city"] == "Thành phố Hồ Chí Minh"
    if shape == "user_submit_info_full_address":
        assert result.attributes["zalo_user_dob"] == "14/02/1994" and result.attributes["zalo_gender"] == "Nữ"
    else:
        assert result.attributes["zalo_district"] == "Quận 3"


def test_two_oas_of_one_app_pick_their_own_secret(zalo: ZaloConnector) -> None:
    other = dict(FIXTURES["user_send_text"], recipient={"id": "611122233344455566"})
    assert zalo.secret_id(APP, wire(other)) == f"{APP}:611122233344455566"
    with pytest.raises(InvalidSignature, match="not the app"):
        zalo.secret_id("999", wire(other))


def test_unsigned_registration_probe_is_recognised(zalo: ZaloConnector) -> None:
    assert zalo.is_unsigned_probe({}, b"{}")
    assert zalo.is_unsigned_probe({}, b'{"app_id":"1"}')
    assert not zalo.is_unsigned_probe({"x-zevent-signature": "mac=00"}, b"{}")
    assert not zalo.is_unsigned_probe({}, wire(FIXTURES["user_send_text"]))  # a real event must verify


def test_a_top_level_oa_id_does_not_hide_the_sender(zalo: ZaloConnector) -> None:
    body = wire(dict(FIXTURES["user_send_text"], oa_id=OA))
    [event] = zalo.parse(body, "application/json", APP, CLOCK)
    assert zalo.kafka_key(event) == f"{OA}:{USER}"


def test_doc_sample_12_digit_timestamp_is_still_milliseconds(zalo: ZaloConnector) -> None:
    body = wire(dict(FIXTURES["follow"], timestamp="154390853474"))
    [event] = zalo.parse(body, "application/json", APP, CLOCK)
    assert event.time == datetime.fromtimestamp(154390853.474, UTC)


def test_unknown_event_is_kept_and_keyed_by_its_bytes(zalo: ZaloConnector) -> None:
    body = wire(dict(FIXTURES["user_send_text"], event_name="user_shared_wishlist",
                     message={"text": "danh thiếp"}))
    [a] = zalo.parse(body, "application/json", APP, CLOCK)
    [b] = zalo.parse(body, "application/json", APP, CLOCK + timedelta(hours=1))
    assert a.id == b.id and a.id.startswith(f"zalo:{OA}:body:")
    assert a.data["event"]["message"] == {"text": "danh thiếp"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (b"\xff", "body"),
        (wire({k: v for k, v in FIXTURES["user_send_text"].items() if k != "event_name"}), "event_name"),
        (wire(dict(FIXTURES["user_send_text"], timestamp="hôm nay")), "timestamp"),
        (wire(dict(FIXTURES["user_send_text"], message={"text": "thiếu msg_id"})), "message.msg_id"),
        (wire(dict(FIXTURES["user_send_text"], sender={"id": 8.448e18})), "sender.id"),
        (wire(dict(FIXTURES["user_seen_message"], message={"msg_ids": "c0ffee"})), "message.msg_ids"),
        (wire(dict(FIXTURES["follow"], follower={})), "follower.id"),
        (wire({k: v for k, v in FIXTURES["user_send_text"].items() if k != "app_id"}), "app_id"),
        (wire(dict(FIXTURES["user_send_text"], event_name="add_user_to_tag", recipient=None)), "oa_id"),
        (wire(dict(FIXTURES["user_send_text"], recipient={})), "recipient.id"),
        (wire(dict(FIXTURES["user_send_text"], sender={})), "sender.id"),
        (wire(dict(FIXTURES["oa_send_text"], sender={})), "sender.id"),
    ],
    ids=["bad-json", "not-object", "invalid-utf8", "no-event-name", "bad-timestamp", "no-msg-id",
         "float-user-id", "seen-ids-not-list", "follow-without-follower", "no-app-id", "unknown-event-no-oa",
         "user-event-no-recipient-oa", "user-send-no-sender", "oa-send-no-sender-oa"],
)
def test_malformed_bodies_name_the_field(zalo: ZaloConnector, body: bytes, field: str) -> None:
    with pytest.raises(MalformedPayload) as err:
        zalo.parse(body, "application/json", APP, CLOCK)
    assert err.value.field == field
