"""Helpers of the kind e2e suite: kubectl against the kind context, port-forwards to localhost.

All traffic goes to 127.0.0.1: the Kafka NodePort that kind maps (k8s/kind-cluster.yaml) and
`kubectl port-forward`s.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from datapipeline import kafka_admin
from datapipeline.lake.layout import Lake
from datapipeline.lake.s3 import S3Settings

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = os.environ.get("DP_KIND_CLUSTER", "datapipeline")
CONTEXT = f"kind-{CLUSTER}"
NS = "datapipeline"
SPARK_NS = "spark-jobs"
TOPIC = "orders.events"
HOST_BOOTSTRAP = "127.0.0.1:31092"  # k8s/kind-cluster.yaml extraPortMappings -> the external listener
# The S3 keys the chart gives the Spark jobs (the same in every s3.mode).
S3_SECRET = ("spark-s3-credentials", SPARK_NS)
# In both s3 modes: the MinIO tenant's and the stand-in's service.
MINIO_SERVICE = ("svc/minio", 80)
# helm from `task bootstrap` (.local/bin) unless one is on PATH.
HELM = shutil.which("helm") or str(ROOT / ".local" / "bin" / "helm")


def why_not_runnable() -> str | None:
    for tool in ("docker", "kubectl", HELM):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: the kind e2e tests need a Docker engine, kubectl and helm"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return "no Docker engine is running: start dockerd, then `task k8s:up`"
    proc = subprocess.run(
        ["kubectl", "config", "get-contexts", "-o", "name"], capture_output=True, text=True, check=False
    )
    if CONTEXT not in proc.stdout.split():
        return f"no kube context {CONTEXT}: run `task k8s:up` first"
    return None


def kubectl(*args: str, check: bool = True, timeout: float = 300, stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["kubectl", "--context", CONTEXT, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        input=stdin,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {proc.stderr}")
    return proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def port_forward(namespace: str, target: str, remote_port: int) -> Iterator[int]:
    """`kubectl port-forward` to a free localhost port for the duration of the block."""
    port = _free_port()
    proc = subprocess.Popen(
        ["kubectl", "--context", CONTEXT, "-n", namespace, "port-forward", target, f"{port}:{remote_port}",
         "--address", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if proc.poll() is not None:
                raise AssertionError(f"port-forward {target} died: {proc.stderr.read().decode()}")
            time.sleep(0.5)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def secret(name: str, key: str, namespace: str = NS) -> str:
    data = kubectl("-n", namespace, "get", "secret", name, "-o", f"jsonpath={{.data.{key}}}")
    return base64.b64decode(data).decode()


@contextlib.contextmanager
def minio_port_forward() -> Iterator[S3Settings]:
    """S3 settings for the cluster's MinIO through a port-forward, with the Spark jobs' keys."""
    name, namespace = S3_SECRET
    with port_forward(NS, *MINIO_SERVICE) as port:
        yield S3Settings(
            endpoint=f"http://127.0.0.1:{port}",
            access_key=secret(name, "accessKey", namespace),
            secret_key=secret(name, "secretKey", namespace),
        )


def wipe_lake(s3: S3Settings, lake: Lake) -> int:
    """Delete every object below the lake root (tables and checkpoints); returns how many."""
    bucket, _, prefix = lake.root.split("://", 1)[1].partition("/")
    client = s3.minio_client()
    names = [o.object_name for o in client.list_objects(bucket, prefix=prefix + "/", recursive=True)]
    for name in names:
        client.remove_object(bucket, name)
    return len(names)


def reset_topic(topic: str, partitions: int) -> None:
    """Delete and recreate TOPIC through the host listener, so that its offsets start at 0."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

    admin = KafkaAdminClient(bootstrap_servers=[HOST_BOOTSTRAP], request_timeout_ms=30_000)
    try:
        with contextlib.suppress(UnknownTopicOrPartitionError):
            admin.delete_topics([topic])
        deadline = time.monotonic() + 60
        while topic in admin.list_topics():
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} was not deleted within 60s")
            time.sleep(1)
        while True:  # a deleted topic stays "marked for deletion" for a moment after it leaves the list
            try:
                admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
                break
            except TopicAlreadyExistsError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        admin.close()
    deadline = time.monotonic() + 60
    while len(end_offsets(topic)) != partitions:
        if time.monotonic() > deadline:
            raise AssertionError(f"topic {topic} has no {partitions} partitions after 60s")
        time.sleep(1)


