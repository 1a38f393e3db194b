"""Vietnamese names (resolver/name.py, resolver/legacy_encoding.py), facts from vn_names.md.

The variants are the ways names arrive: upper case from ID cards and POS, lower case from chat,
no accents, NFD from macOS, TCVN3/VNI from old spreadsheets, UTF-8 read as cp1252, honorifics from
staff ("chị Lan"), given name first from Zalo/Facebook, a birth year after the name.
"""

import unicodedata

import pytest

from resolver.legacy_encoding import TCVN3_TO_UNICODE, VNI_LETTERS, VNI_MARKS, repair_legacy_encoding
from resolver.name import name_fold_key, normalise_name, parse_name

# (full name in Vietnamese order, family, middle, given)
NAMES = [
    ("Nguyễn Văn An", "Nguyễn", "Văn", "An"), ("Trần Thị Bích Ngọc", "Trần", "Thị Bích", "Ngọc"),
    ("Lê Hoàng Phúc", "Lê", "Hoàng", "Phúc"), ("Phạm Minh Tuấn", "Phạm", "Minh", "Tuấn"),
    ("Hoàng Thị Thu Hương", "Hoàng", "Thị Thu", "Hương"), ("Huỳnh Ngọc Ánh", "Huỳnh", "Ngọc", "Ánh"),
    ("Phan Thanh Sơn", "Phan", "Thanh", "Sơn"), ("Vũ Đức Thắng", "Vũ", "Đức", "Thắng"),
    ("Võ Thị Kim Oanh", "Võ", "Thị Kim", "Oanh"), ("Đặng Quốc Bảo", "Đặng", "Quốc", "Bảo"),
    ("Bùi Thị Hằng", "Bùi", "Thị", "Hằng"), ("Đỗ Trọng Nghĩa", "Đỗ", "Trọng", "Nghĩa"),
    ("Hồ Văn Cường", "Hồ", "Văn", "Cường"), ("Ngô Thị Thuỷ", "Ngô", "Thị", "Thuỷ"),
    ("Dương Thị Mỹ Linh", "Dương", "Thị Mỹ", "Linh"), ("Lý Văn Phước", "Lý", "Văn", "Phước"),
    ("Trương Mỹ Lan", "Trương", "Mỹ", "Lan"), ("Đinh Tiến Dũng", "Đinh", "Tiến", "Dũng"),
    ("Đoàn Văn Hậu", "Đoàn", "Văn", "Hậu"), ("Trịnh Công Sơn", "Trịnh", "Công", "Sơn"),
    ("Lương Xuân Trường", "Lương", "Xuân", "Trường"), ("Cao Thị Quỳnh", "Cao", "Thị", "Quỳnh"),
    ("Phùng Thanh Độ", "Phùng", "Thanh", "Độ"), ("Lưu Đình Trọng", "Lưu", "Đình", "Trọng"),
    ("Tạ Thị Xuyến", "Tạ", "Thị", "Xuyến"), ("Chu Văn Nguyện", "Chu", "Văn", "Nguyện"),
    ("Quách Thị Yến", "Quách", "Thị", "Yến"), ("Triệu Văn Khải", "Triệu", "Văn", "Khải"),
    ("Kiều Thị Ngọc Diễm", "Kiều", "Thị Ngọc", "Diễm"), ("Nông Đức Mạnh", "Nông", "Đức", "Mạnh"),
    ("Lâm Văn Thuận", "Lâm", "Văn", "Thuận"), ("Đàm Thị Vĩnh Hà", "Đàm", "Thị Vĩnh", "Hà"),
    ("Thái Văn Hiếu", "Thái", "Văn", "Hiếu"), ("Đào Thị Nguyệt", "Đào", "Thị", "Nguyệt"),
    ("Châu Ngọc Trâm", "Châu", "Ngọc", "Trâm"), ("Nghiêm Xuân Huy", "Nghiêm", "Xuân", "Huy"),
    ("Tôn Thất Thuyết", "Tôn Thất", None, "Thuyết"), ("Tôn Nữ Thị Ninh", "Tôn Nữ", "Thị", "Ninh"),
    ("Âu Dương Phong", "Âu Dương", None, "Phong"), ("Nguyễn Phước Bửu Chánh", "Nguyễn Phước", "Bửu", "Chánh"),
    ("Lê Lợi", "Lê", None, "Lợi"), ("Giáp Văn Khương", "Giáp", "Văn", "Khương"),
]
IDS = [n[0] for n in NAMES]


