"""Print what the lake holds: row counts, a few rows per table, the quarantine reasons summary
and the reconciliation of bronze against quarantine and silver (``task query``).

Read with delta-rs (no Spark, no JVM to start): the answer comes in a second or two.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from datapipeline.lake import delta_rs
from datapipeline.lake.cli import add_lake_arguments, checked_lake
from datapipeline.lake.layout import TABLES
from datapipeline.lake.s3 import S3Settings
from datapipeline.settings import ConfigError

SAMPLE_COLUMNS = {
    "bronze": ("topic", '"partition"', '"offset"', "kafka_timestamp", "value"),
    "quarantine": ('"partition"', '"offset"', "reason", "value"),
    "silver_events": ("event_id", "order_id", "event_type", "event_time", "amount", "currency"),
    "silver_orders": ("order_id", "status", "amount", "currency", "last_event_time"),
    "gold_revenue": ("*",),
}
TRUNCATE = 60  # characters shown per value


def counts(tables: dict[str, str], s3: S3Settings | None) -> dict[str, int | None]:
    """Rows per table; None when the table does not exist (yet)."""
    from deltalake import DeltaTable

    out: dict[str, int | None] = {}
    for name, path in tables.items():
        uri, options = delta_rs.delta_rs_uri(path), delta_rs.delta_rs_options(s3)
        exists = DeltaTable.is_deltatable(uri, storage_options=options)
        out[name] = delta_rs.query(path, s3, "SELECT count(*) AS n FROM t")[0]["n"] if exists else None
    return out


def quarantine_reasons(path: str, s3: S3Settings | None) -> list[tuple[str, int]]:
    sql = "SELECT reason, count(*) AS n FROM t GROUP BY reason ORDER BY n DESC, reason"
    return [(r["reason"], r["n"]) for r in delta_rs.query(path, s3, sql)]


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = "null" if value is None else str(value)
    return text if len(text) <= TRUNCATE else text[: TRUNCATE - 3] + "..."


def table_text(rows: list[dict]) -> str:
    """``rows`` as a plain text table (values cut at ``TRUNCATE`` characters, bytes as UTF-8)."""
    if not rows:
        return ""
    names = list(rows[0])
    cells = [[_text(r[n]) for n in names] for r in rows]
    widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: list[str]) -> str:
        return "|" + "|".join(f" {v:<{w}} " for v, w in zip(values, widths, strict=True)) + "|"

    return "\n".join([rule, line(names), rule, *(line(c) for c in cells), rule])


def report(tables: dict[str, str], s3: S3Settings | None, sample: int = 3, out=sys.stdout) -> dict[str, int | None]:
    n = counts(tables, s3)
    for name in TABLES:
        print(f"== {name}: {'(missing)' if n[name] is None else f'{n[name]:,} rows'}  {tables[name]}", file=out)
        if n[name]:
            rows = delta_rs.query(tables[name], s3, f"SELECT {', '.join(SAMPLE_COLUMNS[name])} FROM t LIMIT {sample}")  # noqa: S608 - constant columns
            print(table_text(rows), file=out)
    if n["quarantine"]:
        print("== quarantine reasons", file=out)
        for reason, count in quarantine_reasons(tables["quarantine"], s3):
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
    add_lake_arguments(p, spark=False)
    p.add_argument("--sample", type=int, default=3, help="rows shown per table")
    args = p.parse_args(argv)
    try:
        lake, s3 = checked_lake(args)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"query: error: {exc}", file=sys.stderr)
        return 2
    report(lake.tables, s3, args.sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
