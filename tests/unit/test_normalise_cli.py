"""`hopnhat normalise phone|email|name VALUE [--json]` through click's CliRunner."""

import json

import pytest
from click.testing import CliRunner

from hopnhat.cli.main import cli
from hopnhat.cli.normalise import normalise_value

CASES = [
    ("phone-legacy", ["phone", "0168.234.5678"], "+84382345678", "+84382345678", "legacy_11_digit"),
    ("phone-old-landline", ["phone", "(0511) 3812345"], "+842363812345", "+842363812345", "legacy_area_code"),
    ("phone-placeholder", ["phone", "0123456789"], None, None, "placeholder"),
    ("phone-service", ["phone", "1800 1091"], "+8418001091", None, "service_number"),
    ("email-gmail", ["email", "Lan.Nguyen+shop@Gmail.com"], "lan.nguyen+shop@gmail.com", "lannguyen@gmail.com",
     "provider_folded"),
    ("email-typo", ["email", "lan@gmial.com"], "lan@gmial.com", "lan@gmial.com", "domain_typo"),
    ("name-reversed-honorific", ["name", "chị LAN NGUYỄN THỊ"], "Nguyễn Thị Lan", "nguyen thi lan", "reversed_order"),
    ("name-tcvn3", ["name", "NguyÔn V¨n An"], "Nguyễn Văn An", "nguyen van an", "legacy_encoding"),
]


@pytest.mark.parametrize(("args", "normalised", "match_key", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_json_output(args: list[str], normalised: str | None, match_key: str | None, code: str) -> None:
    result = CliRunner().invoke(cli, ["normalise", *args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["raw"] == args[1]
    assert (data["normalised"], data["match_key"]) == (normalised, match_key)
    flag = next(f for f in data["flags"] if f["code"] == code)
    assert flag["reason"]


@pytest.mark.parametrize(("args", "normalised", "match_key", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_text_output_shows_raw_normalised_key_and_every_flag_with_reason(args: list[str], normalised: str | None,
                                                                         match_key: str | None, code: str) -> None:
    result = CliRunner().invoke(cli, ["normalise", *args])
    assert result.exit_code == 0, result.output
    assert f"raw:         {args[1]}" in result.output
    assert (normalised or "(none)") in result.output and (match_key or "(none)") in result.output
    data = normalise_value(field=args[0], value=args[1])
    for flag in data["flags"]:
        assert f"{flag['code']}: {flag['reason']}" in result.output


def test_multi_number_field_lists_every_number() -> None:
    result = CliRunner().invoke(cli, ["normalise", "phone", "0912345678 hoặc 01662345678", "--json"])
    data = json.loads(result.output)
    assert [p["normalised"] for p in data["parts"]] == ["+84912345678", "+84362345678"]
    assert data["flags"][0]["code"] == "multiple_numbers"


def test_name_parts_are_in_the_json() -> None:
    data = normalise_value(field="name", value="Hùng Trần 1990")
    assert (data["family"], data["given"], data["extra"]) == ("Trần", "Hùng", ["1990"])


def test_unknown_field_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["normalise", "fax", "123"])
    assert result.exit_code == 2 and "fax" in result.output


ADDRESSES = [
    ("hcmc-abbreviated", "123 Lê Lợi, P. Bến Thành, Q.1, TP.HCM", "79"),  # GSO province codes
    ("hanoi", "số 5 ngõ 10 Láng Hạ, Đống Đa, Hà Nội", "01"),
]


@pytest.mark.parametrize(("raw", "province_code"), [c[1:] for c in ADDRESSES], ids=[c[0] for c in ADDRESSES])
def test_address_json_has_the_province(raw: str, province_code: str) -> None:
    result = CliRunner().invoke(cli, ["normalise", "address", raw, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"raw", "normalised", "match_key", "flags", "province_code", "province_name"} <= set(data)
    assert data["raw"] == raw and data["province_code"] == province_code and data["province_name"]
    assert all(set(f) == {"code", "reason"} for f in data["flags"])
