"""One contract suite for every connector in the registry (connectors/base.py docstring).

Each channel contributes one row to `CHANNELS`: how to sign a native delivery, one realistic good
delivery and one malformed one (validly signed) with the field it must be rejected for. A channel
added to the registry without a row fails `test_every_registered_channel_has_contract_fixtures`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connectors import REGISTRY, load_connector
from connectors import p256
from connectors.base import hmac_sha256_hex
from connectors.callcenter import stringee_signature
from connectors.caresoft import caresoft_signature
from connectors.zalo import zalo_signature
from hopnhat.http.app import create_app
from hopnhat.http.publisher import Ack
from hopnhat.settings import Settings
from resolver.normalise import Rejected, canonical_event
from schema.errors import BrokerUnavailable, InvalidSignature, MalformedPayload
from schema.events import DeadLetter

NOW = datetime.now(UTC)
ZALO_APP, ZALO_OA = "1234567890123456789", "579745863508352884"
FB_APP, FB_PAGE = "1517776481860111", "104523871234567"


@dataclass(frozen=True)
class ChannelFixtures:
    source_id: str
    secret_id: str  # the HOPNHAT_SECRETS key of the secret that signs `good`
    secret: bytes
    content_type: str
    sign: Callable[[bytes, bytes], dict[str, str]]  # (body, secret) -> headers
    good: Callable[[], bytes]  # built at call time: Zalo refuses stale timestamps
    malformed: Callable[[], bytes]
    malformed_field: str
    dead_letters_malformed: bool = False  # the source disables a hook after a 4xx: 200 + dlq.ingest, not 400
    signs_body: bool = True  # False: a per-source token authenticates the sender only (OMICall), not the body


def _zalo_body(**overrides: object) -> bytes:
    doc: dict[str, object] = {
        "app_id": ZALO_APP, "sender": {"id": "8448021542710133051"}, "recipient": {"id": ZALO_OA},
        "user_id_by_app": "3017604586227812744", "event_name": "user_submit_info",
        "timestamp": str(int(time.time() * 1000)),
        "info": {"name": "Nguyễn Thị Thu Hà", "phone": "84912345678", "address": "123 Nguyễn Đình Chiểu",
                 "district": "Quận 3", "city": "Thành phố Hồ Chí Minh"},
    }
    doc.update(overrides)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _zalo_sign(body: bytes, secret: bytes) -> dict[str, str]:
    doc = json.loads(body)
    return {"x-zevent-signature": "mac=" + zalo_signature(doc["app_id"], body, doc["timestamp"], secret),
            "content-type": "application/json"}


def _meta_wire(doc: object) -> bytes:
    """Meta's wire form: ASCII-escaped unicode and escaped slashes."""
    return json.dumps(doc, separators=(",", ":")).replace("/", "\\/").encode()


def _fb_good() -> bytes:
    return _meta_wire({"object": "page", "entry": [
        {"id": FB_PAGE, "time": 1795317100456, "messaging": [
            {"sender": {"id": "6723145598012345"}, "recipient": {"id": FB_PAGE}, "timestamp": 1795317100001,
             "message": {"mid": "m_a1", "text": "Chào shop, đơn của mình đã giao chưa?"}}]},
        {"id": FB_PAGE, "time": 1795317100, "changes": [{"field": "feed", "value": {
            "from": {"id": "7011223344556677", "name": "Phạm Thị Ngọc"}, "item": "comment", "verb": "add",
            "comment_id": "880011223344556_1234567890123456", "post_id": f"{FB_PAGE}_880011223344556",
            "created_time": 1795317099, "message": "Ib giá giúp mình nha"}}]}]})


def _fb_malformed() -> bytes:
    return _meta_wire({"object": "page", "entry": [
        {"id": FB_PAGE, "time": 1795317100456, "messaging": [
            {"sender": {"id": "6723145598012345"}, "recipient": {"id": FB_PAGE}, "timestamp": 1795317100001,
             "message": {"mid": "m_a1", "text": "ok"}}]},
        {"id": FB_PAGE, "time": 1795317100456, "messaging": [
            {"sender": {}, "recipient": {"id": FB_PAGE}, "timestamp": 1795317100050,
             "message": {"mid": "m_b2", "text": "thiếu người gửi"}}]}]})


# SendGrid Inbound Parse, raw mode, ECDSA-signed: the one email provider whose signature covers the body.
SG_KEY = int.from_bytes(b"hopnhat-contract-sendgrid-key", "big")
SG_PUB = "sendgrid-ecdsa:" + p256.public_key_to_b64(p256.public_key(SG_KEY))
SG_CT = "multipart/form-data; boundary=xYzZY"


