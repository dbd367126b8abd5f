"""A small client of Airflow 3's REST API (``/api/v2``): log in, trigger a DAG, wait for it.

Used by ``task demo``, the end-to-end tests and the kind CI smoke test; the same code talks
to the local api-server and to one reached through ``kubectl port-forward``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FINISHED = {"success", "failed"}


class AirflowApiError(RuntimeError):
    """The API answered with an error or could not be reached (message says which call)."""


def _log_line(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    details = {k: v for k, v in item.items() if k not in ("event", "timestamp", "level", "logger")}
    return item.get("event", "") + (" " + json.dumps(details, default=str) if details else "")


@dataclass
class AirflowClient:
    base_url: str
    username: str
    password: str
    timeout_s: float = 30.0
    _token: str | None = None

    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base_url}{path}", data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise AirflowApiError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise AirflowApiError(f"{method} {path}: cannot reach Airflow at {self.base_url}: {exc}") from None
        return json.loads(raw) if raw else None

    def token(self) -> str:
        if self._token is None:
            answer = self._request(
                "POST", "/auth/token", {"username": self.username, "password": self.password}, auth=False
            )
            self._token = answer["access_token"]
        return self._token

    def dag(self, dag_id: str) -> dict:
        return self._request("GET", f"/api/v2/dags/{dag_id}")

    def wait_for_dag(self, dag_id: str, timeout_s: float = 180, echo: Callable[[str], None] = print) -> dict:
        """Wait until the dag-processor has parsed ``dag_id`` (a fresh Airflow needs a moment)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.dag(dag_id)
            except AirflowApiError as exc:
                if "HTTP 404" not in str(exc) or time.monotonic() > deadline:
                    raise
            echo(f"waiting for the dag-processor to parse {dag_id} ...")
            time.sleep(5)

    def unpause(self, dag_id: str) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": True})

    def running_runs(self, dag_id: str) -> list[dict]:
        """Runs executing now (queued runs of a paused DAG never start, so they are not counted)."""
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns?state=running")["dag_runs"]

    def active_runs(self, dag_id: str) -> list[dict]:
        """Runs queued or executing now."""
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns?state=queued&state=running")["dag_runs"]

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self._request(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            {"logical_date": datetime.now(UTC).isoformat(), "conf": conf or {}},
        )
        return run["dag_run_id"]

    def clear_failed(self, dag_id: str, run_id: str) -> None:
        """Run the failed tasks of one DAG run again (what a retry does), putting the run back to queued."""
        self._request(
            "POST",
            f"/api/v2/dags/{dag_id}/clearTaskInstances",
            {"dry_run": False, "dag_run_id": run_id, "only_failed": True, "reset_dag_runs": True},
        )

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.request.quote(run_id, safe='')}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        quoted = urllib.request.quote(run_id, safe="")
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances")["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The task's log text for one try (the api-server reads the task log files)."""
        quoted = urllib.request.quote(run_id, safe="")
        answer = self._request(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/logs/{try_number}?full_content=true"
        )
        content = answer.get("content", "")
        if isinstance(content, list):  # structured log lines: the message, then any details (exceptions)
            return "\n".join(_log_line(item) for item in content)
        return str(content)

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout_s: float = 1200, echo: Callable[[str], None] = print
    ) -> dict:
        """Poll until the run succeeds or fails, printing task progress when it changes."""
        started = time.monotonic()
        last = ""
        while True:
            run = self.dag_run(dag_id, run_id)
            tasks = self.task_instances(dag_id, run_id)
            line = ", ".join(
                f"{t['task_id']}={t['state'] or 'none'}" for t in sorted(tasks, key=lambda t: t["task_id"])
            )
            if line != last:
                echo(f"[{time.monotonic() - started:5.0f}s] {dag_id} {run['state']}: {line}")
                last = line
            if run["state"] in FINISHED:
                return run
            if time.monotonic() - started > timeout_s:
                raise AirflowApiError(f"{dag_id} run {run_id} still {run['state']} after {timeout_s:.0f}s: {line}")
            time.sleep(3)
