"""The bootstrap: a second run is a no-op, and a missing tool is one clear line."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datapipeline import paths

BOOTSTRAP = paths.PROJECT_ROOT / "scripts" / "bootstrap.py"
SYSTEM_PYTHON = os.environ.get("DP_SYSTEM_PYTHON", "python3")


def stamps() -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in (paths.LOCAL_DIR / "stamps").iterdir()}


def test_second_run_is_a_no_op():
    """The suite runs after `task bootstrap`, so this is at least the second run."""
    before = stamps()
    started = time.monotonic()
    result = subprocess.run([SYSTEM_PYTHON, str(BOOTSTRAP)], capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    print(f"bootstrap no-op run took {elapsed:.1f}s")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[bootstrap]")]
    work = [line for line in lines if any(w in line for w in ("building", "resolving", "installing", "create"))]
    assert work == [], f"bootstrap did work on a second run: {work}"
    assert sum("up to date" in line for line in lines) >= 8  # python, 2 jar sets, 5 go tools
    assert stamps() == before


def test_missing_prerequisite_is_one_clear_line(tmp_path: Path):
    # A PATH with java and go but no mvn.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("java", "go"):
        found = subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip()
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        [sys.executable, str(BOOTSTRAP), "--only", "jars"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(bin_dir)},
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "bootstrap: `mvn` not found on PATH: install Maven 3.8+ (Debian: apt-get install maven)"
    ]
    assert "Traceback" not in result.stderr + result.stdout


def load_bootstrap():
    spec = importlib.util.spec_from_file_location("bootstrap_under_test", BOOTSTRAP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_only_a_first_install_needs_the_free_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bootstrap = load_bootstrap()
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(bootstrap.shutil, "disk_usage", lambda _path: usage._replace(free=2 * 2**30))
    monkeypatch.setattr(bootstrap, "STAMPS", tmp_path / "stamps")
    with pytest.raises(bootstrap.PrerequisiteError) as refused:
        bootstrap.check_prerequisites(["python"])
    assert "only 2.0 GiB free" in str(refused.value) and "a first install needs about 6 GiB" in str(refused.value)
    (tmp_path / "stamps").mkdir()
    (tmp_path / "stamps" / "python").write_text("done")
    bootstrap.check_prerequisites(["python"])  # installed before: 2 GiB free is no reason to refuse
