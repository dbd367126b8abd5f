"""Streaming ingestion: Kafka topic -> Delta tables (bronze, quarantine, silver, gold) on S3/MinIO.

The job has two streaming queries (``datapipeline.ingest.job``): ``bronze`` (Kafka -> bronze) and
``refine`` (bronze -> quarantine, silver, gold). A driver runs both (the default,
``--queries bronze,refine``) or one of them (``--queries bronze`` / ``--queries refine``).

Usage (local; connector jars from ``task bootstrap``, credentials from the environment)::

    export DP_S3_ACCESS_KEY=… DP_S3_SECRET_KEY=…
    python spark_apps/ingest.py --kafka-bootstrap 127.0.0.1:9092 --topic orders.events \\
        --lake-root s3a://lake/orders --s3-endpoint http://127.0.0.1:9000 --trigger availableNow

    # or through spark-submit (the one in the pyspark package, with the venv on PATH). A driver
    # JVM that is already running cannot load the connector jars later, so give them on the
    # command line: with a local master on the driver's classpath, read in place (``--jars`` would
    # copy all of them per run). The local launcher (datapipeline.sparkapp, used by the DAGs)
    # builds the same command from k8s/spark/ingest.yaml:
    PATH="$PWD/.venv/bin:$PATH" spark-submit --master 'local[2]' \\
        --driver-class-path "$(ls .local/jars/spark/*.jar | paste -sd: -)" spark_apps/ingest.py --help

``--trigger availableNow`` processes everything available (bronze first, then refine) and stops
(scheduled runs); ``--trigger processingTime --processing-time '30 seconds'`` runs both queries
until stopped (or until one fails: then the other is stopped too). ``--queries bronze`` and
``--queries refine`` run the two as separate drivers (refine alone waits for the bronze table with
processingTime, and refuses to start without it with availableNow): a busy refine then cannot
slow bronze down when bronze's driver has the CPU it needs.
Exit codes: 0 done, 1 a query failed, 2 configuration/preflight error (one line on stderr).
"""

from __future__ import annotations

import logging
import sys

from datapipeline.ingest.config import from_args
from datapipeline.preflight import PreflightError, check_kafka, check_s3
from datapipeline.settings import ConfigError


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        cfg = from_args(argv)
        if cfg.preflight:
            if "bronze" in cfg.queries:  # refine alone reads only the lake
                check_kafka(cfg.kafka_bootstrap, cfg.topic)
            if cfg.s3 is not None and cfg.lake.bucket:
                check_s3(cfg.s3, cfg.lake.bucket)
    except (ConfigError, PreflightError, FileNotFoundError) as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return 2

    from pyspark.errors import StreamingQueryException

    from datapipeline.ingest.job import run
    from datapipeline.spark.session import build_session

    try:
        spark = build_session("datapipeline-ingest", s3=cfg.s3, jars_dir=cfg.jars_dir, master=cfg.master)
    except FileNotFoundError as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return 2
    try:
        query = run(spark, cfg)
    except ConfigError as exc:
        spark.stop()
        print(f"ingest: error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("ingest").info("started %s (trigger %s) -> %s", query.name, cfg.trigger, cfg.lake.root)
    try:
        query.awaitTermination()
    except StreamingQueryException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"ingest: error: streaming query failed: {first}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
