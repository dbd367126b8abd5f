#!/usr/bin/env bash
# Logs of one component (`task k8s:logs -- kafka`), following; no argument lists the components.
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl

# The stand-ins (source profile) and the operator-made pods (upstream profile) of the same component.
if [[ "$PROFILE" == source ]]; then
  kafka="$NS app.kubernetes.io/component=kafka"
  zookeeper="$NS app.kubernetes.io/component=zookeeper"
  minio="$NS app.kubernetes.io/component=minio"
else
  kafka="$NS strimzi.io/name=kafka-kafka"
  zookeeper="$NS strimzi.io/name=kafka-zookeeper"
  minio="$NS v1.min.io/tenant=minio"
fi
declare -A SELECTOR=(
  [kafka]="$kafka"
  [zookeeper]="$zookeeper"
  [topic-operator]="$NS strimzi.io/name=kafka-entity-operator"
  [minio]="$minio"
  [cnpg-operator]="cnpg-system app.kubernetes.io/name=cloudnative-pg"
  [postgres]="$NS cnpg.io/cluster=airflow-db"
  [kafka-ui]="$NS app.kubernetes.io/component=kafka-ui"
  [airflow-scheduler]="$NS component=scheduler"
  [airflow-api-server]="$NS component=api-server"
  [airflow-dag-processor]="$NS component=dag-processor"
  [spark-driver]="$SPARK_NS spark-role=driver"
  [spark-operator]="spark-operator app.kubernetes.io/name=spark-operator"
  [strimzi-operator]="strimzi name=strimzi-cluster-operator"
)
component="${1:-}"
if [[ -z "$component" || -z "${SELECTOR[$component]:-}" ]]; then
  echo "usage: task k8s:logs -- <component>; components: ${!SELECTOR[*]}" >&2
  exit 2
fi
read -r ns selector <<<"${SELECTOR[$component]}"
kc -n "$ns" logs -l "$selector" --all-containers --prefix --tail=200 -f --max-log-requests=10
