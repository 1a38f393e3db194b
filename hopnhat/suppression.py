"""The suppression list: salted hashes of erased identifiers, checked by the normalise stage.

After `hopnhat erase`, the person's identifiers exist in the store only as HMAC-SHA256(salt,
"type:value"). An event whose identifiers hit the list is dropped before it reaches the resolver, so
replaying old raw records or receiving new ones does not bring the person back, until an event
arrives granting consent again (a form's consent box, a Zalo follow: resolver/consent.py): then it
passes and its identifiers leave the list.

A keyed hash, not a plain one: a phone number space (about 10^9 Vietnamese mobiles) is small enough
to hash exhaustively in minutes, so the hashes are only as private as the salt. Set
HOPNHAT_SUPPRESSION_SALT to keep the salt outside the database; otherwise a random one is generated
at the first erasure and stored in `erasure_salt`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg

from hopnhat.settings import Settings, psycopg_url
from resolver.consent import consent_statements
from schema.events import CanonicalEvent


def identifier_hash(salt: bytes, kind: str, value: str) -> str:
    return hmac.new(salt, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def has_fresh_consent(event: CanonicalEvent) -> bool:
    """The event grants consent for some purpose (a form's consent box, a Zalo follow: resolver/consent.py)."""
    return any(st.granted for st in consent_statements(channel=event.channel, source=event.source,
                                                       event_id=event.event_id, at=event.occurred_at,
                                                       attributes=event.attributes))


@dataclass(slots=True)
class SuppressionList:
    """The erased-identifier hashes and their salt; `lifted` collects hashes freed by fresh consent."""

    salt: bytes
    hashes: set[str]
    lifted: set[str] = field(default_factory=set)

    def hits(self, event: CanonicalEvent) -> set[str]:
        if not self.hashes:
            return set()
        mine = {identifier_hash(self.salt, i.type.value, i.value) for i in event.identifiers}
        return mine & self.hashes

    def blocks(self, event: CanonicalEvent) -> bool:
        """True when the event belongs to an erased person who has not consented again.

        An event with fresh consent is let through and its hashes move to `lifted` (the caller deletes
        them from the table), so the person's later events pass as well.
        """
        hit = self.hits(event)
        if not hit:
            return False
        if has_fresh_consent(event):
            self.hashes -= hit
            self.lifted |= hit
            return False
        return True


def salt_for(conn: psycopg.Connection, settings: Settings, *, create: bool) -> bytes | None:
    """The configured salt, else the stored one (generated now when `create`)."""
    if settings.suppression_salt is not None:
        return settings.suppression_salt.get_secret_value().encode()
    row = conn.execute("SELECT salt FROM erasure_salt WHERE id = 1").fetchone()
    if row is None and create:
        conn.execute("INSERT INTO erasure_salt (id, salt) VALUES (1, %s) ON CONFLICT (id) DO NOTHING",
                     (secrets.token_hex(32),))
        row = conn.execute("SELECT salt FROM erasure_salt WHERE id = 1").fetchone()
    return row[0].encode() if row else None


def load_suppression(settings: Settings) -> SuppressionList:
    """The current list from the database in settings (empty when nobody was ever erased)."""
    assert settings.database_url
    with psycopg.connect(psycopg_url(settings.database_url)) as conn:
        salt = salt_for(conn, settings, create=False)
        hashes = {r[0] for r in conn.execute("SELECT hash FROM suppressions")} if salt else set()
    return SuppressionList(salt=salt or b"", hashes=hashes)


def lift(settings: Settings, hashes: Iterable[str]) -> int:
    """Delete hashes freed by fresh consent; returns how many rows went."""
    assert settings.database_url
    wanted = sorted(set(hashes))
    if not wanted:
        return 0
    with psycopg.connect(psycopg_url(settings.database_url)) as conn:
        return conn.execute("DELETE FROM suppressions WHERE hash = ANY(%s)", (wanted,)).rowcount
