"""Facebook Page webhooks (Messenger, Page comments, Lead Ads) -> raw.facebook.

Wire format (docs/connectors/facebook.md; facts and their sources in the team's Facebook reference
note): one Meta app's callback URL, `POST /webhooks/facebook/{app_id}`, body
`{"object": "page", "entry": [...]}` where several entries, each with several `messaging[]`,
`standby[]` or `changes[]` items, may arrive in one POST. Signature:

    X-Hub-Signature-256: sha256=<hex HMAC-SHA256(key = App Secret, message = raw body bytes)>

over the bytes exactly as received: Meta escapes non-ASCII as \\uXXXX and "/" as "\\/", so any
re-serialisation (Vietnamese is all accents) breaks it. Meta acknowledges a POST as a whole, so one
CloudEvent per item is published and one bad item rejects the whole delivery (400 naming the path,
e.g. `entry[1].messaging[0].sender.id`); Meta then resends, and per-item ids absorb the repeats.

Before delivering, Meta verifies the URL with `GET ?hub.mode=subscribe&hub.verify_token=..&
hub.challenge=..`: `handshake()` echoes the challenge (plain text) when the per-app verify token
matches (HOPNHAT_VERIFY_TOKENS).

Identifiers: `fb_psid` = "<page_id>:<psid>" (a PSID is per person x Page), for Messenger senders,
echo recipients and commenters. Lead Ads webhooks carry ids only: a `leadgen` event stores
`external` = "fb_lead:<leadgen_id>"; the person's answers come from the Graph API through a
`LeadFetcher`, run by the worker (streams/leads.py), as a second event built by `lead_event()` (id
`fb:<page_id>:lead:<leadgen_id>`) that shares the same external id, so both land on one customer.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol

from connectors.base import Connector, decode_json_object, hmac_sha256_hex, parse_timestamp, stable_digest
from schema.contact import RawContact
from schema.errors import HandshakeRefused, InvalidSignature, MalformedPayload
from schema.events import CloudEvent, IdentifierType

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[\d\s.\-()]{9,16}$")
MESSAGING_KINDS = ("message", "postback", "referral", "optin", "read", "delivery", "reaction")
LEAD_NAME_KEYS = ("full_name", "họ_và_tên", "ho_va_ten", "ho_ten")


class LeadFetcher(Protocol):
    """Fetches the lead behind a `leadgen` webhook: the Graph API answer of
    `GET /v25.0/{leadgen_id}?fields=id,created_time,ad_id,form_id,platform,is_organic,field_data`
    with the Page's access token (needs `leads_retrieval`). Called by the worker (streams/leads.py),
    never in the webhook."""

    async def fetch_lead(self, leadgen_id: str, page_id: str) -> Mapping[str, Any]: ...


def _obj(parent: Mapping[str, Any], key: str, path: str, required: bool = True) -> Mapping[str, Any] | None:
    value = parent.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{path}.{key}", "missing" if value is None else "expected an object")
    return value


def _id(parent: Mapping[str, Any] | None, key: str, path: str, required: bool = True) -> str | None:
    """An id as a string: Meta's ids are 15-17 digits, sent as strings (or exact ints); never floats."""
    value = parent.get(key) if parent is not None else None
    if value is None or value == "":
        if required:
            raise MalformedPayload(f"{path}.{key}", "missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedPayload(f"{path}.{key}", f"expected a string id, got {type(value).__name__}")
    return str(value)


def _str(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def _event(page_id: str, key: str, kind: str, subject: str, time: datetime, received_at: datetime,
           data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(
        id=f"fb:{page_id}:{key}", source=f"/facebook/{page_id}", type=f"vn.hopnhat.facebook.{kind}",
        subject=subject, time=time, hopnhatchannel="facebook", hopnhatreceived=received_at,
        data={"page_id": page_id, "kind": kind, "record_key": key, **data},
    )


def lead_event(lead: Mapping[str, Any], page_id: str, received_at: datetime) -> CloudEvent:
    """The Graph API's lead (see `LeadFetcher`) as a raw event: id `fb:<page_id>:lead:<leadgen_id>`."""
    leadgen_id = str(_id(lead, "id", "lead"))
    fields = lead.get("field_data")
    if not isinstance(fields, list):
        raise MalformedPayload("lead.field_data", "expected a list")
    answers: dict[str, list[str]] = {}
    for i, item in enumerate(fields):
        name = item.get("name") if isinstance(item, Mapping) else None
        values = item.get("values") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not isinstance(values, list):
            raise MalformedPayload(f"lead.field_data[{i}]", "expected {name, values: [...]}")
        answers[name] = [str(v) for v in values if _str(v) is not None]
    created = lead.get("created_time")  # ISO 8601 with +0000 here, unlike the webhook's epoch seconds
    time = parse_timestamp(created, "lead.created_time") if created else received_at
    return _event(page_id, f"lead:{leadgen_id}", "lead", f"{page_id}:{leadgen_id}", time, received_at, {
        "leadgen_id": leadgen_id, "answers": answers,
        "lead": {k: lead[k] for k in ("form_id", "ad_id", "platform", "is_organic", "created_time") if k in lead},
    })


class FacebookConnector(Connector):
    channel: ClassVar[str] = "facebook"
    signature_header: ClassVar[str] = "x-hub-signature-256"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        given = (headers.get(self.signature_header) or "").strip()
        if not given:
            raise InvalidSignature("X-Hub-Signature-256 header missing")
        if not given.startswith("sha256="):  # the legacy SHA-1 X-Hub-Signature is never enough
            raise InvalidSignature("X-Hub-Signature-256 must be sha256=<hex>")
        if not hmac.compare_digest(given[7:].lower(), hmac_sha256_hex(secret, body)):
            raise InvalidSignature("signature does not match the raw body and the app secret")

    def handshake(self, query: Mapping[str, str], verify_token: str) -> str:
        """Meta's GET subscription check; PHP-style `hub_mode` names are accepted too."""
        mode = query.get("hub.mode") or query.get("hub_mode")
        token = query.get("hub.verify_token") or query.get("hub_verify_token") or ""
        if mode != "subscribe":
            raise HandshakeRefused("hub.mode must be subscribe")
        if not hmac.compare_digest(token.encode(), verify_token.encode()):
            raise HandshakeRefused("hub.verify_token does not match")
        challenge = query.get("hub.challenge") or query.get("hub_challenge")
        if not challenge:
            raise MalformedPayload("hub.challenge", "missing")
        return challenge

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        doc = decode_json_object(body)
        if doc.get("object") != "page":
            raise MalformedPayload("object", f"expected 'page' (the only object subscribed), got {doc.get('object')!r}")
        entries = doc.get("entry")
        if not isinstance(entries, list):
            raise MalformedPayload("entry", "expected a list")
        events: list[CloudEvent] = []
        for i, entry in enumerate(entries):
            path = f"entry[{i}]"
            if not isinstance(entry, Mapping):
                raise MalformedPayload(path, "expected an object")
            page_id = str(_id(entry, "id", path))
            entry_time = entry.get("time")
            fallback = parse_timestamp(entry_time, f"{path}.time") if entry_time is not None else received_at
            for list_name in ("messaging", "standby"):  # standby: another app owns the thread
                for j, item in enumerate(self._list(entry, list_name, path)):
                    events.append(self._messaging(item, f"{path}.{list_name}[{j}]", page_id, list_name,
                                                  received_at))
            for j, change in enumerate(self._list(entry, "changes", path)):
                event = self._change(change, f"{path}.changes[{j}]", page_id, fallback, received_at)
                if event is not None:
                    events.append(event)
        return events

    @staticmethod
    def _list(entry: Mapping[str, Any], name: str, path: str) -> list[Any]:
        items = entry.get(name)
        if items is None:
            return []
        if not isinstance(items, list):
            raise MalformedPayload(f"{path}.{name}", "expected a list")
        return items

    def _messaging(self, item: Any, path: str, page_id: str, list_name: str, received_at: datetime) -> CloudEvent:
        if not isinstance(item, Mapping):
            raise MalformedPayload(path, "expected an object")
        sender = _obj(item, "sender", path)
        recipient = _obj(item, "recipient", path)
        assert sender is not None and recipient is not None
        sender_id = _id(sender, "id", f"{path}.sender", required=not sender.get("user_ref"))
        user_ref = None if sender_id else _id(sender, "user_ref", f"{path}.sender")
        recipient_id = str(_id(recipient, "id", f"{path}.recipient"))
        if "timestamp" not in item:
            raise MalformedPayload(f"{path}.timestamp", "missing")
        time = parse_timestamp(item["timestamp"], f"{path}.timestamp")  # ms, or s as a string: by magnitude
        ts = str(item["timestamp"])
        kind = next((k for k in MESSAGING_KINDS if k in item), "messaging")
        body = _obj(item, kind, path) if kind != "messaging" else {}
        assert body is not None
        who = sender_id or f"ref:{user_ref}"
        psid, direction = sender_id, "inbound"
        if kind == "message":
            mid = _id(body, "mid", f"{path}.message")
            if body.get("is_echo"):  # a message the Page sent: the customer is the recipient
                kind, psid, direction, who = "message_echo", recipient_id, "outbound", recipient_id
            key = str(mid)
        elif kind == "postback":
            key = _id(body, "mid", f"{path}.postback", required=False) or \
                f"pb:{who}:{ts}:{_str(body.get('payload')) or ''}"
        elif kind == "referral":
            key = f"ref:{who}:{ts}:{_str(body.get('ref')) or _str(body.get('ad_id')) or ''}"
        elif kind == "optin":
            token = _str(body.get("notification_messages_token")) or _str(body.get("ref")) or ""
            key = f"optin:{who}:{ts}:{token}"
        elif kind in ("read", "delivery"):
            watermark = _str(body.get("watermark"))
            if watermark is None:
                raise MalformedPayload(f"{path}.{kind}.watermark", "missing")
            key = f"{'read' if kind == 'read' else 'dlv'}:{who}:{watermark}"
        else:
            key = f"{kind}:{who}:{ts}:{stable_digest(dict(item))}"
        return _event(page_id, key, kind, f"{page_id}:{psid or 'ref:' + str(user_ref)}", time, received_at, {
            "psid": psid, "user_ref": user_ref, "direction": direction, "standby": list_name == "standby",
            "item": dict(item)})

    def _change(self, change: Any, path: str, page_id: str, fallback: datetime,
                received_at: datetime) -> CloudEvent | None:
        if not isinstance(change, Mapping):
            raise MalformedPayload(path, "expected an object")
        field = change.get("field")
        if not isinstance(field, str) or not field:
            raise MalformedPayload(f"{path}.field", "missing")
        value = _obj(change, "value", path)
        assert value is not None
        vpath = f"{path}.value"
        created = value.get("created_time")
        time = parse_timestamp(created, f"{vpath}.created_time") if created is not None else fallback
        if field == "leadgen":
            leadgen_id = str(_id(value, "leadgen_id", vpath))
            ids = {k: v for k in ("form_id", "ad_id", "adgroup_id", "page_id")
                   if (v := _id(value, k, vpath, required=False)) is not None}
            return _event(page_id, leadgen_id, "leadgen", f"{page_id}:{leadgen_id}", time, received_at,
                          {"leadgen_id": leadgen_id, "ids": ids, "value": dict(value)})
        if field == "feed" and value.get("item") == "comment":
            comment_id = str(_id(value, "comment_id", vpath))
            author = _obj(value, "from", vpath, required=False)
            author_id = _id(author, "id", f"{vpath}.from", required=False)
            if author_id == page_id:
                return None  # the Page's own comment (our replies): not a customer touchpoint
            verb = _str(value.get("verb")) or "add"
            key = {"add": comment_id, "remove": f"{comment_id}:remove"}.get(
                verb, f"{comment_id}:{verb}:{stable_digest(dict(value))}")  # edits reuse the comment id
            return _event(page_id, key, "comment", f"{page_id}:{author_id or comment_id}", time, received_at,
                          {"psid": author_id, "verb": verb, "value": dict(value)})
        key = f"{field}:{stable_digest(dict(value))}"  # other feed items (posts, reactions ...) as received
        author_id = _id(value.get("from") if isinstance(value.get("from"), Mapping) else None, "id",
                        f"{vpath}.from", required=False)
        return _event(page_id, key, "change", f"{page_id}:{author_id or field}", time, received_at,
                      {"field": field, "psid": author_id if author_id != page_id else None, "value": dict(value)})

    def kafka_key(self, event: CloudEvent) -> str:
        """`<page_id>:<psid>` (or `:<leadgen_id>`, `:ref:<user_ref>`), so one person's events stay in order."""
        return event.subject or event.id

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        page_id: str = data["page_id"]
        kind: str = data["kind"]
        channel_ids: list[tuple[str, str]] = []
        if data.get("psid"):
            channel_ids.append((IdentifierType.fb_psid.value, f"{page_id}:{data['psid']}"))
        elif data.get("user_ref"):  # a chat-plugin session, not a person: never joins a Messenger PSID
            channel_ids.append((IdentifierType.cookie.value, f"fb_user_ref:{page_id}:{data['user_ref']}"))
        contact = RawContact(
            channel=self.channel, source=f"facebook:{page_id}",
            source_record_id=data.get("psid") or data.get("user_ref") or data["record_key"],
            occurred_at=event.time, received_at=event.hopnhatreceived, interaction_kind=kind,
            channel_ids=channel_ids, payload={"kind": kind},
        )
        if kind in ("leadgen", "lead"):
            return self._lead(contact, data)
        if kind == "comment":
            value = data["value"]
            author = value.get("from") if isinstance(value.get("from"), Mapping) else {}
            contact.name = _str(author.get("name"))
            contact.summary = (_str(value.get("message")) or f"comment {data['verb']}")[:280]
            contact.payload.update({k: value[k] for k in ("comment_id", "post_id", "parent_id", "message",
                                                          "photo", "video") if k in value})
            contact.payload["verb"] = data["verb"]
            return contact
        if kind == "change":
            contact.summary = f"{data['field']} change"
            contact.payload["value"] = data["value"]
            return contact
        item: Mapping[str, Any] = data["item"]
        contact.payload.update({"direction": data["direction"], "standby": data["standby"]})
        body = item.get("message") or item.get(kind) or {}
        if kind in ("message", "message_echo"):
            text = _str(body.get("text"))
            attachments = [{"type": a.get("type"), "url": (a.get("payload") or {}).get("url")}
                           for a in body.get("attachments") or [] if isinstance(a, Mapping)]
            quick = _str((body.get("quick_reply") or {}).get("payload"))
            contact.payload.update({"mid": body.get("mid"), "text": text, "attachments": attachments,
                                    "quick_reply": quick, "reply_to": (body.get("reply_to") or {}).get("mid")})
            # A phone or email tapped on a quick reply is a claim (unverified payload): kept, never matched on.
            if quick and (EMAIL_RE.match(quick) or PHONE_RE.match(quick)):
                contact.attributes["fb_claimed_contact"] = quick
            contact.summary = (text or ", ".join(str(a["type"]) for a in attachments) or kind)[:280]
            return contact
        for key in ("title", "payload", "ref", "source", "ad_id", "type", "watermark", "mids"):
            if key in body:
                contact.payload[key] = body[key]
        referral = body.get("referral") if kind == "postback" else body if kind == "referral" else None
        if isinstance(referral, Mapping):
            contact.attributes.update({f"fb_referral_{k}": str(referral[k]) for k in ("ref", "source", "ad_id")
                                       if _str(referral.get(k))})
        if kind == "optin":
            contact.attributes.update({f"fb_optin_{k}": str(body[k]) for k in ("type", "payload", "user_token_status")
                                       if _str(body.get(k))})
        contact.summary = (_str(body.get("title")) or _str(body.get("ref")) or kind)[:280]
        return contact

    @staticmethod
    def _lead(contact: RawContact, data: Mapping[str, Any]) -> RawContact:
        leadgen_id: str = data["leadgen_id"]
        contact.channel_ids = [(IdentifierType.external.value, f"fb_lead:{leadgen_id}")]
        contact.source_record_id = f"lead:{leadgen_id}"
        if data["kind"] == "leadgen":  # ids only; the answers arrive with the fetched `lead` event
            contact.attributes = {f"fb_{k}": v for k, v in data["ids"].items() if k != "page_id"}
            contact.summary = f"Lead Ads form {data['ids'].get('form_id', '?')} submitted"
            contact.payload.update({"leadgen_id": leadgen_id, **data["ids"]})
            return contact
        answers: Mapping[str, list[str]] = data["answers"]
        for key, values in answers.items():
            k = key.lower()
            for value in values:
                if k in LEAD_NAME_KEYS:
                    contact.name = contact.name or value
                elif "phone" in k or "điện_thoại" in k or "dien_thoai" in k or k == "sdt":
                    contact.phones.append(value)
                elif "email" in k or EMAIL_RE.match(value):  # one public sample has a localised email key
                    contact.emails.append(value)
                else:  # first_name/last_name too: their order for Vietnamese names is unverified
                    contact.attributes[f"fb_lead_{k}"] = ", ".join(values)
        contact.attributes.update({f"fb_{k}": str(v) for k, v in data["lead"].items() if k in ("form_id", "ad_id")})
        contact.summary = f"Lead Ads answers for lead {leadgen_id}"
        contact.payload.update({"leadgen_id": leadgen_id, "answers": dict(answers), **data["lead"]})
        return contact
