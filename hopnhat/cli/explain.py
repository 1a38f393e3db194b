"""`hopnhat explain CUSTOMER`: why these records are one customer, from the stored evidence."""

from __future__ import annotations

import json
from typing import Any

import click
import psycopg

from hopnhat.settings import load_settings
from schema.errors import HopnhatError


class CustomerNotFound(HopnhatError):
    """No customer has that id."""

    http_status = 404
    exit_code = 1


def explain_customer(conn: psycopg.Connection, customer_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT coalesce(merged_into, id) FROM customers WHERE id = %s::uuid", (customer_id,)).fetchone()
    if row is None:
        raise CustomerNotFound(f"no customer {customer_id} (look one up with the API or the console)")
    root = row[0]
    records = [{"record": f"{s}|{r}", "channel": ch, "linked_by": rule, "identifier": ident}
               for s, r, ch, rule, ident in conn.execute(
                   """SELECT source, source_record_id, channel, link_rule, link_identifier FROM source_records
                       WHERE customer_id = %s ORDER BY created_at, id""", (root,)).fetchall()]
    merges = [{"merge_id": mid, "absorbed": str(absorbed), "reason": reason, "at": at.isoformat(), "evidence": details}
              for mid, absorbed, reason, at, details in conn.execute(
                  """SELECT m.id, m.absorbed_id, m.reason, m.created_at, e.details
                       FROM merges m JOIN match_evidence e ON e.id = m.evidence_id
                      WHERE m.survivor_id = %s AND m.undone_at IS NULL ORDER BY m.id""", (root,)).fetchall()]
    return {"customer_id": str(root), "asked_for": customer_id, "records": records, "merges": merges}


@click.command()
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def explain(customer_id: str, as_json: bool) -> None:
    """Why are these records one customer? Every record with the rule that linked it, every merge
    with its evidence: the shared identifier, or each field's agreement level and weight."""
    with psycopg.connect(load_settings().store_url()) as conn:
        out = explain_customer(conn, customer_id)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    if out["customer_id"] != customer_id:
        click.echo(f"{customer_id} was merged into {out['customer_id']}")
    click.echo(f"customer {out['customer_id']}: {len(out['records'])} source records")
    for r in out["records"]:
        click.echo(f"  {r['record']:<40} {r['channel']:<10} {r['linked_by']}" + (f" ({r['identifier']})" if r["identifier"] else ""))
    for m in out["merges"]:
        ev = m["evidence"] or {}
        click.echo(f"  merge #{m['merge_id']}: absorbed {m['absorbed']} by {m['reason']}")
        if ev.get("fields"):
            click.echo(f"    p={ev.get('probability')}  weight={ev.get('match_weight')} bits")
            for name, f in ev["fields"].items():
                click.echo(f"    {name:<11} {f['meaning']:<38} {f['weight']:+.2f}")
        elif ev.get("survivor_keys") or ev.get("absorbed_keys"):
            click.echo(f"    event {ev.get('event_id')} carried {', '.join(ev.get('survivor_keys', []) + ev.get('absorbed_keys', []))}")
