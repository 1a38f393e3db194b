import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.phone import (
    LEGACY_AREA_CODE,
    PhoneResult,
    _is_simple,
    _normalise_messy,
    _normalise_simple,
    _plain_vn_mobile,
    normalise_phone,
    normalise_phone_field,
    split_phone_field,
)

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
    assert "legacy_11_digit" in result.flag_codes


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


# ---------------------------------------------------------------------------------------------
# Every current mobile prefix (vn_phone.md section 2) in the ways people write numbers (section 7).
# Expected values are built from the prefix table, not from the normaliser.
MOBILE_PREFIXES = {
    "viettel": ["032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098"],
    "vinaphone": ["081", "082", "083", "084", "085", "088", "091", "094"],
    "mobifone": ["070", "076", "077", "078", "079", "0896", "090", "093"],
    "vietnamobile": ["0522", "056", "058", "092"],
    "gmobile": ["059", "0993"],
    "itelecom": ["087"],
    "wintel": ["0559"],
}
SUBSCRIBER = "2468135790"


def _number(prefix: str) -> str:
    return prefix + SUBSCRIBER[: 10 - len(prefix)]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


WRITINGS = {
    "plain": lambda n: n,
    "dots-4-3-3": lambda n: f"{n[:4]}.{n[4:7]}.{n[7:]}",
    "spaces-4-3-3": lambda n: f"{n[:4]} {n[4:7]} {n[7:]}",
    "dashes-4-3-3": lambda n: f"{n[:4]}-{n[4:7]}-{n[7:]}",
    "dots-3-3-4": lambda n: f"{n[:3]}.{n[3:6]}.{n[6:]}",
    "pairs": lambda n: f"{n[:4]} {n[4:6]} {n[6:8]} {n[8:]}",
    "plus84": lambda n: f"+84{n[1:]}",
    "plus84-spaces": lambda n: f"+84 {n[1:4]} {n[4:7]} {n[7:]}",
    "plus84-brackets": lambda n: f"(+84) {n[1:4]}-{n[4:7]}-{n[7:]}",
    "plus84-trunk-zero": lambda n: f"+84 (0) {n[1:4]} {n[4:7]} {n[7:]}",
    "plus840": lambda n: f"+840{n[1:]}",
    "84-no-plus": lambda n: f"84{n[1:]}",
    "84-dashes": lambda n: f"84-{n[1:4]}-{n[4:7]}-{n[7:]}",
    "0084": lambda n: f"0084{n[1:]}",
    "lost-zero": lambda n: n[1:],
    "spreadsheet-dot-zero": lambda n: f"{n[1:]}.0",
    "fullwidth": lambda n: _fullwidth(n),
    "sdt-label": lambda n: f"SĐT: {n}",
    "zalo-label": lambda n: f"Zalo: {n[:4]}.{n[4:7]}.{n[7:]}",
    "dt-label": lambda n: f"ĐT {n}",
    "tel-uri": lambda n: f"tel:+84-{n[1:4]}-{n[4:7]}-{n[7:]}",
    "name-after": lambda n: f"{n} (Lan)",
    "zalo-after": lambda n: f"{n} zalo",
    "nbsp": lambda n: f"{n[:4]}\u00a0{n[4:7]}\u00a0{n[7:]}",
    "padded": lambda n: f"  {n}  ",
}
MOBILE_CASES = [
    pytest.param(writing(_number(prefix)), "+84" + _number(prefix)[1:], id=f"{operator}-{prefix}-{name}")
    for operator, prefixes in MOBILE_PREFIXES.items() for prefix in prefixes for name, writing in WRITINGS.items()
]


@pytest.mark.parametrize(("raw", "e164"), MOBILE_CASES)
def test_every_mobile_prefix_in_every_local_format(raw: str, e164: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind, result.reason) == (e164, "mobile", None)
    assert result.raw == raw


