"""The contract every connector fulfils, written once.

A connector turns one channel's native payload into a CloudEvent for `raw.<channel>`:

* `verify(headers, body, secret)` checks the source's signature over the *raw* body bytes. It never
  blocks and never touches the network. Failure raises `InvalidSignature` (HTTP 401).
* `parse(body, content_type, source_id, received_at)` validates the body and returns its
  `CloudEvent`s: one per event in the delivery (a source may batch several, e.g. Meta's `entry`
  list). A bad body raises `MalformedPayload(field, reason)` (HTTP 400 naming the field), and then
  nothing of that delivery is published.
* The event `id` is derived from the source's own id, so it is stable across redeliveries and
  re-imports: the same submission always yields the same id, and downstream writes are no-ops.
* `kafka_key(event)` is the sender id the event is partitioned by.
* `extract(event)` (pure) maps the channel's native fields onto a `RawContact` for normalisation.

Three optional hooks, for sources whose wire protocol needs them (defaults do nothing special):

* `secret_id(source_id, body)` names the configured secret that signs this delivery. Default: the
  source's own (`HOPNHAT_SECRETS[channel][source_id]`). Zalo picks the OA Secret Key by the OA id
  inside the body; it may raise `InvalidSignature` when the body cannot belong to `source_id`.
* `is_unsigned_probe(headers, body)` is true for a source's unsigned URL-registration probe, which
  is answered 200 and never published (Zalo refuses to save a webhook URL that does not answer 200).
* `handshake(query, verify_token)` (the `SubscriptionHandshake` protocol) answers a GET
  subscription challenge, e.g. Meta's `hub.challenge`; raises `HandshakeRefused` (403).

One optional class attribute, for sources that punish a 4xx: `dead_letter_malformed = True` makes the
HTTP layer answer a (validly signed) malformed delivery 200 after publishing it whole to dlq.ingest
as a `DeadLetter` (stage "ingest", the field and reason, the body), instead of 400. KiotViet stops
sending to an endpoint that answered 400/404/405 once, which would lose every later delivery.

One for sources that can neither sign a body nor set a header (OMICall registers a bare URL):
`url_token_param = "token"` makes the HTTP layer hand the value of that URL query parameter to
`verify()` as the `X-Hopnhat-Token` header (`TOKEN_HEADER`); `verify_shared_token` compares it with the
source's secret. Such a token authenticates the sender, not the body (no integrity beyond TLS).

Acknowledging the sender is the caller's job and happens only after the broker acknowledged the
write (hopnhat/http/webhooks.py). Connectors hold no state and do no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar, Protocol, runtime_checkable

from resolver.timeparse import to_utc
from schema.contact import RawContact
from schema.errors import InvalidSignature, MalformedPayload, NormalisationError
from schema.events import CloudEvent

VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # no DST since 1975


class Connector(ABC):
    channel: ClassVar[str]
    signature_header: ClassVar[str]
    dead_letter_malformed: ClassVar[bool] = False  # True: malformed -> dlq.ingest and 200, not 400
    url_token_param: ClassVar[str | None] = None  # set: the URL query parameter carrying the source's token

    @abstractmethod
    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None: ...

    @abstractmethod
    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]: ...

    @abstractmethod
    def kafka_key(self, event: CloudEvent) -> str: ...

    @abstractmethod
    def extract(self, event: CloudEvent) -> RawContact: ...

    def topic(self) -> str:
        return f"raw.{self.channel}"

    def secret_id(self, source_id: str, body: bytes) -> str:
        """The key under HOPNHAT_SECRETS[channel] of the secret that signs this delivery."""
        return source_id

    def is_unsigned_probe(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True for a source's unsigned URL-registration probe: answered 200, never published."""
        return False


