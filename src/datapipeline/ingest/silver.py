"""Silver: de-duplicated events and the current state of each order, both kept with keyed MERGE.

* ``silver_events``: one row per ``event_id`` (insert-if-absent), so re-deliveries and replayed
  micro-batches change nothing.
* ``silver_orders``: one row per ``order_id``: the order's greatest event under
  ``contract.STATE_ORDER`` (a cancellation is terminal, then the latest ``event_time``, then
  ``event_id``). The MERGE only overwrites a row with a greater event, so late and out-of-order
  events never roll a state back, and replaying the same input gives the same table.

Additive schema evolution: unknown top-level event fields (``extras``) whose name is a plain
identifier become nullable STRING columns of ``silver_orders`` (``ALTER TABLE … ADD COLUMNS``
before the MERGE; idempotent), so no restart is needed and none fails.
"""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, IntegerType, LongType, StringType, StructField, StructType
from pyspark.sql.window import Window

from datapipeline.events.contract import EVENT_SCHEMA, EXTRA_COLUMN_NAME

# silver_events: the contract's event plus the Kafka coordinates of its first delivery.
EVENTS_SCHEMA = StructType(
    [
        *EVENT_SCHEMA.fields,
        StructField("topic", StringType()),
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
    ]
)

# silver_orders: current state per order (extras columns are appended as they appear).
ORDERS_SCHEMA = StructType(
    [
        StructField("order_id", StringType(), nullable=False),
        StructField("status", StringType(), nullable=False),
        StructField("is_cancelled", BooleanType(), nullable=False),
        StructField("customer_id", StringType()),
        StructField("customer_country", StringType()),
        StructField("amount", EVENT_SCHEMA["amount"].dataType),
        StructField("currency", StringType()),
        StructField("items", EVENT_SCHEMA["items"].dataType),
        StructField("last_event_id", StringType(), nullable=False),
        StructField("last_event_time", EVENT_SCHEMA["event_time"].dataType, nullable=False),
    ]
)
ORDER_BASE_COLUMNS = tuple(ORDERS_SCHEMA.fieldNames())


def first_delivery(events: DataFrame) -> DataFrame:
    """One row per event_id: the copy with the smallest (topic, partition, offset)."""
    w = Window.partitionBy("event_id").orderBy("topic", "partition", "offset")
    return events.withColumn("__rn", F.row_number().over(w)).where("__rn = 1").select(*EVENTS_SCHEMA.fieldNames())


def latest_per_order(events: DataFrame) -> DataFrame:
    """One row per order (``ORDERS_SCHEMA`` columns + ``extras``): its greatest event."""
    w = Window.partitionBy("order_id").orderBy(
        F.col("is_cancelled").desc(), F.col("event_time").desc(), F.col("event_id").desc()
    )
    return (
        events.withColumn("is_cancelled", F.col("event_type") == "cancelled")
        .withColumn("__rn", F.row_number().over(w))
        .where("__rn = 1")
        .select(
            "order_id",
            F.col("event_type").alias("status"),
            "is_cancelled",
            "customer_id",
            "customer_country",
            "amount",
            "currency",
            "items",
            F.col("event_id").alias("last_event_id"),
            F.col("event_time").alias("last_event_time"),
            "extras",
        )
    )


def extra_columns(names: list[str], existing: list[str]) -> list[str]:
    """Extras that can become new silver columns: plain identifiers, no clash (case-insensitive)."""
    taken = {c.lower() for c in existing}
    out = []
    for name in sorted(set(names)):
        if EXTRA_COLUMN_NAME.match(name) and name.lower() not in taken:
            taken.add(name.lower())
            out.append(name)
    return out


def merge_events(spark: SparkSession, valid: DataFrame, path: str) -> None:
    """Insert events not yet in ``silver_events`` (keyed on event_id)."""
    source = first_delivery(valid)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(source.alias("s"), "t.event_id = s.event_id")
        .whenNotMatchedInsertAll()
        .execute()
    )


def _evolve(spark: SparkSession, path: str, state: DataFrame) -> list[str]:
    """Add STRING columns for new extras; return all extras columns the table now has."""
    target = DeltaTable.forPath(spark, path)
    existing = target.toDF().columns
    names = [r[0] for r in state.select(F.explode(F.map_keys("extras"))).distinct().collect()]
    new = extra_columns(names, existing)
    if new:
        cols = ", ".join(f"`{n}` STRING" for n in new)
        spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({cols})")
    return [c for c in existing if c not in ORDER_BASE_COLUMNS] + new


def merge_orders(spark: SparkSession, valid: DataFrame, path: str) -> None:
    """Upsert each order's greatest event of the batch if it beats the stored state."""
    state = latest_per_order(valid).persist()
    try:
        extras = _evolve(spark, path, state)
        source = state.select(*ORDER_BASE_COLUMNS, *[F.col("extras").getItem(n).alias(n) for n in extras])
        assignments = {f"`{c}`": f"s.`{c}`" for c in source.columns}
        newer = (
            "struct(s.is_cancelled, s.last_event_time, s.last_event_id) > "
            "struct(t.is_cancelled, t.last_event_time, t.last_event_id)"
        )
        (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(source.alias("s"), "t.order_id = s.order_id")
            .whenMatchedUpdate(condition=newer, set=assignments)
            .whenNotMatchedInsert(values=assignments)
            .execute()
        )
    finally:
        state.unpersist()
