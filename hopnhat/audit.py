"""The audit log: every read of unmasked PII and every export, written to the `audit_log` table.

Who (key id and role), when, which customer or which query, which fields, what action. Query values
are stored masked (a lookup by phone is recorded as `+84 91* *** 678` plus the customer it found):
the audit log must not become a second copy of the PII it watches over, and erasing a person then
only needs their customer id here, not a scan of free-form text.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from hopnhat.access import Caller
from hopnhat.settings import psycopg_url

READ_PII = "read_pii"
EXPORT = "export"

_INSERT = """INSERT INTO audit_log (key_id, role, action, customer_id, query, fields)
             VALUES (%s, %s, %s, %s, %s, %s)"""


_INSERT_ASYNC_COMMIT = """
INSERT INTO audit_log (key_id, role, action, customer_id, query, fields)
SELECT r.key_id, r.role, r.action, r.customer_id, r.query, r.fields
  FROM jsonb_to_recordset(%(rows)s) AS r(key_id text, role text, action text, customer_id uuid, query jsonb,
                                         fields text[]),
       (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"""


def _row_json(params: tuple[object, ...]) -> dict[str, Any]:
    key_id, role, action, cid, query, fields = params
    return {"key_id": key_id, "role": role, "action": action, "customer_id": str(cid) if cid else None,
            "query": query.obj, "fields": fields}  # type: ignore[attr-defined]


def _params(caller: Caller, action: str, customer_id: str | uuid.UUID | None, query: dict[str, Any],
            fields: Sequence[str]) -> tuple[object, ...]:
    cid = uuid.UUID(str(customer_id)) if customer_id is not None else None
    return (caller.key_id, caller.role.value, action, cid, Jsonb(query), list(fields))


async def record_read(pool: AsyncConnectionPool, caller: Caller, *, customer_ids: Sequence[str | uuid.UUID | None],
                      query: dict[str, Any], fields: Sequence[str]) -> None:
    """One `read_pii` row per customer shown unmasked (a search showing five people writes five)."""
    if not caller.sees_pii:
        return
    rows = [_params(caller, READ_PII, cid, query, fields) for cid in customer_ids or [None]]
    async with pool.connection() as conn:
        # The row is committed before the answer leaves, but without waiting for the WAL flush to
        # disk: that wait cost ~6 ms per read (bench/api.py: lookup p50 1.7 -> 7.4 ms) on the
        # development machine. Only a crash of PostgreSQL itself within ~0.6 s (3 x wal_writer_delay)
        # can lose a row; an app crash cannot. set_config(..., true) in the statement itself keeps it
        # to one round trip and to this transaction. docs/SECURITY.md says so.
        await conn.execute(_INSERT_ASYNC_COMMIT, {"rows": Jsonb([_row_json(r) for r in rows])})


def record_export(*, database_url: str, caller: Caller, query: dict[str, Any], fields: Sequence[str]) -> None:
    with psycopg.connect(psycopg_url(database_url)) as conn:
        conn.execute(_INSERT, _params(caller, EXPORT, None, query, fields))
