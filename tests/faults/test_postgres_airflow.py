"""PostgreSQL (Airflow's metadata database) crashes while an ``ingest`` DAG run is in progress.

The run is triggered through the real Airflow REST API; as soon as its Spark job has planned its
micro-batch (the checkpoint's offsets file appears on MinIO), PostgreSQL's whole process group gets
SIGKILL, stays down ``OUTAGE_S`` and is started again (crash recovery from its WAL). An Airflow
component that dies meanwhile is restarted the way an operator (or Kubernetes) would:
``platform.up(AIRFLOW)`` starts whatever is down. The run must end green; a failed try is
retried the way the DAG's own ``retries`` would (tests run with ``DP_TASK_RETRIES=0``, so the test
clears the failed task through the API, which is exactly a retry), and the test says so.

The DAG reads the default topic and lake that other tests share, so this test owns a slice of
them: its own Kafka offsets, order ids ``pgf-…`` (instead of ``ord-…``) and event times a month
before everyone else's; every table is reconciled on that slice.
"""

from __future__ import annotations

import time
from datetime import timedelta

import faultreport
import pytest
from faultlib import LakeWatcher, Slice, reconcile_lake, relabel, start_until_healthy

from datapipeline.airflow_client import FINISHED, AirflowApiError, AirflowClient
from datapipeline.events.generator import BASE_TIME, GeneratorOptions, generate
from datapipeline.kafka_admin import end_offsets
from datapipeline.lake.cli import lake_from_env
from datapipeline.lake.layout import Lake
from datapipeline.local.platform import AIRFLOW
from datapipeline.producer import produce

pytestmark = [pytest.mark.services, pytest.mark.slow]

TOPIC = "orders.events"  # the DAG's default topic
N = 1500
OUTAGE_S = 5.0
PREFIX = "pgf-"


def quiet(_line: str) -> None:
    pass


def follow(client: AirflowClient, platform, run_id: str, restarted: set[str], timeout_s: float = 900) -> dict:
    """Wait for the run to finish; restart any Airflow component found dead meanwhile."""
    deadline = time.monotonic() + timeout_s
    while True:
        dead = [s.name for s in platform.select(AIRFLOW) if s.process() is None]
        if dead:
            print(f"[faults] Airflow components down: {dead}; restarting them")
            restarted.update(dead)
            platform.up(AIRFLOW, echo=quiet)
        try:
            run = client.dag_run("ingest", run_id)
            if run["state"] in FINISHED:
                return run
        except AirflowApiError as exc:  # api-server or its database not back yet
            print(f"[faults] {exc}")
        assert time.monotonic() < deadline, f"ingest run {run_id} not finished after {timeout_s:.0f}s"
        time.sleep(3)


def retry_failed(client: AirflowClient, run_id: str) -> None:
    """What the DAG's retries do: run the failed task again in the same DAG run."""
    client.clear_failed("ingest", run_id)


def to_green(client: AirflowClient, platform, run_id: str, restarted: set[str]) -> tuple[dict, int]:
    """Follow the run to its end; a failed run is retried up to the DAG's production retries (2)."""
    run, retries = follow(client, platform, run_id, restarted), 0
    while run["state"] != "success" and retries < 2:
        retries += 1
        retry_failed(client, run_id)
        run = follow(client, platform, run_id, restarted)
    return run, retries


def test_postgres_crash_under_an_airflow_ingest_run(airflow, lake_spark, s3, healed):
    user, password = airflow.airflow_login
    client = AirflowClient(airflow.airflow_url, user, password)
    airflow.create_topic(TOPIC, partitions=3)
    options = GeneratorOptions(
        duplicate_rate=0.05, out_of_order_rate=0.05, malformed_rate=0.04, base_time=BASE_TIME - timedelta(days=30)
    )
    records = relabel(generate(N, seed=41, options=options), PREFIX)
    start = end_offsets(airflow.kafka_bootstrap, TOPIC)
    assert produce(records, airflow.kafka_bootstrap, TOPIC).delivered == N
    end = end_offsets(airflow.kafka_bootstrap, TOPIC)
    assert sum(end.values()) - sum(start.values()) == N
    lake: Lake = lake_from_env(airflow.client_env())[0]
    watch = LakeWatcher(lake, s3)
    postgres = airflow.postgres

    restarted: set[str] = set()
    client.wait_for_dag("ingest", echo=quiet)
    planned_before = watch.batches("bronze")[0]
    run_id = client.trigger("ingest")
    client.unpause("ingest")
    try:
        deadline = time.monotonic() + 600
        # A run's Spark job has planned its batch. Unpausing may also have created the scheduled
        # run, which can go first (max_active_runs=1): the fault hits whichever run is running.
        while watch.batches("bronze")[0] <= planned_before or not (hit := client.running_runs("ingest")):
            assert time.monotonic() < deadline, "no ingest run started its Spark batch"
            time.sleep(0.2)
        faulted = time.monotonic()
        postgres.kill()
        time.sleep(OUTAGE_S)
        attempts = start_until_healthy(postgres)
        back = time.monotonic()

        hit_ids = [r["dag_run_id"] for r in hit]
        outcomes = {rid: to_green(client, airflow, rid, restarted) for rid in dict.fromkeys([*hit_ids, run_id])}
        green = time.monotonic()
    finally:
        client.pause("ingest")
        deadline = time.monotonic() + 600
        while client.running_runs("ingest") and time.monotonic() < deadline:
            time.sleep(3)

    retries = sum(r for _, r in outcomes.values())
    tasks = client.task_instances("ingest", run_id)
    assert [(t["task_id"], t["state"]) for t in tasks] == [("kafka_to_delta", "success")], tasks
    part = Slice(topic=TOPIC, offsets={p: (start.get(p, 0), end[p]) for p in end}, order_prefix=PREFIX)
    result = reconcile_lake(lake_spark, lake, s3, records, part)
    how = "the run itself (no retry)" if not retries else f"{retries} retr{'y' if retries == 1 else 'ies'} of the task"
    if restarted:
        how += f"; restarted {', '.join(sorted(restarted))}"
    which = "the triggered run" if hit_ids == [run_id] else "the scheduled run (created by unpausing, it went first)"
    faultreport.record(
        faultreport.FaultResult(
            fault="PostgreSQL restart under Airflow (crash)",
            injected=f"kill -9 of PostgreSQL mid-run (Spark batch planned), down {OUTAGE_S:.0f} s, then started"
            + (f" ({attempts} start attempts)" if attempts > 1 else ""),
            recovered_by=how,
            recovery_s=round(green - faulted, 1),
            measured="fault -> DAG run green",
            lost=result.lost,
            duplicated=result.duplicated,
            notes=f"PostgreSQL back after {back - faulted:.1f} s; hit {which}; "
            f"{sum(o[0]['state'] == 'success' for o in outcomes.values())} of {len(outcomes)} runs green; {N} records",
        )
    )
    assert all(o[0]["state"] == "success" for o in outcomes.values()), outcomes
    assert result.problems == [], result.problems
    assert (result.lost, result.duplicated) == (0, 0)