@runtime_checkable
class SubscriptionHandshake(Protocol):
    """A connector whose source verifies the callback URL with a GET challenge before it delivers."""

    def handshake(self, query: Mapping[str, str], verify_token: str) -> str:
        """The text body to answer the challenge with; raises HandshakeRefused or MalformedPayload."""
        ...


def hmac_sha256_hex(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_hmac_sha256(header_value: str | None, secret: bytes, body: bytes, prefix: str = "sha256=") -> None:
    """Constant-time check of a `sha256=<hex>` style signature header."""
    if not header_value:
        raise InvalidSignature("signature header missing")
    given = header_value.strip()
    if prefix and given.startswith(prefix):
        given = given[len(prefix):]
    if not hmac.compare_digest(given.lower(), hmac_sha256_hex(secret, body)):
        raise InvalidSignature("signature does not match the body")


TOKEN_HEADER = "x-hopnhat-token"


def verify_shared_token(headers: Mapping[str, str], secret: bytes) -> None:
    """Constant-time check of a per-source secret token (header, or the URL parameter the HTTP layer moved
    there) for sources that document no signature. Missing or different: InvalidSignature (401)."""
    given = (headers.get(TOKEN_HEADER) or "").strip().encode("utf-8")
    if not given:
        raise InvalidSignature("source token missing (X-Hopnhat-Token header or the URL's token parameter)")
    if not hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(secret).digest()):
        raise InvalidSignature("source token does not match")


# An event time outside these bounds is a broken source (epoch 0 from an empty field, 0001-01-01 from a
# null date, 9999-12-31 as "never"), not an event: stored, it would win every "latest statement" rule
# (consent, survivorship) for ever. No channel here predates 2000.
EVENT_TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
EVENT_TIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)


def parse_timestamp(value: Any, field: str, source_tz: str = "Asia/Ho_Chi_Minh") -> datetime:
    """ISO 8601, day-first dates or epoch s/ms/µs/ns -> aware UTC datetime; naive times are the source's
    zone. One parser for every channel (resolver.timeparse.to_utc); a bad value, or an event time
    before 2000 or after 2100, is a MalformedPayload."""
    try:
        moment = to_utc(value, source_tz, field)
    except NormalisationError as exc:
        raise MalformedPayload(field, exc.reason) from exc
    if not EVENT_TIME_MIN <= moment < EVENT_TIME_MAX:
        raise MalformedPayload(field, f"event time {moment.isoformat()} is outside 2000-01-01..2100-01-01")
    return moment


def stable_digest(data: Any) -> str:
    """A short, stable hash of JSON-able data (key order does not matter)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def load_json(text: str, field: str) -> Any:
    """`json.loads` for untrusted text: every bad document is a MalformedPayload(field). Besides syntax
    errors, CPython's decoder raises RecursionError on deep nesting (`[[[...` 10,000 deep fits in
    20 kB) and ValueError on integers over 4,300 digits; both would otherwise escape as a 500."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedPayload(field, f"invalid JSON at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise MalformedPayload(field, "JSON nested too deeply") from exc
    except ValueError as exc:  # the only other one CPython raises: an integer over its digit limit
        raise MalformedPayload(field, "invalid JSON: a number with too many digits") from exc


def decode_json_object(body: bytes) -> dict[str, Any]:
    """A webhook body that must be one JSON object; MalformedPayload("body", ...) says why not."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload("body", f"not valid UTF-8 at byte {exc.start}") from exc
    data = load_json(text, "body")
    if not isinstance(data, dict):
        raise MalformedPayload("body", "expected a JSON object")
    where = nul_path(data)
    if where is not None:  # PostgreSQL text and jsonb cannot hold U+0000: refuse it here, naming the field
        raise MalformedPayload(where, "contains a NUL character")
    return data


def nul_path(data: Any) -> str | None:
    """The path (`a.b[2]`) of a key or string holding U+0000 in decoded JSON, or None."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return path or "body"
        elif isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    return child
                stack.append((child, value))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", value) for i, value in enumerate(node))
    return None
