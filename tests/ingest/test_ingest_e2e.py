"""End-to-end: real Kafka (3 partitions) -> ingestion job -> Delta on real MinIO, reconciled exactly.

Expectations come from the generator's own annotations (what was sent, which records are
duplicates, which reason each malformed record must get), computed in plain Python
(``reconcile.py``), and every table is read twice: by Spark and by delta-rs.
"""

from __future__ import annotations

import io
import itertools
from collections import Counter

import pytest

from datapipeline import maintenance
from datapipeline.events.generator import MALFORMED_KINDS, GeneratorOptions, generate
from datapipeline.ingest.job import run
from datapipeline.producer import produce
from datapipeline.query import report
from reconcile import (
    GOLD_SQL,
    ORDERS_SQL,
    delta_rs_count,
    delta_rs_rows,
    expected_gold,
    expected_orders,
    expected_reasons,
    gold_as_tuples,
    orders_as_tuples,
    spark_rows,
    unique_events,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

N = 900
OPTIONS = GeneratorOptions(duplicate_rate=0.06, out_of_order_rate=0.08, malformed_rate=0.05)


def count(spark, path: str) -> int:
    return spark.read.format("delta").load(path).count()


def test_available_now_reconciles_every_table(lake, lake_spark):
    records = generate(N, seed=7, options=OPTIONS)
    kinds = Counter(r.kind for r in records)
    # The input really has what the test claims to cover.
    assert kinds["duplicate"] >= 20 and kinds["malformed"] >= 21
    assert {r.malformed_kind for r in records if r.kind == "malformed"} == set(MALFORMED_KINDS)
    assert len(set(expected_reasons(records))) >= 10
    late = sum(
        1
        for a, b in itertools.pairwise(records)
        if a.event and b.event and b.event["event_time"] < a.event["event_time"]
    )
    assert late >= 20, "generator produced too few out-of-order events"

    result = produce(records, lake.platform.kafka_bootstrap, lake.topic)
    assert result.ok and result.delivered == N, result.errors

    # Several micro-batches, so duplicates and late events cross batch boundaries.
    cfg = lake.config(max_offsets_per_trigger=250)
    query = run(lake_spark, cfg)
    query.awaitTermination()
    assert query.exception() is None
    tables = cfg.tables
    opts = lake.s3

    # bronze: every record, once, with its coordinates.
    bronze = lake_spark.read.format("delta").load(tables["bronze"])
    assert bronze.count() == N
    assert bronze.select("partition", "offset").distinct().count() == N
    assert {r[0] for r in bronze.select("partition").distinct().collect()} == {0, 1, 2}
    assert bronze.where("value IS NULL").count() == sum(1 for r in records if r.value is None)
    assert bronze.where("size(headers) = 2").count() == sum(1 for r in records if r.headers)
    assert delta_rs_count(tables["bronze"], opts) == N

    # quarantine: exactly the malformed records, each with the reason the generator intended.
    reasons = Counter(r["reason"] for r in spark_rows(lake_spark, tables["quarantine"]))
    assert reasons == expected_reasons(records)
    rs_reasons = delta_rs_rows(tables["quarantine"], opts, "SELECT reason FROM {table}")
    assert Counter(r["reason"] for r in rs_reasons) == expected_reasons(records)

    # parsed + quarantined = consumed
    n_events = len(unique_events(records))
    silver_events = count(lake_spark, tables["silver_events"])
    assert silver_events == n_events
    parsed = kinds["event"] + kinds["duplicate"]
    assert parsed + sum(reasons.values()) == N
    assert delta_rs_count(tables["silver_events"], opts) == n_events

    # silver orders == state computed independently from what was sent
    expected = expected_orders(records)
    assert orders_as_tuples(spark_rows(lake_spark, tables["silver_orders"], ORDERS_SQL)) == expected
    assert orders_as_tuples(delta_rs_rows(tables["silver_orders"], opts, ORDERS_SQL)) == expected
    statuses = Counter(v[0] for v in expected.values())
    assert statuses["cancelled"] > 0 and len(statuses) >= 3

    # gold == aggregate computed independently
    gold = expected_gold(records)
    assert gold_as_tuples(spark_rows(lake_spark, tables["gold_revenue"], GOLD_SQL)) == gold
    assert gold_as_tuples(delta_rs_rows(tables["gold_revenue"], opts, GOLD_SQL)) == gold

    # A second availableNow run with nothing new changes nothing.
    versions = {name: lake_spark.sql(f"DESCRIBE HISTORY delta.`{p}`").count() for name, p in tables.items()}
    again = run(lake_spark, cfg)
    again.awaitTermination()
    assert {name: lake_spark.sql(f"DESCRIBE HISTORY delta.`{p}`").count() for name, p in tables.items()} == (versions)

    # task query: counts, reasons and the reconciliation line come from the same tables.
    out = io.StringIO()
    shown = report(tables, lake.s3, sample=1, out=out)
    assert shown["bronze"] == N and shown["quarantine"] == sum(reasons.values())
    text = out.getvalue()
    assert f"bronze {N:,} = quarantined {sum(reasons.values()):,} + parsed {parsed:,}" in text
    assert all(reason in text for reason in expected_reasons(records))

    # Maintenance: compaction leaves every table's content as it was; unsafe retention is refused.
    files_before = len(lake_spark.read.format("delta").load(tables["bronze"]).inputFiles())
    results = maintenance.run(lake_spark, tables)
    assert all(r.vacuumed for r in results)
    assert len(lake_spark.read.format("delta").load(tables["bronze"]).inputFiles()) < files_before
    assert count(lake_spark, tables["bronze"]) == N
    assert orders_as_tuples(delta_rs_rows(tables["silver_orders"], opts, ORDERS_SQL)) == expected
    assert gold_as_tuples(delta_rs_rows(tables["gold_revenue"], opts, GOLD_SQL)) == gold
    with pytest.raises(ValueError, match="safe minimum"):
        maintenance.vacuum(lake_spark, tables["bronze"], retention_hours=1)
