"""A deterministic corpus of raw record values for the parser: the hostile generator corpus,
generated valid events, and fuzzed mutations (number spellings, escapes, duplicate keys, nesting
at the limit, trailing data, whitespace, BOM, invalid UTF-8, nulls and wrong types for every
field, extras of every JSON type). ``tests/unit/test_parse_golden.py`` checks the parser against
the outputs recorded for it."""

from __future__ import annotations

import json
import random

from datapipeline.events.contract import MAX_NESTING_DEPTH, MAX_VALUE_BYTES
from datapipeline.events.generator import HOSTILE_KINDS, GeneratorOptions, generate

BASE = (
    b'{"schema_version":1,"event_id":"e-1","order_id":"o-1","event_type":"paid",'
    b'"event_time":"2026-01-01T10:15:30.250Z","customer":{"customer_id":"c-1","country":"DE"},'
    b'"amount":25.5,"currency":"EUR","items":[{"sku":"a","quantity":2,"unit_price":10.0},'
    b'{"sku":"b","quantity":1,"unit_price":5.5}]}'
)

NUMBERS = [
    b"1",
    b"0",
    b"-0",
    b"-1",
    b"1.0",
    b"1.00",
    b"1.000",
    b"0.10",
    b"0.1",
    b"0.01",
    b"0.001",
    b"12.345",
    b"12.34",
    b"1e2",
    b"1E2",
    b"1e-2",
    b"1E-2",
    b"1.5e1",
    b"1e+2",
    b"-0.0",
    b"-0e0",
    b"0e0",
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"1.000000000000000000001",
    b"0.0000000000000000001",
    b"0.000000000000000000000",
    b"1.0000000000000000001",
    b"25.5000000000000000000",
    b"9999999999999999.99",
    b"10000000000000000",
    b"9999999999999999.994",
    b"9999999999999999.995",
    b"99999999999999999999.99",
    b"2147483647",
    b"2147483648",
    b"-2147483649",
    b"4294967297",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"123456789012345678901234567890123456789",
    b"12345678901234567890123456789012345678",
    b"1" + b"0" * 400,
    b"1" * 999,
    b"1" * 1001,
    b"0." + b"0" * 37 + b"1",
    b"0." + b"0" * 38 + b"1",
    b"25.50",
    b"25.5e0",
    b"2.55e1",
    b"255e-1",
    b"1.005",
    b"1.005e0",
    b"0.005",
    b"0.015",
    b"01",
    b"1.",
    b".5",
    b"+1",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"0x10",
    b"1_000",
]
STRINGS = [
    b'""',
    b'"a"',
    b'"\\u0000"',
    b'"a\\u001f"',
    b'"\\u007f"',
    b'"a\\u0080"',
    b'"\\ud800"',
    b'"\\udc00"',
    b'"\\ud83d\\ude00"',
    b'"\\uD83D\\uDE00"',
    b'"\\ud83d"',
    b'"\\ude00\\ud83d"',
    b'"\\\\ud800"',
    b'"\\\\\\ud800"',
    b'"\\\\\\udc00x"',
    b'"a\\tb"',
    b'"\\/"',
    b'"\\"q"',
    b'"\\x41"',
    b'"\\U0041"',
    b'"\x01"',
    b'"a\nb"',
    b'"\xc3\xa9"',
    b'"\xf0\x9f\x98\x80"',
    b'"\\u00e9"',
    b"'a'",
    b'"DE"',
    b'"DE\\n"',
    b'"de"',
    b'"D"',
    b'"DEU"',
    b'"paid"',
    b'"PAID"',
    b'"paid "',
    b'"EUR"',
    b'"EUR\\n"',
    b'"XYZ"',
    b'"1"',
    b'"12.5"',
    b'"true"',
]
TIMES = [
    b'"2026-01-01T10:15:30Z"',
    b'"2026-01-01T10:15:30.123456789Z"',
    b'"2026-01-01T10:15:30.1234567891Z"',
    b'"2026-01-01T10:15:30+01:00"',
    b'"2026-01-01T10:15:30-18:00"',
    b'"2026-01-01T10:15:30+18:00"',
    b'"2026-01-01T10:15:30+18:01"',
    b'"2026-01-01T10:15:30+19:00"',
    b'"2026-01-01T10:15:30+01:60"',
    b'"2026-01-01T10:15:30+00:00"',
    b'"2026-01-01T10:15:30-00:00"',
    b'"2026-02-29T10:15:30Z"',
    b'"2024-02-29T10:15:30Z"',
    b'"2026-04-31T10:15:30Z"',
    b'"2026-01-01T24:00:00Z"',
    b'"2026-01-01T23:59:60Z"',
    b'"2026-01-01T10:15:30Z\\n"',
    b'"2026-01-01T10:15:30z"',
    b'"2026-01-01t10:15:30Z"',
    b'"2000-01-01T00:00:00Z"',
    b'"1999-12-31T23:59:59.999999Z"',
    b'"2000-01-01T01:00:00+01:00"',
    b'"2000-01-01T00:59:59+01:00"',
    b'"2100-01-01T00:00:00Z"',
    b'"2100-01-01T00:00:00.000001Z"',
    b'"2099-12-31T23:00:00-01:00"',
    b'"2099-12-31T23:00:00.1-01:00"',
    b'"2026-1-01T10:15:30Z"',
    b'"2026-01-01T10:15:30.Z"',
    b'"+2026-01-01T10:15:30Z"',
    b'"2026-01-01T10:15:30+0100"',
    b'"2026-00-10T10:15:30Z"',
    b'"2026-01-00T10:15:30Z"',
    b'"\\u0032026-01-01T10:15:30Z"',
    b'"2026-01-01T10:15:30\\u005a"',
]
OTHERS = [
    b"null",
    b"true",
    b"false",
    b"[]",
    b"{}",
    b"[1]",
    b'{"a":1}',
    b'[{"a":[1,{"b":null}]}]',
    b'{"a":1,"a":1}',
    b'{"x":{"y":1,"y":2}}',
    b"[1,]",
    b"{,}",
    b"tru",
    b"nul",
]
LITERALS = NUMBERS + STRINGS + TIMES + OTHERS
TOP_FIELDS = (
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


def _event(**raw: bytes | None) -> bytes:
    """BASE with top-level fields replaced by raw JSON (None: removed); unknown names are appended."""
    ev = json.loads(BASE)
    parts = []
    for key in ev:
        if key in raw:
            if raw[key] is not None:
                parts.append(json.dumps(key).encode() + b":" + raw[key])
        else:
            parts.append(json.dumps(key).encode() + b":" + json.dumps(ev[key], separators=(",", ":")).encode())
    for key, value in raw.items():
        if key not in ev and value is not None:
            parts.append(json.dumps(key).encode() + b":" + value)
    return b"{" + b",".join(parts) + b"}"


def _items(*items: bytes) -> bytes:
    return b"[" + b",".join(items) + b"]"


def _item(sku: bytes = b'"a"', quantity: bytes = b"1", price: bytes = b"25.5") -> bytes:
    return b'{"sku":' + sku + b',"quantity":' + quantity + b',"unit_price":' + price + b"}"


def _nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


def _objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def fuzz_cases() -> list[bytes]:
    cases: list[bytes] = []
    # Every literal in every top-level field, and removed / null.
    for field in TOP_FIELDS:
        cases.append(_event(**{field: None}))
        for lit in LITERALS:
            cases.append(_event(**{field: lit}))
    # Customer fields.
    for lit in [*STRINGS, *OTHERS, *NUMBERS[:10]]:
        cases.append(_event(customer=b'{"customer_id":' + lit + b',"country":"DE"}'))
        cases.append(_event(customer=b'{"customer_id":"c","country":' + lit + b"}"))
    cases.append(_event(customer=b'{"country":"DE"}'))
    cases.append(_event(customer=b'{"customer_id":"c"}'))
    cases.append(_event(customer=b'{"customer_id":"c","country":"DE","customer_id":"d"}'))
    cases.append(_event(customer=b'{"customer_id":"c","country":"DE","x":[1,{"y":2}]}'))
    # Items: every literal as sku, quantity and price, with the amount it would need.
    for lit in LITERALS:
        cases.append(_event(items=_items(_item(sku=lit))))
        cases.append(_event(items=_items(_item(quantity=lit)), amount=lit if lit in NUMBERS else b"25.5"))
        cases.append(_event(items=_items(_item(price=lit)), amount=lit))
        cases.append(_event(items=_items(_item(price=lit)), amount=b"25.5"))
        cases.append(_event(items=_items(_item(), lit)))
    for price, amount in [
        (b"0.1", b"0.3"),
        (b"0.10", b"0.30"),
        (b"1e-2", b"0.03"),
        (b"3.33", b"9.99"),
        (b"3.335", b"10.01"),
        (b"9999999999999999.99", b"9999999999999999.99"),
        (b"5000000000000000", b"9999999999999999.99"),
    ]:
        cases.append(_event(items=_items(_item(price=price, quantity=b"3")), amount=amount))
        cases.append(_event(items=_items(_item(price=price), _item(price=price), _item(price=price)), amount=amount))
    cases.append(_event(items=_items(_item(price=b"1000000000000000", quantity=b"2147483647")), amount=b"1"))
    cases.append(_event(items=_items(_item(price=b"5000000000000000"), _item(price=b"5000000000000000")), amount=b"1"))
    cases.append(_event(items=_items(_item(price=b"99999999999999.99", quantity=b"2147483647")), amount=b"0"))
    cases.append(_event(items=b'[{"sku":"a","quantity":1,"unit_price":25.5,"extra":{"x":1}}]'))
    cases.append(_event(items=b'[{"SKU":"a","quantity":1,"unit_price":25.5}]'))
    cases.append(_event(items=b'[{"sku":"a","quantity":1}]'))
    cases.append(_event(items=b'[{"sku":"a","quantity":1,"unit_price":25.5,"sku":"b"}]'))
    # Extras of every kind.
    for lit in LITERALS:
        cases.append(_event(x=lit))
        cases.append(_event(x=b'{"k":' + lit + b',"a":[' + lit + b"]}"))
    cases.append(_event(**{"z": b"1", "a": b'"s"', "\\u00e9": b"2", "B": b"null", "é": b"3"}))
    cases.append(_event(x=b'{"b":1,"a":2,"\\u00e9":3,"Z":[true,false,null]}'))
    cases.append(_event(x=b'"\\u2028\\u00e9\\ud83d\\ude00\\"\\\\/\\b\\f\\n\\r\\t"'))
    cases.append(_event(**{"": b"1"}))
    cases.append(_event(**{"schema_version ": b"1"}))
    cases.append(_event(**{"\\u0061mount": b"1"}))
    cases.append(_event(**{"amount": b"25.5", "\\u0061mount": b"25.5"}))
    # Nesting at the limit, in extras (arrays and objects) and as the whole value.
    for depth in (MAX_NESTING_DEPTH - 2, MAX_NESTING_DEPTH - 1, MAX_NESTING_DEPTH, MAX_NESTING_DEPTH + 1, 1001, 1002):
        cases.append(_event(x=_nested(depth)))
        cases.append(_event(x=_objects(depth)))
        cases.append(_nested(depth))
        cases.append(_objects(depth))
    # Whole-value structure: trailing data, whitespace, BOM, encodings, empty.
    for prefix, suffix in [
        (b"", b" "),
        (b" \t\r\n", b"\n\r\t "),
        (b"", b"\x00"),
        (b"", b"x"),
        (b"", b"{}"),
        (b"", b"]"),
        (b"", b"}"),
        (b"", b",1"),
        (b"[", b"]"),
        (b"", b" // c"),
        (b"", b"/* c */"),
        (b"\xef\xbb\xbf", b""),
        (b" \xef\xbb\xbf", b""),
        (b"\x0c", b""),
        (b"", b"\x0b"),
        (b"\xc2\xa0", b""),
        (b"", b"\xc2\xa0"),
        (b"", b"\xff"),
        (b"", b"\xc0\xaf"),
        (b"", b"\xe0\x80\xaf"),
        (b"", b"\xed\xa0\x80"),
        (b"", b"\xed\xa0\xbd\xed\xb8\x80"),
        (b"", b"\xf4\x90\x80\x80"),
        (b"", b"\xf8\x88\x80\x80\x80"),
        (b"", b"\x80"),
        (b"", b"\xc3"),
    ]:
        cases.append(prefix + BASE + suffix)
    cases += [b"", b" ", b"\n", b"\xef\xbb\xbf", b"null", b"1", b'"s"', b"[]", b"{}", b"{} {}", b"{}{}", b'{"a":1}']
    cases.append(b'{"a":' + b"\xc0\xaf" + b"}")
    cases.append(_event(x=b'"\xed\xa0\x80"'))
    cases.append(_event(x=b'"\xed\xa0\xbd\xed\xb8\x80"'))
    cases.append(_event(x=b'"\xf0\x9f\x98"'))
    # Sizes at the limit.
    pad = MAX_VALUE_BYTES - len(_event(x=b'""'))
    for extra in (-1, 0, 1):
        cases.append(_event(x=b'"' + b"p" * (pad + extra) + b'"'))
    cases.append(_event(**{"k" * 60000: b"1"}))
    cases.append(_event(x=b'"' + b"p" * 60000 + b'"'))
    # Random byte-level mutations of valid events.
    rng = random.Random(7)  # noqa: S311  (a fixed corpus, not a secret)
    valid = [r.value for r in generate(200, seed=5) if r.value]
    for i in range(2500):
        base = bytearray(rng.choice(valid) if i % 2 else BASE)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(base))
            op = rng.randrange(4)
            byte = rng.choice(b'{}[]",:.-+eE0123456789 \\ua\x00\x7f\xff\xc3')
            if op == 0:
                base[pos] = byte
            elif op == 1:
                base.insert(pos, byte)
            elif op == 2:
                del base[pos]
            else:
                j = rng.randrange(len(base))
                base[pos], base[j] = base[j], base[pos]
        cases.append(bytes(base))
    return cases


def corpus() -> list[bytes | None]:
    hostile = GeneratorOptions(kinds=HOSTILE_KINDS, malformed_rate=0.2, duplicate_rate=0.05, out_of_order_rate=0.05)
    values: list[bytes | None] = [None]
    values += [r.value for r in generate(500, seed=31, options=hostile)]
    values += [r.value for r in generate(300, seed=11)]
    values += fuzz_cases()
    return values
