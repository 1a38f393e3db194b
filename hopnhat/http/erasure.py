"""POST /v1/erasures {"identifier": "phone:0912345678"}: `hopnhat erase` over HTTP, admin keys only."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from hopnhat.access import Caller, Permission
from hopnhat.http.auth import require

router = APIRouter(prefix="/v1/erasures", tags=["erasure"])


class ErasureIn(BaseModel):
    identifier: str = Field(min_length=3, max_length=400, description="type:value, e.g. phone:0912345678")


@router.post("", summary="Erase a person's PII and keep their events out until fresh consent")
async def erase_person(request: Request, body: ErasureIn,
                       caller: Caller = Depends(require(Permission.admin))) -> dict[str, Any]:
    from hopnhat.erasure import erase

    report = await asyncio.to_thread(erase, settings=request.app.state.settings, identifier=body.identifier,
                                     caller=caller)
    return report.as_dict()
