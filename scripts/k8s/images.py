#!/usr/bin/env python3
"""Build the container images of the cluster (`task k8s:images`), cached by their inputs.

    python3 scripts/k8s/images.py build [NAME ...]     # build what changed (all by default)
    python3 scripts/k8s/images.py refs                 # NAME=image:tag of every image, one a line
    python3 scripts/k8s/images.py list                 # recipes, tags and whether each is built

Two image profiles, chosen by one switch, DP_IMAGE_PROFILE (`--profile`):

  upstream  (default) the upstream images where a registry is reachable (a laptop, the GitHub
            workflow): kindest/node, the operators' own images; only the project's Spark and Airflow
            images are built (images/spark/Dockerfile, images/airflow/Dockerfile, FROM apache/...).
  source    every image built here from package registries only: Debian (debootstrap), PyPI, Maven
            Central and the Go module proxy. The recipes are images/<name>/recipe.py.

A recipe declares its inputs (repository files, pins of versions.env, other images); the tag is
`datapipeline/<name>:<version>-<hash of the inputs>`, so an image is rebuilt exactly when an input
changes, and a build that exists is skipped in a second. Build work lives in .local/k8s-build.
Standard library only: it runs before the venv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from datapipeline import versions  # noqa: E402

WORK = ROOT / ".local" / "k8s-build"
REPO = "datapipeline"
PROFILES = ("upstream", "source")
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"


class BuildError(SystemExit):
    """One line naming what failed and where its log is."""

    def __init__(self, message: str) -> None:
        super().__init__(f"images: {message}")


def log(message: str) -> None:
    print(f"[images] {message}", flush=True)


def run(
    cmd: list[str],
    *,
    what: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input_bytes: bytes | None = None,
    quiet: bool = True,
) -> str:
    """Run a command; its output goes to a log file under WORK/logs and is shown only on failure."""
    logs = WORK / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    logfile = logs / (what.replace(" ", "-").replace("/", "_") + ".log")
    started = time.monotonic()
    with logfile.open("wb") as out:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            input=input_bytes,
            stdout=out if quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
            check=False,
        )
    if proc.returncode != 0:
        tail = logfile.read_text(errors="replace").splitlines()[-25:]
        print("\n".join(tail), file=sys.stderr)
        raise BuildError(f"{what} failed (exit {proc.returncode}); full log: {logfile}")
    took = time.monotonic() - started
    if took > 5:
        log(f"  {what}: {took:.0f}s")
    return logfile.read_text(errors="replace")


def capture(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()


def digest(*parts: str | bytes | Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            # Byte code that a test run leaves next to the sources is not an input.
            files = (
                sorted(
                    p for p in part.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
                )
                if part.is_dir()
                else [part]
            )
            for f in files:
                h.update(str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f).encode())
                h.update(f.read_bytes())
        else:
            h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\0")
    return h.hexdigest()


# --------------------------------------------------------------------------- build context
@dataclass
class Ctx:
    """What a recipe's build() gets: the pins, a scratch folder, and the shared build steps."""

    pins: dict[str, str]
    profile: str
    refs: dict[str, str] = field(default_factory=dict)  # name -> image ref of images built so far

    # ----- Go
    def go_build(
        self,
        name: str,
        requires: dict[str, str],
        packages: list[str],
        *,
        replaces: dict[str, str] | None = None,
        ldflags: str = "",
        tags: str = "",
        cgo: bool = False,
        go_directive: str = "",
    ) -> Path:
        """`go build` PACKAGES of the modules REQUIRES ({module: version}) from the module proxy into
        WORK/go/NAME/bin (a scratch module, so the modules' own `replace ./...` lines do not apply;
        REPLACES pins those). Returns the bin folder. The Go build cache makes a rebuild cheap."""
        mod = WORK / "go" / name
        mod.mkdir(parents=True, exist_ok=True)
        lines = [f"module {REPO}.build/{name}", ""]
        if go_directive:
            lines += [f"go {go_directive}", ""]
        lines += ["require ("] + [f"\t{m} {v}" for m, v in requires.items()] + [")"]
        if replaces:
            lines += ["", "replace ("] + [f"\t{m} => {r}" for m, r in replaces.items()] + [")"]
        gomod = "\n".join(lines) + "\n"
        stamp = mod / ".stamp"
        key = digest(gomod, " ".join(packages), ldflags, tags, str(cgo))
        out = mod / "bin"
        if stamp.is_file() and stamp.read_text() == key and all((out / binary_name(p)).exists() for p in packages):
            return out
        template = mod / "go.mod.in"  # `-mod=mod` adds the indirect requirements to go.mod: keep them
        if not template.is_file() or template.read_text() != gomod or not (mod / "go.mod").is_file():
            (mod / "go.mod").write_text(gomod)
            template.write_text(gomod)
        log(f"  go build {name}: {len(packages)} package(s) (minutes when the Go cache is cold)")
        cmd = ["go", "build", "-trimpath", "-o", str(out) + "/"]
        if tags:
            cmd += ["-tags", tags]
        if ldflags:
            cmd += ["-ldflags", ldflags]
        run(
            cmd + packages,
            what=f"go build {name}",
            cwd=mod,
            env={"CGO_ENABLED": "1" if cgo else "0", "GOFLAGS": "-mod=mod -buildvcs=false"},
        )
        stamp.write_text(key)
        return out

    def go_module_dir(self, module: str, version: str) -> Path:
        """The source folder of MODULE@VERSION in the module cache (downloaded if needed)."""
        out = capture(["go", "mod", "download", "-json", f"{module}@{version}"])
        try:
            return Path(json.loads(out)["Dir"])
        except (ValueError, KeyError) as exc:
            raise BuildError(f"go mod download {module}@{version} failed: {out[-300:]}") from exc

    # ----- Debian
    def debian_rootfs(self, name: str, packages: Iterable[str], *, variant: str = "minbase") -> Path:
        """A cached debootstrap tree of Debian {DEBIAN_SUITE} with PACKAGES (a template: copy it,
        never change it). Keyed by the package list."""
        pkgs = sorted(set(packages))
        key = digest(DEBIAN_SUITE, variant, *pkgs)[:16]
        tree = WORK / "rootfs" / f"{name}-{key}"
        if (tree / ".complete").is_file():
            return tree
        if shutil.which("debootstrap") is None and os.geteuid() == 0 and shutil.which("apt-get"):
            log("  installing debootstrap (apt-get)")
            run(
                ["apt-get", "install", "-y", "-qq", "debootstrap"],
                what="apt-get install debootstrap",
                env={"DEBIAN_FRONTEND": "noninteractive"},
            )
        need_tool("debootstrap", "apt-get install debootstrap")
        shutil.rmtree(tree, ignore_errors=True)
        tree.parent.mkdir(parents=True, exist_ok=True)
        log(f"  debootstrap {name} ({len(pkgs)} extra packages; a few minutes)")
        cmd = ["debootstrap", f"--variant={variant}"]
        if pkgs:
            cmd.append("--include=" + ",".join(pkgs))
        run([*cmd, DEBIAN_SUITE, str(tree), DEBIAN_MIRROR], what=f"debootstrap {name}")
        # Smaller images: no apt lists, caches, docs or man pages.
        for sub in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
            "usr/share/locale",
            "usr/share/info",
        ):
            p = tree / sub
            if p.is_dir():
                for child in p.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
        (tree / ".complete").write_text(key)
        return tree

    def copy_tree(self, template: Path, name: str) -> Path:
        """A fresh writable copy of a rootfs template under WORK/stage/NAME."""
        dest = WORK / "stage" / name
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        run(["cp", "-a", str(template), str(dest)], what=f"copy rootfs {name}")
        (dest / ".complete").unlink(missing_ok=True)
        return dest

    def chroot(self, tree: Path, script: str, *, what: str) -> None:
        """Run a bash SCRIPT inside TREE (with /proc, /dev and the host's DNS), e.g. pip installs."""
        shutil.copy("/etc/resolv.conf", tree / "etc" / "resolv.conf")
        with mounted(tree):
            run(
                ["chroot", str(tree), "/bin/bash", "-euo", "pipefail", "-c", script],
                what=what,
                env={
                    "DEBIAN_FRONTEND": "noninteractive",
                    "LC_ALL": "C.UTF-8",
                    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                },
            )
        (tree / "etc" / "resolv.conf").write_text("")

    # ----- Docker
    def docker_import(self, tree: Path, ref: str, changes: list[str]) -> None:
        """`docker import` a rootfs folder as REF with Dockerfile CHANGES (ENV, ENTRYPOINT, USER...)."""
        cmd = ["docker", "import"]
        for change in changes:
            cmd += ["--change", change]
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "--exclude=./.complete", "-C", str(tree), "-c", "."], stdout=subprocess.PIPE
        )
        started = time.monotonic()
        proc = subprocess.Popen(
            [*cmd, "-", ref], stdin=tar.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert tar.stdout is not None
        tar.stdout.close()  # only docker reads the pipe: if it dies, tar gets SIGPIPE instead of blocking
        _, err = proc.communicate()
        tar.wait()
        if proc.returncode != 0 or tar.returncode != 0:
            raise BuildError(f"docker import {ref} failed: {err.strip()[-300:]}")
        log(f"  docker import {ref}: {time.monotonic() - started:.0f}s")

    def docker_build(self, dockerfile: Path, context: Path, ref: str, build_args: dict[str, str] | None = None) -> None:
        """`docker build` (classic builder: FROM images that exist locally are used, nothing is pulled)."""
        cmd = ["docker", "build", "-f", str(dockerfile), "-t", ref]
        for k, v in (build_args or {}).items():
            cmd += ["--build-arg", f"{k}={v}"]
        run([*cmd, str(context)], what=f"docker build {ref.split('/')[-1]}", env={"DOCKER_BUILDKIT": "0"})


def binary_name(package: str) -> str:
    """The file `go build -o DIR/` writes for PACKAGE: its last path element, skipping a /vN suffix."""
    parts = package.split("/")
    if len(parts) > 1 and parts[-1][:1] == "v" and parts[-1][1:].isdigit():
        return parts[-2]
    return parts[-1]


def need_tool(tool: str, hint: str) -> None:
    if shutil.which(tool) is None:
        raise BuildError(f"`{tool}` not found: {hint}")


@contextlib.contextmanager
def mounted(tree: Path) -> Iterator[None]:
    mounts = [("proc", tree / "proc", ["-t", "proc", "proc"]), ("dev", tree / "dev", ["--bind", "/dev"])]
    done: list[Path] = []
    try:
        for _, target, args in mounts:
            target.mkdir(exist_ok=True)
            subprocess.run(["mount", *args, str(target)], check=True)
            done.append(target)
        yield
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "-l", str(target)], check=False)


