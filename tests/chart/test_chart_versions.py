"""The chart and the upstream values agree with versions.env and with each other."""

from __future__ import annotations

import json

import chartlib
import yaml
from chartlib import jp

VALUES = yaml.safe_load((chartlib.CHART / "values.yaml").read_text())
AIRFLOW = yaml.safe_load((chartlib.ROOT / "charts" / "values" / "airflow.yaml").read_text())


def image(key: str) -> str:
    return f"{VALUES['images'][key]['repository']}:{VALUES['images'][key]['tag']}"


def test_image_defaults_are_the_pinned_ones():
    pins = chartlib.pins()
    assert image("kafkaUi") == pins["KAFKA_UI_IMAGE"]
    assert image("minio") == pins["MINIO_SERVER_IMAGE"]
    assert image("postgres") == pins["CNPG_POSTGRES_IMAGE"]


# Kafka versions Strimzi 0.45.2 runs: 0.45.0 has 3.8.0, 3.8.1, 3.9.0 (CHANGELOG.md "## 0.45.0"),
# 0.45.1 "Add support for Kafka 3.9.1", 0.45.2 "Add support for Kafka 3.9.2" (their GitHub release
# notes; the table on strimzi.io/downloads lists 0.45.1: 3.8.0, 3.8.1, 3.9.0, 3.9.1).
STRIMZI_0_45_2_KAFKA_VERSIONS = ("3.8.0", "3.8.1", "3.9.0", "3.9.1", "3.9.2")


def test_kafka_and_spark_versions_are_the_pinned_ones():
    pins = chartlib.pins()
    # One Kafka pin for the local platform and the cluster, and the operator runs it.
    assert VALUES["kafka"]["version"] == pins["KAFKA_VERSION"]
    assert pins["STRIMZI_VERSION"] == "0.45.2", "re-check STRIMZI_0_45_2_KAFKA_VERSIONS for another Strimzi"
    assert pins["KAFKA_VERSION"] in STRIMZI_0_45_2_KAFKA_VERSIONS
    assert VALUES["kafka"]["metadataVersion"] == ".".join(pins["KAFKA_VERSION"].split(".")[:2]) + "-IV0"
    assert VALUES["spark"]["version"] == pins["SPARK_VERSION"]


def test_chart_names_the_pinned_operators():
    chart = yaml.safe_load((chartlib.CHART / "Chart.yaml").read_text())
    pins = chartlib.pins()
    requires = chart["annotations"]["datapipeline.io/requires"]
    for key in ("STRIMZI_VERSION", "MINIO_OPERATOR_VERSION", "CNPG_CHART_VERSION", "SPARK_OPERATOR_VERSION"):
        assert pins[key] in requires, f"Chart.yaml does not name {key}={pins[key]}"


def test_airflow_values_use_the_secrets_and_accounts_of_the_chart():
    assert AIRFLOW["executor"] == "KubernetesExecutor"
    assert jp(AIRFLOW, "data.metadataSecretName") == VALUES["airflow"]["metadataSecretName"]
    assert jp(AIRFLOW, "postgresql.enabled") is False
    lake = VALUES["airflow"]["lakeS3SecretName"]
    assert AIRFLOW["secret"] == [
        {
            "envName": "AIRFLOW_CONN_MINIO_LOGS",
            "secretName": VALUES["airflow"]["logsConnectionSecretName"],
            "secretKey": "connection",
        },
        {"envName": "DP_S3_ENDPOINT", "secretName": lake, "secretKey": "endpoint"},
        {"envName": "DP_S3_ACCESS_KEY", "secretName": lake, "secretKey": "accessKey"},
        {"envName": "DP_S3_SECRET_KEY", "secretName": lake, "secretKey": "secretKey"},
    ]
    assert jp(AIRFLOW, "workers.kubernetes.serviceAccount.name") in VALUES["airflow"]["serviceAccounts"]


def test_airflow_remote_logs_go_to_the_minio_bucket():
    logging = jp(AIRFLOW, "config.logging")
    assert logging["remote_logging"] == "True"
    assert logging["remote_log_conn_id"] == "minio_logs"  # AIRFLOW_CONN_MINIO_LOGS
    bucket = logging["remote_base_log_folder"].removeprefix("s3://").split("/")[0]
    assert bucket == VALUES["airflow"]["logsBucket"]
    assert bucket in VALUES["s3"]["buckets"]


def test_airflow_submits_spark_jobs_into_the_spark_namespace_in_cluster():
    env = {e["name"]: e["value"] for e in AIRFLOW["env"]}
    assert env["DP_RUNTIME"] == "kubernetes"  # datapipeline.orchestration.runtime()
    assert env["DP_SPARK_NAMESPACE"] == VALUES["sparkNamespace"]
    assert json.loads(env["AIRFLOW_CONN_KUBERNETES_DEFAULT"]) == {
        "conn_type": "kubernetes",
        "extra": {"in_cluster": True},
    }
