"""The faust-streaming app: raw.<channel> -> normalise -> events.canonical -> resolve -> PostgreSQL.

Thin on purpose: agents move records and call `streams.normalise.normalise_record` and
`streams.postgres_sink.PostgresSink.apply`; all decisions live in resolver/.
With Page tokens configured, the normalise agent also fetches the answers behind each Facebook Lead
Ads `leadgen` event and publishes them back to raw.facebook (streams/leads.py).

Delivery: both agents consume with `take_events` and faust acks a batch only after the loop body
returned, and commits acked offsets only after flushing the producer. So a canonical event is
committed after it was sent, and a raw offset after the database commit and the profile sends:
at-least-once everywhere, exactly-once effect through idempotent sinks.

A batch the database rejects for a reason other than a transient outage is split in halves until
the poison record is alone; that record goes to dlq.resolve and the rest is stored. Transient
outages are retried with backoff without acking anything, so nothing is lost and nothing stalls on
one bad record.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from typing import Any, cast

import faust
from faust.streams import Stream
import psycopg
from pydantic import ValidationError

from hopnhat.metrics import DEAD_LETTERS, StageTally, record_resolution
from hopnhat.settings import Settings
from hopnhat.suppression import SuppressionList, lift, load_suppression
from schema.errors import DatabaseUnavailable
from schema.events import CanonicalEvent, DeadLetter
from streams.normalise import Suppressed, canonical_key, dead_letter, dumps, normalise_record
from streams.batch_send import Outgoing, kafka_producer, publish
from streams.gaps import OffsetTracker, Record, repair
from streams.leads import GraphLeadFetcher, LeadFetchFailed, fetch_lead_event, lead_to_fetch
from streams.postgres_sink import BatchOutcome, PostgresSink
from streams.topics import Topics, bootstrap_servers

log = logging.getLogger(__name__)
NORMALISE_BATCH = 1000
NORMALISE_LINGER_S = 0.05
SUPPRESSION_REFRESH_S = 10.0
# faust creates its aiokafka consumer with a fixed fetch_max_wait_ms of 1500. The embedded Tansu holds
# a fetch for that long even when records arrive meanwhile (measured: 550-1,300 ms per hop at low
# traffic with 1500, 2-7 ms with 100), which made two hops cost ~1 s of latency. Brokers that answer
# as soon as fetch_min_bytes is met (Apache Kafka) are unaffected either way.
FETCH_MAX_WAIT_MS = 100


def _shorten_fetch_wait() -> None:
    """Wrap faust's consumer factory once so its consumers wait at most FETCH_MAX_WAIT_MS per fetch."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread_cls = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(thread_cls, "_hopnhat_fetch_wait", False):
        return
    create = thread_cls._create_worker_consumer

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts its fetcher
        return consumer

    thread_cls._create_worker_consumer = create_worker_consumer  # type: ignore[method-assign]
    thread_cls._hopnhat_fetch_wait = True  # type: ignore[attr-defined]


def _faust_datadir(app_id: str) -> str:
    path = tempfile.mkdtemp(prefix=f"hopnhat-faust-{app_id}-")
    atexit.register(shutil.rmtree, path, True)
    return path


