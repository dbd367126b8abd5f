"""kind's node image, built from the Go module proxy and Debian only (source profile).

What `kind build node-image` makes, assembled without a registry (kind's own build pulls its
non-Kubernetes images):

- the node rootfs: Debian (debootstrap) with systemd, iptables and Debian's containerd, runc and CNI
  plugins, plus kind's base-image files (entrypoint, units, containerd config) from the kind module;
- kubeadm, kubelet and kubectl, built from k8s.io/kubernetes at KUBERNETES_VERSION;
- the images kubeadm and kind start, preloaded into the node's containerd under the names kubeadm
  asks for (registry.k8s.io/...): kube-apiserver, -controller-manager, -scheduler, kube-proxy, etcd,
  coredns, pause; and the local-path provisioner (storage) under our own names;
- /kind/manifests: kind's storage manifest (from the kind module's Go constant, images renamed)
  and a CNI stand-in: kindnetd's module is not served, so the node carries a static ptp +
  host-local CNI config for the pod subnet (one node: every pod route is local).

Host workarounds (files/dp-entrypoint) are detected at start, never forced on an ordinary host.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "k8s"))
from images import WORK, BuildError, Ctx, Recipe, log, run  # noqa: E402

HERE = Path(__file__).resolve().parent
POD_SUBNET = "10.244.0.0/16"  # kind's default podSubnet (k8s/kind-cluster.yaml keeps it)

# Debian packages of kind's base image (images/base/Dockerfile in the kind module), with Debian's
# containerd, runc and CNI plugins instead of kind's source builds.
NODE_PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "conntrack",
    "iptables",
    "nftables",
    "iproute2",
    "ethtool",
    "kmod",
    "libseccomp2",
    "pigz",
    "fuse-overlayfs",
    "e2fsprogs",
    "bash",
    "ca-certificates",
    "curl",
    "jq",
    "procps",
    "containerd",
    "runc",
    "containernetworking-plugins",
    "socat",
]
# Userland of kube-proxy (iptables) and of the local-path helper pod (sh, mkdir, rm).
TOOLS_PACKAGES = ["iptables", "nftables", "conntrack", "ipset", "kmod", "ca-certificates"]


def k8s_version(pins: dict[str, str]) -> str:
    return "v" + pins["KUBERNETES_VERSION"]


def _version_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    return " ".join(flags)


def build_binaries(ctx: Ctx) -> dict[str, Path]:
    """Every Go and C binary of the node and its images: {name: path}."""
    pins = ctx.pins
    version = k8s_version(pins)
    staging = "v0." + version.lstrip("v").split(".", 1)[1]  # v1.37.0 -> v0.37.0
    k8s_dir = ctx.go_module_dir("k8s.io/kubernetes", version)
    gomod = (k8s_dir / "go.mod").read_text()
    # k8s.io/kubernetes replaces its staging modules with ./staging/...; pin them to their releases.
    staged = re.findall(r"^\s*(k8s\.io/[\w.-]+) => \./staging/", gomod, re.M)
    go_line = re.search(r"^go (\S+)", gomod, re.M)
    commands = [
        "kubeadm",
        "kubelet",
        "kubectl",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kube-proxy",
    ]
    kbin = ctx.go_build(
        "kubernetes",
        {"k8s.io/kubernetes": version},
        [f"k8s.io/kubernetes/cmd/{c}" for c in commands],
        replaces={m: f"{m} {staging}" for m in staged},
        ldflags=_version_ldflags(version),
        tags="selinux,notest,grpcnotrace",
        go_directive=go_line.group(1) if go_line else "",
    )
    bins = {c: kbin / c for c in commands}
    etcd_version = "v" + pins["ETCD_VERSION"]
    ebin = ctx.go_build(
        "etcd", {"go.etcd.io/etcd/server/v3": etcd_version}, ["go.etcd.io/etcd/server/v3"], ldflags="-s -w"
    )
    bins["etcd"] = ebin / "server"
    cbin = ctx.go_build(
        "coredns",
        {"github.com/coredns/coredns": "v" + pins["COREDNS_VERSION"]},
        ["github.com/coredns/coredns"],
        ldflags="-s -w",
    )
    bins["coredns"] = cbin / "coredns"
    tbin = ctx.go_build(
        "crictl",
        {"sigs.k8s.io/cri-tools": "v" + pins["CRICTL_VERSION"]},
        ["sigs.k8s.io/cri-tools/cmd/crictl"],
        ldflags="-s -w",
    )
    bins["crictl"] = tbin / "crictl"
    lbin = ctx.go_build(
        "local-path-provisioner",
        {"github.com/rancher/local-path-provisioner": pins["LOCAL_PATH_PROVISIONER_VERSION"]},
        ["github.com/rancher/local-path-provisioner"],
        ldflags="-s -w",
    )
    bins["local-path-provisioner"] = lbin / "local-path-provisioner"
    pause = WORK / "go" / "pause" / "pause"
    if not pause.exists():
        pause.parent.mkdir(parents=True, exist_ok=True)
        run(
            [
                "gcc",
                "-Os",
                "-static",
                "-DVERSION=" + pins["PAUSE_VERSION"],
                "-o",
                str(pause),
                str(k8s_dir / "build" / "pause" / "linux" / "pause.c"),
            ],
            what="gcc pause",
        )
    bins["pause"] = pause
    return bins


def tiny_rootfs(name: str, files: dict[str, Path]) -> Path:
    """A root filesystem of a few static binaries: /etc/passwd, /tmp, the CA bundle, FILES."""
    tree = WORK / "stage" / name
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("etc/ssl/certs", "tmp", "var/run", "usr/local/bin"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    (tree / "tmp").chmod(0o1777)
    (tree / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"
    )
    (tree / "etc/group").write_text("root:x:0:\nnonroot:x:65532:\n")
    (tree / "etc/nsswitch.conf").write_text("hosts: files dns\n")
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", tree / "etc/ssl/certs/ca-certificates.crt")
    for dest, src in files.items():
        target = tree / dest.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        target.chmod(0o755)
    return tree


def component_images(ctx: Ctx, bins: dict[str, Path]) -> list[str]:
    """Build the preloaded images; returns their names as kubeadm and the manifests ask for them."""
    pins = ctx.pins
    version = k8s_version(pins)
    path_env = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    names: list[str] = []

    def tiny(ref: str, files: dict[str, Path], changes: list[str]) -> None:
        ctx.docker_import(tiny_rootfs(ref.rsplit("/", 1)[-1].split(":")[0], files), ref, [path_env, *changes])
        names.append(ref)

    for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        tiny(f"registry.k8s.io/{c}:{version}", {f"/usr/local/bin/{c}": bins[c]}, [])
    tiny(f"registry.k8s.io/etcd:{pins['ETCD_IMAGE_TAG']}", {"/usr/local/bin/etcd": bins["etcd"]}, [])
    tiny(
        f"registry.k8s.io/coredns/coredns:v{pins['COREDNS_VERSION']}",
        {"/coredns": bins["coredns"]},
        ['ENTRYPOINT ["/coredns"]'],
    )
    # kubeadm's pause image and containerd's sandbox image (kind's containerd config) are both pause.
    for tag in (pins["PAUSE_VERSION"], pins["SANDBOX_PAUSE_VERSION"]):
        tiny(f"registry.k8s.io/pause:{tag}", {"/pause": bins["pause"]}, ['ENTRYPOINT ["/pause"]', "USER 65535:65535"])
    provisioner = f"{REPO_PREFIX}/local-path-provisioner:{pins['LOCAL_PATH_PROVISIONER_VERSION']}"
    tiny(provisioner, {"/usr/local/bin/local-path-provisioner": bins["local-path-provisioner"]}, [])
    # kube-proxy needs iptables; the local-path helper pod needs a shell: one Debian rootfs for both.
    tools = ctx.copy_tree(ctx.debian_rootfs("k8s-tools", TOOLS_PACKAGES), "k8s-tools")
    shutil.copy2(bins["kube-proxy"], tools / "usr/local/bin/kube-proxy")
    proxy = f"registry.k8s.io/kube-proxy:{version}"
    ctx.docker_import(tools, proxy, [path_env])
    names.append(proxy)
    helper = f"{REPO_PREFIX}/local-path-helper:{pins['LOCAL_PATH_PROVISIONER_VERSION']}"
    run(["docker", "tag", proxy, helper], what="tag local-path-helper")
    names.append(helper)
    return names


REPO_PREFIX = "datapipeline"


def storage_manifest(kind_dir: Path, pins: dict[str, str]) -> str:
    """kind's default storage manifest, from its Go constant, with our provisioner and helper images."""
    src = (kind_dir / "pkg/build/nodeimage/const_storage.go").read_text()
    body = re.search(r"const defaultStorageManifest = `(.*?\n)`\n", src, re.S)
    if not body:
        raise BuildError("defaultStorageManifest not found in kind's const_storage.go (kind changed?)")
    version = pins["LOCAL_PATH_PROVISIONER_VERSION"]
    text = re.sub(
        r"` \+ storageProvisionerImage \+ `", f"{REPO_PREFIX}/local-path-provisioner:{version}", body.group(1)
    )
    text = re.sub(r"` \+ storageHelperImage \+ `", f"{REPO_PREFIX}/local-path-helper:{version}", text)
    if "` +" in text:
        raise BuildError("unexpected constant in kind's storage manifest")
    return text


