"""Build steps the project's source-profile recipes share (spark-base, spark, airflow, kafka).

The recipes import this module and list INPUT among their inputs (a change here rebuilds them):

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "spark-base"))
    import build_steps

- `python_venv`: a venv built with uv in a chroot of the debian-jre rootfs, hash-checked, from the
  uv cache that `task bootstrap` filled;
- `maven_jars`: the jars of jvm/<name>/pom.xml that `task bootstrap` resolved, or the same Maven run;
- `fresh_context` / `link_tree` / `copy_repo_paths`: a staged build context under
  .local/k8s-build/context (the Dockerfiles never see the repository root, .venv and .local);
- `build_upstream`: the upstream profile's Dockerfiles, on a context of only what they COPY.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "k8s"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import debian_jre
from images import ROOT, WORK, BuildError, Ctx, capture, run

INPUT = "images/spark-base/build_steps.py"


# --------------------------------------------------------------------------- build contexts
def fresh_context(name: str) -> Path:
    """An empty build context folder for image NAME."""
    path = WORK / "context" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def link_tree(src: Path, dest: Path, *, ignore: tuple[str, ...] = ("__pycache__", "*.pyc")) -> None:
    """Copy folder SRC to DEST (hard links where possible: the context is read, never written)."""
    shutil.copytree(src, dest, symlinks=True, copy_function=_link_or_copy, ignore=shutil.ignore_patterns(*ignore),
                    dirs_exist_ok=True)


def link_file(src: Path, dest: Path) -> None:
    """Copy one file SRC to DEST (a hard link where possible)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    _link_or_copy(str(src), str(dest))


def copy_repo_paths(dest: Path, paths: list[str]) -> None:
    """Repository files and folders into DEST at the same relative paths (a context that the
    upstream Dockerfiles' COPY lines read as if it were the repository root)."""
    for rel in paths:
        src = ROOT / rel
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            link_tree(src, target)
        else:
            shutil.copy2(src, target)


def dockerfile_args(dockerfile: Path) -> list[str]:
    """The ARG names of a Dockerfile (in images/*/Dockerfile all are versions.env keys)."""
    return list(dict.fromkeys(re.findall(r"^ARG (\w+)", dockerfile.read_text(), flags=re.M)))


def build_upstream(ctx: Ctx, ref: str, name: str, dockerfile: Path, paths: list[str]) -> None:
    """An upstream-profile image: DOCKERFILE with every ARG from versions.env, on a context of the
    repository PATHS it COPYs (not the whole checkout with .venv and .local)."""
    context = fresh_context(f"{name}-upstream")
    copy_repo_paths(context, paths)
    shutil.copy2(dockerfile, context / "Dockerfile")
    ctx.docker_build(context / "Dockerfile", context, ref, {arg: ctx.pins[arg] for arg in dockerfile_args(dockerfile)})


