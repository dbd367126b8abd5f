"""CloudNativePG operator image, built from the Go module proxy (source profile).

Layout of upstream's image (Dockerfile and .goreleaser.yml of the module): a static `manager`
(CGO off, version ldflags) on distroless static, run from WORKDIR /. The release manifest's
Deployment runs `/manager controller ...`, and every PostgreSQL pod gets an init container from
this image running `/manager bootstrap /controller/manager`, which copies the binary named by
cobra's root command ("manager", a path relative to the working directory) into the pod: so
the binary must be /manager, world-readable, static, and the working directory /.

Here the base is a distroless-like tree: /etc/passwd and /etc/group (root, nonroot 65532), /tmp,
and the CA bundle and time zones taken from a Debian rootfs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "k8s"))
from images import WORK, BuildError, Ctx, Recipe, capture

MODULE = "github.com/cloudnative-pg/cloudnative-pg"


def module_origin(module: str, version: str) -> tuple[str, str]:
    """(commit, date YYYY-MM-DD) of MODULE@VERSION as the module proxy records them."""
    info = json.loads(capture(["go", "mod", "download", "-json", f"{module}@{version}"]) or "{}")
    try:
        meta = json.loads(Path(info["Info"]).read_text())
        return info.get("Origin", {}).get("Hash", "unknown"), meta["Time"][:10]
    except (KeyError, OSError, ValueError) as exc:
        raise BuildError(f"go mod download {module}@{version}: no module info") from exc


def go_directive(module_dir: Path) -> str:
    for line in (module_dir / "go.mod").read_text().splitlines():
        if line.startswith("go "):
            return line.split()[1]
    return ""


def build(ctx: Ctx, ref: str) -> None:
    version = ctx.pins["CNPG_OPERATOR_VERSION"]
    src = ctx.go_module_dir(MODULE, f"v{version}")
    commit, date = module_origin(MODULE, f"v{version}")
    pkg = f"{MODULE}/pkg/versions"
    ldflags = f"-s -w -X {pkg}.buildVersion={version} -X {pkg}.buildCommit={commit[:7]} -X {pkg}.buildDate={date}"
    bins = ctx.go_build("cnpg", {MODULE: f"v{version}"}, [f"{MODULE}/cmd/manager"], ldflags=ldflags,
                        go_directive=go_directive(src))

    debian = ctx.debian_rootfs("static-files", ["ca-certificates", "tzdata"])
    tree = WORK / "stage" / "cnpg"
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "etc/ssl/certs").mkdir(parents=True)
    (tree / "tmp").mkdir(mode=0o1777)
    (tree / "tmp").chmod(0o1777)  # mkdir's mode is masked by the umask
    (tree / "etc/passwd").write_text("root:x:0:0:root:/root:/sbin/nologin\n"
                                      "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
    (tree / "etc/group").write_text("root:x:0:\nnonroot:x:65532:\n")
    (tree / "home/nonroot").mkdir(parents=True)
    os.chown(tree / "home/nonroot", 65532, 65532)
    shutil.copy(debian / "etc/ssl/certs/ca-certificates.crt", tree / "etc/ssl/certs/")
    shutil.copytree(debian / "usr/share/zoneinfo", tree / "usr/share/zoneinfo", symlinks=True)
    shutil.copytree(src / "licenses", tree / "licenses")
    shutil.copy(src / "LICENSE", tree / "licenses/LICENSE")
    shutil.copy(bins / "manager", tree / "manager")
    (tree / "manager").chmod(0o755)
    # The operator lists the instance-manager architectures it can hand out from operator/manager_*
    # (pkg/utils/discovery.go); without one, every Cluster fails with "invalid architecture: amd64".
    (tree / "operator").mkdir(exist_ok=True)
    shutil.copy(bins / "manager", tree / "operator" / "manager_amd64")
    (tree / "operator" / "manager_amd64").chmod(0o755)
    ctx.docker_import(tree, ref, ["WORKDIR /", "USER 65532:65532", 'ENTRYPOINT ["/manager"]'])


RECIPES = [
    Recipe(
        name="cnpg",
        version=lambda pins: pins["CNPG_OPERATOR_VERSION"],
        build=build,
        pins=["CNPG_OPERATOR_VERSION"],
    ),
]
