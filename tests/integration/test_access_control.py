"""Access control on the profile API, on real PostgreSQL: keys, roles, masking and the audit log.

Every role is exercised on every read route; webhooks stay signature-only.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from hopnhat.access import ROLE_PERMISSIONS, Permission, Role, create_key, key_hash, list_keys, revoke_key
from hopnhat.cli.main import cli
from hopnhat.http.app import create_app
from hopnhat.webform_client import encode_submission, signed_headers
from schema.events import CanonicalEvent, Identifier, IdentifierType, Interaction, NormalisedText
from streams.postgres_sink import PostgresSink
from streams.topics import ensure_topics

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
PHONE, EMAIL = "+84912345678", "thao.dang@gmail.com"


def _event(eid: str, minute: int, idents: list[Identifier], payload: dict) -> CanonicalEvent:
    return CanonicalEvent(event_id=eid, channel="webform", source="webform:lien-he", source_record_id=eid,
                          occurred_at=T0 + timedelta(minutes=minute), received_at=T0, identifiers=idents,
                          name=NormalisedText(raw="Đặng Thu Thảo", value="Đặng Thu Thảo"),
                          interaction=Interaction(kind="form_submission", summary=f"Gọi lại 0912.345.678 ({eid})",
                                                  payload=payload))


@pytest.fixture
def store(services, database_factory):
    url = database_factory()
    phone = Identifier(type=IdentifierType.phone, value=PHONE, raw="0912.345.678")
    email = Identifier(type=IdentifierType.email, value=EMAIL, raw="Thao.Dang@gmail.com")

    async def load() -> None:
        sink = await PostgresSink.connect(url)
        await sink.apply([_event("a1", 1, [phone], {"so_dien_thoai": "0912.345.678", "ghi_chu": "giao giờ hành chính"})])
        await sink.apply([_event("a2", 2, [email], {"email": "Thao.Dang@gmail.com"})])
        await sink.apply([_event("a3", 3, [phone, email], {"dia_chi": "5 Trần Phú, Hà Đông, Hà Nội"})])
        await sink.close()

    asyncio.run(load())
    return services.model_copy(update={"database_url": url})


def _audit(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT key_id, role, action, customer_id::text, query, fields FROM audit_log ORDER BY id"
                            ).fetchall()


def _read_everything(client: TestClient, headers: dict[str, str]) -> dict[str, dict]:
    found = client.get("/v1/customers/lookup", params={"type": "phone", "value": "0912 345 678"}, headers=headers)
    assert found.status_code == 200, found.text
    cid = found.json()["customer_id"]
    out = {"lookup": found.json()}
    for name, path, params in (("profile", f"/v1/customers/{cid}", {}),
                               ("timeline", f"/v1/customers/{cid}/timeline", {}),
                               ("explain", f"/v1/customers/{cid}/explain", {}),
                               ("search", "/v1/customers/search", {"name": "dang thu thao"})):
        r = client.get(path, params=params, headers=headers)
        assert r.status_code == 200, (name, r.text)
        out[name] = r.json()
    return out


def _all_text(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_role_reads_and_only_pii_roles_see_and_are_audited(store, role: Role) -> None:
    url = store.database_url
    new = create_key(database_url=url, role=role.value, name=f"test {role.value}")
    with TestClient(create_app(store)) as client:
        bodies = _read_everything(client, {"Authorization": f"Bearer {new.key}"})
    text = _all_text(bodies)
    audit = _audit(url)
    if Permission.pii in ROLE_PERMISSIONS[role]:
        assert bodies["lookup"]["profile"]["phones"][0]["value"] == PHONE
        assert EMAIL in text and "5 Trần Phú" in text and "0912.345.678" in text
        cid = bodies["lookup"]["customer_id"]
        assert {row[2] for row in audit} == {"read_pii"}
        assert {row[0] for row in audit} == {new.key_id} and {row[1] for row in audit} == {role.value}
        assert [row[4]["route"] for row in audit] == ["lookup", "profile", "timeline", "explain", "search"]
        assert {row[3] for row in audit} == {cid}
        lookup_row = audit[0]
        assert lookup_row[4]["identifier"] == "phone:+84 91* *** 678"  # the audit log holds no raw PII
        assert "phones" in lookup_row[5] and "emails" in lookup_row[5]
    else:
        assert bodies["lookup"]["profile"]["phones"][0]["value"] == "+84 91* *** 678"
        assert bodies["lookup"]["profile"]["emails"][0]["value"] == "t***@gmail.com"
        assert bodies["lookup"]["profile"]["full_name"] == "Đặng Thu Thảo"
        assert bodies["search"]["hits"][0]["phones"] == ["+84 91* *** 678"]
        for raw in (PHONE, "912345678", "0912.345.678", "thao.dang@", "Thao.Dang@", "5 Trần Phú"):
            assert raw not in text, raw
        items = {i["event_id"]: i for i in bodies["timeline"]["items"]}
        assert items["a1"]["payload"] == {"so_dien_thoai": "091* *** 678", "ghi_chu": "giao giờ hành chính"}
        assert items["a1"]["summary"] == "Gọi lại 091* *** 678 (a1)"
        assert audit == []


def test_missing_unknown_revoked_and_malformed_keys_are_401(store) -> None:
    url = store.database_url
    live = create_key(database_url=url, role="analyst", name="dashboard")
    with TestClient(create_app(store)) as client:
        path = "/v1/customers/search"
        params = {"name": "thao"}
        missing = client.get(path, params=params)
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.json()["error"] == "AccessDenied"
        assert client.get(path, params=params, headers={"X-API-Key": "hn_" + "a" * 52}).status_code == 401
        assert client.get(path, params=params, headers={"Authorization": "Bearer secret"}).status_code == 401
        assert client.get(path, params=params, headers={"X-API-Key": live.key}).status_code == 200
        client.cookies.set("hopnhat_key", live.key)
        assert client.get(path, params=params).status_code == 200  # the console's cookie
        client.cookies.clear()
        assert revoke_key(database_url=url, key_id=live.key_id)
        assert not revoke_key(database_url=url, key_id=live.key_id)
    with TestClient(create_app(store)) as client:  # a fresh process: no cached key row
        revoked = client.get(path, params=params, headers={"X-API-Key": live.key})
        assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_keys_are_stored_hashed_and_the_cli_manages_them(store) -> None:
    url = store.database_url
    env = {"HOPNHAT_DATABASE_URL": url}
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "create", "--role", "agent", "--name", "Tổng đài CSKH", "--json"], env=env)
    assert made.exit_code == 0, made.output
    new = json.loads(made.output)
    assert new["key"].startswith("hn_") and new["role"] == "agent"
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT id, key_hash, name FROM api_keys").fetchone()
        everything = json.dumps(conn.execute("SELECT to_jsonb(k) FROM api_keys k").fetchall())
    assert stored == (new["key_id"], key_hash(new["key"]), "Tổng đài CSKH")
    assert new["key"] not in everything
    listed = runner.invoke(cli, ["keys", "list", "--json"], env=env)
    assert [(k["key_id"], k["revoked_at"]) for k in json.loads(listed.output)] == [(new["key_id"], None)]
    assert runner.invoke(cli, ["keys", "revoke", new["key_id"]], env=env).exit_code == 0
    assert list_keys(database_url=url)[0].revoked_at is not None
    assert runner.invoke(cli, ["keys", "revoke", "nope"], env=env).exit_code == 1
    assert runner.invoke(cli, ["keys", "create", "--role", "boss", "--name", "x"], env=env).exit_code == 2


def test_auth_off_opens_the_api_and_webhooks_never_take_a_key(store, topic_prefix) -> None:
    s = store.model_copy(update={"topic_prefix": topic_prefix}).with_secret("webform", "lien-he", "bi-mat")
    ensure_topics(s)
    body, ctype = encode_submission({"full_name": "Lê Văn Tám", "phone": "0903 111 222"}, "w-1", True)
    with TestClient(create_app(s)) as client:
        assert client.post("/webhooks/webform/lien-he", content=body, headers=signed_headers("bi-mat", body, ctype)
                           ).status_code == 200
        forged = client.post("/webhooks/webform/lien-he", content=body, headers=signed_headers("sai", body, ctype))
        assert forged.status_code == 401 and forged.json()["error"] == "InvalidSignature"
        key = create_key(database_url=s.database_url, role="admin", name="x").key
        keyed_forgery = client.post("/webhooks/webform/lien-he", content=body,
                                    headers={**signed_headers("sai", body, ctype), "X-API-Key": key})
        assert keyed_forgery.status_code == 401  # an API key is no substitute for the source's signature
        assert client.get("/v1/customers/search", params={"name": "thao"}).status_code == 401
    with TestClient(create_app(s.model_copy(update={"api_auth": "off"}))) as client:
        r = client.get("/v1/customers/lookup", params={"type": "email", "value": EMAIL})
        assert r.status_code == 200 and r.json()["profile"]["emails"][0]["value"] == EMAIL
    assert [(row[0], row[1]) for row in _audit(s.database_url)] == [(None, "admin")]
