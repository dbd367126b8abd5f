"""Generated credentials: MinIO (Tenant, Spark, Airflow logs), PostgreSQL (CNPG, Airflow metadata), Airflow API keys."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import chartlib
import fakekube
import yaml
from chartlib import jp, one, render_chart

MINIO_SECRETS = "templates/minio/minio-secret.yaml"
S3_SECRETS = "templates/s3/s3-secrets.yaml"
PG_SECRETS = "templates/postgres/postgres-secret.yaml"
AIRFLOW_SECRETS = "templates/airflow/airflow-secrets.yaml"
ALL_SECRETS = (MINIO_SECRETS, S3_SECRETS, PG_SECRETS, AIRFLOW_SECRETS, "templates/kafka-ui/kafka-ui-secret.yaml")


def data(secret: dict, key: str) -> str:
    if "stringData" in secret and key in secret["stringData"]:
        return secret["stringData"][key]
    return base64.b64decode(secret["data"][key]).decode()


class TestMinioCredentials:
    def test_one_generated_pair_everywhere(self):
        objects = render_chart(show_only=[MINIO_SECRETS, S3_SECRETS])
        source = one(objects, "Secret", "minio-credentials")
        access, secret = data(source, "accessKey"), data(source, "secretKey")
        assert len(access) == 20 and len(secret) == 40 and access.isalnum() and secret.isalnum()

        env = data(one(objects, "Secret", "minio-env-configuration"), "config.env")
        assert f'export MINIO_ROOT_USER="{access}"' in env
        assert f'export MINIO_ROOT_PASSWORD="{secret}"' in env

        spark = one(objects, "Secret", "spark-s3-credentials")
        assert spark["metadata"]["namespace"] == "spark-jobs"
        assert (data(spark, "accessKey"), data(spark, "secretKey")) == (access, secret)

        conn = json.loads(data(one(objects, "Secret", "airflow-logs-connection"), "connection"))
        assert conn == {
            "conn_type": "aws",
            "login": access,
            "password": secret,
            "extra": {"endpoint_url": "http://minio.datapipeline.svc.cluster.local:80", "region_name": "us-east-1"},
        }

        lake = one(objects, "Secret", "airflow-lake-s3")  # data_quality's DP_S3_* in the worker pods
        assert lake["metadata"]["namespace"] == "datapipeline"
        assert (data(lake, "endpoint"), data(lake, "accessKey"), data(lake, "secretKey")) == (
            "http://minio.datapipeline.svc.cluster.local:80",
            access,
            secret,
        )

    def test_each_install_gets_new_credentials(self):
        first = one(render_chart(show_only=[MINIO_SECRETS]), "Secret", "minio-credentials")
        second = one(render_chart(show_only=[MINIO_SECRETS]), "Secret", "minio-credentials")
        assert data(first, "secretKey") != data(second, "secretKey")


class TestPostgresCredentials:
    def test_airflow_connection_uses_the_cnpg_user(self):
        objects = render_chart(show_only=[PG_SECRETS, "templates/postgres/postgres-cluster.yaml"])
        app = one(objects, "Secret", "airflow-db-app-credentials")
        assert app["type"] == "kubernetes.io/basic-auth"
        user, password = data(app, "username"), data(app, "password")
        assert user == "airflow" and len(password) == 32

        url = urlsplit(data(one(objects, "Secret", "airflow-metadata"), "connection"))
        assert (url.scheme, url.username, url.password) == ("postgresql", user, password)
        assert (url.hostname, url.port, url.path) == ("airflow-db-rw.datapipeline.svc.cluster.local", 5432, "/airflow")

        cluster = one(objects, "Cluster", "airflow-db")
        assert jp(cluster, "spec.bootstrap.initdb") == {
            "database": "airflow",
            "owner": "airflow",
            "secret": {"name": "airflow-db-app-credentials"},
        }
        assert jp(cluster, "spec.enableSuperuserAccess") is False
        assert jp(cluster, "spec.imageName") == chartlib.pins()["CNPG_POSTGRES_IMAGE"]

    def test_metadata_secret_name_follows_values(self):
        objects = render_chart(values={"airflow": {"metadataSecretName": "meta"}}, show_only=[PG_SECRETS])
        assert "connection" in one(objects, "Secret", "meta")["data"]


class TestAirflowApiKeys:
    def test_generated_once_per_install(self):
        first = render_chart(show_only=[AIRFLOW_SECRETS])
        api, jwt = (
            data(one(first, "Secret", "airflow-api-secret-key"), "api-secret-key"),
            data(one(first, "Secret", "airflow-jwt-secret"), "jwt-secret"),
        )
        assert (len(api), len(jwt)) == (32, 64) and api.isalnum() and jwt.isalnum()
        again = render_chart(show_only=[AIRFLOW_SECRETS])
        assert data(one(again, "Secret", "airflow-jwt-secret"), "jwt-secret") != jwt


class TestMinioTenant:
    def test_plain_http_buckets_and_pool(self):
        tenant = one(render_chart(show_only=["templates/minio/minio-tenant.yaml"]), "Tenant", "minio")
        assert tenant["apiVersion"] == "minio.min.io/v2"
        assert jp(tenant, "spec.requestAutoCert") is False
        assert jp(tenant, "spec.features.bucketDNS") is False
        assert jp(tenant, "spec.configuration.name") == "minio-env-configuration"
        assert jp(tenant, "spec.buckets") == [{"name": "lake"}, {"name": "airflow-logs"}]
        assert jp(tenant, "spec.image") == chartlib.pins()["MINIO_SERVER_IMAGE"]
        pool = jp(tenant, "spec.pools[0]")
        assert (pool["servers"], pool["volumesPerServer"]) == (1, 1)
        assert jp(pool, "volumeClaimTemplate.spec.resources.requests.storage") == "10Gi"
        assert jp(pool, "securityContext.runAsNonRoot") is True
        assert jp(pool, "containerSecurityContext.allowPrivilegeEscalation") is False
        assert jp(pool, "resources.requests") == {"cpu": "100m", "memory": "384Mi"}

    def test_tenant_fields_are_the_ones_operator_7_knows(self):
        # No CRD schema is available for MinIO operator 7.1.1 (see fetch_schemas.py): keep the
        # Tenant to fields read from the operator's own tenant chart (helm/tenant/templates/tenant.yaml).
        tenant = one(render_chart(show_only=["templates/minio/minio-tenant.yaml"]), "Tenant", "minio")
        assert set(tenant["spec"]) <= {
            "image",
            "configuration",
            "requestAutoCert",
            "features",
            "buckets",
            "mountPath",
            "pools",
        }
        assert set(tenant["spec"]["pools"][0]) <= {
            "name",
            "servers",
            "volumesPerServer",
            "volumeClaimTemplate",
            "resources",
            "securityContext",
            "containerSecurityContext",
        }


class TestUpgradeKeepsCredentials:
    """`helm upgrade` against a cluster that has the Secrets: every credential is read back, none regenerated."""

    def test_upgrade_reuses_the_installed_credentials(self, tmp_path):
        installed = render_chart(show_only=ALL_SECRETS)  # first install: nothing in the cluster
        everything = render_chart(validate=False)
        cluster = fakekube.FakeCluster({(o["apiVersion"], o["kind"]) for o in everything})
        for secret in installed:
            # what Helm left in the cluster: the objects plus its ownership marks
            secret["metadata"].setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
            secret["metadata"]["annotations"] = {
                "meta.helm.sh/release-name": chartlib.RELEASE,
                "meta.helm.sh/release-namespace": chartlib.NAMESPACE,
            }
            if "stringData" in secret:  # the API server stores stringData as data
                secret["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in secret.pop("stringData").items()}
            cluster.store(secret)

        with fakekube.serve(cluster, tmp_path) as kubeconfig:
            text = chartlib.template_text(
                show_only=ALL_SECRETS,
                extra_args=("--dry-run=server", "--disable-openapi-validation", "--kubeconfig", str(kubeconfig)),
            )
        upgraded = [d for d in yaml.safe_load_all(text) if d]
        assert "/api/v1/namespaces/datapipeline/secrets/minio-credentials" in cluster.requests  # lookup ran

        def values(objects):
            return {
                (o["metadata"]["namespace"], o["metadata"]["name"], k): data(o, k)
                for o in objects
                for k in (o.get("data") or o.get("stringData") or {})
            }

        before, after = values(installed), values(upgraded)
        assert after == before  # every key of every Secret, including derived ones (config.env, connection URIs)
        assert len(before) == 16  # 10 Secrets, 16 keys

    def test_a_fresh_install_does_not_reuse_anything(self, tmp_path):
        everything = render_chart(validate=False)
        cluster = fakekube.FakeCluster({(o["apiVersion"], o["kind"]) for o in everything})
        with fakekube.serve(cluster, tmp_path) as kubeconfig:
            text = chartlib.template_text(
                show_only=["templates/minio/minio-secret.yaml"],
                extra_args=("--dry-run=server", "--disable-openapi-validation", "--kubeconfig", str(kubeconfig)),
            )
        first = one([d for d in yaml.safe_load_all(text) if d], "Secret", "minio-credentials")
        second = one(render_chart(show_only=["templates/minio/minio-secret.yaml"]), "Secret", "minio-credentials")
        assert data(first, "secretKey") != data(second, "secretKey")
