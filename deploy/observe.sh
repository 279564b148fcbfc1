#!/usr/bin/env bash
# A real Prometheus for the local stack (no Docker): Debian's `prometheus` package, on
# localhost, scraping the API and every worker, with riskwire's rule files.
#
#   deploy/observe.sh install | up | down | status | config
#
#   RISKWIRE_PROMETHEUS_PORT   listen port on 127.0.0.1 (default 9090)
#   RISKWIRE_API_PORT          the API target (default 8000)
#   RISKWIRE_WORKER_METRICS_PORT  the worker target (default 9464)
#   RISKWIRE_PROMETHEUS_WORKERS   more worker targets, space separated host:port
#   RISKWIRE_PROMETHEUS_INTERVAL  scrape and rule evaluation interval (default 5s)
#
# State (config, TSDB, log, pid) lives in ${RISKWIRE_STACK_DIR:-<repo>/.stack}/prometheus.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/lib/stack_dir.sh
source "$SCRIPT_DIR/lib/stack_dir.sh"

PORT="${RISKWIRE_PROMETHEUS_PORT:-9090}"
API_PORT="${RISKWIRE_API_PORT:-8000}"
WORKER_PORT="${RISKWIRE_WORKER_METRICS_PORT:-9464}"
EXTRA_WORKERS="${RISKWIRE_PROMETHEUS_WORKERS:-}"
INTERVAL="${RISKWIRE_PROMETHEUS_INTERVAL:-5s}"

DIR="$STACK_DIR/prometheus"
CONF="$DIR/prometheus.yml"
PID="$DIR/prometheus.pid"
LOG="$DIR/prometheus.log"
TEMPLATE="$SCRIPT_DIR/prometheus/prometheus.yml.in"
RULES="$SCRIPT_DIR/prometheus/rules"

log() { printf '[observe] %s\n' "$*" >&2; }
die() { printf '[observe] ERROR: %s\n' "$*" >&2; exit 1; }

install() {
    command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && return 0
    local sudo=sudo
    [ "$(id -u)" = 0 ] && sudo=
    log "installing Prometheus (Debian package prometheus) ..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends prometheus >/dev/null
    # The package may start its own service on :9090; ours runs on $PORT, apart from it.
}

# quoted YAML flow list of targets
targets() {
    local out="" t
    for t in "$@"; do out+="${out:+, }\"$t\""; done
    printf '%s' "$out"
}

config() {
    mkdir -p "$DIR"
    # shellcheck disable=SC2086
    local workers
    workers="$(targets "127.0.0.1:$WORKER_PORT" $EXTRA_WORKERS)"
    sed -e "s|@INTERVAL@|$INTERVAL|g" -e "s|@RULES_DIR@|$RULES|g" \
        -e "s|@API_TARGETS@|$(targets "127.0.0.1:$API_PORT")|g" \
        -e "s|@WORKER_TARGETS@|$workers|g" "$TEMPLATE" >"$CONF"
    promtool check config "$CONF" >/dev/null || die "promtool rejects $CONF"
    printf '%s\n' "$CONF"
}

running() {
    [[ -s "$PID" ]] || return 1
    local pid
    pid="$(tr -dc '0-9' <"$PID")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$CONF" || return 1
    printf '%s' "$pid"
}

up() {
    install
    config >/dev/null
    local pid
    if pid="$(running)"; then
        kill -HUP "$pid"  # reload the configuration and the rule files
        log "Prometheus already up (pid $pid), configuration reloaded: http://127.0.0.1:$PORT"
        return 0
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && die "port $PORT is taken (RISKWIRE_PROMETHEUS_PORT)"
    mkdir -p "$DIR/data"
    nohup prometheus --config.file="$CONF" --storage.tsdb.path="$DIR/data" \
        --storage.tsdb.retention.time=7d --web.listen-address="127.0.0.1:$PORT" \
        --web.enable-lifecycle >"$LOG" 2>&1 &
    echo $! >"$PID"
    local waited=0
    until curl -fs "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1; do
        running >/dev/null || { tail -20 "$LOG" >&2; die "Prometheus exited"; }
        (( waited++ < 60 )) || die "Prometheus not ready in 30 s (see $LOG)"
        sleep 0.5
    done
    log "Prometheus up: http://127.0.0.1:$PORT (config $CONF, log $LOG)"
}

down() {
    local pid
    if pid="$(running)"; then
        kill -TERM "$pid"
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        log "Prometheus stopped"
    fi
    rm -f "$PID"
}

status() {
    local pid
    if pid="$(running)"; then
        printf 'prometheus  up    pid %s  http://127.0.0.1:%s\n' "$pid" "$PORT"
    else
        printf 'prometheus  down\n'
        return 1
    fi
}

case "${1:-up}" in
    install) install ;;
    up) up ;;
    down) down ;;
    status) status ;;
    config) config ;;
    *) die "usage: $0 install | up | down | status | config" ;;
esac