# --------------------------------------------------------------------------- recipes
@dataclass
class Recipe:
    """One image. VERSION is the human part of the tag; INPUTS (repository paths), PINS (keys of
    versions.env) and DEPENDS (other recipes' names) make the hash part. BUILD(ctx, ref) builds it."""

    name: str
    version: Callable[[dict[str, str]], str]
    build: Callable[[Ctx, str], None]
    inputs: list[str] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    depends: list[str] = field(default_factory=list)
    profiles: tuple[str, ...] = ("source",)
    source_file: Path | None = None


def load_recipes(profile: str) -> dict[str, Recipe]:
    """The RECIPES of every images/*/recipe.py that belong to PROFILE (a name may have one recipe
    per profile, e.g. `spark` FROM apache/spark upstream and from Debian in the source profile)."""
    recipes: dict[str, Recipe] = {}
    for path in sorted((ROOT / "images").glob("*/recipe.py")):
        spec = importlib.util.spec_from_file_location(f"recipe_{path.parent.name}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for recipe in module.RECIPES:
            if profile not in recipe.profiles:
                continue
            if recipe.name in recipes:
                raise BuildError(
                    f"image {recipe.name!r} has two {profile} recipes: {recipes[recipe.name].source_file} and {path}"
                )
            # A recipe defined in a shared module names that module itself (its hash input).
            recipe.source_file = recipe.source_file or path
            recipes[recipe.name] = recipe
    return recipes


def ref_of(recipe: Recipe, recipes: dict[str, Recipe], pins: dict[str, str], _seen: tuple[str, ...] = ()) -> str:
    if recipe.name in _seen:
        raise BuildError(f"recipe cycle: {' -> '.join((*_seen, recipe.name))}")
    parts: list[str | Path] = [recipe.name, recipe.version(pins)]
    if recipe.source_file:
        parts.append(recipe.source_file)
    parts += [ROOT / p for p in recipe.inputs]
    parts += [f"{k}={pins[k]}" for k in recipe.pins]
    parts += [ref_of(recipes[d], recipes, pins, (*_seen, recipe.name)) for d in recipe.depends]
    return f"{REPO}/{recipe.name}:{recipe.version(pins)}-{digest(*parts)[:12]}"


def image_exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False).returncode == 0


