"""Bronze: every Kafka record, raw, with its coordinates; partitioned by ingest date.

Nothing is dropped or parsed here. The append is idempotent per micro-batch: Delta records
``(txnAppId, txnVersion=batch_id)`` in the same commit, and a replayed batch (after a crash
between the Delta commit and the checkpoint commit) is skipped by Delta.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    DateType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

HEADERS_TYPE = ArrayType(StructType([StructField("key", StringType()), StructField("value", BinaryType())]))
SCHEMA = StructType(
    [
        StructField("key", BinaryType()),
        StructField("value", BinaryType()),
        StructField("headers", HEADERS_TYPE),
        StructField("topic", StringType(), nullable=False),
        StructField("partition", IntegerType(), nullable=False),
        StructField("offset", LongType(), nullable=False),
        StructField("kafka_timestamp", TimestampType()),
        StructField("ingest_time", TimestampType(), nullable=False),
        StructField("ingest_date", DateType(), nullable=False),
    ]
)
PARTITION_BY = ("ingest_date",)


def from_kafka(kafka_df: DataFrame, ingest_time: Column) -> DataFrame:
    """Kafka source rows -> bronze rows (pure). ``ingest_time`` is a literal (one per micro-batch):
    ``current_timestamp()`` in a plan keeps Spark from reusing cached results built on it."""
    return kafka_df.select(
        "key",
        "value",
        F.col("headers").cast(HEADERS_TYPE).alias("headers"),
        "topic",
        "partition",
        "offset",
        F.col("timestamp").alias("kafka_timestamp"),
        ingest_time.alias("ingest_time"),
        F.to_date(ingest_time).alias("ingest_date"),
    )


def append_once(df: DataFrame, path: str, app_id: str, batch_id: int, partition_by=PARTITION_BY) -> None:
    """Append ``df`` unless ``(app_id, batch_id)`` was already committed to this table."""
    (
        df.write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", batch_id)
        .partitionBy(*partition_by)
        .save(path)
    )
