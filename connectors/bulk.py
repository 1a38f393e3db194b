"""Bulk contact lists (third-party lead lists, a business's customers kept in Excel) from CSV, JSONL or XLSX.

`hopnhat import bulk FILE... [--mapping mapping.yaml]` reads the file through connectors/tabular.py;
a YAML column mapping names which columns hold the canonical fields (docs/connectors/bulk.md).
Without a mapping, common English and Vietnamese headers are recognised (`Họ và tên`, `Số điện
thoại`, `SĐT`, `Email`, `Ngày sinh` ...), matched after NFC and case folding.

The mapping is applied while reading (once per header), so each event carries canonical field
names and `extract()` needs no mapping. Event id: `bulk:<source>:<record id>` when the mapping
names a record-id column, else `bulk:<source>:<file sha256>:<line>` (re-importing the same file is
a no-op downstream; an edited file is a new file). Birth date, gender, address and province go to
`RawContact.attributes` (`birth_date`, `gender`, `address`, `province`); address and province also
become `RawContact.address`, which the normaliser resolves to a province code.

A birth date that cannot be read (31/02/1990, a corrupt yyyymmdd) does not cost the row: it is kept
as the attribute `invalid.birth_date` with the reason, as the normaliser keeps any value that fails
beside good ones. Lists that keep names in parts (family / middle / given columns, e.g. an English
export with given name and surname) are joined in Vietnamese order, family name first, so the name
parser never has to guess which word is the given name; the parts also go on as attributes
(`family_name`, `middle_name`, `given_name`) for the matcher. An attribute may name several columns,
joined by a space (`street: [Số nhà, Đường]`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar, NamedTuple

from pydantic_core import to_json

from connectors.cells import cell_text, cell_time, phone_cells
from connectors.tabular import BadRow, FileConnector, SourceRow, fold_header, tabular_rows
from schema.contact import RawContact
from schema.errors import MalformedPayload
from schema.events import CloudEvent, IdentifierType

SINGLE_FIELDS = ("record_id", "full_name", "family_name", "middle_name", "given_name", "birth_date", "gender",
                 "address", "province", "occurred_at")
LIST_FIELDS = ("phones", "emails")
# Headers recognised without a mapping, compared after fold_header().
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "record_id": ("record_id", "id", "mã kh", "mã khách hàng", "ma_kh", "customer_id", "customer code"),
    "full_name": ("full_name", "name", "full name", "họ tên", "họ và tên", "ho_ten", "tên khách hàng",
                  "khách hàng", "tên"),
    # Name parts are read only when a mapping names them: a bare "Tên" header is the whole name.
    "family_name": (),
    "middle_name": (),
    "given_name": (),
    "phones": ("phone", "phones", "phone_number", "mobile", "tel", "sdt", "sđt", "số điện thoại", "điện thoại",
               "di động", "so_dien_thoai"),
    "emails": ("email", "emails", "e-mail", "mail", "địa chỉ email"),
    "birth_date": ("birth_date", "birthday", "dob", "ngày sinh", "ngay_sinh"),
    "gender": ("gender", "sex", "giới tính", "gioi_tinh"),
    "address": ("address", "địa chỉ", "dia_chi"),
    "province": ("province", "city", "tỉnh", "tỉnh/thành", "tỉnh/thành phố", "tỉnh thành", "khu vực"),
    "occurred_at": ("created_at", "ngày tạo", "thời gian", "date"),
}
GENDERS = {"nam": "male", "male": "male", "m": "male", "trai": "male",
           "nữ": "female", "nu": "female", "female": "female", "f": "female", "gái": "female"}
_EMAIL_SPLIT = re.compile(r"[\s,;]+")
_DAY_FIRST_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")  # yyyymmdd: exports of older systems, FEBRL


BIRTH_DATES_KEPT = 50_000  # per header of a file: ~5 MB at most


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class ColumnPlan:
    """Which header cells feed which canonical field; built once per header from the mapping."""

    def __init__(self, header: list[str], columns: Mapping[str, Any]) -> None:
        by_fold = {fold_header(h): h for h in header}
        used: set[str] = set()

        def find(field: str, wanted: list[str], required: bool) -> list[str]:
            found = [by_fold[f] for w in wanted if (f := fold_header(w)) in by_fold]
            if required and len(found) < len(wanted):
                missing = [w for w in wanted if fold_header(w) not in by_fold]
                raise MalformedPayload(f"mapping.{field}", f"no column {missing[0]!r} in the file; it has "
                                       + ", ".join(repr(h) for h in header[:30]))
            used.update(found)
            return found

        self.fields: dict[str, list[str]] = {}
        for field in SINGLE_FIELDS + LIST_FIELDS:
            if field in columns:
                self.fields[field] = find(field, _names(columns[field]), required=True)
            elif not columns:
                self.fields[field] = find(field, list(DEFAULT_COLUMNS[field]), required=False)[:1 if
                                                                                              field in SINGLE_FIELDS else None]
        self.channel_ids: dict[str, list[str]] = {}
        for kind, wanted in dict(columns.get("channel_ids") or {}).items():
            if kind not in IdentifierType.__members__:
                raise MalformedPayload("mapping.channel_ids", f"unknown identifier type {kind!r}; known: "
                                       + ", ".join(IdentifierType.__members__))
            self.channel_ids[kind] = find(f"channel_ids.{kind}", _names(wanted), required=True)
        # An attribute may be read from several columns (house number + street), joined by a space.
        self.attributes = {name: find(f"attributes.{name}", _names(col), required=True)
                           for name, col in dict(columns.get("attributes") or {}).items()}
        unknown = set(columns) - set(SINGLE_FIELDS + LIST_FIELDS) - {"channel_ids", "attributes"}
        if unknown:
            raise MalformedPayload("mapping.columns", f"unknown canonical field(s) {sorted(unknown)}; known: "
                                   + ", ".join(SINGLE_FIELDS + LIST_FIELDS + ("channel_ids", "attributes")))
        self.extra = [h for h in header if h not in used and h]


# A year the clock has already reached: birth years up to it need no date.today() (a call per row).
_YEAR_SEEN = date.today().year


def _birth_date(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = cell_text(value)
    if m := _DAY_FIRST_DATE.fullmatch(text):
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif (m := _ISO_DATE.match(text)) or (m := _COMPACT_DATE.fullmatch(text)):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        raise MalformedPayload("birth_date", f"not a date (dd/mm/yyyy, yyyy-mm-dd or yyyymmdd): {text[:40]!r}")
    try:
        parsed = date(year, month, day)
    except ValueError as exc:
        raise MalformedPayload("birth_date", f"{text!r}: {exc}") from exc
    if parsed.year < 1900 or (parsed.year > _YEAR_SEEN and parsed.year > date.today().year):
        raise MalformedPayload("birth_date", f"year {parsed.year} out of range")
    return parsed.isoformat()


class BuiltRow(NamedTuple):
    """What a row contributes to its CloudEvent; the envelope's other fields are the same for every row."""

    id: str
    subject: str
    time: datetime
    data: dict[str, Any]


