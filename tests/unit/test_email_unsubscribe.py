"""Unsubscribe requests in inbound mail (connectors/email_unsubscribe.py) become an email/marketing=no
consent statement with the mail's provenance, through every front door of the email connector; RFC 8058
one-click tokens, the List-Unsubscribe headers that carry them, and the endpoint's refusals."""

from __future__ import annotations

import json
import mailbox
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from connectors import load_connector
from connectors.email import EmailConnector, events_from_eml, events_from_mbox
from connectors.email_unsubscribe import (
    is_unsubscribe_subject,
    one_click_event,
    one_click_token,
    read_one_click_token,
    unsubscribe_recipient,
)
from hopnhat.cli.unsubscribe_headers import unsubscribe_headers
from hopnhat.http.app import create_app
from hopnhat.settings import Settings
from resolver.normalise import Rejected, canonical_event
from resolver.profile import ProfileBuilder
from schema.errors import ConfigError, InvalidSignature
from schema.events import CanonicalEvent, CloudEvent

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
UNSUB = "huy-dang-ky@shopmevabe.vn"
# Trần Thanh Thảo, RFC 2047 B-encoded as Vietnamese webmail sends it
THAO = "=?UTF-8?B?VHLhuqduIFRoYW5oIFRo4bqjbw==?= <thao.tran.1990@example.vn>"


def mail(subject: str, *, to: str = "cskh@shopmevabe.vn", sender: str = THAO, extra: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            "Date: Mon, 23 Nov 2026 08:15:00 +0700\r\nMessage-ID: <u1.20261123@mail.example.vn>\r\n"
            f"{extra}Content-Type: text/plain; charset=UTF-8\r\n\r\n"
            "Em không muốn nhận email khuyến mãi nữa ạ.\r\n").encode()


@pytest.mark.parametrize(("subject", "expected"), [
    ("unsubscribe", True),
    ("Unsubscribe", True),
    ("UNSUBSCRIBE", True),
    ("[unsubscribe]", True),
    ("unsubscribe 7f3a9c21", True),
    ("unsubscribe:u-48213", True),
    ("Hủy đăng ký", True),
    ("Huỷ đăng ký", True),
    ("=?UTF-8?Q?H=E1=BB=A7y_=C4=91=C4=83ng_k=C3=BD?=", True),
    ("huy dang ky", True),
    ("HỦY ĐĂNG KÍ NHẬN TIN", True),
    ("Từ chối nhận email", True),
    ("Từ chối nhận e-mail!", True),
    ("Ngừng nhận thư", True),
    ("Hủy đăng ký khóa học tiếng Anh", False),
    ("Re: unsubscribe", False),
    ("unsubscribe khoa", False),
    ("Đăng ký nhận tin", False),
    ("subscribe", False),
    ("Hỏi về đơn DH20871", False),
    ("", False),
], ids=["en-lower", "en-title", "en-upper", "en-bracketed", "en-with-token", "en-with-colon-token",
        "vi-huy", "vi-huy-old-tone-place", "vi-rfc2047-q", "vi-unaccented", "vi-ki-spelling-upper",
        "vi-tu-choi", "vi-e-mail-punctuated", "vi-ngung-nhan-thu", "vi-cancel-a-course",
        "reply-is-a-conversation", "token-without-digit", "vi-subscribe-grants-nothing", "en-subscribe",
        "ordinary-question", "empty"])
def test_subject_classifier(subject: str, expected: bool) -> None:
    if subject.startswith("=?"):  # as a header: decoded by the connector first
        subject = events_from_eml(mail(subject), "t", NOW)[0].data["subject"]
    assert is_unsubscribe_subject(subject) is expected


@pytest.mark.parametrize(("recipients", "sender", "auto", "expected"), [
    (["Huy-Dang-Ky@ShopMeVaBe.vn"], "thao@example.vn", False, UNSUB),
    (["cskh@shopmevabe.vn"], "thao@example.vn", False, None),
    ([UNSUB], "thao@example.vn", True, None),
    ([UNSUB], UNSUB, False, None),
], ids=["configured-case-insensitive", "other-address", "auto-reply", "sent-by-the-unsubscribe-box"])
def test_unsubscribe_recipient(recipients: list[str], sender: str, auto: bool, expected: str | None) -> None:
    assert unsubscribe_recipient(recipients, sender, [UNSUB.upper()], auto) == expected


def statements(event: CloudEvent, connector: EmailConnector | None = None) -> list[dict[str, object]]:
    """The consents the golden profile gets from this one event."""
    canonical = canonical_event((connector or EmailConnector()).extract(event), event.id)
    assert isinstance(canonical, CanonicalEvent), canonical
    builder = ProfileBuilder("c1")
    builder.add_event(canonical)
    return list(builder.build(NOW)["consents"])


