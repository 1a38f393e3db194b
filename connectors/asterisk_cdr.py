"""Asterisk call detail records (`cdr_csv`, Master.csv): one CDR line per call leg -> a "call" interaction.

Facts from /work/shared/reference/call_logs.md section 1 (Asterisk `cdr/cdr_csv.c` at master):
Master.csv has no header and 16 fixed columns, then `uniqueid` (loguniqueid=yes), `userfield`
(loguserfield=yes) and `peeraccount, linkedid, sequence` (newcdrcolumns=yes) - so 16, 17, 18 or 21
columns (19 and 20 cannot be told apart and are rejected). A file that starts with a header line
(exported from a database or FreePBX's CDR reports) is read by its header instead.

Asterisk records no direction; per source (`--mapping` options) it is inferred from trunk channel
prefixes, then the dialplan context (FreePBX: `from-trunk`/`from-pstn`/`from-did-direct` in,
`from-internal` out), then the numbers (an extension of 2-5 digits calling a phone is outbound).
Internal calls and calls from hidden numbers have no customer and are skipped (row_event -> None).
Times carry no offset: the PBX's zone (`timezone`, default Asia/Ho_Chi_Minh), or UTC with
`usegmtime: true` (the shipped cdr.conf.sample sets it).

Event id: `asterisk_cdr:<pbx>:<uniqueid>[:<sequence> or :<dstchannel>]` - one call can yield several
CDRs with the same uniqueid (queue members rung, transfers), and uniqueids of two PBXs can collide,
so the source (`--source`, the PBX name) is part of it. Without a uniqueid column: the file hash and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from email.utils import parseaddr
from typing import Any, ClassVar

from connectors.cells import cell_time
from connectors.tabular import BadRow, FileConnector, SourceRow, csv_line, csv_records, decode_text, fold_header
from schema.contact import RawContact
from schema.errors import MalformedPayload
from schema.events import CloudEvent

BASE_COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
                "start", "answer", "end", "duration", "billsec", "disposition", "amaflags")
PROFILES: dict[int, tuple[str, ...]] = {
    16: BASE_COLUMNS,
    17: BASE_COLUMNS + ("uniqueid",),
    18: BASE_COLUMNS + ("uniqueid", "userfield"),
    21: BASE_COLUMNS + ("uniqueid", "userfield", "peeraccount", "linkedid", "sequence"),
}
DISPOSITIONS = {"ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION", "CANCEL", "UNKNOWN"}
INBOUND_CONTEXTS = ("from-trunk", "from-pstn", "from-did-direct")
OUTBOUND_CONTEXTS = ("from-internal",)
HIDDEN = {"", "anonymous", "restricted", "unknown", "private", "unavailable"}
_EXTENSION = re.compile(r"^\d{2,5}$")
_PHONE_LIKE = re.compile(r"^\+?\d{8,15}$")


def _digits_or_plus(value: str) -> str:
    return "".join(c for c in value if c.isdigit() or c == "+")


def header_columns(cells: list[str]) -> tuple[str, ...] | None:
    """The column names if `cells` is a header line (a CDR database export), else None."""
    folded = [fold_header(c) for c in cells]
    return tuple(folded) if "src" in folded and "disposition" in folded else None


def cdr_row(line: int, cells: list[str], header: tuple[str, ...] | None) -> SourceRow | BadRow:
    """One CSV record as a row, named by the header or else by the column count (a profile above).

    Shared by the whole-file import (`read_rows`) and the live tailer (hopnhat/cdr_tailer.py), so both
    read a line into the same cells and hence the same event."""
    columns = header or PROFILES.get(len(cells))
    if columns is None or len(columns) != len(cells):
        expected = len(header) if header else "16, 17, 18 or 21"
        return BadRow(line, "columns", f"expected {expected} columns, got {len(cells)}", csv_line(cells))
    return SourceRow(line, dict(zip(columns, cells)), cells)


class AsteriskCdrConnector(FileConnector):
    channel: ClassVar[str] = "asterisk_cdr"
    event_type: ClassVar[str] = "vn.hopnhat.asterisk.cdr"

    def read_rows(self, data: bytes, *, filename: str, options: Mapping[str, Any]) -> Iterator[SourceRow | BadRow]:
        text, _ = decode_text(data, str(options.get("encoding", "auto")))
        header: tuple[str, ...] | None = None
        first = True
        for line, cells in csv_records(text, ","):
            if first:
                first = False
                header = header_columns(cells)
                if header is not None:
                    continue
            yield cdr_row(line, cells, header)

    @staticmethod
    def _direction(cells: Mapping[str, str], options: Mapping[str, Any]) -> str:
        trunks = tuple(str(t) for t in options.get("trunk_prefixes") or ())
        if trunks:
            if cells.get("channel", "").startswith(trunks):
                return "inbound"
            if cells.get("dstchannel", "").startswith(trunks):
                return "outbound"
        context = cells.get("dcontext", "")
        if context in tuple(options.get("inbound_contexts") or INBOUND_CONTEXTS):
            return "inbound"
        if context in tuple(options.get("outbound_contexts") or OUTBOUND_CONTEXTS):
            return "outbound"
        src, dst = _digits_or_plus(cells.get("src", "")), _digits_or_plus(cells.get("dst", ""))
        if _EXTENSION.match(src) and _PHONE_LIKE.match(dst):
            return "outbound"
        if _PHONE_LIKE.match(src):
            return "inbound"
        return "internal"

    @staticmethod
    def _customer_number(raw: str, options: Mapping[str, Any]) -> str | None:
        number = raw.strip()
        if number.lower() in HIDDEN:
            return None
        prefix = str(options.get("dialout_prefix") or "")
        if prefix and number.startswith(prefix) and len(number) - len(prefix) >= 9:
            number = number[len(prefix):]
        if number.startswith("0084"):
            number = "+84" + number[4:]
        return number if _PHONE_LIKE.match(_digits_or_plus(number)) else None

    def row_event(self, row: SourceRow, *, options: Mapping[str, Any], source_id: str, file_sha256: str,
                  received_at: datetime) -> CloudEvent | None:
        cells: dict[str, str] = {k: str(v) for k, v in row.cells.items()}
        zone = "UTC" if options.get("usegmtime") else str(options.get("timezone", "Asia/Ho_Chi_Minh"))
        start = cell_time(cells.get("start", ""), "start", zone)
        answer = cell_time(cells["answer"], "answer", zone) if cells.get("answer", "").strip() else None
        end = cell_time(cells["end"], "end", zone) if cells.get("end", "").strip() else None
        seconds = {}
        for key in ("duration", "billsec"):
            value = cells.get(key, "").strip()
            if not value.isdigit():
                raise MalformedPayload(key, f"expected whole seconds, got {value[:20]!r}")
            seconds[key] = int(value)
        disposition = cells.get("disposition", "").strip().upper()
        if disposition not in DISPOSITIONS:
            raise MalformedPayload("disposition", f"unknown disposition {disposition[:20]!r}")
        direction = self._direction(cells, options)
        if direction == "internal":
            return None
        clid_name, clid_number = parseaddr(cells.get("clid", ""))
        if direction == "inbound":
            number = self._customer_number(cells.get("src", "") or clid_number, options)
            name, agent = (clid_name or None), cells.get("dstchannel", "")
        else:
            number = self._customer_number(cells.get("dst", ""), options)
            name, agent = None, cells.get("src", "")  # the caller id of an outbound call is the agent's
        if number is None:
            return None  # a hidden caller: a call with no customer to attach it to
        uniqueid = cells.get("uniqueid", "").strip()
        if uniqueid:
            leg = cells.get("sequence", "").strip() or cells.get("dstchannel", "").strip()
            record_id = f"{uniqueid}:{leg}" if leg else uniqueid
        else:
            record_id = f"{file_sha256}:{row.line}"
        return CloudEvent(
            id=f"asterisk_cdr:{source_id}:{record_id}",
            source=f"/asterisk_cdr/{source_id}",
            type=self.event_type,
            subject=_digits_or_plus(number)[-9:],
            time=start,
            hopnhatchannel=self.channel,
            hopnhatreceived=received_at,
            data={"pbx": source_id, "record_id": record_id, "line": row.line, "direction": direction,
                  "customer_number": number, "customer_name": name, "agent": agent,
                  "answered_at": answer.isoformat() if answer else None,
                  "ended_at": end.isoformat() if end else None, "disposition": disposition, **seconds,
                  # every leg of one call carries the originating channel's uniqueid as linkedid (21 columns)
                  "linkedid": cells.get("linkedid", "").strip() or None,
                  "cdr": {k: v for k, v in cells.items() if v and k not in ("duration", "billsec", "disposition")}},
        )

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        minutes, seconds = divmod(int(data["billsec"]), 60)
        talk = f", {minutes}m{seconds:02d}s" if data["billsec"] else ""
        summary = f"{data['direction'].capitalize()} call, {data['disposition'].lower()}{talk}"
        return RawContact(
            channel=self.channel,
            source=f"asterisk_cdr:{data['pbx']}",
            source_record_id=data["record_id"],
            occurred_at=event.time,
            received_at=event.hopnhatreceived,
            interaction_kind="call",
            name=data.get("customer_name"),
            phones=[data["customer_number"]],
            summary=summary,
            payload={k: data.get(k) for k in ("direction", "disposition", "duration", "billsec", "agent",
                                               "answered_at", "ended_at", "line", "linkedid")},
        )
