"""Fixtures of the chart tests; the render helper itself lives in chartlib.py (one place)."""

from __future__ import annotations

import chartlib
import pytest


@pytest.fixture(scope="session", autouse=True)
def _tools_and_schemas() -> None:
    """Fail (not skip) early with one clear message when a tool or the schemas are missing."""
    try:
        chartlib.tool("helm")
        chartlib.tool("kubeconform")
    except chartlib.ToolMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        chartlib.schema_args()
    except SystemExit as exc:  # fetch_schemas reports download failures this way
        pytest.fail(f"could not prepare the schemas in .local/schemas: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def default_objects() -> list[dict]:
    """The chart rendered with its defaults (validated), shared by read-only tests."""
    return chartlib.render_chart()


@pytest.fixture(scope="session")
def all_objects() -> list[dict]:
    """Defaults plus the SparkApplications: everything the chart can create."""
    return chartlib.render_chart(values={"spark": {"renderApplications": True}})


@pytest.fixture(scope="session")
def external_objects() -> list[dict]:
    """The datapipeline chart as paired with charts/standins (external Kafka and S3), SparkApplications included."""
    return chartlib.render_chart(
        values={"spark": {"renderApplications": True}}, values_files=[chartlib.EXTERNAL_VALUES]
    )


@pytest.fixture(scope="session")
def standins_objects() -> list[dict]:
    """charts/standins with its defaults (validated)."""
    return chartlib.render_chart(chart=chartlib.STANDINS)
