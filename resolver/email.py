"""Email normalisation: syntax validated by email-validator, never a DNS lookup in the pipeline.

The stored display form is the validated address lower-cased (local parts are case-insensitive at
every mailbox provider Vietnamese customers use). Provider folding (Gmail dots, +tags) and typo
detection belong to the match key, which is added with the normalisation issue.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

# Junk typed to get past a required field: never an identifier (DESIGN: placeholder values).
PLACEHOLDER_LOCALS = {"test", "noemail", "no-email", "none", "na", "n/a", "khongco", "khong", "abc", "example"}
PLACEHOLDER_DOMAINS = {"test.com", "example.com", "example.org", "email.com", "abc.com", "domain.com"}


@dataclass(frozen=True, slots=True)
class EmailResult:
    raw: str
    value: str | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


def normalise_email(raw: str) -> EmailResult:
    text = raw.strip().strip("<>").strip()
    if not text:
        return EmailResult(raw, None, "empty")
    try:
        info = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        return EmailResult(raw, None, f"invalid: {exc}")
    value = info.normalized.lower()
    local, _, domain = value.rpartition("@")
    if local in PLACEHOLDER_LOCALS or domain in PLACEHOLDER_DOMAINS:
        return EmailResult(raw, None, "placeholder")
    return EmailResult(raw, value)
