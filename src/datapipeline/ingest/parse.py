"""Parse and validate raw Kafka records against the event contract (pure DataFrame -> DataFrame).

Nothing here does I/O and nothing raises on bad data: every input row comes out exactly once,
either valid (``reason`` is NULL, typed event columns filled) or not (``reason`` holds the first
machine-readable reason, ``reasons`` all of them; see :class:`~datapipeline.events.contract.Reason`).

JSON is parsed with Spark's VARIANT (``try_parse_json``), so each field's JSON type is checked
exactly (a string ``"12.5"`` is not a number) and unknown fields survive as ``extras``.
Spark's parser is strict RFC 8259 (no NaN, comments, duplicate keys, raw control characters;
at most 1000 levels of nesting) except that it reads a lone surrogate escape as ``?`` (so those
are refused by a regex first) and ignores anything after the first JSON value, so
the value is parsed wrapped as ``[value]`` (must be a one-element array) and checked once more
as ``{"v":value}``: no trailing data can close both wrappers. Values over ``MAX_VALUE_BYTES`` are
never parsed.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from datapipeline.events.contract import (
    CONTROL_CHARACTERS,
    CURRENCIES,
    EVENT_TIME_PATTERN,
    EVENT_TYPES,
    FIELDS,
    LONE_SURROGATE_ESCAPE,
    MAX_EVENT_TIME,
    MAX_VALUE_BYTES,
    MIN_EVENT_TIME,
    SCHEMA_VERSION,
    Reason,
)
from datapipeline.ingest.schema import EVENT_SCHEMA, MONEY

_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INT", "BIGINT")
_BOM = "EFBBBF"  # hex of the UTF-8 byte-order mark
# Exact value of a JSON number, to tell "at most 2 decimals" from a rounded decimal(18,2).
_EXACT = "decimal(38,18)"
ITEMS_TYPE = EVENT_SCHEMA["items"].dataType.simpleString()
REASON_COLUMNS = ("reason", "reasons")
EVENT_COLUMNS = tuple(f.name for f in EVENT_SCHEMA.fields)
# Fields whose JSON type is checked, and those read as strings (dotted: nested in customer).
_TYPED_PATHS = (*FIELDS, "customer.customer_id", "customer.country")
_STRING_PATHS = (
    "event_id",
    "order_id",
    "event_type",
    "event_time",
    "customer.customer_id",
    "customer.country",
    "currency",
)


def _t(field: str) -> str:
    """Name of the column holding ``field``'s JSON type (``schema_of_variant``)."""
    return "t_" + field.replace(".", "_")


def _s(field: str) -> str:
    """Name of the column holding ``field`` read as a string."""
    return "s_" + field.replace(".", "_")


def _is_int(t: Column) -> Column:
    return t.isin(*_INTEGER_TYPES)


def _is_number(t: Column) -> Column:
    return _is_int(t) | t.startswith("DECIMAL") | t.isin("DOUBLE", "FLOAT")


def _check(field: str, t: Column, type_ok: Column, value_ok: Column | None = None) -> Column:
    """missing / wrong_type / invalid_value reason for one field, NULL when fine."""
    out = F.when(t.isNull() | (t == "VOID"), F.lit(Reason.of(Reason.MISSING_FIELD, field))).when(
        ~type_ok, F.lit(Reason.of(Reason.WRONG_TYPE, field))
    )
    if value_ok is not None:
        out = out.when(~F.coalesce(value_ok, F.lit(False)), F.lit(Reason.of(Reason.INVALID_VALUE, field)))
    return out


def _two_decimals(raw: Column) -> Column:
    """The JSON number ``raw`` (a variant) is exactly its decimal(18,2): no digit was rounded away.
    Exponent notation reads as DOUBLE, compared as DOUBLE; plain notation as an exact decimal."""
    money = F.try_variant_get(raw, "$", MONEY.simpleString())
    return F.when(
        F.schema_of_variant(raw).isin("DOUBLE", "FLOAT"), money.cast("double") == F.try_variant_get(raw, "$", "double")
    ).otherwise(money == F.try_variant_get(raw, "$", _EXACT))


