"""The ``data_quality`` phase: what one incremental check costs on a lake with a small and a large
history (default 1 M and 5 M bronze rows), the same number of new records on each.

The lakes are built by Spark, not by the pipeline (5 M records through Kafka would take longer than
the whole default run): every table as the job writes it, with a bronze record per Kafka
coordinate, 2 % of them unparsable and quarantined, the rest in silver_events (first delivery)
and their orders in silver_orders, so every check passes. The history is committed in several
appends, then a passing check's state is written for it (as the run before would have left it),
then the new records are appended in one commit, as one ingest run does, and
:func:`datapipeline.quality.run_checks` is timed. The check must pass and count every record,
else the phase fails.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from datapipeline.ingest import bronze, quarantine, silver
from datapipeline.lake import delta_rs
from datapipeline.lake.layout import Lake
from datapipeline.lake.s3 import S3Settings
from datapipeline.quality import STATE_TABLES, State, Thresholds, lake_id, run_checks, state_path

TOPIC = "bench.dq"
PARTITIONS = 3
BAD_EVERY = 50  # one record in 50 is unparsable (2 %)
BASE_MS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)


def _records(spark: SparkSession, start: int, rows: int) -> DataFrame:
    """Record ``id`` = Kafka coordinate (id % 3, id // 3); ``bad``: unparsable."""
    ids = spark.range(start, start + rows, numPartitions=max(2, rows // 500_000))
    return ids.withColumn("bad", F.col("id") % BAD_EVERY == 7).withColumn(
        "ts", F.timestamp_millis(F.lit(BASE_MS) + F.col("id"))
    )


def _event_id(i: Column) -> Column:
    return F.concat(F.lit("evt-"), i.cast("string"))


def _order_id(i: Column) -> Column:
    return F.concat(F.lit("ord-"), (i / 3).cast("long").cast("string"))


def _value(r: DataFrame) -> Column:
    """A contract event of the generator's size (about 300 bytes), or broken JSON."""
    good = F.format_string(
        '{"schema_version":1,"event_id":"%s","order_id":"%s","event_type":"created",'
        '"event_time":"2026-01-01T00:00:00Z","customer":{"customer_id":"cust-%d","country":"DE"},'
        '"amount":25.00,"currency":"EUR","items":[{"sku":"SKU-%d","quantity":2,"unit_price":12.50}]}',
        _event_id(F.col("id")),
        _order_id(F.col("id")),
        F.col("id") % 1000,
        F.col("id") % 97,
    )
    return F.when(F.col("bad"), F.lit('{"event_id": "broken')).otherwise(good).cast("binary")


def _coords() -> dict[str, Column]:
    return {
        "topic": F.lit(TOPIC),
        "partition": (F.col("id") % PARTITIONS).cast("int"),
        "offset": (F.col("id") / PARTITIONS).cast("long"),
    }


def append(spark: SparkSession, lake: Lake, start: int, rows: int) -> None:
    """Append records ``start`` .. ``start + rows`` to every table (``start`` a multiple of 3,
    so that an order's three events land in one append)."""
    if start % 3:
        raise ValueError(f"append: start {start} must be a multiple of 3 (an order's events go in one append)")
    r = _records(spark, start, rows).persist()
    raw = r.select(
        F.lit(None).cast("binary").alias("key"),
        _value(r).alias("value"),
        F.lit(None).cast(bronze.HEADERS_TYPE).alias("headers"),
        *[c.alias(name) for name, c in _coords().items()],
        F.col("ts").alias("kafka_timestamp"),
        F.col("ts").alias("ingest_time"),
        F.to_date("ts").alias("ingest_date"),
        "bad",
        "id",
    )
    raw.select(*bronze.SCHEMA.fieldNames()).write.format("delta").mode("append").partitionBy(*bronze.PARTITION_BY).save(
        lake.table("bronze")
    )
    bad = raw.where("bad").withColumn("reason", F.lit("invalid_json")).withColumn("reasons", F.array("reason"))
    bad.select(*quarantine.SCHEMA.fieldNames()).write.format("delta").mode("append").partitionBy(
        *bronze.PARTITION_BY
    ).save(lake.table("quarantine"))
    good = r.where(~F.col("bad"))
    event = {
        **_coords(),
        "schema_version": F.lit(1),
        "event_id": _event_id(F.col("id")),
        "order_id": _order_id(F.col("id")),
        "event_type": F.lit("created"),
        "event_time": F.col("ts"),
        "fingerprint": F.sha2(_event_id(F.col("id")), 256),
    }
    events = good.select(*[event.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in silver.EVENTS_SCHEMA])
    events.write.format("delta").mode("append").save(lake.table("silver_events"))
    orders = good.groupBy((F.col("id") / 3).cast("long").alias("o")).agg(
        F.max("id").alias("id"), F.max("ts").alias("ts")
    )
    state = {
        "order_id": _order_id(F.col("id")),
        "status": F.lit("created"),
        "is_cancelled": F.lit(False),
        "last_event_id": _event_id(F.col("id")),
        "last_event_time": F.col("ts"),
    }
    orders.select(
        *[state.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in silver.ORDERS_SCHEMA.fields]
    ).write.format("delta").mode("append").save(lake.table("silver_orders"))
    r.unpersist()


def passed_state(lake: Lake, s3: S3Settings | None, rows: int) -> State:
    """The state a passing check of records 0 .. ``rows`` leaves."""
    marks = {(TOPIC, p): (rows - 1 - ((rows - 1 - p) % PARTITIONS)) // PARTITIONS for p in range(PARTITIONS)}
    return State(
        lake_id=lake_id({t: delta_rs.open_table(lake.table(t), s3) for t in STATE_TABLES}),
        marks=marks,
        consumed=rows,
        quarantined=len(range(7, rows, BAD_EVERY)),
        newest_record=datetime.fromtimestamp((BASE_MS + rows - 1) / 1000, UTC),
    )


def measure(
    spark: SparkSession, lake: Lake, s3: S3Settings, history: int, new: int, appends: int = 5, full: bool = False
) -> dict:
    """Build the lake (``history`` rows in ``appends`` commits), seed the passing state, append
    ``new`` rows, and time one check; with ``full`` also a check without state (what a first run
    costs, and every run did before the checks were incremental). ``history`` is rounded down to
    a multiple of 3, so that the new records start with a whole order."""
    history -= history % 3
    step = -(-history // appends // 3) * 3
    for start in range(0, history, step):
        append(spark, lake, start, min(step, history - start))
    checkpoint = lake.checkpoint()
    delta_rs.write_text(state_path(checkpoint), passed_state(lake, s3, history).to_json(), s3)
    append(spark, lake, history, new)
    env = {
        "DP_LAKE_ROOT": lake.root,
        "DP_S3_ENDPOINT": s3.endpoint,
        "DP_S3_ACCESS_KEY": s3.access_key,
        "DP_S3_SECRET_KEY": s3.secret_key,
        "DP_CHECKPOINT": checkpoint,
    }
    now = datetime.fromtimestamp((BASE_MS + history + new) / 1000, UTC) + timedelta(seconds=1)

    def check() -> float:
        start = time.perf_counter()
        checks = run_checks(Thresholds(max_quarantine_ratio=1.0), env, now=now)
        seconds = time.perf_counter() - start
        failed = [c.line() for c in checks if not c.ok]
        reconciled = next(c for c in checks if c.name == "reconciled")
        if failed or not reconciled.detail.startswith(f"consumed {history + new} = "):
            raise RuntimeError(f"data_quality bench: the check on the built lake failed: {failed or reconciled.line()}")
        return round(seconds, 3)

    figures = {"rows": history + new, "history_rows": history, "new_rows": new, "seconds": check()}
    if full:
        delta_rs.delete(state_path(checkpoint), s3)
        figures["full_seconds"] = check()
    return figures
