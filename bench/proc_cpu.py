"""CPU seconds by role of the processes a benchmark started, read from /proc (Linux only).

A benchmark runs the broker, PostgreSQL, `hopnhat serve` and the workers as its descendants, so
"where did the CPU go" is answered by summing user + system time over that process tree, grouped by
what each process is. Processes that exited meanwhile (PostgreSQL backends, helpers) are counted
through their parent's cutime/cstime once reaped. Call `cpu_by_role()` before and after the measured
interval and subtract with `delta()`.
"""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children) or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return ppid, (utime + stime + cutime + cstime) / CLOCK_TICKS


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "bench"
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    exe = os.path.basename(args[0].decode(errors="replace"))
    text = b" ".join(args).decode(errors="replace")
    if "tansu" in exe:
        return "broker"
    if "postgres" in exe or "postgres:" in text:
        return "postgres"
    if "hopnhat.cli.main" in text:
        for role in ("worker", "serve", "import"):
            if f" {role}" in text:
                return role
        return "hopnhat"
    return "other"


def cpu_by_role(root: int | None = None) -> dict[str, float]:
    """CPU seconds used so far by `root` (default: this process) and every live descendant, by role."""
    root = os.getpid() if root is None else root
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            stats[int(entry)] = st
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    totals: dict[str, float] = {}
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid not in stats:
            continue
        role = _role(pid, root)
        totals[role] = totals.get(role, 0.0) + stats[pid][1]
        stack.extend(children.get(pid, []))
    return totals


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per role spent between two readings (roles that appeared start from zero)."""
    return {role: round(after[role] - before.get(role, 0.0), 2) for role in sorted(after)
            if after[role] - before.get(role, 0.0) > 0.005}


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy since boot (all cores; idle, I/O wait and time the
    hypervisor stole are not busy)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / CLOCK_TICKS
