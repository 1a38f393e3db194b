"""The bulk path of identity resolution: every stored source record through the engine at once.

`hopnhat resolve` reads `source_records` (what the stream stored, including whole imported lists),
runs `resolver.engine.resolve_records` with the review queue's decisions, and applies what it found
in one transaction: clusters that span several current customers are merged into the oldest (with
the engine's evidence on `match_evidence` and a `merges` row each), uncertain or refused pairs land in
`review_queue`, and the trained parameters are kept in `match_parameters`. It only ever adds merges;
splitting is `hopnhat unmerge`'s job (an operator decision), so a bulk run never undoes a merge the
stream made on a shared identifier.

The resulting profiles, tombstones and merge events are returned for the caller to publish on
customers.profiles / customers.merges (hopnhat/cli/resolve.py does, after the commit).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg

from resolver.engine import BulkResolution, EngineConfig, Link, resolve_records
from resolver.features import MatchRecord, match_record_from_stored
from resolver.profile import ProfileBuilder
from schema.errors import DatabaseUnavailable, HopnhatError
from schema.events import MergeEvent

if TYPE_CHECKING:
    from hopnhat.settings import Settings

RESOLVE_LOCK = 0x686F706E_72736C76  # one bulk resolution at a time (pg_advisory_lock key)


class StaleStore(HopnhatError):
    """A customer changed while the bulk resolution ran (the stream merged it): run it again."""

    http_status = 409
    exit_code = 1


@dataclass(slots=True)
class ResolveReport:
    records: int = 0
    customers_before: int = 0
    customers_after: int = 0
    merges: list[MergeEvent] = field(default_factory=list)
    review_added: int = 0
    shared_identifiers: int = 0
    engine: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    tombstones: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "customers_before": self.customers_before,
                "customers_after": self.customers_after, "merges": len(self.merges),
                "review_added": self.review_added, "shared_identifiers": self.shared_identifiers,
                "dry_run": self.dry_run, "seconds": self.seconds, "engine": self.engine}


@dataclass(frozen=True, slots=True)
class _Stored:
    record: MatchRecord
    customer: str  # current root customer id


def load_records(conn: psycopg.Connection) -> Iterator[_Stored]:
    with conn.cursor(name="hopnhat_resolve_records") as cur:  # server-side: a million rows stream
        cur.itersize = 5000
        cur.execute(
            """SELECT s.source, s.source_record_id, s.first_event_id, coalesce(i.occurred_at, s.created_at),
                      s.record, coalesce(c.merged_into, c.id)
                 FROM source_records s
                 JOIN customers c ON c.id = s.customer_id
                 LEFT JOIN interactions i ON i.event_id = s.first_event_id""")
        for source, rid, event_id, occurred, record, customer in cur:
            key = f"{source}|{rid}"
            yield _Stored(match_record_from_stored(key, event_id, occurred.isoformat(), record), str(customer))


def load_decisions(conn: psycopg.Connection) -> dict[tuple[str, str], bool]:
    rows = conn.execute("SELECT left_record, right_record, same_person FROM review_decisions").fetchall()
    return {(a, b): bool(same) for a, b, same in rows}


def resolve_store(database_url: str, config: EngineConfig | None = None, dry_run: bool = False) -> ResolveReport:
    report = ResolveReport(dry_run=dry_run)
    try:
        conn = psycopg.connect(database_url, autocommit=False)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (RESOLVE_LOCK,))
        t0 = time.perf_counter()
        stored = list(load_records(conn))
        decisions = load_decisions(conn)
        conn.commit()
        report.seconds["load"] = round(time.perf_counter() - t0, 3)
        report.records = len(stored)
        owner = {s.record.key: s.customer for s in stored}
        report.customers_before = len(set(owner.values()))

        t1 = time.perf_counter()
        result = resolve_records([s.record for s in stored], config, decisions=decisions)
        report.seconds["resolve"] = round(time.perf_counter() - t1, 3)
        report.engine = {k: v for k, v in result.stats.items() if k != "blocking"}
        report.shared_identifiers = len(result.shared)

        t2 = time.perf_counter()
        plan = _merge_plan(result, owner)
        report.customers_after = report.customers_before - len(plan)
        if not dry_run:
            _apply(conn, plan, result, owner, report)
            conn.commit()
        report.seconds["store"] = round(time.perf_counter() - t2, 3)
        conn.execute("SELECT pg_advisory_unlock(%s)", (RESOLVE_LOCK,))
        conn.commit()
    return report


def _merge_plan(result: BulkResolution, owner: dict[str, str]) -> dict[str, tuple[str, Link]]:
    """absorbed customer -> (the customer it joins, the link that joins them), per engine cluster.

    Within a cluster, customers are joined along the engine's own links (each link that crosses two
    current customers is that merge's evidence); the survivor is resolved to a root afterwards."""
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while c in parent:
            c = parent[c]
        return c

    plan: dict[str, tuple[str, Link]] = {}
    for link in result.links:
        a, b = owner.get(link.left), owner.get(link.right)
        if a is None or b is None:
            continue
        ra, rb = find(a), find(b)
        if ra == rb or result.cluster_of[link.left] != result.cluster_of[link.right]:
            continue
        survivor, absorbed = sorted((ra, rb))  # re-ordered by age in _apply
        parent[absorbed] = survivor
        plan[absorbed] = (survivor, link)
    return {absorbed: (find(survivor), link) for absorbed, (survivor, link) in plan.items()}


