"""The web console's pages over data the sink stored, on real PostgreSQL (HTML read back, no browser).

The browser test (test_console_browser.py) drives the same pages in Chromium on a full stack; here each
behaviour is checked quickly: search by every kind of identifier, escaping, redirects, health states.
"""

import asyncio
import html
import json
import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from hopnhat.access import create_key
from hopnhat.http.app import create_app
from schema.events import CanonicalEvent, Identifier, IdentifierType, Interaction, NormalisedText
from streams.postgres_sink import PostgresSink

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
ZALO = "579745863508352884:8448021542710133051"


def ev(eid: str, minute: int, channel: str, kind: str, *, phone: str | None = None, email: str | None = None,
       zalo: str | None = None, amount: int | None = None, summary: str | None = None,
       name: str = "Nguyễn Thị Thu Hà") -> CanonicalEvent:
    idents = [Identifier(type=t, value=v, raw=v) for t, v in
              ((IdentifierType.phone, phone), (IdentifierType.email, email), (IdentifierType.zalo, zalo)) if v]
    return CanonicalEvent(event_id=eid, channel=channel, source=f"{channel}:shop", source_record_id=eid,
                          occurred_at=T0 + timedelta(minutes=minute), received_at=T0, identifiers=idents,
                          name=NormalisedText(raw=name, value=name),
                          interaction=Interaction(kind=kind, summary=summary, amount_vnd=amount))


@pytest.fixture
def client(services, database_factory):
    url = database_factory()

    async def load() -> None:
        sink = await PostgresSink.connect(url)
        await sink.apply([ev("z1", 1, "zalo", "message", zalo=ZALO, summary="Shop ơi áo dài cưới còn size M không?")])
        await sink.apply([ev("f1", 2, "webform", "form_submission", email="thuha.nguyen@gmail.com",
                             summary="<script>alert('xss')</script> tư vấn giúp em")])
        await sink.apply([ev("o1", 3, "kiotviet", "order", phone="+84912345678", email="thuha.nguyen@gmail.com",
                             zalo=ZALO, amount=1_250_000, summary="Hóa đơn HD000412")])
        await sink.apply([ev("c1", 4, "callcenter", "call", phone="+84912345678", summary="Cuộc gọi đến, 1:47")])
        await sink.apply([ev("x1", 5, "webform", "form_submission", phone="+84903111222", name="Trần Văn Bình")])
        await sink.close()

    asyncio.run(load())
    settings = services.model_copy(update={"database_url": url})
    key = create_key(database_url=url, role="agent", name="console tests").key
    with TestClient(create_app(settings)) as c:
        c.cookies.set("hopnhat_key", key)  # what signing in on /console/login leaves in the browser
        c.database_url = url  # type: ignore[attr-defined]
        yield c


