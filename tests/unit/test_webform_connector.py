import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from connectors import load_connector
from connectors.base import hmac_sha256_hex
from schema.errors import InvalidSignature, MalformedPayload

NOW = datetime(2026, 11, 20, 2, 15, tzinfo=UTC)
SECRET = b"form-secret"


@pytest.fixture
def webform():
    return load_connector("webform")


def test_json_submission_becomes_cloudevent_with_stable_id(webform) -> None:
    body = json.dumps({"submission_id": "abc-1", "full_name": "Phạm Thu Hà", "phone": "0987 654 321",
                       "utm": {"source": "zalo"}, "consent": {"marketing": True},
                       "submitted_at": "2026-11-20T09:15:00"}).encode()
    [event] = webform.parse(body, "application/json", "lien-he", NOW)
    assert event.id == "webform:lien-he:abc-1"
    assert event.specversion == "1.0" and event.source == "/webform/lien-he"
    assert event.time == datetime(2026, 11, 20, 2, 15, tzinfo=UTC)  # naive time read as +07:00
    assert event.data["utm"] == {"source": "zalo"} and event.data["consent"] == {"marketing": True}
    [again] = webform.parse(body, "application/json", "lien-he", datetime(2026, 11, 21, tzinfo=UTC))
    assert again.id == event.id


def test_form_encoded_without_id_hashes_the_submission(webform) -> None:
    body = urlencode({"ho_ten": "Lê Văn Tám", "sdt": "0912.345.678", "utm_campaign": "tet"}).encode()
    [first] = webform.parse(body, "application/x-www-form-urlencoded; charset=utf-8", "dang-ky", NOW)
    [retry] = webform.parse(body, "application/x-www-form-urlencoded", "dang-ky", NOW.replace(minute=59))
    assert first.id == retry.id
    contact = webform.extract(first)
    assert contact.name == "Lê Văn Tám" and contact.phones == ["0912.345.678"]
    assert contact.attributes["utm_campaign"] == "tet"


def test_signature_verifies_over_raw_body(webform) -> None:
    body = b'{"phone": "0912345678"}'
    webform.verify({"x-hopnhat-signature": "sha256=" + hmac_sha256_hex(SECRET, body)}, body, SECRET)
    with pytest.raises(InvalidSignature):
        webform.verify({"x-hopnhat-signature": "sha256=" + hmac_sha256_hex(SECRET, body)}, body + b" ", SECRET)
    with pytest.raises(InvalidSignature):
        webform.verify({}, body, SECRET)


@pytest.mark.parametrize(
    ("body", "ctype", "field"),
    [
        (b"{not json", "application/json", "body"),
        (b"[1, 2]", "application/json", "body"),
        (b'{"full_name": {"x": 1}}', "application/json", "full_name"),
        (b'{"message": "no contact"}', "application/json", "fields"),
        (b'{"phone": "0912345678", "submitted_at": "yesterday"}', "application/json", "submitted_at"),
        (b"\xff\xfe", "application/json", "body"),
        (b"phone=1", "text/plain", "content-type"),
        (b'{"phone": "09\\u0000"}', "application/json", "phone"),
    ],
    ids=["bad-json", "not-object", "nested-value", "no-contact-field", "bad-timestamp", "invalid-utf8",
         "wrong-content-type", "nul-byte"],
)
def test_malformed_bodies_name_the_field(webform, body: bytes, ctype: str, field: str) -> None:
    with pytest.raises(MalformedPayload) as err:
        webform.parse(body, ctype, "lien-he", NOW)
    assert err.value.field == field