def _apply(conn: psycopg.Connection, plan: dict[str, tuple[str, Link]], result: BulkResolution,
           owner: dict[str, str], report: ResolveReport) -> None:
    now = datetime.now(UTC)
    cur = conn.cursor()
    involved = sorted({c for absorbed, (survivor, _) in plan.items() for c in (absorbed, survivor)})
    rows = {}
    if involved:
        cur.execute("SELECT id, merged_into, created_at, profile FROM customers WHERE id = ANY(%s::uuid[]) "
                    "ORDER BY id FOR UPDATE", (involved,))
        for cid, merged_into, created_at, profile in cur.fetchall():
            if merged_into is not None:
                raise StaleStore(f"customer {cid} was merged by the stream while resolving; run `hopnhat resolve` again")
            rows[str(cid)] = (created_at, profile)
    # Group by final survivor; the oldest customer of each group survives (the stream's rule).
    groups: dict[str, list[tuple[str, Link]]] = {}
    for absorbed, (survivor, link) in plan.items():
        groups.setdefault(survivor, []).append((absorbed, link))
    for root, members in groups.items():
        ids = [root] + [a for a, _ in members]
        survivor = min(ids, key=lambda c: (rows[c][0], c))
        builder = ProfileBuilder.from_stored(rows[survivor][1]) if rows[survivor][1] else ProfileBuilder(survivor)
        evidence_of = dict(members)
        evidence_of.setdefault(root, members[0][1])
        for absorbed in sorted(set(ids) - {survivor}):
            link = evidence_of[absorbed]
            evidence = {"engine": "bulk", "left_record": link.left, "right_record": link.right, "rule": link.rule,
                        "match_weight": link.match_weight, "probability": link.probability, "fields": link.fields}
            cur.execute("INSERT INTO match_evidence (rule, details, event_id) VALUES (%s, %s, NULL) RETURNING id",
                        (link.rule, json.dumps(evidence, ensure_ascii=False)))
            evidence_id = cur.fetchone()[0]  # type: ignore[index]
            cur.execute("INSERT INTO merges (survivor_id, absorbed_id, reason, evidence_id, created_at) "
                        "VALUES (%s, %s, %s, %s, %s)", (survivor, absorbed, link.rule, evidence_id, now))
            cur.execute("UPDATE customers SET merged_into = %s, updated_at = %s WHERE id = %s OR merged_into = %s",
                        (survivor, now, absorbed, absorbed))
            for table in ("identifiers", "source_records"):
                cur.execute(f"UPDATE {table} SET customer_id = %s WHERE customer_id = %s", (survivor, absorbed))
            if rows[absorbed][1]:
                builder.absorb(ProfileBuilder.from_stored(rows[absorbed][1]))
            report.merges.append(MergeEvent(survivor=survivor, absorbed=absorbed, reason=link.rule,
                                            evidence=evidence, evidence_id=evidence_id, at=now))
            report.tombstones.append(absorbed)
        profile = builder.build(now)
        cur.execute("UPDATE customers SET profile = %s, updated_at = %s WHERE id = %s",
                    (json.dumps(profile, ensure_ascii=False), now, survivor))
        report.profiles[survivor] = profile

    pending = [(p.left, p.right, p.reason, p.probability, json.dumps({"detail": p.detail, "fields": p.fields},
                                                                      ensure_ascii=False))
               for p in result.review if result.cluster_of.get(p.left) != result.cluster_of.get(p.right)]
    if pending:
        cur.execute(
            """INSERT INTO review_queue (left_record, right_record, reason, probability, evidence)
               SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::jsonb[])
               ON CONFLICT (left_record, right_record) DO NOTHING""",
            tuple(list(col) for col in zip(*pending, strict=True)))
        report.review_added = cur.rowcount
    if result.params is not None:
        cur.execute("INSERT INTO match_parameters (records, parameters) VALUES (%s, %s)",
                    (report.records, json.dumps(result.params.as_json())))


async def publish_report(settings: Settings, report: ResolveReport) -> None:
    """Profiles, tombstones (absorbed ids) and merge events of a committed run, acknowledged by the broker."""
    from hopnhat.http.publisher import RawPublisher
    from streams.topics import Topics

    topics = Topics.from_settings(settings)
    publisher = RawPublisher(settings, timeout_s=30.0)
    try:
        records: list[tuple[bytes, Any]] = [
            (cid.encode(), json.dumps(p, ensure_ascii=False).encode()) for cid, p in report.profiles.items()]
        records += [(cid.encode(), None) for cid in report.tombstones]
        if records:
            await publisher.publish_all(topics.profiles, records)
        merges = [(m.survivor.encode(), m.model_dump_json().encode()) for m in report.merges]
        if merges:
            await publisher.publish_all(topics.merges, merges)
    finally:
        await publisher.close()
