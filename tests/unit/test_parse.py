"""Parsing and validation of raw Kafka values (no services; local Spark)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from datapipeline.events.contract import MAX_VALUE_BYTES
from datapipeline.events.generator import (
    ACCEPTED_KINDS,
    MALFORMED_KINDS,
    QUARANTINED_KINDS,
    GeneratorOptions,
    generate,
)
from datapipeline.ingest.parse import parse_events, split

pytestmark = pytest.mark.jvm  # the parser runs in the suite's SparkSession

VALID = {
    "schema_version": 1,
    "event_id": "e-1",
    "order_id": "ord-1",
    "event_type": "paid",
    "event_time": "2026-01-01T10:15:30.250Z",
    "customer": {"customer_id": "cust-1", "country": "DE"},
    "amount": 25.5,
    "currency": "EUR",
    "items": [{"sku": "a", "quantity": 2, "unit_price": 10.0}, {"sku": "b", "quantity": 1, "unit_price": 5.5}],
}


# Parsing alone cannot see a conflict with stored content: silver does (tests/unit/test_merge.py).
SILVER_DECIDES = {"conflicting_duplicate": None}


def variant(**changes) -> bytes:
    ev = json.loads(json.dumps(VALID))
    for key, value in changes.items():
        if value is ...:
            del ev[key]
        else:
            ev[key] = value
    return json.dumps(ev).encode()


def kafka_rows(spark, values: list[bytes | None]):
    rows = [(None, v, "orders", 0, i) for i, v in enumerate(values)]
    return spark.createDataFrame(rows, "key binary, value binary, topic string, partition int, offset long")


def reasons_of(spark, values: list[bytes | None]) -> list[str | None]:
    parsed = parse_events(kafka_rows(spark, values)).orderBy("offset")
    return [r["reason"] for r in parsed.select("reason").collect()]


CASES = [
    (variant(), None),
    (None, "empty_value"),
    (b"", "empty_value"),
    (b"\xc3\x28 not utf-8", "invalid_utf8"),
    (b'{"event_id": "e-1",', "invalid_json"),
    (b'{"a": 1, "a": 2}', "invalid_json"),
    (b"[1, 2]", "not_an_object"),
    (b"42", "not_an_object"),
    (variant(schema_version=2), "unsupported_schema_version"),
    (variant(schema_version="1"), "wrong_type:schema_version"),
    (variant(schema_version=...), "missing_field:schema_version"),
    (variant(event_id=...), "missing_field:event_id"),
    (variant(event_id=None), "missing_field:event_id"),
    (variant(event_id=""), "invalid_value:event_id"),
    (variant(order_id=7), "wrong_type:order_id"),
    (variant(event_type="refunded"), "invalid_value:event_type"),
    (variant(event_time="2026-13-45T99:00:00Z"), "invalid_value:event_time"),
    (variant(event_time="1999-12-31T23:59:59Z"), "invalid_value:event_time"),
    (variant(event_time=1767225600), "wrong_type:event_time"),
    (variant(customer=[1]), "wrong_type:customer"),
    (variant(customer={"country": "DE"}), "missing_field:customer.customer_id"),
    (variant(customer={"customer_id": "c", "country": "Germany"}), "invalid_value:customer.country"),
    (variant(amount="25.5"), "wrong_type:amount"),
    (variant(amount=-1), "invalid_value:amount"),
    (variant(amount=26.5), "amount_mismatch"),
    (variant(currency="eur"), "invalid_value:currency"),
    (variant(items=[]), "invalid_value:items"),
    (variant(items="a,b"), "wrong_type:items"),
    (variant(items=[{"sku": "a", "quantity": 1.5, "unit_price": 17.0}]), "invalid_value:items"),
    (variant(items=[{"sku": "a", "quantity": 1, "unit_price": -1}], amount=0), "invalid_value:items"),
    (variant(items=[{"sku": "a", "quantity": 1, "unit_price": 25.505}], amount=25.51), "invalid_value:items"),
    (variant(items=[{"sku": "a\u0007", "quantity": 1, "unit_price": 25.5}]), "invalid_value:items"),
    (variant(customer={"customer_id": "c\u001f", "country": "DE"}), "invalid_value:customer.customer_id"),
    (variant(order_id="ord-\u007f"), "invalid_value:order_id"),
    (variant(event_time="2026-01-01"), "invalid_value:event_time"),
    (variant(event_time="2026-01-01 10:15:30Z"), "invalid_value:event_time"),
    (variant(event_time="2026-01-01T10:15:30 Europe/Berlin"), "invalid_value:event_time"),
    (variant(event_time="2026-01-01T10:15:30.250+01"), "invalid_value:event_time"),
    (b'{"event_id": "e-1"} {', "invalid_json"),
    (b'{"event_id": "e-1"}]', "invalid_json"),
    (b'{"event_id": "e-1"}}', "invalid_json"),
    (b'{"event_id": "e-1"},{"a":1}', "invalid_json"),
    (b"{'event_id': 'e-1'}", "invalid_json"),
    (b'{"event_id": "e-1" /* c */}', "invalid_json"),
    (b"\xef\xbb\xbf" + variant(), "byte_order_mark"),
    (variant()[:-1] + b', "x": 1e5}', None),  # an exact exponent in an extra field is fine
    (variant(customer={"customer_id": "c-\U0001f600", "country": "DE"}), None),  # escaped as a surrogate pair
    (variant(customer={"customer_id": "c-\udc00", "country": "DE"}), "invalid_json"),  # lone low surrogate
]


def test_each_defect_gets_its_machine_readable_reason(spark):
    values = [v for v, _ in CASES]
    assert reasons_of(spark, values) == [reason for _, reason in CASES]


def test_all_reasons_are_listed_and_the_first_is_the_reason(spark):
    bad = variant(event_id=..., currency="XYZ", amount="1")
    row = parse_events(kafka_rows(spark, [bad])).first()
    assert row["reasons"] == ["missing_field:event_id", "wrong_type:amount", "invalid_value:currency"]
    assert row["reason"] == "missing_field:event_id"
    assert row["event_id"] is None and row["amount"] is None  # nothing typed for a bad row


def test_valid_event_is_typed_exactly(spark):
    row = parse_events(kafka_rows(spark, [variant()])).first()
    assert row["reason"] is None and row["reasons"] == []
    # PySpark hands out naive local datetimes; compare instants.
    assert row["event_time"].timestamp() == datetime(2026, 1, 1, 10, 15, 30, 250000, tzinfo=UTC).timestamp()
    assert (row["event_id"], row["order_id"], row["event_type"]) == ("e-1", "ord-1", "paid")
    assert (row["customer_id"], row["customer_country"]) == ("cust-1", "DE")
    assert row["amount"] == Decimal("25.50")
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in row["items"]] == [
        ("a", 2, Decimal("10.00")),
        ("b", 1, Decimal("5.50")),
    ]
    assert row["extras"] == {}


def test_unknown_fields_are_kept_as_extras(spark):
    value = json.dumps({**VALID, "channel": "web", "meta": {"ab": 1}}).encode()
    row = parse_events(kafka_rows(spark, [value])).first()
    assert row["reason"] is None
    assert row["extras"] == {"channel": "web", "meta": '{"ab":1}'}


def test_generator_malformed_kinds_get_the_reason_the_generator_declares(spark):
    records = generate(3000, seed=5, options=GeneratorOptions(malformed_rate=0.05))
    bad = [r for r in records if r.kind == "malformed"]
    assert {r.malformed_kind for r in bad} == set(MALFORMED_KINDS)
    good = [r for r in records if r.kind != "malformed"][:200]
    got = reasons_of(spark, [r.value for r in bad + good])
    assert got == [SILVER_DECIDES.get(r.malformed_kind, r.expected_reason) for r in bad] + [None] * len(good)


def test_split_keeps_every_row_exactly_once(spark):
    values = [v for v, _ in CASES] * 3
    parsed = parse_events(kafka_rows(spark, values))
    valid, bad = split(parsed)
    n_valid, n_bad = valid.count(), bad.count()
    assert n_valid + n_bad == len(values)
    assert n_valid == 3 * sum(1 for _, r in CASES if r is None)
    assert Counter(r["reason"] for r in bad.collect()) == Counter(r for _, r in CASES * 3 if r is not None)
    assert "reason" not in valid.columns and "event_id" not in bad.columns


@pytest.mark.parametrize("ts", ["2026-01-01T10:15:30.250Z", "2026-01-01T11:15:30.250+01:00"])
def test_event_time_offsets_are_normalised_to_utc(spark, ts):
    row = parse_events(kafka_rows(spark, [variant(event_time=ts)])).first()
    assert row["reason"] is None
    assert row["event_time"].timestamp() == datetime(2026, 1, 1, 10, 15, 30, 250000, tzinfo=UTC).timestamp()


# --- the hostile corpus: every kind the generator knows, with the outcome it declares ---------

HOSTILE_EVENT = {**VALID, "event_id": "0b0e5e0c-5d4c-4a8e-9d11-3f1f0e6a9c01"}


@pytest.fixture(scope="module")
def corpus_reasons(spark) -> dict[str, tuple[str | None, object]]:
    """kind -> (reason, parsed row) for one record of each hostile kind, parsed together."""
    names, values = [], []
    for name, make in QUARANTINED_KINDS.items():
        names.append(name)
        values.append(make(json.loads(json.dumps(HOSTILE_EVENT)))[0])
    for name, make in ACCEPTED_KINDS.items():
        names.append(name)
        values.append(make(json.loads(json.dumps(HOSTILE_EVENT)))[1])
    rows = parse_events(kafka_rows(spark, values)).orderBy("offset").collect()
    return {name: (row["reason"], row) for name, row in zip(names, rows, strict=True)}


@pytest.mark.parametrize("kind", list(QUARANTINED_KINDS))
def test_hostile_kind_is_quarantined_with_its_exact_reason(corpus_reasons, kind):
    expected = SILVER_DECIDES.get(kind, QUARANTINED_KINDS[kind](json.loads(json.dumps(HOSTILE_EVENT)))[1])
    assert corpus_reasons[kind][0] == expected


@pytest.mark.parametrize("kind", list(ACCEPTED_KINDS))
def test_hostile_but_valid_kind_is_accepted_as_the_same_event(corpus_reasons, kind):
    reason, row = corpus_reasons[kind]
    assert reason is None
    assert (row["event_id"], row["order_id"], row["amount"]) == (HOSTILE_EVENT["event_id"], "ord-1", Decimal("25.50"))
    assert row["event_time"].timestamp() == datetime(2026, 1, 1, 10, 15, 30, 250000, tzinfo=UTC).timestamp()


def test_hostile_corpus_has_at_least_twenty_kinds_beyond_valid_events():
    assert len(QUARANTINED_KINDS) + len(ACCEPTED_KINDS) >= 20 + len(ACCEPTED_KINDS)


def test_unknown_fields_and_deep_nesting_are_kept_as_extras(corpus_reasons):
    extras = corpus_reasons["unknown_extra_fields"][1]["extras"]
    assert extras == {"promo": '{"code":"X1","tags":[1,2.5,null]}', "not an identifier!": "true"}
    deep = corpus_reasons["deep_nesting_at_limit"][1]["extras"]["deep"]
    assert deep.count("[") == deep.count("]") > 900


def test_value_size_limit_is_exact(spark):
    def padded(size: int) -> bytes:
        base = variant()[:-1] + b', "pad": "'
        return base + b"x" * (size - len(base) - 2) + b'"}'

    at_limit, over = padded(MAX_VALUE_BYTES), padded(MAX_VALUE_BYTES + 1)
    assert (len(at_limit), len(over)) == (MAX_VALUE_BYTES, MAX_VALUE_BYTES + 1)
    assert reasons_of(spark, [at_limit, over]) == [None, "value_too_large"]