def _sendgrid_body(subject: str = "=?UTF-8?Q?H=E1=BB=8Fi_v=E1=BB=81_=C4=91=C6=A1n_DH20871?=") -> bytes:
    mime = (f"Date: Sun, 22 Nov 2026 20:31:44 +0700\r\n"
            f"From: =?UTF-8?B?VHLhuqduIFRoYW5oIFRo4bqjbw==?= <thao.tran.1990@example.com>\r\n"
            f"To: lienhe@parse.shopmevabe.vn\r\nMessage-ID: <20261122203144.5521@mail.example.com>\r\n"
            f"Subject: {subject}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
            "Shop ơi, đơn DH20871 giao chưa ạ? SĐT em 0912 456 789.\r\n")
    return ("--xYzZY\r\nContent-Disposition: form-data; name=\"envelope\"\r\n\r\n"
            '{"to":["lienhe@parse.shopmevabe.vn"],"from":"thao.tran.1990@example.com"}\r\n'
            "--xYzZY\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n" + mime +
            "--xYzZY\r\nContent-Disposition: form-data; name=\"SPF\"\r\n\r\npass\r\n--xYzZY--\r\n").encode()


def _sendgrid_sign(body: bytes, secret: bytes) -> dict[str, str]:
    key = SG_KEY if secret.decode() == SG_PUB else SG_KEY + 1  # a tampered secret = someone else's key
    timestamp = "1795320309"
    signature = base64.b64encode(p256.sign(key, timestamp.encode() + body)).decode()
    return {"x-twilio-email-event-webhook-signature": signature,
            "x-twilio-email-event-webhook-timestamp": timestamp, "content-type": SG_CT}


def _webform_sign(body: bytes, secret: bytes) -> dict[str, str]:
    return {"x-hopnhat-signature": "sha256=" + hmac_sha256_hex(secret, body), "content-type": "application/json"}


CHANNELS: dict[str, ChannelFixtures] = {
    "webform": ChannelFixtures(
        "lien-he", "lien-he", b"form-secret", "application/json", _webform_sign,
        lambda: json.dumps({"submission_id": "s-1", "full_name": "Nguyễn Thị Lan",
                            "phone": "0912 345 678"}, ensure_ascii=False).encode(),
        lambda: b'{"phone": "0912345678", "submitted_at": "h\xc3\xb4m qua"}', "submitted_at"),
    "zalo": ChannelFixtures(
        ZALO_APP, f"{ZALO_APP}:{ZALO_OA}", b"oa-secret-key", "application/json", _zalo_sign,
        _zalo_body, lambda: _zalo_body(info="Nguyễn Thị Thu Hà"), "info"),
    "facebook": ChannelFixtures(
        FB_APP, FB_APP, b"demo-app-secret", "application/json",
        lambda body, secret: {"x-hub-signature-256": "sha256=" + hmac_sha256_hex(secret, body),
                              "content-type": "application/json"},
        _fb_good, _fb_malformed, "entry[1].messaging[0].sender.id"),
    "email": ChannelFixtures(
        "sendgrid", "sendgrid", SG_PUB.encode(), SG_CT, _sendgrid_sign, _sendgrid_body,
        lambda: _sendgrid_body("=?UTF-8?Q?H=E1=BB=8Fi=0D=0ABcc:_all@example.vn?="), "email.Subject"),
}


def _csv_sign(body: bytes, secret: bytes) -> dict[str, str]:
    return {"x-hopnhat-signature": "sha256=" + hmac_sha256_hex(secret, body), "content-type": "text/csv"}


_CDR = ('"","0912345678","19006868","from-trunk","""Nguyễn Văn A"" <0912345678>","PJSIP/viettel-0000002a",'
        '"PJSIP/101-0000002b","Dial","PJSIP/101,30,tT","2026-11-22 14:05:09","2026-11-22 14:05:15",'
        '"2026-11-22 14:07:02",113,107,"{disposition}","DOCUMENTATION","1795331109.42","","","1795331109.42",3\n')
# File channels also take a signed CSV POSTed whole (a PBX or a cron job pushing an export).
CHANNELS["bulk"] = ChannelFixtures(
    "danh-sach", "danh-sach", b"list-secret", "text/csv", _csv_sign,
    lambda: "Họ và tên,Số điện thoại,Ngày sinh\nNguyễn Thị Lan,0912.345.678,05/03/1990\n".encode(),
    lambda: "Họ và tên,Số điện thoại,Ngày sinh\nNguyễn Thị Lan,9.12E+08,05/03/1990\n".encode(),
    "line 2: phones[0]")
