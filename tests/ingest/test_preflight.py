"""Unreachable Kafka or S3, a missing bucket, wrong credentials: one clear error line naming
what and where (checked against the real platform and against closed ports)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from datapipeline.lake.s3 import S3Settings
from datapipeline.paths import PROJECT_ROOT
from datapipeline.preflight import PreflightError, check_kafka, check_s3

pytestmark = pytest.mark.services


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_s3_problems_are_named(s3, platform):
    check_s3(s3, platform.lake_bucket)  # the good case passes
    wrong = S3Settings(s3.endpoint, s3.access_key, "not-the-secret")
    with pytest.raises(PreflightError, match=r"S3 credentials rejected by http://127\.0\.0\.1:\d+"):
        check_s3(wrong, platform.lake_bucket)
    with pytest.raises(PreflightError, match="S3 bucket 'no-such-bucket' does not exist at http://"):
        check_s3(s3, "no-such-bucket")
    down = S3Settings(f"http://127.0.0.1:{closed_port()}", "a", "b")
    with pytest.raises(PreflightError, match=r"S3 endpoint http://127\.0\.0\.1:\d+ not reachable"):
        check_s3(down, platform.lake_bucket, timeout_s=2)


def test_kafka_problems_are_named(platform):
    platform.create_topic("orders.preflight", 1)
    check_kafka(platform.kafka_bootstrap, "orders.preflight")
    with pytest.raises(PreflightError, match=r"Kafka topic 'absent' does not exist at 127\.0\.0\.1:\d+"):
        check_kafka(platform.kafka_bootstrap, "absent")
    with pytest.raises(PreflightError, match=r"Kafka not reachable at 127\.0\.0\.1:\d+"):
        check_kafka(f"127.0.0.1:{closed_port()}", "orders.preflight", timeout_s=2)


def run_job(env: dict[str, str], timeout_s: float) -> subprocess.CompletedProcess:
    """``spark_apps/ingest.py`` with only ``env`` (and a minimal PATH), output captured."""
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "spark_apps" / "ingest.py")],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_job_exits_with_one_line_on_wrong_credentials(lake):
    proc = run_job({**lake.env(), "DP_S3_SECRET_KEY": "wr0ng-s3cret-xyz"}, timeout_s=60)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ingest: error:")]
    assert len(errors) == 1 and "S3 credentials rejected" in errors[0], proc.stderr
    assert "wr0ng-s3cret-xyz" not in proc.stderr  # the secret is never echoed
