"""What a module loads when imported: the tools that only read the event contract or talk to Kafka
(producer, generator, local platform, data quality) must not pull in Spark."""

from __future__ import annotations

import subprocess
import sys

import pytest

SPARK_FREE = [
    "datapipeline.events.contract",
    "datapipeline.events.generator",
    "datapipeline.producer",
    "datapipeline.kafka_admin",
    "datapipeline.local.platform",
    "datapipeline.quality",
]


@pytest.mark.parametrize("module", SPARK_FREE)
def test_module_imports_without_spark(module):
    probe = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"importing {module} loads {out.strip()}"
