"""Delta maintenance for the lake's tables: OPTIMIZE (compaction) then VACUUM (safe retention).

Usage (same environment as the ingestion job; run when ingestion is not writing)::

    export DP_S3_ACCESS_KEY=… DP_S3_SECRET_KEY=…
    python spark_apps/maintenance.py --lake-root s3a://lake/orders --s3-endpoint http://127.0.0.1:9000
    spark-submit --jars "$(ls .local/jars/spark/*.jar | paste -sd, -)" spark_apps/maintenance.py --help

Exit codes: 0 done, 2 configuration/preflight error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys

from datapipeline.lake.cli import add_lake_arguments, checked_lake
from datapipeline.lake.layout import TABLES
from datapipeline.maintenance import MIN_RETENTION_HOURS
from datapipeline.settings import ConfigError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="maintenance", description="OPTIMIZE + VACUUM the lake's Delta tables.")
    add_lake_arguments(p)
    p.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES))
    p.add_argument("--retention-hours", type=float, default=MIN_RETENTION_HOURS, help="VACUUM retention (>= 168)")
    p.add_argument("--no-optimize", dest="optimize", action="store_false")
    p.add_argument("--no-vacuum", dest="vacuum", action="store_false")
    args = p.parse_args(argv)
    try:
        if args.retention_hours < MIN_RETENTION_HOURS:
            raise ConfigError(f"--retention-hours must be >= {MIN_RETENTION_HOURS} (safe retention)")
        lake, s3 = checked_lake(args)
    except ConfigError as exc:
        print(f"maintenance: error: {exc}", file=sys.stderr)
        return 2

    from datapipeline import maintenance
    from datapipeline.spark.session import build_session

    spark = build_session("datapipeline-maintenance", s3=s3, master=args.master)
    try:
        tables = {name: lake.table(name) for name in args.tables}
        for res in maintenance.run(spark, tables, args.optimize, args.vacuum, args.retention_hours):
            print(
                f"{res.table}: optimize removed {res.files_removed} files, added {res.files_added}; "
                f"vacuum {'done' if res.vacuumed else 'skipped'}"
            )
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
