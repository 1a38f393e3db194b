"""IMAP polling -> raw.email: new messages of one mailbox since the checkpoint, published with acks=all.

One pass (reference note §6.2):

    LOGIN; EXAMINE <mailbox>          -> UIDVALIDITY (read-only, so \\Seen is never set)
    UIDVALIDITY changed?              -> forget the old UIDs, start from the beginning
    UID SEARCH UID <last_uid+1>:*     -> drop every uid <= last_uid: `a:*` always includes the
                                         largest UID in use, so without the filter every poll
                                         re-emits the newest message (RFC 3501 §6.4.8)
    UID FETCH <batch> (UID BODY.PEEK[])
    publish the batch, wait for the broker's acks, then save {uidvalidity, last_uid}

A checkpoint never runs ahead of the broker; after a crash or a UIDVALIDITY change messages are
re-published with the same event ids (no UID in the key), so they are no-ops downstream. A message
that cannot be parsed goes to dlq.ingest as a DeadLetter (key = its imap position, so the original
can be fetched again; value = the message as UTF-8 with replacement), and the cursor moves on:
one bad message never stops a mailbox.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.email import EmailConnector, events_from_eml
from hopnhat.checkpoints import load_checkpoint, save_checkpoint
from hopnhat.http.publisher import RawPublisher
from hopnhat.settings import Settings
from schema.errors import ConfigError, MalformedPayload
from schema.events import DeadLetter

log = logging.getLogger(__name__)
FETCH_UID = re.compile(rb"UID (\d+)")


@dataclass(slots=True)
class PollResult:
    uidvalidity: int
    last_uid: int
    published: int = 0
    rejected: int = 0
    restarted: bool = False  # UIDVALIDITY changed: the mailbox was read again from the beginning


def checkpoint_source(settings: Settings) -> str:
    return f"imap:{settings.imap_user}@{settings.imap_host}/{settings.imap_mailbox}"


def _connect(settings: Settings) -> imaplib.IMAP4:
    if not settings.imap_host or not settings.imap_user or settings.imap_password is None:
        raise ConfigError("HOPNHAT_IMAP_HOST, HOPNHAT_IMAP_USER and HOPNHAT_IMAP_PASSWORD must all be set "
                          "(looked in the environment and the config file)")
    cls = imaplib.IMAP4_SSL if settings.imap_ssl else imaplib.IMAP4
    conn = cls(settings.imap_host, settings.imap_port, timeout=30)
    conn.login(settings.imap_user, settings.imap_password.get_secret_value())
    return conn


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uidvalidity(conn: imaplib.IMAP4, mailbox: str) -> int:
    typ, data = conn.select(_quoted(mailbox), readonly=True)
    if typ != "OK":
        raise ConfigError(f"cannot open IMAP mailbox {mailbox!r}: {data!r}")
    _, values = conn.response("UIDVALIDITY")
    if not values or values[0] is None:
        raise ConfigError(f"the IMAP server sent no UIDVALIDITY for {mailbox!r}")
    return int(values[0])


def new_uids(conn: imaplib.IMAP4, last_uid: int) -> list[int]:
    typ, data = conn.uid("SEARCH", f"UID {last_uid + 1}:*")
    if typ != "OK":
        raise ConfigError(f"UID SEARCH failed: {data!r}")
    found = {int(x) for chunk in data if chunk for x in chunk.split()}
    return sorted(uid for uid in found if uid > last_uid)


def fetch(conn: imaplib.IMAP4, uids: list[int]) -> Iterator[tuple[int, bytes]]:
    typ, data = conn.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise ConfigError(f"UID FETCH failed: {data!r}")
    got = []
    for i, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        # Servers may send UID before the literal ("UID 7 BODY[] {n}") or after it (") UID 7)").
        after = data[i + 1] if i + 1 < len(data) and isinstance(data[i + 1], bytes) else b""
        m = FETCH_UID.search(item[0]) or FETCH_UID.search(after)
        if m:
            got.append((int(m.group(1)), item[1]))
    yield from sorted(got)


def fetch_all(conn: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
    return list(fetch(conn, uids))


async def poll_once(settings: Settings, publisher: RawPublisher, *, batch_size: int = 50) -> PollResult:
    """One pass over the configured mailbox; returns what it published and where it stopped."""
    database_url = settings.database_url
    if not database_url:
        raise ConfigError("HOPNHAT_DATABASE_URL is not set (the checkpoint lives in PostgreSQL)")
    source = checkpoint_source(settings)
    saved = await asyncio.to_thread(load_checkpoint, database_url, source) or {}
    connector = EmailConnector(**settings.connector_options("email"))
    topic = settings.topic(connector.topic())
    conn = await asyncio.to_thread(_connect, settings)
    try:
        uidvalidity = await asyncio.to_thread(_uidvalidity, conn, settings.imap_mailbox)
        result = PollResult(uidvalidity, int(saved.get("last_uid", 0)))
        if saved and saved.get("uidvalidity") != uidvalidity:
            log.warning("UIDVALIDITY of %s changed %s -> %s: reading the mailbox again from the start",
                        source, saved.get("uidvalidity"), uidvalidity)
            result.last_uid, result.restarted = 0, True
        uids = await asyncio.to_thread(new_uids, conn, result.last_uid)
        for start in range(0, len(uids), batch_size):
            chunk = uids[start:start + batch_size]
            messages = await asyncio.to_thread(fetch_all, conn, chunk)
            records: list[tuple[bytes, bytes]] = []
            letters: list[tuple[bytes, bytes]] = []
            now = datetime.now(UTC)
            for uid, raw in messages:
                position = f"{source}/{uidvalidity}/{uid}"
                try:
                    for event in events_from_eml(raw, "imap", now, origin="imap", position=position,
                                                 unsubscribe_addresses=connector.unsubscribe_addresses):
                        records.append((connector.kafka_key(event).encode(), event.model_dump_json().encode()))
                except MalformedPayload as exc:
                    log.warning("dead-lettered channel=email position=%s field=%s", position, exc.field)
                    letter = DeadLetter(stage="ingest", reason="malformed", field=exc.field, error=exc.reason,
                                        topic=topic, partition=-1, offset=-1, key=position,
                                        value=raw.decode("utf-8", "replace"), at=now)
                    letters.append((position.encode(), letter.model_dump_json().encode()))
            if records:
                await publisher.publish_all(topic, records)
            if letters:
                await publisher.publish_all(settings.topic("dlq.ingest"), letters)
            result.published += len(records)
            result.rejected += len(letters)
            result.last_uid = max(chunk)
            # Only now, with every message <= last_uid acknowledged by the broker:
            await asyncio.to_thread(save_checkpoint, database_url, source,
                                    {"uidvalidity": uidvalidity, "last_uid": result.last_uid})
        if not uids and result.restarted:
            await asyncio.to_thread(save_checkpoint, database_url, source,
                                    {"uidvalidity": uidvalidity, "last_uid": 0})
        return result
    finally:
        try:
            await asyncio.to_thread(conn.logout)
        except (imaplib.IMAP4.error, OSError):
            pass


async def poll(settings: Settings, *, once: bool, interval_s: float | None = None) -> list[PollResult]:
    """Poll until cancelled (or one pass with `once`); each pass opens a fresh IMAP session."""
    publisher = RawPublisher(settings, timeout_s=10.0)
    results: list[PollResult] = []
    try:
        while True:
            result = await poll_once(settings, publisher)
            log.info("imap pass source=%s published=%d rejected=%d last_uid=%d", checkpoint_source(settings),
                     result.published, result.rejected, result.last_uid)
            results.append(result)
            if once:
                return results
            await asyncio.sleep(interval_s if interval_s is not None else settings.imap_poll_interval_s)
    finally:
        await publisher.close()
