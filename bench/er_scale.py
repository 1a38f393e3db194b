"""Benchmark: bulk entity resolution at 10k, 100k and 1M records, hopnhat vs Splink 5 (DuckDB).

    .venv-bench/bin/python bench/er_scale.py [--sizes 10000,100000,1000000] [--no-splink] [--seed 2026]

Data: bench/vn_people.py draws Vietnamese customers (Nguyễn ~38 %, real prefixes, emails, birth
dates, provinces) and 1-4 noisy duplicates for ~60 % of them, until `size` records exist. Every
record is normalised (RawContact -> resolver.normalise.canonical_event) and reduced to the engine's
comparison view (resolver.features.match_record) *before* anything is timed; the set is cached in
--workdir by size and seed.

Same input, same output for both engines: the normalised records in (hopnhat: the MatchRecords;
Splink: a table of the same folded fields — family, middle, given, birth date, gender, province,
first phone, first email, Zalo id), one cluster id per record out. Each engine runs in its own
child process, so the two never share a heap; peak memory includes loading the input (hopnhat's
`input_mb` is its RSS once the records are loaded). hopnhat may use a second process (the pair
worker of resolver/pair_scoring.py: a fresh interpreter, sharing no memory with the engine), so
its `peak_mb` bounds the two processes' total: the larger of the engine's own peak RSS and, for
the time the worker lived, the engine's peak RSS until the worker was done *plus* the worker's peak
RSS (as if both peaks coincided). Splink's `peak_mb` is its child's ru_maxrss
(os.wait4; DuckDB's threads are in that one process). For both, `sampled_peak_mb` is the largest
total RSS of the child and its descendant processes seen by polling /proc every 20 ms.

What the timings cover:
* hopnhat `resolve_s`: `resolve_records(records)` on the loaded MatchRecords — stitching, blocking,
  training (u from random pairs, m by EM), scoring, decisions, clustering. Building MatchRecords
  from canonical events is reported apart as `hopnhat_features_s` (it is done once per record at
  normalise time in the stream).
* Splink `resolve_s`: Linker set-up, training (prior from deterministic rules, u by random sampling
  with max_pairs 1e6, or 1e7 at 1M, where 1e6 random pairs find no phone matches; EM blocked on
  phone and on given name + birth date), predict and cluster, on an in-memory DuckDB table loaded
  beforehand.
* `write_s` (each engine): writing the cluster id of every record to a file — the store write, kept
  apart. (A PostgreSQL write of the result is not measured here.)
records/s = records / resolve_s; `resolve_cpu_s` is the CPU time of the same span (all threads and worker
processes), for a shared machine. Scores: pairwise precision/recall/F1 against the truth.
The last stdout line is one JSON object keyed by size.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.er_metrics import pair_counts  # noqa: E402

SPLINK_COLUMNS = ["unique_id", "family", "middle", "given", "birth_date", "gender", "province", "phone", "email",
                  "zalo"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- data --------------------------------------------------------------------------------------------

def build(size: int, seed: int, workdir: Path) -> Path:
    """Generate, normalise and reduce `size` records once; returns the folder with both engines' input."""
    folder = workdir / f"n{size}-s{seed}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    from bench.vn_people import PeopleGenerator
    from resolver.features import match_record
    from resolver.normalise import Rejected, canonical_event

    started = time.perf_counter()
    gen = PeopleGenerator(seed)
    records, truth, rejected = [], [], 0
    features_s = 0.0
    for r in gen.records(size):
        event = canonical_event(r.contact, f"{r.contact.source}:{r.contact.source_record_id}")
        if isinstance(event, Rejected):
            rejected += 1
            continue
        t = time.perf_counter()
        records.append(match_record(event))
        features_s += time.perf_counter() - t
        truth.append(r.pid)
        if len(records) % 100_000 == 0:
            log(f"  {len(records)} records normalised ({time.perf_counter() - started:.0f} s)")
    with open(folder / "records.pkl", "wb") as f:
        pickle.dump(records, f, protocol=pickle.HIGHEST_PROTOCOL)
    with open(folder / "truth.pkl", "wb") as f:
        pickle.dump([(m.key, pid) for m, pid in zip(records, truth)], f, protocol=pickle.HIGHEST_PROTOCOL)
    _write_splink_table(records, folder / "splink.parquet")
    meta = {"records": len(records), "people": len(set(truth)), "rejected": rejected,
            "hopnhat_features_s": round(features_s, 3), "build_s": round(time.perf_counter() - started, 1)}
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "done").write_text("ok")
    log(f"  built {folder}: {meta}")
    return folder