def create_app(settings: Settings) -> faust.App:
    """Build the faust app with its two agents; nothing connects until the worker starts."""
    _shorten_fetch_wait()
    topics = Topics.from_settings(settings)
    app = faust.App(
        settings.app_id,
        broker=";".join(f"kafka://{s}" for s in bootstrap_servers(settings)),
        store="memory://",
        # faust makes `<id>-data/` in the working directory by default, and the tables live in memory:
        # a temp directory of this process's own, removed at exit, keeps the checkout and data_dir clean.
        datadir=_faust_datadir(settings.app_id),
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=settings.partitions,
        topic_allow_declare=False,  # `hopnhat` creates its topics itself (streams/topics.py)
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # faust's default linger of 0 sent one produce request per canonical event: 15% of a worker's
        # CPU went to socket writes (py-spy). 10 ms lets a normalise batch travel in a few requests.
        producer_linger=0.01,
        # streams/batch_send.py fills one record batch per partition; at faust's 16 KiB default a
        # 1,000-event normalise batch became ~100 batches. 256 KiB stays well under a broker's 1 MB limit.
        producer_max_batch_size=256 * 1024,
        # Tansu (embedded broker) holds every JoinGroup for half the session timeout; see
        # docs/ARCHITECTURE.md. 6 s keeps a worker's first assignment to ~3 s.
        broker_session_timeout=settings.broker_session_timeout_s,
        broker_heartbeat_interval=max(0.5, settings.broker_session_timeout_s / 3),
        broker_commit_interval=1.0,
        web_enabled=False,
        autodiscover=False,
    )
    raw_topic = app.topic(*topics.raw.values(), value_type=bytes, key_type=bytes)
    canonical_topic = app.topic(topics.canonical, value_type=bytes, key_type=bytes)
    dlq_normalise = app.topic(topics.dlq_normalise, value_type=bytes, key_type=bytes)
    dlq_resolve = app.topic(topics.dlq_resolve, value_type=bytes, key_type=bytes)
    state: dict[str, Any] = {}
    raw_facebook = app.topic(topics.raw["facebook"], value_type=bytes, key_type=bytes)
    fetcher = (GraphLeadFetcher(settings.facebook_graph_url, {
        page: token.get_secret_value() for page, token in settings.facebook_page_tokens.items()})
        if settings.facebook_page_tokens else None)

    suppression = SuppressionCache(settings)
    servers = bootstrap_servers(settings)
    seen_raw, seen_canonical = OffsetTracker(), OffsetTracker()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # faust's stub rejects async receivers it accepts
    async def _forget(sender: Any, revoked: Any, **kwargs: Any) -> None:
        for tracker in (seen_raw, seen_canonical):
            tracker.forget((tp.topic, tp.partition) for tp in revoked)

    @app.agent(raw_topic, name="normalise")
    async def normalise(stream: faust.StreamT) -> None:
        async for batch in cast(Stream, stream).take_events(NORMALISE_BATCH, within=NORMALISE_LINGER_S):
            await suppression.sync()
            sends = []  # lead enrichment only (rare); everything else goes out in one publish() below
            out: list[Outgoing] = []
            tally = StageTally("normalise")
            for msg in await repair(servers, seen_raw, [_record(e.message) for e in batch]):
                channel = topics.channel_of(msg.topic)
                tally.took(channel)
                result = normalise_record(channel, msg.topic, msg.partition, msg.offset, msg.key, msg.value,
                                          suppression.current)
                if isinstance(result, Suppressed):
                    log.info("normalise suppressed an erased person's event topic=%s partition=%d offset=%d",
                             msg.topic, msg.partition, msg.offset)
                    continue
                if isinstance(result, DeadLetter):
                    tally.dead_lettered(result.stage, result.reason)
                    log.warning("normalise rejected topic=%s partition=%d offset=%d reason=%s field=%s",
                                msg.topic, msg.partition, msg.offset, result.reason, result.field)
                    out.append((topics.dlq_normalise, msg.key, dumps(result)))
                else:
                    tally.passed_on(channel)
                    out.append((topics.canonical, canonical_key(result), dumps(result)))
                    if fetcher is not None and (lead := lead_to_fetch(result)) is not None:
                        sends.append(await _enrich_lead(fetcher, *lead, msg, raw_facebook, dlq_normalise))
            await publish(kafka_producer(app), out)
            await asyncio.gather(*sends)
            tally.flush(len(batch))
            await suppression.sync()  # hashes freed by fresh consent leave the table now, not at the next batch

    @app.agent(canonical_topic, name="resolve", concurrency=1)
    async def resolve(stream: faust.StreamT) -> None:
        batches = cast(Stream, stream).take_events(settings.resolve_batch_size, within=settings.resolve_linger_s)
        async for batch in batches:
            sink = await _reconnect(state, settings)  # waits out a PostgreSQL outage; nothing is acked meanwhile
            tally = StageTally("resolve")
            parsed: list[CanonicalEvent] = []
            for msg in await repair(servers, seen_canonical, [_record(e.message) for e in batch]):
                try:
                    parsed.append(CanonicalEvent.model_validate_json(msg.value or b""))
                    tally.took(parsed[-1].channel)
                except ValidationError as exc:
                    tally.dead_lettered("resolve", "invalid-canonical")
                    await (await dlq_resolve.send(key=msg.key, value=dumps(dead_letter(
                        "resolve", "invalid-canonical", str(exc.errors()[0]["msg"]), msg.topic, msg.partition,
                        msg.offset, msg.key, msg.value))))
            outcome = await _apply_with_isolation(sink, parsed, dlq_resolve, state, settings)
            await publish(kafka_producer(app), _outputs(outcome, topics))
            for e in parsed:
                tally.passed_on(e.channel)
            for channel in state.pop("rejected", []):  # store-rejected in _apply_with_isolation
                tally.passed_on(channel, -1)
                tally.dead_lettered("resolve", "store-rejected")
            tally.flush(len(batch))
            record_resolution(outcome)
            log.info("resolved batch events=%d stored=%d skipped=%d new_customers=%d merges=%d partitions=%s",
                     len(batch), outcome.stored, outcome.skipped, outcome.new_customers, len(outcome.merges),
                     sorted({e.message.partition for e in batch}))

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # faust's stub rejects async receivers it accepts
    async def _close(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        sink = state.pop("sink", None)
        if sink is not None:
            await sink.close()
        if fetcher is not None:
            await fetcher.close()

    return app


def _record(message: Any) -> Record:
    return Record(message.topic, message.partition, message.offset, message.key, message.value)


async def _enrich_lead(fetcher: GraphLeadFetcher, leadgen_id: str, page_id: str, msg: Any,
                       raw_facebook: faust.TopicT, dlq: faust.TopicT) -> Any:
    """Fetch a Lead Ads lead and publish it to raw.facebook (streams/leads.py); a lasting failure is a dead letter."""
    try:
        lead = await fetch_lead_event(fetcher, leadgen_id, page_id)
    except LeadFetchFailed as exc:
        log.warning("lead fetch failed leadgen_id=%s topic=%s partition=%d offset=%d: %s",
                    leadgen_id, msg.topic, msg.partition, msg.offset, exc)
        letter = dead_letter("enrich", "lead-fetch-failed", str(exc), msg.topic, msg.partition, msg.offset,
                             msg.key, msg.value, field="leadgen_id")
        DEAD_LETTERS.labels("enrich", "lead-fetch-failed").inc()
        return await dlq.send(key=msg.key, value=dumps(letter))
    return await raw_facebook.send(key=lead.subject.encode() if lead.subject else None,
                                   value=lead.model_dump_json().encode())


async def _sink(state: dict[str, Any], settings: Settings) -> PostgresSink:
    sink = state.get("sink")
    if sink is None or sink.conn.closed:
        assert settings.database_url, "HOPNHAT_DATABASE_URL must be set for the worker"
        sink = await PostgresSink.connect(settings.database_url)
        state["sink"] = sink
    return cast(PostgresSink, sink)


async def _apply_with_isolation(sink: PostgresSink, events: Sequence[CanonicalEvent], dlq: faust.TopicT,
                                state: dict[str, Any], settings: Settings) -> BatchOutcome:
    """Store the batch; on a data error bisect to isolate the poison event(s) into dlq.resolve."""
    if not events:
        return BatchOutcome()
    delay = 0.5
    while True:
        try:
            return await sink.apply(events)
        except (psycopg.OperationalError, DatabaseUnavailable) as exc:
            log.warning("database unavailable (%s); retrying batch of %d in %.1fs", exc, len(events), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            state.pop("sink", None)
            sink = await _reconnect(state, settings)
        except psycopg.Error as exc:
            if len(events) == 1:
                e = events[0]
                ref = e.raw_ref
                letter = dead_letter("resolve", "store-rejected", f"{type(exc).__name__}: {exc}",
                                     ref.topic if ref else "", ref.partition if ref else -1,
                                     ref.offset if ref else -1, canonical_key(e), dumps(e))
                log.error("resolve rejected event_id=%s: %s", e.event_id, exc)
                state.setdefault("rejected", []).append(e.channel)
                await (await dlq.send(key=canonical_key(e), value=dumps(letter)))
                return BatchOutcome()
            mid = len(events) // 2
            left = await _apply_with_isolation(sink, events[:mid], dlq, state, settings)
            right = await _apply_with_isolation(sink, events[mid:], dlq, state, settings)
            left.stored += right.stored
            left.skipped += right.skipped
            left.new_customers += right.new_customers
            left.merges += right.merges
            left.profiles.update(right.profiles)
            left.profile_json.update(right.profile_json)
            left.tombstones += right.tombstones
            left.review_queued += right.review_queued
            for reason, n in right.refused.items():
                left.refused[reason] = left.refused.get(reason, 0) + n
            return left


async def _reconnect(state: dict[str, Any], settings: Settings) -> PostgresSink:
    while True:
        try:
            return await _sink(state, settings)
        except DatabaseUnavailable as exc:
            log.warning("still cannot reach PostgreSQL: %s", exc)
            await asyncio.sleep(2.0)


def _outputs(outcome: BatchOutcome, topics: Topics) -> list[Outgoing]:
    """The profiles, tombstones and merge events a stored batch publishes, in that order."""
    encoded = outcome.profile_json
    out: list[Outgoing] = [(topics.profiles, cid.encode(),
                            (encoded.get(cid) or json.dumps(profile, ensure_ascii=False)).encode())
                           for cid, profile in outcome.profiles.items()]
    out += [(topics.profiles, cid.encode(), None) for cid in outcome.tombstones]
    out += [(topics.merges, merge.survivor.encode(), merge.model_dump_json().encode()) for merge in outcome.merges]
    return out


class SuppressionCache:
    """The suppression list as the normalise agent sees it: reloaded every SUPPRESSION_REFRESH_S (an
    erasure reaches running workers within that), hashes freed by fresh consent deleted after each batch."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current: SuppressionList | None = None
        self.loaded_at = 0.0

    async def sync(self) -> None:
        """Lift freed hashes and reload the list when due. While PostgreSQL is unreachable the last list
        loaded stays in force (nothing can be erased meanwhile either); with none loaded yet, wait for it
        rather than let an erased person's events through."""
        while True:
            try:
                if self.current is not None and self.current.lifted:
                    lifted = set(self.current.lifted)
                    await asyncio.to_thread(lift, self.settings, lifted)
                    self.current.lifted -= lifted
                if time.monotonic() - self.loaded_at > SUPPRESSION_REFRESH_S and self.settings.database_url:
                    self.current = await asyncio.to_thread(load_suppression, self.settings)
                    self.loaded_at = time.monotonic()
                return
            except psycopg.OperationalError as exc:
                if self.current is not None:
                    log.warning("cannot refresh the suppression list (%s); keeping the one loaded %.0fs ago",
                                exc, time.monotonic() - self.loaded_at)
                    self.loaded_at = time.monotonic() - SUPPRESSION_REFRESH_S + 2.0  # try again in 2 s
                    return
                log.warning("cannot load the suppression list (%s); normalise waits for PostgreSQL", exc)
                await asyncio.sleep(2.0)
