"""`hopnhat export ...`: files for audit and downstream tools."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
import psycopg

from hopnhat.settings import load_settings
from schema.errors import ConfigError


@click.group()
def export() -> None:
    """Write what the store knows to files."""


@export.command()
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file to write ('-' for standard output).")
def clusters(out_path: Path) -> None:
    """Every ingested source record with the customer it belongs to now.

    Columns: source, source_record_id, customer_id (merges followed). This is how to audit the
    resolution and how bench/er_*.py measure its precision and recall.
    """
    url = load_settings().store_url()
    out = sys.stdout if str(out_path) == "-" else out_path.open("w", newline="", encoding="utf-8")
    rows = 0
    try:
        writer = csv.writer(out)
        writer.writerow(["source", "source_record_id", "customer_id"])
        with psycopg.connect(url) as conn, conn.cursor(name="export_clusters") as cur:
            cur.itersize = 10_000
            cur.execute("""SELECT s.source, s.source_record_id, coalesce(c.merged_into, c.id)
                             FROM source_records s JOIN customers c ON c.id = s.customer_id
                            ORDER BY s.source, s.source_record_id""")
            for source, rid, customer in cur:
                writer.writerow([source, rid, customer])
                rows += 1
    finally:
        if out is not sys.stdout:
            out.close()
    if out is not sys.stdout:
        click.echo(f"{rows:,} records written to {out_path}", err=True)


@export.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "parquet"]), default="csv", show_default=True,
              help="csv (UTF-8 with BOM, opens in Excel), xlsx, or parquet (needs hopnhat[parquet]).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write.")
@click.option("--masked", is_flag=True, help="Mask phones, emails, addresses and identifiers (+84 91* *** 678).")
@click.option("--api-key", envvar="HOPNHAT_API_KEY", default=None, metavar="KEY",
              help="Your API key (or HOPNHAT_API_KEY): its role decides, and it is named in the audit log.")
@click.option("--json", "as_json", is_flag=True, help="Print {file, rows, format, masked} as one JSON line.")
def profiles(fmt: str, out_path: Path, masked: bool, api_key: str | None, as_json: bool) -> None:
    """Every live golden record, one row per customer (merges followed).

    \b
    Columns: customer_id, full_name, phones, emails, addresses, province_code, identifiers, channels,
    consents (webform/marketing=yes ...), merged_from, interactions, first_seen, last_seen, updated_at
    (several values joined with "; ").
    The key's role needs `export`, and `pii` unless --masked (an analyst exports --masked only).
    Each export is recorded in the audit log (docs/SECURITY.md).
    """
    import json

    from hopnhat.access import UNAUTHENTICATED, authenticate_key
    from hopnhat.profile_export import ExportFormat, export_profiles

    settings = load_settings()
    if not settings.database_url:
        raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file)")
    caller = (UNAUTHENTICATED if settings.api_auth == "off"
              else authenticate_key(database_url=settings.database_url, key=api_key or settings.api_key_value()))
    report = export_profiles(database_url=settings.database_url, caller=caller, out=out_path,
                             format=ExportFormat(fmt), masked=masked)
    if as_json:
        click.echo(json.dumps({"file": str(report.path), "rows": report.rows, "format": report.format.value,
                               "masked": report.masked}))
    else:
        click.echo(f"{report.rows:,} customers written to {report.path}" + (" (masked)" if masked else ""), err=True)
