"""Checkpoints of pull-based ingests (file imports, IMAP polling), kept in PostgreSQL.

Write a checkpoint only after the broker acknowledged every event up to it; on restart, read it and
skip what was already published. A checkpoint that runs ahead of the broker would lose events; one
that lags only re-publishes events whose ids make them no-ops downstream.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from hopnhat.settings import psycopg_url


def load_checkpoint(database_url: str, source: str) -> dict[str, Any] | None:
    with psycopg.connect(psycopg_url(database_url)) as conn:
        row = conn.execute("SELECT checkpoint FROM ingest_checkpoints WHERE source = %s", (source,)).fetchone()
    return dict(row[0]) if row else None


def save_checkpoint(database_url: str, source: str, checkpoint: dict[str, Any]) -> None:
    with psycopg.connect(psycopg_url(database_url)) as conn:
        conn.execute(
            """INSERT INTO ingest_checkpoints (source, checkpoint, updated_at) VALUES (%s, %s::jsonb, now())
               ON CONFLICT (source) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = now()""",
            (source, json.dumps(checkpoint, ensure_ascii=False)),
        )
