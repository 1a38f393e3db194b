"""Benchmark: ingest rates into raw.<channel>, broker-acknowledged, on the embedded broker and database.

    python bench/ingest.py [--parts file] [--rows 200000] [--batch-size 5000]

Parts (each adds its figures to the final JSON line; more parts, e.g. a `webhook` one with
`webhook_events_per_s`, plug into PARTS):
  file   `hopnhat import bulk` over a generated Vietnamese contact list (CSV, UTF-8 with BOM, names
         with diacritics, phones in mixed local formats, 1 % bad rows) -> `file_rows_per_s` = rows /
         (start of import -> last batch acknowledged by the broker and checkpointed). To show where the
         time goes it also measures, on the same file: reading + parsing + serialising alone
         (`file_parse_rows_per_s`, no I/O) and producing the already serialised records alone
         (`file_produce_rows_per_s`, acks=all, same batching).

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
from connectors.tabular import BadRow, FileConnector  # noqa: E402
from hopnhat.embedded import embedded_services  # noqa: E402
from hopnhat.importer import import_files  # noqa: E402
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


def parse_only(connector: FileConnector, data: bytes, name: str) -> tuple[float, list[tuple[bytes, bytes]]]:
    """Seconds to read, parse and serialise every row (no broker), and the serialised records."""
    now, sha = datetime.now(UTC), hashlib.sha256(data).hexdigest()
    t0 = time.perf_counter()
    records = []
    for row in connector.read_rows(data, filename=name, options={}):
        if isinstance(row, BadRow):
            continue
        try:
            event = connector.row_event(row, options={}, source_id="bench", file_sha256=sha, received_at=now)
        except Exception:  # noqa: BLE001 - bad rows are part of the sample; only the rate matters here
            continue
        if event is not None:
            records.append((connector.kafka_key(event).encode(), event.model_dump_json().encode()))
    return time.perf_counter() - t0, records


async def produce_only(s: Settings, topic: str, records: list[tuple[bytes, bytes]], batch_size: int) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=5,
                                max_batch_size=1 << 20)
    await producer.start()
    try:
        t0 = time.perf_counter()
        for i in range(0, len(records), batch_size):
            futures = [await producer.send(topic, key=k, value=v) for k, v in records[i:i + batch_size]]
            await asyncio.gather(*futures)
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
        parse_s, records = parse_only(connector, data, path.name)
        produce_s = asyncio.run(produce_only(s, s.topic("bench.produce"), records, batch_size))
    return {
        "file_rows": result.rows, "file_published": result.published, "file_rejected": result.rejected,
        "file_rows_per_s": round(result.rows_per_s, 1),
        "file_parse_rows_per_s": round(rows / parse_s, 1),
        "file_produce_rows_per_s": round(len(records) / produce_s, 1),
        "file_mb": round(len(data) / 1e6, 2), "file_batch_size": batch_size,
        "file_parse_process": len(data) >= parallel_min_mb * 1e6,
    }


PARTS: dict[str, Callable[[Settings, argparse.Namespace], dict[str, Any]]] = {
    "file": lambda s, a: file_part(s, a.rows, a.batch_size, a.seed, a.parallel_min_mb),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="file", help=f"comma-separated, of: {', '.join(PARTS)}")
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
