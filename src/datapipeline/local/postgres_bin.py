"""Locate the PostgreSQL server binaries (standard library only: the bootstrap uses it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

DEBIAN_ROOT = Path("/usr/lib/postgresql")


def find_postgres_bindir() -> Path | None:
    """The bin dir holding ``postgres`` and ``initdb``: ``$DP_POSTGRES_BINDIR``, the newest
    Debian ``/usr/lib/postgresql/<major>/bin``, or the one on PATH; None when absent."""
    override = os.environ.get("DP_POSTGRES_BINDIR")
    candidates = [Path(override)] if override else []
    if DEBIAN_ROOT.is_dir():
        majors = sorted((p for p in DEBIAN_ROOT.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)
        candidates += [p / "bin" for p in majors]
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if (bindir / "postgres").is_file() and (bindir / "initdb").is_file():
            return bindir
    return None
