"""`hopnhat demo`: the whole pipeline on a Vietnamese sample, through the real webhook endpoints.

Starts the embedded broker and PostgreSQL (unless URLs are configured), migrates, creates topics,
starts `hopnhat serve` and `hopnhat worker` as child processes, posts signed form submissions and the
same people's Zalo OA chats, Sapo orders and Stringee calls (hopnhat/touchpoints.py) over HTTP,
waits until every accepted event is stored or dead-lettered, and reports what was resolved.
Everything it started is stopped before it returns; with `on_ready` (`hopnhat demo --serve`) that waits
until the callback returns, so a person can browse the console on the demo data first.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from collections import Counter
from dataclasses import asdict, dataclass

from hopnhat.embedded import ChildService, embedded_services, free_port, port_open
from hopnhat.migrate import migrate
from hopnhat.processes import running_stack
from hopnhat.bulk_resolve import publish_report, resolve_store
from hopnhat.quality import QualityScore, compute_quality
from hopnhat.sample import generate
from hopnhat.settings import Settings, psycopg_url
from hopnhat.stats import dlq_depth, interactions_count, store_counts
from hopnhat.touchpoints import DemoChannels, make_touchpoints
from hopnhat.webform_client import form_post, post_signed
from schema.errors import HopnhatError
from streams.topics import ensure_topics

DEMO_FORM = "lien-he"  # "contact" in Vietnamese, as a site would name its form


@dataclass(frozen=True, slots=True)
class DemoResult:
    people: int
    events_in: int
    by_channel: dict[str, int]
    accepted: int
    rejected_http: int
    interactions_stored: int
    customers: int  # after the bulk resolution below
    merges: int
    identifiers: int
    customers_streamed: int  # what the stream alone resolved, before `hopnhat resolve`
    bulk_merges: int  # merges `hopnhat resolve` added (fuzzy matches, with evidence)
    review_queue: int  # pairs it left for a person to decide
    shared_identifiers: int  # phones / emails held by different people, kept from linking
    dlq: int
    events_per_s: float
    post_s: float
    wall_s: float
    store_bytes: int
    quality_flagged: int
    quality: list[QualityScore]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class DemoTimeout(HopnhatError):
    """The resolver did not catch up in time."""


OnReady = Callable[[DemoResult, Settings, list[ChildService]], None]


def run_demo(*, settings: Settings, customers: int = 200, seed: int = 84, workers: int = 1,
             catch_up_timeout_s: float = 120.0, progress: Callable[[str, int, int], None] | None = None,
             on_ready: OnReady | None = None) -> DemoResult:
    """Run the demo; `on_ready(result, settings, children)` is called while everything still runs."""
    started = time.perf_counter()
    people, visits = generate(customers, seed)
    secret = secrets.token_urlsafe(24)
    channels = DemoChannels()
    posts = [form_post(v, DEMO_FORM, secret) for v in visits] + make_touchpoints(people, seed, channels)
    with embedded_services(settings) as base:
        # The default port is kept only for --serve and only when free (a person types it); a plain run
        # takes any free port so it never collides with a `hopnhat serve` already running.
        keep = base.http_port != 8080 or (on_ready is not None and not port_open(base.http_host, 8080))
        s = channels.configure(base.with_secret("webform", DEMO_FORM, secret)).model_copy(update={
            "http_port": base.http_port if keep else free_port(base.http_host),
        })
        assert s.database_url
        migrate(database_url=s.database_url)
        ensure_topics(s)
        with running_stack(s, workers=workers) as children:
            done = 0

            def tick() -> None:
                nonlocal done
                done += 1
                if progress:
                    progress("post", done, len(posts))

            t0 = time.perf_counter()
            report = asyncio.run(post_signed(f"http://{s.http_host}:{s.http_port}", posts, on_done=tick))
            stored = _wait_caught_up(s, report.accepted, catch_up_timeout_s, progress)
            elapsed = time.perf_counter() - t0
            streamed = store_counts(s.database_url).customers
            # The bulk pass a deployment runs after imports and on a schedule: fuzzy matching over the store.
            bulk = resolve_store(psycopg_url(s.database_url))
            asyncio.run(publish_report(s, bulk))
            counts = store_counts(s.database_url)
            dlq = dlq_depth(s)
            scores = compute_quality(database_url=s.database_url)
            result = DemoResult(
                people=len(people), events_in=len(posts), by_channel=dict(Counter(p.channel for p in posts)),
                accepted=report.accepted, rejected_http=len(posts) - report.accepted, interactions_stored=stored,
                customers=counts.customers, merges=counts.merges, identifiers=counts.identifiers, dlq=dlq,
                customers_streamed=streamed, bulk_merges=len(bulk.merges), review_queue=bulk.review_added,
                shared_identifiers=bulk.shared_identifiers,
                events_per_s=round(report.accepted / elapsed, 1) if elapsed else 0.0,
                post_s=round(report.seconds, 2),
                wall_s=round(time.perf_counter() - started, 2), store_bytes=counts.bytes,
                quality_flagged=sum(q.flagged for q in scores), quality=scores,
            )
            if on_ready is not None:
                on_ready(result, s, children)
    return result


def _wait_caught_up(s: Settings, expected: int, timeout: float,
                    progress: Callable[[str, int, int], None] | None) -> int:
    assert s.database_url
    deadline = time.monotonic() + timeout
    while True:
        stored = interactions_count(s.database_url)
        if progress:
            progress("resolve", stored, expected)
        if stored >= expected:
            return stored
        if stored + dlq_depth(s) >= expected:
            return stored
        if time.monotonic() > deadline:
            raise DemoTimeout(f"only {stored} of {expected} events stored after {timeout:.0f}s")
        time.sleep(0.2)
