"""The error hierarchy shared by connectors, streams, resolver and the application shell.

Each error knows whether it is *terminal* (the input is bad: answer 4xx or route to a DLQ) or
*transient* (the world is unwell: answer 503, retry or pause). Its attributes are at once the HTTP
error body, the DLQ record and the structured log fields, so the HTTP layer, the stream and the CLI
each map errors in exactly one place.
"""

from __future__ import annotations

from typing import Any


class HopnhatError(Exception):
    """Base of every error hopnhat raises on purpose."""

    terminal: bool = True
    http_status: int = 500
    exit_code: int = 1
    hint: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "detail": str(self)}


class ConfigError(HopnhatError):
    """A setting is missing or invalid; the message says every place that was looked at."""

    exit_code = 2


class InvalidSignature(HopnhatError):
    """The payload's signature is missing or does not verify: answer 401, store nothing."""

    http_status = 401


class HandshakeRefused(HopnhatError):
    """A subscription handshake (GET challenge) had the wrong mode or verify token: answer 403."""

    http_status = 403


class UnknownSource(HopnhatError):
    """The webhook names a form, page or account this deployment has no secret for: answer 404."""

    http_status = 404


class PayloadTooLarge(HopnhatError):
    """The body exceeds the connector's size limit: answer 413."""

    http_status = 413


class MalformedPayload(HopnhatError):
    """The body cannot be parsed or lacks a required field: answer 400 naming the field."""

    http_status = 400

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def as_dict(self) -> dict[str, Any]:
        return {"error": "MalformedPayload", "field": self.field, "reason": self.reason}


class NormalisationError(HopnhatError):
    """A value could not be normalised; the record goes to the DLQ with field and reason."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class BrokerUnavailable(HopnhatError):
    """The Kafka broker did not acknowledge a write: answer 503 so the source retries."""

    terminal = False
    http_status = 503
    exit_code = 3
    hint = "check HOPNHAT_KAFKA_BOOTSTRAP and that the broker is running"


class DatabaseUnavailable(HopnhatError):
    """PostgreSQL could not be reached or refused the write: retry later."""

    terminal = False
    http_status = 503
    exit_code = 4
    hint = "check HOPNHAT_DATABASE_URL and that PostgreSQL is running"


class ServiceStartError(HopnhatError):
    """An embedded service (broker or PostgreSQL) failed to start or to answer in time."""

    terminal = False
    exit_code = 5
