"""The profile API and the BI views over data the sink stored, on real PostgreSQL."""

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from hopnhat.access import create_key
from hopnhat.http.app import create_app
from schema.events import CanonicalEvent, Identifier, IdentifierType, Interaction, NormalisedText
from streams.postgres_sink import PostgresSink

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def ev(eid: str, minute: int, phone: str | None = None, email: str | None = None, amount: int | None = None,
       channel: str = "webform") -> CanonicalEvent:
    idents = []
    if phone:
        idents.append(Identifier(type=IdentifierType.phone, value=phone, raw=phone))
    if email:
        idents.append(Identifier(type=IdentifierType.email, value=email, raw=email))
    return CanonicalEvent(event_id=eid, channel=channel, source=f"{channel}:x", source_record_id=eid,
                          occurred_at=T0 + timedelta(minutes=minute), received_at=T0, identifiers=idents,
                          name=NormalisedText(raw="Đặng Thu Thảo", value="Đặng Thu Thảo"),
                          interaction=Interaction(kind="order" if amount else "form_submission",
                                                  summary=f"sự kiện {eid}", amount_vnd=amount))


@pytest.fixture
def client(services, database_factory):
    url = database_factory()

    async def load() -> None:
        sink = await PostgresSink.connect(url)
        await sink.apply([ev("e1", 1, phone="+84912345678")])
        await sink.apply([ev("e2", 2, email="thao.dang@gmail.com")])
        await sink.apply([ev("e3", 3, phone="+84912345678", email="thao.dang@gmail.com", amount=1_250_000,
                             channel="pos")])
        await sink.apply([ev(f"m{i}", 10 + i, phone="+84912345678") for i in range(5)])
        await sink.close()

    asyncio.run(load())
    settings = services.model_copy(update={"database_url": url})
    key = create_key(database_url=url, role="engineer", name="profile API tests").key
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"}) as c:
        c.database_url = url  # type: ignore[attr-defined]
        yield c