CHANNELS["asterisk_cdr"] = ChannelFixtures(
    "pbx-hcm", "pbx-hcm", b"pbx-secret", "text/csv", _csv_sign,
    lambda: _CDR.format(disposition="ANSWERED").encode(), lambda: _CDR.format(disposition="HUNG UP").encode(),
    "line 1: disposition")
_INVOICE = ("Mã hóa đơn,Thời gian,Mã KH,Khách hàng,Điện thoại,Khách cần trả,Mã hàng,Tên hàng,Số lượng,Đơn giá,Thành tiền\n"
            "HD000123,22/11/2026 14:05,KH0042,Ngô Minh Thư,0912345678,{total},CF01,Cà phê hạt 1kg,5,250.000,1.250.000\n")
CHANNELS["pos_export"] = ChannelFixtures(
    "kiotviet-q1", "kiotviet-q1", b"pos-secret", "text/csv", _csv_sign,
    lambda: _INVOICE.format(total='"1.250.000"').encode(), lambda: _INVOICE.format(total='"1.250.000,5"').encode(),
    "line 2: total")

# POS and call-centre webhooks, in the shapes of /work/shared/reference/pos.md and call_logs.md.
POS = json.loads((Path(__file__).parents[1] / "fixtures" / "pos_webhooks.json").read_text(encoding="utf-8"))
CALLS = json.loads((Path(__file__).parents[1] / "fixtures" / "callcenter_events.json").read_text(encoding="utf-8"))
CLOUD_CALLS = json.loads((Path(__file__).parents[1] / "fixtures" / "cloud_call_webhooks.json")
                         .read_text(encoding="utf-8"))


