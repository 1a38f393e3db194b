"""Synthetic Vietnamese customers with known truth, for the entity-resolution benchmarks.

Shared by bench/er_vn.py (quality and hard cases) and bench/er_scale.py (10k to 1M records).
Seeded and deterministic: the same arguments give the same records in the same order.

Each *person* has a name drawn with real family-name frequencies (Nguyễn ~38 %, Trần ~11 %, Lê
~9.5 % ..., ../shared/reference/vn_names.md §2.1), a gendered middle name (Văn, Thị, Hữu, Ngọc ...),
a given name from a Zipf-like list, a birth date, a province, usually a mobile number on a real
prefix, often an email and sometimes a Zalo id. Each person leaves one record, and a large share
leave 1–4 more, through different channels (web form, Zalo, POS, bulk list, call centre), each
showing part of what is known, with the noise real data has:

* names: no diacritics (typed without an input method), given name first (Zalo/Facebook display
  names), middle name dropped, honorifics (anh, chị, cô), all caps or lower case, a typo;
* phones: 0912 345 678, 0912.345.678, +84 912 345 678, 84912345678, 912345678 (Excel dropped the
  0), and the pre-2018 11-digit form (0168x... for today's 038x...) on legacy prefixes;
* emails: case, Gmail dots and +tags;
* provinces: TP.HCM / Sài Gòn / Ho Chi Minh, Hà Nội / Ha Noi / HN ...; birth dates on some records.

`hard_cases()` builds the cases bench/er_vn.py reports one by one (household phone, namesakes in one
province, reassigned number, till placeholders, changed number, Zalo submit-info bridge).
Truth is the person id of every record; a record's key is "source|source_record_id", as the engine's.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from schema.contact import RawContact

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
          "Ngô", "Dương", "Lý", "Trương", "Đinh", "Lâm", "Mai", "Trịnh", "Đoàn", "Cao", "Lương", "Hà", "Tạ",
          "Châu", "Tô", "Quách", "Vương", "La", "Kiều", "Triệu", "Thái", "Lưu", "Tăng"]
# National shares (vn_names.md §2.1; Hoàng/Huỳnh and Vũ/Võ split by the Đắk Lắk sample), the rest spread.
FAMILY_WEIGHTS = [38.4, 11.0, 9.5, 7.0, 3.3, 1.8, 4.5, 1.7, 2.2, 2.1, 2.0, 1.4, 1.3, 1.3, 1.0, 0.5,
                  0.9, 0.8, 0.7, 0.6, 0.6, 0.5, 0.5, 0.4, 0.4, 0.3, 0.3, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2,
                  0.2, 0.1]
MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Quốc", "Thành", "Tuấn", "Duy", "Hoàng", "Anh",
            "Xuân", "Trọng", "Mạnh", "Tiến", "Gia", "Bảo", "Nhật", "Thanh"]
MIDDLE_M_WEIGHTS = [30, 8, 7, 7, 5, 5, 5, 4, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mai", "Bảo", "Phương", "Thúy", "Mỹ", "Diệu", "Bích",
            "Hồng", "Minh", "Khánh", "Hoài", "Quỳnh", "Lan"]
MIDDLE_F_WEIGHTS = [40, 8, 6, 6, 5, 4, 3, 3, 3, 3, 2, 2, 3, 3, 2, 2, 2, 2]
GIVEN_M = ["Anh", "Hùng", "Dũng", "Minh", "Huy", "Tuấn", "Nam", "Hải", "Long", "Sơn", "Thắng", "Trung",
           "Quân", "Phong", "Khánh", "Hiếu", "Duy", "Đạt", "Việt", "Cường", "Bình", "An", "Thành", "Tài",
           "Phúc", "Tâm", "Lộc", "Tiến", "Hưng", "Kiên", "Toàn", "Vinh", "Hoàng", "Khoa", "Tú", "Thịnh",
           "Nghĩa", "Quang", "Đức", "Trí", "Bảo", "Hậu", "Nhân", "Tùng", "Lâm", "Thái", "Hòa", "Phát", "Khang",
           "Nguyên"]
GIVEN_F = ["Anh", "Linh", "Phương", "Trang", "Nhi", "Thủy", "Thúy", "Thùy", "Ngọc", "Vy", "Thảo", "Thu",
           "Thư", "Hà", "Hương", "Hoa", "Ngân", "My", "Hiền", "Lan", "Mai", "Hằng", "Nga", "Nhung", "Yến",
           "Huyền", "Oanh", "Quyên", "Trâm", "Uyên", "Vân", "Dung", "Loan", "Hạnh", "Tâm", "Châu", "Giang",
           "Hồng", "Diệp", "Quỳnh", "Tiên", "Chi", "Ly", "Nhàn", "Thanh", "Hậu", "Duyên", "Phượng", "Xuân",
           "Ánh"]


def _zipf(n: int, s: float = 0.8) -> list[float]:
    return [1 / (rank ** s) for rank in range(1, n + 1)]


GIVEN_M_WEIGHTS = _zipf(len(GIVEN_M))
GIVEN_F_WEIGHTS = _zipf(len(GIVEN_F))
HONORIFICS_M = ["anh", "Anh", "chú", "Mr"]
HONORIFICS_F = ["chị", "Chị", "cô", "Ms", "em"]
# Province spellings as typed (every one resolves in resolver/address.py), with a share of customers.
PROVINCES: list[tuple[list[str], float]] = [
    (["TP.HCM", "TP HCM", "Hồ Chí Minh", "Sài Gòn", "tp hcm", "Ho Chi Minh", "Thành phố Hồ Chí Minh"], 24),
    (["Hà Nội", "Ha Noi", "HN", "TP Hà Nội", "ha noi"], 18),
    (["Đà Nẵng", "Da Nang", "TP Đà Nẵng"], 5),
    (["Hải Phòng", "Hai Phong"], 4),
    (["Cần Thơ", "Can Tho"], 3),
    (["Đồng Nai", "Dong Nai"], 4),
    (["Bình Dương", "Binh Duong"], 4),
    (["Nghệ An", "Nghe An"], 3),
    (["Thanh Hóa", "Thanh Hoá", "Thanh Hoa"], 3),
    (["Khánh Hòa", "Khánh Hoà", "Nha Trang, Khánh Hòa"], 2),
    (["Quảng Ninh", "Quang Ninh"], 2),
    (["Bắc Ninh", "Bac Ninh"], 2),
    (["Thừa Thiên Huế", "Huế", "Hue"], 2),
    (["Lâm Đồng", "Đà Lạt, Lâm Đồng"], 2),
    (["Đắk Lắk", "Dak Lak"], 2),
    (["An Giang"], 2),
    (["Bà Rịa - Vũng Tàu", "Vũng Tàu"], 2),
    (["Nam Định", "Nam Dinh"], 2),
    (["Thái Bình", "Thai Binh"], 2),
    (["Long An"], 2),
]
PROVINCE_WEIGHTS = [w for _, w in PROVINCES]
STREETS = ["Nguyễn Huệ", "Lê Lợi", "Trần Hưng Đạo", "Hai Bà Trưng", "Lý Thường Kiệt", "Điện Biên Phủ",
           "Cách Mạng Tháng Tám", "Nguyễn Trãi", "Láng Hạ", "Phan Đình Phùng", "Võ Văn Tần", "Lê Duẩn",
           "Nguyễn Văn Cừ", "Hoàng Diệu", "Quang Trung", "Bạch Đằng", "Trường Chinh", "Hùng Vương"]
MOBILE_PREFIXES = ["32", "33", "34", "35", "36", "37", "38", "39", "86", "96", "97", "98", "70", "76", "77",
                   "78", "79", "90", "93", "81", "82", "83", "84", "85", "88", "91", "94", "56", "58"]
# Today's prefix -> the pre-2018 11-digit one it replaced (vn_phone.md; resolver.phone.LEGACY_MOBILE_PREFIX).
LEGACY = {"70": "120", "79": "121", "77": "122", "76": "126", "78": "128", "83": "123", "84": "124",
          "85": "125", "81": "127", "82": "129", "32": "162", "33": "163", "34": "164", "35": "165",
          "36": "166", "37": "167", "38": "168", "39": "169", "56": "186", "58": "188"}
DOMAINS = ["gmail.com"] * 14 + ["yahoo.com", "yahoo.com.vn", "outlook.com", "icloud.com", "hotmail.com", "fpt.vn"]
CHANNELS = ["webform", "zalo", "pos", "bulk", "call"]
CHANNEL_WEIGHTS = [30, 12, 30, 16, 12]
SOURCES = {"webform": "webform:lien-he", "zalo": "zalo:oa-shop", "pos": "pos:kiotviet-q1", "bulk": "bulk:crm-cu",
           "call": "callcenter:stringee", "facebook": "facebook:page-shop"}
KINDS = {"webform": "form_submission", "zalo": "message", "pos": "order", "bulk": "list_import", "call": "call",
         "facebook": "message"}
START = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_S = int((datetime(2026, 11, 1, tzinfo=UTC) - START).total_seconds())


def fold(text: str) -> str:
    """Without diacritics (đ -> d), as typed on a keyboard with no Vietnamese input method."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


