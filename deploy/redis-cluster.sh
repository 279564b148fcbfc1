#!/usr/bin/env bash
# A Redis Cluster on localhost, started as production runs it: three masters and three
# replicas of Debian's redis-server (redis-cli --cluster create --cluster-replicas 1), each
# with the durability flags of deploy/stack.sh's single Redis (AOF, appendfsync from
# RISKWIRE_REDIS_APPENDFSYNC). No Docker.
#
#   deploy/redis-cluster.sh up | down | status | url | kill N | start N | help
#
#   up       start every node, create the cluster (first time), wait until it serves
#   down     stop the nodes this script started (SIGTERM: AOF fsynced, then SIGKILL after 30 s)
#   status   one line per node with its role; exit code 1 if any is down
#   url      print RISKWIRE_REDIS_URL for riskwire (redis+cluster://host:port,...)
#   kill N   kill -9 node N (1..6): a crash, for fault tests
#   start N  start node N again (after kill or down); it rejoins from its nodes.conf
#
# Environment:
#   RISKWIRE_REDIS_CLUSTER_DIR      state (default <repo>/.stack/redis-cluster)
#   RISKWIRE_REDIS_CLUSTER_PORT     first node's port (default 7000): node i listens on
#                                   PORT+i-1 and its cluster bus on PORT+10+i-1
#   RISKWIRE_REDIS_CLUSTER_TIMEOUT  cluster-node-timeout in ms (default 3000): how long a
#                                   master is unreachable before its replica takes over
#   RISKWIRE_REDIS_APPENDFSYNC      always (default) | everysec | no, as deploy/stack.sh
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/lib/stack_dir.sh
source "$SCRIPT_DIR/lib/stack_dir.sh"
DIR="${RISKWIRE_REDIS_CLUSTER_DIR:-$STACK_DIR/redis-cluster}"
BASE_PORT="${RISKWIRE_REDIS_CLUSTER_PORT:-7000}"
NODE_TIMEOUT="${RISKWIRE_REDIS_CLUSTER_TIMEOUT:-3000}"
REDIS_APPENDFSYNC="${RISKWIRE_REDIS_APPENDFSYNC:-always}"
NODES=6
HOST=127.0.0.1
NODE_TAG=redis-cluster
# shellcheck source=deploy/lib/nodes.sh
source "$SCRIPT_DIR/lib/nodes.sh"
# shellcheck source=deploy/lib/redis.sh
source "$SCRIPT_DIR/lib/redis.sh"

node_port() { echo $((BASE_PORT + $1 - 1)); }
bus_port() { echo $((BASE_PORT + 10 + $1 - 1)); }
node_dir() { echo "$DIR/node-$1"; }
pid_file() { echo "$(node_dir "$1")/redis.pid"; }
node_pid() { pidfile_alive "$(pid_file "$1")" "redis-server $HOST:$(node_port "$1")"; }
cli() { local n="$1"; shift; timeout 5 redis-cli -h "$HOST" -p "$(node_port "$n")" "$@"; }
node_up_text() { echo "on $HOST:$(node_port "$1"), $(cli "$1" role 2>/dev/null | head -n 1)"; }

url() {
    local i out=()
    for i in $(seq 1 $NODES); do out+=("$HOST:$(node_port "$i")"); done
    (IFS=,; echo "redis+cluster://${out[*]}")
}

start_node() {
    local n="$1" d flags
    d="$(node_dir "$n")"
    if node_pid "$n" >/dev/null; then
        log "node $n: already running"
        return 0
    fi
    port_open "$(node_port "$n")" && die "node $n: port $(node_port "$n") is taken"
    port_open "$(bus_port "$n")" && die "node $n: bus port $(bus_port "$n") is taken"
    mapfile -t flags < <(redis_durability_flags)   # deploy/lib/redis.sh says why
    (( ${#flags[@]} )) || exit 1
    mkdir -p "$d"
    log "node $n: starting on $HOST:$(node_port "$n") (bus :$(bus_port "$n"), appendfsync $REDIS_APPENDFSYNC)"
    # cluster-replica-no-failover stays off: a replica takes over its dead master
    redis-server --bind "$HOST" --port "$(node_port "$n")" "${flags[@]}" \
        --cluster-enabled yes --cluster-port "$(bus_port "$n")" \
        --cluster-config-file nodes.conf --cluster-node-timeout "$NODE_TIMEOUT" \
        --dir "$d" --daemonize yes --pidfile "$(pid_file "$n")" --logfile "$d/redis.log" \
        >&2 || die "node $n: redis-server failed to start (see $d/redis.log)"
}

wait_node() {
    local n="$1" deadline=$(( $(date +%s) + 30 ))
    until [[ "$(cli "$n" ping 2>/dev/null)" == "PONG" ]]; do
        (( $(date +%s) < deadline )) || die "node $n: no PONG within 30s (see $(node_dir "$n")/redis.log)"
        sleep 0.1
    done
}

# cluster_ok -> 0 when every running node reports cluster_state:ok and knows all six
cluster_ok() {
    local n info
    for n in $(seq 1 $NODES); do
        node_pid "$n" >/dev/null || continue
        info="$(cli "$n" cluster info 2>/dev/null)" || return 1
        grep -q "cluster_state:ok" <<<"$info" || return 1
        grep -q "cluster_known_nodes:$NODES" <<<"$info" || return 1
    done
}

wait_cluster() {
    local deadline=$(( $(date +%s) + 60 ))
    until cluster_ok; do
        (( $(date +%s) < deadline )) || die "cluster not ok within 60s (see $DIR/node-*/redis.log)"
        sleep 0.2
    done
}

create() {
    local i addrs=()
    # a node that already knows others was part of a created cluster (nodes.conf kept)
    if [[ "$(cli 1 cluster info | grep -c "cluster_known_nodes:$NODES")" == 1 ]]; then
        return 0
    fi
    for i in $(seq 1 $NODES); do addrs+=("$HOST:$(node_port "$i")"); done
    log "creating the cluster: 3 masters, 1 replica each"
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 \
        || { tail -n 20 "$DIR/create.log" >&2; die "redis-cli --cluster create failed"; }
}

cmd="${1:-help}"
case "$cmd" in
    up)
        command -v redis-server >/dev/null || die "redis-server missing (apt-get install redis-server)"
        for n in $(seq 1 $NODES); do start_node "$n"; done
        for n in $(seq 1 $NODES); do wait_node "$n"; done
        create
        wait_cluster
        log "up: $(url)"
        ;;
    down)
        for n in $(seq 1 $NODES); do
            pid="$(node_pid "$n")" && stop_pid "$pid" "node $n"
            rm -f "$(pid_file "$n")"
        done
        ;;
    status)
        rc=0
        nodes_status || rc=$?
        exit "$rc"
        ;;
    url)
        url
        ;;
    kill)
        kill_node "${2:-}"
        ;;
    start)
        restart_node "${2:-}"
        ;;
    help|-h|--help)
        sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
        ;;
    *)
        die "unknown command '$cmd' (up, down, status, url, kill N, start N)"
        ;;
esac
