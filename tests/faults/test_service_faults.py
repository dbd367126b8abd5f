"""A Kafka broker, ZooKeeper and MinIO each crash (kill -9 of the server's process group) and
come back while the continuous ingestion is consuming; nothing is lost or duplicated.

The ingestion runs as in production: the supervised ``ingest-stream-bronze`` and
``ingest-stream-refine`` apps (spark-submit of the SparkApplication spec with the processingTime
trigger, 2 s here, one query each), kept alive by :func:`datapipeline.supervisor.supervise_local`
— the test calls it every second where the ``streaming_supervisor`` DAG calls it every 5 minutes.
The crashed server stays down for ``OUTAGE_S`` and is then started again (again after a failed
start, as a pod restart policy would). Records are produced before the fault, and after it —
during the outage for ZooKeeper and MinIO (Kafka keeps taking records without ZooKeeper; MinIO's
outage then hits a running batch), after the restart for Kafka. Recovery time: fault injected ->
the first record produced after the fault is committed in bronze.
"""

from __future__ import annotations

import threading
import time

import faultreport
import pytest
from faultlib import LakeWatcher, lake_streams, reconcile_lake, start_until_healthy, tail, wait_until

from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.producer import produce
from datapipeline.supervisor import supervise_local
from reconcile import delta_rs_count

pytestmark = [pytest.mark.services, pytest.mark.slow]

OUTAGE_S = 5.0
BEFORE, AFTER = 400, 400
# service -> (seed, produce the second part during the outage?)
FAULTS = {"kafka": (31, False), "zookeeper": (32, True), "minio": (33, True)}


def bronze_rows(lake) -> int:
    try:
        return delta_rs_count(lake.lake.table("bronze"), lake.s3)
    except Exception:  # MinIO down, or the table not created yet
        return -1


class FirstNewRow(threading.Thread):
    """Polls bronze from the moment of the fault and notes when it first has more than ``base`` rows."""

    def __init__(self, lake, base: int) -> None:
        super().__init__(daemon=True)
        self.lake, self.base, self.at = lake, base, None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and self.at is None:
            if bronze_rows(self.lake) > self.base:
                self.at = time.monotonic()
            self.done.wait(0.5)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("name", list(FAULTS))
def test_service_crash_under_continuous_ingestion(name, platform, lake, lake_spark, healed):
    seed, during_outage = FAULTS[name]
    options = GeneratorOptions(duplicate_rate=0.05, out_of_order_rate=0.05, malformed_rate=0.04)
    records = generate(BEFORE + AFTER, seed=seed, options=options)
    first, second = records[:BEFORE], records[BEFORE:]
    service = platform.select([name])[0]
    streams = lake_streams(platform, lake)
    resubmits: list[str] = []
    watcher = FirstNewRow(lake, BEFORE)
    watch = LakeWatcher(lake.lake, lake.s3)
    try:
        assert [supervise_local(stream).action for stream in streams] == ["submit", "submit"]
        assert produce(first, platform.kafka_bootstrap, lake.topic).delivered == BEFORE
        wait_until(lambda: bronze_rows(lake) == BEFORE, 300, f"{BEFORE} rows in bronze before the fault")
        # and every table written, so the fault does not also cut a batch short (the driver kill does that)
        wait_until(watch.settled, 120, "both queries settled")

        faulted = time.monotonic()
        service.kill()
        watcher.start()
        if during_outage:
            assert produce(second, platform.kafka_bootstrap, lake.topic).delivered == AFTER
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - faulted)))
        attempts = start_until_healthy(service)
        back = time.monotonic()
        if not during_outage:
            assert produce(second, platform.kafka_bootstrap, lake.topic).delivered == AFTER

        def caught_up() -> bool:  # every record in bronze, and refine has written all of bronze
            try:
                return bronze_rows(lake) == BEFORE + AFTER and watch.settled()
            except Exception:  # MinIO not answering yet
                return False

        deadline = time.monotonic() + 300
        while not caught_up():
            n = bronze_rows(lake)
            logs = "; ".join(f"{stream.name} log: {tail(stream.log_file)}" for stream in streams)
            assert time.monotonic() < deadline, f"bronze stuck at {n} rows; {logs}"
            for stream in streams:
                decision = supervise_local(stream)
                if decision.action != "keep":
                    resubmits.append(f"{stream.name}: {decision.reason}")
            time.sleep(1)
        all_in = time.monotonic()
        watcher.join(timeout=10)
        first_new = watcher.at or all_in
        assert all(stream.process() is not None for stream in streams), "the streams must still be running"
    finally:
        watcher.done.set()
        for stream in streams:
            stream.stop()

    result = reconcile_lake(lake_spark, lake.lake, lake.s3, records)
    by = (
        f"supervisor resubmitted {', '.join(sorted({r.split(':')[0] for r in resubmits}))}"
        if resubmits
        else "the running streams themselves (client retries, no resubmit)"
    )
    faultreport.record(
        faultreport.FaultResult(
            fault=f"{name} restart (crash)",
            injected=f"kill -9 of the {name} process group, down {OUTAGE_S:.0f} s, then started"
            + (f" ({attempts} start attempts)" if attempts > 1 else ""),
            recovered_by=by + (f" ({len(resubmits)}x)" if resubmits else ""),
            recovery_s=round(first_new - faulted, 1),
            measured="fault -> first new row in bronze",
            lost=result.lost,
            duplicated=result.duplicated,
            notes=f"{name} back after {back - faulted:.1f} s; all {AFTER} new records in bronze after "
            f"{all_in - faulted:.1f} s; {AFTER} produced {'during the outage' if during_outage else 'after restart'}",
        )
    )
    assert result.problems == [], result.problems
    assert (result.lost, result.duplicated) == (0, 0)
