"""The web console under /console: find a customer, read the golden record, timeline and merges, and
check stream health, in a browser, served by the same FastAPI app as the API.

Server-rendered Jinja2 (autoescaped) over the profile API's own functions (hopnhat/http/profiles.py),
so the console shows exactly what the API answers; no front-end build. Every page is in Vietnamese with
English hints; money is VND as "1.250.000 ₫", times are Asia/Ho_Chi_Minh. All routes sit on one router,
so an access-control dependency can be added in one place.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader

from hopnhat.http import profiles
from hopnhat.http.console_login import console_reader
from resolver.phone import normalise_phone
from schema.api import SearchHit
from schema.events import GoldenProfile, IdentifierType

router = APIRouter(prefix="/console", include_in_schema=False, dependencies=[Depends(console_reader)])
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TIMELINE_PAGE = 50

CHANNEL_LABELS = {
    "webform": "Biểu mẫu web", "zalo": "Zalo OA", "facebook": "Facebook", "email": "Email",
    "kiotviet": "KiotViet", "sapo": "Sapo", "haravan": "Haravan", "callcenter": "Tổng đài",
    "omicall": "OMICall", "caresoft": "CareSoft",
    "bulk": "Nhập tệp", "asterisk_cdr": "Tổng đài (CDR)", "pos_export": "POS (tệp)",
}
KIND_LABELS = {
    "form_submission": "Gửi biểu mẫu", "message": "Tin nhắn", "message_echo": "Tin nhắn đi",
    "contact_shared": "Chia sẻ liên hệ", "order": "Đơn hàng", "call": "Cuộc gọi", "email": "Thư",
    "customer_update": "Cập nhật khách hàng", "list_import": "Nhập danh sách", "comment": "Bình luận",
    "leadgen": "Khách tiềm năng", "lead": "Khách tiềm năng", "follow": "Quan tâm OA", "unfollow": "Bỏ quan tâm",
}
RULE_LABELS = {
    "new_customer": "hồ sơ mới (new customer)",
    "shared_identifier": "trùng định danh (shared identifier)",
    "same_source_record": "cùng bản ghi nguồn (same source record)",
}


def vnd(amount: int | None) -> str:
    """1250000 -> "1.250.000 ₫" (Vietnamese grouping with dots; a no-break space keeps the sign on the line)."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + "\u00a0₫"


def number(n: int | float | None) -> str:
    """Counts with Vietnamese grouping (12.345) and a decimal comma for rates (3,5)."""
    if n is None:
        return "–"
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.1f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{int(n):,}".replace(",", ".")


def percent(p: float | None) -> str:
    """0.99873 -> "99,87%" (a match probability; two decimals, as 99.9% and 99.99% differ a lot here)."""
    return "–" if p is None else f"{p * 100:.2f}".replace(".", ",") + "%"


def local_time(at: datetime | str | None) -> str:
    if at is None:
        return "–"
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def nbytes(n: int | None) -> str:
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{number(round(size, 1))} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("hopnhat.http", "console_assets/templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(vnd=vnd, number=number, percent=percent, local_time=local_time, nbytes=nbytes,
                       channel=lambda c: CHANNEL_LABELS.get(c, c), kind=lambda k: KIND_LABELS.get(k, k),
                       rule=lambda r: RULE_LABELS.get(r, r))
    return env


TEMPLATES = _environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    page = TEMPLATES.get_template(template).render(console=request.url_for("console_search").path, **context)
    return HTMLResponse(page, status_code=status_code)


def _hit(customer_id: str, profile: GoldenProfile) -> SearchHit:
    return SearchHit(customer_id=customer_id, full_name=profile.full_name, province_code=profile.province_code,
                     phones=[v.value for v in profile.phones], emails=[v.value for v in profile.emails],
                     last_seen=profile.last_seen)


async def _by_identifier(request: Request, kind: IdentifierType, value: str) -> list[SearchHit]:
    try:
        found = await profiles.lookup(request, type=kind, value=value)
    except HTTPException as exc:
        if exc.status_code == 404:
            return []
        raise
    return [_hit(found.customer_id, found.profile)]


async def _by_channel_id(request: Request, value: str) -> list[SearchHit]:
    """Any identifier equal to `value` or ending in ":value": a Zalo user id without its OA, a POS code."""
    pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    async with profiles.db_pool(request).connection() as conn:
        cur = await conn.execute(
            """SELECT DISTINCT coalesce(c.merged_into, c.id)
                 FROM identifiers i JOIN customers c ON c.id = i.customer_id
                WHERE i.value = %s OR i.value LIKE %s LIMIT 20""", (value, f"%:{pattern}"))
        ids = [row[0] for row in await cur.fetchall()]
    hits = []
    for cid in ids:  # through the API's own read: masked for roles without pii, and audited
        found = await profiles.get_profile(request, str(cid))
        hits.append(_hit(found.customer_id, found.profile))
    return hits


