"""NetworkPolicies: who may reach MinIO, PostgreSQL, the Kafka UI and the Spark namespace."""

from __future__ import annotations

import chartlib
from chartlib import by_kind, jp, one, render_chart


def test_policies_by_default(default_objects):
    found = sorted(
        (p["metadata"]["namespace"], p["metadata"]["name"]) for p in by_kind(default_objects, "NetworkPolicy")
    )
    assert found == [
        ("datapipeline", "airflow-db"),
        ("datapipeline", "kafka-ui"),
        ("datapipeline", "minio"),
        ("spark-jobs", "spark-jobs"),
    ]


def test_minio_s3_open_to_platform_spark_and_operator_only(default_objects):
    policy = one(default_objects, "NetworkPolicy", "minio")
    assert jp(policy, "spec.podSelector.matchLabels") == {"v1.min.io/tenant": "minio"}
    s3 = jp(policy, "spec.ingress[0]")
    assert s3["ports"] == [{"port": 9000, "protocol": "TCP"}]
    namespaces = [jp(p, "namespaceSelector.matchLabels") for p in s3["from"] if "namespaceSelector" in p]
    assert namespaces == [
        {"kubernetes.io/metadata.name": "spark-jobs"},
        {"kubernetes.io/metadata.name": "minio-operator"},
    ]


def test_postgres_only_from_platform_namespace_and_cnpg(default_objects):
    policy = one(default_objects, "NetworkPolicy", "airflow-db")
    assert jp(policy, "spec.podSelector.matchLabels") == {"cnpg.io/cluster": "airflow-db"}
    assert jp(policy, "spec.ingress[0].from") == [{"podSelector": {}}]
    assert jp(policy, "spec.ingress[1].from[0].namespaceSelector.matchLabels") == {
        "kubernetes.io/metadata.name": "cnpg-system"
    }


def test_kafka_ui_takes_no_cluster_traffic(default_objects):
    policy = one(default_objects, "NetworkPolicy", "kafka-ui")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert "ingress" not in policy["spec"]


def test_disabled_policies_warn_in_notes():
    objects = render_chart(values_files=[chartlib.VALUES_DIR / "no-network-policies.yaml"])
    assert by_kind(objects, "NetworkPolicy") == []
    kafka = one(objects, "Kafka")
    assert "networkPolicyPeers" not in jp(kafka, "spec.kafka.listeners[0]")
    proc = chartlib.helm(
        "install",
        "datapipeline",
        str(chartlib.CHART),
        "--dry-run=client",
        "-n",
        "datapipeline",
        "--values",
        str(chartlib.VALUES_DIR / "no-network-policies.yaml"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING: networkPolicies.enabled=false" in proc.stdout


def test_notes_give_port_forwards():
    proc = chartlib.helm("install", "datapipeline", str(chartlib.CHART), "--dry-run=client", "-n", "datapipeline")
    assert proc.returncode == 0, proc.stderr
    notes = proc.stdout.split("NOTES:", 1)[1]
    for command in (
        "port-forward svc/kafka-ui 8081:8080",
        "port-forward svc/minio-console 9090:9090",
        "port-forward svc/airflow-api-server 8080:8080",
        "helm test datapipeline",
    ):
        assert command in notes
    assert "WARNING: the external Kafka listener has no TLS" in notes
