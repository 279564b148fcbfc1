#!/usr/bin/env bash
# `make test-cluster` (and the second half of `make test`): the Redis-heavy integration
# suites again, against a Redis Cluster of three masters and three replicas
# (deploy/redis-cluster.sh on RISKWIRE_REDIS_CLUSTER_PORT), with RISKWIRE_TEST_REDIS=cluster.
# Kafka comes from deploy/stack.sh as for `make test`. Extra arguments go to pytest.
#
# A cluster has one database, so the tests that claim a database of their own (the
# exactly-once kill test) run in a pytest session of their own: their claim empties the
# cluster. Writes build/junit-cluster*.xml.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build

SHARED=(
    tests/integration/test_profile_store_contract.py
    tests/integration/test_redis_lua.py
    tests/integration/test_redis_durability.py
    tests/integration/test_grade_store.py
    tests/integration/test_grade_encoding.py
    tests/integration/test_pipeline_redis.py
    tests/integration/test_alert_listing.py
    tests/integration/test_api_auth.py
    tests/integration/test_api_audit.py
    tests/integration/test_api_inspections.py
    tests/integration/test_webhooks_queue.py
)
OWN_SESSION=(
    tests/integration/test_exactly_once.py
)

started_stack=0
bash deploy/stack.sh status >/dev/null 2>&1 || started_stack=1
bash deploy/stack.sh up
started_cluster=0
bash deploy/redis-cluster.sh status >/dev/null 2>&1 || started_cluster=1
bash deploy/redis-cluster.sh up

cleanup() {
    if [ "$started_cluster" = 1 ]; then bash deploy/redis-cluster.sh down || true; fi
    if [ "$started_stack" = 1 ]; then bash deploy/stack.sh down || true; fi
}
trap cleanup EXIT

export RISKWIRE_TEST_REDIS=cluster
.venv/bin/pytest --junitxml=build/junit-cluster.xml -o junit_family=xunit2 "$@" "${SHARED[@]}"
for t in "${OWN_SESSION[@]}"; do
    .venv/bin/pytest --junitxml="build/junit-cluster-$(basename "$t" .py).xml" \
        -o junit_family=xunit2 "$@" "$t"
done
