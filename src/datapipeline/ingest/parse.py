"""Parse and validate raw Kafka records against the event contract (pure DataFrame -> DataFrame).

Nothing here does I/O and nothing raises on bad data: every input row comes out exactly once,
either valid (``reason`` is NULL, typed event columns filled) or not (``reason`` holds the first
machine-readable reason, ``reasons`` all of them; see :class:`~datapipeline.events.contract.Reason`).

The work is done on the JVM by one Spark UDF, ``io.datapipeline.parser.EventParser``
(``jvm/parser``, built by ``task bootstrap``), constructed with the contract's constants from
:mod:`datapipeline.events.contract` (:func:`parser_config`) and registered per SparkSession when
:func:`parse_events` is called. It reads the JSON with Jackson's streaming parser, as Spark's
``parse_json`` does, and gives every JSON value the type and conversions Spark's VARIANT gives it,
so it answers exactly as the former Spark-SQL VARIANT implementation did
(``tests/unit/test_parse_golden.py``):

* strict RFC 8259: no NaN, comments, single quotes, raw control characters, duplicate keys (at any
  depth; Jackson's STRICT_DUPLICATE_DETECTION); at most ``MAX_NESTING_DEPTH`` levels of nesting;
  nothing but whitespace after the value; a lone surrogate escape (``LONE_SURROGATE_ESCAPE`` on
  the raw text) is invalid JSON; a byte-order mark, invalid UTF-8 (Spark's ``is_valid_utf8``) and
  values over ``MAX_VALUE_BYTES`` (never parsed) have reasons of their own;
* exact JSON types per field: a string ``"12.5"`` is not a number; an integer is a number without
  fraction or exponent that fits a long (``1.0`` is not one); a number without exponent of at
  most 38 digits is an exact decimal, any other a double;
* money (amount, unit_price) fits decimal(18,2) with no digit rounded away: a double is compared
  with its decimal(18,2) as a double, a decimal exactly (as decimal(38,18), which rounds beyond
  18 decimals); a unit price must also equal it as a double;
* ``amount`` equals sum(quantity * unit_price) in decimal(18,2) (a total beyond decimal(18,2) is
  ``amount_mismatch``);
* ``extras``: unknown top-level fields as JSON text, rendered by Spark's own variant code exactly
  as ``try_variant_get(v, '$', 'map<string,string>')`` does.
"""

from __future__ import annotations

import functools
import json

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from datapipeline.events.contract import (
    CONTROL_CHARACTERS,
    CURRENCIES,
    EVENT_TIME_PATTERN,
    EVENT_TYPES,
    FIELDS,
    LONE_SURROGATE_ESCAPE,
    MAX_EVENT_TIME,
    MAX_NESTING_DEPTH,
    MAX_VALUE_BYTES,
    MIN_EVENT_TIME,
    SCHEMA_VERSION,
    Reason,
)
from datapipeline.ingest.schema import EVENT_SCHEMA

REASON_COLUMNS = ("reason", "reasons")
EVENT_COLUMNS = tuple(f.name for f in EVENT_SCHEMA.fields)
PARSER_CLASS = "io.datapipeline.parser.EventParser"
PARSER_FUNCTION = "datapipeline_parse_event"
_REGISTERED_CONF = "datapipeline.parser.registeredTimeZone"  # set in a session that has it
# Two upper-case letters (ISO 3166 alpha-2 shape).
COUNTRY_PATTERN = "^[A-Z]{2}$"
_RESULT_SCHEMA = StructType([StructField("reasons", ArrayType(StringType())), *EVENT_SCHEMA.fields])


def parser_config(time_zone: str) -> str:
    """Everything the JVM parser knows of the contract, as the JSON it is constructed with."""
    paths = (*FIELDS, "customer.customer_id", "customer.country")
    codes = (
        Reason.VALUE_TOO_LARGE,
        Reason.EMPTY_VALUE,
        Reason.INVALID_UTF8,
        Reason.BYTE_ORDER_MARK,
        Reason.INVALID_JSON,
        Reason.NOT_AN_OBJECT,
        Reason.UNSUPPORTED_SCHEMA_VERSION,
        Reason.AMOUNT_MISMATCH,
    )
    config = {
        "max_value_bytes": MAX_VALUE_BYTES,
        "max_nesting_depth": MAX_NESTING_DEPTH,
        "schema_version": SCHEMA_VERSION,
        "event_types": list(EVENT_TYPES),
        "currencies": list(CURRENCIES),
        "fields": list(FIELDS),
        "control_characters": CONTROL_CHARACTERS,
        "event_time_pattern": EVENT_TIME_PATTERN,
        "lone_surrogate_escape": LONE_SURROGATE_ESCAPE,
        "country_pattern": COUNTRY_PATTERN,
        "min_event_time": MIN_EVENT_TIME,
        "max_event_time": MAX_EVENT_TIME,
        "time_zone": time_zone,
        "reasons": {code: Reason.of(code) for code in codes},
        **{
            code: {p: Reason.of(code, p) for p in paths}
            for code in (Reason.MISSING_FIELD, Reason.WRONG_TYPE, Reason.INVALID_VALUE)
        },
        "columns": list(EVENT_COLUMNS),
    }
    return json.dumps(config)


def _register(spark: SparkSession) -> None:
    """Register the JVM parser as ``PARSER_FUNCTION`` in ``spark``, once per session and time zone
    (the streaming queries call :func:`parse_events` per micro-batch; their sessions inherit it)."""
    time_zone = spark.conf.get("spark.sql.session.timeZone")
    if spark.conf.get(_REGISTERED_CONF, None) == time_zone and spark.catalog.functionExists(PARSER_FUNCTION):
        return
    jspark = spark._jsparkSession
    config = parser_config(time_zone)
    parser_class = functools.reduce(getattr, PARSER_CLASS.split("."), spark._jvm)
    if not callable(parser_class):  # py4j's JavaPackage: no such class on the classpath
        raise RuntimeError(f"{PARSER_CLASS} is not on Spark's classpath: run `task bootstrap` (step parser)")
    parser = parser_class(config)
    jspark.udf().register(PARSER_FUNCTION, parser, jspark.parseDataType(_RESULT_SCHEMA.json()))
    spark.conf.set(_REGISTERED_CONF, time_zone)


def parse_events(raw: DataFrame) -> DataFrame:
    """Add ``reason``/``reasons`` and the typed event columns to Kafka rows (needs ``value``: binary).

    All input columns are kept. Valid rows have ``reason IS NULL``.
    """
    _register(raw.sparkSession)
    df = raw.withColumn("__p", F.call_udf(PARSER_FUNCTION, F.col("value")))
    df = df.withColumn("reasons", F.col("__p.reasons")).withColumn("reason", F.get(F.col("reasons"), 0))
    for name in EVENT_COLUMNS:
        df = df.withColumn(name, F.col("__p")[name])
    return df.drop("__p")


def split(parsed: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(valid, quarantined) halves of :func:`parse_events` output; together they are all the rows.

    Persist ``parsed`` first (as the job does): on an uncached plan Spark pushes each half's
    filter below the parser's projection, so the parser UDF runs twice on every row."""
    valid = parsed.where(F.col("reason").isNull()).drop(*REASON_COLUMNS)
    bad = parsed.where(F.col("reason").isNotNull()).drop(*EVENT_COLUMNS)
    return valid, bad
