"""One RFC 5322 message -> one CloudEvent for raw.email: what every front door of the email connector shares.

Headers are read with `email.policy.default` and repaired where Vietnamese mail breaks them (RFC 2047
words that split a UTF-8 character, raw 8-bit headers, Windows-1258 with combining tone marks, `GMT+7`
dates); bodies prefer text/plain and fall back to text/html stripped to text; attachments are kept as
metadata only. The event id is the reference note's §7 key (see `idempotency_key`). Pure: no I/O
except reading an mbox file the caller names. The webhook providers are in connectors/email.py.
"""

from __future__ import annotations

import hashlib
import mailbox
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.errors import MessageError
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

from connectors.base import VN_TZ
from connectors.email_unsubscribe import unsubscribe_recipient
from schema.errors import MalformedPayload
from schema.events import CloudEvent

MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # SendGrid's 30 MB cap plus form overhead
MAX_TEXT_CHARS = 1_000_000  # a decoded text body above this is refused (field body.text)
MAX_HEADER_CHARS = 16_000
MAX_ATTACHMENTS = 100  # metadata of the first 100 is kept; the count says how many there were
IDENTITY_HEADERS = ("From", "Reply-To", "To", "Cc", "Sender", "Subject", "Date", "Message-ID",
                    "In-Reply-To", "References")
NOT_CANONICAL = ("received", "return-path", "delivered-to")
MSGID = re.compile(r"<[^<>\s]+>")
GMT_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$", re.IGNORECASE)
LINE_BREAK = re.compile(r"[\r\n\x00]")
# What the stdlib parser raises on some malformed headers and parts instead of recording a defect
# (found by fuzzing mutated fixtures): these become MalformedPayload naming the header or part.
PARSER_ERRORS = (AttributeError, IndexError, ValueError, TypeError, LookupError, UnicodeError, MessageError)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def clean(value: Any) -> Any:
    """Strings made safe for JSON: surrogates the parser left behind repaired, or replaced."""
    if isinstance(value, str):
        if not any("\ud800" <= ch <= "\udfff" for ch in value):
            return value
        try:
            return _repair(value)
        except UnicodeEncodeError:  # a surrogate outside the surrogateescape range
            return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _repair(text: str) -> str:
    """Undo surrogate escapes left by raw 8-bit header bytes: UTF-8 first, then Windows-1258."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return nfc(text)
    raw = text.encode("utf-8", "surrogateescape")
    for charset in ("utf-8", "cp1258"):
        try:
            return nfc(raw.decode(charset))
        except UnicodeDecodeError:
            continue
    return nfc(raw.decode("latin-1"))


def check_header(field: str, value: str) -> str:
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
    """(text, charset that worked): declared -> utf-8 -> cp1258 -> latin-1, then NFC
    (cp1258 spells tone marks as combining characters)."""
    for charset in (declared, "utf-8", "cp1258", "latin-1"):
        if not charset:
            continue
        try:
            return nfc(payload.decode(charset)), charset.lower()
        except (UnicodeDecodeError, LookupError, ValueError):  # ValueError: a NUL inside the charset name
            continue
    return nfc(payload.decode("latin-1")), "latin-1"  # unreachable: latin-1 decodes any byte


def _parse_date(value: str | None, received_at: datetime) -> tuple[datetime, str]:
    """(aware UTC time, date_quality). `GMT+7` (Vietnamese webmail) would lose its offset in the stdlib."""
    if value:
        value = GMT_OFFSET.sub(lambda m: f"{m.group(1)}{int(m.group(2)):02d}{m.group(3) or '00'}",
                               value.strip())
        try:
            when = getattr(policy.default.header_factory("Date", value), "datetime", None)
            if isinstance(when, datetime):
                if when.tzinfo is None:  # zone missing or -0000: the shop's local time
                    return when.replace(tzinfo=VN_TZ).astimezone(UTC), "assumed_tz"
                return when.astimezone(UTC), "header"
        except (*PARSER_ERRORS, OverflowError):
            pass  # unparsable like a missing Date: the receive time, flagged
    return received_at.astimezone(UTC), "received"


def _addresses(msg: Message, name: str) -> list[dict[str, str]]:
    raw = msg.get(name)
    if raw is None:
        return []
    out = []
    for addr in getattr(raw, "addresses", ()):
        address = check_header(name, _repair(addr.addr_spec or "")).strip()
        if not address or "@" not in address:
            continue
        local, _, domain = address.rpartition("@")
        display = check_header(name, _display_name(msg, name, addr.display_name or ""))
        out.append({"name": display, "address": f"{local}@{domain.lower()}"})
    return out


def _display_name(msg: Message, header: str, decoded: str) -> str:
    """Decoded display name; one UTF-8 character split across two B-words decodes to surrogates here,
    so re-decode the raw value with make_header (which joins the words first)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in decoded):
        return nfc(decoded.strip())
    raw = dict(msg.raw_items()).get(header)
    if isinstance(raw, str) and "=?" in raw:
        name, _ = parseaddr(raw)
        try:
            return nfc(str(make_header(decode_header(name))).strip())
        except PARSER_ERRORS:
            pass
    return _repair(decoded).strip()


