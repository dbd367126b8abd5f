"""Gold: revenue and order-lifecycle counts per minute (of event time) and currency.

Answers "how much was paid, and how many orders were created/paid/shipped/delivered/cancelled,
per minute and currency". Kept correct under late events by recomputing, for every
(minute, currency) a micro-batch touches, the aggregate from the de-duplicated
``silver_events`` table and MERGE-ing it in: a deterministic function of silver, so replays and
late events give the same numbers as a full recomputation.
"""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from datapipeline.events.contract import EVENT_TYPES
from datapipeline.ingest.schema import MONEY

KEYS = ("minute", "currency")
COUNT_COLUMNS = tuple(f"{t}_events" for t in EVENT_TYPES)
SCHEMA = StructType(
    [
        StructField("minute", TimestampType(), nullable=False),
        StructField("currency", StringType(), nullable=False),
        *[StructField(c, LongType(), nullable=False) for c in COUNT_COLUMNS],
        StructField("paid_revenue", MONEY, nullable=False),
        StructField("cancelled_amount", MONEY, nullable=False),
    ]
)


def aggregate(events: DataFrame) -> DataFrame:
    """Pure: gold rows from de-duplicated events (``silver_events`` columns)."""

    def total(event_type: str):
        return F.coalesce(F.sum(F.when(F.col("event_type") == event_type, F.col("amount"))), F.lit(0).cast(MONEY)).cast(
            MONEY
        )

    return (
        events.withColumn("minute", F.date_trunc("minute", "event_time"))
        .groupBy(*KEYS)
        .agg(
            *[F.count(F.when(F.col("event_type") == t, 1)).alias(f"{t}_events") for t in EVENT_TYPES],
            total("paid").alias("paid_revenue"),
            total("cancelled").alias("cancelled_amount"),
        )
        .select(*SCHEMA.fieldNames())
    )


def refresh(spark: SparkSession, batch_events: DataFrame, silver_events_path: str, path: str) -> None:
    """Recompute the (minute, currency) keys touched by ``batch_events`` from silver and MERGE them."""
    touched = batch_events.select(F.date_trunc("minute", "event_time").alias("minute"), "currency").distinct()
    silver = DeltaTable.forPath(spark, silver_events_path).toDF()
    affected = silver.join(
        F.broadcast(touched),
        (F.date_trunc("minute", silver["event_time"]) == touched["minute"])
        & (silver["currency"] == touched["currency"]),
        "left_semi",
    )
    fresh = aggregate(affected)
    changed = " OR ".join(f"NOT (t.{c} <=> s.{c})" for c in SCHEMA.fieldNames() if c not in KEYS)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(fresh.alias("s"), "t.minute = s.minute AND t.currency = s.currency")
        .whenMatchedUpdateAll(condition=changed)
        .whenNotMatchedInsertAll()
        .execute()
    )
