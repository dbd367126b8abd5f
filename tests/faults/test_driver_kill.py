"""kill -9 of the Spark driver (the real ``spark_apps/ingest.py`` process group) at seven points
inside micro-batches of the job's two queries, each followed by a restart: no row lost or
duplicated in any table.

Kill points are found by watching the checkpoints and the Delta logs on MinIO. In the bronze
query: right after the checkpoint's offsets file of a batch is written (before bronze), and after
the bronze commit. In the refine query (which runs after bronze, availableNow): after its offsets
file (before quarantine), after quarantine, after silver_events, after silver_orders and after
gold. Each time before Spark has committed that batch to the query's checkpoint (checked, not
assumed). After each kill the job is restarted at once; its recovery time is restart -> the
killed batch committed in the checkpoint (JVM start and the replay of the batch included). The
restarted process then goes on to the next kill point in a later batch, so every point kills a
different batch.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace

import faultreport
import pytest
from faultlib import LakeWatcher, job_env, reconcile_lake, start_job, tail

from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.ingest.config import from_args, to_args
from datapipeline.producer import produce

pytestmark = [pytest.mark.services, pytest.mark.slow]

N = 1600
BATCH = 200  # maxOffsetsPerTrigger -> 8 bronze micro-batches
FILES = 3  # refine's maxFilesPerTrigger: a bronze batch writes up to 3 files (one per Kafka partition)
# (kill point, its query, the Delta table whose new version marks it; None: the query's offsets
# file, and then the table the query writes first must not have that batch yet)
KILL_POINTS = (
    ("bronze offsets", "bronze", None),
    ("bronze", "bronze", "bronze"),
    ("refine offsets", "refine", None),
    ("quarantine", "refine", "quarantine"),
    ("silver_events", "refine", "silver_events"),
    ("silver_orders", "refine", "silver_orders"),
    ("gold", "refine", "gold_revenue"),
)
FIRST_WRITE = {"bronze": "bronze", "refine": "quarantine"}


# Eight driver starts; about 3 minutes on a quiet 2-core machine, far more when it is loaded.
@pytest.mark.timeout(1800)
def test_kill_9_of_the_driver_at_seven_points_loses_and_duplicates_nothing(lake, lake_spark, tmp_path, healed):
    options = GeneratorOptions(duplicate_rate=0.08, out_of_order_rate=0.08, malformed_rate=0.04)
    records = generate(N, seed=11, options=options)
    assert produce(records, lake.platform.kafka_bootstrap, lake.topic).delivered == N
    env = job_env(lake)
    args = to_args(replace(from_args([], env), max_offsets_per_trigger=BATCH, refine_max_files_per_trigger=FILES))
    watch = LakeWatcher(lake.lake, lake.s3)
    log = tmp_path / "ingest.log"

    landed: list[dict] = []
    proc = start_job(env, log, *args)
    for point, query, table in KILL_POINTS:
        planned_before = watch.batches(query)[0]
        target = max(watch.version(table), 0) + 1 if table else None  # version 0 is the table's creation
        deadline = time.monotonic() + 300
        while (watch.version(table) < target) if table else (watch.batches(query)[0] <= planned_before):
            assert proc.poll() is None, f"job ended before kill point {point}:\n{tail(log)}"
            assert time.monotonic() < deadline, f"kill point {point} not reached:\n{tail(log)}"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        planned, committed = watch.batches(query)
        mid_batch = planned > committed
        if table is None:  # before the query's first write: that table has not got this batch yet
            mid_batch = mid_batch and watch.txn_version(FIRST_WRITE[query]) < planned

        restarted = time.monotonic()
        proc = start_job(env, log, *args)
        deadline = restarted + 300
        while watch.batches(query)[1] < planned:
            assert proc.poll() is None, f"restarted job ended before batch {planned} committed:\n{tail(log)}"
            assert time.monotonic() < deadline, f"batch {planned} not committed after restart:\n{tail(log)}"
            time.sleep(0.2)
        recovery_s = time.monotonic() - restarted
        landed.append(
            {"point": point, "query": query, "batch": planned, "mid_batch": mid_batch, "recovery_s": recovery_s}
        )
        print(
            f"[faults] kill -9 after {point}: {query} batch {planned}, mid-batch={mid_batch}, "
            f"recovered in {recovery_s:.1f}s"
        )

    assert proc.wait(timeout=420) == 0, tail(log)
    mid = [k for k in landed if k["mid_batch"]]
    assert len(mid) >= 5, f"kills did not land inside batches: {landed}"
    assert len({(k["query"], k["batch"]) for k in landed}) == len(landed), f"two kills hit the same batch: {landed}"

    result = reconcile_lake(lake_spark, lake.lake, lake.s3, records)
    for k in landed:
        faultreport.record(
            faultreport.FaultResult(
                fault=f"kill -9 Spark driver after {k['point']}",
                injected=f"SIGKILL to the job's process group, {k['query']} batch {k['batch']}"
                + ("" if k["mid_batch"] else " (landed after its checkpoint commit)"),
                recovered_by="restart of the job (replays the batch)",
                recovery_s=round(k["recovery_s"], 1),
                measured="restart -> killed batch committed",
                lost=result.lost,
                duplicated=result.duplicated,
                notes=f"{N} records, {BATCH} per bronze batch, {FILES} bronze files per refine batch; "
                "counts are for the whole run",
            )
        )
    assert result.problems == [], result.problems
    assert (result.lost, result.duplicated) == (0, 0)
