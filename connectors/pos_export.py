"""POS invoice exports (KiotViet-style "Hóa đơn" CSV/XLSX) -> one "order" interaction per invoice.

Facts from /work/shared/reference/pos.md section 6: no official KiotViet template exists, so the
header names below are the ones two public KiotViet loaders use (`Mã hóa đơn`, `Thời gian`,
`Khách hàng`, `Điện thoại`, `Khách cần trả` ...), matched after NFC + case folding, and any can be
renamed in the mapping's `columns`. The detailed export repeats the invoice columns on each product
line (`Mã hàng`, `Tên hàng`, `Số lượng`, `Đơn giá`, `Thành tiền`): consecutive rows with the same
invoice code are one invoice, and its line items are kept. Amounts are whole dong (`parse_vnd`);
times are day-first local (`22/11/2026 14:05`, Asia/Ho_Chi_Minh unless `timezone` is set).

POS webhooks (KiotViet, Sapo, Haravan) are other connectors; this one reads files only.
Event id: `pos_export:<source>:<invoice code>`, so re-importing an overlapping export is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

from connectors.cells import cell_text, cell_time, parse_vnd, phone_cells
from connectors.tabular import BadRow, FileConnector, SourceRow, fold_header, tabular_rows
from schema.contact import RawContact
from schema.errors import MalformedPayload
from schema.events import CloudEvent

INVOICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "invoice_code": ("mã hóa đơn", "mã hoá đơn", "invoice_code", "invoice"),
    "time": ("thời gian", "thời gian tạo", "ngày tạo", "created_at", "time"),
    "customer_code": ("mã kh", "mã khách hàng", "customer_code"),
    "customer_name": ("khách hàng", "tên khách hàng", "customer_name", "customer"),
    "phone": ("điện thoại", "số điện thoại", "sđt", "phone"),
    "email": ("email",),
    "address": ("địa chỉ", "address"),
    "area": ("khu vực", "tỉnh/thành", "province"),
    "branch": ("chi nhánh", "branch"),
    "seller": ("người bán", "seller"),
    "status": ("trạng thái", "status"),
    "subtotal": ("tổng tiền hàng", "subtotal"),
    "discount": ("giảm giá", "discount"),
    "total": ("khách cần trả", "tổng sau giảm giá", "total"),
    "paid": ("khách đã trả", "paid"),
}
LINE_COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("mã hàng", "sku"),
    "name": ("tên hàng", "product", "item"),
    "qty": ("số lượng", "sl", "quantity", "qty"),
    "unit_price": ("đơn giá", "unit_price", "price"),
    "amount": ("thành tiền", "amount"),
}
WALK_IN = {"khách lẻ", "khach le", "khách vãng lai"}  # KiotViet's name for a sale without a customer
AMOUNTS = ("subtotal", "discount", "total", "paid")


def _column_index(header: list[str], columns: Mapping[str, Any]) -> dict[str, str]:
    by_fold = {fold_header(h): h for h in header}
    found: dict[str, str] = {}
    for field, names in {**INVOICE_COLUMNS, **LINE_COLUMNS}.items():
        wanted = [str(columns[field])] if field in columns else list(names)
        for name in wanted:
            if (folded := fold_header(name)) in by_fold:
                found[field] = by_fold[folded]
                break
        else:
            if field in columns:
                raise MalformedPayload(f"mapping.{field}", f"no column {columns[field]!r} in the file")
    if "invoice_code" not in found:
        raise MalformedPayload("mapping.invoice_code", "no invoice code column (Mã hóa đơn) in the file; it has "
                               + ", ".join(repr(h) for h in header[:30]))
    return found


class PosExportConnector(FileConnector):
    channel: ClassVar[str] = "pos_export"
    event_type: ClassVar[str] = "vn.hopnhat.pos_export.invoice"

    def read_rows(self, data: bytes, *, filename: str, options: Mapping[str, Any]) -> Iterator[SourceRow | BadRow]:
        """One SourceRow per invoice: `cells` = {"invoice": {field: cell}, "lines": [{field: cell}, ...]}."""
        columns = dict(options.get("columns") or {})
        index: dict[str, str] | None = None
        current: SourceRow | None = None
        for row in tabular_rows(data, filename, options):
            if isinstance(row, BadRow):
                yield row
                continue
            if index is None:
                index = _column_index(list(row.cells), columns)
            cells = {field: row.cells.get(col) for field, col in index.items()}
            code = cell_text(cells.get("invoice_code"))
            line = {k: cells.pop(k) for k in LINE_COLUMNS if k in cells}
            if current is not None and code and code == current.cells["invoice"]["invoice_code"]:
                current.cells["lines"].append(line)
                current.source = current.raw + "\n" + row.raw
                continue
            if current is not None:
                yield current
            current = SourceRow(row.line, {"invoice": cells, "lines": [line]}, row.raw)
        if current is not None:
            yield current

    def row_event(self, row: SourceRow, *, options: Mapping[str, Any], source_id: str, file_sha256: str,
                  received_at: datetime) -> CloudEvent | None:
        invoice: dict[str, Any] = row.cells["invoice"]
        code = cell_text(invoice.get("invoice_code"))
        if not code:
            raise MalformedPayload("invoice_code", "empty invoice code (Mã hóa đơn)")
        when = invoice.get("time")
        occurred_at = (cell_time(when, "time", str(options.get("timezone", "Asia/Ho_Chi_Minh")))
                       if cell_text(when) else received_at)
        amounts = {k: parse_vnd(invoice[k], k) for k in AMOUNTS if cell_text(invoice.get(k))}
        lines = []
        for i, item in enumerate(row.cells["lines"]):
            if not any(cell_text(v) for v in item.values()):
                continue
            entry: dict[str, Any] = {"sku": cell_text(item.get("sku")) or None,
                                     "name": cell_text(item.get("name")) or None}
            qty = cell_text(item.get("qty"))
            if qty:
                try:
                    entry["qty"] = float(qty.replace(",", ".")) if not qty.isdigit() else int(qty)
                except ValueError as exc:
                    raise MalformedPayload(f"lines[{i}].qty", f"not a quantity {qty[:20]!r}") from exc
            for key in ("unit_price", "amount"):
                if cell_text(item.get(key)):
                    entry[f"{key}_vnd"] = parse_vnd(item[key], f"lines[{i}].{key}")
            lines.append(entry)
        phones = phone_cells(invoice.get("phone"), "phone")
        customer = {"code": cell_text(invoice.get("customer_code")) or None,
                    "name": cell_text(invoice.get("customer_name")) or None, "phones": phones,
                    "email": cell_text(invoice.get("email")) or None,
                    "address": cell_text(invoice.get("address")) or None,
                    "area": cell_text(invoice.get("area")) or None}
        if fold_header(customer["name"] or "") in WALK_IN:
            customer["name"] = None
        if not (customer["code"] or customer["name"] or phones or customer["email"]):
            return None  # a walk-in sale: an order, but no customer to put it on
        sender = ("".join(c for c in phones[0] if c.isdigit())[-9:] if phones
                  else customer["code"] or customer["email"] or code)
        return CloudEvent(
            id=f"pos_export:{source_id}:{code}",
            source=f"/pos_export/{source_id}",
            type=self.event_type,
            subject=str(sender),
            time=occurred_at,
            hopnhatchannel=self.channel,
            hopnhatreceived=received_at,
            data={"source": source_id, "invoice_code": code, "line": row.line, "customer": customer,
                  "branch": cell_text(invoice.get("branch")) or None, "seller": cell_text(invoice.get("seller")) or None,
                  "status": cell_text(invoice.get("status")) or None,
                  **{f"{k}_vnd": v for k, v in amounts.items()}, "lines": lines},
        )

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        customer = data["customer"]
        total = data.get("total_vnd", data.get("subtotal_vnd"))
        attributes = {k: v for k in ("address", "area") if (v := customer.get(k))}
        if attributes.get("area"):
            attributes["province"] = attributes.pop("area")
        count = len(data.get("lines", []))
        return RawContact(
            channel=self.channel,
            source=f"pos_export:{data['source']}",
            source_record_id=data["invoice_code"],
            occurred_at=event.time,
            received_at=event.hopnhatreceived,
            interaction_kind="order",
            name=customer.get("name"),
            phones=list(customer.get("phones", [])),
            emails=[customer["email"]] if customer.get("email") else [],
            channel_ids=([("pos_customer", f"{data['source']}:{customer['code']}")] if customer.get("code") else []),
            attributes=attributes,
            summary=f"Invoice {data['invoice_code']}: {count} item{'s' if count != 1 else ''}",
            amount_vnd=total,
            payload={k: data.get(k) for k in ("invoice_code", "branch", "seller", "status", "subtotal_vnd",
                                               "discount_vnd", "total_vnd", "paid_vnd", "lines", "line")},
        )