# Decision 798/QĐ-BTTTT: all 21 old prefixes (section 3), last seven digits unchanged.
LEGACY_MAP = {"0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078", "0123": "083",
              "0124": "084", "0125": "085", "0127": "081", "0129": "082", "0162": "032", "0163": "033",
              "0164": "034", "0165": "035", "0166": "036", "0167": "037", "0168": "038", "0169": "039",
              "0186": "056", "0188": "058", "0199": "059"}
LEGACY_WRITINGS = {
    "plain": lambda n: n,
    "dots-4-3-4": lambda n: f"{n[:4]}.{n[4:7]}.{n[7:]}",
    "spaces-4-3-4": lambda n: f"{n[:4]} {n[4:7]} {n[7:]}",
    "plus84": lambda n: f"+84 {n[1:4]} {n[4:7]} {n[7:]}",
    "84-no-plus": lambda n: f"84{n[1:]}",
    "lost-zero": lambda n: n[1:],
    "0084": lambda n: f"0084{n[1:]}",
    "label": lambda n: f"SĐT cũ: {n}",
}
LEGACY_CASES = [
    pytest.param(writing(old + "2468135"), "+84" + new[1:] + "2468135", "+84" + old[1:] + "2468135",
                 id=f"legacy-{old}-{name}")
    for old, new in LEGACY_MAP.items() for name, writing in LEGACY_WRITINGS.items()
]


@pytest.mark.parametrize(("raw", "e164", "alias"), LEGACY_CASES)
def test_every_legacy_prefix_converts_with_alias_and_reason(raw: str, e164: str, alias: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.legacy_alias, result.kind) == (e164, alias, "mobile")
    flag = next(f for f in result.flags if f.code == "legacy_11_digit")
    assert "798" in flag.reason and ("0" + alias[3:6]) in flag.reason


@pytest.mark.parametrize("raw", ["0160234567", "0140123456", "0121012345", "0121312345"],
                         ids=["new-0160", "new-0140", "new-0121-0", "new-0121-3"])
def test_ten_digit_numbers_on_reused_prefixes_are_not_legacy(raw: str) -> None:
    result = normalise_phone(raw)
    assert result.legacy_alias is None and "legacy_11_digit" not in result.flag_codes


# Landlines after the 2017 change (section 4): new code + subscriber, every province code.
NEW_AREA_CODES = sorted(set(LEGACY_AREA_CODE.values()) | {"210", "211", "218", "219"})
LANDLINE_CASES = [
    pytest.param(writing, "+84" + code + ("38123456" if len(code) == 2 else "3812345"), id=f"landline-0{code}-{name}")
    for code in NEW_AREA_CODES
    for name, writing in {
        "plain": "0" + code + ("38123456" if len(code) == 2 else "3812345"),
        "bracketed": f"(0{code}) " + ("3812 3456" if len(code) == 2 else "381 2345"),
        "dotted": f"0{code}." + ("3812.3456" if len(code) == 2 else "3812345"),
        "plus84": f"+84 {code} " + ("3812 3456" if len(code) == 2 else "381 2345"),
    }.items()
]


@pytest.mark.parametrize(("raw", "e164"), LANDLINE_CASES)
def test_landlines_of_every_province(raw: str, e164: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind) == (e164, "landline")
    assert "legacy_area_code" not in result.flag_codes


# Pre-2017 landlines with a 3-digit old code are 11 digits: unambiguous, always rewritten (section 8 step 9).
OLD_3_DIGIT = {"0240": "0204", "0280": "0208", "0281": "0209", "0231": "0213", "0230": "0215", "0320": "0220",
               "0321": "0221", "0241": "0222", "0351": "0226", "0350": "0228", "0510": "0235", "0511": "0236",
               "0501": "0261", "0500": "0262", "0651": "0271", "0650": "0274", "0780": "0290", "0781": "0291",
               "0710": "0292", "0711": "0293"}
