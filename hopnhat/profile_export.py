"""Golden records to a file (CSV, XLSX, Parquet) for BI, a CRM migration or a data-subject request.

An export hands many people's PII to whoever runs it, so it takes a key like the API does
(hopnhat/access.py): the role needs `export`, and `pii` for an unmasked file; every export, masked or
not, writes an `export` row to the audit log (what, format, masked or not, rows, columns).

One row per live customer (absorbed ids are listed in `merged_from`; `consents` as
`webform/marketing=yes; zalo/marketing=no`, the latest statement per channel and purpose), streamed from a server-side
cursor so memory stays flat; multi-valued fields are joined with "; ". CSV is UTF-8 with a BOM so
Excel shows Vietnamese diacritics instead of mojibake.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg

from hopnhat import audit
from hopnhat.access import AccessDenied, Caller, Permission
from hopnhat.pii import mask_profile
from hopnhat.settings import psycopg_url
from schema.errors import ConfigError

COLUMNS = ("customer_id", "full_name", "phones", "emails", "addresses", "province_code", "identifiers", "channels",
           "consents", "merged_from", "interactions", "first_seen", "last_seen", "updated_at")
PII_COLUMNS = ("phones", "emails", "addresses", "identifiers")
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


@dataclass(frozen=True, slots=True)
class ExportReport:
    path: Path
    rows: int
    format: ExportFormat
    masked: bool


def check_export_allowed(caller: Caller, *, masked: bool) -> None:
    """AccessDenied unless the caller may export, and may see PII when the file is not masked."""
    if not caller.can(Permission.export):
        raise AccessDenied(f"role {caller.role.value} lacks the export permission")
    if not masked and not caller.sees_pii:
        raise AccessDenied(f"role {caller.role.value} may only export masked data", hint="add --masked")


def _values(values: list[dict[str, Any]]) -> str:
    return "; ".join(v["value"] for v in values)


def _consents(consents: list[dict[str, Any]]) -> str:
    """`webform/marketing=yes; zalo/marketing=no`: the latest statement per channel and purpose."""
    return "; ".join(f"{c['channel']}/{c['purpose']}={'yes' if c['granted'] else 'no'}" for c in consents)


def profile_row(profile: dict[str, Any], *, masked: bool) -> tuple[Any, ...]:
    """One export row of a golden record (as stored JSON)."""
    p = mask_profile(profile) if masked else profile
    return (p["customer_id"], p.get("full_name"), _values(p.get("phones", [])), _values(p.get("emails", [])),
            _values(p.get("addresses", [])), p.get("province_code"), "; ".join(p.get("identifiers", [])),
            "; ".join(p.get("channels", [])), _consents(p.get("consents", [])), "; ".join(p.get("merged_from", [])),
            p.get("interactions", 0),
            p.get("first_seen"), p.get("last_seen"), p.get("updated_at"))


def _profiles(database_url: str, *, masked: bool) -> Iterator[tuple[Any, ...]]:
    with psycopg.connect(psycopg_url(database_url)) as conn, conn.cursor(name="export_profiles") as cur:
        cur.itersize = 5_000
        cur.execute("SELECT profile FROM customers WHERE merged_into IS NULL ORDER BY created_at, id")
        for (profile,) in cur:
            yield profile_row(profile, masked=masked)


def _write_csv(path: Path, rows: Iterator[tuple[Any, ...]]) -> int:
    n = 0
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def _write_xlsx(path: Path, rows: Iterator[tuple[Any, ...]]) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("profiles")
    sheet.append(list(COLUMNS))
    n = 0
    for row in rows:
        n += 1
        if n > XLSX_MAX_ROWS:
            raise ConfigError(f"more than {XLSX_MAX_ROWS:,} customers do not fit one Excel sheet; "
                              "export csv or parquet instead")
        sheet.append(list(row))
    book.save(path)
    return n


def _write_parquet(path: Path, rows: Iterator[tuple[Any, ...]], batch: int = 50_000) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("Parquet export needs pyarrow: pip install 'hopnhat[parquet]'") from None

    schema = pa.schema([(c, pa.int64() if c == "interactions" else pa.string()) for c in COLUMNS])
    n = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        chunk: list[tuple[Any, ...]] = []

        def flush() -> None:
            columns: list[tuple[Any, ...]] = list(zip(*chunk, strict=True)) if chunk else [() for _ in COLUMNS]
            writer.write_table(pa.table([pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
                                        schema=schema))

        for row in rows:
            chunk.append(row)
            n += 1
            if len(chunk) >= batch:
                flush()
                chunk = []
        if chunk or n == 0:
            flush()
    return n


WRITERS = {ExportFormat.csv: _write_csv, ExportFormat.xlsx: _write_xlsx, ExportFormat.parquet: _write_parquet}


def export_profiles(*, database_url: str, caller: Caller, out: Path, format: ExportFormat,  # noqa: A002
                    masked: bool, via: str = "cli", file_name: str | None = None) -> ExportReport:
    """Write every live golden record to `out` after the role check; audit the export once written.

    `via` ("cli" or "http") and `file_name` (the name the person receives, when `out` is a server's
    temporary file) go into the audit row."""
    check_export_allowed(caller, masked=masked)
    try:
        rows = WRITERS[format](out, _profiles(database_url, masked=masked))
    except BaseException:
        out.unlink(missing_ok=True)  # no half-written file of PII left behind, unaudited
        raise
    audit.record_export(database_url=database_url, caller=caller,
                        query={"what": "profiles", "format": format.value, "masked": masked, "rows": rows,
                               "file": file_name or out.name, "via": via},
                        fields=[c for c in COLUMNS if masked is False or c not in PII_COLUMNS])
    return ExportReport(path=out, rows=rows, format=format, masked=masked)
