"""Sapo webhooks (Sapo GO / POS `orders/update`, `customers/update`; Sapo Web's Shopify-like orders) -> raw.sapo.

Wire format (docs/connectors/sapo.md, /work/shared/reference/pos.md §3): `POST /webhooks/sapo/{tenant}`
with the order or customer object as the JSON body, `X-Sapo-Topic`, `X-Sapo-Tenant-Domain`,
`X-Sapo-Object-Id`, and `X-Sapo-Hmac-Sha256 = base64(HMAC-SHA256(secret, raw body))`.

The body says what it is: an order carries `customer_data` / `customer` and line items, a customer
does not. Event id: `sapo:<tenant>:<order|customer>:<id>:<modified_on>` (no delivery id header is
known; the object's id and modification time are stable across redeliveries). Sapo GO spells
topics `orders/update`, Shopify `orders/updated`, so nothing here depends on the topic text.
Malformed bodies are answered 400 (the default): the note records no rule that disables a hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from connectors.base import Connector, decode_json_object, parse_timestamp
from connectors.pos import (items, obj, required_id, source_id_text, text,
                           verify_base64_hmac_sha256, vnd)
from schema.contact import RawContact
from schema.errors import MalformedPayload
from schema.events import CloudEvent

ORDER_MARKERS = ("customer_data", "customer_id", "order_line_items", "line_items")


def _customer_of(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Sapo GO embeds `customer_data`; Sapo Web (Shopify-like) embeds `customer`."""
    return obj(doc, "customer_data", "", required=False) or obj(doc, "customer", "", required=False)


def _lines(doc: Mapping[str, Any]) -> tuple[str, list[Mapping[str, Any]]]:
    key = "order_line_items" if "order_line_items" in doc else "line_items"
    return key, items(doc, key, "")


def _full_name(customer: Mapping[str, Any]) -> str | None:
    if customer.get("name"):
        return str(customer["name"])
    parts = [customer.get("last_name"), customer.get("first_name")]  # Vietnamese order: family name first
    return " ".join(str(p).strip() for p in parts if p) or None


class SapoConnector(Connector):
    channel: ClassVar[str] = "sapo"
    signature_header: ClassVar[str] = "x-sapo-hmac-sha256"
    event_type: ClassVar[str] = "vn.hopnhat.sapo.{kind}.updated"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        verify_base64_hmac_sha256(headers.get(self.signature_header), secret, body)

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        doc = decode_json_object(body)
        record_id = required_id(doc.get("id"), "id")
        kind = "order" if any(k in doc for k in ORDER_MARKERS) else "customer"
        modified = doc.get("modified_on") or doc.get("updated_at") or doc.get("created_on")
        if modified is None:
            raise MalformedPayload("modified_on", "missing: it is the version that makes the event id stable")
        occurred = parse_timestamp(modified, "modified_on")
        if kind == "order":
            customer = _customer_of(doc)
            issued = doc.get("issued_on") or doc.get("created_on") or doc.get("created_at")
            occurred = parse_timestamp(issued, "issued_on") if issued else occurred
            for key in ("total", "total_price", "total_discounts"):
                vnd(doc.get(key), key)
            key, lines = _lines(doc)
            for i, line in enumerate(lines):
                vnd(line.get("price"), f"{key}[{i}].price")
            prefix = "customer_data." if "customer_data" in doc else "customer."
        else:
            customer, prefix = doc, ""
        code = None
        if customer is not None:
            for field in ("name", "phone_number", "phone", "email"):
                text(customer.get(field), f"{prefix}{field}")
            if not isinstance(customer.get("addresses") or [], list):  # extract() reads addresses[0]
                raise MalformedPayload(f"{prefix}addresses", "expected a list")
            code = text(customer.get("code"), f"{prefix}code") or source_id_text(
                customer.get("id"), f"{prefix}id", required=False)
        if code is None and kind == "order":
            code = source_id_text(doc.get("customer_id"), "customer_id", required=False)
        subject = f"sapo:{source_id}:{code}" if code else None
        return [CloudEvent(
            id=f"sapo:{source_id}:{kind}:{record_id}:{modified}",
            source=f"/sapo/{source_id}",
            type=self.event_type.format(kind=kind),
            subject=subject,
            time=occurred,
            hopnhatchannel=self.channel,
            hopnhatreceived=received_at,
            data={"tenant": source_id, "kind": kind, "record": doc},
        )]

    def kafka_key(self, event: CloudEvent) -> str:
        return event.subject or event.id

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        tenant, kind, doc = data["tenant"], data["kind"], data["record"]
        customer = (doc.get("customer_data") or doc.get("customer") or {}) if kind == "order" else doc
        addresses = customer.get("addresses") or []
        address = addresses[0] if addresses and isinstance(addresses[0], Mapping) else {}
        attributes = {"birth_date": str(customer["dob"])} if customer.get("dob") else {}
        phones = [str(p) for p in (customer.get("phone_number"), customer.get("phone")) if p]
        emails = [str(e) for e in (customer.get("email"), doc.get("email") if kind == "order" else None) if e]
        contact = RawContact(
            channel=self.channel, source=f"sapo:{tenant}", source_record_id=f"{kind}:{doc['id']}",
            occurred_at=event.time, received_at=event.hopnhatreceived,
            interaction_kind="order" if kind == "order" else "customer_update",
            name=_full_name(customer), phones=phones, emails=list(dict.fromkeys(emails)),
            channel_ids=[("pos_customer", event.subject)] if event.subject else [], attributes=attributes,
            address=", ".join(str(address[k]) for k in ("address1", "ward", "district", "city") if address.get(k))
            or None,
        )
        if kind == "customer":
            contact.summary = f"Sapo customer {customer.get('code') or doc['id']} updated"
            contact.payload = {"code": customer.get("code"), "group": customer.get("group_name")}
            return contact
        _, lines = _lines(doc)
        total = vnd(doc.get("total"), "total") if "total" in doc else vnd(doc.get("total_price"), "total_price")
        code = doc.get("code") or doc.get("name") or doc["id"]
        contact.amount_vnd = total
        contact.summary = f"Sapo order {code}: {len(lines)} items, {total if total is not None else '?'} VND"
        contact.payload = {
            "pos": "sapo", "code": code, "status": doc.get("status"), "location_id": doc.get("location_id"),
            "line_items": [{"sku": line.get("sku"), "product_name": line.get("product_name") or line.get("title"),
                            "quantity": line.get("quantity"), "price_vnd": vnd(line.get("price"), "price")}
                           for line in lines]}
        return contact
