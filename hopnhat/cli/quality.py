"""`hopnhat quality`: data-quality scores per source and field (accuracy, completeness, consistency,
timeliness), stored in PostgreSQL and printed."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from typing import TYPE_CHECKING

from hopnhat.settings import load_settings
from schema.errors import ConfigError

if TYPE_CHECKING:
    from hopnhat.quality import QualityScore


@click.command()
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.9, show_default=True,
              help="Flag scores below this share.")
@click.option("--window-hours", type=click.FloatRange(min=0, min_open=True), default=24.0, show_default=True,
              help="Timeliness: an event counts as timely if stored within this many hours of happening.")
@click.option("--strict", is_flag=True, help="Exit 1 when any score is flagged (for scripts and alerts).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of scores.")
def quality(threshold: float, window_hours: float, strict: bool, as_json: bool) -> None:
    """Score the data in HOPNHAT_DATABASE_URL per source and field, and keep the figures.

    \b
    accuracy      share of phone / email values that validate
    completeness  share of records carrying name / phone / email at all
    consistency   share of customers without conflicting names across sources
    timeliness    share of events stored within --window-hours of when they happened
    """
    from hopnhat.quality import compute_quality

    settings = load_settings()
    if not settings.database_url:
        raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file); "
                          "`hopnhat demo` prints quality for its own sample")
    scores = compute_quality(database_url=settings.database_url, threshold=threshold,
                             window=timedelta(hours=window_hours))
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in scores], ensure_ascii=False))
    else:
        click.echo(render(scores, threshold))
    if strict and any(s.flagged for s in scores):
        raise SystemExit(1)


def render(scores: list[QualityScore], threshold: float) -> str:
    if not scores:
        return "no data yet"
    lines = [f"{'source':<24} {'field':<11} {'criterion':<13} {'score':>7}  {'n/N':>13}"]
    for s in scores:
        pct = "   n/a" if s.score is None else f"{s.score * 100:6.1f}%"
        mark = "  << below {:.0f}%".format(threshold * 100) if s.flagged else ""
        lines.append(f"{s.source:<24} {s.field:<11} {s.criterion:<13} {pct:>7}  {s.numerator:>6}/{s.denominator:<6}{mark}")
    return "\n".join(lines)
