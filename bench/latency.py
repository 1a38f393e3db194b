"""Benchmark: latency from webhook accepted to profile visible, at a steady offered rate.

    python bench/latency.py [--rate 2000] [--seconds 20] [--workers 1] [--sample 25]
                            [--source webform|messenger] [--batch 10]

Starts the embedded broker and PostgreSQL, `hopnhat serve` and W x `hopnhat worker`, then posts
signed web form submissions (the generated Vietnamese sample) at a steady rate for N seconds. For
every `--sample`-th submission that shows a phone never seen before, it records when the POST was
answered 200 (accepted: the broker has it) and then

* api:   when `GET /v1/customers/lookup?type=phone&value=<as typed>` first answers 200 (polled every
         50 ms), i.e. the profile is committed in PostgreSQL and served;
* topic: when a message on customers.profiles first carries that phone (a consumer reads the
         topic throughout).

With `--source messenger --batch N` it posts signed Meta deliveries instead, each batching N Messenger
messages from N people writing for the first time (as Meta batches entries; the issue counts batched
deliveries per event), at rate/N deliveries per second, and times the first sender of every
`--sample`-th delivery by looking it up as `type=fb_psid`. One `hopnhat serve` accepts only ~1,100
single-event web form posts/s on 2 cores, so 2,000 events/s can only be offered in batches here.

Final JSON line: rate (offered), achieved_rate (accepted per second), p50_ms, p99_ms (API), topic_p50_ms,
topic_p99_ms, samples, and max_ms. If the pipeline cannot keep up with the offered rate, latencies
grow for the whole run: that is the figure, not an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from aiokafka import AIOKafkaConsumer  # noqa: E402

from bench.ingest import FB_APP, FB_PAGE, FB_SECRET, messenger_delivery  # noqa: E402
from connectors.base import hmac_sha256_hex  # noqa: E402
from hopnhat.access import create_key  # noqa: E402
from hopnhat.embedded import embedded_services, free_port  # noqa: E402
from hopnhat.migrate import migrate  # noqa: E402
from hopnhat.processes import running_stack  # noqa: E402
from hopnhat.sample import generate  # noqa: E402
from hopnhat.settings import Settings  # noqa: E402
from hopnhat.webform_client import encode_submission, signed_headers  # noqa: E402
from resolver.phone import normalise_phone  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402

FORM, SECRET = "bench", "latency-secret"


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return round(values[0], 1) if values else float("nan")
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)  # never beyond the max


async def run_load(s: Settings, rate: float, seconds: float, sample: int, api_key: str, source: str = "webform",
                   batch: int = 1) -> dict[str, object]:
    base = f"http://{s.http_host}:{s.http_port}"
    batch = batch if source == "messenger" else 1
    _, visits = generate(int(rate * seconds), seed=7) if source == "webform" else ([], [])
    visits = visits[: int(rate * seconds)]
    requests = len(visits) if source == "webform" else int(rate * seconds / batch)
    now_ms = int(time.time() * 1000)
    seen_phones: set[str] = set()
    # probes are keyed as profiles list their identifiers ("phone:+84912345678", "fb_psid:6723...")
    accepted_at: dict[str, float] = {}  # probe -> time the webhook answered 200
    typed: dict[str, tuple[str, str]] = {}  # probe -> (type, value as the sender wrote it) for the lookup
    api_seen: dict[str, float] = {}
    topic_seen: dict[str, float] = {}
    accepted = 0
    stop = asyncio.Event()

    consumer = AIOKafkaConsumer(s.topic("customers.profiles"), bootstrap_servers=s.kafka_bootstrap,
                                group_id=None, auto_offset_reset="latest", fetch_max_wait_ms=20)
    await consumer.start()

    async def read_profiles() -> None:
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for messages in fetched.values():
                for m in messages:
                    if m.value is None:
                        continue
                    for probe in json.loads(m.value).get("identifiers", []):
                        if probe in accepted_at and probe not in topic_seen:
                            topic_seen[probe] = now

    async def watch(client: httpx.AsyncClient, probe: str) -> None:
        kind, value = typed[probe]
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            r = await client.get(f"{base}/v1/customers/lookup", params={"type": kind, "value": value})
            if r.status_code == 200:
                api_seen[probe] = time.perf_counter()
                return
            await asyncio.sleep(0.05)

    def probe_from(poller: httpx.AsyncClient, probe: str, kind: str, value: str) -> None:
        accepted_at[probe] = time.perf_counter()
        typed[probe] = (kind, value)
        watchers.append(asyncio.create_task(watch(poller, probe)))

    async def post_form(client: httpx.AsyncClient, poller: httpx.AsyncClient, i: int) -> None:
        nonlocal accepted
        visit = visits[i]
        body, ctype = encode_submission(visit.fields, visit.submission_id, visit.as_json)
        try:
            r = await client.post(f"{base}/webhooks/webform/{FORM}", content=body,
                                  headers=signed_headers(SECRET, body, ctype))
        except httpx.HTTPError:  # an overloaded server drops connections: counted as not accepted
            return
        if r.status_code != 200:
            return
        accepted += 1
        phone = visit.fields.get("phone")
        e164 = normalise_phone(phone).e164 if phone else None
        if e164 and e164 not in seen_phones and i % sample == 0:
            probe_from(poller, f"phone:{e164}", "phone", phone or "")
        if e164:
            seen_phones.add(e164)

    async def post_delivery(client: httpx.AsyncClient, poller: httpx.AsyncClient, i: int) -> None:
        nonlocal accepted
        body = messenger_delivery(i * batch, batch, now_ms)
        headers = {"content-type": "application/json",
                   "x-hub-signature-256": "sha256=" + hmac_sha256_hex(FB_SECRET.encode(), body)}
        try:
            r = await client.post(f"{base}/webhooks/facebook/{FB_APP}", content=body, headers=headers)
        except httpx.HTTPError:
            return
        if r.status_code != 200:
            return
        accepted += batch
        if i % sample == 0:
            psid = json.loads(body)["entry"][0]["messaging"][0]["sender"]["id"]
            probe_from(poller, f"fb_psid:{FB_PAGE}:{psid}", "fb_psid", f"{FB_PAGE}:{psid}")  # PSIDs are per Page

    post = post_form if source == "webform" else post_delivery
    watchers: list[asyncio.Task[None]] = []
    reader = asyncio.create_task(read_profiles())
    # Many small clients, not one big pool: one httpx pool slows down badly beyond ~8 connections.
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    senders = [httpx.AsyncClient(timeout=30, limits=limits) for _ in range(16)]
    poller = httpx.AsyncClient(timeout=30, limits=limits, headers={"Authorization": f"Bearer {api_key}"})
    t0 = time.perf_counter()
    inflight: set[asyncio.Task[None]] = set()
    for i in range(requests):
        due = t0 + i * batch / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(post(senders[i % len(senders)], poller, i))
        inflight.add(task)
        task.add_done_callback(inflight.discard)
    await asyncio.gather(*inflight)
    sending_s = time.perf_counter() - t0
    await asyncio.gather(*watchers)
    for c in [*senders, poller]:
        await c.aclose()
    deadline = time.perf_counter() + 30
    while len(topic_seen) < len(accepted_at) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    await reader
    await consumer.stop()
    api = [(api_seen[p] - accepted_at[p]) * 1000 for p in accepted_at if p in api_seen]
    topic = [(topic_seen[p] - accepted_at[p]) * 1000 for p in accepted_at if p in topic_seen]
    return {"rate": rate, "achieved_rate": round(accepted / sending_s, 1), "seconds": seconds,
            "source": source, "batch": batch, "samples": len(api), "p50_ms": pct(api, 50), "p99_ms": pct(api, 99),
            "max_ms": round(max(api), 1) if api else None, "topic_p50_ms": pct(topic, 50),
            "topic_p99_ms": pct(topic, 99), "topic_samples": len(topic)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=2000.0, help="offered events per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--sample", type=int, default=25,
                        help="time every n-th submission with a new phone (every n-th delivery with messenger)")
    parser.add_argument("--source", choices=["webform", "messenger"], default="webform",
                        help="webform: one event per signed POST; messenger: Meta deliveries of --batch messages")
    parser.add_argument("--batch", type=int, default=10, help="messages per Meta delivery (--source messenger)")
    parser.add_argument("--linger", type=float, default=0.05,
                        help="the resolve agent's micro-batch linger in seconds (HOPNHAT_RESOLVE_LINGER_S)")
    args = parser.parse_args()
    with embedded_services(Settings()) as base:
        s = base.with_secret("webform", FORM, SECRET).with_secret("facebook", FB_APP, FB_SECRET).model_copy(
            update={"http_port": free_port(), "resolve_linger_s": args.linger, "partitions": max(4, 2 * args.workers)})
        assert s.database_url
        migrate(database_url=s.database_url)
        api_key = create_key(database_url=s.database_url, role="service", name="bench/latency.py").key
        ensure_topics(s)
        with running_stack(s, workers=args.workers):
            result = asyncio.run(run_load(s, args.rate, args.seconds, args.sample, api_key, args.source, args.batch))
    result.update({"bench": "latency", "workers": args.workers, "linger_s": args.linger, "python": platform.python_version()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
