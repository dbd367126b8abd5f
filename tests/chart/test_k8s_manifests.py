"""Files in k8s/: schema-valid, the SparkApplications equal the chart's rendering, kind maps the node ports."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import chartlib
import pytest
import yaml
from chartlib import jp, one

from datapipeline import sparkapp
from datapipeline.ingest import config as ingest_config

K8S = chartlib.ROOT / "k8s"
KUBE_FILES = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kind-cluster.yaml")


@pytest.mark.parametrize("path", KUBE_FILES, ids=lambda p: str(p.relative_to(K8S)))
def test_file_is_valid_against_kubernetes_and_crd_schemas(path):
    bad = chartlib.kubeconform(path.read_text(), skip_kinds=())
    assert bad == [], [f"{r['kind']}/{r['name']}: {r['msg']}" for r in bad]


def test_kubeconform_rejects_an_unknown_sparkapplication_field():
    text = (K8S / "spark" / "ingest.yaml").read_text().replace("  mode: cluster", "  mode: cluster\n  modus: x")
    bad = chartlib.kubeconform(text, skip_kinds=())
    assert len(bad) == 1 and "modus" in bad[0]["msg"]


def test_spark_manifests_are_the_chart_rendering():
    proc = subprocess.run(
        [sys.executable, str(chartlib.ROOT / "scripts" / "k8s" / "render_manifests.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DP_HELM": chartlib.tool("helm")},
    )
    assert proc.returncode == 0, proc.stderr


def test_spark_manifests_pin_image_version_and_account():
    pins = chartlib.pins()
    for path in sorted((K8S / "spark").glob("*.yaml")):
        app = yaml.safe_load(path.read_text())
        assert app["metadata"]["name"] == path.stem
        assert app["metadata"]["namespace"] == "spark-jobs"
        assert jp(app, "spec.sparkVersion") == pins["SPARK_VERSION"]
        assert jp(app, "spec.image") == "datapipeline/spark:dev"
        assert jp(app, "spec.driver.serviceAccount") == "spark"
        assert jp(app, "spec.restartPolicy.type") == "Never"
        secrets = {e["name"]: jp(e, "valueFrom.secretKeyRef") for e in jp(app, "spec.driver.env") if "valueFrom" in e}
        assert secrets == {
            "DP_S3_ACCESS_KEY": {"name": "spark-s3-credentials", "key": "accessKey"},
            "DP_S3_SECRET_KEY": {"name": "spark-s3-credentials", "key": "secretKey"},
        }
        main = sparkapp.local_main_file(jp(app, "spec.mainApplicationFile"), chartlib.ROOT)
        assert main.is_file(), f"{path.name}: {main} does not exist"


def test_ingest_job_reads_its_configuration_from_the_manifest(default_objects):
    """The manifest's env + arguments, fed to the job's own config parser, point at the chart's services."""
    app = sparkapp.load_spec(K8S / "spark" / "ingest.yaml")
    env = {e["name"]: e.get("value", f"<secret {e['name']}>") for e in jp(app, "spec.driver.env")}
    cfg = ingest_config.from_args(jp(app, "spec.arguments"), env=env)
    assert cfg.kafka_bootstrap == "kafka-kafka-bootstrap.datapipeline.svc.cluster.local:9092"
    assert cfg.topic in [t["metadata"]["name"] for t in default_objects if t["kind"] == "KafkaTopic"]
    assert cfg.lake.root == "s3a://lake/orders"
    assert cfg.lake.bucket in [b["name"] for b in one(default_objects, "Tenant", "minio")["spec"]["buckets"]]
    assert cfg.s3.endpoint == "http://minio.datapipeline.svc.cluster.local:80"
    assert cfg.s3.access_key == "<secret DP_S3_ACCESS_KEY>"
    assert cfg.trigger == "availableNow"


def test_spark_image_packages_are_in_the_lock():
    dockerfile = (chartlib.ROOT / "images" / "spark" / "Dockerfile").read_text()
    names = re.search(r"lock_subset\.py /tmp/build/requirements\.lock \\\n(.*?) >", dockerfile, re.S).group(1).split()
    names = [n for n in names if n != "\\"]
    assert "delta-spark" in names and "kafka-python" in names
    spec = importlib.util.spec_from_file_location("lock_subset", chartlib.ROOT / "images" / "spark" / "lock_subset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.subset((chartlib.ROOT / "requirements.lock").read_text(), names)
    assert text.count("--hash=sha256:") >= len(names)


def test_kind_config_maps_every_kafka_node_port_to_the_same_host_port():
    kind = yaml.safe_load((K8S / "kind-cluster.yaml").read_text())
    assert (kind["apiVersion"], kind["kind"]) == ("kind.x-k8s.io/v1alpha4", "Cluster")
    mappings = {m["containerPort"]: m for n in kind["nodes"] for m in n.get("extraPortMappings", [])}
    values = yaml.safe_load((chartlib.CHART / "values.yaml").read_text())["kafka"]["external"]
    wanted = [values["bootstrapNodePort"]] + [values["brokerNodePortBase"] + i for i in range(3)]
    for port in wanted:
        assert port in mappings, f"node port {port} is not mapped in kind-cluster.yaml"
        assert mappings[port]["hostPort"] == port
        assert mappings[port]["listenAddress"] == "127.0.0.1"


def test_namespaces_match_the_chart_and_operator_values(default_objects):
    names = {d["metadata"]["name"] for d in yaml.safe_load_all((K8S / "namespaces.yaml").read_text())}
    values = yaml.safe_load((chartlib.CHART / "values.yaml").read_text())
    assert {chartlib.NAMESPACE, values["sparkNamespace"], *values["operatorNamespaces"].values()} == names
    spark_operator = yaml.safe_load((chartlib.ROOT / "charts" / "values" / "spark-operator.yaml").read_text())
    assert spark_operator["spark"]["jobNamespaces"] == [values["sparkNamespace"]]
    strimzi = yaml.safe_load((chartlib.ROOT / "charts" / "values" / "strimzi.yaml").read_text())
    assert strimzi["watchNamespaces"] == [chartlib.NAMESPACE]
