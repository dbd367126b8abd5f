"""Local Airflow 3: api-server (UI + REST + execution API), scheduler, dag-processor, triggerer.

LocalExecutor, metadata in the platform's PostgreSQL, DAGs from the repo's ``dags/``.
Each component is its own process, started, health-checked and stopped like every other
local service. Health comes from the api-server's ``/api/v2/monitor/health``, which reports
the heartbeat of each component. Every component runs through
:mod:`datapipeline.local.airflow_loopback`, which keeps the log servers of the scheduler and the
triggerer on loopback (Airflow binds them to every interface).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

from datapipeline import paths
from datapipeline.local.service import Service, ServiceError

ADMIN_USER = "admin"
# One slot: Delta on S3 is safe for one writing Spark driver per table (ingest vs maintenance).
LAKE_WRITER_POOL = "lake_writer"
LAKE_WRITER_POOL_SLOTS = 1
LAKE_WRITER_POOL_DESCRIPTION = "one writing Spark driver per Delta table on S3"
# `airflow` with its servers on loopback (named, not imported: importing it patches uvicorn).
LOOPBACK_MAIN = "datapipeline.local.airflow_loopback"


def airflow_home(service: Service):
    return service.cfg.root / "airflow"


def api_url(service: Service) -> str:
    return f"http://{service.cfg.host}:{service.cfg.ports.airflow}"


def airflow_environment(service: Service, client_env: dict[str, str]) -> dict[str, str]:
    """The one Airflow configuration shared by every component (and by `airflow` CLI calls)."""
    home = airflow_home(service)
    s = service.secrets
    base = api_url(service)
    return {
        **client_env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(paths.PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Two cores: a few task slots are plenty and keep Spark drivers from starving each other.
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__FERNET_KEY": s.airflow_fernet_key,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        # The api-server fetches a running task's log from http://<hostname>:<log server port>, and
        # the log servers listen on loopback only (airflow_loopback).
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{LOOPBACK_MAIN}.hostname",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": client_env["DP_AIRFLOW_DB_URL"],
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": s.airflow_api_secret_key,
        "AIRFLOW__API_AUTH__JWT_SECRET": s.airflow_jwt_secret,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "DP_LAKE_WRITER_POOL": LAKE_WRITER_POOL,
    }


def monitor_health(service: Service) -> dict:
    with urllib.request.urlopen(f"{api_url(service)}/api/v2/monitor/health", timeout=3) as resp:  # noqa: S310
        return json.load(resp)


class AirflowComponent(Service):
    """One `airflow <command>` process; ``component`` is its key in the monitor health JSON."""

    command_args: list[str]
    component: str

    def __init__(self, cfg, secrets, client_env) -> None:
        super().__init__(cfg, secrets)
        self._client_env = client_env

    port_env = "DP_AIRFLOW_PORT"

    def ports(self) -> list[int]:
        return []

    def address(self) -> str:
        return api_url(self)

    def environment(self) -> dict[str, str]:
        return airflow_environment(self, self._client_env())

    def prepare(self) -> None:
        (airflow_home(self) / "logs").mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [sys.executable, "-m", LOOPBACK_MAIN, *self.command_args]

    def probe(self) -> bool:
        return monitor_health(self)[self.component]["status"] == "healthy"


class AirflowApiServer(AirflowComponent):
    name = "airflow-api-server"
    component = "metadatabase"

    def ports(self) -> list[int]:
        return [self.cfg.ports.airflow]

    @property
    def command_args(self) -> list[str]:
        return ["api-server", "--host", self.cfg.host, "--port", str(self.cfg.ports.airflow)]

    def prepare(self) -> None:
        super().prepare()
        home = airflow_home(self)
        passwords = home / "passwords.json"
        passwords.write_text(json.dumps({ADMIN_USER: self.secrets.airflow_admin_password}))
        passwords.chmod(0o600)
        # Create or upgrade the metadata schema before any component starts, then the pool (idempotent).
        for args in (
            ["db", "migrate"],
            ["pools", "set", LAKE_WRITER_POOL, str(LAKE_WRITER_POOL_SLOTS), LAKE_WRITER_POOL_DESCRIPTION],
        ):
            with self.log_file.open("ab") as log:
                result = subprocess.run(
                    [sys.executable, "-m", "airflow", *args],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **self.environment()},
                    check=False,
                )
            if result.returncode != 0:
                raise ServiceError(
                    f"{self.name}: `airflow {' '.join(args[:2])}` failed (exit {result.returncode}); "
                    f"see {self.log_file}"
                )


class AirflowScheduler(AirflowComponent):
    name = "airflow-scheduler"
    component = "scheduler"
    command_args = ["scheduler"]  # noqa: RUF012 - constant per class


class AirflowDagProcessor(AirflowComponent):
    name = "airflow-dag-processor"
    component = "dag_processor"
    command_args = ["dag-processor"]  # noqa: RUF012


class AirflowTriggerer(AirflowComponent):
    name = "airflow-triggerer"
    component = "triggerer"
    command_args = ["triggerer"]  # noqa: RUF012
