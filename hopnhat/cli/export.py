"""`hopnhat export ...`: files for audit and downstream tools."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
import psycopg

from hopnhat.settings import load_settings, psycopg_url
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
    settings = load_settings()
    if not settings.database_url:
        raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file)")
    out = sys.stdout if str(out_path) == "-" else out_path.open("w", newline="", encoding="utf-8")
    rows = 0
    try:
        writer = csv.writer(out)
        writer.writerow(["source", "source_record_id", "customer_id"])
        with psycopg.connect(psycopg_url(settings.database_url)) as conn, conn.cursor(name="export_clusters") as cur:
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