def _write_splink_table(records: list[Any], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def first(ids: tuple[tuple[str, str], ...], kind: str) -> str | None:
        return next((v for t, v in ids if t == kind), None)

    columns: dict[str, list[str | None]] = {c: [] for c in SPLINK_COLUMNS}
    for m in records:
        columns["unique_id"].append(m.key)
        for name in ("family", "middle", "given", "birth_date", "gender", "province"):
            columns[name].append(getattr(m, name) or None)
        for kind in ("phone", "email", "zalo"):
            columns[kind].append(first(m.identifiers, kind))
    pq.write_table(pa.table(columns), path)


# --- children ----------------------------------------------------------------------------------------

def child_hopnhat(folder: Path, out: Path) -> dict[str, Any]:
    from resolver.engine import resolve_records

    with open(folder / "records.pkl", "rb") as f:
        records = pickle.load(f)
    gc.collect()
    loaded_mb = _rss_mb()
    started, started_cpu = time.perf_counter(), _cpu_s()
    result = resolve_records(records)
    resolved, resolve_cpu = time.perf_counter(), _cpu_s() - started_cpu
    with open(out, "wb") as f:
        pickle.dump(result.cluster_of, f, protocol=pickle.HIGHEST_PROTOCOL)
    written = time.perf_counter()
    stats = {k: v for k, v in result.stats.items() if isinstance(v, int | float | str)}
    for timing in ("seconds", "cpu_seconds", "pair_work_seconds"):  # per engine stage (and in the pair worker)
        stats[timing] = result.stats.get(timing)
    worker = result.stats.get("pair_worker_memory_mb") or {}
    worker_mb, engine_meanwhile_mb = worker.get("peak_rss", 0), worker.get("engine_peak_rss_meanwhile", 0)
    return {"records": len(records), "resolve_s": resolved - started, "resolve_cpu_s": resolve_cpu,
            "write_s": written - resolved, "input_mb": loaded_mb, "engine_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "worker_peak_mb": worker_mb, "engine_peak_while_worker_mb": engine_meanwhile_mb, "stats": stats}


def _cpu_s() -> float:
    """CPU time of this process (all threads: DuckDB's, rapidfuzz's) and of the workers it waited for:
    on a shared machine, the figure wall time cannot give."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def _rss_mb() -> int | None:
    """Resident set size now (Linux), to tell the input's share of the peak from the engine's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def child_splink(folder: Path, out: Path, u_pairs: float) -> dict[str, Any]:
    import logging

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    for noisy in ("splink", "duckdb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    con = duckdb.connect()
    con.sql(f"CREATE TABLE people AS SELECT * FROM read_parquet('{folder / 'splink.parquet'}')")
    records = con.sql("SELECT count(*) FROM people").fetchall()[0][0]
    started, started_cpu = time.perf_counter(), _cpu_s()
    db_api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("phone"), block_on("email"), block_on("zalo"),
            block_on("family", "given", "birth_date"), block_on("given", "middle", "birth_date"),
        ],
        comparisons=[
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.ExactMatch("email"),
            cl.ExactMatch("zalo"),
            cl.ExactMatch("family").configure(term_frequency_adjustments=True),
            cl.ExactMatch("middle").configure(term_frequency_adjustments=True),
            cl.NameComparison("given").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birth_date", input_is_string=True, invalid_dates_as_null=True),
            cl.ExactMatch("province"),
            cl.ExactMatch("gender"),
        ],
    )
    linker = Linker(db_api.register(con.table("people")), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone"), block_on("email"), block_on("zalo")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given", "birth_date"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.95)
    rows = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
    resolved, resolve_cpu = time.perf_counter(), _cpu_s() - started_cpu
    with open(out, "wb") as f:
        pickle.dump({str(k): str(c) for k, c in rows}, f, protocol=pickle.HIGHEST_PROTOCOL)
    written = time.perf_counter()
    return {"records": records, "resolve_s": resolved - started, "resolve_cpu_s": resolve_cpu,
            "write_s": written - resolved, "u_pairs": u_pairs}


def run_child(engine: str, folder: Path, extra: list[str], timeout: float) -> dict[str, Any]:
    """The engine in a fresh interpreter; its result line and its own peak RSS (os.wait4)."""
    out = folder / f"clusters-{engine}.pkl"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine, "--input", str(folder),
           "--output", str(out), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=str(Path(__file__).resolve().parents[1]))
    started = time.monotonic()
    sampler = _TreeMemory(proc.pid)
    sampler.start()
    assert proc.stdout is not None
    output = proc.stdout.read()
    sampler.stop.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}", "elapsed_s": round(time.monotonic() - started, 1)}
    result = json.loads(output.decode().strip().splitlines()[-1])
    result["peak_mb"] = round(usage.ru_maxrss / 1024)  # KiB on Linux
    if "engine_peak_mb" in result:  # hopnhat: the engine's peak, or its peak while the worker ran plus the worker's
        both = result["engine_peak_while_worker_mb"] + result["worker_peak_mb"]
        result["peak_mb"] = max(result["peak_mb"], result["engine_peak_mb"], both)
    result["sampled_peak_mb"] = sampler.peak_kb // 1024
    with open(out, "rb") as f:
        result["clusters"] = pickle.load(f)
    _ = timeout
    return result


