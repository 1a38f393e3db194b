"""Haravan webhooks (`orders/create|updated|paid`, `customers/create|update`) -> raw.haravan.

Wire format (docs/connectors/haravan.md, /work/shared/reference/pos.md §4): `POST /webhooks/haravan/{org_id}`
with the order or customer object as the JSON body, `X-Haravan-Topic`, `X-Haravan-Org-Id`, and
`X-Haravan-Hmacsha256 = base64(HMAC-SHA256(app client secret or private-webhook secret, raw body))`.
App webhooks first verify the callback URL with a GET `hub.mode/hub.verify_token/hub.challenge`,
answered by `handshake()` like Meta's.

Money arrives as JSON numbers with a zero fraction (`1250000.0`, `240000.0000`) and is stored as
whole dong. Event id: `haravan:<org>:<order|customer>:<id>:<updated_at>`. The `pos_customer`
identifier is `haravan:<org>:<customer.id>`; orders from Haravan POS may have no customer, and then
the order's email (if any) is the only link. Malformed bodies are answered 400 (the default).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from connectors.base import Connector, decode_json_object, parse_timestamp
from connectors.pos import (items, obj, required_id, source_id_text, text,
                           verify_base64_hmac_sha256, vnd)
from schema.contact import RawContact
from schema.errors import HandshakeRefused, MalformedPayload
from schema.events import CloudEvent

ORDER_MARKERS = ("line_items", "order_number", "financial_status")
ORDER_AMOUNTS = ("total_price", "subtotal_price", "total_discounts")


def _full_name(person: Mapping[str, Any]) -> str | None:
    """Haravan splits names Western-style; a whole name can sit in first_name (`last_name: null`)."""
    parts = [person.get("last_name"), person.get("first_name")]
    return " ".join(str(p).strip() for p in parts if p) or (str(person["name"]) if person.get("name") else None)


class HaravanConnector(Connector):
    channel: ClassVar[str] = "haravan"
    signature_header: ClassVar[str] = "x-haravan-hmacsha256"
    event_type: ClassVar[str] = "vn.hopnhat.haravan.{kind}.updated"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        verify_base64_hmac_sha256(headers.get(self.signature_header), secret, body)

    def handshake(self, query: Mapping[str, str], verify_token: str) -> str:
        """Haravan's GET check of an app's callback URL (same `hub.*` names as Meta's)."""
        if query.get("hub.mode") != "subscribe":
            raise HandshakeRefused("hub.mode must be subscribe")
        if not hmac.compare_digest(query.get("hub.verify_token", "").encode(), verify_token.encode()):
            raise HandshakeRefused("hub.verify_token does not match")
        challenge = query.get("hub.challenge")
        if not challenge:
            raise MalformedPayload("hub.challenge", "missing")
        return challenge

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        doc = decode_json_object(body)
        record_id = required_id(doc.get("id"), "id")
        kind = "order" if any(k in doc for k in ORDER_MARKERS) else "customer"
        version = doc.get("updated_at") or doc.get("created_at")
        if version is None:
            raise MalformedPayload("updated_at", "missing: it is the version that makes the event id stable")
        occurred = parse_timestamp(version, "updated_at")
        customer: Mapping[str, Any] | None = doc
        prefix = ""
        if kind == "order":
            customer, prefix = obj(doc, "customer", "", required=False), "customer."
            if doc.get("created_at"):
                occurred = parse_timestamp(doc["created_at"], "created_at")
            for key in ORDER_AMOUNTS:
                vnd(doc.get(key), key)
            for i, line in enumerate(items(doc, "line_items", "")):
                vnd(line.get("price"), f"line_items[{i}].price")
            for i, line in enumerate(items(doc, "shipping_lines", "")):
                vnd(line.get("price"), f"shipping_lines[{i}].price")
            text(doc.get("email"), "email")
            obj(doc, "shipping_address", "", required=False)  # extract() reads its fields
        customer_id = None
        if customer is not None:
            for field in ("first_name", "last_name", "phone", "email"):
                text(customer.get(field), f"{prefix}{field}")
            obj(customer, "default_address", prefix, required=False)
            customer_id = source_id_text(customer.get("id"), f"{prefix}id", required=kind == "customer")
        return [CloudEvent(
            id=f"haravan:{source_id}:{kind}:{record_id}:{version}",
            source=f"/haravan/{source_id}",
            type=self.event_type.format(kind=kind),
            subject=f"haravan:{source_id}:{customer_id}" if customer_id else None,
            time=occurred,
            hopnhatchannel=self.channel,
            hopnhatreceived=received_at,
            data={"org": source_id, "kind": kind, "record": doc},
        )]

    def kafka_key(self, event: CloudEvent) -> str:
        return event.subject or event.id

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        org, kind, doc = data["org"], data["kind"], data["record"]
        customer = (doc.get("customer") or {}) if kind == "order" else doc
        emails = [str(e) for e in (customer.get("email"), doc.get("email") if kind == "order" else None) if e]
        address = customer.get("default_address") or {}
        contact = RawContact(
            channel=self.channel, source=f"haravan:{org}", source_record_id=f"{kind}:{doc['id']}",
            occurred_at=event.time, received_at=event.hopnhatreceived,
            interaction_kind="order" if kind == "order" else "customer_update",
            name=_full_name(customer), phones=[str(customer["phone"])] if customer.get("phone") else [],
            emails=list(dict.fromkeys(emails)),
            channel_ids=[("pos_customer", event.subject)] if event.subject else [],
            address=", ".join(str(address[k]) for k in ("address1", "ward", "district", "province")
                              if address.get(k)) or None,
        )
        if kind == "customer":
            contact.summary = f"Haravan customer {doc['id']} updated"
            return contact
        total = vnd(doc.get("total_price"), "total_price")
        shipping = doc.get("shipping_address") or {}
        contact.amount_vnd = total
        lines = doc.get("line_items") or []
        contact.summary = (f"Haravan order {doc.get('name') or doc['id']}: {len(lines)} items, "
                           f"{total if total is not None else '?'} VND")
        contact.payload = {
            "pos": "haravan", "code": doc.get("name") or doc.get("order_number"),
            "financial_status": doc.get("financial_status"), "fulfillment_status": doc.get("fulfillment_status"),
            "gateway": doc.get("gateway"), "discount_vnd": vnd(doc.get("total_discounts"), "total_discounts"),
            "line_items": [{"sku": line.get("sku"), "title": line.get("title"),
                            "variant_title": line.get("variant_title"), "quantity": line.get("quantity"),
                            "price_vnd": vnd(line.get("price"), "price")} for line in lines],
            "shipping_vnd": sum(vnd(s.get("price"), "price") or 0 for s in doc.get("shipping_lines") or []),
            # The recipient may be someone else: kept with the order, never made the buyer's identifier.
            "shipping_address": {k: shipping.get(k) for k in ("name", "phone", "address1", "ward", "district",
                                                              "province")} if shipping else None,
        }
        return contact
