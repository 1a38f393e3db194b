"""A tiny in-process IMAP4rev1 server for tests: just enough for imaplib (LOGIN, SELECT/EXAMINE with
UIDVALIDITY, UID SEARCH, UID FETCH, NOOP, LOGOUT). Bound to 127.0.0.1 on a free port; never a real server.

Like real servers (reference note §6.2), `UID SEARCH UID a:*` includes the largest UID in use even
when it is below `a`, so a poller without its `uid > last_uid` filter re-emits the newest message.
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field
from types import TracebackType


@dataclass
class Mailbox:
    uidvalidity: int = 3_857_529_045
    messages: list[tuple[int, bytes]] = field(default_factory=list)
    next_uid: int = 101  # UIDs need not start at 1 or be contiguous
    commands: list[str] = field(default_factory=list)
    uid_after_body: bool = False  # answer FETCH as "(BODY[] {n} ... UID 7)", which RFC 3501 allows
    lock: threading.Lock = field(default_factory=threading.Lock)

    def append(self, raw: bytes) -> int:
        with self.lock:
            uid = self.next_uid
            self.next_uid += 3
            self.messages.append((uid, raw))
            return uid

    def recreate(self, uidvalidity: int) -> None:
        """A server migration: same messages, new UIDs and a new UIDVALIDITY."""
        with self.lock:
            self.uidvalidity = uidvalidity
            self.messages = [(i + 1, raw) for i, (_, raw) in enumerate(self.messages)]
            self.next_uid = len(self.messages) + 1


def _uid_set(spec: str, highest: int) -> set[int]:
    out: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        a = highest if lo == "*" else int(lo)
        b = a if not hi else (highest if hi == "*" else int(hi))
        out.update(range(min(a, b), max(a, b) + 1))
    return out


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def send(self, line: str | bytes) -> None:
        self.wfile.write((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def handle(self) -> None:
        box, user, password = self.server.mailbox, self.server.user, self.server.password
        self.send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake IMAP ready")
        authed = False
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8").rstrip("\r\n")
            tag, _, rest = line.partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            box.commands.append(f"{command} {args}".strip() if command != "LOGIN" else "LOGIN")
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                self.send(f"{tag} OK CAPABILITY completed")
            elif command == "LOGIN":
                given = [p.strip('"') for p in re.findall(r'"(?:[^"\\]|\\.)*"|\S+', args)]
                authed = given == [user, password]
                self.send(f"{tag} OK LOGIN completed" if authed else f"{tag} NO [AUTHENTICATIONFAILED] bad login")
            elif command == "LOGOUT":
                self.send("* BYE fake IMAP logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP completed")
            elif not authed:
                self.send(f"{tag} BAD log in first")
            elif command in ("SELECT", "EXAMINE"):
                with box.lock:
                    self.send(f"* {len(box.messages)} EXISTS")
                    self.send("* 0 RECENT")
                    self.send(f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid")
                    self.send(f"* OK [UIDNEXT {box.next_uid}] predicted next UID")
                mode = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
                self.send(f"{tag} OK [{mode}] {command} completed")
            elif command == "UID":
                sub, _, params = args.partition(" ")
                with box.lock:
                    messages = list(box.messages)
                highest = max((uid for uid, _ in messages), default=0)
                if sub.upper() == "SEARCH":
                    match = re.search(r"UID (\S+)", params, re.IGNORECASE)
                    wanted = _uid_set(match.group(1), highest) if match else {u for u, _ in messages}
                    found = [str(uid) for uid, _ in messages if uid in wanted]
                    self.send("* SEARCH" + "".join(f" {u}" for u in found))
                    self.send(f"{tag} OK SEARCH completed")
                elif sub.upper() == "FETCH":
                    spec = params.split(" ", 1)[0]
                    wanted = _uid_set(spec, highest)
                    for seq, (uid, body) in enumerate(messages, start=1):
                        if uid in wanted:
                            if box.uid_after_body:
                                self.send(f"* {seq} FETCH (BODY[] {{{len(body)}}}".encode())
                                self.wfile.write(body)
                                self.send(f" UID {uid})")
                            else:
                                self.send(f"* {seq} FETCH (UID {uid} BODY[] {{{len(body)}}}".encode())
                                self.wfile.write(body)
                                self.send(")")
                    self.send(f"{tag} OK FETCH completed")
                else:
                    self.send(f"{tag} BAD unsupported UID {sub}")
            else:
                self.send(f"{tag} BAD unsupported command {command}")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mailbox: Mailbox, user: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mailbox, self.user, self.password = mailbox, user, password


class FakeImapServer:
    """`with FakeImapServer() as imap:` -> imap.port, imap.mailbox (append, recreate, commands)."""

    def __init__(self, user: str = "cskh@shop.example.vn", password: str = "mat-khau-imap") -> None:
        self.mailbox = Mailbox()
        self.user, self.password = user, password
        self._server = _Server(self.mailbox, user, password)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeImapServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