def test_unsubscribe_subject_gives_email_marketing_no_with_the_mails_provenance() -> None:
    [event] = events_from_eml(mail("Hủy đăng ký"), "imap", NOW, origin="imap")
    contact = EmailConnector().extract(event)
    assert (contact.name, contact.emails) == ("Trần Thanh Thảo", ["thao.tran.1990@example.vn"])
    assert contact.attributes == {"email_subscribed": "false", "email_unsubscribe_by": "subject"}
    assert statements(event) == [{"channel": "email", "purpose": "marketing", "granted": False,
                                  "source": "email:imap", "event_id": event.id,
                                  "at": "2026-11-23T01:15:00+00:00"}]


@pytest.mark.parametrize("headers", [
    {"to": UNSUB},
    {"to": "cskh@shopmevabe.vn", "extra": f"Cc: =?UTF-8?Q?H=E1=BB=A7y_nh=E1=BA=ADn_tin?= <{UNSUB}>\r\n"},
    {"to": "undisclosed-recipients:;", "extra": f"Delivered-To: {UNSUB}\r\n"},
], ids=["to", "cc-with-encoded-name", "bcc-seen-in-delivered-to"])
def test_mail_to_the_configured_address_unsubscribes_whatever_its_subject(headers: dict[str, str]) -> None:
    raw = mail("Làm ơn đừng gửi nữa", **headers)
    [event] = events_from_eml(raw, "imap", NOW, unsubscribe_addresses=[UNSUB])
    assert event.data["unsubscribe_recipient"] == UNSUB
    assert EmailConnector().extract(event).attributes["email_unsubscribe_by"] == "address"
    got = [(c["channel"], c["purpose"], c["granted"]) for c in statements(event)]
    assert got == [("email", "marketing", False)]


@pytest.mark.parametrize(("raw", "addresses"), [
    (mail("Hỏi về đơn DH20871", to=UNSUB), []),
    (mail("Trả lời tự động: Hủy đăng ký", to=UNSUB, extra="Auto-Submitted: auto-replied\r\n"), [UNSUB]),
    (mail("Đăng ký nhận tin"), [UNSUB]),
    (mail("Hủy đăng ký khóa học tiếng Anh"), [UNSUB]),
], ids=["address-not-configured", "out-of-office-reply", "subscribe-grants-nothing", "cancel-a-course"])
def test_no_statement(raw: bytes, addresses: list[str]) -> None:
    [event] = events_from_eml(raw, "imap", NOW, unsubscribe_addresses=addresses)
    assert EmailConnector().extract(event).attributes == {}
    assert statements(event) == []


def test_unsubscribe_after_form_consent_wins_on_the_email_channel() -> None:
    [event] = events_from_eml(mail("unsubscribe"), "imap", NOW)
    canonical = canonical_event(EmailConnector().extract(event), event.id)
    assert not isinstance(canonical, Rejected)
    builder = ProfileBuilder("c1")
    form = canonical.model_copy(update={
        "event_id": "webform:f-1", "channel": "webform", "source": "webform:lien-he",
        "occurred_at": datetime(2026, 11, 1, tzinfo=UTC), "attributes": {"consent_marketing": "true"}})
    builder.add_event(form)
    builder.add_event(canonical)
    consents = {(c["channel"], c["purpose"]): (c["granted"], c["event_id"])
                for c in builder.build(NOW)["consents"]}
    assert consents == {("webform", "marketing"): (True, "webform:f-1"),
                        ("email", "marketing"): (False, event.id)}


def test_webhook_providers_share_the_reading() -> None:
    settings = Settings(email_unsubscribe_addresses=[UNSUB])
    connector = load_connector("email", **settings.connector_options("email"))
    assert isinstance(connector, EmailConnector)
    postmark = json.dumps({"FromFull": {"Email": "ngan.vo@example.com", "Name": "Võ Thị Kim Ngân"},
                           "To": f"\"Hủy đăng ký\" <{UNSUB}>", "Subject": "Không nhận nữa",
                           "Date": "Mon, 23 Nov 2026 09:12:30 +0700", "TextBody": "Cảm ơn shop.",
                           "Headers": [{"Name": "Message-ID", "Value": "<pm.1@mail.example.com>"}]},
                          ensure_ascii=False).encode()
    [by_address] = connector.parse(postmark, "application/json", "postmark-cskh", NOW)
    mailgun = urlencode({"from": "Lê Minh Hoàng <hoang.le@example.com>", "subject": "Từ chối nhận email",
                         "body-plain": "Đừng gửi khuyến mãi nữa.", "message-headers": json.dumps(
                             [["Message-Id", "<mg.1@example.com>"], ["To", "lienhe@mg.banhmi.vn"],
                              ["Date", "Mon, 23 Nov 2026 11:05:09 +0700"]])}).encode()
    [by_subject] = connector.parse(mailgun, "application/x-www-form-urlencoded", "mailgun", NOW)
    by = [connector.extract(e).attributes.get("email_unsubscribe_by") for e in (by_address, by_subject)]
    assert by == ["address", "subject"]
    assert statements(by_address, connector)[0]["source"] == "email:postmark-cskh"
    assert EmailConnector().parse(postmark, "application/json", "postmark-cskh", NOW)[0].data[
        "unsubscribe_recipient"] is None  # nothing configured


