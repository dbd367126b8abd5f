"""The continuous app under the supervisor: submitted when missing, left alone while running,
resubmitted after a kill -9, and it keeps landing new records in bronze."""

from __future__ import annotations

import os
import signal
import time

import pytest

from datapipeline import lake as lake_io
from datapipeline.events.generator import generate
from datapipeline.lake_cli import lake_from_env
from datapipeline.producer import produce
from datapipeline.supervisor import supervise_local

pytestmark = [pytest.mark.services, pytest.mark.slow]


def bronze_count(platform) -> int:
    lake, s3 = lake_from_env(platform.client_env())
    try:
        return lake_io.query(lake.table("bronze"), s3, "SELECT count(*) AS n FROM t")[0]["n"]
    except Exception:  # the table does not exist before the first micro-batch
        return 0


def wait_for_bronze(platform, at_least: int, timeout_s: float = 300) -> int:
    deadline = time.monotonic() + timeout_s
    while (n := bronze_count(platform)) < at_least and time.monotonic() < deadline:
        time.sleep(5)
    return n


def test_supervisor_submits_keeps_and_resubmits(platform):
    stream = platform.stream
    platform.create_topic("orders.events", partitions=3)
    try:
        assert supervise_local(stream).action == "submit"
        assert supervise_local(stream).action == "keep"
        first_pid = stream.process().pid

        before = bronze_count(platform)
        records = generate(500, seed=11)
        assert produce(records, platform.kafka_bootstrap, "orders.events").ok
        assert wait_for_bronze(platform, before + len(records)) == before + len(records)

        os.killpg(first_pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while stream.process() is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stream.status().state == "crashed"
        decision = supervise_local(stream)
        assert decision.action == "resubmit" and "FAILED" in decision.reason
        assert stream.process().pid != first_pid

        more = generate(300, seed=12)
        assert produce(more, platform.kafka_bootstrap, "orders.events").ok
        expected = before + len(records) + len(more)
        assert wait_for_bronze(platform, expected) == expected  # no loss, no duplicate after the kill
    finally:
        stream.stop()
    assert stream.process() is None
