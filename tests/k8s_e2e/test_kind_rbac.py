"""What the project's service accounts may do, read from the live API server of the kind cluster
(a SelfSubjectRulesReview made as each account), asserted as exact sets: a verb or resource that
a chart change adds, or a binding that grants more than the chart declares, fails here.

- ``airflow-worker`` (release namespace): the KubernetesExecutor's task pods. In the Spark
  namespace they submit, watch and delete SparkApplications and read (and label) the driver pod;
  in the release namespace, where MinIO's and PostgreSQL's Secrets live, this chart grants them
  nothing. (On the kind cluster the official Airflow chart is not installed, so its own
  pod-launcher Role is not part of what is read here; docs/kubernetes.md says so.)
- ``spark`` (Spark namespace): the driver, which creates its executors and their config.
"""

from __future__ import annotations

import json

import kindlib

# What every service account may do anywhere, by Kubernetes' default bindings: its own review
# APIs (ClusterRole system:basic-user, for system:authenticated) and reading the cluster's trust
# bundles (system:cluster-trust-bundle-discovery, for system:serviceaccounts).
EVERY_ACCOUNT = {
    ("authorization.k8s.io", "selfsubjectaccessreviews", "create", ""),
    ("authorization.k8s.io", "selfsubjectrulesreviews", "create", ""),
    ("authentication.k8s.io", "selfsubjectreviews", "create", ""),
    *{("certificates.k8s.io", "clustertrustbundles", v, "") for v in ("get", "list", "watch")},
}


Rule = tuple[str, str, str, str]  # apiGroup, resource, verb, resourceNames ("" = any)


def grants(group: str, resources: tuple[str, ...], verbs: tuple[str, ...]) -> set[Rule]:
    return {(group, r, v, "") for r in resources for v in verbs}


def rules(account: str, namespace: str) -> set[Rule]:
    """What the API server grants ``account`` in ``namespace`` (SelfSubjectRulesReview as it)."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    status = json.loads(
        kindlib.kubectl(
            "create", "--validate=false", "--as", account, "-o", "json", "-f", "-", stdin=json.dumps(review)
        )
    )["status"]
    assert not status.get("incomplete"), status.get("evaluationError")
    return {
        (group, resource, verb, ",".join(rule.get("resourceNames", [])))
        for rule in status["resourceRules"]
        for group in rule.get("apiGroups", [""])
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


AIRFLOW_WORKER = f"system:serviceaccount:{kindlib.NS}:airflow-worker"
SPARK_DRIVER = f"system:serviceaccount:{kindlib.SPARK_NS}:spark"


def test_airflow_task_pods_may_exactly_submit_and_watch_spark_jobs():
    assert rules(AIRFLOW_WORKER, kindlib.SPARK_NS) == EVERY_ACCOUNT | {
        *grants("sparkoperator.k8s.io", ("sparkapplications",), ("create", "get", "list", "watch", "delete")),
        *grants("sparkoperator.k8s.io", ("sparkapplications/status",), ("get",)),
        *grants("", ("pods",), ("get", "list", "watch", "patch")),
        *grants("", ("pods/log",), ("get",)),
        *grants("", ("events",), ("get", "list", "watch")),
    }


def test_airflow_task_pods_get_nothing_where_the_data_services_secrets_are():
    assert rules(AIRFLOW_WORKER, kindlib.NS) == EVERY_ACCOUNT
    args = ("auth", "can-i", "get", "secret/minio-credentials", "-n", kindlib.NS, "--as", AIRFLOW_WORKER)
    assert kindlib.kubectl(*args, check=False).strip() == "no"


def test_the_spark_driver_may_exactly_manage_its_executors():
    verbs = ("create", "get", "list", "watch", "delete", "deletecollection", "patch", "update")
    assert rules(SPARK_DRIVER, kindlib.SPARK_NS) == EVERY_ACCOUNT | grants(
        "", ("pods", "services", "configmaps", "persistentvolumeclaims"), verbs
    )
    assert rules(SPARK_DRIVER, kindlib.NS) == EVERY_ACCOUNT