def test_mbox_import_marks_the_unsubscribe_among_ordinary_mail(tmp_path: Path) -> None:
    path = tmp_path / "hop-thu.mbox"
    box = mailbox.mbox(str(path))
    box.add(mail("Hỏi về đơn DH20871").replace(b"<u1.", b"<q1."))
    box.add(mail("Xin thôi nhận thư", to=UNSUB))
    box.flush()
    box.close()
    events = events_from_mbox(path, "backfill", NOW, unsubscribe_addresses=[UNSUB])
    assert [EmailConnector().extract(e).attributes.get("email_subscribed") for e in events] == [None, "false"]


def test_setting_from_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPNHAT_EMAIL_UNSUBSCRIBE_ADDRESSES", json.dumps([UNSUB]))
    assert Settings().connector_options("email") == {"unsubscribe_addresses": (UNSUB,)}
    assert Settings().connector_options("zalo") == {}
    monkeypatch.setenv("HOPNHAT_EMAIL_UNSUBSCRIBE_KEY", "k-0f6c1e5b9a")
    assert Settings().masked()["email_unsubscribe_key"] == "**********"  # `hopnhat config show`


KEY = b"k-0f6c1e5b9a"
SENT_ON = date(2026, 11, 23)


def test_one_click_token_round_trip_and_refusals() -> None:
    token = one_click_token(KEY, "thao.tran.1990@example.vn", SENT_ON)
    assert read_one_click_token(KEY, token) == ("thao.tran.1990@example.vn", SENT_ON)
    assert one_click_token(KEY, "thao.tran.1990@example.vn", date(2026, 12, 1)) != token  # next mailing
    payload, mac = token.split(".")
    other = one_click_token(KEY, "ngan.vo@example.vn", SENT_ON).split(".")[0]
    for forged in (f"{other}.{mac}", f"{payload}.{mac[:-2]}AA", payload, "", "%%%.%%%"):
        with pytest.raises(InvalidSignature):
            read_one_click_token(KEY, forged)
    with pytest.raises(InvalidSignature):
        read_one_click_token(b"another-key", token)


def test_list_unsubscribe_headers_for_one_mail() -> None:
    settings = Settings(email_unsubscribe_key=SecretStr(KEY.decode()), email_unsubscribe_addresses=[UNSUB])
    headers = unsubscribe_headers(settings=settings, address="thao.tran.1990@example.vn",
                                  base_url="https://crm.shopmevabe.vn/", sent_on=SENT_ON)
    token = one_click_token(KEY, "thao.tran.1990@example.vn", SENT_ON)
    assert headers == {
        "List-Unsubscribe": f"<https://crm.shopmevabe.vn/unsubscribe/email/{token}>, "
                            f"<mailto:{UNSUB}?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert is_unsubscribe_subject("unsubscribe")  # what the mailto: makes the client send is understood
    with pytest.raises(ConfigError, match="HOPNHAT_EMAIL_UNSUBSCRIBE_KEY"):
        unsubscribe_headers(settings=Settings(), address="a@example.vn", base_url="https://x.vn")
    with pytest.raises(ConfigError, match="https"):
        unsubscribe_headers(settings=settings, address="a@example.vn", base_url="http://x.vn")


def test_one_click_event_becomes_the_statement_with_its_provenance() -> None:
    event = one_click_event("Thao.Tran.1990@example.vn", SENT_ON, NOW)
    assert event.id == one_click_event("thao.tran.1990@example.vn", SENT_ON, NOW).id  # a retried POST
    contact = EmailConnector().extract(event)
    assert (contact.emails, contact.interaction_kind) == (["Thao.Tran.1990@example.vn"], "email_unsubscribe")
    assert statements(event) == [{"channel": "email", "purpose": "marketing", "granted": False,
                                  "source": "email:one-click", "event_id": event.id, "at": NOW.isoformat()}]


def test_one_click_endpoint_refusals_never_touch_the_broker() -> None:
    settings = Settings(email_unsubscribe_key=SecretStr(KEY.decode()), kafka_bootstrap="127.0.0.1:9")
    token = one_click_token(KEY, "thao.tran.1990@example.vn", SENT_ON)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with TestClient(create_app(settings)) as client:
        forged = client.post(f"/unsubscribe/email/{token[:-3]}AAA", content=b"List-Unsubscribe=One-Click",
                             headers=form)
        assert forged.status_code == 401
        wrong = client.post(f"/unsubscribe/email/{token}", content=b"List-Unsubscribe=Yes", headers=form)
        assert (wrong.status_code, wrong.json()["field"]) == (400, "List-Unsubscribe")
        assert client.get(f"/unsubscribe/email/{token}").status_code == 405  # link scanners: no unsubscribe
    with TestClient(create_app(Settings(kafka_bootstrap="127.0.0.1:9"))) as client:
        off = client.post(f"/unsubscribe/email/{token}", content=b"List-Unsubscribe=One-Click", headers=form)
        assert off.status_code == 404
