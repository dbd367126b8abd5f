"""gold.minute_ranges: the event-time ranges a gold refresh reads of silver_events (pure)."""

from __future__ import annotations

from datetime import datetime

from datapipeline.ingest.gold import minute_ranges


def m(hh: int, mm: int) -> datetime:
    return datetime(2026, 1, 1, hh, mm)


def test_consecutive_minutes_make_one_range_and_gaps_split_them():
    minutes = [m(10, 2), m(10, 0), m(10, 1), m(10, 1), m(12, 30), m(9, 0)]
    assert minute_ranges(minutes) == [(m(9, 0), m(9, 1)), (m(10, 0), m(10, 3)), (m(12, 30), m(12, 31))]


def test_too_many_ranges_become_one_from_first_to_last():
    minutes = [m(10, 0), m(10, 2), m(10, 4)]
    assert minute_ranges(minutes, max_ranges=2) == [(m(10, 0), m(10, 5))]
    assert len(minute_ranges(minutes, max_ranges=3)) == 3


def test_no_minutes_no_ranges():
    assert minute_ranges([]) == []
