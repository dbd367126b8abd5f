"""Independent expectations (plain Python over what the producer sent) and table readers
(Spark and delta-rs) for the end-to-end tests. Nothing here imports the parser or the jobs."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from datapipeline.events.generator import Record
from datapipeline.lake import delta_rs
from datapipeline.lake.s3 import S3Settings


def money(value) -> str:
    return f"{Decimal(str(value)):.2f}"


def unique_events(records: list[Record]) -> dict[str, dict]:
    return {r.event["event_id"]: r.event for r in records if r.kind in ("event", "duplicate")}


def expected_reasons(records: list[Record]) -> Counter:
    return Counter(r.expected_reason for r in records if r.kind == "malformed")


def expected_outcome_by_value(records: list[Record]) -> dict[bytes | None, str | None]:
    """Record value -> the quarantine reason it must get (None: accepted or an exact re-delivery).

    Records with equal bytes always have the same outcome (checked here), so a row read back
    from bronze is matched to what the generator declared by its value.
    """
    out: dict[bytes | None, str | None] = {}
    for r in records:
        want = r.expected_reason if r.kind == "malformed" else None
        if out.setdefault(r.value, want) != want:
            raise ValueError(f"equal values, different outcomes: {want} vs {out[r.value]}")
    return out


def expected_orders(records: list[Record]) -> dict[str, tuple]:
    """order_id -> (status, last_event_id, amount, currency, customer_id, country, n_items)."""
    best: dict[str, dict] = {}
    for ev in unique_events(records).values():
        rank = (ev["event_type"] == "cancelled", ev["event_time"], ev["event_id"])
        cur = best.get(ev["order_id"])
        if cur is None or rank > (cur["event_type"] == "cancelled", cur["event_time"], cur["event_id"]):
            best[ev["order_id"]] = ev
    return {
        oid: (
            ev["event_type"],
            ev["event_id"],
            money(ev["amount"]),
            ev["currency"],
            ev["customer"]["customer_id"],
            ev["customer"]["country"],
            len(ev["items"]),
        )
        for oid, ev in best.items()
    }


def expected_gold(records: list[Record]) -> dict[tuple[str, str], tuple]:
    """(minute 'YYYY-MM-DDTHH:MM', currency) -> (created, paid, shipped, delivered, cancelled,
    paid_revenue, cancelled_amount)."""
    acc: dict[tuple[str, str], list] = {}
    order = ("created", "paid", "shipped", "delivered", "cancelled")
    for ev in unique_events(records).values():
        key = (ev["event_time"][:16], ev["currency"])
        row = acc.setdefault(key, [0, 0, 0, 0, 0, Decimal("0.00"), Decimal("0.00")])
        row[order.index(ev["event_type"])] += 1
        if ev["event_type"] == "paid":
            row[5] += Decimal(str(ev["amount"]))
        if ev["event_type"] == "cancelled":
            row[6] += Decimal(str(ev["amount"]))
    return {k: (*v[:5], money(v[5]), money(v[6])) for k, v in acc.items()}


# --- readers ----------------------------------------------------------------------------------

ORDERS_SQL = (
    "SELECT order_id, status, last_event_id, CAST(amount AS {text}) AS amount, currency, customer_id, "
    "customer_country, CAST(cardinality(items) AS BIGINT) AS n_items FROM {table}"
)
GOLD_SQL = (
    "SELECT {minute} AS minute, currency, created_events, paid_events, shipped_events, delivered_events, "
    "cancelled_events, CAST(paid_revenue AS {text}) AS paid_revenue, "
    "CAST(cancelled_amount AS {text}) AS cancelled_amount FROM {table}"
)


def spark_rows(spark, path: str, sql: str | None = None) -> list[dict]:
    df = spark.read.format("delta").load(path)
    if sql is None:
        return [r.asDict() for r in df.collect()]
    df.createOrReplaceTempView("t")
    query = sql.format(table="t", text="STRING", minute="date_format(minute, \"yyyy-MM-dd'T'HH:mm\")")
    return [r.asDict() for r in spark.sql(query).collect()]


def delta_rs_rows(path: str, s3: S3Settings | None, sql: str) -> list[dict]:
    """Rows via delta-rs (DataFusion SQL), the independent reader."""
    return delta_rs.query(path, s3, sql.format(table="t", text="VARCHAR", minute="to_char(minute, '%Y-%m-%dT%H:%M')"))


def delta_rs_count(path: str, s3: S3Settings | None) -> int:
    return delta_rs_rows(path, s3, "SELECT CAST(count(*) AS BIGINT) AS n FROM {table}")[0]["n"]


def orders_as_tuples(rows: list[dict]) -> dict[str, tuple]:
    return {
        r["order_id"]: (
            r["status"],
            r["last_event_id"],
            r["amount"],
            r["currency"],
            r["customer_id"],
            r["customer_country"],
            r["n_items"],
        )
        for r in rows
    }


def gold_as_tuples(rows: list[dict]) -> dict[tuple[str, str], tuple]:
    out = {}
    for r in rows:
        out[(r["minute"], r["currency"])] = (
            r["created_events"],
            r["paid_events"],
            r["shipped_events"],
            r["delivered_events"],
            r["cancelled_events"],
            r["paid_revenue"],
            r["cancelled_amount"],
        )
    return out
