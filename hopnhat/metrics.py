"""Prometheus metrics of every hopnhat process, declared once so the dashboard and the code agree.

`hopnhat serve` exposes them at `GET /metrics` on its app; `hopnhat worker` starts prometheus_client's
HTTP server on `HOPNHAT_WORKER_METRICS_PORT` (9464 by default; when it is taken, the next free port of
the following 15, so several workers on one host each get one; 0 disables it). Every figure the
Grafana dashboard (hopnhat/ops/grafana/dashboards/hopnhat.json) queries is declared here, and a test
scrapes real processes to check the dashboard asks for nothing that is not exported.

Label values are bounded: channels come from the connector registry, stages and outcomes from the
lists below, DLQ reasons from the code's own reason strings, HTTP statuses from the app.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from kafka.errors import KafkaError

from connectors import REGISTRY as CHANNELS
from schema.errors import HopnhatError

log = logging.getLogger(__name__)

STAGES = ("ingest", "normalise", "resolve")
# Resolution outcomes of a micro-batch (streams/postgres_sink.py BatchOutcome): customers minted,
# merges, pairs queued for review, links refused because the identifier is shared (a household or
# shop phone), and events skipped because their id was already stored.
OUTCOMES = ("new_customer", "merged", "review", "shared_identifier", "duplicate")

EVENTS_IN = Counter("hopnhat_events_in_total", "Records a stage took in, by stage and channel",
                    ["stage", "channel"])
EVENTS_OUT = Counter("hopnhat_events_out_total",
                     "Records a stage passed on (ingest: published to raw.<channel>; normalise: to "
                     "events.canonical; resolve: stored or already stored)", ["stage", "channel"])
DEAD_LETTERS = Counter("hopnhat_dead_letters_total", "Records sent to a DLQ topic, by stage and reason",
                       ["stage", "reason"])
SKIPPED_REPAIRED = Counter("hopnhat_skipped_offsets_repaired_total",
                           "Records the consumer skipped and an agent read directly (streams/gaps.py), by topic",
                           ["topic"])
BATCH_SIZE = Histogram("hopnhat_batch_size", "Records per micro-batch a stage processed", ["stage"],
                       buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500))
BATCH_SECONDS = Histogram("hopnhat_batch_duration_seconds", "Wall time to process one micro-batch", ["stage"],
                          buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
RESOLUTIONS = Counter("hopnhat_resolutions_total",
                      "Resolution outcomes: new_customer (minted), merged (customers joined), review "
                      "(pair queued for a person), shared_identifier (link refused: the identifier is shared), "
                      "duplicate (event id already stored; redelivery or replay)", ["outcome"])
REFUSALS = Counter("hopnhat_merge_refusals_total",
                   "Links or merges merge protection refused, by reason (shared_identifier, conflict:birth_date, "
                   "conflict:national_id, limit:<type>, review_rejected)", ["reason"])
WEBHOOK_RESPONSES = Counter("hopnhat_webhook_responses_total", "Webhook answers by channel and HTTP status",
                            ["channel", "status"])
LAST_EVENT = Gauge("hopnhat_last_event_timestamp_seconds",
                   "Unix time a stage last passed on a record of this channel", ["stage", "channel"])


def declare_label_values() -> None:
    """Create the known series at zero so dashboards and rates see them before the first event."""
    for stage in STAGES:
        BATCH_SIZE.labels(stage)
        BATCH_SECONDS.labels(stage)
        for channel in CHANNELS:
            EVENTS_IN.labels(stage, channel)
            EVENTS_OUT.labels(stage, channel)
    for outcome in OUTCOMES:
        RESOLUTIONS.labels(outcome)
    for reason in ("shared_identifier", "review_rejected", "conflict:birth_date", "conflict:national_id"):
        REFUSALS.labels(reason)  # limit:<type> appear when first counted


def passed_on(stage: str, channel: str, n: int = 1) -> None:
    EVENTS_OUT.labels(stage, channel).inc(n)
    LAST_EVENT.labels(stage, channel).set(time.time())


class StageTally:
    """Counts of one micro-batch, added to the metrics once per batch (not per event: hot path)."""

    __slots__ = ("stage", "started", "taken", "passed", "dead")

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.started = time.perf_counter()
        self.taken: dict[str, int] = {}
        self.passed: dict[str, int] = {}
        self.dead: dict[tuple[str, str], int] = {}

    def took(self, channel: str) -> None:
        self.taken[channel] = self.taken.get(channel, 0) + 1

    def passed_on(self, channel: str, n: int = 1) -> None:
        self.passed[channel] = self.passed.get(channel, 0) + n

    def dead_lettered(self, stage: str, reason: str) -> None:
        self.dead[(stage, reason)] = self.dead.get((stage, reason), 0) + 1

    def flush(self, batch_size: int) -> None:
        BATCH_SECONDS.labels(self.stage).observe(time.perf_counter() - self.started)
        BATCH_SIZE.labels(self.stage).observe(batch_size)
        for channel, n in self.taken.items():
            EVENTS_IN.labels(self.stage, channel).inc(n)
        for channel, n in self.passed.items():
            if n > 0:
                passed_on(self.stage, channel, n)
        for (stage, reason), n in self.dead.items():
            DEAD_LETTERS.labels(stage, reason).inc(n)


def record_resolution(outcome: Any) -> None:
    """Count a streams.postgres_sink.BatchOutcome's results (see OUTCOMES; refusals by protection reason)."""
    RESOLUTIONS.labels("new_customer").inc(outcome.new_customers)
    RESOLUTIONS.labels("merged").inc(len(outcome.merges))
    RESOLUTIONS.labels("duplicate").inc(outcome.skipped)
    RESOLUTIONS.labels("review").inc(outcome.review_queued)
    RESOLUTIONS.labels("shared_identifier").inc(outcome.refused.get("shared_identifier", 0))
    for reason, n in outcome.refused.items():
        REFUSALS.labels(reason).inc(n)


