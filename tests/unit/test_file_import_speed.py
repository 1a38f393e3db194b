"""The file import's fast path (issue #3) gives exactly the bytes of the slow one.

`BulkConnector.row_record` writes the event JSON without building the pydantic CloudEvent, from a
`RowPlan` compiled once per header; `send_records` publishes a record batch per partition instead of
a `send()` per record. Each is checked against what it replaces: `row_event(...).model_dump_json()`,
and aiokafka's default partitioner.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import bulk
from connectors.asterisk_cdr import AsteriskCdrConnector
from connectors.bulk import BulkConnector, BulkRow, RowPlan, _birth_date, _phone_digits, _phones_of
from connectors.cells import phone_cells
from connectors.tabular import BadRow, FileConnector, SourceRow
from hopnhat.importer import file_connector, parse_chunks, send_records
from schema.errors import MalformedPayload

ROOT = Path(__file__).resolve().parents[2]
RECEIVED = [datetime(2026, 11, 23, 4, 0, tzinfo=UTC),
            datetime(2026, 11, 23, 11, 0, 0, 123, tzinfo=timezone(timedelta(hours=7))),  # == a UTC time
            datetime(2026, 11, 23, 11, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")),
            datetime(2026, 11, 23, 4, 0)]  # naive: written without an offset

LEAD_LIST = ("\ufeffHọ và tên,SĐT,Email,Ngày sinh,Giới tính,Địa chỉ,Tỉnh/Thành,Ghi chú,Ngày tạo\n"
             "Nguyễn Thị Lan,0912.345.678,Lan.Nguyen@gmail.com,05/03/1990,Nữ,12 Nguyễn Huệ,TP HCM,"
             "khách cũ,22/11/2026 14:05\n"
             "Trần Văn Bình,912345679,,,nam,,,,\n"
             'Lê Thị Hoa,"0912345670 - 0987123456",,31/02/1990,,,,,\n'
             ",,,,,,,chỉ có ghi chú,\n"
             '"Phạm Quang\nHuy",0903111222,,,,,,,not a time\n'
             "Đỗ Minh Tâm,9.12E+08,,,,,,,\n"
             "Ngô Thư,０９１２３４５６７８,,2099-01-01,F,,,,2026-11-22T14:05:00+07:00\n"
             "Vũ An\n")
NAME_PARTS = ("rec_id,given_name,surname,street_number,address_1,suburb,state,postcode,soc_sec_id,Zalo ID\n"
              "rec-1,mitchell,green,7,wallaby place,cleveland,sa,2119,1804974,\n"
              "rec-2,,green,,wallaby place,cleveland,,2119,,\n"
              "VN-1,Lan,Nguyễn Thị,12,Nguyễn Huệ,Quận 1,TP HCM,,,8448021542710133051\n"
              ",,,,,,,,,\n")
NAME_PARTS_MAPPING = {"columns": {
    "record_id": "rec_id", "given_name": "given_name", "family_name": "surname",
    "address": ["street_number", "address_1", "suburb", "state"], "channel_ids": {"zalo": "Zalo ID"},
    "attributes": {"id_number": "soc_sec_id", "street": ["street_number", "address_1"]}}}
JSONL = ('{"full_name": "Ngô Minh Thư", "phone": 912345678, "dob": 19900305}\n'
         "not json\n"
         '{"id": "L-9", "name": "Hà An", "email": "an@example.vn", "x": [1, {"a": null}]}\n'
         '{"phone": 912345678.5}\n'
         '{"phone": "0912345678", "mobile": 912345678.0, "tel": null}\n')
LISTS: list[tuple[str, str, dict[str, Any]]] = [
    ("list.csv", LEAD_LIST, {}),
    ("names.csv", NAME_PARTS, NAME_PARTS_MAPPING),
    ("dup.csv", "name,tên,phone,phone,Email\nAn,Bình,0912345678,0987654321,a@b.vn; C@D.vn\nChi\n", {}),
    ("leads.jsonl", JSONL, {}),
]


def _xlsx() -> bytes:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Số điện thoại", "Ngày sinh", "created_at", "Ghi chú"])
    sheet.append(["Nguyễn Văn Nam", 912345678, datetime(1985, 7, 2), datetime(2026, 11, 22, 14, 5), 1.5])
    sheet.append(["Trần Thị Mai", "0912 000 111", "02/07/1985", None, 42.0])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _records_both_ways(connector: FileConnector, data: bytes, filename: str, options: dict[str, Any],
                       received_at: datetime) -> list[tuple[Any, Any]]:
    """(fast, slow) per row: the record `row_record` gives, and the one built through `row_event`."""
    out = []
    for row in connector.read_rows(data, filename=filename, options=options):
        if isinstance(row, BadRow):
            continue
        kwargs: dict[str, Any] = {"options": options, "source_id": "s", "file_sha256": "f" * 64,
                                  "received_at": received_at}
        try:
            fast: Any = connector.row_record(row, **kwargs)
        except MalformedPayload as exc:
            fast = (exc.field, exc.reason)
        try:
            event = connector.row_event(row, **kwargs)
            slow: Any = None if event is None else (connector.kafka_key(event).encode(),
                                                    event.model_dump_json().encode())
        except MalformedPayload as exc:
            slow = (exc.field, exc.reason)
        out.append((fast, slow))
    return out


@pytest.mark.parametrize("received_at", RECEIVED, ids=["utc", "plus7-offset", "zoneinfo", "naive"])
@pytest.mark.parametrize(("filename", "text", "options"), LISTS, ids=[name for name, _, _ in LISTS])
def test_bulk_row_record_is_the_row_events_json_byte_for_byte(filename: str, text: str,
                                                               options: dict[str, Any],
                                                               received_at: datetime) -> None:
    pairs = _records_both_ways(BulkConnector(), text.encode(), filename, options, received_at)
    assert pairs and all(fast == slow for fast, slow in pairs)
    assert any(isinstance(fast[1], bytes) for fast, _ in pairs)  # not only rejections


def test_bulk_row_record_on_xlsx_and_the_default_row_record_of_other_file_connectors() -> None:
    pairs = _records_both_ways(BulkConnector(), _xlsx(), "khach.xlsx", {}, RECEIVED[0])
    assert len(pairs) == 2 and all(fast == slow for fast, slow in pairs)
    cdr = ('"","0912345678","100","from-trunk","""Lan"" <0912345678>","SIP/trunk-1","SIP/100-2","Dial",'
           '"SIP/100","2026-11-22 09:00:00","2026-11-22 09:00:03","2026-11-22 09:01:03",63,60,"ANSWERED",'
           '"DOCUMENTATION","1732240800.1",""\n')
    pairs = _records_both_ways(AsteriskCdrConnector(), cdr.encode(), "Master.csv", {}, RECEIVED[0])
    assert len(pairs) == 1 and all(fast == slow for fast, slow in pairs)


