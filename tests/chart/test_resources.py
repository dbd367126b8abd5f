"""Every container has requests and limits, and the whole platform fits a laptop: <= 4 CPU, 8 GiB requested.

`pytest tests/chart/test_resources.py -k fit -s` prints the table and the totals of requests and
limits (the README quotes them).

The sum covers what runs at the same time: the project chart (including the `helm test` pod), the
operators and Airflow as configured in charts/values/, Airflow's task pods at `core.parallelism`,
and one SparkApplication (driver + executors, memory = heap + overhead). Not counted: kind's own
system pods and short-lived install jobs (database migration, spark-operator's CRD hook).
"""

from __future__ import annotations

import chartlib
import yaml
from chartlib import jp, quantity, spark_memory

CPU_BUDGET = 4.0
MEMORY_BUDGET = 8 * 2**30
UPSTREAM = chartlib.ROOT / "charts" / "values"


# (CPU requested, memory requested, CPU limit, memory limit) of one entry, all replicas together.
Usage = tuple[float, float, float, float]


def _requests(resources: dict | None, where: str) -> Usage:
    req = (resources or {}).get("requests") or {}
    lim = (resources or {}).get("limits") or {}
    assert "cpu" in req and "memory" in req, f"{where}: no cpu/memory requests"
    assert "cpu" in lim and "memory" in lim, f"{where}: no cpu/memory limits"
    assert quantity(lim["memory"]) >= quantity(req["memory"]), f"{where}: memory limit below request"
    return quantity(req["cpu"]), quantity(req["memory"]), quantity(lim["cpu"]), quantity(lim["memory"])


def _times(usage: Usage, count: int) -> Usage:
    return tuple(x * count for x in usage)  # type: ignore[return-value]


def chart_requests(objects: list[dict]) -> dict[str, Usage]:
    out: dict[str, Usage] = {}

    def add(name: str, resources: dict | None, count: int = 1) -> None:
        out[name] = _times(_requests(resources, name), count)

    for o in objects:
        kind, name, spec = o["kind"], o["metadata"]["name"], o.get("spec", {})
        if kind in ("Deployment", "StatefulSet"):
            for c in spec["template"]["spec"]["containers"]:
                add(f"{kind}/{name}/{c['name']}", c.get("resources"), spec.get("replicas", 1))
        elif kind == "Pod":
            for c in spec["containers"]:
                add(f"Pod/{name}/{c['name']}", c.get("resources"))
        elif kind == "Kafka":
            if "zookeeper" in spec:
                add("Kafka/brokers", spec["kafka"].get("resources"), spec["kafka"]["replicas"])
                add("Kafka/zookeeper", spec["zookeeper"].get("resources"), spec["zookeeper"]["replicas"])
            add("Kafka/topic-operator", jp(spec, "entityOperator.topicOperator.resources"))
        elif kind == "KafkaNodePool":
            add(f"KafkaNodePool/{name}", spec.get("resources"), spec["replicas"])
        elif kind == "Tenant":
            for pool in spec["pools"]:
                add(f"Tenant/{name}/{pool['name']}", pool.get("resources"), pool["servers"])
        elif kind == "Cluster":
            add(f"Cluster/{name}", spec.get("resources"), spec["instances"])
    return out


def upstream_requests() -> dict[str, tuple[float, float]]:
    def load(name: str) -> dict:
        return yaml.safe_load((UPSTREAM / name).read_text())

    out = {
        "strimzi-operator": _requests(load("strimzi.yaml")["resources"], "strimzi"),
        "minio-operator": _requests(jp(load("minio-operator.yaml"), "operator.resources"), "minio-operator"),
        "cnpg-operator": _requests(load("cloudnative-pg.yaml")["resources"], "cloudnative-pg"),
    }
    so = load("spark-operator.yaml")
    out["spark-operator-controller"] = _requests(jp(so, "controller.resources"), "spark-operator controller")
    out["spark-operator-webhook"] = _requests(jp(so, "webhook.resources"), "spark-operator webhook")
    af = load("airflow.yaml")
    for component in ("scheduler", "apiServer", "dagProcessor", "triggerer"):
        out[f"airflow-{component}"] = _requests(jp(af, f"{component}.resources"), f"airflow {component}")
    parallelism = int(jp(af, "config.core.parallelism"))
    workers = _requests(jp(af, "workers.kubernetes.resources"), "airflow workers")
    out[f"airflow-task-pods-x{parallelism}"] = _times(workers, parallelism)
    return out


