"""PostgreSQL operand image for CloudNativePG, from Debian packages (source profile).

What CNPG asks of an operand image (docs/src/container_images.md in the 1.28.1 module): initdb,
postgres, pg_ctl, pg_controldata and pg_basebackup on PATH, working locales, and a tag that starts
with the PostgreSQL major (CNPG reads the major from `imageName`'s tag: the tag here is
`<POSTGRES_MAJOR>-<hash>`). No entrypoint: CNPG runs its instance manager, copied into the pod by
the operator image's init container. Pods run as uid/gid 26 (Cluster.spec.postgresUID/GID
defaults), so the `postgres` user is moved to 26. No barman: backups are not configured.

Debian's binaries live in /usr/lib/postgresql/<major>/bin (only wrappers in /usr/bin): PATH puts
that folder first.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "k8s"))
from images import Ctx, Recipe

UID = 26  # CNPG's DefaultPostgresUID/GID (api/v1/cluster_types.go)


def build(ctx: Ctx, ref: str) -> None:
    major = ctx.pins["POSTGRES_MAJOR"]
    tree = ctx.copy_tree(ctx.debian_rootfs("postgres", [f"postgresql-{major}", "locales"]), "postgres")
    ctx.chroot(tree, f"""
        # postgresql-common's postinst creates a 'main' cluster (and a snakeoil TLS key): not wanted
        pg_dropcluster {major} main 2>/dev/null || true
        rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem
        # the Debian-assigned system uid of postgres -> {UID}, with every file it owns
        old_uid=$(id -u postgres) old_gid=$(id -g postgres)
        # gid {UID} is Debian's `tape` group: no tape devices in a container
        if getent group {UID} >/dev/null; then groupdel "$(getent group {UID} | cut -d: -f1)"; fi
        groupmod -g {UID} postgres
        usermod -u {UID} -g {UID} postgres
        find / -xdev -user "$old_uid" -exec chown -h postgres {{}} +
        find / -xdev -group "$old_gid" -exec chgrp -h postgres {{}} +
        sed -i 's/^# *\\(en_US.UTF-8 UTF-8\\)/\\1/' /etc/locale.gen
        locale-gen
    """, what="postgres setup")
    path = f"/usr/lib/postgresql/{major}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    ctx.docker_import(tree, ref, [f"ENV PATH={path}", "ENV LANG=en_US.utf8", f"ENV PG_MAJOR={major}",
                                  f"USER {UID}"])


RECIPES = [
    Recipe(
        name="postgres",
        version=lambda pins: pins["POSTGRES_MAJOR"],
        build=build,
        pins=["POSTGRES_MAJOR"],
    ),
]
