"""Read the lake's Delta tables without Spark, with delta-rs (``deltalake``).

Used where starting a JVM would be wasteful (the ``data_quality`` DAG) and as the independent
second reader in tests. Spark writes ``s3a://`` paths; delta-rs speaks ``s3://`` to the same
objects.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from deltalake import DeltaTable, QueryBuilder

from datapipeline.lake.s3 import S3Settings


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


def open_table(path: str, s3: S3Settings | None, version: int | None = None) -> DeltaTable:
    return DeltaTable(delta_rs_uri(path), version=version, storage_options=delta_rs_options(s3))


def query(path: str, s3: S3Settings | None, sql: str, version: int | None = None) -> list[dict]:
    """Rows of a DataFusion SQL query over the table (its current version, or ``version``),
    registered as ``t``."""
    return query_tables({"t": open_table(path, s3, version)}, sql)


def query_tables(tables: dict[str, DeltaTable], sql: str) -> list[dict]:
    """Rows of a DataFusion SQL query over opened tables, each registered under its key. Filters
    on columns with file statistics skip the files they rule out."""
    builder = QueryBuilder()
    for name, table in tables.items():
        builder = builder.register(name, table)
    reader = builder.execute(sql)
    rows: list[dict] = []
    for batch in reader:
        columns = {name: batch.column(name).to_pylist() for name in batch.column_names}
        rows.extend(dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True))
    return rows


@functools.lru_cache(maxsize=8)
def _minio(s3: S3Settings):
    """One client per settings (it keeps its connections: callers poll)."""
    return s3.minio_client()


def list_names(folder: str, s3: S3Settings | None) -> list[str]:
    """Names of the files directly in ``folder`` (``s3a://bucket/key`` or a local path); none if
    it does not exist."""
    if not folder.startswith("s3a://"):
        local = Path(folder)
        return sorted(f.name for f in local.iterdir() if f.is_file()) if local.is_dir() else []
    if s3 is None:
        raise ValueError(f"{folder}: S3 settings are needed to read s3a:// paths")
    bucket, _, key = folder.removeprefix("s3a://").partition("/")
    prefix = key.rstrip("/") + "/"
    return sorted(o.object_name.removeprefix(prefix) for o in _minio(s3).list_objects(bucket, prefix=prefix))


def write_text(path: str, text: str, s3: S3Settings | None) -> None:
    """Write one small file (``s3a://bucket/key`` or a local path), replacing it whole."""
    if not path.startswith("s3a://"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(path + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)  # atomic, as an S3 put is
        return
    if s3 is None:
        raise ValueError(f"{path}: S3 settings are needed to write s3a:// paths")
    bucket, _, key = path.removeprefix("s3a://").partition("/")
    data = text.encode()
    _minio(s3).put_object(bucket, key, io.BytesIO(data), len(data), content_type="application/json")


def delete(path: str, s3: S3Settings | None) -> None:
    """Remove one file (``s3a://bucket/key`` or a local path) if it exists."""
    if not path.startswith("s3a://"):
        Path(path).unlink(missing_ok=True)
        return
    if s3 is None:
        raise ValueError(f"{path}: S3 settings are needed to delete s3a:// paths")
    bucket, _, key = path.removeprefix("s3a://").partition("/")
    _minio(s3).remove_object(bucket, key)


def read_text(path: str, s3: S3Settings | None) -> str:
    """The content of one file (``s3a://bucket/key`` or a local path)."""
    if not path.startswith("s3a://"):
        return Path(path).read_text()
    if s3 is None:
        raise ValueError(f"{path}: S3 settings are needed to read s3a:// paths")
    bucket, _, key = path.removeprefix("s3a://").partition("/")
    resp = _minio(s3).get_object(bucket, key)
    try:
        return resp.read().decode()
    finally:
        resp.close()
        resp.release_conn()
