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

# shellcheck source=deploy/lib/own.sh
source deploy/lib/own.sh
own deploy/stack.sh
own deploy/redis-cluster.sh
trap release EXIT

export RISKWIRE_TEST_REDIS=cluster
.venv/bin/pytest --junitxml=build/junit-cluster.xml -o junit_family=xunit2 "$@" "${SHARED[@]}"
for t in "${OWN_SESSION[@]}"; do
    .venv/bin/pytest --junitxml="build/junit-cluster-$(basename "$t" .py).xml" \
        -o junit_family=xunit2 "$@" "$t"
done
