"""The event generator: deterministic, exact counts, truthful annotations."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

from datapipeline.events.generator import MALFORMED_KINDS, GeneratorOptions, generate


def test_same_seed_same_records_and_exact_count():
    a, b = generate(500, seed=1), generate(500, seed=1)
    assert len(a) == 500
    assert [(r.key, r.value) for r in a] == [(r.key, r.value) for r in b]
    assert [(r.key, r.value) for r in generate(500, seed=2)] != [(r.key, r.value) for r in a]


def test_duplicates_are_byte_identical_and_follow_their_original():
    records = generate(2000, seed=4, options=GeneratorOptions(duplicate_rate=0.1))
    first_seen: dict[str, int] = {}
    originals = {}
    for i, r in enumerate(records):
        if r.kind == "event":
            first_seen[r.event["event_id"]] = i
            originals[r.event["event_id"]] = r
        elif r.kind == "duplicate":
            eid = r.event["event_id"]
            assert first_seen[eid] < i
            assert (r.key, r.value, r.headers) == (originals[eid].key, originals[eid].value, originals[eid].headers)
    assert Counter(r.kind for r in records)["duplicate"] > 100


def test_valid_events_honour_the_contract():
    for r in generate(1000, seed=6):
        if r.kind == "malformed":
            continue
        ev = json.loads(r.value)
        total = sum(Decimal(str(i["unit_price"])) * i["quantity"] for i in ev["items"])
        assert Decimal(str(ev["amount"])) == total.quantize(Decimal("0.01"))
        assert r.key == ev["order_id"].encode()


def test_every_malformed_kind_is_generated_and_annotated():
    records = generate(3000, seed=8, options=GeneratorOptions(malformed_rate=0.03))
    bad = [r for r in records if r.kind == "malformed"]
    assert {r.malformed_kind for r in bad} == set(MALFORMED_KINDS)
    assert all(r.expected_reason for r in bad)
    assert len({r.expected_reason for r in bad}) >= 10


def test_extra_field_appears_from_the_given_event_on():
    records = generate(300, seed=2, options=GeneratorOptions(extra_field_from=100, malformed_rate=0))
    with_channel = [r for r in records if r.kind == "event" and "channel" in json.loads(r.value)]
    assert 150 < len(with_channel) < 210
