"""The kind e2e suite needs a Docker engine and the cluster of `task k8s:up`.

Where the cluster is expected (`.ci/run` sets DP_K8S_E2E_REQUIRED=1 after `task k8s:up`), a missing
cluster fails the suite; elsewhere (a laptop without Docker) these tests skip with the reason.
"""

from __future__ import annotations

import os

import kindlib
import pytest


def pytest_collection_modifyitems(config, items):
    reason = kindlib.why_not_runnable()
    if not reason:
        return
    ours = [item for item in items if "k8s_e2e" in str(item.path)]
    if ours and os.environ.get("DP_K8S_E2E_REQUIRED") == "1":
        raise pytest.UsageError(f"DP_K8S_E2E_REQUIRED=1 but the kind e2e suite cannot run: {reason}")
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=reason))