def _columns(fields: Mapping[str, list[str]], field: str) -> tuple[str, ...]:
    return tuple(fields.get(field, ()))


class RowPlan:
    """A `ColumnPlan` compiled once per header into the row function `build`: the columns of each part of
    the event as tuples, and the parts this header has no column for left out, so a row costs only the
    cells it has instead of generic per-field lists (the import's parse time was mostly this)."""

    __slots__ = ("address", "attributes", "birth_date", "birth_dates", "channel_ids", "emails", "extra",
                 "fields", "full_name", "gender", "name_parts", "occurred_at", "phones", "province", "record_id")

    def __init__(self, plan: ColumnPlan) -> None:
        fields = plan.fields
        self.fields = {field: tuple(cols) for field, cols in fields.items()}  # for BulkRow.mapped
        self.record_id = _columns(fields, "record_id")
        self.full_name = _columns(fields, "full_name")
        self.name_parts = tuple((part, cols) for part in ("family_name", "middle_name", "given_name")
                                if (cols := _columns(fields, part)))
        # The field a bad phone is reported under is the position among the phone columns, as before.
        self.phones = tuple((col, f"phones[{i}]") for i, col in enumerate(_columns(fields, "phones")))
        self.emails = _columns(fields, "emails")
        self.birth_date = _columns(fields, "birth_date")
        self.gender = _columns(fields, "gender")
        self.address = _columns(fields, "address")
        self.province = _columns(fields, "province")
        self.occurred_at = _columns(fields, "occurred_at")
        self.channel_ids = tuple((kind, tuple(cols)) for kind, cols in plan.channel_ids.items())
        self.attributes = tuple((name, tuple(cols)) for name, cols in plan.attributes.items())
        self.extra = tuple(plan.extra)
        self.birth_dates: dict[str, str] = {}  # birth date text -> ISO date, for the dates this list repeats

    def build(self, cells: Mapping[str, Any], line: int, options: Mapping[str, Any], source_id: str,
              file_sha256: str, received_at: datetime) -> BuiltRow:
        """The event parts of one row whose keys are this plan's header. Checks run in a fixed order (phones,
        then "needs a name, phone, email or channel id", then the event time) so a row with several
        problems is always rejected for the same one."""
        phones: list[str] = []
        for col, label in self.phones:
            phones += _phones_of(cells[col], label)
        emails = [e for col in self.emails if (text := cell_text(cells[col]))
                  for e in _EMAIL_SPLIT.split(text) if e]
        # The parts a header has no column for cost nothing: most lists have none of them.
        parts = ({part: text for part, cols in self.name_parts if (text := _first_text(cells, cols))}
                 if self.name_parts else {})
        name = _first_text(cells, self.full_name) or " ".join(parts.values())
        channel_ids = ({kind: text for kind, cols in self.channel_ids if (text := _first_text(cells, cols))}
                       if self.channel_ids else {})
        if not (name or phones or emails or channel_ids):
            raise MalformedPayload("row", "needs at least one of full name, phone, email or a channel id")
        # The parts themselves also go on as attributes: the matcher then knows which word is the
        # family name even when one part is missing ("Weller" alone is a surname, not a given name).
        fields: dict[str, str] = dict(parts)
        value, birth = _first_cell(cells, self.birth_date)
        if birth:
            birth_field, birth_text = self._birth_field(value, birth)
            fields[birth_field] = birth_text
        if gender := _first_text(cells, self.gender):
            fields["gender"] = GENDERS.get(gender.lower(), gender)
        # Several address columns (house number, street, ward, district ...) are joined in the order
        # the mapping names them; the province column is appended later only when the address lacks it.
        if self.address and (address := ", ".join(t for col in self.address if (t := cell_text(cells[col])))):
            fields["address"] = address
        if province := _first_text(cells, self.province):
            fields["province"] = province
        occurred_at = received_at
        if self.occurred_at:
            value, when = _first_cell(cells, self.occurred_at)
            if when:
                zone = str(options.get("timezone", "Asia/Ho_Chi_Minh"))
                occurred_at = cell_time(value, "occurred_at", zone)
        record_id = _first_text(cells, self.record_id) or f"{file_sha256}:{line}"
        # An attribute of several columns is their texts joined by a space (never blank at the ends).
        attributes = ({name_: joined for name_, cols in self.attributes
                       if (joined := " ".join(t for col in cols if (t := cell_text(cells[col]))))}
                      if self.attributes else {})
        extra = {col: text for col in self.extra if (text := cell_text(cells[col]))} if self.extra else {}
        subject = emails[0].lower() if emails else (_phone_digits(phones[0])[-9:] if phones else record_id)
        return BuiltRow(f"bulk:{source_id}:{record_id}", subject, occurred_at, {
            "source": source_id, "record_id": record_id, "line": line, "full_name": name or None,
            "phones": phones, "emails": emails, "channel_ids": channel_ids, "fields": fields,
            "attributes": attributes, "extra": extra})

    def _birth_field(self, value: Any, text: str) -> tuple[str, str]:
        """("birth_date", ISO date), or ("invalid.birth_date", the text and why): a mistyped birth date is
        no reason to lose the customer's phone and name, it is kept as the normaliser keeps values that
        fail beside good ones (resolver/normalise.py). A list repeats birth dates (one of ~20,000 days
        in a lifetime): a text read once is looked up after, which _birth_date's regex and date cost."""
        cacheable = type(value) is str  # then the date depends on the text alone
        if cacheable and (known := self.birth_dates.get(text)) is not None:
            return "birth_date", known
        try:
            iso = _birth_date(value)
        except MalformedPayload as exc:
            return "invalid.birth_date", f"{text} ({exc.reason})"
        # A date once valid stays valid (its year is not after this one), so a kept answer never goes stale.
        if cacheable and len(self.birth_dates) < BIRTH_DATES_KEPT:
            self.birth_dates[text] = iso
        return "birth_date", iso


