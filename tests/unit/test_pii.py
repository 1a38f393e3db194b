"""Masking of PII: one look for a phone, an email, a national id, an address, a birth date everywhere."""

import pytest

from hopnhat.pii import (
    mask_address,
    mask_birth_date,
    mask_email,
    mask_identifier,
    mask_national_id,
    mask_payload,
    mask_phone,
    mask_profile,
    redact_text,
)


@pytest.mark.parametrize(("value", "masked"), [
    pytest.param("+84912345678", "+84 91* *** 678", id="e164-mobile"),
    pytest.param("+84 912 345 678", "+84 91* *** 678", id="e164-spaced"),
    pytest.param("84912345678", "+84 91* *** 678", id="84-no-plus"),
    pytest.param("0912.345.678", "091* *** 678", id="local-dotted"),
    pytest.param("02838221234", "028* *** 234", id="hcm-landline-11"),
    pytest.param("+84 28 3822 1234", "+84 28* *** 234", id="e164-landline"),
    pytest.param("+6591234567", "+*******567", id="singapore"),
    pytest.param("1900", "***", id="too-short"),
])
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(("value", "masked"), [
    pytest.param("nguyen.lan@gmail.com", "n***@gmail.com", id="gmail"),
    pytest.param("Thao.Dang+shop@Yahoo.com.vn", "T***@Yahoo.com.vn", id="plus-tag-vn-domain"),
    pytest.param("a@b.vn", "a***@b.vn", id="one-letter"),
    pytest.param("không có", "***", id="not-an-email"),
])
def test_mask_email(value: str, masked: str) -> None:
    assert mask_email(value) == masked


@pytest.mark.parametrize(("mask", "value", "masked"), [
    pytest.param(mask_national_id, "079190001234", "079*******34", id="cccd-12"),
    pytest.param(mask_national_id, "025 123 456", "025****56", id="cmnd-9-spaced"),
    pytest.param(mask_address, "12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh", "***, TP. Hồ Chí Minh",
                 id="address-keeps-province"),
    pytest.param(mask_address, "Hẻm 51 Trần Phú", "***", id="address-one-part"),
    pytest.param(mask_birth_date, "1990-05-17", "1990-**-**", id="iso-date"),
    pytest.param(mask_birth_date, "17/05/1990", "1990-**-**", id="vn-date"),
    pytest.param(mask_birth_date, "hôm qua", "***", id="no-year"),
    pytest.param(mask_identifier, "phone:+84912345678", "phone:+84 91* *** 678", id="typed-phone"),
    pytest.param(mask_identifier, "email:lan@gmail.com", "email:l***@gmail.com", id="typed-email"),
    pytest.param(mask_identifier, "zalo:4321987654321", "zalo:4321987654321", id="channel-id-kept"),
])
def test_mask_other_kinds(mask, value: str, masked: str) -> None:
    assert mask(value) == masked


@pytest.mark.parametrize(("text", "redacted"), [
    pytest.param("Chị Lan gọi lại số 0912.345.678 nhé", "Chị Lan gọi lại số 091* *** 678 nhé", id="phone-in-sentence"),
    pytest.param("contact +84912345678 / lan.nguyen@gmail.com", "contact +84 91* *** 678 / l***@gmail.com",
                 id="phone-and-email"),
    pytest.param("CCCD 079190001234 của khách", "CCCD 079*******34 của khách", id="cccd"),
    pytest.param("Đơn hàng HD001234 tổng 1250000 VND", "Đơn hàng HD001234 tổng 1250000 VND", id="order-untouched"),
    pytest.param("event 2026-11-20T02:00:00Z offset 912345678", "event 2026-11-20T02:00:00Z offset 912345678",
                 id="offset-untouched"),
])
def test_redact_text(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted


def test_mask_payload_by_key_and_in_free_text() -> None:
    payload = {"form": {"ho_ten": "Nguyễn Thị Lan", "so_dien_thoai": "0912345678", "Email": "lan@gmail.com",
                        "dia_chi": "12 Lê Lợi, Quận 1, TP.HCM", "ngay_sinh": "17/05/1990"},
               "message": {"text": "Em ơi số mới của chị là 0987 654 321"},
               "call": {"from_number": 84912345678, "duration_s": 95},
               "lines": [{"sku": "AO-123", "qty": 2}]}
    masked = mask_payload(payload)
    assert masked["form"] == {"ho_ten": "Nguyễn Thị Lan", "so_dien_thoai": "091* *** 678", "Email": "l***@gmail.com",
                              "dia_chi": "***, TP.HCM", "ngay_sinh": "1990-**-**"}
    assert masked["message"]["text"] == "Em ơi số mới của chị là 098* *** 321"
    assert masked["call"] == {"from_number": "+84 91* *** 678", "duration_s": 95}
    assert masked["lines"] == payload["lines"]


def test_mask_profile_keeps_names_and_provenance() -> None:
    value = {"sources": ["webform:lien-he"], "first_seen": "2026-11-20T02:00:00Z", "last_seen": "2026-11-20T02:00:00Z"}
    profile = {"customer_id": "c1", "full_name": "Đặng Thu Thảo",
               "phones": [{"value": "+84912345678", **value}], "emails": [{"value": "thao.dang@gmail.com", **value}],
               "addresses": [{"value": "5 Trần Phú, Hà Đông, Hà Nội", **value}],
               "identifiers": ["phone:+84912345678", "email:thao.dang@gmail.com", "zalo:99887766"]}
    masked = mask_profile(profile)
    assert masked["full_name"] == "Đặng Thu Thảo"
    assert [p["value"] for p in masked["phones"]] == ["+84 91* *** 678"]
    assert masked["phones"][0]["sources"] == ["webform:lien-he"]
    assert [e["value"] for e in masked["emails"]] == ["t***@gmail.com"]
    assert [a["value"] for a in masked["addresses"]] == ["***, Hà Nội"]
    assert masked["identifiers"] == ["phone:+84 91* *** 678", "email:t***@gmail.com", "zalo:99887766"]
    assert profile["phones"][0]["value"] == "+84912345678"  # the input is not modified
