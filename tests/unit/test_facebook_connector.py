"""Facebook Page connector on the documented payloads (tests/fixtures/facebook_*.json) and signature vectors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.base import hmac_sha256_hex
from connectors.facebook import FacebookConnector, LeadFetcher, lead_event
from resolver.normalise import canonical_event
from schema.errors import HandshakeRefused, InvalidSignature, MalformedPayload
from schema.events import CanonicalEvent, CloudEvent

PAGE, PSID, APP = "104523871234567", "6723145598012345", "1517776481860111"
SECRET = b"demo-app-secret"
NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
FIXTURE_DIR = Path(__file__).parents[1] / "fixtures"
DELIVERIES: dict[str, Any] = json.loads((FIXTURE_DIR / "facebook_webhooks.json").read_text(encoding="utf-8"))
GRAPH_LEAD: dict[str, Any] = json.loads((FIXTURE_DIR / "facebook_graph_lead.json").read_text(encoding="utf-8"))

# The worked example of the reference note (section 3.3): 249 bytes in Meta's escaped wire form.
NOTE_BODY = (rb'{"object":"page","entry":[{"id":"104523871234567","time":1795316400123,"messaging":[{"sender":'
             rb'{"id":"6723145598012345"},"recipient":{"id":"104523871234567"},"timestamp":1795316399876,'
             rb'"message":{"mid":"m_demo1","text":"Gi\u00e1 bao nhi\u00eau?"}}]}]}')
NOTE_SIG = "sha256=aed9cdd74a9fbe65a7a2c743a2d47f6c9fafd38ea7dd77db5283773ff871f751"


@pytest.fixture
def fb() -> FacebookConnector:
    return FacebookConnector()


def wire(doc: object) -> bytes:
    """Meta's wire form: non-ASCII as \\uXXXX, '/' as '\\/'."""
    return json.dumps(doc, separators=(",", ":")).replace("/", "\\/").encode()


def events_of(fb: FacebookConnector, name: str) -> list[CloudEvent]:
    return fb.parse(wire(DELIVERIES[name]), "application/json", APP, NOW)


def canonical(fb: FacebookConnector, event: CloudEvent) -> CanonicalEvent:
    result = canonical_event(fb.extract(event), event.id)
    assert isinstance(result, CanonicalEvent), result
    return result


def test_note_worked_example_verifies_on_the_escaped_bytes(fb: FacebookConnector) -> None:
    assert len(NOTE_BODY) == 249
    fb.verify({"x-hub-signature-256": NOTE_SIG}, NOTE_BODY, SECRET)
    [event] = fb.parse(NOTE_BODY, "application/json", APP, NOW)
    assert event.data["item"]["message"]["text"] == "Giá bao nhiêu?"


@pytest.mark.parametrize(
    "header",
    [
        "sha256=3d9182bd8bb5e9fdae969113d9fb258076ab6de38514d578faa132f09162fb96",  # re-encoded as UTF-8
        "sha1=aed9cdd74a9fbe65a7a2c743a2d47f6c9fafd38ea7dd77db5283773ff871f751",
        "aed9cdd74a9fbe65a7a2c743a2d47f6c9fafd38ea7dd77db5283773ff871f751",
        "",
    ],
    ids=["reserialised-utf8", "sha1-prefix", "no-prefix", "missing"],
)
def test_wrong_signatures_are_rejected(fb: FacebookConnector, header: str) -> None:
    with pytest.raises(InvalidSignature):
        fb.verify({"x-hub-signature-256": header} if header else {}, NOTE_BODY, SECRET)


def test_legacy_sha1_header_alone_is_not_enough(fb: FacebookConnector) -> None:
    import hashlib
    import hmac

    sha1 = "sha1=" + hmac.new(SECRET, NOTE_BODY, hashlib.sha1).hexdigest()
    with pytest.raises(InvalidSignature):
        fb.verify({"x-hub-signature": sha1}, NOTE_BODY, SECRET)


