"""KiotViet POS webhooks (customer.update, invoice.update, order.update) -> raw.kiotviet.

Wire format (docs/connectors/kiotviet.md, /work/shared/reference/pos.md §2): one URL per registered
webhook, `POST /webhooks/kiotviet/{retailer}`; the body is a batch envelope
`{"Id", "Attempt", "Notifications": [{"Action": "invoice.update", "Data": [record, ...]}]}`.
`X-Hub-Signature` is an HMAC-SHA256 of the raw body keyed with the secret *text* given at
registration (itself Base64). Its encoding is unverified: `sha1=<hex>` is what public integrations
expect, so `[sha1=|sha256=]<hex|base64>` is accepted and the matching form is logged.

Delivery rule that differs from the default: KiotViet *stops sending to the endpoint* after a 400,
401, 403, 404 or 405. So a malformed delivery is answered 200 and dead-lettered to dlq.ingest
(`dead_letter_malformed`), and only a signature failure is a 401.

One CloudEvent per record; its id is the record's version,
`kiotviet:<retailer>:<type>:<record Id>:<ModifiedDate>`, stable across `Attempt`s and envelopes.
An invoice or order names the buyer only by `CustomerCode`, so the `pos_customer` identifier
`kiotviet:<retailer>:<code>` is what joins it to the customer.update that carries the phone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from connectors.base import Connector, decode_json_object, parse_timestamp, stable_digest
from connectors.pos import items, obj, required_id, source_id_text, text, vnd
from schema.contact import RawContact
from schema.errors import InvalidSignature, MalformedPayload
from schema.events import CloudEvent

log = logging.getLogger(__name__)

# Action prefix -> the record kind we publish; other types (product, stock, pricebook ...) carry no customer.
KINDS = {"customer": "customer", "invoice": "invoice", "order": "order"}
SALE_AMOUNTS = ("Total", "TotalPayment", "Discount")
LINE_AMOUNTS = ("Price", "Discount")


def _signature_forms(secret: bytes, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret, body, hashlib.sha256).digest()
    return {"hex": digest.hex(), "base64": base64.b64encode(digest).decode("ascii")}


def _customer_key(retailer: str, code: str) -> str:
    return f"kiotviet:{retailer}:{code}"


class KiotVietConnector(Connector):
    channel: ClassVar[str] = "kiotviet"
    signature_header: ClassVar[str] = "x-hub-signature"
    dead_letter_malformed: ClassVar[bool] = True  # KiotViet disables the hook after a 4xx
    event_type: ClassVar[str] = "vn.hopnhat.kiotviet.{kind}.updated"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
        given = (headers.get(self.signature_header) or "").strip()
        if not given:
            raise InvalidSignature("X-Hub-Signature missing")
        for prefix in ("sha1=", "sha256="):
            if given.lower().startswith(prefix):
                given = given[len(prefix):]
                break
        for form, expected in _signature_forms(secret, body).items():
            candidate = given.lower() if form == "hex" else given
            if hmac.compare_digest(candidate.encode(), expected.encode()):
                log.debug("kiotviet signature matched as %s", form)
                return
        raise InvalidSignature("X-Hub-Signature does not match the body")

    def parse(self, body: bytes, content_type: str, source_id: str, received_at: datetime) -> list[CloudEvent]:
        doc = decode_json_object(body)
        if "RemoveId" in doc and "Notifications" not in doc:
            # Deletes carry ids only and no type; kept whole in the dead letter rather than guessed at.
            raise MalformedPayload("RemoveId", "delete notification without a type: not mapped to a record")
        delivery_id = source_id_text(doc.get("Id"), "Id")
        notifications = doc.get("Notifications")
        if not isinstance(notifications, list):
            raise MalformedPayload("Notifications", "missing" if notifications is None else "expected a list")
        events: list[CloudEvent] = []
        for n, notification in enumerate(notifications):
            path = f"Notifications[{n}]"
            if not isinstance(notification, Mapping):
                raise MalformedPayload(path, "expected an object")
            action = text(notification.get("Action"), f"{path}.Action")
            if action is None:
                raise MalformedPayload(f"{path}.Action", "missing")
            kind = KINDS.get(action.split(".", 1)[0].lower())  # match by prefix: the exact suffix is unverified
            records = items(notification, "Data", f"{path}.")
            if kind is None:
                continue
            for r, record in enumerate(records):
                event = self._event(kind, record, f"{path}.Data[{r}]", source_id, delivery_id, doc, received_at)
                if event is not None:
                    events.append(event)
        return events

    def _event(self, kind: str, record: Mapping[str, Any], path: str, retailer: str, delivery_id: str | None,
               envelope: Mapping[str, Any], received_at: datetime) -> CloudEvent | None:
        record_id = required_id(record.get("Id"), f"{path}.Id")
        modified = record.get("ModifiedDate") or record.get("CreatedDate")
        occurred = parse_timestamp(modified, f"{path}.ModifiedDate") if modified else received_at
        if kind == "customer":
            code = text(record.get("Code"), f"{path}.Code") or record_id
            for key in ("Name", "ContactNumber", "Email", "subNumber"):
                text(record.get(key), f"{path}.{key}")
        else:
            buyer = text(record.get("CustomerCode"), f"{path}.CustomerCode")
            if buyer is None and record.get("CustomerId") is None:
                return None  # "khách lẻ": a walk-in sale names no customer, so there is no timeline to put it on
            code = buyer or f"id-{required_id(record.get('CustomerId'), f'{path}.CustomerId')}"
            if kind == "invoice" or "PurchaseDate" in record:
                purchase = record.get("PurchaseDate")
                occurred = parse_timestamp(purchase, f"{path}.PurchaseDate") if purchase else occurred
            for key in SALE_AMOUNTS:
                vnd(record.get(key), f"{path}.{key}")
            text(record.get("CustomerName"), f"{path}.CustomerName")
            details = "InvoiceDetails" if kind == "invoice" else "OrderDetails"
            for i, line in enumerate(items(record, details, f"{path}.")):
                for key in LINE_AMOUNTS:
                    vnd(line.get(key), f"{path}.{details}[{i}].{key}")
            for i, payment in enumerate(items(record, "Payments", f"{path}.")):
                vnd(payment.get("Amount"), f"{path}.Payments[{i}].Amount")
            obj(record, "InvoiceDelivery", f"{path}.", required=False)  # extract() reads its fields
        version = str(modified) if modified else stable_digest(dict(record))
        return CloudEvent(
            id=f"kiotviet:{retailer}:{kind}:{record_id}:{version}",
            source=f"/kiotviet/{retailer}",
            type=self.event_type.format(kind=kind),
            subject=_customer_key(retailer, code),
            time=occurred,
            hopnhatchannel=self.channel,
            hopnhatreceived=received_at,
            data={"retailer": retailer, "kind": kind, "delivery_id": delivery_id,
                  "attempt": envelope.get("Attempt"), "record": dict(record)},
        )

    def kafka_key(self, event: CloudEvent) -> str:
        return event.subject or event.id  # the POS customer: its updates and its sales stay in order

    def extract(self, event: CloudEvent) -> RawContact:
        data = event.data
        retailer, kind, record = data["retailer"], data["kind"], data["record"]
        record_id = str(record["Id"])
        contact = RawContact(channel=self.channel, source=f"kiotviet:{retailer}",
                             source_record_id=f"{kind}:{record_id}", occurred_at=event.time,
                             received_at=event.hopnhatreceived, interaction_kind="order",
                             channel_ids=[("pos_customer", event.subject or "")])
        if kind == "customer":
            attributes = {"birth_date": str(record["BirthDate"])} if record.get("BirthDate") else {}
            # LocationName is "province - district" (unverified form); joined after the street for the normaliser.
            contact.address = ", ".join(str(record[k]) for k in ("Address", "wardName", "LocationName")
                                        if record.get(k)) or None
            if isinstance(record.get("Gender"), bool):
                attributes["gender"] = "male" if record["Gender"] else "female"
            contact.interaction_kind = "customer_update"
            contact.name = text(record.get("Name"), "Name")  # checked by parse(): a number becomes its text
            contact.phones = [str(p) for p in (record.get("ContactNumber"), record.get("subNumber")) if p]
            contact.emails = [str(record["Email"])] if record.get("Email") else []
            contact.attributes = attributes
            contact.summary = f"KiotViet customer {record.get('Code') or record_id} updated"
            contact.payload = {"code": record.get("Code"), "comments": record.get("Comments"),
                               "organization": record.get("Organization") or None}
            return contact
        details = "InvoiceDetails" if kind == "invoice" else "OrderDetails"
        lines = [{"product_code": line.get("ProductCode"), "product_name": line.get("ProductName"),
                  "quantity": line.get("Quantity"), "price_vnd": vnd(line.get("Price"), "Price"),
                  "discount_vnd": vnd(line.get("Discount"), "Discount")}
                 for line in record.get(details) or []]
        delivery = record.get("InvoiceDelivery") or {}
        total = vnd(record.get("Total"), "Total")
        code = record.get("Code") or record_id
        label = "invoice" if kind == "invoice" else "order"
        contact.name = text(record.get("CustomerName"), "CustomerName")
        contact.summary = f"KiotViet {label} {code}: {len(lines)} items, {total if total is not None else '?'} VND"
        contact.amount_vnd = total
        contact.payload = {
            "pos": "kiotviet", "document": label, "code": code, "status": record.get("StatusValue"),
            "branch": record.get("BranchName"), "sold_by": record.get("SoldByName"),
            "total_payment_vnd": vnd(record.get("TotalPayment"), "TotalPayment"),
            "discount_vnd": vnd(record.get("Discount"), "Discount"), "line_items": lines,
            "payments": [{"method": p.get("Method"), "amount_vnd": vnd(p.get("Amount"), "Amount"),
                          "status": p.get("StatusValue")} for p in record.get("Payments") or []],
            # The delivery recipient is often someone else: kept, never the buyer's identifier.
            "delivery": {"receiver": delivery.get("Receiver"), "phone": delivery.get("ContactNumber"),
                         "address": delivery.get("Address")} if delivery else None}
        return contact
