#!/usr/bin/env bash
# Install go-task (the `task` command) at the version pinned in versions.env, from PyPI.
# Needs only python3 + pip. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sed -n 's/^TASK_VERSION=//p' versions.env)
if command -v task >/dev/null 2>&1 && task --version 2>/dev/null | grep -q "$want"; then
  echo "task $want already installed: $(command -v task)"
  exit 0
fi
python3 -m pip install --quiet --disable-pip-version-check "go-task-bin==${want}"
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
if ! command -v task >/dev/null 2>&1; then
  bindir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  echo "installed task into ${bindir}, which is not on PATH: export PATH=\"${bindir}:\$PATH\"" >&2
  exit 1
fi
echo "task $(task --version) at $(command -v task)"
