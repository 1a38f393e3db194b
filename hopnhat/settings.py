"""One settings object for every hopnhat process, built in `main()` / `create_app(settings)`.

Sources, highest priority first: keyword arguments, `HOPNHAT_*` environment variables, the YAML file
named by `HOPNHAT_CONFIG` (or ./hopnhat.yaml when present), the defaults below. Nothing is read at
import time. Secrets are `SecretStr` so they print masked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

DEFAULT_CONFIG_FILE = Path("hopnhat.yaml")


def config_file_path() -> Path | None:
    """The YAML settings file in force: $HOPNHAT_CONFIG, else ./hopnhat.yaml if it exists."""
    explicit = os.environ.get("HOPNHAT_CONFIG")
    if explicit:
        return Path(explicit)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None


class Settings(BaseSettings):
    """Every knob of hopnhat. Env var = HOPNHAT_ + upper-case field name."""

    model_config = SettingsConfigDict(env_prefix="HOPNHAT_", extra="ignore")

    kafka_bootstrap: str | None = Field(
        default=None, description="host:port[,host:port]; unset = start the embedded Tansu broker"
    )
    database_url: str | None = Field(
        default=None, description="postgresql://user@host:port/db; unset = start an embedded PostgreSQL"
    )
    topic_prefix: str = Field(default="", description="Prepended to every topic name (isolates tests)")
    app_id: str = Field(default="hopnhat", description="Kafka consumer group and faust app id")
    partitions: int = Field(default=4, ge=1, description="Partitions of raw and canonical topics")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    secrets: dict[str, dict[str, SecretStr]] = Field(
        default_factory=dict,
        description="channel -> source id -> signing secret, e.g. '{\"webform\": {\"lien-he\": \"s3cret\"}}'",
    )
    verify_tokens: dict[str, dict[str, SecretStr]] = Field(
        default_factory=dict,
        description="channel -> source id -> token of a GET subscription handshake, e.g. "
                    "'{\"facebook\": {\"<app_id>\": \"...\"}}' (Meta's hub.verify_token)",
    )
    facebook_page_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Facebook page id -> Page access token the worker fetches Lead Ads answers with "
                    "(leads_retrieval); unset = leads are stored with their ids only",
    )
    facebook_graph_url: str = Field(default="https://graph.facebook.com/v25.0",
                                    description="Graph API base URL, version pinned")
    max_body_bytes: int = Field(default=256 * 1024, description="Webhook bodies above this get 413")
    channel_max_body_bytes: dict[str, int] = Field(
        # SendGrid Inbound Parse posts whole messages (up to 30 MB) and retries only 5xx: a 413 there
        # loses the mail for good (docs/connectors/email.md), so email gets room for attachments.
        default_factory=lambda: {"email": 40 * 1024 * 1024},
        description="Per-channel override of max_body_bytes, e.g. '{\"email\": 41943040}'",
    )
    resolve_batch_size: int = Field(default=500, ge=1, description="Max events per resolver micro-batch")
    resolve_linger_s: float = Field(default=0.2, gt=0, description="Max wait to fill a micro-batch")
    broker_session_timeout_s: float = Field(
        default=6.0,
        description="Consumer session timeout; Tansu holds a JoinGroup for half of it (docs/ARCHITECTURE.md)",
    )
    data_dir: Path | None = Field(default=None, description="Where embedded services keep files (temp dir)")
    imap_host: str | None = Field(default=None, description="IMAP server polled by `hopnhat imap-poll`")
    imap_port: int = Field(default=993, description="IMAP port (993 with ssl, 143 without)")
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_mailbox: str = Field(default="INBOX", description="Mailbox to poll (read-only: EXAMINE, BODY.PEEK)")
    imap_ssl: bool = Field(default=True, description="IMAP over TLS (IMAP4_SSL)")
    imap_poll_interval_s: float = Field(default=60.0, gt=0, description="Seconds between polling passes")
    email_unsubscribe_addresses: list[str] = Field(
        default_factory=list,
        description="Mail sent to one of these addresses (the mailto: of your List-Unsubscribe header) is an "
                    "unsubscribe from email marketing by its From address, whatever its subject, e.g. "
                    "'[\"huy-dang-ky@shop.vn\"]' (docs/connectors/email.md)")
    email_unsubscribe_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of RFC 8058 one-click unsubscribe links (`hopnhat unsubscribe-headers`, "
                    "POST /unsubscribe/email/<token>); unset = that endpoint answers 404")
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per line (hopnhat/logs.py); text: for a terminal")
    log_redact: bool = Field(default=True, description="Mask phones, emails and national ids in every log line")
    suppression_salt: SecretStr | None = Field(
        default=None,
        description="Salt of the erased-identifier hashes; unset = a random salt kept in the database "
                    "(set it to keep the hashes unreadable to whoever copies the database)")
    raw_retention_days: float = Field(
        default=7.0, gt=0, description="retention.ms given to raw.<channel> topics when hopnhat creates them: "
                                       "the window in which raw PII sits in Kafka, erasure or not")
    api_auth: Literal["required", "off"] = Field(
        default="required",
        description="required: the profile API needs an API key (`hopnhat keys create`); off: open, "
                    "for a closed development machine only (docs/SECURITY.md)")
    api_url: str | None = Field(
        default=None, description="Base URL of a running `hopnhat serve` (http://crm.local:8080) that "
                                  "`hopnhat remote ...` talks to instead of PostgreSQL")
    api_key: SecretStr | None = Field(
        default=None, description="Your API key (hn_...): `hopnhat remote` sends it; `hopnhat export` and "
                                  "`hopnhat erase` name it in the audit log (`hopnhat keys create`)")
    worker_metrics_port: int = Field(
        default=9464, ge=0,
        description="Port of a worker's Prometheus /metrics; when taken, the next free one of the following "
                    "15 (several workers on one host); 0 = no metrics server. `hopnhat serve` has /metrics "
                    "on its own port",
    )
    metrics_host: str = Field(default="127.0.0.1", description="Address the worker's /metrics listens on")
    status_max_lag: int = Field(
        default=10_000, ge=0, description="`hopnhat status` is unhealthy when a partition lags by more records")
    status_dlq_window_s: float = Field(
        default=900.0, gt=0, description="`hopnhat status` counts dead letters newer than this many seconds")
    status_max_new_dead_letters: int = Field(
        default=0, ge=0, description="`hopnhat status` is unhealthy when more dead letters than this arrived "
                                     "within status_dlq_window_s (old ones, already looked at, do not count)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file_path()
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def masked(self) -> dict[str, Any]:
        """The settings as shown by `hopnhat config show`: secrets masked."""
        data = self.model_dump(mode="json")
        data["secrets"] = {ch: {k: "**********" for k in by_source} for ch, by_source in self.secrets.items()}
        data["verify_tokens"] = {ch: {k: "**********" for k in by_source}
                                 for ch, by_source in self.verify_tokens.items()}
        data["facebook_page_tokens"] = {page: "**********" for page in self.facebook_page_tokens}
        data["imap_password"] = "**********" if self.imap_password else None
        data["suppression_salt"] = "**********" if self.suppression_salt else None
        data["email_unsubscribe_key"] = "**********" if self.email_unsubscribe_key else None
        data["api_key"] = "**********" if self.api_key else None
        return data

    def connector_options(self, channel: str) -> dict[str, Any]:
        """Keyword arguments of a channel's connector that come from settings (email: its unsubscribe
        addresses); a connector without any takes none."""
        if channel == "email":
            return {"unsubscribe_addresses": tuple(self.email_unsubscribe_addresses)}
        return {}

    def api_key_value(self) -> str | None:
        """The API key in plain text, for the one place that sends or checks it (never to print)."""
        return self.api_key.get_secret_value() if self.api_key else None

    def secret(self, channel: str, source_id: str) -> SecretStr | None:
        return self.secrets.get(channel, {}).get(source_id)

    def has_source(self, channel: str, source_id: str) -> bool:
        """A source is configured when it has a secret, or secrets per sub-account keyed `<source_id>:<sub>`
        (Zalo: one app, an OA Secret Key per linked OA)."""
        by_source = self.secrets.get(channel, {})
        return source_id in by_source or any(k.startswith(f"{source_id}:") for k in by_source)

    def verify_token(self, channel: str, source_id: str) -> SecretStr | None:
        return self.verify_tokens.get(channel, {}).get(source_id)

    def with_verify_token(self, channel: str, source_id: str, value: str) -> Settings:
        """A copy with one more handshake verify token (tests)."""
        merged = {ch: dict(by_source) for ch, by_source in self.verify_tokens.items()}
        merged.setdefault(channel, {})[source_id] = SecretStr(value)
        return self.model_copy(update={"verify_tokens": merged})

    def store_url(self, purpose: str = "point it at the hopnhat store") -> str:
        """The PostgreSQL URL for psycopg, or a ConfigError saying where it looked and what to do."""
        if not self.database_url:
            from schema.errors import ConfigError

            raise ConfigError(f"HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file); "
                              f"{purpose}")
        return psycopg_url(self.database_url)

    def with_secret(self, channel: str, source_id: str, value: str) -> Settings:
        """A copy with one more signing secret (demo, tests, benchmarks)."""
        merged = {ch: dict(by_source) for ch, by_source in self.secrets.items()}
        merged.setdefault(channel, {})[source_id] = SecretStr(value)
        return self.model_copy(update={"secrets": merged})


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; raises ConfigError naming the file and env vars it read on failure."""
    from pydantic import ValidationError

    from schema.errors import ConfigError

    try:
        return Settings(**overrides)
    except (ValidationError, OSError) as exc:
        path = config_file_path()
        where = f"HOPNHAT_* environment variables and {path}" if path else "HOPNHAT_* environment variables"
        raise ConfigError(f"invalid settings (read from {where}): {exc}") from exc


def sqlalchemy_url(database_url: str) -> str:
    """postgresql://... -> postgresql+psycopg://... for SQLAlchemy; psycopg takes the plain form."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix):]
    return database_url


def psycopg_url(database_url: str) -> str:
    """postgresql+psycopg://... -> postgresql://... for psycopg.connect."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)
