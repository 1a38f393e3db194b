"""IMAP pieces of hopnhat/imap_poller.py against the in-process fake server (no broker, no database)."""

from __future__ import annotations

import imaplib
from pathlib import Path

import pytest

from hopnhat.imap_poller import _uidvalidity, fetch_all, new_uids
from tests.fake_imap import FakeImapServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"


@pytest.mark.parametrize("uid_after_body", [False, True], ids=["uid-first", "uid-after-literal"])
def test_search_filters_the_star_answer_and_fetch_reads_uids_either_side(uid_after_body: bool) -> None:
    with FakeImapServer() as server:
        server.mailbox.uid_after_body = uid_after_body
        raws = [(FIXTURES / f"thread-{i}.eml").read_bytes() for i in (1, 2, 3)]
        uids = [server.mailbox.append(raw) for raw in raws]
        conn = imaplib.IMAP4("127.0.0.1", server.port)
        conn.login(server.user, server.password)
        try:
            assert _uidvalidity(conn, "INBOX") == server.mailbox.uidvalidity
            assert new_uids(conn, 0) == uids
            assert new_uids(conn, uids[-1]) == []  # the server answers `108:*` with 107
            assert new_uids(conn, uids[0]) == uids[1:]
            assert fetch_all(conn, uids) == list(zip(uids, raws, strict=True))
        finally:
            conn.logout()
        assert "EXAMINE \"INBOX\"" in server.mailbox.commands  # read-only: nothing is marked \\Seen
