"""POS (KiotViet, Sapo, Haravan) and call-centre (Stringee) webhooks end to end: native signed payloads into the
real `hopnhat serve` and `hopnhat worker`, out as rows on the right customer's timeline in PostgreSQL.

One stack per channel family (each start costs seconds), several behaviours per stack.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from connectors.base import hmac_sha256_hex
from connectors.callcenter import stringee_signature
from hopnhat.processes import running_stack
from hopnhat.settings import Settings
from hopnhat.webform_client import encode_submission, signed_headers
from streams.topics import ensure_topics
from tests.integration.test_webhook_channels_e2e import customers_by_identifier, url
from tests.integration.test_webhook_e2e import read_topic, wait_rows

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[1] / "fixtures"
POS = json.loads((FIXTURES / "pos_webhooks.json").read_text(encoding="utf-8"))
CALLS = json.loads((FIXTURES / "callcenter_events.json").read_text(encoding="utf-8"))
RETAILER, KV_SECRET = "lananh-baby", "aG9wbmhhdC1rdg=="
SAPO_TENANT, SAPO_SECRET = "thoitrangbao.mysapogo.com", "sapo-webhook-secret"
HARAVAN_ORG, HARAVAN_SECRET = "200000123456", "haravan-client-secret"
STRINGEE_PROJECT, STRINGEE_SECRET = "21045", "stringee-signing-secret"


@pytest.fixture
def stack(isolated_settings: Settings) -> Iterator[Settings]:
    s = (isolated_settings.with_secret("webform", "lien-he", "form-secret")
         .with_secret("kiotviet", RETAILER, KV_SECRET)
         .with_secret("sapo", SAPO_TENANT, SAPO_SECRET)
         .with_secret("haravan", HARAVAN_ORG, HARAVAN_SECRET)
         .with_secret("callcenter", STRINGEE_PROJECT, STRINGEE_SECRET)
         .model_copy(update={"resolve_linger_s": 0.05}))
    ensure_topics(s)
    with running_stack(s, workers=1):
        yield s


def wire(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(s: Settings, channel: str, source: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url(s, f"/webhooks/{channel}/{source}"), content=body, timeout=10,
                      headers={"Content-Type": "application/json", **headers})


def post_kiotviet(s: Settings, doc: Any, secret: str = KV_SECRET) -> httpx.Response:
    body = wire(doc)
    return post(s, "kiotviet", RETAILER, body, {"X-Hub-Signature": "sha1=" + hmac_sha256_hex(secret.encode(), body)})


def post_form(s: Settings, fields: dict[str, str], submission_id: str) -> httpx.Response:
    body, ctype = encode_submission(fields, submission_id, True)
    return httpx.post(url(s, "/webhooks/webform/lien-he"), content=body, timeout=10,
                      headers=signed_headers("form-secret", body, ctype))


def test_pos_orders_land_on_the_customer_of_their_phone_once_and_bad_deliveries_never_on_raw(stack: Settings) -> None:
    invoice = POS["kiotviet_invoice"]
    accepted = [
        post_kiotviet(stack, POS["kiotviet_customer"]),  # phone 0912 345 678, code KH000873
        post_kiotviet(stack, invoice),  # names the buyer by KH000873 only
        post_kiotviet(stack, {**invoice, "Attempt": 2}),  # KiotViet retried: same record versions
        post_form(stack, {"full_name": "Đỗ Thị Lan Anh", "phone": "+84912345678",
                          "message": "Shop còn sữa Friso 900g không ạ?"}, "f-kv-1"),
        post(stack, "sapo", SAPO_TENANT, wire(POS["sapo_order"]),
             {"X-Sapo-Hmac-Sha256": b64_hmac(SAPO_SECRET, wire(POS["sapo_order"])), "X-Sapo-Topic": "orders/update"}),
        post(stack, "haravan", HARAVAN_ORG, wire(POS["haravan_order"]),
             {"X-Haravan-Hmacsha256": b64_hmac(HARAVAN_SECRET, wire(POS["haravan_order"])),
              "X-Haravan-Topic": "orders/create", "X-Haravan-Org-Id": HARAVAN_ORG}),
    ]
    assert [r.status_code for r in accepted] == [200] * 6, [r.text for r in accepted]
    assert accepted[1].json()["events"][0]["id"] == (
        "kiotviet:lananh-baby:invoice:90112345:2026-11-22T14:05:12.4370000")

    malformed = json.loads(wire(invoice))
    malformed["Notifications"][0]["Data"][0]["Total"] = "1.250.000"
    dead = post_kiotviet(stack, malformed)  # KiotViet would disable the hook on a 400: 200 and dead-lettered
    assert (dead.status_code, dead.json()["status"], dead.json()["field"]) == (
        200, "dead-lettered", "Notifications[0].Data[0].Total")
    half_dong = b'{"id":1,"customer_id":7,"modified_on":"2026-11-22T07:06:30Z","total":1.5}'
    refused = [
        post_kiotviet(stack, invoice, secret="not-the-secret"),
        post(stack, "sapo", SAPO_TENANT, wire(POS["sapo_order"]), {"X-Sapo-Hmac-Sha256": b64_hmac("x", b"{}")}),
        post(stack, "haravan", HARAVAN_ORG, wire(POS["haravan_order"]), {}),
        post(stack, "sapo", SAPO_TENANT, half_dong, {"X-Sapo-Hmac-Sha256": b64_hmac(SAPO_SECRET, half_dong)}),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401, 400]  # Sapo keeps the default 400
    assert refused[3].json()["field"] == "total"

    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 5) == 5
    time.sleep(1.0)  # give a wrongly duplicated row time to appear
    owners = customers_by_identifier(stack.database_url)
    lan_anh = owners[("pos_customer", f"kiotviet:{RETAILER}:KH000873")]
    assert owners[("phone", "+84912345678")] == lan_anh
    with psycopg.connect(stack.database_url) as conn:
        timeline = conn.execute("""SELECT channel, kind, amount_vnd, payload FROM interactions i
                                   JOIN customers c ON c.id = i.customer_id
                                   WHERE coalesce(c.merged_into, c.id)::text = %s ORDER BY occurred_at""",
                                (lan_anh,)).fetchall()
        total = conn.execute("SELECT count(*) FROM interactions").fetchone()
    assert [(ch, kind, amount) for ch, kind, amount, _ in timeline] == [
        ("kiotviet", "customer_update", None), ("kiotviet", "order", 1250000), ("webform", "form_submission", None)]
    assert [li["price_vnd"] for li in timeline[1][3]["line_items"]] == [575000, 200000]
    assert total == (5,)  # the retried invoice added nothing
    assert owners[("pos_customer", f"sapo:{SAPO_TENANT}:CUZN400871")] == owners[("phone", "+84977123456")]
    assert owners[("pos_customer", f"haravan:{HARAVAN_ORG}:1009876543")] == owners[("phone", "+84909876543")]

    raw = read_topic(stack, stack.topic("raw.kiotviet"), done=lambda m: len(m) >= 3, timeout=5)
    assert len(raw) == 3  # customer, invoice and its retry; the forged and the malformed deliveries are not there
    letters = read_topic(stack, stack.topic("dlq.ingest"), done=lambda m: len(m) >= 1, timeout=5)
    assert [(json.loads(v)["stage"], json.loads(v)["field"]) for _, v in letters if v] == [
        ("ingest", "Notifications[0].Data[0].Total")]


def test_call_events_become_one_call_on_the_callers_customer(stack: Settings) -> None:
    def post_call(doc: Any, secret: str = STRINGEE_SECRET) -> httpx.Response:
        body = wire(doc)
        return post(stack, "callcenter", STRINGEE_PROJECT, body,
                    {"X-STRINGEE-SIGNATURE": stringee_signature(secret.encode(), body)})

    ringing, ended, again = post_call(CALLS["ringing_inbound"]), post_call(CALLS["ended_inbound"]), \
        post_call(CALLS["ended_inbound"])
    form = post_form(stack, {"full_name": "Nguyễn Văn An", "phone": "0912 345 678"}, "f-call-1")
    assert [r.status_code for r in (ringing, ended, again, form)] == [200] * 4
    assert ringing.json()["events"] == []  # only the ended event carries the call's outcome
    forged = post_call(CALLS["ended_outbound_busy"], secret="guess")
    malformed = post_call({**CALLS["ended_inbound"], "call_id": None})
    assert (forged.status_code, malformed.status_code, malformed.json()["field"]) == (401, 400, "call_id")

    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 2) == 2
    time.sleep(1.0)
    owners = customers_by_identifier(stack.database_url)
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute("""SELECT i.kind, i.summary, i.payload, coalesce(c.merged_into, c.id)::text
                               FROM interactions i JOIN customers c ON c.id = i.customer_id
                               ORDER BY i.occurred_at""").fetchall()
    assert [(kind, summary) for kind, summary, _, _ in rows] == [
        ("call", "Inbound call, answered, talk 1:47"), ("form_submission", "Form lien-he submitted")]
    call = rows[0][2]
    assert (call["direction"], call["duration_s"], call["billsec_s"], call["disposition"]) == (
        "inbound", 113, 107, "answered")
    assert rows[0][3] == rows[1][3] == owners[("phone", "+84912345678")]
    raw = read_topic(stack, stack.topic("raw.callcenter"), done=lambda m: len(m) >= 2, timeout=5)
    assert len(raw) == 2  # the ended event and its redelivery; nothing from the ringing, forged or malformed posts
    assert {key for key, _ in raw} == {CALLS["ended_inbound"]["call_id"]}
