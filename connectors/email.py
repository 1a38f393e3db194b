"""Email -> raw.email: one RFC 5322 message per event, from inbound-parse webhooks, IMAP, .eml and mbox.

Front doors (docs/connectors/email.md; facts in the team's email reference note):
* `POST /webhooks/email/{source_id}` where `source_id` is `<provider>` or `<provider>-<name>`,
  provider one of sendgrid (multipart/form-data, raw `email` field or parsed fields), mailgun
  (urlencoded or multipart, `body-mime` or parsed fields + `message-headers`), postmark (JSON).
  The configured secret says how deliveries are verified: `sendgrid-ecdsa:<base64 public key>`,
  `sendgrid-oauth:<bearer token>`, `mailgun:<webhook signing key>`, `postmark:<user>:<password>`.
* `events_from_eml`, `events_from_mbox` / `iter_mbox` for file imports; connectors/imap.py for IMAP.

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
import mailbox
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser, Parser
from email.utils import formataddr, parseaddr
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl

from connectors import p256
from connectors.base import VN_TZ, Connector
from schema.contact import RawContact
from schema.errors import InvalidSignature, MalformedPayload, UnknownSource
from schema.events import CloudEvent

PROVIDERS = ("sendgrid", "mailgun", "postmark")
MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # SendGrid's 30 MB cap plus form overhead
MAX_TEXT_CHARS = 1_000_000  # a decoded text body above this is refused (field body.text)
MAX_HEADER_CHARS = 16_000
MAX_ATTACHMENTS = 100  # metadata of the first 100 is kept; the count says how many there were
MAILGUN_WINDOW = timedelta(minutes=5)
IDENTITY_HEADERS = ("From", "Reply-To", "To", "Cc", "Sender", "Subject", "Date", "Message-ID",
                    "In-Reply-To", "References")
NOT_CANONICAL = ("received", "return-path", "delivered-to")
MSGID = re.compile(r"<[^<>\s]+>")
GMT_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$", re.IGNORECASE)
LINE_BREAK = re.compile(r"[\r\n\x00]")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _repair(text: str) -> str:
    """Undo surrogate escapes left by raw 8-bit header bytes: UTF-8 first, then Windows-1258."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return _nfc(text)
    raw = text.encode("utf-8", "surrogateescape")
    for charset in ("utf-8", "cp1258"):
        try:
            return _nfc(raw.decode(charset))
        except UnicodeDecodeError:
            continue
    return _nfc(raw.decode("latin-1"))


def _check_header(field: str, value: str) -> str:
    """A decoded header value; CR, LF or NUL inside one (an encoded-word can smuggle them) is injection."""
    if LINE_BREAK.search(value):
        raise MalformedPayload(field, "contains a line break or NUL (header injection)")
    if len(value) > MAX_HEADER_CHARS:
        raise MalformedPayload(field, f"longer than {MAX_HEADER_CHARS} characters")
    return value


def normalise_message_id(value: str) -> str | None:
    """`<left@right>` with surrounding space removed; a bare `left@right` gets its brackets."""
    value = value.strip()
    found = MSGID.search(value)
    if found:
        return found.group(0)
    if value and " " not in value and "@" in value:
        return f"<{value}>"
    return None


