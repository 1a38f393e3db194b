"""Email end to end: a SendGrid Inbound Parse delivery through the real `hopnhat serve` + `hopnhat worker`
onto the web-form customer's timeline in PostgreSQL, and the IMAP poller against an in-process fake
IMAP server publishing, checkpointing and resuming without duplicates.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from connectors import p256
from hopnhat.checkpoints import load_checkpoint
from hopnhat.imap_poller import checkpoint_source, poll
from hopnhat.processes import running_stack, settings_env
from hopnhat.settings import Settings
from hopnhat.webform_client import encode_submission, signed_headers
from streams.topics import ensure_topics
from tests.fake_imap import FakeImapServer
from tests.integration.test_webhook_channels_e2e import customers_by_identifier, url
from tests.integration.test_webhook_e2e import read_topic, wait_rows

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[1] / "fixtures" / "email"
SG_KEY = p256.generate_private_key()
SG_SECRET = "sendgrid-ecdsa:" + p256.public_key_to_b64(p256.public_key(SG_KEY))
BOUNDARY = "xYzZY"


def sendgrid_form(raw_mime: bytes) -> bytes:
    """SendGrid Inbound Parse in raw mode, as the reference note shows it."""
    def field(name: str, value: bytes) -> bytes:
        return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
    return (field("envelope", b'{"to":["lienhe@parse.shopmevabe.vn"],"from":"thao.tran.1990@example.vn"}')
            + field("email", raw_mime) + field("SPF", b"pass") + f"--{BOUNDARY}--\r\n".encode())


def post_sendgrid(s: Settings, body: bytes, key: int = SG_KEY) -> httpx.Response:
    timestamp = str(int(time.time()))
    signature = base64.b64encode(p256.sign(key, timestamp.encode() + body)).decode()
    return httpx.post(url(s, "/webhooks/email/sendgrid"), content=body, timeout=10, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp})


CUSTOMER_MAIL = (
    "Date: Sun, 22 Nov 2026 20:31:44 +0700\r\n"
    "From: =?UTF-8?B?VHLhuqduIFRoYW5oIFRo4bqjbw==?= <Thao.Tran.1990@Example.VN>\r\n"
    "To: lienhe@parse.shopmevabe.vn\r\nMessage-ID: <20261122203144.5521@mail.example.com>\r\n"
    "Subject: =?UTF-8?Q?H=E1=BB=8Fi_v=E1=BB=81_=C4=91=C6=A1n_DH20871?=\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n\r\n"
    "Shop ơi, đơn DH20871 giao chưa ạ? SĐT em 0903 456 789.\r\n").encode()


@pytest.fixture
def stack(isolated_settings: Settings) -> Iterator[Settings]:
    s = (isolated_settings.with_secret("webform", "lien-he", "form-secret")
         .with_secret("email", "sendgrid", SG_SECRET)
         .model_copy(update={"resolve_linger_s": 0.05}))
    ensure_topics(s)
    with running_stack(s, workers=1):
        yield s


def test_inbound_parse_mail_joins_the_web_form_customer_once(stack: Settings) -> None:
    body = sendgrid_form(CUSTOMER_MAIL)
    first, again = post_sendgrid(stack, body), post_sendgrid(stack, body)  # SendGrid retried
    form_body, ctype = encode_submission({"full_name": "Trần Thanh Thảo", "email": "thao.tran.1990@example.vn",
                                          "message": "Tư vấn giúp em"}, "f-9", True)
    form = httpx.post(url(stack, "/webhooks/webform/lien-he"), content=form_body, timeout=10,
                      headers=signed_headers("form-secret", form_body, ctype))
    assert [r.status_code for r in (first, again, form)] == [200, 200, 200], [r.text for r in (first, again, form)]
    assert first.json()["events"][0]["id"] == again.json()["events"][0]["id"]
    forged = post_sendgrid(stack, sendgrid_form(CUSTOMER_MAIL.replace(b"0903", b"0904")), key=SG_KEY + 1)
    assert forged.status_code == 401

    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 2) == 2
    time.sleep(1.0)  # give a wrongly duplicated row time to appear
    owners = customers_by_identifier(stack.database_url)
    customer = owners[("email", "thao.tran.1990@example.vn")]
    with psycopg.connect(stack.database_url) as conn:
        timeline = conn.execute(
            """SELECT channel, kind, summary, payload FROM interactions i JOIN customers c ON c.id = i.customer_id
               WHERE coalesce(c.merged_into, c.id)::text = %s ORDER BY channel""", (customer,)).fetchall()
        total = conn.execute("SELECT count(*) FROM interactions").fetchone()
    assert total == (2,)
    assert [(ch, kind) for ch, kind, _, _ in timeline] == [("email", "email"), ("webform", "form_submission")]
    _, _, summary, payload = timeline[0]
    assert summary.startswith("Hỏi về đơn DH20871 — Shop ơi")
    assert payload["thread_root"] == payload["message_id"] == "<20261122203144.5521@mail.example.com>"
    raw = read_topic(stack, stack.topic("raw.email"), done=lambda m: len(m) >= 2, timeout=5)
    assert len(raw) == 2 and {k for k, _ in raw} == {"thao.tran.1990@example.vn"}  # nothing forged published


def _imap_settings(s: Settings, server: FakeImapServer) -> Settings:
    return s.model_copy(update={"imap_host": "127.0.0.1", "imap_port": server.port, "imap_user": server.user,
                                "imap_password": SecretStr(server.password), "imap_ssl": False})


def _ids(s: Settings, expected: int) -> list[str]:
    raw = read_topic(s, s.topic("raw.email"), done=lambda m: len(m) >= expected, timeout=10)
    return [json.loads(v)["id"] for _, v in raw if v]


def test_imap_poller_publishes_checkpoints_and_resumes_without_duplicates(isolated_settings: Settings) -> None:
    ensure_topics(isolated_settings)
    with FakeImapServer() as server:
        s = _imap_settings(isolated_settings, server)
        uids = [server.mailbox.append((FIXTURES / f"thread-{i}.eml").read_bytes()) for i in (1, 2, 3)]
        [first] = asyncio.run(poll(s, once=True))
        assert (first.published, first.last_uid, first.restarted) == (3, uids[-1], False)
        assert s.database_url
        assert load_checkpoint(s.database_url, checkpoint_source(s)) == {
            "uidvalidity": server.mailbox.uidvalidity, "last_uid": uids[-1]}

        [idle] = asyncio.run(poll(s, once=True))  # `UID SEARCH UID 108:*` answers 107: filtered out
        assert (idle.published, idle.last_uid) == (0, uids[-1])
        assert f"UID SEARCH UID {uids[-1] + 1}:*" in server.mailbox.commands

        server.mailbox.append((FIXTURES / "alternative-with-attachment.eml").read_bytes())
        bad_uid = server.mailbox.append(b"To: cskh@shop.example.vn\r\nSubject: no sender\r\n\r\nx\r\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOPNHAT_")}
        env.update(settings_env(s))
        assert env["HOPNHAT_IMAP_PASSWORD"] == server.password  # the child gets the secret, not its mask
        cli = subprocess.run([sys.executable, "-m", "hopnhat.cli.main", "imap-poll", "--once", "--json"],
                             env=env, capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout.strip().splitlines()[-1]) == {
            "uidvalidity": server.mailbox.uidvalidity, "last_uid": bad_uid, "published": 1, "rejected": 1,
            "restarted": False}
        ids = _ids(s, 4)
        assert len(ids) == len(set(ids)) == 4
        letters = read_topic(s, s.topic("dlq.ingest"), done=lambda m: len(m) >= 1, timeout=10)
        assert [(k, json.loads(v)["field"], json.loads(v)["stage"]) for k, v in letters if v] == [
            (f"{checkpoint_source(s)}/{server.mailbox.uidvalidity}/{bad_uid}", "From", "ingest")]

        server.mailbox.recreate(uidvalidity=1)  # migration: every UID changes
        [again] = asyncio.run(poll(s, once=True))
        assert (again.restarted, again.published, again.rejected) == (True, 4, 1)
        assert load_checkpoint(s.database_url, checkpoint_source(s)) == {"uidvalidity": 1, "last_uid": 5}
        ids = _ids(s, 8)
        assert len(ids) == 8 and len(set(ids)) == 4  # re-published with the same ids: no-ops downstream
        assert all(c.startswith(("CAPABILITY", "LOGIN", "EXAMINE", "UID", "LOGOUT")) for c in server.mailbox.commands)
