"""Webhook endpoints: verify, parse, publish to raw.<channel>, and only then answer 2xx.

Status codes: 200 stored (body lists each event's id, topic, partition and offset), 400 malformed (names the field),
401 bad or missing signature, 404 unknown channel or source, 413 body too large, 503 the broker did
not acknowledge (the source should retry; nothing was stored).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors import REGISTRY, load_connector
from hopnhat.settings import Settings
from schema.errors import PayloadTooLarge, UnknownSource

log = logging.getLogger(__name__)


def secret_for(settings: Settings, channel: str, source_id: str) -> bytes:
    secret = settings.secret(channel, source_id)
    if secret is None:
        raise UnknownSource(f"no secret configured for {channel} source {source_id!r}")
    return secret.get_secret_value().encode("utf-8")


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


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post("/webhooks/{channel}/{source_id}", summary="Receive a signed webhook from a channel")
    async def receive(channel: str, source_id: str, request: Request) -> JSONResponse:
        if channel not in REGISTRY:
            raise UnknownSource(f"unknown channel {channel!r}; known: {', '.join(sorted(REGISTRY))}")
        connector = load_connector(channel)
        secret = secret_for(settings, channel, source_id)
        body = await read_body(request, settings.max_body_bytes)
        connector.verify(request.headers, body, secret)
        events = connector.parse(body, request.headers.get("content-type", ""), source_id, datetime.now(UTC))
        acks = await request.app.state.publisher.publish_all(
            settings.topic(connector.topic()),
            [(connector.kafka_key(e).encode("utf-8"), e.model_dump_json().encode("utf-8")) for e in events],
        )
        for event, ack in zip(events, acks, strict=True):
            log.info("accepted channel=%s topic=%s partition=%d offset=%d event_id=%s",
                     channel, ack.topic, ack.partition, ack.offset, event.id)
        return JSONResponse({"status": "accepted", "events": [
            {"id": e.id, "topic": a.topic, "partition": a.partition, "offset": a.offset}
            for e, a in zip(events, acks, strict=True)]})

    return router