def _fold(text: str) -> str:
    """Diacritics off by hand (the way people type without an IME), Đ -> D; not the code under test."""
    table = str.maketrans("ĐđÐð", "DdDd")
    return "".join(c for c in unicodedata.normalize("NFD", text.translate(table)) if not unicodedata.combining(c))


def _tcvn3(text: str) -> str:
    """Encode with the TCVN3 table (upper-case accented letters use the lower-case bytes, as .VnTimeH did)."""
    inverse = {v: k for k, v in TCVN3_TO_UNICODE.items()}
    out = []
    for ch in text:
        if ch in inverse:
            out.append(inverse[ch])
        elif ch.lower() in inverse and ch.lower() != ch:
            out.append(inverse[ch.lower()])
        else:
            out.append(ch)
    return "".join(out)


def _vni(text: str) -> str:
    """Encode as VNI-Windows: base letter + one mark byte (tone and/or circumflex/breve)."""
    letters = {v: k for k, v in VNI_LETTERS.items()}
    marks = {}
    for ch, seq in VNI_MARKS.items():
        marks.setdefault((seq, ch.isupper()), ch)
    out = []
    for ch in text:
        if ch in letters:
            out.append(letters[ch])
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        base, seq = decomposed[0], "".join(sorted(decomposed[1:], key=lambda m: m not in "\u0302\u0306\u031b"))
        if base in "oOuU" and seq.startswith("\u031b"):  # ơ ư are letters of their own in VNI
            base, seq = letters[unicodedata.normalize("NFC", base + "\u031b")], seq[1:]
        if base in "iI" and seq and unicodedata.normalize("NFC", ch) in letters:
            out.append(letters[ch])
            continue
        out.append(base + (marks[(seq, base.isupper())] if seq else ""))
    return "".join(out)


VARIANTS = {
    "as-written": lambda n: n,
    "upper": lambda n: n.upper(),
    "lower": lambda n: n.lower(),
    "nfd": lambda n: unicodedata.normalize("NFD", n),
    "nfd-upper": lambda n: unicodedata.normalize("NFD", n.upper()),
    "extra-spaces": lambda n: "  " + n.replace(" ", "   ") + " ",
    "nbsp": lambda n: n.replace(" ", "\u00a0"),
    "zero-width": lambda n: n.replace(" ", " \u200b"),
    "tcvn3": _tcvn3,
    "tcvn3-caps": lambda n: _tcvn3(n.upper()),
    "vni": _vni,
    "vni-upper": lambda n: _vni(n.upper()),
    "chi-prefix": lambda n: "chị " + n,
    "chi-capital": lambda n: "Chị " + n,
    "anh-prefix": lambda n: "anh " + n,
    "anh-capital": lambda n: "Anh " + n,
    "a-dot": lambda n: "A. " + n,
    "c-dot": lambda n: "C. " + n,
    "em": lambda n: "em " + n,
    "co": lambda n: "Cô " + n,
    "chu": lambda n: "chú " + n,
    "bac": lambda n: "Bác " + n,
    "ong": lambda n: "Ông " + n,
    "ba": lambda n: "Bà " + n,
    "mr": lambda n: "Mr. " + n,
    "mrs": lambda n: "Mrs " + n,
    "ms": lambda n: "Ms. " + n,
    "quy-khach": lambda n: "Quý khách " + n,
    "kh": lambda n: "KH " + n,
    "birth-year": lambda n: n + " 1990",
    "two-digit-year": lambda n: n + " 86",
    "emoji": lambda n: n + " 🌸",
    "fullwidth": lambda n: unicodedata.normalize("NFC", "".join(
        chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in unicodedata.normalize("NFD", n))),
}
CASES = [pytest.param(variant(full), full, family, middle, given, id=f"{_fold(full).replace(' ', '-')}-{name}")
         for full, family, middle, given in NAMES for name, variant in VARIANTS.items()]


