"""`helm test` for datapipeline: produce events to Kafka, then wait until they are rows in Delta.

Runs in the Airflow image (which has the project and its clients installed): it produces with
datapipeline.producer and reads Delta with datapipeline.lake.delta_rs, like the project's tests. Env:
KAFKA_BOOTSTRAP_SERVERS, SMOKE_TOPIC, SMOKE_TABLE (s3://bucket/path), SMOKE_EVENTS, SMOKE_TIMEOUT_SECONDS,
AWS_ENDPOINT_URL (S3), AWS_REGION (default us-east-1), and S3_CREDENTIALS_DIR with the files accessKey and secretKey.
The ingest job has to run meanwhile (the Airflow `ingest` DAG, or `kubectl apply -f k8s/spark/ingest.yaml`).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from deltalake.exceptions import TableNotFoundError

from datapipeline.events.generator import GeneratorOptions, generate
from datapipeline.lake.delta_rs import query
from datapipeline.lake.s3 import S3Settings
from datapipeline.producer import produce


def main() -> int:
    topic = os.environ["SMOKE_TOPIC"]
    table = os.environ["SMOKE_TABLE"]
    count = int(os.environ.get("SMOKE_EVENTS", "20"))
    timeout = float(os.environ.get("SMOKE_TIMEOUT_SECONDS", "600"))
    # Only well-formed events, a fresh seed per run so the ids are new.
    clean = GeneratorOptions(duplicate_rate=0, out_of_order_rate=0, malformed_rate=0)
    records = generate(count, seed=time.time_ns() % 2**31, options=clean)
    ids = {r.event["event_id"] for r in records}

    result = produce(records, os.environ["KAFKA_BOOTSTRAP_SERVERS"], topic)
    if result.delivered != len(records):
        print(f"FAILED: only {result.delivered} of {len(records)} events were acknowledged: {result}", file=sys.stderr)
        return 1
    print(f"produced {len(ids)} events to {topic}; waiting up to {timeout:.0f}s for them in {table}")

    creds = Path(os.environ["S3_CREDENTIALS_DIR"])
    s3 = S3Settings(
        endpoint=os.environ["AWS_ENDPOINT_URL"],
        access_key=(creds / "accessKey").read_text().strip(),
        secret_key=(creds / "secretKey").read_text().strip(),
        region=os.environ.get("AWS_REGION", "us-east-1"),
    )
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline:
        try:
            found = ids & {row["event_id"] for row in query(table, s3, "SELECT event_id FROM t")}
        except TableNotFoundError:
            found = set()
        if found == ids:
            print(f"OK: all {len(ids)} events are in {table}")
            return 0
        print(f"{len(found)}/{len(ids)} events in {table} so far")
        time.sleep(10)
    missing = sorted(ids - found)
    print(f"FAILED: {len(missing)} of {len(ids)} events never reached {table}, e.g. {missing[:3]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
