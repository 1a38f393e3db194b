"""`create_app(settings)`: the ASGI app served by `hopnhat serve` (uvicorn).

HopnhatError -> HTTP status is mapped here, in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import hopnhat
from hopnhat.http.publisher import RawPublisher
from hopnhat.http.webhooks import build_router
from hopnhat.settings import Settings
from schema.errors import HopnhatError


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.publisher = RawPublisher(settings)
        try:
            yield
        finally:
            await app.state.publisher.close()

    app = FastAPI(title="hopnhat", version=hopnhat.__version__, lifespan=lifespan)
    app.include_router(build_router(settings))

    @app.exception_handler(HopnhatError)
    async def hopnhat_error(request: Request, exc: HopnhatError) -> JSONResponse:
        headers = {"Retry-After": "5"} if exc.http_status == 503 else None
        return JSONResponse(exc.as_dict(), status_code=exc.http_status, headers=headers)

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