OLD_LANDLINE_CASES = [
    pytest.param(writing, "+84" + new[1:] + "3812345", id=f"old-{old}-{name}")
    for old, new in OLD_3_DIGIT.items()
    for name, writing in {"spaced": f"{old} 3812345", "bracketed": f"({old}) 3812345", "plain": f"{old}3812345",
                          "dotted": f"{old}.381.2345", "plus84": f"+84 {old[1:]} 3812345"}.items()
]


@pytest.mark.parametrize(("raw", "e164"), OLD_LANDLINE_CASES)
def test_old_three_digit_area_codes_are_rewritten(raw: str, e164: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind) == (e164, "landline")
    flag = next(f for f in result.flags if f.code == "legacy_area_code")
    assert "2036" in flag.reason


# Old 1-2 digit codes only with landline evidence: the code in brackets.
BRACKETED_OLD = [
    ("hcmc-08", "(08) 3812 3456", "+842838123456"), ("hanoi-04", "(04) 3812 3456", "+842438123456"),
    ("hanoi-04-dots", "(04).3812.3456", "+842438123456"), ("haiphong-031", "(031) 3812345", "+842253812345"),
    ("vungtau-064", "(064) 3812345", "+842543812345"), ("nhatrang-058", "(058) 3812345", "+842583812345"),
    ("dongnai-061", "(061) 3812345", "+842513812345"), ("hue-054", "(054) 3812345", "+842343812345"),
    ("quangninh-033", "(033) 3812345", "+842033812345"), ("thanhhoa-037", "(037) 3812345", "+842373812345"),
    ("nghean-038", "(038) 3812345", "+842383812345"), ("angiang-076", "(076) 3812345", "+842963812345"),
    ("dalat-063", "(063) 3812345", "+842633812345"), ("laocai-020", "(020) 3812345", "+842143812345"),
]


@pytest.mark.parametrize(("raw", "e164"), [c[1:] for c in BRACKETED_OLD], ids=[c[0] for c in BRACKETED_OLD])
def test_bracketed_old_two_digit_codes_are_rewritten(raw: str, e164: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind) == (e164, "landline")
    assert "legacy_area_code" in result.flag_codes


def test_unbracketed_old_hcmc_landline_is_left_as_the_mobile_it_now_is() -> None:
    # 08 3812 3456 is a valid VinaPhone mobile today (section 4): no evidence, no rewrite.
    result = normalise_phone("0838123456")
    assert (result.e164, result.kind) == ("+84838123456", "mobile")


def test_unbracketed_old_hanoi_landline_is_invalid_with_a_hint() -> None:
    result = normalise_phone("0438123456")
    assert result.e164 is None and result.reason == "unassigned-prefix"
    assert "024" in next(f for f in result.flags if f.code == "possible_legacy_area_code").reason


