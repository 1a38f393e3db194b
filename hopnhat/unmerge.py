"""Unmerge: split a customer and re-resolve only its own records.

An operator says two records are different people (`hopnhat unmerge CUSTOMER --apart A B`), or
points at a merge that was wrong (`--merge ID`: its two sides are taken apart). The decision is
stored in `review_decisions` (so no later run, bulk or stream, puts them together again), and the
customer's records, and nothing else, go through the engine again with it. Each resulting cluster
becomes a customer: the one holding the record that created the original customer keeps its id,
the others get the id the stream would have minted for their earliest record (usually the id they
had before the merge, which therefore answers lookups again). Interactions, identifiers and source
records move with their records, merges that no longer hold are marked undone, profiles are
recomputed from the stored records, and a `split` event per new customer is returned for
customers.merges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from resolver.engine import cluster_id_for, resolve_records
from resolver.fellegi_sunter import MatchParameters
from resolver.features import match_record_from_stored
from resolver.profile import ProfileBuilder
from schema.errors import HopnhatError
from schema.events import MergeEvent


class UnmergeError(HopnhatError):
    """The split cannot be done as asked (unknown customer, merge or record)."""

    http_status = 400
    exit_code = 1


@dataclass(slots=True)
class SplitReport:
    customer_id: str
    records: int = 0
    customers: dict[str, list[str]] = field(default_factory=dict)  # customer id -> its record keys
    events: list[MergeEvent] = field(default_factory=list)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "records": self.records, "customers": self.customers,
                "splits": len(self.events)}


def sides_of_merge(conn: psycopg.Connection, merge_id: int) -> tuple[str, str]:
    """Two records, one from each side of a merge, taken from its stored evidence."""
    row = conn.execute("""SELECT m.survivor_id, m.absorbed_id, e.details FROM merges m
                            JOIN match_evidence e ON e.id = m.evidence_id WHERE m.id = %s""", (merge_id,)).fetchone()
    if row is None:
        raise UnmergeError(f"no merge #{merge_id} (see `hopnhat explain CUSTOMER`)")
    details = row[2] or {}
    if details.get("left_record") and details.get("right_record"):  # bulk evidence names both records
        return details["left_record"], details["right_record"]
    # Stream evidence: the bridging event carried keys of both sides; take a record of each side
    # holding them, other than the bridge itself.
    bridge = details.get("event_id")
    sides = []
    for keys in (details.get("survivor_keys", []), details.get("absorbed_keys", [])):
        record = _holder(conn, keys, bridge)
        if record is None:
            raise UnmergeError(f"merge #{merge_id}: no record other than the bridging event holds {keys}; "
                               "use --apart RECORD RECORD")
        sides.append(record)
    return sides[0], sides[1]


def _holder(conn: psycopg.Connection, keys: list[str], bridge: str | None) -> str | None:
    for key in keys:
        kind, value = key.split(":", 1)
        if kind == "_source":
            return value
        row = conn.execute(
            """SELECT source || '|' || source_record_id FROM source_records
                WHERE record -> 'identifiers' @> %s::jsonb AND first_event_id IS DISTINCT FROM %s
                ORDER BY created_at, id LIMIT 1""",
            (json.dumps([{"type": kind, "value": value}]), bridge)).fetchone()
        if row is not None:
            return str(row[0])
    return None


def split_customer(database_url: str, customer_id: str, apart: tuple[str, str], decided_by: str) -> SplitReport:
    now = datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT coalesce(merged_into, id) FROM customers WHERE id = %s::uuid",
                           (customer_id,)).fetchone()
        if row is None:
            raise UnmergeError(f"no customer {customer_id}")
        root = str(row[0])
        report = SplitReport(root)
        # Lock the customer and everything merged into it, in id order (the sink's lock order).
        family = [str(r[0]) for r in conn.execute(
            "SELECT id FROM customers WHERE id = %s OR merged_into = %s ORDER BY id FOR UPDATE", (root, root))]
        rows = conn.execute(
            """SELECT s.source, s.source_record_id, s.first_event_id, coalesce(i.occurred_at, s.created_at), s.record
                 FROM source_records s LEFT JOIN interactions i ON i.event_id = s.first_event_id
                WHERE s.customer_id = %s""", (root,)).fetchall()
        keys = {f"{src}|{rid}" for src, rid, *_ in rows}
        missing = [k for k in apart if k not in keys]
        if missing:
            raise UnmergeError(f"records {missing} are not part of customer {root}")
        left, right = sorted(apart)
        conn.execute(
            """INSERT INTO review_decisions (left_record, right_record, same_person, decided_by)
               VALUES (%s, %s, false, %s) ON CONFLICT (left_record, right_record)
               DO UPDATE SET same_person = false, decided_by = EXCLUDED.decided_by, decided_at = now()""",
            (left, right, decided_by))
        decisions = {(a, b): bool(same) for a, b, same in conn.execute(
            "SELECT left_record, right_record, same_person FROM review_decisions "
            "WHERE left_record = ANY(%s) AND right_record = ANY(%s)", (list(keys), list(keys))).fetchall()}
        trained = conn.execute("SELECT parameters FROM match_parameters ORDER BY id DESC LIMIT 1").fetchone()
        params = MatchParameters.from_json(trained[0]) if trained else None

        records = [match_record_from_stored(f"{src}|{rid}", ev, occurred.isoformat(), rec)
                   for src, rid, ev, occurred, rec in rows]
        result = resolve_records(records, params=params, decisions=decisions)
        report.records = len(records)
        clusters: dict[str, list[str]] = {}
        for key, cluster in result.cluster_of.items():
            clusters.setdefault(cluster, []).append(key)
        first_event = {f"{src}|{rid}": ev for src, rid, ev, *_ in rows}
        new_id = _customer_ids(root, clusters, first_event)
        record_owner = {key: new_id[cluster] for cluster, members in clusters.items() for key in members}
        report.customers = {new_id[c]: sorted(m) for c, m in clusters.items()}

        cur = conn.cursor()
        for cid in set(record_owner.values()) - set(family):
            cur.execute("INSERT INTO customers (id, profile, created_at, updated_at) VALUES (%s, '{}'::jsonb, %s, %s)",
                        (cid, now, now))
        owners = sorted(set(record_owner.values()))
        cur.execute("UPDATE customers SET merged_into = NULL, updated_at = %s WHERE id = ANY(%s::uuid[])", (now, owners))
        # A formerly absorbed id that is not a customer of its own now redirects to the customer
        # holding the record it was minted for (or to the root).
        minted_for = {cluster_id_for(ev): key for key, ev in first_event.items()}
        redirect = {old: old if old in owners else record_owner.get(minted_for.get(old, ""), root) for old in family}
        for old, target in redirect.items():
            if old != target:
                cur.execute("UPDATE customers SET merged_into = %s, updated_at = %s WHERE id = %s", (target, now, old))
        src, rid, owner = zip(*[(k.split("|", 1)[0], k.split("|", 1)[1], v) for k, v in record_owner.items()],
                              strict=True)
        for table in ("source_records", "interactions"):
            cur.execute(f"""UPDATE {table} t SET customer_id = m.owner
                              FROM unnest(%s::text[], %s::text[], %s::uuid[]) AS m(s, r, owner)
                             WHERE t.source = m.s AND t.source_record_id = m.r""", (list(src), list(rid), list(owner)))
        # An identifier belongs to the customer of the latest record holding it.
        holder: dict[tuple[str, str], tuple[str, str]] = {}
        for s_, r_, _ev, occurred, rec in rows:
            for ident in rec.get("identifiers", []):
                k = (ident["type"], ident["value"])
                seen = occurred.isoformat()
                if k not in holder or holder[k][0] <= seen:
                    holder[k] = (seen, record_owner[f"{s_}|{r_}"])
        if holder:
            ks = list(holder)
            cur.execute("""UPDATE identifiers t SET customer_id = m.owner
                             FROM unnest(%s::text[], %s::text[], %s::uuid[]) AS m(ty, v, owner)
                            WHERE t.type = m.ty AND t.value = m.v""",
                        ([k[0] for k in ks], [k[1] for k in ks], [holder[k][1] for k in ks]))
        still_merged = [old for old, target in redirect.items() if target == root and old != root]
        cur.execute("""UPDATE merges SET undone_at = %s WHERE undone_at IS NULL AND survivor_id = %s
                          AND absorbed_id <> ALL(%s::uuid[])""", (now, root, still_merged))
        report.profiles = _profiles(cur, owners, now)
        for cid in owners:
            if cid != root:
                report.events.append(MergeEvent(kind="split", survivor=root, absorbed=cid, reason="unmerge:operator",
                                                evidence={"apart": [left, right], "decided_by": decided_by,
                                                          "records": report.customers[cid]}, at=now))
    return report


def _customer_ids(root: str, clusters: dict[str, list[str]], first_event: dict[str, str]) -> dict[str, str]:
    """Engine cluster -> customer id: the cluster holding the record that minted `root` keeps it."""
    ids: dict[str, str] = {}
    for cluster, members in clusters.items():
        ids[cluster] = root if any(cluster_id_for(first_event[k]) == root for k in members) else cluster
    if root not in ids.values():  # root was minted elsewhere (bulk id): the largest cluster keeps it
        largest = max(clusters, key=lambda c: (len(clusters[c]), c))
        ids[largest] = root
    return ids


def _profiles(cur: psycopg.Cursor, owners: list[str], now: datetime) -> dict[str, dict[str, Any]]:
    builders = {cid: ProfileBuilder(cid) for cid in owners}
    cur.execute(
        """SELECT i.customer_id, i.channel, i.source, i.occurred_at, s.record
             FROM interactions i JOIN source_records s
               ON s.source = i.source AND s.source_record_id = i.source_record_id
            WHERE i.customer_id = ANY(%s::uuid[])""", (owners,))
    for cid, channel, source, occurred, record in cur.fetchall():
        builders[str(cid)].add_stored(record, channel, source, occurred)
    profiles = {cid: b.build(now) for cid, b in builders.items()}
    cur.execute("""UPDATE customers c SET profile = p.profile::jsonb, updated_at = %s
                     FROM unnest(%s::uuid[], %s::text[]) AS p(id, profile) WHERE c.id = p.id""",
                (now, owners, [json.dumps(profiles[c], ensure_ascii=False) for c in owners]))
    return profiles