def webhook_channel(path: str) -> str | None:
    """`/webhooks/zalo/oa-1` -> "zalo"; other paths -> None; an unknown channel -> "unknown" (bounded)."""
    if not path.startswith("/webhooks/"):
        return None
    channel = path[len("/webhooks/"):].split("/", 1)[0]
    return channel if channel in CHANNELS else "unknown"


class WebhookMetricsMiddleware:
    """Pure ASGI middleware counting webhook answers by channel and status (cheaper than BaseHTTPMiddleware)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        channel = webhook_channel(scope.get("path", "")) if scope["type"] == "http" else None
        if channel is None:
            await self.app(scope, receive, send)
            return

        started = False

        async def send_counted(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                WEBHOOK_RESPONSES.labels(channel, str(message["status"])).inc()
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        except BaseException:
            if not started:  # the server's outermost handler answers 500 for it
                WEBHOOK_RESPONSES.labels(channel, "500").inc()
            raise


class LagCollector(Collector):
    """`hopnhat_consumer_lag{group,topic,partition}` and `hopnhat_dlq_depth{topic}` measured on scrape.

    Measured in the scrape thread (never the worker's event loop) and cached for `ttl_s`, so several
    Prometheus servers or a fast scrape interval cost one measurement per `ttl_s`. Every worker of a
    group reports the same figures: the dashboard takes `max by (group, topic, partition)`.
    """

    def __init__(self, settings: Any, ttl_s: float = 10.0) -> None:
        self.settings = settings
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._at = 0.0
        self._cached: list[Any] = []

    def describe(self) -> Iterable[Any]:
        return [GaugeMetricFamily("hopnhat_consumer_lag", "Records the consumer group has not processed yet",
                                  labels=["group", "topic", "partition"]),
                GaugeMetricFamily("hopnhat_dlq_depth", "Records held in a DLQ topic", labels=["topic"])]

    def _measure(self) -> list[Any]:
        from hopnhat.offsets import group_lag, unreachable_brokers
        from hopnhat.stats import topic_depths
        from schema.errors import BrokerUnavailable
        from streams.topics import Topics, bootstrap_servers

        if unreachable_brokers(self.settings) == bootstrap_servers(self.settings):
            raise BrokerUnavailable("no bootstrap server answers")
        topics = Topics.from_settings(self.settings)
        lag = GaugeMetricFamily("hopnhat_consumer_lag", "Records the consumer group has not processed yet",
                                labels=["group", "topic", "partition"])
        for row in group_lag(self.settings, self.settings.app_id, [*topics.raw.values(), topics.canonical]):
            lag.add_metric([row.group, row.topic, str(row.partition)], row.lag)
        depth = GaugeMetricFamily("hopnhat_dlq_depth", "Records held in a DLQ topic", labels=["topic"])
        dlqs = [topics.dlq_ingest, topics.dlq_normalise, topics.dlq_resolve]
        for topic, n in topic_depths(self.settings, dlqs).items():
            depth.add_metric([topic], n)
        return [lag, depth]

    def collect(self) -> Iterator[Any]:
        with self._lock:
            if time.monotonic() - self._at > self.ttl_s:
                try:
                    self._cached = self._measure()
                except (KafkaError, HopnhatError, OSError) as exc:  # a scrape answers even when the broker does not
                    log.warning("could not measure consumer lag: %r", exc)
                    self._cached = []
                self._at = time.monotonic()
            yield from self._cached


def start_worker_metrics(settings: Any) -> int | None:
    """Serve /metrics for a worker; returns the port, or None when disabled or no port was free."""
    from prometheus_client import start_http_server

    declare_label_values()
    base = settings.worker_metrics_port
    if not base:
        return None
    for port in range(base, base + 16):
        try:
            start_http_server(port, addr=settings.metrics_host)
        except OSError:
            continue
        try:
            REGISTRY.register(LagCollector(settings))
        except ValueError:  # already registered in this process (tests create several apps)
            pass
        log.info("worker metrics on http://%s:%d/metrics", settings.metrics_host, port)
        return port
    log.warning("no free metrics port in %d-%d; this worker exports no metrics", base, base + 15)
    return None
