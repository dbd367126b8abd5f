"""Keep the long-running (processingTime) ingestion app alive.

spark-operator's restart policies are unreliable for streaming apps (kubeflow/spark-operator
#2237, #858, #2658), so the ``streaming_supervisor`` DAG checks the app every few minutes and
resubmits it when it is missing, failed or (for a stream, equally wrong) completed.

:func:`decide` is the pure policy; :func:`supervise_kubernetes` applies it to the
``SparkApplication`` through the Kubernetes API; locally
:class:`datapipeline.local.stream.StreamingIngest` is the same app as a supervised process.
"""

from __future__ import annotations

from dataclasses import dataclass

# spark-operator v1beta2 application states.
HEALTHY = {"", "NEW", "SUBMITTED", "RUNNING", "PENDING_RERUN", "INVALIDATING"}
DEAD = {"COMPLETED", "FAILED", "SUBMISSION_FAILED", "FAILING", "SUCCEEDING", "UNKNOWN"}
STREAM_APP = "ingest-stream"


@dataclass(frozen=True)
class Decision:
    action: str  # keep | submit | resubmit
    reason: str


def decide(state: str | None) -> Decision:
    """What to do with a streaming app in ``state`` (None: it does not exist)."""
    if state is None:
        return Decision("submit", "the streaming app does not exist")
    if state in HEALTHY:
        return Decision("keep", f"state {state or 'NEW'} is healthy")
    if state in DEAD:
        return Decision("resubmit", f"state {state}: a streaming app must never stop")
    return Decision("resubmit", f"unknown state {state!r}")


def stream_manifest(batch_manifest: dict) -> dict:
    """The continuous variant of the ingest SparkApplication: same spec, processingTime trigger."""
    import copy

    app = copy.deepcopy(batch_manifest)
    app["metadata"]["name"] = STREAM_APP
    args = list(app["spec"].get("arguments") or [])
    if "--trigger" in args:
        i = args.index("--trigger")
        del args[i : i + 2]
    app["spec"]["arguments"] = [*args, "--trigger", "processingTime"]
    return app


def _wait_deleted(api, name: str, kw: dict, timeout_s: float = 120) -> None:
    import time

    from kubernetes.client.exceptions import ApiException

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            api.get_namespaced_custom_object(name=name, **kw)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(2)
    raise TimeoutError(f"SparkApplication {name} still present {timeout_s:.0f}s after delete (finalizers?)")


def supervise_local(stream) -> Decision:
    """Apply :func:`decide` to the local streaming process (a StreamingIngest service)."""
    state = {"healthy": "RUNNING", "unhealthy": "RUNNING", "crashed": "FAILED", "stopped": None}[stream.status().state]
    decision = decide(state)
    if decision.action != "keep":
        stream.start()
    return decision


def supervise_kubernetes(api, manifest: dict, namespace: str) -> Decision:
    """Apply :func:`decide` to the app in the cluster (``api``: kubernetes CustomObjectsApi)."""
    from kubernetes.client.exceptions import ApiException

    group, version = manifest["apiVersion"].split("/")
    name = manifest["metadata"]["name"]
    kw = {"group": group, "version": version, "namespace": namespace, "plural": "sparkapplications"}
    try:
        current = api.get_namespaced_custom_object(name=name, **kw)
        state = ((current.get("status") or {}).get("applicationState") or {}).get("state", "")
    except ApiException as exc:
        if exc.status != 404:
            raise
        state = None
    decision = decide(state)
    if decision.action == "resubmit":
        api.delete_namespaced_custom_object(name=name, **kw)
        _wait_deleted(api, name, kw)
    if decision.action in ("submit", "resubmit"):
        body = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
        body["metadata"].pop("resourceVersion", None)
        api.create_namespaced_custom_object(body=body, **kw)
    return decision
