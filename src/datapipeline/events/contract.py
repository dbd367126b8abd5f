"""The order-lifecycle event contract: defined once, read by the generator, the parser and the docs.

One Kafka record = one JSON object (UTF-8) describing one event in the life of an order.
Every event carries the full order payload (event-carried state transfer), so the current
state of an order is simply its "greatest" valid event (see :data:`STATE_ORDER`).

Fields (all required unless marked optional)::

    schema_version  integer   1 (the only version this contract accepts)
    event_id        string    globally unique id of the event (UUID); duplicates are re-deliveries
    order_id        string    the entity key; also the Kafka record key
    event_type      string    one of EVENT_TYPES
    event_time      string    ISO-8601 instant with offset, e.g. 2026-01-01T12:00:00.123Z,
                              between MIN_EVENT_TIME and MAX_EVENT_TIME
    customer        object    {"customer_id": string, "country": string (ISO 3166 alpha-2)}
    amount          number    order total, >= 0, at most 2 decimals,
                              equal to sum(quantity * unit_price) over items
    currency        string    one of CURRENCIES
    items           array     >= 1 objects {"sku": string, "quantity": integer > 0,
                                            "unit_price": number >= 0}

Unknown additional top-level fields are allowed (additive schema evolution): they are kept
verbatim in bronze, carried as ``extras`` (name -> JSON text) in the silver event table and
appear as STRING columns of the silver order table when their name is a plain identifier.
"""

from __future__ import annotations

import re

from pyspark.sql.types import (
    ArrayType,
    DecimalType,
    IntegerType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

SCHEMA_VERSION = 1
EVENT_TYPES = ("created", "paid", "shipped", "delivered", "cancelled")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY")
MIN_EVENT_TIME = "2000-01-01T00:00:00Z"
MAX_EVENT_TIME = "2100-01-01T00:00:00Z"
# Money: decimal with 2 places; large enough for any single order.
MONEY = DecimalType(18, 2)

# The top-level fields of the contract, in order. Anything else is an "extra".
FIELDS = (
    "schema_version",
    "event_id",
    "order_id",
    "event_type",
    "event_time",
    "customer",
    "amount",
    "currency",
    "items",
)

ITEM_SCHEMA = StructType(
    [
        StructField("sku", StringType()),
        StructField("quantity", IntegerType()),
        StructField("unit_price", MONEY),
    ]
)

# A valid, parsed event as the parser emits it (typed, flattened customer). Required-ness is
# enforced by the parser, not by Delta NOT NULL constraints (unsupported inside arrays).
EVENT_SCHEMA = StructType(
    [
        StructField("schema_version", IntegerType()),
        StructField("event_id", StringType()),
        StructField("order_id", StringType()),
        StructField("event_type", StringType()),
        StructField("event_time", TimestampType()),
        StructField("customer_id", StringType()),
        StructField("customer_country", StringType()),
        StructField("amount", MONEY),
        StructField("currency", StringType()),
        StructField("items", ArrayType(ITEM_SCHEMA, containsNull=True)),
        # Unknown top-level fields: name -> JSON text of the value.
        StructField("extras", MapType(StringType(), StringType()), nullable=True),
    ]
)

# Kafka coordinates every parsed or quarantined row keeps (lineage back to the raw record).
KAFKA_COORDINATES = ("topic", "partition", "offset")

# The state of an order is its greatest event under this key: a cancellation is terminal
# (it outranks any other event), then the latest event_time, then event_id as a tie-break.
# A total order makes the silver MERGE commutative, so arrival order does not matter.
STATE_ORDER = ("is_cancelled", "event_time", "event_id")

# Extras become silver columns only when the name is a plain identifier.
EXTRA_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class Reason:
    """Machine-readable quarantine reasons: ``<code>`` or ``<code>:<field>``."""

    INVALID_UTF8 = "invalid_utf8"
    EMPTY_VALUE = "empty_value"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    AMOUNT_MISMATCH = "amount_mismatch"

    @staticmethod
    def of(code: str, field: str | None = None) -> str:
        return f"{code}:{field}" if field else code


def describe() -> str:
    """The human-readable contract (this module's docstring), e.g. for ``--help`` and docs."""
    return __doc__ or ""


if __name__ == "__main__":  # python -m datapipeline.events.contract
    print(describe())
    print(EVENT_SCHEMA.simpleString())