# --------------------------------------------------------------------------- Maven jars
def _bootstrap_module():
    spec = importlib.util.spec_from_file_location("dp_bootstrap", ROOT / "scripts" / "bootstrap.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def maven_jars(ctx: Ctx, name: str) -> Path:
    """The jars of jvm/NAME/pom.xml with the versions.env properties: `task bootstrap`'s
    .local/jars/NAME when its stamp says it resolved this pom with these pins, else the same
    Maven run into .local/k8s-build/jars/NAME."""
    boot = _bootstrap_module()
    pom = ROOT / "jvm" / name / "pom.xml"
    props = boot.maven_properties(ctx.pins)
    fingerprint = boot.fingerprint(pom, *props)
    local = ROOT / ".local" / "jars" / name
    stamp = ROOT / ".local" / "stamps" / f"jars-{name}"
    if stamp.is_file() and stamp.read_text() == fingerprint and any(local.glob("*.jar")):
        return local
    out = WORK / "jars" / name
    out_stamp = out / ".stamp"
    if out_stamp.is_file() and out_stamp.read_text() == fingerprint:
        return out
    if shutil.which("mvn") is None:
        raise BuildError("`mvn` not found and no jars from `task bootstrap`: install Maven or run `task bootstrap`")
    shutil.rmtree(out, ignore_errors=True)
    run(["mvn", "-B", "-q", "-f", str(pom), *props, "dependency:copy-dependencies", f"-DoutputDirectory={out}"],
        what=f"maven jars {name}")
    out_stamp.write_text(fingerprint)
    return out


def parser_jar(ctx: Ctx) -> Path:
    """The event parser jar of jvm/parser, built the way `task bootstrap` builds it (its `parser`
    step, a no-op while the jar is up to date)."""
    boot = _bootstrap_module()
    boot.step_parser(ctx.pins)
    return boot.paths.PARSER_JAR


# --------------------------------------------------------------------------- Python venvs
def uv_binary(ctx: Ctx) -> Path:
    """The project's pinned uv (`task bootstrap` installs it into .venv)."""
    uv = ROOT / ".venv" / "bin" / "uv"
    if not uv.is_file() or ctx.pins["UV_VERSION"] not in capture([str(uv), "--version"]):
        raise BuildError(f"no uv {ctx.pins['UV_VERSION']} in .venv/bin: run `task bootstrap`")
    return uv


def assert_unmounted(path: Path) -> None:
    """Refuse to go on while anything is mounted below PATH (a chroot left behind by a killed build):
    deleting such a tree would delete the mounted host folders' contents."""
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mounts", encoding="utf-8") as fh:
        mounts = [line.split()[1] for line in fh]
    left = [m for m in mounts if (m + "/").startswith(prefix)]
    if left:
        raise BuildError(f"still mounted below {path}: {', '.join(left)}; `umount` them first")


@contextlib.contextmanager
def bind_mount(src: Path, target: Path) -> Iterator[None]:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(src), str(target)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def python_venv(ctx: Ctx, name: str, venv: str, requirements: str, dest: Path, *,
                sync: bool = False, project: list[str] | None = None) -> None:
    """Build a venv at VENV (the same absolute path it gets in the image) with Debian's python3 of
    the debian-jre rootfs, in a chroot of a copy of that rootfs, and copy it to DEST.

    REQUIREMENTS is requirements.lock text (every entry with hashes: `--require-hashes`); SYNC makes
    the venv exactly the lock (`uv pip sync`), else the entries are installed without their
    dependencies. PROJECT: repository paths (pyproject.toml, src, ...) installed (not editable)
    on top, with the venv's own setuptools. uv runs with the host's uv cache bind-mounted, so
    what `task bootstrap` downloaded (and the pyspark wheel it built) is not fetched again;
    anything missing comes from PyPI. Byte code is compiled (the image's user cannot write it)."""
    uv = uv_binary(ctx)
    cache = Path(capture([str(uv), "cache", "dir"]) or Path.home() / ".cache" / "uv")
    cache.mkdir(parents=True, exist_ok=True)
    assert_unmounted(WORK / "stage" / f"{name}-venv")
    tree = ctx.copy_tree(debian_jre.rootfs(ctx), f"{name}-venv")
    try:
        build_dir = tree / "tmp" / "build"
        build_dir.mkdir(parents=True)
        (build_dir / "requirements.txt").write_text(requirements)
        shutil.copy2(uv, tree / "usr" / "local" / "bin" / "uv")
        # The host's CA bundle for this build only (a host behind a TLS-inspecting egress proxy
        # trusts its CA there, Debian's bundle in the rootfs does not); not part of the image.
        shutil.copy2(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt", build_dir / "host-ca.crt")
        install = "sync" if sync else "install --no-deps -r"
        script = f"""
            export UV_CACHE_DIR=/var/cache/uv UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_NO_CONFIG=1 \\
                SSL_CERT_FILE=/tmp/build/host-ca.crt SSL_CERT_DIR=
            uv venv --quiet --python /usr/bin/python3 {venv}
            uv pip {install} /tmp/build/requirements.txt --python {venv}/bin/python --require-hashes \\
                --compile-bytecode
        """
        if project:
            copy_repo_paths(build_dir / "project", project)
            script += f"""
            uv pip install --python {venv}/bin/python --no-deps --no-build-isolation --compile-bytecode \\
                /tmp/build/project
            """
        with bind_mount(cache, tree / "var" / "cache" / "uv"):
            ctx.chroot(tree, script, what=f"venv {name}")
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        run(["cp", "-a", str(tree / venv.lstrip("/")), str(dest)], what=f"copy venv {name}")
    finally:
        assert_unmounted(tree)
        shutil.rmtree(tree, ignore_errors=True)