@pytest.mark.parametrize(
    ("name", "event_id", "key", "kind"),
    [
        ("message_text_quick_reply", f"fb:{PAGE}:m_Xk3vQ9pL2sT8wR1yZ0aB", f"{PAGE}:{PSID}", "message"),
        ("message_image", f"fb:{PAGE}:m_Qw8rT5yU2iO9pA3sD6fG", f"{PAGE}:{PSID}", "message"),
        ("postback_with_referral", f"fb:{PAGE}:m_Pb7yH3jK9lZ1xC5vB8nM", f"{PAGE}:{PSID}", "postback"),
        ("postback_string_timestamp_no_mid", f"fb:{PAGE}:pb:{PSID}:1795316510:GET_STARTED", f"{PAGE}:{PSID}",
         "postback"),
        ("referral_ad", f"fb:{PAGE}:ref:{PSID}:1795316550000:spa-q1", f"{PAGE}:{PSID}", "referral"),
        ("echo", f"fb:{PAGE}:m_Ec9oR2tY5uI8oP1aS4dF", f"{PAGE}:{PSID}", "message_echo"),
        ("standby_read", f"fb:{PAGE}:read:{PSID}:1795316800000", f"{PAGE}:{PSID}", "read"),
        ("comment", f"fb:{PAGE}:880011223344556_1234567890123456", f"{PAGE}:{PSID}", "comment"),
        ("leadgen", f"fb:{PAGE}:1234500000000001", f"{PAGE}:1234500000000001", "leadgen"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith(("fb:", PAGE)) else None,
)
def test_each_documented_event_becomes_one_keyed_event(fb: FacebookConnector, name: str, event_id: str,
                                                       key: str, kind: str) -> None:
    body = wire(DELIVERIES[name])
    fb.verify({"x-hub-signature-256": "sha256=" + hmac_sha256_hex(SECRET, body)}, body, SECRET)
    [event] = fb.parse(body, "application/json", APP, NOW)
    assert (event.id, fb.kafka_key(event), event.data["kind"]) == (event_id, key, kind)
    result = canonical(fb, event)
    if kind != "leadgen":
        assert ("fb_psid", f"{PAGE}:{PSID}") in [(i.type.value, i.value) for i in result.identifiers]


def test_messenger_timestamps_in_ms_and_as_seconds_strings(fb: FacebookConnector) -> None:
    [text] = events_of(fb, "message_text_quick_reply")
    assert text.time == datetime.fromtimestamp(1795316399.876, UTC)
    [postback] = events_of(fb, "postback_string_timestamp_no_mid")
    assert postback.time == datetime.fromtimestamp(1795316510, UTC)
    [comment] = events_of(fb, "comment")
    assert comment.time == datetime.fromtimestamp(1795316899, UTC)


def test_batched_delivery_gives_one_event_per_item_in_order(fb: FacebookConnector) -> None:
    events = events_of(fb, "batched")
    assert [e.id for e in events] == [f"fb:{PAGE}:m_a1", f"fb:{PAGE}:m_b2", f"fb:{PAGE}:1234500000000002"]
    assert [fb.kafka_key(e) for e in events] == [f"{PAGE}:{PSID}", f"{PAGE}:7011223344556677",
                                                 f"{PAGE}:1234500000000002"]
    assert events[0].data["item"]["message"]["text"] == "Chào shop, đơn của mình đã giao chưa?"
    assert events[1].data["item"]["message"]["text"] == "https://shopee.vn/vay-lua"
    again = fb.parse(wire(DELIVERIES["batched"]), "application/json", APP, NOW + timedelta(hours=36))
    assert [e.id for e in again] == [e.id for e in events]


def test_echo_lands_on_the_recipients_timeline_as_outbound(fb: FacebookConnector) -> None:
    [echo] = events_of(fb, "echo")
    result = canonical(fb, echo)
    assert [(i.type.value, i.value) for i in result.identifiers] == [("fb_psid", f"{PAGE}:{PSID}")]
    assert result.interaction.payload["direction"] == "outbound"
    assert result.interaction.summary == "Dạ còn ạ, giá 459.000 ₫ chị nhé."


def test_quick_reply_phone_is_a_claim_not_an_identifier(fb: FacebookConnector) -> None:
    [event] = events_of(fb, "message_phone_quick_reply")
    result = canonical(fb, event)
    assert {i.type.value for i in result.identifiers} == {"fb_psid"}
    assert result.attributes["fb_claimed_contact"] == "+84938123456"


def test_referral_attribution_is_kept(fb: FacebookConnector) -> None:
    [postback] = events_of(fb, "postback_with_referral")
    assert canonical(fb, postback).attributes["fb_referral_ref"] == "tet2027"
    [ad] = events_of(fb, "referral_ad")
    assert canonical(fb, ad).attributes["fb_referral_ad_id"] == "120210000000000001"


def test_comment_gives_commenter_psid_and_name_and_the_pages_own_comment_is_dropped(fb: FacebookConnector) -> None:
    [comment] = events_of(fb, "comment")
    result = canonical(fb, comment)
    assert result.name is not None and result.name.raw == "Trần Minh Khoa"
    assert {i.type.value for i in result.identifiers} == {"fb_psid"}  # the phone in the text is a mention
    assert result.interaction.summary == "Ib giá giúp mình nha, sđt 0938 123 456"
    assert events_of(fb, "page_own_comment") == []


def test_comment_edits_and_removals_get_their_own_ids(fb: FacebookConnector) -> None:
    base = DELIVERIES["comment"]
    value = base["entry"][0]["changes"][0]["value"]

    def with_value(**changes: Any) -> str:
        doc = json.loads(json.dumps(base))
        doc["entry"][0]["changes"][0]["value"] = {**value, **changes}
        [event] = fb.parse(wire(doc), "application/json", APP, NOW)
        return event.id

    add, remove = with_value(), with_value(verb="remove")
    edit1, edit2 = with_value(verb="edited", message="Giá sao ạ?"), with_value(verb="edited", message="Còn không?")
    assert len({add, remove, edit1, edit2}) == 4 and remove.endswith(":remove")


class RecordedGraph:
    """A LeadFetcher answering from the recorded Graph API response (tests/fixtures/facebook_graph_lead.json)."""

    async def fetch_lead(self, leadgen_id: str, page_id: str) -> Mapping[str, Any]:
        assert (leadgen_id, page_id) == (GRAPH_LEAD["id"], PAGE)
        return GRAPH_LEAD


def test_leadgen_carries_ids_only_and_the_fetched_lead_joins_it_with_the_answers(fb: FacebookConnector) -> None:
    [webhook] = events_of(fb, "leadgen")
    ids_only = canonical(fb, webhook)
    assert [(i.type.value, i.value) for i in ids_only.identifiers] == [("external", "fb_lead:1234500000000001")]
    assert ids_only.attributes == {"fb_ad_id": "120210000000000001", "fb_adgroup_id": "120210000000000001",
                                   "fb_form_id": "987650000000001"}

    fetcher: LeadFetcher = RecordedGraph()
    answer = asyncio.run(fetcher.fetch_lead(webhook.data["leadgen_id"], webhook.data["page_id"]))
    lead = lead_event(answer, PAGE, NOW)
    assert lead.id == f"fb:{PAGE}:lead:1234500000000001"
    assert lead.time == datetime(2026, 11, 22, 3, 9, 59, tzinfo=UTC)  # ISO with +0000, not epoch seconds
    result = canonical(fb, lead)
    assert sorted((i.type.value, i.value) for i in result.identifiers) == [
        ("email", "phuc.le@example.vn"), ("external", "fb_lead:1234500000000001"), ("phone", "+84938123456")]
    assert result.name is not None and result.name.raw == "Lê Hoàng Phúc"
    assert result.attributes["fb_lead_city"] == "Đà Nẵng"
    assert result.attributes["fb_lead_bạn_quan_tâm_khóa_học_nào?"] == "ielts_6.5"
    assert result.source_record_id == ids_only.source_record_id == "lead:1234500000000001"


def test_lead_with_localised_email_key_is_detected_by_value(fb: FacebookConnector) -> None:
    lead = dict(GRAPH_LEAD, field_data=[{"name": "địa_chỉ_thư", "values": ["hoa.tran@example.vn"]},
                                        {"name": "số_điện_thoại", "values": ["0938 123 456"]}])
    result = canonical(fb, lead_event(lead, PAGE, NOW))
    assert sorted(i.value for i in result.identifiers if i.type.value in ("email", "phone")) == [
        "+84938123456", "hoa.tran@example.vn"]


@pytest.mark.parametrize(
    ("query", "outcome"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "tok-123", "hub.challenge": "1158201444"}, "1158201444"),
        ({"hub_mode": "subscribe", "hub_verify_token": "tok-123", "hub_challenge": "42"}, "42"),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, HandshakeRefused),
        ({"hub.mode": "unsubscribe", "hub.verify_token": "tok-123", "hub.challenge": "1"}, HandshakeRefused),
        ({"hub.mode": "subscribe", "hub.verify_token": "tok-123"}, MalformedPayload),
    ],
    ids=["dotted-names", "php-underscores", "wrong-token", "wrong-mode", "no-challenge"],
)
def test_subscription_handshake(fb: FacebookConnector, query: dict[str, str], outcome: object) -> None:
    if isinstance(outcome, str):
        assert fb.handshake(query, "tok-123") == outcome
    else:
        assert isinstance(outcome, type)
        with pytest.raises(outcome):
            fb.handshake(query, "tok-123")


