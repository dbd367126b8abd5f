"""
### ingest

Kafka topic `orders.events` → **bronze** (every raw record) → **quarantine** (bad records with a
reason) / **silver** (current state of each order, Delta `MERGE`) → **gold** (revenue per
minute and currency), as one Spark application run with the `availableNow` trigger: its
`bronze` query takes everything that arrived on the topic since the last run, then its `refine`
query everything new in bronze, and it stops. Checkpoints live beside the tables, so a retried
run neither loses nor duplicates a row.

The job is described once, in `k8s/spark/ingest.yaml` (a `SparkApplication`): on Kubernetes
(`DP_RUNTIME=kubernetes`) spark-operator runs it; locally (the default) the same spec becomes
a `spark-submit`. The task fails when the Spark application fails.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag

from datapipeline.orchestration import default_args, lake_asset, spark_job, template_searchpath


@dag(
    dag_id="ingest",
    schedule=timedelta(minutes=15),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # Delta on S3 is safe for one writing driver per table
    tags=["datapipeline", "spark", "ingest"],
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=1)),
    template_searchpath=template_searchpath(),
    doc_md=__doc__,
)
def ingest():
    spark_job("ingest", task_id="kafka_to_delta", execution_timeout=timedelta(minutes=45), outlets=[lake_asset()])


ingest()
