"""The chart's `helm test` script (files/smoke_test.py) against the real local Kafka and MinIO.

On the cluster the ingest job turns the produced events into Delta rows; here the test plays that
part itself (reads the events back from Kafka and writes their ids as a Delta table), so what is
proven is the script's own logic: it produces through the project's producer, finds exactly its
events in Delta on S3, and fails with a message when they never arrive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import chartlib
import pytest
from arro3.core import Array, DataType, Table
from deltalake import write_deltalake
from kafka import KafkaConsumer

pytestmark = pytest.mark.services

SCRIPT = chartlib.CHART / "files" / "smoke_test.py"


def start(platform, tmp_path, topic: str, table: str, events: int, timeout: int) -> subprocess.Popen:
    creds = tmp_path / "credentials"
    creds.mkdir(exist_ok=True)
    (creds / "accessKey").write_text(platform.s3_access_key)
    (creds / "secretKey").write_text(platform.s3_secret_key)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": platform.kafka_bootstrap,
        "SMOKE_TOPIC": topic,
        "SMOKE_TABLE": table,
        "SMOKE_EVENTS": str(events),
        "SMOKE_TIMEOUT_SECONDS": str(timeout),
        "AWS_ENDPOINT_URL": platform.s3_endpoint,
        "S3_CREDENTIALS_DIR": str(creds),
    }
    return subprocess.Popen(
        [sys.executable, str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def ids_table(ids: list[str]) -> Table:
    return Table.from_arrays([Array(ids, DataType.string())], names=["event_id"])


def storage(platform) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": platform.s3_endpoint,
        "AWS_ACCESS_KEY_ID": platform.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": platform.s3_secret_key,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }


def test_passes_when_its_events_land_in_delta(platform, tmp_path):
    run = uuid.uuid4().hex[:8]
    topic, table = f"smoke-{run}", f"s3://{platform.lake_bucket}/smoke-{run}/events"
    assert platform.create_topic(topic, partitions=1)
    proc = start(platform, tmp_path, topic, table, events=10, timeout=120)

    consumer = KafkaConsumer(
        topic, bootstrap_servers=platform.kafka_bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=1000
    )
    ids: list[str] = []
    deadline = time.monotonic() + 60
    while len(ids) < 10 and time.monotonic() < deadline:
        ids += [json.loads(m.value)["event_id"] for m in consumer]
    consumer.close()
    assert len(ids) == 10, f"the script produced {len(ids)} events"

    # What the ingest job would write: the events (plus an unrelated older row).
    write_deltalake(table, ids_table(["older-event", *ids]), storage_options=storage(platform))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "OK: all 10 events are in" in out


def test_fails_with_a_message_when_events_never_arrive(platform, tmp_path):
    run = uuid.uuid4().hex[:8]
    topic, table = f"smoke-{run}", f"s3://{platform.lake_bucket}/smoke-{run}/events"
    assert platform.create_topic(topic, partitions=1)
    # a table exists, but holds none of this run's events
    write_deltalake(table, ids_table(["someone-else"]), storage_options=storage(platform))
    proc = start(platform, tmp_path, topic, table, events=5, timeout=12)
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 1, out
    assert "FAILED: 5 of 5 events never reached" in out
