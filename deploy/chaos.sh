#!/usr/bin/env bash
# `make chaos`: the fault suite at full scale (tests/integration/chaos): a simulated feed
# of at least 100,000 events through two workers, the API and a three-node Kafka, with
# 10 worker kills, a Redis kill, a broker stop and a broker kill, and an API restart
# injected while it is in flight. The last line printed is the summary:
#   faults=<n> lost=<n> double_applied=<n> alerts_missing=<n> alerts_duplicated=<n> webhooks_lost=<n>
# and the exit status is non-zero if any fault lost, doubled or missed anything.
# Every CHAOS_* variable below may be set to scale it (CHAOS_SEED replays a run).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
export CHAOS_EVENTS="${CHAOS_EVENTS:-100000}"
export CHAOS_RATE="${CHAOS_RATE:-500}"
export CHAOS_WORKER_KILLS="${CHAOS_WORKER_KILLS:-10}"
export CHAOS_REDIS_KILLS="${CHAOS_REDIS_KILLS:-1}"
export CHAOS_BROKER_STOPS="${CHAOS_BROKER_STOPS:-1}"
export CHAOS_BROKER_KILLS="${CHAOS_BROKER_KILLS:-1}"
export CHAOS_API_RESTARTS="${CHAOS_API_RESTARTS:-1}"
export CHAOS_BOARDS="${CHAOS_BOARDS:-3}"

# shellcheck source=deploy/lib/own.sh
source deploy/lib/own.sh
own deploy/stack.sh
trap release EXIT

summary=build/chaos-summary.txt
rm -f "$summary"
started=$(date +%s)
rc=0
.venv/bin/pytest tests/integration/chaos/test_chaos.py -q -s -p no:cacheprovider \
  --junitxml=build/chaos-junit.xml -o junit_family=xunit2 "$@" || rc=$?
echo "chaos: $(( $(date +%s) - started )) s wall time, pytest exit status $rc"
if [ -s "$summary" ]; then
  tail -n 1 "$summary"
else
  echo "faults=0 lost=? double_applied=? alerts_missing=? alerts_duplicated=? webhooks_lost=? (the run ended before its comparison)"
  [ "$rc" = 0 ] && rc=1
fi
exit "$rc"
