"""OMICall and CareSoft call webhooks (/work/shared/reference/call_logs.md §3.2, §3.3, §6): one `call`
interaction per finished call, direction, duration, talk time and the common dispositions, the customer's
number from the external side in any local format, and the agent or hotline never an identifier."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.call_record import whole_seconds
from connectors.caresoft import CaresoftConnector, caresoft_disposition, caresoft_signature
from connectors.omicall import OmicallConnector, omicall_disposition
from hopnhat.http.app import create_app
from hopnhat.settings import Settings
from resolver.normalise import Rejected, canonical_event
from schema.errors import InvalidSignature, MalformedPayload
from schema.events import CanonicalEvent
from tests.unit.test_connector_contract import RecordingPublisher

CALLS = json.loads((Path(__file__).parents[1] / "fixtures" / "cloud_call_webhooks.json").read_text(encoding="utf-8"))
OMI, CS = OmicallConnector(), CaresoftConnector()
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
TOKEN = "omicall-url-token-7f3a9c"


def wire(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def with_(name: str, *path_value: tuple[tuple[str, ...], Any]) -> bytes:
    doc = json.loads(json.dumps(CALLS[name]))
    for path, value in path_value:
        target = doc
        for key in path[:-1]:
            target = target[key]
        if value is ...:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return wire(doc)


def normalised(connector: OmicallConnector | CaresoftConnector, body: bytes, source: str = "shop-q1"
               ) -> CanonicalEvent:
    [event] = connector.parse(body, "application/json", source, NOW)
    result = canonical_event(connector.extract(event), event.id)
    assert not isinstance(result, Rejected), result
    return result


# --- OMICall ---------------------------------------------------------------------------------------

def test_omicall_hangup_is_one_answered_call_on_the_customers_phone_not_the_agent_or_hotline() -> None:
    body = wire(CALLS["omicall_hangup_inbound"])
    [event] = OMI.parse(body, "application/json", "shop-q1", NOW)
    assert event.id == "omicall:6391fe00a745be2a6aa10001:3f9c2a7e-51b4-4d0e-9a63-7c1e2b4d8f90"
    assert OMI.kafka_key(event) == "3f9c2a7e-51b4-4d0e-9a63-7c1e2b4d8f90"
    result = normalised(OMI, body)
    assert [(i.type.value, i.value) for i in result.identifiers] == [("phone", "+84912345678")]
    assert result.occurred_at == datetime.fromtimestamp(1795331109, UTC)  # time_start_call, epoch seconds
    interaction = result.interaction
    assert (interaction.kind, interaction.summary) == ("call", "Inbound call, answered, talk 1:47")
    payload = interaction.payload
    assert (payload["direction"], payload["duration_s"], payload["billsec_s"], payload["ring_s"],
            payload["disposition"], payload["agent"], payload["agent_name"], payload["business_number"]) == (
        "inbound", 113, 107, 6, "answered", "101", "Nguyễn Thu Thủy", "842873001234")
    assert payload["recording_url"] == "https://rec.example.vn/2026/11/22/3f9c2a7e.mp3"
    assert payload["ended_at"] == datetime.fromtimestamp(1795331222, UTC).isoformat()


def test_omicall_outbound_without_answer_reaches_the_dialled_customer() -> None:
    result = normalised(OMI, wire(CALLS["omicall_hangup_outbound_no_answer"]))
    assert [i.value for i in result.identifiers] == ["+84983271604"]
    assert (result.interaction.payload["direction"], result.interaction.payload["disposition"],
            result.interaction.summary) == ("outbound", "no_answer", "Outbound call, no answer")


@pytest.mark.parametrize("number", [
    pytest.param("0912345678", id="local-0"), pytest.param("84912345678", id="omicall-84"),
    pytest.param("+84912345678", id="e164"), pytest.param("+84 912 345 678", id="e164-spaced"),
    pytest.param("0912.345.678", id="dotted"),
])
def test_omicall_customer_number_in_any_local_format_is_one_identifier(number: str) -> None:
    result = normalised(OMI, with_("omicall_hangup_inbound", (("phone_number",), number)))
    assert [i.value for i in result.identifiers] == ["+84912345678"]
    assert result.interaction.payload["customer_number_raw"] == number


@pytest.mark.parametrize(("direction", "number"), [
    pytest.param("inbound", "+84912345678", id="inbound-source"),
    pytest.param("outbound", "+842873001234", id="outbound-dest"),
])
def test_omicall_without_phone_number_takes_the_external_side(direction: str, number: str) -> None:
    result = normalised(OMI, with_("omicall_hangup_inbound", (("phone_number",), ...), (("direction",), direction)))
    assert [i.value for i in result.identifiers] == [number]


@pytest.mark.parametrize(("word", "billsec", "expected"), [
    pytest.param(None, 12, "answered", id="no-word-talked"), pytest.param(None, 0, "no_answer", id="no-word-silent"),
    pytest.param("answered", 12, "answered", id="answered"),
    pytest.param("NO ANSWER", 0, "no_answer", id="asterisk-no-answer"),
    pytest.param("busy", 0, "busy", id="busy"), pytest.param("failed", 0, "failed", id="failed"),
    pytest.param("cancel", 0, "cancelled", id="cancel"), pytest.param("voicemail", 0, "unknown", id="unknown-word"),
])
def test_omicall_disposition(word: str | None, billsec: int, expected: str) -> None:
    assert omicall_disposition(word, billsec) == expected


def test_omicall_ringing_and_internal_calls_store_nothing() -> None:
    assert OMI.parse(wire(CALLS["omicall_ringing_inbound"]), "application/json", "shop-q1", NOW) == []
    assert OMI.parse(with_("omicall_hangup_inbound", (("direction",), "internal")), "", "shop-q1", NOW) == []


@pytest.mark.parametrize(("changes", "field"), [
    pytest.param(((("transaction_id",), None),), "transaction_id", id="no-transaction-id"),
    pytest.param(((("tenant_id",), ...),), "tenant_id", id="no-tenant"),
    pytest.param(((("direction",), "sideways"),), "direction", id="bad-direction"),
    pytest.param(((("bill_sec",), 200),), "bill_sec", id="talk-longer-than-call"),
    pytest.param(((("duration",), -1),), "duration", id="negative-duration"),
    pytest.param(((("time_end_call",), 86400),), "time_end_call", id="end-in-1970"),
    pytest.param(((("time_start_call",), 1795331300),), "time_start_call", id="starts-after-end"),
    pytest.param(((("phone_number",), ...), (("source_number",), "")), "phone_number", id="no-customer-number"),
    pytest.param(((("user",), {"full_name": "x"}),), "user", id="user-not-a-list"),
])
def test_omicall_malformed_names_the_field(changes: tuple[tuple[tuple[str, ...], Any], ...], field: str) -> None:
    with pytest.raises(MalformedPayload) as err:
        OMI.parse(with_("omicall_hangup_inbound", *changes), "application/json", "shop-q1", NOW)
    assert err.value.field == field


def test_omicall_token_is_compared_whole() -> None:
    OMI.verify({"x-hopnhat-token": TOKEN}, b"{}", TOKEN.encode())
    for headers in ({}, {"x-hopnhat-token": ""}, {"x-hopnhat-token": TOKEN[:-1]}, {"x-hopnhat-token": TOKEN + "x"}):
        with pytest.raises(InvalidSignature):
            OMI.verify(headers, b"{}", TOKEN.encode())


def test_omicall_token_in_the_registered_url_authenticates_and_is_never_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(secrets={"omicall": {"shop-q1": TOKEN}}, kafka_bootstrap="127.0.0.1:9")
    body = wire(CALLS["omicall_hangup_inbound"])
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(settings)) as client:
        publisher = RecordingPublisher()
        client.app.state.publisher = publisher  # type: ignore[attr-defined]
        ok = client.post(f"/webhooks/omicall/shop-q1?token={TOKEN}", content=body,
                         headers={"content-type": "application/json"})
        wrong = client.post("/webhooks/omicall/shop-q1?token=guess", content=body,
                            headers={"content-type": "application/json", "x-hopnhat-token": TOKEN})
        missing = client.post("/webhooks/omicall/shop-q1", content=body, headers={"content-type": "application/json"})
        header = client.post("/webhooks/omicall/shop-q1", content=body,
                             headers={"content-type": "application/json", "x-hopnhat-token": TOKEN})
    assert (ok.status_code, wrong.status_code, missing.status_code, header.status_code) == (200, 401, 401, 200)
    assert [e["id"] for e in ok.json()["events"]] == [e["id"] for e in header.json()["events"]]
    assert [(topic, key) for topic, key, _ in publisher.records] == [
        ("raw.omicall", b"3f9c2a7e-51b4-4d0e-9a63-7c1e2b4d8f90")] * 2
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]  # httpx: the test's client
    assert server_side and not any(TOKEN in line for line in server_side)
    assert TOKEN not in wrong.text + missing.text


# --- CareSoft --------------------------------------------------------------------------------------

def test_caresoft_signature_matches_the_documented_vector() -> None:
    body, key = b'{"ticket_id":1}', b"CS123"
    assert caresoft_signature(key, body) == "420A69CE7D3C36559E9828D6361530DF30065D37"
    CS.verify({"x-hub-signature": "420A69CE7D3C36559E9828D6361530DF30065D37"}, body, key)
    CS.verify({"x-hub-signature": "420a69ce7d3c36559e9828d6361530df30065d37"}, body, key)  # case is not the secret
    for headers, signed in (({}, body), ({"x-hub-signature": "420A69CE7D3C36559E9828D6361530DF30065D37"}, body + b" "),
                            ({"x-hub-signature": "sha1=420A69CE7D3C36559E9828D6361530DF30065D37"}, body)):
        with pytest.raises(InvalidSignature):
            CS.verify(headers, signed, key)


def test_caresoft_voice_ticket_is_one_answered_call_on_the_callers_phone() -> None:
    body = wire(CALLS["caresoft_ticket_voice"])
    [event] = CS.parse(body, "application/json", "shopmevabe", NOW)
    assert (event.id, CS.kafka_key(event)) == ("caresoft:shopmevabe:cs-1795331109-58213", "cs-1795331109-58213")
    result = normalised(CS, body, "shopmevabe")
    assert [(i.type.value, i.value) for i in result.identifiers] == [("phone", "+84912345678")]
    payload = result.interaction.payload
    assert (payload["direction"], payload["duration_s"], payload["billsec_s"], payload["ring_s"],
            payload["disposition"], payload["agent"], payload["business_number"], payload["ticket_id"]) == (
        "inbound", 113, 107, 6, "answered", "5001", "19006868", "88123456")
    assert result.interaction.summary == "Inbound call, answered, talk 1:47"


def test_the_same_call_in_a_ticket_create_and_update_is_one_event() -> None:
    created = CS.parse(wire(CALLS["caresoft_ticket_voice"]), "", "shopmevabe", NOW)
    updated = CS.parse(with_("caresoft_ticket_voice", (("action",), "update"),
                             (("ticket", "updated_at"), 1795331400000)), "", "shopmevabe", NOW)
    assert [e.id for e in created] == [e.id for e in updated]


def test_caresoft_dialer_call_is_outbound_to_the_called_customer() -> None:
    result = normalised(CS, wire(CALLS["caresoft_smart_dialer_missed"]), "shopmevabe")
    assert [i.value for i in result.identifiers] == ["+84983271604"]
    assert (result.interaction.payload["direction"], result.interaction.payload["disposition"],
            result.interaction.payload["end_cause"]) == ("outbound", "no_answer", "missed_agent_timeout")


def test_caresoft_call_type_1_is_outbound_and_clock_durations_are_read() -> None:
    result = normalised(CS, with_("caresoft_ticket_voice", (("call_info", "call_type"), "1"),
                                  (("call_info", "caller"), "19006868"), (("call_info", "called"), "0912 345 678"),
                                  (("call_info", "talk_time"), "00:01:47")), "shopmevabe")
    assert [i.value for i in result.identifiers] == ["+84912345678"]
    assert (result.interaction.payload["direction"], result.interaction.payload["billsec_s"]) == ("outbound", 107)


@pytest.mark.parametrize(("status", "reason", "talk", "expected"), [
    pytest.param("metAgent", None, 107, "answered", id="met-agent"),
    pytest.param("miss", "missed_customer", 0, "cancelled", id="caller-hung-up"),
    pytest.param("miss", "missed_agent_reject", 0, "no_answer", id="agent-rejected"),
    pytest.param("miss", "missed_agent_timeout", 0, "no_answer", id="agent-timeout"),
    pytest.param(None, None, 0, "unknown", id="no-status"),
])
def test_caresoft_disposition(status: str | None, reason: str | None, talk: int, expected: str) -> None:
    assert caresoft_disposition(status, reason, talk) == expected


def test_caresoft_non_call_and_unfinished_deliveries_store_nothing() -> None:
    for name in ("caresoft_user_update", "caresoft_call_in_ringing"):
        assert CS.parse(wire(CALLS[name]), "application/json", "shopmevabe", NOW) == []


@pytest.mark.parametrize(("changes", "field"), [
    pytest.param(((("object",), ...),), "object", id="no-object"),
    pytest.param(((("call_info",), "cs-1"),), "call_info", id="call-info-not-object"),
    pytest.param(((("call_info", "call_id"), None),), "call_info.call_id", id="no-call-id"),
    pytest.param(((("call_info", "call_type"), 2),), "call_info.call_type", id="call-type-2"),
    pytest.param(((("call_info", "call_type"), ...),), "call_info.call_type", id="call-type-missing"),
    pytest.param(((("call_info", "caller"), "Khách lạ"),), "call_info.caller", id="caller-not-a-number"),
    pytest.param(((("call_info", "end_time"), "hôm qua"),), "call_info.end_time", id="end-time-text"),
    pytest.param(((("call_info", "start_time"), 1795331300000),), "call_info.start_time", id="starts-after-end"),
    pytest.param(((("call_info", "wait_time"), [6]),), "call_info.wait_time", id="wait-time-list"),
])
def test_caresoft_malformed_names_the_field(changes: tuple[tuple[tuple[str, ...], Any], ...], field: str) -> None:
    with pytest.raises(MalformedPayload) as err:
        CS.parse(with_("caresoft_ticket_voice", *changes), "application/json", "shopmevabe", NOW)
    assert err.value.field == field


@pytest.mark.parametrize(("value", "seconds"), [
    pytest.param(107, 107, id="int"), pytest.param("107", 107, id="digits"), pytest.param("0:01:47", 107, id="clock"),
    pytest.param(None, 0, id="null"), pytest.param(107.0, 107, id="integral-float"),
])
def test_whole_seconds(value: Any, seconds: int) -> None:
    assert whole_seconds(value, "talk_time") == seconds


@pytest.mark.parametrize("value", [-1, 1.5, True, "1:99:00", [107], 10**12])
def test_whole_seconds_refuses(value: Any) -> None:
    with pytest.raises(MalformedPayload):
        whole_seconds(value, "talk_time")
