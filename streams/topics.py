"""Topic names and their creation. Every name passes through `Settings.topic()` (prefix for tests).

raw.<channel>        connectors -> normalise         partitions = settings.partitions, key = sender id
events.canonical     normalise -> resolve            partitions = settings.partitions, key = source key
customers.profiles   resolve -> downstream           compacted, key = customer id, null = tombstone
customers.merges     resolve -> downstream           key = survivor id
dlq.ingest / dlq.normalise / dlq.resolve             failed records with stage, reason, original offset
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from connectors import REGISTRY
from hopnhat.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Topics:
    raw: dict[str, str]
    canonical: str
    profiles: str
    merges: str
    dlq_ingest: str
    dlq_normalise: str
    dlq_resolve: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Topics:
        t = settings.topic
        return cls(
            raw={channel: t(f"raw.{channel}") for channel in REGISTRY},
            canonical=t("events.canonical"),
            profiles=t("customers.profiles"),
            merges=t("customers.merges"),
            dlq_ingest=t("dlq.ingest"),
            dlq_normalise=t("dlq.normalise"),
            dlq_resolve=t("dlq.resolve"),
        )

    def channel_of(self, raw_topic: str) -> str:
        for channel, name in self.raw.items():
            if name == raw_topic:
                return channel
        raise KeyError(raw_topic)

    def specs(self, partitions: int, raw_retention_days: float = 7.0) -> list[tuple[str, int, dict[str, str]]]:
        """(name, partitions, configs) of every topic hopnhat owns."""
        # Raw topics hold PII exactly as received, out of reach of `hopnhat erase`: their retention is the
        # window in which an erased person's data still exists (HOPNHAT_RAW_RETENTION_DAYS, default 7).
        raw = {"retention.ms": str(int(raw_retention_days * 86_400_000))}
        specs: list[tuple[str, int, dict[str, str]]] = [(name, partitions, dict(raw)) for name in self.raw.values()]
        specs += [
            (self.canonical, partitions, {}),
            (self.profiles, partitions, {"cleanup.policy": "compact"}),
            (self.merges, 1, {}),
            (self.dlq_ingest, 1, {}),
            (self.dlq_normalise, 1, {}),
            (self.dlq_resolve, 1, {}),
        ]
        return specs


def bootstrap_servers(settings: Settings) -> list[str]:
    if not settings.kafka_bootstrap:
        from schema.errors import ConfigError

        raise ConfigError("HOPNHAT_KAFKA_BOOTSTRAP is not set and no embedded broker was started")
    return [s.strip() for s in settings.kafka_bootstrap.split(",") if s.strip()]


def ensure_topics(settings: Settings) -> list[str]:
    """Create every missing topic (idempotent); return the names created now."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    from schema.errors import BrokerUnavailable

    topics = Topics.from_settings(settings)
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(settings), client_id="hopnhat-admin",
                                 request_timeout_ms=15000)
    except KafkaError as exc:
        raise BrokerUnavailable(f"cannot reach the broker at {settings.kafka_bootstrap}: {exc}") from exc
    created: list[str] = []
    try:
        existing = set(admin.list_topics())
        for name, partitions, configs in topics.specs(settings.partitions, settings.raw_retention_days):
            if name in existing:
                continue
            try:
                admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
    if created:
        log.info("created topics: %s", ", ".join(created))
    return created
