#!/usr/bin/env bash
# `make test`: start what the tests need (unless already up), run every test, write
# build/junit.xml, and stop what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build

started_stack=0
bash deploy/stack.sh status >/dev/null 2>&1 || started_stack=1
bash deploy/stack.sh up

cleanup() {
  if [ "$started_stack" = 1 ]; then bash deploy/stack.sh down || true; fi
}
trap cleanup EXIT

.venv/bin/pytest --junitxml=build/junit.xml -o junit_family=xunit2 "$@"
