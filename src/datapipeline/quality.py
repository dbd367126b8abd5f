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
    # Bronze records and quarantined ones that earlier runs balanced (``bronze`` is then only the
    # records new since), and the number of orders in silver when the order sets above hold
    # only the ids found on one side (an incremental run); None: their sizes.
    before: tuple[int, int] = (0, 0)
    orders_in_silver: int | None = None


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
    quarantined = s.quarantined & s.bronze.keys()
    consumed, quarantined_count = s.before[0] + len(s.bronze), s.before[1] + len(quarantined)
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
            f"consumed {consumed} = parsed {consumed - quarantined_count} + quarantined {quarantined_count}; "
            f"{len(unaccounted)} bronze records neither parsed nor quarantined"
            f"{' (first ' + str(unaccounted[:3]) + ')' if unaccounted else ''}; "
            f"{len(stray)} quarantine rows not in bronze"
            + (f"; {len(s.pending)} newer bronze records not refined yet (left out)" if s.pending else ""),
        ),
        Check(
            "silver_events_complete",
            not lost and not phantom,
            f"{len(parsed_ids)} distinct parsed event ids checked (new since the last passing run), "
            f"{len(s.silver_event_ids)} of silver's in that range; "
            f"missing from silver {len(lost)}{' e.g. ' + sorted(lost)[0] if lost else ''}, "
            f"in silver but never delivered {len(phantom)}",
        ),
        Check(
            "silver_orders_match_events",
            not order_diff,
            f"{len(s.silver_order_ids) if s.orders_in_silver is None else s.orders_in_silver} orders in silver; "
            f"the orders of silver events differ by {len(order_diff)}",
        ),
    ]
    ratio = quarantined_count / consumed if consumed else 0.0
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


Marks = dict[tuple[str, int], int]  # (topic, partition) -> highest offset balanced


@dataclass(frozen=True)
class State:
    """What passing runs balanced, so that the next reads only what is new: every bronze record
    up to ``marks`` (per Kafka partition), ``consumed`` records of which ``quarantined`` were
    quarantined. Kept in the job's checkpoint folder (:func:`state_path`): a new checkpoint, or
    another table at the same path (``lake_id``: bronze's, quarantine's and silver's table ids; a
    rebuilt silver is checked again from the start), or an unreadable state, starts over with a
    full check."""

    lake_id: str
    marks: Marks = field(default_factory=dict)
    consumed: int = 0
    quarantined: int = 0
    newest_record: datetime | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "lake_id": self.lake_id,
                "marks": [[t, p, o] for (t, p), o in sorted(self.marks.items())],
                "consumed": self.consumed,
                "quarantined": self.quarantined,
                "newest_record": self.newest_record.isoformat() if self.newest_record else None,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> State:
        d = json.loads(text)
        return cls(
            lake_id=d["lake_id"],
            marks={(t, int(p)): int(o) for t, p, o in d["marks"]},
            consumed=int(d["consumed"]),
            quarantined=int(d["quarantined"]),
            newest_record=datetime.fromisoformat(d["newest_record"]) if d["newest_record"] else None,
        )


def state_path(checkpoint: str) -> str:
    return f"{checkpoint.rstrip('/')}/quality/state.json"


def load_state(checkpoint: str, s3: S3Settings | None) -> State | None:
    """The state the last passing run left; None (a full check) when there is none or it cannot
    be read (a damaged file, or one an older version wrote), which is said on stderr."""
    path = state_path(checkpoint)
    folder, _, name = path.rpartition("/")
    if name not in delta_rs.list_names(folder, s3):
        return None
    try:
        return State.from_json(delta_rs.read_text(path, s3))
    except (ValueError, KeyError, TypeError) as exc:
        print(f"data_quality: ignoring the unreadable state {path} ({exc!r}); checking the whole lake", file=sys.stderr)
        return None


# The tables a State is valid for: their Delta table ids make its ``lake_id``.
STATE_TABLES = ("bronze", "quarantine", "silver_events", "silver_orders")


def lake_id(tables: Mapping[str, object]) -> str:
    """What a :class:`State` is valid for (``tables``: name -> delta-rs table, :data:`STATE_TABLES`)."""
    return "/".join(tables[name].metadata().id for name in STATE_TABLES)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def beyond(marks: Marks, partitions: set[tuple[str, int]]) -> str | None:
    """SQL predicate for the records of ``partitions`` past ``marks`` (delta-rs skips the files
    whose offset statistics lie below); None when there are no partitions."""
    terms = []
    for topic, partition in sorted(partitions):
        where = f'topic = {_sql_str(topic)} AND "partition" = {partition}'
        if (topic, partition) in marks:
            where += f' AND "offset" > {marks[topic, partition]}'
        terms.append(f"({where})")
    return " OR ".join(terms) if terms else None


def _coord(r: dict) -> Coord:
    return (r["topic"], r["partition"], r["offset"])


