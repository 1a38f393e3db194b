"""One health report of a deployment: `hopnhat status` prints it, `GET /v1/status` serves it as JSON.

Every figure is measured, never estimated:

lag         per consumer group (HOPNHAT_APP_ID), topic and partition of raw.* and events.canonical:
            the measured end offset minus the group's committed offset (hopnhat/offsets.py explains
            why the end offset is measured: the embedded Tansu under-reports it).
rates       events per second over the last 60 s, per stage and channel. "ingest": records written
            to raw.<channel>; "normalise": canonical events written to events.canonical (by the
            event's channel); both from record timestamps, counted by reading the tail of each
            partition (at most RATE_TAIL records per partition; `capped` marks a lower bound).
            "resolve": interactions stored (interactions.stored_at). Dead-lettered records are the
            difference between ingest and normalise, and are in `dlq`.
dlq         records held in each DLQ topic, counted by reading it, and how many arrived within
            `status_dlq_window_s`, by reason.
database    size of the database, live customers, interactions.
last_event  per channel, the latest received_at (when hopnhat accepted it) and stored_at of a stored event.
quality     the latest `hopnhat quality` run.

Healthy means: broker and database answer, the schema is at the code's migration head, no partition
lags by more than `status_max_lag` records, and no more than `status_max_new_dead_letters` dead
letters arrived within `status_dlq_window_s`. Flagged quality scores are warnings, not problems.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from hopnhat.settings import Settings, psycopg_url
from schema.errors import HopnhatError
from streams.topics import Topics, bootstrap_servers

RATE_WINDOW_S = 60.0
RATE_TAIL = 20_000


@dataclass(frozen=True, slots=True)
class Rate:
    stage: str
    channel: str
    events_per_s: float
    capped: bool = False


@dataclass(frozen=True, slots=True)
class DlqDepth:
    topic: str
    depth: int
    recent: int  # letters newer than the window
    recent_by_reason: dict[str, int]


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    size_bytes: int
    customers: int
    interactions: int
    revision: str | None
    head: str


@dataclass(frozen=True, slots=True)
class LastEvent:
    channel: str
    at: datetime
    stored_at: datetime


@dataclass(frozen=True, slots=True)
class QualityRow:
    source: str
    field: str
    criterion: str
    score: float | None
    flagged: bool


@dataclass(slots=True)
class StatusReport:
    generated_at: datetime
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lag: list[Any] = field(default_factory=list)  # hopnhat.offsets.PartitionLag
    rates: list[Rate] = field(default_factory=list)
    dlq: list[DlqDepth] = field(default_factory=list)
    database: DatabaseFigures | None = None
    last_event: list[LastEvent] = field(default_factory=list)
    quality: list[QualityRow] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `GET /v1/status` and `hopnhat status --json` (keys are a contract: add, never rename)."""
        db = self.database
        return {
            "healthy": self.healthy,
            "problems": self.problems,
            "warnings": self.warnings,
            "generated_at": self.generated_at.isoformat(),
            "lag": [row.as_dict() for row in self.lag],
            "rates": [asdict(r) for r in self.rates],
            "dlq": [asdict(d) for d in self.dlq],
            "database": ({"size_bytes": db.size_bytes, "customers": db.customers, "interactions": db.interactions,
                          "revision": db.revision, "head": db.head} if db else None),
            "last_event": [{"channel": e.channel, "at": e.at.isoformat(), "stored_at": e.stored_at.isoformat()}
                           for e in self.last_event],
            "quality": [asdict(q) for q in self.quality],
            "thresholds": self.thresholds,
        }


