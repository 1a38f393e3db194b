"""KiotViet, Sapo and Haravan webhooks on the shapes of /work/shared/reference/pos.md: signatures with the
note's test vectors, VND amounts as whole dong, line items kept, the POS customer code as identifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.haravan import HaravanConnector
from connectors.kiotviet import KiotVietConnector
from connectors.pos import vnd
from connectors.sapo import SapoConnector
from resolver.normalise import Rejected, canonical_event
from schema.errors import HandshakeRefused, InvalidSignature, MalformedPayload
from schema.events import CanonicalEvent, CloudEvent

POS = json.loads((Path(__file__).parents[1] / "fixtures" / "pos_webhooks.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 11, 22, 7, 10, tzinfo=UTC)


def wire(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def canonical(connector: Any, event: CloudEvent) -> CanonicalEvent:
    result = canonical_event(connector.extract(event), event.id)
    assert not isinstance(result, Rejected), result
    return result


def idents(result: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type.value, i.value) for i in result.identifiers}


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(1250000, 1250000, id="json-int"),
    pytest.param(1250000.0, 1250000, id="haravan-float-zero-fraction"),
    pytest.param("1250000.00", 1250000, id="shopify-string"),
    pytest.param("240000.0000", 240000, id="haravan-4-decimals-as-text"),
    pytest.param(None, None, id="absent"),
    pytest.param(-100000, -100000, id="refund-negative"),
])
def test_vnd_amounts_are_whole_dong(value: Any, expected: int | None) -> None:
    amount = vnd(value, "total")
    assert amount == expected and (amount is None or type(amount) is int)


@pytest.mark.parametrize("value", [
    pytest.param(1250000.5, id="half-dong"), pytest.param("1.250.000", id="grouped-text-is-not-json-money"),
    pytest.param(True, id="boolean"), pytest.param("một triệu", id="words"), pytest.param([1], id="list"),
    pytest.param("NaN", id="nan"),
])
def test_vnd_refuses_what_is_not_a_whole_amount(value: Any) -> None:
    with pytest.raises(MalformedPayload) as err:
        vnd(value, "line_items[0].price")
    assert err.value.field == "line_items[0].price"


# --- KiotViet -------------------------------------------------------------------------------------------
KV = KiotVietConnector()
KV_SECRET = b"aG9wbmhhdC1rdg=="  # Base64 of "hopnhat-kv", used as text (pos.md §2.4)
KV_VECTOR = b'{"Id":"9f1c","Attempt":1,"Notifications":[]}'
KV_HEX = "76197823b32c0fa820c860606d8ae2a787257ce48cd782f04fab052b2f3d847f"


@pytest.mark.parametrize("header", [
    pytest.param(f"sha1={KV_HEX}", id="sha1-prefix-hex"), pytest.param(f"sha256={KV_HEX}", id="sha256-prefix-hex"),
    pytest.param(KV_HEX.upper(), id="bare-upper-hex"),
    pytest.param(base64.b64encode(bytes.fromhex(KV_HEX)).decode(), id="bare-base64"),
])
def test_kiotviet_signature_forms_of_the_note_vector(header: str) -> None:
    KV.verify({"x-hub-signature": header}, KV_VECTOR, KV_SECRET)


@pytest.mark.parametrize("header", [
    pytest.param("", id="missing"), pytest.param("sha1=" + KV_HEX[:-1] + "0", id="one-digit-off"),
    pytest.param("sha1=" + hmac.new(base64.b64decode(KV_SECRET), KV_VECTOR, hashlib.sha256).hexdigest(),
                 id="keyed-with-decoded-secret"),
])
def test_kiotviet_bad_signatures(header: str) -> None:
    with pytest.raises(InvalidSignature):
        KV.verify({"x-hub-signature": header}, KV_VECTOR, KV_SECRET)


def kv_envelope(*names: str, attempt: int = 1) -> bytes:
    notes = [n for name in names for n in POS[name]["Notifications"]]
    return wire({"Id": POS[names[-1]]["Id"], "Attempt": attempt, "Notifications": notes})


def test_kiotviet_customer_and_invoice_join_on_the_pos_customer_code() -> None:
    events = KV.parse(kv_envelope("kiotviet_customer", "kiotviet_invoice"), "application/json", "lananh-baby", NOW)
    assert [e.id for e in events] == [  # the walk-in sale (khách lẻ) names no customer and is not published
        "kiotviet:lananh-baby:customer:55501234:2026-11-22T14:03:40.1200000",
        "kiotviet:lananh-baby:invoice:90112345:2026-11-22T14:05:12.4370000"]
    assert {KV.kafka_key(e) for e in events} == {"kiotviet:lananh-baby:KH000873"}
    customer, invoice = (canonical(KV, e) for e in events)
    assert idents(customer) == {("pos_customer", "kiotviet:lananh-baby:KH000873"), ("phone", "+84912345678"),
                                ("email", "lananh.do@example.vn")}
    assert idents(invoice) == {("pos_customer", "kiotviet:lananh-baby:KH000873")}  # no phone on an invoice
    assert customer.name is not None and customer.name.value == "Đỗ Thị Lan Anh"
    assert KV.extract(events[0]).address == "25 Trần Thái Tông, Hà Nội - Quận Cầu Giấy"
    assert (invoice.interaction.kind, invoice.interaction.amount_vnd) == ("order", 1250000)
    assert type(invoice.interaction.amount_vnd) is int
    payload = invoice.interaction.payload
    assert [(li["product_name"], li["quantity"], li["price_vnd"]) for li in payload["line_items"]] == [
        ("Sữa bột Friso 900g", 2, 575000), ("Bình sữa Pigeon 240ml", 1, 200000)]
    assert payload["discount_vnd"] == 100000 and payload["payments"][0]["amount_vnd"] == 1250000
    # PurchaseDate has no offset: Vietnam time (pos.md §1)
    assert invoice.occurred_at == datetime(2026, 11, 22, 7, 5, 9, tzinfo=UTC)


def test_kiotviet_ids_survive_a_retry_and_a_new_envelope() -> None:
    first = KV.parse(kv_envelope("kiotviet_invoice"), "application/json", "lananh-baby", NOW)
    retried = KV.parse(kv_envelope("kiotviet_invoice", attempt=3), "application/json", "lananh-baby",
                       NOW + timedelta(minutes=5))
    assert [e.id for e in first] == [e.id for e in retried]


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"RemoveId": [55501234]}, "RemoveId", id="delete-without-type"),
    pytest.param({"Id": "x", "Attempt": 1}, "Notifications", id="no-notifications"),
    pytest.param({"Id": "x", "Notifications": [{"Action": "invoice.update", "Data": [{"Code": "HD1"}]}]},
                 "Notifications[0].Data[0].Id", id="record-without-id"),
    pytest.param({"Id": "x", "Notifications": [{"Action": "invoice.update", "Data": [
        {"Id": 1, "CustomerCode": "KH1", "Total": "1.250.000", "ModifiedDate": "2026-11-22T14:05:12"}]}]},
        "Notifications[0].Data[0].Total", id="amount-as-grouped-text"),
    pytest.param({"Id": "x", "Notifications": [{"Action": "customer.update", "Data": [
        {"Id": 1, "Code": "KH1", "ModifiedDate": "hôm qua"}]}]}, "Notifications[0].Data[0].ModifiedDate",
        id="bad-time"),
])
def test_kiotviet_malformed_names_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedPayload) as err:
        KV.parse(wire(body), "application/json", "lananh-baby", NOW)
    assert err.value.field == field


def test_kiotviet_other_types_carry_no_customer_and_publish_nothing() -> None:
    body = {"Id": "p1", "Attempt": 1, "Notifications": [{"Action": "product.update", "Data": [{"Id": 3005001}]}]}
    assert KV.parse(wire(body), "application/json", "lananh-baby", NOW) == []
    assert KV.dead_letter_malformed  # KiotViet disables the hook after a 4xx


# --- Sapo -----------------------------------------------------------------------------------------------
SAPO = SapoConnector()
SHOPIFY_VECTOR = (b'{"id":1001,"total_price":"1250000.00"}', b"hopnhat-test-secret",
                  "oAZSu31T6YQp1JN5HwFgjgic65o/VJI0UtgXjvglI7Y=")


def test_sapo_and_haravan_verify_the_note_vector_and_refuse_hex() -> None:
    body, secret, digest = SHOPIFY_VECTOR
    SAPO.verify({"x-sapo-hmac-sha256": digest}, body, secret)
    HaravanConnector().verify({"x-haravan-hmacsha256": digest}, body, secret)
    with pytest.raises(InvalidSignature):
        SAPO.verify({"x-sapo-hmac-sha256": base64.b64decode(digest).hex()}, body, secret)
    with pytest.raises(InvalidSignature):
        SAPO.verify({}, body, secret)


def test_sapo_go_order_keeps_line_items_and_links_phone_email_and_customer_code() -> None:
    [event] = SAPO.parse(wire(POS["sapo_order"]), "application/json", "thoitrangbao.mysapogo.com", NOW)
    assert event.id == "sapo:thoitrangbao.mysapogo.com:order:2045118877:2026-11-22T07:06:30Z"
    result = canonical(SAPO, event)
    assert idents(result) == {("pos_customer", "sapo:thoitrangbao.mysapogo.com:CUZN400871"),
                              ("phone", "+84977123456"), ("email", "bao.hoang@example.vn")}
    assert (result.interaction.kind, result.interaction.amount_vnd) == ("order", 890000)
    assert result.interaction.payload["line_items"] == [
        {"sku": "ATN-L-TRANG", "product_name": "Áo thun nam cổ tròn", "quantity": 2, "price_vnd": 445000}]
    assert SAPO.extract(event).address == "88 Lê Lợi, Phường Thạch Thang, Quận Hải Châu, Đà Nẵng"


def test_sapo_customer_update_and_shopify_style_string_money() -> None:
    customer = {"id": 990112233, "code": "CUZN400871", "name": "ANH Hoàng Gia Bảo", "phone_number": "+84 977 123 456",
                "email": "bao.hoang@example.vn", "modified_on": "2026-11-22T07:01:00Z"}
    [event] = SAPO.parse(wire(customer), "application/json", "thoitrangbao.mysapogo.com", NOW)
    result = canonical(SAPO, event)
    assert result.interaction.kind == "customer_update"
    assert ("pos_customer", "sapo:thoitrangbao.mysapogo.com:CUZN400871") in idents(result)
    web = {"id": 5801, "name": "#1042", "created_on": "2026-11-22T07:05:09Z", "modified_on": "2026-11-22T07:05:09Z",
           "total_price": "1250000.00", "customer": {"id": 77, "phone": "0912345678", "first_name": "Quang",
                                                     "last_name": "Trần Minh"},
           "line_items": [{"title": "Cà phê hạt Robusta 1kg", "quantity": 5, "price": "250000.00"}]}
    [order] = SAPO.parse(wire(web), "application/json", "cafe.mysapo.net", NOW)
    result = canonical(SAPO, order)
    assert result.interaction.amount_vnd == 1250000 and result.name and result.name.value == "Trần Minh Quang"
    assert result.interaction.payload["line_items"][0]["price_vnd"] == 250000


@pytest.mark.parametrize(("change", "field"), [
    pytest.param({"id": None}, "id", id="no-id"),
    pytest.param({"modified_on": None, "created_on": None}, "modified_on", id="no-version"),
    pytest.param({"total": 890000.5}, "total", id="half-dong"),
    pytest.param({"customer_data": "Hoàng Gia Bảo"}, "customer_data", id="customer-not-object"),
])
def test_sapo_malformed_is_400_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedPayload) as err:
        SAPO.parse(wire({**POS["sapo_order"], **change}), "application/json", "t", NOW)
    assert err.value.field == field
    assert not SAPO.dead_letter_malformed


# --- Haravan --------------------------------------------------------------------------------------------
HARAVAN = HaravanConnector()


def test_haravan_order_money_as_whole_dong_and_vietnamese_name_order() -> None:
    [event] = HARAVAN.parse(wire(POS["haravan_order"]), "application/json", "200000123456", NOW)
    assert event.id == "haravan:200000123456:order:1071234567:2026-11-22T07:05:09.123Z"
    result = canonical(HARAVAN, event)
    assert idents(result) == {("pos_customer", "haravan:200000123456:1009876543"), ("phone", "+84909876543"),
                              ("email", "minhthu.ngo@example.vn")}
    assert result.name is not None and result.name.value == "Ngô Minh Thư"
    interaction = result.interaction
    assert interaction.amount_vnd == 1250000 and type(interaction.amount_vnd) is int
    assert interaction.payload["line_items"][0]["price_vnd"] == 1220000
    assert interaction.payload["shipping_vnd"] == 30000
    assert interaction.payload["shipping_address"]["phone"] == "+84909876543"  # kept, not an identifier


def test_haravan_pos_order_without_customer_links_by_order_email_only() -> None:
    doc = {**POS["haravan_order"], "customer": None}
    [event] = HARAVAN.parse(wire(doc), "application/json", "200000123456", NOW)
    assert event.subject is None
    assert idents(canonical(HARAVAN, event)) == {("email", "minhthu.ngo@example.vn")}


def test_haravan_handshake() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "hv-tok", "hub.challenge": "8812"}
    assert HARAVAN.handshake(query, "hv-tok") == "8812"
    with pytest.raises(HandshakeRefused):
        HARAVAN.handshake({**query, "hub.verify_token": "x"}, "hv-tok")
