"""Zalo Official Account (OA) webhooks -> raw.zalo: messages, follows, consented contact details.

Wire format (docs/connectors/zalo.md; facts and their sources in the team's Zalo OA reference note):
`POST /webhooks/zalo/{app_id}` — the webhook URL belongs to a Zalo *app*, and every OA linked to
that app posts to it, one JSON event per request. Signature header:

    X-ZEvent-Signature: mac=<hex SHA-256(app_id || raw body || timestamp || OA Secret Key)>

a plain SHA-256 of the concatenated bytes, **not** an HMAC, keyed by the *OA* Secret Key (not the
app secret) of the OA the event belongs to, with the body's own `timestamp` string as third term.
So the secret is chosen per OA: `HOPNHAT_SECRETS={"zalo": {"<app_id>:<oa_id>": "<OA Secret Key>"}}`.

Which side is the OA (and so which id picks the secret):
  user_*           recipient.id is the OA, sender.id the user
  oa_*             sender.id is the OA, recipient.id the user (echo of a message the OA sent)
  user_received_message, user_seen_message
                   sender.id is the OA, recipient.id the user (Chatwoot's reading; unverified)
  follow, unfollow, user_click_chatnow, tag events
                   top-level oa_id; the user is follower.id or user_id

Identifiers: `zalo` = "<oa_id>:<user_id>" (a user id is per person x OA) and, when the event carries
it, `zalo` = "app:<app_id>:<user_id_by_app>" (per person x app), which joins one person across the
OAs of one app. Only `user_submit_info` carries a name, phone and address, with the user's consent;
phones typed into messages are mentions, never identifiers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from connectors.base import Connector, decode_json_object
from schema.contact import RawContact
from schema.errors import InvalidSignature, MalformedPayload
from schema.events import CloudEvent, IdentifierType

OA_SENDS_RECEIPTS = {"user_received_message", "user_seen_message"}
# Zalo documents no replay window and retries resend the original body and timestamp (for up to
# 12 h by the older account), so only clearly stale or future-dated bodies are refused.
MAX_AGE = timedelta(hours=24)
MAX_FUTURE = timedelta(minutes=5)


def _get(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _id(doc: Mapping[str, Any], path: str, required: bool = True) -> str | None:
    """An id as a string. Zalo sends 17-19 digit ids as strings; an int is kept exact, a float is refused."""
    value = _get(doc, path)
    if value is None or value == "":
        if required:
            raise MalformedPayload(path, "missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedPayload(path, f"expected a string id, got {type(value).__name__}")
    return str(value)


def _timestamp(doc: Mapping[str, Any]) -> tuple[str, datetime]:
    """The body's `timestamp`: epoch milliseconds, as a string (its digits are the signature's third term)."""
    raw = _get(doc, "timestamp")
    if isinstance(raw, bool) or not isinstance(raw, str | int) or not str(raw).isdigit():
        raise MalformedPayload("timestamp", "expected epoch milliseconds as a string of digits")
    text = str(raw)
    # Always milliseconds (doc samples have 12 digits, live traffic 13): never guess the unit from length.
    try:
        return text, datetime.fromtimestamp(int(text) / 1000, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedPayload("timestamp", f"epoch out of range: {text}") from exc


def zalo_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: bytes) -> str:
    """The `mac` Zalo sends: hex SHA-256 over app_id, the raw body bytes, the timestamp and the OA key."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key).hexdigest()


