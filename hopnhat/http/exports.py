"""GET /v1/exports/profiles?format=csv&masked=true: `hopnhat export profiles` over HTTP.

The same function writes the file (hopnhat/profile_export.py), so the same role check applies (the
key's role needs `export`, and `pii` unless masked=true) and the same `export` row goes to the audit
log, with `"via": "http"`. The file is written to a private temporary directory first and sent from
there: XLSX and Parquet cannot be produced as a forward-only stream, the client gets a
Content-Length to show progress against, and the audit row is committed before the first byte
leaves. The temporary file is deleted once sent, or when writing it fails.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from hopnhat.access import Caller, Permission
from hopnhat.http.auth import require
from hopnhat.profile_export import ExportFormat, check_export_allowed, export_profiles

router = APIRouter(prefix="/v1/exports", tags=["exports"])

MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.parquet: "application/vnd.apache.parquet",
}


@router.get("/profiles", summary="Every live golden record as a CSV, XLSX or Parquet file (audited)",
            response_class=FileResponse)
async def export_profiles_file(request: Request, format: ExportFormat = Query(ExportFormat.csv),  # noqa: A002
                               masked: bool = Query(False, description="Mask phones, emails, addresses, ids"),
                               caller: Caller = Depends(require(Permission.export))) -> FileResponse:
    check_export_allowed(caller, masked=masked)  # 403 before any work: an analyst asking unmasked
    database_url = request.app.state.settings.database_url
    if not database_url:
        raise HTTPException(503, "exports need HOPNHAT_DATABASE_URL on the server")
    name = f"hopnhat-profiles-{datetime.now(UTC):%Y%m%d-%H%M%S}{'-masked' if masked else ''}.{format.value}"
    workdir = Path(tempfile.mkdtemp(prefix="hopnhat-export-"))  # mode 0700: only this process reads it
    try:
        await asyncio.to_thread(export_profiles, database_url=database_url, caller=caller, out=workdir / name,
                                format=format, masked=masked, via="http", file_name=name)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return FileResponse(workdir / name, media_type=MEDIA_TYPES[format], filename=name,
                        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True))
