"""Data-quality checks over the lake's tables, for the ``data_quality`` DAG.

The reconciliation works row by row, not just on counts: every bronze record (Kafka
coordinates) must be either quarantined or parsed into an event that silver holds, and
silver must hold nothing that bronze did not deliver. Thresholds cover the quarantine ratio
and the freshness of the newest record. :func:`evaluate` is pure; :func:`snapshot` reads the
tables with delta-rs (no Spark needed).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from datapipeline import lake as lake_io
from datapipeline.events.contract import MAX_NESTING_DEPTH
from datapipeline.ingest.config import Lake
from datapipeline.lake_cli import lake_from_env
from datapipeline.spark.session import S3Settings

Coord = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True)
class Thresholds:
    max_quarantine_ratio: float = 0.05
    max_staleness: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.detail}"


@dataclass(frozen=True)
class Snapshot:
    """What the checks need from the tables."""

    bronze: dict[Coord, str | None]  # coordinates -> event_id found in the raw value (None: unparsable)
    quarantined: set[Coord]
    silver_event_ids: set[str]
    event_order_ids: set[str]  # distinct order_id over silver events
    silver_order_ids: set[str]
    newest_record: datetime | None  # newest Kafka timestamp in bronze


def event_id_of(raw: bytes | None) -> str | None:
    # The contract accepts nesting up to MAX_NESTING_DEPTH levels, deeper than Python's default
    # recursion limit leaves json.loads: lift the limit for this call.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, MAX_NESTING_DEPTH + 1000))
    try:
        value = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    finally:
        sys.setrecursionlimit(limit)
    event_id = value.get("event_id") if isinstance(value, dict) else None
    return event_id if isinstance(event_id, str) else None


def evaluate(s: Snapshot, thresholds: Thresholds, now: datetime) -> list[Check]:
    consumed = len(s.bronze)
    quarantined = s.quarantined & s.bronze.keys()
    stray = s.quarantined - s.bronze.keys()
    parsed = {coord: eid for coord, eid in s.bronze.items() if coord not in quarantined}
    unaccounted = sorted(coord for coord, eid in parsed.items() if eid is None)
    parsed_ids = {eid for eid in parsed.values() if eid is not None}
    lost = parsed_ids - s.silver_event_ids
    phantom = s.silver_event_ids - parsed_ids
    checks = [
        Check(
            "reconciled",
            not stray and not unaccounted,
            f"consumed {consumed} = parsed {len(parsed)} + quarantined {len(quarantined)}; "
            f"{len(unaccounted)} bronze records neither parsed nor quarantined"
            f"{' (first ' + str(unaccounted[:3]) + ')' if unaccounted else ''}; "
            f"{len(stray)} quarantine rows not in bronze",
        ),
        Check(
            "silver_events_complete",
            not lost and not phantom,
            f"{len(parsed_ids)} distinct parsed event ids, {len(s.silver_event_ids)} in silver; "
            f"missing from silver {len(lost)}{' e.g. ' + sorted(lost)[0] if lost else ''}, "
            f"in silver but never delivered {len(phantom)}",
        ),
        Check(
            "silver_orders_match_events",
            s.silver_order_ids == s.event_order_ids,
            f"{len(s.silver_order_ids)} orders in silver, {len(s.event_order_ids)} distinct orders in events; "
            f"differ by {len(s.silver_order_ids ^ s.event_order_ids)}",
        ),
    ]
    ratio = len(quarantined) / consumed if consumed else 0.0
    limit = thresholds.max_quarantine_ratio
    checks.append(
        Check(
            "quarantine_ratio",
            ratio <= limit,
            f"{ratio:.2%} of {consumed} records quarantined, limit {limit:.2%}"
            + (f" (over by {ratio - limit:.2%})" if ratio > limit else ""),
        )
    )
    if s.newest_record is None:
        checks.append(Check("freshness", False, "no records in bronze at all"))
    else:
        age = now - s.newest_record
        over = age - thresholds.max_staleness
        checks.append(
            Check(
                "freshness",
                age <= thresholds.max_staleness,
                f"newest record is {age.total_seconds():.0f}s old, "
                f"limit {thresholds.max_staleness.total_seconds():.0f}s"
                + (f" (over by {over.total_seconds():.0f}s)" if age > thresholds.max_staleness else ""),
            )
        )
    return checks


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def snapshot(lake: Lake, s3: S3Settings | None) -> Snapshot:
    q = lake_io.query
    bronze_rows = q(lake.table("bronze"), s3, 'SELECT topic, "partition", "offset", value, kafka_timestamp FROM t')
    bronze = {(r["topic"], r["partition"], r["offset"]): event_id_of(r["value"]) for r in bronze_rows}
    stamps = [_utc(r["kafka_timestamp"]) for r in bronze_rows if r["kafka_timestamp"] is not None]
    quarantined = {
        (r["topic"], r["partition"], r["offset"])
        for r in q(lake.table("quarantine"), s3, 'SELECT topic, "partition", "offset" FROM t')
    }
    events = q(lake.table("silver_events"), s3, "SELECT event_id, order_id FROM t")
    orders = q(lake.table("silver_orders"), s3, "SELECT order_id FROM t")
    return Snapshot(
        bronze=bronze,
        quarantined=quarantined,
        silver_event_ids={r["event_id"] for r in events},
        event_order_ids={r["order_id"] for r in events},
        silver_order_ids={r["order_id"] for r in orders},
        newest_record=max(stamps) if stamps else None,
    )


def run_checks(
    thresholds: Thresholds, env: Mapping[str, str] | None = None, now: datetime | None = None
) -> list[Check]:
    lake, s3 = lake_from_env(env)
    return evaluate(snapshot(lake, s3), thresholds, now or datetime.now(UTC))
