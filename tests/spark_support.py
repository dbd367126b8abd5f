"""The one local SparkSession of the test suite (Delta + Kafka + S3A jars), shared by
``tests/unit`` and ``tests/ingest`` through their conftest files.

Connector jars: ``DP_SPARK_JARS_DIR`` or ``.local/jars/spark`` (``task bootstrap``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from datapipeline.lake.s3 import S3Settings
from datapipeline.spark.session import build_session

TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.streaming.forceDeleteTempCheckpointLocation": "true",
    "spark.driver.memory": "1g",
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "4",
}


@pytest.fixture(scope="session")
def spark() -> Iterator:
    session = build_session("datapipeline-tests", master="local[2]", extra_conf=TEST_CONF)
    try:
        yield session
    finally:
        session.stop()
        # py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after
        # pytest has closed the stream its log handler writes to ("--- Logging error ---").
        logging.getLogger("py4j").setLevel(logging.WARNING)


def use_s3(spark, s3: S3Settings) -> None:
    """Point the running session's S3A at ``s3`` (before the first s3a:// access)."""
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in s3.hadoop_conf().items():
        if key.startswith("spark.hadoop."):
            hadoop.set(key.removeprefix("spark.hadoop."), value)
