import pytest

from resolver.phone import normalise_phone

# Cases from ../shared/reference/vn_phone.md sections 6 and 8 (measured with phonenumbers 9.0.43).
VALID = [
    ("dotted", "0912.345.678", "+84912345678", "mobile"),
    ("spaces", "0912 345 678", "+84912345678", "mobile"),
    ("dashes", "0912-345-678", "+84912345678", "mobile"),
    ("plus84-brackets", "(+84) 912-345-678", "+84912345678", "mobile"),
    ("plus84-spaces", "+84 912 345 678", "+84912345678", "mobile"),
    ("84-no-plus", "84912345678", "+84912345678", "mobile"),
    ("0084", "0084912345678", "+84912345678", "mobile"),
    ("plus84-trunk-zero", "+84 (0) 912 345 678", "+84912345678", "mobile"),
    ("lost-leading-zero", "912345678", "+84912345678", "mobile"),
    ("spreadsheet-dot-zero", "912345678.0", "+84912345678", "mobile"),
    ("fullwidth-digits", "０９１２３４５６７８", "+84912345678", "mobile"),
    ("words-before", "SĐT: 0912.345.678", "+84912345678", "mobile"),
    ("words-after", "0912345678 (Lan)", "+84912345678", "mobile"),
    ("viettel-new-prefix", "0386123456", "+84386123456", "mobile"),
    ("hanoi-landline", "024 3812 3456", "+842438123456", "landline"),
    ("hcmc-landline", "0283 812 3456", "+842838123456", "landline"),
    ("toll-free", "1800 1091", "+8418001091", "service"),
    ("foreign-us", "+1 650 253 0000", "+16502530000", "foreign"),
]


@pytest.mark.parametrize(("raw", "e164", "kind"), [c[1:] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_numbers_normalise_to_e164(raw: str, e164: str, kind: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind) == (e164, kind)


LEGACY = [
    ("legacy-viettel-0166", "01662345678", "+84362345678", "+841662345678"),
    ("legacy-viettel-0168-dots", "0168.234.5678", "+84382345678", "+841682345678"),
    ("legacy-gmobile-0199", "0199 123 4567", "+84591234567", "+841991234567"),
    ("legacy-vietnamobile-0186", "01861234567", "+84561234567", "+841861234567"),
    ("legacy-mobifone-0121-lost-zero", "1212345678", "+84792345678", "+841212345678"),
    ("legacy-plus84", "+841662345678", "+84362345678", "+841662345678"),
]


@pytest.mark.parametrize(("raw", "e164", "alias"), [c[1:] for c in LEGACY], ids=[c[0] for c in LEGACY])
def test_legacy_11_digit_mobiles_convert_and_keep_alias(raw: str, e164: str, alias: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.legacy_alias) == (e164, alias)
    assert "legacy_11_digit" in result.flags


def test_new_ten_digit_0121_is_not_treated_as_legacy() -> None:
    # 0121 0xx xxx is a *new* 10-digit range (vn_phone.md section 2): no rewrite, no alias.
    assert normalise_phone("0121012345").legacy_alias is None


INVALID = [
    ("placeholder-zeros", "0000000000", "placeholder"),
    ("placeholder-sequence", "0123456789", "placeholder"),
    ("none-vietnamese", "không có", "no-digits"),
    ("empty", "", "no-digits"),
    ("scientific-float", "9.12345678E+08", "spreadsheet-float"),
    ("old-hanoi-landline", "0438123456", "unassigned-prefix"),
]


@pytest.mark.parametrize(("raw", "reason"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_numbers_say_why(raw: str, reason: str) -> None:
    result = normalise_phone(raw)
    assert result.e164 is None
    assert result.reason == reason
