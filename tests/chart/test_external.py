"""kafka.mode=external and s3.mode=external: no operator objects, every consumer follows the mode, the init Job.

The pairing under test is the one scripts/k8s/up.sh installs in the source profile: charts/standins,
then this chart with charts/values/datapipeline-external.yaml (chartlib.EXTERNAL_VALUES).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import chartlib
import fakekube
import pytest
import yaml
from chartlib import by_kind, jp, one, render_chart

from datapipeline import k8s_init
from datapipeline.ingest import config as ingest_config

# charts/standins serves Strimzi's bootstrap name and the Tenant's port 80, so these are also the
# default modes' addresses: k8s/spark/*.yaml work unchanged on the stand-ins.
BOOTSTRAP = "kafka-kafka-bootstrap.datapipeline.svc.cluster.local:9092"
ENDPOINT = "http://minio.datapipeline.svc.cluster.local:80"
OPERATOR_GROUPS = ("kafka.strimzi.io/", "minio.min.io/")
S3_SECRETS = "templates/s3/s3-secrets.yaml"
INIT = "templates/init/init-job.yaml"
EXTERNAL_KAFKA = {"kafka": {"mode": "external", "bootstrapServers": BOOTSTRAP}}
EXTERNAL_S3 = {"s3": {"mode": "external", "endpoint": ENDPOINT, "existingSecret": "s3-keys"}}


def env_of(container: dict) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def data(secret: dict, key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


def test_external_values_file_sets_both_modes():
    values = yaml.safe_load(chartlib.EXTERNAL_VALUES.read_text())
    assert values == {
        "kafka": {"mode": "external", "bootstrapServers": BOOTSTRAP},
        "s3": {"mode": "external", "endpoint": ENDPOINT, "existingSecret": "minio-credentials"},
    }


class TestOperatorObjects:
    def test_external_mode_renders_no_strimzi_or_minio_objects(self, external_objects):
        assert [o["kind"] for o in external_objects if o["apiVersion"].startswith(OPERATOR_GROUPS)] == []
        secrets = {s["metadata"]["name"] for s in by_kind(external_objects, "Secret")}
        assert not secrets & {"minio-credentials", "minio-env-configuration"}  # the Tenant's, and the stand-ins' name

    @pytest.mark.parametrize(
        ("values", "kinds"),
        [
            ({}, {"Kafka", "KafkaTopic", "Tenant"}),
            (EXTERNAL_KAFKA, {"Tenant"}),
            (EXTERNAL_S3, {"Kafka", "KafkaTopic"}),
            ({**EXTERNAL_KAFKA, **EXTERNAL_S3}, set()),
        ],
        ids=["operators", "kafka-external", "s3-external", "both-external"],
    )
    def test_each_mode_switches_its_own_operator_objects(self, values, kinds):
        objects = render_chart(values=values)
        assert {o["kind"] for o in objects if o["apiVersion"].startswith(OPERATOR_GROUPS)} == kinds


class TestConsumersFollowTheMode:
    def test_spark_applications_get_the_external_addresses(self, external_objects):
        apps = by_kind(external_objects, "SparkApplication")
        assert {a["metadata"]["name"] for a in apps} == {"ingest", "maintenance"}
        for app in apps:
            env = env_of(jp(app, "spec.driver"))
            assert (env["DP_KAFKA_BOOTSTRAP"], env["DP_S3_ENDPOINT"], env["DP_S3_REGION"]) == (
                BOOTSTRAP,
                ENDPOINT,
                "us-east-1",
            )
            refs = {e["name"]: jp(e, "valueFrom.secretKeyRef") for e in jp(app, "spec.driver.env") if "valueFrom" in e}
            assert refs == {
                "DP_S3_ACCESS_KEY": {"name": "spark-s3-credentials", "key": "accessKey"},
                "DP_S3_SECRET_KEY": {"name": "spark-s3-credentials", "key": "secretKey"},
            }

    def test_the_ingest_job_parses_them(self, external_objects):
        app = one(external_objects, "SparkApplication", "ingest")
        env = {e["name"]: e.get("value", f"<secret {e['name']}>") for e in jp(app, "spec.driver.env")}
        cfg = ingest_config.from_args(jp(app, "spec.arguments"), env=env)
        assert cfg.kafka_bootstrap == BOOTSTRAP
        assert (cfg.s3.endpoint, cfg.s3.region) == (ENDPOINT, "us-east-1")

    def test_region_follows_values(self):
        objects = render_chart(
            values={
                **EXTERNAL_S3,
                "s3": {**EXTERNAL_S3["s3"], "region": "eu-west-1"},
                "spark": {"renderApplications": True},
            },
            show_only=["templates/spark/spark-application.yaml", "templates/tests/smoke-test-pod.yaml"],
        )
        assert env_of(jp(one(objects, "SparkApplication", "ingest"), "spec.driver"))["DP_S3_REGION"] == "eu-west-1"
        assert env_of(jp(one(objects, "Pod"), "spec.containers[0]"))["AWS_REGION"] == "eu-west-1"

    def test_kafka_ui_uses_the_external_bootstrap(self, external_objects):
        dep = one(external_objects, "Deployment", "kafka-ui")
        assert env_of(jp(dep, "spec.template.spec.containers[0]"))["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == BOOTSTRAP

    def test_smoke_test_uses_the_external_addresses_and_secret(self):
        pod = one(
            render_chart(values={**EXTERNAL_KAFKA, **EXTERNAL_S3}, show_only=["templates/tests/smoke-test-pod.yaml"]),
            "Pod",
        )
        env = env_of(jp(pod, "spec.containers[0]"))
        assert (env["KAFKA_BOOTSTRAP_SERVERS"], env["AWS_ENDPOINT_URL"]) == (BOOTSTRAP, ENDPOINT)
        volumes = {v["name"]: v for v in jp(pod, "spec.volumes")}
        assert jp(volumes["credentials"], "secret.secretName") == "s3-keys"

    def test_operator_mode_addresses_are_unchanged(self, all_objects):
        app = one(all_objects, "SparkApplication", "ingest")
        env = env_of(jp(app, "spec.driver"))
        assert env["DP_KAFKA_BOOTSTRAP"] == "kafka-kafka-bootstrap.datapipeline.svc.cluster.local:9092"
        assert env["DP_S3_ENDPOINT"] == "http://minio.datapipeline.svc.cluster.local:80"
        pod = one(all_objects, "Pod", "datapipeline-smoke-test")
        volumes = {v["name"]: v for v in jp(pod, "spec.volumes")}
        assert jp(volumes["credentials"], "secret.secretName") == "minio-credentials"

    def test_notes_name_the_external_services(self):
        proc = chartlib.helm(
            "install", "datapipeline", str(chartlib.CHART), "--dry-run=client", "-n", "datapipeline",
            "--values", str(chartlib.EXTERNAL_VALUES),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        notes = proc.stdout.split("NOTES:", 1)[1]
        assert f"S3 (external)  {ENDPOINT}" in notes
        assert f"Kafka (external) {BOOTSTRAP}" in notes
        assert "get secret minio-credentials" in notes
        assert "logs job/datapipeline-init" in notes
        assert "port-forward svc/minio-console" not in notes
        assert "WARNING: the external Kafka listener" not in notes  # that is the Strimzi listener's warning
        # no cluster behind --dry-run=client: the copies of the keys cannot be made, and NOTES says so
        assert 'WARNING: s3.existingSecret "minio-credentials" could not be read' in notes


class TestRequiredValues:
    @pytest.mark.parametrize(
        ("values", "message"),
        [
            (
                {"kafka": {"mode": "external"}},
                "kafka.bootstrapServers is required with kafka.mode=external: set it to the brokers' host:port list",
            ),
            (
                {"s3": {"mode": "external", "existingSecret": "s3-keys"}},
                "s3.endpoint is required with s3.mode=external: set it to the S3 URL with its scheme",
            ),
            (
                {"s3": {"mode": "external", "endpoint": ENDPOINT}},
                "s3.existingSecret is required with s3.mode=external: name a Secret in the release namespace",
            ),
        ],
        ids=["bootstrapServers", "endpoint", "existingSecret"],
    )
    def test_missing_connection_value_fails_with_one_line(self, values, message):
        with pytest.raises(chartlib.HelmError) as err:
            chartlib.template_text(values)
        first, *rest = str(err.value).splitlines()
        assert message in first  # the whole message on helm's one error line
        assert first.startswith("Error: execution error at (datapipeline/templates/check-values.yaml")
        assert not [line for line in rest if line and not line.startswith("Use --debug")], rest

    def test_not_required_when_kafka_is_off(self):
        values = {
            "kafka": {"enabled": False, "mode": "external"},
            "kafkaUi": {"enabled": False},
            "smokeTest": {"enabled": False},
        }
        assert render_chart(values=values, show_only=[INIT]) == []


def fake_cluster(*objects: dict) -> fakekube.FakeCluster:
    everything = render_chart(validate=False) + render_chart(validate=False, values_files=[chartlib.EXTERNAL_VALUES])
    cluster = fakekube.FakeCluster({(o["apiVersion"], o["kind"]) for o in everything} | {("v1", "ConfigMap")})
    for o in objects:
        cluster.store(o)
    return cluster


# What every namespace of a real cluster holds (published by kube-controller-manager): the chart's sign of a cluster.
ROOT_CA = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "kube-root-ca.crt", "namespace": "datapipeline"},
}


def stand_in_secret(access: str, secret: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "minio-credentials", "namespace": "datapipeline"},
        "data": {
            "accessKey": base64.b64encode(access.encode()).decode(),
            "secretKey": base64.b64encode(secret.encode()).decode(),
        },
    }


def server_render(cluster: fakekube.FakeCluster, tmp_path, show_only=(S3_SECRETS,)) -> list[dict]:
    with fakekube.serve(cluster, tmp_path) as kubeconfig:
        text = chartlib.template_text(
            values_files=[chartlib.EXTERNAL_VALUES],
            show_only=show_only,
            extra_args=("--dry-run=server", "--disable-openapi-validation", "--kubeconfig", str(kubeconfig)),
        )
    return [d for d in yaml.safe_load_all(text) if d]


class TestExistingSecretIsCopied:
    def test_install_copies_the_keys_to_spark_and_airflow(self, tmp_path):
        cluster = fake_cluster(ROOT_CA, stand_in_secret("AKIAEXAMPLE", "s3cr3tExample"))
        objects = server_render(cluster, tmp_path)
        assert "/api/v1/namespaces/datapipeline/secrets/minio-credentials" in cluster.requests  # lookup ran
        spark = one(objects, "Secret", "spark-s3-credentials")
        assert spark["metadata"]["namespace"] == "spark-jobs"
        assert (data(spark, "accessKey"), data(spark, "secretKey")) == ("AKIAEXAMPLE", "s3cr3tExample")
        conn = json.loads(data(one(objects, "Secret", "airflow-logs-connection"), "connection"))
        assert conn == {
            "conn_type": "aws",
            "login": "AKIAEXAMPLE",
            "password": "s3cr3tExample",
            "extra": {"endpoint_url": ENDPOINT, "region_name": "us-east-1"},
        }

    def test_install_fails_when_the_secret_is_missing(self, tmp_path):
        with pytest.raises(chartlib.HelmError) as err:
            server_render(fake_cluster(ROOT_CA), tmp_path)
        assert (
            's3.existingSecret "minio-credentials" was not found in namespace "datapipeline" or lacks the keys '
            "accessKey and secretKey: create it first (charts/standins creates minio-credentials)"
        ) in str(err.value)

    def test_offline_render_leaves_the_copies_out(self):
        assert render_chart(values_files=[chartlib.EXTERNAL_VALUES], show_only=[S3_SECRETS]) == []

    def test_operator_mode_never_reads_an_existing_secret(self, tmp_path):
        cluster = fake_cluster(ROOT_CA)
        with fakekube.serve(cluster, tmp_path) as kubeconfig:
            chartlib.template_text(
                show_only=[S3_SECRETS],
                extra_args=("--dry-run=server", "--disable-openapi-validation", "--kubeconfig", str(kubeconfig)),
            )
        assert not [r for r in cluster.requests if r.endswith("/configmaps/kube-root-ca.crt")]


class TestNetworkPolicies:
    def test_only_what_the_chart_runs_is_restricted(self, external_objects):
        found = sorted(
            (p["metadata"]["namespace"], p["metadata"]["name"]) for p in by_kind(external_objects, "NetworkPolicy")
        )
        # no `minio` policy: the stand-ins (charts/standins) or the provider guard Kafka and S3
        assert found == [("datapipeline", "airflow-db"), ("datapipeline", "kafka-ui"), ("spark-jobs", "spark-jobs")]


class TestInitJob:
    def test_not_rendered_with_the_operators(self, all_objects):
        assert by_kind(all_objects, "Job") == []

    def test_post_install_and_upgrade_hook(self, external_objects):
        job = one(external_objects, "Job", "datapipeline-init")
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
        spec = jp(job, "spec.template.spec")
        assert spec["restartPolicy"] == "Never"
        container = spec["containers"][0]
        assert container["image"] == "datapipeline/spark:dev"  # the project's Spark image
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}

    def test_creates_the_topics_and_buckets_of_the_values(self, external_objects):
        job = one(external_objects, "Job", "datapipeline-init")
        container = jp(job, "spec.template.spec.containers[0]")
        args = k8s_init.parser().parse_args(container["args"])
        values = yaml.safe_load((chartlib.CHART / "values.yaml").read_text())
        assert args.kafka_bootstrap == BOOTSTRAP
        assert k8s_init.parse_topics(args.topics) == [
            k8s_init.TopicSpec(t["name"], t["partitions"], t.get("config", {})) for t in values["kafka"]["topics"]
        ]
        assert (args.s3_endpoint, args.s3_region) == (ENDPOINT, "us-east-1")
        assert args.bucket == values["s3"]["buckets"] == ["lake", "airflow-logs"]
        # the keys as files from the stand-ins' Secret
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert str(args.s3_credentials_dir) == mounts["credentials"]
        volumes = {v["name"]: v for v in jp(job, "spec.template.spec.volumes")}
        assert jp(volumes["credentials"], "secret.secretName") == "minio-credentials"
        assert "env" not in container or all("valueFrom" not in e for e in container["env"])

    def test_command_runs_the_module_with_the_images_python(self):
        job = one(render_chart(values={**EXTERNAL_KAFKA, **EXTERNAL_S3}, show_only=[INIT]), "Job")
        container = jp(job, "spec.template.spec.containers[0]")
        # the rendered command as the container runs it, with this interpreter as the image's PYSPARK_PYTHON
        proc = subprocess.run(
            [*container["command"], "--help"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYSPARK_PYTHON": sys.executable},
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("usage: python -m datapipeline.k8s_init")

    @pytest.mark.parametrize(
        ("values", "kafka", "s3"),
        [(EXTERNAL_KAFKA, True, False), (EXTERNAL_S3, False, True)],
        ids=["kafka-only", "s3-only"],
    )
    def test_does_only_the_external_part(self, values, kafka, s3):
        job = one(render_chart(values=values, show_only=[INIT]), "Job")
        args = jp(job, "spec.template.spec.containers[0].args")
        assert ("--kafka-bootstrap" in args, "--bucket" in args) == (kafka, s3)
        assert ("credentials" in {v["name"] for v in jp(job, "spec.template.spec.volumes")}) == s3

    def test_can_be_turned_off(self):
        values = {**EXTERNAL_KAFKA, **EXTERNAL_S3, "initJob": {"enabled": False}}
        assert render_chart(values=values, show_only=[INIT]) == []
