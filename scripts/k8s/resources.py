#!/usr/bin/env python3
"""Real memory of the kind cluster beside what its pods request (`task k8s:resources`).

Measured, not estimated:
  - the node container's memory as Docker's cgroup reports it (`docker stats`: usage minus cache);
  - every container's working set as the node's containerd reports it (`crictl stats`), summed
    per pod, next to the pod's memory requests and limits (`kubectl get pods -A`).
Prints a table per namespace and writes the figures to .local/reports/k8s-resources.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / ".local" / "reports" / "k8s-resources.json"
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9, "": 1}


def quantity(value: str | None) -> int:
    """A Kubernetes memory quantity in bytes ('512Mi' -> 536870912)."""
    if not value:
        return 0
    for suffix in sorted(UNITS, key=len, reverse=True):
        if suffix and value.endswith(suffix):
            return int(float(value[: -len(suffix)]) * UNITS[suffix])
    return int(float(value))


def sh(*cmd: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"resources: {' '.join(cmd[:3])} failed: {proc.stderr.strip()[:300]}")
    return proc.stdout


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cluster", default=os.environ.get("DP_KIND_CLUSTER", "datapipeline"))
    args = parser.parse_args(argv)
    node = f"{args.cluster}-control-plane"
    context = f"kind-{args.cluster}"

    stats = json.loads(sh("docker", "stats", "--no-stream", "--format", "{{json .}}", node))
    node_usage = stats["MemUsage"].split("/")[0].strip()
    node_bytes = quantity(node_usage.replace("iB", "i").replace("B", ""))

    pods = json.loads(sh("kubectl", "--context", context, "get", "pods", "-A", "-o", "json"))["items"]
    requested: dict[tuple[str, str], tuple[int, int]] = {}
    for pod in pods:
        if pod["status"].get("phase") not in ("Running", "Pending"):
            continue
        req = lim = 0
        for c in pod["spec"]["containers"]:
            res = c.get("resources", {})
            req += quantity(res.get("requests", {}).get("memory"))
            lim += quantity(res.get("limits", {}).get("memory"))
        requested[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = (req, lim)

    crictl = json.loads(sh("docker", "exec", node, "crictl", "stats", "-o", "json"))
    sandboxes = json.loads(sh("docker", "exec", node, "crictl", "pods", "-o", "json"))["items"]
    pod_of = {s["id"]: (s["metadata"]["namespace"], s["metadata"]["name"]) for s in sandboxes}
    containers = json.loads(sh("docker", "exec", node, "crictl", "ps", "-o", "json"))["containers"]
    sandbox_of = {c["id"]: c["podSandboxId"] for c in containers}
    used: dict[tuple[str, str], int] = {}
    for s in crictl.get("stats", []):
        key = pod_of.get(sandbox_of.get(s["attributes"]["id"], ""))
        if key:
            used[key] = used.get(key, 0) + int(s.get("memory", {}).get("workingSetBytes", {}).get("value", 0))

    rows = []
    for key in sorted(set(requested) | set(used)):
        req, lim = requested.get(key, (0, 0))
        rows.append({"namespace": key[0], "pod": key[1], "working_set": used.get(key, 0), "request": req, "limit": lim})
    print(f"{'NAMESPACE':16} {'POD':52} {'USED MiB':>9} {'REQ MiB':>8} {'LIM MiB':>8}")
    for r in rows:
        used, req, lim = mib(r["working_set"]), mib(r["request"]), mib(r["limit"])
        print(f"{r['namespace']:16} {r['pod'][:52]:52} {used:>9} {req:>8} {lim:>8}")
    total_used = sum(r["working_set"] for r in rows)
    total_req = sum(r["request"] for r in rows)
    total_lim = sum(r["limit"] for r in rows)
    print(f"{'pods, total':69} {mib(total_used):>9} {mib(total_req):>8} {mib(total_lim):>8}")
    print(f"node container ({node}), docker stats: {node_usage} (pods + kubelet, containerd, etcd, apiserver, ...)")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "node_container_bytes": node_bytes,
                "pods_working_set_bytes": total_used,
                "pods_request_bytes": total_req,
                "pods_limit_bytes": total_lim,
                "pods": rows,
            },
            indent=2,
        )
    )
    print(f"written: {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
