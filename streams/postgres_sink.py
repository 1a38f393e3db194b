"""Applies a resolver plan for one micro-batch to PostgreSQL, in one transaction.

Used by the resolve agent (streams/app.py) and, later, by the bulk path. Free of faust.

Per batch: one read of existing links, a handful of set-based writes (multi-row INSERT ... SELECT
FROM unnest(...) ON CONFLICT), one commit. Redelivered events (their event id is already in
`interactions`) are skipped, so replays are no-ops, but the profiles they touch are re-published.

Concurrency (several workers in one consumer group): before reading, the transaction takes
transaction-scoped advisory locks on every identifier key of the batch, in ascending order, so two
batches that share an identifier are serialised and no two lock sets can deadlock. It then locks the
customer rows it will touch with SELECT ... ORDER BY id FOR UPDATE (again one global order) and
checks none was merged away since it read; if one was, it rolls back and retries.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from resolver.candidates import best_matches, block_keys
from resolver.features import SHAREABLE_ID_TYPES, match_record, match_record_from_stored
from resolver.fellegi_sunter import MatchParameters
from resolver.plan import (
    SOURCE_KEY_TYPE,
    ExistingCustomer,
    Key,
    ResolutionPlan,
    StoreFacts,
    event_keys,
    resolve_batch,
)
from schema.errors import DatabaseUnavailable
from schema.events import CanonicalEvent, MergeEvent

log = logging.getLogger(__name__)
MAX_STALE_RETRIES = 8
PARAMS_TTL_S = 300.0  # how long a worker uses the match parameters it read before looking again


class _StaleRead(Exception):
    """A customer we read was merged away by a concurrent batch before we locked it."""


@dataclass(slots=True)
class BatchOutcome:
    stored: int = 0
    skipped: int = 0
    new_customers: int = 0
    merges: list[MergeEvent] = field(default_factory=list)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # GoldenProfile JSON objects
    # the same profiles serialised as written to customers.profile, so publishing does not encode them again
    profile_json: dict[str, str] = field(default_factory=dict)
    tombstones: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # reason -> links/merges protection stopped
    review_queued: int = 0


def lock_key(key: Key) -> int:
    digest = hashlib.blake2b(f"{key[0]}\x1f{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresSink:
    def __init__(self, conn: psycopg.AsyncConnection) -> None:
        self.conn = conn
        self._params: MatchParameters | None = None
        self._params_read = 0.0  # monotonic time of the last read of match_parameters

    @classmethod
    async def connect(cls, database_url: str) -> PostgresSink:
        try:
            conn = await psycopg.AsyncConnection.connect(database_url, autocommit=False)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        return cls(conn)

    async def close(self) -> None:
        await self.conn.close()

    async def apply(self, events: Sequence[CanonicalEvent]) -> BatchOutcome:
        """Resolve and store one batch; retries when a concurrent merge made our read stale."""
        for attempt in range(MAX_STALE_RETRIES):
            try:
                async with self.conn.transaction():
                    return await self._apply(events)
            except _StaleRead:
                log.info("batch read a customer merged concurrently; retrying (attempt %d)", attempt + 1)
        raise DatabaseUnavailable(f"batch kept racing concurrent merges after {MAX_STALE_RETRIES} attempts")

    async def _apply(self, events: Sequence[CanonicalEvent]) -> BatchOutcome:
        now = datetime.now(UTC)
        cur = self.conn.cursor()
        outcome = BatchOutcome()

        unique: dict[str, CanonicalEvent] = {}
        for e in events:
            unique.setdefault(e.event_id, e)
        await cur.execute("SELECT event_id FROM interactions WHERE event_id = ANY(%b::text[])", (list(unique),))
        known = {row[0] for row in await cur.fetchall()}
        fresh = [e for eid, e in unique.items() if eid not in known]
        outcome.skipped = len(events) - len(fresh)

        keys = sorted({k for e in fresh for k in event_keys(e)})
        await cur.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%b::bigint[]) AS k",
                          (sorted({lock_key(k) for k in keys}),))

        owners = await self._owners(cur, keys)
        holders = await self._holders(cur, [k for k in keys if k[0] in SHAREABLE_ID_TYPES and k in owners])
        hints = await self._fuzzy(cur, fresh, owners)
        existing = await self._lock_customers(cur, set(owners.values()) | {h[0] for h in hints.values()}
                                              | {c for held in holders.values() for c in held})
        facts = await self._facts(cur, existing, fresh)
        plan = resolve_batch(fresh, owners, existing, now, facts, hints, holders)
        await self._write(cur, plan, fresh, existing, now, outcome)
        await self._queue_refused(cur, plan, fresh, outcome)
        if known:
            outcome.profiles.update(await self._profiles_of_events(cur, sorted(known), outcome.profiles))
        return outcome

    async def _owners(self, cur: psycopg.AsyncCursor, keys: Sequence[Key]) -> dict[Key, str]:
        idents = [k for k in keys if k[0] != SOURCE_KEY_TYPE]
        sources = [k[1].split("|", 1) for k in keys if k[0] == SOURCE_KEY_TYPE]
        owners: dict[Key, str] = {}
        await cur.execute(
            """SELECT i.type, i.value, coalesce(c.merged_into, c.id)
                 FROM identifiers i JOIN customers c ON c.id = i.customer_id
                WHERE (i.type, i.value) IN (SELECT * FROM unnest(%b::text[], %b::text[]))""",
            ([k[0] for k in idents], [k[1] for k in idents]),
        )
        for t, v, cid in await cur.fetchall():
            owners[(t, v)] = str(cid)
        await cur.execute(
            """SELECT s.source, s.source_record_id, coalesce(c.merged_into, c.id)
                 FROM source_records s JOIN customers c ON c.id = s.customer_id
                WHERE (s.source, s.source_record_id) IN (SELECT * FROM unnest(%b::text[], %b::text[]))""",
            ([s[0] for s in sources], [s[1] for s in sources]),
        )
        for src, rid, cid in await cur.fetchall():
            owners[(SOURCE_KEY_TYPE, f"{src}|{rid}")] = str(cid)
        return owners

    async def _holders(self, cur: psycopg.AsyncCursor, keys: Sequence[Key]) -> dict[Key, list[str]]:
        """The other customers (roots) holding each shared phone or email of the batch."""
        if not keys:
            return {}
        await cur.execute(
            """SELECT h.type, h.value, coalesce(c.merged_into, c.id)
                 FROM identifier_holders h JOIN customers c ON c.id = h.customer_id
                WHERE (h.type, h.value) IN (SELECT * FROM unnest(%b::text[], %b::text[]))
                ORDER BY h.type, h.value, c.created_at, c.id""",
            ([k[0] for k in keys], [k[1] for k in keys]),
        )
        holders: dict[Key, list[str]] = {}
        for t, v, cid in await cur.fetchall():
            holders.setdefault((t, v), []).append(str(cid))
        return holders

    async def _lock_customers(self, cur: psycopg.AsyncCursor, ids: set[str]) -> dict[str, ExistingCustomer]:
        if not ids:
            return {}
        await cur.execute(
            "SELECT id, merged_into, created_at, profile FROM customers WHERE id = ANY(%b::uuid[]) "
            "ORDER BY id FOR UPDATE",
            (sorted(ids),),
        )
        existing: dict[str, ExistingCustomer] = {}
        for cid, merged_into, created_at, profile in await cur.fetchall():
            if merged_into is not None:
                raise _StaleRead(str(cid))
            existing[str(cid)] = ExistingCustomer(str(cid), created_at, profile)
        return existing

    async def _facts(self, cur: psycopg.AsyncCursor, existing: dict[str, ExistingCustomer],
                     fresh: Sequence[CanonicalEvent]) -> StoreFacts:
        """Birth dates, identifiers, names and operator decisions of the customers the batch touches."""
        ids = sorted(existing)
        dates: dict[str, list[str]] = {}
        idents: dict[str, list[tuple[str, str]]] = {}
        if ids:
            await cur.execute("SELECT customer_id, type, value FROM identifiers WHERE customer_id = ANY(%b::uuid[])",
                              (ids,))
            for cid, t, v in await cur.fetchall():
                idents.setdefault(str(cid), []).append((t, v))
            await cur.execute(
                """SELECT DISTINCT customer_id, record -> 'attributes' ->> 'birth_date' FROM source_records
                    WHERE customer_id = ANY(%b::uuid[]) AND record -> 'attributes' ? 'birth_date'""", (ids,))
            for cid, d in await cur.fetchall():
                dates.setdefault(str(cid), []).append(d)
        facts = {cid: (dates.get(cid, []), idents.get(cid, [])) for cid in ids}
        names = {cid: [n["value"] for n in (c.profile or {}).get("names", [])] for cid, c in existing.items()}
        batch_records = {f"{e.source}|{e.source_record_id}" for e in fresh}
        await cur.execute(
            """SELECT d.left_record, d.right_record, coalesce(cl.merged_into, cl.id), coalesce(cr.merged_into, cr.id)
                 FROM review_decisions d
                 LEFT JOIN source_records sl ON sl.source = split_part(d.left_record, '|', 1)
                      AND sl.source_record_id = substr(d.left_record, strpos(d.left_record, '|') + 1)
                 LEFT JOIN customers cl ON cl.id = sl.customer_id
                 LEFT JOIN source_records sr ON sr.source = split_part(d.right_record, '|', 1)
                      AND sr.source_record_id = substr(d.right_record, strpos(d.right_record, '|') + 1)
                 LEFT JOIN customers cr ON cr.id = sr.customer_id
                WHERE NOT d.same_person""")
        apart: list[tuple[str, str]] = []
        for left, right, left_customer, right_customer in await cur.fetchall():
            a = left if left in batch_records or left_customer is None else str(left_customer)
            b = right if right in batch_records or right_customer is None else str(right_customer)
            if {a, b} & (existing.keys() | batch_records):
                apart.append((a, b))
        return StoreFacts(facts=facts, names=names, apart=apart)

    async def _match_parameters(self, cur: psycopg.AsyncCursor) -> MatchParameters | None:
        """The parameters of the last `hopnhat resolve`, re-read every PARAMS_TTL_S; None until one ran."""
        if time.monotonic() - self._params_read > PARAMS_TTL_S:
            await cur.execute("SELECT parameters FROM match_parameters ORDER BY id DESC LIMIT 1")
            row = await cur.fetchone()
            self._params = MatchParameters.from_json(row[0]) if row else None
            self._params_read = time.monotonic()
        return self._params

    async def _fuzzy(self, cur: psycopg.AsyncCursor, fresh: Sequence[CanonicalEvent], owners: dict[Key, str],
                     ) -> dict[str, tuple[str, str, dict[str, Any]]]:
        """Fuzzy matches for events none of whose keys is known: looked up by blocking key in
        match_keys, scored with the trained parameters (resolver/candidates.py)."""
        unknown = [e for e in fresh if e.name is not None and not any(k in owners for k in event_keys(e))]
        params = await self._match_parameters(cur) if unknown else None
        if params is None:
            return {}
        new = {e.event_id: match_record(e) for e in unknown}
        keys = sorted({k for r in new.values() for k in block_keys(r)})
        if not keys:
            return {}
        await cur.execute(
            """SELECT DISTINCT s.source, s.source_record_id, s.first_event_id, coalesce(i.occurred_at, s.created_at),
                      s.record, coalesce(c.merged_into, c.id)
                 FROM match_keys k
                 JOIN source_records s ON s.source = k.source AND s.source_record_id = k.source_record_id
                 JOIN customers c ON c.id = s.customer_id
                 LEFT JOIN interactions i ON i.event_id = s.first_event_id
                WHERE k.key = ANY(%b::bigint[]) LIMIT 5000""", (keys,))
        stored, customer_of = [], {}
        for src, rid, ev, occurred, record, cid in await cur.fetchall():
            key = f"{src}|{rid}"
            stored.append(match_record_from_stored(key, ev, occurred.isoformat(), record))
            customer_of[key] = str(cid)
        matches = best_matches(list(new.values()), stored, customer_of, params)
        by_record = {r.key: eid for eid, r in new.items()}
        return {by_record[m.record]: (m.customer_id, m.candidate, {"probability": m.probability,
                                                                   "match_weight": m.match_weight, "fields": m.fields})
                for m in matches.values()}

    async def _queue_refused(self, cur: psycopg.AsyncCursor, plan: ResolutionPlan, fresh: Sequence[CanonicalEvent],
                             outcome: BatchOutcome) -> None:
        """Conflicts and limits go to the review queue (a shared phone or an operator's "no" does not)."""
        for r in plan.refused:
            outcome.refused[r.reason] = outcome.refused.get(r.reason, 0) + 1
        queued = [r for r in plan.refused if r.reason.startswith(("conflict:", "limit:"))]
        if not queued:
            return
        record_of = {e.event_id: f"{e.source}|{e.source_record_id}" for e in fresh}
        await cur.execute(
            """INSERT INTO review_queue (left_record, right_record, reason, evidence)
               SELECT q.rec, first.rec, q.reason, jsonb_build_object('detail', q.detail, 'key', q.key, 'stage', 'stream')
                 FROM unnest(%b::text[], %b::uuid[], %b::text[], %b::text[], %b::text[]) AS q(rec, cid, reason, detail, key)
                 CROSS JOIN LATERAL (SELECT s.source || '|' || s.source_record_id AS rec FROM source_records s
                                      WHERE s.customer_id = q.cid ORDER BY s.created_at, s.id LIMIT 1) first
               ON CONFLICT (left_record, right_record) DO NOTHING""",
            ([record_of[r.event_id] for r in queued], [r.customer_id for r in queued],
             [r.reason for r in queued], [r.detail for r in queued],
             # identifier types only: the values are PII and stay in the records, where erasure finds them
             [",".join(k.split(":", 1)[0] for k in r.key.split(",")) for r in queued]))
        outcome.review_queued = cur.rowcount

    async def _write(self, cur: psycopg.AsyncCursor, plan: ResolutionPlan, fresh: Sequence[CanonicalEvent],
                     existing: dict[str, ExistingCustomer], now: datetime, outcome: BatchOutcome) -> None:
        # 1. New customers; created_at keeps mint order so the survivor rule stays stable later.
        if plan.new_customers:
            await cur.execute(
                """INSERT INTO customers (id, profile, created_at, updated_at)
                   SELECT id, '{}'::jsonb, created, %s FROM unnest(%b::uuid[], %b::timestamptz[]) AS t(id, created)""",
                (now, plan.new_customers, [now + timedelta(microseconds=i) for i in range(len(plan.new_customers))]),
            )
        outcome.new_customers = len(plan.new_customers)

        # 2. Merges: evidence, merge rows, redirects kept one hop deep, identifiers re-pointed.
        redirect = plan.redirects
        for merge in plan.merges:
            await cur.execute(
                "INSERT INTO match_evidence (rule, details, event_id) VALUES (%s, %s, %s) RETURNING id",
                (merge.rule, json.dumps(merge.evidence, ensure_ascii=False), merge.evidence.get("event_id")),
            )
            row = await cur.fetchone()
            assert row is not None
            await cur.execute(
                "INSERT INTO merges (survivor_id, absorbed_id, reason, evidence_id, created_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                (merge.survivor, merge.absorbed, merge.rule, row[0], now),
            )
            outcome.merges.append(MergeEvent(survivor=merge.survivor, absorbed=merge.absorbed, reason=merge.rule,
                                             evidence=merge.evidence, evidence_id=row[0], at=now))
        if redirect:
            params = (list(redirect), list(redirect.values()))
            await cur.execute(
                """UPDATE customers c SET merged_into = m.root, updated_at = %s
                     FROM unnest(%b::uuid[], %b::uuid[]) AS m(old, root)
                    WHERE c.id = m.old OR c.merged_into = m.old""", (now, *params))
            for table in ("identifiers", "source_records"):
                await cur.execute(
                    f"""UPDATE {table} t SET customer_id = m.root
                          FROM unnest(%b::uuid[], %b::uuid[]) AS m(old, root) WHERE t.customer_id = m.old""",
                    params)
        outcome.tombstones = list(redirect)

        # 3. Identifiers (one row per key: first/last seen folded here, ON CONFLICT can't touch a row twice).
        seen: dict[Key, tuple[datetime, datetime]] = {}
        for e in fresh:
            for ident in e.identifiers:
                k = (ident.type.value, ident.value)
                lo, hi = seen.get(k, (e.occurred_at, e.occurred_at))
                seen[k] = (min(lo, e.occurred_at), max(hi, e.occurred_at))
        if seen:
            ks = sorted(seen)
            await cur.execute(
                """INSERT INTO identifiers (type, value, customer_id, first_seen, last_seen)
                   SELECT * FROM unnest(%b::text[], %b::text[], %b::uuid[], %b::timestamptz[], %b::timestamptz[])
                   ON CONFLICT (type, value) DO UPDATE
                      SET customer_id = EXCLUDED.customer_id,
                          first_seen = least(identifiers.first_seen, EXCLUDED.first_seen),
                          last_seen = greatest(identifiers.last_seen, EXCLUDED.last_seen)""",
                ([k[0] for k in ks], [k[1] for k in ks], [plan.owners[k] for k in ks],
                 [seen[k][0] for k in ks], [seen[k][1] for k in ks]),
            )

        if plan.holders:
            await cur.execute(
                """INSERT INTO identifier_holders (type, value, customer_id)
                   SELECT * FROM unnest(%b::text[], %b::text[], %b::uuid[]) ON CONFLICT DO NOTHING""",
                ([k[0] for k, _ in plan.holders], [k[1] for k, _ in plan.holders], [c for _, c in plan.holders]))

        # 4. Source records and interactions (idempotent on their natural keys).
        if fresh:
            records: dict[tuple[str, str], CanonicalEvent] = {}
            for e in fresh:
                records.setdefault((e.source, e.source_record_id), e)
            rec = list(records.values())
            await cur.execute(
                """INSERT INTO source_records (source, source_record_id, channel, customer_id, link_rule,
                                               link_identifier, record, first_event_id, created_at)
                   SELECT s, r, ch, c, rule, ident, rec::jsonb, ev, %s
                     FROM unnest(%b::text[], %b::text[], %b::text[], %b::uuid[], %b::text[], %b::text[],
                                 %b::text[], %b::text[]) AS t(s, r, ch, c, rule, ident, rec, ev)
                   ON CONFLICT (source, source_record_id) DO NOTHING""",
                (now, [e.source for e in rec], [e.source_record_id for e in rec], [e.channel for e in rec],
                 [plan.links[e.event_id].customer_id for e in rec], [plan.links[e.event_id].rule for e in rec],
                 [plan.links[e.event_id].identifier for e in rec],
                 [e.model_dump_json(include={"identifiers", "name", "address", "attributes"}) for e in rec],
                 [e.event_id for e in rec]),
            )
            await cur.execute(
                """INSERT INTO interactions (event_id, customer_id, channel, source, source_record_id, kind,
                                             occurred_at, received_at, summary, amount_vnd, payload,
                                             raw_topic, raw_partition, raw_offset, stored_at)
                   SELECT ev, c, ch, s, r, k, o, rc, sm, amt, pl::jsonb, rt, rp, ro, %s
                     FROM unnest(%b::text[], %b::uuid[], %b::text[], %b::text[], %b::text[], %b::text[],
                                 %b::timestamptz[], %b::timestamptz[], %b::text[], %b::bigint[], %b::text[],
                                 %b::text[], %b::int[], %b::bigint[])
                          AS t(ev, c, ch, s, r, k, o, rc, sm, amt, pl, rt, rp, ro)
                   ON CONFLICT (event_id) DO NOTHING""",
                (now, [e.event_id for e in fresh], [plan.links[e.event_id].customer_id for e in fresh],
                 [e.channel for e in fresh], [e.source for e in fresh], [e.source_record_id for e in fresh],
                 [e.interaction.kind for e in fresh], [e.occurred_at for e in fresh],
                 [e.received_at for e in fresh], [e.interaction.summary for e in fresh],
                 [e.interaction.amount_vnd for e in fresh],
                 [json.dumps(e.interaction.payload, ensure_ascii=False) for e in fresh],
                 [e.raw_ref.topic if e.raw_ref else None for e in fresh],
                 [e.raw_ref.partition if e.raw_ref else None for e in fresh],
                 [e.raw_ref.offset if e.raw_ref else None for e in fresh]),
            )
            outcome.stored = cur.rowcount
            rows = [(k, e.source, e.source_record_id) for e in rec for k in block_keys(plan.records[e.event_id])]
            if rows:
                await cur.execute(
                    """INSERT INTO match_keys (key, source, source_record_id)
                       SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[]) ON CONFLICT DO NOTHING""",
                    tuple(list(col) for col in zip(*rows, strict=True)))
            for event_id, evidence in plan.evidence.items():
                await cur.execute(
                    "INSERT INTO match_evidence (rule, details, event_id) VALUES ('probabilistic', %s, %s)",
                    (json.dumps(evidence, ensure_ascii=False), event_id))

        # 5. Golden profiles of every touched root.
        if plan.profiles:
            ids = sorted(plan.profiles)
            encoded = [json.dumps(plan.profiles[i], ensure_ascii=False) for i in ids]
            await cur.execute(
                """UPDATE customers c SET profile = p.profile::jsonb, updated_at = %s
                     FROM unnest(%b::uuid[], %b::text[]) AS p(id, profile) WHERE c.id = p.id""",
                (now, ids, encoded),
            )
            outcome.profile_json = dict(zip(ids, encoded, strict=True))
        outcome.profiles = dict(plan.profiles)

    async def _profiles_of_events(self, cur: psycopg.AsyncCursor, event_ids: list[str],
                                  already: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        await cur.execute(
            """SELECT DISTINCT r.id, r.profile FROM interactions i
                 JOIN customers c ON c.id = i.customer_id
                 JOIN customers r ON r.id = coalesce(c.merged_into, c.id)
                WHERE i.event_id = ANY(%b::text[])""", (event_ids,))
        return {str(cid): p for cid, p in await cur.fetchall() if str(cid) not in already and p}
