"""The spark-operator chart itself, rendered with charts/values/spark-operator.yaml.

The chart ships inside the operator's Go module (github.com/kubeflow/spark-operator/v2 at the
pinned version, charts/spark-operator-chart), which scripts/k8s/fetch_schemas.py downloads for the
CRDs anyway; the other upstream charts are only on Helm repositories, which these machines cannot
reach, so their values files are checked by test_chart_versions.py and test_resources.py only.
"""

from __future__ import annotations

import subprocess

import chartlib
import pytest
import yaml
from chartlib import by_kind, jp, one

VALUES = chartlib.ROOT / "charts" / "values" / "spark-operator.yaml"


@pytest.fixture(scope="module")
def operator_objects() -> list[dict]:
    fetch = chartlib._fetch_schemas_module()
    module_dir = fetch.go_module_dir(
        "github.com/kubeflow/spark-operator/v2", "v" + chartlib.pins()["SPARK_OPERATOR_VERSION"]
    )
    chart = module_dir / "charts" / "spark-operator-chart"
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["version"] == chartlib.pins()["SPARK_OPERATOR_VERSION"]
    proc = subprocess.run(
        [
            chartlib.tool("helm"),
            "template",
            "spark-operator",
            str(chart),
            "--namespace",
            "spark-operator",
            "--values",
            str(VALUES),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    bad = chartlib.kubeconform(proc.stdout)
    assert bad == [], [f"{r['kind']}/{r['name']}: {r['msg']}" for r in bad]
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def test_webhook_selects_only_the_spark_namespace(operator_objects):
    hook = one(operator_objects, "MutatingWebhookConfiguration", "spark-operator-webhook")
    for webhook in hook["webhooks"]:
        assert jp(webhook, "namespaceSelector.matchExpressions[0].values") == ["spark-jobs"], webhook["name"]
        assert webhook["failurePolicy"] == "Fail"
        assert jp(webhook, "clientConfig.service.name") == "spark-operator-webhook-svc"  # scripts/k8s/up.sh waits on it


def test_controller_and_webhook_watch_the_spark_namespace(operator_objects):
    for name in ("spark-operator-controller", "spark-operator-webhook"):
        args = jp(one(operator_objects, "Deployment", name), "spec.template.spec.containers[0].args")
        assert "--namespaces=spark-jobs" in args, name


def test_spark_account_and_rbac_are_left_to_our_chart(operator_objects):
    # In the job namespace the operator only grants itself access; no Spark account of its own.
    in_spark_ns = sorted(
        (o["kind"], o["metadata"]["name"]) for o in operator_objects if o["metadata"].get("namespace") == "spark-jobs"
    )
    assert in_spark_ns == [
        ("Role", "spark-operator-controller"),
        ("Role", "spark-operator-webhook"),
        ("RoleBinding", "spark-operator-controller"),
        ("RoleBinding", "spark-operator-webhook"),
    ]
    for binding in by_kind(operator_objects, "RoleBinding"):
        for subject in binding["subjects"]:
            assert subject["namespace"] == "spark-operator", binding["metadata"]["name"]
    assert [s["metadata"]["name"] for s in by_kind(operator_objects, "ServiceAccount")] == [
        "spark-operator-controller",
        "spark-operator-webhook",
    ]


def test_resources_counted_in_the_budget_are_the_rendered_ones(operator_objects):
    values = yaml.safe_load(VALUES.read_text())
    for name, key in (("spark-operator-controller", "controller"), ("spark-operator-webhook", "webhook")):
        rendered = jp(one(operator_objects, "Deployment", name), "spec.template.spec.containers[0].resources")
        assert rendered == values[key]["resources"], name


def test_leader_election_may_record_its_events(operator_objects):
    # Both components elect a leader with a Lease in the operator's namespace, and client-go records
    # a LeaderElection event there; 2.5.0's webhook Role lacked `events` (kubeflow/spark-operator
    # #3024, fixed in 2.5.2 by #3027).
    for name in ("spark-operator-controller", "spark-operator-webhook"):
        role = next(
            o
            for o in by_kind(operator_objects, "Role")
            if o["metadata"]["name"] == name and o["metadata"]["namespace"] == "spark-operator"
        )
        granted = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
        assert {("leases", "get"), ("leases", "update"), ("events", "create"), ("events", "patch")} <= granted, name
