"""Read the lake's Delta tables without Spark, with delta-rs (``deltalake``).

Used where starting a JVM would be wasteful (the ``data_quality`` DAG) and as the independent
second reader in tests. Spark writes ``s3a://`` paths; delta-rs speaks ``s3://`` to the same
objects.
"""

from __future__ import annotations

from deltalake import DeltaTable, QueryBuilder

from datapipeline.spark.session import S3Settings


def delta_rs_uri(path: str) -> str:
    return "s3://" + path.removeprefix("s3a://") if path.startswith("s3a://") else path


def delta_rs_options(s3: S3Settings | None) -> dict[str, str]:
    if s3 is None:
        return {}
    return {
        "AWS_ENDPOINT_URL": s3.endpoint,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_REGION": s3.region,
        "AWS_ALLOW_HTTP": "true" if s3.endpoint.startswith("http://") else "false",
    }


def open_table(path: str, s3: S3Settings | None) -> DeltaTable:
    return DeltaTable(delta_rs_uri(path), storage_options=delta_rs_options(s3))


def query(path: str, s3: S3Settings | None, sql: str) -> list[dict]:
    """Rows of a DataFusion SQL query over the table's current version, registered as ``t``."""
    reader = QueryBuilder().register("t", open_table(path, s3)).execute(sql)
    rows: list[dict] = []
    for batch in reader:
        columns = {name: batch.column(name).to_pylist() for name in batch.column_names}
        rows.extend(dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True))
    return rows