@pytest.mark.parametrize(("raw", "display", "family", "middle", "given"), CASES)
def test_name_variants_parse_to_the_same_name(raw: str, display: str, family: str, middle: str | None,
                                              given: str) -> None:
    result = parse_name(raw)
    assert (result.display, result.family, result.middle, result.given) == (display, family, middle, given)
    assert result.fold_key == _fold(display).lower()
    assert result.raw == raw


UNACCENTED = [pytest.param(v(_fold(full)), _fold(full), id=f"{_fold(full).replace(' ', '-')}-unaccented-{k}")
              for full, *_ in NAMES for k, v in {"title": lambda s: s, "upper": str.upper, "lower": str.lower}.items()]


@pytest.mark.parametrize(("raw", "display"), UNACCENTED)
def test_names_without_diacritics(raw: str, display: str) -> None:
    result = parse_name(raw)
    assert result.display == display
    assert result.fold_key == display.lower()


REVERSED = [
    ("given-family-middle", "Lan Nguyễn Thị", "Nguyễn Thị Lan", "Nguyễn", "Thị", "Lan"),
    ("given-family-middle-male", "Tuấn Lê Văn", "Lê Văn Tuấn", "Lê", "Văn", "Tuấn"),
    ("given-family", "Hùng Trần", "Trần Hùng", "Trần", None, "Hùng"),
    ("given-family-ascii", "Hung Tran", "Tran Hung", "Tran", None, "Hung"),
    ("two-given-family", "Ngọc Ánh Nguyễn", "Nguyễn Ngọc Ánh", "Nguyễn", "Ngọc", "Ánh"),
    ("given-family-caps", "HÙNG TRẦN", "Trần Hùng", "Trần", None, "Hùng"),
    ("given-family-lower", "lan nguyễn thị", "Nguyễn Thị Lan", "Nguyễn", "Thị", "Lan"),
    ("facebook-style", "Ánh Nguyễn", "Nguyễn Ánh", "Nguyễn", None, "Ánh"),
    ("given-family-ascii-middle", "Lan Nguyen Thi", "Nguyen Thi Lan", "Nguyen", "Thi", "Lan"),
    ("mai-is-given", "Mai Trần", "Trần Mai", "Trần", None, "Mai"),
    ("trang-is-given", "Trang Phạm", "Phạm Trang", "Phạm", None, "Trang"),
    ("with-honorific", "chị Lan Nguyễn Thị", "Nguyễn Thị Lan", "Nguyễn", "Thị", "Lan"),
    ("email-display", "Anh Nguyen", "Nguyen Anh", "Nguyen", None, "Anh"),
    ("facebook-first-last-fields", "Mai Nguyễn Thu", "Nguyễn Thu Mai", "Nguyễn", "Thu", "Mai"),
    ("facebook-male", "Sơn Nguyễn Công", "Nguyễn Công Sơn", "Nguyễn", "Công", "Sơn"),
    ("facebook-two-middle", "Ánh Nguyễn Thị Ngọc", "Nguyễn Thị Ngọc Ánh", "Nguyễn", "Thị Ngọc", "Ánh"),
    ("facebook-unaccented", "Quan Le Thanh", "Le Thanh Quan", "Le", "Thanh", "Quan"),
]


@pytest.mark.parametrize(("raw", "display", "family", "middle", "given"), [c[1:] for c in REVERSED],
                         ids=[c[0] for c in REVERSED])
