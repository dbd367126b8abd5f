"""kafka (source profile): ZooKeeper and a ZooKeeper-mode Kafka broker from the Maven Central jars.

The jars are jvm/kafka/pom.xml's, resolved with the versions.env properties: `task bootstrap`'s
.local/jars/kafka when its stamp matches, else the same Maven run (images/spark-base/debian_jre.py
maven_jars). They go to /opt/kafka/libs on the debian-jre base; entrypoint.sh starts ZooKeeper or
the broker the way the local platform does (src/datapipeline/local/kafka.py), with the
configuration from environment variables, and runs the admin tools (kafka-topics ...).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "scripts" / "k8s"))
sys.path.insert(0, str(HERE.parent / "spark-base"))
import build_steps  # noqa: E402
from images import BuildError, Ctx, Recipe  # noqa: E402


def build(ctx: Ctx, ref: str) -> None:
    jars = build_steps.maven_jars(ctx, "kafka")
    version = ctx.pins["KAFKA_VERSION"]
    if not (jars / f"kafka_{ctx.pins['SCALA_BINARY_VERSION']}-{version}.jar").is_file():
        raise BuildError(f"no Kafka {version} broker jar in {jars}")
    context = build_steps.fresh_context("kafka")
    build_steps.link_tree(jars, context / "libs", ignore=(".stamp",))
    build_steps.link_tree(HERE / "config", context / "config")
    shutil.copy2(HERE / "entrypoint.sh", context / "entrypoint.sh")
    ctx.docker_build(HERE / "Dockerfile.source", context, ref, {"BASE_IMAGE": ctx.refs["debian-jre"]})


RECIPES = [
    Recipe(
        name="kafka",
        version=lambda pins: pins["KAFKA_VERSION"],
        build=build,
        inputs=[build_steps.INPUT, "images/kafka/Dockerfile.source", "images/kafka/entrypoint.sh",
                "images/kafka/config", "jvm/kafka/pom.xml"],
        pins=["KAFKA_VERSION", "SCALA_BINARY_VERSION", "SLF4J_VERSION", "METRICS_CORE_VERSION"],
        depends=["debian-jre"],
    ),
]
