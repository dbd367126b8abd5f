"""Kubeflow spark-operator image, built from the Go module proxy (source profile).

Upstream's Dockerfile (in the v2 module): the Spark image + tini + the operator binary at
/usr/bin/spark-operator + the module's entrypoint.sh (`tini -s -- spark-operator "$@"`), with
/etc/k8s-webhook-server/serving-certs and /home/spark writable by the spark user (uid 185). The
controller runs $SPARK_HOME/bin/spark-submit for each SparkApplication, hence the Spark runtime
base: here the `spark-base` image (Debian, JRE 17, Spark at /opt/spark from the pyspark wheel,
SPARK_HOME set, uid 185 `spark`), which also carries Debian's tini.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "k8s"))
from images import WORK, BuildError, Ctx, Recipe, capture

MODULE = "github.com/kubeflow/spark-operator/v2"

DOCKERFILE = """\
ARG BASE
FROM ${BASE}
USER root
COPY spark-operator entrypoint.sh /usr/bin/
# the base's contract first (tini, spark-submit), then upstream's writable folders
RUN test -x /usr/bin/tini && test -x "$SPARK_HOME/bin/spark-submit" \\
 && mkdir -p /etc/k8s-webhook-server/serving-certs /home/spark \\
 && chmod -R g+rw /etc/k8s-webhook-server/serving-certs \\
 && chown -R 185:185 /etc/k8s-webhook-server/serving-certs /home/spark
USER 185:185
ENTRYPOINT ["/usr/bin/entrypoint.sh"]
"""


def module_origin(module: str, version: str) -> tuple[str, str]:
    """(commit, RFC 3339 time) of MODULE@VERSION as the module proxy records them."""
    info = json.loads(capture(["go", "mod", "download", "-json", f"{module}@{version}"]) or "{}")
    try:
        meta = json.loads(Path(info["Info"]).read_text())
        return info.get("Origin", {}).get("Hash", "unknown"), meta["Time"]
    except (KeyError, OSError, ValueError) as exc:
        raise BuildError(f"go mod download {module}@{version}: no module info") from exc


def go_mod_settings(module_dir: Path) -> tuple[str, dict[str, str]]:
    """The `go` directive and the `replace` pins (module => module version) of a go.mod."""
    text = (module_dir / "go.mod").read_text()
    directive = re.search(r"^go (\S+)", text, re.M)
    replaces = dict(re.findall(r"^(?:replace)?\s*(\S+) => (\S+ v\S+)\s*$", text, re.M))
    return (directive.group(1) if directive else ""), replaces


def build(ctx: Ctx, ref: str) -> None:
    version = "v" + ctx.pins["SPARK_OPERATOR_VERSION"]
    src = ctx.go_module_dir(MODULE, version)
    commit, date = module_origin(MODULE, version)
    go_directive, replaces = go_mod_settings(src)  # its go.mod pins k8s.io/* by replace
    pkg = "k8s.io/component-base/version"
    ldflags = (f"-s -w -X {pkg}.gitVersion={version} -X {pkg}.gitCommit={commit} "
               f"-X {pkg}.gitTreeState=clean -X {pkg}.buildDate={date}")
    bins = ctx.go_build("spark-operator", {MODULE: version}, [f"{MODULE}/cmd/operator"], ldflags=ldflags,
                        replaces=replaces, go_directive=go_directive)

    context = WORK / "stage" / "spark-operator"
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    (context / "Dockerfile").write_text(DOCKERFILE)
    shutil.copy(bins / "operator", context / "spark-operator")
    shutil.copy(src / "entrypoint.sh", context / "entrypoint.sh")
    for f in ("spark-operator", "entrypoint.sh"):
        (context / f).chmod(0o755)
    ctx.docker_build(context / "Dockerfile", context, ref, {"BASE": ctx.refs["spark-base"]})


RECIPES = [
    Recipe(
        name="spark-operator",
        version=lambda pins: pins["SPARK_OPERATOR_VERSION"],
        build=build,
        pins=["SPARK_OPERATOR_VERSION"],
        depends=["spark-base"],
    ),
]
