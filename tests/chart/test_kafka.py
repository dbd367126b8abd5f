"""Strimzi Kafka (ZooKeeper mode, KRaft switch), topics and the Kafka UI."""

from __future__ import annotations

import base64

import chartlib
import pytest
from chartlib import jp, one, render_chart

KAFKA = "templates/kafka/kafka-kafka.yaml"
POOL = "templates/kafka/kafka-nodepool.yaml"
TOPICS = "templates/kafka/kafka-topics.yaml"
UI = "templates/kafka-ui/kafka-ui-deployment.yaml"


class TestKafka:
    def test_zookeeper_mode_by_default(self):
        kafka = one(render_chart(show_only=[KAFKA]), "Kafka")
        assert jp(kafka, "metadata.annotations") is None
        assert jp(kafka, "spec.zookeeper.replicas") == 1
        assert jp(kafka, "spec.kafka.replicas") == 1
        assert jp(kafka, "spec.kafka.storage.type") == "persistent-claim"
        assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
        assert jp(kafka, "spec.entityOperator.topicOperator") is not None
        assert jp(kafka, "spec.entityOperator.userOperator") is None
        assert render_chart(show_only=[POOL]) == []

    def test_message_size_is_the_contracts_transport_limit(self):
        from datapipeline.events.contract import MAX_VALUE_BYTES, TRANSPORT_MAX_BYTES

        config = one(render_chart(show_only=[KAFKA]), "Kafka")["spec"]["kafka"]["config"]
        assert config["message.max.bytes"] == TRANSPORT_MAX_BYTES > MAX_VALUE_BYTES
        assert config["replica.fetch.max.bytes"] == TRANSPORT_MAX_BYTES

    def test_version_is_the_one_strimzi_runs(self):
        kafka = one(render_chart(show_only=[KAFKA]), "Kafka")
        assert jp(kafka, "spec.kafka.version") == chartlib.pins()["KAFKA_VERSION"]

    def test_kraft_switch(self):
        objects = render_chart(values_files=[chartlib.VALUES_DIR / "kraft.yaml"], show_only=[KAFKA, POOL])
        kafka, pool = one(objects, "Kafka"), one(objects, "KafkaNodePool")
        assert jp(kafka, "metadata.annotations") == {
            "strimzi.io/kraft": "enabled",
            "strimzi.io/node-pools": "enabled",
        }
        assert jp(kafka, "spec.zookeeper") is None
        assert jp(kafka, "spec.kafka.replicas") is None
        assert jp(kafka, "spec.kafka.metadataVersion") == "3.9-IV0"
        assert jp(pool, "spec.roles") == ["controller", "broker"]
        assert jp(pool, "spec.replicas") == 3
        assert jp(pool, "metadata.labels")["strimzi.io/cluster"] == "kafka"
        # three brokers -> replication 3, min ISR 2
        assert kafka["spec"]["kafka"]["config"]["default.replication.factor"] == 3
        assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2

    def test_external_listener_advertises_the_host_side_of_the_kind_port_mapping(self):
        kafka = one(render_chart(values={"kafka": {"replicas": 2}}, show_only=[KAFKA]), "Kafka")
        ext = jp(kafka, "spec.kafka.listeners[1]")
        assert (ext["name"], ext["type"], ext["tls"]) == ("external", "nodeport", False)
        assert jp(ext, "configuration.bootstrap.nodePort") == 31092
        assert jp(ext, "configuration.brokers") == [
            {"broker": 0, "nodePort": 31093, "advertisedHost": "localhost", "advertisedPort": 31093},
            {"broker": 1, "nodePort": 31094, "advertisedHost": "localhost", "advertisedPort": 31094},
        ]

    def test_internal_listener_admits_the_platform_and_spark_namespaces(self):
        kafka = one(render_chart(show_only=[KAFKA]), "Kafka")
        plain = jp(kafka, "spec.kafka.listeners[0]")
        assert (plain["name"], plain["port"], plain["tls"]) == ("plain", 9092, False)
        assert plain["networkPolicyPeers"] == [
            {"podSelector": {}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "spark-jobs"}}},
        ]

    def test_no_external_listener_when_disabled(self):
        kafka = one(render_chart(values={"kafka": {"external": {"enabled": False}}}, show_only=[KAFKA]), "Kafka")
        assert [lst["name"] for lst in jp(kafka, "spec.kafka.listeners")] == ["plain"]

    @pytest.mark.parametrize("container", ["kafkaContainer", "zookeeperContainer", "topicOperatorContainer"])
    def test_containers_are_non_root(self, container):
        kafka = one(render_chart(show_only=[KAFKA]), "Kafka")
        section = {
            "kafkaContainer": "kafka",
            "zookeeperContainer": "zookeeper",
            "topicOperatorContainer": "entityOperator",
        }[container]
        ctx = jp(kafka, f"spec.{section}.template.{container}.securityContext")
        assert ctx["runAsNonRoot"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}

    def test_brokers_and_zookeeper_keep_strimzis_fs_group(self):
        # Strimzi sets fsGroup 0 only when the CR gives no pod securityContext; ours replaces it,
        # and uid 1001 could not write a root-owned data volume on a real cluster without it.
        kafka = one(render_chart(show_only=[KAFKA]), "Kafka")
        for section in ("kafka", "zookeeper"):
            ctx = jp(kafka, f"spec.{section}.template.pod.securityContext")
            assert ctx["fsGroup"] == 0 and ctx["runAsNonRoot"] is True, section
        assert "fsGroup" not in jp(kafka, "spec.entityOperator.template.pod.securityContext")  # no volume

    def test_not_created_when_disabled(self):
        objects = render_chart(values_files=[chartlib.VALUES_DIR / "minimal.yaml"])
        assert [o for o in objects if o["apiVersion"].startswith("kafka.strimzi.io")] == []


