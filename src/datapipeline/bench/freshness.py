"""End-to-end freshness: Kafka record timestamp (set by the producer at send) -> the Delta commit
that made the row visible.

Each row is mapped to its data file with Spark's ``_metadata.file_path``; each file to the log
version whose ``add`` action added it; each version to its ``commitInfo.timestamp`` (read from
``_delta_log/<version>.json``). Measure before OPTIMIZE: compaction re-adds rows in new files.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def _basename(col) -> F.Column:
    return F.element_at(F.split(col, "/"), -1)


def commit_times(spark: SparkSession, table_path: str) -> DataFrame:
    """(file_name, version, commit_ms) for every file added by any commit of the table."""
    # The folder with a filter, not a `*.json` glob: Spark looks for a streaming sink's metadata
    # at the given path first, and a glob made it log a FileNotFoundException stack trace.
    log = (
        spark.read.option("pathGlobFilter", "*.json")
        .json(f"{table_path.rstrip('/')}/_delta_log")
        .withColumn("version", F.regexp_extract(F.input_file_name(), r"(\d+)\.json$", 1).cast("long"))
    )
    adds = log.where(F.col("add").isNotNull()).select("version", _basename(F.col("add.path")).alias("file_name"))
    commits = log.where(F.col("commitInfo").isNotNull()).select(
        "version", F.col("commitInfo.timestamp").cast("long").alias("commit_ms")
    )
    return adds.join(commits, "version")


def row_files(spark: SparkSession, table_path: str) -> DataFrame:
    """The table's rows with the basename of the data file holding each."""
    return spark.read.format("delta").load(table_path).withColumn("file_name", _basename(F.col("_metadata.file_path")))


def latencies(spark: SparkSession, bronze_path: str, table_path: str, since_ms: int) -> tuple[list[float], int]:
    """Seconds from Kafka timestamp to the commit that made each row of ``table_path`` visible,
    for records produced at or after ``since_ms``; plus the number of rows with no commit found.

    Rows are identified by their Kafka coordinates (topic, partition, offset); the Kafka timestamp
    comes from bronze, which has it for every record (silver carries only the coordinates).
    """
    keys = ["topic", "partition", "offset"]
    produced = (
        spark.read.format("delta")
        .load(bronze_path)
        .where(F.col("kafka_timestamp") >= F.timestamp_millis(F.lit(since_ms)))
        .select(*keys, (F.unix_micros("kafka_timestamp") / 1000).alias("produced_ms"))
        .dropDuplicates(keys)
    )
    rows = row_files(spark, table_path).select(*keys, "file_name").join(produced, keys)
    joined = rows.join(commit_times(spark, table_path), "file_name", "left")
    collected = joined.select(((F.col("commit_ms") - F.col("produced_ms")) / 1000).alias("latency_s")).collect()
    values = [r.latency_s for r in collected if r.latency_s is not None]
    return values, len(collected) - len(values)
