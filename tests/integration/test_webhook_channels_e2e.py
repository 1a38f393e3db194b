"""Zalo OA and Facebook Page webhooks end to end: native signed payloads into the real `hopnhat serve`
and `hopnhat worker`, out as rows on the right customer's timeline in PostgreSQL.

One stack per channel (each start costs seconds), several behaviours per stack.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from connectors.base import hmac_sha256_hex
from connectors.zalo import zalo_signature
from hopnhat.processes import running_stack
from hopnhat.settings import Settings
from hopnhat.webform_client import encode_submission, signed_headers
from streams.topics import ensure_topics
from tests.integration.test_webhook_e2e import read_topic, wait_rows

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[1] / "fixtures"
ZALO_APP, ZALO_OA, ZALO_USER = "1234567890123456789", "579745863508352884", "8448021542710133051"
OA_KEY = "zalo-oa-secret-key"
FB_APP, FB_PAGE, PSID = "1517776481860111", "104523871234567", "6723145598012345"
APP_SECRET, VERIFY_TOKEN, PAGE_TOKEN = "meta-app-secret", "hopnhat-verify-tok", "page-access-token"


@pytest.fixture
def graph_api() -> Iterator[str]:
    """A stand-in for graph.facebook.com answering the recorded lead (tests/fixtures/facebook_graph_lead.json)
    for the right Page token, and Graph's error shape for any other lead."""
    lead = (FIXTURES / "facebook_graph_lead.json").read_bytes()

    class Graph(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            known = url.path == "/v25.0/1234500000000001" and query.get("access_token") == [PAGE_TOKEN]
            body = lead if known else b'{"error":{"message":"Unsupported get request.","code":100}}'
            self.send_response(200 if known else 400)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Graph)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v25.0"
    server.shutdown()
    server.server_close()


@pytest.fixture
def stack(isolated_settings: Settings, graph_api: str) -> Iterator[Settings]:
    s = (isolated_settings.with_secret("webform", "lien-he", "form-secret")
         .with_secret("zalo", f"{ZALO_APP}:{ZALO_OA}", OA_KEY)
         .with_secret("facebook", FB_APP, APP_SECRET)
         .with_verify_token("facebook", FB_APP, VERIFY_TOKEN)
         .model_copy(update={"resolve_linger_s": 0.05, "facebook_graph_url": graph_api,
                             "facebook_page_tokens": {FB_PAGE: SecretStr(PAGE_TOKEN)}}))
    ensure_topics(s)
    with running_stack(s, workers=1):
        yield s


def url(s: Settings, path: str) -> str:
    return f"http://{s.http_host}:{s.http_port}{path}"


def zalo_body(name: str, offset_ms: int, **changes: Any) -> bytes:
    doc = json.loads((FIXTURES / "zalo_events.json").read_text(encoding="utf-8"))[name]
    doc.update(changes, timestamp=str(int(time.time() * 1000) - offset_ms))  # Zalo refuses stale bodies
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def post_zalo(s: Settings, body: bytes, key: str = OA_KEY) -> httpx.Response:
    doc = json.loads(body)
    mac = zalo_signature(doc["app_id"], body, doc["timestamp"], key.encode())
    return httpx.post(url(s, f"/webhooks/zalo/{ZALO_APP}"), content=body, timeout=10,
                      headers={"Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"})


def fb_body(name: str) -> bytes:
    doc = json.loads((FIXTURES / "facebook_webhooks.json").read_text(encoding="utf-8"))[name]
    return json.dumps(doc, separators=(",", ":")).replace("/", "\\/").encode()  # Meta's escaped wire form


def post_fb(s: Settings, body: bytes, secret: str = APP_SECRET) -> httpx.Response:
    return httpx.post(url(s, f"/webhooks/facebook/{FB_APP}"), content=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + hmac_sha256_hex(secret.encode(), body)})


