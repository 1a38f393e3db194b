"""A realistic Vietnamese sample for the demo and benchmarks: people who come back several times.

Each person has a name, a mobile number on a real prefix and usually an email. Each visit is a web
form submission showing a random subset of what they typed that day, the way people really fill
forms: phones as 0912.345.678, +84 912 345 678 or 84912345678; names with or without diacritics
(typed on a keyboard without a Vietnamese input method) or in NFD; emails in odd case or with a
typo in the domain. Deterministic for a given seed. `Visit.person` is the ground truth.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
          "Ngô", "Dương", "Lý"]
FAMILY_WEIGHTS = [38, 11, 9.5, 7, 5, 5, 4.5, 3.9, 3.9, 2.1, 2, 1.4, 1.3, 1.3, 1, 0.5]
MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công", "Xuân"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mai", "Bảo", "Phương"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Minh", "Nam", "Phong", "Quân",
           "Quang", "Sơn", "Trung", "Tuấn", "Việt", "Đạt", "Hiếu", "Thắng"]
GIVEN_F = ["Anh", "Chi", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngọc", "Nhung", "Phương", "Thảo",
           "Thủy", "Trang", "Vy", "Yến", "Huyền", "Oanh", "Quyên"]
MOBILE_PREFIXES = ["32", "33", "34", "35", "36", "37", "38", "39", "86", "96", "97", "98", "70", "76", "77",
                   "78", "79", "90", "93", "81", "82", "83", "84", "85", "88", "91", "94", "56", "58"]
DOMAINS = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "icloud.com", "fpt.vn"]
DOMAIN_TYPOS = {"gmail.com": "gmial.com", "yahoo.com": "yaho.com"}
VN = timezone(timedelta(hours=7))
MESSAGES = ["Cho em xin báo giá ạ", "Tư vấn giúp mình gói gia đình", "Đặt lịch hẹn thứ Bảy",
            "Shop còn size M không ạ?", "Gọi lại cho tôi sau 5h chiều", "Muốn đăng ký nhận ưu đãi"]


def fold(text: str) -> str:
    """Strip Vietnamese diacritics (đ -> d), as typed without an input method."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class Person:
    index: int
    name: str
    nsn: str  # national significant number, e.g. 912345678
    email: str | None


@dataclass(frozen=True, slots=True)
class Visit:
    person: int
    submission_id: str
    fields: dict[str, str]
    as_json: bool


def make_people(n: int, rng: random.Random) -> list[Person]:
    people = []
    used: set[str] = set()
    for i in range(n):
        female = rng.random() < 0.5
        name = " ".join([rng.choices(FAMILY, FAMILY_WEIGHTS)[0], rng.choice(MIDDLE_F if female else MIDDLE_M),
                         rng.choice(GIVEN_F if female else GIVEN_M)])
        nsn = ""
        while not nsn or nsn in used:
            nsn = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10_000_000):07d}"
        used.add(nsn)
        email = None
        if rng.random() < 0.8:
            parts = fold(name).lower().split()
            email = f"{parts[-1]}.{parts[0]}{rng.randrange(1, 9999)}@{rng.choice(DOMAINS)}"
        people.append(Person(i, name, nsn, email))
    return people


def phone_variant(nsn: str, rng: random.Random) -> str:
    forms = [f"0{nsn[:3]}.{nsn[3:6]}.{nsn[6:]}", f"+84 {nsn[:3]} {nsn[3:6]} {nsn[6:]}", f"84{nsn}",
             f"0{nsn}", f"0{nsn[:3]} {nsn[3:6]} {nsn[6:]}", f"(+84) {nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"]
    return rng.choice(forms)


def name_variant(name: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.2:
        return fold(name)
    if r < 0.3:
        return unicodedata.normalize("NFD", name)
    if r < 0.35:
        return name.upper()
    return name


def email_variant(email: str, rng: random.Random) -> str:
    r = rng.random()
    local, domain = email.split("@")
    if r < 0.15:
        return f"{local.capitalize()}@{domain.upper()}"
    if r < 0.2 and domain in DOMAIN_TYPOS:
        return f"{local}@{DOMAIN_TYPOS[domain]}"
    return email


def make_visits(people: list[Person], rng: random.Random, end: datetime, max_visits: int = 4) -> list[Visit]:
    """Visits spread over the 20 hours before `end` (so timeliness scores reflect the pipeline)."""
    visits: list[tuple[datetime, Visit]] = []
    start = end - timedelta(hours=20)
    for p in people:
        for v in range(rng.randint(1, max_visits)):
            show = rng.random()
            fields = {"full_name": name_variant(p.name, rng)}
            if p.email is None or show < 0.45:
                fields["phone"] = phone_variant(p.nsn, rng)
            elif show < 0.7:
                fields["email"] = email_variant(p.email, rng)
            else:
                fields["phone"] = phone_variant(p.nsn, rng)
                fields["email"] = email_variant(p.email, rng)
            at = start + timedelta(seconds=rng.randrange(20 * 3600))
            fields["submitted_at"] = at.astimezone(VN).isoformat()
            fields["message"] = rng.choice(MESSAGES)
            fields["utm_source"] = rng.choice(["facebook", "google", "zalo", "direct"])
            fields["consent_marketing"] = rng.choice(["1", "0"])
            visits.append((at, Visit(p.index, f"s{p.index:06d}-{v}", fields, rng.random() < 0.5)))
    visits.sort(key=lambda t: t[0])
    return [v for _, v in visits]


def generate(customers: int, seed: int = 84, end: datetime | None = None) -> tuple[list[Person], list[Visit]]:
    """People and their visits; the same seed gives the same people and submissions (times end at `end`)."""
    rng = random.Random(seed)
    people = make_people(customers, rng)
    return people, make_visits(people, rng, (end or datetime.now(UTC)).replace(microsecond=0))
