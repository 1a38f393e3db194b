"""Benchmark: under faults, nothing is lost, nothing is doubled, and the customers come out the same.

    python bench/chaos.py [--events 200000] [--kills 10] [--workers 2] [--pause-s 10] [--seed 84]

Runs the same events twice, each time on a fresh embedded Tansu broker and PostgreSQL with
`hopnhat serve` and W x `hopnhat worker` (one consumer group):

* the reference run: undisturbed;
* the chaos run: while the events flow, kill -9 a random worker K times at random moments and start it
  again at once; crash PostgreSQL once (SIGQUIT, PostgreSQL's immediate shutdown: no checkpoint,
  crash recovery on restart) and start it again 3 s later; freeze the broker once for --pause-s
  seconds (SIGSTOP/SIGCONT: the embedded broker keeps nothing across a restart, so it is paused, not
  restarted). While it is frozen a `hopnhat import` of a contact list starts: it has to wait for the
  broker and resume from its checkpoint.

The events: signed web-form submissions of the generated Vietnamese sample (people coming back
several times, phones and emails typed differently) posted to the webhook by a client that retries
503s as a real source does, plus a contact list (name + phone of some of the same people) imported
from CSV. "Random moments" are drawn from the seed: kills and the database crash at random fractions
of the events stored, the broker pause at a random fraction of the events posted.

Compared after each run settles: an event is lost if the webhook answered 2xx for it (or the import
counted its row) and it is not in `interactions`; doubled counts rows beyond one per event and rows
for events never sent; the clustering is the partition of event ids into customers (following
merges). Final JSON line: events, kills, lost, doubled, clustering_equal, dlq, wall_s, and the
details (503 answers, import resumes, customers per run, the fault log).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from connectors import load_connector  # noqa: E402
from connectors.tabular import BadRow  # noqa: E402
from hopnhat.embedded import ChildService, free_port, start_postgres, start_tansu  # noqa: E402
from hopnhat.migrate import migrate  # noqa: E402
from hopnhat.processes import running_stack, spawn  # noqa: E402
from hopnhat.sample import Person, Visit, generate  # noqa: E402
from hopnhat.settings import Settings  # noqa: E402
from hopnhat.stats import dlq_depth  # noqa: E402
from hopnhat.webform_client import PostReport, post_visits  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402

FORM = "lien-he"
LIST_SOURCE = "danh-sach-cu"
PG_DOWN_S = 3.0
MIN_GAP_S = 3.0  # between two faults, so that kills drawn close together still hit different moments


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Workload:
    """The same events for both runs: form submissions and a contact list CSV with its event ids."""

    visits: list[Visit]
    list_path: Path
    list_ids: frozenset[str]
    secret: str

    @property
    def size(self) -> int:
        return len(self.visits) + len(self.list_ids)


def make_workload(events: int, seed: int, workdir: Path) -> Workload:
    """`events` in all: ~95% form submissions, ~5% (at least 600, so that the import spans several
    acknowledged batches) rows of a contact list about some of the same people."""
    rows = max(min(600, events // 4), events // 20)
    people: list[Person] = []
    visits: list[Visit] = []
    end = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # fixed, so both runs see identical events
    while len(visits) < events - rows:
        more_people, more = generate(max(1, int((events - rows - len(visits)) / 2.4)), seed + len(visits), end)
        people += more_people
        visits += more
    visits = visits[:events - rows]
    rnd = random.Random(seed)
    lines = ["Mã KH,Họ và tên,Số điện thoại"]
    for i, person in enumerate(rnd.sample(people, min(rows, len(people)))):
        lines.append(f"KH{i:07d},{person.name},0{person.nsn}")
    path = workdir / "danh-sach-khach-hang.csv"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return Workload(visits, path, frozenset(list_event_ids(path)), secrets.token_urlsafe(16))


def list_event_ids(path: Path) -> list[str]:
    """The event ids `hopnhat import bulk` gives the list's rows (file hash + row: the same every run)."""
    connector = load_connector("bulk")
    data = path.read_bytes()
    sha, now = hashlib.sha256(data).hexdigest(), datetime.now(UTC)
    ids = []
    for row in connector.read_rows(data, filename=path.name, options={}):
        assert not isinstance(row, BadRow), row
        event = connector.row_event(row, options={}, source_id=LIST_SOURCE, file_sha256=sha, received_at=now)
        assert event is not None
        ids.append(event.id)
    return ids


