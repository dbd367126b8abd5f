"""data_quality checks as pure logic: each check fails on the defect it exists for."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from datapipeline.events.generator import ACCEPTED_KINDS, generate
from datapipeline.quality import Snapshot, Thresholds, evaluate, event_id_of

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def healthy(n: int = 100, bad: int = 2) -> Snapshot:
    bronze = {("orders.events", i % 3, i): f"e{i}" for i in range(n)}
    quarantined = {("orders.events", i % 3, i) for i in range(bad)}
    for coord in quarantined:
        bronze[coord] = None  # malformed records carry no event id
    ids = {f"e{i}" for i in range(bad, n)}
    orders = {f"o{i % 10}" for i in range(bad, n)}
    return Snapshot(bronze, quarantined, ids, orders, set(orders), NOW - timedelta(minutes=5))


def by_name(checks):
    return {c.name: c for c in checks}


def test_healthy_lake_passes_every_check():
    checks = evaluate(healthy(), Thresholds(), NOW)
    assert [c.name for c in checks if not c.ok] == []
    assert "consumed 100 = parsed 98 + quarantined 2" in by_name(checks)["reconciled"].detail


def test_lost_silver_event_fails_completeness():
    s = healthy()
    s.silver_event_ids.discard("e50")
    check = by_name(evaluate(s, Thresholds(), NOW))["silver_events_complete"]
    assert not check.ok and "missing from silver 1 e.g. e50" in check.detail


def test_phantom_silver_event_fails_completeness():
    s = healthy()
    s.silver_event_ids.add("never-sent")
    check = by_name(evaluate(s, Thresholds(), NOW))["silver_events_complete"]
    assert not check.ok and "never delivered 1" in check.detail


def test_unparsable_record_not_quarantined_fails_reconciliation():
    s = healthy()
    s.bronze[("orders.events", 0, 99)] = None
    check = by_name(evaluate(s, Thresholds(), NOW))["reconciled"]
    assert not check.ok and "1 bronze records neither parsed nor quarantined" in check.detail


def test_quarantine_ratio_over_limit_says_by_how_much():
    check = by_name(evaluate(healthy(n=100, bad=12), Thresholds(max_quarantine_ratio=0.05), NOW))["quarantine_ratio"]
    assert not check.ok
    assert check.detail == "12.00% of 100 records quarantined, limit 5.00% (over by 7.00%)"


def test_stale_data_fails_freshness():
    s = healthy()
    check = by_name(evaluate(s, Thresholds(max_staleness=timedelta(minutes=1)), NOW))["freshness"]
    assert not check.ok and "300s old, limit 60s (over by 240s)" in check.detail


def test_orders_mismatch_fails():
    s = healthy()
    s.silver_order_ids.add("o-extra")
    assert not by_name(evaluate(s, Thresholds(), NOW))["silver_orders_match_events"].ok


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (json.dumps({"event_id": "abc"}).encode(), "abc"),
        (b"{not json", None),
        (b"\xff\xfe", None),
        (b"[1, 2]", None),
        (json.dumps({"event_id": 7}).encode(), None),
        (None, None),
    ],
)
def test_event_id_of(raw, expected):
    assert event_id_of(raw) == expected


@pytest.mark.parametrize("kind", sorted(ACCEPTED_KINDS))
def test_event_id_of_every_accepted_hostile_form(kind):
    """Accepted hostile forms (999-deep nesting included) are parsed events: their id is found."""
    [record] = [r for r in generate(400, seed=3) if r.kind == "event"][:1]
    _key, value = ACCEPTED_KINDS[kind](record.event)
    assert event_id_of(value) == record.event["event_id"]


def test_records_not_refined_yet_are_left_out_of_the_balance():
    """A running job: bronze already holds a batch that refine has partly written (one event in
    silver_events, its order not yet in silver_orders, one record quarantined)."""
    s = healthy()
    pending = {("orders.events", 0, 1000 + i): (f"p{i}", f"po{i}") for i in range(3)}
    pending[("orders.events", 1, 2000)] = (None, None)  # malformed, quarantined already
    s.pending.update(pending)
    s.quarantined.add(("orders.events", 1, 2000))
    s.silver_event_ids.add("p0")
    s.event_order_ids.add("po0")
    checks = by_name(evaluate(s, Thresholds(), NOW))
    assert [c.name for c in checks.values() if not c.ok] == []
    assert "consumed 100 = parsed 98 + quarantined 2" in checks["reconciled"].detail
    assert "4 newer bronze records not refined yet (left out)" in checks["reconciled"].detail
    # ...but a quarantine row or silver event that no bronze record explains still fails.
    s.quarantined.add(("orders.events", 2, 9999))
    s.silver_event_ids.add("never-sent")
    checks = by_name(evaluate(s, Thresholds(), NOW))
    assert not checks["reconciled"].ok and "1 quarantine rows not in bronze" in checks["reconciled"].detail
    assert not checks["silver_events_complete"].ok


def test_refine_lag_fails_when_the_oldest_pending_record_waited_too_long():
    s = healthy()
    assert by_name(evaluate(s, Thresholds(), NOW))["refine_lag"].detail == "every bronze record is refined"
    s.pending.update({("orders.events", 0, 1000 + i): (f"p{i}", f"po{i}") for i in range(3)})
    fresh = replace(s, oldest_pending=NOW - timedelta(seconds=40))
    check = by_name(evaluate(fresh, Thresholds(max_refine_lag=timedelta(minutes=1)), NOW))["refine_lag"]
    assert check.ok and check.detail == "3 bronze records not refined yet, the oldest 40s old, limit 60s"
    stalled = replace(s, oldest_pending=NOW - timedelta(minutes=20))
    check = by_name(evaluate(stalled, Thresholds(max_refine_lag=timedelta(minutes=15)), NOW))["refine_lag"]
    assert not check.ok
    assert check.detail == "3 bronze records not refined yet, the oldest 1200s old, limit 900s (over by 300s)"
