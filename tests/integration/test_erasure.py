"""Erasure on the real broker and PostgreSQL: a person's PII leaves every table, a tombstone reaches
customers.profiles, and neither a full replay nor new events bring them back until fresh consent."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import psycopg
import pytest
from kafka import KafkaConsumer

from hopnhat.access import create_key
from hopnhat.processes import running_stack, settings_env
from hopnhat.replay import replay
from hopnhat.settings import Settings
from hopnhat.webform_client import encode_submission, signed_headers
from streams.topics import Topics, ensure_topics

pytestmark = pytest.mark.integration
FORM, SECRET = "lien-he", "xoa-du-lieu"
LAN = [{"full_name": "Nguyễn Thị Lan", "phone": "0912.345.678", "address": "12 Lê Lợi, Quận 1, TP.HCM",
        "message": "Gọi em qua 0912 345 678 nhé"},
       {"full_name": "Nguyen Thi Lan", "phone": "+84 912 345 678", "email": "Lan.Nguyen@gmail.com"}]
BINH = {"full_name": "Trần Văn Bình", "phone": "0903 217 654", "email": "binh.tran@yahoo.com.vn"}
RAW_LAN = ("+84912345678", "912345678", "912 345 678", "lan.nguyen@gmail.com", "Lan.Nguyen", "Lê Lợi")


def post(s: Settings, fields: dict, sid: str) -> None:
    body, ctype = encode_submission(fields, sid, True)
    r = httpx.post(f"http://{s.http_host}:{s.http_port}/webhooks/webform/{FORM}", content=body,
                   headers=signed_headers(SECRET, body, ctype), timeout=10)
    assert r.status_code == 200, r.text


def hopnhat(s: Settings, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **settings_env(s)}
    if key:
        env["HOPNHAT_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "hopnhat.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def store_text(url: str) -> str:
    """Every row of every table, as text: where a leftover phone or email would show."""
    with psycopg.connect(url) as conn:
        names = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return "\n".join(str(r[0]) for n in names for r in conn.execute(f'SELECT t::text FROM "{n}" t'))


def phone_owner(url: str, value: str = "+84912345678") -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT customer_id FROM identifiers WHERE type = 'phone' AND value = %s", (value,)).fetchone()
    return row[0] if row else None


def suppressions(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM suppressions").fetchone()[0]


def test_erase_removes_the_person_everywhere_and_keeps_them_out(isolated_settings, database_factory) -> None:
    s = isolated_settings.with_secret("webform", FORM, SECRET).model_copy(update={"resolve_linger_s": 0.05})
    ensure_topics(s)
    with running_stack(s, workers=0):
        post(s, LAN[0], "lan-1")
        post(s, LAN[1], "lan-2")
        post(s, BINH, "binh-1")
    assert replay(settings=s).stored == 3  # the store, built from the raw topics by the pipeline's own code
    lan = phone_owner(s.database_url)
    assert lan is not None and all(raw in store_text(s.database_url) for raw in ("+84912345678", "Lê Lợi"))

    analyst = create_key(database_url=s.database_url, role="analyst", name="BI").key
    refused = hopnhat(s, "erase", "--identifier", "phone:0912345678", "--yes", key=analyst)
    assert refused.returncode == 6 and "admin" in refused.stderr
    admin = create_key(database_url=s.database_url, role="admin", name="DPO").key
    done = hopnhat(s, "erase", "--identifier", "phone:0912.345.678", "--yes", "--json", key=admin)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["customer_id"] == str(lan) and report["identifiers"] == 2 and report["interactions"] == 2
    assert report["tombstones_published"] is True

    text = store_text(s.database_url)
    for raw in RAW_LAN:
        assert raw not in text, raw
    assert "Nguyễn Thị Lan" not in text and "Nguyen Thi Lan" not in text
    assert "+84903217654" in text and "Trần Văn Bình" in text  # Bình is untouched
    assert suppressions(s.database_url) == 2
    with psycopg.connect(s.database_url) as conn:
        profile = conn.execute("SELECT profile FROM customers WHERE id = %s", (lan,)).fetchone()[0]
        audit = conn.execute("SELECT action, query->>'identifier' FROM audit_log WHERE action = 'erase'").fetchall()
    assert profile["phones"] == [] and profile["names"] == [] and profile["full_name"] is None
    assert profile["interactions"] == 2
    assert audit == [("erase", "phone:+84 91* *** 678")]
    again = hopnhat(s, "erase", "--identifier", "email:lan.nguyen@gmail.com", "--yes", key=admin)
    assert again.returncode == 1 and "no customer holds email:l***@gmail.com" in again.stderr

    consumer = KafkaConsumer(Topics.from_settings(s).profiles, bootstrap_servers=s.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    tombstones = [m.key.decode() for m in consumer if m.value is None]
    consumer.close()
    assert str(lan) in tombstones

    # A full replay into the same store: Lan's raw records are dropped by the suppression list.
    again_replay = replay(settings=s, force=True)
    assert again_replay.suppressed == 2 and phone_owner(s.database_url) is None
    # ... and into a new database that was given the suppression list first.
    fresh = s.model_copy(update={"database_url": database_factory()})
    with psycopg.connect(s.database_url) as src, psycopg.connect(fresh.database_url) as dst:
        dst.execute("INSERT INTO erasure_salt SELECT * FROM json_populate_recordset(null::erasure_salt, %s::json)",
                    (json.dumps([{"id": r[0], "salt": r[1]} for r in src.execute("SELECT id, salt FROM erasure_salt")]),))
        dst.cursor().executemany("INSERT INTO suppressions (hash) VALUES (%s)",
                                 src.execute("SELECT hash FROM suppressions").fetchall())
    rebuilt = replay(settings=fresh)
    assert (rebuilt.stored, rebuilt.suppressed) == (1, 2)
    assert phone_owner(fresh.database_url) is None and phone_owner(fresh.database_url, "+84903217654")

    # New events through a running worker: without consent Lan stays out, with fresh consent she is back.
    live = s.model_copy(update={"app_id": s.app_id + "-after"})
    with running_stack(live, workers=1):
        post(live, {"full_name": "Nguyễn Thị Lan", "phone": "0912345678", "message": "Shop còn áo không?"}, "lan-3")
        post(live, {"full_name": "Trần Văn Bình", "phone": "0903217654", "message": "Đơn của tôi đâu?"}, "binh-2")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with psycopg.connect(s.database_url) as conn:
                if conn.execute("SELECT 1 FROM interactions WHERE event_id LIKE %s", ("%binh-2%",)).fetchone():
                    break
            time.sleep(0.2)
        time.sleep(1.0)  # the same batch or the one before carried lan-3
        assert phone_owner(s.database_url) is None
        post(live, {"full_name": "Nguyễn Thị Lan", "phone": "0912345678", "consent_marketing": "1"}, "lan-4")
        deadline = time.monotonic() + 60
        while phone_owner(s.database_url) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        back = phone_owner(s.database_url)
        assert back is not None
        with psycopg.connect(s.database_url) as conn:
            consents = conn.execute("SELECT profile->'consents' FROM customers WHERE id = %s", (back,)).fetchone()[0]
        assert [(c["channel"], c["purpose"], c["granted"]) for c in consents] == [("webform", "marketing", True)]
        deadline = time.monotonic() + 30
        while suppressions(s.database_url) != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert suppressions(s.database_url) == 1  # the phone left the list; the email (not seen again) stays


def test_erasure_over_the_api_needs_an_admin_key(services, database_factory, topic_prefix) -> None:
    import asyncio
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from hopnhat.http.app import create_app
    from schema.events import CanonicalEvent, Identifier, IdentifierType, Interaction, NormalisedText
    from streams.postgres_sink import PostgresSink

    s = services.model_copy(update={"database_url": database_factory(), "topic_prefix": topic_prefix})
    ensure_topics(s)
    t0 = datetime(2026, 11, 20, tzinfo=UTC)

    async def load() -> None:
        sink = await PostgresSink.connect(s.database_url)
        await sink.apply([CanonicalEvent(
            event_id="z1", channel="zalo", source="zalo:oa", source_record_id="z1", occurred_at=t0, received_at=t0,
            identifiers=[Identifier(type=IdentifierType.zalo, value="579745863508352884:8448021542710133051",
                                    raw="8448021542710133051"),
                         Identifier(type=IdentifierType.phone, value="+84988123456", raw="0988123456")],
            name=NormalisedText(raw="Phạm Minh Khôi", value="Phạm Minh Khôi"),
            interaction=Interaction(kind="message", summary="Em là Khôi, sđt 0988 123 456"))])
        await sink.close()

    asyncio.run(load())
    analyst = create_key(database_url=s.database_url, role="analyst", name="BI").key
    admin = create_key(database_url=s.database_url, role="admin", name="DPO").key
    body = {"identifier": "zalo:579745863508352884:8448021542710133051"}
    with TestClient(create_app(s)) as client:
        assert client.post("/v1/erasures", json=body).status_code == 401
        assert client.post("/v1/erasures", json=body, headers={"X-API-Key": analyst}).status_code == 403
        done = client.post("/v1/erasures", json=body, headers={"X-API-Key": admin})
        assert done.status_code == 200 and done.json()["identifiers"] == 2, done.text
        gone = client.get("/v1/customers/lookup", params={"type": "phone", "value": "0988123456"},
                          headers={"X-API-Key": admin})
        assert gone.status_code == 404
        assert client.post("/v1/erasures", json=body, headers={"X-API-Key": admin}).status_code == 404
    leftovers = [line for line in store_text(s.database_url).splitlines()
                 if "988123456" in line or "8448021542710133051" in line or "0988" in line]
    assert leftovers == []
