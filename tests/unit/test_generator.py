"""The event generator: deterministic, exact counts, truthful annotations."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

from datapipeline.events.contract import MAX_VALUE_BYTES
from datapipeline.events.generator import (
    ACCEPTED_KINDS,
    HOSTILE_KINDS,
    MALFORMED_KINDS,
    QUARANTINED_KINDS,
    GeneratorOptions,
    generate,
)


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


def test_hostile_corpus_kinds_are_all_generated_and_annotated():
    records = generate(1500, seed=13, options=GeneratorOptions(kinds=HOSTILE_KINDS, malformed_rate=0.1))
    quarantined = {r.malformed_kind for r in records if r.kind == "malformed"}
    accepted = {r.accepted_kind for r in records if r.accepted_kind}
    assert quarantined == set(QUARANTINED_KINDS) and accepted == set(ACCEPTED_KINDS)
    assert len(HOSTILE_KINDS) >= 20 + len(ACCEPTED_KINDS)
    for r in records:
        if r.kind == "malformed":
            assert r.expected_reason and r.event is None
        else:
            assert r.expected_reason is None and r.event["event_id"]
    big = [r for r in records if r.malformed_kind == "value_too_large"]
    assert big and all(len(r.value) > MAX_VALUE_BYTES for r in big)
    assert all(r.key is None for r in records if r.accepted_kind == "null_key")


def test_conflicting_duplicate_follows_its_original_with_the_same_key():
    records = generate(1500, seed=13, options=GeneratorOptions(kinds=("conflicting_duplicate",), malformed_rate=0.1))
    originals: dict[str, int] = {}
    conflicts = 0
    for i, r in enumerate(records):
        if r.kind == "event":
            originals[r.event["event_id"]] = i
        elif r.malformed_kind == "conflicting_duplicate":
            ev = json.loads(r.value)
            first = records[originals[ev["event_id"]]]
            assert first.key == r.key and first.value != r.value
            assert ev["customer"] != first.event["customer"]
            conflicts += 1
    assert conflicts > 100


def test_default_mix_has_no_oversized_or_accepted_kinds():
    records = generate(3000, seed=8, options=GeneratorOptions(malformed_rate=0.05))
    assert not any(r.accepted_kind for r in records)
    assert max(len(r.value or b"") for r in records) < 10_000


def test_chunks_with_their_own_first_order_share_no_order_or_event():
    first = generate(500, seed=1)
    second = generate(500, seed=2, options=GeneratorOptions(first_order=1_000_000))
    orders = [{r.event["order_id"] for r in chunk if r.event} for chunk in (first, second)]
    events = [{r.event["event_id"] for r in chunk if r.event} for chunk in (first, second)]
    assert min(orders[1]) == "ord-1000000" and max(orders[0]) < "ord-1000000"
    assert not orders[0] & orders[1] and not events[0] & events[1]
