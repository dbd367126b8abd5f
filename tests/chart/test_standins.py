"""charts/standins: ZooKeeper, one Kafka broker and one MinIO server as StatefulSets, no operators.

What the datapipeline chart's external mode relies on is checked against it: the Service names and
ports of charts/values/datapipeline-external.yaml, the Secret it names, and the host listener that
k8s/kind-cluster.yaml publishes on 127.0.0.1:31092.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import chartlib
import fakekube
import pytest
import yaml
from chartlib import by_kind, jp, one, render_chart

from datapipeline.events.contract import TRANSPORT_MAX_BYTES

KIND = yaml.safe_load((chartlib.ROOT / "k8s" / "kind-cluster.yaml").read_text())
EXTERNAL = yaml.safe_load(chartlib.EXTERNAL_VALUES.read_text())


def render(values: dict | None = None, show_only=(), validate: bool = True) -> list[dict]:
    return render_chart(values=values, show_only=show_only, chart=chartlib.STANDINS, validate=validate)


def container(sts: dict) -> dict:
    [c] = jp(sts, "spec.template.spec.containers")
    return c


def env(sts: dict) -> dict[str, str]:
    """The container's environment: all plain values (no Secret references)."""
    c = container(sts)
    assert all("valueFrom" not in e for e in c.get("env", [])), "secrets go in as files"
    return {e["name"]: e["value"] for e in c.get("env", [])}


def test_exactly_these_objects(standins_objects):
    found = sorted((o["kind"], o["metadata"]["name"]) for o in standins_objects)
    assert found == [
        ("NetworkPolicy", "kafka"),
        ("NetworkPolicy", "minio"),
        ("NetworkPolicy", "zookeeper"),
        ("Secret", "minio-credentials"),
        ("Service", "kafka"),
        ("Service", "kafka-external"),
        ("Service", "kafka-headless"),
        ("Service", "kafka-kafka-bootstrap"),
        ("Service", "minio"),
        ("Service", "minio-headless"),
        ("Service", "zookeeper"),
        ("Service", "zookeeper-headless"),
        ("StatefulSet", "kafka"),
        ("StatefulSet", "minio"),
        ("StatefulSet", "zookeeper"),
    ]
    assert {o["metadata"]["namespace"] for o in standins_objects} == {"datapipeline"}
    # no operator, no custom resource, no RBAC: plain Kubernetes objects only
    assert {o["apiVersion"] for o in standins_objects} <= {"v1", "apps/v1", "networking.k8s.io/v1"}


@pytest.mark.parametrize(
    ("name", "storage", "data"),
    [
        ("zookeeper", "1Gi", "/var/lib/zookeeper/data"),
        ("kafka", "5Gi", "/var/lib/kafka/data"),
        ("minio", "10Gi", "/data"),
    ],
)
def test_statefulsets_are_single_replica_with_a_volume_and_probes(standins_objects, name, storage, data):
    sts = one(standins_objects, "StatefulSet", name)
    assert jp(sts, "spec.replicas") == 1
    assert jp(sts, "spec.serviceName") == f"{name}-headless"
    [claim] = jp(sts, "spec.volumeClaimTemplates")
    assert claim["metadata"]["name"] == "data"
    assert jp(claim, "spec.resources.requests.storage") == storage
    assert "storageClassName" not in claim["spec"]  # the cluster's default class
    assert jp(sts, "spec.persistentVolumeClaimRetentionPolicy") == {"whenDeleted": "Delete", "whenScaled": "Retain"}
    c = container(sts)
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert (mounts["data"], mounts["tmp"]) == (data, "/tmp")
    assert c["readinessProbe"] and c["livenessProbe"]
    ports = {p["name"] for p in c["ports"]}
    for probe in (c["readinessProbe"], c["livenessProbe"]):
        action = probe.get("tcpSocket") or probe.get("httpGet")
        assert action is None or action["port"] in ports
    assert "command" not in c  # the image's entrypoint
    pod = jp(sts, "spec.template.spec.securityContext")
    assert (pod["runAsNonRoot"], pod["runAsUser"], pod["fsGroup"]) == (True, 10001, 10001)


