"""Keep the long-running (processingTime) ingestion apps alive.

The continuous ingestion runs as two apps, one per query of the job (``--queries``):
``ingest-stream-bronze`` (Kafka -> bronze) and ``ingest-stream-refine`` (bronze -> quarantine,
silver, gold). In one driver a busy refine holds bronze back (bronze's p99 freshness 11.3 s
against 3.2 s as two drivers at 5,000 ev/s on 2 cores: README, Performance).

spark-operator's restart policies are unreliable for streaming apps (kubeflow/spark-operator
#2237, #858, #2658), so the ``streaming_supervisor`` DAG checks the apps every few minutes and
resubmits each one that is missing, failed or (for a stream, equally wrong) completed.

:func:`decide` is the pure policy; :func:`supervise_kubernetes` applies it to a
``SparkApplication`` through the Kubernetes API; locally
:class:`datapipeline.local.stream.StreamingIngest` is the same app as a supervised process.
"""

from __future__ import annotations

from dataclasses import dataclass

# spark-operator v1beta2 application states.
HEALTHY = {"", "NEW", "SUBMITTED", "RUNNING", "PENDING_RERUN", "INVALIDATING"}
DEAD = {"COMPLETED", "FAILED", "SUBMISSION_FAILED", "FAILING", "SUCCEEDING", "UNKNOWN"}
# The job's queries (datapipeline.ingest.config.QUERIES) -> their continuous app.
STREAM_APPS = {"bronze": "ingest-stream-bronze", "refine": "ingest-stream-refine"}
# CPU priority of the local refine app: bronze's driver gets the CPU whenever it wants it.
REFINE_NICE = 19
# Its counterpart on Kubernetes: under contention a container's CPU weight follows its CPU request,
# so the refine app's driver and executor request 50m where bronze's request the spec's 250m (about
# 1:5; no limit, so refine still uses the CPU bronze leaves idle).
REFINE_CORE_REQUEST = "50m"


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


def stream_manifest(batch_manifest: dict, query: str) -> dict:
    """The continuous app of one of the job's queries: the ingest SparkApplication's spec with
    ``--queries <query> --trigger processingTime``, named ``STREAM_APPS[query]``; refine's requests
    :data:`REFINE_CORE_REQUEST` of CPU (a smaller share than bronze's)."""
    import copy

    if query not in STREAM_APPS:
        raise ValueError(f"unknown query {query!r}: one of {', '.join(STREAM_APPS)}")
    app = copy.deepcopy(batch_manifest)
    app["metadata"]["name"] = STREAM_APPS[query]
    args = list(app["spec"].get("arguments") or [])
    for option in ("--trigger", "--queries"):
        if option in args:
            i = args.index(option)
            del args[i : i + 2]
    app["spec"]["arguments"] = [*args, "--queries", query, "--trigger", "processingTime"]
    if query == "refine":
        for role in ("driver", "executor"):
            app["spec"][role]["coreRequest"] = REFINE_CORE_REQUEST
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
