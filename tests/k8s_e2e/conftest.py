"""The kind e2e suite needs a Docker engine and the cluster of `task k8s:up`; elsewhere it skips.

Runs in .github/workflows/kind-e2e.yml and on any machine with Docker after `task k8s:up`. All
traffic goes to localhost: the Kafka NodePort mapped by kind, and `kubectl port-forward`s.
"""

from __future__ import annotations

import kindlib
import pytest


def pytest_collection_modifyitems(config, items):
    reason = kindlib.why_not_runnable()
    if reason:
        for item in items:
            if "k8s_e2e" in str(item.path):
                item.add_marker(pytest.mark.skip(reason=reason))
