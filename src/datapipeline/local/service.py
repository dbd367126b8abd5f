"""One local service as a real OS process: start, health-check, stop, inspect.

Each concrete service (ZooKeeper, Kafka, MinIO, PostgreSQL) says how to prepare its files,
which command to run and how to probe its health; this base class does the rest the same way
for all of them: a pid file holding pid + process start time (so a recycled pid is never
mistaken for ours), a log file per service, a clear one-line error naming the service and its
log when a port is taken or the process dies, and a stop that kills the whole process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import psutil

from datapipeline.local.config import PlatformConfig
from datapipeline.local.secrets import Secrets


class ServiceError(RuntimeError):
    """A service could not be started or stopped; the message names it and its log file."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # healthy | unhealthy | crashed | stopped
    pid: int | None
    address: str
    rss_bytes: int | None
    log_file: Path


def tail(path: Path, lines: int = 5) -> str:
    if not path.is_file():
        return "(no log yet)"
    with path.open("rb") as fh:
        last = deque(fh, maxlen=lines)
    return " | ".join(line.decode("utf-8", "replace").rstrip() for line in last)


def port_is_free(host: str, port: int) -> bool:
    """No socket is listening on ``host:port`` (or on the wildcard address).

    Only LISTEN counts: connections of a killed server that linger in FIN-WAIT/TIME-WAIT do not
    stop a restart on the same port, but a bind() probe would report them as busy.
    """
    wildcard = {host, "0.0.0.0", "::", "::ffff:" + host}  # noqa: S104 - names addresses, binds nothing
    return not any(
        c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.laddr.ip in wildcard
        for c in psutil.net_connections(kind="tcp")
    )


