"""Email -> raw.email: one RFC 5322 message per event, from inbound-parse webhooks, IMAP, .eml and mbox.

Front doors (docs/connectors/email.md; facts in the team's email reference note):
* `POST /webhooks/email/{source_id}` where `source_id` is `<provider>` or `<provider>-<name>`,
  provider one of sendgrid (multipart/form-data, raw `email` field or parsed fields), mailgun
  (urlencoded or multipart, `body-mime` or parsed fields + `message-headers`), postmark (JSON).
  The configured secret says how deliveries are verified: `sendgrid-ecdsa:<base64 public key>`,
  `sendgrid-oauth:<bearer token>`, `mailgun:<webhook signing key>`, `postmark:<user>:<password>`.
* `events_from_eml`, `events_from_mbox` / `iter_mbox` for file imports (connectors/email_message.py,
  re-exported here); hopnhat/imap_poller.py for IMAP.
* `POST /unsubscribe/email/{token}` (hopnhat/http/unsubscribe.py): RFC 8058 one-click unsubscribes,
  events of type `ONE_CLICK_TYPE` (connectors/email_unsubscribe.py), extracted by `_one_click_contact`.

The event id is the reference note's §7 key: a hash of the Message-ID plus origin fields (Date,
From address, Subject), or of the canonical headers and body when there is no Message-ID, so the
same message via two mailboxes, IMAP and an mbox backfill, or a provider retry is one event.
Threading fields (Message-ID, In-Reply-To, References, thread root) travel in the payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, Parser
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl

from connectors import p256
from connectors.base import Connector, decode_json_object, load_json
from connectors.email_message import (
    MAX_ATTACHMENTS,
    body_bytes,
    check_header,
    decode_text,
    events_from_eml,
    events_from_mbox,
    html_to_text,
    iter_mbox,
    message_event,
    nfc,
    parse_message,
)
from connectors.email_unsubscribe import ONE_CLICK_TYPE, is_unsubscribe_subject
from schema.contact import RawContact
from schema.errors import InvalidSignature, MalformedPayload, UnknownSource
from schema.events import CloudEvent

__all__ = ["EmailConnector", "events_from_eml", "events_from_mbox", "iter_mbox", "provider_of"]

PROVIDERS = ("sendgrid", "mailgun", "postmark")
MAILGUN_WINDOW = timedelta(minutes=5)


def provider_of(source_id: str) -> str:
    provider = re.split(r"[-_.:]", source_id, maxsplit=1)[0].lower()
    if provider not in PROVIDERS:
        raise UnknownSource(f"email source {source_id!r} must start with one of {', '.join(PROVIDERS)}")
    return provider


def form_fields(body: bytes, content_type: str) -> dict[str, bytes]:
    """multipart/form-data (stdlib MIME parser over the raw body) or urlencoded -> field -> bytes."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise MalformedPayload("body", f"not valid UTF-8 at byte {exc.start}") from exc
        return {k: v.encode("utf-8") for k, v in pairs}
    if mime != "multipart/form-data":
        raise MalformedPayload("content-type",
                               f"expected multipart/form-data or urlencoded, got {mime or 'none'}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    form = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not form.is_multipart():
        raise MalformedPayload("body", "multipart body without parts (boundary missing or wrong)")
    fields: dict[str, bytes] = {}
    for part in cast(list[Message], form.get_payload()):
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        fields.setdefault(name, payload if isinstance(payload, bytes) else b"")
    return fields


def _field_text(fields: Mapping[str, bytes], name: str, charsets: Mapping[str, str] | None = None) -> str:
    raw = fields.get(name)
    if raw is None:
        return ""
    return decode_text(raw, (charsets or {}).get(name) or "utf-8")[0]


def _json_field(fields: Mapping[str, bytes], name: str) -> Any:
    return load_json(_field_text(fields, name) or "null", name)


def _message_from_pairs(pairs: list[tuple[str, str]], field: str) -> EmailMessage:
    """Headers a provider already parsed -> an EmailMessage (body left out). A CR or LF inside a value
    would otherwise start a new header: refused as injection before anything is built."""
    lines = []
    for name, value in pairs:
        if not re.fullmatch(r"[!-9;-~]+", name):
            raise MalformedPayload(field, f"bad header name {name[:40]!r}")
        if name.lower().startswith("content-") or name.lower() == "mime-version":
            continue
        check_header(f"{field}.{name}" if field else name, value)
        lines.append(f"{name}: {value}")
    return cast(EmailMessage, Parser(policy=policy.default).parsestr("\n".join(lines) + "\n\n"))


class EmailConnector(Connector):
    channel: ClassVar[str] = "email"
    signature_header: ClassVar[str] = "x-twilio-email-event-webhook-signature"
    timestamp_header: ClassVar[str] = "x-twilio-email-event-webhook-timestamp"

    def __init__(self, clock: Callable[[], datetime] | None = None, *,
                 unsubscribe_addresses: Iterable[str] = ()) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        # HOPNHAT_EMAIL_UNSUBSCRIBE_ADDRESSES: mail to these is an unsubscribe (email_unsubscribe.py)
        self.unsubscribe_addresses = tuple(unsubscribe_addresses)

    # Verification: the configured secret's scheme decides, never the delivery.
    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        scheme, _, value = secret.decode("utf-8").partition(":")
        if scheme == "sendgrid-ecdsa":
            self._verify_sendgrid_ecdsa(headers, body, value)
        elif scheme == "sendgrid-oauth":
            given = headers.get("authorization") or ""
            if not given.lower().startswith("bearer ") or not hmac.compare_digest(given[7:].strip().encode(),
                                                                                 value.encode()):
                raise InvalidSignature("Authorization bearer token missing or wrong")
        elif scheme == "mailgun":
            self._verify_mailgun(headers, body, value.encode())
        elif scheme == "postmark":
            self._verify_basic(headers, value)
        else:
            raise InvalidSignature(f"email secret must start with sendgrid-ecdsa:, sendgrid-oauth:, mailgun: or "
                                   f"postmark: (got {scheme[:20]!r}:)")

    def _verify_sendgrid_ecdsa(self, headers: Mapping[str, str], body: bytes, key_b64: str) -> None:
        signature, timestamp = headers.get(self.signature_header), headers.get(self.timestamp_header)
        if not signature or not timestamp:
            raise InvalidSignature("X-Twilio-Email-Event-Webhook-Signature or -Timestamp header missing")
        try:
            key = p256.public_key_from_b64(key_b64)
            der = base64.b64decode(signature.strip(), validate=True)
        except (ValueError, binascii.Error) as exc:
            raise InvalidSignature(f"cannot read the signature or the configured key: {exc}") from exc
        if not p256.verify(key, timestamp.strip().encode() + body, der):
            raise InvalidSignature("ECDSA signature does not match timestamp + body")

    def _verify_mailgun(self, headers: Mapping[str, str], body: bytes, key: bytes) -> None:
        try:
            fields = form_fields(body, headers.get("content-type", ""))
        except MalformedPayload as exc:
            raise InvalidSignature(f"cannot read timestamp/token/signature: {exc}") from exc
        timestamp, token = _field_text(fields, "timestamp"), _field_text(fields, "token")
        signature = _field_text(fields, "signature")
        if not (timestamp and token and signature):
            raise InvalidSignature("timestamp, token or signature field missing")
        expected = hmac.new(key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.strip().lower(), expected):
            raise InvalidSignature("signature does not match HMAC-SHA256(timestamp + token)")
        if not timestamp.isdigit():
            raise InvalidSignature("timestamp is not epoch seconds")
        when = datetime.fromtimestamp(int(timestamp), UTC)
        if abs(self.clock() - when) > MAILGUN_WINDOW:
            raise InvalidSignature(f"timestamp {timestamp} is outside the ±5 min window (stale or replayed)")

    @staticmethod
    def _verify_basic(headers: Mapping[str, str], credentials: str) -> None:
        """Postmark signs nothing: basic auth in the URL. A refusal is 403, which stops Postmark retrying."""
        given = headers.get("authorization") or ""
        ok = False
        if given.lower().startswith("basic "):
            try:
                given_credentials = base64.b64decode(given[6:].strip(), validate=True)
                ok = hmac.compare_digest(given_credentials, credentials.encode())
            except (binascii.Error, ValueError):
                ok = False
        if not ok:
            error = InvalidSignature("basic-auth credentials missing or wrong")
            error.http_status = 403
            raise error

    def parse(self, body: bytes, content_type: str, source_id: str,
              received_at: datetime) -> list[CloudEvent]:
        provider = provider_of(source_id)
        try:
            if provider == "postmark":
                return [self._postmark(body, source_id, received_at)]
            fields = form_fields(body, content_type)
            if provider == "sendgrid":
                return [self._sendgrid(fields, source_id, received_at)]
            return [self._mailgun(fields, source_id, received_at)]
        except MalformedPayload as exc:
            if provider == "mailgun":  # Mailgun retries anything but 200 and 406 for about 8 hours
                exc.http_status = 406
            raise

    def _sendgrid(self, fields: Mapping[str, bytes], source_id: str, received_at: datetime) -> CloudEvent:
        where = "webhook:sendgrid"
        if "email" in fields:
            raw = fields["email"]
            return self._event(parse_message(raw, "email."), source_id, received_at, origin="sendgrid",
                                 position=where, field="email.", raw_body=body_bytes(raw))
        if "headers" not in fields:
            raise MalformedPayload("email", "neither the raw `email` field nor parsed `headers`")
        charsets = _json_field(fields, "charsets") or {}
        if not isinstance(charsets, dict):
            raise MalformedPayload("charsets", "expected a JSON object")
        msg = parse_message(fields["headers"] + b"\n\n", "headers.")
        text = _field_text(fields, "text", charsets) or html_to_text(_field_text(fields, "html", charsets))
        info = _json_field(fields, "attachment-info") or {}
        attachments = [{"filename": str(v.get("filename", "")), "content_type": str(v.get("type", "")),
                        "size": len(fields.get(k, b"")),
                        "sha256": hashlib.sha256(fields.get(k, b"")).hexdigest()}
                       for k, v in (info.items() if isinstance(info, dict) else []) if isinstance(v, dict)]
        return self._event(msg, source_id, received_at, origin="sendgrid", position=where, field="headers.",
                             text=nfc(text), attachments=attachments[:MAX_ATTACHMENTS],
                             attachment_count=len(attachments))

    def _mailgun(self, fields: Mapping[str, bytes], source_id: str, received_at: datetime) -> CloudEvent:
        where = f"webhook:mailgun/{_field_text(fields, 'token')[:64]}"
        if "body-mime" in fields:
            raw = fields["body-mime"]
            return self._event(parse_message(raw, "body-mime."), source_id, received_at, origin="mailgun",
                                 position=where, field="body-mime.", raw_body=body_bytes(raw))
        pairs = _json_field(fields, "message-headers")
        if pairs is None:
            pairs = []
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and all(
                isinstance(x, str) for x in p) for p in pairs):
            raise MalformedPayload("message-headers", "expected a JSON list of [name, value] pairs")
        names = {p[0].lower() for p in pairs}
        for name in ("from", "subject"):  # top-level fields fill what message-headers lacks
            if name not in names and _field_text(fields, name):
                pairs.append([name.title(), _field_text(fields, name)])
        msg = _message_from_pairs([(p[0], p[1]) for p in pairs], "message-headers")
        text = _field_text(fields, "body-plain") or html_to_text(_field_text(fields, "body-html"))
        count = _field_text(fields, "attachment-count")
        return self._event(msg, source_id, received_at, origin="mailgun", position=where,
                             field="message-headers.", text=nfc(text), attachments=[],
                             attachment_count=int(count) if count.isdigit() else 0)

    def _postmark(self, body: bytes, source_id: str, received_at: datetime) -> CloudEvent:
        doc = decode_json_object(body)
        if isinstance(doc.get("RawEmail"), str) and doc["RawEmail"].strip():
            raw = doc["RawEmail"].encode("utf-8")
            return self._event(parse_message(raw, "RawEmail."), source_id, received_at, origin="postmark",
                                 position=f"webhook:postmark/{doc.get('MessageID', '')}", field="RawEmail.",
                                 raw_body=body_bytes(raw))
        headers = doc.get("Headers") or []
        if not isinstance(headers, list) or not all(isinstance(h, dict) for h in headers):
            raise MalformedPayload("Headers", "expected a list of {Name, Value} objects")
        pairs = [(str(h.get("Name", "")), str(h.get("Value", ""))) for h in headers]
        top_level = ("from", "to", "cc", "subject", "date", "reply-to")  # taken from the fields below
        pairs = [(n, v) for n, v in pairs if n.lower() not in top_level]
        raw_full = doc.get("FromFull")
        full: dict[str, Any] = raw_full if isinstance(raw_full, dict) else {}
        address = str(full.get("Email") or doc.get("From") or "")
        name = str(full.get("Name") or doc.get("FromName") or "")
        if not address:
            raise MalformedPayload("From", "no sender address")
        check_header("FromName", name)
        check_header("FromFull.Email", address)
        quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        pairs.append(("From", f"{quoted} <{address}>" if name else address))  # SMTPUTF8 addresses too
        for key, header in (("To", "To"), ("Cc", "Cc"), ("ReplyTo", "Reply-To"), ("Subject", "Subject"),
                            ("Date", "Date")):
            if isinstance(doc.get(key), str) and doc[key]:
                pairs.append((header, doc[key]))
        msg = _message_from_pairs(pairs, "")
        text = doc.get("TextBody") if isinstance(doc.get("TextBody"), str) else ""
        if not text and isinstance(doc.get("HtmlBody"), str):
            text = html_to_text(doc["HtmlBody"])
        attachments = []
        for i, att in enumerate(doc.get("Attachments") or []):
            if not isinstance(att, dict):
                raise MalformedPayload(f"Attachments[{i}]", "expected an object")
            try:
                content = base64.b64decode(str(att.get("Content") or ""), validate=False)
            except (binascii.Error, ValueError) as exc:
                raise MalformedPayload(f"Attachments[{i}].Content", "not base64") from exc
            attachments.append({"filename": str(att.get("Name", "")),
                                "content_type": str(att.get("ContentType", "")),
                                "size": len(content), "sha256": hashlib.sha256(content).hexdigest()})
        return self._event(msg, source_id, received_at, origin="postmark",
                             position=f"webhook:postmark/{doc.get('MessageID', '')}",
                             text=nfc(str(text)), attachments=attachments[:MAX_ATTACHMENTS],
                             attachment_count=len(attachments))

    def _event(self, msg: EmailMessage, source_id: str, received_at: datetime, **kwargs: Any) -> CloudEvent:
        return message_event(msg, source_id, received_at, unsubscribe_addresses=self.unsubscribe_addresses,
                             **kwargs)

    def kafka_key(self, event: CloudEvent) -> str:
        """The sender's address (lower-cased), so one person's mail stays in order."""
        return event.subject or event.id

    def extract(self, event: CloudEvent) -> RawContact:
        if event.type == ONE_CLICK_TYPE:
            return self._one_click_contact(event)
        data = event.data
        sender: dict[str, str] = data["from"]
        text: str = data.get("text") or ""
        subject: str = data.get("subject") or ""
        snippet = " ".join(text.split())[:280]
        payload = {k: data.get(k) for k in ("origin", "message_id", "in_reply_to", "references",
                                            "thread_root",
                                            "subject", "attachments", "attachment_count", "date_quality",
                                            "defects", "source_position")}
        payload["text"] = text[:10_000]
        attributes: dict[str, str] = {}
        # An unsubscribe request (connectors/email_unsubscribe.py) is a statement about email marketing:
        # resolver/consent.py reads `email_subscribed`; `email_unsubscribe_by` says how it was recognised.
        unsubscribe_by = ("address" if data.get("unsubscribe_recipient")
                          else "subject" if is_unsubscribe_subject(subject) else None)
        if unsubscribe_by is not None:
            attributes = {"email_subscribed": "false", "email_unsubscribe_by": unsubscribe_by}
        return RawContact(
            channel=self.channel,
            source=f"email:{event.source.rsplit('/', 1)[-1]}",
            source_record_id=data["message_id"] or data["idempotency_key"],
            occurred_at=event.time,
            received_at=event.hopnhatreceived,
            interaction_kind="email",
            name=sender.get("name") or None,
            emails=[sender["address"]],
            attributes=attributes,
            summary=(f"{subject} — {snippet}" if subject and snippet
                     else subject or snippet or "(no subject)")[:280],
            payload=payload,
        )

    def _one_click_contact(self, event: CloudEvent) -> RawContact:
        """An RFC 8058 one-click POST (hopnhat/http/unsubscribe.py): the address it was signed for
        unsubscribes from marketing mail at the time of the POST."""
        data = event.data
        return RawContact(
            channel=self.channel, source="email:one-click", source_record_id=event.id, occurred_at=event.time,
            received_at=event.hopnhatreceived, interaction_kind="email_unsubscribe", emails=[data["address"]],
            attributes={"email_subscribed": "false", "email_unsubscribe_by": "one-click"},
            summary=f"One-click unsubscribe (RFC 8058) from mail sent on {data['sent_on']}",
            payload={k: data.get(k) for k in ("origin", "sent_on", "source_position")})