def _json(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _kiotviet_good() -> bytes:
    customer, invoice = POS["kiotviet_customer"], POS["kiotviet_invoice"]
    return _json({**invoice, "Notifications": customer["Notifications"] + invoice["Notifications"]})


def _kiotviet_malformed() -> bytes:
    doc = json.loads(_json(POS["kiotviet_invoice"]))
    doc["Notifications"][0]["Data"][0]["Total"] = 1250000.5
    return _json(doc)


def _with(doc: dict[str, object], path: tuple[str, ...], value: object) -> bytes:
    copy = json.loads(_json(doc))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return _json(copy)


def _b64_hmac_sign(header: str) -> Callable[[bytes, bytes], dict[str, str]]:
    def sign(body: bytes, secret: bytes) -> dict[str, str]:
        digest = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
        return {header: digest, "content-type": "application/json"}
    return sign


CHANNELS.update({
    "kiotviet": ChannelFixtures(
        "lananh-baby", "lananh-baby", b"aG9wbmhhdC1rdg==", "application/json",
        lambda body, secret: {"x-hub-signature": "sha1=" + hmac_sha256_hex(secret, body),
                              "content-type": "application/json"},
        _kiotviet_good, _kiotviet_malformed, "Notifications[0].Data[0].Total", dead_letters_malformed=True),
    "sapo": ChannelFixtures(
        "thoitrangbao.mysapogo.com", "thoitrangbao.mysapogo.com", b"sapo-webhook-secret", "application/json",
        _b64_hmac_sign("x-sapo-hmac-sha256"),
        lambda: _with(POS["sapo_order"], ("customer_data", "phone_number"), "0912 876 543"),
        lambda: _with(POS["sapo_order"], ("total", ), "890.000,5"), "total"),
    "haravan": ChannelFixtures(
        "200000123456", "200000123456", b"haravan-client-secret", "application/json",
        _b64_hmac_sign("x-haravan-hmacsha256"),
        lambda: _with(POS["haravan_order"], ("customer", "phone"), "0912 876 543"),
        lambda: _with(POS["haravan_order"], ("line_items", ), [{"sku": "AO999", "price": 1220000.5}]),
        "line_items[0].price"),
    "callcenter": ChannelFixtures(
        "21045", "21045", b"stringee-signing-secret", "application/json",
        lambda body, secret: {"x-stringee-signature": stringee_signature(secret, body),
                              "content-type": "application/json"},
        lambda: _json(CALLS["ended_inbound"]),
        lambda: _with(CALLS["ended_inbound"], ("answerDuration", ), "107"), "answerDuration"),
    "omicall": ChannelFixtures(
        "shop-q1", "shop-q1", b"omicall-url-token-7f3a9c", "application/json",
        lambda body, secret: {"x-hopnhat-token": secret.decode(), "content-type": "application/json"},
        lambda: _json(CLOUD_CALLS["omicall_hangup_inbound"]),
        lambda: _with(CLOUD_CALLS["omicall_hangup_inbound"], ("bill_sec", ), [107]), "bill_sec", signs_body=False),
    "caresoft": ChannelFixtures(
        "shopmevabe", "shopmevabe", b"CS-secret-key-2026", "application/json",
        lambda body, secret: {"x-hub-signature": caresoft_signature(secret, body),
                              "content-type": "application/json"},
        lambda: _json(CLOUD_CALLS["caresoft_ticket_voice"]),
        lambda: _with(CLOUD_CALLS["caresoft_ticket_voice"], ("call_info", "talk_time"), "1 phút 47"),
        "call_info.talk_time"),
})


def test_every_registered_channel_has_contract_fixtures() -> None:
    assert set(CHANNELS) == set(REGISTRY)


@pytest.fixture(params=sorted(REGISTRY))
def channel(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _flip(body: bytes) -> bytes:
    """The same delivery with one character changed inside a value."""
    i = body.index(b"912") if b"912" in body else body.index(b"m_a1")
    return body[:i] + (b"1" if body[i:i + 1] != b"1" else b"2") + body[i + 1:]


def test_good_signature_verifies_and_every_event_normalises(channel: str) -> None:
    fx, connector = CHANNELS[channel], load_connector(channel)
    body = fx.good()
    assert connector.secret_id(fx.source_id, body) == fx.secret_id
    connector.verify(fx.sign(body, fx.secret), body, fx.secret)
    events = connector.parse(body, fx.content_type, fx.source_id, NOW)
    assert events and len({e.id for e in events}) == len(events)
    for event in events:
        assert event.hopnhatchannel == channel and connector.kafka_key(event)
        contact = connector.extract(event)
        assert contact.channel == channel
        assert not isinstance(canonical_event(contact, event.id), Rejected)


@pytest.mark.parametrize("tamper", ["body", "secret", "missing-header"])
def test_tampered_delivery_is_invalid_signature(channel: str, tamper: str) -> None:
    fx, connector = CHANNELS[channel], load_connector(channel)
    body = fx.good()
    headers = fx.sign(body, fx.secret)
    if tamper == "body":
        body = _flip(body)
    elif tamper == "secret":
        headers = fx.sign(body, fx.secret + b"x")
    else:
        headers = {k: v for k, v in headers.items() if k == "content-type"}
    if tamper == "body" and not fx.signs_body:  # a token names the sender; only TLS keeps the body whole
        connector.verify(headers, body, fx.secret)
        return
    with pytest.raises(InvalidSignature):
        connector.verify(headers, body, fx.secret)


def test_malformed_body_names_the_field(channel: str) -> None:
    fx, connector = CHANNELS[channel], load_connector(channel)
    body = fx.malformed()
    connector.verify(fx.sign(body, fx.secret), body, fx.secret)  # signed fine, wrong inside
    with pytest.raises(MalformedPayload) as err:
        connector.parse(body, fx.content_type, fx.source_id, NOW)
    assert err.value.field == fx.malformed_field


def test_event_ids_are_stable_across_redelivery(channel: str) -> None:
    fx, connector = CHANNELS[channel], load_connector(channel)
    body = fx.good()
    first = connector.parse(body, fx.content_type, fx.source_id, NOW)
    again = connector.parse(body, fx.content_type, fx.source_id, NOW + timedelta(hours=3))
    assert [e.id for e in first] == [e.id for e in again]
    assert [connector.kafka_key(e) for e in first] == [connector.kafka_key(e) for e in again]


def _client(fx: ChannelFixtures, channel: str) -> TestClient:
    settings = Settings(secrets={channel: {fx.secret_id: fx.secret.decode()}}, max_body_bytes=4096,
                        channel_max_body_bytes={},
                        kafka_bootstrap="127.0.0.1:9")  # never reached: every case here is refused first
    return TestClient(create_app(settings))


def _post(client: TestClient, channel: str, fx: ChannelFixtures, body: bytes,
          headers: Mapping[str, str]) -> tuple[int, dict[str, object]]:
    response = client.post(f"/webhooks/{channel}/{fx.source_id}", content=body, headers=dict(headers))
    return response.status_code, response.json()


def test_http_answers_401_400_413_without_touching_the_broker(channel: str) -> None:
    fx = CHANNELS[channel]
    with _client(fx, channel) as client:
        good = fx.good()
        assert _post(client, channel, fx, _flip(good), fx.sign(good, fx.secret + b"x"))[0] == 401
        if fx.signs_body:
            assert _post(client, channel, fx, _flip(good), fx.sign(good, fx.secret))[0] == 401
        if not fx.dead_letters_malformed:  # else 200 once dlq.ingest acked: test_malformed_is_dead_lettered_...
            bad = fx.malformed()
            status, answer = _post(client, channel, fx, bad, fx.sign(bad, fx.secret))
            assert (status, answer["error"], answer["field"]) == (400, "MalformedPayload", fx.malformed_field)
        huge = good + b" " * 5000
        assert _post(client, channel, fx, huge, fx.sign(huge, fx.secret))[0] == 413
        other = client.post(f"/webhooks/{channel}/not-configured", content=good, headers=fx.sign(good, fx.secret))
        assert other.status_code == 404


def test_get_handshake_answers_the_challenge_as_plain_text_only_where_configured() -> None:
    settings = Settings(secrets={"facebook": {FB_APP: "demo-app-secret"}, "webform": {"lien-he": "s"}},
                        verify_tokens={"facebook": {FB_APP: "tok-123"}}, kafka_bootstrap="127.0.0.1:9")
    assert settings.masked()["verify_tokens"] == {"facebook": {FB_APP: "**********"}}
    query = {"hub.mode": "subscribe", "hub.verify_token": "tok-123", "hub.challenge": "1158201444"}
    with TestClient(create_app(settings)) as client:
        ok = client.get(f"/webhooks/facebook/{FB_APP}", params=query)
        assert (ok.status_code, ok.text) == (200, "1158201444")
        assert ok.headers["content-type"].startswith("text/plain")
        assert client.get(f"/webhooks/facebook/{FB_APP}", params={**query, "hub.verify_token": "x"}).status_code == 403
        assert client.get(f"/webhooks/facebook/{FB_APP}", params={**query, "hub.mode": "x"}).status_code == 403
        missing = client.get(f"/webhooks/facebook/{FB_APP}", params={**query, "hub.challenge": ""})
        assert (missing.status_code, missing.json()["field"]) == (400, "hub.challenge")
        assert client.get("/webhooks/facebook/other-app", params=query).status_code == 404  # no token
        assert client.get("/webhooks/webform/lien-he", params=query).status_code == 404  # no handshake


def test_delivery_with_nothing_to_store_is_200_without_the_broker() -> None:
    fx = CHANNELS["facebook"]
    own = _meta_wire({"object": "page", "entry": [{"id": FB_PAGE, "time": 1795316950, "changes": [
        {"field": "feed", "value": {"from": {"id": FB_PAGE, "name": "Shop"}, "item": "comment", "verb": "add",
                                    "comment_id": "1_2", "created_time": 1795316949, "message": "Đã inbox ạ"}}]}]})
    with _client(fx, "facebook") as client:  # the broker address is dead: publishing would be a 503
        status, answer = _post(client, "facebook", fx, own, fx.sign(own, fx.secret))
    assert (status, answer) == (200, {"status": "accepted", "events": []})


class RecordingPublisher:
    """Stands in for the broker: acknowledges (or refuses) every write and remembers it."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.records: list[tuple[str, bytes, bytes]] = []

    async def publish_all(self, topic: str, records: list[tuple[bytes, bytes]]) -> list[Ack]:
        if self.refuse:
            raise BrokerUnavailable("broker down (test)")
        self.records += [(topic, key, value) for key, value in records]
        return [Ack(topic, 0, len(self.records) - len(records) + i) for i in range(len(records))]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("channel", sorted(c for c, fx in CHANNELS.items() if fx.dead_letters_malformed))
def test_malformed_is_dead_lettered_and_answered_200_only_after_the_ack(channel: str) -> None:
    fx = CHANNELS[channel]
    assert load_connector(channel).dead_letter_malformed
    bad = fx.malformed()
    with _client(fx, channel) as client:
        publisher = RecordingPublisher()
        client.app.state.publisher = publisher  # type: ignore[attr-defined]
        status, answer = _post(client, channel, fx, bad, fx.sign(bad, fx.secret))
        assert (status, answer["status"], answer["field"]) == (200, "dead-lettered", fx.malformed_field)
        [(topic, key, value)] = publisher.records
        letter = DeadLetter.model_validate_json(value)
        assert (topic, key, letter.stage, letter.field) == ("dlq.ingest", fx.source_id.encode(), "ingest",
                                                            fx.malformed_field)
        assert letter.value.encode() == bad and letter.topic == f"raw.{channel}"
        client.app.state.publisher = RecordingPublisher(refuse=True)  # type: ignore[attr-defined]
        assert _post(client, channel, fx, bad, fx.sign(bad, fx.secret))[0] == 503  # not acked: the POS retries
        good = fx.good()
        assert _post(client, channel, fx, _flip(good), fx.sign(good, fx.secret))[0] == 401  # forgeries stay 401
