"""Profile API: look a customer up by any identifier, read the golden record, the timeline, and why.

GET /v1/customers/lookup?type=phone&value=0912.345.678   any local phone format, any email case
GET /v1/customers/search?name=nguyen thi lan&province=HCM  name with or without diacritics, any province spelling
GET /v1/customers/{id}                                    follows merges to the surviving record
GET /v1/customers/{id}/timeline?limit=50&cursor=...       newest first, keyset-paginated, all channels
GET /v1/customers/{id}/explain                            link rule per source record, merges + evidence

Every route needs an API key with the `read` permission (hopnhat/http/auth.py; the console calls
these functions under the same dependency). Callers without `pii` get phones, emails, national
ids, addresses and birth dates masked (hopnhat/pii.py); every answer that shows them unmasked writes
one audit row per customer shown (hopnhat/audit.py).
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from psycopg_pool import AsyncConnectionPool

from hopnhat import audit
from hopnhat.access import Caller, Permission
from hopnhat.http.auth import current_caller, require
from hopnhat.pii import PROFILE_PII_FIELDS, mask_identifier, mask_payload, mask_profile, redact_text
from resolver.email import normalise_email
from resolver.phone import normalise_phone
from hopnhat.sqlfold import FOLD_FROM, FOLD_TO
from resolver.address import resolve_province
from resolver.name import name_fold_key
from schema.api import (
    ExplainOut,
    LinkExplanation,
    MergeExplanation,
    ProfileOut,
    SearchHit,
    SearchResult,
    TimelineItem,
    TimelinePage,
)
from schema.events import GoldenProfile, IdentifierType


def no_nul(request: Request) -> None:
    """PostgreSQL text cannot hold U+0000: a query value with one would fail in the driver (a 500)."""
    for name, value in request.query_params.multi_items():
        if "\x00" in value or "\x00" in name:
            raise HTTPException(400, f"{name}: contains a NUL character")
    if "\x00" in request.url.path:
        raise HTTPException(400, "path: contains a NUL character")


router = APIRouter(prefix="/v1/customers", tags=["profiles"],
                   dependencies=[Depends(require(Permission.read)), Depends(no_nul)])


def db_pool(request: Request) -> AsyncConnectionPool:
    """The app's database pool (503 when the app runs without a database)."""
    pool = getattr(request.app.state, "db_pool", None)
    if pool is None:
        raise HTTPException(503, "the profile API needs HOPNHAT_DATABASE_URL")
    return cast(AsyncConnectionPool, pool)


def lookup_value(kind: IdentifierType, value: str) -> str:
    """The stored form of an identifier typed by a person: phones and emails are normalised."""
    if kind is IdentifierType.phone:
        phone = normalise_phone(value)
        if phone.e164 is None:
            raise HTTPException(400, f"value: not a usable phone number ({phone.reason})")
        return phone.e164
    if kind is IdentifierType.email:
        email = normalise_email(value)
        if email.value is None:
            raise HTTPException(400, f"value: not a usable email ({email.reason})")
        return email.value
    return value.strip()


def _uuid(customer_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(customer_id)
    except ValueError:
        raise HTTPException(400, "customer_id: not a UUID") from None


def shown(caller: Caller, profile: GoldenProfile) -> GoldenProfile:
    """The golden record as this caller may see it: masked unless the role has the pii permission."""
    if caller.sees_pii:
        return profile
    return GoldenProfile.model_validate(mask_profile(profile.model_dump(mode="json")))


async def live_profile(pool: AsyncConnectionPool, customer_id: uuid.UUID) -> tuple[str, GoldenProfile]:
    """(surviving id, golden record) of a customer id, following a merge; 404 if unknown."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT r.id, r.profile FROM customers c
                 JOIN customers r ON r.id = coalesce(c.merged_into, c.id) WHERE c.id = %s""", (customer_id,))
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(404, "no such customer")
    return str(row[0]), GoldenProfile.model_validate(row[1])


