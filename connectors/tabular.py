"""Reading exported files (CSV, JSONL, XLSX) into numbered rows, for the file-based connectors.

Not a connector itself: `connectors/bulk.py`, `connectors/asterisk_cdr.py` and
`connectors/pos_export.py` read their files through it. A `FileConnector` adds two steps to the
webhook contract in connectors/base.py:

* `read_rows(data, filename=, options=)` yields `SourceRow`s (line number, cells, raw text) or
  `BadRow`s for lines that cannot even be split into cells, never stopping at the first bad one;
* `row_event(row, options=, source_id=, file_sha256=, received_at=)` turns one row into its
  CloudEvent, raises `MalformedPayload(field, reason)` for a bad row, or returns None for a row
  that is not about a customer (an internal call). Pure: no I/O.
* `row_record(...)` (same arguments) is what the file importer publishes: the row's Kafka key and
  CloudEvent JSON as bytes. The default serialises `row_event`'s model; a connector may write the
  same bytes faster (the bulk connector does, without building the model).

Their `parse()` (a signed CSV POSTed to /webhooks/<channel>/<source>) is the same two steps over
the whole body and rejects the delivery at its first bad row, naming `line N: field`.

Encodings seen in Vietnamese exports: Excel's "CSV UTF-8" (BOM), plain UTF-8, UTF-16 (Excel's
"Unicode text", and many PBX/POS tools), and Windows-1258 from a Vietnamese Windows "CSV". cp1258
writes most tones as combining marks, so the text is NFC-normalised after decoding.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import Connector, verify_hmac_sha256
from schema.errors import MalformedPayload
from schema.events import CloudEvent


@dataclass(slots=True)
class SourceRow:
    """One record of a file: `line` is where it starts (1-based; a CSV cell may span lines).

    `source` is the row as read: its text, or its cells, rendered as a CSV line by `raw` only when
    asked (for a DLQ record), which saves ~10 % of parsing on files with few bad rows.
    """

    line: int
    cells: dict[str, Any]
    source: str | list[Any]

    @property
    def raw(self) -> str:
        if isinstance(self.source, str):
            return self.source
        return csv_line([str(c) for c in self.source])


@dataclass(slots=True)
class BadRow:
    """A line that could not be read into cells at all (wrong column count, invalid JSON ...)."""

    line: int
    field: str
    reason: str
    raw: str


def detect_encoding(data: bytes) -> str:
    """The codec name of an exported text file: BOMs first, then UTF-16 without BOM, UTF-8, cp1258."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:4096]
    if len(sample) >= 4:
        # ASCII-heavy UTF-16 text has a NUL in every other byte; which half tells the byte order
        even_nul = sample[0::2].count(0) / (len(sample) / 2)
        odd_nul = sample[1::2].count(0) / (len(sample) / 2)
        if odd_nul > 0.3 and even_nul < 0.05:
            return "utf-16-le"
        if even_nul > 0.3 and odd_nul < 0.05:
            return "utf-16-be"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    for number, line in enumerate(data.splitlines(), 1):  # each line is UTF-8 or cp1258: see _decode_lines
        try:
            _decode_line(line)
        except UnicodeDecodeError as exc:
            raise MalformedPayload("encoding", f"line {number}: neither UTF-8, UTF-16 nor Windows-1258 "
                                               f"(byte {exc.start} of the line)") from exc
    return "cp1258"


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1258")


def _decode_lines(data: bytes) -> str:
    """A "cp1258" file decoded line by line, UTF-8 first: rows pasted from a UTF-8 export into a
    Windows-1258 one (or back) each keep their own text. Decoded whole as cp1258, the UTF-8 rows
    became mojibake ("Nguyá»…n") without a word. Vietnamese cp1258 text is never valid UTF-8 (its
    tone marks and letters above 0xC0 are not followed by continuation bytes), so a pure cp1258
    file decodes exactly as before."""
    return "".join(_decode_line(line) for line in data.splitlines(keepends=True))


