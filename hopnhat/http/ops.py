"""Operations endpoints: `/metrics` (Prometheus), `/readyz` (can this process do its work) and
`GET /v1/status` (the `hopnhat status` report as JSON, which the console's stream-health page renders;
it needs a key with the `ops` permission, docs/SECURITY.md). `/metrics` and `/readyz` take no key, as
scrapers and load balancers call them: they carry counts and check names, never customer data.

`/healthz` (alive) stays in app.py; `/readyz` answers 200 only when the broker answers a metadata
request, the database answers, and its Alembic revision is the code's head; otherwise 503 with
every check and what failed, so a load balancer stops routing to a process that would only 503.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from psycopg_pool import PoolTimeout

from hopnhat.access import Permission
from hopnhat.http.auth import require
from hopnhat.metrics import declare_label_values
from hopnhat.settings import Settings
from schema.errors import HopnhatError


def build_router(settings: Settings) -> APIRouter:
    from hopnhat.migrate import head_revision

    declare_label_values()
    head = head_revision()
    router = APIRouter(tags=["ops"])

    @router.get("/metrics", summary="Prometheus metrics of this process", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def broker_check(request: Request) -> str | None:
        try:
            await request.app.state.publisher.check_reachable()
        except HopnhatError as exc:
            return str(exc)
        return None

    async def database_check(request: Request) -> str | None:
        pool = request.app.state.db_pool
        if pool is None:
            return "HOPNHAT_DATABASE_URL is not set"
        try:
            async with asyncio.timeout(5.0):
                async with pool.connection() as conn:
                    cur = await conn.execute("SELECT version_num FROM alembic_version")
                    row = await cur.fetchone()
        except (psycopg.Error, PoolTimeout, TimeoutError, OSError) as exc:
            return f"database did not answer: {type(exc).__name__}: {exc}".strip()
        revision = row[0] if row else None
        if revision != head:
            return f"database schema at revision {revision or 'none'}, code expects {head}: run `hopnhat migrate`"
        return None

    @router.get("/readyz", summary="Readiness: broker and database reachable, migrations current")
    async def readyz(request: Request) -> JSONResponse:
        broker, database = await asyncio.gather(broker_check(request), database_check(request))
        checks: dict[str, Any] = {"broker": broker or "ok", "database": database or "ok"}
        ready = broker is None and database is None
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    @router.get("/v1/status", summary="Deployment health: lag, rates, DLQ depth, database, last events, quality",
                dependencies=[Depends(require(Permission.ops))])
    async def status() -> JSONResponse:
        from hopnhat.status import collect_status

        report = await run_in_threadpool(collect_status, settings=settings)
        return JSONResponse(report.as_dict())

    return router
