"""`LocalPlatform.up` starts each service once what it needs is healthy, the others side by side,
and a failure stops only what needs the failed service (services' start replaced by a recorder;
nothing is spawned)."""

from __future__ import annotations

import threading
import time

import pytest

from datapipeline.local.config import PlatformConfig
from datapipeline.local.platform import AIRFLOW, CORE, NEEDS, LocalPlatform
from datapipeline.local.service import ServiceError


@pytest.fixture
def plat(tmp_path) -> LocalPlatform:
    return LocalPlatform(PlatformConfig(root=tmp_path))


def record_starts(plat: LocalPlatform, monkeypatch, fail: str | None = None) -> dict[str, tuple[float, float]]:
    """Replace every service's start: it takes 0.2 s and records (start, end); ``fail`` raises."""
    spans: dict[str, tuple[float, float]] = {}
    lock = threading.Lock()
    for service in plat.services:

        def start(name=service.name) -> str:
            began = time.monotonic()
            time.sleep(0.2)
            if name == fail:
                raise ServiceError(f"{name}: did not become healthy")
            with lock:
                spans[name] = (began, time.monotonic())
            return f"{name}: healthy"

        monkeypatch.setattr(service, "start", start)
    return spans


def test_each_service_starts_after_what_it_needs_and_the_rest_side_by_side(plat, monkeypatch):
    spans = record_starts(plat, monkeypatch)
    lines: list[str] = []
    plat.up(echo=lines.append)
    assert set(spans) == set(CORE + AIRFLOW)
    for name, needs in NEEDS.items():
        for need in needs if name in spans else ():  # the streams start only when named
            assert spans[name][0] >= spans[need][1], f"{name} started before {need} was healthy"
    # Independent services overlap: ZooKeeper, MinIO and PostgreSQL start together.
    starts = [spans[n][0] for n in ("zookeeper", "minio", "postgres")]
    assert max(starts) < min(spans[n][1] for n in ("zookeeper", "minio", "postgres"))
    assert sorted(lines) == sorted([f"{n}: starting ..." for n in spans] + [f"{n}: healthy" for n in spans])


def test_a_failed_service_stops_only_what_needs_it(plat, monkeypatch):
    spans = record_starts(plat, monkeypatch, fail="postgres")
    with pytest.raises(ServiceError, match=r"^postgres: did not become healthy$"):
        plat.up(echo=lambda _line: None)
    assert set(spans) == {"zookeeper", "kafka", "minio"}  # no Airflow component without its database


def test_a_named_stream_starts_after_its_sources(plat, monkeypatch):
    spans = record_starts(plat, monkeypatch)
    plat.up(["zookeeper", "kafka", "minio", "ingest-stream-bronze"], echo=lambda _line: None)
    assert set(spans) == {"zookeeper", "kafka", "minio", "ingest-stream-bronze"}
    assert spans["ingest-stream-bronze"][0] >= max(spans["kafka"][1], spans["minio"][1])