def test_given_name_first_is_detected_and_flagged(raw: str, display: str, family: str, middle: str | None,
                                                  given: str) -> None:
    result = parse_name(raw)
    assert (result.display, result.family, result.middle, result.given) == (display, family, middle, given)
    assert "reversed_order" in result.flag_codes


NOT_REVERSED = [
    ("vietnamese-order", "Nguyễn Văn Hoàng", "Nguyễn"), ("both-ends-family", "Trần Mai", "Trần"),
    ("family-also-given-last", "Phạm Thị Lâm", "Phạm"), ("two-words", "Lê Lợi", "Lê"),
    ("double-family", "Nguyễn Lê Minh Anh", "Nguyễn"),
]


@pytest.mark.parametrize(("raw", "family"), [c[1:] for c in NOT_REVERSED], ids=[c[0] for c in NOT_REVERSED])
def test_vietnamese_order_is_kept(raw: str, family: str) -> None:
    result = parse_name(raw)
    assert result.display == raw and result.family == family
    assert "reversed_order" not in result.flag_codes


HONORIFIC_KEPT = [
    ("anh-is-a-given-name", "Anh Tuấn", "Anh Tuấn"), ("a-bahnar", "A Huy", "A Huy"),
    ("honorific-alone", "Chị", "Chị"), ("anh-alone", "Anh", "Anh"),
    ("ong-family", "Ông Văn Tùng", "Ông Văn Tùng"), ("placeholder-given-a", "Lê Thị A", "Lê Thị A"),
    # Given name first with nothing after the middle name: Anh is the given name, not "brother".
    ("anh-given-first", "Anh Phạm Văn", "Phạm Văn Anh"), ("anh-given-first-thi", "Anh Trần Thị", "Trần Thị Anh"),
]


@pytest.mark.parametrize(("raw", "display"), [c[1:] for c in HONORIFIC_KEPT], ids=[c[0] for c in HONORIFIC_KEPT])
def test_honorific_words_that_are_names_stay(raw: str, display: str) -> None:
    result = parse_name(raw)
    assert result.display == display and "honorific_removed" not in result.flag_codes


HONORIFIC_STRIPPED = [
    ("chi-lan", "Chị Lan", "Lan"), ("c-lan", "c Lan", "Lan"), ("c-dot-lan", "C. Lan", "Lan"),
    ("a-tuan", "a Tuấn", "Tuấn"), ("a-dot-tuan", "A. Tuấn", "Tuấn"), ("anh-lower", "anh Tuấn", "Tuấn"),
    ("e-hoa", "e Hoa", "Hoa"), ("em-hoa", "Em Hoa", "Hoa"), ("co-mai", "Cô Mai", "Mai"),
    ("chu-ba", "chú Ba", "Ba"), ("bac-hai", "Bác Hai", "Hai"), ("di-tu", "Dì Tư", "Tư"),
    ("mr-nam", "Mr Nam", "Nam"), ("mrs-lan", "Mrs. Lan", "Lan"), ("miss-vy", "Miss Vy", "Vy"),
    ("ba-chin", "Bà Chín", "Chín"), ("quy-khach-ascii", "Quy khach Nguyen Van Nam", "Nguyen Van Nam"),
    ("khach-hang", "Khách hàng Trần Thị Mai", "Trần Thị Mai"), ("chi-ascii-lower", "chi Lan", "Lan"),
]


@pytest.mark.parametrize(("raw", "display"), [c[1:] for c in HONORIFIC_STRIPPED],
                         ids=[c[0] for c in HONORIFIC_STRIPPED])
def test_honorifics_before_a_name_are_removed(raw: str, display: str) -> None:
    result = parse_name(raw)
    assert result.display == display
    assert any(f.code == "honorific_removed" and "form of address" in f.reason for f in result.flags)