def test_volumes_are_kept_when_asked():
    sts = one(render({"deleteClaims": False}, show_only=["templates/minio/minio-statefulset.yaml"]), "StatefulSet")
    assert "persistentVolumeClaimRetentionPolicy" not in sts["spec"]


class TestKafka:
    def test_listeners_advertise_the_pod_dns_name_and_the_hosts_port(self, standins_objects):
        e = env(one(standins_objects, "StatefulSet", "kafka"))
        assert e["KAFKA_LISTENERS"] == "INTERNAL://:9092,EXTERNAL://:9094"
        assert e["KAFKA_ADVERTISED_LISTENERS"] == (
            "INTERNAL://kafka-0.kafka-headless.datapipeline.svc.cluster.local:9092,EXTERNAL://localhost:31092"
        )
        assert e["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"
        assert e["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
        assert e["KAFKA_ZOOKEEPER_CONNECT"] == "zookeeper.datapipeline.svc.cluster.local:2181"
        assert e["KAFKA_BROKER_ID"] == "0"

    def test_broker_settings_are_the_strimzi_clusters(self, standins_objects):
        e = env(one(standins_objects, "StatefulSet", "kafka"))
        assert e["KAFKA_CFG_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # the datapipeline chart's init Job creates them
        assert int(e["KAFKA_MESSAGE_MAX_BYTES"]) == TRANSPORT_MAX_BYTES
        assert (e["KAFKA_REPLICATION_FACTOR"], e["KAFKA_MIN_INSYNC_REPLICAS"]) == ("1", "1")
        assert e["KAFKA_LOG_DIRS"].startswith("/var/lib/kafka/data/")  # a subfolder of the volume
        assert e["KAFKA_HEAP_OPTS"] == "-Xms384m -Xmx384m"

    def test_advertised_pod_name_is_the_statefulsets(self, standins_objects):
        sts = one(standins_objects, "StatefulSet", "kafka")
        headless = one(standins_objects, "Service", "kafka-headless")
        assert jp(sts, "spec.serviceName") == headless["metadata"]["name"]
        assert (jp(headless, "spec.clusterIP"), jp(headless, "spec.publishNotReadyAddresses")) == ("None", True)
        internal = env(sts)["KAFKA_ADVERTISED_LISTENERS"].split(",")[0]
        assert internal.startswith(
            f"INTERNAL://{sts['metadata']['name']}-0.{headless['metadata']['name']}.datapipeline.svc"
        )

    def test_broker_runs_from_the_images_entrypoint(self, standins_objects):
        c = container(one(standins_objects, "StatefulSet", "kafka"))
        assert c["image"] == "datapipeline/kafka:dev"
        assert c["args"] == ["kafka"]
        assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"internal": 9092, "external": 9094}
        assert c["readinessProbe"]["tcpSocket"] == c["livenessProbe"]["tcpSocket"] == {"port": "internal"}

    def test_host_listener_is_the_node_port_kind_maps(self, standins_objects):
        svc = one(standins_objects, "Service", "kafka-external")
        assert jp(svc, "spec.type") == "NodePort"
        [port] = jp(svc, "spec.ports")
        assert (port["port"], port["targetPort"], port["nodePort"]) == (9094, "external", 31092)
        mappings = {m["containerPort"]: m for n in KIND["nodes"] for m in n.get("extraPortMappings", [])}
        assert mappings[31092]["hostPort"] == 31092 and mappings[31092]["listenAddress"] == "127.0.0.1"
        advertised = env(one(standins_objects, "StatefulSet", "kafka"))["KAFKA_ADVERTISED_LISTENERS"]
        assert advertised.endswith(f"EXTERNAL://localhost:{port['nodePort']}")

    def test_no_host_listener_when_disabled(self):
        objects = render({"kafka": {"external": {"enabled": False}}})
        assert "kafka-external" not in {s["metadata"]["name"] for s in by_kind(objects, "Service")}
        e = env(one(objects, "StatefulSet", "kafka"))
        assert e["KAFKA_LISTENERS"] == "INTERNAL://:9092"
        assert "EXTERNAL" not in e["KAFKA_ADVERTISED_LISTENERS"] + e["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
        policy = one(objects, "NetworkPolicy", "kafka")
        assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [9092]

    def test_images_come_from_values(self):
        values = {"images": {"kafka": {"repository": "datapipeline/kafka", "tag": "3.9.1-abc"}}}
        objects = render(
            values,
            show_only=["templates/kafka/kafka-statefulset.yaml", "templates/zookeeper/zookeeper-statefulset.yaml"],
        )
        assert {container(s)["image"] for s in objects} == {"datapipeline/kafka:3.9.1-abc"}


class TestZooKeeper:
    def test_standalone_from_the_images_entrypoint(self, standins_objects):
        sts = one(standins_objects, "StatefulSet", "zookeeper")
        c = container(sts)
        assert c["args"] == ["zookeeper"]
        assert env(sts) == {
            "ZOO_DATA_DIR": "/var/lib/zookeeper/data",
            "ZOO_CLIENT_PORT": "2181",
            "ZOO_HEAP_OPTS": "-Xms128m -Xmx128m",
        }  # no ZOO_SERVERS: standalone
        assert c["readinessProbe"]["exec"]["command"] == ["/opt/kafka/bin/kafka-entrypoint", "zookeeper-ready"]
        assert c["livenessProbe"]["tcpSocket"] == {"port": "client"}


class TestMinio:
    def test_server_reads_its_keys_from_the_secret_as_files(self, standins_objects):
        sts = one(standins_objects, "StatefulSet", "minio")
        c = container(sts)
        assert c["image"] == "datapipeline/minio:dev"
        assert c["args"][:2] == ["server", "/data"]  # the image's entrypoint is `minio`
        assert c["args"][c["args"].index("--address") + 1] == ":9000"
        e = env(sts)
        assert e["MINIO_ROOT_USER_FILE"] == "/credentials/accessKey"
        assert e["MINIO_ROOT_PASSWORD_FILE"] == "/credentials/secretKey"
        assert e["MINIO_SITE_REGION"] == "us-east-1"
        volumes = {v["name"]: v for v in jp(sts, "spec.template.spec.volumes")}
        assert jp(volumes["credentials"], "secret.secretName") == "minio-credentials"
        assert c["readinessProbe"]["httpGet"] == {"path": "/minio/health/ready", "port": "s3"}
        assert c["livenessProbe"]["httpGet"] == {"path": "/minio/health/live", "port": "s3"}

    def test_keys_are_generated(self, standins_objects):
        secret = one(standins_objects, "Secret", "minio-credentials")
        access, key = (base64.b64decode(secret["data"][k]).decode() for k in ("accessKey", "secretKey"))
        assert (len(access), len(key)) == (20, 40) and access.isalnum() and key.isalnum()

    def test_upgrade_keeps_the_keys(self, tmp_path):
        first = one(render(show_only=["templates/minio/minio-secret.yaml"]), "Secret")
        first["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "Helm"
        first["metadata"]["annotations"] = {
            "meta.helm.sh/release-name": "standins",
            "meta.helm.sh/release-namespace": chartlib.NAMESPACE,
        }
        cluster = fakekube.FakeCluster({(o["apiVersion"], o["kind"]) for o in render(validate=False)})
        cluster.store(first)
        with fakekube.serve(cluster, tmp_path) as kubeconfig:
            text = chartlib.template_text(
                show_only=["templates/minio/minio-secret.yaml"],
                extra_args=("--dry-run=server", "--disable-openapi-validation", "--kubeconfig", str(kubeconfig)),
                chart=chartlib.STANDINS,
            )
        again = one([d for d in yaml.safe_load_all(text) if d], "Secret")
        assert again["data"] == first["data"]
        assert "/api/v1/namespaces/datapipeline/secrets/minio-credentials" in cluster.requests


class TestWhatTheExternalValuesName:
    """charts/values/datapipeline-external.yaml points at these Services and this Secret."""

    def test_kafka_bootstrap_is_the_kafka_service(self, standins_objects):
        host, port = EXTERNAL["kafka"]["bootstrapServers"].rsplit(":", 1)
        name, namespace, *_ = host.split(".")
        svc = one(standins_objects, "Service", name)
        assert svc["metadata"]["namespace"] == namespace and jp(svc, "spec.type") == "ClusterIP"
        assert int(port) in [p["port"] for p in jp(svc, "spec.ports")]

    def test_s3_endpoint_is_the_minio_service(self, standins_objects):
        url = urlsplit(EXTERNAL["s3"]["endpoint"])
        name, namespace, *_ = url.hostname.split(".")
        svc = one(standins_objects, "Service", name)
        assert svc["metadata"]["namespace"] == namespace
        assert (url.scheme, url.port) == ("http", 80)  # the MinIO Tenant service port too
        assert url.port in [p["port"] for p in jp(svc, "spec.ports")]

    def test_existing_secret_is_the_minio_keys(self, standins_objects):
        secret = one(standins_objects, "Secret", EXTERNAL["s3"]["existingSecret"])
        assert set(secret["data"]) == {"accessKey", "secretKey"}

    def test_notes_print_the_values(self):
        proc = chartlib.helm("install", "standins", str(chartlib.STANDINS), "--dry-run=client", "-n", "datapipeline")
        assert proc.returncode == 0, proc.stderr
        notes = proc.stdout.split("NOTES:", 1)[1]
        assert f"kafka.bootstrapServers={EXTERNAL['kafka']['bootstrapServers']}" in notes
        assert f"s3.endpoint={EXTERNAL['s3']['endpoint']}" in notes
        assert "WARNING: dev stand-ins" in notes


class TestNetworkPolicies:
    def test_zookeeper_only_from_the_broker(self, standins_objects):
        policy = one(standins_objects, "NetworkPolicy", "zookeeper")
        [rule] = jp(policy, "spec.ingress")
        assert jp(rule, "from[0].podSelector.matchLabels")["app.kubernetes.io/component"] == "kafka"
        assert rule["ports"] == [{"port": 2181, "protocol": "TCP"}]

    @pytest.mark.parametrize(("name", "port"), [("kafka", 9092), ("minio", 9000)])
    def test_clients_are_the_namespace_and_spark(self, standins_objects, name, port):
        policy = one(standins_objects, "NetworkPolicy", name)
        assert jp(policy, "spec.podSelector.matchLabels")["app.kubernetes.io/component"] == name
        rule = jp(policy, "spec.ingress[0]")
        assert rule["ports"] == [{"port": port, "protocol": "TCP"}]
        assert rule["from"] == [
            {"podSelector": {}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "spark-jobs"}}},
        ]

    def test_host_listener_is_open(self, standins_objects):
        rule = jp(one(standins_objects, "NetworkPolicy", "kafka"), "spec.ingress[1]")
        assert rule == {"ports": [{"port": 9094, "protocol": "TCP"}]}  # NodePort traffic comes from the node

    def test_off(self):
        assert by_kind(render({"networkPolicies": {"enabled": False}}), "NetworkPolicy") == []


def test_each_service_can_be_left_out():
    assert {s["metadata"]["name"] for s in by_kind(render({"minio": {"enabled": False}}), "StatefulSet")} == {
        "kafka",
        "zookeeper",
    }
    assert {s["metadata"]["name"] for s in by_kind(render({"kafka": {"enabled": False}}), "StatefulSet")} == {"minio"}
