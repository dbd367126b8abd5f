"""Seeded, realistic order-lifecycle events with injected duplicates, out-of-order and malformed records.

``generate(count, seed=…)`` returns exactly ``count`` :class:`Record` s in send order. Every record
says what it is (``kind``) and, for malformed ones, the quarantine reason the parser must give
(``expected_reason``): the generator is the independent source of truth for the tests.

Lifecycle per order: created -> paid -> shipped -> delivered, or a cancellation after created or
paid. Every event carries the full order payload. Out-of-order: some events are sent up to 60
positions later than their event time says; duplicates: exact re-sends of an earlier record
(same key, bytes, headers); malformed: one defect each, cycling through ``options.kinds``.

The hostile-input corpus (:data:`HOSTILE_KINDS`) is every kind the generator knows:

* :data:`MALFORMED_KINDS`: sent as an extra record; the pipeline must quarantine it with
  ``expected_reason`` (``kind="malformed"``);
* :data:`OVERSIZED_KINDS`: the same, but megabytes big, so not in the default mix;
* :data:`ACCEPTED_KINDS`: the event itself is sent in a hostile but valid wire form (null key,
  unknown fields, deep nesting, ...); the pipeline must accept it like any event
  (``kind="event"``, ``accepted_kind`` says which form).

The rules behind every expected outcome are in :mod:`datapipeline.events.contract`.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from datapipeline.events.contract import CURRENCIES, MAX_NESTING_DEPTH, MAX_VALUE_BYTES, SCHEMA_VERSION, Reason

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
COUNTRIES = ("DE", "FR", "GB", "US", "CH", "JP", "NL", "ES")
CHANNELS = ("web", "app", "store")
HEADERS = (("content-type", b"application/json"), ("producer", b"datapipeline-generator"))


@dataclass(frozen=True)
class Record:
    """One Kafka record to send, annotated with what the pipeline must make of it."""

    key: bytes | None
    value: bytes | None
    kind: str  # "event" | "duplicate" | "malformed"
    event: dict | None = None  # the event (for kind event/duplicate)
    expected_reason: str | None = None  # for kind malformed
    malformed_kind: str | None = None
    headers: tuple[tuple[str, bytes], ...] = HEADERS
    accepted_kind: str | None = None  # for kind event/duplicate sent in an ACCEPTED_KINDS form


@dataclass
class GeneratorOptions:
    duplicate_rate: float = 0.05
    out_of_order_rate: float = 0.05
    malformed_rate: float = 0.02
    # Events from this index on carry the additive optional field ``channel`` (schema evolution).
    extra_field_from: int | None = None
    base_time: datetime = BASE_TIME
    # Order numbers start here (``ord-<n>``): chunks generated one after another with their own
    # seeds and first orders hold distinct orders (the benchmark's soak streams that way).
    first_order: int = 0
    # Cycled through for malformed_rate of the events; any name of HOSTILE_KINDS.
    kinds: tuple[str, ...] = field(default_factory=lambda: tuple(MALFORMED_KINDS))


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=_money).encode()


def _money(value: object) -> float:
    if isinstance(value, Decimal):
        return float(value)  # repr of the float is the shortest exact decimal (2 places here)
    raise TypeError(f"not JSON serialisable: {value!r}")


# --- malformed kinds: (event dict) -> (value bytes | None, expected reason) ---------------------


def _without(name: str) -> Callable[[dict], tuple[bytes | None, str]]:
    def make(ev: dict) -> tuple[bytes | None, str]:
        ev = copy.deepcopy(ev)
        del ev[name]
        return _json(ev), Reason.of(Reason.MISSING_FIELD, name)

    return make


def _with(name: str, value: object, reason: str) -> Callable[[dict], tuple[bytes | None, str]]:
    def make(ev: dict) -> tuple[bytes | None, str]:
        ev = copy.deepcopy(ev)
        ev[name] = value
        return _json(ev), reason

    return make


def _bad_item_quantity(ev: dict) -> tuple[bytes | None, str]:
    ev = copy.deepcopy(ev)
    ev["items"][0]["quantity"] = 0
    ev["amount"] = float(_total(ev["items"]))
    return _json(ev), Reason.of(Reason.INVALID_VALUE, "items")


def _amount_mismatch(ev: dict) -> tuple[bytes | None, str]:
    ev = copy.deepcopy(ev)
    ev["amount"] = float(Decimal(str(ev["amount"])) + Decimal("1.00"))
    return _json(ev), Reason.AMOUNT_MISMATCH


def _json_with_raw(ev: dict, name: str, literal: bytes) -> bytes:
    """``ev`` with field ``name`` set to raw JSON text Python's json would not write (NaN, 1e400, ...)."""
    return _json({**ev, name: "@@raw@@"}).replace(b'"@@raw@@"', literal)


