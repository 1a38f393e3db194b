"""Web form submissions (a site's contact, lead or booking forms), posted to hopnhat as a webhook.

Wire format (docs/connectors/webform.md): `POST /webhooks/webform/{form_id}` with a JSON object or
an `application/x-www-form-urlencoded` body, signed with the form's own secret:
`X-Hopnhat-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.

Recognised keys (all optional, but a submission needs a name, phone or email):
  submission_id            the form tool's id for this submission -> event id (idempotency)
  submitted_at             ISO 8601 or epoch s/ms; naive times are Asia/Ho_Chi_Minh
  full_name|name|ho_ten    phone|sdt|so_dien_thoai|mobile    email|mail    message|note|ghi_chu
  utm_*  (or a "utm" object)        consent_* (or a "consent" object)
  anything else is kept as an extra field. JSON bodies may nest these under "fields".
Without a submission_id the event id is a hash of the whole submission, so a retried POST of the
same body is still the same event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from connectors.base import Connector, load_json, parse_timestamp, stable_digest, verify_hmac_sha256
from schema.contact import RawContact
from schema.errors import MalformedPayload
from schema.events import CloudEvent

NAME_KEYS = ("full_name", "name", "fullname", "ho_ten", "hoten", "ten")
PHONE_KEYS = ("phone", "phone_number", "sdt", "so_dien_thoai", "mobile", "tel", "dien_thoai")
EMAIL_KEYS = ("email", "e-mail", "mail", "email_address")
MESSAGE_KEYS = ("message", "note", "noi_dung", "ghi_chu", "comment")
MAX_FIELD_CHARS = 10_000
TRUE_STRINGS = {"1", "true", "yes", "on", "y", "co", "có"}


def _scalar(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        if len(text) > MAX_FIELD_CHARS:
            raise MalformedPayload(key, f"longer than {MAX_FIELD_CHARS} characters")
        if "\x00" in text:
            raise MalformedPayload(key, "contains a NUL character")
        return text
    raise MalformedPayload(key, f"expected a string or number, got {type(value).__name__}")


def _first(fields: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = fields.get(key, "").strip()
        if value:
            return value
    return None


class WebformConnector(Connector):
    channel: ClassVar[str] = "webform"
    signature_header: ClassVar[str] = "x-hopnhat-signature"
    event_type: ClassVar[str] = "vn.hopnhat.webform.submitted"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        verify_hmac_sha256(headers.get(self.signature_header), secret, body)

    def _decode(self, body: bytes, content_type: str) -> dict[str, Any]:
        mime = content_type.split(";", 1)[0].strip().lower()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPayload("body", f"not valid UTF-8 at byte {exc.start}") from exc
        if mime == "application/json":
            data = load_json(text, "body")
            if not isinstance(data, dict):
                raise MalformedPayload("body", "expected a JSON object")
            return data
        if mime == "application/x-www-form-urlencoded":
            try:
                return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=500))
            except ValueError as exc:
                raise MalformedPayload("body", f"invalid form encoding: {exc}") from exc
        raise MalformedPayload("content-type", f"expected application/json or form-urlencoded, got {mime!r}")

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        data = self._decode(body, content_type)
        nested = data.pop("fields", None)
        if nested is not None:
            if not isinstance(nested, dict):
                raise MalformedPayload("fields", "expected an object")
            data = {**nested, **data}
        utm = data.pop("utm", None) or {}
        consent = data.pop("consent", None) or {}
        for name, obj in (("utm", utm), ("consent", consent)):
            if not isinstance(obj, dict):
                raise MalformedPayload(name, "expected an object")
        fields: dict[str, str] = {}
        for key, value in data.items():
            key_l = str(key).strip().lower()
            if key_l.startswith("utm_"):
                utm[key_l[4:]] = value
            elif key_l.startswith("consent_"):
                consent[key_l[8:]] = value
            else:
                fields[key_l] = _scalar(key_l, value)
        utm_s = {str(k): _scalar(f"utm.{k}", v) for k, v in utm.items()}
        consent_b = {str(k): _scalar(f"consent.{k}", v).strip().lower() in TRUE_STRINGS for k, v in consent.items()}

        submission_id = fields.pop("submission_id", "").strip() or None
        submitted_raw = fields.pop("submitted_at", "").strip()
        occurred_at = parse_timestamp(submitted_raw, "submitted_at") if submitted_raw else received_at
        if not any(_first(fields, keys) for keys in (NAME_KEYS, PHONE_KEYS, EMAIL_KEYS)):
            raise MalformedPayload("fields", "a submission needs at least one of name, phone or email")
        record_id = submission_id or stable_digest({"fields": fields, "utm": utm_s, "consent": consent_b,
                                                     "submitted_at": submitted_raw})
        return [CloudEvent(
            id=f"webform:{source_id}:{record_id}",
            source=f"/webform/{source_id}",
            type=self.event_type,
            subject=self._sender(fields, record_id),
            time=occurred_at,
            hopnhatchannel=self.channel,
            hopnhatreceived=received_at,
            data={"form_id": source_id, "submission_id": record_id, "fields": fields, "utm": utm_s,
                  "consent": consent_b},
        )]

    @staticmethod
    def _sender(fields: Mapping[str, str], record_id: str) -> str:
        email = _first(fields, EMAIL_KEYS)
        if email:
            return email.lower()
        phone = _first(fields, PHONE_KEYS)
        if phone:
            return "".join(ch for ch in phone if ch.isdigit())[-9:] or record_id
        return record_id

    def kafka_key(self, event: CloudEvent) -> str:
        return event.subject or event.id

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        fields: dict[str, str] = data.get("fields", {})
        known = set(NAME_KEYS + PHONE_KEYS + EMAIL_KEYS + MESSAGE_KEYS)
        attributes = {f"utm_{k}": v for k, v in data.get("utm", {}).items()}
        attributes.update({f"consent_{k}": str(v).lower() for k, v in data.get("consent", {}).items()})
        extra = {k: v for k, v in fields.items() if k not in known and v}
        message = _first(fields, MESSAGE_KEYS)
        return RawContact(
            channel=self.channel,
            source=f"webform:{data['form_id']}",
            source_record_id=data["submission_id"],
            occurred_at=event.time,
            received_at=event.hopnhatreceived,
            interaction_kind="form_submission",
            name=_first(fields, NAME_KEYS),
            phones=[v for k in PHONE_KEYS if (v := fields.get(k, "").strip())],
            emails=[v for k in EMAIL_KEYS if (v := fields.get(k, "").strip())],
            attributes=attributes,
            summary=(message[:280] if message else f"Form {data['form_id']} submitted"),
            payload={"form_id": data["form_id"], "message": message, "extra": extra},
        )
