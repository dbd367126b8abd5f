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
    EVENT_SCHEMA,
    EVENT_TIME_PATTERN,
    EVENT_TYPES,
    FIELDS,
    LONE_SURROGATE_ESCAPE,
    MAX_EVENT_TIME,
    MAX_VALUE_BYTES,
    MIN_EVENT_TIME,
    MONEY,
    SCHEMA_VERSION,
    Reason,
)

_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INT", "BIGINT")
_BOM = "EFBBBF"  # hex of the UTF-8 byte-order mark
# Exact value of a JSON number, to tell "at most 2 decimals" from a rounded decimal(18,2).
_EXACT = "decimal(38,18)"
REASON_COLUMNS = ("reason", "reasons")
EVENT_COLUMNS = tuple(f.name for f in EVENT_SCHEMA.fields)


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


def _items_ok() -> Column:
    """Every item is an object with a non-empty sku without control characters, an integer
    quantity > 0 (int32) and a price >= 0 with at most 2 decimals."""
    items = F.try_variant_get(F.col("__v"), "$.items", "array<variant>")
    return F.expr(
        """
        size(try_variant_get(__v, '$.items', 'array<variant>')) > 0
        AND forall(try_variant_get(__v, '$.items', 'array<variant>'), x ->
              schema_of_variant(x) LIKE 'OBJECT%'
          AND schema_of_variant(variant_get(x, '$.sku')) = 'STRING'
          AND length(variant_get(x, '$.sku', 'string')) > 0
          AND NOT variant_get(x, '$.sku', 'string') RLIKE '{control}'
          AND schema_of_variant(variant_get(x, '$.quantity')) IN ('TINYINT', 'SMALLINT', 'INT', 'BIGINT')
          AND try_variant_get(x, '$.quantity', 'int') > 0
          AND (schema_of_variant(variant_get(x, '$.unit_price')) IN ('TINYINT', 'SMALLINT', 'INT', 'BIGINT',
                                                                    'DOUBLE', 'FLOAT')
               OR schema_of_variant(variant_get(x, '$.unit_price')) LIKE 'DECIMAL%')
          AND try_variant_get(x, '$.unit_price', 'decimal(18,2)') >= 0)
        """.format(control=CONTROL_CHARACTERS.replace("\\", "\\\\"))
    ) & F.forall(items, lambda x: _two_decimals(F.variant_get(x, "$.unit_price", "variant")))


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
        & ~text.rlike(LONE_SURROGATE_ESCAPE)
    )
    df = raw.withColumn("__v", F.when(one_value, F.variant_get(wrapped, "$[0]", "variant")))

    def t(path: str) -> Column:
        return F.schema_of_variant(F.variant_get(v, path, "variant"))

    def s(path: str) -> Column:
        return F.try_variant_get(v, path, "string")

    stage = (
        F.when(too_large, F.lit(Reason.VALUE_TOO_LARGE))
        .when(value.isNull() | (F.length(value) == 0), F.lit(Reason.EMPTY_VALUE))
        .when(~F.is_valid_utf8(value), F.lit(Reason.INVALID_UTF8))
        .when(bom, F.lit(Reason.BYTE_ORDER_MARK))
        .when(v.isNull(), F.lit(Reason.INVALID_JSON))
        .when(~F.schema_of_variant(v).startswith("OBJECT"), F.lit(Reason.NOT_AN_OBJECT))
    )
    sv_t = t("$.schema_version")
    schema_version = (
        F.when(sv_t.isNull() | (sv_t == "VOID"), F.lit(Reason.of(Reason.MISSING_FIELD, "schema_version")))
        .when(~_is_int(sv_t), F.lit(Reason.of(Reason.WRONG_TYPE, "schema_version")))
        .when(
            F.try_variant_get(v, "$.schema_version", "int") != SCHEMA_VERSION,
            F.lit(Reason.UNSUPPORTED_SCHEMA_VERSION),
        )
    )
    event_time = s("$.event_time").try_cast("timestamp")
    amount = F.try_variant_get(v, "$.amount", MONEY.simpleString())

    def identifier(field: str) -> Column:
        """A non-empty string without control characters."""
        text = s(f"$.{field}")
        return (F.length(text) > 0) & ~text.rlike(CONTROL_CHARACTERS)

    customer_t = t("$.customer")
    cid_t, country_t = t("$.customer.customer_id"), t("$.customer.country")
    checks = [
        schema_version,
        _check("event_id", t("$.event_id"), t("$.event_id") == "STRING", identifier("event_id")),
        _check("order_id", t("$.order_id"), t("$.order_id") == "STRING", identifier("order_id")),
        _check(
            "event_type",
            t("$.event_type"),
            t("$.event_type") == "STRING",
            s("$.event_type").isin(*EVENT_TYPES),
        ),
        _check(
            "event_time",
            t("$.event_time"),
            t("$.event_time") == "STRING",
            s("$.event_time").rlike(EVENT_TIME_PATTERN)
            & event_time.between(F.to_timestamp(F.lit(MIN_EVENT_TIME)), F.to_timestamp(F.lit(MAX_EVENT_TIME))),
        ),
        _check("customer", customer_t, customer_t.startswith("OBJECT")),
        F.when(
            customer_t.startswith("OBJECT"),
            _check("customer.customer_id", cid_t, cid_t == "STRING", identifier("customer.customer_id")),
        ),
        F.when(
            customer_t.startswith("OBJECT"),
            _check(
                "customer.country",
                country_t,
                country_t == "STRING",
                s("$.customer.country").rlike("^[A-Z]{2}$"),
            ),
        ),
        _check(
            "amount",
            t("$.amount"),
            _is_number(t("$.amount")),
            (amount >= 0) & _two_decimals(F.variant_get(v, "$.amount", "variant")),
        ),
        _check("currency", t("$.currency"), t("$.currency") == "STRING", s("$.currency").isin(*CURRENCIES)),
        _check("items", t("$.items"), t("$.items").startswith("ARRAY"), _items_ok()),
    ]
    items = F.try_variant_get(v, "$.items", "array<struct<sku:string,quantity:int,unit_price:decimal(18,2)>>")
    items_total = F.aggregate(
        items,
        F.lit(0).cast(MONEY),
        lambda acc, x: (acc + x["quantity"] * x["unit_price"]).cast(MONEY),
    )
    field_reasons = F.filter(F.array(*checks), lambda r: r.isNotNull())
    reasons = (
        F.when(stage.isNotNull(), F.array(stage))
        .when(F.size(field_reasons) > 0, field_reasons)
        .when(items_total != amount, F.array(F.lit(Reason.AMOUNT_MISMATCH)))
        .otherwise(F.array().cast("array<string>"))
    )
    df = df.withColumn("reasons", reasons).withColumn("reason", F.get(F.col("reasons"), 0))
    valid = F.col("reason").isNull()
    known = F.array(*[F.lit(name) for name in FIELDS])
    typed = {
        "schema_version": F.try_variant_get(v, "$.schema_version", "int"),
        "event_id": s("$.event_id"),
        "order_id": s("$.order_id"),
        "event_type": s("$.event_type"),
        "event_time": event_time,
        "customer_id": s("$.customer.customer_id"),
        "customer_country": s("$.customer.country"),
        "amount": amount,
        "currency": s("$.currency"),
        "items": items,
        "extras": F.map_filter(
            F.try_variant_get(v, "$", "map<string,string>"), lambda k, _: ~F.array_contains(known, k)
        ),
    }
    for name in EVENT_COLUMNS:
        df = df.withColumn(name, F.when(valid, typed[name]).cast(EVENT_SCHEMA[name].dataType))
    return df.drop("__v")


def split(parsed: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(valid, quarantined) halves of :func:`parse_events` output; together they are all the rows."""
    valid = parsed.where(F.col("reason").isNull()).drop(*REASON_COLUMNS)
    bad = parsed.where(F.col("reason").isNotNull()).drop(*EVENT_COLUMNS)
    return valid, bad
