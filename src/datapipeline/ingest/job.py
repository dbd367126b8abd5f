"""The ingestion job: two streaming queries, Kafka -> bronze, then bronze -> quarantine, silver, gold.

* ``bronze`` (checkpoint ``<checkpoint>/bronze``): reads the topic and appends every record, raw,
  to the bronze table. Nothing else, so new records are visible in bronze within about one
  trigger interval whatever the rest of the pipeline costs.
* ``refine`` (checkpoint ``<checkpoint>/refine``): streams the bronze table (Delta source: all of
  it, then each new commit) and writes each micro-batch, in this order:

  1. quarantine: invalid rows and conflicting duplicates (an event_id already in silver_events,
     or earlier in the batch, with other content) append, ``txnAppId``/``txnVersion`` (skipped
     on replay; a replay reaches the same decisions, see ``silver.mark_conflicts``)
  2. silver_events: MERGE insert-if-absent on ``event_id``
  3. silver_orders: MERGE on ``order_id`` taking only greater states
  4. gold: recompute touched (minute, currency) keys from silver_events, MERGE

Every step is idempotent, so a crash at any point followed by a restart (which replays the
uncommitted batch of each query with the same id and input) neither loses nor duplicates a row.
With the ``availableNow`` trigger (scheduled runs) bronze runs to the end of the topic first,
then refine to the end of bronze; with ``processingTime`` both run side by side, each in its
own FAIR scheduler pool so that a long refine batch does not hold bronze back.

Invariant: rows in bronze = parsed (silver_events input) + quarantined, per refine batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.types import StructType

from datapipeline.ingest import bronze, gold, quarantine, silver
from datapipeline.ingest.config import IngestConfig
from datapipeline.ingest.parse import parse_events, split
from datapipeline.lake.layout import QUERIES
from datapipeline.settings import ConfigError

log = logging.getLogger(__name__)

TABLE_SCHEMAS: dict[str, tuple[StructType, tuple[str, ...]]] = {
    "bronze": (bronze.SCHEMA, bronze.PARTITION_BY),
    "quarantine": (quarantine.SCHEMA, bronze.PARTITION_BY),
    "silver_events": (silver.EVENTS_SCHEMA, ()),
    "silver_orders": (silver.ORDERS_SCHEMA, ()),
    "gold_revenue": (gold.SCHEMA, ()),
}


def ensure_tables(spark: SparkSession, tables: dict[str, str]) -> None:
    """Create every table that does not exist yet (empty, with its schema). Existing tables keep
    their schema (it may have evolved: extras columns of silver_orders)."""
    for name, path in tables.items():
        schema, partition_by = TABLE_SCHEMAS[name]
        if DeltaTable.isDeltaTable(spark, path):
            continue
        builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema)
        if partition_by:
            builder = builder.partitionedBy(*partition_by)
        builder.execute()


def read_kafka(spark: SparkSession, cfg: IngestConfig) -> DataFrame:
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", cfg.kafka_bootstrap)
        .option("subscribe", cfg.topic)
        .option("startingOffsets", cfg.starting_offsets)
        .option("failOnDataLoss", str(cfg.fail_on_data_loss).lower())
        .option("includeHeaders", "true")
    )
    if cfg.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", cfg.max_offsets_per_trigger)
    return reader.load()


def read_bronze(spark: SparkSession, cfg: IngestConfig) -> DataFrame:
    """The bronze table as a stream: all of it, then each new commit (OPTIMIZE's rewrites carry no
    new data and are skipped by Delta's source). A new refine checkpoint always starts at the
    beginning of bronze, whatever ``starting_offsets`` says for Kafka: Delta's
    ``startingVersion=latest`` is only pinned at the first offset, so the first commit after
    the start can be skipped, and then bronze rows would never be refined."""
    reader = spark.readStream.format("delta")
    if cfg.refine_max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", cfg.refine_max_files_per_trigger)
    if cfg.refine_max_bytes_per_trigger:
        reader = reader.option("maxBytesPerTrigger", cfg.refine_max_bytes_per_trigger)
    return reader.load(cfg.tables["bronze"])


def bronze_writer(path: str, app_id: str) -> Callable[[DataFrame, int], None]:
    """``fn(kafka_batch_df, batch_id)`` for ``foreachBatch``: the idempotent bronze append."""

    def write_batch(batch_df: DataFrame, batch_id: int) -> None:
        # One ingest timestamp per micro-batch.
        bronze.append_once(bronze.from_kafka(batch_df, F.lit(datetime.now(UTC))), path, app_id, batch_id)
        log.info("bronze batch %s written", batch_id)

    return write_batch


class StepTimer:
    """Wall time per named step of one micro-batch, for its log line."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._last
        self._last = now

    def __str__(self) -> str:
        return ", ".join(f"{step} {sec:.1f}s" for step, sec in self.seconds.items())


def refine_writer(tables: dict[str, str], app_id: str) -> Callable[[DataFrame, int], None]:
    """``fn(bronze_batch_df, batch_id)`` for ``foreachBatch``: quarantine, silver and gold,
    each idempotent (see the module docstring)."""

    def write_batch(batch_df: DataFrame, batch_id: int) -> None:
        spark = batch_df.sparkSession
        timer = StepTimer()
        # Persisted before split: a filter on parse_events' output would otherwise be pushed
        # below its projections and every row validated twice.
        parsed = parse_events(batch_df).persist()
        try:
            rows = parsed.count()
            timer.lap("parse")
            valid, bad = split(parsed)
            marked = silver.mark_conflicts(spark, valid, tables["silver_events"]).persist()
            try:
                accepted = marked.where(F.col("reason").isNull()).drop("reason")
                conflicting = marked.where(F.col("reason").isNotNull()).withColumn("reasons", F.array("reason"))
                rejected = quarantine.rows(bad).unionByName(quarantine.rows(conflicting))
                quarantine.append_once(rejected, tables["quarantine"], app_id, batch_id)
                timer.lap("conflicts+quarantine")
                if not accepted.isEmpty():
                    silver.merge_events(spark, accepted, tables["silver_events"])
                    timer.lap("silver_events")
                    silver.merge_orders(spark, accepted, tables["silver_orders"])
                    timer.lap("silver_orders")
                    gold.refresh(spark, accepted, tables["silver_events"], tables["gold_revenue"])
                    timer.lap("gold")
            finally:
                marked.unpersist()
        finally:
            parsed.unpersist()
        log.info(
            "refine batch %s: %d bronze rows written (%s)",
            batch_id,
            rows,
            timer,
            extra={"refine_steps": timer.seconds},  # read by the bench (bench.phases._refine_steps)
        )

    return write_batch


# The tables each query writes (and so creates when they do not exist).
QUERY_TABLES = {"bronze": ("bronze",), "refine": ("quarantine", "silver_events", "silver_orders", "gold_revenue")}


def start_query(spark: SparkSession, cfg: IngestConfig, name: str) -> StreamingQuery:
    """Start one of the job's two queries (``QUERIES``) with ``cfg``'s trigger, in the FAIR
    scheduler pool of its name (tables must exist: :func:`ensure_tables`)."""
    if name == "bronze":
        source, writer = read_kafka(spark, cfg), bronze_writer(cfg.tables["bronze"], cfg.app_id)
    elif name == "refine":
        source, writer = read_bronze(spark, cfg), refine_writer(cfg.tables, cfg.app_id)
    else:
        raise ValueError(f"unknown query {name!r}: one of {', '.join(QUERIES)}")
    stream = (
        source.writeStream.queryName(f"{name}:{cfg.topic}")
        .option("checkpointLocation", cfg.query_checkpoint(name))
        .foreachBatch(writer)
    )
    if cfg.trigger == "availableNow":
        stream = stream.trigger(availableNow=True)
    else:
        stream = stream.trigger(processingTime=cfg.processing_time)
    # The query's thread inherits this thread's local properties when it starts.
    spark.sparkContext.setLocalProperty("spark.scheduler.pool", name)
    try:
        return stream.start()
    finally:
        spark.sparkContext.setLocalProperty("spark.scheduler.pool", None)


class Pipeline:
    """The job's queries (``cfg.queries``: both, or one when bronze and refine run as two
    drivers), driven like one ``StreamingQuery``.

    ``availableNow``: :meth:`awaitTermination` runs bronze to its end, then refine over all of
    bronze. ``processingTime``: the queries run side by side until stopped; if one fails, the
    other is stopped and the failure raised.
    """

    def __init__(self, spark: SparkSession, cfg: IngestConfig):
        self.spark, self.cfg = spark, cfg
        self.name = f"ingest:{cfg.topic}"
        self.bronze: StreamingQuery | None = start_query(spark, cfg, "bronze") if "bronze" in cfg.queries else None
        self.refine: StreamingQuery | None = None
        self._stopped = False
        self._lock = threading.Lock()  # stop() vs. starting refine after bronze (availableNow)
        # With availableNow and both queries, refine starts once bronze has ended.
        if "refine" in cfg.queries and (cfg.trigger != "availableNow" or self.bronze is None):
            try:
                self.refine = start_query(spark, cfg, "refine")
            except Exception:
                if self.bronze is not None:
                    self.bronze.stop()  # never leave bronze running alone
                raise

    @property
    def queries(self) -> list[StreamingQuery]:
        return [q for q in (self.bronze, self.refine) if q is not None]

    @property
    def isActive(self) -> bool:
        return any(q.isActive for q in self.queries)

    def exception(self):
        return next((e for e in (q.exception() for q in self.queries) if e is not None), None)

    def awaitTermination(self) -> None:
        """Until every query ends (``availableNow``) or one of them does (then all are stopped);
        raises the first query's failure (``StreamingQueryException``)."""
        if self.cfg.trigger == "availableNow":
            if self.bronze is not None:
                self.bronze.awaitTermination()
                with self._lock:
                    if self._stopped or "refine" not in self.cfg.queries:
                        return
                    self.refine = start_query(self.spark, self.cfg, "refine")
            self.refine.awaitTermination()
            return
        try:
            while all(q.isActive for q in self.queries):
                for q in self.queries:
                    if q.awaitTermination(1):
                        break
            for q in self.queries:
                q.awaitTermination(0.001)  # returns at once when ended; raises its failure if it failed
        finally:
            self.stop()

    def processAllAvailable(self) -> None:
        """Until bronze has the topic's records of now and refine has processed them (while
        running with ``processingTime``; with ``availableNow`` use :meth:`awaitTermination`)."""
        for q in self.queries:
            q.processAllAvailable()

    def stop(self) -> None:
        with self._lock:  # refine is either started before this, and stopped here, or never
            self._stopped = True
            queries = self.queries
        for q in queries:
            q.stop()


def wait_for_bronze(spark: SparkSession, path: str, every_s: float = 5.0, log_every_s: float = 60.0) -> None:
    """Until the bronze table exists at ``path``; logs what it waits for, then every ``log_every_s``."""
    logged = None
    while not DeltaTable.isDeltaTable(spark, path):
        if logged is None or time.monotonic() - logged >= log_every_s:
            log.info("waiting for the bronze table %s: the bronze query's driver creates it", path)
            logged = time.monotonic()
        time.sleep(every_s)


def run(spark: SparkSession, cfg: IngestConfig) -> Pipeline:
    """Create the tables the selected queries write, start them (see :class:`Pipeline`) and
    return the pipeline. Refuses (``ConfigError``) refine alone with ``availableNow`` before
    bronze exists (with ``processingTime`` it waits for the table)."""
    if "bronze" not in cfg.queries and not DeltaTable.isDeltaTable(spark, cfg.tables["bronze"]):
        if cfg.trigger == "availableNow":
            raise ConfigError(
                f"bronze table {cfg.tables['bronze']} does not exist yet: start the bronze query first "
                "(--queries bronze, or both queries in one driver)"
            )
        # A continuous refine started next to its bronze driver (the supervisor starts both):
        # wait for bronze's driver to create the table, as a stream waits for its input.
        wait_for_bronze(spark, cfg.tables["bronze"])
    ensure_tables(spark, {name: cfg.tables[name] for q in cfg.queries for name in QUERY_TABLES[q]})
    return Pipeline(spark, cfg)
