"""Quarantine: records that failed parsing/validation, raw bytes + Kafka coordinates + reason."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from datapipeline.ingest import bronze

SCHEMA = StructType(
    [
        *bronze.SCHEMA.fields[:-2],
        StructField("reason", StringType(), nullable=False),
        StructField("reasons", ArrayType(StringType()), nullable=False),
        *bronze.SCHEMA.fields[-2:],
    ]
)


def rows(bad: DataFrame) -> DataFrame:
    """Rows of :func:`datapipeline.ingest.parse.split`'s quarantined half, in table column order."""
    return bad.select(*SCHEMA.fieldNames())


def append_once(df: DataFrame, path: str, app_id: str, batch_id: int) -> None:
    bronze.append_once(rows(df), path, app_id, batch_id)
