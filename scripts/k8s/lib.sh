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
# Image profile (scripts/k8s/images.py): `upstream` pulls the upstream images and charts (a laptop,
# the GitHub workflow); `source` builds every image here from package registries (these machines).
PROFILE="${DP_IMAGE_PROFILE:-upstream}"
[[ "$PROFILE" == upstream || "$PROFILE" == source ]] \
  || { echo "DP_IMAGE_PROFILE=$PROFILE: unknown image profile; use upstream or source" >&2; exit 2; }
export DP_IMAGE_PROFILE="$PROFILE"
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY=python3

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

# phase NAME: print how long the previous phase took and start timing NAME (end with `phase done`).
_phase_name="" _phase_start=0
phase() {
  if [[ -n "$_phase_name" ]]; then
    printf '\033[1m<== %s: %ds\033[0m\n' "$_phase_name" $(( SECONDS - _phase_start ))
  fi
  _phase_name="$1" _phase_start=$SECONDS
  [[ "$1" == "done" ]] || log "$1"
}

# The Docker engine: start dockerd when it is installed but not running (a host without systemd,
# such as these CI machines); on a host where someone else manages it, only check it answers.
ensure_docker() {
  if ! command -v dockerd >/dev/null 2>&1 && [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Docker (Debian's docker.io)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; }; then
      die "apt-get install docker.io failed"
    fi
  fi
  need docker
  docker info >/dev/null 2>&1 && return 0
  if ! command -v dockerd >/dev/null 2>&1 || [[ $EUID -ne 0 ]]; then
    die "the Docker engine is not running: start it (e.g. \`sudo systemctl start docker\`)"
  fi
  log "starting dockerd (log: $ROOT/.local/dockerd.log)"
  mkdir -p "$ROOT/.local"
  nohup dockerd >"$ROOT/.local/dockerd.log" 2>&1 &
  local _
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  tail -n 20 "$ROOT/.local/dockerd.log" >&2
  die "dockerd did not answer within 60s (log above)"
}

# Hosts whose capability bounding set lacks CAP_SYS_RESOURCE cannot start privileged containers
# (these CI machines; KIND-HERE-FACTS). Detected from dockerd's own bounding set, so an ordinary
# host never gets the workaround.
needs_hostfix() {
  local pid cap
  pid="$(pgrep -xo dockerd || echo self)"
  cap="$(awk '/^CapBnd:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
  [[ -n "$cap" ]] && (( ((16#$cap) >> 24 & 1) == 0 ))
}

# kind, through the docker wrapper of scripts/k8s/hostfix when this host needs it.
kind_() {
  if needs_hostfix; then
    PATH="$ROOT/scripts/k8s/hostfix:$PATH" kind "$@"
  else
    kind "$@"
  fi
}

# Image refs of the profile (scripts/k8s/images.py refs: NAME=REF lines). Each tag hashes its
# image's inputs (src/ among them), so up.sh works them out once, right after building
# (freeze_image_refs): an edit while it runs must not make a later step name a tag never built.
IMAGE_REFS=""
freeze_image_refs() {
  IMAGE_REFS="$(python3 "$ROOT/scripts/k8s/images.py" --profile "$PROFILE" refs)" \
    || die "could not work out the image refs (scripts/k8s/images.py refs)"
}
# image_ref NAME: the frozen ref, or the current one when nothing froze them (other scripts).
image_ref() {
  if [[ -n "$IMAGE_REFS" ]]; then
    sed -n "s/^$1=//p" <<< "$IMAGE_REFS"
  else
    python3 "$ROOT/scripts/k8s/images.py" --profile "$PROFILE" refs | sed -n "s/^$1=//p"
  fi
}

# The kind node image of the profile: the pinned kindest/node upstream, the one built here otherwise.
node_image() {
  if [[ "$PROFILE" == source ]]; then image_ref kind-node; else echo "$KIND_NODE_IMAGE"; fi
}

# Load images into the kind node unless it already has them (kind load copies every layer).
load_images() {
  local ref node="$CLUSTER-control-plane"
  for ref in "$@"; do
    docker image inspect "$ref" >/dev/null 2>&1 \
      || die "image $ref is not built: its inputs changed after the images phase (an edit under src/ or images/ while \`task k8s:up\` ran?); run \`task k8s:up\` again"
    if docker exec "$node" crictl inspecti "$ref" >/dev/null 2>&1 \
        || docker exec "$node" crictl inspecti "docker.io/$ref" >/dev/null 2>&1; then
      echo "    $ref: in the node"
    else
      echo "    $ref: loading"
      kind_ load docker-image --name "$CLUSTER" "$ref" >/dev/null
    fi
  done
}

# A release left pending by an interrupted helm (Ctrl-C during `task k8s:up`) blocks every later
# upgrade ("another operation is in progress"): roll it back, or uninstall a first install.
unstick_release() {
  local release="$1" ns="$2" status
  status="$(helm status "$release" -n "$ns" --kube-context "$CONTEXT" -o json 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["status"])' 2>/dev/null || true)"
  case "$status" in
    pending-install) warn "release $release was interrupted during install: uninstalling it first"
                     helm uninstall "$release" -n "$ns" --kube-context "$CONTEXT" --wait >/dev/null ;;
    pending-upgrade|pending-rollback) warn "release $release was interrupted ($status): rolling back first"
                     helm rollback "$release" -n "$ns" --kube-context "$CONTEXT" --wait >/dev/null ;;
  esac
}
