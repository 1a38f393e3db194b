"""File imports: rows of exported files -> CloudEvents on raw.<channel>, resumable, bad rows to dlq.ingest.

`import_files(...)` is what `hopnhat import <channel> FILE...` calls (and what tests call directly).
For each file: read its rows through the channel's `FileConnector`, turn each into the same
CloudEvent a webhook would produce, publish in batches with acks=all, and after the broker
acknowledged a whole batch (events and dead letters alike) save the checkpoint
`import:<channel>:<file sha256>` = number of rows done. A rerun of the same file skips those rows, so
a broker outage costs at most one batch of re-publishing, and re-published rows keep their event
ids (no-ops downstream). With `wait_broker_s` the import itself waits out an outage of up to that
long (backing off, 1 s doubling to 10 s between tries) and resumes from the checkpoint; past it, it
stops with BrokerUnavailable saying how many rows are checkpointed, and a rerun resumes. A row that cannot be read or parsed becomes a `DeadLetter` (stage "ingest",
field, reason, `file:line` in `error`, the raw row in `value`, the line as `offset`) and the file goes on.

Files of 4 MB or more (not XLSX) are parsed in a second process while this one publishes: parsing,
not the broker, is the limit (bench/ingest.py), and a Python process uses one core. Rows are
serialised by the connector's `row_record` and published as one record batch per partition
(`send_records`), each record on the partition aiokafka's `send` would have chosen for its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from connectors import load_connector
from connectors.tabular import BadRow, FileConnector, SourceRow, detect_encoding, file_format
from hopnhat.checkpoints import load_checkpoint, save_checkpoint
from hopnhat.settings import Settings
from schema.errors import BrokerUnavailable, ConfigError, DatabaseUnavailable, HopnhatError, MalformedPayload
from schema.events import CloudEvent, DeadLetter
from streams.batch_send import submit

_Out = TypeVar("_Out")

log = logging.getLogger(__name__)
Progress = Callable[[str, int, "int | None"], None]  # (file name, rows done, estimated rows in the file)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A bad row as reported to the user: where it is and why it was rejected."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


@dataclass(slots=True)
class ImportResult:
    files: int = 0
    rows: int = 0
    published: int = 0
    rejected: int = 0
    ignored: int = 0
    skipped_by_checkpoint: int = 0
    resumes: int = 0  # broker outages waited out (wait_broker_s)
    seconds: float = 0.0
    start_rows: dict[str, int] = field(default_factory=dict)  # file -> rows checkpointed when we first saw it
    encodings: dict[str, str] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def rows_per_s(self) -> float:
        return (self.rows - self.skipped_by_checkpoint) / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["start_rows"]
        out["problems"] = [str(p) for p in self.problems[:1000]]
        out["rows_per_s"] = round(self.rows_per_s, 1)
        out["seconds"] = round(self.seconds, 3)
        return out


def checkpoint_source(channel: str, file_sha256: str) -> str:
    return f"import:{channel}:{file_sha256}"


def file_connector(channel: str) -> FileConnector:
    try:
        connector = load_connector(channel)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    if not isinstance(connector, FileConnector):
        raise ConfigError(f"channel {channel!r} takes webhooks, not files; file channels: bulk, asterisk_cdr, "
                          "pos_export")
    return connector


def import_files(*, settings: Settings, channel: str, paths: list[Path], options: Mapping[str, Any] | None = None,
                 source_id: str | None = None, batch_size: int = 5000, limit: int | None = None,
                 progress: Progress | None = None, timeout_s: float = 10.0,
                 parallel_min_bytes: int = 4 << 20, wait_broker_s: float = 0.0,
                 on_wait: Callable[[HopnhatError, float], None] | None = None) -> ImportResult:
    """Import every file. A broker or PostgreSQL outage is waited out for up to `wait_broker_s` seconds
    (`on_wait` is told of each wait), resuming from the checkpoint; past that, BrokerUnavailable or
    DatabaseUnavailable (after checkpointing what was acked)."""
    import psycopg

    if not settings.database_url:
        raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file); "
                          "file imports keep their checkpoints in PostgreSQL")
    connector = file_connector(channel)
    opts = dict(options or {})
    source = source_id or str(opts.get("source") or "default")
    started = time.perf_counter()
    earlier: list[ImportResult] = []
    waited, delay = 0.0, 1.0
    while True:
        attempt = ImportResult()
        try:
            try:
                asyncio.run(_import(settings, connector, paths, opts, source, batch_size, limit, progress, timeout_s,
                                    parallel_min_bytes, attempt))
            except psycopg.OperationalError as exc:  # checkpoints live in PostgreSQL
                raise DatabaseUnavailable(f"PostgreSQL failed during the import: {exc}; rows acknowledged before it "
                                          "are checkpointed, rerun to resume") from exc
        except (BrokerUnavailable, DatabaseUnavailable) as exc:
            if waited >= wait_broker_s:
                raise
            earlier.append(attempt)
            if on_wait is not None:
                on_wait(exc, delay)
            log.warning("outage during the import (%s); resuming from the checkpoint in %.0fs", exc, delay)
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 10.0)
            continue
        return _combined(earlier, attempt, time.perf_counter() - started)


def _combined(earlier: list[ImportResult], last: ImportResult, seconds: float) -> ImportResult:
    """One summary over the attempts of an import that resumed: rows as the whole files, skipped as
    they were before the first attempt, published/rejected as acknowledged across attempts."""
    if not earlier:
        last.seconds = seconds
        return last
    start_rows = {**last.start_rows}
    for attempt in reversed(earlier):
        start_rows.update(attempt.start_rows)
    skipped = sum(start_rows.values())
    published = last.published + sum(a.published for a in earlier)
    rejected = last.rejected + sum(a.rejected for a in earlier)
    problems = list({str(p): p for a in [*earlier, last] for p in a.problems}.values())
    return ImportResult(files=last.files, rows=last.rows, published=published, rejected=rejected,
                        ignored=last.rows - skipped - published - rejected, skipped_by_checkpoint=skipped,
                        resumes=len(earlier), seconds=seconds, start_rows=start_rows,
                        encodings={**last.encodings}, problems=problems)


async def _start_producer(settings: Settings, timeout_s: float) -> Any:
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    from streams.topics import bootstrap_servers

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers(settings), acks="all", linger_ms=5, max_batch_size=1 << 20,
        request_timeout_ms=int(timeout_s * 1000), client_id="hopnhat-import",
    )
    try:
        await asyncio.wait_for(producer.start(), timeout_s)
    except (KafkaError, OSError, TimeoutError) as exc:
        await producer.stop()
        raise BrokerUnavailable(f"cannot reach the broker at {settings.kafka_bootstrap}: {exc!r}; "
                                "nothing was published, rerun when it is back") from exc
    return producer


@dataclass(slots=True)
class Chunk:
    """Consecutive rows of one file, parsed: what the parser hands to the publisher."""

    upto: int  # ordinal (1-based, in read order) of the last row in the chunk
    records: list[tuple[bool, bytes, bytes]] = field(default_factory=list)  # (dead letter?, key, value)
    problems: list[RowProblem] = field(default_factory=list)
    rows: int = 0
    skipped: int = 0
    ignored: int = 0


def row_outcome(connector: FileConnector, row: SourceRow | BadRow, *, name: str, options: Mapping[str, Any],
                source_id: str, sha: str, received_at: datetime) -> CloudEvent | RowProblem | None:
    """One read row as its event, the problem that rejects it, or None (a row about no customer)."""
    return _converted(connector.row_event, row, name=name, options=options, source_id=source_id, sha=sha,
                      received_at=received_at)


def _converted(convert: Callable[..., _Out | None], row: SourceRow | BadRow, *, name: str,
               options: Mapping[str, Any], source_id: str, sha: str, received_at: datetime,
               ) -> _Out | RowProblem | None:
    """A row through `convert` (the connector's row_event or row_record), or the problem that rejects it."""
    if isinstance(row, BadRow):
        return RowProblem(name, row.line, row.field, row.reason)
    try:
        return convert(row, options=options, source_id=source_id, file_sha256=sha, received_at=received_at)
    except MalformedPayload as exc:
        return RowProblem(name, row.line, exc.field, exc.reason)


def parse_chunks(connector: FileConnector, data: bytes, *, name: str, options: Mapping[str, Any], source_id: str,
                 sha: str, received_at: datetime, done: int, limit: int | None,
                 chunk_rows: int = 256) -> Iterator[Chunk]:
    """Every row after the first `done` (at most `limit` of them) as events or dead letters, in chunks."""
    key = checkpoint_source(connector.channel, sha)
    dead_key = key.encode()
    chunk = Chunk(upto=0)
    ordinal = 0
    for row in connector.read_rows(data, filename=name, options=options):
        if ordinal >= done and limit is not None:
            if limit <= 0:
                break
            limit -= 1
        ordinal += 1
        chunk.upto = ordinal
        if ordinal <= done:
            chunk.skipped += 1
            continue
        chunk.rows += 1
        outcome = _row_record(connector, row, name=name, options=options, source_id=source_id, sha=sha,
                              received_at=received_at)
        if isinstance(outcome, RowProblem):
            chunk.problems.append(outcome)
            letter = dead_letter(outcome, row.raw, key).model_dump_json().encode()
            chunk.records.append((True, dead_key, letter))
        elif outcome is None:
            chunk.ignored += 1
        else:
            chunk.records.append((False, *outcome))
        if chunk.rows >= chunk_rows:
            yield chunk
            chunk = Chunk(upto=ordinal)
    if chunk.rows or chunk.skipped or ordinal == 0:
        yield chunk


def _row_record(connector: FileConnector, row: SourceRow | BadRow, *, name: str, options: Mapping[str, Any],
                source_id: str, sha: str, received_at: datetime) -> tuple[bytes, bytes] | RowProblem | None:
    """`row_outcome` as the (key, value) record to publish: the connector's `row_record` may serialise the
    event without building it (the bulk connector does; parsing is the import's limit)."""
    return _converted(connector.row_record, row, name=name, options=options, source_id=source_id, sha=sha,
                      received_at=received_at)


def _parser_process(channel: str, path: str, options: dict[str, Any], source_id: str, sha: str,
                    received_at: datetime, done: int, limit: int | None, out: Any) -> None:
    """Body of the parser process for large files: chunks onto `out`, then None (or an error tuple)."""
    try:
        connector = file_connector(channel)
        data = Path(path).read_bytes()
        for chunk in parse_chunks(connector, data, name=Path(path).name, options=options, source_id=source_id,
                                  sha=sha, received_at=received_at, done=done, limit=limit, chunk_rows=2000):
            out.put(chunk)
        out.put(None)
    except MalformedPayload as exc:
        out.put(("MalformedPayload", exc.field, exc.reason))
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it there
        out.put(("error", type(exc).__name__, str(exc)))


async def _chunks_from_process(channel: str, path: Path, options: dict[str, Any], source_id: str, sha: str,
                               received_at: datetime, done: int, limit: int | None) -> AsyncGenerator[Chunk, None]:
    """Parse in a second process (the publisher keeps this one busy): ~1.5x rows/s on 2 cores."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no fork: this process runs threads and an event loop
    queue = context.Queue(maxsize=16)
    process = context.Process(target=_parser_process, daemon=True, name="hopnhat-import-parser",
                              args=(channel, str(path), options, source_id, sha, received_at, done, limit, queue))
    process.start()
    try:
        while True:
            item = await asyncio.to_thread(queue.get)
            if item is None:
                return
            if isinstance(item, tuple):
                if item[0] == "MalformedPayload":
                    raise MalformedPayload(item[1], item[2])
                raise RuntimeError(f"parser process failed: {item[1]}: {item[2]}")
            yield item
    finally:
        if process.is_alive():
            process.terminate()
        process.join(5)


async def _chunks_here(connector: FileConnector, data: bytes, **kwargs: Any) -> AsyncGenerator[Chunk, None]:
    for chunk in parse_chunks(connector, data, **kwargs):
        yield chunk
        await asyncio.sleep(0)  # let the producer send the batch in flight while the next is parsed


async def _import(settings: Settings, connector: FileConnector, paths: list[Path], options: dict[str, Any],
                  source_id: str, batch_size: int, limit: int | None, progress: Progress | None,
                  timeout_s: float, parallel_min_bytes: int, result: ImportResult) -> None:
    from aiokafka.errors import KafkaError

    from streams.topics import Topics, ensure_topics

    assert settings.database_url
    producer = await _start_producer(settings, timeout_s)
    started = time.perf_counter()
    try:
        await asyncio.to_thread(ensure_topics, settings)
        topics = Topics.from_settings(settings)
        raw_topic, dlq_topic = topics.raw[connector.channel], topics.dlq_ingest
        budget = limit
        for path in paths:
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            fmt = str(options.get("format") or file_format(path.name))
            if fmt != "xlsx":
                given = str(options.get("encoding", "auto"))
                result.encodings[path.name] = detect_encoding(data) if given == "auto" else given
            key = checkpoint_source(connector.channel, sha)
            done = int((load_checkpoint(settings.database_url, key) or {}).get("rows_done", 0))
            result.start_rows.setdefault(str(path), done)
            result.files += 1
            received_at = datetime.now(UTC)
            estimate = None if fmt == "xlsx" else max(data.count(b"\n"), 1)
            pending: list[tuple[bool, bytes, bytes]] = []
            upto = done
            published = rejected = 0
            inflight: tuple[list[Any], int, int, int] | None = None  # (ack futures, rows up to, raw, dlq)
            acked_upto = done

            async def settle() -> None:
                """Wait for the batch in flight, then checkpoint it: the checkpoint never runs ahead of acks."""
                nonlocal inflight, published, rejected, acked_upto
                if inflight is None:
                    return
                futures, upto_, n_raw, n_dlq = inflight
                inflight = None
                try:
                    await asyncio.wait_for(asyncio.gather(*futures), timeout_s)
                except (KafkaError, TimeoutError) as exc:
                    raise BrokerUnavailable(
                        f"broker did not acknowledge rows of {path.name} after row {acked_upto}: {exc!r}; "
                        f"{acked_upto} rows are checkpointed, rerun to resume") from exc
                published, rejected, acked_upto = published + n_raw, rejected + n_dlq, upto_
                await asyncio.to_thread(save_checkpoint, settings.database_url or "", key, {
                    "rows_done": upto_, "file": path.name, "channel": connector.channel, "source": source_id})

            async def flush(upto_: int) -> None:
                """Send the pending batch; it is acknowledged while the next one is parsed (one in flight)."""
                nonlocal inflight
                await settle()
                try:
                    futures = await send_records(producer, pending, raw_topic, dlq_topic)
                except KafkaError as exc:
                    raise BrokerUnavailable(f"cannot send rows of {path.name} after row {acked_upto}: {exc!r}; "
                                            f"{acked_upto} rows are checkpointed, rerun to resume") from exc
                n_dlq = sum(1 for dead, _, _ in pending if dead)
                inflight = (futures, upto_, len(pending) - n_dlq, n_dlq)
                pending.clear()

            parse_args: dict[str, Any] = {"options": options, "source_id": source_id, "sha": sha,
                                          "received_at": received_at, "done": done, "limit": budget}
            chunks = (_chunks_from_process(connector.channel, path, **parse_args)
                      if len(data) >= parallel_min_bytes and fmt != "xlsx"
                      else _chunks_here(connector, data, name=path.name, **parse_args))
            try:
                async with contextlib.aclosing(chunks):
                    async for chunk in chunks:
                        result.rows += chunk.rows + chunk.skipped
                        result.skipped_by_checkpoint += chunk.skipped
                        result.ignored += chunk.ignored
                        result.problems.extend(chunk.problems)
                        if budget is not None:
                            budget -= chunk.rows
                        pending.extend(chunk.records)
                        upto = chunk.upto
                        if len(pending) >= batch_size:
                            await flush(upto)
                            if progress:
                                progress(path.name, upto, estimate)
                if pending or upto > acked_upto:
                    await flush(upto)
                await settle()
            finally:
                result.published += published
                result.rejected += rejected
            if progress:
                progress(path.name, upto, upto)
    finally:
        result.seconds = time.perf_counter() - started
        await producer.stop()


async def send_records(producer: Any, records: list[tuple[bool, bytes, bytes]], raw_topic: str,
                       dlq_topic: str) -> list[Any]:
    """Hand (dead letter?, key, value) records to the producer; the futures that resolve when acknowledged.

    Events go as one record batch per partition of `raw_topic` (streams/batch_send.py), each to the
    partition `producer.send` would pick for its key, in file order; dead letters, a few, one by one.
    `send` per record cost ~15 µs of CPU in futures and bookkeeping, as much as parsing the row, in the
    process that also runs the event loop."""
    futures: list[Any] = [await producer.send(dlq_topic, value=value, key=key)
                          for dead, key, value in records if dead]
    futures += await submit(producer, ((raw_topic, key, value) for dead, key, value in records if not dead))
    return futures


def dead_letter(problem: RowProblem, raw: str, key: str) -> DeadLetter:
    """The dlq.ingest record of a bad row: file and line in `error`, the line as `offset`, the row as read."""
    return DeadLetter(stage="ingest", reason=problem.reason, field=problem.field, error=str(problem),
                      topic=f"file:{problem.file}", partition=0, offset=problem.line, key=key, value=raw,
                      at=datetime.now(UTC))
