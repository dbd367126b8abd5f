"""PostgreSQL (Debian's server binaries) with a database and role for Airflow.

PostgreSQL refuses to run as root: when we are root the cluster is owned by and runs as
the ``postgres`` system user that Debian's package creates. The superuser connects over the
cluster's own Unix socket (trust, socket folder private to the owner); everyone else over
TCP on loopback with a SCRAM password.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from datapipeline.local.config import AIRFLOW_DB, AIRFLOW_ROLE
from datapipeline.local.postgres_bin import find_postgres_bindir
from datapipeline.local.service import Service, ServiceError


class PostgreSQL(Service):
    name = "postgres"
    port_env = "DP_POSTGRES_PORT"

    def ports(self) -> list[int]:
        return [self.cfg.ports.postgres]

    def address(self) -> str:
        return f"{self.cfg.host}:{self.cfg.ports.postgres}"

    @property
    def pgdata(self) -> Path:
        return self.cfg.data_dir(self.name)

    @property
    def socket_dir(self) -> Path:
        return self.cfg.root / "run" / "postgres-socket"

    def bindir(self) -> Path:
        found = find_postgres_bindir()
        if found is None:
            raise ServiceError(f"{self.name}: no PostgreSQL server binaries found; run `task bootstrap`")
        return found

    def run_as_user(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def _own(self, *folders: Path) -> None:
        user = self.run_as_user()
        if user is None:
            return
        entry = pwd.getpwnam(user)
        for folder in folders:
            os.chown(folder, entry.pw_uid, entry.pw_gid)

    def prepare(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.socket_dir.chmod(0o700)
        if (self.pgdata / "PG_VERSION").is_file():
            self._own(self.socket_dir)
            return
        self.pgdata.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._own(self.pgdata, self.socket_dir)
        # The log file is opened by us and inherited, but initdb writes nothing else outside pgdata.
        result = subprocess.run(
            [
                str(self.bindir() / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
            text=True,
            user=self.run_as_user(),
            check=False,
        )
        with self.log_file.open("a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise ServiceError(f"{self.name}: initdb failed (exit {result.returncode}); see {self.log_file}")

    def command(self) -> list[str]:
        return [
            str(self.bindir() / "postgres"),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.cfg.ports.postgres),
            "-h",
            self.cfg.host,
            "-k",
            str(self.socket_dir),
            "-c",
            "shared_buffers=64MB",
            "-c",
            "max_connections=100",
            "-c",
            "logging_collector=off",
        ]

    def superuser_connect(self, dbname: str = "postgres"):
        import psycopg2

        return psycopg2.connect(
            host=str(self.socket_dir),
            port=self.cfg.ports.postgres,
            user="postgres",
            dbname=dbname,
            connect_timeout=3,
        )

    def probe(self) -> bool:
        with self.superuser_connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone() == (1,)

    def after_start(self) -> None:
        """Create (or re-password) the Airflow role and its database."""
        from psycopg2 import sql

        conn = self.superuser_connect()
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (AIRFLOW_ROLE,))
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(
                    sql.SQL(verb + " ROLE {} WITH LOGIN PASSWORD %s").format(sql.Identifier(AIRFLOW_ROLE)),
                    (self.secrets.airflow_db_password,),
                )
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (AIRFLOW_DB,))
                if cur.fetchone() is None:
                    cur.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(AIRFLOW_DB), sql.Identifier(AIRFLOW_ROLE)
                        )
                    )
        finally:
            conn.close()

    def airflow_dsn(self, driver: str = "postgresql+psycopg2") -> str:
        """SQLAlchemy URL of the Airflow metadata database (what AIRFLOW__DATABASE__SQL_ALCHEMY_CONN wants)."""
        return f"{driver}://{AIRFLOW_ROLE}:{self.secrets.airflow_db_password}@{self.address()}/{AIRFLOW_DB}"