class Service(ABC):
    name: str
    # Environment variable that moves this service's main port (shown in the busy-port error).
    port_env: str

    def __init__(self, cfg: PlatformConfig, secrets: Secrets) -> None:
        self.cfg = cfg
        self.secrets = secrets
        self.last_probe_error: str | None = None
        self._popen: subprocess.Popen[bytes] | None = None

    # ---- what each service defines -------------------------------------------------
    @abstractmethod
    def ports(self) -> list[int]:
        """Every port the service binds (checked free before start)."""

    @abstractmethod
    def address(self) -> str:
        """How clients reach it, e.g. ``127.0.0.1:9092`` or ``http://127.0.0.1:9000``."""

    @abstractmethod
    def prepare(self) -> None:
        """Create data/config files; must be idempotent and keep existing data."""

    @abstractmethod
    def command(self) -> list[str]:
        """The command line of the server process."""

    @abstractmethod
    def probe(self) -> bool:
        """One health check; True when the service answers as healthy."""

    def environment(self) -> dict[str, str]:
        return {}

    def run_as_user(self) -> str | None:
        """Run the process as this OS user (PostgreSQL refuses to run as root)."""
        return None

    def after_start(self) -> None:  # noqa: B027 - optional hook, most services need none
        """Provisioning once healthy (buckets, roles, databases); idempotent."""

    # ---- shared behaviour ------------------------------------------------------------
    @property
    def log_file(self) -> Path:
        return self.cfg.log_file(self.name)

    @property
    def pid_file(self) -> Path:
        return self.cfg.pid_file(self.name)

    def process(self) -> psutil.Process | None:
        """Our running process, or None (no pid file, process gone, or pid reused)."""
        try:
            pid_text, created_text = self.pid_file.read_text().split()
            proc = psutil.Process(int(pid_text))
            if abs(proc.create_time() - float(created_text)) > 0.5 or proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
            return None

    def healthy(self) -> bool:
        try:
            ok = self.probe()
            self.last_probe_error = None if ok else "probe answered unhealthy"
            return ok
        except Exception as exc:  # a probe that raises is simply "not healthy yet"
            self.last_probe_error = f"{type(exc).__name__}: {exc}"
            return False

    def start(self) -> str:
        """Start (or adopt a running) process and wait until healthy; returns a summary."""
        started = time.monotonic()
        if self.process() is not None and self.healthy():
            return f"{self.name}: already running (pid {self.process().pid}) at {self.address()}"
        if self.process() is None:
            self._spawn()
        self._wait_healthy()
        self.after_start()
        proc = self.process()
        pid = proc.pid if proc else "?"
        return f"{self.name}: healthy in {time.monotonic() - started:.1f}s (pid {pid}) at {self.address()}"

    def _spawn(self) -> None:
        for port in self.ports():
            # A process killed a moment ago may hold its listener for a little while as it exits.
            deadline = time.monotonic() + 5
            while not port_is_free(self.cfg.host, port) and time.monotonic() < deadline:
                time.sleep(0.2)
            if not port_is_free(self.cfg.host, port):
                raise ServiceError(
                    f"{self.name}: port {port} on {self.cfg.host} is already in use by another process; "
                    f"stop that process or choose another port with {self.port_env} (log: {self.log_file})"
                )
        for folder in (self.log_file.parent, self.pid_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        try:
            self.prepare()
        except OSError as exc:
            raise ServiceError(f"{self.name}: cannot prepare its files under {self.cfg.root}: {exc}") from exc
        user = self.run_as_user()
        with self.log_file.open("ab") as log:
            log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.environment()},
                cwd=self.cfg.root,
                start_new_session=True,  # own process group: stop() kills children too
                user=user,
            )
        created = psutil.Process(proc.pid).create_time()
        self.pid_file.write_text(f"{proc.pid} {created}\n")
        self._popen = proc  # keep the handle so the child is reaped, not left a zombie

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.cfg.start_timeout_s
        while time.monotonic() < deadline:
            if self.process() is None:
                code = self._popen.poll() if self._popen else None
                self.pid_file.unlink(missing_ok=True)
                raise ServiceError(
                    f"{self.name}: process exited during start (exit code {code}); see {self.log_file} "
                    f"— last lines: {tail(self.log_file)}"
                )
            if self.healthy():
                return
            time.sleep(0.5)
        raise ServiceError(
            f"{self.name}: not healthy after {self.cfg.start_timeout_s:.0f}s at {self.address()} "
            f"(last health check: {self.last_probe_error}); see {self.log_file} — last lines: {tail(self.log_file)}"
        )

    def stop(self) -> str:
        proc = self.process()
        if proc is None:
            self.pid_file.unlink(missing_ok=True)
            return f"{self.name}: not running"
        pid = proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        _gone, alive = psutil.wait_procs([proc], timeout=self.cfg.stop_timeout_s)
        forced = ""
        if alive:
            forced = " (forced with SIGKILL)"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            psutil.wait_procs(alive, timeout=10)
        if self._popen is not None:
            self._popen.wait(timeout=10)
            self._popen = None
        if psutil.pid_exists(pid) and self.process() is not None:
            raise ServiceError(f"{self.name}: pid {pid} still alive after SIGKILL; see {self.log_file}")
        self.pid_file.unlink(missing_ok=True)
        return f"{self.name}: stopped pid {pid}{forced}"

    def kill(self) -> str:
        """Crash the service: SIGKILL to its whole process group, no grace period (fault tests).

        The pid file stays, so :meth:`status` shows ``crashed`` until the next :meth:`start`.
        """
        proc = self.process()
        if proc is None:
            return f"{self.name}: not running"
        pid = proc.pid
        try:
            group = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            group = [proc]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _gone, alive = psutil.wait_procs(group, timeout=10)
        if self._popen is not None:
            self._popen.wait(timeout=10)
            self._popen = None
        if alive:
            raise ServiceError(f"{self.name}: pid(s) {[p.pid for p in alive]} still alive after SIGKILL")
        return f"{self.name}: killed pid {pid} (SIGKILL)"

    def restart(self, crash: bool = False) -> str:
        """Stop (or with ``crash`` kill -9) and start again; returns the start summary."""
        if crash:
            self.kill()
        else:
            self.stop()
        return self.start()

    def status(self) -> ServiceStatus:
        proc = self.process()
        if proc is None:
            state = "crashed" if self.pid_file.exists() else "stopped"
            return ServiceStatus(self.name, state, None, self.address(), None, self.log_file)
        try:
            rss = sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
        except psutil.NoSuchProcess:
            rss = None
        state = "healthy" if self.healthy() else "unhealthy"
        return ServiceStatus(self.name, state, proc.pid, self.address(), rss, self.log_file)
