"""
### streaming_supervisor

Keeps the continuous ingestion app (`ingest-stream`: the `ingest` job with the
`processingTime` trigger) running. Every 5 minutes it looks at the app and

* **submits** it when it does not exist,
* **resubmits** it when it failed or stopped (a streaming app must never complete),
* leaves it alone when it is running.

spark-operator's own restart policies are unreliable for streaming apps, so this DAG is the
supervisor. On Kubernetes it manages the `SparkApplication` (`DP_SPARK_NAMESPACE`); locally a
process of the local platform (`task local:status` shows it as `ingest-stream`).

Do not run this and scheduled `ingest` runs against the same tables at the same time: Delta on
S3 is safe for one writing driver per table.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from datapipeline.orchestration import default_args, runtime


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
        import os

        from datapipeline.sparkapp import load_spec, spec_path
        from datapipeline.supervisor import stream_manifest, supervise_kubernetes, supervise_local

        if runtime() == "kubernetes":
            from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

            hook = KubernetesHook(conn_id=os.environ.get("DP_KUBERNETES_CONN_ID", "kubernetes_default"))
            decision = supervise_kubernetes(
                hook.custom_object_client,
                stream_manifest(load_spec(spec_path("ingest"))),
                os.environ.get("DP_SPARK_NAMESPACE", "spark"),
            )
        else:
            from datapipeline.local.platform import LocalPlatform

            decision = supervise_local(LocalPlatform().stream)
        print(f"{decision.action}: {decision.reason}")
        return decision.action

    ensure_stream_running()


streaming_supervisor()
