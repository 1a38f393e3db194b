"""bench/proc_cpu.py: CPU by role over the benchmark's process tree, read from /proc."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bench.proc_cpu import cpu_by_role, delta, machine_busy_s

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_a_busy_child_shows_up_as_its_role_and_a_reaped_one_stays_counted() -> None:
    before = cpu_by_role()
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 0.3: pass"])
    child.wait()
    # reaped: its time moved into our cutime, so it is counted under "bench" now
    spent = delta(before, cpu_by_role())
    assert spent.get("bench", 0.0) >= 0.25


def test_a_live_child_is_counted_under_its_own_role() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 5: pass"])
    try:
        time.sleep(0.5)
        assert cpu_by_role().get("other", 0.0) > 0.1
    finally:
        child.kill()
        child.wait()


def test_machine_busy_grows_with_work() -> None:
    before = machine_busy_s()
    t = time.process_time()
    while time.process_time() - t < 0.2:
        pass
    assert machine_busy_s() - before >= 0.15


def test_delta_drops_roles_that_did_not_move() -> None:
    assert delta({"broker": 1.0, "worker": 2.0}, {"broker": 1.0, "worker": 3.5, "postgres": 0.2}) == {
        "postgres": 0.2, "worker": 1.5}
