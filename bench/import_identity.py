"""Do two checkouts of hopnhat serialise an import identically? The proof behind a file-import speed-up.

    git worktree add /tmp/hopnhat-old <commit>        # the code before
    python bench/import_identity.py --old /tmp/hopnhat-old [--new .] [--lists 1500] [--seed 7] [--rows 200000]

Writes generated bulk lists (CSV in three encodings and delimiters, JSONL with non-text values,
XLSX; random Vietnamese and English headers, mappings with name parts, several phone/address/
attribute columns, channel ids and event-time columns; short, long and duplicate-header rows), the
bench's contact list (bench/ingest.py) and the bulk files of tests/fixtures/bad_inputs; runs the
importer's parser (`parse_chunks`) of each checkout over all of them in a subprocess, dead letters'
clock pinned; compares the outputs byte for byte: every record (dead letter?, key, value), problem
and chunk boundary, or the error that stopped a file. One final JSON line on stdout.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXED = datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC)
HEADERS = ["record_id", "id", "mã kh", "Mã KH", "ma_kh", "full_name", "name", "họ tên", "Họ và tên", "HỌ  VÀ TÊN",
           "tên khách hàng", "tên", "Ho\u0323 te\u0302n", "phone", "mobile", "tel", "sdt", "SĐT", "Số điện thoại",
           "Di động", "Cố định", "email", "Email", "Thư", "birth_date", "dob", "Ngày sinh", "gender", "Giới tính",
           "address", "Địa chỉ", "Số nhà", "Đường", "province", "Tỉnh/Thành", "created_at", "Ngày tạo", "Ghi chú",
           "Zalo ID", "Nhóm", "rec_id", "given_name", "surname", "Khác", ""]
CELLS = ["", " ", "Nguyễn Thị Lan", "  Trần Văn Bình ", "0912345678", "912345678", "912345678.0", "9.12E+08",
         "0912.345.678", "84912345678", "0912345678 - 0987123456", "0912345678; 0987123456", "０９１２３４５６７８",
         "9١٢٣٤٥٦٧٨", "³12345678", "312345678", "abc", "lan@EXAMPLE.vn", "a@b.vn, c@d.vn", "05/03/1990",
         "31/02/1990", "1990-03-05", "19900305", "19901305", "2099-01-01", "hôm qua", "Nam", "nữ", "F",
         "12 Nguyễn Huệ", "TP HCM", "22/11/2026 14:05", "2026-11-22T14:05:00+07:00", "1999-01-01", "not a time",
         "KH-1", "\t", "a\nb", 'quote"d', "ơ\u0301", "\u00a0", "0912345678 hoặc 0987654321", "+84912345678"]
VALUES: list[Any] = [*CELLS, None, 912345678, 912345678.0, 912345678.5, 19900305, True, 0, 1.5, [1, "2"], {"a": 1}, -3]
FIELDS = ["record_id", "full_name", "family_name", "middle_name", "given_name", "birth_date", "gender", "address",
          "province", "occurred_at", "phones", "emails"]


def random_mapping(rnd: random.Random, header: list[str]) -> dict[str, Any]:
    pool = [h for h in header if h]
    if not pool or rnd.random() < 0.35:
        return {}  # the default Vietnamese/English headers
    columns: dict[str, Any] = {}
    for name in rnd.sample(FIELDS, rnd.randint(1, 6)):
        several = name in ("phones", "emails", "address") and rnd.random() < 0.5
        columns[name] = rnd.sample(pool, min(len(pool), rnd.randint(1, 3))) if several else rnd.choice(pool)
    if rnd.random() < 0.3:
        columns["channel_ids"] = {rnd.choice(["zalo", "fb_psid", "external"]): rnd.choice(pool)}
    if rnd.random() < 0.4:
        columns["attributes"] = {"seg": rnd.choice(pool), "street": rnd.sample(pool, min(len(pool), 2))}
    return {"columns": columns}


def write_random_list(rnd: random.Random, path_stem: Path) -> dict[str, Any]:
    """One generated list file; its case (path and options) for `dump`."""
    header = rnd.sample(HEADERS, rnd.randint(1, 9))
    if rnd.random() < 0.2:
        header.append(rnd.choice(header))  # a duplicate header
    options = random_mapping(rnd, header)
    if rnd.random() < 0.2:
        options["timezone"] = rnd.choice(["UTC", "Asia/Ho_Chi_Minh"])
    kind = rnd.choice(["csv", "csv", "csv", "jsonl", "xlsx"])
    ragged = rnd.random() >= 0.7  # some files have short and long rows
    rows: list[list[Any]] = []
    for _ in range(rnd.randint(0, 40)):
        width = rnd.randint(0, len(header) + 2) if ragged and rnd.random() < 0.15 else len(header)
        row = [rnd.choice(CELLS if kind == "csv" else VALUES) for _ in range(width)]
        rows.append([str(v) if kind == "xlsx" and isinstance(v, list | dict | bool) else v for v in row])
    path = path_stem.with_suffix(f".{kind}")
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=rnd.choice([",", ";", "\t"]) if rnd.random() < 0.3 else ",")
        writer.writerows([header, *rows])
        path.write_bytes(out.getvalue().encode(rnd.choice(["utf-8", "utf-8-sig", "utf-16"])))
    elif kind == "jsonl":
        lines = ["not json" if rnd.random() < 0.05 else
                 json.dumps(dict(zip(header if rnd.random() < 0.7 else rnd.sample(HEADERS, 4), row, strict=False)),
                            ensure_ascii=rnd.random() < 0.5) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        import openpyxl

        book = openpyxl.Workbook()
        for row in [header, *rows]:
            book.active.append([None if v == "" else v for v in row])
        book.save(path)
    return {"path": str(path), "options": options}


def dump(cases_path: str, out_path: str) -> None:
    """Child mode: the parser output of every case, run by the checkout on PYTHONPATH."""
    from hopnhat import importer

    class PinnedClock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return FIXED

    importer.datetime = PinnedClock  # type: ignore[misc]  # only dead_letter() asks the importer for now()
    with open(out_path, "wb") as out:
        for case in json.loads(Path(cases_path).read_text()):
            out.write(f"== {case['path']} {json.dumps(case['options'], ensure_ascii=False)}\n".encode())
            data = Path(case["path"]).read_bytes()
            try:
                for chunk in importer.parse_chunks(importer.file_connector("bulk"), data, name=Path(case["path"]).name,
                                                   options=case["options"], source_id="cmp",
                                                   sha=hashlib.sha256(data).hexdigest(), received_at=FIXED, done=0,
                                                   limit=None):
                    for dead, key, value in chunk.records:
                        out.write(b"%d\t%s\t%s\n" % (dead, key, value))
                    out.write(b"".join(f"P\t{problem}\n".encode() for problem in chunk.problems))
                    out.write(f"C\t{chunk.upto} {chunk.rows} {chunk.skipped} {chunk.ignored}\n".encode())
            except Exception as exc:  # noqa: BLE001 - a file the importer refuses must be refused alike
                out.write(f"E\t{type(exc).__name__}\t{exc}\n".encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="checkout of the code before")
    parser.add_argument("--new", default=str(ROOT), help="checkout of the code after (default: this one)")
    parser.add_argument("--lists", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the bench's contact list")
    parser.add_argument("--dump", nargs=2, help=argparse.SUPPRESS)  # child mode: CASES OUT
    args = parser.parse_args()
    if args.dump:
        dump(*args.dump)
        return
    sys.path.insert(0, str(ROOT / "bench"))
    from ingest import write_list

    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = [write_random_list(rnd, work / f"list{n}") for n in range(args.lists)]
        write_list(work / "khach-hang.csv", args.rows, 84)
        cases.append({"path": str(work / "khach-hang.csv"), "options": {}})
        cases += [{"path": str(p), "options": {}} for p in sorted((ROOT / "tests/fixtures/bad_inputs/bulk").iterdir())]
        (work / "cases.json").write_text(json.dumps(cases, ensure_ascii=False))
        outputs = {}
        for side in ("old", "new"):
            env = {**os.environ, "PYTHONPATH": str(Path(getattr(args, side)).resolve())}
            subprocess.run([sys.executable, __file__, "--old", "-", "--dump", str(work / "cases.json"),
                            str(work / f"{side}.out")], env=env, check=True)
            outputs[side] = (work / f"{side}.out").read_bytes()
        lines = outputs["new"].splitlines()
        print(json.dumps({"bench": "import_identity", "identical": outputs["old"] == outputs["new"],
                          "files": len(cases), "events": sum(line.startswith(b"0\t") for line in lines),
                          "dead_letters": sum(line.startswith(b"1\t") for line in lines),
                          "refused_files": sum(line.startswith(b"E\t") for line in lines),
                          "sha256": hashlib.sha256(outputs["new"]).hexdigest()}))


if __name__ == "__main__":
    main()
