"""The whole pipeline end to end on the local platform (what `task demo` runs).

    python -m datapipeline.demo [--count 20000] [--seed 42]

1. start the local platform (ZooKeeper, Kafka, MinIO, PostgreSQL, Airflow) and wait until healthy
2. create the topic, produce a sample stream (with duplicates, late and malformed records)
3. trigger the `ingest` DAG through Airflow's REST API and follow it to the end
4. print the tables (counts, a few rows, quarantine reasons), the UIs and their logins

Rerunning is fine: the producer's events are keyed by event_id, so a second run adds new
bronze records but silver stays de-duplicated.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from datapipeline.airflow_client import AirflowApiError, AirflowClient
from datapipeline.local.platform import LocalPlatform
from datapipeline.local.service import ServiceError

TOPIC = "orders.events"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=20_000, help="records to produce (default 20000)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    args = parser.parse_args(argv)
    started = time.monotonic()

    def step(text: str) -> None:
        print(f"\n==> [{time.monotonic() - started:5.0f}s] {text}", flush=True)

    try:
        platform = LocalPlatform()
        step("starting the local platform")
        platform.up()
    except (ServiceError, ValueError) as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 1
    env = {**os.environ, **platform.client_env(), "DP_TOPIC": TOPIC}

    step(f"producing {args.count:,} records to {TOPIC}")
    platform.create_topic(TOPIC, partitions=3)
    produced = subprocess.run(
        [sys.executable, "-m", "datapipeline.producer", "--count", str(args.count), "--seed", str(args.seed)],
        env=env,
        check=False,
    )
    if produced.returncode != 0:
        print("demo: error: the producer failed (see above)", file=sys.stderr)
        return 1
    produced_at = datetime.now(UTC)

    step("triggering the `ingest` DAG through Airflow's REST API")
    user, password = platform.airflow_login
    client = AirflowClient(platform.airflow_url, user, password)
    try:
        client.wait_for_dag("ingest")
        # A scheduler that just started may have queued a scheduled run already; one that has not
        # started before the records were produced reads them all: follow it rather than wait
        # for it to finish before a new one starts (one run at a time).
        run_id = next((r["dag_run_id"] for r in client.active_runs("ingest") if _reads_all(r, produced_at)), None)
        if run_id is None:
            run_id = client.trigger("ingest")
        else:
            print(f"following the scheduled run {run_id}: it starts after the records were produced")
        client.unpause("ingest")  # after the trigger, so our run is first in line
        run = client.wait_for_run("ingest", run_id)
    except AirflowApiError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 1
    if run["state"] != "success":
        logs = platform.cfg.root / "airflow" / "logs"
        print(f"demo: error: ingest run {run_id} ended {run['state']}; task logs under {logs}", file=sys.stderr)
        return 1

    step("the tables")
    shown = subprocess.run([sys.executable, "-m", "datapipeline.query"], env=env, check=False)
    first_rows = time.monotonic() - started

    user, password = platform.airflow_login
    print(f"\nFirst rows printed {first_rows:.0f}s after `demo` started.")
    print(f"Airflow UI:    {platform.airflow_url}  (login {user} / {password})  run: {run_id}")
    print(f"MinIO console: {platform.minio.console_url()}  (login {platform.s3_access_key} / {platform.s3_secret_key})")
    print("Stop everything with `task local:down` (data is kept).")
    return shown.returncode


def _reads_all(run: dict, produced_at: datetime) -> bool:
    """The run's job will read every record produced before ``produced_at``: it has not started yet,
    or started after."""
    started = run.get("start_date")
    return run["state"] == "queued" or (started is not None and datetime.fromisoformat(started) >= produced_at)


if __name__ == "__main__":
    sys.exit(main())
