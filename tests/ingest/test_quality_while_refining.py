"""data_quality on a lake whose refine query is behind bronze (as while the continuous job runs,
or when bronze and refine run as two drivers, ``--queries``): bronze records refine has not
processed yet are reported as pending, not as lost, and the balance covers exactly what refine has
processed (read from its checkpoint)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.ingest.job import run
from datapipeline.lake import delta_rs
from datapipeline.lake.checkpoints import refined_bronze_version
from datapipeline.producer import produce
from datapipeline.quality import Check, Thresholds, load_state, run_checks, snapshot, state_path
from datapipeline.settings import ConfigError

pytestmark = [pytest.mark.services, pytest.mark.slow]

BALANCE = ("reconciled", "silver_events_complete", "silver_orders_match_events")


def balance(lake, max_refine_lag: timedelta = timedelta(minutes=15)) -> dict[str, Check]:
    thresholds = Thresholds(max_quarantine_ratio=1.0, max_refine_lag=max_refine_lag)
    checks = {c.name: c for c in run_checks(thresholds, lake.env())}
    assert all(checks[name].ok for name in BALANCE), [checks[n].line() for n in BALANCE]
    return checks


def test_quality_leaves_out_bronze_records_refine_has_not_processed(lake, lake_spark):
    options = GeneratorOptions(duplicate_rate=0.0, malformed_rate=0.05)
    first, second = generate(300, seed=51, options=options), generate(200, seed=52, options=options)
    cfg = lake.config()
    assert produce(first, lake.platform.kafka_bootstrap, lake.topic).delivered == 300
    run(lake_spark, cfg).awaitTermination()  # bronze, then refine: all 300 balanced
    assert "consumed 300 = " in balance(lake)["reconciled"].detail

    # Only the bronze driver runs on the next 200: refine is now behind bronze.
    assert produce(second, lake.platform.kafka_bootstrap, lake.topic).delivered == 200
    run(lake_spark, replace(cfg, queries=("bronze",))).awaitTermination()
    assert lake_spark.read.format("delta").load(cfg.tables["bronze"]).count() == 500
    refined = refined_bronze_version(cfg.checkpoint, lake.s3)
    assert refined is not None and refined >= 0
    checks = balance(lake)
    detail = checks["reconciled"].detail
    assert "consumed 300 = " in detail and "200 newer bronze records not refined yet" in detail
    assert checks["refine_lag"].ok
    assert checks["refine_lag"].detail.startswith("200 bronze records not refined yet, the oldest ")
    # The oldest pending record's wait comes from its Kafka timestamp: any limit below it fails.
    assert not balance(lake, max_refine_lag=timedelta(0))["refine_lag"].ok

    run(lake_spark, replace(cfg, queries=("refine",))).awaitTermination()  # the refine driver catches up
    checks = balance(lake, max_refine_lag=timedelta(0))
    assert "consumed 500 = " in checks["reconciled"].detail and "not refined yet" not in checks["reconciled"].detail
    assert checks["refine_lag"].line() == "PASS refine_lag: every bronze record is refined"


def test_two_drivers_each_create_only_their_tables_and_refine_waits_for_bronze(lake, lake_spark):
    cfg = lake.config()
    with pytest.raises(ConfigError, match=r"^bronze table .* does not exist yet: start the bronze query first"):
        run(lake_spark, replace(cfg, queries=("refine",)))
    assert produce(generate(50, seed=53), lake.platform.kafka_bootstrap, lake.topic).delivered == 50
    run(lake_spark, replace(cfg, queries=("bronze",))).awaitTermination()
    exists = {name: DeltaTable.isDeltaTable(lake_spark, path) for name, path in cfg.tables.items()}
    assert exists == {name: name == "bronze" for name in cfg.tables}
    assert lake_spark.read.format("delta").load(cfg.tables["bronze"]).count() == 50
    run(lake_spark, replace(cfg, queries=("refine",))).awaitTermination()
    assert all(DeltaTable.isDeltaTable(lake_spark, path) for path in cfg.tables.values())
    checks = balance(lake, max_refine_lag=timedelta(0))
    assert "consumed 50 = " in checks["reconciled"].detail
    assert checks["refine_lag"].line() == "PASS refine_lag: every bronze record is refined"


def test_continuous_refine_alone_waits_for_the_bronze_table(lake, lake_spark):
    cfg = replace(lake.config(trigger="processingTime", processing_time="1 second"), queries=("refine",))
    started: list = []
    waiting = threading.Thread(target=lambda: started.append(run(lake_spark, cfg)), daemon=True)
    waiting.start()
    waiting.join(8)
    assert waiting.is_alive() and not started  # no bronze table yet: still waiting, nothing started
    assert produce(generate(40, seed=54), lake.platform.kafka_bootstrap, lake.topic).delivered == 40
    run(lake_spark, replace(cfg, trigger="availableNow", queries=("bronze",))).awaitTermination()
    waiting.join(60)
    assert started, "refine did not start once bronze existed"
    pipeline = started[0]
    try:
        assert [q.name for q in pipeline.queries] == [f"refine:{lake.topic}"]
        pipeline.processAllAvailable()
        assert lake_spark.read.format("delta").load(cfg.tables["silver_events"]).count() > 0
        assert "consumed 40 = " in balance(lake)["reconciled"].detail
    finally:
        pipeline.stop()


def test_quality_reads_only_what_is_new_and_keeps_its_state_only_while_balanced(lake, lake_spark):
    """Each run balances the records past the last passing run's marks and adds them to its
    totals; an event delivered again (silver keeps its first delivery) is found by id; a defect in
    the new range fails, and the next run checks that range again."""
    options = GeneratorOptions(duplicate_rate=0.05, malformed_rate=0.05)
    first, second = generate(300, seed=61, options=options), generate(200, seed=62, options=options)
    again = next(r for r in first if r.kind == "event")  # the same record, delivered a second time
    cfg = lake.config()
    assert produce(first, lake.platform.kafka_bootstrap, lake.topic).delivered == 300
    run(lake_spark, cfg).awaitTermination()
    assert "consumed 300 = " in balance(lake)["reconciled"].detail
    state = load_state(cfg.checkpoint, lake.s3)
    assert state is not None and (state.consumed, sum(o + 1 for o in state.marks.values())) == (300, 300)

    assert produce([*second, again], lake.platform.kafka_bootstrap, lake.topic).delivered == 201
    run(lake_spark, cfg).awaitTermination()
    snap, _ = snapshot(lake.lake, lake.s3, cfg.checkpoint, state)
    assert len(snap.bronze) == 201  # only what is new is read
    quarantined = lake_spark.read.format("delta").load(cfg.tables["quarantine"]).count()
    detail = balance(lake)["reconciled"].detail
    assert f"consumed 501 = parsed {501 - quarantined} + quarantined {quarantined}" in detail

    third = generate(100, seed=63, options=GeneratorOptions(duplicate_rate=0.0, malformed_rate=0.0))
    assert produce(third, lake.platform.kafka_bootstrap, lake.topic).delivered == 100
    run(lake_spark, cfg).awaitTermination()
    passed = load_state(cfg.checkpoint, lake.s3)
    victim = third[-1].event["event_id"]
    DeltaTable.forPath(lake_spark, cfg.tables["silver_events"]).delete(F.col("event_id") == victim)
    for _ in range(2):  # failed: the state stays, so the next run fails on the same record
        checks = {c.name: c for c in run_checks(Thresholds(max_quarantine_ratio=1.0), lake.env())}
        assert not checks["silver_events_complete"].ok
        assert f"missing from silver 1 e.g. {victim}" in checks["silver_events_complete"].detail
        assert load_state(cfg.checkpoint, lake.s3) == passed
    # A state it cannot read (damaged, or an older version's) means a full check, not a failing DAG.
    delta_rs.write_text(state_path(cfg.checkpoint), '{"bronze_id": "an older format"}', lake.s3)
    assert load_state(cfg.checkpoint, lake.s3) is None
    checks = {c.name: c for c in run_checks(Thresholds(max_quarantine_ratio=1.0), lake.env())}
    assert checks["reconciled"].detail.startswith("consumed 601 = ")  # the whole lake: 300 + 201 + 100
    assert f"missing from silver 1 e.g. {victim}" in checks["silver_events_complete"].detail


def test_the_benchmarks_built_lake_balances_and_its_check_reads_only_the_new_records(lake, lake_spark):
    """``task bench``'s data_quality phase times a check on a lake Spark built: that lake must be
    one the checks pass on, and a passing state for its history must leave only the new rows."""
    from datapipeline.bench import dq

    # 3,001 is rounded down to 3,000: the new records start with a whole order (its three events)
    figures = dq.measure(lake_spark, lake.lake, lake.s3, history=3001, new=300, appends=2, full=True)
    assert (figures["rows"], figures["history_rows"], figures["new_rows"]) == (3300, 3000, 300)
    assert figures["full_seconds"] > 0
    checks = {c.name: c for c in run_checks(Thresholds(max_quarantine_ratio=1.0), {**lake.env()}, now=None)}
    quarantined = len(range(7, 3300, dq.BAD_EVERY))
    assert checks["reconciled"].detail.startswith(
        f"consumed 3300 = parsed {3300 - quarantined} + quarantined {quarantined}"
    )
    state = load_state(lake.lake.checkpoint(), lake.s3)
    assert state == dq.passed_state(lake.lake, lake.s3, 3300)  # the bench's seeded state is what a check leaves