def _first_cell(cells: Mapping[str, Any], cols: tuple[str, ...]) -> tuple[Any, str]:
    """The first non-blank cell of `cols` as read and as text; (None, "") when all are blank."""
    for col in cols:
        value = cells[col]
        if text := (value.strip() if type(value) is str else cell_text(value)):
            return value, text
    return None, ""


def _first_text(cells: Mapping[str, Any], cols: tuple[str, ...]) -> str:
    """The first non-blank cell of `cols`, as text."""
    for col in cols:
        value = cells[col]
        if text := (value.strip() if type(value) is str else cell_text(value)):  # cell_text's own fast path
            return text
    return ""


def _phone_digits(phone: str) -> str:
    """The digits of a phone as the subject keeps them (str.isdigit, so also non-ASCII digits)."""
    if phone.isascii() and phone.isdigit():  # most phones: no character to drop
        return phone
    return "".join(c for c in phone if c.isdigit())


def _phones_of(value: Any, field: str) -> list[str]:
    """`phone_cells`, with the most common cell (only ASCII digits) answered without its regexes: such a
    cell is one number, with a 0 put back before a 9-digit mobile, exactly as `phone_cells` does."""
    if type(value) is str:
        text = value.strip()
        if text.isdigit() and text.isascii():
            return ["0" + text] if len(text) == 9 and text[0] in "35789" else [text]
    return phone_cells(value, field)


