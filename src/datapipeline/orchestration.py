"""How the DAGs launch Spark jobs: one job spec (``k8s/spark/<job>.yaml``), two launchers.

``DP_RUNTIME=local`` (the default) runs the SparkApplication as a local spark-submit
(:mod:`datapipeline.sparkapp`); ``DP_RUNTIME=kubernetes`` hands the same file to
``SparkKubernetesOperator``, which submits it into ``DP_SPARK_NAMESPACE``, waits for it and
fails the task when the application fails. Nothing here touches the network at import time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta

from datapipeline import settings

RUNTIMES = ("local", "kubernetes")


class RuntimeConfigError(ValueError):
    pass


def runtime(environ: dict[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    value = environ.get("DP_RUNTIME", "local")
    if value not in RUNTIMES:
        raise RuntimeConfigError(f"DP_RUNTIME={value!r} is not a runtime: use one of {', '.join(RUNTIMES)}")
    return value


def spark_job(
    job: str,
    *,
    task_id: str,
    extra_arguments: Sequence[str] = (),
    execution_timeout: timedelta = timedelta(minutes=30),
    outlets: Sequence = (),
):
    """An Airflow task that runs Spark job ``job`` on the configured runtime and fails with it."""
    from datapipeline.sparkapp import spec_path

    # Delta on S3 allows one writing driver per table: every lake-writing job shares a 1-slot pool
    # where the deployment provides one (the local platform creates it), else the default pool.
    pool = settings.get("DP_LAKE_WRITER_POOL")

    if runtime() == "kubernetes":
        from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator

        if extra_arguments:
            raise RuntimeConfigError(f"{task_id}: extra arguments are local-only; put them in {spec_path(job)}")
        return SparkKubernetesOperator(
            task_id=task_id,
            # Rendered by Jinja relative to the DAG's template_searchpath (SPEC_DIR).
            application_file=spec_path(job).name,
            namespace=settings.get("DP_SPARK_NAMESPACE"),
            kubernetes_conn_id=settings.get("DP_KUBERNETES_CONN_ID"),
            get_logs=True,
            delete_on_termination=True,
            reattach_on_restart=True,
            execution_timeout=execution_timeout,
            outlets=list(outlets),
            pool=pool,
        )

    from airflow.sdk import task

    @task(task_id=task_id, execution_timeout=execution_timeout, outlets=list(outlets), pool=pool)
    def run_spark_job() -> None:
        from datapipeline.sparkapp import load_spec, run_local

        run_local(load_spec(spec_path(job)), extra_arguments=extra_arguments)

    return run_spark_job()


def default_args(retries: int = 2, retry_delay: timedelta = timedelta(minutes=1)) -> dict:
    """The DAGs' default_args; ``DP_TASK_RETRIES`` overrides the retry count (tests use 0)."""
    override = os.environ.get("DP_TASK_RETRIES")
    if override is not None and not override.isdigit():
        raise RuntimeConfigError(f"DP_TASK_RETRIES={override!r} is not a whole number")
    return {
        "owner": "datapipeline",
        "retries": int(override) if override is not None else retries,
        "retry_delay": retry_delay,
    }


def lake_asset():
    """The Asset the ingest DAG updates and the data_quality DAG is scheduled on."""
    from airflow.sdk import Asset

    root = settings.lake_root()
    if root is None:
        raise RuntimeConfigError("lake root not set: set DP_LAKE_ROOT (e.g. s3a://lake/orders) for the DAGs")
    return Asset(name="orders_lake", uri="s3://" + root.removeprefix("s3a://"))


def template_searchpath() -> list[str]:
    """Pass to ``@dag(template_searchpath=...)`` so SparkKubernetesOperator finds the specs."""
    from datapipeline.sparkapp import SPEC_DIR

    return [str(SPEC_DIR)]


def supervise_streams() -> dict:
    """One supervisor pass over the continuous apps (one per query of the ingest job), on the
    runtime ``DP_RUNTIME`` selects: the SparkApplications in ``DP_SPARK_NAMESPACE`` on Kubernetes,
    the local platform's stream processes locally. Returns each query's
    :class:`datapipeline.supervisor.Decision`."""
    from datapipeline.supervisor import supervise_kubernetes, supervise_local

    if runtime() == "kubernetes":
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

        from datapipeline.lake.layout import QUERIES
        from datapipeline.sparkapp import load_spec, spec_path
        from datapipeline.supervisor import stream_manifest

        hook = KubernetesHook(conn_id=settings.get("DP_KUBERNETES_CONN_ID"))
        manifest = load_spec(spec_path("ingest"))
        namespace = settings.get("DP_SPARK_NAMESPACE")
        return {
            query: supervise_kubernetes(hook.custom_object_client, stream_manifest(manifest, query), namespace)
            for query in QUERIES
        }
    from datapipeline.local.platform import LocalPlatform

    return {stream.query: supervise_local(stream) for stream in LocalPlatform().streams}
