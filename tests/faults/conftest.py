"""Fault-test fixtures: the session's fault report, and a finalizer that leaves the shared
platform healthy after every fault (later tests must not notice that a fault ran)."""

from __future__ import annotations

from collections.abc import Iterator

import faultreport
import pytest
from faultlib import heal

from datapipeline.local.platform import AIRFLOW, CORE


@pytest.fixture(scope="session")
def fault_report() -> Iterator[None]:
    yield
    path = faultreport.write()
    if path is not None:
        print(f"\nFault matrix written to {path}:\n")
        print(faultreport.markdown(faultreport.rows()))


@pytest.fixture
def healed(platform, fault_report) -> Iterator[None]:
    """Restarts whatever a fault test left down (core services, and Airflow if it was up)."""
    yield
    # An Airflow component that was started has a pid file (a crashed one keeps it).
    started = [s.name for s in platform.select(AIRFLOW) if s.process() is not None or s.pid_file.exists()]
    restarted = heal(platform.select(CORE + started))
    if restarted:
        print(f"[faults] restarted after the test: {', '.join(restarted)}")
