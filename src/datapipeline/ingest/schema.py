"""The Spark types of the event contract (:mod:`datapipeline.events.contract`), beside the parser
that produces them. The contract itself stays free of Spark: the producer, the generator and the
local platform read its constants without loading pyspark."""

from __future__ import annotations

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

# Money: decimal with 2 places; large enough for any single order.
MONEY = DecimalType(18, 2)

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
