"""Benchmark: ingest rates into raw.<channel>, broker-acknowledged, on the embedded broker and database.

    python bench/ingest.py [--parts file,webhook] [--rows 200000] [--batch-size 5000]
                           [--webhook-events 50000] [--webhook-batch 50] [--concurrency 16]

Parts (each adds its figures to the final JSON line; more parts plug into PARTS):
  file   `hopnhat import bulk` over a generated Vietnamese contact list (CSV, UTF-8 with BOM, names
         with diacritics, phones in mixed local formats, 1 % impossible birth dates, which the row keeps as
         `invalid.birth_date`) -> `file_rows_per_s` = rows /
         (start of import -> last batch acknowledged by the broker and checkpointed). To show where the
         time goes it also measures, on the same file: reading + parsing + serialising alone, as the
         importer's parser (`file_parse_rows_per_s`, no I/O; `file_parse_cpu_us_per_row` its CPU time)
         and producing the already serialised records alone as the importer does
         (`file_produce_rows_per_s`, acks=all, same batching).
  webhook  the real `hopnhat serve` (no worker) receiving signed Meta deliveries that batch
         --webhook-batch Messenger messages each -> `webhook_events_per_s` (events, not requests, as
         the issue counts batched deliveries), then signed web form posts of one event each ->
         `webhook_single_events_per_s`. 2xx only after the broker acknowledged every event.

Starts the embedded Tansu broker and PostgreSQL (or uses HOPNHAT_KAFKA_BOOTSTRAP /
HOPNHAT_DATABASE_URL). Progress on stderr, one final JSON line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import platform
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaProducer  # noqa: E402

from connectors import load_connector  # noqa: E402
from connectors.tabular import FileConnector  # noqa: E402
from hopnhat.embedded import embedded_services, free_port  # noqa: E402
from hopnhat.importer import import_files, parse_chunks, send_records  # noqa: E402
from hopnhat.migrate import migrate  # noqa: E402
from hopnhat.settings import Settings  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Thị", "Văn", "Minh", "Ngọc", "Thu", "Quang", "Hữu", "Thanh", "Đức", "Bảo"]
GIVEN = ["Lan", "Hùng", "Hương", "Tuấn", "Mai", "Dũng", "Hà", "Nam", "Linh", "Sơn", "Thảo", "Phúc", "Ánh"]
PROVINCES = ["Hà Nội", "TP HCM", "Đà Nẵng", "Cần Thơ", "Hải Phòng", "Khánh Hòa", "Nghệ An", "Bình Dương"]


def write_list(path: Path, rows: int, seed: int) -> None:
    rnd = random.Random(seed)
    out = ["Mã KH,Họ và tên,Số điện thoại,Email,Ngày sinh,Giới tính,Tỉnh/Thành"]
    for i in range(rows):
        n = rnd.randrange(10_000_000, 99_999_999)
        phone = rnd.choice([f"09{n}", f"0{n // 10 + 300_000_000}", f"849{n}", f"9{n}", f"09{n // 10000}.{n % 10000}",
                            f'"09{n} - 03{(n * 7) % 100_000_000:08d}"'])
        birth = "31/02/1990" if rnd.random() < 0.01 else f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/19{rnd.randint(50, 99)}"
        email = f"kh{i}@example.vn" if rnd.random() < 0.4 else ""
        out.append(f"KH{i:07d},{rnd.choice(FAMILY)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)},{phone},{email},{birth},"
                   f"{rnd.choice(['Nam', 'Nữ', ''])},{rnd.choice(PROVINCES)}")
    path.write_text("\ufeff" + "\n".join(out) + "\n", encoding="utf-8")


def parse_only(connector: FileConnector, data: bytes,
               name: str) -> tuple[float, float, list[tuple[bool, bytes, bytes]]]:
    """Seconds (wall, and CPU of this process: what other processes on the machine do not change) to
    read, parse and serialise every row (no broker) as the importer's parser does (`parse_chunks`:
    events and dead letters), and the serialised (dead letter?, key, value) records."""
    now, sha = datetime.now(UTC), hashlib.sha256(data).hexdigest()
    t0, cpu0 = time.perf_counter(), time.process_time()
    chunks = parse_chunks(connector, data, name=name, options={}, source_id="bench", sha=sha, received_at=now,
                          done=0, limit=None, chunk_rows=2000)
    records = [record for chunk in chunks for record in chunk.records]
    return time.perf_counter() - t0, time.process_time() - cpu0, records


async def produce_only(s: Settings, topic: str, records: list[tuple[bool, bytes, bytes]],
                       batch_size: int) -> float:
    """Seconds to publish already serialised records as the importer does (`send_records`), acks=all."""
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=5,
                                max_batch_size=1 << 20)
    await producer.start()
    try:
        t0 = time.perf_counter()
        for i in range(0, len(records), batch_size):
            await asyncio.gather(*await send_records(producer, records[i:i + batch_size], topic, topic))
        return time.perf_counter() - t0
    finally:
        await producer.stop()


def file_part(s: Settings, rows: int, batch_size: int, seed: int, parallel_min_mb: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "khach-hang.csv"
        write_list(path, rows, seed)
        data = path.read_bytes()
        print(f"file: {rows} rows, {len(data) / 1e6:.1f} MB", file=sys.stderr)
        result = import_files(settings=s, channel="bulk", paths=[path], source_id="bench", batch_size=batch_size,
                              parallel_min_bytes=int(parallel_min_mb * 1e6))
        print(f"file: imported in {result.seconds:.1f}s", file=sys.stderr)
        connector = load_connector("bulk")
        assert isinstance(connector, FileConnector)
        parse_s, parse_cpu_s, records = parse_only(connector, data, path.name)
        produce_s = asyncio.run(produce_only(s, s.topic("bench.produce"), records, batch_size))
    return {
        "file_rows": result.rows, "file_published": result.published, "file_rejected": result.rejected,
        "file_rows_per_s": round(result.rows_per_s, 1),
        "file_parse_rows_per_s": round(rows / parse_s, 1),
        "file_parse_cpu_us_per_row": round(parse_cpu_s / rows * 1e6, 2),
        "file_produce_rows_per_s": round(len(records) / produce_s, 1),
        "file_mb": round(len(data) / 1e6, 2), "file_batch_size": batch_size,
        "file_parse_process": len(data) >= parallel_min_mb * 1e6,
    }


FB_APP, FB_PAGE, FB_SECRET = "1517776481860111", "104523871234567", "bench-app-secret"


def messenger_delivery(first: int, items: int, now_ms: int) -> bytes:
    """One Meta delivery batching `items` Messenger messages from different people (as Meta batches)."""
    entry = [{"id": FB_PAGE, "time": now_ms, "messaging": [
        {"sender": {"id": f"67231455{first + i:08d}"}, "recipient": {"id": FB_PAGE}, "timestamp": now_ms,
         "message": {"mid": f"m_bench_{first + i}", "text": "Chào shop, áo size M còn không ạ? Giá 250.000đ"}}
        for i in range(items)]}]
    # Meta escapes non-ASCII as \uXXXX on the wire; the signature is over these exact bytes.
    return json.dumps({"object": "page", "entry": entry}, ensure_ascii=True).encode()


async def post_deliveries(url: str, bodies: list[bytes], headers: Callable[[bytes], dict[str, str]],
                          concurrency: int) -> tuple[float, int]:
    """POST every body with `concurrency` single-connection clients; (seconds, count of 2xx)."""
    import httpx

    queue = list(reversed(bodies))
    ok = 0

    async def worker() -> None:
        nonlocal ok
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=1)) as client:
            while queue:
                body = queue.pop()
                response = await client.post(url, content=body, headers=headers(body))
                ok += response.status_code == 200

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, ok


def webhook_part(s: Settings, events: int, batch: int, concurrency: int, seed: int) -> dict[str, Any]:
    """Webhook events/s to broker-acked through the real `hopnhat serve` (no worker running):
    Meta deliveries batching `batch` messages each, and web form posts of one event each."""
    from connectors.base import hmac_sha256_hex
    from hopnhat.processes import running_stack
    from hopnhat.sample import generate
    from hopnhat.webform_client import post_visits

    s = (s.with_secret("facebook", FB_APP, FB_SECRET).with_secret("webform", "bench", "form-secret")
         .model_copy(update={"http_port": free_port()}))
    now_ms = int(time.time() * 1000)
    bodies = [messenger_delivery(i, batch, now_ms) for i in range(0, events, batch)]
    _, visits = generate(max(1, events // 10 // 2), seed)
    with running_stack(s, workers=0):
        base = f"http://{s.http_host}:{s.http_port}"
        fb_s, fb_ok = asyncio.run(post_deliveries(
            f"{base}/webhooks/facebook/{FB_APP}", bodies,
            lambda b: {"content-type": "application/json",
                       "x-hub-signature-256": "sha256=" + hmac_sha256_hex(FB_SECRET.encode(), b)}, concurrency))
        forms = asyncio.run(post_visits(base, "bench", "form-secret", visits, concurrency=concurrency))
    fb_events = fb_ok * batch
    print(f"webhook: {fb_events} batched events in {fb_s:.1f}s, {forms.accepted} single posts in "
          f"{forms.seconds:.1f}s", file=sys.stderr)
    return {"webhook_events_per_s": round(fb_events / fb_s, 1), "webhook_events": fb_events,
            "webhook_batch": batch, "webhook_requests_per_s": round(fb_ok / fb_s, 1),
            "webhook_single_events_per_s": round(forms.accepted / forms.seconds, 1),
            "webhook_concurrency": concurrency}


PARTS: dict[str, Callable[[Settings, argparse.Namespace], dict[str, Any]]] = {
    "file": lambda s, a: file_part(s, a.rows, a.batch_size, a.seed, a.parallel_min_mb),
    "webhook": lambda s, a: webhook_part(s, a.webhook_events, a.webhook_batch, a.concurrency, a.seed),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="file,webhook", help=f"comma-separated, of: {', '.join(PARTS)}")
    parser.add_argument("--webhook-events", type=int, default=50_000, help="messages in Meta deliveries")
    parser.add_argument("--webhook-batch", type=int, default=50, help="messages per Meta delivery")
    parser.add_argument("--concurrency", type=int, default=16, help="parallel HTTP connections")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=84)
    parser.add_argument("--parallel-min-mb", type=float, default=4.0,
                        help="files this large are parsed in a second process (the importer's default: 4 MB)")
    args = parser.parse_args()
    out: dict[str, Any] = {"bench": "ingest"}
    with embedded_services(Settings()) as base:
        s = base.model_copy(update={"topic_prefix": f"bench{secrets.token_hex(3)}.", "partitions": 4})
        assert s.database_url
        migrate(database_url=s.database_url)
        ensure_topics(s)
        for part in args.parts.split(","):
            out.update(PARTS[part.strip()](s, args))
    out.update({"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                "python": platform.python_version(), "date": datetime.now(UTC).date().isoformat()})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
