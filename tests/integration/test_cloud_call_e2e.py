"""OMICall and CareSoft call webhooks end to end: deliveries in their documented shapes into the real
`hopnhat serve` and `hopnhat worker` (embedded broker and PostgreSQL), out as `call` rows on the customer
a web form created under the same phone written another way."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from connectors.caresoft import caresoft_signature
from hopnhat.processes import running_stack
from hopnhat.settings import Settings
from streams.topics import ensure_topics
from tests.integration.test_pos_call_e2e import post, post_form, wire
from tests.integration.test_webhook_channels_e2e import customers_by_identifier, url
from tests.integration.test_webhook_e2e import read_topic, wait_rows

pytestmark = pytest.mark.integration
CALLS = json.loads((Path(__file__).parents[1] / "fixtures" / "cloud_call_webhooks.json").read_text(encoding="utf-8"))
OMI_SOURCE, OMI_TOKEN = "shop-q1", "omicall-url-token-7f3a9c"
CS_SOURCE, CS_KEY = "shopmevabe", "CS-secret-key-2026"


@pytest.fixture
def stack(isolated_settings: Settings) -> Iterator[Settings]:
    s = (isolated_settings.with_secret("webform", "lien-he", "form-secret")
         .with_secret("omicall", OMI_SOURCE, OMI_TOKEN)
         .with_secret("caresoft", CS_SOURCE, CS_KEY)
         .model_copy(update={"resolve_linger_s": 0.05}))
    ensure_topics(s)
    with running_stack(s, workers=1):
        yield s


def post_omicall(s: Settings, doc: Any, token: str = OMI_TOKEN) -> httpx.Response:
    """As OMICall would: to the URL registered with the token in it, no signature header."""
    return httpx.post(url(s, f"/webhooks/omicall/{OMI_SOURCE}?token={token}"), content=wire(doc), timeout=10,
                      headers={"Content-Type": "application/json"})


def post_caresoft(s: Settings, doc: Any, key: str = CS_KEY) -> httpx.Response:
    body = wire(doc)
    return post(s, "caresoft", CS_SOURCE, body, {"X-Hub-Signature": caresoft_signature(key.encode(), body)})


def test_omicall_and_caresoft_calls_land_on_the_web_form_customer_of_the_same_phone(stack: Settings) -> None:
    ringing = post_omicall(stack, CALLS["omicall_ringing_inbound"])
    hangup = post_omicall(stack, CALLS["omicall_hangup_inbound"])
    again = post_omicall(stack, CALLS["omicall_hangup_inbound"])  # OMICall retrying
    form = post_form(stack, {"full_name": "Nguyễn Văn An", "phone": "+84 912 345 678"}, "f-omicall-1")
    ticket = post_caresoft(stack, CALLS["caresoft_ticket_voice"])  # caller 84912345678
    assert [r.status_code for r in (ringing, hangup, again, form, ticket)] == [200] * 5
    assert ringing.json()["events"] == []  # the hangup delivery carries the call
    forged_token = post_omicall(stack, CALLS["omicall_hangup_outbound_no_answer"], token="guess")
    forged_sig = post_caresoft(stack, CALLS["caresoft_smart_dialer_missed"], key="CS123")
    malformed = post_omicall(stack, {**CALLS["omicall_hangup_inbound"], "bill_sec": 500})
    assert (forged_token.status_code, forged_sig.status_code) == (401, 401)
    assert (malformed.status_code, malformed.json()["field"]) == (400, "bill_sec")

    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 3) == 3
    time.sleep(1.0)  # a late duplicate would show up here
    owners = customers_by_identifier(stack.database_url)
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute("""SELECT i.kind, i.summary, i.payload, coalesce(c.merged_into, c.id)::text
                               FROM interactions i JOIN customers c ON c.id = i.customer_id
                               ORDER BY i.kind, i.payload->>'vendor'""").fetchall()
    assert [(kind, (payload or {}).get("vendor")) for kind, _, payload, _ in rows] == [
        ("call", "caresoft"), ("call", "omicall"), ("form_submission", None)]
    assert {owner for *_, owner in rows} == {owners[("phone", "+84912345678")]}  # one customer for all three
    omicall = rows[1][2]
    assert (rows[1][1], omicall["direction"], omicall["duration_s"], omicall["billsec_s"], omicall["disposition"],
            omicall["customer_number_raw"]) == ("Inbound call, answered, talk 1:47", "inbound", 113, 107,
                                                 "answered", "0912345678")
    assert not any(value in ("101", "842873001234", "19006868", "5001") for (_, value) in owners)  # agents, hotlines
    raw = read_topic(stack, stack.topic("raw.omicall"), done=lambda m: len(m) >= 2, timeout=5)
    assert len(raw) == 2 and {key for key, _ in raw} == {CALLS["omicall_hangup_inbound"]["transaction_id"]}