def _items_ok(v: Column, items: Column, exact: Column, double: Column) -> Column:
    """Every item is an object with a non-empty sku without control characters, an integer
    quantity > 0 (int32) and a price >= 0 with at most 2 decimals.

    ``items`` is the items array read as ``ITEMS_TYPE``, ``exact``/``double`` the prices read as
    decimal(38,18)/double: each read once per row (a variant read that converts a value builds a
    Cast per value, the costliest step of parsing); the lambda over the raw items only checks
    JSON types, which converts nothing."""
    raw_items = F.try_variant_get(v, "$.items", "array<variant>")
    ints = ("TINYINT", "SMALLINT", "INT", "BIGINT")

    def json_types_ok(x: Column) -> Column:
        price_t = F.schema_of_variant(F.variant_get(x, "$.unit_price", "variant"))
        return (
            F.schema_of_variant(x).startswith("OBJECT")
            & (F.schema_of_variant(F.variant_get(x, "$.sku", "variant")) == "STRING")
            & F.schema_of_variant(F.variant_get(x, "$.quantity", "variant")).isin(*ints)
            & (price_t.isin(*ints, "DOUBLE", "FLOAT") | price_t.startswith("DECIMAL"))
        )

    def values_ok(x: Column) -> Column:
        return (
            (F.length(x["sku"]) > 0)
            & ~x["sku"].rlike(CONTROL_CHARACTERS)
            & (x["quantity"] > 0)
            & (x["unit_price"] >= 0)
        )

    prices = items["unit_price"]
    # No digit rounded away: the price equals its decimal(18,2) both exactly and as a double (a
    # number in exponent notation is a double; one with over 18 decimals rounds in decimal(38,18)).
    two_decimals = (prices.cast(f"array<{_EXACT}>") == exact["unit_price"]) & (
        prices.cast("array<double>") == double["unit_price"]
    )
    return (
        (F.size(raw_items) > 0)
        & F.coalesce(F.forall(raw_items, json_types_ok), F.lit(False))
        & F.coalesce(F.forall(items, values_ok), F.lit(False))
        & F.coalesce(two_decimals, F.lit(False))
    )


