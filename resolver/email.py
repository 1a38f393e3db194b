"""Email normalisation: syntax validated by email-validator, never a DNS lookup in the pipeline.

Three things are kept apart:
* `value`, the stored form: the validated address lower-cased (local parts are case-insensitive at
  every mailbox provider Vietnamese customers use). Never rewritten on a guess.
* `match_key`, what identity matching compares: provider rules that are certain are applied
  (Gmail ignores dots and +tags), nothing else.
* `flags`: what looks wrong but is not fixed, e.g. a domain typo (gmial.com) with the suggested
  domain. A typo is a guess; rewriting the address would send mail to a stranger's domain and could
  merge two people on a guess, so the suggestion is only shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from rapidfuzz.distance import DamerauLevenshtein

from resolver.flags import Flag, flag_codes

# Junk typed to get past a required field: never an identifier (DESIGN: placeholder values).
# Compared without dots, dashes, underscores and a +tag ("khach.le+1@", "no_email@"). "khách lẻ" and
# "khách vãng lai" are what a till calls a walk-in customer (../shared/reference/pos.md §2.3), typed
# into the email field for everyone without one, in every shop alike.
PLACEHOLDER_LOCALS = {"test", "noemail", "none", "na", "n/a", "khongco", "khong", "abc", "example",
                      "khachle", "khachhang", "khachvanglai", "khach"}
PLACEHOLDER_DOMAINS = {"test.com", "example.com", "example.org", "email.com", "abc.com", "domain.com"}

# Gmail delivers a.b.c+shop@gmail.com to abc@gmail.com and googlemail.com is the same mailbox set
# (Google's help pages "Dots don't matter in Gmail addresses" and "Create task-specific addresses").
# Outlook/Hotmail/Live are deliberately NOT folded: dots are significant there, and whether +tags
# reach the same consumer mailbox could not be confirmed from a source while writing this; a wrong
# fold merges two people, a missing fold only loses a match that phone or name evidence can still
# make. Yahoo uses "-" disposable addresses that cannot be told from real hyphens.
GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}

# Providers whose misspellings are worth catching (most used by Vietnamese customers first).
POPULAR_DOMAINS = ("gmail.com", "yahoo.com", "yahoo.com.vn", "hotmail.com", "outlook.com", "icloud.com",
                   "live.com", "fpt.vn", "vnn.vn")
# Real domains one edit away from a popular one: never call them typos.
REAL_NEAR_DOMAINS = {"mail.com", "ymail.com", "gmx.com", "email.com", "yahoo.co", "live.co", "live.cn",
                     "outlook.co", "hotmail.co", "hotmail.fr", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it",
                     "yahoo.ca", "yahoo.cn", "yahoo.co.jp", "yahoo.co.uk", "icloud.co", "fpt.com", "vnn.com",
                     "fpt.edu.vn", "fpt.com.vn", "vnpt.vn", "mac.com", "me.com", "msn.com", "aol.com"}
# Misspellings seen in practice that are more than one edit away, or where a one-edit rule would
# need a choice (gmail.com.vn: Gmail has no .vn domain).
KNOWN_TYPOS = {
    "gmail.com.vn": "gmail.com", "gmail.vn": "gmail.com", "gmai.com.vn": "gmail.com", "gmaill.com.vn": "gmail.com",
    "gamil.com": "gmail.com", "gmial.com": "gmail.com", "gmailcom": "gmail.com", "gmal.com": "gmail.com",
    "g.mail.com": "gmail.com", "gmail.cpm": "gmail.com", "gmail.comm": "gmail.com", "gmail.co": "gmail.com",
    "gmail.con": "gmail.com", "gmail.cm": "gmail.com", "gmail.om": "gmail.com", "gmail.c": "gmail.com",
    "gmaail.com": "gmail.com", "gmeil.com": "gmail.com", "gmil.com": "gmail.com", "gimail.com": "gmail.com",
    "yaho.com": "yahoo.com", "yahooo.com": "yahoo.com", "yhoo.com": "yahoo.com", "yahoo.con": "yahoo.com",
    "yaoo.com": "yahoo.com", "yahho.com": "yahoo.com", "yahoo.com.v": "yahoo.com.vn", "yahoo.vn": "yahoo.com.vn",
    "yaho.com.vn": "yahoo.com.vn", "yahooo.com.vn": "yahoo.com.vn",
    "hotmial.com": "hotmail.com", "hotmai.com": "hotmail.com", "hotmal.com": "hotmail.com", "hotmil.com": "hotmail.com",
    "hotmail.con": "hotmail.com", "hotmaill.com": "hotmail.com", "homail.com": "hotmail.com", "hotnail.com": "hotmail.com",
    "outlok.com": "outlook.com", "outloo.com": "outlook.com", "outlook.con": "outlook.com", "oulook.com": "outlook.com",
    "icoud.com": "icloud.com", "iclould.com": "icloud.com", "icloud.con": "icloud.com",
}


_PLAIN_PROVIDERS = frozenset(POPULAR_DOMAINS) - GMAIL_DOMAINS - KNOWN_TYPOS.keys()

# The plain ASCII shape nearly every address has: dot-separated atoms of letters, digits and _%+-
# before the @, LDH labels and a letters-only TLD after it. Anything else goes to email-validator.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}")
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")  # email-validator rejects these


def _special_use(text: str) -> bool:
    return text.rpartition(".")[2].lower() in _SPECIAL_USE


@dataclass(frozen=True, slots=True)
class EmailResult:
    raw: str
    value: str | None
    reason: str | None = None
    match_key: str | None = None
    suggested_domain: str | None = None
    flags: tuple[Flag, ...] = ()

    @property
    def ok(self) -> bool:
        return self.value is not None

    @property
    def flag_codes(self) -> list[str]:
        return flag_codes(self.flags)


def normalise_email(raw: str) -> EmailResult:
    text = raw.strip().strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
    if not text:
        return EmailResult(raw, None, "empty")
    if _PLAIN_ADDRESS.fullmatch(text) and len(text) <= 254 and text.index("@") <= 64 and not _special_use(text):
        value = text.lower()  # what email-validator returns for these, ~20x faster (tests compare both)
    else:
        try:
            info = validate_email(text, check_deliverability=False, allow_smtputf8=True)
        except EmailNotValidError as exc:
            typed = text.rpartition("@")[2].lower()
            guess = domain_typo(typed) if "@" in text else None
            return EmailResult(raw, None, f"invalid: {exc}", suggested_domain=guess,
                               flags=(_typo_flag(typed, guess),) if guess else ())
        value = info.normalized.lower()
    local, _, domain = value.rpartition("@")
    if _compact_local(local) in PLACEHOLDER_LOCALS or domain in PLACEHOLDER_DOMAINS:
        return EmailResult(raw, None, "placeholder",
                           flags=(Flag("placeholder", "a local part or domain typed to get past a required field"),))
    if domain in _PLAIN_PROVIDERS:
        # A popular provider other than Gmail: domain_typo says None (a popular domain is no typo) and
        # the match key is the address itself, so no flag; the general steps below give this result.
        return _plain_result(raw, value)
    flags: list[Flag] = []
    suggestion = domain_typo(domain)
    if suggestion:
        flags.append(_typo_flag(domain, suggestion))
    key = email_match_key(value)
    if key != value:
        flags.append(Flag("provider_folded", f"match key {key}: Gmail ignores dots and +tags in the local part"))
    return EmailResult(raw, value, None, key, suggestion, tuple(flags))


# EmailResult(raw, value, None, value, None, ()) without the frozen dataclass's __init__, which sets
# each field with object.__setattr__: the same six slots set through their descriptors (~2x faster).
_new_result = object.__new__
_SET_RAW, _SET_VALUE, _SET_REASON, _SET_KEY, _SET_SUGGESTED, _SET_FLAGS = (
    EmailResult.__dict__[name].__set__ for name in ("raw", "value", "reason", "match_key", "suggested_domain", "flags"))
assert EmailResult.__slots__ == ("raw", "value", "reason", "match_key", "suggested_domain", "flags")


def _plain_result(raw: str, value: str) -> EmailResult:
    result = _new_result(EmailResult)
    _SET_RAW(result, raw)
    _SET_VALUE(result, value)
    _SET_REASON(result, None)
    _SET_KEY(result, value)
    _SET_SUGGESTED(result, None)
    _SET_FLAGS(result, ())
    return result


def email_match_key(value: str) -> str:
    """The key identity matching compares: Gmail/googlemail dots and +tags removed, nothing else.

    Expects a normalised (lower-cased, valid) address; a typo'd domain is kept as typed.
    """
    local, _, domain = value.lower().rpartition("@")
    if domain in GMAIL_DOMAINS:
        return local.split("+", 1)[0].replace(".", "") + "@gmail.com"
    return value.lower()


def domain_typo(domain: str) -> str | None:
    """The popular provider a domain is probably a misspelling of, or None."""
    domain = domain.strip().lower().rstrip(".")
    if domain in KNOWN_TYPOS:
        return KNOWN_TYPOS[domain]
    if domain in POPULAR_DOMAINS or domain in REAL_NEAR_DOMAINS:
        return None
    for popular in POPULAR_DOMAINS:
        # One edit (incl. a swap) away from a popular domain, with the same first letter: gmaik.com,
        # yahoo.cm. Short domains are skipped: at 6 letters one edit is a different real domain.
        if len(popular) >= 8 and domain[:1] == popular[:1] and DamerauLevenshtein.distance(domain, popular) == 1:
            return popular
    return None


def _typo_flag(domain: str, suggestion: str) -> Flag:
    return Flag("domain_typo", f"{domain} looks like a misspelling of {suggestion}; the address is stored as typed")


def _compact_local(local: str) -> str:
    """The local part without its +tag and without the separators people sprinkle in (for the
    placeholder check only: "khach.le+2" is "khachle")."""
    return local.partition("+")[0].replace(".", "").replace("-", "").replace("_", "")
