"""The ingestion streaming query: Kafka -> bronze, quarantine, silver (events, orders), gold.

One Structured Streaming query reads the topic; each micro-batch goes through
:func:`make_batch_writer` in this order, every step idempotent, so a crash at any point
followed by a restart (which replays the uncommitted batch with the same id and offsets)
neither loses nor duplicates a row:

1. bronze: raw append, ``txnAppId``/``txnVersion`` (skipped on replay)
2. quarantine: invalid rows and conflicting duplicates (an event_id already in silver_events,
   or earlier in the batch, with other content) append, ``txnAppId``/``txnVersion`` (skipped
   on replay; a replay reaches the same decisions, see ``silver.mark_conflicts``)
3. silver_events: MERGE insert-if-absent on ``event_id``
4. silver_orders: MERGE on ``order_id`` taking only greater states
5. gold: recompute touched (minute, currency) keys from silver_events, MERGE

Invariant: rows in bronze = parsed (silver_events input) + quarantined, per batch.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.types import StructType

from datapipeline.ingest import bronze, gold, quarantine, silver
from datapipeline.ingest.config import IngestConfig
from datapipeline.ingest.parse import parse_events, split

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
    their schema (it may have evolved: extras columns of silver_orders); columns the code's schema
    has and the table lacks (written by an older version) are added, nullable."""
    for name, path in tables.items():
        schema, partition_by = TABLE_SCHEMAS[name]
        if DeltaTable.isDeltaTable(spark, path):
            existing = {c.lower() for c in DeltaTable.forPath(spark, path).toDF().columns}
            missing = [f for f in schema.fields if f.name.lower() not in existing]
            if missing:
                cols = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in missing)
                spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({cols})")
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


def make_batch_writer(tables: dict[str, str], app_id: str):
    """``fn(batch_df, batch_id)`` for ``foreachBatch``: writes all tables idempotently."""

    def write_batch(batch_df: DataFrame, batch_id: int) -> None:
        spark = batch_df.sparkSession
        # One ingest timestamp per micro-batch (same value in bronze and quarantine).
        raw = bronze.from_kafka(batch_df, F.lit(datetime.now(UTC))).persist()
        try:
            bronze.append_once(raw, tables["bronze"], app_id, batch_id)
            parsed = parse_events(raw).persist()
            try:
                valid, bad = split(parsed)
                marked = silver.mark_conflicts(spark, valid, tables["silver_events"]).persist()
                try:
                    accepted = marked.where(F.col("reason").isNull()).drop("reason")
                    conflicting = marked.where(F.col("reason").isNotNull()).withColumn("reasons", F.array("reason"))
                    rejected = quarantine.rows(bad).unionByName(quarantine.rows(conflicting))
                    quarantine.append_once(rejected, tables["quarantine"], app_id, batch_id)
                    if not accepted.isEmpty():
                        silver.merge_events(spark, accepted, tables["silver_events"])
                        silver.merge_orders(spark, accepted, tables["silver_orders"])
                        gold.refresh(spark, accepted, tables["silver_events"], tables["gold_revenue"])
                finally:
                    marked.unpersist()
            finally:
                parsed.unpersist()
        finally:
            raw.unpersist()
        log.info("batch %s written", batch_id)

    return write_batch


def run(spark: SparkSession, cfg: IngestConfig) -> StreamingQuery:
    """Start the query (tables are created first); returns the running StreamingQuery."""
    ensure_tables(spark, cfg.tables)
    writer = (
        read_kafka(spark, cfg)
        .writeStream.queryName(f"ingest:{cfg.topic}")
        .option("checkpointLocation", cfg.checkpoint)
        .foreachBatch(make_batch_writer(cfg.tables, cfg.app_id))
    )
    if cfg.trigger == "availableNow":
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=cfg.processing_time)
    return writer.start()
