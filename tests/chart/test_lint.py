"""helm lint --strict, values.schema.json and check-values.yaml (both charts)."""

from __future__ import annotations

import json
import subprocess
import sys

import chartlib
import jsonschema
import pytest
import yaml

VALUES_FILES = sorted(chartlib.VALUES_DIR.glob("*.yaml"))


@pytest.mark.parametrize("values_file", [None, *VALUES_FILES], ids=lambda p: p.name if p else "defaults")
def test_helm_lint_strict(values_file):
    args = ["lint", "--strict", str(chartlib.CHART), "--namespace", chartlib.NAMESPACE]
    if values_file:
        args += ["--values", str(values_file)]
    proc = chartlib.helm(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=lambda p: p.name)
def test_values_files_render_and_validate(values_file):
    objects = chartlib.render_chart(values_files=[values_file])
    assert objects, f"{values_file.name} renders nothing"


def test_values_schema_is_generated_from_values_yaml():
    proc = subprocess.run(
        [sys.executable, str(chartlib.ROOT / "scripts" / "k8s" / "values_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_helm_lint_strict_standins():
    proc = chartlib.helm("lint", "--strict", str(chartlib.STANDINS), "--namespace", chartlib.NAMESPACE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


def test_external_values_lint_and_render():
    proc = chartlib.helm(
        "lint",
        "--strict",
        str(chartlib.CHART),
        "--namespace",
        chartlib.NAMESPACE,
        "--values",
        str(chartlib.EXTERNAL_VALUES),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert chartlib.render_chart(values_files=[chartlib.EXTERNAL_VALUES])


@pytest.mark.parametrize("chart", [chartlib.CHART, chartlib.STANDINS], ids=lambda p: p.name)
def test_values_yaml_satisfies_schema_and_every_leaf_is_documented(chart):
    schema = json.loads((chart / "values.schema.json").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text())
    jsonschema.validate(values, schema)

    def leaves(node, path=""):
        if "properties" in node:
            for k, v in node["properties"].items():
                yield from leaves(v, f"{path}.{k}" if path else k)
        else:
            yield path, node

    for path, leaf in leaves(schema):
        assert leaf.get("description"), f"{path} has no description"
        assert "type" in leaf or "enum" in leaf, f"{path} has no type"
        assert "default" in leaf, f"{path} has no default"


@pytest.mark.parametrize("chart", [chartlib.CHART, chartlib.STANDINS], ids=lambda p: p.name)
def test_no_credentials_in_values_yaml(chart):
    text = (chart / "values.yaml").read_text().lower()
    for word in ("password:", "secretkey:", "accesskey:", "token:"):
        assert word not in text, f"values.yaml must not carry credentials ({word})"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafka": {"metadataMode": "raft"}}, "value must be one of 'zookeeper', 'kraft'"),
        ({"kafka": {"mode": "msk"}}, "value must be one of 'strimzi', 'external'"),
        ({"s3": {"mode": "aws"}}, "value must be one of 'minio-operator', 'external'"),
        ({"s3": {"mode": "external", "endpoint": "minio:9000", "existingSecret": "s"}}, "/s3/endpoint"),
        ({"sparkNamespace": "datapipeline"}, "sparkNamespace must differ from the release namespace"),
        ({"airflow": {"logsBucket": "logs"}}, 'airflow.logsBucket "logs" is not in s3.buckets'),
        ({"kafka": {"enabled": False}}, "smokeTest needs kafka.enabled and s3.enabled"),
        ({"kafka": {"replicas": 4}}, "maps node ports for at most 3 brokers"),
        ({"unknownKey": 1}, "additional properties 'unknownKey' not allowed"),
        ({"kafka": {"resources": {"requests": {"cpu": "lots"}}}}, "/kafka/resources/requests/cpu"),
    ],
)
def test_impossible_values_are_rejected_with_a_message(values, message):
    with pytest.raises(chartlib.HelmError) as err:
        chartlib.template_text(values)
    assert message in str(err.value)