def decode_text(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """(NFC text, encoding used). `encoding` "auto" detects; otherwise it is used as given."""
    detect = encoding in ("", "auto")
    used = detect_encoding(data) if detect else encoding
    try:
        text = _decode_lines(data) if detect and used == "cp1258" else data.decode(used)
    except (UnicodeDecodeError, LookupError) as exc:
        raise MalformedPayload("encoding", f"cannot decode as {used}: {exc}") from exc
    if used == "utf-16" or text.startswith("\ufeff"):
        text = text.lstrip("\ufeff")
    if used == "cp1258" or not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text, used


def sniff_delimiter(text: str) -> str:
    """`,` `;` or tab, whichever the first line holds most of (Vietnamese Excel may write `;`)."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_records(text: str, delimiter: str = "auto") -> Iterator[tuple[int, list[str]]]:
    """(starting line, cells) of every non-empty CSV record."""
    delim = sniff_delimiter(text) if delimiter in ("", "auto") else delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    previous_end = 0
    for cells in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if cells and "".join(cells).strip():  # some cell is not blank; one C call, not a generator per row
            yield start, cells


def csv_line(cells: list[str]) -> str:
    """A record as one CSV line again (for the DLQ's copy of the raw row)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def jsonl_records(text: str) -> Iterator[SourceRow | BadRow]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadRow(number, "json", f"invalid JSON at column {exc.colno}", line)
            continue
        except (RecursionError, ValueError) as exc:  # nested too deep; an integer over 4,300 digits
            yield BadRow(number, "json", f"invalid JSON: {type(exc).__name__}", line)
            continue
        if not isinstance(doc, dict):
            yield BadRow(number, "json", "expected a JSON object per line", line)
            continue
        yield SourceRow(number, doc, line)


def xlsx_records(data: bytes, sheet: str | None = None) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cell values) of a worksheet; openpyxl gives str, int, float or datetime values."""
    import openpyxl  # only file imports of .xlsx pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors for a broken file
        raise MalformedPayload("file", f"not a readable .xlsx workbook: {type(exc).__name__}: {exc}") from exc
    try:
        if sheet and sheet not in book.sheetnames:
            raise MalformedPayload("sheet", f"no sheet {sheet!r}; the workbook has {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet else book.worksheets[0]
        for number, values in enumerate(ws.iter_rows(values_only=True), 1):
            cells = ["" if v is None else v for v in values]
            if any(str(c).strip() for c in cells):
                yield number, cells
    finally:
        book.close()


def fold_header(name: object) -> str:
    """A header as matched: NFC, lower case, single spaces (exports vary in NFC/NFD and spacing)."""
    return " ".join(unicodedata.normalize("NFC", str(name)).lower().split())


def tabular_rows(data: bytes, filename: str, options: Mapping[str, Any]) -> Iterator[SourceRow | BadRow]:
    """Rows of a CSV, JSONL or XLSX file with a header row, keyed by the header's cells as written."""
    fmt = str(options.get("format") or file_format(filename))
    if fmt == "jsonl":
        text, _ = decode_text(data, str(options.get("encoding", "auto")))
        yield from jsonl_records(text)
        return
    records: Iterator[tuple[int, list[Any]]]
    if fmt == "xlsx":
        records = xlsx_records(data, options.get("sheet"))
    elif fmt == "csv":
        text, _ = decode_text(data, str(options.get("encoding", "auto")))
        records = iter(csv_records(text, str(options.get("delimiter", "auto"))))
    else:
        raise MalformedPayload("format", f"unknown file format {fmt!r}; expected csv, jsonl or xlsx")
    header: list[str] | None = None
    for line, cells in records:
        if header is None:
            header = [str(c).strip().lstrip("\ufeff") for c in cells]
            continue
        if len(cells) > len(header) and any(str(c).strip() for c in cells[len(header):]):
            yield BadRow(line, "columns", f"{len(cells)} cells under a header of {len(header)}",
                         csv_line([str(c) for c in cells]))
            continue
        yield SourceRow(line, dict(zip(header, cells)), cells)


def file_format(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return "csv"


class FileConnector(Connector):
    """A connector whose native payload is an exported file; see this module's docstring."""

    signature_header = "x-hopnhat-signature"
    default_filename = "upload.csv"

    @abstractmethod
    def read_rows(self, data: bytes, *, filename: str, options: Mapping[str, Any]) -> Iterator[SourceRow | BadRow]:
        ...

    @abstractmethod
    def row_event(self, row: SourceRow, *, options: Mapping[str, Any], source_id: str, file_sha256: str,
                  received_at: datetime) -> CloudEvent | None: ...

    def row_record(self, row: SourceRow, *, options: Mapping[str, Any], source_id: str, file_sha256: str,
                   received_at: datetime) -> tuple[bytes, bytes] | None:
        """The row as its Kafka record (key, CloudEvent JSON), or None for a row about no customer; raises
        MalformedPayload as `row_event` does. What the file importer publishes: a connector may override it
        to skip building the pydantic model, but must give exactly these bytes."""
        event = self.row_event(row, options=options, source_id=source_id, file_sha256=file_sha256,
                               received_at=received_at)
        if event is None:
            return None
        return self.kafka_key(event).encode(), event.model_dump_json().encode()

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        verify_hmac_sha256(headers.get(self.signature_header), secret, body)

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        import hashlib

        sha = hashlib.sha256(body).hexdigest()
        filename = "upload.jsonl" if "json" in content_type else self.default_filename
        events: list[CloudEvent] = []
        for row in self.read_rows(body, filename=filename, options={}):
            if isinstance(row, BadRow):
                raise MalformedPayload(f"line {row.line}: {row.field}", row.reason)
            try:
                event = self.row_event(row, options={}, source_id=source_id, file_sha256=sha, received_at=received_at)
            except MalformedPayload as exc:
                raise MalformedPayload(f"line {row.line}: {exc.field}", exc.reason) from exc
            if event is not None:
                events.append(event)
        return events

    def kafka_key(self, event: CloudEvent) -> str:
        return event.subject or event.id