def customers_by_identifier(database_url: str) -> dict[tuple[str, str], str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("""SELECT i.type, i.value, coalesce(c.merged_into, c.id)::text FROM identifiers i
                               JOIN customers c ON c.id = i.customer_id""").fetchall()
    return {(t, v): c for t, v, c in rows}


def test_zalo_events_join_the_web_form_customer_by_phone_once_each(stack: Settings) -> None:
    text = zalo_body("user_send_text", 60_000)
    accepted = [post_zalo(stack, text),
                post_zalo(stack, zalo_body("user_submit_info_flat", 30_000)),  # phone 84912345678
                post_zalo(stack, text)]  # Zalo retried: same msg_id
    form_body, ctype = encode_submission({"full_name": "Nguyễn Thị Thu Hà", "phone": "0912345678",
                                          "message": "Tư vấn giúp em áo dài cưới"}, "f-1", True)
    accepted.append(httpx.post(url(stack, "/webhooks/webform/lien-he"), content=form_body, timeout=10,
                               headers=signed_headers("form-secret", form_body, ctype)))
    assert [r.status_code for r in accepted] == [200] * 4, [r.text for r in accepted]
    assert accepted[0].json()["events"][0]["id"] == f"zalo:{ZALO_OA}:9f2c4e7a1b3d5f60a8c1"

    refused = [
        post_zalo(stack, zalo_body("user_send_image", 0), key="the-app-secret"),  # not the OA key
        post_zalo(stack, zalo_body("user_send_image", 0, recipient={"id": "611122233344455566"})),  # unknown OA
        post_zalo(stack, zalo_body("user_send_image", 25 * 3600 * 1000)),  # replay of a day-old body
    ]
    assert [r.status_code for r in refused] == [401, 401, 401]
    probe = httpx.post(url(stack, f"/webhooks/zalo/{ZALO_APP}"), content=b"{}", timeout=10,
                       headers={"Content-Type": "application/json"})
    assert probe.status_code == 200 and probe.json()["events"] == []

    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 3) == 3
    time.sleep(1.0)  # give a wrongly duplicated row time to appear
    with psycopg.connect(stack.database_url) as conn:
        kinds = conn.execute("SELECT channel, kind FROM interactions ORDER BY channel, kind").fetchall()
        live = conn.execute("SELECT profile FROM customers WHERE merged_into IS NULL").fetchall()
    assert kinds == [("webform", "form_submission"), ("zalo", "contact_shared"), ("zalo", "message")]
    owners = customers_by_identifier(stack.database_url)
    assert owners[("zalo", f"{ZALO_OA}:{ZALO_USER}")] == owners[("phone", "+84912345678")]
    assert len(live) == 1 and live[0][0]["interactions"] == 3
    assert live[0][0]["full_name"] == "Nguyễn Thị Thu Hà"
    raw = read_topic(stack, stack.topic("raw.zalo"), done=lambda m: len(m) >= 3, timeout=5)
    assert len(raw) == 3  # the two accepted events and the retry; nothing refused reached the broker
    assert {key for key, _ in raw} == {f"{ZALO_OA}:{ZALO_USER}"}


def test_facebook_batch_handshake_duplicates_and_forgeries(stack: Settings) -> None:
    handshake = httpx.get(url(stack, f"/webhooks/facebook/{FB_APP}"), params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert (handshake.status_code, handshake.text) == (200, "1158201444")
    assert handshake.headers["content-type"].startswith("text/plain")
    wrong = httpx.get(url(stack, f"/webhooks/facebook/{FB_APP}"), params={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert wrong.status_code == 403

    batch = fb_body("batched")  # two Messenger messages and a lead Graph does not know, in one POST
    first, comment, again = post_fb(stack, batch), post_fb(stack, fb_body("comment")), post_fb(stack, batch)
    lead = post_fb(stack, fb_body("leadgen"))  # ids only; the worker fetches the answers from "Graph"
    assert [r.status_code for r in (first, comment, again, lead)] == [200, 200, 200, 200]
    assert [e["id"] for e in first.json()["events"]] == [
        f"fb:{FB_PAGE}:m_a1", f"fb:{FB_PAGE}:m_b2", f"fb:{FB_PAGE}:1234500000000002"]
    forged = post_fb(stack, fb_body("message_image"), secret="not-the-app-secret")
    assert forged.status_code == 401

    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 6) == 6
    time.sleep(1.0)
    owners = customers_by_identifier(stack.database_url)
    with psycopg.connect(stack.database_url) as conn:
        timeline = conn.execute("""SELECT kind, summary FROM interactions i JOIN customers c ON c.id = i.customer_id
                                   WHERE coalesce(c.merged_into, c.id)::text = %s ORDER BY occurred_at""",
                                (owners[("fb_psid", f"{FB_PAGE}:{PSID}")],)).fetchall()
        total = conn.execute("SELECT count(*) FROM interactions").fetchone()
    assert timeline == [("comment", "Ib giá giúp mình nha, sđt 0938 123 456"),
                        ("message", "Chào shop, đơn của mình đã giao chưa?")]
    assert total == (6,)  # the redelivered batch added nothing
    # The lead: the webhook's ids and the answers fetched by the worker are one customer, with the phone.
    lead_customer = owners[("external", "fb_lead:1234500000000001")]
    assert owners[("phone", "+84938123456")] == owners[("email", "phuc.le@example.vn")] == lead_customer
    with psycopg.connect(stack.database_url) as conn:
        lead_kinds = conn.execute("""SELECT kind FROM interactions WHERE event_id LIKE %s ORDER BY kind""",
                                  (f"fb:{FB_PAGE}:%1234500000000001",)).fetchall()
    assert lead_kinds == [("lead",), ("leadgen",)]
    # The lead Graph refused is stored with its ids and dead-lettered for replay (once per delivery).
    assert ("external", "fb_lead:1234500000000002") in owners
    letters = read_topic(stack, stack.topic("dlq.normalise"), done=lambda m: len(m) >= 2, timeout=10)
    assert {(json.loads(v)["stage"], json.loads(v)["reason"]) for _, v in letters if v} == {
        ("enrich", "lead-fetch-failed")}
    raw = read_topic(stack, stack.topic("raw.facebook"), done=lambda m: len(m) >= 9, timeout=5)
    assert len(raw) == 9  # 3 + 1 + 3 + 1 accepted, + the fetched lead; the forged delivery published nothing
