"""`hopnhat import <channel> FILE... [--mapping mapping.yaml] [--json]`: publish exported files' rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hopnhat.settings import load_settings
from schema.errors import ConfigError


def load_mapping(path: Path | None) -> dict[str, Any]:
    """The YAML options of a file import (column mapping, encoding, time zone ...); {} without a file."""
    if path is None:
        return {}
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the mapping {path}: {exc}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"the mapping {path} must be a YAML mapping (key: value), got {type(doc).__name__}")
    return doc


@click.command("import")
@click.argument("channel")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML column mapping and file options (docs/connectors/<channel>.md).")
@click.option("--source", "source_id", default=None,
              help="Source name in event ids (a list's name, the PBX); default: the mapping's `source`, "
                   "else 'default'.")
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=5000, show_default=True,
              help="Rows per broker round trip and checkpoint.")
@click.option("--limit", type=click.IntRange(0), default=None, help="Stop after this many rows (try a sample).")
@click.option("--wait-broker", "wait_broker_s", type=click.FloatRange(0), default=120.0, show_default=True,
              help="Seconds to wait out a broker or PostgreSQL outage, resuming from the checkpoint; "
                   "0 stops at once (a rerun resumes).")
@click.option("--ack-timeout", "ack_timeout_s", type=click.FloatRange(0.5), default=10.0, show_default=True,
              help="Seconds to wait for the broker to acknowledge a batch before treating it as down.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
def import_cmd(channel: str, files: tuple[Path, ...], mapping_path: Path | None, source_id: str | None,
               batch_size: int, limit: int | None, wait_broker_s: float, ack_timeout_s: float, as_json: bool) -> None:
    """Publish the rows of exported FILES (CSV, JSONL, XLSX) of CHANNEL to raw.<channel>.

    \b
    Channels: bulk (contact lists), asterisk_cdr (Master.csv), pos_export (POS invoice CSV).
    Resumable: rows already acknowledged by the broker are checkpointed per file (by content hash)
    and skipped on the next run. An outage of the broker or PostgreSQL is waited out (--wait-broker)
    and the import goes on from its checkpoint. Bad rows are listed with file and line, sent to dlq.ingest, and
    the rest of the file goes on.
    """
    from hopnhat.importer import import_files

    settings = load_settings()
    options = load_mapping(mapping_path)

    def waiting(exc: Exception, delay: float) -> None:
        click.echo(f"{exc}\n  waiting {delay:.0f}s, then resuming from the checkpoint (--wait-broker "
                   f"{wait_broker_s:.0f})", err=True)

    if as_json:
        result = import_files(settings=settings, channel=channel, paths=list(files), options=options,
                              source_id=source_id, batch_size=batch_size, limit=limit,
                              wait_broker_s=wait_broker_s, on_wait=waiting, timeout_s=ack_timeout_s)
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=max(total or done, done))

        result = import_files(settings=settings, channel=channel, paths=list(files), options=options,
                              source_id=source_id, batch_size=batch_size, limit=limit, progress=progress,
                              wait_broker_s=wait_broker_s, on_wait=waiting, timeout_s=ack_timeout_s)
    for problem in result.problems[:200]:
        click.echo(f"rejected {problem}", err=True)
    if len(result.problems) > 200:
        click.echo(f"... and {len(result.problems) - 200} more rejected rows (all are in dlq.ingest)", err=True)
    for name, encoding in result.encodings.items():
        click.echo(f"{name}: read as {encoding}")
    click.echo(f"{result.rows} rows: {result.published} published, {result.rejected} rejected (dlq.ingest), "
               f"{result.ignored} skipped as not about a customer, {result.skipped_by_checkpoint} already "
               f"imported ({result.rows_per_s:.0f} rows/s)"
               + (f"; resumed {result.resumes}x after outages" if result.resumes else ""))