JUNK = [
    ("zeros-10", "0000000000", "placeholder"), ("zeros-11", "00000000000", "placeholder"),
    ("ones", "1111111111", "placeholder"), ("nines", "0999999999", "placeholder"),
    ("eights", "0888888888", "placeholder"), ("0909999999", "0909999999", "placeholder"),
    ("sequence-0123", "0123456789", "placeholder"), ("sequence-no-zero", "123456789", "placeholder"),
    ("sequence-11", "01234567890", "placeholder"), ("descending", "0987654321", "placeholder"),
    ("round-0900", "0900000000", "placeholder"), ("round-0912", "0912000000", "placeholder"),
    ("round-0900-1", "0900000001", "placeholder"), ("dotted-zeros", "000.000.0000", "placeholder"),
    ("zero", "0", "placeholder"),
    ("khong-co", "không có", "no-digits"), ("ko-co", "ko co", "no-digits"), ("k-co", "k có", "no-digits"),
    ("kco", "kco", "no-digits"), ("khong", "khong", "no-digits"), ("chua-co", "chưa có", "no-digits"),
    ("chua-co-ascii", "chua co", "no-digits"), ("khong-accented", "không", "no-digits"), ("ko", "ko", "no-digits"),
    ("n/a", "n/a", "no-digits"), ("na", "NA", "no-digits"), ("none", "none", "no-digits"),
    ("null", "null", "no-digits"), ("dash", "-", "no-digits"), ("dot", ".", "no-digits"), ("x", "x", "no-digits"),
    ("empty", "", "no-digits"), ("spaces", "   ", "no-digits"),
    ("plus84-only", "+84", "too-short"), ("84-only", "84", "too-short"),
    ("scientific", "9.12345678E+08", "spreadsheet-float"), ("scientific-lossy", "8.49E+10", "spreadsheet-float"),
    ("scientific-lower", "9.12345678e+08", "spreadsheet-float"),
    ("too-short-6", "091234", "too-short"), ("too-short-spaced", "0912 345", "too-short"),
    ("too-long", "091234567890", "too-long"),
    ("unassigned-041", "0412345678", "unassigned-prefix"), ("unassigned-0521", "0521234567", "unassigned-prefix"),
    ("unassigned-0551", "0551234567", "unassigned-prefix"), ("unassigned-0891", "0891234567", "unassigned-prefix"),
    ("unassigned-0992", "0992123456", "unassigned-prefix"),
]


@pytest.mark.parametrize(("raw", "reason"), [c[1:] for c in JUNK], ids=[c[0] for c in JUNK])
def test_junk_is_never_an_identifier_and_says_why(raw: str, reason: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind, result.reason) == (None, "invalid", reason)
    assert result.match_key is None


SERVICE = [
    ("toll-free-8", "1800 1091", "+8418001091"), ("toll-free-plain", "18001091", "+8418001091"),
    ("toll-free-10", "1800599920", "+841800599920"), ("premium-8", "1900 1234", "+8419001234"),
    ("premium-plain", "19006600", "+8419006600"), ("toll-free-dotted", "1800.1091", "+8418001091"),
    ("hotline-label", "Hotline: 1900 6600", "+8419006600"),
]


@pytest.mark.parametrize(("raw", "e164"), [c[1:] for c in SERVICE], ids=[c[0] for c in SERVICE])
def test_service_numbers_are_kept_but_never_matched(raw: str, e164: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind, result.match_key) == (e164, "service", None)
    assert "service_number" in result.flag_codes


@pytest.mark.parametrize("raw", ["113", "114", "115", "111", "112", "198", "9090", "1080", "1789"])
def test_short_codes_are_service_without_e164(raw: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind, result.reason) == (None, "service", "short-code")


FOREIGN = [
    ("us", "+1 650 253 0000", "+16502530000"), ("singapore", "+65 6123 4567", "+6561234567"),
    ("china-mobile", "+86 138 0013 8000", "+8613800138000"), ("korea-mobile", "+82 10-1234-5678", "+821012345678"),
    ("japan-mobile", "+81 90-1234-5678", "+819012345678"), ("australia-mobile", "+61 412 345 678", "+61412345678"),
    ("uk-mobile", "+44 7911 123456", "+447911123456"), ("singapore-00", "0065 6123 4567", "+6561234567"),
    ("korea-00-dashes", "0082-10-1234-5678", "+821012345678"),
]


@pytest.mark.parametrize(("raw", "e164"), [c[1:] for c in FOREIGN], ids=[c[0] for c in FOREIGN])
def test_foreign_numbers_are_kept_in_e164(raw: str, e164: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.kind) == (e164, "foreign")


