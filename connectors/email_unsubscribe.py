"""Which inbound mails are unsubscribe requests: the email connector's reading of consent (pure, no I/O).

A person unsubscribes from a business's marketing mail in two ways hopnhat can see in its inbox:

* replying to the RFC 2369 `List-Unsubscribe: <mailto:...?subject=unsubscribe>` of a newsletter: the
  mail client sends a message whose whole subject is the one the mailto: asked for;
* writing to the business's unsubscribe address (`HOPNHAT_EMAIL_UNSUBSCRIBE_ADDRESSES`), whatever the
  subject: some clients drop the mailto:'s subject, people write their own;
* RFC 8058 one-click: the mailbox provider POSTs `List-Unsubscribe=One-Click` to the https: URI of the
  header; the URI carries `one_click_token` (the address and the day the mail was sent, signed with
  HMAC-SHA256 under `HOPNHAT_EMAIL_UNSUBSCRIBE_KEY`), and `one_click_event` makes the raw event.

Either way the person is the `From` address and the statement is "no marketing over email"
(resolver/consent.py turns the connector's `email_subscribed=false` into it). A mail asking to
*subscribe* grants nothing: `From` is not authenticated, and a forged subscribe would put someone on a
marketing list (and lift an erased person's suppression) — a forged unsubscribe only stops mail.

Subjects are compared folded: lower case, Vietnamese diacritics removed (`Hủy`, `Huỷ` and `huy` are
one word; `đ` -> `d`), punctuation and brackets as spaces. The whole subject must be one of
`UNSUBSCRIBE_SUBJECTS`, optionally followed by one opaque token with a digit in it (mailers that put a
list or recipient id in the mailto: subject). A subject that merely contains the words does not count:
"Hủy đăng ký khóa học tiếng Anh" asks to cancel a course, and "Re: unsubscribe" is a conversation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime

from schema.errors import InvalidSignature
from schema.events import CloudEvent

ONE_CLICK_TYPE = "vn.hopnhat.email.one_click_unsubscribe"
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"

# Folded forms. English: what RFC 2369 mailto: links and listserv tradition use. Vietnamese: "cancel
# the registration (to receive mail/news)", "refuse to receive email", "stop receiving" — with both
# spellings of the verb (đăng ký / đăng kí) and "email" also written "e-mail" or "thư".
UNSUBSCRIBE_SUBJECTS = frozenset({
    "unsubscribe", "unsubscribe me", "please unsubscribe me", "opt out", "remove me",
    "huy dang ky", "huy dang ki",
    "huy dang ky nhan tin", "huy dang ky nhan email", "huy dang ky nhan thu", "huy dang ky email",
    "huy dang ki nhan tin", "huy dang ki nhan email", "huy dang ki nhan thu", "huy dang ki email",
    "huy nhan tin", "huy nhan email", "huy nhan thu",
    "tu choi nhan email", "tu choi nhan tin", "tu choi nhan thu", "tu choi quang cao",
    "ngung nhan email", "ngung nhan tin", "ngung nhan thu",
    "khong nhan email nua", "khong nhan tin nua",
})
# `unsubscribe 7f3a9c21`, `unsubscribe:u-48213`: the phrase, then one token with a digit (no spaces inside)
_WITH_TOKEN = re.compile(r"(?P<phrase>[^\d]+?)[\s:=#_-]+(?P<token>[\w=+/.:-]*\d[\w=+/.:-]*)[\s\]>)]*")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def _bare(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").casefold().strip()


def fold(text: str) -> str:
    """Lower case, no diacritics, words separated by one space: `[Huỷ đăng ký]` -> `huy dang ky`."""
    return " ".join(_NOT_WORD.sub(" ", _bare(text)).split()).replace("e mail", "email")


def is_unsubscribe_subject(subject: str) -> bool:
    """The whole subject asks to unsubscribe (module docstring says which subjects)."""
    if fold(subject) in UNSUBSCRIBE_SUBJECTS:
        return True
    with_token = _WITH_TOKEN.fullmatch(_bare(subject))
    return with_token is not None and fold(with_token["phrase"]) in UNSUBSCRIBE_SUBJECTS


def unsubscribe_recipient(recipients: Iterable[str], sender: str, addresses: Iterable[str],
                          auto_submitted: bool) -> str | None:
    """The configured unsubscribe address this mail was sent to, if any. Not for an automatic reply
    (RFC 3834 `Auto-Submitted`: an out-of-office answering a newsletter is no request) nor for mail
    the unsubscribe address sent itself."""
    configured = {a.strip().lower() for a in addresses if a.strip()}
    if not configured or auto_submitted or sender.lower() in configured:
        return None
    return next((r.lower() for r in recipients if r.lower() in configured), None)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def one_click_token(key: bytes, address: str, sent_on: date) -> str:
    """`<address and day, base64url>.<HMAC-SHA256 of them, 128 bits>`: the last path segment of the
    one-click URI. The day makes each day's mailing its own token, so a person who consented again
    after an unsubscribe and then clicks a newer mail's link makes a new statement, while a provider's
    retried POST of the same link is one event."""
    payload = f"{address.strip()}\n{sent_on.isoformat()}".encode()
    return f"{_b64(payload)}.{_b64(hmac.new(key, payload, hashlib.sha256).digest()[:16])}"


def read_one_click_token(key: bytes, token: str) -> tuple[str, date]:
    """(address, day sent) of a token this key signed; InvalidSignature (401) for any other."""
    payload_b64, _, mac_b64 = token.partition(".")
    try:
        payload, mac = _unb64(payload_b64), _unb64(mac_b64)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature("one-click token is not base64url") from exc
    if not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()[:16]):
        raise InvalidSignature("one-click token was not signed with the configured key")
    address, _, day = payload.decode("utf-8", "replace").partition("\n")
    try:
        return address, date.fromisoformat(day)
    except ValueError as exc:  # signed by us, so only a token from a changed format gets here
        raise InvalidSignature("one-click token has no valid day") from exc


def list_unsubscribe_headers(key: bytes, address: str, sent_on: date, base_url: str,
                             mailto: str | None = None) -> dict[str, str]:
    """`List-Unsubscribe` (RFC 2369: the https: one-click URI, then the mailto: if there is an unsubscribe
    address) and `List-Unsubscribe-Post` (RFC 8058) for one outgoing mail to `address`."""
    if not address.strip() or "@" not in address or any(ch.isspace() for ch in address.strip()):
        raise ValueError(f"not an email address: {address!r}")
    uri = f"{base_url.rstrip('/')}/unsubscribe/email/{one_click_token(key, address, sent_on)}"
    targets = [f"<{uri}>"] + ([f"<mailto:{mailto}?subject=unsubscribe>"] if mailto else [])
    return {"List-Unsubscribe": ", ".join(targets), "List-Unsubscribe-Post": ONE_CLICK_BODY}


def one_click_event(address: str, sent_on: date, received_at: datetime) -> CloudEvent:
    """The raw.email event of one verified one-click POST; its id depends on the token's content only."""
    key = hashlib.sha256(f"one-click|{address.lower()}|{sent_on.isoformat()}".encode()).hexdigest()[:40]
    return CloudEvent(
        id=f"email:one-click:{key}", source="/email/one-click", type=ONE_CLICK_TYPE, subject=address.lower(),
        time=received_at.astimezone(UTC), hopnhatchannel="email", hopnhatreceived=received_at,
        data={"origin": "one-click", "address": address, "sent_on": sent_on.isoformat(),
              "source_position": "http:one-click"})
