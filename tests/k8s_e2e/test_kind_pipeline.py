"""On the kind cluster of `task k8s:up`: a known batch in, `kubectl apply -f k8s/spark/ingest.yaml`,
every table reconciled exactly, then `helm test datapipeline`.

The batch is made by the project's generator and producer (valid, duplicate, late and hostile
records) and sent from the host to the cluster's Kafka through kind's port mapping
(127.0.0.1:31092). The SparkApplication is the committed manifest, applied unchanged, as a user
would. The tables are read from the cluster's MinIO through `kubectl port-forward` with delta-rs,
and reconciled by the same independent expectations as the local end-to-end test
(tests/reconcile.py): bronze by (partition, offset), quarantine by reason, silver by event_id and
order, gold by value.
"""

from __future__ import annotations

import itertools
import subprocess
import time
from collections import Counter

import kindlib
import pytest

from datapipeline.events.generator import MALFORMED_KINDS, GeneratorOptions, generate
from datapipeline.lake.layout import TABLES, Lake
from datapipeline.producer import produce
from reconcile import (
    GOLD_SQL,
    ORDERS_SQL,
    delta_rs_rows,
    expected_gold,
    expected_orders,
    expected_reasons,
    gold_as_tuples,
    orders_as_tuples,
    unique_events,
)

N = 900  # the local end-to-end test's batch (tests/ingest/test_ingest_e2e.py): seed 7 covers every kind
OPTIONS = GeneratorOptions(duplicate_rate=0.06, out_of_order_rate=0.08, malformed_rate=0.05)
LAKE = Lake("s3://lake/orders")  # the manifest's DP_LAKE_ROOT (s3a://lake/orders), read by delta-rs


@pytest.fixture(scope="module")
def s3():
    with kindlib.minio_port_forward() as settings:
        yield settings


@pytest.fixture(scope="module")
def batch(s3):
    """A clean slate (no app, no lake, an empty topic), then the known batch produced from the host."""
    kindlib.delete_application("ingest")
    kindlib.wipe_lake(s3, LAKE)
    kindlib.reset_topic(kindlib.TOPIC, partitions=3)
    records = generate(N, seed=7, options=OPTIONS)
    result = produce(records, kindlib.HOST_BOOTSTRAP, kindlib.TOPIC)
    assert result.ok and result.delivered == N, result.errors
    return records


def test_the_batch_covers_every_kind(batch):
    kinds = Counter(r.kind for r in batch)
    assert kinds["duplicate"] >= 20 and kinds["malformed"] >= 21
    assert {r.malformed_kind for r in batch if r.kind == "malformed"} == set(MALFORMED_KINDS)
    late = sum(
        1 for a, b in itertools.pairwise(batch) if a.event and b.event and b.event["event_time"] < a.event["event_time"]
    )
    assert late >= 20


@pytest.mark.timeout(2400)  # a Spark job on a 2-core kind node: ~10 min seen
def test_spark_application_lands_every_record_exactly_once(batch, s3):
    started = time.monotonic()
    state = kindlib.apply_and_wait(kindlib.ROOT / "k8s/spark/ingest.yaml", "ingest", timeout_s=20 * 60)
    print(f"SparkApplication ingest: {state} in {time.monotonic() - started:.0f}s")
    assert state == "COMPLETED"
    t = LAKE.tables

    # bronze: every record once, by its Kafka coordinates, on all three partitions.
    bronze = delta_rs_rows(t["bronze"], s3, 'SELECT partition, "offset" FROM {table}')
    coords = Counter((r["partition"], r["offset"]) for r in bronze)
    assert len(bronze) == N and len(coords) == N
    ends = kindlib.end_offsets(kindlib.TOPIC)
    assert coords.keys() == {(p, o) for p, end in ends.items() for o in range(end)}
    assert sum(ends.values()) == N

    # quarantine: exactly the hostile records, each with the reason the generator declared.
    reasons = Counter(r["reason"] for r in delta_rs_rows(t["quarantine"], s3, "SELECT reason FROM {table}"))
    assert reasons == expected_reasons(batch)

    # silver: each event once by event_id; orders as computed independently from what was sent.
    events = unique_events(batch)
    silver_ids = [r["event_id"] for r in delta_rs_rows(t["silver_events"], s3, "SELECT event_id FROM {table}")]
    assert len(silver_ids) == len(events) and set(silver_ids) == set(events)
    assert orders_as_tuples(delta_rs_rows(t["silver_orders"], s3, ORDERS_SQL)) == expected_orders(batch)

    # gold: revenue per minute and currency, by value.
    assert gold_as_tuples(delta_rs_rows(t["gold_revenue"], s3, GOLD_SQL)) == expected_gold(batch)
    assert set(TABLES) == set(t)


@pytest.mark.timeout(2400)
def test_helm_test_passes(batch, s3):
    """`helm test` produces its own events and waits for them in silver: run the ingest app again
    while it waits (the chart never runs jobs by itself)."""
    helm = subprocess.Popen(
        [kindlib.HELM, "test", "datapipeline", "--namespace", kindlib.NS, "--kube-context", kindlib.CONTEXT,
         "--timeout", "30m", "--logs"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        kindlib.wait_for_log("datapipeline-smoke-test", "produced", timeout_s=300)
        kindlib.delete_application("ingest")
        assert (
            kindlib.apply_and_wait(kindlib.ROOT / "k8s/spark/ingest.yaml", "ingest", timeout_s=15 * 60) == "COMPLETED"
        )
        out, _ = helm.communicate(timeout=30 * 60)
    finally:
        if helm.poll() is None:
            helm.kill()
    assert helm.returncode == 0, out
    assert "OK: all" in out
