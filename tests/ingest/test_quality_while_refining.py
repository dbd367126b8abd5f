"""data_quality on a lake whose refine query is behind bronze (as while the continuous job runs):
bronze records refine has not processed yet are reported as pending, not as lost, and the
balance covers exactly what refine has processed (read from its checkpoint)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.ingest.job import ensure_tables, run, start_query
from datapipeline.ingest.progress import refined_bronze_version
from datapipeline.producer import produce
from datapipeline.quality import Thresholds, run_checks

pytestmark = [pytest.mark.services, pytest.mark.slow]

BALANCE = ("reconciled", "silver_events_complete", "silver_orders_match_events")


def balance(lake) -> dict[str, str]:
    checks = {c.name: c for c in run_checks(Thresholds(max_quarantine_ratio=1.0), lake.env())}
    assert all(checks[name].ok for name in BALANCE), [checks[n].line() for n in BALANCE]
    return {name: checks[name].detail for name in BALANCE}


def test_quality_leaves_out_bronze_records_refine_has_not_processed(lake, lake_spark):
    options = GeneratorOptions(duplicate_rate=0.0, malformed_rate=0.05)
    first, second = generate(300, seed=51, options=options), generate(200, seed=52, options=options)
    cfg = lake.config()
    assert produce(first, lake.platform.kafka_bootstrap, lake.topic).delivered == 300
    run(lake_spark, cfg).awaitTermination()  # bronze, then refine: all 300 balanced
    assert "consumed 300 = " in balance(lake)["reconciled"]

    # Only the bronze query runs on the next 200: refine is now behind bronze.
    assert produce(second, lake.platform.kafka_bootstrap, lake.topic).delivered == 200
    ensure_tables(lake_spark, cfg.tables)
    start_query(lake_spark, replace(cfg, trigger="availableNow"), "bronze").awaitTermination()
    assert lake_spark.read.format("delta").load(cfg.tables["bronze"]).count() == 500
    refined = refined_bronze_version(cfg.checkpoint, lake.s3)
    assert refined is not None and refined >= 0
    detail = balance(lake)["reconciled"]
    assert "consumed 300 = " in detail and "200 newer bronze records not refined yet" in detail

    run(lake_spark, cfg).awaitTermination()  # refine catches up
    detail = balance(lake)["reconciled"]
    assert "consumed 500 = " in detail and "not refined yet" not in detail
