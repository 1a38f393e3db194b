"""`hopnhat unmerge`: split a customer whose records are not one person."""

from __future__ import annotations

import asyncio
import json
import os

import click
import psycopg

from hopnhat.settings import load_settings


@click.command()
@click.argument("customer_id")
@click.option("--merge", "merge_id", type=int, help="Undo this merge (ids in `hopnhat explain CUSTOMER`).")
@click.option("--apart", nargs=2, metavar="RECORD RECORD",
              help="Two records (source|source_record_id) that are different people.")
@click.option("--by", help="Who decided (default: $USER).")
@click.option("--no-publish", is_flag=True, help="Do not send the new profiles and split events to the broker.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def unmerge(customer_id: str, merge_id: int | None, apart: tuple[str, str] | None, by: str | None,
            no_publish: bool, as_json: bool) -> None:
    """Split CUSTOMER: the two sides are remembered as different people, and only this customer's
    records are resolved again (the result is as if the wrong link had never been made).

    \b
      hopnhat explain 5b0c...                         find the merge that was wrong
      hopnhat unmerge 5b0c... --merge 42              undo it
      hopnhat unmerge 5b0c... --apart "kiotviet:shop1|KH01" "webform:lien-he|sub-9"
    """
    from hopnhat.bulk_resolve import ResolveReport, publish_report
    from hopnhat.unmerge import sides_of_merge, split_customer

    if (merge_id is None) == (apart is None):
        raise click.UsageError("give exactly one of --merge ID or --apart RECORD RECORD")
    settings = load_settings()
    url = settings.store_url()
    if merge_id is not None:
        with psycopg.connect(url) as conn:
            apart = sides_of_merge(conn, merge_id)
    assert apart is not None
    report = split_customer(url, customer_id, apart, by or os.environ.get("USER") or "cli")
    if not no_publish and settings.kafka_bootstrap and len(report.customers) > 1:
        asyncio.run(publish_report(settings, ResolveReport(profiles=report.profiles, merges=report.events)))
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    click.echo(f"customer {report.customer_id}: {report.records} records -> {len(report.customers)} customer(s)")
    for cid, records in report.customers.items():
        click.echo(f"  {cid}: {', '.join(records)}")
