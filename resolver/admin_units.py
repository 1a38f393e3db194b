"""Vietnam's provincial units before and after the 1 July 2025 reform, as data.

`resolver.address` resolves free text to these units; everything here is transcribed by hand from
the project note ../shared/reference/vn_admin_units.md (researched Nov 2026), which is the authority.
The note's sources:

- codes and official names of the 63 pre-2025 units: the statistics office catalogue
  (https://danhmuchanhchinh.nso.gov.vn/, Decision 124/2004/QĐ-TTg as amended) via vietnam-provinces
  2026.9.0, legacy list of 4 Jan 2025 (note §2);
- the 34 units from 1 July 2025: Resolution 202/2025/QH15, Party Resolution 60-NQ/TW (names, seats),
  statistics office letter 915/CTK-CSCL and Decision 19/2025/QĐ-TTg (codes) (note §3, §4);
- the old -> new mapping, checked 63/63 across 60-NQ/TW, vietnam-provinces, dvhcvn/20250701 and
  vietnamadminunits (note §3);
- later changes of unit type: Đồng Nai (NQ 30/2026/QH16, 30 Apr 2026), Quảng Ninh (NQ 36/2026/QH16,
  1 Sep 2026), Bắc Ninh (NQ 39/2026/QH16, 20 Sep 2026) became centrally-run cities — "partly verified"
  in the note; Huế became one on 1 Jan 2025 (Resolution 175/2024/QH15);
- landline area codes (2017 plan, Decision 2036/QĐ-BTTTT): ../shared/reference/vn_phone.md §4;
- spellings and abbreviations: vietnamadminunits keyword lists, phonenumbers' geocoder names, the 2017
  area-code file, and everyday usage (the note marks the last as practice, not an official list).

Two code systems share the same 2-digit codes: "VN-2004" (63 units) and "VN-2025" (34 units). Seven
codes changed meaning on 1 July 2025 (15, 24, 44, 52, 80, 82, 91: the new unit took the code of the
province holding its seat, not of the one whose name it kept), so a code is never stored without its
code system. The unit type ("Tỉnh"/"Thành phố") changed for four units after their codes were fixed,
so it is display data only, never part of a key.
"""

from __future__ import annotations

from dataclasses import dataclass

MERGER_DATE = "2025-07-01"
CITY = "thành phố"  # centrally-run city (thành phố trực thuộc trung ương)
PROVINCE = "tỉnh"


@dataclass(frozen=True, slots=True)
class LegacyProvince:
    """One of the 63 provincial units in force until 30 June 2025 (code system VN-2004)."""

    code: str
    name: str
    kind: str  # CITY or PROVINCE, as on 30 June 2025
    successor_code: str  # the VN-2025 unit it went into, whole, on 1 July 2025
    area_code: str  # landline area code since 2017, with the trunk 0
    aliases: tuple[str, ...] = ()  # spellings seen besides `name` (folded forms are derived, not listed)

    code_system = "VN-2004"


@dataclass(frozen=True, slots=True)
class Province:
    """One of the 34 provincial units in force since 1 July 2025 (code system VN-2025)."""

    code: str
    name: str
    kind: str  # CITY or PROVINCE, as of the note's data (Sep 2026)
    formed_from: tuple[str, ...]  # VN-2004 codes; the first is the province holding the seat

    code_system = "VN-2025"

    @property
    def merged(self) -> bool:
        return len(self.formed_from) > 1

    @property
    def display_name(self) -> str:
        return f"TP. {self.name}" if self.kind == CITY else self.name


def _old(code: str, name: str, kind: str, new: str, area: str, *aliases: str) -> LegacyProvince:
    return LegacyProvince(code, name, kind, new, area, aliases)


T, TP = PROVINCE, CITY

