"""The hostile-input corpus through the real continuous stream.

Every kind the generator knows (``HOSTILE_KINDS``: quarantined, oversized and hostile-but-valid
forms) is mixed with valid events, duplicates and late events, produced to a real Kafka topic
(3 partitions) and consumed by the ingestion job in continuous mode (both queries, processingTime).
Per record, by Kafka (partition, offset): quarantined with exactly the reason the generator
declares, or accepted into silver. Nothing is lost (bronze = consumed offsets = parsed +
quarantined), the job survives the corpus and later valid events still land.
"""

from __future__ import annotations

from collections import Counter

import pytest

from datapipeline.events.generator import ACCEPTED_KINDS, HOSTILE_KINDS, QUARANTINED_KINDS, GeneratorOptions, generate
from datapipeline.ingest.job import run
from datapipeline.kafka_admin import end_offsets
from datapipeline.producer import produce
from reconcile import (
    ORDERS_SQL,
    expected_orders,
    expected_outcome_by_value,
    expected_reasons,
    orders_as_tuples,
    spark_rows,
    unique_events,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

N = 500
CORPUS = GeneratorOptions(kinds=HOSTILE_KINDS, malformed_rate=0.2, duplicate_rate=0.05, out_of_order_rate=0.05)


def test_hostile_corpus_in_continuous_mode(lake, lake_spark):
    records = generate(N, seed=31, options=CORPUS)
    assert {r.malformed_kind for r in records if r.kind == "malformed"} == set(QUARANTINED_KINDS)
    assert {r.accepted_kind for r in records if r.accepted_kind} == set(ACCEPTED_KINDS)
    outcome = expected_outcome_by_value(records)
    bootstrap = lake.platform.kafka_bootstrap

    cfg = lake.config(trigger="processingTime", processing_time="1 second", max_offsets_per_trigger=150)
    query = run(lake_spark, cfg)
    try:
        half = N // 2
        for chunk in (records[:half], records[half:]):  # the stream is running while records arrive
            result = produce(chunk, bootstrap, lake.topic)
            assert result.ok and result.delivered == len(chunk), result.errors
            query.processAllAvailable()
        assert query.isActive and query.exception() is None

        tables = cfg.tables
        bronze = {(r["partition"], r["offset"]): r["value"] for r in spark_rows(lake_spark, tables["bronze"])}
        quarantine = {(r["partition"], r["offset"]): r for r in spark_rows(lake_spark, tables["quarantine"])}
        silver = {r["event_id"]: r for r in spark_rows(lake_spark, tables["silver_events"])}

        # Nothing lost: bronze = consumed offsets = parsed + quarantined.
        assert len(bronze) == N == sum(end_offsets(bootstrap, lake.topic).values())
        parsed = sum(1 for r in records if r.kind != "malformed")
        assert parsed + len(quarantine) == N
        assert set(quarantine) <= set(bronze)

        # Per record: exactly the declared reason, or accepted.
        for coords, value in bronze.items():
            want = outcome[bytes(value) if value is not None else None]
            got = quarantine[coords]["reason"] if coords in quarantine else None
            assert got == want, f"record at {coords}: {got!r}, expected {want!r}"
        assert Counter(r["reason"] for r in quarantine.values()) == expected_reasons(records)
        assert all(r["reasons"] and r["reasons"][0] == r["reason"] for r in quarantine.values())

        # Accepted: every event once (hostile forms included), and orders as computed in Python,
        # so no conflicting duplicate overwrote its original.
        assert set(silver) == set(unique_events(records))
        accepted = {r.event["event_id"] for r in records if r.accepted_kind}
        assert accepted <= set(silver)
        assert silver[next(iter(accepted))]["fingerprint"]
        expected = expected_orders(records)
        assert orders_as_tuples(spark_rows(lake_spark, tables["silver_orders"], ORDERS_SQL)) == expected

        # The stream never stopped: later valid events still land.
        later = generate(60, seed=32, options=GeneratorOptions(malformed_rate=0, duplicate_rate=0))
        assert produce(later, bootstrap, lake.topic).ok
        query.processAllAvailable()
        assert query.isActive and query.exception() is None
        events = lake_spark.read.format("delta").load(tables["silver_events"])
        later_ids = {r.event["event_id"] for r in later}
        assert events.where(events.event_id.isin(*later_ids)).count() == len(later_ids)
        assert lake_spark.read.format("delta").load(tables["bronze"]).count() == N + len(later)
    finally:
        query.stop()
