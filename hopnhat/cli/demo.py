"""`hopnhat demo`: run the pipeline end to end on a generated Vietnamese sample."""

from __future__ import annotations

import json
import signal
import time
from types import FrameType
from typing import TYPE_CHECKING

import click

from hopnhat.settings import load_settings

if TYPE_CHECKING:
    from hopnhat.demo import DemoResult
    from hopnhat.embedded import ChildService
    from hopnhat.settings import Settings


@click.command()
@click.option("--customers", type=click.IntRange(1, 1_000_000), default=200, show_default=True,
              help="People in the sample; each submits 1-4 forms.")
@click.option("--seed", type=int, default=84, show_default=True, help="Sample seed (same seed, same sample).")
@click.option("--workers", type=click.IntRange(1, 8), default=1, show_default=True, help="Stream workers.")
@click.option("--serve", is_flag=True,
              help="Afterwards keep the API, the web console and the metrics up on the demo data, print their "
                   "addresses, and stop everything on Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="Print only a final JSON line (for scripts).")
def demo(customers: int, seed: int, workers: int, serve: bool, as_json: bool) -> None:
    """Start embedded services, post a sample through the webhook, resolve, print what it resolved.

    Nothing is left running afterwards (with --serve: after Ctrl-C). With HOPNHAT_KAFKA_BOOTSTRAP /
    HOPNHAT_DATABASE_URL set, those are used instead of the embedded broker and PostgreSQL.

    \b
    Browse the result:
      hopnhat demo --serve       then open the printed console address (http://127.0.0.1:8080/console)
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from hopnhat.demo import run_demo

    settings = load_settings()
    console = Console(stderr=True)
    bar: Progress | None = None

    def serve_until_ctrl_c(result: DemoResult, s: Settings, children: list[ChildService]) -> None:
        if bar is not None:
            bar.stop()
        show(result, as_json)
        addresses = service_addresses(s)
        if as_json:
            click.echo(json.dumps(addresses))
        else:
            click.echo("\nServing the demo data:")
            for label, address in addresses.items():
                click.echo(f"  {label:<9} {address}")
            click.echo("Ctrl-C to stop")
        signal.signal(signal.SIGTERM, stop_like_ctrl_c)  # a service manager's stop cleans up the same way
        while all(c.alive() for c in children):
            time.sleep(0.5)
        dead = [c for c in children if not c.alive()]
        raise click.ClickException(f"{dead[0].name} exited:\n{dead[0].log_tail()}")

    on_ready = serve_until_ctrl_c if serve else None
    if as_json:
        result = run_demo(settings=settings, customers=customers, seed=seed, workers=workers, on_ready=on_ready)
        if not serve:
            show(result, as_json)
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

        result = run_demo(settings=settings, customers=customers, seed=seed, workers=workers, progress=progress,
                          on_ready=on_ready)
    if not serve:
        show(result, as_json)


def stop_like_ctrl_c(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def service_addresses(s: Settings) -> dict[str, str]:
    """What a person can open while `--serve` runs; /metrics only if this server exposes it."""
    import httpx

    base = f"http://{s.http_host}:{s.http_port}"
    addresses = {"console": f"{base}/console", "api docs": f"{base}/docs",
                 "webhooks": f"{base}/webhooks/{{channel}}/{{source}}"}
    if s.api_auth == "required" and s.database_url:
        from hopnhat.access import create_key

        # The demo's people are made up, but the console and API run as in production: behind a key.
        addresses["api key"] = create_key(database_url=s.database_url, role="admin", name="hopnhat demo --serve").key
    try:
        if httpx.get(f"{base}/metrics", timeout=5).status_code == 200:
            addresses["metrics"] = f"{base}/metrics"
    except httpx.HTTPError:
        pass
    return addresses


CHANNEL_NOUNS = {"webform": "form submissions", "zalo": "Zalo OA events", "sapo": "Sapo orders",
                 "callcenter": "calls"}


def channel_counts(by_channel: dict[str, int]) -> str:
    busiest_first = sorted(by_channel.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{n} {CHANNEL_NOUNS.get(ch, ch)}" for ch, n in busiest_first)


def show(result: DemoResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        return
    ok = result.interactions_stored == result.accepted and result.dlq == 0
    click.echo(
        f"\n{result.events_in} events from {result.people} people went through the webhooks "
        f"({channel_counts(result.by_channel)}; {result.accepted} accepted) in {result.post_s:.1f}s.\n"
        f"Stored {result.interactions_stored} interactions; the stream resolved them into {result.customers_streamed} "
        f"customers by shared phones, emails and Zalo ids.\n"
        f"Bulk resolution (`hopnhat resolve`, fuzzy matching on names, birth dates and addresses) merged "
        f"{result.bulk_merges} more, queued {result.review_queue} uncertain pairs for review and kept "
        f"{result.shared_identifiers} shared phones/emails from linking different people: "
        f"{result.customers} customers, {result.identifiers} identifiers, {result.merges} merges in all, each "
        f"with its evidence (`hopnhat explain ID`).\n"
        f"DLQ: {result.dlq}.  Throughput {result.events_per_s:.0f} events/s webhook-to-PostgreSQL; "
        f"wall time {result.wall_s:.1f}s.\n"
        + ("All accepted events are stored." if ok else "WARNING: not every accepted event was stored.")
    )
    from hopnhat.cli.quality import render

    click.echo("\nData quality (as `hopnhat quality` reports it):\n" + render(result.quality, 0.9))
    click.echo("\n(`hopnhat demo --json` prints all of this as one JSON line.)")
