#!/usr/bin/env bash
# Build the Spark and Airflow images with the pins of versions.env and load them into kind.
# shellcheck source=scripts/k8s/lib.sh
source "$(dirname "$0")/lib.sh"
need docker kind

docker build -f "$ROOT/images/spark/Dockerfile" -t datapipeline/spark:dev \
  --build-arg MAVEN_IMAGE="$MAVEN_IMAGE" --build-arg SPARK_BASE_IMAGE="$SPARK_BASE_IMAGE" \
  --build-arg SPARK_VERSION="$SPARK_VERSION" --build-arg SCALA_BINARY_VERSION="$SCALA_BINARY_VERSION" \
  --build-arg DELTA_VERSION="$DELTA_VERSION" --build-arg HADOOP_VERSION="$HADOOP_VERSION" \
  --build-arg AWS_SDK_BUNDLE_VERSION="$AWS_SDK_BUNDLE_VERSION" "$ROOT"
docker build -f "$ROOT/images/airflow/Dockerfile" -t datapipeline/airflow:dev \
  --build-arg AIRFLOW_BASE_IMAGE="$AIRFLOW_BASE_IMAGE" "$ROOT"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind load docker-image --name "$CLUSTER" datapipeline/spark:dev datapipeline/airflow:dev
fi