SPLITS = [
    ("slash", "0912345678/0987123456", ["0912345678", "0987123456"]),
    ("slash-spaced", "0912.345.678 / 0987.123.456", ["0912.345.678", "0987.123.456"]),
    ("semicolon", "0912345678;0987123456", ["0912345678", "0987123456"]),
    ("comma", "0912345678, 0243 8123456", ["0912345678", "0243 8123456"]),
    ("spaced-dash", "0912345678 - 0987123456", ["0912345678", "0987123456"]),
    ("en-dash", "0912345678 – 0987123456", ["0912345678", "0987123456"]),
    ("hoac", "0912345678 hoặc 098-712-3456", ["0912345678", "098-712-3456"]),
    ("hoac-ascii", "0912345678 hoac 0987123456", ["0912345678", "0987123456"]),
    ("or", "0912345678 or 0987123456", ["0912345678", "0987123456"]),
    ("newline", "0912345678\n0987123456", ["0912345678", "0987123456"]),
    ("crlf", "0912345678\r\n0987123456", ["0912345678", "0987123456"]),
    ("three", "0912345678 / 0987123456 / 0243 812 3456", ["0912345678", "0987123456", "0243 812 3456"]),
    ("labelled", "Zalo: 0912345678, ĐT bàn: (028) 3812 3456", ["0912345678", "028) 3812 3456"]),
    ("one-number-dashes", "0912 - 345 - 678", ["0912 - 345 - 678"]),
    ("one-number-groups", "0912 345 678", ["0912 345 678"]),
    ("extension-stays", "024 3812 3456 - máy lẻ 12", ["024 3812 3456 - máy lẻ 12"]),
    ("name-between", "0912345678 (Lan) 0987123456 (Hùng)", ["0912345678", "0987123456"]),
    ("no-digits", "không có", []),
]


@pytest.mark.parametrize(("raw", "parts"), [c[1:] for c in SPLITS], ids=[c[0] for c in SPLITS])
def test_split_phone_field(raw: str, parts: list[str]) -> None:
    assert [p.strip("(") for p in split_phone_field(raw)] == [p.strip("(") for p in parts]


def test_multi_number_field_with_only_digits_and_dashes_gives_every_number() -> None:
    results = normalise_phone_field("0912345678 - 0987123456")
    assert [r.e164 for r in results] == ["+84912345678", "+84987123456"]


def test_multi_number_field_gives_every_number() -> None:
    results = normalise_phone_field("0912345678 hoặc 01662345678 / 1800 1091")
    assert [(r.e164, r.kind) for r in results] == [("+84912345678", "mobile"), ("+84362345678", "mobile"),
                                                   ("+8418001091", "service")]
    first = normalise_phone("0912345678 hoặc 01662345678")
    assert first.e164 == "+84912345678" and "multiple_numbers" in first.flag_codes


EXTENSIONS = [
    ("ext", "024 3812 3456 ext 12", "12"), ("ext-dot", "024 3812 3456 ext. 12", "12"),
    ("ext-colon-caps", "024 3812 3456 EXT: 12", "12"), ("extension", "024 3812 3456 extension 12", "12"),
    ("may-le", "024.3812.3456 máy lẻ 123", "123"), ("may-le-ascii", "024 3812 3456 may le 123", "123"),
    ("may-le-brackets", "024 3812 3456 (máy lẻ 12)", "12"), ("nhanh", "(028) 3812 3456 - nhánh 5", "5"),
    ("hash", "028 3812 3456 #102", "102"), ("x", "028 3812 3456 x 12", "12"),
    ("ml", "028 3812 3456 ML 102", "102"),
]


@pytest.mark.parametrize(("raw", "extension"), [c[1:] for c in EXTENSIONS], ids=[c[0] for c in EXTENSIONS])
def test_extensions_are_kept_apart(raw: str, extension: str) -> None:
    result = normalise_phone(raw)
    assert result.kind == "landline" and result.e164 in ("+842438123456", "+842838123456")
    assert result.extension == extension and "extension" in result.flag_codes


