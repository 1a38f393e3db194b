"""The bad-input corpus (tests/fixtures/bad_inputs, issue #10 item 2): every file in it, POSTed the way a
source would to the real webhook route, gets its typed answer and nothing escapes as a 500.

`manifest.json` says for each case the channel, the file and the answer: 400 naming the field (the
route's `MalformedPayload`), 401, 413 or 200. A channel whose source disables a webhook after a 4xx
(KiotViet, `dead_letter_malformed`) answers 200 "dead-lettered" instead of 400, with the same field,
once the whole body is on dlq.ingest; the test asserts that record. Cases are signed with the
channel's real signer from the contract suite (test_connector_contract.CHANNELS), so what is
refused is the body, not the signature, unless the case says `"signature": "forged"`.

The broker is a recording stand-in (a unit test of the HTTP layer); docs/RELIABILITY.md lists the
corpus per connector.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors import REGISTRY, load_connector
from connectors.tabular import decode_text
from hopnhat.http.app import create_app
from hopnhat.importer import file_connector, parse_chunks
from hopnhat.settings import Settings
from schema.errors import MalformedPayload
from schema.events import DeadLetter
from tests.unit.test_connector_contract import CHANNELS, RecordingPublisher, _zalo_body
from tests.unit.test_file_connectors import cp1258

CORPUS = Path(__file__).parents[1] / "fixtures" / "bad_inputs"
MANIFEST: dict[str, Any] = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
LIMITS: dict[str, int] = MANIFEST["limits"]


@dataclass(frozen=True)
class Case:
    channel: str
    file: str
    status: int
    field: str | None = None
    signature: str = "valid"  # "valid" | "forged"
    content_type: str | None = None

    @property
    def id(self) -> str:
        return f"{self.channel}:{self.file}:{self.signature}"


def _cases() -> Iterator[Case]:
    common = MANIFEST["common"]
    for channel in common["channels"]:
        for case in common["cases"]:
            yield Case(channel=channel, **case)
    for case in MANIFEST["cases"]:
        yield Case(**case)


CASES = list(_cases())


def _client(channel: str) -> TestClient:
    fx = CHANNELS[channel]
    settings = Settings(secrets={channel: {fx.secret_id: fx.secret.decode()}}, max_body_bytes=LIMITS["default"],
                        channel_max_body_bytes={"email": LIMITS["email"]}, kafka_bootstrap="127.0.0.1:9")
    return TestClient(create_app(settings), raise_server_exceptions=False)  # a 500 is an answer to assert on


def _sendgrid_raw(mime: bytes) -> bytes:
    """A MIME message as SendGrid Inbound Parse posts it in raw mode (the `email` form field)."""
    return (b'--xYzZY\r\nContent-Disposition: form-data; name="envelope"\r\n\r\n'
            b'{"to":["lienhe@parse.shopmevabe.vn"],"from":"thao.tran.1990@example.com"}\r\n'
            b'--xYzZY\r\nContent-Disposition: form-data; name="email"\r\n\r\n' + mime + b"\r\n--xYzZY--\r\n")


ZALO_CORPUS_TIMESTAMP = b'"timestamp": "1795317100000"'  # 2026-11-22 in the corpus files


def _body(case: Case) -> bytes:
    data = (CORPUS / case.file).read_bytes()
    if case.channel == "zalo":  # Zalo refuses a signature over 24 h old: the corpus's time is moved to now
        data = data.replace(ZALO_CORPUS_TIMESTAMP, f'"timestamp": "{int(time.time() * 1000)}"'.encode())
    return _sendgrid_raw(data) if case.file.endswith(".eml") else data


def _headers(channel: str, body: bytes, signature: str, content_type: str | None) -> dict[str, str]:
    fx = CHANNELS[channel]
    secret = fx.secret if signature == "valid" else fx.secret + b"-forged"
    try:
        headers = fx.sign(body, secret)
    except (ValueError, KeyError, TypeError, RecursionError):  # Zalo's signer reads app_id and timestamp from the body
        headers = {"x-zevent-signature": "mac=" + "0" * 64, "content-type": fx.content_type}
    if content_type:
        headers["content-type"] = content_type
    return headers


def _post(client: TestClient, channel: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    response = client.post(f"/webhooks/{channel}/{CHANNELS[channel].source_id}", content=body, headers=dict(headers))
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    return response.status_code, response.json()


def test_manifest_names_every_file_and_covers_every_channel() -> None:
    named = {c.file for c in CASES}
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.name != "manifest.json"}
    assert named == on_disk
    assert {c.channel for c in CASES} == set(REGISTRY)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_gets_its_typed_answer(case: Case) -> None:
    body = _body(case)
    with _client(case.channel) as client:
        publisher = RecordingPublisher()
        client.app.state.publisher = publisher  # type: ignore[attr-defined]
        status, answer = _post(client, case.channel, body, _headers(case.channel, body, case.signature,
                                                                      case.content_type))
    dead_letters = load_connector(case.channel).dead_letter_malformed
    if case.status == 400 and dead_letters:
        assert (status, answer["status"], answer["field"]) == (200, "dead-lettered", case.field), answer
        [(topic, key, value)] = publisher.records
        letter = DeadLetter.model_validate_json(value)
        assert (topic, letter.stage, letter.reason, letter.field) == ("dlq.ingest", "ingest", "malformed", case.field)
        assert letter.value == body.decode("utf-8", "replace")
        return
    assert status == case.status, answer
    if case.status == 400:
        assert (answer["error"], answer["field"]) == ("MalformedPayload", case.field), answer
        assert answer["reason"]
    if case.status != 200:
        assert publisher.records == []  # refused: nothing of it stored anywhere
    else:
        assert len(publisher.records) == len(answer["events"])


def _attachment_mail(size: int) -> bytes:
    photo = base64.encodebytes(bytes(range(256)) * (size // 256)).replace(b"\n", b"\r\n")
    return (b"Date: Sun, 22 Nov 2026 21:02:10 +0700\r\nFrom: =?UTF-8?Q?V=C3=B5_Kim_Ng=C3=A2n?= <ngan.vo@example.vn>\r\n"
            b"To: lienhe@parse.shopmevabe.vn\r\nMessage-ID: <photo-" + str(size).encode() + b"@example.vn>\r\n"
            b"Subject: =?UTF-8?Q?=E1=BA=A2nh_h=C3=B3a_=C4=91=C6=A1n?=\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n'
            + "Em gửi ảnh hóa đơn, SĐT 0912 456 789.\r\n".encode() +
            b'--b1\r\nContent-Type: image/jpeg; name="hoadon.jpg"\r\nContent-Transfer-Encoding: base64\r\n'
            b'Content-Disposition: attachment; filename="hoadon.jpg"\r\n\r\n' + photo + b"--b1--\r\n")


@pytest.mark.parametrize(("share", "status"), [(0.6, 200), (1.2, 413)])
def test_huge_attachment_is_parsed_within_the_email_limit_and_413_over_it(share: float, status: int) -> None:
    body = _sendgrid_raw(_attachment_mail(int(LIMITS["email"] * share * 3 / 4)))  # base64 is 4/3 the size
    assert (len(body) < LIMITS["email"]) == (status == 200)
    with _client("email") as client:
        publisher = RecordingPublisher()
        client.app.state.publisher = publisher  # type: ignore[attr-defined]
        got, answer = _post(client, "email", body, _headers("email", body, "valid", None))
    assert got == status, answer
    if status == 200:
        [(_, _, value)] = publisher.records
        [attachment] = json.loads(value)["data"]["attachments"]
        assert attachment["filename"] == "hoadon.jpg" and attachment["size"] > LIMITS["email"] // 3
        assert len(value) < 8192  # metadata only: the photo itself is never put on the topic


@pytest.mark.parametrize("channel", sorted(REGISTRY))
def test_replayed_delivery_is_stored_again_under_the_same_event_ids(channel: str) -> None:
    """A source retrying (or an attacker replaying) a validly signed body: same ids, so downstream writes
    are no-ops (idempotency by id: tests/integration/test_workers.py)."""
    fx = CHANNELS[channel]
    body = fx.good()
    headers = fx.sign(body, fx.secret)
    with _client(channel) as client:
        client.app.state.publisher = RecordingPublisher()  # type: ignore[attr-defined]
        first, again = _post(client, channel, body, headers), _post(client, channel, body, headers)
    assert first[0] == again[0] == 200
    assert [e["id"] for e in first[1]["events"]] == [e["id"] for e in again[1]["events"]] != []


@pytest.mark.parametrize("age_s", [25 * 3600, -10 * 60])
def test_zalo_signature_outside_its_window_is_401_even_when_validly_signed(age_s: int) -> None:
    body = _zalo_body(timestamp=str(int((time.time() - age_s) * 1000)))
    with _client("zalo") as client:
        status, answer = _post(client, "zalo", body, _headers("zalo", body, "valid", None))
    assert (status, answer["error"]) == (401, "InvalidSignature") and "window" in answer["detail"]


def test_import_decodes_each_row_in_its_own_encoding_and_reports_a_bad_row_by_file_and_line() -> None:
    """The file importer (hopnhat import) on the same corpus file the signed POST refuses whole: rows
    from a UTF-8 and a Windows-1258 export pasted into one file each read right, the row with a cell
    too many is reported as file:line and becomes a dead letter, and the rows after it go on."""
    name = "mixed-encodings-and-a-long-row.csv"
    data = (CORPUS / "bulk" / name).read_bytes()
    chunks = list(parse_chunks(file_connector("bulk"), data, name=name, options={}, source_id="danh-sach",
                               sha="0" * 64, received_at=datetime.now(UTC), done=0, limit=None))
    records = [record for chunk in chunks for record in chunk.records]
    problems = [problem for chunk in chunks for problem in chunk.problems]
    assert [str(p).split(": ")[:2] for p in problems] == [[f"{name}:4", "columns"]]
    names = [json.loads(value)["data"]["full_name"] for dead, _, value in records if not dead]
    assert names == ["Nguyễn Thị Lan", "Lê Văn Tâm", "Đỗ Minh Tâm"]
    [letter] = [DeadLetter.model_validate_json(value) for dead, _, value in records if dead]
    assert (letter.field, letter.offset) == ("columns", 4) and "Trần Văn Bình" in letter.value


def test_utf8_rows_in_a_windows_1258_file_do_not_become_mojibake() -> None:
    data = cp1258("Họ tên,SĐT\n") + "Nguyễn Thị Lan,0912345678\n".encode() + cp1258("Lê Văn Tâm,0987\n")
    assert "Nguyá»" in data.decode("cp1258")  # decodable whole as cp1258: what detection used to pick
    assert decode_text(data) == ("Họ tên,SĐT\nNguyễn Thị Lan,0912345678\nLê Văn Tâm,0987\n", "cp1258")
    with pytest.raises(MalformedPayload, match="line 2: neither"):
        decode_text(b"a,b\n\x81\x8d\xff,1\n")


def test_a_huge_integer_is_refused_without_leaking_interpreter_hints() -> None:
    from connectors.base import load_json

    with pytest.raises(MalformedPayload) as refused:
        load_json('{"amount": ' + "9" * 5000 + "}", "body")
    assert refused.value.field == "body" and "sys." not in str(refused.value) and "digits" in str(refused.value)
