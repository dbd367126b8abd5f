#!/usr/bin/env bash
# Remove everything: the kind cluster holds all of it (volumes included). Built images stay cached
# (docker images datapipeline/*); `docker image prune` or `docker rmi` removes them.
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
need kind
ensure_docker
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind_ delete cluster --name "$CLUSTER"
else
  echo "no kind cluster named $CLUSTER"
fi