def parse_events(raw: DataFrame) -> DataFrame:
    """Add ``reason``/``reasons`` and the typed event columns to Kafka rows (needs ``value``: binary).

    All input columns are kept. Valid rows have ``reason IS NULL``.
    """
    v = F.col("__v")
    value = F.col("value")
    too_large = F.length(value) > MAX_VALUE_BYTES
    bom = F.hex(F.substring(value, 1, 3)) == _BOM
    text = F.when(~too_large & F.is_valid_utf8(value) & ~bom, value.cast("string"))
    wrapped = F.try_parse_json(F.concat(F.lit("["), text, F.lit("]")))
    one_value = (
        (F.size(F.try_variant_get(wrapped, "$", "array<variant>")) == 1)
        & F.try_parse_json(F.concat(F.lit('{"v":'), text, F.lit("}"))).isNotNull()
        # The regex (lookbehinds at every position) is costly: only run it where an escape is.
        & ~F.when(text.contains("\\u") | text.contains("\\U"), text.rlike(LONE_SURROGATE_ESCAPE)).otherwise(False)
    )
    df = raw.withColumn("__v", F.when(one_value, F.variant_get(wrapped, "$[0]", "variant")))
    # Every field's JSON type and typed value is read once per row into the struct ``__f``, and the
    # checks below only read ``__f``: written inline, Spark evaluates an expression once per
    # mention inside CASE WHEN branches (several times per field), and a variant read that
    # converts a value builds a Cast per value. One struct, not a column per field: Spark's
    # constraint propagation grows combinatorially with aliases of one column (MERGE plans ran
    # out of heap).
    fields = [F.schema_of_variant(v).alias("t")]
    fields += [F.schema_of_variant(F.variant_get(v, f"$.{f}", "variant")).alias(_t(f)) for f in _TYPED_PATHS]
    fields += [F.try_variant_get(v, f"$.{f}", "string").alias(_s(f)) for f in _STRING_PATHS]
    fields += [
        F.try_variant_get(v, "$.items", ITEMS_TYPE).alias("items"),
        F.try_variant_get(v, "$.items", f"array<struct<unit_price:{_EXACT}>>").alias("items_exact"),
        F.try_variant_get(v, "$.items", "array<struct<unit_price:double>>").alias("items_double"),
        F.try_variant_get(v, "$.amount", MONEY.simpleString()).alias("amount"),
    ]
    df = df.withColumn("__f", F.struct(*fields))

    def t(field: str) -> Column:
        return F.col("__f")[_t(field)]

    def s(field: str) -> Column:
        return F.col("__f")[_s(field)]

    stage = (
        F.when(too_large, F.lit(Reason.VALUE_TOO_LARGE))
        .when(value.isNull() | (F.length(value) == 0), F.lit(Reason.EMPTY_VALUE))
        .when(~F.is_valid_utf8(value), F.lit(Reason.INVALID_UTF8))
        .when(bom, F.lit(Reason.BYTE_ORDER_MARK))
        .when(v.isNull(), F.lit(Reason.INVALID_JSON))
        .when(~F.col("__f.t").startswith("OBJECT"), F.lit(Reason.NOT_AN_OBJECT))
    )
    sv_t = t("schema_version")
    schema_version = (
        F.when(sv_t.isNull() | (sv_t == "VOID"), F.lit(Reason.of(Reason.MISSING_FIELD, "schema_version")))
        .when(~_is_int(sv_t), F.lit(Reason.of(Reason.WRONG_TYPE, "schema_version")))
        .when(
            F.try_variant_get(v, "$.schema_version", "int") != SCHEMA_VERSION,
            F.lit(Reason.UNSUPPORTED_SCHEMA_VERSION),
        )
    )
    event_time = s("event_time").try_cast("timestamp")
    amount = F.col("__f.amount")
    items = F.col("__f.items")

    def identifier(field: str) -> Column:
        """A non-empty string without control characters."""
        return (F.length(s(field)) > 0) & ~s(field).rlike(CONTROL_CHARACTERS)

    def string_check(field: str, value_ok: Column) -> Column:
        return _check(field, t(field), t(field) == "STRING", value_ok)

    customer_is_object = t("customer").startswith("OBJECT")
    checks = [
        schema_version,
        string_check("event_id", identifier("event_id")),
        string_check("order_id", identifier("order_id")),
        string_check("event_type", s("event_type").isin(*EVENT_TYPES)),
        string_check(
            "event_time",
            s("event_time").rlike(EVENT_TIME_PATTERN)
            & event_time.between(F.to_timestamp(F.lit(MIN_EVENT_TIME)), F.to_timestamp(F.lit(MAX_EVENT_TIME))),
        ),
        _check("customer", t("customer"), customer_is_object),
        F.when(customer_is_object, string_check("customer.customer_id", identifier("customer.customer_id"))),
        F.when(customer_is_object, string_check("customer.country", s("customer.country").rlike("^[A-Z]{2}$"))),
        _check(
            "amount",
            t("amount"),
            _is_number(t("amount")),
            (amount >= 0) & _two_decimals(F.variant_get(v, "$.amount", "variant")),
        ),
        string_check("currency", s("currency").isin(*CURRENCIES)),
        _check(
            "items",
            t("items"),
            t("items").startswith("ARRAY"),
            _items_ok(v, items, F.col("__f.items_exact"), F.col("__f.items_double")),
        ),
    ]
    # The stage first (no field is checked on a value that is not a JSON object), then the field
    # checks; NULLs are dropped without a lambda (array_except is code-generated, higher-order
    # functions are not), keeping the checks' order.
    df = df.withColumn("__stage", stage)
    df = df.withColumn("__checks", F.when(F.col("__stage").isNull(), F.array(*checks)))
    df = df.withColumn("__field_reasons", F.array_except("__checks", F.array(F.lit(None).cast("string"))))
    items_total = F.aggregate(
        items,
        F.lit(0).cast(MONEY),
        lambda acc, x: (acc + x["quantity"] * x["unit_price"]).cast(MONEY),
    )
    reasons = (
        F.when(F.col("__stage").isNotNull(), F.array("__stage"))
        .when(F.size("__field_reasons") > 0, F.col("__field_reasons"))
        .when(items_total != amount, F.array(F.lit(Reason.AMOUNT_MISMATCH)))
        .otherwise(F.array().cast("array<string>"))
    )
    df = df.withColumn("reasons", reasons).withColumn("reason", F.get(F.col("reasons"), 0))
    valid = F.col("reason").isNull()
    known = F.array(*[F.lit(name) for name in FIELDS])
    typed = {
        "schema_version": F.try_variant_get(v, "$.schema_version", "int"),
        "event_id": s("event_id"),
        "order_id": s("order_id"),
        "event_type": s("event_type"),
        "event_time": event_time,
        "customer_id": s("customer.customer_id"),
        "customer_country": s("customer.country"),
        "amount": amount,
        "currency": s("currency"),
        "items": items,
        # Most events have no unknown field: find that out from the keys alone (reading every
        # value as a string means casting each one, objects and arrays to JSON text).
        "extras": F.when(
            F.size(F.array_except(F.map_keys(F.try_variant_get(v, "$", "map<string,variant>")), known)) == 0,
            F.create_map().cast("map<string,string>"),
        ).otherwise(
            F.map_filter(F.try_variant_get(v, "$", "map<string,string>"), lambda k, _: ~F.array_contains(known, k))
        ),
    }
    for name in EVENT_COLUMNS:
        df = df.withColumn(name, F.when(valid, typed[name]).cast(EVENT_SCHEMA[name].dataType))
    return df.drop("__v", "__f", "__stage", "__checks", "__field_reasons")


def split(parsed: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(valid, quarantined) halves of :func:`parse_events` output; together they are all the rows.

    Persist ``parsed`` first (as the job does): on an uncached plan Spark pushes each half's
    filter below the parser's projections, validating every row twice and planning a far larger
    expression tree."""
    valid = parsed.where(F.col("reason").isNull()).drop(*REASON_COLUMNS)
    bad = parsed.where(F.col("reason").isNotNull()).drop(*EVENT_COLUMNS)
    return valid, bad
