"""Call-centre call events (Stringee event_url, /work/shared/reference/call_logs.md §3.1): one `call`
interaction per ended call, with direction, duration, talk time and disposition; numbers in any local format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.callcenter import CallcenterConnector, disposition, stringee_signature
from resolver.normalise import Rejected, canonical_event
from schema.errors import InvalidSignature, MalformedPayload

CALLS = json.loads((Path(__file__).parents[1] / "fixtures" / "callcenter_events.json").read_text(encoding="utf-8"))
CC = CallcenterConnector()
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def wire(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def test_signature_matches_the_note_vector_and_refuses_forgeries() -> None:
    body = b'{"call_id":"call-vn-1-TEST","call_status":"ended"}'
    assert stringee_signature(b"stringee-signing-secret", body) == "XA8/YI28XbkCfxSgwIki9KN5iKU="
    CC.verify({"x-stringee-signature": "XA8/YI28XbkCfxSgwIki9KN5iKU="}, body, b"stringee-signing-secret")
    for headers in ({}, {"x-stringee-signature": "XA8/YI28XbkCfxSgwIki9KN5iKU="}):
        with pytest.raises(InvalidSignature):
            CC.verify(headers, body if headers == {} else body + b" ", b"stringee-signing-secret")


def test_ended_inbound_call_is_one_answered_call_on_the_callers_phone() -> None:
    [event] = CC.parse(wire(CALLS["ended_inbound"]), "application/json", "21045", NOW)
    assert event.id == "stringee:21045:call-vn-1-Q7X2K9LM3P-1795331109000:ended"
    assert CC.kafka_key(event) == "call-vn-1-Q7X2K9LM3P-1795331109000"
    result = canonical_event(CC.extract(event), event.id)
    assert not isinstance(result, Rejected)
    assert [(i.type.value, i.value) for i in result.identifiers] == [("phone", "+84912345678")]
    assert result.occurred_at == datetime.fromtimestamp(1795331222 - 113, UTC)  # started = ended - duration
    interaction = result.interaction
    assert interaction.kind == "call" and interaction.summary == "Inbound call, answered, talk 1:47"
    payload = interaction.payload
    assert (payload["direction"], payload["duration_s"], payload["billsec_s"], payload["ring_s"],
            payload["disposition"], payload["agent"]) == ("inbound", 113, 107, 6, "answered", "agent_thuy")


def test_outbound_busy_call_reaches_the_dialled_customer() -> None:
    [event] = CC.parse(wire(CALLS["ended_outbound_busy"]), "application/json", "21045", NOW)
    result = canonical_event(CC.extract(event), event.id)
    assert not isinstance(result, Rejected)
    assert [i.value for i in result.identifiers] == ["+84983271604"]
    assert (result.interaction.payload["direction"], result.interaction.payload["disposition"]) == ("outbound", "busy")


@pytest.mark.parametrize("number", [
    pytest.param("84912345678", id="stringee-84"), pytest.param("0912345678", id="local-0"),
    pytest.param("+84 912 345 678", id="e164-spaced"), pytest.param("0912.345.678", id="dotted"),
    pytest.param("(+84) 912-345-678", id="parenthesised"), pytest.param("01212345678", id="legacy-11-digit-0121"),
])
def test_caller_number_in_every_local_format_lands_on_one_e164(number: str) -> None:
    doc = {**CALLS["ended_inbound"], "from": {**CALLS["ended_inbound"]["from"], "number": number}}
    [event] = CC.parse(wire(doc), "application/json", "21045", NOW)
    result = canonical_event(CC.extract(event), event.id)
    assert not isinstance(result, Rejected)
    expected = "+84792345678" if number.startswith("0121") else "+84912345678"  # 0121 became 079 in 2018
    assert [i.value for i in result.identifiers] == [expected]
    assert result.interaction.payload["customer_number_raw"] == number


def test_state_changes_before_the_end_and_internal_calls_publish_nothing() -> None:
    assert CC.parse(wire(CALLS["ringing_inbound"]), "application/json", "21045", NOW) == []
    internal = {**CALLS["ended_inbound"], "from": {"number": "agent_lan", "type": "internal"}}
    assert CC.parse(wire(internal), "application/json", "21045", NOW) == []


@pytest.mark.parametrize(("answer_s", "cause", "expected"), [
    pytest.param(107, "NORMAL_CLEARING", "answered", id="talked"),
    pytest.param(0, "486 Busy Here", "busy", id="sip-486"),
    pytest.param(0, "487 Request Terminated (cancel)", "cancelled", id="sip-487"),
    pytest.param(0, "NORMAL_CLEARING", "no_answer", id="rang-out"),
])
def test_disposition(answer_s: int, cause: str, expected: str) -> None:
    assert disposition(answer_s, cause) == expected


@pytest.mark.parametrize(("change", "field"), [
    pytest.param({"call_id": None}, "call_id", id="no-call-id"),
    pytest.param({"call_status": "hangup"}, "call_status", id="unknown-status"),
    pytest.param({"from": None}, "from", id="no-from"),
    pytest.param({"to": {"number": "agent_thuy", "type": "agent"}}, "to.type", id="bad-party-type"),
    pytest.param({"duration": -1}, "duration", id="negative-duration"),
    pytest.param({"answerDuration": 200}, "answerDuration", id="talk-longer-than-call"),
    pytest.param({"timestamp_ms": "hôm nay"}, "timestamp_ms", id="bad-time"),
])
def test_malformed_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedPayload) as err:
        CC.parse(wire({**CALLS["ended_inbound"], **change}), "application/json", "21045", NOW)
    assert err.value.field == field
