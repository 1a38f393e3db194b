"""CareSoft webhooks -> raw.caresoft: one `call` interaction per finished call carried in `call_info`.

Documented shape followed (docs/connectors/caresoft.md; /work/shared/reference/call_logs.md §3.3):
* https://docs.caresoft.vn/danh-muc/webhook — configured through CareSoft support (callback URL,
  SecretKey, events `call_in`, `ticket.voice`, `ticket.voice_out`, `smart_dialer` ...); `POST`
  `application/json`, envelope `{"object", "action", "ticket", "user", "organization", "call_info"}`;
  `X-Hub-Signature` = uppercase hex HMAC-SHA1(SecretKey, raw body), no prefix (the page's vector is
  in the unit tests). The SecretKey is optional at CareSoft; hopnhat requires it (401 without).
* the fields *inside* `call_info` are not on that page. This connector assumes they are those of
  CareSoft's call-history API, https://docs.caresoft.vn/danh-muc/restful-api-cua-caresoft/cuoc-goi
  (`call_id`, `caller`, `called`, `call_type`, `start_time`, `end_time`, `call_status` miss|metAgent,
  `wait_time`, `talk_time`, `missed_reason`, `agent_id`, `path`) — **unverified** until a `call_in` and
  a `ticket.voice` delivery are captured. So is `call_type` 0 = inbound, 1 = outbound.

Deliveries without `call_info` (users, organisations, non-call tickets) and calls not yet ended (the
realtime `call_in` while ringing: no `end_time`) are verified, validated and answered 200 with nothing
stored. Event id `caresoft:<source>:<call_id>`, Kafka key the call id: one interaction per call even
when the same call arrives in a ticket `create` and again in an `update` (the note's delivery key,
`caresoft:<object>:<id>:<action>:<updated_at>`, would put each of those on the timeline). Malformed
bodies are answered 400 naming the field.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from connectors.base import Connector, decode_json_object, parse_timestamp
from connectors.call_record import call_contact, call_record, has_digits, whole_seconds
from connectors.pos import obj, required_id, text
from schema.contact import RawContact
from schema.errors import InvalidSignature, MalformedPayload
from schema.events import CloudEvent

CALL_TYPES = {"0": "inbound", "1": "outbound"}  # unverified: the call-history doc says only "0 or 1"


def caresoft_signature(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha1).hexdigest().upper()


def caresoft_disposition(status: str | None, missed_reason: str | None, talk_s: int) -> str:
    """metAgent or talk time -> answered; the caller hanging up first (`missed_customer`) -> cancelled;
    any other miss (agent device, reject, timeout) -> no_answer."""
    if talk_s > 0 or (status or "").lower() == "metagent":
        return "answered"
    if (missed_reason or "").lower() == "missed_customer":
        return "cancelled"
    return "no_answer" if status else "unknown"


def _moment(info: Mapping[str, Any], key: str) -> datetime | None:
    value = info.get(key)
    if value in (None, "", 0):
        return None
    return parse_timestamp(value, f"call_info.{key}")


class CaresoftConnector(Connector):
    channel: ClassVar[str] = "caresoft"
    signature_header: ClassVar[str] = "x-hub-signature"
    event_type: ClassVar[str] = "vn.hopnhat.caresoft.call.ended"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        given = (headers.get(self.signature_header) or "").strip()
        if not given:
            raise InvalidSignature("X-Hub-Signature missing")
        if not hmac.compare_digest(given.upper().encode(), caresoft_signature(secret, body).encode()):
            raise InvalidSignature("X-Hub-Signature does not match the body")

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        doc = decode_json_object(body)
        kind = text(doc.get("object"), "object")
        if not kind:
            raise MalformedPayload("object", "missing")
        action = text(doc.get("action"), "action") or ""
        info = obj(doc, "call_info", "", required=False)
        if not info:
            return []  # a user, organisation or non-call ticket event: nothing for the call timeline
        call_id = required_id(info.get("call_id"), "call_info.call_id")
        ended_at = _moment(info, "end_time")
        started_at = _moment(info, "start_time")
        talk_s = whole_seconds(info.get("talk_time"), "call_info.talk_time")
        wait_s = whole_seconds(info.get("wait_time"), "call_info.wait_time")
        status = text(info.get("call_status"), "call_info.call_status")
        reason = text(info.get("missed_reason"), "call_info.missed_reason")
        if kind == "smart_dialer":
            way = "outbound"  # the dialer calls customers (actions ad_end_call, pd_end_call)
        else:
            # Required: guessing "inbound" for an outbound call would make the hotline (the caller) a customer.
            call_type = text(info.get("call_type"), "call_info.call_type")
            if call_type not in CALL_TYPES:
                raise MalformedPayload("call_info.call_type", f"expected 0 or 1, got {call_type!r}")
            way = CALL_TYPES[call_type]
        external = "caller" if way == "inbound" else "called"
        number = text(info.get(external), f"call_info.{external}")
        if ended_at is None:
            return []  # a call still ringing (the realtime call_in): its end arrives later
        if started_at is None:
            started_at = ended_at - timedelta(seconds=talk_s + wait_s)
        if started_at > ended_at:
            raise MalformedPayload("call_info.start_time", "the call starts after it ends")
        duration_s = max(int((ended_at - started_at).total_seconds()), talk_s)
        if not has_digits(number):
            raise MalformedPayload(f"call_info.{external}", "no customer number")
        assert number is not None
        data = call_record(
            vendor="caresoft", account=source_id, call_id=call_id, direction=way, customer_number=number,
            business_number=text(info.get("called" if way == "inbound" else "caller"),
                                 "call_info.called" if way == "inbound" else "call_info.caller"),
            agent=text(info.get("agent_id"), "call_info.agent_id"), ended_at=ended_at, duration_s=duration_s,
            billsec_s=talk_s, disposition=caresoft_disposition(status, reason, talk_s),
            end_cause=reason or status,
            recording_url=text(info.get("path"), "call_info.path"),
            extra={"object": kind, "action": action, "wait_s": wait_s,
                   "ticket_id": text(info.get("ticket_id"), "call_info.ticket_id")},
        )
        return [CloudEvent(
            id=f"caresoft:{source_id}:{call_id}", source=f"/caresoft/{source_id}", type=self.event_type,
            subject=call_id, time=started_at, hopnhatchannel=self.channel, hopnhatreceived=received_at,
            data={**data, "delivery": doc},
        )]

    def kafka_key(self, event: CloudEvent) -> str:
        return str(event.data["call_id"])

    def extract(self, event: CloudEvent) -> RawContact:
        return call_contact(self.channel, event)