@dataclass(slots=True)
class Person:
    pid: str
    family: str
    middle: str
    given: str
    female: bool
    birth: date
    province: list[str]  # spellings of the person's province
    street: str
    nsn: str | None  # national significant number of the mobile, e.g. 912345678
    email: str | None
    zalo: str | None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.family} {self.middle} {self.given}"


@dataclass(slots=True)
class Record:
    contact: RawContact
    pid: str  # the true person

    @property
    def key(self) -> str:
        return f"{self.contact.source}|{self.contact.source_record_id}"


class PeopleGenerator:
    """Deterministic people and records from one seed; ids stay unique across calls."""

    def __init__(self, seed: int = 2026, dup_share: float = 0.6) -> None:
        self.rng = random.Random(seed)
        self.dup_share = dup_share
        self._nsns: set[str] = set()
        self._emails: set[str] = set()
        self._record_no = 0
        self._person_no = 0

    # --- people ---------------------------------------------------------------------------------

    def new_nsn(self) -> str:
        rng = self.rng
        while True:
            nsn = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10_000_000):07d}"
            if nsn not in self._nsns and len(set(nsn[2:])) > 2:  # no 0911111111-like placeholders
                self._nsns.add(nsn)
                return nsn

    def new_email(self, family: str, middle: str, given: str, birth: date) -> str:
        rng = self.rng
        f, m, g = (fold(x).lower().replace(" ", "") for x in (family, middle, given))
        patterns = [f"{g}{f}", f"{g}.{f}", f"{f}{m}{g}", f"{g}{m[:1]}{f}", f"{g}{f}{birth.year % 100:02d}",
                    f"{f}.{g}{birth.year}", f"{g}{birth.day:02d}{birth.month:02d}"]
        local = rng.choice(patterns)
        domain = rng.choice(DOMAINS)
        email = f"{local}@{domain}"
        # One mailbox per person: Gmail ignores dots, so lan.nguyen@ and lannguyen@ are one address.
        while (key := _mailbox(email)) in self._emails:
            email = f"{local}{rng.randrange(1, 10_000)}@{domain}"
        self._emails.add(key)
        return email

    def person(self, *, family: str | None = None, female: bool | None = None, middle: str | None = None,
               given: str | None = None, province: list[str] | None = None, phone: bool | None = None,
               email: bool | None = None) -> Person:
        rng = self.rng
        female = rng.random() < 0.52 if female is None else female
        family = family or rng.choices(FAMILY, FAMILY_WEIGHTS)[0]
        middle = middle or (rng.choices(MIDDLE_F, MIDDLE_F_WEIGHTS)[0] if female else
                            rng.choices(MIDDLE_M, MIDDLE_M_WEIGHTS)[0])
        given = given or (rng.choices(GIVEN_F, GIVEN_F_WEIGHTS)[0] if female else
                          rng.choices(GIVEN_M, GIVEN_M_WEIGHTS)[0])
        birth = date(1955, 1, 1) + timedelta(days=rng.randrange(50 * 365))
        province = province or rng.choices(PROVINCES, PROVINCE_WEIGHTS)[0][0]
        street = f"{rng.randrange(1, 400)} {rng.choice(STREETS)}"
        nsn = self.new_nsn() if (rng.random() < 0.93 if phone is None else phone) else None
        mail = self.new_email(family, middle, given, birth) if (rng.random() < 0.6 if email is None else email) \
            else None
        zalo = str(rng.randrange(10**17, 10**19)) if rng.random() < 0.45 else None
        self._person_no += 1
        return Person(f"p{self._person_no}", family, middle, given, female, birth, province, street, nsn, mail, zalo)

    # --- noise ----------------------------------------------------------------------------------

    def name_variant(self, p: Person, channel: str) -> str:
        rng = self.rng
        words = [p.family, p.middle, p.given]
        r = rng.random()
        if channel == "zalo" and r < 0.5:
            # Zalo/Facebook display names: given name first, often without the middle name.
            words = [p.given, p.family] if rng.random() < 0.5 else [p.given, p.family, p.middle]
        elif r < 0.08:
            words = [p.family, p.given]
        elif r < 0.12:
            words = [p.given, p.family, p.middle]
        text = " ".join(words)
        if rng.random() < 0.04:
            text = _typo(text, rng)
        r = rng.random()
        if r < 0.3:
            text = fold(text)
        elif r < 0.35:
            text = text.upper()
        elif r < 0.42:
            text = text.lower()
        if rng.random() < 0.06:
            text = f"{rng.choice(HONORIFICS_F if p.female else HONORIFICS_M)} {text}"
        return text

    def phone_variant(self, nsn: str) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.07 and nsn[:2] in LEGACY:
            old = "0" + LEGACY[nsn[:2]] + nsn[2:]
            return f"{old[:5]} {old[5:8]} {old[8:]}" if rng.random() < 0.5 else old
        forms = [f"0{nsn}", f"0{nsn}", f"0{nsn[:3]} {nsn[3:6]} {nsn[6:]}", f"0{nsn[:3]}.{nsn[3:6]}.{nsn[6:]}",
                 f"+84 {nsn[:3]} {nsn[3:6]} {nsn[6:]}", f"84{nsn}", f"+84{nsn}", nsn, f"(+84) {nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"]
        return rng.choice(forms)

    def email_variant(self, email: str) -> str:
        rng = self.rng
        local, domain = email.split("@")
        r = rng.random()
        if domain == "gmail.com" and r < 0.08 and len(local) > 3 and "." not in local:
            cut = rng.randrange(1, len(local) - 1)
            local = f"{local[:cut]}.{local[cut:]}"
        elif domain == "gmail.com" and r < 0.12:
            local = f"{local}+{rng.choice(['shop', 'sale', 'zalo', 'km'])}"
        if rng.random() < 0.1:
            return f"{local.capitalize()}@{domain.upper() if rng.random() < 0.3 else domain}"
        return f"{local}@{domain}"

    def address_variant(self, p: Person) -> str:
        rng = self.rng
        province = rng.choice(p.province)
        return f"{p.street}, {province}" if rng.random() < 0.6 else province

    # --- records --------------------------------------------------------------------------------

    # What each channel usually shows: (phone, email, birth date) probabilities.
    # Forms and tills ask for the phone first (it is how Vietnamese shops find a customer); a Zalo chat
    # shows a phone only after the customer shared it.
    SHOWS = {"webform": (0.95, 0.5, 0.15), "zalo": (0.6, 0.05, 0.05), "pos": (0.97, 0.25, 0.2),
             "bulk": (0.9, 0.5, 0.6), "call": (1.0, 0.0, 0.0)}

    def record(self, p: Person, channel: str, *, at: datetime | None = None, phone: str | None = None,
               email: str | None = None, show_phone: float | None = None, show_email: float | None = None,
               show_birth: float | None = None) -> Record:
        """One record of person `p` through `channel`, showing each field with the channel's usual
        probability (or the given one). `phone` / `email` are values typed as-is (placeholders)."""
        rng = self.rng
        self._record_no += 1
        at = at or START + timedelta(seconds=rng.randrange(SPAN_S))
        d_phone, d_email, d_birth = self.SHOWS[channel]
        show_phone = d_phone if show_phone is None else show_phone
        show_email = d_email if show_email is None else show_email
        show_birth = d_birth if show_birth is None else show_birth
        phones: list[str] = []
        emails: list[str] = []
        channel_ids: list[tuple[str, str]] = []
        attributes: dict[str, str] = {}
        if channel == "zalo" and p.zalo:
            channel_ids.append(("zalo", p.zalo))
        if phone is not None:
            phones.append(phone)
        elif p.nsn and rng.random() < show_phone:
            phones.append(self.phone_variant(p.nsn))
        if email is not None:
            emails.append(email)
        elif p.email and rng.random() < show_email:
            emails.append(self.email_variant(p.email))
        if not (phones or emails or channel_ids):
            if p.nsn:
                phones.append(self.phone_variant(p.nsn))
            elif p.email:
                emails.append(self.email_variant(p.email))
        if rng.random() < show_birth:
            attributes["birth_date"] = p.birth.isoformat()
        if channel in ("bulk", "pos") and rng.random() < 0.5:
            attributes["gender"] = "female" if p.female else "male"
        address = self.address_variant(p) if channel in ("bulk", "pos", "webform") and rng.random() < 0.6 else None
        name = self.name_variant(p, channel) if channel != "call" or rng.random() < 0.4 else None
        contact = RawContact(
            channel=channel, source=SOURCES[channel], source_record_id=f"r{self._record_no}", occurred_at=at,
            received_at=at, interaction_kind=KINDS[channel], name=name, phones=phones, emails=emails,
            address=address, channel_ids=channel_ids, attributes=attributes,
        )
        return Record(contact, p.pid)

    def person_records(self, p: Person) -> list[Record]:
        """One record, plus 1-4 noisy duplicates for `dup_share` of people."""
        rng = self.rng
        n = 1 + (rng.choices([1, 2, 3, 4], [45, 30, 15, 10])[0] if rng.random() < self.dup_share else 0)
        return [self.record(p, rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]) for _ in range(n)]

    def population(self, people: int) -> Iterator[Record]:
        for _ in range(people):
            yield from self.person_records(self.person())

    def records(self, n: int) -> Iterator[Record]:
        """About n records (people are drawn until n records are made; the last person may be cut)."""
        made = 0
        while made < n:
            for record in self.person_records(self.person()):
                if made < n:
                    made += 1
                    yield record


