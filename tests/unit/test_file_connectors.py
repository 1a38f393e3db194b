"""File connectors (bulk lists, Asterisk CDR) and their cell readers, on realistic Vietnamese rows."""

from __future__ import annotations

import codecs
import io
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.asterisk_cdr import AsteriskCdrConnector
from connectors.bulk import BulkConnector
from connectors.cells import parse_vnd, phone_cells
from connectors.tabular import BadRow, FileConnector, SourceRow, decode_text, detect_encoding
from resolver.normalise import Rejected, canonical_event
from schema.errors import MalformedPayload

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
TONES = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text: str) -> bytes:
    """What a Vietnamese Windows writes: base letters precomposed (ơ, ư, â ...), tones as combining marks."""
    out = []
    for char in text:
        try:
            out.append(char.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
            out.append((base + "".join(c for c in parts if c in TONES)).encode("cp1258"))
    return b"".join(out)


@pytest.mark.parametrize(("cell", "expected"), [
    ("0912.345.678", ["0912.345.678"]),
    ("84912345678", ["84912345678"]),
    ("912345678", ["0912345678"]),
    (912345678, ["0912345678"]),
    (912345678.0, ["0912345678"]),
    ("912345678.0", ["0912345678"]),
    ("0912345678 - 0987123456", ["0912345678", "0987123456"]),
    ("0912345678; 0987123456", ["0912345678", "0987123456"]),
    ("0912345678/0987123456", ["0912345678", "0987123456"]),
    ("02873001234", ["02873001234"]),
    ("", []),
    (None, []),
], ids=["dotted", "84-prefix", "excel-dropped-0", "excel-int", "excel-float", "excel-float-text", "dash-pair",
        "semicolon-pair", "slash-pair", "hcm-landline", "empty", "none"])
def test_phone_cells(cell: Any, expected: list[str]) -> None:
    assert phone_cells(cell, "phone") == expected


@pytest.mark.parametrize("cell", ["9.12E+08", "9,12E+08", 912345678.5], ids=["scientific", "scientific-comma",
                                                                             "fractional"])
def test_phone_cells_refuse_what_excel_destroyed(cell: Any) -> None:
    with pytest.raises(MalformedPayload) as err:
        phone_cells(cell, "phones[0]")
    assert err.value.field == "phones[0]"


@pytest.mark.parametrize(("cell", "expected"), [
    ("1.250.000", 1_250_000), ("1,250,000 ₫", 1_250_000), ("1.250.000đ", 1_250_000), ("1 250 000 VND", 1_250_000),
    ("1\u00a0250\u00a0000", 1_250_000), ("1250000.00", 1_250_000), ("1.250.000,00", 1_250_000),
    (1250000.0, 1_250_000), (1250000, 1_250_000), ("1.250", 1_250), ("-30.000", -30_000), ("(30.000)", -30_000),
], ids=["dots", "commas-symbol", "dong-suffix", "spaces-vnd", "nbsp", "zero-fraction", "vn-decimal",
        "excel-float", "int", "small", "negative", "parenthesised"])
def test_parse_vnd(cell: Any, expected: int) -> None:
    assert parse_vnd(cell, "amount") == expected


@pytest.mark.parametrize("cell", ["1,250.000", "1.250,000", "1.25", "1.250.000,5", "", "abc", True],
                         ids=["mixed-1", "mixed-2", "fraction", "half-dong", "empty", "text", "bool"])
def test_parse_vnd_rejects(cell: Any) -> None:
    with pytest.raises(MalformedPayload):
        parse_vnd(cell, "amount")


TEXT = "Họ và tên,Số điện thoại\nNguyễn Thị Hồng Nhung,0912345678\n"


@pytest.mark.parametrize(("data", "encoding"), [
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
    (TEXT.encode("utf-8"), "utf-8"),
    (TEXT.encode("utf-16"), "utf-16"),
    (TEXT.encode("utf-16-le"), "utf-16-le"),
    (TEXT.encode("utf-16-be"), "utf-16-be"),
    (cp1258(TEXT), "cp1258"),
], ids=["utf8-bom", "utf8", "utf16-bom", "utf16le-no-bom", "utf16be-no-bom", "windows-1258"])
def test_encodings_are_detected_and_decoded_to_nfc(data: bytes, encoding: str) -> None:
    assert detect_encoding(data) == encoding
    text, used = decode_text(data)
    assert (text, used) == (TEXT, encoding)


def _events(connector: FileConnector, data: bytes, options: dict[str, Any] | None = None,
            filename: str = "list.csv") -> list[Any]:
    out: list[Any] = []
    for row in connector.read_rows(data, filename=filename, options=options or {}):
        if isinstance(row, BadRow):
            out.append((row.line, row.field))
            continue
        try:
            out.append(connector.row_event(row, options=options or {}, source_id="s", file_sha256="f" * 64,
                                           received_at=NOW))
        except MalformedPayload as exc:
            out.append((row.line, exc.field))
    return out


LEAD_LIST = ("\ufeffHọ và tên,SĐT,Email,Ngày sinh,Giới tính,Địa chỉ,Tỉnh/Thành,Ghi chú\n"
             "Nguyễn Thị Lan,0912.345.678,lan.nguyen@gmail.com,05/03/1990,Nữ,12 Nguyễn Huệ,TP HCM,khách cũ\n"
             "Trần Văn Bình,912345679,,,nam,,,\n"
             'Lê Thị Hoa,"0912345670 - 0987123456",,31/02/1990,,,,\n'
             ",,,,,,,chỉ có ghi chú\n"
             '"Phạm Quang\nHuy",0903111222,,,,,,\n'
             "Đỗ Minh Tâm,9.12E+08,,,,,,\n")


def test_bulk_list_without_mapping_reads_vietnamese_headers_and_reports_every_bad_row_by_line() -> None:
    connector = BulkConnector()
    out = _events(connector, LEAD_LIST.encode("utf-8"))
    assert [o for o in out if isinstance(o, tuple)] == [(5, "row"), (8, "phones[0]")]
    lan, binh, hoa, huy = [o for o in out if not isinstance(o, tuple)]
    # 31/02/1990 does not cost Hoa her two phones: the bad date is kept beside them, with the reason.
    assert hoa.data["phones"] == ["0912345670", "0987123456"] and "birth_date" not in hoa.data["fields"]
    assert hoa.data["fields"]["invalid.birth_date"].startswith("31/02/1990 (")
    hoa_event = canonical_event(BulkConnector().extract(hoa), hoa.id)
    assert not isinstance(hoa_event, Rejected) and len(hoa_event.identifiers) == 2
    assert "birth_date" not in hoa_event.attributes and "invalid.birth_date" in hoa_event.attributes
    assert lan.id == f"bulk:s:{'f' * 64}:2" and lan.data["line"] == 2
    assert lan.data["fields"] == {"birth_date": "1990-03-05", "gender": "female", "address": "12 Nguyễn Huệ",
                                  "province": "TP HCM"}
    assert lan.data["extra"] == {"Ghi chú": "khách cũ"}
    assert binh.data["phones"] == ["0912345679"] and binh.data["fields"] == {"gender": "male"}
    assert huy.data["line"] == 6 and huy.data["full_name"] == "Phạm Quang\nHuy"
    for event in (lan, binh, huy):
        contact = connector.extract(event)
        assert contact.interaction_kind == "list_import"
        assert not isinstance(canonical_event(contact, event.id), Rejected)
    assert connector.extract(lan).attributes["birth_date"] == "1990-03-05"
    lan_event = canonical_event(connector.extract(lan), lan.id)
    assert not isinstance(lan_event, Rejected) and lan_event.address is not None
    assert lan_event.address.raw == "12 Nguyễn Huệ, TP HCM" and lan_event.address.province_code == "79"
    assert connector.extract(binh).address is None


@pytest.mark.parametrize(("cell", "field", "expected"), [
    ("05/03/1990", "birth_date", "1990-03-05"),
    ("1990-03-05", "birth_date", "1990-03-05"),
    ("19900305", "birth_date", "1990-03-05"),
    (19900305, "birth_date", "1990-03-05"),
    ("31/02/1990", "invalid.birth_date", "31/02/1990 ("),
    ("19901305", "invalid.birth_date", "19901305 ("),
    ("19560931", "invalid.birth_date", "19560931 ("),
    ("18000101", "invalid.birth_date", "18000101 ("),
    ("hôm qua", "invalid.birth_date", "hôm qua ("),
    ("1990035", "invalid.birth_date", "1990035 ("),
], ids=["day-first", "iso", "yyyymmdd", "yyyymmdd-number", "feb-31", "month-13", "sep-31", "year-1800",
        "text", "seven-digits"])
def test_bulk_birth_date_is_read_or_kept_as_invalid_without_losing_the_row(cell: Any, field: str,
                                                                             expected: str) -> None:
    mapping = {"columns": {"full_name": "Họ và tên", "phones": "SĐT", "birth_date": "Ngày sinh"}}
    (event,) = _events(BulkConnector(), f"Họ và tên,SĐT,Ngày sinh\nVõ Thị Sáu,0912345678,{cell}\n".encode(),
                       mapping)
    assert event.data["phones"] == ["0912345678"]
    other = "invalid.birth_date" if field == "birth_date" else "birth_date"
    assert event.data["fields"][field].startswith(expected) and other not in event.data["fields"]
    if field == "invalid.birth_date":
        assert event.data["fields"][field].endswith(")") and len(event.data["fields"][field]) > len(expected) + 1


def test_bulk_name_parts_join_family_first_and_address_columns_join_in_mapping_order() -> None:
    mapping = {"columns": {"record_id": "rec_id", "given_name": "given_name", "family_name": "surname",
                           "address": ["street_number", "address_1", "suburb", "state"],
                           "attributes": {"id_number": "soc_sec_id", "postcode": "postcode",
                                          "street": ["street_number", "address_1"]}}}
    data = ("rec_id,given_name,surname,street_number,address_1,suburb,state,postcode,soc_sec_id\n"
            "rec-1496-org,mitchell,green,7,wallaby place,cleveland,sa,2119,1804974\n"
            "rec-9-dup-0,,green,,wallaby place,cleveland,,2119,\n"
            "VN-1,Lan,Nguyễn Thị,12,Nguyễn Huệ,Quận 1,TP HCM,,\n").encode()
    mitchell, green, lan = _events(BulkConnector(), data, mapping)
    assert mitchell.data["full_name"] == "green mitchell" and green.data["full_name"] == "green"
    assert mitchell.data["fields"]["address"] == "7, wallaby place, cleveland, sa"
    assert green.data["fields"]["address"] == "wallaby place, cleveland"
    assert mitchell.data["attributes"] == {"id_number": "1804974", "postcode": "2119", "street": "7 wallaby place"}
    assert green.data["attributes"] == {"postcode": "2119", "street": "wallaby place"}
    # the parts go on as attributes too: "green" alone is known to be a family name
    assert mitchell.data["fields"]["family_name"] == "green" and mitchell.data["fields"]["given_name"] == "mitchell"
    assert green.data["fields"]["family_name"] == "green" and "given_name" not in green.data["fields"]
    contact = BulkConnector().extract(lan)
    assert contact.name == "Nguyễn Thị Lan" and contact.address == "12, Nguyễn Huệ, Quận 1, TP HCM"
    assert (contact.attributes["family_name"], contact.attributes["given_name"]) == ("Nguyễn Thị", "Lan")
    event = canonical_event(contact, lan.id)
    assert not isinstance(event, Rejected) and event.address is not None and event.address.province_code == "79"


MAPPING = {"columns": {"record_id": "Mã KH", "full_name": "Tên khách", "phones": ["Di động", "Cố định"],
                       "emails": "Thư", "channel_ids": {"zalo": "Zalo ID"}, "attributes": {"segment": "Nhóm"}}}


def test_bulk_mapping_names_columns_several_phone_columns_and_channel_ids() -> None:
    data = ("Mã KH,Tên khách,Di động,Cố định,Thư,Zalo ID,Nhóm,Khác\n"
            "KH-7,Bùi Thị Thu Hà,0977 123 456,028 7300 1234,ha.bui@example.vn,8448021542710133051,VIP,x\n")
    (event,) = _events(BulkConnector(), cp1258(data), MAPPING)
    assert event.id == "bulk:s:KH-7"
    assert event.data["phones"] == ["0977 123 456", "028 7300 1234"]
    assert event.data["channel_ids"] == {"zalo": "8448021542710133051"}
    assert event.data["attributes"] == {"segment": "VIP"} and event.data["extra"] == {"Khác": "x"}
    contact = BulkConnector().extract(event)
    assert contact.name == "Bùi Thị Thu Hà" and contact.channel_ids == [("zalo", "8448021542710133051")]


def test_bulk_mapping_naming_a_missing_column_fails_the_file_with_the_columns_it_has() -> None:
    with pytest.raises(MalformedPayload) as err:
        _events(BulkConnector(), "Tên khách,SĐT\nAn,0912345678\n".encode(), MAPPING)
    assert err.value.field == "mapping.record_id" and "'Tên khách'" in err.value.reason


def test_bulk_jsonl_and_xlsx() -> None:
    jsonl = ('{"full_name": "Ngô Minh Thư", "phone": "0909876543"}\n'
             "not json\n"
             '{"id": "L-9", "name": "Hà An", "email": "an@example.vn"}\n').encode()
    out = _events(BulkConnector(), jsonl, filename="leads.jsonl")
    assert out[1] == (2, "json")
    assert out[0].data["phones"] == ["0909876543"] and out[2].id == "bulk:s:L-9"

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Số điện thoại", "Ngày sinh"])
    sheet.append(["Nguyễn Văn Nam", 912345678, datetime(1985, 7, 2)])
    sheet.append(["Trần Thị Mai", "0912 000 111", "02/07/1985"])
    buffer = io.BytesIO()
    book.save(buffer)
    first, second = _events(BulkConnector(), buffer.getvalue(), filename="khach.xlsx")
    assert first.data["phones"] == ["0912345678"] and first.data["fields"]["birth_date"] == "1985-07-02"
    assert first.data["line"] == 2 and second.data["fields"]["birth_date"] == "1985-07-02"


_BASE = ('"","{src}","{dst}","{ctx}","""{name}"" <{src}>","{chan}","{dstchan}","Dial","","2026-11-22 14:05:09",'
         '"{answer}","2026-11-22 14:07:02",113,{billsec},"{disp}","DOCUMENTATION"')


def _cdr(extra: str = "", src: str = "0912345678", dst: str = "19006868", ctx: str = "from-trunk",
         name: str = "Nguyễn Văn A", chan: str = "PJSIP/viettel-0000002a", dstchan: str = "PJSIP/101-0000002b",
         answer: str = "2026-11-22 14:05:15", billsec: int = 107, disp: str = "ANSWERED") -> str:
    return _BASE.format(src=src, dst=dst, ctx=ctx, name=name, chan=chan, dstchan=dstchan, answer=answer,
                        billsec=billsec, disp=disp) + extra + "\n"


@pytest.mark.parametrize(("extra", "record_id"), [
    ("", "f" * 64 + ":1"),
    (',"1795331109.42"', "1795331109.42:PJSIP/101-0000002b"),
    (',"1795331109.42",""', "1795331109.42:PJSIP/101-0000002b"),
    (',"1795331109.42","","","1795331109.40",3', "1795331109.42:3"),
], ids=["16-columns", "17-loguniqueid", "18-sample-config", "21-newcdrcolumns"])
def test_asterisk_column_profiles(extra: str, record_id: str) -> None:
    (event,) = _events(AsteriskCdrConnector(), _cdr(extra).encode())
    assert event.id == f"asterisk_cdr:s:{record_id}"
    assert event.time == datetime(2026, 11, 22, 7, 5, 9, tzinfo=UTC)  # PBX local time, UTC+7
    assert (event.data["duration"], event.data["billsec"], event.data["direction"]) == (113, 107, "inbound")
    contact = AsteriskCdrConnector().extract(event)
    assert contact.interaction_kind == "call" and contact.name == "Nguyễn Văn A"
    assert contact.summary == "Inbound call, answered, 1m47s"


def test_asterisk_legs_of_one_call_carry_its_linkedid_to_the_timeline() -> None:
    # a queue call: the caller's leg and the agent's leg share the originating channel's uniqueid
    data = (_cdr(',"1795331109.42","","","1795331109.42",1')
            + _cdr(',"1795331109.43","","","1795331109.42",2', dstchan="PJSIP/102-0000002c"))
    legs = _events(AsteriskCdrConnector(), data.encode())
    assert [e.data["linkedid"] for e in legs] == ["1795331109.42"] * 2
    assert [AsteriskCdrConnector().extract(e).payload["linkedid"] for e in legs] == ["1795331109.42"] * 2
    (single,) = _events(AsteriskCdrConnector(), _cdr(',"1795331109.42",""').encode())
    assert single.data["linkedid"] is None  # 18 columns: newcdrcolumns is off, nothing to group by


def test_asterisk_header_line_gmt_times_and_bad_rows() -> None:
    header = ("accountcode,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,answer,end,duration,"
              "billsec,disposition,amaflags,uniqueid\n")
    data = (header + _cdr(',"1.1"') + _cdr(',"1.2"', disp="HUNG UP") + _cdr(',"1.3"', billsec=-1)
            + '"too","few"\n' + _cdr(',"1.5"'))
    out = _events(AsteriskCdrConnector(), data.encode(), {"usegmtime": True})
    assert out[1:4] == [(3, "disposition"), (4, "billsec"), (5, "columns")]
    assert out[0].time == datetime(2026, 11, 22, 14, 5, 9, tzinfo=UTC) and out[4].data["line"] == 6


@pytest.mark.parametrize(("kwargs", "direction", "number"), [
    ({}, "inbound", "0912345678"),
    ({"src": "84912345678", "ctx": "custom-in"}, "inbound", "84912345678"),
    ({"src": "+84912345678", "ctx": "custom-in"}, "inbound", "+84912345678"),
    ({"src": "101", "dst": "0987123456", "ctx": "from-internal", "chan": "PJSIP/101-1",
      "dstchan": "PJSIP/viettel-2"}, "outbound", "0987123456"),
    ({"src": "101", "dst": "00840987123456", "ctx": "custom-out"}, "outbound", "+840987123456"),
    ({"src": "101", "dst": "102", "ctx": "from-internal-xfer"}, None, None),
    ({"src": "anonymous"}, None, None),
    ({"src": "", "name": "Restricted"}, None, None),
], ids=["from-trunk", "84-custom-context", "plus84", "from-internal-outbound", "0084-dialout", "internal-call",
        "anonymous", "hidden"])
def test_asterisk_direction_and_customer_number(kwargs: dict[str, str], direction: str | None,
                                                number: str | None) -> None:
    out = _events(AsteriskCdrConnector(), _cdr(',"9.9"', **kwargs).encode())
    if direction is None:
        assert out == [None]
        return
    (event,) = out
    assert (event.data["direction"], event.data["customer_number"]) == (direction, number)
    if direction == "outbound":
        assert event.data["customer_name"] is None  # the caller id of an outbound call is the agent's


def test_a_row_is_a_source_row_with_its_raw_text() -> None:
    rows = list(BulkConnector().read_rows(b"name,phone\nAn,0912345678\n", filename="a.csv", options={}))
    assert isinstance(rows[0], SourceRow) and rows[0].raw == "An,0912345678"


INVOICES = ("Mã hóa đơn;Thời gian;Mã KH;Khách hàng;Điện thoại;Tổng tiền hàng;Giảm giá;Khách cần trả;Khách đã trả;"
            "Mã hàng;Tên hàng;Số lượng;Đơn giá;Thành tiền\n"
            "HD000123;22/11/2026 14:05;KH0042;Ngô Minh Thư;909876543;1.250.000;0;1.250.000₫;1.250.000;CF01;"
            "Cà phê hạt Robusta 1kg;5;250.000;1.250.000\n"
            "HD000124;22/11/2026 15:10;;Khách lẻ;;30.000;0;30.000;30.000;TR01;Trà đá;1;30.000;30.000\n"
            "HD000125;22/11/2026 16:00;KH0043;Trần Văn Hùng;0912 345 678 - 0987 123 456;1.500.000;100.000;"
            "1.400.000;1.400.000;AO1;Áo len cổ tròn;1;1.000.000;1.000.000\n"
            "HD000125;22/11/2026 16:00;KH0043;Trần Văn Hùng;0912 345 678 - 0987 123 456;1.500.000;100.000;"
            "1.400.000;1.400.000;QU2;Quần jean;1;500.000;500.000\n"
            "HD000126;22/11/2026 17:00;KH0044;Lý Thị Mai;0913000111;1.250.000,5;0;1;1;X;Y;1;1;1\n")


def test_pos_export_groups_detail_lines_into_invoices_with_integer_vnd() -> None:
    from connectors.pos_export import PosExportConnector

    connector = PosExportConnector()
    out = _events(connector, cp1258(INVOICES), filename="hoa-don.csv")
    first, walk_in, two_lines, bad = out
    assert walk_in is None and bad == (6, "subtotal")
    assert first.id == "pos_export:s:HD000123" and first.data["total_vnd"] == 1_250_000
    assert first.data["customer"]["phones"] == ["0909876543"]
    assert first.time == datetime(2026, 11, 22, 7, 5, tzinfo=UTC)
    assert two_lines.data["line"] == 4 and [line["sku"] for line in two_lines.data["lines"]] == ["AO1", "QU2"]
    assert two_lines.data["lines"][0] == {"sku": "AO1", "name": "Áo len cổ tròn", "qty": 1,
                                          "unit_price_vnd": 1_000_000, "amount_vnd": 1_000_000}
    contact = connector.extract(two_lines)
    assert (contact.interaction_kind, contact.amount_vnd) == ("order", 1_400_000)
    assert contact.channel_ids == [("pos_customer", "s:KH0043")] and len(contact.phones) == 2
    assert not isinstance(canonical_event(contact, two_lines.id), Rejected)