class _TextFromHtml(HTMLParser):
    """Visible text of an HTML body: script/style dropped, block elements become line breaks."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self.skip:
            self.skip -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def decode_text(payload: bytes, declared: str | None) -> tuple[str, str]:
    """(text, charset that worked): declared -> utf-8 -> cp1258 -> latin-1, NFC (cp1258 spells tones combining)."""
    for charset in (declared, "utf-8", "cp1258", "latin-1"):
        if not charset:
            continue
        try:
            return _nfc(payload.decode(charset)), charset.lower()
        except (UnicodeDecodeError, LookupError):
            continue
    return _nfc(payload.decode("latin-1")), "latin-1"  # unreachable: latin-1 decodes any byte


def _parse_date(value: str | None, received_at: datetime) -> tuple[datetime, str]:
    """(aware UTC time, date_quality). `GMT+7` (Vietnamese webmail) would lose its offset in the stdlib."""
    if value:
        value = GMT_OFFSET.sub(lambda m: f"{m.group(1)}{int(m.group(2)):02d}{m.group(3) or '00'}", value.strip())
        header = policy.default.header_factory("Date", value)
        when = getattr(header, "datetime", None)
        if isinstance(when, datetime):
            if when.tzinfo is None:  # zone missing or -0000: the shop's local time
                return when.replace(tzinfo=VN_TZ).astimezone(UTC), "assumed_tz"
            return when.astimezone(UTC), "header"
    return received_at.astimezone(UTC), "received"


def _addresses(msg: Message, name: str) -> list[dict[str, str]]:
    raw = msg.get(name)
    if raw is None:
        return []
    out = []
    for addr in getattr(raw, "addresses", ()):
        address = _check_header(name, _repair(addr.addr_spec or "")).strip()
        if not address or "@" not in address:
            continue
        local, _, domain = address.rpartition("@")
        display = _check_header(name, _display_name(msg, name, addr.display_name or ""))
        out.append({"name": display, "address": f"{local}@{domain.lower()}"})
    return out


def _display_name(msg: Message, header: str, decoded: str) -> str:
    """Decoded display name; one UTF-8 character split across two B-words decodes to surrogates here,
    so re-decode the raw value with make_header (which joins the words first)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in decoded):
        return _nfc(decoded.strip())
    raw = dict(msg.raw_items()).get(header)
    if isinstance(raw, str) and "=?" in raw:
        name, _ = parseaddr(raw)
        try:
            return _nfc(str(make_header(decode_header(name))).strip())
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    return _repair(decoded).strip()


