"""OMICall call webhooks -> raw.omicall: one `call` interaction per finished call.

Documented shape followed (docs/connectors/omicall.md; /work/shared/reference/call_logs.md §3.2):
* registration, https://api.omicall.com/omicall-api/webhooks — `POST /api/webhooks/register` with
  `{"webhook": {"type": "call", "url": ..., "events": ["ringing", "answered", "hangup"]}}`. Only a URL
  is registered: no header can be set and no signature is documented (the list answer's
  `"key_enabled": false` hints at an optional key whose mechanism is not published). So a delivery is
  authenticated by a per-source secret token in the registered URL (`?token=...`, or the
  X-Hopnhat-Token header from a proxy), compared in constant time; without it, 401.
* the call record, https://api.omicall.com/omicall-api/call-transaction/v2 (and the white-label copy
  https://api-vpbx.senbac.com/lich-su-cuoc-goi/v2, which adds `disposition`). That the webhook body is
  this record is **unverified**: no captured delivery yet.

A record is finished when it carries `time_end_call`; a ringing/answered delivery without it is
validated and answered 200 with nothing stored (the hangup one carries the outcome). Event id
`omicall:<tenant_id>:<transaction_id>`, Kafka key the transaction id. The customer is
`phone_number` (`0983…`), else the external side by `direction`; the hotline (`sip_number`) and the
agent (`sip_user`, `user[]`) are payload only. Mixed units: `time_*` epoch seconds, `*_date` epoch ms.
The note names no 4xx penalty for OMICall, so malformed bodies are answered 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import ClassVar

from connectors.base import Connector, decode_json_object, parse_timestamp, verify_shared_token
from connectors.call_record import call_contact, call_record, has_digits, whole_seconds
from connectors.pos import items, obj, required_id, text
from schema.contact import RawContact
from schema.errors import MalformedPayload
from schema.events import CloudEvent

# OMICall's `disposition` words (white-label doc shows "answered"; the rest are Asterisk's, which
# OMICall runs on — unverified) -> the common model's values.
DISPOSITION_WORDS = {
    "answered": "answered", "answer": "answered", "no answer": "no_answer", "no_answer": "no_answer",
    "noanswer": "no_answer", "missed": "no_answer", "busy": "busy", "failed": "failed",
    "cancel": "cancelled", "cancelled": "cancelled", "canceled": "cancelled", "congestion": "congestion",
}


def omicall_disposition(word: str | None, billsec_s: int) -> str:
    """The record's own disposition when it gives one, else talk time decides (answered or no_answer)."""
    if word is None:
        return "answered" if billsec_s > 0 else "no_answer"
    return DISPOSITION_WORDS.get(word.strip().lower().replace("-", " "), "unknown")


class OmicallConnector(Connector):
    channel: ClassVar[str] = "omicall"
    signature_header: ClassVar[str] = "x-hopnhat-token"
    url_token_param: ClassVar[str | None] = "token"
    event_type: ClassVar[str] = "vn.hopnhat.omicall.call.ended"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        verify_shared_token(headers, secret)

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        doc = decode_json_object(body)
        call_id = required_id(doc.get("transaction_id"), "transaction_id")
        tenant = required_id(doc.get("tenant_id"), "tenant_id")
        way = text(doc.get("direction"), "direction")
        if way not in ("inbound", "outbound", "internal", "local"):
            raise MalformedPayload("direction", f"expected inbound or outbound, got {way!r}")
        if doc.get("time_end_call") in (None, 0, ""):
            return []  # ringing / answered: the hangup delivery carries the whole call
        ended_at = parse_timestamp(doc["time_end_call"], "time_end_call")
        duration_s = whole_seconds(doc.get("duration"), "duration")
        billsec_s = whole_seconds(doc.get("bill_sec"), "bill_sec")
        if billsec_s > duration_s:
            raise MalformedPayload("bill_sec", f"talk time {billsec_s}s exceeds the call's {duration_s}s")
        started_at = ended_at - timedelta(seconds=duration_s)
        if doc.get("time_start_call") not in (None, 0, ""):
            started_at = parse_timestamp(doc["time_start_call"], "time_start_call")
        if started_at > ended_at:
            raise MalformedPayload("time_start_call", "the call starts after it ends")
        word = text(doc.get("disposition"), "disposition")
        if way in ("internal", "local"):
            return []  # agent to agent: no customer to put it on
        external = "source_number" if way == "inbound" else "destination_number"
        number = text(doc.get("phone_number"), "phone_number") or text(doc.get(external), external)
        if not has_digits(number):
            raise MalformedPayload("phone_number", "no customer number (phone_number, or the external side)")
        assert number is not None
        customer = obj(doc, "customer", "", required=False) or {}
        agents = [text(user.get("full_name"), f"user[{i}].full_name") for i, user in
                  enumerate(items(doc, "user", ""))]
        data = call_record(
            vendor="omicall", account=tenant, call_id=call_id, direction=way, customer_number=number,
            customer_name=text(customer.get("full_name"), "customer.full_name"),
            business_number=text(doc.get("sip_number"), "sip_number"),
            agent=text(doc.get("sip_user"), "sip_user"), agent_name=next((a for a in agents if a), None),
            ended_at=ended_at, duration_s=duration_s, billsec_s=billsec_s,
            disposition=omicall_disposition(word, billsec_s), end_cause=word,
            recording_url=text(doc.get("recording_file_url"), "recording_file_url"),
            extra={"answer_sec": whole_seconds(doc.get("answer_sec"), "answer_sec"),
                   "carrier": text(doc.get("provider"), "provider"), "note": text(doc.get("note"), "note")},
        )
        return [CloudEvent(
            id=f"omicall:{tenant}:{call_id}", source=f"/omicall/{source_id}", type=self.event_type,
            subject=call_id, time=started_at, hopnhatchannel=self.channel, hopnhatreceived=received_at,
            data={**data, "source_id": source_id, "record": doc},
        )]

    def kafka_key(self, event: CloudEvent) -> str:
        return str(event.data["call_id"])

    def extract(self, event: CloudEvent) -> RawContact:
        return call_contact(self.channel, event)