def roles(doc: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """(oa_id, user_id or None, direction) of one event; direction is inbound, outbound or status."""
    name = str(doc.get("event_name", ""))
    if name in OA_SENDS_RECEIPTS:
        oa_path, user_path, direction = "sender.id", "recipient.id", "status"
    elif name.startswith("oa_"):
        oa_path, user_path, direction = "sender.id", "recipient.id", "outbound"
    else:
        oa_path, user_path, direction = "recipient.id", "sender.id", "inbound"
    messaging = name.startswith(("user_", "oa_", "anonymous_"))
    oa_id = _id(doc, "oa_id", required=False) or (_id(doc, oa_path, required=False) if messaging else None)
    if oa_id is None:
        raise MalformedPayload(oa_path if messaging else "oa_id", f"cannot tell which OA a {name!r} event is for")
    if name.startswith("anonymous_"):  # an anonymous chat id is not a person identifier
        return oa_id, None, direction
    user_id = _id(doc, "follower.id", required=False) or _id(doc, "user_id", required=False)
    if user_id is None and messaging:
        user_id = _id(doc, user_path, required=name.startswith("user_send_") or name in OA_SENDS_RECEIPTS)
    return oa_id, (user_id if user_id != oa_id else None), direction


def _record_key(doc: Mapping[str, Any], name: str, ts: str, body: bytes) -> str:
    """The event's own id inside its OA: Zalo's msg_id, or a stable combination for events without one."""
    if name == "user_received_message":
        return "recv:" + str(_id(doc, "message.msg_id"))
    if name == "user_seen_message":
        ids = _get(doc, "message.msg_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str | int) for i in ids):
            raise MalformedPayload("message.msg_ids", "expected a non-empty list of message ids")
        return f"seen:{','.join(sorted(str(i) for i in ids))}:{ts}"
    if name == "user_reacted_message":
        icon = _get(doc, "message.react_icon")
        return f"react:{_id(doc, 'message.msg_id')}:{icon if isinstance(icon, str) else ''}:{ts}"
    if name in ("follow", "unfollow"):
        return f"{name}:{_id(doc, 'follower.id')}:{ts}"
    if name == "user_submit_info":
        if not isinstance(doc.get("info"), Mapping):
            raise MalformedPayload("info", "expected an object with the submitted name, phone and address")
        return f"submit:{_id(doc, 'sender.id')}:{ts}"
    if name == "user_click_chatnow":  # sent once per user per OA
        return f"chatnow:{_id(doc, 'user_id')}"
    if name.startswith(("user_send_", "oa_send_", "anonymous_send_")):
        return str(_id(doc, "message.msg_id"))
    # Unknown event names are kept as received, keyed by the exact bytes (a retry resends them as is).
    return "body:" + hashlib.sha256(body).hexdigest()[:32]


def _text(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def submitted_info(info: Mapping[str, Any]) -> dict[str, str]:
    """`user_submit_info.info`, either shape: the flat 2019-2022 one or the newer `full_address` one."""
    out: dict[str, str] = {}
    for key in ("name", "phone", "address", "ward", "district", "city", "user_dob", "gender"):
        if (value := _text(info.get(key))) is not None:
            out[key] = value
    full = info.get("full_address")
    if isinstance(full, Mapping):
        for key in ("address", "ward", "district", "city"):
            if key not in out and (value := _text(full.get(f"user_{key}"))) is not None:
                out[key] = value
    elif (value := _text(full)) is not None:
        out.setdefault("address", value)
    return out


class ZaloConnector(Connector):
    channel: ClassVar[str] = "zalo"
    signature_header: ClassVar[str] = "x-zevent-signature"

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))

    def secret_id(self, source_id: str, body: bytes) -> str:
        """`<app_id>:<oa_id>`: the OA Secret Key of the OA this event belongs to, under the app of the URL."""
        doc = decode_json_object(body)
        app_id = _id(doc, "app_id")
        if app_id != source_id:
            raise InvalidSignature(f"event is for Zalo app {app_id}, not the app {source_id} of this URL")
        oa_id, _, _ = roles(doc)
        return f"{app_id}:{oa_id}"

    def is_unsigned_probe(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Zalo's URL-registration probe (and the console's Test button) may come unsigned, as `{}`."""
        if headers.get(self.signature_header):
            return False
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError covers JSONDecodeError
            return False
        return isinstance(doc, dict) and not doc.get("event_name")

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        given = (headers.get(self.signature_header) or "").strip()
        if not given:
            raise InvalidSignature("X-ZEvent-Signature header missing")
        if not given.startswith("mac="):
            raise InvalidSignature("X-ZEvent-Signature must be mac=<hex>")
        doc = decode_json_object(body)
        app_id = str(_id(doc, "app_id"))
        ts, when = _timestamp(doc)
        if not hmac.compare_digest(given[4:].strip().lower(), zalo_signature(app_id, body, ts, secret)):
            raise InvalidSignature("signature does not match app_id, body, timestamp and the OA Secret Key")
        now = self.clock()
        if when < now - MAX_AGE or when > now + MAX_FUTURE:
            raise InvalidSignature(f"timestamp {ts} is outside the accepted window (24 h old to 5 min ahead)")

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        doc = decode_json_object(body)
        name = doc.get("event_name")
        if not isinstance(name, str) or not name:
            raise MalformedPayload("event_name", "missing")
        app_id = _id(doc, "app_id")
        ts, occurred_at = _timestamp(doc)
        oa_id, user_id, direction = roles(doc)
        key = _record_key(doc, name, ts, body)
        return [CloudEvent(
            id=f"zalo:{oa_id}:{key}",
            source=f"/zalo/{app_id}/{oa_id}",
            type=f"vn.hopnhat.zalo.{name}",
            subject=f"{oa_id}:{user_id}" if user_id else oa_id,
            time=occurred_at,
            hopnhatchannel=self.channel,
            hopnhatreceived=received_at,
            data={"app_id": app_id, "oa_id": oa_id, "user_id": user_id, "direction": direction,
                  "record_key": key, "event": doc},
        )]

    def kafka_key(self, event: CloudEvent) -> str:
        """The user's id within the OA (also for the OA's own messages), so one conversation stays in order."""
        return event.subject or event.id

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        doc: dict[str, Any] = data["event"]
        name: str = doc["event_name"]
        oa_id, user_id, app_id = data["oa_id"], data["user_id"], data["app_id"]
        channel_ids: list[tuple[str, str]] = []
        if user_id:
            channel_ids.append((IdentifierType.zalo.value, f"{oa_id}:{user_id}"))
            by_app = _text(doc.get("user_id_by_app"))
            if by_app:
                channel_ids.append((IdentifierType.zalo.value, f"app:{app_id}:{by_app}"))
        raw_message = doc.get("message")
        message: Mapping[str, Any] = raw_message if isinstance(raw_message, Mapping) else {}
        attachments = [
            {"type": str(a.get("type")), **{k: v for k, v in (a.get("payload") or {}).items()
                                              if k in ("url", "name", "description", "coordinates", "id")}}
            for a in message.get("attachments") or [] if isinstance(a, Mapping)
        ]
        payload: dict[str, Any] = {"event_name": name, "direction": data["direction"], "oa_id": oa_id}
        for key in ("msg_id", "msg_ids", "text", "quote_msg_id", "react_icon"):
            if key in message:
                payload[key] = message[key]
        if attachments:
            payload["attachments"] = attachments
        if data["direction"] == "outbound" and _text(_get(doc, "sender.admin_id")):
            payload["admin_id"] = str(_get(doc, "sender.admin_id"))
        if doc.get("source"):
            payload["source"] = doc["source"]

        person: dict[str, str] = {}
        attributes: dict[str, str] = {}
        kind = "message"
        if name == "user_submit_info":
            person = submitted_info(doc["info"])
            attributes = {f"zalo_{k}": v for k, v in person.items() if k not in ("name", "phone")}
            kind = "contact_shared"
        elif name in ("follow", "unfollow"):
            kind = name
            attributes = {"zalo_following": "true" if name == "follow" else "false"}
        elif data["direction"] == "status":
            kind = "message_status"
        elif not name.startswith(("user_send_", "oa_send_", "anonymous_send_")):
            kind = "zalo_event"
        return RawContact(
            channel=self.channel,
            source=f"zalo:{oa_id}",
            source_record_id=user_id or data["record_key"],
            occurred_at=event.time,
            received_at=event.hopnhatreceived,
            interaction_kind=kind,
            name=person.get("name"),
            phones=[person["phone"]] if "phone" in person else [],
            address=", ".join(person[k] for k in ("address", "ward", "district", "city") if person.get(k)) or None,
            channel_ids=channel_ids,
            attributes=attributes,
            summary=self._summary(name, message, person, attachments),
            payload=payload,
        )

    @staticmethod
    def _summary(name: str, message: Mapping[str, Any], person: Mapping[str, str],
                 attachments: list[dict[str, Any]]) -> str:
        text = message.get("text")
        if isinstance(text, str) and text.strip():
            return text.strip()[:280]
        if name == "user_submit_info":
            return "Shared contact details: " + ", ".join(sorted(person)) if person else "Shared contact details"
        if attachments:
            return f"{name}: {', '.join(a['type'] for a in attachments)}"
        return name