@dataclass
class Fault:
    kind: str  # kill | postgres | broker
    at: float  # fraction of events stored (kill, postgres) or posted (broker) at which it fires
    fired_s: float | None = None
    detail: str = ""


def chaos_plan(kills: int, seed: int) -> list[Fault]:
    rnd = random.Random(seed * 7919)
    faults = [Fault("kill", rnd.uniform(0.03, 0.9)) for _ in range(kills)]
    faults.append(Fault("postgres", rnd.uniform(0.1, 0.8)))
    faults.append(Fault("broker", rnd.uniform(0.2, 0.7)))
    return sorted(faults, key=lambda f: f.at)


@dataclass
class RunResult:
    wall_s: float
    settle_s: float
    stored: list[tuple[str, str]]  # (event id, customer id after merges)
    expected: set[str]
    dlq: int
    post: PostReport
    import_summary: dict[str, Any]
    faults: list[Fault] = field(default_factory=list)

    @property
    def stored_ids(self) -> set[str]:
        return {eid for eid, _ in self.stored}

    def clustering(self) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for eid, root in self.stored:
            groups.setdefault(root, set()).add(eid)
        return {frozenset(g) for g in groups.values()}


class Sender(threading.Thread):
    """Posts every submission (`concurrency` connections, at most `rate` a second when given), retrying
    503s and refused connections for up to 5 min as a source would."""

    def __init__(self, base_url: str, work: Workload, concurrency: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.base_url, self.work, self.concurrency, self.rate = base_url, work, concurrency, rate
        self.posted = 0
        self.report = PostReport()
        self.error: BaseException | None = None

    def done_one(self) -> None:
        self.posted += 1

    def run(self) -> None:
        try:
            asyncio.run(self._post())
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            self.error = exc

    async def _post(self) -> None:
        visits = self.work.visits
        step = max(1, int(self.rate)) if self.rate > 0 else len(visits)
        start = time.perf_counter()
        for i in range(0, len(visits), step):
            part = await post_visits(self.base_url, FORM, self.work.secret, visits[i:i + step], self.concurrency,
                                     self.done_one, retry_for_s=300.0)
            self.report.statuses.update(part.statuses)
            self.report.retried.update(part.retried)
            self.report.accepted_ids += part.accepted_ids
            if self.rate > 0:
                await asyncio.sleep(max(0.0, start + (i + step) / self.rate - time.perf_counter()))
        self.report.seconds = time.perf_counter() - start


def stored_rows(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [(eid, str(root)) for root, eid in conn.execute(
            "SELECT coalesce(c.merged_into, c.id), i.event_id FROM interactions i JOIN customers c ON c.id = i.customer_id")]


def count_stored(url: str) -> int | None:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM interactions").fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return None  # PostgreSQL is down (the chaos run crashes it once)


def wait_for_import_start(url: str, path: Path, importer: ChildService, timeout_s: float = 60.0) -> None:
    """Return once the import has checkpointed a first acknowledged batch of the list (or has exited, or
    `timeout_s` passed). One connection polled every 2 ms: the importer acknowledges a 10-row batch in a
    few milliseconds, and the broker has to freeze while most of the list is still to come."""
    key = f"import:bulk:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    deadline = time.perf_counter() + timeout_s
    with psycopg.connect(url, autocommit=True) as conn:
        while importer.alive() and time.perf_counter() < deadline:
            row = conn.execute("SELECT checkpoint FROM ingest_checkpoints WHERE source = %s", (key,)).fetchone()
            if row and row[0].get("rows_done"):
                return
            time.sleep(0.002)


def import_summary(child: ChildService) -> dict[str, Any]:
    lines = [ln for ln in child.log_path.read_text(errors="replace").splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": child.log_tail(5)}


def run_once(work: Workload, workers: int, concurrency: int, rate: float, plan: list[Fault] | None, seed: int,
             pause_s: float, timeout_s: float) -> RunResult:
    label = "chaos" if plan else "reference"
    workdir = Path(tempfile.mkdtemp(prefix=f"hopnhat-chaos-{label}-"))
    broker, bootstrap = start_tansu(workdir)
    pg, url = start_postgres(workdir)
    rnd = random.Random(seed)
    try:
        s = Settings().with_secret("webform", FORM, work.secret).model_copy(update={
            "kafka_bootstrap": bootstrap, "database_url": url, "http_port": free_port(),
            "app_id": f"chaos-{secrets.token_hex(3)}", "partitions": max(4, workers * 2)})
        migrate(database_url=url)
        ensure_topics(s)
        logs = workdir / "logs"
        logs.mkdir()
        importer_args = ["import", "bulk", str(work.list_path), "--source", LIST_SOURCE, "--json",
                         "--batch-size", "10", "--wait-broker", "300", "--ack-timeout", "3"]
        with running_stack(s, workers=workers, log_dir=logs) as children:
            started = time.perf_counter()
            sender = Sender(f"http://{s.http_host}:{s.http_port}", work, concurrency, rate)
            sender.start()
            importer: ChildService | None = None
            if plan is None:
                importer = spawn("import", importer_args, s, logs)
            pending = list(plan or [])
            last_fault = 0.0
            stored = 0
            restarts = 0
            last_report = 0.0
            while True:
                now = time.perf_counter()
                n = count_stored(url)
                stored = stored if n is None else n
                if now - last_report > 10:
                    log(f"{label}: posted {sender.posted}/{len(work.visits)}, stored {stored}/{work.size}")
                    last_report = now
                due = [f for f in pending if (sender.posted / len(work.visits) if f.kind == "broker"
                                              else stored / work.size) >= f.at]
                due.sort(key=lambda f: f.kind != "broker")  # the freeze must meet the webhook traffic
                if due and now - last_fault >= MIN_GAP_S:
                    fault = due[0]
                    pending.remove(fault)
                    fault.fired_s = round(now - started, 1)
                    if fault.kind == "kill":
                        victim = rnd.randrange(workers)
                        child = children[1 + victim]
                        child.process.send_signal(signal.SIGKILL)
                        child.process.wait(10)
                        restarts += 1
                        children[1 + victim] = spawn(f"worker-{victim}-restart-{restarts}", ["worker"], s, logs)
                        fault.detail = f"worker-{victim} pid {child.process.pid}"
                    elif fault.kind == "postgres":
                        pg.process.send_signal(signal.SIGQUIT)
                        pg.process.wait(30)
                        time.sleep(PG_DOWN_S)
                        pg.restart()
                        fault.detail = f"down {time.perf_counter() - now:.1f}s"
                    else:  # the import starts, and the broker freezes once its first batch is acknowledged
                        importer = spawn("import", importer_args, s, logs)
                        wait_for_import_start(url, work.list_path, importer)
                        now = time.perf_counter()
                        os.kill(broker.process.pid, signal.SIGSTOP)
                        time.sleep(pause_s)
                        os.kill(broker.process.pid, signal.SIGCONT)
                        fault.detail = f"frozen {time.perf_counter() - now:.1f}s"
                    log(f"{label}: {fault.kind} at {fault.fired_s}s ({fault.detail})")
                    last_fault = time.perf_counter()
                    continue
                finished = (not sender.is_alive() and importer is not None and not importer.alive()
                            and not pending)
                if finished:
                    expected = set(sender.report.accepted_ids)
                    if import_summary(importer).get("rows") == len(work.list_ids):
                        expected |= work.list_ids
                    if stored >= len(expected):
                        break
                if sender.error is not None:
                    raise sender.error
                if now - started > timeout_s:
                    log(f"{label}: timed out with {stored} stored")
                    break
                time.sleep(0.2)
            settle_started = time.perf_counter()
            time.sleep(3.0)  # anything still in flight (a redelivered batch) lands now
            wall_s = time.perf_counter() - started
            assert importer is not None
            summary = import_summary(importer)
            expected = set(sender.report.accepted_ids) | (work.list_ids if summary.get("rows") else set())
            rows = stored_rows(url)
            dlq = dlq_depth(s)
            dead = [c.name for c in children if not c.alive()]
            if dead:
                log(f"{label}: processes that died on their own: {dead}")
            return RunResult(round(wall_s, 1), round(time.perf_counter() - settle_started, 1), rows, expected, dlq,
                             sender.report, summary, list(plan or []))
    finally:
        if broker.alive():
            os.kill(broker.process.pid, signal.SIGCONT)
        pg.stop()
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)



def compare(reference: RunResult, chaos: RunResult) -> dict[str, Any]:
    stored = chaos.stored_ids
    return {
        "lost": len(chaos.expected - stored),
        "doubled": (len(chaos.stored) - len(stored)) + len(stored - chaos.expected),
        "clustering_equal": reference.clustering() == chaos.clustering(),
        "reference_lost": len(reference.expected - reference.stored_ids),
        "customers": len(chaos.clustering()),
        "reference_customers": len(reference.clustering()),
    }


def run(events: int, kills: int, workers: int, pause_s: float, seed: int, concurrency: int = 16, rate: float = 0.0,
        timeout_s: float = 3600.0) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="hopnhat-chaos-"))
    try:
        work = make_workload(events, seed, tmp)
        log(f"workload: {len(work.visits)} form submissions + {len(work.list_ids)} contact-list rows")
        reference = run_once(work, workers, concurrency, rate, None, seed, pause_s, timeout_s)
        log(f"reference: {len(reference.stored)} stored in {reference.wall_s}s")
        plan = chaos_plan(kills, seed)
        chaos = run_once(work, workers, concurrency, rate, plan, seed, pause_s, timeout_s)
        log(f"chaos: {len(chaos.stored)} stored in {chaos.wall_s}s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    fired = [f for f in chaos.faults if f.fired_s is not None]
    return {
        "bench": "chaos", "events": work.size, "workers": workers,
        "kills": sum(f.kind == "kill" for f in fired),
        "postgres_restarts": sum(f.kind == "postgres" for f in fired),
        "broker_pauses": sum(f.kind == "broker" for f in fired), "pause_s": pause_s,
        **compare(reference, chaos),
        "dlq": chaos.dlq, "reference_dlq": reference.dlq,
        "wall_s": chaos.wall_s, "reference_wall_s": reference.wall_s,
        "webhook_503": chaos.post.retried.get(503, 0), "webhook_no_answer": chaos.post.retried.get(0, 0),
        "webhook_gave_up": sum(n for status, n in chaos.post.statuses.items() if not 200 <= status < 300),
        "import_resumes": chaos.import_summary.get("resumes"), "import_rows": chaos.import_summary.get("rows"),
        "faults": [{"kind": f.kind, "at_s": f.fired_s, "detail": f.detail} for f in fired],
        "machine": f"{platform.machine()} {os.cpu_count()} cpu", "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="events in all (95%% forms, 5%% a list)")
    parser.add_argument("--kills", type=int, default=10, help="kill -9 of a random worker, each restarted")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pause-s", type=float, default=10.0, help="how long the broker stays frozen")
    parser.add_argument("--seed", type=int, default=84, help="the events and the moments of the faults")
    parser.add_argument("--concurrency", type=int, default=16, help="parallel webhook connections")
    parser.add_argument("--rate", type=float, default=0.0, help="webhook posts per second (0: as fast as served)")
    parser.add_argument("--timeout-s", type=float, default=3600.0, help="give up a run after this long")
    args = parser.parse_args()
    print(json.dumps(run(args.events, args.kills, args.workers, args.pause_s, args.seed, args.concurrency,
                         args.rate, args.timeout_s), ensure_ascii=False))


if __name__ == "__main__":
    main()