def spark_requests(app: dict) -> Usage:
    """Driver + executors. Spark sets the pod's memory limit to heap + overhead and its CPU limit to
    `coreLimit`, else `cores` (spark-operator 2.5)."""
    d, e = app["spec"]["driver"], app["spec"]["executor"]
    n = e["instances"]
    cpu = quantity(d["coreRequest"]) + n * quantity(e["coreRequest"])
    cpu_limit = quantity(d.get("coreLimit", d["cores"])) + n * quantity(e.get("coreLimit", e["cores"]))
    mem = (
        spark_memory(d["memory"])
        + spark_memory(d["memoryOverhead"])
        + n * (spark_memory(e["memory"]) + spark_memory(e["memoryOverhead"]))
    )
    return cpu, mem, cpu_limit, mem


def test_every_chart_workload_has_requests_and_limits(all_objects):
    parts = chart_requests(all_objects)
    # all workloads of the chart are counted (a new one without resources would fail in _requests)
    assert {k.split("/")[0] for k in parts} == {"Deployment", "Pod", "Kafka", "Tenant", "Cluster"}


def test_kraft_node_pools_are_counted():
    parts = chart_requests(chartlib.render_chart(values_files=[chartlib.VALUES_DIR / "kraft.yaml"]))
    assert parts["KafkaNodePool/dual-role"][:2] == (0.3 * 3, 3 * 768 * 2**20)


def test_platform_requests_fit_4_cpu_and_8_gib(all_objects):
    parts = {**chart_requests(all_objects), **upstream_requests()}
    apps = [o for o in all_objects if o["kind"] == "SparkApplication"]
    assert {a["metadata"]["name"] for a in apps} == {"ingest", "maintenance"}
    # one Spark job at a time (the DAGs run them one after the other): count the largest
    parts["spark-job (largest)"] = max((spark_requests(a) for a in apps), key=lambda r: r[1])
    cpu, mem, cpu_limit, mem_limit = (sum(u[i] for u in parts.values()) for i in range(4))
    table = "\n".join(
        f"  {k:40} {c:5.2f} CPU {m / 2**20:7.0f} MiB   (limits {cl:5.2f} CPU {ml / 2**20:7.0f} MiB)"
        for k, (c, m, cl, ml) in sorted(parts.items())
    )
    print(f"requests:\n{table}\n  total requests {cpu:.2f} CPU, {mem / 2**30:.2f} GiB")
    print(f"  total limits {cpu_limit:.2f} CPU, {mem_limit / 2**30:.2f} GiB")
    assert cpu <= CPU_BUDGET, f"requests add up to {cpu:.2f} CPU > {CPU_BUDGET}:\n{table}"
    assert mem <= MEMORY_BUDGET, f"requests add up to {mem / 2**30:.2f} GiB > 8 GiB:\n{table}"


def test_standins_pairing_fits_4_cpu_and_8_gib(external_objects, standins_objects):
    """The source profile: the stand-ins replace Strimzi (with its Topic Operator) and the MinIO operator."""
    chart = chart_requests(external_objects + standins_objects)
    assert {k.split("/")[0] for k in chart} == {"Deployment", "Pod", "StatefulSet", "Cluster"}
    assert {k for k in chart if k.startswith("StatefulSet/")} == {
        "StatefulSet/kafka/kafka",
        "StatefulSet/zookeeper/zookeeper",
        "StatefulSet/minio/minio",
    }
    upstream = {k: v for k, v in upstream_requests().items() if k not in ("strimzi-operator", "minio-operator")}
    parts = {**chart, **upstream}
    apps = [o for o in external_objects if o["kind"] == "SparkApplication"]
    parts["spark-job (largest)"] = max((spark_requests(a) for a in apps), key=lambda r: r[1])
    cpu, mem = (sum(u[i] for u in parts.values()) for i in range(2))
    print(f"stand-ins pairing: requests {cpu:.2f} CPU, {mem / 2**30:.2f} GiB")
    assert cpu <= CPU_BUDGET and mem <= MEMORY_BUDGET, (cpu, mem / 2**30)


def test_budget_check_can_fail():
    # the same sum with a broker asking for 6 GiB must exceed the budget
    objects = chartlib.render_chart(
        values={"kafka": {"resources": {"requests": {"memory": "6Gi"}, "limits": {"memory": "6Gi"}}}},
        show_only=["templates/kafka/kafka-kafka.yaml"],
    )
    mem = sum(u[1] for u in {**chart_requests(objects), **upstream_requests()}.values())
    assert mem > MEMORY_BUDGET