def test_lookup_of_a_shared_family_email_names_the_other_person_who_uses_it(client) -> None:
    """Đặng Thu Thảo owns thao.dang@gmail.com; her brother writes from it later. The lookup answers with
    her profile and says the address is shared with his customer, instead of hiding him."""
    brother = ev("b1", 30, email="thao.dang@gmail.com").model_copy(
        update={"name": NormalisedText(raw="Đặng Văn Hùng", value="Đặng Văn Hùng")})

    async def write() -> None:
        sink = await PostgresSink.connect(client.database_url)
        await sink.apply([brother])
        await sink.close()

    asyncio.run(write())
    r = client.get("/v1/customers/lookup", params={"type": "email", "value": "thao.dang@gmail.com"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["profile"]["interactions"] == 8  # still hers
    with psycopg.connect(client.database_url) as conn:
        brother_id = str(conn.execute("SELECT customer_id FROM interactions WHERE event_id = 'b1'").fetchone()[0])
    assert body["shared_with"] == [brother_id] and brother_id != body["customer_id"]
    alone = client.get("/v1/customers/lookup", params={"type": "phone", "value": "0912345678"}).json()
    assert alone["shared_with"] == []


def test_lookup_by_phone_in_any_local_format_and_by_email(client) -> None:
    for value in ("0912.345.678", "+84 912 345 678", "84912345678", "912345678"):
        r = client.get("/v1/customers/lookup", params={"type": "phone", "value": value})
        assert r.status_code == 200, r.text
        assert r.json()["profile"]["interactions"] == 8
    by_email = client.get("/v1/customers/lookup", params={"type": "email", "value": "Thao.Dang@GMAIL.com"})
    assert by_email.status_code == 200
    assert by_email.json()["customer_id"] == r.json()["customer_id"]
    assert client.get("/v1/customers/lookup", params={"type": "phone", "value": "0903 111 222"}).status_code == 404
    assert client.get("/v1/customers/lookup", params={"type": "phone", "value": "không có"}).status_code == 400


def test_absorbed_id_redirects_to_the_survivor_and_explain_shows_the_evidence(client) -> None:
    with psycopg.connect(client.database_url) as conn:
        absorbed, survivor = conn.execute("SELECT absorbed_id, survivor_id FROM merges").fetchone()
    r = client.get(f"/v1/customers/{absorbed}")
    assert r.status_code == 200
    assert r.json()["requested_id"] == str(absorbed) and r.json()["customer_id"] == str(survivor)
    explain = client.get(f"/v1/customers/{absorbed}/explain").json()
    assert explain["customer_id"] == str(survivor)
    assert [m["evidence"]["event_id"] for m in explain["merges"]] == ["e3"]
    rules = {rec["source_record_id"]: rec["rule"] for rec in explain["records"]}
    assert rules["e1"] == "new_customer" and rules["m0"] == "shared_identifier"
    assert client.get(f"/v1/customers/{'0' * 8}-0000-0000-0000-{'0' * 12}").status_code == 404
    assert client.get("/v1/customers/not-a-uuid").status_code == 400


def test_timeline_pages_newest_first_across_channels(client) -> None:
    cid = client.get("/v1/customers/lookup", params={"type": "phone", "value": "0912345678"}).json()["customer_id"]
    seen, cursor = [], None
    while True:
        page = client.get(f"/v1/customers/{cid}/timeline", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["event_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["m4", "m3", "m2", "m1", "m0", "e3", "e2", "e1"]
    order = client.get(f"/v1/customers/{cid}/timeline").json()["items"][5]
    assert order["channel"] == "pos" and order["amount_vnd"] == 1_250_000


def test_bi_views_have_one_row_per_customer_and_per_interaction(client) -> None:
    with psycopg.connect(client.database_url) as conn:
        customers = conn.execute("SELECT full_name, first_phone, first_email, interactions, channels FROM bi_customers"
                                 ).fetchall()
        interactions = conn.execute("SELECT count(*), count(DISTINCT customer_id) FROM bi_interactions").fetchone()
    assert customers == [("Đặng Thu Thảo", "+84912345678", "thao.dang@gmail.com", 8, ["pos", "webform"])]
    assert interactions == (8, 1)


def test_openapi_spec_lists_the_profile_endpoints(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/customers/lookup", "/v1/customers/{customer_id}", "/v1/customers/{customer_id}/timeline",
            "/v1/customers/{customer_id}/explain"} <= set(paths)


def test_search_by_name_without_diacritics_and_by_province(services, database_factory) -> None:
    from resolver.normalise import canonical_event
    from schema.contact import RawContact

    url = database_factory()
    people = [("Nguyễn Thị Lan", "0912345671", "12 Lê Lợi, Q.1, TP.HCM"),
              ("Nguyễn Thị Lan", "0903217654", "5 Trần Phú, Hà Đông, Hà Nội"),
              ("Nguyễn Văn Lân", "0988123456", "Q. Bình Thạnh, Sài Gòn"),
              ("Trần Thị Lan Anh", "0933461278", None)]
    events = []
    for i, (name, phone, address) in enumerate(people):
        event = canonical_event(RawContact(channel="webform", source="webform:x", source_record_id=str(i),
                                           occurred_at=T0, received_at=T0, interaction_kind="form_submission",
                                           name=name, phones=[phone], address=address), f"s{i}")
        events.append(event)

    async def load() -> None:
        sink = await PostgresSink.connect(url)
        await sink.apply(events)
        await sink.close()

    asyncio.run(load())
    key = create_key(database_url=url, role="agent", name="search tests").key
    with TestClient(create_app(services.model_copy(update={"database_url": url})), headers={"X-API-Key": key}) as c:
        everyone = c.get("/v1/customers/search", params={"name": "nguyen thi lan"}).json()
        assert sorted(h["phones"][0] for h in everyone["hits"]) == ["+84903217654", "+84912345671"]
        in_hcm = c.get("/v1/customers/search", params={"name": "NGUYỄN THỊ LAN", "province": "Sài Gòn"}).json()
        assert [h["phones"][0] for h in in_hcm["hits"]] == ["+84912345671"]
        assert in_hcm["province_code"] == "79"
        # Whole words, diacritics ignored: "lan" also finds "Lân" (typed without diacritics, it could be).
        lan = c.get("/v1/customers/search", params={"name": "lan"}).json()
        assert len(lan["hits"]) == 4
        assert c.get("/v1/customers/search", params={"name": "la"}).json()["hits"] == []
        assert c.get("/v1/customers/search", params={"name": "lan", "province": "Gotham"}).status_code == 400
