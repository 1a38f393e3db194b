"""`hopnhat demo` as a user runs it: fully embedded, a final JSON line, nothing left running."""

import json
import os
import subprocess
import sys

import psutil
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def listening_ports() -> set[int]:
    return {c.laddr.port for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}


def test_demo_stores_every_event_merges_and_leaves_nothing_listening() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPNHAT_")}
    before = listening_ports()
    proc = subprocess.run([sys.executable, "-m", "hopnhat.cli.main", "demo", "--json"], env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["interactions_stored"] == result["events_in"] == result["accepted"]
    assert result["merges"] > 0
    assert result["dlq"] == 0
    assert result["people"] <= result["customers"] < result["events_in"]
    assert listening_ports() <= before
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"]
                 and any("hopnhat-" in part for part in p.info["cmdline"]) and p.pid != os.getpid()]
    assert leftovers == []


def test_up_stops_everything_on_ctrl_c(tmp_path) -> None:
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPNHAT_")}
    env["HOPNHAT_DATA_DIR"] = str(tmp_path)
    env["HOPNHAT_HTTP_PORT"] = str(__import__("hopnhat.embedded", fromlist=["free_port"]).free_port())
    before = listening_ports()
    proc = subprocess.Popen([sys.executable, "-m", "hopnhat.cli.main", "up"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "Ctrl-C to stop" in line or not line:
            break
    assert any("Ctrl-C to stop" in line for line in lines), "".join(lines)
    tree = psutil.Process(proc.pid).children(recursive=True)
    assert len(tree) >= 4  # broker, postgres, serve, worker (postgres has its own children)
    assert listening_ports() - before
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    assert proc.wait(60) == 130
    gone, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == []
    assert listening_ports() <= before
    assert list(tmp_path.iterdir()) == []
