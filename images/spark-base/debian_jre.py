"""The `debian-jre` base image of the project's source-profile images.

One Debian bookworm rootfs (debootstrap minbase + OpenJDK 17 JRE + Python 3.11 + tini + procps + CA
certificates + nss_wrapper), imported once; spark-base (so spark and the spark-operator), kafka and
airflow are `docker build`s FROM it, so the kind node stores its layer once. Registered by
images/spark-base/recipe.py; its tag hashes this file only (keep it small: a change here rebuilds
every image on top). The same rootfs is the chroot in which build_steps.python_venv builds venvs.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "k8s"))
from images import BuildError, Ctx, Recipe

PACKAGES = [
    "openjdk-17-jre-headless",
    "python3",
    "tini",
    "procps",
    "ca-certificates",
    "netbase",  # /etc/services, /etc/protocols (Java and Python resolvers read them)
    "libnss-wrapper",  # a passwd entry for an arbitrary uid (Spark's entrypoint uses it)
]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def rootfs(ctx: Ctx) -> Path:
    """The cached debootstrap tree of debian-jre (a template: copy it, never change it)."""
    return ctx.debian_rootfs("debian-jre", PACKAGES)


def java_home(tree: Path) -> str:
    found = sorted((tree / "usr/lib/jvm").glob("java-17-openjdk-*"))
    if not found:
        raise BuildError(f"no /usr/lib/jvm/java-17-openjdk-* in {tree}")
    return f"/usr/lib/jvm/{found[0].name}"


def build(ctx: Ctx, ref: str) -> None:
    tree = rootfs(ctx)
    ctx.docker_import(tree, ref, [f"ENV PATH={PATH}", f"ENV JAVA_HOME={java_home(tree)}", "ENV LANG=C.UTF-8",
                                  'CMD ["/bin/bash"]'])


RECIPE = Recipe(
    name="debian-jre",
    version=lambda pins: "bookworm-jre17",
    build=build,
    source_file=Path(__file__).resolve(),  # this module, not the recipe.py that registers it
)