class _TreeMemory(threading.Thread):
    """Polls the total RSS of a process and its descendants (Linux /proc), keeping the largest."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak_kb = max(self.peak_kb, sum(map(_rss_kb, _tree(self.pid))))


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:  # ended between listing and reading
        pass
    return 0


def score(clusters: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    full = {k: clusters.get(k, f"missing:{k}") for k in truth}
    s = pair_counts(full, truth).scores()
    return {"precision": round(s.precision, 4), "recall": round(s.recall, 4), "f1": round(s.f1, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The last stdout line is one JSON object keyed by size; progress on stderr.")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated record counts")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-splink", action="store_true", help="run hopnhat only")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "hopnhat-er-scale",
                        help="where generated sets are cached (by size and seed)")
    parser.add_argument("--child", choices=["hopnhat", "splink"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--u-pairs", type=float, default=1e6, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout (default anyway)")
    args = parser.parse_args(argv)

    if args.child:
        result = (child_hopnhat(args.input, args.output) if args.child == "hopnhat"
                  else child_splink(args.input, args.output, args.u_pairs))
        print(json.dumps(result, default=str))
        return 0

    report: dict[str, Any] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        log(f"size {size}: building the set")
        folder = build(size, args.seed, args.workdir)
        meta = json.loads((folder / "meta.json").read_text())
        with open(folder / "truth.pkl", "rb") as f:
            truth = dict(pickle.load(f))
        entry: dict[str, Any] = {"records": meta["records"], "people": meta["people"],
                                 "hopnhat_features_s": meta["hopnhat_features_s"]}
        hop = run_child("hopnhat", folder, [], 3600)
        if "clusters" in hop:
            entry["hopnhat"] = {**score(hop.pop("clusters"), truth), "resolve_s": round(hop["resolve_s"], 3),
                                "resolve_cpu_s": round(hop["resolve_cpu_s"], 3),
                                "write_s": round(hop["write_s"], 3), "peak_mb": hop["peak_mb"],
                                "engine_peak_mb": hop.get("engine_peak_mb"), "worker_peak_mb": hop.get("worker_peak_mb"),
                                "engine_peak_while_worker_mb": hop.get("engine_peak_while_worker_mb"),
                                "sampled_peak_mb": hop.get("sampled_peak_mb"),
                                "input_mb": hop.get("input_mb"), "stage_s": (hop.get("stats") or {}).get("seconds"),
                                "stage_cpu_s": (hop.get("stats") or {}).get("cpu_seconds"),
                                "pair_work_s": (hop.get("stats") or {}).get("pair_work_seconds"),
                                "records_per_s": round(hop["records"] / hop["resolve_s"])}
            log(f"  hopnhat {size}: {entry['hopnhat']} stats {hop.get('stats')}")
        else:
            entry["hopnhat"] = hop
            log(f"  hopnhat {size}: failed {hop}")
        if not args.no_splink:
            u_pairs = 1e7 if size >= 1_000_000 else 1e6
            spl = run_child("splink", folder, ["--u-pairs", str(u_pairs)], 3600)
            if "clusters" in spl:
                entry["splink"] = {**score(spl.pop("clusters"), truth), "resolve_s": round(spl["resolve_s"], 3),
                                   "resolve_cpu_s": round(spl["resolve_cpu_s"], 3),
                                   "write_s": round(spl["write_s"], 3), "peak_mb": spl["peak_mb"],
                                   "sampled_peak_mb": spl.get("sampled_peak_mb"),
                                   "records_per_s": round(spl["records"] / spl["resolve_s"]), "u_pairs": u_pairs}
                log(f"  splink  {size}: {entry['splink']}")
            else:
                entry["splink"] = spl
                log(f"  splink  {size}: failed {spl}")
        h, s = entry.get("hopnhat") or {}, entry.get("splink") or {}
        entry.update({
            "hopnhat_records_per_s": h.get("records_per_s"), "splink_records_per_s": s.get("records_per_s"),
            "hopnhat_f1": h.get("f1"), "splink_f1": s.get("f1"),
            "peak_mb": {"hopnhat": h.get("peak_mb"), "splink": s.get("peak_mb")},
        })
        report[str(size)] = entry
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
