"""Live tail of Asterisk's Master.csv -> raw.asterisk_cdr, checkpointed by (inode, byte offset).

`tail_cdr(...)` is what `hopnhat tail-cdr PATH` calls (and what tests call directly). Asterisk's
`cdr_csv` opens, appends one CDR line, flushes and closes the file per call leg
(/work/shared/reference/call_logs.md §1.1), so the file only grows until logrotate moves it. Each pass:

    stat PATH; the checkpointed inode is gone?  -> finish that file (still open here, or found by its
                                                   inode beside PATH: Master.csv.1), then PATH from 0
    same inode but smaller than the offset, or  -> truncated (copytruncate) or rewritten: from 0
      a different first line?
    read from the offset to the last "\n"       -> a trailing line without "\n" is still being written:
                                                   left for the next pass
    parse the complete lines exactly as `hopnhat import asterisk_cdr` does (connectors/asterisk_cdr.py),
    publish events and dead letters with acks=all, then save
    `tail:asterisk_cdr:<source>:<path>` = {device, inode, offset, line, first_line_sha256, header}

The checkpoint never runs ahead of the broker: after a crash or an outage the lines since it are
published again with the same event ids, which makes them no-ops downstream. Event ids are the
importer's (`asterisk_cdr:<pbx>:<uniqueid>:<sequence or dstchannel>`) and the `line` in the event is
the line in the file, so importing the same file later is a no-op too. Without a uniqueid column
the id falls back to `<sha256 of the file's first line>:<line>` (the importer uses the whole file's
hash, unknown while the file grows): those ids do not match an import; `loguniqueid=yes` fixes it.

A line that is not UTF-8 (the default `encoding`), has the wrong column count or a bad field goes to
dlq.ingest with file and line, as in the importer, and the tail goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from connectors.asterisk_cdr import AsteriskCdrConnector, cdr_row, header_columns
from connectors.tabular import BadRow, SourceRow, csv_records
from hopnhat.checkpoints import load_checkpoint, save_checkpoint
from hopnhat.http.publisher import RawPublisher
from hopnhat.importer import RowProblem, dead_letter, row_outcome
from hopnhat.settings import Settings
from schema.errors import BrokerUnavailable, ConfigError, DatabaseUnavailable, HopnhatError

log = logging.getLogger(__name__)
CHANNEL = "asterisk_cdr"
BLOCK_BYTES = 1 << 20  # per broker round trip and checkpoint; a CDR line is at most 1024 bytes (§1.1)


def checkpoint_source(source_id: str, path: Path) -> str:
    return f"tail:{CHANNEL}:{source_id}:{path}"


@dataclass(slots=True)
class TailPosition:
    """Where the tail stands in one file: everything before `offset` is acknowledged by the broker."""

    device: int
    inode: int
    offset: int = 0  # bytes, always just after a "\n"
    line: int = 0  # physical lines before `offset`, so events carry the line numbers an import gives
    first_line_sha256: str | None = None  # tells a truncated-and-regrown file from the one we read
    header: list[str] | None = None  # a file that starts with a header line (a CDR database export)

    @classmethod
    def from_checkpoint(cls, saved: Mapping[str, Any]) -> TailPosition:
        return cls(int(saved["device"]), int(saved["inode"]), int(saved["offset"]), int(saved["line"]),
                   saved.get("first_line_sha256"), saved.get("header"))


@dataclass(slots=True)
class TailResult:
    """What one pass (or, summed, a whole run) did."""

    path: str
    inode: int = 0
    offset: int = 0
    lines: int = 0  # CDR lines read (published + rejected + ignored)
    published: int = 0
    rejected: int = 0
    ignored: int = 0  # internal calls, hidden numbers: not about a customer
    rotations: int = 0
    truncations: int = 0
    resumes: int = 0  # broker or PostgreSQL outages waited out
    problems: list[RowProblem] = field(default_factory=list)

    def add(self, other: TailResult) -> None:
        self.inode, self.offset = other.inode, other.offset
        for name in ("lines", "published", "rejected", "ignored", "rotations", "truncations", "resumes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = [str(p) for p in self.problems[:1000]]
        return out


@dataclass(slots=True)
class _Block:
    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    letters: list[tuple[bytes, bytes]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    lines: int = 0
    ignored: int = 0
    header: list[str] | None = None


class CdrTailer:
    """Follows one Master.csv; `tail_pass()` reads to the current end. Not thread-safe."""

    def __init__(self, *, settings: Settings, path: Path, source_id: str, options: Mapping[str, Any],
                 publisher: RawPublisher, block_bytes: int = BLOCK_BYTES) -> None:
        if not settings.database_url:
            raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file); "
                              "the tail keeps its checkpoint in PostgreSQL")
        self.database_url = settings.database_url
        self.path = path.absolute()
        self.source_id = source_id
        self.options = dict(options)
        self.encoding = str(self.options.get("encoding") or "utf-8")
        if self.encoding == "auto":
            self.encoding = "utf-8"  # detection needs the whole file; Asterisk writes the bytes it got, UTF-8
        self.publisher = publisher
        self.block_bytes = block_bytes
        self.key = checkpoint_source(source_id, self.path)
        self.connector = AsteriskCdrConnector()
        self.raw_topic = settings.topic(f"raw.{CHANNEL}")
        self.dlq_topic = settings.topic("dlq.ingest")
        self.position: TailPosition | None = None  # None: read it from the checkpoint
        self._loaded = False
        self._held: IO[bytes] | None = None  # the file read last: readable after a rename or delete
        self._warned_no_uniqueid = False

    def forget(self) -> None:
        """After an outage: the batch in flight may not be acknowledged, so start again from the checkpoint."""
        self.position, self._loaded = None, False

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    async def tail_pass(self, stop: threading.Event | None = None) -> TailResult:
        result = TailResult(str(self.path))
        if not self._loaded:
            saved = await asyncio.to_thread(self._load)
            self.position = TailPosition.from_checkpoint(saved) if saved else None
            self._loaded = True
        current = self._open_current()
        pos = self.position
        if pos is not None and (current is None or _identity(current) != (pos.device, pos.inode)):
            old = self._open_rotated(pos)
            if old is not None:
                try:
                    await self._drain(old, pos, result, stop)
                finally:
                    old.close()
                if stop is not None and stop.is_set():
                    return self._finish(result, current)
            else:
                log.warning("channel=%s rotated file of %s (inode %d) is gone: lines after byte %d of it were "
                            "not read", CHANNEL, self.key, pos.inode, pos.offset)
            if current is None:
                return self._finish(result, None)
            result.rotations += 1
            pos = None
        if current is None:
            return self._finish(result, None)  # nothing written yet (or between rename and create)
        if pos is not None and self._rewritten(current, pos):
            log.warning("channel=%s %s was truncated or rewritten (inode %d, offset %d): reading it from the start",
                        CHANNEL, self.key, pos.inode, pos.offset)
            result.truncations += 1
            pos = None
        if pos is None:
            device, inode = _identity(current)
            pos = self.position = TailPosition(device, inode)
        try:
            await self._drain(current, pos, result, stop)
        except BaseException:
            if current is not self._held:
                current.close()
            raise
        return self._finish(result, current)

    def _finish(self, result: TailResult, current: IO[bytes] | None) -> TailResult:
        if current is not None:
            if self._held is not None and self._held is not current:
                self._held.close()
            self._held = current
        if self.position is not None:
            result.inode, result.offset = self.position.inode, self.position.offset
        return result

    def _open_current(self) -> IO[bytes] | None:
        """PATH, opened; the file read last if PATH is still that file (one open file, not one per pass)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        if self._held is not None and _identity(self._held) == (st.st_dev, st.st_ino):
            return self._held
        try:
            return open(self.path, "rb")  # noqa: SIM115 - held across passes, closed in _finish/close
        except FileNotFoundError:
            return None

    def _open_rotated(self, pos: TailPosition) -> IO[bytes] | None:
        """The checkpointed file under its new name: held open since the last pass, else found by its inode
        beside PATH (logrotate's Master.csv.1, Master.csv-20261122); None if it was deleted or compressed."""
        if self._held is not None and _identity(self._held) == (pos.device, pos.inode):
            held, self._held = self._held, None
            return held
        try:
            entries = list(os.scandir(self.path.parent))
        except OSError:
            return None
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and entry.inode() == pos.inode:
                    fh = open(entry.path, "rb")  # noqa: SIM115 - closed by _drain's caller
                    if _identity(fh) == (pos.device, pos.inode):
                        log.info("channel=%s finishing rotated %s", CHANNEL, entry.name)
                        return fh
                    fh.close()
            except OSError:
                continue
        return None

    @staticmethod
    def _rewritten(fh: IO[bytes], pos: TailPosition) -> bool:
        if os.fstat(fh.fileno()).st_size < pos.offset:
            return True
        if pos.offset == 0 or pos.first_line_sha256 is None:
            return False
        fh.seek(0)
        return hashlib.sha256(fh.readline(1 << 16)).hexdigest() != pos.first_line_sha256

    async def _drain(self, fh: IO[bytes], pos: TailPosition, result: TailResult,
                     stop: threading.Event | None) -> None:
        """Publish every complete line after `pos`, one block per broker round trip and checkpoint."""
        name = Path(fh.name).name
        while stop is None or not stop.is_set():
            fh.seek(pos.offset)
            data = fh.read(self.block_bytes)
            end = data.rfind(b"\n")
            if end < 0 and len(data) == self.block_bytes:  # one line longer than a block: read it whole
                data += fh.readline()
                end = data.rfind(b"\n")
            if end < 0:
                return  # nothing new, or a line still being written
            data = data[:end + 1]
            first_sha = pos.first_line_sha256
            if pos.offset == 0:
                first_sha = hashlib.sha256(data[:data.index(b"\n") + 1]).hexdigest()
            block = self._parse(data, pos, first_sha or "", name)
            if block.records:
                await self.publisher.publish_all(self.raw_topic, block.records)
            if block.letters:
                await self.publisher.publish_all(self.dlq_topic, block.letters)
            # Only now, with every line of the block acknowledged by the broker:
            moved = TailPosition(pos.device, pos.inode, pos.offset + len(data), pos.line + data.count(b"\n"),
                                 first_sha, block.header if block.header is not None else pos.header)
            await asyncio.to_thread(self._save, moved)
            pos.offset, pos.line, pos.first_line_sha256, pos.header = (moved.offset, moved.line,
                                                                       moved.first_line_sha256, moved.header)
            result.lines += block.lines
            result.published += len(block.records)
            result.rejected += len(block.letters)
            result.ignored += block.ignored
            result.problems.extend(block.problems)

    def _parse(self, data: bytes, pos: TailPosition, first_sha: str, name: str) -> _Block:
        """Complete lines -> events and dead letters, as connectors/asterisk_cdr.py reads a whole file."""
        block = _Block()
        rows: list[SourceRow | BadRow] = []
        texts: list[str] = []
        for number, raw in enumerate(data.split(b"\n")[:-1], pos.line + 1):
            try:
                texts.append(raw.decode(self.encoding))
            except UnicodeDecodeError as exc:
                # a stray byte must not stop the tail: the line goes to the DLQ with its bytes visible
                rows.append(BadRow(number, "encoding", f"not {self.encoding} (byte {exc.start} of the line)",
                                   raw.decode(self.encoding, "backslashreplace")))
                texts.append("")
            except LookupError as exc:
                raise ConfigError(f"unknown encoding {self.encoding!r} in the mapping: {exc}") from exc
        text = "\n".join(texts) + "\n"
        if pos.offset == 0:
            text = text.lstrip("\ufeff")
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)  # as decode_text does for an import
        header = tuple(pos.header) if pos.header else None
        for n, (line, cells) in enumerate(csv_records(text, ",")):
            if pos.offset == 0 and n == 0 and (found := header_columns(cells)) is not None:
                header = found
                block.header = list(found)
                continue
            rows.append(cdr_row(pos.line + line, cells, header))
        received_at = datetime.now(UTC)
        for row in sorted(rows, key=lambda r: r.line):
            block.lines += 1
            outcome = row_outcome(self.connector, row, name=name, options=self.options, source_id=self.source_id,
                                  sha=first_sha, received_at=received_at)
            if isinstance(outcome, RowProblem):
                log.warning("dead-lettered channel=%s file=%s line=%d field=%s", CHANNEL, name, outcome.line,
                            outcome.field)
                block.problems.append(outcome)
                block.letters.append((self.key.encode(),
                                      dead_letter(outcome, row.raw, self.key).model_dump_json().encode()))
            elif outcome is None:
                block.ignored += 1
            else:
                if isinstance(row, SourceRow) and not row.cells.get("uniqueid") and not self._warned_no_uniqueid:
                    self._warned_no_uniqueid = True
                    log.warning("channel=%s %s has no uniqueid column: event ids will not match a later "
                                "`hopnhat import`; set loguniqueid=yes in cdr.conf", CHANNEL, self.key)
                block.records.append((self.connector.kafka_key(outcome).encode(), outcome.model_dump_json().encode()))
        return block

    def _load(self) -> dict[str, Any] | None:
        import psycopg

        try:
            return load_checkpoint(self.database_url, self.key)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot read the checkpoint {self.key}: {exc}") from exc

    def _save(self, pos: TailPosition) -> None:
        import psycopg

        try:
            save_checkpoint(self.database_url, self.key, {**asdict(pos), "path": str(self.path),
                                                          "channel": CHANNEL, "source": self.source_id})
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot save the checkpoint {self.key} (its lines were published and "
                                      f"will be again, as no-ops): {exc}") from exc


