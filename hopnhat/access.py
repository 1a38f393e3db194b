"""Who may do what: API keys, roles and their permissions (docs/SECURITY.md).

A key is `hn_` + 32 random bytes (base32). Only its SHA-256 is stored, with a public id (the first
characters after `hn_`, shown in lists and audit rows) and a role. A salted slow hash (bcrypt,
argon2) protects *passwords*, which people pick from a small space an attacker can enumerate; a key
of 256 random bits has no such space, so one SHA-256 is as strong as the key and keeps the check on
every API request to microseconds.

Most of the CLI talks to PostgreSQL directly: whoever holds HOPNHAT_DATABASE_URL is already past any
check this module could make, so `hopnhat keys` needs no key. Commands that hand PII to a person
(`hopnhat export`) still take a key, to know whom to write in the audit log and which role applies.
`hopnhat remote ...` holds no database URL at all: it calls the API with a key (hopnhat/api_client.py).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import psycopg

from hopnhat.settings import psycopg_url
from schema.errors import HopnhatError

KEY_PREFIX = "hn_"
KEY_ID_CHARS = 8


class Permission(StrEnum):
    read = "read"          # profiles, timelines, explanations, search (masked unless `pii`)
    pii = "pii"            # see phones, emails, national ids, addresses, birth dates unmasked
    export = "export"      # bulk exports (masked unless `pii`)
    ops = "ops"            # stream health, DLQ, replay
    admin = "admin"        # manage keys, erase


class Role(StrEnum):
    admin = "admin"
    engineer = "engineer"
    analyst = "analyst"
    agent = "agent"
    service = "service"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    # Runs the pipeline: debugs bad records (needs the real values), replays DLQs, exports for migrations.
    Role.engineer: frozenset({P.read, P.pii, P.export, P.ops}),
    # BI and reporting: counts, segments, trends; never needs to contact anyone.
    Role.analyst: frozenset({P.read, P.export}),
    # Call-centre / CSKH screen: looks one caller up and must see the number to call back.
    Role.agent: frozenset({P.read, P.pii}),
    # Downstream systems (CRM, marketing automation) that send messages and need the real addresses.
    Role.service: frozenset({P.read, P.pii}),
}


class AccessDenied(HopnhatError):
    """The key is missing, unknown or revoked (401), or its role lacks the permission (403)."""

    http_status = 403
    exit_code = 6

    def __init__(self, message: str, *, status: int = 403, hint: str = "") -> None:
        super().__init__(message)
        self.http_status = status
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the key id (None when access control is off) and the role it carries."""

    key_id: str | None
    role: Role

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def sees_pii(self) -> bool:
        return self.can(Permission.pii)


# With api_auth=off every caller is treated as an admin: the setting exists for a closed development
# machine, and pretending to mask there would only hide bugs.
UNAUTHENTICATED = Caller(key_id=None, role=Role.admin)


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str
    key_id: str
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


def generate_key() -> tuple[str, str]:
    """A fresh key and its public id."""
    body = base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=").lower()
    return KEY_PREFIX + body, body[:KEY_ID_CHARS]


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(key: str) -> bool:
    return key.startswith(KEY_PREFIX) and len(key) > len(KEY_PREFIX) + KEY_ID_CHARS


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccessDenied(f"unknown role {role!r}; roles: {', '.join(r.value for r in Role)}", status=400) from None


def create_key(*, database_url: str, role: str, name: str) -> NewKey:
    """Mint a key, store its hash, return the key (shown once, never stored)."""
    parsed = parse_role(role)
    key, key_id = generate_key()
    with psycopg.connect(psycopg_url(database_url)) as conn:
        conn.execute("INSERT INTO api_keys (id, key_hash, name, role) VALUES (%s, %s, %s, %s)",
                     (key_id, key_hash(key), name, parsed.value))
    return NewKey(key=key, key_id=key_id, name=name, role=parsed)


def list_keys(*, database_url: str) -> list[KeyInfo]:
    with psycopg.connect(psycopg_url(database_url)) as conn:
        rows = conn.execute("SELECT id, name, role, created_at, revoked_at FROM api_keys ORDER BY created_at, id"
                            ).fetchall()
    return [KeyInfo(key_id=r[0], name=r[1], role=Role(r[2]), created_at=r[3], revoked_at=r[4]) for r in rows]


def revoke_key(*, database_url: str, key_id: str) -> bool:
    """Revoke a key by id; False when no live key has that id. Running servers notice within CACHE_S."""
    with psycopg.connect(psycopg_url(database_url)) as conn:
        cur = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (key_id,))
        return cur.rowcount == 1


def caller_from_row(row: tuple[str, str, datetime | None] | None) -> Caller:
    """The caller a looked-up key row stands for; raises AccessDenied(401) for unknown or revoked keys."""
    if row is None:
        raise AccessDenied("unknown API key", status=401)
    key_id, role, revoked_at = row
    if revoked_at is not None:
        raise AccessDenied(f"API key {key_id} was revoked", status=401)
    return Caller(key_id=key_id, role=Role(role))


def authenticate_key(*, database_url: str, key: str | None) -> Caller:
    """The caller holding `key` (CLI commands that hand out PII); AccessDenied if missing or not live."""
    if not key:
        raise AccessDenied("this command needs an API key", status=401,
                           hint="pass --api-key or set HOPNHAT_API_KEY (create one with `hopnhat keys create`)")
    if not looks_like_key(key):
        raise AccessDenied("not a hopnhat API key (they start with hn_)", status=401)
    with psycopg.connect(psycopg_url(database_url)) as conn:
        row = conn.execute("SELECT id, role, revoked_at FROM api_keys WHERE key_hash = %s", (key_hash(key),)
                           ).fetchone()
    return caller_from_row(row)
