#!/usr/bin/env bash
# Port-forwards with their logins (`task k8s:ui`): the MinIO console, the Spark UI of a running
# driver, and Airflow and the Kafka UI where they are installed. Ctrl-C stops all forwards.
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl

secret() { kc -n "$NS" get secret "$1" -o jsonpath="{.data.$2}" | base64 -d; }
exists() { kc -n "$1" get "$2" >/dev/null 2>&1; }
pids=()
forward() {  # NAMESPACE TARGET LOCAL:REMOTE
  kc -n "$1" port-forward --address 127.0.0.1 "$2" "$3" >/dev/null 2>&1 &
  pids+=("$!")
}
trap 'kill "${pids[@]}" 2>/dev/null' EXIT INT TERM

if exists "$NS" svc/minio-console; then   # MinIO operator tenant
  forward "$NS" svc/minio-console 9090:9090
  forward "$NS" svc/minio 9000:80
  minio_secret=minio-credentials
else                                        # charts/standins
  forward "$NS" svc/minio 9090:9001
  forward "$NS" svc/minio 9000:9000
  minio_secret=minio-credentials
fi
echo "MinIO console  http://127.0.0.1:9090  user $(secret "$minio_secret" accessKey) / $(secret "$minio_secret" secretKey)"
echo "MinIO S3 API   http://127.0.0.1:9000"

driver="$(kc -n "$SPARK_NS" get pods -l spark-role=driver --field-selector=status.phase=Running \
  -o jsonpath='{.items[0].metadata.name}' 2>/dev/null || true)"
if [[ -n "$driver" ]]; then
  forward "$SPARK_NS" "pod/$driver" 4040:4040
  echo "Spark UI       http://127.0.0.1:4040  (driver $driver)"
else
  echo "Spark UI       no running driver (kubectl apply -f k8s/spark/ingest.yaml, then run task k8s:ui again)"
fi
if exists "$NS" svc/airflow-api-server; then
  forward "$NS" svc/airflow-api-server 8080:8080
  echo "Airflow        http://127.0.0.1:8080  (simple auth manager; see charts/values/airflow.yaml)"
fi
if exists "$NS" svc/kafka-ui; then
  forward "$NS" svc/kafka-ui 8081:8080
  echo "Kafka UI       http://127.0.0.1:8081  user admin / $(secret kafka-ui-login SPRING_SECURITY_USER_PASSWORD)"
fi
echo "Kafka          127.0.0.1:31092 (no port-forward needed: kind maps the NodePort)"
echo
echo "Ctrl-C stops the port-forwards."
wait
