#!/usr/bin/env bash
# Create the kind cluster and install the platform; safe to run again (`task k8s:up`).
#   DP_IMAGE_PROFILE=source task k8s:up   # every image built here from package registries
#   SKIP_IMAGES=1 task k8s:up             # reuse the images already built and loaded
# Order: Docker engine -> images -> cluster -> images into the node -> namespaces -> operators
# (CRDs established, webhooks ready) -> Kafka and S3 -> the datapipeline chart -> (Airflow).
# Each phase prints its duration.
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/k8s/operators.sh
source "$ROOT/scripts/k8s/operators.sh"
# shellcheck source=scripts/k8s/components.sh
source "$ROOT/scripts/k8s/components.sh"
need kind helm kubectl
started=$SECONDS
log "image profile: $PROFILE (DP_IMAGE_PROFILE)"

phase "Docker engine"
ensure_docker
if needs_hostfix; then
  echo "    this host lacks CAP_SYS_RESOURCE: kind runs through scripts/k8s/hostfix/docker"
fi

if [[ "${SKIP_IMAGES:-}" != "1" ]]; then
  phase "images ($PROFILE profile; cached by their inputs)"
  python3 "$ROOT/scripts/k8s/images.py" --profile "$PROFILE" build
fi
freeze_image_refs  # every later step names the images by these refs (lib.sh)

phase "kind cluster $CLUSTER"
node_ref="$(node_image)"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "    exists (node image $(docker inspect -f '{{.Config.Image}}' "$CLUSTER-control-plane" 2>/dev/null))"
else
  echo "    node image $node_ref"
  kind_ create cluster --name "$CLUSTER" --config "$ROOT/k8s/kind-cluster.yaml" --image "$node_ref" --wait 180s
fi
kc get nodes >/dev/null || die "kind cluster $CLUSTER exists but does not answer: task k8s:down, then task k8s:up"

# kubeadm runs two CoreDNS replicas (100m CPU each); on one 2-core node that second 100m is what a
# Spark executor lacks (it stayed Pending), and a second replica on the same node adds no availability.
kc -n kube-system scale deployment coredns --replicas=1 >/dev/null

phase "images into the node"
mapfile -t app_refs < <(grep -v '^kind-node=' <<< "$IMAGE_REFS" | cut -d= -f2)
load_images "${app_refs[@]}"
# k8s/spark/*.yaml (kubectl apply by hand) name the Spark image by its stable tag.
spark_ref="$(image_ref spark)"
docker tag "$spark_ref" datapipeline/spark:dev
# kind compares image IDs, so a rebuilt image under the same :dev tag is loaded again.
kind_ load docker-image --name "$CLUSTER" datapipeline/spark:dev >/dev/null

phase "namespaces"
kc apply -f "$ROOT/k8s/namespaces.yaml" >/dev/null

phase "CloudNativePG operator"
install_cnpg
phase "spark-operator"
install_spark_operator

if [[ "$PROFILE" == upstream ]]; then
  phase "Strimzi and MinIO operators"
  install_upstream_kafka_s3_operators
  chart_values=()
else
  phase "Kafka + ZooKeeper and MinIO (charts/standins: plain StatefulSets, no operators)"
  install_standins
  # The Kafka UI image (ghcr.io/kafbat/kafka-ui) is not buildable from the package registries.
  chart_values=(--values "$ROOT/charts/values/datapipeline-external.yaml" --set kafkaUi.enabled=false)
fi

phase "datapipeline chart"
unstick_release datapipeline "$NS"
spark_image="$(image_ref spark)" airflow_image="$(image_ref airflow)"
read -ra postgres_args <<< "$(postgres_image_args)"
helm upgrade --install datapipeline "$ROOT/charts/datapipeline" --namespace "$NS" --kube-context "$CONTEXT" \
  "${chart_values[@]}" \
  --set "images.spark.repository=${spark_image%:*}" --set "images.spark.tag=${spark_image##*:}" \
  --set "images.airflow.repository=${airflow_image%:*}" --set "images.airflow.tag=${airflow_image##*:}" \
  "${postgres_args[@]}" --wait --timeout 10m \
  || { diagnose "$NS" "app.kubernetes.io/part-of=datapipeline"; die "the datapipeline chart did not become ready"; }
wait_platform_ready

if [[ "$PROFILE" == upstream ]]; then
  phase "Airflow (official chart)"
  install_airflow
else
  echo "    Airflow on the cluster is part 2 (issue 16): the official chart is not reachable from here"
fi

phase "done"
log "platform up in $(( SECONDS - started ))s"
"$ROOT/scripts/k8s/status.sh"
echo
echo "Next: task k8s:e2e (produce, apply k8s/spark/ingest.yaml, reconcile), task k8s:ui for the UIs"
