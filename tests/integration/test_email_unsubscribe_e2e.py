"""Email unsubscribe end to end: customers who said yes to marketing on the web form later unsubscribe by
mail (one replying to a List-Unsubscribe mailto:, one writing to the shop's unsubscribe address) or by
the RFC 8058 one-click button, through the real `hopnhat serve` + `hopnhat worker`; PostgreSQL,
customers.profiles and the profile API then show email/marketing=no with the mail's event id, time and
source, and the form's yes stays on webform.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from connectors.base import VN_TZ
from hopnhat.access import create_key
from hopnhat.cli.unsubscribe_headers import unsubscribe_headers
from hopnhat.processes import running_stack
from hopnhat.settings import Settings
from hopnhat.webform_client import encode_submission, signed_headers
from streams.topics import ensure_topics
from tests.integration.test_email_e2e import SG_SECRET, post_sendgrid, sendgrid_form
from tests.integration.test_webhook_channels_e2e import customers_by_identifier, url
from tests.integration.test_webhook_e2e import read_topic, wait_rows

pytestmark = pytest.mark.integration
UNSUB = "huy-dang-ky@shopmevabe.vn"
ONE_CLICK_KEY = "a3f9c0d2e71b4c58"


@pytest.fixture
def stack(isolated_settings: Settings) -> Iterator[Settings]:
    s = (isolated_settings.with_secret("webform", "lien-he", "form-secret")
         .with_secret("email", "sendgrid", SG_SECRET)
         .model_copy(update={"resolve_linger_s": 0.05, "email_unsubscribe_addresses": [UNSUB.upper()],
                             "email_unsubscribe_key": SecretStr(ONE_CLICK_KEY)}))
    ensure_topics(s)
    with running_stack(s, workers=1):
        yield s


def post_form(s: Settings, fields: dict[str, str], submission_id: str) -> httpx.Response:
    body, ctype = encode_submission(fields, submission_id, True)
    return httpx.post(url(s, "/webhooks/webform/lien-he"), content=body, timeout=10,
                      headers=signed_headers("form-secret", body, ctype))


def unsubscribe_mail(sender: str, to: str, subject: str, message_id: str, at: datetime) -> bytes:
    return (f"Date: {format_datetime(at)}\r\nFrom: {sender}\r\nTo: {to}\r\nMessage-ID: {message_id}\r\n"
            f"Subject: {subject}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
            "Em không muốn nhận email khuyến mãi nữa, cảm ơn shop.\r\n").encode()


def consents(profile: dict[str, Any]) -> dict[tuple[str, str], tuple[bool, str, str]]:
    return {(c["channel"], c["purpose"]): (c["granted"], c["event_id"], c["source"])
            for c in profile["consents"]}


def test_unsubscribe_mail_after_form_consent_shows_email_marketing_no(stack: Settings) -> None:
    forms = [post_form(stack, {"full_name": "Trần Thanh Thảo", "email": "thao.tran.1990@example.vn",
                               "phone": "0903 456 789", "consent_marketing": "1"}, "f-thao"),
             post_form(stack, {"full_name": "Võ Thị Kim Ngân", "email": "ngan.vo@example.vn",
                               "consent_marketing": "có"}, "f-ngan")]
    assert [r.status_code for r in forms] == [200, 200], [r.text for r in forms]
    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 2) == 2
    later = datetime.now(VN_TZ).replace(microsecond=0) + timedelta(minutes=1)
    # Thảo replies to the newsletter's `List-Unsubscribe: <mailto:...?subject=...>`; Ngân writes to the
    # shop's unsubscribe address in her own words (the configured address, not the subject, decides).
    by_subject = unsubscribe_mail("=?UTF-8?B?VHLhuqduIFRoYW5oIFRo4bqjbw==?= <Thao.Tran.1990@Example.VN>",
                                  "tin-tuc@shopmevabe.vn", "=?UTF-8?Q?H=E1=BB=A7y_=C4=91=C4=83ng_k=C3=BD?=",
                                  "<unsub.1@mail.example.vn>", later)
    by_address = unsubscribe_mail("=?UTF-8?Q?V=C3=B5_Th=E1=BB=8B_Kim_Ng=C3=A2n?= <ngan.vo@example.vn>",
                                  f"=?UTF-8?Q?Shop_M=E1=BA=B9_v=C3=A0_B=C3=A9?= <{UNSUB}>",
                                  "=?UTF-8?Q?Xin_th=C3=B4i_nh=E1=BA=ADn_th=C6=B0?=",
                                  "<unsub.2@mail.example.com>", later)
    mails = [post_sendgrid(stack, sendgrid_form(raw)) for raw in (by_subject, by_address)]
    assert [r.status_code for r in mails] == [200, 200], [r.text for r in mails]
    mail_ids = [r.json()["events"][0]["id"] for r in mails]
    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 4) == 4

    owners = customers_by_identifier(stack.database_url)
    thao, ngan = owners[("email", "thao.tran.1990@example.vn")], owners[("email", "ngan.vo@example.vn")]
    assert thao != ngan
    with psycopg.connect(stack.database_url) as conn:
        stored = {c: conn.execute("SELECT profile FROM customers WHERE id = %s", (c,)).fetchone()[0]
                  for c in (thao, ngan)}
        form_ids = dict(conn.execute(
            """SELECT coalesce(c.merged_into, c.id)::text, i.event_id FROM interactions i
                 JOIN customers c ON c.id = i.customer_id WHERE i.channel = 'webform'""").fetchall())
    expected = {
        thao: {("webform", "marketing"): (True, form_ids[thao], "webform:lien-he"),
               ("email", "marketing"): (False, mail_ids[0], "email:sendgrid")},
        ngan: {("webform", "marketing"): (True, form_ids[ngan], "webform:lien-he"),
               ("email", "marketing"): (False, mail_ids[1], "email:sendgrid")}}
    assert {c: consents(p) for c, p in stored.items()} == expected
    email_no = next(c for c in stored[thao]["consents"] if c["channel"] == "email")
    assert datetime.fromisoformat(email_no["at"]) == later  # the mail's Date, not the receive time

    def latest(messages: list[tuple[str | None, bytes | None]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, value in messages:
            if key is not None and value:
                out[key] = json.loads(value)
        return out

    def both_unsubscribed(messages: list[tuple[str | None, bytes | None]]) -> bool:
        profiles = latest(messages)
        return {thao, ngan} <= profiles.keys() and all(
            ("email", "marketing") in consents(profiles[c]) for c in (thao, ngan))

    messages = read_topic(stack, stack.topic("customers.profiles"), done=both_unsubscribed, timeout=15)
    published = latest(messages)
    assert {c: consents(published[c]) for c in (thao, ngan)} == expected

    assert stack.database_url
    key = create_key(database_url=stack.database_url, role="engineer", name="unsubscribe e2e").key
    answer = httpx.get(url(stack, "/v1/customers/lookup"), headers={"Authorization": f"Bearer {key}"},
                       params={"type": "email", "value": "thao.tran.1990@example.vn"}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert consents(answer.json()["profile"]) == expected[thao]
    time.sleep(0.5)  # a wrongly duplicated interaction would show now
    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 5, timeout=0) == 4


def test_one_click_unsubscribe_after_form_consent(stack: Settings) -> None:
    form = post_form(stack, {"full_name": "Lê Minh Hoàng", "email": "hoang.le@example.vn",
                             "consent_khuyen_mai": "1"}, "f-hoang")
    assert form.status_code == 200, form.text
    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 1) == 1
    headers = unsubscribe_headers(settings=stack, address="hoang.le@example.vn",
                                  base_url=f"https://{stack.http_host}:{stack.http_port}")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    uri = headers["List-Unsubscribe"].split(">", 1)[0].lstrip("<")
    path = uri.split(str(stack.http_port), 1)[1]  # what the mailbox provider POSTs to, over plain http here
    answers = [httpx.post(url(stack, path), content=b"List-Unsubscribe=One-Click", timeout=10,
                          headers={"Content-Type": "application/x-www-form-urlencoded"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    [event_id] = {a.json()["events"][0]["id"] for a in answers}  # the provider's retry is the same event
    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 2) == 2

    customer = customers_by_identifier(stack.database_url)[("email", "hoang.le@example.vn")]
    with psycopg.connect(stack.database_url) as conn:
        [profile] = conn.execute("SELECT profile FROM customers WHERE id = %s", (customer,)).fetchone()
        kinds = conn.execute("SELECT channel, kind FROM interactions ORDER BY channel").fetchall()
    got = consents(profile)
    assert got[("email", "marketing")] == (False, event_id, "email:one-click")
    assert got[("webform", "marketing")][0] is True
    assert kinds == [("email", "email_unsubscribe"), ("webform", "form_submission")]
    time.sleep(0.5)
    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 3, timeout=0) == 2
