"""minio (source profile): the MinIO server and the `mc` client from the Go module proxy.

MinIO is published as source only (STACK-FACTS): `minio` and `mc` are built here at the pinned
MINIO_MODULE_VERSION / MC_MODULE_VERSION pseudo-versions, static (CGO off; `task bootstrap`'s
`go install` copies in .local/bin link the host's libc, so they are not reused) with the release
ldflags of their buildscripts/gen-ldflags.go (version = the commit time of the pseudo-version), on
a distroless-like tree: /etc/passwd and /etc/group (root, minio 1000:1000), /tmp, /data, the user's
home (mc keeps its config there), the CA bundle and time zones of a Debian rootfs, and the
modules' licenses. No shell. Entrypoint `minio`, default command `server /data --console-address
:9001`; `mc` is on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "k8s"))
from images import WORK, BuildError, Ctx, Recipe, capture

UID = 1000  # the MinIO operator's tenant pods run as 1000:1000 (fsGroup 1000)
TOOLS = {  # binary: (module, pin, package of the ldflags variables)
    "minio": ("github.com/minio/minio", "MINIO_MODULE_VERSION", "github.com/minio/minio/cmd"),
    "mc": ("github.com/minio/mc", "MC_MODULE_VERSION", "github.com/minio/mc/cmd"),
}


def pseudo_version_time(version: str) -> datetime:
    """v0.0.0-20260212201848-7aac2a2c5b7c -> its commit time (UTC)."""
    try:
        return datetime.strptime(version.split("-")[-2][-14:], "%Y%m%d%H%M%S")
    except (IndexError, ValueError) as exc:
        raise BuildError(f"{version} is not a Go pseudo-version") from exc


def short_version(pins: dict[str, str]) -> str:
    """The image tag's version: the server's commit date and short commit, e.g. 20260212-7aac2a2c5b7c."""
    version = pins["MINIO_MODULE_VERSION"]
    return f"{pseudo_version_time(version):%Y%m%d}-{version.rsplit('-', 1)[-1]}"


def commit_of(module: str, version: str) -> str:
    info = json.loads(capture(["go", "mod", "download", "-json", f"{module}@{version}"]) or "{}")
    return info.get("Origin", {}).get("Hash") or version.rsplit("-", 1)[-1]


def go_directive(module_dir: Path) -> str:
    for line in (module_dir / "go.mod").read_text().splitlines():
        if line.startswith("go "):
            return line.split()[1]
    return ""


def build_binary(ctx: Ctx, binary: str) -> tuple[Path, Path]:
    """(the static binary, its module's source folder)."""
    module, pin, var_pkg = TOOLS[binary]
    version = ctx.pins[pin]
    src = ctx.go_module_dir(module, version)
    when = pseudo_version_time(version)
    commit = commit_of(module, version)
    ldflags = (f"-s -w -X {var_pkg}.Version={when:%Y-%m-%dT%H:%M:%SZ} -X {var_pkg}.CopyrightYear={when:%Y}"
               f" -X {var_pkg}.ReleaseTag=DEVELOPMENT.{when:%Y-%m-%dT%H-%M-%SZ}"
               f" -X {var_pkg}.CommitID={commit} -X {var_pkg}.ShortCommitID={commit[:12]}")
    bins = ctx.go_build(binary, {module: version}, [module], ldflags=ldflags, go_directive=go_directive(src))
    return bins / binary, src


def build(ctx: Ctx, ref: str) -> None:
    built = {name: build_binary(ctx, name) for name in TOOLS}
    debian = ctx.debian_rootfs("static-files", ["ca-certificates", "tzdata"])
    tree = WORK / "stage" / "minio"
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("etc/ssl/certs", "usr/bin", "licenses", "data", "home/minio", "tmp"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    (tree / "tmp").chmod(0o1777)
    (tree / "etc/passwd").write_text(f"root:x:0:0:root:/root:/sbin/nologin\n"
                                      f"minio:x:{UID}:{UID}:minio:/home/minio:/sbin/nologin\n")
    (tree / "etc/group").write_text(f"root:x:0:\nminio:x:{UID}:\n")
    (tree / "etc/nsswitch.conf").write_text("hosts: files dns\n")
    for d in ("data", "home/minio"):
        os.chown(tree / d, UID, UID)
        (tree / d).chmod(0o770)
    shutil.copy(debian / "etc/ssl/certs/ca-certificates.crt", tree / "etc/ssl/certs/")
    shutil.copytree(debian / "usr/share/zoneinfo", tree / "usr/share/zoneinfo", symlinks=True)
    for name, (binary, src) in built.items():
        shutil.copy(binary, tree / "usr/bin" / name)
        (tree / "usr/bin" / name).chmod(0o755)
        for lic in ("LICENSE", "NOTICE", "CREDITS"):
            if (src / lic).is_file():
                shutil.copy(src / lic, tree / "licenses" / f"{name}-{lic}")
    ctx.docker_import(tree, ref, [
        "ENV PATH=/usr/bin", "ENV HOME=/home/minio",
        "WORKDIR /home/minio", f"USER {UID}:{UID}", "EXPOSE 9000 9001",
        'ENTRYPOINT ["/usr/bin/minio"]', 'CMD ["server", "/data", "--console-address", ":9001"]',
    ])


RECIPES = [
    Recipe(
        name="minio",
        version=short_version,
        build=build,
        pins=["MINIO_MODULE_VERSION", "MC_MODULE_VERSION"],
    ),
]
