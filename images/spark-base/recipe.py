"""spark-base (source profile): Spark from the pyspark wheel on the debian-jre base.

The pyspark wheel carries Spark's jars (spark-kubernetes and the fabric8 client among them), bin/,
sbin/ and python/lib/{pyspark.zip,py4j-*-src.zip}, but not the image entrypoint of Spark's
Dockerfiles: entrypoint.sh here implements that contract. The wheel's files are taken from the
project venv, where `task bootstrap` installed pyspark from requirements.lock (hash-checked), and
are checked against the wheel's RECORD (sha256 of every file) before they go into the image: the
same bytes, not a second 450 MB download. The pyspark version must be SPARK_VERSION.

Also registers `debian-jre`, the base of spark-base, kafka and airflow (debian_jre.py).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "scripts" / "k8s"))
sys.path.insert(0, str(HERE))
import build_steps  # noqa: E402
import debian_jre  # noqa: E402
from images import ROOT, BuildError, Ctx, Recipe  # noqa: E402

SITE = ROOT / ".venv" / "lib" / "python3.11" / "site-packages"
# The parts of the installed pyspark package that make a Spark home (the rest is the Python
# package itself, which python/lib/pyspark.zip already holds).
HOME_PARTS = ("bin", "sbin", "python", "licenses")


def pyspark_dist(version: str) -> Path:
    dist = SITE / f"pyspark-{version}.dist-info"
    if not (dist / "RECORD").is_file() or not (SITE / "pyspark" / "jars").is_dir():
        raise BuildError(f"no pyspark {version} in .venv (requirements.lock): run `task bootstrap`")
    return dist


def verify_record(dist: Path, prefixes: tuple[str, ...]) -> int:
    """Check the files under PREFIXES (site-packages paths) against the wheel's RECORD; their count."""
    checked = 0
    with (dist / "RECORD").open(newline="", encoding="utf-8") as fh:
        for path, hash_, _size in csv.reader(fh):
            if not path.startswith(prefixes) or not hash_:
                continue
            algo, _, expected = hash_.partition("=")
            h = hashlib.new(algo)
            with (SITE / path).open("rb") as f:
                for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                    h.update(chunk)
            if base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode() != expected:
                raise BuildError(f"{SITE / path} differs from the pyspark wheel's RECORD: reinstall (task bootstrap)")
            checked += 1
    return checked


def build(ctx: Ctx, ref: str) -> None:
    version = ctx.pins["SPARK_VERSION"]
    dist = pyspark_dist(version)
    pyspark = SITE / "pyspark"
    if verify_record(dist, tuple(f"pyspark/{p}/" for p in ("jars", *HOME_PARTS))) < 100:
        raise BuildError(f"pyspark {version}'s RECORD lists too few jars: not a full Spark distribution")
    context = build_steps.fresh_context("spark-base")
    build_steps.link_tree(pyspark / "jars", context / "jars")
    home = context / "home"
    for part in HOME_PARTS:
        build_steps.link_tree(pyspark / part, home / part, ignore=("__pycache__", "*.pyc", "*.cmd"))
    (home / "RELEASE").write_text(f"Spark {version} (the jars of the pyspark {version} wheel)\n")
    shutil.copy2(HERE / "entrypoint.sh", context / "entrypoint.sh")
    ctx.docker_build(HERE / "Dockerfile.source", context, ref, {"BASE_IMAGE": ctx.refs["debian-jre"]})


RECIPES = [
    debian_jre.RECIPE,
    Recipe(
        name="spark-base",
        version=lambda pins: pins["SPARK_VERSION"],
        build=build,
        inputs=[build_steps.INPUT, "images/spark-base/Dockerfile.source", "images/spark-base/entrypoint.sh"],
        pins=["SPARK_VERSION"],
        depends=["debian-jre"],
    ),
]
