"""`hopnhat backup` and `hopnhat restore`: the store plus the worker group's offsets (hopnhat/backup.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hopnhat.settings import load_settings


@click.command("backup")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="New (or empty) directory for store.dump and manifest.json.")
@click.option("--no-offsets", is_flag=True, help="Do not read the worker group's offsets from the broker.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as one JSON line.")
def backup_cmd(out_dir: Path, no_offsets: bool, as_json: bool) -> None:
    """Dump HOPNHAT_DATABASE_URL and the committed offsets of group HOPNHAT_APP_ID into one directory.

    \b
    DIR/store.dump      pg_dump custom format: every table, view and the schema revision
    DIR/manifest.json   rows per table, offsets per topic and partition, versions, time
    Offsets are read before the database snapshot, so resuming from them redelivers a little and
    loses nothing (every sink is idempotent). Workers may keep running. The dump holds PII: store it
    encrypted, like the database. Production: prefer managed point-in-time recovery (docs/OPERATIONS.md).
    """
    from hopnhat.backup import backup

    manifest = backup(settings=load_settings(), out=out_dir, offsets=not no_offsets)
    if as_json:
        click.echo(json.dumps(manifest.as_dict(), ensure_ascii=False))
        return
    rows = sum(manifest.tables.values())
    offsets = "no offsets" if manifest.offsets is None else f"{len(manifest.offsets)} partition offsets"
    click.echo(f"backed up {len(manifest.tables)} tables ({rows:,} rows, schema {manifest.schema_revision}) "
               f"and {offsets} of group {manifest.group} to {out_dir}")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-offsets", is_flag=True, help="Restore the database only; leave the group's offsets alone.")
@click.option("--offsets-only", is_flag=True, help="Only commit the saved offsets (the database is restored).")
@click.option("--yes", is_flag=True, help="Do not ask before moving the worker group's offsets.")
@click.option("--json", "as_json", is_flag=True, help="Print {tables, offsets_committed, group} as one JSON line.")
def restore_cmd(source: Path, no_offsets: bool, offsets_only: bool, yes: bool, as_json: bool) -> None:
    """Restore a backup into the empty database HOPNHAT_DATABASE_URL and rewind group HOPNHAT_APP_ID.

    \b
    1. create an empty database and point HOPNHAT_DATABASE_URL at it (restore never overwrites)
    2. stop the workers of HOPNHAT_APP_ID (a broker refuses offsets for a group with live members)
    3. hopnhat restore DIR       checks every table's row count against the manifest
    4. start the workers: they resume from the backup's offsets
    """
    from hopnhat.backup import Manifest, restore

    settings = load_settings()
    moves_offsets = not no_offsets and bool(Manifest.load(source).offsets)
    if moves_offsets and not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("restore moves the offsets of group "
                                   f"{settings.app_id}; pass --yes (or --no-offsets) when not at a terminal")
        click.confirm(f"Set the committed offsets of group {settings.app_id} back to the backup's?", abort=True)
    report = restore(settings=settings, source=source, offsets=not no_offsets, offsets_only=offsets_only)
    if as_json:
        click.echo(json.dumps({"tables": report.tables, "offsets_committed": report.offsets_committed,
                               "group": report.group}))
        return
    if report.tables:
        click.echo(f"restored {len(report.tables)} tables ({sum(report.tables.values()):,} rows, counts match)")
    if report.offsets_committed:
        click.echo(f"group {report.group} resumes from {report.offsets_committed} saved partition offsets")
