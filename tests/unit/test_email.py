"""Email match keys and domain-typo flags (resolver/email.py): the stored address is never rewritten."""

import pytest

from resolver.email import email_match_key, normalise_email

LOCALS = ["lan.nguyen", "nguyenvanan", "tran.thi.mai.1990", "hung_le", "an-pham", "thuy.vo86"]

MATCH_KEYS = [
    ("gmail-plus-tag", "minh+shop@gmail.com", "minh@gmail.com"),
    ("gmail-dots", "l.a.n.nguyen@gmail.com", "lannguyen@gmail.com"),
    ("gmail-dots-and-tag", "Lan.Nguyen+zalo@Gmail.COM", "lannguyen@gmail.com"),
    ("gmail-caps", "LANNGUYEN@GMAIL.COM", "lannguyen@gmail.com"),
    ("gmail-double-tag", "lan+a+b@gmail.com", "lan@gmail.com"),
    ("googlemail", "lan.nguyen@googlemail.com", "lannguyen@gmail.com"),
    ("googlemail-tag", "lan+shop@googlemail.com", "lan@gmail.com"),
    ("outlook-dots-kept", "lan.nguyen@outlook.com", "lan.nguyen@outlook.com"),
    ("outlook-tag-kept", "lan+shop@outlook.com", "lan+shop@outlook.com"),
    ("hotmail-tag-kept", "lan+shop@hotmail.com", "lan+shop@hotmail.com"),
    ("live-tag-kept", "lan+shop@live.com", "lan+shop@live.com"),
    ("yahoo-dots-kept", "lan.nguyen@yahoo.com", "lan.nguyen@yahoo.com"),
    ("yahoo-vn", "Lan.Nguyen@Yahoo.com.vn", "lan.nguyen@yahoo.com.vn"),
    ("fpt", "an.tran@fpt.vn", "an.tran@fpt.vn"),
    ("company", "hoa.le+crm@cong-ty.vn", "hoa.le+crm@cong-ty.vn"),
    ("icloud", "an.pham@icloud.com", "an.pham@icloud.com"),
    ("typo-domain-not-folded", "lan.nguyen@gmial.com", "lan.nguyen@gmial.com"),
] + [
    (f"gmail-{local}", f"{local}@gmail.com", local.replace(".", "") + "@gmail.com") for local in LOCALS
] + [
    (f"gmail-{local}-tagged", f"{local}+shopee@gmail.com", local.replace(".", "") + "@gmail.com") for local in LOCALS
]


@pytest.mark.parametrize(("raw", "key"), [c[1:] for c in MATCH_KEYS], ids=[c[0] for c in MATCH_KEYS])
def test_match_key(raw: str, key: str) -> None:
    result = normalise_email(raw)
    assert result.match_key == key
    assert result.value == raw.strip().lower()  # the stored address keeps dots and tags
    assert email_match_key(key) == key


TYPOS = [
    ("gmial", "gmial.com", "gmail.com"), ("gmai", "gmai.com", "gmail.com"), ("gmail-co", "gmail.co", "gmail.com"),
    ("gmal", "gmal.com", "gmail.com"), ("gamil", "gamil.com", "gmail.com"), ("gmail-con", "gmail.con", "gmail.com"),
    ("gmail-cm", "gmail.cm", "gmail.com"), ("gmail-om", "gmail.om", "gmail.com"), ("gmaill", "gmaill.com", "gmail.com"),
    ("gmail-comm", "gmail.comm", "gmail.com"), ("gmail-com-vn", "gmail.com.vn", "gmail.com"),
    ("gmail-vn", "gmail.vn", "gmail.com"), ("gnail", "gnail.com", "gmail.com"), ("gmaik", "gmaik.com", "gmail.com"),
    ("gmeil", "gmeil.com", "gmail.com"), ("gmil", "gmil.com", "gmail.com"), ("gmail-cpm", "gmail.cpm", "gmail.com"),
    ("yaho", "yaho.com", "yahoo.com"), ("yahooo", "yahooo.com", "yahoo.com"), ("yhoo", "yhoo.com", "yahoo.com"),
    ("yahoo-con", "yahoo.con", "yahoo.com"), ("yaho-vn", "yaho.com.vn", "yahoo.com.vn"),
    ("yahoo-vn-short", "yahoo.vn", "yahoo.com.vn"),
    ("hotmial", "hotmial.com", "hotmail.com"), ("hotmai", "hotmai.com", "hotmail.com"),
    ("hotmal", "hotmal.com", "hotmail.com"), ("hotmail-con", "hotmail.con", "hotmail.com"),
    ("homail", "homail.com", "hotmail.com"), ("outlok", "outlok.com", "outlook.com"),
    ("outlook-con", "outlook.con", "outlook.com"), ("icoud", "icoud.com", "icloud.com"),
    ("iclould", "iclould.com", "icloud.com"),
]


@pytest.mark.parametrize(("domain", "suggestion"), [c[1:] for c in TYPOS], ids=[c[0] for c in TYPOS])
def test_domain_typos_are_flagged_not_rewritten(domain: str, suggestion: str) -> None:
    result = normalise_email(f"lan.nguyen@{domain}")
    assert result.value == f"lan.nguyen@{domain}"
    assert result.suggested_domain == suggestion
    flag = next(f for f in result.flags if f.code == "domain_typo")
    assert domain in flag.reason and suggestion in flag.reason


@pytest.mark.parametrize("domain", ["gmail.com", "yahoo.com", "yahoo.com.vn", "hotmail.com", "outlook.com", "mail.com",
                                    "ymail.com", "live.com", "icloud.com", "fpt.vn", "vnn.vn", "fpt.com.vn", "msn.com",
                                    "gmx.com", "hotmail.fr", "yahoo.co.uk", "me.com", "cong-ty.vn", "hcmut.edu.vn"])
def test_real_domains_are_not_typos(domain: str) -> None:
    result = normalise_email(f"an@{domain}")
    assert result.suggested_domain is None and "domain_typo" not in result.flag_codes


def test_typo_is_suggested_even_when_the_address_is_invalid() -> None:
    result = normalise_email("lan@gmailcom")
    assert result.value is None and result.suggested_domain == "gmail.com"


@pytest.mark.parametrize(("raw", "value"), [("mailto:An@FPT.vn", "an@fpt.vn"), (" <Hoa@Gmail.com> ", "hoa@gmail.com")],
                         ids=["mailto", "brackets-spaces"])
def test_wrappers_removed(raw: str, value: str) -> None:
    assert normalise_email(raw).value == value


def test_placeholders_have_no_match_key() -> None:
    for raw in ("test@test.com", "noemail@gmail.com", "none@example.com", "khongco@yahoo.com",
                "no-email@fpt.vn", "khachle@gmail.com", "Khach.Le+3@gmail.com", "khach_hang@yahoo.com.vn",
                "khachvanglai@gmail.com"):
        result = normalise_email(raw)
        assert (result.value, result.match_key, result.reason) == (None, None, "placeholder")


@pytest.mark.parametrize("raw", ["khachlinh@gmail.com", "le.khach@gmail.com", "testerhoa@gmail.com",
                                 "nam.na@fpt.vn"],
                         ids=["name-starting-khach", "words-reordered", "word-starting-test",
                              "local-containing-na"])
def test_real_mailboxes_that_resemble_placeholders_are_kept(raw: str) -> None:
    assert normalise_email(raw).value == raw
