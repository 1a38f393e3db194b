"""Every benchmark script in bench/ still starts: `--help` prints its usage (imports resolve, options parse).

The benchmarks themselves run for minutes and are not part of the suite; this catches a script broken
by a refactor of what it imports before someone needs its figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
LIBRARIES = {"er_metrics.py", "proc_cpu.py", "vn_people.py"}  # imported by the scripts, no command line
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name not in LIBRARIES and not p.name.startswith("_"))


def test_every_script_is_checked() -> None:
    assert {"e2e.py", "latency.py", "order.py", "ingest.py", "normalise.py", "er_scale.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_prints_its_usage(script: str) -> None:
    done = subprocess.run([sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
