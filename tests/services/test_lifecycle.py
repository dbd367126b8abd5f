"""Start/stop/restart behaviour: no orphan processes, data kept, clear errors."""

from __future__ import annotations

import io
import os
import signal
import socket
import time

import psutil
import pytest

from datapipeline.local.cli import status_table
from datapipeline.local.platform import CORE
from datapipeline.local.service import ServiceError

pytestmark = pytest.mark.services


def process_tree(pid: int) -> list[int]:
    proc = psutil.Process(pid)
    return [pid, *(c.pid for c in proc.children(recursive=True))]


def test_down_leaves_no_process_and_up_keeps_data(own_platform):
    plat = own_platform
    plat.up(CORE, echo=lambda _line: None)
    pids = {s.name: process_tree(s.process().pid) for s in plat.select(CORE)}
    assert len(pids["postgres"]) > 1  # the postmaster and its background workers

    plat.create_topic("kept-topic", partitions=2)
    client = plat.minio.client()
    client.put_object(plat.lake_bucket, "kept/object.txt", io.BytesIO(b"still here"), 10)

    plat.down(CORE, echo=lambda _line: None)
    for name, tree in pids.items():
        alive = [p for p in tree if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        assert alive == [], f"{name} left processes behind: {alive}"
    assert all(row.state == "stopped" for row in plat.status())

    plat.up(CORE, echo=lambda _line: None)
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=plat.kafka_bootstrap)
    try:
        assert "kept-topic" in admin.list_topics()
    finally:
        admin.close()
    response = plat.minio.client().get_object(plat.lake_bucket, "kept/object.txt")
    assert response.read() == b"still here"
    response.close()
    assert plat.postgres.healthy()


def test_crashed_service_is_reported_with_its_log(own_platform):
    plat = own_platform
    plat.up(["minio"], echo=lambda _line: None)
    pid = plat.minio.process().pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while plat.minio.process() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    row = next(r for r in plat.status() if r.name == "minio")
    assert row.state == "crashed" and row.pid is None
    table = status_table(plat.status())
    assert "crashed" in table and str(plat.minio.log_file) in table
    # up again recovers it
    plat.up(["minio"], echo=lambda _line: None)
    assert plat.minio.healthy()


def test_busy_port_names_service_variable_and_log(own_platform):
    plat = own_platform
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", plat.cfg.ports.minio))
        squatter.listen()
        with pytest.raises(ServiceError) as err:
            plat.up(["minio"], echo=lambda _line: None)
    message = str(err.value)
    assert f"port {plat.cfg.ports.minio}" in message
    assert "minio:" in message and "DP_MINIO_PORT" in message and str(plat.minio.log_file) in message
    assert plat.minio.process() is None


def test_process_dying_at_start_names_log(own_platform):
    plat = own_platform
    # A data folder PostgreSQL cannot use (foreign version marker): the server exits at once.
    pgdata = plat.postgres.pgdata
    pgdata.mkdir(parents=True, mode=0o700)
    (pgdata / "PG_VERSION").write_text("99\n")
    with pytest.raises(ServiceError) as err:
        plat.up(["postgres"], echo=lambda _line: None)
    message = str(err.value)
    assert message.startswith("postgres: process exited during start")
    assert str(plat.postgres.log_file) in message
    last_log_line = plat.postgres.log_file.read_text().strip().splitlines()[-1]
    assert last_log_line in message  # the reason, quoted from the server's own log
    assert plat.postgres.process() is None and not plat.postgres.pid_file.exists()