def _mailbox(email: str) -> str:
    local, domain = email.lower().split("@")
    return f"{local.replace('.', '')}@gmail.com" if domain in ("gmail.com", "googlemail.com") else email.lower()


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    i = rng.randrange(len(words))
    w = words[i]
    if len(w) > 3:
        j = rng.randrange(1, len(w) - 1)
        op = rng.random()
        w = w[:j] + w[j + 1:] if op < 0.4 else w[:j] + w[j] + w[j:] if op < 0.7 else w[:j - 1] + w[j] + w[j - 1] + w[j + 1:]
    words[i] = w
    return " ".join(words)


# --- hard cases ---------------------------------------------------------------------------------------

@dataclass(slots=True)
class HardCase:
    kind: str
    description: str
    records: list[Record]
    expect: str  # "apart": the persons must stay apart; "together": one person's records must join

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.records]


HARD_CASE_KINDS = {
    "household_phone": "husband, wife and a grown child give the family's one phone; different names and birth dates",
    "namesakes_one_province": "two different people with the same full name in one province, each with own phone",
    "reassigned_phone": "a number used by one customer until 2020 belongs to a stranger from 2023 on",
    "till_placeholders": "walk-in customers at the till typed with placeholder phones/emails or the shop's own",
    "changed_number": "one customer's records before and after a new number; half joined by an email shown "
                      "with each number, half only by name, birth date and address",
    "zalo_bridge": "a Zalo-only identity and a phone+email identity, bridged only by a Zalo submit-info event",
}


