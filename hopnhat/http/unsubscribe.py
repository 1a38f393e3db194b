"""`POST /unsubscribe/email/{token}`: RFC 8058 one-click unsubscribe, the https: half of List-Unsubscribe.

The business puts `List-Unsubscribe: <https://<host>/unsubscribe/email/<token>>` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` on its marketing mail (`hopnhat unsubscribe-headers`
makes them). Gmail, Yahoo and others then show an unsubscribe button and POST `List-Unsubscribe=One-Click`
(urlencoded or multipart) to the URI, without cookies or any other proof than the URI itself, so the
token is the authentication: the address and the day the mail was sent, HMAC-signed with
`HOPNHAT_EMAIL_UNSUBSCRIBE_KEY` (connectors/email_unsubscribe.py). A verified POST becomes one event on
raw.email, and the worker turns it into the statement email/marketing=no.

Answers: 200 after the broker acknowledged; 400 without `List-Unsubscribe=One-Click` in the body; 401 a
token not signed with the key; 404 no key configured; 413 body over HOPNHAT_MAX_BODY_BYTES; 503 broker
down. Only POST: RFC 8058 §3.2 — a GET (link scanners, previews) must not unsubscribe.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.email import EmailConnector, form_fields
from connectors.email_unsubscribe import ONE_CLICK_BODY, one_click_event, read_one_click_token
from hopnhat.http.webhooks import read_body
from hopnhat.metrics import passed_on
from hopnhat.settings import Settings
from schema.errors import MalformedPayload, UnknownSource

log = logging.getLogger(__name__)


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["unsubscribe"])

    @router.post("/unsubscribe/email/{token}", summary="RFC 8058 one-click unsubscribe from marketing email")
    async def one_click(token: str, request: Request) -> JSONResponse:
        if settings.email_unsubscribe_key is None:
            raise UnknownSource("one-click unsubscribe is off: HOPNHAT_EMAIL_UNSUBSCRIBE_KEY is not set")
        key = settings.email_unsubscribe_key.get_secret_value().encode()
        address, sent_on = read_one_click_token(key, token)
        body = await read_body(request, settings.max_body_bytes)
        name, _, value = ONE_CLICK_BODY.partition("=")
        if form_fields(body, request.headers.get("content-type", "")).get(name) != value.encode():
            raise MalformedPayload(name, f"the body must be {ONE_CLICK_BODY} (RFC 8058)")
        event = one_click_event(address, sent_on, datetime.now(UTC))
        connector = EmailConnector()
        [ack] = await request.app.state.publisher.publish_all(settings.topic(connector.topic()), [
            (connector.kafka_key(event).encode(), event.model_dump_json().encode())])
        passed_on("ingest", "email")
        log.info("one-click unsubscribe accepted channel=email topic=%s partition=%d offset=%d event_id=%s",
                 ack.topic, ack.partition, ack.offset, event.id)
        return JSONResponse({"status": "unsubscribed", "events": [
            {"id": event.id, "topic": ack.topic, "partition": ack.partition, "offset": ack.offset}]})

    return router