def _identity(fh: IO[bytes]) -> tuple[int, int]:
    st = os.fstat(fh.fileno())
    return st.st_dev, st.st_ino


async def tail_cdr(*, settings: Settings, path: Path, source_id: str = "default",
                   options: Mapping[str, Any] | None = None, once: bool = False, poll_s: float = 1.0,
                   stop: threading.Event | None = None, wait_broker_s: float | None = None,
                   ack_timeout_s: float = 10.0, block_bytes: int = BLOCK_BYTES,
                   on_pass: Callable[[TailResult], None] | None = None,
                   on_wait: Callable[[HopnhatError, float], None] | None = None) -> TailResult:
    """Follow `path` until `stop` is set (or to its current end with `once`); return the run's totals.

    A broker or PostgreSQL outage is waited out, backing off from 1 s to 30 s, for up to
    `wait_broker_s` seconds (None: for ever) and the tail resumes from its checkpoint; past that the
    BrokerUnavailable or DatabaseUnavailable is raised. `stop` is checked between blocks: the block
    in flight is acknowledged and checkpointed before the tail returns."""
    from streams.topics import ensure_topics

    stop = stop or threading.Event()
    publisher = RawPublisher(settings, timeout_s=ack_timeout_s)
    tailer = CdrTailer(settings=settings, path=path, source_id=source_id, options=options or {},
                       publisher=publisher, block_bytes=block_bytes)
    total = TailResult(str(tailer.path))
    topics_ready = False
    waited, delay = 0.0, 1.0
    try:
        while not stop.is_set():
            try:
                if not topics_ready:
                    await publisher.check_reachable()  # fails within ack_timeout_s; the admin client takes ~30 s
                    await asyncio.to_thread(ensure_topics, settings)
                    topics_ready = True
                result = await tailer.tail_pass(stop)
            except (BrokerUnavailable, DatabaseUnavailable) as exc:
                tailer.forget()
                if wait_broker_s is not None and waited >= wait_broker_s:
                    raise
                total.resumes += 1
                if on_wait is not None:
                    on_wait(exc, delay)
                log.warning("channel=%s outage (%s); resuming from the checkpoint in %.0fs", CHANNEL, exc, delay)
                await asyncio.to_thread(stop.wait, delay)
                waited, delay = waited + delay, min(delay * 2, 30.0)
                continue
            waited, delay = 0.0, 1.0
            total.add(result)
            if on_pass is not None:
                on_pass(result)
            if once:
                break
            await asyncio.to_thread(stop.wait, poll_s)
    finally:
        tailer.close()
        await publisher.close()
    return total