async def find_customers(request: Request, query: str) -> tuple[str, list[SearchHit]]:
    """(how the query was read, matching live customers): email, phone, channel id or name, in that order."""
    q = unicodedata.normalize("NFC", query).strip()
    if "@" in q:
        return "email", await _by_identifier(request, IdentifierType.email, q)
    looks_numeric = sum(ch.isdigit() for ch in q) >= max(1, len(q.replace(" ", "")) // 2)
    if looks_numeric and normalise_phone(q).e164 is not None:
        hits = await _by_identifier(request, IdentifierType.phone, q)
        if hits or not q.isdigit():
            return "phone", hits
    if " " not in q and any(ch.isdigit() for ch in q):
        return "id", await _by_channel_id(request, q)
    if len(q) < 2:
        raise HTTPException(400, "Nhập ít nhất 2 ký tự (type at least 2 characters)")
    found = await profiles.search(request, name=q, province=None, limit=20)
    return "name", found.hits


@router.get("", name="console_search", response_class=HTMLResponse)
async def search_page(request: Request, q: str = "") -> HTMLResponse:
    if not q.strip():
        return render(request, "search.html", query="", how=None, hits=[], error=None)
    try:
        how, hits = await find_customers(request, q[:320])
    except HTTPException as exc:
        return render(request, "search.html", status_code=exc.status_code, query=q, how=None, hits=[],
                      error=str(exc.detail))
    return render(request, "search.html", query=q, how=how, hits=hits, error=None)


@router.get("/customers/{customer_id}", name="console_customer", response_class=HTMLResponse)
async def customer_page(request: Request, customer_id: str, cursor: str | None = None) -> Response:
    try:
        found = await profiles.get_profile(request, customer_id)
        if found.customer_id != customer_id:  # merged away: the survivor's page is the one to read
            target = request.url_for("console_customer", customer_id=found.customer_id).path
            return RedirectResponse(f"{target}?merged_from={customer_id}", status_code=307)
        page = await profiles.timeline(request, customer_id, limit=TIMELINE_PAGE, cursor=cursor)
        why = await profiles.explain(request, customer_id)
    except HTTPException as exc:
        return render(request, "error.html", status_code=exc.status_code, detail=str(exc.detail))
    return render(request, "customer.html", customer_id=customer_id, profile=found.profile, timeline=page,
                  explain=why, cursor=cursor, merged_from=request.query_params.get("merged_from"))


async def read_status(request: Request) -> tuple[dict[str, Any] | None, str | None]:
    """GET /v1/status through the app itself (same auth headers), so the page shows what `status` shows."""
    forwarded = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "x-api-key", "cookie")}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.internal", timeout=30) as client:
        reply = await client.get("/v1/status", headers=forwarded)
    if reply.status_code == 404:
        return None, "Chưa có điểm cuối /v1/status trên máy chủ này (status endpoint unavailable)."
    if reply.status_code in (401, 403):
        return None, ("Khóa của bạn không có quyền ops để xem sức khỏe luồng "
                      "(your key lacks the ops permission that GET /v1/status needs).")
    if reply.status_code not in (200, 503) or "json" not in reply.headers.get("content-type", ""):
        return None, f"/v1/status trả lời {reply.status_code}: {reply.text[:200]}"
    body = reply.json()
    if "healthy" not in body:
        return None, f"/v1/status trả lời {reply.status_code}: {body.get('detail') or body.get('error') or body}"
    return body, None


@dataclass(frozen=True, slots=True)
class TopicLag:
    group: str
    topic: str
    partitions: int
    committed: int | None
    end: int
    lag: int


def lag_by_topic(rows: list[dict[str, Any]]) -> tuple[list[TopicLag], list[str]]:
    """Per-partition lag summed per (group, topic), and the topics nothing was ever written to (listed
    apart: a deployment has a raw topic per channel, most of them idle, and 4 partitions each)."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((str(row.get("group")), str(row.get("topic"))), []).append(row)
    busy, idle = [], []
    for (group, topic), parts in grouped.items():
        end = sum(int(p.get("end") or 0) for p in parts)
        lag = sum(int(p.get("lag") or 0) for p in parts)
        if end == 0 and lag == 0:
            idle.append(topic)
            continue
        committed = [p["committed"] for p in parts if p.get("committed") is not None]
        busy.append(TopicLag(group, topic, len(parts), sum(committed) if committed else None, end, lag))
    return busy, sorted(set(idle))


@router.get("/health", name="console_health", response_class=HTMLResponse)
async def health_page(request: Request) -> HTMLResponse:
    status, problem = await read_status(request)
    lag, idle = lag_by_topic(status.get("lag") or []) if status else ([], [])
    return render(request, "health.html", status=status, unavailable=problem, lag=lag, idle_topics=idle)


@router.get("/static/console.css", name="console_css")
async def stylesheet() -> Response:
    css = resources.files("hopnhat.http").joinpath("console_assets/console.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=300"})

