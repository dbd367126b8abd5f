"""Non-root security contexts, and a checkov scan of everything the chart renders."""

from __future__ import annotations

import json
import subprocess

import chartlib
import pytest
import yaml
from chartlib import jp


def pod_specs(objects):
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"]
        elif o["kind"] == "Pod":
            yield f"Pod/{o['metadata']['name']}", o["spec"]


# What is scanned: the datapipeline chart with the operators (its defaults), and the source profile's
# pairing: charts/standins plus the datapipeline chart in external mode.
RENDERS = ("operators", "standins")


@pytest.fixture(scope="module", params=RENDERS)
def rendered(request, all_objects, external_objects, standins_objects) -> tuple[str, list[dict]]:
    if request.param == "operators":
        return request.param, all_objects
    return request.param, external_objects + standins_objects


WORKLOADS = {
    "operators": {"Deployment/kafka-ui", "Pod/datapipeline-smoke-test"},
    "standins": {
        "Deployment/kafka-ui",
        "Pod/datapipeline-smoke-test",
        "Job/datapipeline-init",
        "StatefulSet/kafka",
        "StatefulSet/zookeeper",
        "StatefulSet/minio",
    },
}


def test_pods_run_as_non_root_without_privileges(rendered):
    name, objects = rendered
    specs = dict(pod_specs(objects))
    assert set(specs) == WORKLOADS[name]
    for where, spec in specs.items():
        assert jp(spec, "securityContext.runAsNonRoot") is True, where
        assert jp(spec, "securityContext.seccompProfile.type") == "RuntimeDefault", where
        assert spec.get("automountServiceAccountToken") is False, where
        for c in spec["containers"]:
            ctx = c["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["capabilities"] == {"drop": ["ALL"]}, where


def test_spark_driver_and_executor_are_non_root(all_objects):
    for app in (o for o in all_objects if o["kind"] == "SparkApplication"):
        for role in ("driver", "executor"):
            ctx = jp(app, f"spec.{role}.securityContext")
            assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == 185
            assert ctx["allowPrivilegeEscalation"] is False


def checkov_report(objects: list[dict]) -> dict:
    work = chartlib.paths.LOCAL_DIR / "tmp" / "checkov"
    work.mkdir(parents=True, exist_ok=True)
    manifest = work / "rendered.yaml"
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    proc = subprocess.run(
        [
            chartlib.tool("checkov"),
            "--file",
            str(manifest),
            "--framework",
            "kubernetes",
            "--compact",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.strip(), f"checkov printed nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.fixture(scope="module")
def checkov(rendered):
    try:
        chartlib.tool("checkov")
    except chartlib.ToolMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    return checkov_report(rendered[1])


def test_checkov_finds_nothing_unexplained(checkov):
    failed = [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in checkov["results"]["failed_checks"]]
    assert failed == [], (
        "checkov findings (fix them, or skip with a reason in a checkov.io/skipN annotation):\n" + "\n".join(failed)
    )
    assert checkov["summary"]["passed"] > 100  # it really scanned the workloads


def test_every_checkov_skip_has_a_reason(checkov, rendered):
    # checkov reads skips from `checkov.io/skipN: CHECK_ID=reason` annotations but drops the reason
    # from its report: look the reason up on the object itself.
    reasons = {}
    for o in rendered[1]:
        for key, value in (o["metadata"].get("annotations") or {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                reasons[(check, o["kind"], o["metadata"]["name"])] = reason
    skipped = checkov["results"].get("skipped_checks", [])
    assert len(skipped) == len(reasons), "every annotation should match one skipped check"
    for s in skipped:
        kind, _, name = s["resource"].split(".", 2)
        reason = reasons.get((s["check_id"], kind, name), "")
        assert len(reason.split()) >= 5, f"{s['check_id']} on {s['resource']} is skipped without a reason"


def test_checkov_would_catch_a_privileged_container():
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "datapipeline"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1", "securityContext": {"privileged": True}}]},
    }
    ids = {f["check_id"] for f in checkov_report([pod])["results"]["failed_checks"]}
    assert "CKV_K8S_16" in ids  # "Container should not be privileged"
