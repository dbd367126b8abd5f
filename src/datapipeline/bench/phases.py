"""The Spark phases of the benchmark. Each takes its dependencies and returns plain figures."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from datapipeline import maintenance, paths
from datapipeline.bench.stats import MIB, throughput
from datapipeline.ingest import bronze, job, silver
from datapipeline.ingest.config import IngestConfig, to_args
from datapipeline.ingest.parse import parse_events, split
from datapipeline.lake import checkpoints
from datapipeline.supervisor import REFINE_NICE


def _plain(progress) -> dict:
    """The fields we use of a StreamingQueryProgress, as plain data. (Its ``.json`` can recurse
    forever in pyspark 4.0 when built from a Python dict, so read item by item.)"""
    sources = []
    for source in progress["sources"]:
        end = source["endOffset"]
        if isinstance(end, str):  # JSON, or "None" before the source's first offset (Delta's, idle)
            end = None if end == "None" else json.loads(end)
        sources.append({"endOffset": end})
    return {
        "numInputRows": int(progress["numInputRows"]),
        "durationMs": {k: int(v) for k, v in dict(progress["durationMs"]).items()},
        "sources": sources,
    }


def _progress(query: StreamingQuery) -> list[dict]:
    return [_plain(p) for p in query.recentProgress]


def _batches(progress: list[dict]) -> dict:
    busy = [p for p in progress if p.get("numInputRows", 0) > 0]
    return {
        "batches": len(busy),
        "batch_seconds": [p["durationMs"].get("triggerExecution", 0) / 1000 for p in busy],
        # Where a batch's time goes: addBatch = the foreachBatch writer; the rest is planning/offsets.
        "duration_ms": {
            k: sum(p["durationMs"].get(k, 0) for p in busy)
            for k in ("addBatch", "latestOffset", "queryPlanning", "walCommit", "commitOffsets", "triggerExecution")
        },
    }


def _ensure_tables(spark: SparkSession, cfg: IngestConfig, bronze_only: bool) -> None:
    job.ensure_tables(spark, {"bronze": cfg.tables["bronze"]} if bronze_only else cfg.tables)


def available_now(spark: SparkSession, cfg: IngestConfig, nbytes: int, expected_rows: int, bronze_only: bool) -> dict:
    """One ``availableNow`` run from an empty checkpoint over the whole topic: the job's bronze
    query alone, or the whole job (bronze, then refine); wall time from start to end (tables
    created before the clock starts)."""
    cfg = replace(cfg, trigger="availableNow")
    _ensure_tables(spark, cfg, bronze_only)
    start = time.monotonic()
    if bronze_only:
        queries = [job.start_query(spark, cfg, "bronze")]
        queries[0].awaitTermination()
    else:
        pipeline = job.Pipeline(spark, cfg)
        pipeline.awaitTermination()
        queries = pipeline.queries
    seconds = time.monotonic() - start
    rows = spark.read.format("delta").load(cfg.tables["bronze"]).count()
    if rows != expected_rows:
        raise RuntimeError(f"bronze has {rows} rows after the availableNow run, expected {expected_rows}")
    batches = _batches([p for q in queries for p in _progress(q)])
    in_batches = sum(batches["batch_seconds"])
    # Like Kafka's fetch rate (which leaves out the consumer group join): rows over the time spent
    # inside the micro-batches, leaving out query start-up.
    batches["batch_rows_per_s"] = rows / in_batches if in_batches else None
    batches["batch_mb_per_s"] = nbytes / MIB / in_batches if in_batches else None
    return {**throughput(rows, nbytes, seconds), **batches}


def refine_only(spark: SparkSession, cfg: IngestConfig) -> dict:
    """The job's refine query alone, ``availableNow``, from an empty refine checkpoint over all of
    ``cfg``'s bronze table (quarantine, silver MERGEs, gold); rows/s over bronze's rows, wall time
    (tables created before the clock starts). Raises unless refine processed bronze to its end."""
    cfg = replace(cfg, trigger="availableNow", queries=("refine",))
    job.ensure_tables(spark, {name: cfg.tables[name] for name in job.QUERY_TABLES["refine"]})
    bronze_table = DeltaTable.forPath(spark, cfg.tables["bronze"])
    version = int(bronze_table.history(1).select("version").first()[0])
    rows = bronze_table.toDF().count()
    with _refine_steps() as steps:
        start = time.monotonic()
        pipeline = job.Pipeline(spark, cfg)
        pipeline.awaitTermination()
        seconds = time.monotonic() - start
    if not checkpoints.refined_up_to(cfg.checkpoint, cfg.s3, version):
        raise RuntimeError(f"refine ended before bronze version {version} was refined: {pipeline.exception()}")
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "steps_s": steps,
        **_batches(_progress(pipeline.refine)),
    }


@contextmanager
def _refine_steps() -> Iterator[dict[str, float]]:
    """Seconds per step of the refine micro-batches that run inside (summed), from the job's
    ``refine batch`` log records (``refine_writer``'s step timer)."""
    steps: dict[str, float] = {}

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            for step, sec in getattr(record, "refine_steps", {}).items():
                steps[step] = steps.get(step, 0.0) + sec

    logger, handler = logging.getLogger(job.__name__), Collect(logging.INFO)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield steps
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def kafka_batch(spark: SparkSession, kafka_bootstrap: str, topic: str, ending_offsets: dict[int, int]) -> DataFrame:
    """The topic's records from the start to ``ending_offsets``, as a batch DataFrame of bronze rows."""
    raw = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", kafka_bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", json.dumps({topic: {str(p): o for p, o in ending_offsets.items()}}))
        .option("includeHeaders", "true")
        .load()
    )
    return bronze.from_kafka(raw, F.lit(datetime.now(UTC)))


