"""The continuous apps under the supervisor (one per query: ingest-stream-bronze, -refine):
submitted when missing, left alone while running, refine's at a lower CPU priority; bronze keeps
landing new records while refine is dead; refine is resubmitted after a kill -9 and catches up."""

from __future__ import annotations

import os
import signal
import time

import pytest

from datapipeline.events.generator import generate
from datapipeline.lake import delta_rs
from datapipeline.lake.checkpoints import refined_up_to
from datapipeline.lake.cli import lake_from_env
from datapipeline.producer import produce
from datapipeline.supervisor import REFINE_NICE, supervise_local

pytestmark = [pytest.mark.services, pytest.mark.jvm, pytest.mark.slow]  # Spark jobs via spark-submit


def bronze_count(platform) -> int:
    lake, s3 = lake_from_env(platform.client_env())
    try:
        return delta_rs.query(lake.table("bronze"), s3, "SELECT count(*) AS n FROM t")[0]["n"]
    except Exception:  # the table does not exist before the first micro-batch
        return 0


def wait_for_bronze(platform, at_least: int, timeout_s: float = 300) -> int:
    deadline = time.monotonic() + timeout_s
    while (n := bronze_count(platform)) < at_least and time.monotonic() < deadline:
        time.sleep(5)
    return n


def refined_all_of_bronze(platform, timeout_s: float = 300) -> bool:
    """Whether the refine app reaches bronze's current version within ``timeout_s``."""
    lake, s3 = lake_from_env(platform.client_env())
    target = delta_rs.open_table(lake.table("bronze"), s3).version()
    deadline = time.monotonic() + timeout_s
    while not refined_up_to(lake.checkpoint(), s3, target):
        if time.monotonic() > deadline:
            return False
        time.sleep(5)
    return True


def test_supervisor_runs_bronze_and_refine_as_two_apps(platform):
    bronze_app, refine_app = platform.streams
    assert (bronze_app.query, refine_app.query) == ("bronze", "refine")
    platform.create_topic("orders.events", partitions=3)
    try:
        assert [supervise_local(s).action for s in platform.streams] == ["submit", "submit"]
        assert [supervise_local(s).action for s in platform.streams] == ["keep", "keep"]
        assert bronze_app.process().nice() == 0 and refine_app.process().nice() == REFINE_NICE

        before = bronze_count(platform)
        records = generate(500, seed=11)
        assert produce(records, platform.kafka_bootstrap, "orders.events").ok
        assert wait_for_bronze(platform, before + len(records)) == before + len(records)
        assert refined_all_of_bronze(platform)

        first_pid = refine_app.process().pid
        os.killpg(first_pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while refine_app.process() is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert refine_app.status().state == "crashed"
        # Bronze does not depend on refine: new records land while refine is dead.
        more = generate(300, seed=12)
        assert produce(more, platform.kafka_bootstrap, "orders.events").ok
        expected = before + len(records) + len(more)
        assert wait_for_bronze(platform, expected) == expected  # no loss, no duplicate
        assert supervise_local(bronze_app).action == "keep"
        decision = supervise_local(refine_app)
        assert decision.action == "resubmit" and "FAILED" in decision.reason
        assert refine_app.process().pid != first_pid
        assert refined_all_of_bronze(platform)  # the resubmitted refine catches up
        assert bronze_count(platform) == expected
    finally:
        for app in platform.streams:
            app.stop()
    assert all(app.process() is None for app in platform.streams)
