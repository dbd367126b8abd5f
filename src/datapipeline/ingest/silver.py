"""Silver: de-duplicated events and the current state of each order, both kept with keyed MERGE.

* ``silver_events``: one row per ``event_id`` (insert-if-absent), so re-deliveries and replayed
  micro-batches change nothing. Each row keeps a ``fingerprint`` of its content; a later event
  with the same ``event_id`` but another fingerprint is a conflicting duplicate
  (:func:`mark_conflicts`): it goes to quarantine, the stored event stays.
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
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, IntegerType, LongType, StringType, StructField, StructType
from pyspark.sql.window import Window

from datapipeline.events.contract import EXTRA_COLUMN_NAME, STATE_ORDER, Reason
from datapipeline.ingest.schema import EVENT_SCHEMA

# silver_events: the contract's event plus the Kafka coordinates of its first delivery.
EVENTS_SCHEMA = StructType(
    [
        *EVENT_SCHEMA.fields,
        StructField("topic", StringType()),
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        # sha2-256 of the canonical content (see fingerprint()).
        StructField("fingerprint", StringType()),
    ]
)
CONFLICT_REASON = Reason.of(Reason.CONFLICTING_DUPLICATE, "event_id")

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
# The contract's state key (STATE_ORDER) as silver_orders stores it, and the MERGE's "the batch's
# event is greater than the stored one" over those columns.
STORED_STATE_COLUMNS = {"is_cancelled": "is_cancelled", "event_time": "last_event_time", "event_id": "last_event_id"}
_STORED_STATE = [STORED_STATE_COLUMNS[c] for c in STATE_ORDER]
NEWER_STATE = (
    f"struct({', '.join(f's.{c}' for c in _STORED_STATE)}) > struct({', '.join(f't.{c}' for c in _STORED_STATE)})"
)


def fingerprint() -> Column:
    """SHA-256 (hex) of the canonical JSON of an event's typed contract columns and extras
    (event_time as epoch microseconds, extras sorted by name): equal iff the content is equal."""
    plain = [F.col(f.name) for f in EVENT_SCHEMA.fields if f.name not in ("event_time", "extras")]
    content = F.struct(
        *plain,
        F.unix_micros("event_time").alias("event_time"),
        F.array_sort(F.map_entries("extras")).alias("extras"),
    )
    return F.sha2(F.to_json(content), 256)


def with_fingerprint(events: DataFrame) -> DataFrame:
    return events if "fingerprint" in events.columns else events.withColumn("fingerprint", fingerprint())


def mark_conflicts(spark: SparkSession, valid: DataFrame, path: str) -> DataFrame:
    """``valid`` + ``fingerprint`` + ``reason``: NULL, or ``conflicting_duplicate:event_id`` when
    the event_id is stored in ``silver_events`` with another fingerprint or, if not stored, an
    earlier copy in this batch (smallest (topic, partition, offset)) has another fingerprint.

    Replay-safe: the stored row of an event_id is the batch's first copy or an older one, so a
    replayed batch (after its silver MERGE committed) gets the same decisions.
    """
    events = with_fingerprint(valid)
    w = Window.partitionBy("event_id").orderBy("topic", "partition", "offset")
    events = events.withColumn("__batch_fp", F.first("fingerprint").over(w))
    # Two columns of silver_events are read (every stored row has its fingerprint), not the whole table.
    table = DeltaTable.forPath(spark, path).toDF().select("event_id", F.col("fingerprint").alias("__stored_fp"))
    ids = events.select("event_id").distinct()
    stored = table.join(F.broadcast(ids), "event_id")
    reference = F.coalesce(F.col("__stored_fp"), F.col("__batch_fp"))
    return (
        events.join(stored, "event_id", "left")
        .withColumn("reason", F.when(F.col("fingerprint") != reference, F.lit(CONFLICT_REASON)))
        .drop("__batch_fp", "__stored_fp")
    )


def first_delivery(events: DataFrame) -> DataFrame:
    """One row per event_id: the copy with the smallest (topic, partition, offset)."""
    w = Window.partitionBy("event_id").orderBy("topic", "partition", "offset")
    return (
        with_fingerprint(events)
        .withColumn("__rn", F.row_number().over(w))
        .where("__rn = 1")
        .select(*EVENTS_SCHEMA.fieldNames())
    )


def latest_per_order(events: DataFrame) -> DataFrame:
    """One row per order (``ORDERS_SCHEMA`` columns + ``extras``): its greatest event."""
    w = Window.partitionBy("order_id").orderBy(*[F.col(c).desc() for c in STATE_ORDER])
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
    """Insert events not yet in ``silver_events`` (keyed on event_id). ``valid`` must be free of
    conflicting duplicates (:func:`mark_conflicts`); a stored event is never changed."""
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
        (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(source.alias("s"), "t.order_id = s.order_id")
            .whenMatchedUpdate(condition=NEWER_STATE, set=assignments)
            .whenNotMatchedInsert(values=assignments)
            .execute()
        )
    finally:
        state.unpersist()