def preload(tree: Path, refs: list[str]) -> None:
    """Import REFS into the node rootfs's containerd store (namespace k8s.io), unpacked for the
    overlayfs snapshotter, by a private containerd on the host that lives only for this."""
    need = shutil.which("containerd") and shutil.which("ctr")
    if not need:
        raise BuildError("containerd and ctr are needed to preload the node image (apt-get install containerd)")
    with tempfile.TemporaryDirectory(prefix="dp-node-") as tmp:
        t = Path(tmp)
        sock = t / "containerd.sock"
        (t / "config.toml").write_text(
            'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            f'root = "{tree}/var/lib/containerd"\nstate = "{t}/state"\n[grpc]\n  address = "{sock}"\n'
        )
        images_tar = t / "images.tar"
        run(["docker", "save", "-o", str(images_tar), *refs], what="docker save node images")
        daemon = subprocess.Popen(
            ["containerd", "--config", str(t / "config.toml")],
            stdout=(t / "containerd.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(100):
                if sock.exists():
                    break
                subprocess.run(["sleep", "0.1"], check=False)
            run(
                [
                    "ctr",
                    "--address",
                    str(sock),
                    "-n",
                    "k8s.io",
                    "images",
                    "import",
                    "--snapshotter",
                    "overlayfs",
                    str(images_tar),
                ],
                what="ctr import node images",
            )
            for ref in refs:
                full = (
                    ref
                    if ref.count("/") >= 2 or ref.startswith(("registry.k8s.io", "docker.io"))
                    else f"docker.io/{ref}"
                )
                run(
                    [
                        "ctr",
                        "--address",
                        str(sock),
                        "-n",
                        "k8s.io",
                        "images",
                        "label",
                        full,
                        "io.cri-containerd.pinned=pinned",
                    ],
                    what="ctr pin image",
                )
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)


def build(ctx: Ctx, ref: str) -> None:
    pins = ctx.pins
    version = k8s_version(pins)
    kind_dir = ctx.go_module_dir("sigs.k8s.io/kind", pins["KIND_VERSION"])
    bins = build_binaries(ctx)
    preloaded = component_images(ctx, bins)

    log("  node rootfs")
    tree = ctx.copy_tree(ctx.debian_rootfs("kind-node", NODE_PACKAGES), "kind-node")
    files = kind_dir / "images/base/files"
    # kind's base image files (same modes as its Dockerfile's COPY --chmod lines).
    for sub, mode in (("usr/local/bin", 0o755), ("kind", 0o644), ("etc", 0o644)):
        for src in (files / sub).rglob("*"):
            if src.is_file():
                dest = tree / src.relative_to(files)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
                dest.chmod(0o755 if sub == "usr/local/bin" or "/bin/" in str(src) else mode)
    for d in ("kind", "kind/bin", "kind/manifests", "etc/kubernetes/manifests", "opt/cni"):
        (tree / d).mkdir(parents=True, exist_ok=True)
        (tree / d).chmod(0o755)
    for name in ("kubeadm", "kubelet", "kubectl"):
        shutil.copy2(bins[name], tree / "usr/bin" / name)
    shutil.copy2(bins["crictl"], tree / "usr/local/bin/crictl")
    # kind's units run /usr/local/bin/containerd; Debian installs it in /usr/bin. CNI plugins: /opt/cni/bin.
    (tree / "usr/local/bin/containerd").symlink_to("/usr/bin/containerd")
    (tree / "opt/cni/bin").symlink_to("/usr/lib/cni")
    (tree / "kind/version").write_text(version + "\n")
    (tree / "kind/manifests/default-storage.yaml").write_text(storage_manifest(kind_dir, pins))
    shutil.copyfile(HERE / "files/default-cni.yaml", tree / "kind/manifests/default-cni.yaml")
    (tree / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
    (tree / "etc/cni/net.d/10-datapipeline-ptp.conflist").write_text(
        (HERE / "files/10-ptp.conflist").read_text().replace("@POD_SUBNET@", POD_SUBNET)
    )
    shutil.copyfile(HERE / "files/dp-entrypoint", tree / "usr/local/bin/dp-entrypoint")
    (tree / "usr/local/bin/dp-entrypoint").chmod(0o755)
    ctx.chroot(
        tree,
        """
        ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \\
          | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
        find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
        rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
              /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
              /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
        echo "ReadKMsg=no" >> /etc/systemd/journald.conf
        ln -sf /usr/lib/systemd/systemd /sbin/init
        systemctl enable kubelet.service containerd.service undo-mount-hacks.service
        systemctl mask systemd-binfmt.service
        """,
        what="configure node rootfs",
    )
    preload(tree, preloaded)
    rootfs_ref = ref.replace(":", ":rootfs-", 1)
    ctx.docker_import(tree, rootfs_ref, ["ENV container=docker"])
    shutil.rmtree(tree, ignore_errors=True)
    # `docker import --change` takes no STOPSIGNAL; systemd stops on SIGRTMIN+3 (kind's base image).
    context = WORK / "stage" / "kind-node-config"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text(
        f"FROM {rootfs_ref}\nSTOPSIGNAL SIGRTMIN+3\n"
        'ENTRYPOINT ["/usr/local/bin/dp-entrypoint", "/usr/local/bin/entrypoint", "/sbin/init"]\n'
    )
    ctx.docker_build(context / "Dockerfile", context, ref)
    run(["docker", "rmi", rootfs_ref], what="docker rmi node rootfs tag")


RECIPES = [
    Recipe(
        name="kind-node",
        version=k8s_version,
        build=build,
        inputs=["images/kind-node/files"],
        pins=[
            "KUBERNETES_VERSION",
            "KIND_VERSION",
            "ETCD_VERSION",
            "ETCD_IMAGE_TAG",
            "COREDNS_VERSION",
            "CRICTL_VERSION",
            "LOCAL_PATH_PROVISIONER_VERSION",
            "PAUSE_VERSION",
            "SANDBOX_PAUSE_VERSION",
        ],
    ),
]
