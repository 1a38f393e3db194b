"""One FastAPI dependency that turns an API key into a `Caller`, for every route that reads the store.

    router = APIRouter(dependencies=[Depends(require(Permission.read))])     # a whole router
    async def route(caller: Caller = Depends(require(Permission.ops))): ...  # one route, caller in hand

The key comes as `Authorization: Bearer hn_...`, `X-API-Key: hn_...` or the console's `hopnhat_key`
cookie. Webhooks never use this: a source proves itself by its signature only.

Key rows are cached per process for CACHE_S seconds so a request costs no extra query in the
steady state; a revoked key therefore stops working within that time on a running server.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from hopnhat.access import UNAUTHENTICATED, AccessDenied, Caller, Permission, caller_from_row, key_hash, looks_like_key

CACHE_S = 10.0
COOKIE = "hopnhat_key"


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return request.headers.get("x-api-key") or request.cookies.get(COOKIE)


async def _lookup(request: Request, key: str) -> Caller:
    cache: dict[str, tuple[float, tuple[str, str, object] | None]] = request.app.state.__dict__.setdefault(
        "api_key_cache", {})
    digest = key_hash(key)
    hit = cache.get(digest)
    now = time.monotonic()
    if hit is None or now - hit[0] > CACHE_S:
        pool = getattr(request.app.state, "db_pool", None)
        if pool is None:
            raise AccessDenied("API keys live in PostgreSQL and HOPNHAT_DATABASE_URL is not set", status=503)
        async with cast(AsyncConnectionPool, pool).connection() as conn:
            cur = await conn.execute("SELECT id, role, revoked_at FROM api_keys WHERE key_hash = %s", (digest,))
            row = await cur.fetchone()
        hit = (now, row)
        if len(cache) > 10_000:  # guessed keys must not grow it without bound
            cache.clear()
        cache[digest] = hit
    return caller_from_row(hit[1])  # type: ignore[arg-type]


async def authenticate(request: Request) -> Caller:
    """The caller of this request; AccessDenied(401) without a live key unless api_auth is off."""
    if request.app.state.settings.api_auth == "off":
        return UNAUTHENTICATED
    return await caller_for_key(request, presented_key(request))


async def caller_for_key(request: Request, key: str | None) -> Caller:
    """The caller holding `key`, checked against the api_keys table of this app's database."""
    if not key:
        raise AccessDenied("an API key is required: send `Authorization: Bearer hn_...` or `X-API-Key`",
                           status=401, hint="create one with `hopnhat keys create --role analyst --name ...`")
    if not looks_like_key(key):
        raise AccessDenied("not a hopnhat API key (they start with hn_)", status=401)
    return await _lookup(request, key)


def current_caller(request: Request) -> Caller:
    """The caller `require(...)` admitted for this request. Route functions the console calls directly
    read it here; a route reached without the dependency fails closed (401), never open."""
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):
        raise AccessDenied("no authenticated caller on this request", status=401)
    return caller


def require(permission: Permission) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency admitting callers whose role has `permission` (403 otherwise), returning the caller."""

    async def dependency(request: Request) -> Caller:
        caller = await authenticate(request)
        if not caller.can(permission):
            raise AccessDenied(f"role {caller.role.value} lacks the {permission.value} permission")
        request.state.caller = caller
        return caller

    dependency.__name__ = f"require_{permission.value}"
    return dependency
