"""`create_app(settings)`: the ASGI app served by `hopnhat serve` (uvicorn).

HopnhatError -> HTTP status is mapped here, in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool, PoolTimeout

import hopnhat
from hopnhat.http import console, console_login, erasure, exports, ops, profiles, unsubscribe
from hopnhat.http.publisher import RawPublisher
from hopnhat.http.webhooks import build_router
from hopnhat.metrics import WebhookMetricsMiddleware
from hopnhat.settings import Settings, psycopg_url
from schema.errors import HopnhatError


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.publisher = RawPublisher(settings)
        app.state.db_pool = None
        if settings.database_url:
            # Opened lazily: webhooks keep working while the database is down; API calls answer 503.
            app.state.db_pool = AsyncConnectionPool(psycopg_url(settings.database_url), min_size=1, max_size=8,
                                                    timeout=5.0, open=False)
            await app.state.db_pool.open(wait=False)
        try:
            yield
        finally:
            await app.state.publisher.close()
            if app.state.db_pool is not None:
                await app.state.db_pool.close()

    app = FastAPI(title="hopnhat", version=hopnhat.__version__, lifespan=lifespan)
    app.state.settings = settings  # hopnhat/http/auth.py reads api_auth here
    app.include_router(build_router(settings))
    app.include_router(profiles.router)
    app.include_router(console.router)
    app.include_router(console_login.router)
    app.include_router(erasure.router)
    app.include_router(exports.router)
    app.include_router(ops.build_router(settings))
    app.include_router(unsubscribe.build_router(settings))
    app.add_middleware(WebhookMetricsMiddleware)

    @app.exception_handler(HopnhatError)
    async def hopnhat_error(request: Request, exc: HopnhatError) -> JSONResponse:
        headers = {"Retry-After": "5"} if exc.http_status == 503 else None
        if exc.http_status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="hopnhat"'}
        return JSONResponse(exc.as_dict(), status_code=exc.http_status, headers=headers)

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "DatabaseUnavailable", "detail": "PostgreSQL did not answer; retry later"},
                            status_code=503, headers={"Retry-After": "5"})

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
