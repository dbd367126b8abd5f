"""The order-lifecycle event contract: defined once, read by the generator, the parser and the docs.

One Kafka record = one JSON object (UTF-8) describing one event in the life of an order.
Every event carries the full order payload (event-carried state transfer), so the current
state of an order is simply its "greatest" valid event (see :data:`STATE_ORDER`).

Fields (all required unless marked optional)::

    schema_version  integer   1 (the only version this contract accepts)
    event_id        string    globally unique id of the event (UUID); no control characters
    order_id        string    the entity key; no control characters
    event_type      string    one of EVENT_TYPES
    event_time      string    ISO-8601 instant WITH offset, YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|+hh:mm|-hh:mm),
                              e.g. 2026-01-01T12:00:00.123Z, between MIN_EVENT_TIME and MAX_EVENT_TIME
    customer        object    {"customer_id": string, "country": string (ISO 3166 alpha-2)}
    amount          number    order total, >= 0, at most 2 decimals, fits decimal(18,2),
                              equal to sum(quantity * unit_price) over items
    currency        string    one of CURRENCIES (upper case)
    items           array     >= 1 objects {"sku": string, "quantity": integer 1..2^31-1,
                                            "unit_price": number >= 0, at most 2 decimals}

Unknown additional top-level fields are allowed (additive schema evolution): they are kept
verbatim in bronze, carried as ``extras`` (name -> JSON text) in the silver event table and
appear as STRING columns of the silver order table when their name is a plain identifier.

The record (rules checked in this order; the first failing one is the quarantine ``reason``,
``reasons`` lists every failing field rule; see :class:`Reason`):

1. the value is at most MAX_VALUE_BYTES (1 MiB) -> else ``value_too_large`` (not parsed at all);
2. the value is not NULL/empty (a tombstone) -> else ``empty_value``;
3. the value is valid UTF-8 -> else ``invalid_utf8``; it has no byte-order mark (RFC 8259 8.1)
   -> else ``byte_order_mark``;
4. the value is exactly one strict RFC 8259 JSON text, surrounding whitespace allowed ->
   else ``invalid_json``. That covers truncated JSON, bare ``NaN``/``Infinity`` tokens, single
   quotes, comments, raw (unescaped) control characters inside strings, duplicate keys in one
   object (``{"amount":1,"amount":2}``: ambiguous, so never first- or last-wins), trailing
   data after the value (e.g. two concatenated objects), nesting deeper than
   MAX_NESTING_DEPTH levels (arrays/objects; anywhere, extras included), and a lone UTF-16
   surrogate escape (``\\ud800`` without its pair; Spark would silently read it as ``?``);
5. it is an object -> else ``not_an_object``; ``schema_version`` is 1 -> else
   ``unsupported_schema_version``;
6. field rules -> ``missing_field:<f>`` (absent or null), ``wrong_type:<f>`` (JSON type differs,
   e.g. ``"12.5"`` for a number), ``invalid_value:<f>``: out of range numbers (beyond
   decimal(18,2), quantity beyond int32, ``1e400`` which reads as infinity), more than 2
   decimals, negative amounts, unknown currency or event type, a control character
   (U+0000-U+001F, U+007F, also when escaped as ``\\u0000``) in event_id, order_id,
   customer_id or sku, an event_time without offset, not in the pattern above, or outside
   [MIN_EVENT_TIME, MAX_EVENT_TIME] (e.g. 1970 or 3000);
7. ``amount_mismatch``: amount differs from the items' total;
8. ``conflicting_duplicate:event_id``: a valid event whose event_id is already stored (or came
   earlier in the same micro-batch, by Kafka (topic, partition, offset)) with DIFFERENT content
   (content = every typed event field above plus extras; compared by a SHA-256 fingerprint).
   The stored event is kept; the conflicting copy is quarantined. An exact re-delivery (same
   content) is a duplicate and silently de-duplicated.

Accepted as they are (rules, not accidents):

* the Kafka key is a routing hint, not validated: a NULL or different key is accepted, the
  value's order_id is authoritative (the silver MERGE is order-independent, so partitioning
  does not change the result);
* unknown extra fields, of any JSON type and any name, nested up to MAX_NESTING_DEPTH;
* an event_time with any offset (normalised to UTC) and up to 9 fractional digits (stored
  with microsecond precision: digits beyond the 6th are dropped);
* whitespace around the JSON value; numbers written with exponents when they are exact
  (``1.5e1`` is 15).
"""

from __future__ import annotations

import re

SCHEMA_VERSION = 1
EVENT_TYPES = ("created", "paid", "shipped", "delivered", "cancelled")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY")
MIN_EVENT_TIME = "2000-01-01T00:00:00Z"
MAX_EVENT_TIME = "2100-01-01T00:00:00Z"
EVENT_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
# Identifiers must not contain control characters (U+0000-U+001F, U+007F).
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f]"
# A \uD800-\uDFFF escape that is not half of a surrogate pair (not valid Unicode).
LONE_SURROGATE_ESCAPE = (
    r"(?i)(?<!\\)\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})"
    r"|(?<!\\ud[89ab][0-9a-f]{2})(?<!\\)\\ud[c-f][0-9a-f]{2}"
)
# Largest record value parsed; larger ones are quarantined unparsed as value_too_large.
MAX_VALUE_BYTES = 1024 * 1024
# What the Kafka broker (message.max.bytes, replica.fetch.max.bytes) and the producer
# (max_request_size) accept, so an oversized value reaches the quarantine instead of being
# refused at the producer. Align the Kubernetes Kafka config with it.
TRANSPORT_MAX_BYTES = 4 * MAX_VALUE_BYTES
# Deepest array/object nesting accepted (Spark's JSON parser refuses deeper documents; the
# parser wraps the value once to detect trailing data, which costs one level of the 1000).
MAX_NESTING_DEPTH = 999
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
    VALUE_TOO_LARGE = "value_too_large"
    BYTE_ORDER_MARK = "byte_order_mark"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"

    @staticmethod
    def of(code: str, field: str | None = None) -> str:
        return f"{code}:{field}" if field else code


def describe() -> str:
    """The human-readable contract (this module's docstring), e.g. for ``--help`` and docs."""
    return __doc__ or ""


if __name__ == "__main__":  # python -m datapipeline.events.contract
    print(describe())
