"""charts/values/airflow.yaml uses only keys the official Airflow chart 1.22 reads, and Airflow options
that Airflow itself knows; the lake-writer pool reaches the cluster (scripts/k8s/up.sh, components.sh).

The Airflow chart is only on its Helm repository (unreachable here; no registry ships it or its
values.schema.json: the apache-airflow sdist on PyPI is a 30 KB meta-package), so its keys are
checked against the list below, each verified in the chart's own sources:

- parameters reference of chart 1.22.0 (airflow.apache.org/docs/helm-chart/1.22.0/parameters-ref.html):
  airflowVersion, defaultAirflowTag, executor, config, createUserJob.defaultUser.enabled, apiSecretKey;
- release notes: createUserJob.enabled (1.19, apache/airflow #56057), workers.kubernetes.serviceAccount
  (1.21.0, "workers.serviceAccount is now deprecated", #64730) and workers.kubernetes.resources
  (newsfragment 61890: "workers.resources section is now deprecated");
- apache/airflow chart/templates: secrets/api-secret-key-secret.yaml (`apiSecretKeySecretName`, key
  `api-secret-key`, Airflow >= 3), secrets/jwt-secret.yaml (`jwtSecretName`, key `jwt-secret`),
  secrets/metadata-connection-secret.yaml (`data.metadataSecretName`, key `connection`;
  `pgbouncer.enabled`), jobs/create-user-job.yaml and jobs/migrate-database-job.yaml (`*.resources`);
- apache/airflow chart/values.yaml and values.schema.json (Airflow 3 era): images.airflow.*, env,
  secret[].envName/secretName/secretKey, postgresql.enabled, redis.enabled, statsd.enabled,
  scheduler/apiServer/dagProcessor/triggerer resources,
  dagProcessor.enabled, triggerer.persistence.enabled; the executor values "LocalExecutor,
  CeleryExecutor, KubernetesExecutor" ("One or multiple of", values.yaml 1.22.0).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import chartlib
import pytest
import yaml
from chartlib import jp, one, render_chart

AIRFLOW_VALUES = chartlib.ROOT / "charts" / "values" / "airflow.yaml"
VALUES = yaml.safe_load(AIRFLOW_VALUES.read_text())
CHART_VALUES = yaml.safe_load((chartlib.CHART / "values.yaml").read_text())
UP = chartlib.ROOT / "scripts" / "k8s" / "up.sh"
# up.sh's steps per profile; install_airflow is the Airflow step.
COMPONENTS = chartlib.ROOT / "scripts" / "k8s" / "components.sh"

# Leaves (dotted paths) of the Airflow chart 1.22 that we set; see the module docstring for sources.
# `config`, `env` and `secret` are free-form below their key (checked separately).
CHART_KEYS = {
    "executor",
    "airflowVersion",
    "defaultAirflowTag",
    "images.airflow.repository",
    "images.airflow.tag",
    "images.airflow.pullPolicy",
    "postgresql.enabled",
    "data.metadataSecretName",
    "apiSecretKeySecretName",
    "jwtSecretName",
    "pgbouncer.enabled",
    "redis.enabled",
    "statsd.enabled",
    "config",
    "env",
    "secret",
    "workers.kubernetes.serviceAccount.create",
    "workers.kubernetes.serviceAccount.name",
    "workers.kubernetes.resources",
    "scheduler.resources",
    "apiServer.resources",
    "dagProcessor.enabled",
    "dagProcessor.resources",
    "triggerer.persistence.enabled",
    "triggerer.resources",
    "createUserJob.enabled",
    "createUserJob.defaultUser.enabled",
    "migrateDatabaseJob.resources",
}
FREE_FORM = ("config", "env", "secret", "resources")


def leaves(node: object, prefix: str = "") -> list[str]:
    """Dotted paths down to a leaf, stopping at free-form values (config, env, secret, resources)."""
    if not isinstance(node, dict) or prefix.rsplit(".", 1)[-1] in FREE_FORM:
        return [prefix]
    return [p for k, v in node.items() for p in leaves(v, f"{prefix}.{k}" if prefix else k)]


def up_sh_set_keys() -> set[str]:
    """Keys the Airflow install of up.sh (components.sh install_airflow) passes with --set."""
    text = COMPONENTS.read_text()
    airflow_install = text[text.index("helm upgrade --install airflow") :]
    airflow_install = airflow_install[: airflow_install.index("--timeout")]
    return set(re.findall(r'--set "?([\w.]+)=', airflow_install))


def test_every_key_is_one_the_airflow_chart_reads():
    used = set(leaves(VALUES)) | up_sh_set_keys()
    assert used - CHART_KEYS == set(), "not a key of the Airflow chart 1.22 (or not verified yet)"
    assert up_sh_set_keys() == {
        "images.airflow.repository",
        "images.airflow.tag",
        "airflowVersion",
        "defaultAirflowTag",
    }


# Keys the chart still reads but has deprecated (release notes 1.21.0; newsfragment 61890; #59767).
DEPRECATED = ("workers.serviceAccount.", "workers.resources", "webserver.defaultUser.")


def test_no_deprecated_key_is_used():
    used = set(leaves(VALUES))
    assert [k for k in used if k.startswith(DEPRECATED)] == []
    assert [k for k in CHART_KEYS if k.startswith(DEPRECATED)] == []  # nor listed as fine


def test_the_key_check_does_catch_a_wrong_key():
    wrong = {**VALUES, "webserver": {"defaultUser": {"enabled": False}}, "workers": {"serviceaccount": {"name": "w"}}}
    assert set(leaves(wrong)) - CHART_KEYS == {"webserver.defaultUser.enabled", "workers.serviceaccount.name"}


def test_env_and_secret_items_have_the_shapes_the_chart_reads():
    # values.yaml: `env: [{name, value}]` and `secret: [{envName, secretName, secretKey}]`.
    assert all(set(e) == {"name", "value"} and isinstance(e["value"], str) for e in VALUES["env"])
    assert all(set(s) == {"envName", "secretName", "secretKey"} for s in VALUES["secret"])
    names = [e["name"] for e in VALUES["env"]] + [s["envName"] for s in VALUES["secret"]]
    assert len(names) == len(set(names)), "an environment variable is set twice"


def test_kubernetes_executor_and_no_bundled_services():
    assert VALUES["executor"] == "KubernetesExecutor"
    for key in ("postgresql.enabled", "pgbouncer.enabled", "redis.enabled", "statsd.enabled"):
        assert jp(VALUES, key) is False, key


@pytest.fixture(scope="module")
def airflow_options(tmp_path_factory) -> dict[str, list[str]]:
    """Every [section] option of the Airflow the image installs (requirements.lock), from Airflow itself."""
    home = tmp_path_factory.mktemp("airflow-home")
    code = (
        "import json\nfrom airflow.configuration import conf\n"
        "print(json.dumps({s: sorted(d['options']) for s, d in conf.configuration_description.items()}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "AIRFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_config_options_are_airflow_options(airflow_options):
    unknown = [
        f"[{section}] {option}"
        for section, options in VALUES["config"].items()
        for option in options
        if option not in airflow_options.get(section, [])
    ]
    assert unknown == []
    assert "remote_logging" in airflow_options["logging"]  # the list is real (and has what we rely on)


def test_simple_auth_manager_without_the_fab_user_job():
    core = VALUES["config"]["core"]
    assert core["auth_manager"].endswith("simple_auth_manager.SimpleAuthManager")
    assert core["simple_auth_manager_all_admins"] == "True"
    # The chart's create-user job runs `airflow users create`, a FAB auth manager command: the Job
    # itself is off (`enabled` gates it; `defaultUser.enabled` alone left it running).
    assert jp(VALUES, "createUserJob.enabled") is False
    assert jp(VALUES, "createUserJob.defaultUser.enabled") is False


def test_api_secrets_come_from_the_project_chart_under_the_keys_airflow_reads():
    assert VALUES["apiSecretKeySecretName"] == CHART_VALUES["airflow"]["apiSecretKeySecretName"]
    assert VALUES["jwtSecretName"] == CHART_VALUES["airflow"]["jwtSecretName"]
    objects = render_chart(show_only=["templates/airflow/airflow-secrets.yaml"])
    api = one(objects, "Secret", VALUES["apiSecretKeySecretName"])
    jwt = one(objects, "Secret", VALUES["jwtSecretName"])
    assert set(api["data"]) == {"api-secret-key"}  # chart/templates/secrets/api-secret-key-secret.yaml
    assert set(jwt["data"]) == {"jwt-secret"}  # chart/templates/secrets/jwt-secret.yaml


# --- the lake-writer pool -------------------------------------------------------------------------


def test_pool_name_is_the_local_platforms():
    from datapipeline.local.airflow import LAKE_WRITER_POOL

    env = {e["name"]: e["value"] for e in VALUES["env"]}
    assert env["DP_LAKE_WRITER_POOL"] == LAKE_WRITER_POOL  # datapipeline.orchestration reads it


def test_up_creates_the_pool_after_airflow_is_ready():
    from datapipeline.local.airflow import LAKE_WRITER_POOL_DESCRIPTION, LAKE_WRITER_POOL_SLOTS

    text = COMPONENTS.read_text()  # the cluster's copy of the local platform's pool (name via DP_LAKE_WRITER_POOL)
    command = f'airflow pools set "$DP_LAKE_WRITER_POOL" {LAKE_WRITER_POOL_SLOTS} "{LAKE_WRITER_POOL_DESCRIPTION}"'
    assert command in text, f"components.sh does not run: {command}"
    step = text.index(command)
    body = text[text.index("install_airflow() {") :]
    body = body[: body.index("\n}\n")]
    assert command in body and body.index("helm upgrade --install airflow") < body.index(command)
    assert body.index("rollout status deploy/airflow-scheduler") < body.index(command)  # after Airflow is ready
    exec_at = text.rindex("exec deploy/airflow-scheduler -c scheduler", 0, step)  # the same command
    assert step - exec_at < 120
    up = UP.read_text()
    assert up.index("install_airflow") < up.index('"$ROOT/scripts/k8s/status.sh"')
