"""End to end on kind: events produced on the host end up as Delta rows, via the Airflow `ingest` DAG.

The same client code as the local end-to-end tests (datapipeline.producer, datapipeline.airflow_client);
only the addresses differ: Kafka through kind's NodePort mapping, Airflow and MinIO through port-forwards.
"""

from __future__ import annotations

import json
import time

from kindlib import NS, SPARK_NS, kubectl, port_forward, secret

from datapipeline.airflow_client import AirflowClient
from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.lake import query
from datapipeline.producer import produce
from datapipeline.spark.session import S3Settings

TOPIC = "orders.events"
TABLE = "s3://lake/orders/silver/order_events"  # parsed events, with their event_id
DAG_ID = "ingest"
HOST_BOOTSTRAP = "localhost:31092"  # k8s/kind-cluster.yaml extraPortMappings -> external listener


def test_platform_reports_ready():
    def cond(kind: str, name: str) -> str:
        return kubectl("-n", NS, "get", kind, name, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}")

    assert cond("kafka", "kafka") == "True"
    assert cond("kafkatopic", TOPIC) == "True"
    assert cond("clusters.postgresql.cnpg.io", "airflow-db") == "True"
    assert kubectl("-n", NS, "get", "tenant", "minio", "-o", "jsonpath={.status.healthStatus}") == "green"


def test_lake_writer_pool_exists():
    from datapipeline.local.airflow import LAKE_WRITER_POOL

    out = kubectl(
        "-n", NS, "exec", "deploy/airflow-scheduler", "-c", "scheduler", "--",
        "airflow", "pools", "get", LAKE_WRITER_POOL, "--output", "json",
    )  # fmt: skip
    pools = json.loads(out)
    assert [(p["pool"], int(p["slots"])) for p in pools] == [(LAKE_WRITER_POOL, 1)]


def test_events_reach_delta_through_the_ingest_dag():
    clean = GeneratorOptions(duplicate_rate=0, out_of_order_rate=0, malformed_rate=0)
    records = generate(50, seed=time.time_ns() % 2**31, options=clean)
    ids = {r.event["event_id"] for r in records}
    result = produce(records, HOST_BOOTSTRAP, TOPIC)
    assert result.delivered == len(records), result

    with port_forward(NS, "svc/airflow-api-server", 8080) as port:
        # charts/values/airflow.yaml: simple auth manager with all_admins (local cluster only), so any
        # credentials get an admin token.
        client = AirflowClient(f"http://127.0.0.1:{port}", "admin", "admin")
        client.wait_for_dag(DAG_ID, timeout_s=300)
        client.unpause(DAG_ID)
        run_id = client.trigger(DAG_ID)
        run = client.wait_for_run(DAG_ID, run_id, timeout_s=40 * 60)
    assert run["state"] == "success", f"DAG run {run_id} ended {run['state']}"

    apps = json.loads(kubectl("-n", SPARK_NS, "get", "sparkapplications", "-o", "json"))["items"]
    assert apps, "the DAG ran no SparkApplication"
    latest = max(apps, key=lambda a: a["metadata"]["creationTimestamp"])
    assert latest["status"]["applicationState"]["state"] == "COMPLETED", latest["status"]

    with port_forward(NS, "svc/minio", 80) as port:
        s3 = S3Settings(
            endpoint=f"http://127.0.0.1:{port}",
            access_key=secret("minio-credentials", "accessKey"),
            secret_key=secret("minio-credentials", "secretKey"),
        )
        rows = query(TABLE, s3, "SELECT event_id FROM t")
    missing = ids - {row["event_id"] for row in rows}
    assert not missing, f"{len(missing)} of {len(ids)} produced events are not in {TABLE}"