FLAGGED = [
    ("lost-zero", "912345678", "lost_trunk_zero"), ("dot-zero", "912345678.0", "spreadsheet_float"),
    ("words", "SĐT: 0912345678", "words_removed"), ("name", "0912345678 (Lan)", "words_removed"),
    ("legacy", "01662345678", "legacy_11_digit"), ("area", "0511 3812345", "legacy_area_code"),
    ("placeholder", "0123456789", "placeholder"), ("voip", "0672 123 456", "voip"),
]


@pytest.mark.parametrize(("raw", "code"), [c[1:] for c in FLAGGED], ids=[c[0] for c in FLAGGED])
def test_every_flag_has_a_reason(raw: str, code: str) -> None:
    result = normalise_phone(raw)
    assert code in result.flag_codes
    assert all(f.reason and len(f.reason) > 10 for f in result.flags)


def test_nfd_and_nfc_labels_give_the_same_number() -> None:
    nfd = unicodedata.normalize("NFD", "Số điện thoại: 0912 345 678")
    assert normalise_phone(nfd).e164 == "+84912345678"


def test_common_path_does_not_call_phonenumbers(monkeypatch: pytest.MonkeyPatch) -> None:
    import phonenumbers

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("phonenumbers.parse on the fast path")

    monkeypatch.setattr(phonenumbers, "parse", boom)
    for raw in ("0912345678", "0912.345.678", "+84 912 345 678", "01662345678", "024 3812 3456", "1800 1091",
                "0511 3812345", "SĐT: 0912345678", "0123456789"):
        assert normalise_phone(raw).kind in ("mobile", "landline", "service", "invalid")


@given(cc=st.sampled_from(["84", "840", "1", "44", "65", "86", "0"]), space=st.sampled_from(["", " "]),
       rest=st.text(alphabet="0123456789 .-", min_size=1, max_size=22))
def test_bracketed_country_code_fast_path_agrees_with_messy_path(cc: str, space: str, rest: str) -> None:
    """"(+84) 912-345-678" takes the fast path; it must give what the messy path (split, strip) gives."""
    raw = f"(+{cc}){space}{rest}"
    parts = split_phone_field(raw)
    messy = [_normalise_messy(raw, "VN")] if len(parts) <= 1 else [normalise_phone(p) for p in parts]
    assert normalise_phone_field(raw) == messy


def _general(raw: str) -> PhoneResult:
    """normalise_phone as it was before the plain-mobile fast path: _is_simple, then the digits path."""
    text = raw.strip()
    return _normalise_simple(raw, text, "VN") if _is_simple(text) else _normalise_messy(raw, "VN")


@given(prefix=st.sampled_from(["0", "84", "+84", "+84 ", "(+84)", "(+84) ", "00", "+840", "840", "", " 0"]),
       nsn=st.text(alphabet="0123456789", min_size=9, max_size=9) | st.sampled_from(
           ["912345678", "987654321", "900000000", "912000000", "911111111", "999999999", "390000001",
            "123456789", "523456789", "591234567", "891234567", "861234567", "701234567", "311111111"]),
       seps=st.tuples(*[st.sampled_from(["", " ", ".", "-", "  ", " - ", "/"])] * 2),
       pad=st.sampled_from(["", " ", "\t", "\u00a0"]))
def test_plain_mobile_fast_path_agrees(prefix: str, nsn: str, seps: tuple[str, str], pad: str) -> None:
    """Whatever the fast path (_plain_vn_mobile) accepts, the general path gives the same result; what it
    declines goes the general way, so normalise_phone and the field version equal the general path."""
    raw = f"{pad}{prefix}{nsn[:3]}{seps[0]}{nsn[3:6]}{seps[1]}{nsn[6:]}{pad}"
    fast = _plain_vn_mobile(raw, raw.strip())
    general = _general(raw)
    if fast is not None:
        assert fast == general and fast.kind == "mobile" and not fast.flags
        assert repr(fast) == repr(general)
    assert normalise_phone(raw) == general
    if _is_simple(raw.strip()):
        assert normalise_phone_field(raw) == [general]