def end_offsets(topic: str) -> dict[int, int]:
    return kafka_admin.end_offsets(HOST_BOOTSTRAP, topic)


def delete_application(name: str) -> None:
    kubectl("-n", SPARK_NS, "delete", "sparkapplication", name, "--ignore-not-found", "--wait=true")
    deadline = time.monotonic() + 120
    while kubectl("-n", SPARK_NS, "get", "pods", "-l", f"sparkoperator.k8s.io/app-name={name}", "-o", "name").strip():
        if time.monotonic() > deadline:
            raise AssertionError(f"pods of SparkApplication {name} still exist after 120s")
        time.sleep(2)


FINAL_STATES = {"COMPLETED", "FAILED", "SUBMISSION_FAILED", "FAILING"}


def apply_and_wait(manifest: Path, name: str, timeout_s: float) -> str:
    """`kubectl apply -f MANIFEST`, then wait for the SparkApplication NAME to finish; returns its
    final state. A failed run prints the driver's log tail and the app's status first."""
    kubectl("apply", "-f", str(manifest))
    deadline = time.monotonic() + timeout_s
    state, last = "", ""
    while time.monotonic() < deadline:
        raw = kubectl("-n", SPARK_NS, "get", "sparkapplication", name, "-o", "json", check=False)
        status = json.loads(raw).get("status", {}) if raw else {}
        state = status.get("applicationState", {}).get("state", "")
        if state != last:
            print(f"  {name}: {state or 'PENDING'} after {timeout_s - (deadline - time.monotonic()):.0f}s", flush=True)
            last = state
        if state in FINAL_STATES:
            break
        unschedulable = _unschedulable(name)
        if unschedulable:
            print(f"  {name}: gave up, a pod cannot be scheduled: {unschedulable}", flush=True)
            print(kubectl("describe", "node", check=False).partition("Allocated resources:")[2][:1500])
            break
        time.sleep(5)
    if state != "COMPLETED":
        print(json.dumps(status, indent=2))
        print(kubectl("-n", SPARK_NS, "logs", f"{name}-driver", "--tail=80", check=False))
    return state


UNSCHEDULABLE_GRACE_S = 120  # the scheduler retries; longer than this Pending means it never fits


def _unschedulable(app: str) -> str:
    """The scheduler's message for a pod of APP that has been Unschedulable for longer than the
    grace period ('' if none): a run that cannot fit on the node fails in minutes with the reason,
    not at the test's timeout."""
    raw = kubectl(
        "-n", SPARK_NS, "get", "pods", "-l", f"sparkoperator.k8s.io/app-name={app}", "-o", "json", check=False
    )
    for pod in json.loads(raw).get("items", []) if raw else []:
        for cond in pod.get("status", {}).get("conditions", []):
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
                since = datetime.fromisoformat(cond["lastTransitionTime"].replace("Z", "+00:00"))
                if (datetime.now(UTC) - since).total_seconds() > UNSCHEDULABLE_GRACE_S:
                    return f"{pod['metadata']['name']}: {cond.get('message', '')}"
    return ""


def wait_for_log(pod: str, text: str, timeout_s: float, namespace: str = NS) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in kubectl("-n", namespace, "logs", pod, check=False):
            return
        time.sleep(3)
    raise AssertionError(f"pod {pod} did not log {text!r} within {timeout_s:.0f}s")
