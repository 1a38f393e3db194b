"""`hopnhat status`: one screen of deployment health; exit 0 healthy, 1 unhealthy (scripts, alerts)."""

from __future__ import annotations

import json
import time

from typing import TYPE_CHECKING

import click

from hopnhat.settings import load_settings

if TYPE_CHECKING:
    from rich.console import Console, Group

    from hopnhat.status import StatusReport


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (the body of GET /v1/status).")
@click.option("--watch", type=click.FloatRange(min=0.5), is_flag=False, flag_value=5.0, default=None,
              metavar="[SECONDS]", help="Refresh every SECONDS (5 when no value is given) until Ctrl-C.")
def status(as_json: bool, watch: float | None) -> None:
    """Consumer lag, events/s, DLQ depth, database size, last event per channel and data quality.

    \b
    Unhealthy (exit 1) when any of these holds:
      broker or database does not answer, or the schema is not at the code's migration head
      a partition lags by more than HOPNHAT_STATUS_MAX_LAG records (default 10000)
      more than HOPNHAT_STATUS_MAX_NEW_DEAD_LETTERS (default 0) dead letters arrived within
      HOPNHAT_STATUS_DLQ_WINDOW_S (default 900 s); older letters, already looked at, do not count
    Flagged quality scores are printed as warnings and do not change the exit code.
    With --watch the exit code is that of the last report.
    """
    from rich.console import Console

    from hopnhat.status import collect_status

    settings = load_settings()
    console = Console()
    report = collect_status(settings=settings)
    if watch is None:
        _print(console, report, as_json)
    else:
        try:
            while True:
                if not as_json:
                    console.clear()
                _print(console, report, as_json)
                time.sleep(watch)
                report = collect_status(settings=settings)
        except KeyboardInterrupt:
            pass
    if not report.healthy:
        raise SystemExit(1)


def _print(console: Console, report: StatusReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        console.print(render(report))


def render(report: StatusReport) -> Group:
    """The report as rich renderables (tables are left out when they would be empty)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Text | Table] = []
    head = Text(f"hopnhat status  {report.generated_at:%Y-%m-%d %H:%M:%S} UTC  ")
    head.append("HEALTHY" if report.healthy else "UNHEALTHY", style="bold green" if report.healthy else "bold red")
    parts.append(head)
    for problem in report.problems:
        parts.append(Text(f"  problem: {problem}", style="red"))
    for warning in report.warnings:
        parts.append(Text(f"  warning: {warning}", style="yellow"))
    if report.lag:
        t = Table(title="consumer lag", title_justify="left")
        for col in ("group", "topic", "partition", "committed", "end", "lag"):
            t.add_column(col, justify="right" if col in ("partition", "committed", "end", "lag") else "left")
        for row in report.lag:
            t.add_row(row.group, row.topic, str(row.partition), "-" if row.committed is None else f"{row.committed:,}",
                      f"{row.end:,}", f"{row.lag:,}")
        parts.append(t)
    if report.rates:
        t = Table(title="events/s over the last minute", title_justify="left")
        for col in ("stage", "channel", "events/s"):
            t.add_column(col, justify="right" if col == "events/s" else "left")
        for rate in report.rates:
            t.add_row(rate.stage, rate.channel, f"{'>=' if rate.capped else ''}{rate.events_per_s:,.2f}")
        parts.append(t)
    if report.dlq:
        t = Table(title="dead letters", title_justify="left")
        for col in ("topic", "depth", "recent", "recent by reason"):
            t.add_column(col, justify="right" if col in ("depth", "recent") else "left")
        for d in report.dlq:
            t.add_row(d.topic, f"{d.depth:,}", f"{d.recent:,}",
                      ", ".join(f"{r} {n}" for r, n in sorted(d.recent_by_reason.items())))
        parts.append(t)
    if report.database is not None:
        db = report.database
        parts.append(Text(f"database  {db.size_bytes / 1e6:,.1f} MB  customers {db.customers:,}  "
                          f"interactions {db.interactions:,}  schema {db.revision or 'none'}"))
    if report.last_event:
        t = Table(title="last event per channel", title_justify="left")
        for col in ("channel", "received", "stored"):
            t.add_column(col)
        for e in report.last_event:
            t.add_row(e.channel, f"{e.at:%Y-%m-%d %H:%M:%S %Z}", f"{e.stored_at:%Y-%m-%d %H:%M:%S %Z}")
        parts.append(t)
    if report.quality:
        t = Table(title="data quality (latest `hopnhat quality` run)", title_justify="left")
        for col in ("source", "field", "criterion", "score"):
            t.add_column(col, justify="right" if col == "score" else "left")
        for q in report.quality:
            score = "n/a" if q.score is None else f"{q.score:.1%}"
            t.add_row(q.source, q.field, q.criterion, Text(score, style="yellow" if q.flagged else ""))
        parts.append(t)
    return Group(*parts)
