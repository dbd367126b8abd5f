"""The pinned stack is declared once and everything else agrees with it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from datapipeline import paths, versions

ROOT = paths.PROJECT_ROOT
sys.path.insert(0, str(ROOT / "scripts"))
import bootstrap  # noqa: E402


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_versions_file_parses_with_required_keys():
    pins = versions.load()
    for key in (
        "SPARK_VERSION",
        "DELTA_VERSION",
        "HADOOP_VERSION",
        "KAFKA_VERSION",
        "HELM_VERSION",
        "MINIO_MODULE_VERSION",
        "KIND_VERSION",
        "KUBECONFORM_VERSION",
        "TASK_VERSION",
        "UV_VERSION",
    ):
        assert pins.get(key), key


def test_lock_agrees_with_versions_file():
    pins, lock = versions.load(), locked()
    assert lock["pyspark"] == pins["SPARK_VERSION"]
    assert lock["delta-spark"] == pins["DELTA_VERSION"]
    assert lock["apache-airflow-providers-amazon"] == pins["AIRFLOW_AMAZON_PROVIDER_VERSION"]


def test_installed_pyspark_bundles_the_pinned_hadoop():
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    assert (jars / f"hadoop-client-api-{versions.load()['HADOOP_VERSION']}.jar").is_file()


@pytest.mark.parametrize("pom", sorted((ROOT / "jvm").glob("*/pom.xml")), ids=lambda p: p.parent.name)
def test_poms_take_every_version_from_versions_file(pom):
    text = pom.read_text()
    deps = re.findall(r"<dependency>.*?</dependency>", text, re.S)
    assert deps
    for dep in deps:
        version = re.search(r"<version>(.*?)</version>", dep).group(1)
        assert re.fullmatch(r"\$\{[a-z0-9.]+\}", version), f"{pom}: hard-coded version {version}"
    used = set(re.findall(r"\$\{([a-z0-9.]+)\}", text))
    given = {arg[2:].split("=")[0] for arg in bootstrap.maven_properties(versions.load())}
    assert used <= given, f"{pom}: properties with no value from versions.env: {used - given}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SPARK_VERSION", "expected KEY=VALUE"),
        ("spark_version=1", "UPPER_CASE"),
        ("A=1\nA=2", "pinned twice"),
        ("A=", "expected KEY=VALUE"),
    ],
)
def test_versions_parse_errors_name_the_line(text, message):
    with pytest.raises(versions.VersionsFileError, match=message):
        versions.parse(text, source="v.env")


def test_spark_line():
    assert versions.spark_line("4.0.0") == "4.0"