def _batched_with(path: list[Any], value: Any) -> bytes:
    doc = json.loads(json.dumps(DELIVERIES["batched"]))
    node = doc
    for step in path[:-1]:
        node = node[step]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return wire(doc)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{", "body"),
        (wire({"object": "instagram", "entry": []}), "object"),
        (wire({"object": "page", "entry": {}}), "entry"),
        (_batched_with(["entry", 1], "x"), "entry[1]"),
        (_batched_with(["entry", 1, "messaging", 0, "sender"], {}), "entry[1].messaging[0].sender.id"),
        (_batched_with(["entry", 0, "messaging", 0, "recipient"], KeyError), "entry[0].messaging[0].recipient"),
        (_batched_with(["entry", 0, "messaging", 0, "timestamp"], "hôm qua"), "entry[0].messaging[0].timestamp"),
        (_batched_with(["entry", 0, "messaging", 0, "message", "mid"], KeyError),
         "entry[0].messaging[0].message.mid"),
        (_batched_with(["entry", 2, "changes", 0, "value", "leadgen_id"], 1.5e15),
         "entry[2].changes[0].value.leadgen_id"),
        (_batched_with(["entry", 2, "changes", 0, "field"], KeyError), "entry[2].changes[0].field"),
        (_batched_with(["entry", 2, "changes"], {}), "entry[2].changes"),
        (_batched_with(["entry", 0, "id"], KeyError), "entry[0].id"),
    ],
    ids=["bad-json", "not-page-object", "entry-not-list", "entry-not-object", "sender-without-id",
         "no-recipient", "bad-timestamp", "message-without-mid", "float-leadgen-id", "change-without-field",
         "changes-not-list", "entry-without-page-id"],
)
def test_one_bad_item_rejects_the_whole_delivery_naming_its_path(fb: FacebookConnector, body: bytes,
                                                                  field: str) -> None:
    with pytest.raises(MalformedPayload) as err:
        fb.parse(body, "application/json", APP, NOW)
    assert err.value.field == field
