#!/usr/bin/env bash
# `make run`: Kafka, Redis and Prometheus (started here unless already up), a worker and
# the API, the demo feed. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=deploy/lib/own.sh
source deploy/lib/own.sh
own deploy/stack.sh
own deploy/observe.sh
trap release EXIT
trap 'exit 0' INT TERM

.venv/bin/riskwire topics
.venv/bin/riskwire run
