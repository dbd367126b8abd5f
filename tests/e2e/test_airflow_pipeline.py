"""The main job through the real local Airflow: ingest lands reconciled tables, data_quality
goes green and then red on a bad batch, and a failing Spark job turns its task and run red.

Everything is real: Kafka, MinIO, PostgreSQL, the Airflow api-server/scheduler/dag-processor/
triggerer, spark-submit of the SparkApplication spec. Expectations come from the generator's
own annotations of what it sent, not from the pipeline's code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from datapipeline.airflow_client import AirflowClient
from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.lake import delta_rs
from datapipeline.lake.cli import lake_from_env
from datapipeline.producer import produce

pytestmark = [pytest.mark.services, pytest.mark.jvm, pytest.mark.slow]  # Spark jobs via spark-submit

TOPIC = "orders.events"  # the DAGs' default topic (the platform is private to this test session)


@pytest.fixture(scope="module")
def client(airflow) -> Iterator[AirflowClient]:
    user, password = airflow.airflow_login
    client = AirflowClient(airflow.airflow_url, user, password)
    yield client
    # Leave no scheduled run behind to write the lake while later tests use it.
    for dag_id in ("ingest", "data_quality"):
        client.pause(dag_id)
    deadline = time.monotonic() + 600
    while any(client.running_runs(d) for d in ("ingest", "data_quality")) and time.monotonic() < deadline:
        time.sleep(3)


def run_dag(client: AirflowClient, dag_id: str, conf: dict | None = None) -> tuple[str, dict]:
    client.wait_for_dag(dag_id)
    run_id = client.trigger(dag_id, conf)
    client.unpause(dag_id)
    return run_id, client.wait_for_run(dag_id, run_id, timeout_s=900)


def count(airflow, table: str) -> int:
    lake, s3 = lake_from_env(airflow.client_env())
    return delta_rs.query(lake.table(table), s3, "SELECT count(*) AS n FROM t")[0]["n"]


@pytest.fixture(scope="module")
def first_batch(airflow):
    records = generate(3000, seed=7)
    result = produce(records, airflow.kafka_bootstrap, TOPIC)
    assert result.ok, result.errors
    return records


def test_ingest_dag_lands_reconciled_tables(airflow, client, first_batch):
    run_id, run = run_dag(client, "ingest")
    assert run["state"] == "success", run
    [task] = client.task_instances("ingest", run_id)
    assert (task["task_id"], task["state"]) == ("kafka_to_delta", "success")

    events = {r.event["event_id"]: r.event for r in first_batch if r.kind in ("event", "duplicate")}
    malformed = [r for r in first_batch if r.kind == "malformed"]
    assert malformed and len(events) < len(first_batch) - len(malformed)  # the batch has both
    assert count(airflow, "bronze") == len(first_batch)
    assert count(airflow, "quarantine") == len(malformed)
    assert count(airflow, "silver_events") == len(events)
    assert count(airflow, "silver_orders") == len({e["order_id"] for e in events.values()})


def test_data_quality_green_then_red_on_a_bad_batch(airflow, client, first_batch):
    run_id, run = run_dag(client, "data_quality", {"max_quarantine_ratio": 0.05})
    assert run["state"] == "success", run

    bad = generate(1000, seed=99, options=GeneratorOptions(malformed_rate=1.0))
    assert produce(bad, airflow.kafka_bootstrap, TOPIC).ok
    _, run = run_dag(client, "ingest")
    assert run["state"] == "success"
    malformed = sum(r.kind == "malformed" for r in first_batch + bad)
    ratio = malformed / len(first_batch + bad)
    assert ratio > 0.05  # the seeded batch really is bad

    run_id, run = run_dag(client, "data_quality", {"max_quarantine_ratio": 0.05})
    assert run["state"] == "failed"
    [task] = client.task_instances("data_quality", run_id)
    assert task["state"] == "failed"
    log = client.task_log("data_quality", run_id, task["task_id"], task["try_number"])
    assert f"FAIL quarantine_ratio: {ratio:.2%} of {len(first_batch + bad)} records quarantined" in log
    assert "PASS reconciled" in log and "PASS silver_events_complete" in log
    assert "PASS refine_lag: every bronze record is refined" in log  # the ingest run refined everything


def test_failing_spark_job_fails_its_task_and_run(airflow, client):
    airflow.down(["minio"], echo=lambda _line: None)  # the job's S3 preflight now fails
    try:
        run_id, run = run_dag(client, "ingest")
    finally:
        airflow.up(["minio"], echo=lambda _line: None)
    assert run["state"] == "failed"
    [task] = client.task_instances("ingest", run_id)
    assert task["state"] == "failed"
    log = client.task_log("ingest", run_id, task["task_id"], task["try_number"])
    assert "SparkJobFailed" in log and "exit code 2" in log