@dataclass(slots=True)
class BulkRow(SourceRow):
    """A row of a bulk list with the plan of its header, so `row_event` need not look the header up again."""

    plan: RowPlan

    def mapped(self, field: str) -> list[Any]:
        """The row's cells for one canonical field (`record_id`, `phones` ...), as the mapping names them."""
        return [self.cells[col] for col in self.plan.fields.get(field, ())]


class Envelope(NamedTuple):
    """The JSON of a CloudEvent's fields that are the same for every row of an import, in field order."""

    source_and_type: bytes  # ,"source":...,"type":...,"subject":
    channel_and_received: bytes  # ,"datacontenttype":...,"hopnhatchannel":...,"hopnhatreceived":...
    received: bytes  # hopnhatreceived alone: also the time of rows without an event-time column


@lru_cache(maxsize=16)
def _envelope(source_id: str, event_type: str, channel: str, received_at: datetime,
              utc_offset: timedelta | None) -> Envelope:
    """Serialised once per import, not per row: a datetime alone costs to_json ~0.5 µs. `utc_offset` is only
    part of the cache key: 08:00+07:00 == 01:00Z as datetimes, but they are written differently."""
    received = to_json(received_at)
    return Envelope(
        source_and_type=b"".join((b',"source":', to_json(f"/bulk/{source_id}"),
                                  b',"type":', to_json(event_type), b',"subject":')),
        channel_and_received=b"".join((b',"datacontenttype":"application/json","hopnhatchannel":',
                                       to_json(channel), b',"hopnhatreceived":', received)),
        received=received)


