#!/usr/bin/env bash
# `make test`: start what the tests need (unless already up), run every test, write
# build/junit.xml, and stop what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build

# Browser tests drive Debian's chromium (Playwright never downloads a browser).
if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  echo "installing chromium and CJK fonts (Debian) for the browser tests ..." >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium fonts-noto-cjk >/dev/null
fi

started_stack=0
bash deploy/stack.sh status >/dev/null 2>&1 || started_stack=1
bash deploy/stack.sh up

cleanup() {
  if [ "$started_stack" = 1 ]; then bash deploy/stack.sh down || true; fi
}
trap cleanup EXIT

.venv/bin/pytest --junitxml=build/junit.xml -o junit_family=xunit2 "$@"
