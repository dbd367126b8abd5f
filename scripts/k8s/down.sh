#!/usr/bin/env bash
# Remove everything: the kind cluster holds all of it (volumes included).
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
need kind
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind delete cluster --name "$CLUSTER"
else
  echo "no kind cluster named $CLUSTER"
fi