def _row_plan(row: SourceRow, options: Mapping[str, Any]) -> RowPlan:
    """The plan a row was read with; a SourceRow made elsewhere gets one built from its own keys."""
    if isinstance(row, BulkRow):
        return row.plan
    return RowPlan(ColumnPlan(list(row.cells), dict(options.get("columns") or {})))


class BulkConnector(FileConnector):
    channel: ClassVar[str] = "bulk"
    event_type: ClassVar[str] = "vn.hopnhat.bulk.row"

    def read_rows(self, data: bytes, *, filename: str, options: Mapping[str, Any]) -> Iterator[SourceRow | BadRow]:
        columns = dict(options.get("columns") or {})
        plans: dict[tuple[str, ...], RowPlan] = {}
        for row in tabular_rows(data, filename, options):
            if isinstance(row, BadRow):
                yield row
                continue
            # Keyed by the row's own keys: a short CSV row or a JSONL object with other keys gets the
            # plan of exactly the columns it has, as a mapping over the whole header would not.
            header = tuple(row.cells)
            plan = plans.get(header)
            if plan is None:
                plan = plans[header] = RowPlan(ColumnPlan(list(header), columns))
            yield BulkRow(row.line, row.cells, row.source, plan)

    def row_event(self, row: SourceRow, *, options: Mapping[str, Any], source_id: str, file_sha256: str,
                  received_at: datetime) -> CloudEvent:
        built = _row_plan(row, options).build(row.cells, row.line, options, source_id, file_sha256,
                                              received_at)
        return CloudEvent(id=built.id, source=f"/bulk/{source_id}", type=self.event_type,
                          subject=built.subject, time=built.time, hopnhatchannel=self.channel,
                          hopnhatreceived=received_at, data=built.data)

    def row_record(self, row: SourceRow, *, options: Mapping[str, Any], source_id: str, file_sha256: str,
                   received_at: datetime) -> tuple[bytes, bytes]:
        """The row's Kafka key and event JSON, the bytes `row_event(...).model_dump_json()` gives, without
        building the pydantic model: the fields are typed by construction (`RowPlan.build`), so its
        validation only costs time, and pydantic-core's `to_json` writes the same JSON (tests prove it)."""
        built = _row_plan(row, options).build(row.cells, row.line, options, source_id, file_sha256,
                                              received_at)
        envelope = _envelope(source_id, self.event_type, self.channel, received_at, received_at.utcoffset())
        time_json = envelope.received if built.time is received_at else to_json(built.time)
        value = b"".join((b'{"specversion":"1.0","id":', to_json(built.id), envelope.source_and_type,
                          to_json(built.subject), b',"time":', time_json, envelope.channel_and_received,
                          b',"data":', to_json(built.data), b"}"))
        return (built.subject or built.id).encode(), value

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        attributes = {**data.get("attributes", {}), **data.get("fields", {})}
        return RawContact(
            channel=self.channel,
            source=f"bulk:{data['source']}",
            source_record_id=data["record_id"],
            occurred_at=event.time,
            received_at=event.hopnhatreceived,
            interaction_kind="list_import",
            name=data.get("full_name"),
            phones=list(data.get("phones", [])),
            emails=list(data.get("emails", [])),
            channel_ids=[(k, v) for k, v in data.get("channel_ids", {}).items()],
            # The address column (with the province column appended when the address lacks it) is
            # normalised like any channel's address; both raw columns also stay in the attributes.
            address=_full_address(data.get("fields", {})),
            attributes=attributes,
            summary=f"Imported from list {data['source']}",
            payload={"line": data.get("line"), "extra": data.get("extra", {})},
        )


def _full_address(fields: dict[str, str]) -> str | None:
    address, province = fields.get("address", "").strip(), fields.get("province", "").strip()
    if address and province and province.casefold() not in address.casefold():
        return f"{address}, {province}"
    return address or province or None