def hard_cases(gen: PeopleGenerator, per_kind: int = 10) -> list[HardCase]:
    rng = gen.rng
    cases: list[HardCase] = []
    for _ in range(per_kind):
        # Household: one phone, three people; each person also has their own email on some records.
        home = gen.new_nsn()
        family = rng.choices(FAMILY, FAMILY_WEIGHTS)[0]
        province = rng.choices(PROVINCES, PROVINCE_WEIGHTS)[0][0]
        members = [gen.person(family=family if i != 1 else None, female=(i == 1), province=province, email=True)
                   for i in range(3)]
        recs = []
        for m in members:
            m.nsn = home
            recs += [gen.record(m, "pos", show_phone=1.0, show_email=0.6, show_birth=0.6) for _ in range(2)]
        cases.append(HardCase("household_phone", HARD_CASE_KINDS["household_phone"], recs, "apart"))

        # Namesakes: same full name in one province, different phones, emails and birth dates.
        twin = gen.person()
        other = gen.person(family=twin.family, female=twin.female, middle=twin.middle, given=twin.given,
                           province=twin.province)
        recs = [gen.record(p, c) for p in (twin, other) for c in ("webform", "pos")]
        cases.append(HardCase("namesakes_one_province", HARD_CASE_KINDS["namesakes_one_province"], recs, "apart"))

        # Reassigned number: the old owner until 2020, a different person (other name) from 2023.
        old, new = gen.person(email=True), gen.person(email=True)
        new.nsn = old.nsn
        recs = [gen.record(old, "pos", at=datetime(2019 + i, 3 + i, 5, tzinfo=UTC), show_phone=1.0) for i in range(2)]
        recs += [gen.record(new, "webform", at=datetime(2023 + i, 6, 9 + i, tzinfo=UTC), show_phone=1.0)
                 for i in range(2)]
        cases.append(HardCase("reassigned_phone", HARD_CASE_KINDS["reassigned_phone"], recs, "apart"))

        # Till placeholders: five walk-ins with no real identifier; the cashier typed the shop's own
        # number twice, the usual placeholders otherwise (the same ones in every shop).
        shop_phone = f"0{gen.new_nsn()}"
        typed = [(shop_phone, None), (shop_phone, None), ("0000000000", None), (None, "khachle@gmail.com"),
                 ("0123456789", "noemail@gmail.com")]
        recs = []
        for phone, mail in typed:
            walk_in = gen.person(phone=False, email=False)
            recs.append(gen.record(walk_in, "pos", phone=phone, email=mail, show_birth=0.0))
        cases.append(HardCase("till_placeholders", HARD_CASE_KINDS["till_placeholders"], recs, "apart"))

        # Changed number: old number in 2019-2021, new one from 2023. Half the time one 2022 record shows
        # the email beside the old number and a later one beside the new number; otherwise only the
        # name, birth date and address carry over (a probabilistic link).
        mover = gen.person(email=True)
        by_email = len(cases) % 12 < 6
        first = mover.nsn
        recs = [gen.record(mover, "pos", at=datetime(2019 + i, 4, 2, tzinfo=UTC), show_phone=1.0, show_email=0.0,
                           show_birth=1.0) for i in range(2)]
        if by_email:
            recs.append(gen.record(mover, "webform", at=datetime(2022, 8, 1, tzinfo=UTC), show_phone=1.0,
                                   email=mover.email, show_birth=1.0))
        mover.nsn = gen.new_nsn()
        recs += [gen.record(mover, "bulk", at=datetime(2023 + i, 5, 20, tzinfo=UTC), show_phone=1.0,
                            show_email=1.0 if by_email and i == 0 else 0.0, show_birth=1.0) for i in range(2)]
        mover.nsn = first
        for r in recs:
            r.contact.address = f"{mover.street}, {mover.province[0]}"
        cases.append(HardCase("changed_number", HARD_CASE_KINDS["changed_number"], recs, "together"))

        # Zalo bridge: Zalo messages (id + display name only), web forms (phone + email), one Zalo
        # user_submit_info event carrying the Zalo id and the phone.
        person = gen.person(email=True, phone=True)
        person.zalo = person.zalo or str(rng.randrange(10**17, 10**19))
        recs = [gen.record(person, "zalo", show_phone=0.0, show_email=0.0, show_birth=0.0) for _ in range(2)]
        recs += [gen.record(person, "webform", show_phone=1.0, show_email=1.0) for _ in range(2)]
        submit = gen.record(person, "zalo", show_phone=1.0, show_email=0.0, show_birth=0.0)
        submit.contact.interaction_kind = "user_submit_info"
        recs.append(submit)
        cases.append(HardCase("zalo_bridge", HARD_CASE_KINDS["zalo_bridge"], recs, "together"))
    return cases
