"""RBAC: exactly the expected accounts, roles and bindings; Airflow scoped to the Spark namespace."""

from __future__ import annotations

from chartlib import jp, one

RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


def test_rbac_objects_are_exactly_these(all_objects):
    found = sorted(
        (o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in all_objects if o["kind"] in RBAC_KINDS
    )
    assert found == [
        ("Role", "spark-jobs", "airflow-spark-submitter"),
        ("Role", "spark-jobs", "spark-driver"),
        ("RoleBinding", "spark-jobs", "airflow-spark-submitter"),
        ("RoleBinding", "spark-jobs", "spark-driver"),
        ("ServiceAccount", "spark-jobs", "spark"),
    ]


def test_airflow_may_submit_watch_delete_sparkapplications_and_read_driver_pods(all_objects):
    role = one(all_objects, "Role", "airflow-spark-submitter")
    rules = {
        (g, r): sorted(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    assert rules == {
        ("sparkoperator.k8s.io", "sparkapplications"): ["create", "delete", "get", "list", "watch"],
        ("sparkoperator.k8s.io", "sparkapplications/status"): ["get"],
        ("", "pods"): ["get", "list", "patch", "watch"],
        ("", "pods/log"): ["get"],
        ("", "events"): ["get", "list", "watch"],
    }
    binding = one(all_objects, "RoleBinding", "airflow-spark-submitter")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "airflow-spark-submitter",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "airflow-worker", "namespace": "datapipeline"}]


def test_no_wildcards_and_no_secrets_access(all_objects):
    for role in (o for o in all_objects if o["kind"] in ("Role", "ClusterRole")):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], f"{role['metadata']['name']}: wildcard in {field}"
            assert "secrets" not in rule["resources"], f"{role['metadata']['name']} may read secrets"


def test_spark_driver_role_is_bound_to_the_spark_account(all_objects):
    binding = one(all_objects, "RoleBinding", "spark-driver")
    assert jp(binding, "subjects[0]") == {"kind": "ServiceAccount", "name": "spark", "namespace": "spark-jobs"}
    assert jp(binding, "roleRef.name") == "spark-driver"
