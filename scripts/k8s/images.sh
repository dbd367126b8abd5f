#!/usr/bin/env bash
# Build the images of the image profile and load them into the kind cluster if it exists
# (`task k8s:images`): a thin wrapper over scripts/k8s/images.py (recipes: images/*/recipe.py).
#   scripts/k8s/images.sh                          # every image of $DP_IMAGE_PROFILE (default upstream)
#   DP_IMAGE_PROFILE=source scripts/k8s/images.sh spark kafka   # these (and what they are built FROM)
# Images are cached by their inputs: a second run only checks. Loaded into the node: the images
# named, or by default every image of the profile except those that only exist to be built FROM
# or to run the node itself (NOT_LOADED).
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
NOT_LOADED=" debian-jre spark-base kind-node "
ensure_docker

python3 "$ROOT/scripts/k8s/images.py" --profile "$PROFILE" build "$@"

if ! command -v kind >/dev/null 2>&1 || ! kind_ get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "no kind cluster $CLUSTER: images built, not loaded"
  exit 0
fi
wanted=" $* "
refs=()
while IFS='=' read -r name ref; do
  if (( $# > 0 )); then
    [[ "$wanted" == *" $name "* ]] || continue
  elif [[ "$NOT_LOADED" == *" $name "* ]]; then
    continue
  fi
  refs+=("$ref")
done < <(python3 "$ROOT/scripts/k8s/images.py" --profile "$PROFILE" refs)
log "loading ${#refs[@]} image(s) into kind cluster $CLUSTER"
load_images "${refs[@]}"