# Note §2 (codes, names, "since 1 Jul 2025" column, spellings) and vn_phone.md §4 (area codes).
# Aliases are the note's "spellings and abbreviations seen" minus the ones it calls ambiguous
# (see AMBIGUOUS_ABBREVIATIONS); the ASCII forms are covered by folding and need not be listed.
LEGACY_PROVINCES: tuple[LegacyProvince, ...] = (
    _old("01", "Hà Nội", TP, "01", "024", "HN", "Hanoi"),
    _old("02", "Hà Giang", T, "08", "0219"),
    _old("04", "Cao Bằng", T, "04", "0206"),
    _old("06", "Bắc Kạn", T, "19", "0209", "Bắc Cạn"),
    _old("08", "Tuyên Quang", T, "08", "0207"),
    _old("10", "Lào Cai", T, "15", "0214"),
    _old("11", "Điện Biên", T, "11", "0215"),
    _old("12", "Lai Châu", T, "12", "0213"),
    _old("14", "Sơn La", T, "14", "0212"),
    _old("15", "Yên Bái", T, "15", "0216"),
    _old("17", "Hòa Bình", T, "25", "0218", "Hoà Bình"),
    _old("19", "Thái Nguyên", T, "19", "0208"),
    _old("20", "Lạng Sơn", T, "20", "0205"),
    _old("22", "Quảng Ninh", T, "22", "0203"),
    _old("24", "Bắc Giang", T, "24", "0204"),
    _old("25", "Phú Thọ", T, "25", "0210"),
    _old("26", "Vĩnh Phúc", T, "25", "0211"),
    _old("27", "Bắc Ninh", T, "24", "0222"),
    _old("30", "Hải Dương", T, "31", "0220"),
    _old("31", "Hải Phòng", TP, "31", "0225"),
    _old("33", "Hưng Yên", T, "33", "0221"),
    _old("34", "Thái Bình", T, "33", "0227"),
    _old("35", "Hà Nam", T, "37", "0226"),
    _old("36", "Nam Định", T, "37", "0228"),
    _old("37", "Ninh Bình", T, "37", "0229"),
    _old("38", "Thanh Hóa", T, "38", "0237", "Thanh Hoá"),
    _old("40", "Nghệ An", T, "40", "0238"),
    _old("42", "Hà Tĩnh", T, "42", "0239"),
    _old("44", "Quảng Bình", T, "44", "0232"),
    _old("45", "Quảng Trị", T, "44", "0233"),
    # Tỉnh Thừa Thiên Huế until 31 Dec 2024, Thành phố Huế from 1 Jan 2025 (code unchanged).
    _old("46", "Huế", TP, "46", "0234", "Thừa Thiên Huế", "Thừa Thiên - Huế", "TT-Huế", "T.T. Huế",
         "TT Huế", "TTH"),
    _old("48", "Đà Nẵng", TP, "48", "0236", "Danang"),
    _old("49", "Quảng Nam", T, "48", "0235"),
    _old("51", "Quảng Ngãi", T, "51", "0255"),
    _old("52", "Bình Định", T, "52", "0256"),
    _old("54", "Phú Yên", T, "66", "0257"),
    _old("56", "Khánh Hòa", T, "56", "0258", "Khánh Hoà"),
    _old("58", "Ninh Thuận", T, "56", "0259"),
    _old("60", "Bình Thuận", T, "68", "0252"),
    _old("62", "Kon Tum", T, "51", "0260", "Kontum"),
    _old("64", "Gia Lai", T, "52", "0269"),
    _old("66", "Đắk Lắk", T, "66", "0262", "Đăk Lăk", "Đắc Lắc", "Daklak"),
    _old("67", "Đắk Nông", T, "68", "0261", "Đăk Nông"),
    _old("68", "Lâm Đồng", T, "68", "0263"),
    _old("70", "Bình Phước", T, "75", "0271"),
    _old("72", "Tây Ninh", T, "80", "0276"),
    _old("74", "Bình Dương", T, "79", "0274"),
    _old("75", "Đồng Nai", T, "75", "0251"),
    _old("77", "Bà Rịa - Vũng Tàu", T, "79", "0254", "BR-VT", "BRVT", "Bà Rịa–Vũng Tàu", "Vũng Tàu",
         "Bà Rịa"),
    _old("79", "Hồ Chí Minh", TP, "79", "028", "TP.HCM", "TPHCM", "HCM", "HCMC", "Sài Gòn", "Saigon",
         "SG", "Ho Chi Minh City"),
    _old("80", "Long An", T, "80", "0272"),
    _old("82", "Tiền Giang", T, "82", "0273"),
    _old("83", "Bến Tre", T, "86", "0275"),
    _old("84", "Trà Vinh", T, "86", "0294"),
    _old("86", "Vĩnh Long", T, "86", "0270"),
    _old("87", "Đồng Tháp", T, "82", "0277"),
    _old("89", "An Giang", T, "91", "0296"),
    _old("91", "Kiên Giang", T, "91", "0297"),
    _old("92", "Cần Thơ", TP, "92", "0292"),
    _old("93", "Hậu Giang", T, "92", "0293"),
    _old("94", "Sóc Trăng", T, "92", "0299"),
    _old("95", "Bạc Liêu", T, "96", "0291"),
    _old("96", "Cà Mau", T, "96", "0290"),
)

