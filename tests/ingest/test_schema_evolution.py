"""Schema evolution mid-stream: events gain a new optional field while a continuous
(processingTime) query runs; the field is kept in bronze and becomes a silver column without
the query failing or being restarted."""

from __future__ import annotations

import pytest

from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.ingest.job import run
from datapipeline.producer import produce
from reconcile import delta_rs_rows, expected_orders, unique_events

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_new_optional_field_flows_to_bronze_and_silver_while_running(lake, lake_spark):
    records = generate(400, seed=21, options=GeneratorOptions(extra_field_from=200, malformed_rate=0.02))
    cut = next(i for i, r in enumerate(records) if r.event and "channel" in r.event)
    before, after = records[:cut], records[cut:]
    assert len(before) > 100 and len(after) > 100

    cfg = lake.config(trigger="processingTime", processing_time="1 second")
    tables = cfg.tables
    query = run(lake_spark, cfg)
    try:
        assert produce(before, lake.platform.kafka_bootstrap, lake.topic).ok
        query.processAllAvailable()
        assert "channel" not in lake_spark.read.format("delta").load(tables["silver_orders"]).columns

        assert produce(after, lake.platform.kafka_bootstrap, lake.topic).ok
        query.processAllAvailable()
        assert query.isActive and query.exception() is None
    finally:
        query.stop()

    # A restart on the evolved tables (same checkpoint) neither fails nor changes anything.
    versions = {n: lake_spark.sql(f"DESCRIBE HISTORY delta.`{p}`").count() for n, p in tables.items()}
    restart = run(lake_spark, lake.config())
    restart.awaitTermination()
    assert restart.exception() is None
    assert {n: lake_spark.sql(f"DESCRIBE HISTORY delta.`{p}`").count() for n, p in tables.items()} == versions

    # bronze keeps the raw field
    bronze = lake_spark.read.format("delta").load(tables["bronze"])
    assert bronze.count() == len(records)
    raw_with_channel = bronze.where("cast(value as string) LIKE '%\"channel\":%'").count()
    assert raw_with_channel == sum(1 for r in records if r.value and b'"channel":' in r.value)

    # silver: a new column, filled from each order's current event
    best = expected_orders(records)
    events = unique_events(records)
    expected_channel = {oid: events[v[1]].get("channel") for oid, v in best.items()}
    silver = lake_spark.read.format("delta").load(tables["silver_orders"])
    assert "channel" in silver.columns
    got = {r["order_id"]: r["channel"] for r in silver.select("order_id", "channel").collect()}
    assert got == expected_channel
    assert sum(1 for v in got.values() if v) > 50 and sum(1 for v in got.values() if v is None) > 5
    # and the independent reader sees the evolved schema too
    rs = delta_rs_rows(tables["silver_orders"], lake.s3, "SELECT order_id, channel FROM {table}")
    assert {r["order_id"]: r["channel"] for r in rs} == expected_channel
    # silver_events keeps it in extras
    ev = lake_spark.read.format("delta").load(tables["silver_events"])
    assert ev.where("extras['channel'] IS NOT NULL").count() == sum(1 for e in events.values() if "channel" in e)
