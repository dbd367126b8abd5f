"""Print what the lake holds: row counts, a few rows per table, the quarantine reasons summary
and the reconciliation of bronze against quarantine and silver (``task query``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from datapipeline.lake.cli import add_lake_arguments, checked_lake
from datapipeline.lake.layout import TABLES
from datapipeline.settings import ConfigError

SAMPLE_COLUMNS = {
    "bronze": ("topic", "partition", "offset", "kafka_timestamp", "cast(value AS STRING) AS value"),
    "quarantine": ("partition", "offset", "reason", "cast(value AS STRING) AS value"),
    "silver_events": ("event_id", "order_id", "event_type", "event_time", "amount", "currency"),
    "silver_orders": ("order_id", "status", "amount", "currency", "last_event_time"),
    "gold_revenue": ("*",),
}


def counts(spark, tables: dict[str, str]) -> dict[str, int | None]:
    """Rows per table; None when the table does not exist (yet)."""
    from delta.tables import DeltaTable

    out: dict[str, int | None] = {}
    for name, path in tables.items():
        out[name] = spark.read.format("delta").load(path).count() if DeltaTable.isDeltaTable(spark, path) else None
    return out


def quarantine_reasons(spark, path: str) -> list[tuple[str, int]]:
    spark.read.format("delta").load(path).createOrReplaceTempView("quarantine")
    rows = spark.sql("SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY n DESC, reason")
    return [(r["reason"], r["n"]) for r in rows.collect()]


def report(spark, tables: dict[str, str], sample: int = 3, out=sys.stdout) -> dict[str, int | None]:
    n = counts(spark, tables)
    for name in TABLES:
        print(f"== {name}: {'(missing)' if n[name] is None else f'{n[name]:,} rows'}  {tables[name]}", file=out)
        if n[name]:
            out.flush()
            df = spark.read.format("delta").load(tables[name]).selectExpr(*SAMPLE_COLUMNS[name])
            df.show(sample, truncate=60)
    if n["quarantine"]:
        print("== quarantine reasons", file=out)
        for reason, count in quarantine_reasons(spark, tables["quarantine"]):
            print(f"  {count:>8,}  {reason}", file=out)
    if n["bronze"] is not None and n["quarantine"] is not None:
        parsed = n["bronze"] - n["quarantine"]
        print(
            f"== reconciliation: bronze {n['bronze']:,} = quarantined {n['quarantine']:,} + parsed {parsed:,}; "
            f"unique events in silver {n['silver_events'] or 0:,} "
            f"({parsed - (n['silver_events'] or 0):,} duplicate deliveries dropped)",
            file=out,
        )
    return n


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="query", description=__doc__)
    add_lake_arguments(p)
    p.add_argument("--sample", type=int, default=3, help="rows shown per table")
    args = p.parse_args(argv)
    try:
        lake, s3 = checked_lake(args)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"query: error: {exc}", file=sys.stderr)
        return 2
    from datapipeline.spark.session import build_session

    spark = build_session("datapipeline-query", s3=s3, master=args.master)
    try:
        report(spark, lake.tables, args.sample)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
