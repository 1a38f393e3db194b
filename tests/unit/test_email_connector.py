"""Email connector (connectors/email.py): headers, bodies, threading, keys, files and the three providers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mailbox
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode

import pytest

from connectors.email import EmailConnector, events_from_eml, events_from_mbox, html_to_text, iter_mbox
from resolver.normalise import Rejected, canonical_event
from schema.errors import InvalidSignature, MalformedPayload

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"


def _eml(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _one(data: bytes) -> dict[str, object]:
    return events_from_eml(data, "test", NOW)[0].data


@pytest.mark.parametrize(("header", "expected_name"), [
    ("=?UTF-8?B?Tmd1eeG7hW4gVGjhu4sgSOG7k25nIE5odW5n?=", "Nguyễn Thị Hồng Nhung"),
    ("=?UTF-8?Q?Nguy=E1=BB=85n_Th=E1=BB=8B_H=E1=BB=93ng_Nhung?=", "Nguyễn Thị Hồng Nhung"),
    ("\"=?UTF-8?B?UGjhuqFtIFRodSBIw6A=?=\"", "Phạm Thu Hà"),
    ("=?UTF-8?B?Tmd1eeG7?= =?UTF-8?B?hW4gVGjhu4s=?=", "Nguyễn Thị"),
    ("=?windows-1258?Q?Nguy=EA=DEn_V=E3n_=C1nh?=", "Nguyễn Văn Ánh"),
    ("Nguyen Thi Hong Nhung", "Nguyen Thi Hong Nhung"),
], ids=["utf8-base64", "utf8-q", "encoded-word-in-quotes", "utf8-char-split-across-words",
        "cp1258-combining-tones-nfc", "ascii-unaccented"])
def test_display_names_decode_to_nfc_vietnamese(header: str, expected_name: str) -> None:
    raw = (f"From: {header} <nhung.nguyen@Example.VN>\r\nDate: Sun, 22 Nov 2026 14:05:09 +0700\r\n"
           "Message-ID: <n1@example.vn>\r\nSubject: hi\r\n\r\nbody\r\n").encode()
    sender = _one(raw)["from"]
    assert sender == {"name": expected_name, "address": "nhung.nguyen@example.vn"}


def test_raw_utf8_header_is_repaired() -> None:
    raw = "From: Lê Đức Anh <anh.le@example.vn>\r\nMessage-ID: <r@x>\r\n\r\nx\r\n".encode()
    assert _one(raw)["from"] == {"name": "Lê Đức Anh", "address": "anh.le@example.vn"}


def test_reply_chain_threads_by_references() -> None:
    first, second, third = (_one(_eml(f"thread-{i}.eml")) for i in (1, 2, 3))
    assert first["thread_root"] == second["thread_root"] == third["thread_root"] == first["message_id"]
    assert second["in_reply_to"] == [first["message_id"]]
    assert third["in_reply_to"] == [second["message_id"]]
    assert third["references"] == [first["message_id"], second["message_id"]]
    assert third["subject"] == "Re: Re: Xác nhận đơn hàng #DH1024"


def test_multipart_alternative_prefers_plain_and_keeps_attachment_metadata_only() -> None:
    data = _one(_eml("alternative-with-attachment.eml"))
    assert data["body_kind"] == "plain" and "giao về 12 Nguyễn Huệ" in str(data["text"])
    payload = b"\xff\xd8\xff\xe0fake-jpeg-bytes"
    assert data["attachments"] == [{"filename": "hóa đơn.jpg", "content_type": "image/jpeg",
                                    "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}]
    assert "fake-jpeg" not in json.dumps(data)


def test_html_only_body_is_stripped_to_text() -> None:
    raw = (b"From: a@example.vn\r\nMessage-ID: <h@x>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           b"<html><head><style>p{color:#0912345}</style></head><body><p>Ch\xc3\xa0o shop</p>"
           b"<div>SDT 0912&nbsp;345 678</div><script>x()</script></body></html>")
    data = _one(raw)
    assert (data["body_kind"], data["text"]) == ("html", "Chào shop\nSDT 0912 345 678")
    assert html_to_text("<b>a</b><br>b") == "a\nb"


@pytest.mark.parametrize(("charset", "body", "expected"), [
    ("utf-8", "Chào".encode(), "Chào"),
    (None, "Chào".encode(), "Chào"),  # unlabelled UTF-8: the stdlib would give 'Ch��o'
    ("x-unknown", "Chào".encode(), "Chào"),  # unknown charset: the stdlib raises LookupError
    ("windows-1258", b"Nguy\xea\xde\x6e", "Nguyễn"),
], ids=["utf8", "unlabelled-utf8", "unknown-charset", "cp1258-nfc"])
def test_body_charset_fallback_chain(charset: str | None, body: bytes, expected: str) -> None:
    ct = f"text/plain; charset={charset}" if charset else "text/plain"
    raw = b"From: a@example.vn\r\nMessage-ID: <c@x>\r\nContent-Type: " + ct.encode() + b"\r\n\r\n" + body
    assert _one(raw)["text"] == expected


def test_event_id_from_message_id_is_stable_and_origin_fields_split_reused_ids() -> None:
    base = _eml("thread-1.eml")
    copy = b"Received: from mx2.example.vn\r\nDelivered-To: cskh@shop.vn\r\n" + base
    assert events_from_eml(base, "a", NOW)[0].id == events_from_eml(copy, "b", NOW)[0].id
    reused = base.replace(b"Subject: ", b"Subject: Fwd ", 1)
    assert events_from_eml(base, "a", NOW)[0].id != events_from_eml(reused, "a", NOW)[0].id


def test_missing_message_id_falls_back_to_a_content_hash_and_is_flagged() -> None:
    raw = b"From: a@example.vn\r\nDate: Sun, 22 Nov 2026 14:05:09 +0700\r\nSubject: x\r\n\r\nhello\r\n"
    first = events_from_eml(raw, "t", NOW)[0]
    again = events_from_eml(b"Received: by mx\r\nX-Spam: 0\r\n" + raw, "t", NOW)[0]
    other = events_from_eml(raw.replace(b"hello", b"hellp"), "t", NOW)[0]
    assert first.id == again.id != other.id
    assert "no-message-id" in first.data["defects"] and first.data["thread_root"] is None


@pytest.mark.parametrize(("date", "quality", "iso"), [
    ("Sun, 22 Nov 2026 14:05:09 +0700", "header", "2026-11-22T07:05:09+00:00"),
    ("Sun, 22 Nov 2026 14:05:09 +0700 (ICT)", "header", "2026-11-22T07:05:09+00:00"),
    ("Sun, 22 Nov 2026 14:05:09 GMT+7", "header", "2026-11-22T07:05:09+00:00"),
    ("Sun, 22 Nov 2026 14:05:09", "assumed_tz", "2026-11-22T07:05:09+00:00"),
    ("22/11/2026 14:05", "received", NOW.isoformat()),
], ids=["offset", "ict-comment", "gmt-plus-7", "no-zone", "unparsable"])
def test_dates(date: str, quality: str, iso: str) -> None:
    raw = f"From: a@example.vn\r\nMessage-ID: <d@x>\r\nDate: {date}\r\n\r\nx".encode()
    event = events_from_eml(raw, "t", NOW)[0]
    assert (event.data["date_quality"], event.time.isoformat()) == (quality, iso)


@pytest.mark.parametrize(("raw", "field"), [
    (b"From: a@example.vn\r\nSubject: =?UTF-8?Q?hi=0D=0ABcc:_x@evil.vn?=\r\n\r\nx", "Subject"),
    (b"From: =?UTF-8?Q?A=0ABcc:_x@evil.vn?= <a@example.vn>\r\n\r\nx", "From"),
    (b"To: a@example.vn\r\nSubject: no sender\r\n\r\nx", "From"),
    (b"From: a@example.vn\r\n\r\n" + b"x" * 1_000_001, "body.text"),
    (b"", "message"),
], ids=["subject-crlf", "display-name-lf", "no-from", "huge-body", "empty"])
def test_rejections_name_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(MalformedPayload) as err:
        events_from_eml(raw, "t", NOW)
    assert err.value.field == field


def test_extract_gives_the_sender_email_and_name_and_normalises() -> None:
    connector = EmailConnector()
    event = events_from_eml(_eml("thread-2.eml"), "t", NOW)[0]
    contact = connector.extract(event)
    assert (contact.interaction_kind, contact.emails, contact.name) == (
        "email", ["Nhung.Nguyen@example.vn"], "Nguyễn Thị Hồng Nhung")  # resolver/email.py lower-cases
    assert contact.payload["thread_root"] == "<dh1024.1@mail.example.vn>"
    canonical = canonical_event(contact, event.id)
    assert not isinstance(canonical, Rejected)
    assert [i.value for i in canonical.identifiers] == ["nhung.nguyen@example.vn"]


def test_mbox_reads_every_message_and_reports_bad_ones_by_index(tmp_path: Path) -> None:
    path = tmp_path / "export.mbox"
    box = mailbox.mbox(str(path))
    for i in (1, 2, 3):
        box.add(_eml(f"thread-{i}.eml"))
    box.add("To: x@example.vn\r\nSubject: no sender\r\n\r\nFrom here on, tôi muốn hỏi\r\n".encode())
    box.flush()
    box.close()
    items = list(iter_mbox(path, "backup", NOW))
    assert [i for i, _ in items] == [0, 1, 2, 3]
    bad = items[3][1]
    assert isinstance(bad, MalformedPayload) and bad.field == "message[3].From"
    good = [e for _, e in items[:3]]
    expected = [events_from_eml(_eml(f"thread-{i}.eml"), "x", NOW)[0].id for i in (1, 2, 3)]
    assert [e.id for e in good] == expected
    assert getattr(good[0], "data")["source_position"] == "mbox:export.mbox#0"
    with pytest.raises(MalformedPayload) as err:
        events_from_mbox(path, "backup", NOW)
    assert err.value.field == "message[3].From"


# --- providers -----------------------------------------------------------------------------------

MAILGUN_KEY = b"key-test-hopnhat"
MAILGUN_FIELDS = {
    "recipient": "lienhe@mg.banhmiphuongnam.vn", "sender": "hoang.le@example.com",
    "from": "Lê Minh Hoàng <hoang.le@example.com>", "subject": "Đặt 50 ổ bánh mì",
    "body-plain": "Cho mình đặt 50 ổ, gọi 0912 888 456.",
    "message-headers": json.dumps([["Message-Id", "<ca1f.1795320309@example.com>"],
                                   ["Date", "Sun, 22 Nov 2026 11:05:09 +0700"]]),
    "timestamp": "1795320309", "token": "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
    "signature": "76e6883f02dfda5b14271b03bc39347012539890ae4b04ce844dcc4060f3aa99",
}
AT_MAILGUN_TIME = EmailConnector(clock=lambda: datetime.fromtimestamp(1795320309 + 60, UTC))


def test_mailgun_documented_test_vector_verifies_and_parses() -> None:
    body = urlencode(MAILGUN_FIELDS).encode()
    headers = {"content-type": "application/x-www-form-urlencoded"}
    AT_MAILGUN_TIME.verify(headers, body, b"mailgun:key-test-hopnhat")
    signed = b"1795320309" + MAILGUN_FIELDS["token"].encode()
    expected = hmac.new(MAILGUN_KEY, signed, hashlib.sha256).hexdigest()
    assert expected == MAILGUN_FIELDS["signature"]
    [event] = AT_MAILGUN_TIME.parse(body, headers["content-type"], "mailgun", NOW)
    assert event.data["from"] == {"name": "Lê Minh Hoàng", "address": "hoang.le@example.com"}
    assert (event.data["message_id"], event.data["subject"]) == (
        "<ca1f.1795320309@example.com>", "Đặt 50 ổ bánh mì")
    assert event.time.isoformat() == "2026-11-22T04:05:09+00:00"


@pytest.mark.parametrize("case", ["stale", "wrong-key", "missing"])
def test_mailgun_refusals(case: str) -> None:
    body = urlencode(MAILGUN_FIELDS if case != "missing" else {"from": "a@b.vn"}).encode()
    connector = EmailConnector() if case == "stale" else AT_MAILGUN_TIME
    key = b"mailgun:other" if case == "wrong-key" else b"mailgun:key-test-hopnhat"
    with pytest.raises(InvalidSignature):
        connector.verify({"content-type": "application/x-www-form-urlencoded"}, body, key)


def test_mailgun_malformed_answer_is_406_so_mailgun_stops_retrying() -> None:
    body = urlencode({**MAILGUN_FIELDS, "message-headers": "not json"}).encode()
    with pytest.raises(MalformedPayload) as err:
        AT_MAILGUN_TIME.parse(body, "application/x-www-form-urlencoded", "mailgun-banhmi", NOW)
    assert (err.value.field, err.value.http_status) == ("message-headers", 406)


POSTMARK = {
    "FromName": "Võ Thị Kim Ngân", "From": "ngan.vo@example.com",
    "FromFull": {"Email": "ngan.vo@example.com", "Name": "Võ Thị Kim Ngân", "MailboxHash": ""},
    "To": "\"Chăm sóc KH\" <abc123+donhang@inbound.postmarkapp.com>", "Cc": "", "ReplyTo": "",
    "Subject": "Đổi địa chỉ giao hàng", "MessageID": "5f0b8a52-7d2e-4c9e-9f3a-1b2c3d4e5f60",
    "Date": "Sun, 22 Nov 2026 09:12:30 +0700", "MailboxHash": "donhang",
    "TextBody": "Nhờ shop giao về 12 Nguyễn Huệ, Q.1, TP.HCM. ĐT 0938 112 233.", "HtmlBody": "",
    "Headers": [{"Name": "Message-ID", "Value": "<CAK9x.20261122091230@mail.example.com>"}],
    "Attachments": [{"Name": "don.pdf", "Content": base64.b64encode(b"%PDF-1.4").decode(),
                     "ContentType": "application/pdf", "ContentLength": 8}],
}


def test_postmark_json_with_basic_auth() -> None:
    body = json.dumps(POSTMARK, ensure_ascii=False).encode()
    auth = {"authorization": "Basic " + base64.b64encode(b"hook:pa55").decode()}
    EmailConnector().verify(auth, body, b"postmark:hook:pa55")
    with pytest.raises(InvalidSignature) as err:
        EmailConnector().verify({}, body, b"postmark:hook:pa55")
    assert err.value.http_status == 403  # Postmark stops retrying on 403 only
    [event] = EmailConnector().parse(body, "application/json", "postmark", NOW)
    assert event.data["from"] == {"name": "Võ Thị Kim Ngân", "address": "ngan.vo@example.com"}
    assert event.data["message_id"] == "<CAK9x.20261122091230@mail.example.com>"
    assert event.data["attachments"][0]["size"] == 8 and "Nguyễn Huệ" in event.data["text"]


def test_postmark_header_injection_in_a_parsed_field_is_refused() -> None:
    body = json.dumps({**POSTMARK, "Subject": "Hi\r\nBcc: all@example.vn"}).encode()
    with pytest.raises(MalformedPayload) as err:
        EmailConnector().parse(body, "application/json", "postmark", NOW)
    assert err.value.field == "Subject"


def test_same_message_via_postmark_raw_and_eml_has_one_id() -> None:
    msg = EmailMessage()
    msg["From"] = "Võ Thị Kim Ngân <ngan.vo@example.com>"
    msg["Subject"] = "Đổi địa chỉ giao hàng"
    msg["Date"] = "Sun, 22 Nov 2026 09:12:30 +0700"
    msg["Message-ID"] = "<CAK9x.20261122091230@mail.example.com>"
    msg.set_content("Nhờ shop giao về 12 Nguyễn Huệ")
    body = json.dumps(POSTMARK, ensure_ascii=False).encode()
    [parsed] = EmailConnector().parse(body, "application/json", "postmark", NOW)
    assert parsed.id == events_from_eml(bytes(msg), "imap", NOW)[0].id


def test_sendgrid_parsed_mode_uses_the_declared_charsets() -> None:
    parts = {
        "headers": "From: =?UTF-8?B?VHLhuqduIFRoYW5oIFRo4bqjbw==?= <thao.tran.1990@example.com>\r\n"
                   "Message-ID: <p1@mail.example.com>\r\nSubject: =?UTF-8?Q?H=E1=BB=8Fi?=\r\n",
        "charsets": json.dumps({"text": "windows-1258", "headers": "UTF-8"}),
    }
    chunks = [f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
              for k, v in parts.items()]
    chunks.append(b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\n'
                  + "Shop \u01a1i".encode("cp1258") + b"\r\n--b--\r\n")
    [event] = EmailConnector().parse(b"".join(chunks), "multipart/form-data; boundary=b", "sendgrid", NOW)
    assert event.data["from"]["name"] == "Trần Thanh Thảo" and event.data["text"] == "Shop ơi"
    assert event.data["subject"] == "Hỏi"


@pytest.mark.parametrize(("raw", "text"), [
    (b"From: a@example.vn\r\nMessage-ID: <m@x>\r\nContent-Type: text/plain; charset=\"utf\x00-8\"\r\n\r\nCh\xc3\xa0o",
     "Chào"),
    (b"From: =?ut\xfff-8?B?Tmd1eeG7?= =?UTF-8?B?hW4=?= <a@example.vn>\r\nMessage-ID: <m@x>\r\n\r\nx", "x"),
    (b"From: a@example.vn\r\nMessage-ID: <\xff\xfe@x>\r\nSubject: \xed\xa0\x80\r\n\r\nx", "x"),
], ids=["nul-in-charset", "bad-charset-in-split-words", "surrogates-in-headers"])
def test_parser_oddities_still_give_a_serialisable_event(raw: bytes, text: str) -> None:
    event = events_from_eml(raw, "t", NOW)[0]
    assert event.data["text"] == text and event.data["from"]["address"] == "a@example.vn"
    event.model_dump_json()


def test_mutated_messages_give_an_event_or_malformed_payload_never_another_error() -> None:
    """The stdlib parser raises AttributeError, IndexError, HeaderParseError ... on some broken headers
    (found by this loop before PARSER_ERRORS existed); every one must become MalformedPayload (a 400)."""
    import random

    rng = random.Random(20261122)
    seeds = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]
    tokens = [b"=?UTF-8?B?", b"?=", b"\r\n", b"<", b">", b"@", b":", b";", b"\x00", b"\xff", b"\xed\xa0\x80",
              b"=?x-unknown?Q?a?=", b"--", b"=?UTF-8?Q?=0D=0A?=", b"\"", b","]
    for _ in range(1500):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data) + 1)
            roll = rng.random()
            if roll < 0.35:
                data[at:at] = rng.choice(tokens)
            elif roll < 0.65:
                del data[at:at + rng.randint(1, 20)]
            else:
                data[at:at] = bytes([rng.randrange(256)])
        try:
            event = events_from_eml(bytes(data), "fuzz", NOW)[0]
        except MalformedPayload:
            continue
        event.model_dump_json()
        EmailConnector().extract(event)


def test_postmark_non_ascii_address_is_kept() -> None:
    body = json.dumps({**POSTMARK, "FromFull": {"Email": "ngân@ví-dụ.vn", "Name": "Võ Thị Kim Ngân"}}).encode()
    [event] = EmailConnector().parse(body, "application/json", "postmark", NOW)
    assert event.data["from"] == {"name": "Võ Thị Kim Ngân", "address": "ngân@ví-dụ.vn"}


def test_bare_message_id_gets_its_brackets() -> None:
    raw = b"From: a@example.vn\r\nMessage-ID: 12345@local\r\nIn-Reply-To: <p@x>\r\n\r\nx"
    data = _one(raw)
    assert (data["message_id"], data["thread_root"]) == ("<12345@local>", "<p@x>")
    assert "InvalidHeaderDefect" in data["defects"]


def test_unquoted_from_line_in_an_mbox_body_splits_the_message_and_is_reported(tmp_path: Path) -> None:
    """CPython reads mboxo: any line starting `From ` opens a new message (reference note §5)."""
    path = tmp_path / "hand-made.mbox"
    path.write_bytes(b"From lan@example.vn Sun Nov 22 14:05:09 2026\n"
                     + _eml("thread-2.eml").replace(b"\r\n", b"\n")
                     + b"From here on, t\xc3\xb4i mu\xe1\xbb\x91n h\xe1\xbb\x8fi th\xc3\xaam\n\n")
    items = list(iter_mbox(path, "backup", NOW))
    assert [type(item).__name__ for _, item in items] == ["CloudEvent", "MalformedPayload"]
    assert getattr(items[1][1], "field") == "message[1].message"  # the split-off tail: empty
