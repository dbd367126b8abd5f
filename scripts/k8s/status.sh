#!/usr/bin/env bash
# One table: component, ready, endpoint (`task k8s:status`). Components that the image profile does
# not install show "-" (e.g. Strimzi in the source profile, the stand-ins in the upstream one).
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl

ready_pods() {  # NAMESPACE SELECTOR -> "2/2", or "-" when there is no such pod
  local total ready
  total=$(kc -n "$1" get pods -l "$2" --no-headers 2>/dev/null | grep -vc Completed || true)
  [[ "$total" == 0 ]] && { echo "-"; return; }
  ready=$(kc -n "$1" get pods -l "$2" -o jsonpath='{range .items[*]}{.status.containerStatuses[*].ready}{"\n"}{end}' 2>/dev/null \
    | grep -c -v false || true)
  echo "${ready}/${total}"
}
cond() { local s; s=$(kc -n "$NS" get "$1" "$2" -o jsonpath="{.status.conditions[?(@.type==\"$3\")].status}" 2>/dev/null); echo "${s:--}"; }
sts() { local s; s=$(kc -n "$NS" get statefulset "$1" -o jsonpath='{.status.readyReplicas}/{.spec.replicas}' 2>/dev/null); echo "${s:--}"; }

printf '%-22s %-8s %s\n' COMPONENT READY ENDPOINT
row() { printf '%-22s %-8s %s\n' "$1" "$2" "$3"; }
row cnpg-operator "$(ready_pods cnpg-system app.kubernetes.io/name=cloudnative-pg)" "-"
row spark-operator "$(ready_pods spark-operator app.kubernetes.io/name=spark-operator)" "-"
row postgres "$(cond clusters.postgresql.cnpg.io airflow-db Ready)" "airflow-db-rw.$NS:5432 (Airflow metadata)"
if [[ "$PROFILE" == upstream ]]; then
  row strimzi-operator "$(ready_pods strimzi name=strimzi-cluster-operator)" "-"
  row minio-operator "$(ready_pods minio-operator app.kubernetes.io/name=operator)" "-"
  row kafka "$(cond kafka kafka Ready)" "kafka-kafka-bootstrap.$NS:9092 | host 127.0.0.1:31092"
  row minio "$(kc -n "$NS" get tenant minio -o jsonpath='{.status.healthStatus}' 2>/dev/null || echo -)" "http://minio.$NS (S3) | console: task k8s:ui"
  row kafka-ui "$(ready_pods "$NS" app.kubernetes.io/component=kafka-ui)" "task k8s:ui -> http://localhost:8081"
  row airflow "$(ready_pods "$NS" release=airflow)" "task k8s:ui -> http://localhost:8080"
else
  row zookeeper "$(sts zookeeper)" "zookeeper.$NS:2181 (charts/standins)"
  row kafka "$(sts kafka)" "kafka.$NS:9092 | host 127.0.0.1:31092 (charts/standins)"
  row minio "$(sts minio)" "http://minio.$NS:9000 (S3) | console: task k8s:ui (charts/standins)"
  row airflow "-" "part 2: not installed in the source profile"
fi
row spark-jobs "$(kc -n "$SPARK_NS" get sparkapplications --no-headers 2>/dev/null | wc -l | tr -d ' ') apps" \
  "kubectl -n $SPARK_NS get sparkapplications"
