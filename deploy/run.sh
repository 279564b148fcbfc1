#!/usr/bin/env bash
# `make run`: Kafka, Redis and Prometheus (started here unless already up), a worker and
# the API, the demo feed. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

started_stack=0
bash deploy/stack.sh status >/dev/null 2>&1 || started_stack=1
bash deploy/stack.sh up
started_prometheus=0
bash deploy/observe.sh status >/dev/null 2>&1 || started_prometheus=1
bash deploy/observe.sh up

cleanup() {
  if [ "$started_prometheus" = 1 ]; then
    bash deploy/observe.sh down || true
  fi
  if [ "$started_stack" = 1 ]; then
    echo "stopping Kafka and Redis ..." >&2
    bash deploy/stack.sh down || true
  fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

.venv/bin/riskwire topics
.venv/bin/riskwire run
