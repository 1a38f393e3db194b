"""`hopnhat demo`: run the pipeline end to end on a generated Vietnamese sample."""

from __future__ import annotations

import json

import click

from hopnhat.settings import load_settings


@click.command()
@click.option("--customers", type=click.IntRange(1, 1_000_000), default=200, show_default=True,
              help="People in the sample; each submits 1-4 forms.")
@click.option("--seed", type=int, default=84, show_default=True, help="Sample seed (same seed, same sample).")
@click.option("--workers", type=click.IntRange(1, 8), default=1, show_default=True, help="Stream workers.")
@click.option("--json", "as_json", is_flag=True, help="Print only a final JSON line (for scripts).")
def demo(customers: int, seed: int, workers: int, as_json: bool) -> None:
    """Start embedded services, post a sample through the webhook, resolve, print what it resolved.

    Nothing is left running afterwards. With HOPNHAT_KAFKA_BOOTSTRAP / HOPNHAT_DATABASE_URL set, those
    are used instead of the embedded broker and PostgreSQL.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from hopnhat.demo import run_demo

    settings = load_settings()
    console = Console(stderr=True)
    if as_json:
        result = run_demo(settings=settings, customers=customers, seed=seed, workers=workers)
        click.echo(json.dumps(result.as_dict()))
        return
    console.print("[bold]hopnhat demo[/bold]: starting broker, PostgreSQL, webhook server and worker ...")
    with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            label = {"post": "posting webhooks", "resolve": "resolved and stored"}[stage]
            if stage not in tasks:
                tasks[stage] = bar.add_task(label, total=total)
            bar.update(tasks[stage], completed=done)

        result = run_demo(settings=settings, customers=customers, seed=seed, workers=workers, progress=progress)
    ok = result.interactions_stored == result.accepted and result.dlq == 0
    click.echo(
        f"\n{result.events_in} form submissions from {result.people} people went through the webhook "
        f"({result.accepted} accepted) in {result.post_s:.1f}s.\n"
        f"Stored {result.interactions_stored} interactions and resolved them into {result.customers} customers "
        f"with {result.identifiers} identifiers; {result.merges} merges (records that turned out to be one "
        f"person once a later submission showed both their phone and email).\n"
        f"DLQ: {result.dlq}.  Throughput {result.events_per_s:.0f} events/s webhook-to-PostgreSQL; "
        f"wall time {result.wall_s:.1f}s.\n"
        + ("All accepted events are stored." if ok else "WARNING: not every accepted event was stored.")
    )
    from hopnhat.cli.quality import render

    click.echo("\nData quality (as `hopnhat quality` reports it):\n" + render(result.quality, 0.9))
    click.echo("\n(`hopnhat demo --json` prints all of this as one JSON line.)")
