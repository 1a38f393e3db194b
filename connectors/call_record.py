"""The common call record of the cloud call-centre connectors (OMICall, CareSoft), and its `call` contact.

Each vendor's connector validates its own wire format and builds one `call_record` per finished call
(/work/shared/reference/call_logs.md §4 and §6.1: one `call` interaction per call, talk and ring time
kept apart, the customer's number from the external side as received). `call_contact` is the one
mapping of that record onto a `RawContact`, so every vendor's call reads the same on the timeline.
The agent (extension, user) is payload only, never an identifier; the hotline never is either.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from schema.contact import RawContact
from schema.errors import MalformedPayload
from schema.events import CloudEvent

DISPOSITIONS = ("answered", "no_answer", "busy", "failed", "cancelled", "congestion", "unknown")
DIRECTIONS = ("inbound", "outbound", "internal")
_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
MAX_CALL_S = 7 * 86_400  # a call of over a week is a broken field, not a call


def whole_seconds(value: Any, field: str) -> int:
    """A duration: whole seconds >= 0 as a JSON int, an integral string, or `H:MM:SS`; null/absent is 0."""
    if value is None or value == "":
        return 0
    if isinstance(value, str):
        clock = _CLOCK.match(value.strip())
        if clock:
            hours, minutes, secs = (int(part) for part in clock.groups())
            value = hours * 3600 + minutes * 60 + secs
        elif value.strip().isdigit() and len(value.strip()) <= 9:
            value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CALL_S:
        raise MalformedPayload(field, f"expected whole seconds between 0 and {MAX_CALL_S}, got {value!r}")
    return value


def has_digits(number: str | None) -> bool:
    return number is not None and any(ch.isdigit() for ch in number)


def call_record(*, vendor: str, account: str, call_id: str, direction: str, customer_number: str,
                ended_at: datetime, duration_s: int, billsec_s: int, disposition: str,
                customer_name: str | None = None, business_number: str | None = None, agent: str | None = None,
                agent_name: str | None = None, end_cause: str | None = None, recording_url: str | None = None,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `data` of a call CloudEvent: the common call model, plus what the vendor alone knows in `extra`."""
    assert direction in DIRECTIONS and disposition in DISPOSITIONS
    return {"vendor": vendor, "account": account, "call_id": call_id, "direction": direction,
            "customer_number": customer_number, "customer_name": customer_name,
            "business_number": business_number, "agent": agent, "agent_name": agent_name,
            "ended_at": ended_at.isoformat(), "duration_s": duration_s, "billsec_s": billsec_s,
            "disposition": disposition, "end_cause": end_cause, "recording_url": recording_url,
            "extra": extra or {}}


def call_summary(direction: str, disposition: str, talk_s: int) -> str:
    """`Inbound call, answered, talk 1:47`: the same words the Stringee connector writes."""
    return (f"{'Inbound' if direction == 'inbound' else 'Outbound'} call, {disposition.replace('_', ' ')}"
            + (f", talk {talk_s // 60}:{talk_s % 60:02d}" if talk_s else ""))


def call_contact(channel: str, event: CloudEvent) -> RawContact:
    """One `call` interaction on the customer of the external side's number."""
    data = event.data
    number, talk = str(data["customer_number"]), int(data["billsec_s"])
    return RawContact(
        channel=channel, source=f"{data['vendor']}:{data['account']}", source_record_id=str(data["call_id"]),
        occurred_at=event.time, received_at=event.hopnhatreceived, interaction_kind="call",
        name=data.get("customer_name") or None,
        phones=[number] if has_digits(number) else [],
        summary=call_summary(data["direction"], data["disposition"], talk),
        payload={"vendor": data["vendor"], "call_id": data["call_id"], "direction": data["direction"],
                 "duration_s": data["duration_s"], "billsec_s": talk, "ring_s": data["duration_s"] - talk,
                 "disposition": data["disposition"], "end_cause": data["end_cause"], "agent": data["agent"],
                 "agent_name": data["agent_name"], "business_number": data["business_number"],
                 "customer_number_raw": number, "ended_at": data["ended_at"],
                 "recording_url": data["recording_url"], **data["extra"]},
    )
