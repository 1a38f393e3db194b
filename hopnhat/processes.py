"""Start `hopnhat serve` and `hopnhat worker` as child processes (demo, `up`, tests, benchmarks).

The children get the settings through HOPNHAT_* environment variables, exactly as a deployment
would configure them, so the demo and the tests exercise the production entry points.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from hopnhat.embedded import ChildService, child_preexec
from hopnhat.settings import Settings
from schema.errors import ServiceStartError


def settings_env(settings: Settings) -> dict[str, str]:
    """HOPNHAT_* variables reproducing `settings` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        if name in ("secrets", "verify_tokens"):
            value = {ch: {k: v.get_secret_value() for k, v in by_source.items()}
                     for ch, by_source in getattr(settings, name).items()}
        elif name == "facebook_page_tokens":
            value = {page: token.get_secret_value() for page, token in settings.facebook_page_tokens.items()}
        elif name in ("imap_password", "suppression_salt", "email_unsubscribe_key") and \
                getattr(settings, name) is not None:
            value = getattr(settings, name).get_secret_value()
        env[f"HOPNHAT_{name.upper()}"] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return env


def spawn(name: str, args: list[str], settings: Settings, log_dir: Path) -> ChildService:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPNHAT_")}
    env.update(settings_env(settings))
    env["PYTHONUNBUFFERED"] = "1"
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hopnhat.cli.main", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=child_preexec(signal.SIGTERM),
        )
    return ChildService(name, proc, signal.SIGTERM, log_path)


def wait_http_ready(child: ChildService, base_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise ServiceStartError(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise ServiceStartError(f"{child.name} did not answer on {base_url} within {timeout:.0f}s:\n{child.log_tail()}")


def wait_file(child: ChildService, path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return
        if not child.alive():
            raise ServiceStartError(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
        time.sleep(0.1)
    raise ServiceStartError(f"{child.name} was not assigned partitions within {timeout:.0f}s:\n{child.log_tail()}")


@contextlib.contextmanager
def running_stack(settings: Settings, workers: int = 1, log_dir: Path | None = None) -> Iterator[list[ChildService]]:
    """Start `hopnhat serve` and `workers` x `hopnhat worker`; yield when all are ready; stop on exit."""
    own_dir = log_dir is None
    logs = Path(tempfile.mkdtemp(prefix="hopnhat-logs-")) if log_dir is None else log_dir
    children: list[ChildService] = []
    try:
        server = spawn("serve", ["serve"], settings, logs)
        children.append(server)
        ready_files = []
        for i in range(workers):
            ready = logs / f"worker-{i}.ready"
            ready_files.append(ready)
            children.append(spawn(f"worker-{i}", ["worker", "--ready-file", str(ready)], settings, logs))
        wait_http_ready(server, f"http://{settings.http_host}:{settings.http_port}")
        for child, ready in zip(children[1:], ready_files, strict=True):
            wait_file(child, ready)
        yield children
    finally:
        for child in reversed(children):
            child.stop()
        if own_dir:
            import shutil

            shutil.rmtree(logs, ignore_errors=True)
