"""Pure logic of the local platform's configuration and secrets (no services)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from datapipeline.local.cli import human_bytes, platform_ok
from datapipeline.local.config import PlatformConfig, Ports
from datapipeline.local.platform import AIRFLOW, CORE
from datapipeline.local.secrets import Secrets, load_or_create
from datapipeline.local.service import ServiceStatus
from datapipeline.supervisor import STREAM_APPS


def test_ports_from_env_overrides_and_defaults():
    ports = Ports.from_env({"DP_KAFKA_PORT": "19092", "DP_MINIO_CONSOLE_PORT": "19001"})
    assert ports.kafka == 19092 and ports.minio_console == 19001
    assert ports.zookeeper == Ports().zookeeper


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1"])
def test_ports_reject_non_ports(value):
    with pytest.raises(ValueError, match=f"DP_KAFKA_PORT={value!r} is not a TCP port"):
        Ports.from_env({"DP_KAFKA_PORT": value})


def test_ports_reject_duplicates():
    with pytest.raises(ValueError, match="port 9092 is given to both kafka and minio"):
        Ports.from_env({"DP_MINIO_PORT": "9092"})


def test_platform_dir_from_env(tmp_path):
    cfg = PlatformConfig.from_env({"DP_PLATFORM_DIR": str(tmp_path / "p")})
    assert cfg.root == (tmp_path / "p").resolve()
    assert cfg.log_file("kafka") == cfg.root / "logs" / "kafka.log"


def test_secrets_generated_once_private_and_reloaded(tmp_path):
    path = tmp_path / "secrets.env"
    first = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == first
    other = Secrets.generate()
    assert other.minio_root_password != first.minio_root_password
    assert len(first.minio_root_password) >= 24


def test_secrets_file_missing_values_are_generated_and_kept(tmp_path):
    path = tmp_path / "secrets.env"
    path.write_text("MINIO_ROOT_USER=kept-user\n")
    loaded = load_or_create(path)
    assert loaded.minio_root_user == "kept-user"
    assert loaded.airflow_admin_password and loaded.airflow_fernet_key
    assert load_or_create(path) == loaded
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(("value", "text"), [(None, "-"), (512, "512 B"), (3 * 1024**2, "3.0 MiB")])
def test_human_bytes(value, text):
    assert human_bytes(value) == text


STREAMS = list(STREAM_APPS.values())


def _rows(**states: str) -> list[ServiceStatus]:
    names = [*CORE, *AIRFLOW, *STREAMS]
    return [ServiceStatus(n, states.get(n, "healthy"), None, "-", None, Path("x.log")) for n in names]


def test_status_ok_ignores_a_stopped_stream_but_not_a_crashed_one():
    stopped = dict.fromkeys(STREAMS, "stopped")
    assert STREAMS == ["ingest-stream-bronze", "ingest-stream-refine"]
    assert platform_ok(_rows(**stopped))
    assert not platform_ok(_rows(**{**stopped, "ingest-stream-refine": "crashed"}))
    assert not platform_ok(_rows(kafka="unhealthy", **stopped))
    assert not platform_ok(_rows(**{"airflow-scheduler": "stopped", **stopped}))


def test_free_ports_are_distinct_and_bindable():
    import socket
    from dataclasses import astuple

    from datapipeline.local.config import free_ports

    ports = astuple(free_ports())
    assert len(set(ports)) == len(ports) == 6
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # still free after picking
