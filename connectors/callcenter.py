"""Call-centre call events (Stringee `event_url`) -> raw.callcenter: one `call` interaction per finished call.

Wire format (docs/connectors/callcenter.md, /work/shared/reference/call_logs.md §3.1):
`POST /webhooks/callcenter/{project_id}`, JSON, on every state change of a call (`created`, `started`,
`ringing`, `answered`, `ended`, `agentEnded`), signed `X-STRINGEE-SIGNATURE =
base64(HMAC-SHA1(project signing secret, raw body))`.

Only `ended` carries the call's outcome (`duration`, `answerDuration`, `endCallCause`), so only it is
published; the other states are verified and answered 200 with nothing stored (the timeline wants
one entry per call, §6.1 of the note). Event id `stringee:<project>:<call_id>:ended`, Kafka key the
call id (legs and states of one call stay ordered). The customer is the `external` side of the
call; its number (`84…`, `0…`, `+84…`) goes to the resolver's phone normaliser as received, and an
internal side (agent user id, extension) never becomes an identifier. Calls between two internal
users have no customer and are not published. Malformed bodies are answered 400 (the note's rule).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from connectors.base import Connector, decode_json_object, parse_timestamp
from connectors.pos import obj, required_id, text
from schema.contact import RawContact
from schema.errors import InvalidSignature, MalformedPayload
from schema.events import CloudEvent

FINAL_STATUS = "ended"
KNOWN_STATUSES = {"created", "started", "ringing", "answered", "ended", "agentEnded"}


def stringee_signature(secret: bytes, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha1).digest()).decode("ascii")


def _seconds(doc: Mapping[str, Any], key: str) -> int:
    value = doc.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedPayload(key, f"expected a whole number of seconds >= 0, got {value!r}")
    return value


def disposition(answer_s: int, end_cause: str) -> str:
    """answered | busy | cancelled | no_answer, from talk time and the SIP end cause."""
    if answer_s > 0:
        return "answered"
    cause = end_cause.lower()
    if "486" in cause or "busy" in cause:
        return "busy"
    if "487" in cause or "cancel" in cause:
        return "cancelled"
    return "no_answer"


def direction(from_type: str, to_type: str) -> str:
    if from_type == "external" and to_type != "external":
        return "inbound"
    if from_type != "external" and to_type == "external":
        return "outbound"
    return "internal" if from_type == to_type == "internal" else "inbound"


class CallcenterConnector(Connector):
    channel: ClassVar[str] = "callcenter"
    signature_header: ClassVar[str] = "x-stringee-signature"
    event_type: ClassVar[str] = "vn.hopnhat.callcenter.call.ended"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        given = (headers.get(self.signature_header) or "").strip()
        if not given:
            raise InvalidSignature("X-STRINGEE-SIGNATURE missing")
        if not hmac.compare_digest(given.encode(), stringee_signature(secret, body).encode()):
            raise InvalidSignature("X-STRINGEE-SIGNATURE does not match the body")

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        doc = decode_json_object(body)
        status = text(doc.get("call_status"), "call_status")
        if status not in KNOWN_STATUSES:
            raise MalformedPayload("call_status", f"expected one of {sorted(KNOWN_STATUSES)}, got {status!r}")
        call_id = required_id(doc.get("call_id"), "call_id")
        parties: dict[str, Mapping[str, Any]] = {}
        for side in ("from", "to"):
            party = obj(doc, side, "")
            assert party is not None  # obj() raised MalformedPayload otherwise
            parties[side] = party
        for side, party in parties.items():
            text(party.get("number"), f"{side}.number")
            if party.get("type") not in ("internal", "external"):  # a tuple: a list or dict value is unhashable
                raise MalformedPayload(f"{side}.type", f"expected internal or external, got {party.get('type')!r}")
        if status != FINAL_STATUS:
            return []  # ringing/answered/...: the ended event carries the whole call
        if "timestamp_ms" not in doc:
            raise MalformedPayload("timestamp_ms", "missing")
        ended_at = parse_timestamp(doc["timestamp_ms"], "timestamp_ms")
        duration_s, billsec_s = _seconds(doc, "duration"), _seconds(doc, "answerDuration")
        if billsec_s > duration_s:
            raise MalformedPayload("answerDuration", f"talk time {billsec_s}s exceeds the call's {duration_s}s")
        way = direction(str(parties["from"]["type"]), str(parties["to"]["type"]))
        if way == "internal":
            return []  # agent to agent: no customer to put it on
        customer = parties["from"] if way == "inbound" else parties["to"]
        agent = parties["to"] if way == "inbound" else parties["from"]
        return [CloudEvent(
            id=f"stringee:{source_id}:{call_id}:{status}",
            source=f"/callcenter/{source_id}",
            type=self.event_type,
            subject=call_id,
            time=ended_at - timedelta(seconds=duration_s),
            hopnhatchannel=self.channel,
            hopnhatreceived=received_at,
            data={"project": source_id, "vendor": "stringee", "call_id": call_id, "direction": way,
                  "customer_number": str(customer.get("number") or ""), "agent": str(agent.get("number") or ""),
                  "agent_name": agent.get("alias"), "ended_at": ended_at.isoformat(),
                  "duration_s": duration_s, "billsec_s": billsec_s,
                  "disposition": disposition(billsec_s, str(doc.get("endCallCause") or "")),
                  "end_cause": doc.get("endCallCause"), "ended_by": doc.get("endedBy"),
                  "custom": doc.get("clientCustomData"), "event": doc},
        )]

    def kafka_key(self, event: CloudEvent) -> str:
        return str(event.data["call_id"])

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        number = data["customer_number"]
        talk, ring = data["billsec_s"], data["duration_s"] - data["billsec_s"]
        way = data["direction"]
        summary = (f"{'Inbound' if way == 'inbound' else 'Outbound'} call, {data['disposition'].replace('_', ' ')}"
                   + (f", talk {talk // 60}:{talk % 60:02d}" if talk else ""))
        return RawContact(
            channel=self.channel, source=f"stringee:{data['project']}", source_record_id=data["call_id"],
            occurred_at=event.time, received_at=event.hopnhatreceived, interaction_kind="call",
            phones=[number] if any(ch.isdigit() for ch in number) else [],
            summary=summary,
            payload={"vendor": data["vendor"], "call_id": data["call_id"], "direction": way,
                     "duration_s": data["duration_s"], "billsec_s": talk, "ring_s": ring,
                     "disposition": data["disposition"], "end_cause": data["end_cause"],
                     "ended_by": data["ended_by"], "agent": data["agent"], "agent_name": data["agent_name"],
                     "customer_number_raw": number, "ended_at": data["ended_at"], "custom": data["custom"]},
        )
