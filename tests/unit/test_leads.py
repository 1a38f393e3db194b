"""Lead Ads enrichment (streams/leads.py) against a recorded Graph API answer, without the network."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from schema.events import CanonicalEvent, Interaction
from streams.leads import GraphLeadFetcher, LeadFetchFailed, fetch_lead_event, lead_to_fetch

PAGE, LEAD = "104523871234567", "1234500000000001"
GRAPH_LEAD = json.loads((Path(__file__).parents[1] / "fixtures" / "facebook_graph_lead.json").read_text("utf-8"))


def graph(handler: object) -> GraphLeadFetcher:
    return GraphLeadFetcher("https://graph.example/v25.0", {PAGE: "page-token"},
                            transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_fetches_the_lead_with_the_page_token_and_builds_the_lead_event() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=GRAPH_LEAD)

    event = asyncio.run(fetch_lead_event(graph(handler), LEAD, PAGE))
    assert event.id == f"fb:{PAGE}:lead:{LEAD}" and event.subject == f"{PAGE}:{LEAD}"
    assert event.data["answers"]["phone_number"] == ["+84938123456"]
    [request] = seen
    assert request.url.path == f"/v25.0/{LEAD}"
    assert request.url.params["access_token"] == "page-token" and "field_data" in request.url.params["fields"]


@pytest.mark.parametrize(
    ("response", "page"),
    [
        (httpx.Response(200, json={"error": {"message": "(#100) Requires leads_retrieval", "code": 100}}), PAGE),
        (httpx.Response(400, json={"error": {"message": "Invalid OAuth access token", "code": 190}}), PAGE),
        (httpx.Response(200, json={"id": LEAD, "field_data": "nope"}), PAGE),
        (httpx.Response(200, json=GRAPH_LEAD), "999"),
    ],
    ids=["error-with-http-200", "bad-token", "malformed-lead", "page-without-token"],
)
def test_a_lead_that_cannot_be_fetched_raises_after_retries(response: httpx.Response, page: str) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return response

    with pytest.raises(LeadFetchFailed):
        asyncio.run(fetch_lead_event(graph(handler), LEAD, page, attempts=2, backoff_s=0))
    assert len(calls) <= 2


def test_only_canonical_leadgen_events_are_fetched() -> None:
    def event(channel: str, kind: str) -> CanonicalEvent:
        now = datetime(2026, 11, 22, tzinfo=UTC)
        return CanonicalEvent(event_id="e", channel=channel, source=f"{channel}:{PAGE}", source_record_id="r",
                              occurred_at=now, received_at=now,
                              interaction=Interaction(kind=kind, payload={"leadgen_id": LEAD}))

    assert lead_to_fetch(event("facebook", "leadgen")) == (LEAD, PAGE)
    assert lead_to_fetch(event("facebook", "lead")) is None  # the fetched lead itself: no loop
    assert lead_to_fetch(event("webform", "leadgen")) is None
