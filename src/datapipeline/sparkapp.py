"""One job spec, two launchers: a ``SparkApplication`` manifest run by spark-operator on
Kubernetes, or the same manifest turned into a local ``spark-submit``.

Each Spark job is described once, as a ``sparkoperator.k8s.io/v1beta2`` ``SparkApplication``
in ``k8s/spark/<job>.yaml``. On Kubernetes the DAGs hand that file to
``SparkKubernetesOperator``; locally :func:`spark_submit_command` translates it field by field:

==========================  ==============================================================
SparkApplication field      local spark-submit
==========================  ==============================================================
``mainApplicationFile``     the same file in this checkout (``local://<image root>/...``
                            is mapped to the project root)
``arguments``               the same arguments
``sparkConf``               ``--conf key=value``
``hadoopConf``              ``--conf spark.hadoop.key=value``
``driver.memory``           ``--driver-memory``
``driver.env``              the launcher's environment wins (locally that is the local
                            platform's endpoints and credentials, ``task local:env``), else
                            the manifest's ``value``; a ``valueFrom`` (Kubernetes Secret)
                            with no local value is an error naming the variable
connector jars              ``--driver-class-path`` (read in place; ``--jars`` would copy
                            them per run, and on Kubernetes the executors fetch them)
``executor.*``, ``image``   not applicable: ``--master local[N]`` runs everything in one JVM
==========================  ==============================================================
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from datapipeline import paths

API_VERSION = "sparkoperator.k8s.io/v1beta2"
KIND = "SparkApplication"
# Where the Spark image keeps the project (images/spark/Dockerfile copies the repo here).
IMAGE_APP_ROOT = "/opt/datapipeline"
SPEC_DIR = paths.PROJECT_ROOT / "k8s" / "spark"


class SparkSpecError(ValueError):
    """The SparkApplication file cannot be used (message names the file and the field)."""


class SparkJobFailed(RuntimeError):
    """The local spark-submit exited non-zero."""


@dataclass(frozen=True)
class LocalSubmit:
    argv: list[str]
    env: dict[str, str]


def spec_path(job: str) -> Path:
    return SPEC_DIR / f"{job}.yaml"


def load_spec(path: Path) -> dict:
    """The SparkApplication in ``path`` (exactly one document of that kind)."""
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    except FileNotFoundError:
        raise SparkSpecError(f"{path}: no such SparkApplication file") from None
    except yaml.YAMLError as exc:
        raise SparkSpecError(f"{path}: not valid YAML: {exc}") from None
    apps = [d for d in docs if d.get("kind") == KIND]
    if len(apps) != 1:
        raise SparkSpecError(f"{path}: expected exactly one {KIND}, found {len(apps)}")
    app = apps[0]
    if app.get("apiVersion") != API_VERSION:
        raise SparkSpecError(f"{path}: apiVersion must be {API_VERSION}, got {app.get('apiVersion')!r}")
    if app.get("spec", {}).get("type") != "Python":
        raise SparkSpecError(f"{path}: spec.type must be Python for these jobs")
    if not app["spec"].get("mainApplicationFile"):
        raise SparkSpecError(f"{path}: spec.mainApplicationFile is missing")
    return app


def local_main_file(main: str, project_root: Path) -> Path:
    """``local:///opt/datapipeline/spark_apps/ingest.py`` -> ``<project>/spark_apps/ingest.py``."""
    for prefix in (f"local://{IMAGE_APP_ROOT}/", f"{IMAGE_APP_ROOT}/"):
        if main.startswith(prefix):
            return project_root / main.removeprefix(prefix)
    raise SparkSpecError(
        f"mainApplicationFile {main!r} is not under {IMAGE_APP_ROOT}: the local launcher can only map "
        f"files the Spark image copies from this repository"
    )


def spark_submit_command(
    app: dict,
    *,
    environ: Mapping[str, str],
    project_root: Path = paths.PROJECT_ROOT,
    jars_dir: Path = paths.SPARK_JARS_DIR,
    master: str = "local[2]",
    spark_submit: str | None = None,
    extra_arguments: Sequence[str] = (),
) -> LocalSubmit:
    """Translate a SparkApplication into the spark-submit argv and environment (pure)."""
    spec = app["spec"]
    submit = spark_submit or str(Path(sys.executable).parent / "spark-submit")
    argv = [submit, "--master", master, "--name", app["metadata"]["name"]]
    driver = spec.get("driver", {})
    if driver.get("memory"):
        argv += ["--driver-memory", str(driver["memory"])]
    from datapipeline.spark.session import connector_jars, driver_class_path

    try:  # the same selection as the session builder: skip what pyspark already ships
        jars = [str(j) for j in driver_class_path(connector_jars(jars_dir))]
    except FileNotFoundError as exc:
        raise SparkSpecError(f"no connector jars in {jars_dir} ({exc})") from None
    if jars:  # local master: the driver JVM runs the executors, so its classpath is enough
        argv += ["--driver-class-path", os.pathsep.join(jars)]
    for key, value in sorted((spec.get("sparkConf") or {}).items()):
        argv += ["--conf", f"{key}={value}"]
    for key, value in sorted((spec.get("hadoopConf") or {}).items()):
        argv += ["--conf", f"spark.hadoop.{key}={value}"]
    argv.append(str(local_main_file(spec["mainApplicationFile"], project_root)))
    argv += [str(a) for a in spec.get("arguments") or []]
    argv += list(extra_arguments)

    env: dict[str, str] = {}
    for item in driver.get("env") or []:
        name = item["name"]
        if name in environ:  # the launcher's environment wins: locally, the local platform's endpoints
            env[name] = environ[name]
        elif "value" in item:
            env[name] = str(item["value"])
        else:
            raise SparkSpecError(
                f"driver env {name} comes from a Kubernetes Secret in the manifest; locally set {name} "
                f'(the local platform provides it: eval "$(task local:env)")'
            )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project_root / "src"), environ.get("PYTHONPATH")]))
    env["PYSPARK_PYTHON"] = sys.executable
    return LocalSubmit(argv=argv, env=env)


def run_local(
    app: dict,
    *,
    environ: Mapping[str, str] | None = None,
    echo: Callable[[str], None] = print,
    extra_arguments: Sequence[str] = (),
    master: str = "local[2]",
) -> None:
    """Run the job with spark-submit, streaming its output; raise SparkJobFailed on failure."""
    environ = dict(os.environ if environ is None else environ)
    submit = spark_submit_command(app, environ=environ, extra_arguments=extra_arguments, master=master)
    name = app["metadata"]["name"]
    echo(f"spark-submit {name}: {' '.join(submit.argv[1:3])} ... {' '.join(submit.argv[-8:])}")
    started = time.monotonic()
    proc = subprocess.Popen(
        submit.argv,
        env={**environ, **submit.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert proc.stdout is not None
    last_lines: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        echo(line)
        last_lines = [*last_lines[-19:], line]
    code = proc.wait()
    elapsed = time.monotonic() - started
    if code != 0:
        errors = [ln for ln in last_lines if "error" in ln.lower()]
        reason = errors[-1] if errors else (last_lines[-1] if last_lines else "no output")
        raise SparkJobFailed(f"{name} failed with exit code {code} after {elapsed:.0f}s: {reason}")
    echo(f"spark-submit {name}: finished in {elapsed:.0f}s")