@router.get("/lookup", response_model=ProfileOut, summary="Find a customer by any identifier")
async def lookup(request: Request, type: IdentifierType = Query(..., description="identifier type"),  # noqa: A002
                 value: str = Query(..., min_length=1, max_length=320)) -> ProfileOut:
    stored = lookup_value(type, value)
    async with db_pool(request).connection() as conn:
        cur = await conn.execute("SELECT customer_id FROM identifiers WHERE type = %s AND value = %s",
                                 (type.value, stored))
        row = await cur.fetchone()
        if row is None:
            raise HTTPException(404, f"no customer with {type.value} {stored}")
        cur = await conn.execute(
            """SELECT DISTINCT coalesce(c.merged_into, c.id) FROM identifier_holders h
                 JOIN customers c ON c.id = h.customer_id WHERE h.type = %s AND h.value = %s""",
            (type.value, stored))
        holders = {str(r[0]) for r in await cur.fetchall()}
    caller = current_caller(request)
    live_id, profile = await live_profile(db_pool(request), row[0])
    await audit.record_read(db_pool(request), caller, customer_ids=[live_id], fields=PROFILE_PII_FIELDS,
                            query={"route": "lookup", "identifier": mask_identifier(f"{type.value}:{stored}")})
    return ProfileOut(requested_id=str(row[0]), customer_id=live_id, profile=shown(caller, profile),
                      shared_with=sorted(holders - {live_id}))


@router.get("/search", response_model=SearchResult, summary="Customers by name, optionally in one province")
async def search(request: Request, name: str = Query(..., min_length=2, max_length=120),
                 province: str | None = Query(None, max_length=80, description="Any spelling: HCM, Ha Noi ..."),
                 limit: int = Query(20, ge=1, le=100)) -> SearchResult:
    """Every word of `name` must appear (diacritics and case ignored) in one of the customer's names.

    A linear scan of live customers for now (fine to a few hundred thousand); an index on a stored
    fold key comes with the matching work.
    """
    words = name_fold_key(name).split()
    if not words:
        raise HTTPException(400, "name: no letters to search for")
    code = None
    if province:
        found = resolve_province(province)
        if found is None:
            raise HTTPException(400, f"province: {province!r} is not a province or city")
        code = found.code
    patterns = [f"% {w} %" for w in words]
    async with db_pool(request).connection() as conn:
        cur = await conn.execute(
            """SELECT c.id, c.profile FROM customers c
                WHERE c.merged_into IS NULL
                  AND (%(code)s::text IS NULL OR c.profile->>'province_code' = %(code)s)
                  AND EXISTS (SELECT 1 FROM jsonb_array_elements(c.profile->'names') n
                               WHERE ' ' || translate(lower(n->>'value'), %(f)s, %(t)s) || ' ' LIKE ALL (%(p)s))
                ORDER BY c.profile->>'last_seen' DESC LIMIT %(limit)s""",
            {"code": code, "f": FOLD_FROM, "t": FOLD_TO, "p": patterns, "limit": limit},
        )
        rows = await cur.fetchall()
    caller = current_caller(request)
    shown_rows: list[tuple[Any, dict[str, Any]]] = [(cid, p if caller.sees_pii else mask_profile(p)) for cid, p in rows]
    hits = [SearchHit(customer_id=str(cid), full_name=p.get("full_name"), province_code=p.get("province_code"),
                      phones=[v["value"] for v in p.get("phones", [])], emails=[v["value"] for v in p.get("emails", [])],
                      last_seen=p["last_seen"]) for cid, p in shown_rows]
    if hits:
        await audit.record_read(db_pool(request), caller, customer_ids=[h.customer_id for h in hits],
                                fields=("phones", "emails"), query={"route": "search", "name": name, "province": code})
    return SearchResult(query=name, province_code=code, hits=hits)


@router.get("/{customer_id}", response_model=ProfileOut, summary="The golden record, following merges")
async def get_profile(request: Request, customer_id: str) -> ProfileOut:
    caller = current_caller(request)
    live_id, profile = await live_profile(db_pool(request), _uuid(customer_id))
    await audit.record_read(db_pool(request), caller, customer_ids=[live_id], fields=PROFILE_PII_FIELDS,
                            query={"route": "profile", "customer_id": customer_id})
    return ProfileOut(requested_id=customer_id, customer_id=live_id, profile=shown(caller, profile))


