#!/usr/bin/env bash
# Port-forwards for Airflow, the MinIO console and the Kafka UI, with their logins (`task k8s:ui`).
# Stops all forwards on Ctrl-C.
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl

secret() { kc -n "$NS" get secret "$1" -o jsonpath="{.data.$2}" | base64 -d; }
pids=()
forward() {  # SERVICE LOCAL:REMOTE
  kc -n "$NS" port-forward "svc/$1" "$2" >/dev/null 2>&1 &
  pids+=("$!")
}
trap 'kill "${pids[@]}" 2>/dev/null' EXIT INT TERM

forward airflow-api-server 8080:8080
forward minio-console 9090:9090
forward minio 9000:80
forward kafka-ui 8081:8080
sleep 2

cat <<TXT
Airflow     http://localhost:8080   (Airflow 3 simple auth manager; see charts/values/airflow.yaml)
MinIO       http://localhost:9090   user $(secret minio-credentials accessKey) / $(secret minio-credentials secretKey)
            S3 API http://localhost:9000
Kafka UI    http://localhost:8081   user admin / $(secret kafka-ui-login SPRING_SECURITY_USER_PASSWORD)
Kafka       localhost:31092 (no port-forward needed: kind maps the NodePort)

Ctrl-C stops the port-forwards.
TXT
wait
