"""Shared fixtures: the real local platform on free loopback ports.

One copy of the platform fixture for the whole suite (session scope): ZooKeeper, Kafka,
MinIO and PostgreSQL are started by the same code as `task local:up`
(:class:`datapipeline.local.platform.LocalPlatform`), in a private temp folder and on ports
picked free for this run, so two runs never collide and a developer's own `task local:up`
is left alone.

Markers that really select: a test that uses the platform's fixtures is marked ``services``, one
that uses the suite's SparkSession ``jvm``, whatever its module declares (``task test:fast`` runs
neither). The kind e2e suite (tests/k8s_e2e) runs first, on a quiet machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from datapipeline.local.config import PlatformConfig, free_ports, private_root
from datapipeline.local.platform import AIRFLOW, CORE, LocalPlatform
from lake_support import lake, lake_spark, s3  # noqa: F401  (fixtures: a topic + lake prefix per test)
from spark_support import spark  # noqa: F401  (the suite's one SparkSession fixture)

SERVICE_FIXTURES = frozenset({"platform", "airflow", "own_platform", "lake", "s3"})
JVM_FIXTURES = frozenset({"spark", "lake_spark"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The kind e2e suite first: its Spark jobs run inside the cluster and get the machine's cores
    # before the local platform and the suite's JVMs start (a stable sort keeps everything else in order).
    items.sort(key=lambda item: "k8s_e2e" not in item.path.parts)
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & SERVICE_FIXTURES:
            item.add_marker(pytest.mark.services)
        if used & JVM_FIXTURES:
            item.add_marker(pytest.mark.jvm)


def make_platform(prefix: str = "dp-test-") -> LocalPlatform:
    return LocalPlatform(PlatformConfig(root=private_root(prefix), ports=free_ports()))


@pytest.fixture(scope="session")
def platform() -> Iterator[LocalPlatform]:
    """A running local platform for the whole session; stopped and deleted afterwards."""
    plat = make_platform()
    try:
        plat.up(CORE, echo=lambda line: print(f"[platform] {line}"))
        yield plat
    finally:
        plat.down(echo=lambda line: print(f"[platform] {line}"))
        if not os.environ.get("DP_KEEP_TEST_PLATFORM"):
            shutil.rmtree(plat.cfg.root, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow(platform: LocalPlatform) -> Iterator[LocalPlatform]:
    """The session platform with local Airflow (api-server, scheduler, dag-processor, triggerer) up too.

    Stopped with the rest of the platform at the end of the session.
    """
    # No retries in tests: a failing task must turn its run red now, not after minutes of retry delays.
    # In this process's environment while the fixture lives (Airflow components started later, e.g.
    # restarted by a fault test, inherit it too), restored afterwards.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DP_TASK_RETRIES", "0")
        platform.up(AIRFLOW, echo=lambda line: print(f"[platform] {line}"))
        yield platform


@pytest.fixture
def own_platform() -> Iterator[LocalPlatform]:
    """A platform of the test's own (not started) for lifecycle tests that stop and kill services."""
    plat = make_platform("dp-own-")
    try:
        yield plat
    finally:
        plat.down(echo=lambda _line: None)
        shutil.rmtree(plat.cfg.root, ignore_errors=True)
