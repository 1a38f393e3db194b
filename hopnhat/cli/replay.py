"""`hopnhat replay --from-beginning`: rebuild a store from the raw topics."""

from __future__ import annotations

import json

import click

from hopnhat.settings import load_settings


@click.command()
@click.option("--from-beginning", is_flag=True, required=True,
              help="Read every raw.<channel> topic from offset 0 (the only mode so far; required).")
@click.option("--force", is_flag=True, help="Replay into a database that already has data (idempotent).")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def replay(from_beginning: bool, force: bool, batch_size: int, as_json: bool) -> None:
    """Re-normalise and re-resolve every raw event into HOPNHAT_DATABASE_URL.

    The target must be migrated (`hopnhat migrate`) and empty unless --force. Nothing is published
    and no consumer offsets are committed, so running workers are unaffected.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hopnhat.replay import replay as run_replay

    settings = load_settings()
    if as_json:
        result = run_replay(settings=settings, force=force, batch_size=batch_size)
        click.echo(json.dumps(result.as_dict()))
        return
    with Progress(TextColumn("replaying raw topics"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("replay", total=None)
        result = run_replay(settings=settings, force=force, batch_size=batch_size,
                            progress=lambda done, total: bar.update(task, completed=done, total=total))
    click.echo(f"replayed {result.records} raw records: {result.stored} interactions stored, {result.skipped} "
               f"already present, {result.rejected} rejected by the normaliser, {result.merges} merges "
               f"({result.events_per_s:.0f} records/s)")
