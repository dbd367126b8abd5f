"""kill -9 of the ingestion job (the real ``spark_apps/ingest.py`` process group) at four points
inside micro-batches, each followed by a restart: no row lost or duplicated in any table.

Kill points are found by watching the Delta logs on MinIO: right after the bronze commit, after
the quarantine commit, after the silver_events commit and after the gold commit of a batch —
each time before Spark has committed that batch to its checkpoint (checked, not assumed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import pytest
from minio import Minio

from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.paths import PROJECT_ROOT
from datapipeline.producer import produce
from reconcile import (
    GOLD_SQL,
    ORDERS_SQL,
    delta_rs_count,
    delta_rs_rows,
    expected_gold,
    expected_orders,
    expected_reasons,
    gold_as_tuples,
    orders_as_tuples,
    spark_rows,
    unique_events,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

N = 600
BATCH = 300  # maxOffsetsPerTrigger -> 2-3 micro-batches
KILL_AFTER = ("bronze", "quarantine", "silver_events", "gold_revenue")


class LakeWatcher:
    """Reads Delta log and checkpoint progress straight from MinIO (no Spark)."""

    def __init__(self, lake):
        url = urlparse(lake.s3.endpoint)
        self.client = Minio(url.netloc, access_key=lake.s3.access_key, secret_key=lake.s3.secret_key, secure=False)
        self.bucket = lake.lake.bucket
        self.lake = lake.lake

    def _key(self, s3a_path: str) -> str:
        return s3a_path.removeprefix(f"s3a://{self.bucket}/").rstrip("/") + "/"

    def _max_number(self, prefix: str, suffix: str = "") -> int:
        best = -1
        for obj in self.client.list_objects(self.bucket, prefix=prefix):
            name = obj.object_name.rsplit("/", 1)[-1]
            stem = name.removesuffix(suffix)
            if name.endswith(suffix) and stem.isdigit():
                best = max(best, int(stem))
        return best

    def version(self, table: str) -> int:
        return self._max_number(self._key(self.lake.table(table)) + "_delta_log/", ".json")

    def batches(self) -> tuple[int, int]:
        """(last planned batch id, last committed batch id) of the checkpoint."""
        cp = self._key(self.lake.checkpoint())
        return self._max_number(cp + "offsets/"), self._max_number(cp + "commits/")


def start_job(env: dict[str, str], log: Path) -> subprocess.Popen:
    cmd = [sys.executable, str(PROJECT_ROOT / "spark_apps" / "ingest.py"), "--max-offsets-per-trigger", str(BATCH)]
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=PROJECT_ROOT
        )


def tail(log: Path, n: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:])


def test_kill_9_mid_batch_then_restart_loses_and_duplicates_nothing(lake, lake_spark, tmp_path):
    options = GeneratorOptions(duplicate_rate=0.08, out_of_order_rate=0.08, malformed_rate=0.04)
    records = generate(N, seed=11, options=options)
    assert produce(records, lake.platform.kafka_bootstrap, lake.topic).delivered == N
    env = {**os.environ, **lake.env(), "PYTHONUNBUFFERED": "1"}
    watch = LakeWatcher(lake)
    log = tmp_path / "ingest.log"

    mid_batch_kills = []
    for table in KILL_AFTER:
        target = max(watch.version(table), 0) + 1  # version 0 is the table's creation
        proc = start_job(env, log)
        deadline = time.monotonic() + 240
        while watch.version(table) < target:
            assert proc.poll() is None, f"job ended before the kill point ({table}):\n{tail(log)}"
            assert time.monotonic() < deadline, f"kill point {table} v{target} not reached:\n{tail(log)}"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        planned, committed = watch.batches()
        if planned > committed:
            mid_batch_kills.append((table, planned))
    assert len(mid_batch_kills) >= 3, f"kills did not land inside batches: {mid_batch_kills}"

    final = start_job(env, log)
    assert final.wait(timeout=420) == 0, tail(log)

    tables = lake.lake.tables
    opts = lake.s3
    bronze = lake_spark.read.format("delta").load(tables["bronze"])
    assert bronze.count() == N
    assert bronze.select("partition", "offset").distinct().count() == N
    assert delta_rs_count(tables["bronze"], opts) == N
    reasons = Counter(r["reason"] for r in spark_rows(lake_spark, tables["quarantine"]))
    assert reasons == expected_reasons(records)
    assert delta_rs_count(tables["quarantine"], opts) == sum(expected_reasons(records).values())
    assert delta_rs_count(tables["silver_events"], opts) == len(unique_events(records))
    expected = expected_orders(records)
    assert orders_as_tuples(spark_rows(lake_spark, tables["silver_orders"], ORDERS_SQL)) == expected
    assert orders_as_tuples(delta_rs_rows(tables["silver_orders"], opts, ORDERS_SQL)) == expected
    gold = expected_gold(records)
    assert gold_as_tuples(delta_rs_rows(tables["gold_revenue"], opts, GOLD_SQL)) == gold