def report_from_dict(data: dict[str, Any]) -> StatusReport:
    """A report back from its JSON (`GET /v1/status`), so `hopnhat remote status` prints the same screen."""
    from hopnhat.offsets import PartitionLag

    db = data.get("database")
    return StatusReport(
        generated_at=datetime.fromisoformat(data["generated_at"]),
        problems=list(data.get("problems", [])), warnings=list(data.get("warnings", [])),
        lag=[PartitionLag(**row) for row in data.get("lag", [])],
        rates=[Rate(**r) for r in data.get("rates", [])],
        dlq=[DlqDepth(**d) for d in data.get("dlq", [])],
        database=DatabaseFigures(**db) if db else None,
        last_event=[LastEvent(channel=e["channel"], at=datetime.fromisoformat(e["at"]),
                              stored_at=datetime.fromisoformat(e["stored_at"])) for e in data.get("last_event", [])],
        quality=[QualityRow(**q) for q in data.get("quality", [])],
        thresholds=dict(data.get("thresholds", {})),
    )


def _database(report: StatusReport, database_url: str) -> None:
    from hopnhat.migrate import head_revision

    head = head_revision()
    try:
        conn = psycopg.connect(psycopg_url(database_url), connect_timeout=5)
    except psycopg.OperationalError as exc:
        report.problems.append(f"database unreachable: {str(exc).strip().splitlines()[0]}")
        return
    with conn:
        has_version = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
        revision = None
        if has_version and has_version[0]:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        if revision != head:
            report.problems.append(f"database schema at revision {revision or 'none'}, code expects {head}: "
                                   "run `hopnhat migrate`")
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            report.database = DatabaseFigures(int(size[0]) if size else 0, 0, 0, revision, head)
            return
        row = conn.execute(
            """SELECT pg_database_size(current_database()),
                      (SELECT count(*) FROM customers WHERE merged_into IS NULL),
                      (SELECT count(*) FROM interactions)""").fetchone()
        assert row is not None
        report.database = DatabaseFigures(int(row[0]), int(row[1]), int(row[2]), revision, head)
        # Both read interactions without an index on stored_at/received_at: a sequential scan, fine
        # for the tables a status check sees today, to be indexed when a store grows to many millions.
        report.rates += [Rate("resolve", ch, round(n / RATE_WINDOW_S, 3)) for ch, n in conn.execute(
            "SELECT channel, count(*) FROM interactions WHERE stored_at > now() - make_interval(secs => %s) "
            "GROUP BY channel ORDER BY channel", (RATE_WINDOW_S,)).fetchall()]
        report.last_event = [LastEvent(ch, at, stored) for ch, at, stored in conn.execute(
            "SELECT channel, max(received_at), max(stored_at) FROM interactions GROUP BY channel ORDER BY channel")]
        report.quality = [QualityRow(*r) for r in conn.execute(
            """SELECT source, field, criterion, score, flagged FROM quality_scores
                WHERE computed_at = (SELECT max(computed_at) FROM quality_scores)
                ORDER BY source, field, criterion""")]


def _channel_of_canonical(value: bytes | None) -> str:
    try:
        channel = json.loads(value or b"").get("channel")
    except (ValueError, AttributeError):
        return "unknown"
    return channel if isinstance(channel, str) else "unknown"


