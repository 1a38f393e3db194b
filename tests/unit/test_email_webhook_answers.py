"""The answers the email providers need, over the real generic route (reference note §8-9):
Mailgun malformed -> 406 (anything else is retried for ~8 h), Postmark bad credentials -> 403
(the only code that stops its retries), never touching the broker."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from fastapi.testclient import TestClient

from hopnhat.http.app import create_app
from hopnhat.settings import Settings

MAILGUN_KEY = "key-test-hopnhat"


def _client() -> TestClient:
    settings = Settings(secrets={"email": {"mailgun-banhmi": f"mailgun:{MAILGUN_KEY}",
                                           "postmark": "postmark:hook:pa55",
                                           "sendgrid": "sendgrid-oauth:tok-123"}},
                        kafka_bootstrap="127.0.0.1:9")  # never reached: every case here is refused first
    return TestClient(create_app(settings))


def _mailgun_body(**fields: str) -> bytes:
    timestamp, token = str(int(time.time())), "c0ffee" * 8
    signature = hmac.new(MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return urlencode({"from": "Lê Minh Hoàng <hoang.le@example.vn>", "subject": "Đặt bánh",
                      "body-plain": "Cho mình đặt 50 ổ", **fields,
                      "timestamp": timestamp, "token": token, "signature": signature}).encode()


def test_mailgun_malformed_is_406_and_forged_is_401() -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with _client() as client:
        bad = client.post("/webhooks/email/mailgun-banhmi", content=_mailgun_body(**{"message-headers": "[1"}),
                          headers=form)
        assert (bad.status_code, bad.json()["field"]) == (406, "message-headers")
        forged = _mailgun_body().replace(b"signature=", b"signature=0")
        assert client.post("/webhooks/email/mailgun-banhmi", content=forged, headers=form).status_code == 401
        injected = _mailgun_body(**{"message-headers": json.dumps([["Subject", "a\r\nBcc: x@evil.vn"]])})
        answer = client.post("/webhooks/email/mailgun-banhmi", content=injected, headers=form)
        assert (answer.status_code, answer.json()["field"]) == (406, "message-headers.Subject")


def test_postmark_bad_credentials_are_403_and_sendgrid_bad_token_401() -> None:
    body = json.dumps({"FromFull": {"Email": "ngan.vo@example.vn", "Name": "Võ Thị Kim Ngân"},
                       "Subject": "Đổi địa chỉ", "TextBody": "12 Nguyễn Huệ", "Headers": []}).encode()
    wrong = "Basic " + base64.b64encode(b"hook:guess").decode()
    with _client() as client:
        answer = client.post("/webhooks/email/postmark", content=body,
                             headers={"Content-Type": "application/json", "Authorization": wrong})
        assert answer.status_code == 403
        no_auth = client.post("/webhooks/email/postmark", content=body, headers={"Content-Type": "application/json"})
        assert no_auth.status_code == 403
        sendgrid = client.post("/webhooks/email/sendgrid", content=b"--b--", headers={
            "Content-Type": "multipart/form-data; boundary=b", "Authorization": "Bearer nope"})
        assert sendgrid.status_code == 401
        unknown = client.post("/webhooks/email/gmail", content=body, headers={"Content-Type": "application/json"})
        assert unknown.status_code == 404