def order(names: list[str], recipes: dict[str, Recipe]) -> list[str]:
    out: list[str] = []

    def visit(n: str) -> None:
        if n not in recipes:
            raise BuildError(f"unknown image {n!r}; known: {', '.join(recipes)}")
        for d in recipes[n].depends:
            visit(d)
        if n not in out:
            out.append(n)

    for n in names:
        visit(n)
    return out


def build(names: list[str], profile: str) -> dict[str, str]:
    pins = versions.load()
    recipes = load_recipes(profile)
    todo = order(names or list(recipes), recipes)
    ctx = Ctx(pins=pins, profile=profile)
    need_tool("docker", "install Docker (Debian: apt-get install docker.io) and start dockerd")
    started = time.monotonic()
    for name in todo:
        recipe = recipes[name]
        ref = ref_of(recipe, recipes, pins)
        ctx.refs[name] = ref
        if image_exists(ref):
            log(f"{name}: {ref} (cached)")
            continue
        log(f"{name}: building {ref}")
        t0 = time.monotonic()
        recipe.build(ctx, ref)
        if not image_exists(ref):
            raise BuildError(f"recipe {name} finished without creating {ref}")
        log(f"{name}: built in {time.monotonic() - t0:.0f}s")
    log(f"{len(todo)} image(s) ready in {time.monotonic() - started:.0f}s")
    return ctx.refs


def refs(profile: str) -> dict[str, str]:
    pins = versions.load()
    recipes = load_recipes(profile)
    return {n: ref_of(r, recipes, pins) for n, r in recipes.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--profile",
        default=os.environ.get("DP_IMAGE_PROFILE", "upstream"),
        choices=PROFILES,
        help="image profile (default: $DP_IMAGE_PROFILE, else upstream)",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the images that are missing or whose inputs changed")
    b.add_argument("names", nargs="*", help="images to build (default: every image of the profile)")
    sub.add_parser("refs", help="print NAME=REF of every image of the profile")
    sub.add_parser("list", help="print every image, its tag and whether it is built")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        build(args.names, args.profile)
    elif args.cmd == "refs":
        for name, ref in refs(args.profile).items():
            print(f"{name}={ref}")
    else:
        for name, ref in refs(args.profile).items():
            print(f"{name:24} {ref:70} {'built' if image_exists(ref) else 'missing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
