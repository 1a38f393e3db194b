"""`hopnhat resolve`: bulk identity resolution over every stored record (resolver/engine.py)."""

from __future__ import annotations

import asyncio
import json

import click

from hopnhat.settings import load_settings


@click.command()
@click.option("--merge-threshold", type=click.FloatRange(0, 1), default=0.99, show_default=True,
              help="Match probability at or above which two records merge.")
@click.option("--review-threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Pairs between this and --merge-threshold go to the review queue.")
@click.option("--dry-run", is_flag=True, help="Resolve and report, write nothing.")
@click.option("--no-publish", is_flag=True, help="Do not send profiles and merges to the broker afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def resolve(merge_threshold: float, review_threshold: float, dry_run: bool, no_publish: bool, as_json: bool) -> None:
    """Resolve every stored source record at once and apply the merges it finds.

    \b
    Run it after `hopnhat import` of a large list, or after changing thresholds:
      1. stitches records sharing identifiers (with merge protection),
      2. matches the rest probabilistically (Fellegi-Sunter, parameters trained on your data),
      3. merges clusters spanning several customers (evidence kept; `hopnhat explain` shows it),
      4. queues uncertain pairs for `hopnhat review`, and publishes profiles and merges.
    It only adds merges; `hopnhat unmerge` splits. Thresholds and weights: docs/MATCHING.md.
    """
    from hopnhat.bulk_resolve import publish_report, resolve_store
    from resolver.engine import EngineConfig

    if review_threshold > merge_threshold:
        raise click.BadParameter("--review-threshold must not exceed --merge-threshold")
    settings = load_settings()
    config = EngineConfig(merge_threshold=merge_threshold, review_threshold=review_threshold)
    report = resolve_store(settings.store_url(), config, dry_run=dry_run)
    published = False
    if not dry_run and not no_publish and settings.kafka_bootstrap and (report.profiles or report.merges):
        asyncio.run(publish_report(settings, report))
        published = True
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "published": published}, ensure_ascii=False))
        return
    verb = "would merge" if dry_run else "merged"
    click.echo(f"{report.records:,} records, {report.customers_before:,} customers before, "
               f"{report.customers_after:,} after: {verb} {report.customers_before - report.customers_after:,}")
    click.echo(f"review queue: +{report.review_added:,}   shared identifiers: {report.shared_identifiers:,}")
    click.echo("seconds: " + ", ".join(f"{k} {v}" for k, v in report.seconds.items()))
