# shellcheck shell=bash
# Kafka, S3, readiness and Airflow steps of scripts/k8s/up.sh, per image profile (sourced after lib.sh).

# upstream profile: Strimzi and the MinIO operator from their Helm repositories.
install_upstream_kafka_s3_operators() {
  helm repo add --force-update strimzi https://strimzi.io/charts/ >/dev/null
  helm repo add --force-update minio-operator https://operator.min.io >/dev/null
  helm repo update strimzi minio-operator >/dev/null
  helm upgrade --install strimzi strimzi/strimzi-kafka-operator --version "$STRIMZI_VERSION" --namespace strimzi \
    --kube-context "$CONTEXT" --values "$ROOT/charts/values/strimzi.yaml" --wait --timeout 10m
  helm upgrade --install minio-operator minio-operator/operator --version "$MINIO_OPERATOR_VERSION" \
    --namespace minio-operator --kube-context "$CONTEXT" --values "$ROOT/charts/values/minio-operator.yaml" \
    --wait --timeout 10m
  kc wait --for condition=established --timeout=120s crd/kafkas.kafka.strimzi.io crd/kafkatopics.kafka.strimzi.io \
    crd/tenants.minio.min.io >/dev/null
}

# source profile: Kafka + ZooKeeper and MinIO as plain StatefulSets (charts/standins), which the
# datapipeline chart then uses in its `external` modes (charts/values/datapipeline-external.yaml).
install_standins() {
  local kafka_image minio_image
  kafka_image="$(image_ref kafka)" minio_image="$(image_ref minio)"
  helm upgrade --install standins "$ROOT/charts/standins" --namespace "$NS" --kube-context "$CONTEXT" \
    --set "images.kafka.repository=${kafka_image%:*}" --set "images.kafka.tag=${kafka_image##*:}" \
    --set "images.minio.repository=${minio_image%:*}" --set "images.minio.tag=${minio_image##*:}" \
    --wait --timeout 10m \
    || { diagnose "$NS" "app.kubernetes.io/instance=standins"; die "the Kafka/MinIO stand-ins did not become ready"; }
}

# The PostgreSQL operand image of the profile, as helm --set arguments of the datapipeline chart.
postgres_image_args() {
  [[ "$PROFILE" == source ]] || return 0
  local ref
  ref="$(image_ref postgres)"
  echo "--set images.postgres.repository=${ref%:*} --set images.postgres.tag=${ref##*:}"
}

# helm --wait does not understand custom resources: wait for what the operators report.
wait_platform_ready() {
  if [[ "$PROFILE" == upstream ]]; then
    wait_until "Kafka (Strimzi)" 900 "$NS" "strimzi.io/cluster=kafka" cr_ready kafka kafka Ready
    wait_until "KafkaTopic orders.events" 300 "$NS" "strimzi.io/kind=Kafka" cr_ready kafkatopic orders.events Ready
    # shellcheck disable=SC2317 # called through wait_until
    minio_ready() { [[ "$(kc -n "$NS" get tenant minio -o jsonpath='{.status.healthStatus}')" == "green" ]]; }
    wait_until "MinIO tenant" 600 "$NS" "v1.min.io/tenant=minio" minio_ready
  fi
  wait_until "PostgreSQL (CloudNativePG)" 600 "$NS" "cnpg.io/cluster=airflow-db" \
    cr_ready clusters.postgresql.cnpg.io airflow-db Ready
}

# upstream profile only: the official Airflow chart (part 2 of the Kubernetes work runs Airflow here).
install_airflow() {
  local airflow_version
  airflow_version="${AIRFLOW_BASE_IMAGE##*:}"   # apache/airflow:3.3.2-python3.11 -> 3.3.2
  airflow_version="${airflow_version%%-*}"
  helm repo add --force-update apache-airflow https://airflow.apache.org >/dev/null
  helm repo update apache-airflow >/dev/null
  local airflow_image
  airflow_image="$(image_ref airflow)"
  # No --wait: the chart's migration Job is a post-install hook, and every Airflow pod waits for it,
  # so `--wait` would deadlock (apache/airflow #11979, #32003). Wait for the rollouts instead.
  helm upgrade --install airflow apache-airflow/airflow --version "$AIRFLOW_CHART_VERSION" --namespace "$NS" \
    --kube-context "$CONTEXT" --values "$ROOT/charts/values/airflow.yaml" \
    --set "images.airflow.repository=${airflow_image%:*}" --set "images.airflow.tag=${airflow_image##*:}" \
    --set airflowVersion="$airflow_version" --set defaultAirflowTag="$airflow_version" --timeout 15m
  kc -n "$NS" rollout status deploy/airflow-scheduler --timeout 15m \
    || { diagnose "$NS" "release=airflow"; die "Airflow did not become ready"; }
  # The lake-writer pool: one writing Spark driver per Delta table on S3 (datapipeline.local.airflow).
  # shellcheck disable=SC2016 # $DP_LAKE_WRITER_POOL expands in the scheduler container
  kc -n "$NS" exec deploy/airflow-scheduler -c scheduler -- \
    bash -c 'airflow pools set "$DP_LAKE_WRITER_POOL" 1 "one writing Spark driver per Delta table on S3"' \
    || die "could not create the Airflow pool (is the scheduler running?)"
}
