"""
### maintenance

Daily Delta maintenance of every pipeline table: `OPTIMIZE` (compacts the many small files
that streaming micro-batches write) and `VACUUM` with a retention longer than any reader or
streaming checkpoint needs (the job refuses less than 7 days). Same job spec on both runtimes:
`k8s/spark/maintenance.yaml`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag

from datapipeline.orchestration import default_args, spark_job, template_searchpath


@dag(
    dag_id="maintenance",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["datapipeline", "spark", "maintenance"],
    default_args=default_args(retries=1, retry_delay=timedelta(minutes=5)),
    template_searchpath=template_searchpath(),
    doc_md=__doc__,
)
def maintenance():
    spark_job("maintenance", task_id="optimize_and_vacuum", execution_timeout=timedelta(hours=1))


maintenance()
