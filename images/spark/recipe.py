"""The pipeline's Spark image, `spark`: one recipe per profile.

source    FROM spark-base (Spark 4.0 from the pyspark wheel, images/spark-base) + the connector jars
          of jvm/spark/pom.xml (`task bootstrap`'s .local/jars/spark, or the same Maven run) and the
          event parser jar of jvm/parser (bootstrap's `parser` step) at /opt/datapipeline/jars/spark
          + a venv with the jobs' packages (the list that
          images/spark/Dockerfile gives lock_subset.py, hash-checked from requirements.lock, built
          with uv in a chroot of the debian-jre rootfs) + src/datapipeline and spark_apps/.
          Dockerfile.source.
upstream  images/spark/Dockerfile (FROM apache/spark, jars resolved by a Maven build stage) with
          every ARG from versions.env, on a staged context that holds only what it COPYs.

Both end as uid 185 with the same environment (DP_HOME, DP_SPARK_JARS_DIR, PYTHONPATH,
PYSPARK_PYTHON, PYSPARK_DRIVER_PYTHON).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "scripts" / "k8s"))
sys.path.insert(0, str(HERE.parent / "spark-base"))
sys.path.insert(0, str(HERE))
import build_steps  # noqa: E402
import lock_subset  # noqa: E402
from images import ROOT, BuildError, Ctx, Recipe  # noqa: E402

VENV = "/opt/datapipeline/venv"
JVM_PINS = ["SPARK_VERSION", "SCALA_BINARY_VERSION", "DELTA_VERSION", "HADOOP_VERSION", "AWS_SDK_BUNDLE_VERSION"]
UPSTREAM_DOCKERFILE = HERE / "Dockerfile"
# What images/spark/Dockerfile COPYs from the repository root.
UPSTREAM_CONTEXT = ["jvm/spark/pom.xml", "jvm/parser", "requirements.lock", "images/spark/lock_subset.py",
                    "src/datapipeline", "spark_apps"]


def job_packages() -> list[str]:
    """The packages images/spark/Dockerfile passes to lock_subset.py: one list for both profiles
    (read the way tests/chart/test_k8s_manifests.py reads it)."""
    text = UPSTREAM_DOCKERFILE.read_text()
    found = re.search(r"lock_subset\.py /tmp/build/requirements\.lock \\\n(.*?) >", text, re.S)
    if not found:
        raise BuildError(f"no lock_subset.py package list in {UPSTREAM_DOCKERFILE}")
    return [n for n in found.group(1).split() if n != "\\"]


def build_source(ctx: Ctx, ref: str) -> None:
    context = build_steps.fresh_context("spark")
    build_steps.link_tree(build_steps.maven_jars(ctx, "spark"), context / "jars", ignore=(".stamp",))
    parser = build_steps.parser_jar(ctx)  # in .local/jars/spark when the connectors came from there
    if not (context / "jars" / parser.name).exists():
        build_steps.link_file(parser, context / "jars" / parser.name)
    lock = (ROOT / "requirements.lock").read_text()
    build_steps.python_venv(ctx, "spark", VENV, lock_subset.subset(lock, job_packages()), context / "venv")
    build_steps.link_tree(ROOT / "src" / "datapipeline", context / "src" / "datapipeline")
    build_steps.link_tree(ROOT / "spark_apps", context / "spark_apps")
    ctx.docker_build(HERE / "Dockerfile.source", context, ref, {"BASE_IMAGE": ctx.refs["spark-base"]})


def build_upstream(ctx: Ctx, ref: str) -> None:
    build_steps.build_upstream(ctx, ref, "spark", UPSTREAM_DOCKERFILE, UPSTREAM_CONTEXT)


RECIPES = [
    Recipe(
        name="spark",
        version=lambda pins: pins["SPARK_VERSION"],
        build=build_source,
        inputs=[build_steps.INPUT, "images/spark/Dockerfile.source", "images/spark/Dockerfile",
                "images/spark/lock_subset.py", "requirements.lock", "jvm/spark/pom.xml", "jvm/parser",
                "src/datapipeline", "spark_apps"],
        pins=[*JVM_PINS, "UV_VERSION"],
        depends=["spark-base"],
        profiles=("source",),
    ),
    Recipe(
        name="spark",
        version=lambda pins: pins["SPARK_VERSION"],
        build=build_upstream,
        inputs=["images/spark/Dockerfile", *UPSTREAM_CONTEXT],
        pins=build_steps.dockerfile_args(UPSTREAM_DOCKERFILE),
        profiles=("upstream",),
    ),
]
