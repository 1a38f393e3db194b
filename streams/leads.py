"""Lead Ads enrichment: where the `LeadFetcher` of connectors/facebook.py runs.

A Facebook `leadgen` webhook carries ids only, and the webhook must answer fast, so the answers are
fetched here, in the worker, after the ids-only event was normalised: the normalise agent hands every
canonical `leadgen` event to `fetch_lead_event`, which asks the Graph API for the lead and returns a
second raw event (`connectors.facebook.lead_event`, id `fb:<page_id>:lead:<leadgen_id>`) that the
agent publishes to raw.facebook. Both events carry the identifier `external` = `fb_lead:<leadgen_id>`,
so the answers land on the customer the webhook created. A redelivered webhook fetches again and
yields the same lead event id: stored once.

Without `HOPNHAT_FACEBOOK_PAGE_TOKENS` no fetcher exists and only the ids-only lead is stored. A fetch
that keeps failing becomes a dead letter on dlq.normalise (stage `enrich`) pointing at the leadgen
record's offset, so it can be replayed once the token or permission is fixed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.facebook import LeadFetcher, lead_event
from schema.errors import HopnhatError, MalformedPayload
from schema.events import CanonicalEvent, CloudEvent

log = logging.getLogger(__name__)
LEAD_FIELDS = "id,created_time,ad_id,form_id,platform,is_organic,field_data"


class LeadFetchFailed(HopnhatError):
    """The Graph API did not return the lead (token, permission, network): dead letter, replay later."""


class GraphLeadFetcher:
    """`GET {graph_url}/{leadgen_id}?fields=...&access_token=<Page token>` (needs `leads_retrieval`)."""

    def __init__(self, graph_url: str, page_tokens: Mapping[str, str], timeout_s: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.graph_url = graph_url.rstrip("/")
        self.page_tokens = dict(page_tokens)
        self.client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def fetch_lead(self, leadgen_id: str, page_id: str) -> Mapping[str, Any]:
        token = self.page_tokens.get(page_id)
        if token is None:
            raise LeadFetchFailed(f"no Page access token configured for page {page_id}")
        try:
            response = await self.client.get(f"{self.graph_url}/{leadgen_id}",
                                             params={"fields": LEAD_FIELDS, "access_token": token})
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LeadFetchFailed(f"Graph API request for lead {leadgen_id} failed: {type(exc).__name__}") from exc
        if response.status_code != 200 or not isinstance(body, dict) or "error" in body:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            message = error.get("message") if isinstance(error, dict) else None
            raise LeadFetchFailed(f"Graph API answered {response.status_code} for lead {leadgen_id}: {message}")
        return body

    async def close(self) -> None:
        await self.client.aclose()


def lead_to_fetch(event: CanonicalEvent) -> tuple[str, str] | None:
    """(leadgen_id, page_id) of a canonical ids-only Lead Ads event, else None."""
    if event.channel != "facebook" or event.interaction.kind != "leadgen":
        return None
    leadgen_id = event.interaction.payload.get("leadgen_id")
    page_id = event.source.partition(":")[2]
    return (str(leadgen_id), page_id) if leadgen_id and page_id else None


async def fetch_lead_event(fetcher: LeadFetcher, leadgen_id: str, page_id: str, attempts: int = 3,
                           backoff_s: float = 0.5) -> CloudEvent:
    """The fetched lead as a raw event; retries a few times, then raises LeadFetchFailed."""
    for attempt in range(1, attempts + 1):
        try:
            lead = await fetcher.fetch_lead(leadgen_id, page_id)
            return lead_event(lead, page_id, datetime.now(UTC))
        except MalformedPayload as exc:
            raise LeadFetchFailed(f"Graph API lead {leadgen_id} is malformed: {exc}") from exc
        except LeadFetchFailed as exc:
            if attempt == attempts:
                raise
            log.warning("lead fetch attempt %d failed leadgen_id=%s: %s", attempt, leadgen_id, exc)
            await asyncio.sleep(backoff_s * attempt)
    raise AssertionError("unreachable")
