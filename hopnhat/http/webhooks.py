"""Webhook endpoints: verify, parse, publish to raw.<channel>, and only then answer 2xx.

Status codes: 200 stored (body lists each event's id, topic, partition and offset), 400 malformed (names the field),
401 bad or missing signature, 404 unknown channel or source, 413 body too large, 503 the broker did
not acknowledge (the source should retry; nothing was stored). A connector with `dead_letter_malformed`
(its source disables a webhook after a 4xx, e.g. KiotViet) gets 200 with status "dead-lettered" instead
of 400, once the whole body is on dlq.ingest. A source that can only authenticate by a token in the URL it
registered (`url_token_param`, OMICall) has that query parameter handed to `verify()` as a header.

`GET /webhooks/{channel}/{source_id}` answers a source's subscription handshake (Meta's
hub.challenge) for connectors that implement `SubscriptionHandshake`: 200 with the challenge as
plain text, 403 on a wrong mode or verify token, 404 where no handshake or token is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from connectors import REGISTRY, load_connector
from connectors.base import TOKEN_HEADER, Connector, SubscriptionHandshake
from hopnhat.metrics import DEAD_LETTERS, passed_on
from hopnhat.settings import Settings
from schema.errors import InvalidSignature, MalformedPayload, PayloadTooLarge, UnknownSource
from schema.events import DeadLetter

log = logging.getLogger(__name__)


def secret_for(settings: Settings, connector: Connector, source_id: str, body: bytes) -> bytes:
    """The secret that signs this delivery: the source's own, or one the body selects (Zalo: per OA)."""
    channel = connector.channel
    secret_id = connector.secret_id(source_id, body)
    secret = settings.secret(channel, secret_id)
    if secret is None and secret_id == source_id:
        raise UnknownSource(f"no secret configured for {channel} source {source_id!r}")
    if secret is None:  # the body names a sub-account (an OA) we hold no key for: it cannot be verified
        log.warning("no secret for channel=%s secret_id=%s: answering 401", channel, secret_id)
        raise InvalidSignature(f"no secret configured for {channel} {secret_id!r}; cannot verify")
    return secret.get_secret_value().encode("utf-8")


def auth_headers(connector: Connector, request: Request) -> Mapping[str, str]:
    """The headers `verify()` sees: for a source that can only authenticate by a token in the URL it
    registered (`url_token_param`, OMICall), that token as the X-Hopnhat-Token header. The token is never
    logged here, and `hopnhat serve` runs uvicorn without an access log."""
    param = connector.url_token_param
    if param is None or param not in request.query_params:
        return request.headers
    return {**{k.lower(): v for k, v in request.headers.items()}, TOKEN_HEADER: request.query_params[param]}


def connector_for(channel: str, settings: Settings) -> Connector:
    if channel not in REGISTRY:
        raise UnknownSource(f"unknown channel {channel!r}; known: {', '.join(sorted(REGISTRY))}")
    return load_connector(channel, **settings.connector_options(channel))


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def dead_letter_delivery(request: Request, settings: Settings, connector: Connector, source_id: str,
                               body: bytes, error: MalformedPayload) -> JSONResponse:
    """Publish a verified but malformed delivery whole to dlq.ingest, then answer 200 (never before the ack).

    It never reached raw.<channel>, so partition and offset are -1; `topic` names where it was headed."""
    letter = DeadLetter(stage="ingest", reason="malformed", field=error.field, error=error.reason,
                        topic=settings.topic(connector.topic()), partition=-1, offset=-1, key=source_id,
                        value=body.decode("utf-8", "replace"), at=datetime.now(UTC))
    [ack] = await request.app.state.publisher.publish_all(
        settings.topic("dlq.ingest"), [(source_id.encode("utf-8"), letter.model_dump_json().encode("utf-8"))])
    DEAD_LETTERS.labels("ingest", "malformed").inc()
    log.warning("dead-lettered channel=%s source=%s topic=%s partition=%d offset=%d field=%s reason=%s",
                connector.channel, source_id, ack.topic, ack.partition, ack.offset, error.field, error.reason)
    return JSONResponse({"status": "dead-lettered", "field": error.field, "reason": error.reason,
                         "dead_letter": {"topic": ack.topic, "partition": ack.partition, "offset": ack.offset},
                         "events": []})


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post("/webhooks/{channel}/{source_id}", summary="Receive a signed webhook from a channel")
    async def receive(channel: str, source_id: str, request: Request) -> JSONResponse:
        connector = connector_for(channel, settings)
        if not settings.has_source(channel, source_id):
            raise UnknownSource(f"no secret configured for {channel} source {source_id!r}")
        body = await read_body(request, settings.channel_max_body_bytes.get(channel, settings.max_body_bytes))
        if connector.is_unsigned_probe(request.headers, body):
            log.info("unsigned registration probe channel=%s source=%s: 200, nothing published", channel, source_id)
            return JSONResponse({"status": "probe", "events": []})
        connector.verify(auth_headers(connector, request), body, secret_for(settings, connector, source_id, body))
        try:
            events = connector.parse(body, request.headers.get("content-type", ""), source_id, datetime.now(UTC))
        except MalformedPayload as exc:
            if not connector.dead_letter_malformed:
                raise
            return await dead_letter_delivery(request, settings, connector, source_id, body, exc)
        if not events:  # e.g. a Facebook delivery holding only the Page's own comments: nothing to store
            return JSONResponse({"status": "accepted", "events": []})
        acks = await request.app.state.publisher.publish_all(
            settings.topic(connector.topic()),
            [(connector.kafka_key(e).encode("utf-8"), e.model_dump_json().encode("utf-8")) for e in events],
        )
        passed_on("ingest", channel, len(events))
        for event, ack in zip(events, acks, strict=True):
            log.info("accepted channel=%s topic=%s partition=%d offset=%d event_id=%s",
                     channel, ack.topic, ack.partition, ack.offset, event.id)
        return JSONResponse({"status": "accepted", "events": [
            {"id": e.id, "topic": a.topic, "partition": a.partition, "offset": a.offset}
            for e, a in zip(events, acks, strict=True)]})

    @router.get("/webhooks/{channel}/{source_id}", summary="Answer a channel's subscription handshake",
                response_class=PlainTextResponse)
    async def handshake(channel: str, source_id: str, request: Request) -> PlainTextResponse:
        connector = connector_for(channel, settings)
        if not isinstance(connector, SubscriptionHandshake):
            raise UnknownSource(f"channel {channel!r} has no subscription handshake")
        token = settings.verify_token(channel, source_id)
        if token is None:
            raise UnknownSource(f"no verify token configured for {channel} source {source_id!r}")
        challenge = connector.handshake(request.query_params, token.get_secret_value())
        log.info("subscription handshake accepted channel=%s source=%s", channel, source_id)
        return PlainTextResponse(challenge)

    return router
