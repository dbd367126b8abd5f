"""Data-quality checks over the lake's tables, for the ``data_quality`` DAG.

The reconciliation works row by row, not just on counts: every bronze record (Kafka
coordinates) must be either quarantined or parsed into an event that silver holds, and
silver must hold nothing that bronze did not deliver. The balance covers the bronze records
the job's refine query has processed (read from its checkpoint); newer ones are pending and
only counted. Thresholds cover the quarantine ratio, the freshness of the newest record and
how long the oldest pending record has waited for refine (a stalled or slow refine query).
:func:`evaluate` is pure; :func:`snapshot` reads the tables with delta-rs (no Spark needed).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from datapipeline.events.contract import MAX_NESTING_DEPTH
from datapipeline.lake import checkpoints, delta_rs
from datapipeline.lake.cli import lake_from_env
from datapipeline.lake.layout import Lake
from datapipeline.lake.s3 import S3Settings

Coord = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True)
class Thresholds:
    max_quarantine_ratio: float = 0.05
    max_staleness: timedelta = timedelta(hours=1)
    max_refine_lag: timedelta = timedelta(minutes=15)


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
    # Bronze records the refine query has not finished yet (newer than the bronze version its
    # last committed batch read to): coordinates -> (event_id, order_id). Their quarantine and
    # silver rows may be partly written; they are left out of the balance until refined.
    pending: dict[Coord, tuple[str | None, str | None]] = field(default_factory=dict)
    oldest_pending: datetime | None = None  # Kafka timestamp of the oldest pending record


def ids_of(raw: bytes | None) -> tuple[str | None, str | None]:
    """(event_id, order_id) found in a raw record value (None where absent or not a string)."""
    # The contract accepts nesting up to MAX_NESTING_DEPTH levels, deeper than Python's default
    # recursion limit leaves json.loads: lift the limit for this call.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, MAX_NESTING_DEPTH + 1000))
    try:
        value = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, None
    finally:
        sys.setrecursionlimit(limit)
    if not isinstance(value, dict):
        return None, None
    event_id, order_id = value.get("event_id"), value.get("order_id")
    return (event_id if isinstance(event_id, str) else None, order_id if isinstance(order_id, str) else None)


def event_id_of(raw: bytes | None) -> str | None:
    return ids_of(raw)[0]


def evaluate(s: Snapshot, thresholds: Thresholds, now: datetime) -> list[Check]:
    consumed = len(s.bronze)
    quarantined = s.quarantined & s.bronze.keys()
    stray = s.quarantined - s.bronze.keys() - s.pending.keys()
    parsed = {coord: eid for coord, eid in s.bronze.items() if coord not in quarantined}
    unaccounted = sorted(coord for coord, eid in parsed.items() if eid is None)
    parsed_ids = {eid for eid in parsed.values() if eid is not None}
    lost = parsed_ids - s.silver_event_ids
    phantom = s.silver_event_ids - parsed_ids - {eid for eid, _ in s.pending.values()}
    order_diff = (s.silver_order_ids ^ s.event_order_ids) - {oid for _, oid in s.pending.values()}
    checks = [
        Check(
            "reconciled",
            not stray and not unaccounted,
            f"consumed {consumed} = parsed {len(parsed)} + quarantined {len(quarantined)}; "
            f"{len(unaccounted)} bronze records neither parsed nor quarantined"
            f"{' (first ' + str(unaccounted[:3]) + ')' if unaccounted else ''}; "
            f"{len(stray)} quarantine rows not in bronze"
            + (f"; {len(s.pending)} newer bronze records not refined yet (left out)" if s.pending else ""),
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
            not order_diff,
            f"{len(s.silver_order_ids)} orders in silver, {len(s.event_order_ids)} distinct orders in events; "
            f"differ by {len(order_diff)}",
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
    checks.append(_refine_lag(s, thresholds.max_refine_lag, now))
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


def _refine_lag(s: Snapshot, limit: timedelta, now: datetime) -> Check:
    if not s.pending:
        return Check("refine_lag", True, "every bronze record is refined")
    if s.oldest_pending is None:  # no Kafka timestamps: nothing to measure the wait by
        return Check("refine_lag", True, f"{len(s.pending)} bronze records not refined yet (no timestamps)")
    age = now - s.oldest_pending
    return Check(
        "refine_lag",
        age <= limit,
        f"{len(s.pending)} bronze records not refined yet, the oldest {age.total_seconds():.0f}s old, "
        f"limit {limit.total_seconds():.0f}s"
        + (f" (over by {(age - limit).total_seconds():.0f}s)" if age > limit else ""),
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def snapshot(lake: Lake, s3: S3Settings | None, checkpoint: str | None = None) -> Snapshot:
    """What the checks need, read with delta-rs. Bronze is balanced as far as the refine query
    has processed it (its checkpoint, default ``lake.checkpoint()``); newer records are pending.

    Read in this order, so that a running job cannot make a consistent lake look broken: the
    checkpoint, then silver and quarantine, then bronze (every silver or quarantine row read
    comes from a bronze record that is read after it)."""
    q = delta_rs.query
    refined = checkpoints.refined_bronze_version(checkpoint or lake.checkpoint(), s3)
    quarantined = {
        (r["topic"], r["partition"], r["offset"])
        for r in q(lake.table("quarantine"), s3, 'SELECT topic, "partition", "offset" FROM t')
    }
    events = q(lake.table("silver_events"), s3, "SELECT event_id, order_id FROM t")
    orders = q(lake.table("silver_orders"), s3, "SELECT order_id FROM t")
    bronze_rows = q(lake.table("bronze"), s3, 'SELECT topic, "partition", "offset", value, kafka_timestamp FROM t')
    stamps = [_utc(r["kafka_timestamp"]) for r in bronze_rows if r["kafka_timestamp"] is not None]
    done: set[Coord] | None = None  # None: not known, balance all of bronze
    if refined is not None:
        sql = 'SELECT topic, "partition", "offset" FROM t'
        rows = q(lake.table("bronze"), s3, sql, version=refined) if refined >= 0 else []
        done = {(r["topic"], r["partition"], r["offset"]) for r in rows}
    bronze: dict[Coord, str | None] = {}
    pending: dict[Coord, tuple[str | None, str | None]] = {}
    pending_stamps: list[datetime] = []
    for r in bronze_rows:
        coord = (r["topic"], r["partition"], r["offset"])
        if done is None or coord in done:
            bronze[coord] = event_id_of(r["value"])
        else:
            pending[coord] = ids_of(r["value"])
            if r["kafka_timestamp"] is not None:
                pending_stamps.append(_utc(r["kafka_timestamp"]))
    return Snapshot(
        bronze=bronze,
        quarantined=quarantined,
        silver_event_ids={r["event_id"] for r in events},
        event_order_ids={r["order_id"] for r in events},
        silver_order_ids={r["order_id"] for r in orders},
        newest_record=max(stamps) if stamps else None,
        pending=pending,
        oldest_pending=min(pending_stamps) if pending_stamps else None,
    )


def run_checks(
    thresholds: Thresholds, env: Mapping[str, str] | None = None, now: datetime | None = None
) -> list[Check]:
    env = os.environ if env is None else env
    lake, s3 = lake_from_env(env)
    return evaluate(snapshot(lake, s3, env.get("DP_CHECKPOINT")), thresholds, now or datetime.now(UTC))
