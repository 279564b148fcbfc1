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

# The manifest checks (tests/unit/test_deploy_manifests.py) run kustomize and kubeconform,
# built from the Go module proxy into Go's bin folder the first time.
go_tool() { # go_tool NAME MODULE@VERSION
  local bin
  bin="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
  export PATH="$PATH:$bin"
  command -v "$1" >/dev/null 2>&1 && return 0
  command -v go >/dev/null 2>&1 || { echo "no Go toolchain: cannot install $1" >&2; return 0; }
  echo "installing $1 ($2) with go install ..." >&2
  GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go install "$2" >&2
}
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.8.1  # v5.8.2+ need Go 1.27

# The observability tests run Debian's Prometheus (and promtool) from the test session.
bash deploy/observe.sh install

# shellcheck source=deploy/lib/own.sh
source deploy/lib/own.sh
own deploy/stack.sh
trap release EXIT

named=0
for arg in "$@"; do
  case "$arg" in -*) ;; *) named=1 ;; esac
done

# This includes the short fault suite (tests/integration/chaos, CHAOS_* defaults: about
# 12,000 events, six faults; about ten minutes on a busy 2-core machine), so a regression
# in crash safety fails CI; `make chaos` runs the full one.
.venv/bin/pytest --junitxml=build/junit.xml -o junit_family=xunit2 "$@"

# The Redis-heavy suites once more against a Redis Cluster, unless tests were named.
if [ "$named" = 1 ]; then exit 0; fi
bash deploy/test-cluster.sh "$@"
