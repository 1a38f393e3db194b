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


def tree_listeners(root: psutil.Process) -> tuple[set[int], set[int]]:
    """(pids, listening ports) of `root` and all its descendants right now."""
    try:
        pids = {root.pid} | {c.pid for c in root.children(recursive=True)}
    except psutil.NoSuchProcess:
        return set(), set()
    ports = {c.laddr.port for c in psutil.net_connections(kind="tcp")
             if c.status == psutil.CONN_LISTEN and c.pid in pids}
    return pids, ports


def still_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_demo_stores_every_event_merges_and_leaves_nothing_listening() -> None:
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPNHAT_")}
    proc = subprocess.Popen([sys.executable, "-m", "hopnhat.cli.main", "demo", "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    pids: set[int] = set()
    ports: set[int] = set()
    deadline = time.monotonic() + 180
    while proc.poll() is None and time.monotonic() < deadline:
        seen_pids, seen_ports = tree_listeners(root)
        pids |= seen_pids
        ports |= seen_ports
        time.sleep(0.2)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-3000:]
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["interactions_stored"] == result["events_in"] == result["accepted"]
    assert set(result["by_channel"]) == {"webform", "zalo", "sapo", "callcenter"}
    assert sum(result["by_channel"].values()) == result["events_in"]
    assert result["merges"] > 0
    assert result["dlq"] == 0
    assert result["people"] <= result["customers"] < result["events_in"]
    assert len(ports) >= 3, "expected the broker, PostgreSQL and the HTTP server to have listened"
    assert not ports & listening_ports(), "a port the demo opened is still listening"
    assert not [p for p in pids if still_running(p)]


def test_up_stops_everything_on_ctrl_c(tmp_path) -> None:
    import signal
    import time

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPNHAT_")}
    env["HOPNHAT_DATA_DIR"] = str(tmp_path)
    env["HOPNHAT_HTTP_PORT"] = str(__import__("hopnhat.embedded", fromlist=["free_port"]).free_port())
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
    console = next(line.split()[1] for line in lines if line.startswith("console "))
    assert httpx.get(console, timeout=10).status_code == 303  # up, and asking for a key
    _, ports = tree_listeners(psutil.Process(proc.pid))
    assert len(ports) >= 3
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    assert proc.wait(60) == 130
    gone, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == []
    assert not ports & listening_ports()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_demo_serve_keeps_the_console_up_on_the_demo_data_until_stopped(stop: str, tmp_path) -> None:
    import re
    import signal
    import time

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPNHAT_")}
    env["HOPNHAT_DATA_DIR"] = str(tmp_path)
    env["HOPNHAT_HTTP_PORT"] = str(__import__("hopnhat.embedded", fromlist=["free_port"]).free_port())
    proc = subprocess.Popen([sys.executable, "-m", "hopnhat.cli.main", "demo", "--serve", "--customers", "30"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    lines = []
    deadline = time.monotonic() + 180
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "Ctrl-C to stop" in line or not line:
            break
    out = "".join(lines)
    assert "Ctrl-C to stop" in out, out
    assert re.search(r"events from 30 people went through the webhooks \(\d+ form submissions, ", out)
    console = re.search(r"console\s+(http://\S+/console)", out)
    assert console and console.group(1).endswith(f":{env['HOPNHAT_HTTP_PORT']}/console"), out
    assert re.search(r"api docs\s+http://\S+/docs", out)
    tree = psutil.Process(proc.pid).children(recursive=True)
    _, ports = tree_listeners(psutil.Process(proc.pid))

    key = re.search(r"api key\s+(hn_\S+)", out)
    assert key, out
    assert httpx.get(console.group(1), timeout=10).status_code == 303  # to the sign-in page
    signed_in = httpx.post(console.group(1) + "/login", data={"key": key.group(1), "next": "/console"}, timeout=10)
    assert signed_in.status_code == 303
    cookies = signed_in.cookies
    start = httpx.get(console.group(1), timeout=10, cookies=cookies)
    assert start.status_code == 200 and '<html lang="vi">' in start.text
    # The demo's people are on the console: any common family name finds several of them.
    found = httpx.get(console.group(1), params={"q": "Nguyễn"}, timeout=10, cookies=cookies)
    assert found.status_code == 200 and found.text.count('class="customer-link"') >= 2
    first = re.search(r'class="customer-link" href="([^"]+)"', found.text)
    assert first
    page = httpx.get(console.group(1).removesuffix("/console") + first.group(1), timeout=10, cookies=cookies)
    assert page.status_code == 200 and 'class="customer-name"' in page.text and '<li class="event ch-' in page.text
    assert httpx.get(console.group(1).removesuffix("/console") + "/docs", timeout=10).status_code == 200

    if stop == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    else:
        proc.send_signal(signal.SIGTERM)  # what a service manager does: the parent only
    assert proc.wait(60) == 130
    gone, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == []
    assert not ports & listening_ports()
    assert list(tmp_path.iterdir()) == []  # the embedded broker's and database's files are gone too
