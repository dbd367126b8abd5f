"""`task bench` stopped with a plain `kill` stops its private platform instead of orphaning it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

# `task bench` starts a private platform of its own (ZooKeeper, Kafka, MinIO).
pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_sigterm_stops_the_private_platform(tmp_path: Path):
    cmd = [sys.executable, "-u", "-m", "datapipeline.bench", "--records", "1000", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, pids = [], []
    deadline = time.monotonic() + 180
    try:
        for line in proc.stdout:
            lines.append(line)
            pids += [int(p) for p in re.findall(r"healthy in [\d.]+s \(pid (\d+)\)", line)]
            if "platform: done" in line or time.monotonic() > deadline:
                break
        assert len(pids) == 3, "".join(lines)  # zookeeper, kafka, minio
        os.kill(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines.append(out)
    assert proc.returncode == 128 + signal.SIGTERM, "".join(lines)
    assert "platform stop: done" in out, "".join(lines)
    assert [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE] == []