# vn_names.md section 6: the encoded forms as printed there (bytes decoded as Latin-1).
LEGACY_SAMPLES = [
    ("tcvn3-nguyen", bytes.fromhex("4E677579D46E").decode("latin-1"), "Nguyễn", "tcvn3"),
    ("tcvn3-tran", "TrÇn", "Trần", "tcvn3"), ("tcvn3-dang", bytes.fromhex("A7C66E67").decode("latin-1"), "Đặng", "tcvn3"),
    ("tcvn3-huong", bytes.fromhex("48ADAC6E67").decode("latin-1"), "Hương", "tcvn3"),
    ("tcvn3-viet-nam", "ViÖt Nam", "Việt Nam", "tcvn3"), ("tcvn3-bao-thang", "B¶o Th¾ng", "Bảo Thắng", "tcvn3"),
    ("tcvn3-muong-khuong", "M\u00adêng Kh\u00ad¬ng", "Mường Khương", "tcvn3"),
    ("vni-nguyen", "Nguye" + bytes.fromhex("E3").decode("latin-1") + "n", "Nguyễn", "vni"),
    ("vni-tran", "Traàn", "Trần", "vni"), ("vni-dang", bytes.fromhex("D161EB6E67").decode("latin-1"), "Đặng", "vni"),
    ("vni-huong", "Höông", "Hương", "vni"), ("vni-viet-nam", "Vieät Nam", "Việt Nam", "vni"),
    ("mojibake-nguyen", "Nguyá»…n", "Nguyễn", "utf8-as-cp1252"), ("mojibake-tran", "Tráº§n", "Trần", "utf8-as-cp1252"),
    ("mojibake-huong", "HÆ°Æ¡ng", "Hương", "utf8-as-cp1252"), ("mojibake-viet", "Viá»‡t Nam", "Việt Nam", "utf8-as-cp1252"),
]


@pytest.mark.parametrize(("raw", "text", "encoding"), [c[1:] for c in LEGACY_SAMPLES], ids=[c[0] for c in LEGACY_SAMPLES])
def test_reference_legacy_samples_are_repaired(raw: str, text: str, encoding: str) -> None:
    assert repair_legacy_encoding(raw) == (text, encoding)


@pytest.mark.parametrize("text", ["Lê Hà", "José", "Raphaël", "Renée", "Muñoz", "Søren", "Schröder", "Zoë", "Chloé",
                                  "François", "Nguyễn Văn An", "Hà Mã", "Bùi Thị Hà", "Lê Thị Lý", "Đỗ Hữu"])
def test_real_text_is_never_converted(text: str) -> None:
    assert repair_legacy_encoding(text) == (text, None)


def test_legacy_encoding_is_flagged_on_the_name() -> None:
    result = parse_name(_tcvn3("Nguyễn Thị Hương"))
    assert result.display == "Nguyễn Thị Hương"
    assert "tcvn3" in next(f for f in result.flags if f.code == "legacy_encoding").reason


FOLD_KEYS = [  # vn_names.md section 5.3, the recipe's own outputs
    ("thuy-d", "Nguyễn Đức Thuỷ", "nguyen duc thuy"), ("dang-caps", "ĐẶNG", "dang"), ("eth", "Ðặng", "dang"),
    ("nfd", unicodedata.normalize("NFD", "Nguyễn"), "nguyen"), ("nbsp-zwsp", "Nguyễn\u00a0Văn\u200bAn", "nguyen van an"),
    ("fullwidth", "Ｎｇｕｙễｎ", "nguyen"), ("soft-hyphen-tcvn3", "H\u00ad¬ng", "huong"), ("quynh-typo", "Qùynh", "quynh"),
    ("ede-apostrophe", "H'Hen Niê", "h hen nie"), ("ede-curly", "H’Hen Niê", "h hen nie"), ("hyphen", "Lê-Thị", "le thi"),
    ("hoa-old-new", "Hòa", "hoa"), ("hoa-new", "Hoà", "hoa"), ("ascii", "Nguyen Van An", "nguyen van an"),
]