def _raw_field(name: str, literal: bytes, reason: str) -> Callable[[dict], tuple[bytes | None, str]]:
    def make(ev: dict) -> tuple[bytes | None, str]:
        return _json_with_raw(ev, name, literal), reason

    return make


def _bad_item(name: str, value: object) -> Callable[[dict], tuple[bytes | None, str]]:
    def make(ev: dict) -> tuple[bytes | None, str]:
        ev = copy.deepcopy(ev)
        ev["items"][0][name] = value
        return _json(ev), Reason.of(Reason.INVALID_VALUE, "items")

    return make


def _nested(depth: int) -> bytes:
    """JSON arrays nested ``depth`` levels deep (raw: too deep for Python's json module)."""
    return b"[" * depth + b"]" * depth


def _conflicting_duplicate(ev: dict) -> tuple[bytes | None, str]:
    """The same event_id, valid, but other content (sent after the original, same key)."""
    ev = copy.deepcopy(ev)
    ev["customer"]["country"] = COUNTRIES[(COUNTRIES.index(ev["customer"]["country"]) + 1) % len(COUNTRIES)]
    return _json(ev), Reason.of(Reason.CONFLICTING_DUPLICATE, "event_id")


INVALID_JSON = Reason.INVALID_JSON
INVALID_AMOUNT = Reason.of(Reason.INVALID_VALUE, "amount")
INVALID_TIME = Reason.of(Reason.INVALID_VALUE, "event_time")

MALFORMED_KINDS: dict[str, Callable[[dict], tuple[bytes | None, str]]] = {
    "not_utf8": lambda ev: (b'{"event_id": "\xff\xfe\xfd"}', Reason.INVALID_UTF8),
    "empty_bytes": lambda ev: (b"", Reason.EMPTY_VALUE),
    "tombstone": lambda ev: (None, Reason.EMPTY_VALUE),
    "truncated_json": lambda ev: (_json(ev)[:40], Reason.INVALID_JSON),
    "plain_text": lambda ev: (b"order paid, thanks!", Reason.INVALID_JSON),
    "json_array": lambda ev: (_json([ev]), Reason.NOT_AN_OBJECT),
    "json_scalar": lambda ev: (b'"created"', Reason.NOT_AN_OBJECT),
    "schema_version_99": _with("schema_version", 99, Reason.UNSUPPORTED_SCHEMA_VERSION),
    "missing_event_id": _without("event_id"),
    "null_order_id": _with("order_id", None, Reason.of(Reason.MISSING_FIELD, "order_id")),
    "missing_event_time": _without("event_time"),
    "amount_as_string": lambda ev: _with("amount", str(ev["amount"]), Reason.of(Reason.WRONG_TYPE, "amount"))(ev),
    "negative_amount": _with("amount", -5.0, Reason.of(Reason.INVALID_VALUE, "amount")),
    "unknown_event_type": _with("event_type", "teleported", Reason.of(Reason.INVALID_VALUE, "event_type")),
    "unparsable_event_time": _with("event_time", "yesterday", Reason.of(Reason.INVALID_VALUE, "event_time")),
    "event_time_1970": _with("event_time", "1970-01-01T00:00:00.000Z", Reason.of(Reason.INVALID_VALUE, "event_time")),
    "unknown_currency": _with("currency", "XYZ", Reason.of(Reason.INVALID_VALUE, "currency")),
    "customer_not_object": _with("customer", "c-42", Reason.of(Reason.WRONG_TYPE, "customer")),
    "items_not_array": _with("items", {"sku": "x"}, Reason.of(Reason.WRONG_TYPE, "items")),
    "item_quantity_zero": _bad_item_quantity,
    "amount_mismatch": _amount_mismatch,
    # The hostile-input corpus: one kind per rule of the contract (events/contract.py), each with its reason.
    "byte_order_mark": lambda ev: (b"\xef\xbb\xbf" + _json(ev), Reason.BYTE_ORDER_MARK),
    "duplicate_keys": lambda ev: (_json(ev)[:-1] + b',"amount":0.01}', INVALID_JSON),
    "nan_amount": _raw_field("amount", b"NaN", INVALID_JSON),
    "infinity_amount": _raw_field("amount", b"Infinity", INVALID_JSON),
    "amount_1e400": _raw_field("amount", b"1e400", INVALID_AMOUNT),
    "amount_beyond_decimal": _raw_field("amount", b"10000000000000000.00", INVALID_AMOUNT),
    "amount_three_decimals": _raw_field("amount", b"10.005", INVALID_AMOUNT),
    "quantity_beyond_int32": _bad_item("quantity", 3_000_000_000),
    "event_time_3000": _with("event_time", "3000-01-01T00:00:00.000Z", INVALID_TIME),
    "event_time_without_offset": lambda ev: _with("event_time", ev["event_time"].rstrip("Z"), INVALID_TIME)(ev),
    "nul_in_event_id": lambda ev: _with(
        "event_id", ev["event_id"] + "\u0000", Reason.of(Reason.INVALID_VALUE, "event_id")
    )(ev),
    "raw_control_char": lambda ev: (_json(ev).replace(b'"cust-', b'"cust\x01-', 1), INVALID_JSON),
    "trailing_garbage": lambda ev: (_json(ev) + b" trailing", INVALID_JSON),
    "concatenated_objects": lambda ev: (_json(ev) + _json(ev), INVALID_JSON),
    "nested_too_deep": _raw_field("deep", _nested(MAX_NESTING_DEPTH), INVALID_JSON),  # the event object is level 1
    "currency_lowercase": lambda ev: _with(
        "currency", ev["currency"].lower(), Reason.of(Reason.INVALID_VALUE, "currency")
    )(ev),
    "lone_surrogate": lambda ev: (_json(ev).replace(b'"cust-', b'"cust\\ud800-', 1), INVALID_JSON),
    "conflicting_duplicate": _conflicting_duplicate,
}