def text(body: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces squeezed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def customer_links(body: str) -> list[str]:
    return re.findall(r'class="customer-link" href="([^"]+)"', body)


@pytest.mark.parametrize("query", ["0912.345.678", "+84 912 345 678", "THUHA.Nguyen@gmail.com",
                                   "8448021542710133051", "thu ha", "Thu Hà"],
                         ids=["local-phone", "intl-phone", "email-case", "zalo-user-id", "name-no-diacritics",
                              "name-diacritics"])
def test_search_by_any_identifier_or_name_finds_the_one_customer(client, query) -> None:
    r = client.get("/console", params={"q": query})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert len(customer_links(r.text)) == 1, text(r.text)
    assert "Nguyễn Thị Thu Hà" in r.text
    assert "Trần Văn Bình" not in r.text


def test_search_reports_nothing_found_and_bad_input(client) -> None:
    miss = client.get("/console", params={"q": "0987 000 111"})
    assert miss.status_code == 200 and customer_links(miss.text) == []
    assert "Không tìm thấy" in miss.text
    short = client.get("/console", params={"q": "a"})
    assert short.status_code == 400 and "ít nhất 2 ký tự" in short.text
    no_letters = client.get("/console", params={"q": "?!"})  # the name search finds nothing to look for
    assert no_letters.status_code == 400 and 'class="error" role="alert">name: no letters' in no_letters.text
    start = client.get("/console")
    assert start.status_code == 200 and '<html lang="vi">' in start.text and '<meta charset="utf-8">' in start.text


def test_customer_page_shows_sources_timeline_amounts_and_why_merged(client) -> None:
    search = client.get("/console", params={"q": "0912345678"})
    page = client.get(customer_links(search.text)[0])
    assert page.status_code == 200
    body, visible = page.text, text(page.text)
    assert "<h1 class=\"customer-name\">Nguyễn Thị Thu Hà</h1>" in body
    # Golden record values with their sources and first-seen times in Hà Nội time (UTC+7).
    assert re.search(r"\+84912345678 callcenter:shop kiotviet:shop 20/11/2026 09:03 20/11/2026 09:04", visible), visible
    assert "thuha.nguyen@gmail.com" in visible and "zalo " + ZALO in visible
    # Timeline: newest first, every channel, VND grouped with dots.
    order = [m for m in re.findall(r'<li class="event ch-([a-z]+)"', body)]
    assert order == ["callcenter", "kiotviet", "webform", "zalo"]
    assert "1.250.000\u00a0₫" in body
    assert "Shop ơi áo dài cưới còn size M không?" in body
    assert "<script>alert" not in body and "&lt;script&gt;alert(" in body  # escaped, never executed
    # Why merged: the order carried both the Zalo id of the chat and the email of the form.
    assert visible.count("trùng định danh (shared identifier) ·") == 1
    assert re.search(r"vì sự kiện o1 mang cả zalo:\S+ \(đã thuộc hồ sơ giữ lại\) và email:thuha.nguyen@gmail.com", visible)


def test_why_merged_shows_the_bulk_engines_probability_and_field_comparisons(client) -> None:
    evidence = {"engine": "bulk", "left_record": "webform:shop|f1", "right_record": "zalo:shop|z1",
                "rule": "probabilistic", "match_weight": 14.72, "probability": 0.99987,
                "fields": {"name": {"level": 3, "meaning": "exact after folding", "weight": 6.41},
                           "birth_date": {"level": 0, "meaning": "both missing", "weight": 0.0}}}
    with psycopg.connect(client.database_url, autocommit=True) as conn:
        conn.execute("UPDATE match_evidence SET rule = 'probabilistic', details = %s", (json.dumps(evidence),))
        conn.execute("UPDATE merges SET reason = 'probabilistic'")
    page = client.get(customer_links(client.get("/console", params={"q": "0912345678"}).text)[0])
    visible = text(page.text)
    assert "vì bản ghi webform:shop|f1 và zalo:shop|z1 khớp nhau (xác suất 99,99% , trọng số 14,7)" in visible
    assert "name exact after folding 6,4" in visible and "birth_date both missing 0" in visible


def test_absorbed_id_redirects_to_the_survivor_and_unknown_ids_are_404(client) -> None:
    live = customer_links(client.get("/console", params={"q": "0912345678"}).text)[0]
    explain = client.get("/v1/customers/" + live.rsplit("/", 1)[1] + "/explain").json()
    absorbed = explain["merges"][0]["absorbed"]
    r = client.get(f"/console/customers/{absorbed}", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].startswith(live)
    followed = client.get(f"/console/customers/{absorbed}")
    assert followed.status_code == 200 and f"Hồ sơ {absorbed} đã được gộp" in followed.text
    assert client.get(f"/console/customers/{'0' * 8}-0000-0000-0000-{'0' * 12}").status_code == 404
    assert client.get("/console/customers/not-a-uuid").status_code == 400


def test_health_page_says_why_when_it_cannot_read_the_status(client, services) -> None:
    # The fixture's key is an agent's: customer data yes, the ops permission of GET /v1/status no.
    denied = client.get("/console/health")
    assert denied.status_code == 200 and 'class="status-badge unknown"' in denied.text
    assert "lacks the ops permission" in denied.text
    with TestClient(app_serving_status(services, JSONResponse({"detail": "Not Found"}, status_code=404))) as c:
        missing = c.get("/console/health")
    assert "status endpoint unavailable" in missing.text and 'class="status-badge unknown"' in missing.text


def app_serving_status(services, answer: object) -> FastAPI:
    """The real app (keys off, no database) with a stand-in /v1/status answering `answer`, exactly."""
    app = create_app(services.model_copy(update={"database_url": None, "api_auth": "off"}))
    stand_in = APIRouter()
    stand_in.add_api_route("/v1/status", lambda: answer)
    app.router.routes.insert(0, stand_in.routes[0])  # ahead of the real /v1/status
    return app


def test_health_page_renders_every_figure_of_the_status_body(services) -> None:
    status = {
        "healthy": False, "problems": ["dlq.normalise has 3 records"], "warnings": ["zalo quality flagged"],
        "generated_at": "2026-11-22T16:05:00+00:00",
        "lag": [{"group": "hopnhat", "topic": "events.canonical", "partition": 0, "committed": 12000, "end": 12345,
                 "lag": 345},
                {"group": "hopnhat", "topic": "events.canonical", "partition": 1, "committed": 1000, "end": 1000,
                 "lag": 0},
                {"group": "hopnhat", "topic": "raw.haravan", "partition": 0, "committed": None, "end": 0, "lag": 0}],
        "rates": [{"stage": "normalise", "channel": "zalo", "events_per_s": 3.5, "capped": True}],
        "dlq": [{"topic": "dlq.normalise", "depth": 3, "recent": 2, "recent_by_reason": {"phone": 2}},
                {"topic": "dlq.resolve", "depth": 0, "recent": 0, "recent_by_reason": {}}],
        "database": {"size_bytes": 25 * 1024 * 1024, "customers": 1234, "interactions": 56789},
        "last_event": [{"channel": "kiotviet", "at": "2026-11-22T16:04:00+00:00"}],
        "quality": [{"source": "webform:lien-he", "field": "phone", "criterion": "completeness", "score": 0.795,
                     "flagged": True}],
    }
    with TestClient(app_serving_status(services, status)) as c:
        body = c.get("/console/health").text
        visible = text(body)
    assert "Có vấn đề unhealthy" in visible and "dlq.normalise has 3 records" in visible
    assert "Cập nhật lúc 22/11/2026 23:05" in visible
    assert "1.234 khách hàng" in visible and "56.789 tương tác" in visible and "25 MB" in visible
    assert "hopnhat events.canonical 2 13.000 13.345 345" in visible  # partitions summed per topic
    assert "Chưa có dữ liệu no data yet : raw.haravan" in visible
    assert "normalise Zalo OA 3,5" in visible and "KiotViet 22/11/2026 23:04" in visible
    assert "webform:lien-he phone completeness 79,5%" in visible
    assert "zalo quality flagged" in visible and "dlq.normalise 3 2 phone: 2" in visible and "3,5 (≥, capped)" in visible
    assert body.count('<tr class="behind">') == 3  # the lagging partition, the non-empty DLQ, the flagged score


def test_signing_in_with_a_key_and_masking_for_roles_without_pii(client) -> None:
    url = client.database_url
    client.cookies.clear()
    bounced = client.get("/console", params={"q": "0912345678"}, follow_redirects=False)
    assert bounced.status_code == 303
    assert bounced.headers["location"] == "/console/login?next=/console%3Fq%3D0912345678"
    wrong = client.post("/console/login", data={"key": "hn_" + "x" * 52, "next": "/console"})
    assert wrong.status_code == 401 and "unknown API key" in wrong.text and "hopnhat_key" not in client.cookies
    analyst = create_key(database_url=url, role="analyst", name="BI").key
    offsite = client.post("/console/login", data={"key": analyst, "next": "//evil.example/x"}, follow_redirects=False)
    assert offsite.status_code == 303 and offsite.headers["location"] == "/console"  # no open redirect
    assert "httponly" in offsite.headers["set-cookie"].lower() and "samesite=strict" in offsite.headers["set-cookie"].lower()
    found = client.get("/console", params={"q": "0912345678"})
    page = client.get(customer_links(found.text)[0])
    assert page.status_code == 200 and "Nguyễn Thị Thu Hà" in page.text
    assert "+84 91* *** 678" in page.text and "t***@gmail.com" in page.text
    assert "+84912345678" not in page.text and "thuha.nguyen@gmail.com" not in page.text
    by_zalo_id = client.get("/console", params={"q": ZALO.split(":")[1]})
    assert len(customer_links(by_zalo_id.text)) == 1 and "+84 91* *** 678" in by_zalo_id.text
    assert "+84912345678" not in by_zalo_id.text and "thuha.nguyen@gmail.com" not in by_zalo_id.text
    out = client.get("/console/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    client.cookies.clear()
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert client.get("/console/static/console.css").status_code == 200  # the sign-in page's stylesheet


def test_long_timelines_page_to_older_events_and_back(services, database_factory) -> None:
    url = database_factory()

    async def load() -> None:
        sink = await PostgresSink.connect(url)
        await sink.apply([ev(f"call{i:02d}", i, "callcenter", "call", phone="+84988777666",
                             summary=f"Cuộc gọi số {i}", name="Lê Văn Tám") for i in range(53)])
        await sink.close()

    asyncio.run(load())
    with TestClient(create_app(services.model_copy(update={"database_url": url}))) as c:
        c.cookies.set("hopnhat_key", create_key(database_url=url, role="agent", name="pager").key)
        first = c.get(customer_links(c.get("/console", params={"q": "0988 777 666"}).text)[0])
        summaries = re.findall(r'<p class="summary">([^<]+)</p>', first.text)
        assert len(summaries) == 50 and summaries[0] == "Cuộc gọi số 52" and summaries[-1] == "Cuộc gọi số 3"
        older = re.search(r'<a class="older" href="([^"]+)"', first.text)
        assert older
        second = c.get(html.unescape(older.group(1)))
        assert re.findall(r'<p class="summary">([^<]+)</p>', second.text) == [
            "Cuộc gọi số 2", "Cuộc gọi số 1", "Cuộc gọi số 0"]
        assert 'class="older"' not in second.text and "Mới nhất" in second.text