def test_the_bench_list_serialises_to_the_bytes_of_the_code_before_the_fast_path() -> None:
    """Pinned with the code of commit bad208c (pydantic CloudEvent per row, generic per-field lists):
    3,000 rows of bench/ingest.py's generated list, received in UTC and at +07:00."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from ingest import write_list
    finally:
        sys.path.remove(str(ROOT / "bench"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k.csv"
        write_list(path, 3000, 84)
        data = path.read_bytes()
    digest = hashlib.sha256()
    for received in RECEIVED[:2]:
        for chunk in parse_chunks(file_connector("bulk"), data, name="k.csv", options={}, source_id="golden",
                                  sha="f" * 64, received_at=received, done=0, limit=None):
            for dead, key, value in chunk.records:
                assert not dead
                digest.update(key + b"\t" + value + b"\n")
    assert digest.hexdigest() == "89059ff16a1d2810dfe983433ac88161c6c8687005392865ff0fc6fa26bfe6cd"


PHONE_CELLS = st.one_of(st.text(alphabet="0123456789 .-;/+eE,xoặcrhn\n\u00a0０٣²", max_size=25),
                        st.text(max_size=12), st.integers(min_value=0, max_value=10**12),
                        st.floats(allow_nan=False), st.none())


@settings(max_examples=500, deadline=None)
@given(PHONE_CELLS)
def test_phones_of_answers_as_phone_cells(cell: Any) -> None:
    try:
        expected: Any = phone_cells(cell, "phones[0]")
    except MalformedPayload as exc:
        expected = exc.field, exc.reason
    try:
        got: Any = _phones_of(cell, "phones[0]")
    except MalformedPayload as exc:
        got = exc.field, exc.reason
    assert got == expected


@pytest.mark.parametrize("phone", ["0912345678", "+84 912 345 678", "0912.345.678", "０９１２", "09²1", "",
                                   "abc"])
def test_phone_digits_keeps_what_isdigit_keeps(phone: str) -> None:
    assert _phone_digits(phone) == "".join(c for c in phone if c.isdigit())


def test_birth_year_check_asks_the_clock_only_past_the_year_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    this_year = date.today().year
    monkeypatch.setattr(bulk, "_YEAR_SEEN", this_year - 5)  # as if the import started five years ago
    assert _birth_date(f"01/01/{this_year}") == f"{this_year}-01-01"
    for text in (f"01/01/{this_year + 1}", "01/01/1899"):
        with pytest.raises(MalformedPayload, match="out of range"):
            _birth_date(text)


def test_read_rows_gives_bulk_rows_with_their_plan_and_row_event_takes_a_plain_source_row() -> None:
    options = {"columns": {"record_id": "Mã", "phones": ["Di động", "Cố định"]}}
    (row,) = BulkConnector().read_rows("Mã,Di động,Cố định,Ghi chú\nKH-7,0977123456,,x\n".encode(),
                                       filename="a.csv", options=options)
    assert isinstance(row, BulkRow) and isinstance(row.plan, RowPlan)
    assert row.mapped("phones") == ["0977123456", ""] and row.mapped("record_id") == ["KH-7"]
    assert row.mapped("emails") == [] and row.plan.extra == ("Ghi chú",)
    plain = SourceRow(row.line, dict(row.cells), row.source)
    kwargs: dict[str, Any] = {"options": options, "source_id": "s", "file_sha256": "f" * 64,
                              "received_at": RECEIVED[0]}
    assert BulkConnector().row_event(plain, **kwargs) == BulkConnector().row_event(row, **kwargs)
    assert BulkConnector().row_event(row, **kwargs).data["extra"] == {"Ghi chú": "x"}


class FakeBatch:
    def __init__(self, capacity: int) -> None:
        self.capacity, self.closed = capacity, False
        self.records: list[tuple[bytes, bytes]] = []

    def append(self, *, key: bytes, value: bytes, timestamp: None) -> object | None:
        if self.closed or (self.records and len(self.records) >= self.capacity):
            return None  # as aiokafka's builder: full or closed; the first record always fits
        self.records.append((key, value))
        return object()

    def close(self) -> None:
        self.closed = True


class FakeProducer:
    """The part of AIOKafkaProducer `send_records` uses; records where each record went."""

    def __init__(self, partitions: int, capacity: int) -> None:
        self.partitions, self.capacity = set(range(partitions)), capacity
        self.sent: list[tuple[str, int | None, list[tuple[bytes, bytes]]]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return self.partitions

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.capacity)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> str:
        assert batch.closed and batch.records
        self.sent.append((topic, partition, batch.records))
        return "future"

    async def send(self, topic: str, value: bytes, key: bytes, partition: int | None = None) -> str:
        self.sent.append((topic, partition, [(key, value)]))
        return "future"


def test_send_records_puts_each_event_where_send_would_in_file_order_and_dead_letters_one_by_one() -> None:
    import asyncio

    from aiokafka.partitioner import DefaultPartitioner

    from streams.batch_send import LARGE_RECORD

    records = [(False, f"09{i:08d}".encode(), json.dumps({"row": i}).encode()) for i in range(50)]
    records[7] = (True, b"import:bulk:x", b"dead letter")
    records[20] = (False, b"0900000020", b"x" * (LARGE_RECORD + 1))  # through send(), which checks its size
    producer = FakeProducer(partitions=4, capacity=3)
    futures = asyncio.run(send_records(producer, records, "raw.bulk", "dlq.ingest"))
    assert len(futures) == len(producer.sent)
    dead_letters = [sent for sent in producer.sent if sent[0] == "dlq.ingest"]
    assert dead_letters == [("dlq.ingest", None, [records[7][1:]])]
    by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
    for topic, partition, batch in producer.sent:
        if topic == "raw.bulk":
            assert partition is not None and len(batch) <= 3
            by_partition.setdefault(partition, []).extend(batch)
    expected: dict[int, list[tuple[bytes, bytes]]] = {}
    for dead, key, value in records:
        if not dead:
            partition = DefaultPartitioner()(key, [0, 1, 2, 3], [0, 1, 2, 3])
            expected.setdefault(partition, []).append((key, value))
    assert by_partition == expected and len(expected) == 4
    assert (records[20][1:],) in [tuple(batch) for _, _, batch in producer.sent]  # alone, in its place


def test_a_list_reads_each_birth_date_text_once_and_keeps_no_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "BIRTH_DATES_KEPT", 2)
    (row,) = BulkConnector().read_rows("Họ và tên,Ngày sinh\nAn,05/03/1990\n".encode(), filename="a.csv",
                                       options={})
    assert isinstance(row, BulkRow)
    plan = row.plan
    assert plan._birth_field("05/03/1990", "05/03/1990") == ("birth_date", "1990-03-05")
    assert plan.birth_dates == {"05/03/1990": "1990-03-05"}
    plan.birth_dates["05/03/1990"] = "kept"  # the second time, the answer kept is the answer
    assert plan._birth_field(" 05/03/1990", "05/03/1990") == ("birth_date", "kept")
    field, text = plan._birth_field("31/02/1990", "31/02/1990")
    assert field == "invalid.birth_date" and text.startswith("31/02/1990 (")
    assert "31/02/1990" not in plan.birth_dates
    assert plan._birth_field(19900306, "19900306") == ("birth_date", "1990-03-06")  # not text: not kept
    assert plan._birth_field(datetime(1985, 7, 2), "1985-07-02T00:00:00") == ("birth_date", "1985-07-02")
    assert plan._birth_field("1990-03-07", "1990-03-07") == ("birth_date", "1990-03-07")
    assert plan._birth_field("1990-03-08", "1990-03-08") == ("birth_date", "1990-03-08")
    assert list(plan.birth_dates) == ["05/03/1990", "1990-03-07"]  # at most BIRTH_DATES_KEPT


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300))
def test_murmur2_is_aiokafkas(key: bytes) -> None:
    from aiokafka.partitioner import murmur2 as aiokafka_murmur2

    from streams.batch_send import murmur2

    assert murmur2(key) == aiokafka_murmur2(key)


@pytest.mark.parametrize("key", [b"", b"0", b"09", b"091", b"0912345678", b"912345678",
                                 "lan@ví dụ.vn".encode(), bytes(range(256)) * 2])
def test_murmur2_on_the_keys_of_imports(key: bytes) -> None:
    from aiokafka.partitioner import murmur2 as aiokafka_murmur2

    from streams.batch_send import murmur2

    assert murmur2(key) == aiokafka_murmur2(key)


def test_import_identity_finds_a_checkout_identical_to_itself(tmp_path: Path) -> None:
    """bench/import_identity.py, the old-vs-new comparison behind the claims above, on a small corpus."""
    import subprocess

    pytest.importorskip("openpyxl")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "import_identity.py"), "--old", str(ROOT),
                           "--lists", "40", "--rows", "200", "--seed", "3"], capture_output=True, text=True,
                          env=env, timeout=240, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["identical"] is True and result["files"] == 45 and result["events"] > 200
