"""Do two checkouts of hopnhat normalise identically? The proof behind a normaliser speed-up.

    git worktree add /tmp/hopnhat-old <commit>        # the code before
    python bench/normalise_identity.py --old /tmp/hopnhat-old [--new .] [--events 100000] [--fuzz 100000] [--seed 7]

Cases: the bench's records (bench/normalise.py: --events at --messy 0.2, and a third as many again at
--messy 1.0) and --fuzz generated RawContacts: phones (every VN prefix, legacy 11-digit and area
codes, +84/0084/(0), brackets, separators, extensions, words, several numbers, full-width digits,
spreadsheet floats, placeholders, foreign codes, garbage), emails (odd case, typos, mailto:, quotes,
unicode, special-use TLDs, long parts), names (case, NFD, TCVN3, honorifics, order, business words,
digits, brackets, symbols, invisible characters, mixed scripts), addresses, channel ids, and
values the model must refuse or coerce (non-str attributes, amount "12" or True, naive or non-UTC
times, a raw_ref). Each checkout runs `canonical_event` over all cases in a subprocess (the name
caches emptied once) and writes, per case, the event's JSON and its full model state (every nested
model's fields, value types, fields set, extra and private), the Rejected value or the exception;
then the field normalisers' results on every phone, email and name value. The outputs are compared
byte for byte. One final JSON line on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXED = datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC)

FAMILY = ("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Hà Mai Chu Ông Kim Lâm Tôn "
          "Đoàn Giang Quang Thái Sùng Ksor Niê Đèo").split()
MIDDLE = "Thị Văn Hữu Đức Công Quốc Ngọc Thu Thanh Minh Bảo Gia Phương Nữ Thất Phước Phúc Kim".split()
GIVEN = ("An Bình Lan Hùng Huyền Thảo Thủy Thúy Ngọc Anh Hà Mai Long Tùng Dũng Nguyện Trang Giang Hoa Lam Chi "
         "Quang Nhung Yến Phương Hương Khoa Tuấn Đạt Ánh Hải Ý Ưng").split()
HONOURS = ["chị", "Chị", "anh", "Anh", "A.", "C.", "em", "cô", "Cô", "chú", "Chu", "bác", "ông", "Ông", "Mr", "Mrs.",
           "Ms", "Quý khách", "quý khách", "khách hàng", "Khach hang", "bà", "Ba", "mẹ", "bố", "Dr."]
ODD_WORDS = ["Shop", "shop", "Quán", "tiệm", "Kho", "Sỉ", "Spa", "Công ty", "cua hang", "Y", "H'", "K'", "Y-", "Tôn Nữ",
             "Nguyễn Phước", "Âu Dương", "Công Tằng Tôn Nữ", "McDonald", "DeAnna", "O'Neil", "Mary-Jane", "x", "n/a",
             "Nguyen Van A", "Test", "1990", "(Zalo)", "[VIP]", "😀", "★", "Д", "Ωmega", "Lan2", "Ðức", "ðào", "ơ\u0301",
             "Thu\u200bHà", "Hà\u00a0Nội", "Lê\u00adLan", "ＬＡＮ", "-", ".", "Trần.", ",Bình", "Nguyễn Văn", "Phạm Văn"]
TCVN3 = None  # filled from the checkout's resolver.legacy_encoding in build_cases

PHONE_STARTS = ["3", "5", "7", "8", "9", "2", "1", "4", "6", "0", "32", "38", "39", "56", "58", "59", "70", "76",
                "79", "81", "86", "88", "89", "90", "91", "92", "93", "94", "96", "97", "98", "99", "99", "87", "55",
                "24", "28", "236", "203", "204", "222", "251", "290", "299", "240", "241", "280", "511", "510", "650",
                "651", "8", "4", "120", "121", "123", "126", "128", "162", "165", "168", "169", "186", "188", "199",
                "1800", "1900", "672", "6", "669", "111", "113", "115"]
PHONE_PREFIXES = ["0", "0", "0", "", "+84", "+84 ", "84", "0084", "+84 (0)", "(+84) ", "(84) ", "+840", "(0",
                  "+1 ", "+44 ", "+86", "+65 ", "00", "001", "(08) ", "(028) ", "(0511) ", "(04)", "( 08 )", "+", "++84",
                  "0 ", "(0)", "84 0"]
SEPARATORS = ["", "", "", " ", ".", "-", " - ", "/", ")", "(", ",", " .", "  ", "\t", "\u00a0", "–", ";"]
PHONE_EXTRAS = ["", "", "", "", " ext 12", " ext. 345", " máy lẻ 3", " may le 45", " #5", " x12", " nhánh 9", " ml 7",
                " hoặc ", " or ", " / ", "; ", ", ", " - ", "SĐT: ", "Zalo ", "DĐ:", "Tel.", " (chị Lan)", ".0", "e+08",
                " Anh Hùng", "\n", "|"]
PLACEHOLDERS = ["0000000000", "0123456789", "0912000000", "0911111111", "0900000001", "123456789", "0987654321",
                "1111111", "84912345678", "912345678", "912345678.0", "9.12E+08", "9,12E+08", "０９１２３４５６７８",
                "٠٩١٢٣٤٥٦٧٨", "³12345678", "", " ", "abc", "+", "()", "0", "84", "+84", "113", "1800 1234",
                "1900 1234 56", "0672 123 456", "(08) 3812 3456", "(0511) 3812345", "0511 3812345", "08 3812 3456",
                "02363812345", "0240 3812 345", "0120 123 4567", "01234567890", "0121 0123 456"]

EMAIL_LOCALS = ["lan", "Lan.Nguyen", "nguyen.van.an", "an+shop", "a.b.c+x", "test", "noemail", "n/a", "abc", "huyen_88",
                "thu%1", "x-y", "\"quoted\"", "lan..nguyen", ".lan", "lan.", "nguyễn", "Ünï", "a" * 65, "a b", "lan@x",
                "TRANG", "0912345678", "e"]
EMAIL_DOMAINS = ["gmail.com", "GMAIL.COM", "googlemail.com", "gmial.com", "gmail.com.vn", "gmail.co", "gmaik.com",
                 "yahoo.com", "yahoo.com.vn", "yahooo.com", "yahoo.cm", "hotmail.com", "hotmial.com", "outlook.com",
                 "icloud.com", "fpt.vn", "fpt.com.vn", "vnn.vn", "example.com", "test.com", "mail.com", "ymail.com",
                 "công-ty.vn", "xn--cng-ty-4ua.vn", "localhost", "x.local", "a.test", "b.onion", "vn", "-bad.com",
                 "bad-.com", "a" * 64 + ".com", "sub.domain.co.uk", "1.2.3.4", "[127.0.0.1]", "gmail..com",
                 "yahoo.com.v", "gmailcom", "edu.vn", "hcmus.edu.vn"]
ADDRESSES = ["12 Nguyễn Huệ, Quận 1, TP HCM", "số 5 ngõ 2 Láng Hạ, Đống Đa, Hà Nội", "Đà Nẵng", "123 Lê Lợi, Huế",
             "Xã Tân Phú, Huyện Đức Hòa, Long An", "TP. Thủ Đức", "Quận 7", "Hanoi", "ha noi", "HCM", "  ", "",
             "Phường Bến Nghé, Q1, Tp.HCM", "Thôn 3, xã Ea Kao, Buôn Ma Thuột, Đắk Lắk", "Sài Gòn", "abc xyz",
             "45/2 Trần Hưng Đạo, P.5, Q.5, TP.Hồ Chí Minh, Việt Nam", "Bình Dương", "tỉnh Hà Tây", "Hà Tĩnh"]


def fuzz_phone(rnd: random.Random) -> str:
    if rnd.random() < 0.1:
        return rnd.choice(PLACEHOLDERS)
    if rnd.random() < 0.04:
        return "".join(rnd.choice("0123456789 +().-/abcxđ#ăư\u00a0٣３") for _ in range(rnd.randint(0, 20)))
    numbers = []
    for _ in range(1 if rnd.random() < 0.85 else rnd.randint(2, 3)):
        start = rnd.choice(PHONE_STARTS)
        digits = start + "".join(rnd.choice("0123456789") for _ in range(max(0, rnd.choice(
            [9, 9, 9, 10, 10, 8, 7, 11, 6, 12, 3]) - len(start))))
        if rnd.random() < 0.03:
            digits = digits[0] * len(digits)
        out = rnd.choice(PHONE_PREFIXES)
        for i, ch in enumerate(digits):
            if i and rnd.random() < 0.25:
                out += rnd.choice(SEPARATORS)
            out += ch
        if rnd.random() < 0.02:
            out = unicodedata.normalize("NFKC", out).translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
        numbers.append(out)
    text = rnd.choice([" hoặc ", " / ", ", ", "; ", " - ", " or ", "\n", " zalo "]).join(numbers)
    if rnd.random() < 0.25:
        extra = rnd.choice(PHONE_EXTRAS)
        text = extra + text if rnd.random() < 0.4 else text + extra
    if rnd.random() < 0.1:
        text = rnd.choice([" ", "  ", "\t", "\u00a0"]) + text + rnd.choice(["", " ", "\n"])
    return text


def fuzz_email(rnd: random.Random) -> str:
    if rnd.random() < 0.03:
        return rnd.choice(["", " ", "@", "lan@", "@gmail.com", "lan", "lan@@gmail.com", "mailto:", "<>", "a@b"])
    local = rnd.choice(EMAIL_LOCALS)
    if rnd.random() < 0.3:
        local += str(rnd.randint(0, 9999))
    text = local + "@" + rnd.choice(EMAIL_DOMAINS)
    r = rnd.random()
    if r < 0.1:
        text = text.upper()
    elif r < 0.15:
        text = "mailto:" + text
    elif r < 0.2:
        text = f" <{text}> "
    elif r < 0.23:
        text = text + "."
    elif r < 0.26:
        text = text.replace("@", " @ ")
    return text


def fuzz_name(rnd: random.Random) -> str:
    if rnd.random() < 0.05:
        return rnd.choice(["", " ", "x", "N/A", "Khách", "khách hàng", "Nguyễn Văn A", "chị", "anh Lan", "Lan",
                           "NGUYỄN", "😀", "123", "(Zalo)", "Anh Phạm Văn", "chu văn nguyện", "Ông Văn Tùng"])
    words = [rnd.choice(FAMILY)] + [rnd.choice(MIDDLE) for _ in range(rnd.choice([0, 1, 1, 1, 2]))] + [rnd.choice(GIVEN)]
    if rnd.random() < 0.2:
        words = words[-1:] + words[:-1] if rnd.random() < 0.6 else words[1:] + words[:1]
    if rnd.random() < 0.15:
        words.insert(rnd.randint(0, len(words)), rnd.choice(ODD_WORDS))
    if rnd.random() < 0.2:
        words.insert(0, rnd.choice(HONOURS))
    text = " ".join(words)
    r = rnd.random()
    if r < 0.15:
        text = text.upper()
    elif r < 0.25:
        text = text.lower()
    elif r < 0.3:
        text = "".join(ch.upper() if rnd.random() < 0.5 else ch for ch in text)
    r = rnd.random()
    if r < 0.2:
        text = unicodedata.normalize("NFD", text)
    elif r < 0.3 and TCVN3:
        text = "".join(TCVN3.get(ch, TCVN3.get(ch.lower(), ch)) for ch in text)
    elif r < 0.33:
        text = text.encode("utf-8").decode("cp1252", errors="replace")
    elif r < 0.4:
        from hopnhat.sample import fold

        text = fold(text)
    if rnd.random() < 0.05:
        text = rnd.choice(["  ", "\t", "\u00a0", "\u200b", "\ufeff", "."]) + text + rnd.choice(["", " ", ",", "!", "\u200d"])
    return text


def fuzz_contact(rnd: random.Random, n: int) -> Any:
    from schema.contact import RawContact

    def odd(common: Any, *rare: Any, p: float = 0.03) -> Any:
        return rnd.choice(rare) if rnd.random() < p else common

    times = [FIXED, FIXED.astimezone(timezone(timedelta(hours=7))), FIXED.replace(tzinfo=None), datetime(2019, 1, 1, tzinfo=UTC)]
    attributes: dict[Any, Any] = {"utm_source": rnd.choice(["zalo", "facebook", "", "google"])} if rnd.random() < 0.7 else {}
    if rnd.random() < 0.1:
        attributes["name.flags"] = "x"
        attributes["invalid.phone.0"] = "y"
    if rnd.random() < 0.02:
        attributes[rnd.choice(["n", 1])] = rnd.choice([1, None, "v", 2.5, True])
    payload = odd(rnd.choice([{}, {}, {"form": "lead", "n": 1}, {"nested": {"a": [1, 2, None]}}, {"t": FIXED}]), {1: "x"})
    return RawContact(
        channel=odd(rnd.choice(["webform", "zalo", "facebook", "pos", "email", "call"]), "", 5),
        source=odd("webform:fuzz", "", None),
        source_record_id=odd(f"f{n}", "", 7),
        occurred_at=odd(rnd.choice(times), "2026-11-23T01:02:03Z", 1700000000, None, p=0.02),
        received_at=rnd.choice(times),
        interaction_kind=odd(rnd.choice(["form_submission", "message", "order", "call"]), "", None),
        name=rnd.choice([None, fuzz_name(rnd), fuzz_name(rnd), fuzz_name(rnd)]),
        phones=[fuzz_phone(rnd) for _ in range(rnd.choice([0, 1, 1, 1, 2, 3]))],
        emails=[fuzz_email(rnd) for _ in range(rnd.choice([0, 0, 1, 1, 2]))],
        address=rnd.choice(ADDRESSES) if rnd.random() < 0.15 else None,
        channel_ids=[(odd(rnd.choice(["zalo", "fb_psid", "pos_customer", "external", "cookie", "phone"]), "bogus"),
                      rnd.choice(["123", " 456 ", "", "  ", "abc"])) for _ in range(rnd.choice([0, 0, 0, 1, 2]))],
        attributes=attributes,
        summary=odd(rnd.choice([None, "Cho em xin báo giá ạ", ""]), 5, b"x"),
        amount_vnd=odd(rnd.choice([None, None, 150000, 0, -1, 10**20]), "12", True, 1.0, 1.5, "x"),
        payload=payload,
    )


def build_cases(events: int, fuzz: int, seed: int) -> list[tuple[Any, str, Any]]:
    """(contact, event_id, raw_ref) triples, times pinned so that both checkouts see the same values."""
    global TCVN3
    sys.path.insert(0, str(ROOT / "bench"))
    from normalise import _TCVN3, build  # bench/normalise.py

    from schema.events import RawRef

    TCVN3 = _TCVN3
    cases: list[tuple[Any, str, Any]] = []
    for n, messy in ((events, 0.2), (events // 3, 1.0)):
        contacts, _ = build(n, messy, seed)
        for c in contacts:
            c.occurred_at = c.received_at = FIXED
        cases += [(c, f"bench:{i}", None) for i, c in enumerate(contacts)]
    rnd = random.Random(seed)
    for n in range(fuzz):
        ref = rnd.choice([None, None, RawRef(topic="raw.webform", partition=0, offset=n)])
        cases.append((fuzz_contact(rnd, n), rnd.choice([f"fuzz:{n}", ""]), ref))
    return cases


def state(obj: Any) -> Any:
    """Everything a model instance holds, recursively, with value types: two events that print the same
    here are the same object graph as far as any reader can tell."""
    from pydantic import BaseModel

    if isinstance(obj, BaseModel):
        return (type(obj).__name__, {k: state(v) for k, v in obj.__dict__.items()}, sorted(obj.__pydantic_fields_set__),
                obj.__pydantic_extra__, obj.__pydantic_private__)
    if isinstance(obj, list):
        return [state(v) for v in obj]
    if isinstance(obj, dict):
        return {repr(k): state(v) for k, v in obj.items()}
    return (type(obj).__name__, repr(obj))


def dump(tree: str, cases_path: str, out_path: str) -> None:
    """Child mode: every case's event (or rejection, or error), then the field normalisers' results."""
    sys.path.insert(0, tree)
    from resolver.email import normalise_email
    from resolver.name import clear_name_caches, parse_name
    from resolver.normalise import canonical_event
    from resolver.phone import normalise_phone, normalise_phone_field

    cases = pickle.loads(Path(cases_path).read_bytes())
    clear_name_caches()
    with open(out_path, "w", encoding="utf-8") as out:
        for contact, event_id, raw_ref in cases:
            try:
                event = canonical_event(contact, event_id, raw_ref)
            except Exception as exc:  # noqa: BLE001 - an input one checkout refuses must be refused alike
                out.write(f"E\t{type(exc).__name__}\t{exc!r}\n")
                continue
            if hasattr(event, "model_dump_json"):
                out.write(f"J\t{event.model_dump_json()}\nS\t{state(event)!r}\n")
            else:
                out.write(f"R\t{event!r}\n")
        for contact, _, _ in cases:
            for phone in contact.phones:
                out.write(f"P\t{normalise_phone_field(phone)!r}\t{normalise_phone(phone)!r}\n")
            for email in contact.emails:
                out.write(f"M\t{normalise_email(email)!r}\n")
            if isinstance(contact.name, str):
                out.write(f"N\t{parse_name(contact.name)!r}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="checkout of the code before")
    parser.add_argument("--new", default=str(ROOT), help="checkout of the code after (default: this one)")
    parser.add_argument("--events", type=int, default=100_000, help="bench records at --messy 0.2 (and a third at 1.0)")
    parser.add_argument("--fuzz", type=int, default=100_000, help="generated RawContacts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dump", nargs=3, help=argparse.SUPPRESS)  # child mode: TREE CASES OUT
    args = parser.parse_args()
    if args.dump:
        dump(*args.dump)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = build_cases(args.events, args.fuzz, args.seed)
        (work / "cases.pkl").write_bytes(pickle.dumps(cases))
        outputs = {}
        for side in ("old", "new"):
            tree = str(Path(getattr(args, side)).resolve())
            env = {**os.environ, "PYTHONPATH": tree}
            subprocess.run([sys.executable, __file__, "--old", "-", "--dump", tree, str(work / "cases.pkl"),
                            str(work / f"{side}.out")], env=env, check=True)
            outputs[side] = (work / f"{side}.out").read_bytes()
        old, new = outputs["old"].splitlines(), outputs["new"].splitlines()
        differ = [i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b]
        for i in differ[:5]:
            print(f"line {i}:\n  old {old[i][:600]!r}\n  new {new[i][:600]!r}", file=sys.stderr)
        kinds = {k: sum(line.startswith(k.encode() + b"\t") for line in new) for k in "JREPMN"}
        print(json.dumps({"bench": "normalise_identity", "identical": outputs["old"] == outputs["new"],
                          "cases": len(cases), "events": kinds["J"], "rejected": kinds["R"], "errors": kinds["E"],
                          "phone_values": kinds["P"], "email_values": kinds["M"], "name_values": kinds["N"],
                          "differing_lines": len(differ) + abs(len(old) - len(new)),
                          "sha256": hashlib.sha256(outputs["new"]).hexdigest()}))


if __name__ == "__main__":
    main()
