#!/usr/bin/env bash
# riskwire benchmark: starts (or reuses) the local Kafka and Redis, then runs
# `riskwire bench` with any options given (--events, --rate, --latency-seconds,
# --workers).
# The last line printed is the result; build/bench.json holds the summary.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/stack.sh up
exec .venv/bin/riskwire bench "$@"
