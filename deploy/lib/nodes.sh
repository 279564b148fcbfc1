# Shell helpers shared by the local cluster scripts (deploy/kafka-cluster.sh,
# deploy/redis-cluster.sh): each node is one process with a pid file in its own directory.
# Source this file after setting NODE_TAG (the log prefix), HOST and NODES (how many nodes);
# the script defines node_pid N, pid_file N, start_node N, wait_node N and node_up_text N.

log() { printf '[%s] %s\n' "$NODE_TAG" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$NODE_TAG" "$*" >&2; exit 1; }

# port_open PORT -> 0 when something accepts a TCP connection on $HOST:PORT
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# pidfile_alive PIDFILE PATTERN -> prints the pid in PIDFILE if that process is alive and
# its command line contains PATTERN (so a recycled pid is never taken for our node)
pidfile_alive() {
    local pid
    [[ -s "$1" ]] || return 1
    pid="$(tr -dc '0-9' <"$1")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
    printf '%s' "$pid"
}

# stop_pid PID NAME -> SIGTERM, then SIGKILL after 30 s
stop_pid() {
    local i
    kill -TERM "$1" 2>/dev/null || true
    for i in $(seq 1 300); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null || true
    log "$2: stopped"
}

# check_node_arg N COUNT -> dies unless N is a node number 1..COUNT
check_node_arg() {
    [[ "${1:-}" =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= $2 )) || die "name a node: 1..$2"
}

# nodes_status -> one line per node, what an up node serves from node_up_text N; returns 1
# if any node is down
nodes_status() {
    local n pid rc=0
    for n in $(seq 1 "$NODES"); do
        if pid="$(node_pid "$n")"; then
            echo "node $n: up (pid $pid) $(node_up_text "$n")"
        else
            echo "node $n: down"; rc=1
        fi
    done
    return "$rc"
}

# kill_node N -> kill -9 node N: a crash, for fault tests (its stale pid file goes too)
kill_node() {
    local pid
    check_node_arg "${1:-}" "$NODES"
    pid="$(node_pid "$1")" || die "node $1 is not running"
    kill -KILL "$pid"
    rm -f "$(pid_file "$1")"
    log "node $1: killed (kill -9 $pid)"
}

# restart_node N -> start node N again (after kill or down) and wait until it serves
restart_node() {
    check_node_arg "${1:-}" "$NODES"
    start_node "$1"
    wait_node "$1"
}