def _topic_rates(settings: Settings, topics: Topics, now: float) -> list[Rate]:
    """Records written in the last RATE_WINDOW_S to raw.<channel> ("ingest") and events.canonical
    ("normalise", by the event's channel), from record timestamps in each partition's tail."""
    from kafka import KafkaConsumer, TopicPartition

    from hopnhat.offsets import measured_end_offsets

    channel_of_raw = {topic: channel for channel, topic in topics.raw.items()}
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers(settings), client_id="hopnhat-status",
                             enable_auto_commit=False, fetch_max_wait_ms=100)
    counts: Counter[tuple[str, str]] = Counter()
    capped: set[tuple[str, str]] = set()
    try:
        names = [*topics.raw.values(), topics.canonical]
        tps = [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = measured_end_offsets(consumer, tps)
        starts = {tp: max(0, end - RATE_TAIL) for tp, end in ends.items() if end > 0}
        if starts:
            consumer.assign(list(starts))
            for tp, start in starts.items():
                consumer.seek(tp, start)
            cutoff_ms = (now - RATE_WINDOW_S) * 1000
            remaining = set(starts)
            deadline = time.monotonic() + 15
            while remaining and time.monotonic() < deadline:
                for tp, records in consumer.poll(timeout_ms=300, max_records=5000).items():
                    for rec in records:
                        if rec.offset >= ends[tp] or rec.timestamp < cutoff_ms:
                            continue
                        if tp.topic == topics.canonical:
                            key = ("normalise", _channel_of_canonical(rec.value))
                        else:
                            key = ("ingest", channel_of_raw[tp.topic])
                        counts[key] += 1
                        if rec.offset == starts[tp] and starts[tp] > 0:
                            capped.add(key)  # the window may begin before the tail we read
                    if records and records[-1].offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        consumer.close()
    return [Rate(stage, channel, round(n / RATE_WINDOW_S, 3), (stage, channel) in capped)
            for (stage, channel), n in sorted(counts.items())]


def collect_status(*, settings: Settings) -> StatusReport:
    """Measure everything listed in the module docstring; a service that does not answer is a problem."""
    from kafka.errors import KafkaError

    from hopnhat.dlq import read_dead_letters
    from hopnhat.offsets import group_lag, unreachable_brokers

    now = datetime.now(UTC)
    report = StatusReport(generated_at=now, thresholds={
        "max_lag": settings.status_max_lag, "dlq_window_s": settings.status_dlq_window_s,
        "max_new_dead_letters": settings.status_max_new_dead_letters})
    topics = Topics.from_settings(settings)
    if settings.database_url:
        _database(report, settings.database_url)
    else:
        report.problems.append("HOPNHAT_DATABASE_URL is not set")
    if not settings.kafka_bootstrap:
        report.problems.append("HOPNHAT_KAFKA_BOOTSTRAP is not set")
        return report
    servers = bootstrap_servers(settings)
    if len(unreachable_brokers(settings)) == len(servers):
        report.problems.append(f"broker unreachable: no answer from {', '.join(servers)}")
        return report
    try:
        report.lag = group_lag(settings, settings.app_id, [*topics.raw.values(), topics.canonical])
        report.rates = _topic_rates(settings, topics, now.timestamp()) + report.rates
        window_start = now - timedelta(seconds=settings.status_dlq_window_s)
        depth: Counter[str] = Counter()
        recent: dict[str, Counter[str]] = {}
        names = [topics.dlq_ingest, topics.dlq_normalise, topics.dlq_resolve]
        for entry in read_dead_letters(settings, names):
            depth[entry.dlq_topic] += 1
            if entry.letter.at >= window_start:
                recent.setdefault(entry.dlq_topic, Counter())[entry.letter.reason] += 1
        report.dlq = [DlqDepth(n, depth[n], sum(recent.get(n, Counter()).values()), dict(recent.get(n, {})))
                      for n in names]
    except (KafkaError, OSError, HopnhatError) as exc:
        report.problems.append(f"broker unreachable at {settings.kafka_bootstrap}: {exc}")
        return report
    for row in report.lag:
        if row.lag > settings.status_max_lag:
            report.problems.append(f"{row.topic}[{row.partition}]: group {row.group} lags by {row.lag:,} records "
                                   f"(limit {settings.status_max_lag:,})")
    minutes = settings.status_dlq_window_s / 60
    for d in report.dlq:
        if d.recent > settings.status_max_new_dead_letters:
            reasons = ", ".join(f"{r} {n}" for r, n in sorted(d.recent_by_reason.items()))
            report.problems.append(f"{d.topic}: {d.recent} dead letters in the last {minutes:g} min ({reasons}); "
                                   f"see `hopnhat dlq list --since {minutes:g}m`")
    for q in report.quality:
        if q.flagged:
            report.warnings.append(f"quality: {q.source} {q.field} {q.criterion} "
                                   f"{'n/a' if q.score is None else f'{q.score:.0%}'} is under its threshold")
    return report
