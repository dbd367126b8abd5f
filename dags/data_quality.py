"""
### data_quality

Runs whenever `ingest` has updated the lake (Asset schedule) and on demand. Reads the Delta
tables with delta-rs (no Spark) and checks:

| check | fails when |
|---|---|
| `reconciled` | a bronze record is neither parsed nor quarantined, or quarantine holds a record bronze never had |
| `silver_events_complete` | a parsed event id is missing from silver, or silver holds one bronze never delivered |
| `silver_orders_match_events` | a new event's order is not in silver_orders, or silver_orders has one no event has |
| `quarantine_ratio` | quarantined / consumed is over `max_quarantine_ratio` |
| `freshness` | the newest Kafka record is older than `max_staleness_minutes` |
| `refine_lag` | a record not refined yet waited over `max_refine_lag_minutes` (refine stalled or slow) |

The balance covers the bronze records the job's `refine` query has processed (its
checkpoint says up to which bronze version); newer records, whose silver and quarantine rows a
running job may have half written, are reported as "not refined yet" and left out, so a check
run while the continuous job is working does not fail on the batch in flight.

Each run reads only what is new: the records past the marks (per Kafka partition) that the last
passing run kept in `<checkpoint>/quality/state.json`, found by the Kafka coordinates that bronze,
quarantine and silver_events carry. Two reads still cover whole columns: the order id columns
(the orders check) and, for events delivered again, silver_events' event_id column. A run whose
balance fails leaves the previous state in place, so the next run checks the same records again.
Delete the state file to re-check the whole lake (a state that cannot be read, or one written
for other tables, e.g. a rebuilt silver, also means a full check).

A failed run says which check failed and by how much; each check's line is in the task log.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from datapipeline.orchestration import default_args, lake_asset


@dag(
    dag_id="data_quality",
    schedule=[lake_asset()],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["datapipeline", "quality"],
    default_args=default_args(retries=2, retry_delay=timedelta(seconds=30)),
    params={
        "max_quarantine_ratio": Param(
            0.05, type="number", minimum=0, maximum=1, description="largest allowed share of quarantined records"
        ),
        "max_staleness_minutes": Param(
            60, type="integer", minimum=1, description="oldest allowed age of the newest record"
        ),
        "max_refine_lag_minutes": Param(
            15, type="integer", minimum=1, description="longest a bronze record may wait to be refined"
        ),
    },
    doc_md=__doc__,
)
def data_quality():
    @task(execution_timeout=timedelta(minutes=10))
    def check_lake(params: dict | None = None) -> dict[str, bool]:
        from airflow.sdk.exceptions import AirflowFailException

        from datapipeline.quality import Thresholds, run_checks

        thresholds = Thresholds(
            max_quarantine_ratio=float(params["max_quarantine_ratio"]),
            max_staleness=timedelta(minutes=int(params["max_staleness_minutes"])),
            max_refine_lag=timedelta(minutes=int(params["max_refine_lag_minutes"])),
        )
        checks = run_checks(thresholds)
        for check in checks:
            print(check.line())
        failed = [c for c in checks if not c.ok]
        if failed:
            # A data problem does not go away on retry: fail without retrying.
            raise AirflowFailException("data quality failed: " + "; ".join(c.line() for c in failed))
        return {c.name: c.ok for c in checks}

    check_lake()


data_quality()