# Note §3: the 34 units, seat province first in `formed_from`. Quảng Ninh, Bắc Ninh and Đồng Nai were
# provinces on 1 July 2025 and became centrally-run cities in 2026 (note §1, partly verified).
PROVINCES: tuple[Province, ...] = (
    Province("01", "Hà Nội", TP, ("01",)),
    Province("04", "Cao Bằng", T, ("04",)),
    Province("08", "Tuyên Quang", T, ("08", "02")),
    Province("11", "Điện Biên", T, ("11",)),
    Province("12", "Lai Châu", T, ("12",)),
    Province("14", "Sơn La", T, ("14",)),
    Province("15", "Lào Cai", T, ("15", "10")),
    Province("19", "Thái Nguyên", T, ("19", "06")),
    Province("20", "Lạng Sơn", T, ("20",)),
    Province("22", "Quảng Ninh", TP, ("22",)),
    Province("24", "Bắc Ninh", TP, ("24", "27")),
    Province("25", "Phú Thọ", T, ("25", "17", "26")),
    Province("31", "Hải Phòng", TP, ("31", "30")),
    Province("33", "Hưng Yên", T, ("33", "34")),
    Province("37", "Ninh Bình", T, ("37", "35", "36")),
    Province("38", "Thanh Hóa", T, ("38",)),
    Province("40", "Nghệ An", T, ("40",)),
    Province("42", "Hà Tĩnh", T, ("42",)),
    Province("44", "Quảng Trị", T, ("44", "45")),
    Province("46", "Huế", TP, ("46",)),
    Province("48", "Đà Nẵng", TP, ("48", "49")),
    Province("51", "Quảng Ngãi", T, ("51", "62")),
    Province("52", "Gia Lai", T, ("52", "64")),
    Province("56", "Khánh Hòa", T, ("56", "58")),
    Province("66", "Đắk Lắk", T, ("66", "54")),
    Province("68", "Lâm Đồng", T, ("68", "60", "67")),
    Province("75", "Đồng Nai", TP, ("75", "70")),
    Province("79", "Hồ Chí Minh", TP, ("79", "74", "77")),
    Province("80", "Tây Ninh", T, ("80", "72")),
    Province("82", "Đồng Tháp", T, ("82", "87")),
    Province("86", "Vĩnh Long", T, ("86", "83", "84")),
    Province("91", "An Giang", T, ("91", "89")),
    Province("92", "Cần Thơ", TP, ("92", "93", "94")),
    Province("96", "Cà Mau", T, ("96", "95")),
)

# Names older than the 63-unit list that still turn up in old records: name -> (VN-2004 code, why).
# Hà Tây went into Hà Nội by Resolution 15/2008/QH12 (the note marks this row unverified).
FORMER_NAMES: dict[str, tuple[str, str]] = {
    "Thừa Thiên Huế": ("46", "Thừa Thiên Huế became TP. Huế on 2025-01-01"),
    "Hà Tây": ("01", "Hà Tây merged into Hà Nội on 2008-08-01"),
}

# Two-letter abbreviations the note says to resolve only with context (§2): abbreviation -> the
# VN-2004 codes it may stand for. HP and CT are listed both as spellings and as ambiguous in the note;
# we resolve them only after a "TP"/"Thành phố" prefix, where just one centrally-run city fits.
AMBIGUOUS_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "QN": ("22", "49", "51"),
    "ĐN": ("48", "75"),
    "BD": ("74", "52"),
    "HD": ("30",),
    "HP": ("31",),
    "CT": ("92",),
}
CITY_PREFIX_RESOLVES: dict[str, str] = {"HP": "31", "CT": "92"}

# Provincial cities often written instead of the province (note §2, "practice"): city -> VN-2004 code.
# They also pin down the pre-2025 unit inside a merged one ("TP. Quy Nhơn, Gia Lai" was Bình Định).
CITY_NAMES: dict[str, str] = {
    "Vũng Tàu": "77",
    "Bà Rịa": "77",
    "Nha Trang": "56",
    "Đà Lạt": "68",
    "Buôn Ma Thuột": "66",
    "Buôn Mê Thuột": "66",
    "Biên Hòa": "75",
    "Hạ Long": "22",
    "Quy Nhơn": "52",
}

_LEGACY_BY_CODE = {p.code: p for p in LEGACY_PROVINCES}
_BY_CODE = {p.code: p for p in PROVINCES}
_LEGACY_BY_AREA_CODE = {p.area_code: p for p in LEGACY_PROVINCES}


def legacy_province(code: str) -> LegacyProvince | None:
    """The VN-2004 unit with this code (e.g. "74" Bình Dương), or None."""
    return _LEGACY_BY_CODE.get(code)


def province(code: str) -> Province | None:
    """The VN-2025 unit with this code (e.g. "79" Hồ Chí Minh), or None."""
    return _BY_CODE.get(code)


def successor(old: LegacyProvince) -> Province:
    """The unit `old` went into on 1 July 2025 (the province-level map is a function)."""
    return _BY_CODE[old.successor_code]


def legacy_province_for_area_code(area_code: str) -> LegacyProvince | None:
    """Pre-2025 province of a landline area code since 2017 ("0203", "203", "(024)"), or None.

    Pre-2017 codes are not accepted: many look like today's mobile prefixes (vn_phone.md §4).
    """
    digits = "".join(ch for ch in area_code if ch.isdigit())
    if not digits.startswith("0"):
        digits = "0" + digits
    return _LEGACY_BY_AREA_CODE.get(digits)


def province_for_area_code(area_code: str) -> Province | None:
    """Current (VN-2025) unit of a landline area code; the 2025 merger did not renumber landlines."""
    old = legacy_province_for_area_code(area_code)
    return successor(old) if old else None
