"""`hopnhat review list|accept|reject`: the queue of record pairs the engine would not decide alone."""

from __future__ import annotations

import json
import os
from typing import Any

import click
import psycopg

from hopnhat.settings import load_settings
from schema.errors import HopnhatError


class ReviewItemNotFound(HopnhatError):
    """No open review item has that id."""

    http_status = 404
    exit_code = 1


def _connect() -> psycopg.Connection:
    return psycopg.connect(load_settings().store_url())


@click.group()
def review() -> None:
    """Pairs of records that may be one person: decide, and the decision is remembered.

    \b
      hopnhat review list                      open pairs, most likely first
      hopnhat review accept 12 --by lan        same person: merged now, and on every later run
      hopnhat review reject 13 --by lan        different people: never merged again by any rule
    """


@review.command("list")
@click.option("--status", type=click.Choice(["open", "accepted", "rejected", "all"]), default="open", show_default=True)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_cmd(status: str, limit: int, as_json: bool) -> None:
    """Show review items with the reason and the per-field evidence."""
    with _connect() as conn:
        rows = conn.execute(
            """SELECT id, left_record, right_record, reason, probability, evidence, status, created_at
                 FROM review_queue WHERE %s = 'all' OR status = %s
                ORDER BY probability DESC NULLS LAST, id LIMIT %s""", (status, status, limit)).fetchall()
    for rid, left, right, reason, prob, evidence, st, created in rows:
        item: dict[str, Any] = {"id": rid, "left": left, "right": right, "reason": reason, "probability": prob,
                                "status": st, "evidence": evidence, "created_at": created.isoformat()}
        if as_json:
            click.echo(json.dumps(item, ensure_ascii=False))
            continue
        p = f"{prob:.3f}" if prob is not None else "  -  "
        click.echo(f"#{rid:<6} p={p}  {reason:<22} {left}  <->  {right}  [{st}]")
        fields = (evidence or {}).get("fields") or {}
        if fields:
            click.echo("        " + ", ".join(f"{k}: {v['meaning']} ({v['weight']:+.1f})" for k, v in fields.items()))
        if (evidence or {}).get("detail"):
            click.echo(f"        {evidence['detail']}")
    if not rows and not as_json:
        click.echo(f"no {status} review items")


def _decide(item_id: int, same: bool, by: str | None, apply: bool) -> None:
    by = by or os.environ.get("USER") or "cli"
    with _connect() as conn:
        row = conn.execute("SELECT left_record, right_record FROM review_queue WHERE id = %s AND status = 'open'",
                           (item_id,)).fetchone()
        if row is None:
            raise ReviewItemNotFound(f"no open review item #{item_id} (see `hopnhat review list --status all`)")
        left, right = sorted(row)
        conn.execute(
            """INSERT INTO review_decisions (left_record, right_record, same_person, decided_by)
               VALUES (%s, %s, %s, %s) ON CONFLICT (left_record, right_record)
               DO UPDATE SET same_person = EXCLUDED.same_person, decided_by = EXCLUDED.decided_by,
                             decided_at = now()""", (left, right, same, by))
        conn.execute("UPDATE review_queue SET status = %s, decided_at = now(), decided_by = %s WHERE id = %s",
                     ("accepted" if same else "rejected", by, item_id))
    click.echo(f"#{item_id}: {'same person' if same else 'different people'} ({left} / {right}), decided by {by}")
    if same and apply:
        from hopnhat.bulk_resolve import resolve_store

        report = resolve_store(load_settings().store_url())
        click.echo(f"applied: {len(report.merges)} merge(s)")


@review.command()
@click.argument("item_id", type=int)
@click.option("--by", help="Who decided (default: $USER).")
@click.option("--no-apply", is_flag=True, help="Only record the decision; the next `hopnhat resolve` applies it.")
def accept(item_id: int, by: str | None, no_apply: bool) -> None:
    """The two records are one person: merge them, now and in every later resolution."""
    _decide(item_id, True, by, not no_apply)


@review.command()
@click.argument("item_id", type=int)
@click.option("--by", help="Who decided (default: $USER).")
def reject(item_id: int, by: str | None) -> None:
    """The two records are different people: no rule may put them together again."""
    _decide(item_id, False, by, False)
