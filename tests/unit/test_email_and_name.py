import unicodedata

import pytest

from resolver.email import normalise_email
from resolver.name import normalise_name

EMAILS = [
    ("lower-cased", "Lan.Nguyen@Gmail.COM", "lan.nguyen@gmail.com"),
    ("trimmed", "  an.tran@yahoo.com ", "an.tran@yahoo.com"),
    ("angle-brackets", "<hoa.le@fpt.vn>", "hoa.le@fpt.vn"),
    ("plus-tag-kept-in-display-form", "minh+shop@gmail.com", "minh+shop@gmail.com"),
]


@pytest.mark.parametrize(("raw", "value"), [c[1:] for c in EMAILS], ids=[c[0] for c in EMAILS])
def test_valid_emails(raw: str, value: str) -> None:
    assert normalise_email(raw).value == value


@pytest.mark.parametrize(
    ("raw", "reason_start"),
    [("no-at", "invalid"), ("a@b", "invalid"), ("", "empty"), ("test@test.com", "placeholder"),
     ("noemail@gmail.com", "placeholder")],
    ids=["no-at-sign", "no-tld", "empty", "placeholder-test", "placeholder-noemail"],
)
def test_invalid_emails_say_why(raw: str, reason_start: str) -> None:
    result = normalise_email(raw)
    assert result.value is None
    assert result.reason is not None and result.reason.startswith(reason_start)


def test_email_validation_never_touches_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("DNS lookup attempted")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    assert normalise_email("someone@khong-ton-tai-abcxyz.vn").value == "someone@khong-ton-tai-abcxyz.vn"


def test_name_nfd_becomes_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Hồng")
    assert nfd != "Nguyễn Thị Hồng"
    assert normalise_name(nfd) == "Nguyễn Thị Hồng"


@pytest.mark.parametrize("raw", ["", "   ", "không có", "N/A", "-"], ids=["empty", "spaces", "khong-co", "na", "dash"])
def test_placeholder_names_are_none(raw: str) -> None:
    assert normalise_name(raw) is None


def test_name_whitespace_collapsed() -> None:
    assert normalise_name("  Trần   Văn\tAn ") == "Trần Văn An"