# Quarantined like MALFORMED_KINDS, but over a megabyte each: only in the hostile corpus.
OVERSIZED_KINDS: dict[str, Callable[[dict], tuple[bytes | None, str]]] = {
    "value_too_large": _with("blob", "x" * MAX_VALUE_BYTES, Reason.VALUE_TOO_LARGE),
}


# --- accepted kinds: (event dict) -> (key, value) of the same event in a hostile but valid form ----


def _with_offset(ev: dict) -> tuple[bytes | None, bytes]:
    """event_time at +05:30 (same instant) and nanosecond digits beyond the millisecond ones."""
    utc = datetime.strptime(ev["event_time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    local = utc.astimezone(timezone(timedelta(hours=5, minutes=30)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}000000+05:30"
    return ev["order_id"].encode(), _json({**ev, "event_time": text})


def _exponent_amount(ev: dict) -> tuple[bytes | None, bytes]:
    cents = int(Decimal(str(ev["amount"])) * 100)
    return ev["order_id"].encode(), _json_with_raw(ev, "amount", f"{cents}e-2".encode())


ACCEPTED_KINDS: dict[str, Callable[[dict], tuple[bytes | None, bytes]]] = {
    "null_key": lambda ev: (None, _json(ev)),
    "unknown_extra_fields": lambda ev: (
        ev["order_id"].encode(),
        _json({**ev, "promo": {"code": "X1", "tags": [1, 2.5, None]}, "not an identifier!": True}),
    ),
    "deep_nesting_at_limit": lambda ev: (
        ev["order_id"].encode(),
        _json_with_raw(ev, "deep", _nested(MAX_NESTING_DEPTH - 1)),
    ),
    "event_time_with_offset": _with_offset,
    "whitespace_around": lambda ev: (ev["order_id"].encode(), b" \n\t" + _json(ev) + b"\r\n "),
    "exponent_amount": _exponent_amount,
}

QUARANTINED_KINDS = {**MALFORMED_KINDS, **OVERSIZED_KINDS}
# Every hostile kind: pass as GeneratorOptions(kinds=HOSTILE_KINDS) for the full corpus.
HOSTILE_KINDS: tuple[str, ...] = (*QUARANTINED_KINDS, *ACCEPTED_KINDS)


# --- valid events -------------------------------------------------------------------------------


def _total(items: list[dict]) -> Decimal:
    return sum((Decimal(str(i["unit_price"])) * i["quantity"] for i in items), Decimal("0.00")).quantize(
        Decimal("0.01")
    )


def _order_events(rng: random.Random, n: int, start: datetime) -> list[dict]:
    order_id = f"ord-{n:07d}"
    customer = {"customer_id": f"cust-{rng.randint(1, 5000):05d}", "country": rng.choice(COUNTRIES)}
    currency = rng.choice(CURRENCIES)
    items = [
        {
            "sku": f"sku-{rng.randint(1, 999):03d}",
            "quantity": rng.randint(1, 4),
            "unit_price": Decimal(rng.randint(99, 25_000)) / 100,
        }
        for _ in range(rng.randint(1, 4))
    ]
    amount = _total(items)
    steps: list[tuple[str, datetime]] = [("created", start)]
    t = start
    if rng.random() < 0.9:
        t += timedelta(seconds=rng.randint(5, 180))
        steps.append(("paid", t))
        if rng.random() < 0.08:
            steps.append(("cancelled", t + timedelta(seconds=rng.randint(10, 600))))
        elif rng.random() < 0.85:
            t += timedelta(seconds=rng.randint(60, 1800))
            steps.append(("shipped", t))
            if rng.random() < 0.8:
                steps.append(("delivered", t + timedelta(seconds=rng.randint(600, 7200))))
    else:
        steps.append(("cancelled", start + timedelta(seconds=rng.randint(5, 300))))
    events = []
    for event_type, ts in steps:
        events.append(
            {
                "schema_version": SCHEMA_VERSION,
                "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "order_id": order_id,
                "event_type": event_type,
                "event_time": iso(ts + timedelta(milliseconds=rng.randint(0, 999))),
                "customer": dict(customer),
                "amount": amount,
                "currency": currency,
                "items": [dict(i) for i in items],
            }
        )
    return events


def generate(count: int, seed: int = 42, options: GeneratorOptions | None = None) -> list[Record]:
    """Exactly ``count`` records in send order (deterministic for a given seed and options)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    opts = options or GeneratorOptions()
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    events: list[dict] = []
    start = opts.base_time
    n = 0
    while len(events) < count:
        start += timedelta(milliseconds=rng.randint(10, 400))
        events.extend(_order_events(rng, opts.first_order + n, start))
        n += 1
    events.sort(key=lambda e: (e["event_time"], e["event_id"]))

    kinds = list(opts.kinds)
    slots: list[tuple[float, Record]] = []
    malformed_seen = 0
    for i, ev in enumerate(events):
        if opts.extra_field_from is not None and i >= opts.extra_field_from:
            ev["channel"] = rng.choice(CHANNELS)
        rec = Record(key=ev["order_id"].encode(), value=_json(ev), kind="event", event=ev)
        delay = rng.randint(5, 60) if rng.random() < opts.out_of_order_rate else 0
        mine = [len(slots)]  # slots holding this event (original and exact duplicate)
        slots.append((i + delay + 0.1, rec))
        if rng.random() < opts.duplicate_rate:
            dup = Record(key=rec.key, value=rec.value, kind="duplicate", event=ev)
            mine.append(len(slots))
            slots.append((i + delay + rng.randint(1, 80) + 0.2, dup))
        if kinds and rng.random() < opts.malformed_rate:
            name = kinds[malformed_seen % len(kinds)]
            malformed_seen += 1
            if name in ACCEPTED_KINDS:
                key, value = ACCEPTED_KINDS[name](ev)
                for j in mine:
                    pos, r = slots[j]
                    slots[j] = (pos, Record(key=key, value=value, kind=r.kind, event=ev, accepted_kind=name))
                continue
            value, reason = QUARANTINED_KINDS[name](ev)
            key = None if name in ("plain_text", "json_scalar") else rec.key
            bad = Record(key=key, value=value, kind="malformed", expected_reason=reason, malformed_kind=name)
            # A conflicting copy must follow its original (same key, so same partition, later offset).
            slots.append((i + (delay + 0.3 if name == "conflicting_duplicate" else 0.3), bad))
    slots.sort(key=lambda s: s[0])
    records = [r for _, r in slots[:count]]
    # A duplicate must never precede its original: drop orphans created by the cut.
    sent_ids: set[str] = set()
    out = []
    for r in records:
        if r.kind == "event":
            sent_ids.add(r.event["event_id"])
        elif r.kind == "duplicate" and r.event["event_id"] not in sent_ids:
            r = Record(key=r.key, value=r.value, kind="event", event=r.event)
            sent_ids.add(r.event["event_id"])
        out.append(r)
    return out