def _cursor(occurred_at: datetime, event_id: str) -> str:
    return base64.urlsafe_b64encode(f"{occurred_at.isoformat()}|{event_id}".encode()).decode()


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, _, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        if "\x00" in event_id:  # decoded past no_nul(): PostgreSQL text cannot hold it
            raise ValueError("NUL in the event id")
        return datetime.fromisoformat(at), event_id
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "cursor: not a cursor this API returned") from None


@router.get("/{customer_id}/timeline", response_model=TimelinePage, summary="Interactions across channels")
async def timeline(request: Request, customer_id: str, limit: int = Query(50, ge=1, le=500),
                   cursor: str | None = None) -> TimelinePage:
    pool = db_pool(request)
    live_id, _ = await live_profile(pool, _uuid(customer_id))
    after = _parse_cursor(cursor) if cursor else None
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT i.event_id, i.channel, i.source, i.source_record_id, i.kind, i.occurred_at, i.summary,
                      i.amount_vnd, i.payload
                 FROM interactions i
                WHERE i.customer_id IN (SELECT id FROM customers WHERE id = %(root)s OR merged_into = %(root)s)
                  AND (%(at)s::timestamptz IS NULL OR (i.occurred_at, i.event_id) < (%(at)s, %(eid)s))
                ORDER BY i.occurred_at DESC, i.event_id DESC LIMIT %(limit)s""",
            {"root": uuid.UUID(live_id), "at": after[0] if after else None, "eid": after[1] if after else "",
             "limit": limit + 1},
        )
        rows = await cur.fetchall()
    caller = current_caller(request)
    pii = caller.sees_pii
    items = [TimelineItem(event_id=r[0], channel=r[1], source=r[2], source_record_id=r[3], kind=r[4],
                          occurred_at=r[5], summary=r[6] if pii or r[6] is None else redact_text(r[6]),
                          amount_vnd=r[7], payload=r[8] if pii else mask_payload(r[8])) for r in rows[:limit]]
    await audit.record_read(pool, caller, customer_ids=[live_id], fields=("summary", "payload"),
                            query={"route": "timeline", "customer_id": customer_id, "cursor": cursor})
    more = len(rows) > limit
    return TimelinePage(customer_id=live_id, items=items,
                        next_cursor=_cursor(items[-1].occurred_at, items[-1].event_id) if more else None)


@router.get("/{customer_id}/explain", response_model=ExplainOut, summary="Why these records are one customer")
async def explain(request: Request, customer_id: str) -> ExplainOut:
    pool = db_pool(request)
    live_id, _ = await live_profile(pool, _uuid(customer_id))
    root = uuid.UUID(live_id)
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT source, source_record_id, channel, link_rule, link_identifier, first_event_id
                 FROM source_records WHERE customer_id = %s ORDER BY created_at, id""", (root,))
        caller = current_caller(request)
        pii = caller.sees_pii
        records = [LinkExplanation(source=r[0], source_record_id=r[1], channel=r[2], rule=r[3],
                                   identifier=r[4] if pii or r[4] is None else mask_identifier(r[4]),
                                   first_event_id=r[5]) for r in await cur.fetchall()]
        cur = await conn.execute(
            """SELECT m.survivor_id, m.absorbed_id, m.reason, e.details, m.created_at
                 FROM merges m JOIN match_evidence e ON e.id = m.evidence_id
                 JOIN customers a ON a.id = m.absorbed_id
                WHERE coalesce(a.merged_into, a.id) = %s AND m.undone_at IS NULL ORDER BY m.id""", (root,))
        merges = [MergeExplanation(survivor=str(r[0]), absorbed=str(r[1]), reason=r[2],
                                   evidence=r[3] if pii else mask_payload(r[3]), at=r[4])
                  for r in await cur.fetchall()]
    await audit.record_read(pool, caller, customer_ids=[live_id], fields=("identifiers", "evidence"),
                            query={"route": "explain", "customer_id": customer_id})
    return ExplainOut(customer_id=live_id, records=records, merges=merges)
