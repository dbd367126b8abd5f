"""
### streaming_supervisor

Keeps the continuous ingestion running: the `ingest` job with the `processingTime` trigger as
two apps, one per query, `ingest-stream-bronze` (Kafka -> bronze) and `ingest-stream-refine`
(bronze -> quarantine, silver, gold), so that a busy refine cannot hold bronze back. Every
5 minutes it looks at each app and

* **submits** it when it does not exist,
* **resubmits** it when it failed or stopped (a streaming app must never complete),
* leaves it alone when it is running.

spark-operator's own restart policies are unreliable for streaming apps, so this DAG is the
supervisor. On Kubernetes it manages the `SparkApplication`s (`DP_SPARK_NAMESPACE`); locally
processes of the local platform (`task local:status` shows them; refine's runs at a lower CPU
priority).

Do not run this and scheduled `ingest` runs against the same tables at the same time: Delta on
S3 is safe for one writing driver per table.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from datapipeline.orchestration import default_args, supervise_streams


@dag(
    dag_id="streaming_supervisor",
    schedule=timedelta(minutes=5),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,  # opt in: continuous mode replaces scheduled `ingest` runs
    tags=["datapipeline", "spark", "streaming"],
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=1)),
    doc_md=__doc__,
)
def streaming_supervisor():
    @task(execution_timeout=timedelta(minutes=5))
    def ensure_stream_running() -> str:
        decisions = supervise_streams()
        for query, decision in decisions.items():
            print(f"{query}: {decision.action}: {decision.reason}")
        return ", ".join(f"{query}: {d.action}" for query, d in decisions.items())

    ensure_stream_running()


streaming_supervisor()
