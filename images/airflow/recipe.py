"""The pipeline's Airflow image, `airflow`: one recipe per profile.

source    FROM debian-jre (Debian bookworm's Python 3.11, tini; images/spark-base/debian_jre.py) + a
          venv at /opt/datapipeline/venv that is exactly requirements.lock (`uv pip sync`,
          hash-checked, built in a chroot of the same rootfs from uv's cache) with the project
          installed on top (not editable) + dags/ at /opt/airflow/dags + k8s/spark/ under
          /opt/datapipeline; user airflow (uid 50000, gid 0), AIRFLOW_HOME=/opt/airflow, and an
          entrypoint taking apache/airflow's arguments (entrypoint.sh). Dockerfile.source.
          The whole lock goes in, as the upstream Dockerfile does: pyspark and the dev tools too.
upstream  images/airflow/Dockerfile (FROM apache/airflow) with its ARGs from versions.env, on a
          staged context that holds only what it COPYs.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "scripts" / "k8s"))
sys.path.insert(0, str(HERE.parent / "spark-base"))
import build_steps  # noqa: E402
from images import ROOT, Ctx, Recipe  # noqa: E402

VENV = "/opt/datapipeline/venv"
PROJECT = ["pyproject.toml", "README.md", "src/datapipeline"]
UPSTREAM_DOCKERFILE = HERE / "Dockerfile"
# What images/airflow/Dockerfile COPYs from the repository root.
UPSTREAM_CONTEXT = ["requirements.lock", "pyproject.toml", "README.md", "src/datapipeline", "k8s/spark", "dags"]


def build_source(ctx: Ctx, ref: str) -> None:
    context = build_steps.fresh_context("airflow")
    build_steps.python_venv(ctx, "airflow", VENV, (ROOT / "requirements.lock").read_text(), context / "venv",
                           sync=True, project=PROJECT)
    build_steps.copy_repo_paths(context, ["k8s/spark", "dags"])
    shutil.copy2(HERE / "entrypoint.sh", context / "entrypoint.sh")
    ctx.docker_build(HERE / "Dockerfile.source", context, ref, {"BASE_IMAGE": ctx.refs["debian-jre"]})


def build_upstream(ctx: Ctx, ref: str) -> None:
    build_steps.build_upstream(ctx, ref, "airflow", UPSTREAM_DOCKERFILE, UPSTREAM_CONTEXT)


def airflow_version(pins: dict[str, str]) -> str:
    found = re.search(r"^apache-airflow==([\w.]+)", (ROOT / "requirements.lock").read_text(), flags=re.M)
    return found.group(1) if found else "dev"


RECIPES = [
    Recipe(
        name="airflow",
        version=airflow_version,
        build=build_source,
        inputs=[build_steps.INPUT, "images/airflow/Dockerfile.source", "images/airflow/entrypoint.sh",
                "requirements.lock", *PROJECT, "k8s/spark", "dags"],
        pins=["UV_VERSION"],
        depends=["debian-jre"],
        profiles=("source",),
    ),
    Recipe(
        name="airflow",
        version=airflow_version,
        build=build_upstream,
        inputs=["images/airflow/Dockerfile", *UPSTREAM_CONTEXT],
        pins=build_steps.dockerfile_args(UPSTREAM_DOCKERFILE),
        profiles=("upstream",),
    ),
]
