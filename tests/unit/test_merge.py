"""Silver and gold MERGE logic on local Delta tables (no services): out-of-order, duplicates,
cancellations, replays. Expectations are written out by hand or computed in plain Python."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.ingest import bronze, gold, silver
from datapipeline.ingest.job import bronze_writer, ensure_tables, refine_writer
from datapipeline.ingest.parse import parse_events, split
from datapipeline.lake.layout import Lake

pytestmark = pytest.mark.jvm  # MERGEs into Delta tables with the suite's SparkSession


def event(order: str, event_id: str, event_type: str, ts: str, amount: str = "10.00", **extra) -> bytes:
    ev = {
        "schema_version": 1,
        "event_id": event_id,
        "order_id": order,
        "event_type": event_type,
        "event_time": ts,
        "customer": {"customer_id": "c-1", "country": "FR"},
        "amount": float(amount),
        "currency": "EUR",
        "items": [{"sku": "s", "quantity": 1, "unit_price": float(amount)}],
        **extra,
    }
    return json.dumps(ev).encode()


@pytest.fixture
def tables(tmp_path, spark):
    t = Lake(str(tmp_path / "lake")).tables
    ensure_tables(spark, t)
    return t


def apply(spark, tables, values: list[bytes], start_offset: int = 0, with_gold: bool = False) -> None:
    rows = [(None, v, "orders", 0, start_offset + i) for i, v in enumerate(values)]
    raw = spark.createDataFrame(rows, "key binary, value binary, topic string, partition int, offset long")
    # Parsed once and cached, as the job does: every step below reads the same rows.
    parsed = parse_events(raw).persist()
    try:
        valid, _ = split(parsed)
        silver.merge_events(spark, valid, tables["silver_events"])
        silver.merge_orders(spark, valid, tables["silver_orders"])
        if with_gold:
            gold.refresh(spark, valid, tables["silver_events"], tables["gold_revenue"])
    finally:
        parsed.unpersist()


def orders(spark, tables) -> dict[str, tuple]:
    df = spark.read.format("delta").load(tables["silver_orders"])
    return {r["order_id"]: (r["status"], r["last_event_id"]) for r in df.collect()}


def snapshot(spark, path: str, drop: tuple[str, ...] = ()) -> list[tuple]:
    df = spark.read.format("delta").load(path).drop(*drop)
    return sorted(tuple(str(v) for v in r) for r in df.collect())


def test_older_event_arriving_later_does_not_roll_back_state(spark, tables):
    apply(spark, tables, [event("o1", "e2", "shipped", "2026-01-01T10:05:00Z")])
    apply(spark, tables, [event("o1", "e1", "paid", "2026-01-01T10:01:00Z")])
    assert orders(spark, tables) == {"o1": ("shipped", "e2")}


def test_cancellation_is_terminal_even_before_a_later_shipment(spark, tables):
    apply(
        spark,
        tables,
        [event("o1", "e3", "cancelled", "2026-01-01T10:02:00Z"), event("o2", "e5", "paid", "2026-01-01T10:01:00Z")],
    )
    apply(
        spark,
        tables,
        [event("o1", "e4", "shipped", "2026-01-01T10:09:00Z"), event("o2", "e6", "cancelled", "2026-01-01T10:03:00Z")],
    )
    assert orders(spark, tables) == {"o1": ("cancelled", "e3"), "o2": ("cancelled", "e6")}


def test_same_batch_duplicates_and_versions_of_one_order(spark, tables):
    e1 = event("o1", "e1", "created", "2026-01-01T10:00:00Z")
    e2 = event("o1", "e2", "paid", "2026-01-01T10:00:30Z")
    apply(spark, tables, [e2, e1, e2, e1], with_gold=True)
    assert orders(spark, tables) == {"o1": ("paid", "e2")}
    assert spark.read.format("delta").load(tables["silver_events"]).count() == 2
    g = spark.read.format("delta").load(tables["gold_revenue"]).collect()
    assert [(r["created_events"], r["paid_events"], r["paid_revenue"]) for r in g] == [(1, 1, Decimal("10.00"))]


def test_replaying_batches_in_any_order_gives_the_same_tables(spark, tmp_path):
    records = generate(200, seed=3, options=GeneratorOptions(malformed_rate=0.0, duplicate_rate=0.1))
    values = [r.value for r in records]
    batches = [values[:100], values[100:]]

    first = Lake(str(tmp_path / "a")).tables
    ensure_tables(spark, first)
    for i, b in enumerate(batches):
        apply(spark, first, b, start_offset=i * 100, with_gold=True)

    shuffled = Lake(str(tmp_path / "b")).tables
    ensure_tables(spark, shuffled)
    for i in (1, 0, 1):  # the late batch first, and replayed
        apply(spark, shuffled, batches[i], start_offset=i * 100, with_gold=True)

    lineage = ("topic", "partition", "offset")  # which copy of a duplicate came first depends on arrival
    for name in ("silver_events", "silver_orders", "gold_revenue"):
        assert snapshot(spark, first[name], drop=lineage) == snapshot(spark, shuffled[name], drop=lineage), name

    # ... and equal to the plain-Python expectation.
    best: dict[str, dict] = {}
    for ev in {r.event["event_id"]: r.event for r in records}.values():
        cur = best.get(ev["order_id"])
        key = (ev["event_type"] == "cancelled", ev["event_time"], ev["event_id"])
        if cur is None or key > (cur["event_type"] == "cancelled", cur["event_time"], cur["event_id"]):
            best[ev["order_id"]] = ev
    assert orders(spark, first) == {o: (e["event_type"], e["event_id"]) for o, e in best.items()}


def test_new_optional_field_becomes_a_silver_column(spark, tables):
    apply(spark, tables, [event("o1", "e1", "created", "2026-01-01T10:00:00Z")])
    apply(
        spark,
        tables,
        [
            event("o2", "e2", "created", "2026-01-01T10:00:00Z", channel="app", Status="x"),
            event("o1", "e3", "paid", "2026-01-01T10:01:00Z", channel="web"),
        ],
    )
    df = spark.read.format("delta").load(tables["silver_orders"])
    assert "channel" in df.columns
    assert "Status" not in df.columns  # clashes with `status` (case-insensitive): only in extras/bronze
    assert {r["order_id"]: r["channel"] for r in df.collect()} == {"o1": "web", "o2": "app"}


def test_gold_matches_a_python_aggregate(spark, tables):
    records = generate(200, seed=9, options=GeneratorOptions(malformed_rate=0.0))
    values = [r.value for r in records]
    for i in range(0, len(values), 100):
        apply(spark, tables, values[i : i + 100], start_offset=i, with_gold=True)
    expected: dict[tuple, list] = defaultdict(lambda: [0, Decimal("0")])
    for ev in {r.event["event_id"]: r.event for r in records}.values():
        row = expected[(ev["event_time"][:16], ev["currency"])]
        row[0] += 1
        if ev["event_type"] == "paid":
            row[1] += Decimal(str(ev["amount"]))
    df = spark.read.format("delta").load(tables["gold_revenue"])
    df.createOrReplaceTempView("g")
    got = spark.sql(
        "SELECT date_format(minute, \"yyyy-MM-dd'T'HH:mm\") m, currency, "
        "created_events + paid_events + shipped_events + delivered_events + cancelled_events n, paid_revenue "
        "FROM g"
    ).collect()
    assert {(r["m"], r["currency"]): [r["n"], r["paid_revenue"]] for r in got} == dict(expected)


# --- duplicate event_id with different content: quarantined, never a silent first-write-wins ----


def kafka_batch(spark, values: list[tuple[int, int, bytes]]):
    """A Kafka micro-batch as the source hands it to foreachBatch: (partition, offset, value)."""
    rows = [(None, v, [], "orders", p, o, datetime(2026, 1, 1, tzinfo=UTC)) for p, o, v in values]
    schema = (
        "key binary, value binary, headers array<struct<key:string,value:binary>>, topic string, "
        "partition int, offset long, timestamp timestamp"
    )
    return spark.createDataFrame(rows, schema)


def job_writer(tables, app_id):
    """The job's two queries on one Kafka micro-batch: bronze's batch, then refine's batch of the
    same id over those bronze rows (as the Delta source hands them over)."""
    to_bronze, refine = bronze_writer(tables["bronze"], app_id), refine_writer(tables, app_id)

    def write(kafka_df, batch_id: int) -> None:
        to_bronze(kafka_df, batch_id)
        # A stored ingest time, as in the bronze rows the real source reads (with current_timestamp()
        # in the plan, the cached intermediate results of the batch are not reused by the MERGEs).
        refine(bronze.from_kafka(kafka_df, F.lit(datetime(2026, 1, 1, tzinfo=UTC))), batch_id)

    return write


def quarantined(spark, tables) -> dict[tuple[int, int], str]:
    df = spark.read.format("delta").load(tables["quarantine"])
    return {(r["partition"], r["offset"]): r["reason"] for r in df.collect()}


def stored(spark, tables) -> dict[str, tuple]:
    df = spark.read.format("delta").load(tables["silver_events"])
    return {r["event_id"]: (r["amount"], r["partition"], r["offset"], r["fingerprint"]) for r in df.collect()}


def test_conflicting_duplicates_are_quarantined_and_replays_decide_the_same(spark, tables):
    write = job_writer(tables, "test-app")
    e1 = event("o1", "e1", "created", "2026-01-01T10:00:00Z", amount="10.00")
    e1_other = event("o1", "e1", "created", "2026-01-01T10:00:00Z", amount="11.00")
    e2_first = event("o2", "e2", "paid", "2026-01-01T10:01:00Z", amount="20.00")
    e2_other = event("o2", "e2", "paid", "2026-01-01T10:01:00Z", amount="21.00")
    write(kafka_batch(spark, [(0, 0, e1)]), 0)
    # Batch 1: an exact re-delivery of e1, a conflicting e1, and e2 twice with different content
    # in the same batch (the smaller (partition, offset) is the first delivery).
    batch1 = kafka_batch(spark, [(0, 1, e1), (0, 2, e1_other), (1, 7, e2_other), (1, 3, e2_first)])
    write(batch1, 1)
    conflict = "conflicting_duplicate:event_id"
    assert quarantined(spark, tables) == {(0, 2): conflict, (1, 7): conflict}
    after = stored(spark, tables)
    assert {k: v[:3] for k, v in after.items()} == {"e1": (Decimal("10.00"), 0, 0), "e2": (Decimal("20.00"), 1, 3)}
    assert orders(spark, tables) == {"o1": ("created", "e1"), "o2": ("paid", "e2")}
    assert spark.read.format("delta").load(tables["silver_orders"]).where("amount > 20").count() == 0

    # A crash after the silver MERGE but before the checkpoint: the batch is replayed with the
    # same id (bronze/quarantine appends skipped) and must reach the same decisions.
    write(batch1, 1)
    assert quarantined(spark, tables) == {(0, 2): conflict, (1, 7): conflict}
    assert stored(spark, tables) == after
    # The same records again under a new batch id: exact copies dedup, conflicts quarantined again.
    write(kafka_batch(spark, [(0, 8, e1), (0, 9, e1_other)]), 2)
    assert quarantined(spark, tables) == {(0, 2): conflict, (1, 7): conflict, (0, 9): conflict}
    assert stored(spark, tables) == after
    bronze_rows = spark.read.format("delta").load(tables["bronze"]).count()
    assert bronze_rows == 7 == len(stored(spark, tables)) + len(quarantined(spark, tables)) + 2  # 2 exact copies