def _noop_runs(df: DataFrame, nbytes: int, runs: int) -> dict:
    """Write ``df`` into Spark's ``noop`` sink (every column computed, nothing stored) ``runs``
    times; throughput of the last run (steady state), the first's time kept (JIT warm-up)."""
    seconds = []
    for _ in range(runs):
        start = time.monotonic()
        df.write.format("noop").mode("overwrite").save()
        seconds.append(time.monotonic() - start)
    return {**throughput(df.count(), nbytes, seconds[-1]), "first_run_seconds": seconds[0], "runs": runs}


def source_only(records: DataFrame, nbytes: int, runs: int = 2) -> dict:
    """Spark's Kafka source alone (nothing parsed, nothing written): what any Spark ingest pays
    before writing."""
    return _noop_runs(records, nbytes, runs)


def parse_only(records: DataFrame, nbytes: int, runs: int = 2) -> dict:
    """``parse_events`` alone on the records cached in memory: parsing speed apart from Kafka
    and Delta."""
    cached = records.persist()
    try:
        cached.count()  # fill the cache first: no run reads Kafka
        return _noop_runs(parse_events(cached), nbytes, runs)
    finally:
        cached.unpersist()


def batch_stats(query: StreamingQuery) -> dict:
    """Micro-batches with data of a running query (last 100): count and durations."""
    return _batches(_progress(query))


def consumed(query: StreamingQuery) -> int:
    """Kafka offsets the query has read to, summed over partitions (-1 before its first batch)."""
    last = query.lastProgress
    if last is None:
        return -1
    total = 0
    for source in _plain(last)["sources"]:
        for offsets in (source["endOffset"] or {}).values():
            total += sum(int(v) for v in offsets.values())
    return total


def start_continuous(spark: SparkSession, cfg: IngestConfig, bronze_only: bool, timeout_s: float = 120):
    """The job's bronze query alone, or the whole job (:class:`job.Pipeline`), with the
    processingTime trigger of ``cfg``; returns (what runs: stop it when done, the bronze query)
    once bronze ran its first batch."""
    _ensure_tables(spark, cfg, bronze_only)
    running = job.start_query(spark, cfg, "bronze") if bronze_only else job.Pipeline(spark, cfg)
    bronze_query = running if bronze_only else running.bronze
    deadline = time.monotonic() + timeout_s
    while bronze_query.lastProgress is None:
        if not bronze_query.isActive or time.monotonic() > deadline:
            error = bronze_query.exception()
            running.stop()
            raise RuntimeError(f"continuous query did not report progress within {timeout_s:.0f}s: {error}")
        time.sleep(0.2)
    return running, bronze_query


def drain(query: StreamingQuery, target_total_offset: int, timeout_s: float) -> float:
    """Wait until the query has processed up to ``target_total_offset`` (sum over partitions);
    returns the seconds waited. Raises if the query dies; stops waiting at the timeout."""
    start = time.monotonic()
    while consumed(query) < target_total_offset:
        if not query.isActive:
            raise RuntimeError(f"continuous query stopped: {query.exception()}")
        if time.monotonic() - start > timeout_s:
            break
        time.sleep(0.5)
    return time.monotonic() - start


