"""Behaviour end to end: signed webhooks in, rows in PostgreSQL and messages on customers.profiles out.

Runs the production entry points (`hopnhat serve`, `hopnhat worker`) as child processes against the
real broker and PostgreSQL, with a fresh database and topic prefix per test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition

from hopnhat.processes import running_stack
from hopnhat.settings import Settings
from hopnhat.webform_client import encode_submission, signed_headers
from streams.topics import Topics, ensure_topics

pytestmark = pytest.mark.integration
FORM, SECRET = "lien-he", "bi-mat-cua-form"


def _stack(isolated_settings: Settings, workers: int) -> Iterator[Settings]:
    s = isolated_settings.with_secret("webform", FORM, SECRET).model_copy(update={"resolve_linger_s": 0.05})
    ensure_topics(s)
    with running_stack(s, workers=workers):
        yield s


@pytest.fixture
def stack(isolated_settings: Settings) -> Iterator[Settings]:
    """`hopnhat serve` and one `hopnhat worker`."""
    yield from _stack(isolated_settings, workers=1)


@pytest.fixture
def server(isolated_settings: Settings) -> Iterator[Settings]:
    """`hopnhat serve` alone: for rejections, which must never reach the broker at all."""
    yield from _stack(isolated_settings, workers=0)


def post(s: Settings, fields: dict, submission_id: str | None = None, as_json: bool = True,
         secret: str = SECRET, form: str = FORM) -> httpx.Response:
    body, ctype = encode_submission(fields, submission_id, as_json)
    return httpx.post(f"http://{s.http_host}:{s.http_port}/webhooks/webform/{form}", content=body,
                      headers=signed_headers(secret, body, ctype), timeout=10)


Messages = list[tuple[str | None, bytes | None]]


def read_topic(s: Settings, topic: str, done: Callable[[Messages], bool] = lambda m: False,
               timeout: float = 20.0) -> Messages:
    """Every message on `topic` from the beginning, until `done(messages)` or the timeout."""
    consumer = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=500)
    parts = consumer.partitions_for_topic(topic) or set()
    consumer.assign([TopicPartition(topic, p) for p in parts])
    consumer.seek_to_beginning()
    out: list[tuple[str | None, bytes | None]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out.extend((m.key.decode() if m.key else None, m.value) for m in consumer)
        if done(out):
            break
    consumer.close()
    return out


def wait_rows(url: str, sql: str, expected: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(url) as conn:
            n = conn.execute(sql).fetchone()[0]
        if n >= expected or time.monotonic() > deadline:
            return n
        time.sleep(0.1)


def test_signed_submissions_become_one_customer_in_postgres_and_on_the_profile_topic(stack: Settings) -> None:
    r1 = post(stack, {"full_name": "Nguyễn Thị Lan", "phone": "0912.345.678"}, "sub-1")
    r2 = post(stack, {"ho_ten": "Nguyen Thi Lan", "email": "Lan.Nguyen@Gmail.com"}, "sub-2", as_json=False)
    r3 = post(stack, {"full_name": "Nguyễn Thị Lan", "phone": "+84 912 345 678", "email": "lan.nguyen@gmail.com",
                      "message": "Cho em xin báo giá ạ", "utm_source": "zalo"}, "sub-3")
    assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 200], [r.text for r in (r1, r2, r3)]
    assert r1.json()["events"][0]["id"] == "webform:lien-he:sub-1"
    assert r1.json()["events"][0]["topic"] == stack.topic("raw.webform")

    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 3) == 3
    with psycopg.connect(stack.database_url) as conn:
        live = conn.execute("SELECT id, profile FROM customers WHERE merged_into IS NULL").fetchall()
        idents = conn.execute("SELECT type, value FROM identifiers ORDER BY type").fetchall()
        roots = conn.execute("""SELECT DISTINCT coalesce(c.merged_into, c.id) FROM interactions i
                                JOIN customers c ON c.id = i.customer_id""").fetchall()
        merges = conn.execute("SELECT count(*) FROM merges").fetchone()[0]
    assert len(live) == 1 and len(roots) == 1
    assert idents == [("email", "lan.nguyen@gmail.com"), ("phone", "+84912345678")]
    customer_id, profile = str(live[0][0]), live[0][1]
    assert profile["interactions"] == 3 and profile["full_name"] == "Nguyễn Thị Lan"
    # sub-1 (phone) and sub-2 (email) were two customers until sub-3 showed both: one merge, unless
    # the worker happened to resolve all three in one batch; either way one customer in the end.
    assert merges in (0, 1)

    topics = Topics.from_settings(stack)

    def shows_three_interactions(messages: Messages) -> bool:
        return any(k == customer_id and v is not None and json.loads(v)["interactions"] == 3 for k, v in messages)

    messages = read_topic(stack, topics.profiles, done=shows_three_interactions)
    latest: dict[str, bytes | None] = {}
    for key, value in messages:
        latest[key] = value
    live_on_topic = {k: json.loads(v) for k, v in latest.items() if v is not None}
    assert list(live_on_topic) == [customer_id]
    assert live_on_topic[customer_id]["interactions"] == 3
    assert sorted(p["value"] for p in live_on_topic[customer_id]["phones"]) == ["+84912345678"]


def test_duplicate_delivery_yields_one_interaction(stack: Settings) -> None:
    fields = {"full_name": "Trần Văn Hùng", "phone": "0987 654 321"}
    first = post(stack, fields, "dup-1")
    second = post(stack, fields, "dup-1")
    assert first.status_code == second.status_code == 200
    a, b = first.json()["events"][0], second.json()["events"][0]
    assert a["id"] == b["id"]
    assert (a["partition"], a["offset"]) != (b["partition"], b["offset"])  # the broker holds it twice
    unique = post(stack, {"full_name": "Đỗ Minh Tâm", "phone": "0903 111 222"}, "other-1")
    assert unique.status_code == 200
    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 2) == 2
    time.sleep(1.0)  # give a wrongly duplicated row time to appear
    with psycopg.connect(stack.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM interactions WHERE event_id = 'webform:lien-he:dup-1'"
                            ).fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM interactions").fetchone() == (2,)


def test_bad_signature_is_401_and_nothing_reaches_the_topic(server: Settings) -> None:
    stack = server
    forged = post(stack, {"full_name": "Kẻ Giả Mạo", "phone": "0912345678"}, "forged-1", secret="wrong")
    assert forged.status_code == 401
    body, ctype = encode_submission({"phone": "0912345678"}, "nosig", True)
    unsigned = httpx.post(f"http://{stack.http_host}:{stack.http_port}/webhooks/webform/{FORM}", content=body,
                          headers={"Content-Type": ctype})
    assert unsigned.status_code == 401
    assert post(stack, {"phone": "0912345678"}, "x", form="unknown-form").status_code == 404
    assert read_topic(stack, stack.topic("raw.webform"), timeout=2) == []


def test_malformed_body_is_400_naming_the_field_and_oversized_is_413(server: Settings) -> None:
    stack = server
    bad = post(stack, {"full_name": "Lê An", "phone": "0912345678", "submitted_at": "hôm qua"}, "bad-1")
    assert bad.status_code == 400
    assert bad.json() == {"error": "MalformedPayload", "field": "submitted_at",
                          "reason": "not an ISO 8601 timestamp: 'hôm qua'"}
    huge = post(stack, {"full_name": "Lê An", "message": "x" * (stack.max_body_bytes + 10)}, "big-1")
    assert huge.status_code == 413
    assert read_topic(stack, stack.topic("raw.webform"), timeout=2) == []


def test_record_that_fails_normalisation_goes_to_dlq_with_its_offset_and_the_stream_goes_on(stack: Settings) -> None:
    poison = post(stack, {"phone": "0123456789"}, "placeholder-1")  # a keyboard-sequence placeholder
    good = post(stack, {"full_name": "Võ Thị Sáu", "phone": "0905 123 456"}, "good-1")
    assert poison.status_code == good.status_code == 200
    assert wait_rows(stack.database_url, "SELECT count(*) FROM interactions", 1) == 1
    topics = Topics.from_settings(stack)
    letters = read_topic(stack, topics.dlq_normalise, done=lambda m: len(m) >= 1)
    assert len(letters) == 1
    letter = json.loads(letters[0][1])
    assert letter["stage"] == "normalise" and letter["field"] == "phone" and letter["reason"] == "placeholder"
    sent = poison.json()["events"][0]
    assert (letter["topic"], letter["partition"], letter["offset"]) == (sent["topic"], sent["partition"], sent["offset"])
    assert json.loads(letter["value"])["id"] == "webform:lien-he:placeholder-1"


def test_broker_unreachable_answers_503_and_acknowledges_nothing(isolated_settings: Settings) -> None:
    from hopnhat.embedded import free_port

    dead = isolated_settings.with_secret("webform", FORM, SECRET).model_copy(
        update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    with running_stack(dead, workers=0):
        response = post(dead, {"full_name": "Bùi Văn Nam", "phone": "0912345678"}, "down-1")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"] == "BrokerUnavailable"
