"""Typed configuration of the local platform: where its state lives, which ports it binds.

Defaults suit a laptop; every port can be moved with an environment variable
(``DP_KAFKA_PORT=19092 task local:up``) and tests pick free ports instead.
"""

from __future__ import annotations

import os
import socket
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from pathlib import Path

from datapipeline import paths

# Buckets the pipeline uses: Delta tables and streaming checkpoints live side by side in "lake".
BUCKETS: tuple[str, ...] = ("lake",)
LAKE_BUCKET = "lake"
AIRFLOW_DB = "airflow"
AIRFLOW_ROLE = "airflow"


@dataclass(frozen=True)
class Ports:
    zookeeper: int = 2181
    kafka: int = 9092
    minio: int = 9000
    minio_console: int = 9001
    postgres: int = 5433  # not 5432: leave a system PostgreSQL alone
    airflow: int = 8080  # api-server: UI, REST API and the execution API of task workers

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Ports:
        """Ports from ``DP_<NAME>_PORT`` variables, e.g. ``DP_MINIO_CONSOLE_PORT``."""
        env = os.environ if env is None else env
        values: dict[str, int] = {}
        for f in fields(cls):
            var = f"DP_{f.name.upper()}_PORT"
            if var in env:
                raw = env[var]
                if not raw.isdigit() or not 0 < int(raw) < 65536:
                    raise ValueError(f"{var}={raw!r} is not a TCP port: use a number from 1 to 65535")
                values[f.name] = int(raw)
        ports = cls(**values)
        ports.check_distinct()
        return ports

    def check_distinct(self) -> None:
        seen: dict[int, str] = {}
        for f in fields(self):
            port = getattr(self, f.name)
            if port in seen:
                raise ValueError(f"port {port} is given to both {seen[port]} and {f.name}: give each its own")
            seen[port] = f.name


def free_ports(host: str = "127.0.0.1") -> Ports:
    """Distinct free loopback ports for a private platform (tests, benchmark): all sockets are held
    open together while picking, so no port is picked twice."""
    with ExitStack() as stack:
        picked = []
        for _ in fields(Ports):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            picked.append(sock.getsockname()[1])
    return Ports(**{f.name: port for f, port in zip(fields(Ports), picked, strict=True)})


def private_root(prefix: str) -> Path:
    """A fresh folder for a private platform that the ``postgres`` user can traverse
    (PostgreSQL runs as that user when the platform runs as root)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    return root


@dataclass(frozen=True)
class PlatformConfig:
    """Where the platform keeps data, logs, configs and pid files, and how it is reached."""

    root: Path = paths.DEFAULT_PLATFORM_DIR
    ports: Ports = field(default_factory=Ports)
    host: str = "127.0.0.1"
    bin_dir: Path = paths.BIN_DIR
    kafka_jars_dir: Path = paths.KAFKA_JARS_DIR
    start_timeout_s: float = 90.0
    stop_timeout_s: float = 30.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> PlatformConfig:
        env = os.environ if env is None else env
        root = Path(env["DP_PLATFORM_DIR"]) if env.get("DP_PLATFORM_DIR") else paths.DEFAULT_PLATFORM_DIR
        return cls(root=root.resolve(), ports=Ports.from_env(env))

    def data_dir(self, service: str) -> Path:
        return self.root / "data" / service

    def log_file(self, service: str) -> Path:
        return self.root / "logs" / f"{service}.log"

    def conf_dir(self, service: str) -> Path:
        return self.root / "conf" / service

    def pid_file(self, service: str) -> Path:
        return self.root / "run" / f"{service}.pid"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.env"