class TestKafkaTopics:
    def test_topics_belong_to_the_cluster(self):
        topics = render_chart(show_only=[TOPICS])
        assert [(t["metadata"]["name"], t["spec"]["partitions"], t["spec"]["replicas"]) for t in topics] == [
            ("orders.events", 3, 1),
        ]
        assert {t["metadata"]["labels"]["strimzi.io/cluster"] for t in topics} == {"kafka"}

    def test_custom_topics(self):
        topics = render_chart(
            values={"kafka": {"topics": [{"name": "x", "partitions": 6, "config": {"cleanup.policy": "compact"}}]}},
            show_only=[TOPICS],
        )
        assert [jp(t, "spec.config") for t in topics] == [{"cleanup.policy": "compact"}]


class TestKafkaUi:
    def test_points_at_the_internal_listener_and_requires_login(self):
        dep = one(render_chart(show_only=[UI]), "Deployment", "kafka-ui")
        env = {e["name"]: e.get("value") for e in jp(dep, "spec.template.spec.containers[0].env")}
        assert env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == "kafka-kafka-bootstrap.datapipeline.svc.cluster.local:9092"
        assert env["AUTH_TYPE"] == "LOGIN_FORM"
        assert jp(dep, "spec.template.spec.containers[0].envFrom[0].secretRef.name") == "kafka-ui-login"
        assert jp(dep, "spec.template.spec.containers[0].image") == chartlib.pins()["KAFKA_UI_IMAGE"]

    def test_login_password_is_generated(self):
        secret = one(render_chart(show_only=["templates/kafka-ui/kafka-ui-secret.yaml"]), "Secret")
        password = base64.b64decode(secret["data"]["SPRING_SECURITY_USER_PASSWORD"]).decode()
        assert len(password) == 24 and password.isalnum()

    def test_not_created_when_disabled(self):
        assert render_chart(values={"kafkaUi": {"enabled": False}}, show_only=[UI]) == []
