"""Helpers of the kind e2e suite: kubectl against the kind context, port-forwards to localhost."""

from __future__ import annotations

import base64
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

CLUSTER = "datapipeline"
CONTEXT = f"kind-{CLUSTER}"
NS = "datapipeline"
SPARK_NS = "spark-jobs"


def why_not_runnable() -> str | None:
    for tool in ("docker", "kubectl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: the kind e2e tests need a Docker engine and kubectl"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return "no Docker engine is running: kind cannot run here (the kind-e2e workflow runs these tests)"
    proc = subprocess.run(
        ["kubectl", "config", "get-contexts", "-o", "name"], capture_output=True, text=True, check=False
    )
    if CONTEXT not in proc.stdout.split():
        return f"no kube context {CONTEXT}: run `task k8s:up` first"
    return None


def kubectl(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["kubectl", "--context", CONTEXT, *args], capture_output=True, text=True, check=False)
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
        [
            "kubectl",
            "--context",
            CONTEXT,
            "-n",
            namespace,
            "port-forward",
            target,
            f"{port}:{remote_port}",
            "--address",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
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


def secret(name: str, key: str) -> str:
    return base64.b64decode(kubectl("-n", NS, "get", "secret", name, "-o", f"jsonpath={{.data.{key}}}")).decode()
