"""A tiny read-only Kubernetes API on 127.0.0.1 for `helm template --dry-run=server`.

Enough of the API for Helm's `lookup` and its ownership checks: /version, discovery of the kinds
the chart renders, and GET of single objects from an in-memory store (everything else is 404).
It lets the tests run the chart's upgrade path (credentials read back from existing Secrets)
without a cluster. Nothing here listens beyond loopback, and it stops with the context.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def plural(kind: str) -> str:
    lower = kind.lower()
    return lower[:-1] + "ies" if lower.endswith("y") else lower + "s"


class FakeCluster:
    def __init__(self, kinds: set[tuple[str, str]]) -> None:
        """``kinds``: (apiVersion, kind) pairs to advertise in discovery."""
        self.kinds = kinds
        self.objects: dict[tuple[str, str, str], dict] = {}  # (plural, namespace, name) -> object
        self.requests: list[str] = []

    def store(self, obj: dict) -> None:
        meta = obj["metadata"]
        self.objects[(plural(obj["kind"]), meta["namespace"], meta["name"])] = obj

    def resources(self, group_version: str) -> list[dict]:
        return [
            {"name": plural(k), "singularName": k.lower(), "namespaced": True, "kind": k, "verbs": ["get", "list"]}
            for gv, k in sorted(self.kinds)
            if gv == group_version
        ]

    def answer(self, path: str) -> tuple[int, dict]:
        if path == "/version":
            return 200, {"major": "1", "minor": "37", "gitVersion": "v1.37.0", "platform": "linux/amd64"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            groups = sorted({gv for gv, _ in self.kinds if "/" in gv})
            return 200, {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": gv.split("/")[0],
                        "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                        "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]},
                    }
                    for gv in groups
                ],
            }
        parts = path.strip("/").split("/")
        gv = "v1" if parts[0] == "api" else "/".join(parts[1:3])
        rest = parts[2:] if parts[0] == "api" else parts[3:]
        if not rest and self.resources(gv):
            return 200, {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": gv,
                "resources": self.resources(gv),
            }
        if len(rest) == 4 and rest[0] == "namespaces":
            obj = self.objects.get((rest[2], rest[1], rest[3]))
            if obj is not None:
                return 200, obj
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}


@contextlib.contextmanager
def serve(cluster: FakeCluster, workdir: Path) -> Iterator[Path]:
    """Run the fake API; yields a kubeconfig file that points at it."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            cluster.requests.append(path)
            code, body = cluster.answer(path)
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
        f"clusters: [{{name: fake, cluster: {{server: 'http://127.0.0.1:{server.server_address[1]}'}}}}]\n"
        "users: [{name: fake, user: {token: fake}}]\n"
        "contexts: [{name: fake, context: {cluster: fake, user: fake}}]\n"
    )
    try:
        yield kubeconfig
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