def _header_text(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    if value is None:
        return None
    return _check_header(name, _repair(str(value)).strip())


def _raw_header(msg: Message, name: str) -> str | None:
    """The value as written (the Date header object would already have dropped a `GMT+7` offset)."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return _check_header(name, " ".join(str(value).split()))
    return None


def _ids(value: str | None) -> list[str]:
    return MSGID.findall(value or "")


def _body(msg: EmailMessage, field: str) -> tuple[str, str, str | None]:
    """(text, kind plain|html|none, charset) from the preferred body part."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", "none", None
    payload = part.get_payload(decode=True)
    raw = payload if isinstance(payload, bytes) else b""
    if len(raw) > MAX_TEXT_CHARS * 4:
        raise MalformedPayload(f"{field}body.text", f"body part of {len(raw)} bytes is over the cap")
    text, charset = decode_text(raw, part.get_content_charset())
    kind = part.get_content_subtype()
    if kind == "html":
        text = html_to_text(text)
    return text, ("html" if kind == "html" else "plain"), charset


def _attachments(msg: EmailMessage) -> tuple[list[dict[str, Any]], int]:
    out: list[dict[str, Any]] = []
    count = 0
    for part in msg.iter_attachments():
        count += 1
        if len(out) >= MAX_ATTACHMENTS:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        out.append({"filename": _repair(part.get_filename() or ""), "content_type": part.get_content_type(),
                    "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return out, count


def _canonical_headers(msg: Message) -> str:
    lines = []
    for name, value in msg.raw_items():
        low = name.lower()
        if low in NOT_CANONICAL or low.startswith("x-"):
            continue
        lines.append(f"{low}:{' '.join(str(value).split())}")
    return "\n".join(lines)


def idempotency_key(message_id: str | None, date: str | None, from_address: str, subject: str,
                    canonical: Callable[[], bytes]) -> str:
    """§7 of the reference note. Decoded Subject and the Date as written, so a provider's parsed fields
    and the raw message give the same key; `canonical()` (headers + body) only when there is no id."""
    if message_id:
        text = "|".join(("msgid", message_id.strip("<>").lower(), " ".join((date or "").split()),
                         from_address.lower(), " ".join(subject.split())))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]
    return hashlib.sha256(b"raw|" + canonical()).hexdigest()[:40]


def message_event(msg: EmailMessage, source_id: str, received_at: datetime, *, origin: str,
                  position: str, field: str = "", raw_body: bytes | None = None,
                  text: str | None = None, attachments: list[dict[str, Any]] | None = None,
                  attachment_count: int | None = None) -> CloudEvent:
    """One CloudEvent from a parsed message. Parsed-field providers pass `text`/`attachments` directly;
    `field` prefixes the names in errors (e.g. `email.` for SendGrid's raw field)."""
    for name in IDENTITY_HEADERS:
        try:
            for value in msg.get_all(name) or []:
                _check_header(field + name, str(value))
        except ValueError as exc:  # the header registry refuses CR/LF inside an address part
            raise MalformedPayload(field + name, f"contains a line break (header injection): {exc}") from exc
    senders = _addresses(msg, "From")
    if not senders:
        raise MalformedPayload(field + "From", "no sender address")
    sender = senders[0]
    message_ids = [m for v in msg.get_all("Message-ID") or [] if (m := normalise_message_id(str(v)))]
    message_id = message_ids[0] if message_ids else None
    subject = _header_text(msg, "Subject") or ""
    date_raw = _raw_header(msg, "Date")
    occurred_at, date_quality = _parse_date(date_raw, received_at)
    charset: str | None = None
    if text is None:
        text, body_kind, charset = _body(msg, field)
    else:
        body_kind = "plain" if text else "none"
    if len(text) > MAX_TEXT_CHARS:
        raise MalformedPayload(f"{field}body.text", f"{len(text)} characters is over the cap of {MAX_TEXT_CHARS}")
    if attachments is None:
        attachments, attachment_count = _attachments(msg)
    in_reply_to = _ids(_header_text(msg, "In-Reply-To"))
    references = _ids(_header_text(msg, "References"))
    defects = sorted({type(d).__name__ for d in msg.defects} | {
        type(d).__name__ for name in IDENTITY_HEADERS if (h := msg.get(name)) is not None
        for d in getattr(h, "defects", ())})
    if message_id is None:
        defects.append("no-message-id")

    def canonical() -> bytes:
        body = raw_body if raw_body is not None else text.encode("utf-8")
        return _canonical_headers(msg).encode("utf-8", "surrogateescape") + b"\n\n" + body

    key = idempotency_key(message_id, date_raw, sender["address"], subject, canonical)
    return CloudEvent(
        id=f"email:{key}",
        source=f"/email/{source_id}",
        type="vn.hopnhat.email.received",
        subject=sender["address"].lower(),
        time=occurred_at,
        hopnhatchannel="email",
        hopnhatreceived=received_at,
        data={
            "origin": origin, "source_position": position, "idempotency_key": key,
            "date_quality": date_quality, "from": sender,
            "sender": next(iter(_addresses(msg, "Sender")), None),
            "reply_to": _addresses(msg, "Reply-To"), "to": _addresses(msg, "To"), "cc": _addresses(msg, "Cc"),
            "subject": subject, "message_id": message_id, "in_reply_to": in_reply_to, "references": references,
            "thread_root": references[0] if references else in_reply_to[0] if in_reply_to else message_id,
            "text": text, "body_kind": body_kind, "charset": charset,
            "attachments": attachments, "attachment_count": attachment_count or len(attachments),
            "defects": defects,
        },
    )


def parse_message(raw: bytes, field: str = "") -> EmailMessage:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MalformedPayload(field.rstrip(".") or "message", f"{len(raw)} bytes is over {MAX_MESSAGE_BYTES}")
    if not raw.strip():
        raise MalformedPayload(field.rstrip(".") or "message", "empty message")
    return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(raw))


def _raw_body(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at >= 0:
            return raw[at + len(sep):]
    return b""


def events_from_eml(data: bytes, source_id: str, received_at: datetime, *, origin: str = "eml",
                    position: str | None = None) -> list[CloudEvent]:
    """One .eml file (one RFC 5322 message, read in binary mode) -> its event."""
    msg = parse_message(data)
    return [message_event(msg, source_id, received_at, origin=origin, position=position or f"eml:{source_id}",
                          raw_body=_raw_body(data))]


def iter_mbox(path: str | Path, source_id: str, received_at: datetime) -> Iterator[
        tuple[int, CloudEvent | MalformedPayload]]:
    """(index, event or the error naming `message[i].<field>`) for every message: bad ones are reported,
    not fatal. CPython reads mboxo and does not unquote `>From ` lines (reference note §5)."""
    box = mailbox.mbox(str(path), create=False)
    try:
        for index, key in enumerate(box.iterkeys()):
            raw = box.get_bytes(key)
            try:
                yield index, events_from_eml(raw, source_id, received_at, origin="mbox",
                                             position=f"mbox:{Path(path).name}#{index}")[0]
            except MalformedPayload as exc:
                yield index, MalformedPayload(f"message[{index}].{exc.field}", exc.reason)
    finally:
        box.close()


def events_from_mbox(path: str | Path, source_id: str, received_at: datetime) -> list[CloudEvent]:
    """Every message of an mbox file; the first bad one raises MalformedPayload(`message[i].<field>`)."""
    events = []
    for _, item in iter_mbox(path, source_id, received_at):
        if isinstance(item, MalformedPayload):
            raise item
        events.append(item)
    return events


# --- inbound-parse webhooks -------------------------------------------------------------------

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
        raise MalformedPayload("content-type", f"expected multipart/form-data or urlencoded, got {mime or 'none'}")
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
    try:
        return json.loads(_field_text(fields, name) or "null")
    except json.JSONDecodeError as exc:
        raise MalformedPayload(name, f"invalid JSON at line {exc.lineno} column {exc.colno}") from exc


def _message_from_pairs(pairs: list[tuple[str, str]], field: str) -> EmailMessage:
    """Headers a provider already parsed -> an EmailMessage (body left out). A CR or LF inside a value
    would otherwise start a new header: refused as injection before anything is built."""
    lines = []
    for name, value in pairs:
        if not re.fullmatch(r"[!-9;-~]+", name):
            raise MalformedPayload(field, f"bad header name {name[:40]!r}")
        if name.lower().startswith("content-") or name.lower() == "mime-version":
            continue
        _check_header(f"{field}.{name}" if field else name, value)
        lines.append(f"{name}: {value}")
    return cast(EmailMessage, Parser(policy=policy.default).parsestr("\n".join(lines) + "\n\n"))


class EmailConnector(Connector):
    channel: ClassVar[str] = "email"
    signature_header: ClassVar[str] = "x-twilio-email-event-webhook-signature"
    timestamp_header: ClassVar[str] = "x-twilio-email-event-webhook-timestamp"

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))

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
                ok = hmac.compare_digest(base64.b64decode(given[6:].strip(), validate=True), credentials.encode())
            except (binascii.Error, ValueError):
                ok = False
        if not ok:
            error = InvalidSignature("basic-auth credentials missing or wrong")
            error.http_status = 403
            raise error

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
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
            return message_event(parse_message(raw, "email."), source_id, received_at, origin="sendgrid",
                                 position=where, field="email.", raw_body=_raw_body(raw))
        if "headers" not in fields:
            raise MalformedPayload("email", "neither the raw `email` field nor parsed `headers`")
        charsets = _json_field(fields, "charsets") or {}
        if not isinstance(charsets, dict):
            raise MalformedPayload("charsets", "expected a JSON object")
        msg = parse_message(fields["headers"] + b"\n\n", "headers.")
        text = _field_text(fields, "text", charsets) or html_to_text(_field_text(fields, "html", charsets))
        info = _json_field(fields, "attachment-info") or {}
        attachments = [{"filename": str(v.get("filename", "")), "content_type": str(v.get("type", "")),
                        "size": len(fields.get(k, b"")), "sha256": hashlib.sha256(fields.get(k, b"")).hexdigest()}
                       for k, v in (info.items() if isinstance(info, dict) else []) if isinstance(v, dict)]
        return message_event(msg, source_id, received_at, origin="sendgrid", position=where, field="headers.",
                             text=_nfc(text), attachments=attachments[:MAX_ATTACHMENTS],
                             attachment_count=len(attachments))

    def _mailgun(self, fields: Mapping[str, bytes], source_id: str, received_at: datetime) -> CloudEvent:
        where = f"webhook:mailgun/{_field_text(fields, 'token')[:64]}"
        if "body-mime" in fields:
            raw = fields["body-mime"]
            return message_event(parse_message(raw, "body-mime."), source_id, received_at, origin="mailgun",
                                 position=where, field="body-mime.", raw_body=_raw_body(raw))
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
        return message_event(msg, source_id, received_at, origin="mailgun", position=where, field="message-headers.",
                             text=_nfc(text), attachments=[], attachment_count=int(count) if count.isdigit() else 0)

    def _postmark(self, body: bytes, source_id: str, received_at: datetime) -> CloudEvent:
        try:
            doc = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise MalformedPayload("body", f"not valid UTF-8 at byte {exc.start}") from exc
        except json.JSONDecodeError as exc:
            raise MalformedPayload("body", f"invalid JSON at line {exc.lineno} column {exc.colno}") from exc
        if not isinstance(doc, dict):
            raise MalformedPayload("body", "expected a JSON object")
        if isinstance(doc.get("RawEmail"), str) and doc["RawEmail"].strip():
            raw = doc["RawEmail"].encode("utf-8")
            return message_event(parse_message(raw, "RawEmail."), source_id, received_at, origin="postmark",
                                 position=f"webhook:postmark/{doc.get('MessageID', '')}", field="RawEmail.",
                                 raw_body=_raw_body(raw))
        headers = doc.get("Headers") or []
        if not isinstance(headers, list) or not all(isinstance(h, dict) for h in headers):
            raise MalformedPayload("Headers", "expected a list of {Name, Value} objects")
        pairs = [(str(h.get("Name", "")), str(h.get("Value", ""))) for h in headers]
        pairs = [(n, v) for n, v in pairs if n.lower() not in ("from", "to", "cc", "subject", "date", "reply-to")]
        raw_full = doc.get("FromFull")
        full: dict[str, Any] = raw_full if isinstance(raw_full, dict) else {}
        address = str(full.get("Email") or doc.get("From") or "")
        name = str(full.get("Name") or doc.get("FromName") or "")
        if not address:
            raise MalformedPayload("From", "no sender address")
        _check_header("FromName", name)
        pairs.append(("From", formataddr((name, address)) if name else address))
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
            attachments.append({"filename": str(att.get("Name", "")), "content_type": str(att.get("ContentType", "")),
                                "size": len(content), "sha256": hashlib.sha256(content).hexdigest()})
        return message_event(msg, source_id, received_at, origin="postmark",
                             position=f"webhook:postmark/{doc.get('MessageID', '')}",
                             text=_nfc(str(text)), attachments=attachments[:MAX_ATTACHMENTS],
                             attachment_count=len(attachments))

    def kafka_key(self, event: CloudEvent) -> str:
        """The sender's address (lower-cased), so one person's mail stays in order."""
        return event.subject or event.id

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        sender: dict[str, str] = data["from"]
        text: str = data.get("text") or ""
        subject: str = data.get("subject") or ""
        snippet = " ".join(text.split())[:280]
        payload = {k: data.get(k) for k in ("origin", "message_id", "in_reply_to", "references", "thread_root",
                                            "subject", "attachments", "attachment_count", "date_quality",
                                            "defects", "source_position")}
        payload["text"] = text[:10_000]
        return RawContact(
            channel=self.channel,
            source=f"email:{event.source.rsplit('/', 1)[-1]}",
            source_record_id=data["message_id"] or data["idempotency_key"],
            occurred_at=event.time,
            received_at=event.hopnhatreceived,
            interaction_kind="email",
            name=sender.get("name") or None,
            emails=[sender["address"]],
            summary=(f"{subject} — {snippet}" if subject and snippet else subject or snippet or "(no subject)")[:280],
            payload=payload,
        )
