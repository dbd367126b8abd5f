# shellcheck shell=bash
# Shared by scripts/k8s/*.sh: versions from versions.env, logging, waits that explain failures.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC1091
set -a; source "$ROOT/versions.env"; set +a
# Project tools (task bootstrap) first.
export PATH="$ROOT/.local/bin:$PATH"

# Used by the scripts that source this file.
# shellcheck disable=SC2034
CLUSTER="${DP_KIND_CLUSTER:-datapipeline}"
NS="datapipeline"
# shellcheck disable=SC2034
SPARK_NS="spark-jobs"
CONTEXT="kind-$CLUSTER"

log()  { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[33mWARN: %s\033[0m\n' "$*" >&2; }
die()  { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: $(hint "$tool")"
  done
}

hint() {
  case "$1" in
    docker) echo "install Docker (or podman with KIND_EXPERIMENTAL_PROVIDER=podman); kind runs nodes as containers" ;;
    kubectl) echo "install kubectl (e.g. apt-get install kubernetes-client, or the binary from dl.k8s.io)" ;;
    *) echo "run \`task bootstrap\` (installs it into .local/bin)" ;;
  esac
}

kc() { kubectl --context "$CONTEXT" "$@"; }

# Why pods matching a selector are not ready: their state and the last events of each.
diagnose() {
  local ns="$1" selector="$2" pod
  echo "--- pods in $ns ($selector):" >&2
  kc -n "$ns" get pods -l "$selector" -o wide >&2 || true
  for pod in $(kc -n "$ns" get pods -l "$selector" -o jsonpath='{range .items[?(@.status.phase!="Succeeded")]}{.metadata.name}{"\n"}{end}' 2>/dev/null); do
    echo "--- events of pod $pod:" >&2
    kc -n "$ns" get events --field-selector "involvedObject.name=$pod" --sort-by=.lastTimestamp 2>/dev/null | tail -n 8 >&2 || true
  done
  echo "--- latest events in $ns:" >&2
  kc -n "$ns" get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 10 >&2 || true
}

# wait_until DESCRIPTION TIMEOUT_S NAMESPACE POD_SELECTOR COMMAND...: poll COMMAND every 5 s with a
# progress line; on timeout name what is not ready and show why (diagnose), then fail.
wait_until() {
  local desc="$1" timeout="$2" ns="$3" selector="$4"; shift 4
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= timeout )); then
      printf '\n' >&2
      warn "$desc is not ready after ${timeout}s"
      diagnose "$ns" "$selector"
      die "$desc did not become ready (see the pod events above)"
    fi
    printf '\r    waiting for %s ... %ds ' "$desc" $(( SECONDS - start ))
    sleep 5
  done
  printf '\r    %s ready (%ds)%20s\n' "$desc" $(( SECONDS - start )) ""
}

# A condition on a custom resource, e.g. cr_ready kafka kafka Ready
cr_ready() {
  local kind="$1" name="$2" cond="$3"
  [[ "$(kc -n "$NS" get "$kind" "$name" -o jsonpath="{.status.conditions[?(@.type==\"$cond\")].status}")" == "True" ]]
}