def snapshot(
    lake: Lake, s3: S3Settings | None, checkpoint: str | None = None, state: State | None = None
) -> tuple[Snapshot, State]:
    """What the checks need, read with delta-rs, and the state that a passing run leaves.

    Bronze is balanced as far as the refine query has processed it (its checkpoint, default
    ``lake.checkpoint()``); newer records are pending. Only records past the ``state``'s marks
    are read, by the Kafka coordinates that bronze, quarantine and silver_events all carry, so
    the cost follows what is new, not the lake's history; the orders check reads the order id
    columns. Re-deliveries of events balanced earlier are looked up by event id.

    Read in this order, so that a running job cannot make a consistent lake look broken: the
    checkpoint, then silver and quarantine, then bronze (every silver or quarantine row read
    comes from a bronze record that is read after it)."""
    refined = checkpoints.refined_bronze_version(checkpoint or lake.checkpoint(), s3)
    events = delta_rs.open_table(lake.table("silver_events"), s3)
    orders = delta_rs.open_table(lake.table("silver_orders"), s3)
    quarantine = delta_rs.open_table(lake.table("quarantine"), s3)
    bronze = delta_rs.open_table(lake.table("bronze"), s3)
    key = lake_id({"bronze": bronze, "quarantine": quarantine, "silver_events": events, "silver_orders": orders})
    if state is None or state.lake_id != key:
        state = State(lake_id=key)

    def q(table, sql: str) -> list[dict]:
        return delta_rs.query_tables({"t": table}, sql)

    def select(table, cols: str, where: str) -> list[dict]:
        # Built from column names and values quoted by _sql_str, never from raw input.
        return q(table, f"SELECT {cols} FROM t WHERE {where}")  # noqa: S608

    partitions = {(r["topic"], r["partition"]) for r in q(bronze, 'SELECT DISTINCT topic, "partition" FROM t')}
    new = beyond(state.marks, partitions)
    # No refine checkpoint: balance all of bronze; -1: refine has not finished a batch yet.
    refined = bronze.version() if refined is None else refined
    cols = 'topic, "partition", "offset", value, kafka_timestamp'
    rows = []
    if new is not None and refined >= 0:
        table = delta_rs.open_table(lake.table("bronze"), s3, refined)
        rows = select(table, cols, new)
    marks = dict(state.marks)
    for r in rows:
        marks[r["topic"], r["partition"]] = max(marks.get((r["topic"], r["partition"]), -1), r["offset"])
    newer = beyond(marks, partitions)
    pending_rows = select(bronze, cols, newer) if newer else []

    quarantined: set[Coord] = set()
    silver: dict[str, str] = {}  # event_id -> order_id
    if new is not None:
        quarantined = {_coord(r) for r in select(quarantine, 'topic, "partition", "offset"', new)}
        silver = {r["event_id"]: r["order_id"] for r in select(events, "event_id, order_id", new)}
    checked = {_coord(r): event_id_of(r["value"]) for r in rows}
    # Silver keeps an event's first delivery: one delivered again is found by its id.
    again = sorted({e for c, e in checked.items() if e is not None and c not in quarantined} - silver.keys())
    # This lookup reads silver_events' event_id column (random ids: file statistics prune nothing),
    # once per 20,000 re-delivered ids, so its cost grows with the table.
    for i in range(0, len(again), 20_000):
        ids = ", ".join(_sql_str(e) for e in again[i : i + 20_000])
        found = select(events, "event_id, order_id", f"event_id IN ({ids})")
        silver.update((r["event_id"], r["order_id"]) for r in found)
    # Orders on one side only: new events' orders missing from silver_orders, orders no event has
    # (both columns are NOT NULL; IS NOT NULL keeps NOT IN meaningful should one ever hold a NULL,
    # and a new event without an order id is reported as the order None).
    both = {"e": events, "o": orders}
    events_only: set[str | None] = set()
    if new is not None:
        sql = (
            f"SELECT DISTINCT order_id FROM e WHERE ({new}) AND (order_id IS NULL OR order_id NOT IN "  # noqa: S608
            "(SELECT order_id FROM o WHERE order_id IS NOT NULL))"
        )
        events_only = {r["order_id"] for r in delta_rs.query_tables(both, sql)}
    sql = (
        "SELECT order_id FROM o WHERE order_id IS NULL"
        " OR order_id NOT IN (SELECT order_id FROM e WHERE order_id IS NOT NULL)"
    )
    orders_only = {r["order_id"] for r in delta_rs.query_tables(both, sql)}
    [count] = q(orders, "SELECT count(*) AS n FROM t")

    def stamps(rs: list[dict]) -> list[datetime]:
        return [_utc(r["kafka_timestamp"]) for r in rs if r["kafka_timestamp"] is not None]

    before = [state.newest_record] if state.newest_record else []
    pending_stamps = stamps(pending_rows)
    snap = Snapshot(
        bronze=checked,
        quarantined=quarantined,
        silver_event_ids=set(silver),
        event_order_ids=events_only,
        silver_order_ids=orders_only,
        newest_record=max([*before, *stamps(rows), *pending_stamps], default=None),
        pending={_coord(r): ids_of(r["value"]) for r in pending_rows},
        oldest_pending=min(pending_stamps) if pending_stamps else None,
        before=(state.consumed, state.quarantined),
        orders_in_silver=int(count["n"]),
    )
    done = State(
        lake_id=key,
        marks=marks,
        consumed=state.consumed + len(checked),
        quarantined=state.quarantined + len(quarantined & checked.keys()),
        newest_record=max([*before, *stamps(rows)], default=None),
    )
    return snap, done


BALANCE = ("reconciled", "silver_events_complete", "silver_orders_match_events")


def run_checks(
    thresholds: Thresholds, env: Mapping[str, str] | None = None, now: datetime | None = None
) -> list[Check]:
    """Run the checks over what is new since the last passing run, and keep the new state when
    the balance holds (a failed balance is checked again, with whatever came since, next time)."""
    env = os.environ if env is None else env
    lake, s3 = lake_from_env(env)
    checkpoint = env.get("DP_CHECKPOINT") or lake.checkpoint()
    snap, state = snapshot(lake, s3, checkpoint, load_state(checkpoint, s3))
    checks = evaluate(snap, thresholds, now or datetime.now(UTC))
    if all(c.ok for c in checks if c.name in BALANCE):
        delta_rs.write_text(state_path(checkpoint), state.to_json(), s3)
    return checks