def start_refine_driver(cfg: IngestConfig, master: str | None, log_path: Path) -> subprocess.Popen:
    """The job's refine query in a driver process of its own (``spark_apps/ingest.py --queries
    refine``, ``cfg``'s trigger) at ``nice`` :data:`REFINE_NICE`, output to ``log_path``; returns
    once the query has started. The bronze table must exist (the bronze driver creates it)."""
    if cfg.s3 is None:
        raise ValueError("the refine driver needs the lake's S3 settings")
    refine = replace(cfg, queries=("refine",), master=master or "local[*]", preflight=False)
    cmd = [
        *("nice", "-n", str(REFINE_NICE), sys.executable, str(paths.PROJECT_ROOT / "spark_apps" / "ingest.py")),
        *to_args(refine),
    ]
    env = {**os.environ, "DP_S3_ACCESS_KEY": cfg.s3.access_key, "DP_S3_SECRET_KEY": cfg.s3.secret_key}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while "started ingest:" not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_driver(proc)
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"refine driver did not start (exit {proc.returncode}): {' | '.join(tail)}")
        time.sleep(0.5)
    return proc


def stop_driver(proc: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGTERM, then SIGKILL after ``timeout_s``; its JVM exits with it (pyspark's gateway ends
    when its Python parent's pipe closes)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def await_refined(spark: SparkSession, cfg: IngestConfig, timeout_s: float) -> float:
    """Wait until the refine query (in whichever driver) has processed bronze's current version;
    returns the seconds waited (stops waiting at the timeout)."""
    target = int(DeltaTable.forPath(spark, cfg.tables["bronze"]).history(1).select("version").first()[0])
    start = time.monotonic()
    while not checkpoints.refined_up_to(cfg.checkpoint, cfg.s3, target):
        if time.monotonic() - start > timeout_s:
            break
        time.sleep(1)
    return time.monotonic() - start


def merge_bench(
    spark: SparkSession,
    kafka_bootstrap: str,
    topic: str,
    ending_offsets: dict[int, int],
    tables: dict[str, str],
    share: float,
) -> dict:
    """Time ``silver.merge_events`` and ``silver.merge_orders`` on a realistic batch into non-empty
    tables: the valid events of the bulk records (up to ``ending_offsets``) are split by a hash
    of ``event_id``; ``1 - share`` of them seed the targets (untimed), the rest (with their
    duplicates and updates of seeded orders) is the timed batch."""
    # Parsed and cached first, as the job does: a filter straight on parse_events' output is pushed
    # below its projections, and the rows are then validated twice.
    parsed = parse_events(kafka_batch(spark, kafka_bootstrap, topic, ending_offsets)).persist()
    valid, _bad = split(parsed)
    valid = valid.persist()
    valid.count()
    in_batch = (F.abs(F.xxhash64("event_id")) % 1000) < int(share * 1000)
    seed, batch = valid.where(~in_batch).persist(), valid.where(in_batch).persist()
    batch_rows = batch.count()
    job.ensure_tables(spark, tables)
    silver.merge_events(spark, seed, tables["silver_events"])
    silver.merge_orders(spark, seed, tables["silver_orders"])
    out = {}
    for name, step in (("silver_events", silver.merge_events), ("silver_orders", silver.merge_orders)):
        before = spark.read.format("delta").load(tables[name]).count()
        start = time.monotonic()
        step(spark, batch, tables[name])
        seconds = time.monotonic() - start
        out[name] = {
            "source_rows": batch_rows,
            "target_rows_before": before,
            "target_rows_after": spark.read.format("delta").load(tables[name]).count(),
            "seconds": seconds,
            "rows_per_s": batch_rows / seconds,
        }
    for df in (seed, batch, valid, parsed):
        df.unpersist()
    return out


def num_files(spark: SparkSession, path: str) -> int:
    return int(DeltaTable.forPath(spark, path).detail().select("numFiles").first()[0])


def optimize_all(spark: SparkSession, tables: dict[str, str]) -> dict[str, dict]:
    """Delta file count of each table before and after OPTIMIZE (no VACUUM: it changes nothing
    in the snapshot, only storage)."""
    out = {}
    for name, path in tables.items():
        before = num_files(spark, path)
        start = time.monotonic()
        removed, added = maintenance.optimize(spark, path)
        out[name] = {
            "before": before,
            "after": num_files(spark, path),
            "removed": removed,
            "added": added,
            "seconds": time.monotonic() - start,
        }
    return out
