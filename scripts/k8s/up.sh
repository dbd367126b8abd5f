#!/usr/bin/env bash
# Create the kind cluster and install the whole platform; safe to run again (`task k8s:up`).
#   SKIP_IMAGES=1 scripts/k8s/up.sh   # reuse the images already loaded into kind
# Order: cluster -> images -> namespaces -> operators (CRDs established, webhooks ready) ->
# the project chart (Kafka, MinIO, PostgreSQL ready) -> Airflow.
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
need docker kind helm kubectl

log "kind cluster $CLUSTER (node image $KIND_NODE_IMAGE)"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "    exists"
else
  kind create cluster --name "$CLUSTER" --config "$ROOT/k8s/kind-cluster.yaml" --image "$KIND_NODE_IMAGE" --wait 180s
fi

if [[ "${SKIP_IMAGES:-}" != "1" ]]; then
  log "images (docker build + kind load)"
  "$ROOT/scripts/k8s/images.sh"
fi

log "namespaces"
kc apply -f "$ROOT/k8s/namespaces.yaml"

log "helm repositories"
helm repo add --force-update strimzi https://strimzi.io/charts/ >/dev/null
helm repo add --force-update minio-operator https://operator.min.io >/dev/null
helm repo add --force-update cnpg https://cloudnative-pg.github.io/charts >/dev/null
helm repo add --force-update spark-operator https://kubeflow.github.io/spark-operator >/dev/null
helm repo add --force-update apache-airflow https://airflow.apache.org >/dev/null
helm repo update >/dev/null

install() {  # install RELEASE CHART VERSION NAMESPACE VALUES [extra helm args]
  local release="$1" chart="$2" version="$3" ns="$4" values="$5"; shift 5
  log "$release ($chart $version) in $ns"
  helm upgrade --install "$release" "$chart" --version "$version" --namespace "$ns" \
    --kube-context "$CONTEXT" --values "$ROOT/charts/values/$values" --wait --timeout 10m "$@"
}

install strimzi strimzi/strimzi-kafka-operator "$STRIMZI_VERSION" strimzi strimzi.yaml
install minio-operator minio-operator/operator "$MINIO_OPERATOR_VERSION" minio-operator minio-operator.yaml
install cnpg cnpg/cloudnative-pg "$CNPG_CHART_VERSION" cnpg-system cloudnative-pg.yaml
install spark-operator spark-operator/spark-operator "$SPARK_OPERATOR_VERSION" spark-operator spark-operator.yaml

log "CRDs established"
kc wait --for condition=established --timeout=120s \
  crd/kafkas.kafka.strimzi.io crd/kafkatopics.kafka.strimzi.io crd/tenants.minio.min.io \
  crd/clusters.postgresql.cnpg.io crd/sparkapplications.sparkoperator.k8s.io

log "spark-operator webhook (CA bundle injected, service endpoints ready)"
webhook_ready() {
  local ca
  ca="$(kc get mutatingwebhookconfiguration spark-operator-webhook -o jsonpath='{.webhooks[0].clientConfig.caBundle}')"
  [[ -n "$ca" ]] || return 1
  [[ -n "$(kc -n spark-operator get endpointslices -l kubernetes.io/service-name=spark-operator-webhook-svc \
      -o jsonpath='{.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}')" ]]
}
wait_until "spark-operator webhook" 300 spark-operator "app.kubernetes.io/name=spark-operator" webhook_ready

log "datapipeline chart"
helm upgrade --install datapipeline "$ROOT/charts/datapipeline" --namespace "$NS" --kube-context "$CONTEXT" \
  --set "images.spark.tag=dev" --set "images.airflow.tag=dev" --wait --timeout 10m
# helm --wait does not understand custom resources: wait for what the operators report.
wait_until "Kafka (Strimzi)" 900 "$NS" "strimzi.io/cluster=kafka" cr_ready kafka kafka Ready
wait_until "KafkaTopic orders" 300 "$NS" "strimzi.io/kind=Kafka" cr_ready kafkatopic orders Ready
wait_until "PostgreSQL (CloudNativePG)" 600 "$NS" "cnpg.io/cluster=airflow-db" \
  cr_ready clusters.postgresql.cnpg.io airflow-db Ready
minio_ready() { [[ "$(kc -n "$NS" get tenant minio -o jsonpath='{.status.healthStatus}')" == "green" ]]; }
wait_until "MinIO tenant" 600 "$NS" "v1.min.io/tenant=minio" minio_ready

airflow_version="${AIRFLOW_BASE_IMAGE##*:}"   # apache/airflow:3.3.2-python3.11 -> 3.3.2
airflow_version="${airflow_version%%-*}"
log "Airflow $airflow_version (chart $AIRFLOW_CHART_VERSION)"
helm upgrade --install airflow apache-airflow/airflow --version "$AIRFLOW_CHART_VERSION" --namespace "$NS" \
  --kube-context "$CONTEXT" --values "$ROOT/charts/values/airflow.yaml" \
  --set images.airflow.repository=datapipeline/airflow --set images.airflow.tag=dev \
  --set airflowVersion="$airflow_version" --set defaultAirflowTag="$airflow_version" \
  --wait --timeout 15m || { diagnose "$NS" "release=airflow"; die "Airflow did not become ready"; }

# The lake-writer pool: one writing Spark driver per Delta table on S3. Its name is the release's
# own DP_LAKE_WRITER_POOL (charts/values/airflow.yaml), its slots and description those of the
# local platform (datapipeline.local.airflow); `airflow pools set` creates or updates, so re-runs are fine.
log "Airflow pool for the lake writers"
# shellcheck disable=SC2016 # $DP_LAKE_WRITER_POOL expands in the scheduler container, not here
kc -n "$NS" exec deploy/airflow-scheduler -c scheduler -- \
  bash -c 'airflow pools set "$DP_LAKE_WRITER_POOL" 1 "one writing Spark driver per Delta table on S3"' \
  || { diagnose "$NS" "component=scheduler"; die "could not create the Airflow pool (is the scheduler running?)"; }

"$ROOT/scripts/k8s/status.sh"
echo
echo "Open the UIs with: task k8s:ui"
