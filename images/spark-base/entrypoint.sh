#!/bin/bash
# Entrypoint of the spark-base image: the contract of Spark-on-Kubernetes containers, as Spark's own
# resource-managers/kubernetes/docker/src/main/dockerfiles/spark/entrypoint.sh defines it.
#   driver ARGS...  spark-submit --deploy-mode client ARGS (what the driver pod of a cluster-mode
#                   submission runs; SPARK_DRIVER_BIND_ADDRESS is the pod IP)
#   executor        KubernetesExecutorBackend, configured by the SPARK_* variables the driver sets
#                   on executor pods (SPARK_DRIVER_URL, SPARK_EXECUTOR_ID, ...)
#   anything else   run as given (spark-submit --version, bash, python3 ...)
# Driver and executor run under tini. SPARK_JAVA_OPT_<n> (executor JVM options, in order of n),
# SPARK_EXTRA_CLASSPATH, SPARK_CONF_DIR, HADOOP_CONF_DIR, PYSPARK_PYTHON and PYSPARK_DRIVER_PYTHON
# are honoured as there; a uid without a passwd entry gets one through nss_wrapper.
set -euo pipefail

: "${SPARK_HOME:=/opt/spark}"
: "${JAVA_HOME:=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"

# A passwd entry for the container uid if it has none (OpenShift-style random uids): Hadoop's
# UserGroupInformation needs a user name.
if ! getent passwd "$(id -u)" >/dev/null 2>&1; then
  for wrapper in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
    if [[ -s "$wrapper" ]]; then
      NSS_WRAPPER_PASSWD="$(mktemp)" NSS_WRAPPER_GROUP="$(mktemp)"
      printf 'spark:x:%s:%s:%s:%s:/bin/false\n' "$(id -u)" "$(id -g)" "${SPARK_USER_NAME:-anonymous uid}" \
        "$SPARK_HOME" >"$NSS_WRAPPER_PASSWD"
      printf 'spark:x:%s:\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
      export LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
      break
    fi
  done
fi

classpath="${SPARK_CLASSPATH:-}:$SPARK_HOME/jars/*"
if [[ -n "${SPARK_EXTRA_CLASSPATH:-}" ]]; then
  classpath="$classpath:$SPARK_EXTRA_CLASSPATH"
fi
if [[ -n "${HADOOP_CONF_DIR:-}" ]]; then
  classpath="$HADOOP_CONF_DIR:$classpath"
fi
classpath="${SPARK_CONF_DIR:-$SPARK_HOME/conf}:$classpath"
# SPARK-43540: the working directory is on the executor classpath.
classpath="$classpath:$PWD"

if [[ -n "${PYSPARK_PYTHON+x}" ]]; then export PYSPARK_PYTHON; fi
if [[ -n "${PYSPARK_DRIVER_PYTHON+x}" ]]; then export PYSPARK_DRIVER_PYTHON; fi

case "${1:-}" in
  driver)
    shift
    exec /usr/bin/tini -s -- "$SPARK_HOME/bin/spark-submit" \
      --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS:?SPARK_DRIVER_BIND_ADDRESS is not set}" \
      --deploy-mode client "$@"
    ;;
  executor)
    shift
    java_opts=()
    while IFS= read -r opt; do
      java_opts+=("$opt")
    done < <(env | grep '^SPARK_JAVA_OPT_[0-9]*=' | sort -t_ -k4 -n | sed 's/^[^=]*=//')
    exec /usr/bin/tini -s -- "$JAVA_HOME/bin/java" "${java_opts[@]}" \
      -Xms"${SPARK_EXECUTOR_MEMORY:?}" -Xmx"$SPARK_EXECUTOR_MEMORY" \
      -cp "$classpath:${SPARK_DIST_CLASSPATH:-}" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "${SPARK_DRIVER_URL:?}" \
      --executor-id "${SPARK_EXECUTOR_ID:?}" \
      --cores "${SPARK_EXECUTOR_CORES:?}" \
      --app-id "${SPARK_APPLICATION_ID:?}" \
      --hostname "${SPARK_EXECUTOR_POD_IP:?}" \
      --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" \
      --podName "${SPARK_EXECUTOR_POD_NAME:-$HOSTNAME}"
    ;;
  "")
    echo "usage: driver ARGS... | executor | COMMAND ARGS..." >&2
    exit 64
    ;;
  *)
    exec "$@"
    ;;
esac
