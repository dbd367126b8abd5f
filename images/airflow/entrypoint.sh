#!/bin/bash
# Entrypoint of the airflow image (source profile): the part of apache/airflow's /entrypoint that
# the chart, the KubernetesExecutor's worker pods and `docker run` use, on the same arguments:
#   (none)                  airflow --help
#   bash ARGS | python ARGS  run them (the image's venv is first on PATH)
#   airflow ARGS            airflow ARGS
#   SUBCOMMAND ARGS         airflow SUBCOMMAND ARGS (scheduler, api-server, dag-processor, version ...)
#   /path/to/program ARGS   run it (an absolute path: probes, init containers)
# Environment (names as in apache/airflow):
#   CONNECTION_CHECK_MAX_COUNT  > 0: wait for the metadata database (`airflow db check`) that many
#                               tries before the command (default 0 here: the chart's init
#                               containers wait instead); CONNECTION_CHECK_SLEEP_TIME seconds apart (3)
#   _AIRFLOW_DB_MIGRATE=true    run `airflow db migrate` first
set -euo pipefail

umask 0002

if [[ "${CONNECTION_CHECK_MAX_COUNT:-0}" -gt 0 && "${1:-}" != version ]]; then
  tries=0
  until airflow db check >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [[ $tries -ge $CONNECTION_CHECK_MAX_COUNT ]]; then
      echo "entrypoint: the metadata database is not reachable after $tries tries (airflow db check):" >&2
      airflow db check >&2 || true
      exit 1
    fi
    sleep "${CONNECTION_CHECK_SLEEP_TIME:-3}"
  done
fi

if [[ "${_AIRFLOW_DB_MIGRATE:-false}" == true ]]; then
  airflow db migrate
fi

case "${1:-}" in
  "")
    exec airflow --help
    ;;
  bash | python)
    cmd="$1"
    shift
    exec "$cmd" "$@"
    ;;
  airflow)
    shift
    exec airflow "$@"
    ;;
  /*)
    exec "$@"
    ;;
  *)
    exec airflow "$@"
    ;;
esac
