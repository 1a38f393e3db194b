"""Check: two versions of the engine resolve a cached er_scale set identically, and how fast each is.

    .venv-bench/bin/python bench/er_identical.py --base <git revision> [--sizes 100000] [--rounds 2]
        [--workdir /tmp/hopnhat-er-scale] [--head-workers 1]

The base revision's resolver/ and schema/ are exported with `git archive` into a temporary folder;
each version runs `resolve_records` in its own interpreter on the set bench/er_scale.py cached in
--workdir (build it first with er_scale.py --sizes N --no-splink). The versions alternate, `rounds`
times, so both see the same machine load; each run reports wall and CPU time (all threads, and
any worker processes) and the engine's stage split. Then the outcomes are compared field by field:
`cluster_of` (record -> cluster id), every link (with its rule, weight, probability and field
evidence), every review pair and every shared identifier. Exit status 1 if anything differs.
--head-workers runs the head with EngineConfig(workers=N): 1 keeps the pair work in the engine's
process, 2 moves it to the worker process from 50,000 records (the default).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def child(source: Path, folder: Path, out: Path, workers: int | None = None) -> dict[str, Any]:
    """Runs in a fresh interpreter whose sys.path starts with `source`."""
    sys.path.insert(0, str(source))
    import resolver.engine
    from resolver.engine import resolve_records

    assert Path(resolver.engine.__file__).resolve().is_relative_to(source.resolve()), resolver.engine.__file__

    with open(folder / "records.pkl", "rb") as f:
        records = pickle.load(f)
    wall, cpu = time.perf_counter(), _cpu_seconds()
    if workers is None:
        result = resolve_records(records)
    else:  # a head-only setting (the base may predate EngineConfig.workers)
        from resolver.engine import EngineConfig

        result = resolve_records(records, EngineConfig(workers=workers))
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    outcome = {
        "cluster_of": result.cluster_of,
        "links": [(x.left, x.right, x.rule, x.match_weight, x.probability, json.dumps(x.fields, sort_keys=True))
                  for x in result.links],
        "review": [(x.left, x.right, x.reason, x.probability, x.detail, json.dumps(x.fields, sort_keys=True))
                   for x in result.review],
        "shared": result.shared,
    }
    with open(out, "wb") as f:
        pickle.dump(outcome, f, protocol=pickle.HIGHEST_PROTOCOL)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "stage_s": result.stats["seconds"],
            "stage_cpu_s": result.stats.get("cpu_seconds"), "clusters": result.stats["clusters"]}


def _cpu_seconds() -> float:
    """CPU time of this process (all threads) and of the worker processes it waited for."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def run(source: Path, folder: Path, out: Path, workers: int | None = None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", str(source), "--input", str(folder), "--output", str(out)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": ""})
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    out = []
    for name in ("cluster_of", "links", "review", "shared"):
        if a[name] != b[name]:
            out.append(f"{name}: {len(a[name])} vs {len(b[name])} entries, not equal")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="git revision of the engine to compare with (required)")
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "hopnhat-er-scale")
    parser.add_argument("--head-workers", type=int, help="EngineConfig.workers for the head (default: the engine's)")
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.input, args.output, args.workers)))
        return 0
    if not args.base:
        parser.error("--base is required")

    same = True
    with tempfile.TemporaryDirectory(prefix="er-identical-") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(["git", "archive", args.base, "resolver", "schema"], cwd=ROOT, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        for size in (int(s) for s in args.sizes.split(",")):
            folder = args.workdir / f"n{size}-s{args.seed}"
            if not (folder / "done").exists():
                print(f"no cached set {folder}: run bench/er_scale.py --sizes {size} --no-splink first",
                      file=sys.stderr)
                return 2
            outs = {"base": Path(tmp) / f"base-{size}.pkl", "head": Path(tmp) / f"head-{size}.pkl"}
            for r in range(args.rounds):
                for label, source in (("base", base), ("head", ROOT)):
                    workers = args.head_workers if label == "head" else None
                    print(json.dumps({"size": size, "round": r, "engine": label,
                                      **run(source, folder, outs[label], workers)}), flush=True)
            with open(outs["base"], "rb") as f:
                a = pickle.load(f)
            with open(outs["head"], "rb") as f:
                b = pickle.load(f)
            diff = differences(a, b)
            same &= not diff
            print(json.dumps({"size": size, "identical": not diff, "differences": diff,
                              "records": len(a["cluster_of"]), "links": len(a["links"]),
                              "review": len(a["review"]), "shared": len(a["shared"])}), flush=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
