"""`hopnhat erase`: remove one person's PII from the store and keep them from coming back.

Given any identifier of the person, the whole customer (the surviving record and every id merged
into it) is erased in one transaction:

- identifiers: deleted; each becomes a salted hash on the suppression list (hopnhat/suppression.py)
- customers.profile: every name, phone, email, address, identifier and survivorship value removed;
  the row stays (interaction counts, first/last seen, channels) so ids and statistics keep working
- interactions: payload emptied, summary removed (amount, kind, channel and time stay: not PII)
- source_records: the record JSON and the identifier it linked by, emptied; their match_keys deleted
- match_evidence (of the person's merges and events) and review_queue evidence: emptied
- audit_log: one `erase` row (the identifier masked)

Just before the commit a tombstone (null value) is published on customers.profiles for every id of
the customer, so downstream copies drop the person too. What erasure cannot reach: raw topics until their
retention runs out (HOPNHAT_RAW_RETENTION_DAYS, docs/OPERATIONS.md), backups already taken, and
systems that copied the data elsewhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hopnhat.access import Caller
from hopnhat.pii import mask_identifier
from hopnhat.settings import Settings, psycopg_url
from hopnhat.suppression import identifier_hash, salt_for
from resolver.email import normalise_email
from resolver.phone import normalise_phone
from schema.errors import HopnhatError, MalformedPayload
from schema.events import GoldenProfile, IdentifierType

ERASED = {"erased": True}


class NotFound(HopnhatError):
    """No customer holds this identifier (already erased, or never seen)."""

    http_status = 404


class SharedIdentifier(HopnhatError):
    """The identifier is a phone or email several people use: it does not say whom to erase."""

    http_status = 409


@dataclass(frozen=True, slots=True)
class ErasureReport:
    customer_id: str
    customer_ids: list[str]
    identifiers: int
    interactions: int
    source_records: int
    tombstones_published: bool

    def as_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "customer_ids": self.customer_ids, "identifiers": self.identifiers,
                "interactions": self.interactions, "source_records": self.source_records,
                "tombstones_published": self.tombstones_published}


def parse_identifier(typed: str) -> tuple[str, str]:
    """`phone:0912.345.678` -> ("phone", "+84912345678"): stored form, as the resolver keeps it."""
    kind, sep, value = typed.partition(":")
    if not sep or not value.strip():
        raise MalformedPayload("identifier", "write it as type:value, e.g. phone:0912345678")
    try:
        parsed = IdentifierType(kind.strip())
    except ValueError:
        raise MalformedPayload("identifier", f"unknown type {kind!r}; types: "
                               + ", ".join(t.value for t in IdentifierType)) from None
    if parsed is IdentifierType.phone:
        phone = normalise_phone(value)
        if phone.e164 is None:
            raise MalformedPayload("identifier", f"not a usable phone number ({phone.reason})")
        return parsed.value, phone.e164
    if parsed is IdentifierType.email:
        email = normalise_email(value)
        if email.value is None:
            raise MalformedPayload("identifier", f"not a usable email ({email.reason})")
        return parsed.value, email.value
    return parsed.value, value.strip()


def erased_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """The golden record with everything personal removed; counts, channels and dates stay."""
    kept = GoldenProfile.model_validate(profile)
    return GoldenProfile(customer_id=kept.customer_id, channels=kept.channels, merged_from=kept.merged_from,
                         interactions=kept.interactions, first_seen=kept.first_seen, last_seen=kept.last_seen,
                         updated_at=datetime.now(UTC)).model_dump(mode="json")


def _audit_form(kind: str, value: str) -> str:
    """The identifier as the audit row keeps it: masked, and a channel id (which the API shows) not at all."""
    masked = mask_identifier(f"{kind}:{value}")
    return masked if masked != f"{kind}:{value}" else f"{kind}:***"


def erase(*, settings: Settings, identifier: str, caller: Caller) -> ErasureReport:
    """Erase the person holding `identifier` (type:value); NotFound if nobody does."""
    if not settings.database_url:
        from schema.errors import ConfigError

        raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file)")
    kind, value = parse_identifier(identifier)
    with psycopg.connect(psycopg_url(settings.database_url)) as conn, conn.transaction():
        row = conn.execute("""SELECT coalesce(c.merged_into, c.id) FROM identifiers i
                                JOIN customers c ON c.id = i.customer_id WHERE i.type = %s AND i.value = %s""",
                           (kind, value)).fetchone()
        if row is None:
            raise NotFound(f"no customer holds {_audit_form(kind, value)} (already erased, or never seen)")
        root: uuid.UUID = row[0]
        others = {r[0] for r in conn.execute(
            """SELECT DISTINCT coalesce(c.merged_into, c.id) FROM identifier_holders h
                 JOIN customers c ON c.id = h.customer_id WHERE h.type = %s AND h.value = %s""", (kind, value))}
        if others - {root}:
            raise SharedIdentifier(
                f"{_audit_form(kind, value)} is used by {len(others - {root}) + 1} different people (a shared family "
                "or shop phone or email), so it does not say whom to erase; erase by an identifier only this "
                "person has: their own phone, email, Zalo id or POS customer code")
        # Lock the customer rows first (fixed order), as the resolver does, so a worker cannot link a
        # new record to this person halfway through.
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM customers WHERE id = %s OR merged_into = %s ORDER BY id FOR UPDATE", (root, root))]
        salt = salt_for(conn, settings, create=True)
        assert salt is not None
        idents = conn.execute("SELECT type, value FROM identifiers WHERE customer_id = ANY(%s)", (ids,)).fetchall()
        conn.cursor().executemany(
            "INSERT INTO suppressions (hash) VALUES (%s) ON CONFLICT (hash) DO NOTHING",
            [(identifier_hash(salt, t, v),) for t, v in idents])
        conn.execute("DELETE FROM identifiers WHERE customer_id = ANY(%s)", (ids,))
        # Shared values this person held beside someone else: the holding goes; the value stays the
        # other person's and is not suppressed (their events must keep arriving).
        conn.execute("DELETE FROM identifier_holders WHERE customer_id = ANY(%s)", (ids,))
        interactions = conn.execute(
            "UPDATE interactions SET payload = %s, summary = NULL WHERE customer_id = ANY(%s)",
            (Jsonb(ERASED), ids)).rowcount
        records = conn.execute("""SELECT source || '|' || source_record_id FROM source_records
                                   WHERE customer_id = ANY(%s)""", (ids,)).fetchall()
        conn.execute("UPDATE source_records SET record = %s, link_identifier = NULL WHERE customer_id = ANY(%s)",
                     (Jsonb(ERASED), ids))
        # Blocking-key hashes (resolver/candidates.py) are derived from phone digits and birth dates:
        # left in place they would still let fuzzy matching pull new records towards this person.
        conn.execute("""DELETE FROM match_keys m USING source_records r
                         WHERE r.customer_id = ANY(%s) AND m.source = r.source
                           AND m.source_record_id = r.source_record_id""", (ids,))
        conn.execute("""UPDATE match_evidence SET details = %(erased)s
                         WHERE id IN (SELECT evidence_id FROM merges
                                       WHERE survivor_id = ANY(%(ids)s) OR absorbed_id = ANY(%(ids)s))
                            OR event_id IN (SELECT event_id FROM interactions WHERE customer_id = ANY(%(ids)s))""",
                     {"erased": Jsonb(ERASED), "ids": ids})
        keys = [r[0] for r in records]
        conn.execute("""UPDATE review_queue SET evidence = %s
                         WHERE left_record = ANY(%s) OR right_record = ANY(%s)""", (Jsonb(ERASED), keys, keys))
        for cid, profile in conn.execute("SELECT id, profile FROM customers WHERE id = ANY(%s)", (ids,)).fetchall():
            conn.execute("UPDATE customers SET profile = %s, updated_at = now() WHERE id = %s",
                         (Jsonb(erased_profile(profile)), cid))
        conn.execute("""INSERT INTO audit_log (key_id, role, action, customer_id, query, fields)
                        VALUES (%s, %s, 'erase', %s, %s, %s)""",
                     (caller.key_id, caller.role.value, root,
                      Jsonb({"identifier": _audit_form(kind, value), "customers": len(ids)}),
                      ["identifiers", "profile", "interactions.payload", "source_records.record", "match_evidence"]))
        customer_ids = [str(i) for i in ids]
        # Published before the commit: if the broker is down nothing is erased and the same command can
        # run again; if the commit fails after, downstream has dropped a person the store still holds,
        # and running the command again finishes the job.
        published = publish_tombstones(settings, customer_ids) if settings.kafka_bootstrap else False
    return ErasureReport(customer_id=str(root), customer_ids=customer_ids, identifiers=len(idents),
                         interactions=interactions, source_records=len(keys), tombstones_published=published)


def publish_tombstones(settings: Settings, customer_ids: list[str]) -> bool:
    """A null value per customer id on customers.profiles (compacted: downstream drops the record)."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    from schema.errors import BrokerUnavailable
    from streams.topics import Topics, bootstrap_servers

    topic = Topics.from_settings(settings).profiles
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap_servers(settings), acks="all", client_id="hopnhat-erase")
        for cid in customer_ids:
            producer.send(topic, key=cid.encode(), value=None)
        producer.flush(timeout=30)
        producer.close()
    except KafkaError as exc:
        raise BrokerUnavailable(f"the tombstones did not reach {topic} ({exc}), so nothing was erased; "
                                "run the same command again once the broker is back") from exc
    return True