def _header_text(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    if value is None:
        return None
    return check_header(name, _repair(str(value)).strip())


def _raw_header(msg: Message, name: str) -> str | None:
    """The value as written (the Date header object would already have dropped a `GMT+7` offset)."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return check_header(name, " ".join(str(value).split()))
    return None


def _envelope_recipients(msg: Message) -> list[str]:
    """Delivered-To / X-Original-To (added by the receiving MTA): the recipient when the address was a
    Bcc or an alias. Unstructured headers to the parser, so split here; a broken one counts for nothing."""
    out: list[str] = []
    for name in ("Delivered-To", "X-Original-To"):
        try:
            values = [str(v) for v in msg.get_all(name) or []]
            out += [addr for _, addr in getaddresses(values) if "@" in addr]
        except PARSER_ERRORS:
            continue
    return out


def _auto_submitted(msg: Message) -> bool:
    """RFC 3834: anything but `Auto-Submitted: no` (or none) was sent by a program, not the person."""
    try:
        value = msg.get("Auto-Submitted")
        return value is not None and str(value).split(";", 1)[0].strip().lower() != "no"
    except PARSER_ERRORS:
        return False


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
                  attachment_count: int | None = None,
                  unsubscribe_addresses: Iterable[str] = ()) -> CloudEvent:
    """One CloudEvent from a parsed message. Parsed-field providers pass `text`/`attachments` directly;
    `field` prefixes the names in errors (e.g. `email.` for SendGrid's raw field). A mail to one of
    `unsubscribe_addresses` gets that address as `unsubscribe_recipient` (connectors/email_unsubscribe.py)."""
    for name in IDENTITY_HEADERS:
        try:
            for value in msg.get_all(name) or []:
                check_header(field + name, str(value))
                for addr in getattr(value, "addresses", ()):
                    addr.addr_spec  # noqa: B018 (parse it now: errors name this header)
        except MalformedPayload:
            raise
        except ValueError as exc:
            if "CR or LF" in str(exc):  # the header registry refuses CR/LF inside an address part
                raise MalformedPayload(field + name, f"contains a line break (header injection): {exc}") from exc
            raise MalformedPayload(field + name, f"unparseable header ({type(exc).__name__})") from exc
        except PARSER_ERRORS as exc:
            raise MalformedPayload(field + name, f"unparseable header ({type(exc).__name__})") from exc
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
        try:
            text, body_kind, charset = _body(msg, field)
        except PARSER_ERRORS as exc:
            raise MalformedPayload(f"{field}body", f"unparseable MIME body ({type(exc).__name__})") from exc
    else:
        body_kind = "plain" if text else "none"
    if len(text) > MAX_TEXT_CHARS:
        raise MalformedPayload(f"{field}body.text",
                               f"{len(text)} characters is over the cap of {MAX_TEXT_CHARS}")
    if attachments is None:
        try:
            attachments, attachment_count = _attachments(msg)
        except PARSER_ERRORS as exc:
            raise MalformedPayload(f"{field}attachments", f"unparseable part ({type(exc).__name__})") from exc
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

    message_id, date_raw, subject = clean(message_id), clean(date_raw), clean(subject)
    sender = clean(sender)
    to, cc = _addresses(msg, "To"), _addresses(msg, "Cc")
    unsubscribe_to = unsubscribe_recipient([a["address"] for a in to + cc] + _envelope_recipients(msg),
                                           sender["address"], unsubscribe_addresses, _auto_submitted(msg))
    key = idempotency_key(message_id, date_raw, sender["address"], subject, canonical)
    return CloudEvent(
        id=f"email:{key}",
        source=f"/email/{source_id}",
        type="vn.hopnhat.email.received",
        subject=sender["address"].lower(),
        time=occurred_at,
        hopnhatchannel="email",
        hopnhatreceived=received_at,
        data=clean({
            "origin": origin, "source_position": position, "idempotency_key": key,
            "date_quality": date_quality, "from": sender,
            "sender": next(iter(_addresses(msg, "Sender")), None),
            "reply_to": _addresses(msg, "Reply-To"), "to": to, "cc": cc,
            "subject": subject, "message_id": message_id, "in_reply_to": in_reply_to,
            "references": references,
            "thread_root": references[0] if references else in_reply_to[0] if in_reply_to else message_id,
            "text": text, "body_kind": body_kind, "charset": charset,
            "attachments": attachments, "attachment_count": attachment_count or len(attachments),
            "defects": defects, "unsubscribe_recipient": unsubscribe_to,
        }),
    )


def parse_message(raw: bytes, field: str = "") -> EmailMessage:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MalformedPayload(field.rstrip(".") or "message",
                               f"{len(raw)} bytes is over {MAX_MESSAGE_BYTES}")
    if not raw.strip():
        raise MalformedPayload(field.rstrip(".") or "message", "empty message")
    return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(raw))


def body_bytes(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at >= 0:
            return raw[at + len(sep):]
    return b""


def events_from_eml(data: bytes, source_id: str, received_at: datetime, *, origin: str = "eml",
                    position: str | None = None,
                    unsubscribe_addresses: Iterable[str] = ()) -> list[CloudEvent]:
    """One .eml file (one RFC 5322 message, read in binary mode) -> its event."""
    msg = parse_message(data)
    return [message_event(msg, source_id, received_at, origin=origin, position=position or f"eml:{source_id}",
                          raw_body=body_bytes(data), unsubscribe_addresses=unsubscribe_addresses)]


def iter_mbox(path: str | Path, source_id: str, received_at: datetime, *,
              unsubscribe_addresses: Iterable[str] = ()
              ) -> Iterator[tuple[int, CloudEvent | MalformedPayload]]:
    """(index, event or the error naming `message[i].<field>`) for every message: bad ones are reported,
    not fatal. CPython reads mboxo and does not unquote `>From ` lines (reference note §5)."""
    box = mailbox.mbox(str(path), create=False)
    try:
        for index, key in enumerate(box.iterkeys()):
            raw = box.get_bytes(key)
            try:
                yield index, events_from_eml(raw, source_id, received_at, origin="mbox",
                                             position=f"mbox:{Path(path).name}#{index}",
                                             unsubscribe_addresses=unsubscribe_addresses)[0]
            except MalformedPayload as exc:
                yield index, MalformedPayload(f"message[{index}].{exc.field}", exc.reason)
    finally:
        box.close()


def events_from_mbox(path: str | Path, source_id: str, received_at: datetime, *,
                     unsubscribe_addresses: Iterable[str] = ()) -> list[CloudEvent]:
    """Every message of an mbox file; the first bad one raises MalformedPayload(`message[i].<field>`)."""
    events = []
    for _, item in iter_mbox(path, source_id, received_at, unsubscribe_addresses=unsubscribe_addresses):
        if isinstance(item, MalformedPayload):
            raise item
        events.append(item)
    return events