@pytest.mark.parametrize(("raw", "key"), [c[1:] for c in FOLD_KEYS], ids=[c[0] for c in FOLD_KEYS])
def test_fold_key(raw: str, key: str) -> None:
    assert name_fold_key(raw) == key


def test_hoang_and_huynh_are_related_not_equal() -> None:
    assert name_fold_key("Hoàng Văn Nam") != name_fold_key("Huỳnh Văn Nam")
    assert name_fold_key("Vũ Thị Lan") != name_fold_key("Võ Thị Lan")


PLACEHOLDERS = ["", "   ", "không có", "N/A", "-", "Nguyễn Văn A", "Trần Thị B", "nguyen van a", "KHÁCH HÀNG",
                "khách lẻ", "Zalo User", "unknown", "xxx", ".", "123", "🌸🌸"]


@pytest.mark.parametrize("raw", PLACEHOLDERS)
def test_placeholder_names_are_none(raw: str) -> None:
    result = parse_name(raw)
    assert result.display is None and result.fold_key is None
    assert normalise_name(raw) is None


OTHER = [
    ("business-shop", "Lan Shop", "Lan Shop", "business"), ("business-kho-si", "Kho Sỉ Quần Áo Lan", "Kho Sỉ Quần Áo Lan",
                                                              "business"),
    ("business-nail", "Nail Mai Anh", "Nail Mai Anh", "business"), ("business-cong-ty", "CÔNG TY TNHH AN PHÁT",
                                                                    "Công Ty Tnhh An Phát", "business"),
    ("nickname", "Mẹ Bắp", "Mẹ Bắp", "nickname"), ("nickname-ba", "Ba Su", "Ba Su", "nickname"),
    ("ede", "Y Ngông Niê Kdăm", "Y Ngông Niê Kdăm", "minority_order"),
    ("ede-woman", "H'Nghia Êban", "H'Nghia Êban", "minority_order"),
    ("ede-lower", "h’hen niê", "H'Hen Niê", "minority_order"),
    ("single", "Lan", "Lan", "single_word"), ("bracket-note", "Thu Hà (Kem)", "Thu Hà", "bracketed_text"),
    ("handle-digits", "Hoa Nguyen 86", "Nguyen Hoa", "digits_removed"),
    ("eth", "Ðặng Văn Lâm", "Đặng Văn Lâm", "eth_as_d"), ("symbols", "✿ Ngọc Ánh ✿", "Ngọc Ánh", "symbols_removed"),
    ("unknown-family", "Ánh Bông", "Ánh Bông", "family_name_unknown"),
]


@pytest.mark.parametrize(("raw", "display", "code"), [c[1:] for c in OTHER], ids=[c[0] for c in OTHER])
def test_other_name_shapes(raw: str, display: str, code: str) -> None:
    result = parse_name(raw)
    assert result.display == display and code in result.flag_codes
    assert all(f.reason for f in result.flags)


def test_cyrillic_lookalikes_from_pdf_extraction_are_rejected() -> None:
    result = parse_name("ПǤUƔỄ П AПҺ ҺÙ ПǤ")
    assert (result.display, result.reason) == (None, "mixed-script")


def test_normalise_name_keeps_its_old_contract() -> None:
    assert normalise_name("  Trần   Văn\tAn ") == "Trần Văn An"
    assert normalise_name(unicodedata.normalize("NFD", "Nguyễn Thị Hồng")) == "Nguyễn Thị Hồng"


@pytest.mark.parametrize("raw", ["Van A Nguyen", "VAN A NGUYEN"],
                         ids=["placeholder-reversed", "placeholder-reversed-caps"])
def test_placeholder_written_given_name_first_is_still_a_placeholder(raw: str) -> None:
    # Found by hypothesis: "Nguyễn Văn A" is the Vietnamese "John Doe", in either order.
    assert parse_name(raw).display is None
