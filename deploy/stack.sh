#!/usr/bin/env bash
# riskwire local infrastructure stack (no Docker): single-node Kafka (KRaft) + Redis.
#
#   deploy/stack.sh install | up | topics | down | status | reset | describe | help
#
# Everything is configured by environment variables (see deploy/README.md).
# State lives under ${RISKWIRE_STACK_DIR:-<repo>/.stack}; progress goes to stderr.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# ---------------------------------------------------------------- configuration
# shellcheck source=deploy/lib/stack_dir.sh
source "$SCRIPT_DIR/lib/stack_dir.sh"

KAFKA_HOST="127.0.0.1"
KAFKA_PORT="${RISKWIRE_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${RISKWIRE_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"
KAFKA_HEAP="${RISKWIRE_KAFKA_HEAP:--Xms256m -Xmx512m}"
KAFKA_TIMEOUT="${RISKWIRE_KAFKA_TIMEOUT:-90}"

REDIS_PORT="${RISKWIRE_REDIS_PORT:-6379}"
REDIS_APPENDFSYNC="${RISKWIRE_REDIS_APPENDFSYNC:-always}"
REDIS_URL="${RISKWIRE_REDIS_URL:-}"

PARTITIONS="${RISKWIRE_PARTITIONS:-8}"
# Input topics keep messages this long, and roll segments daily (the replay horizon,
# RISKWIRE_REPLAY_HORIZON_DAYS, must outlast both; see core/settings.py).
INPUT_RETENTION_DAYS="${RISKWIRE_INPUT_RETENTION_DAYS:-30}"
DEPARTMENTS="${RISKWIRE_DEPARTMENTS:-samr tax court police enforcement-bureau drc qianhai-authority}"
TOPIC_REGISTRATION="${RISKWIRE_TOPIC_REGISTRATION:-registration.changes}"
TOPIC_COURT="${RISKWIRE_TOPIC_COURT:-court.filings}"
TOPIC_TAX="${RISKWIRE_TOPIC_TAX:-tax.events}"
TOPIC_ENFORCEMENT="${RISKWIRE_TOPIC_ENFORCEMENT:-enforcement.uploads}"
TOPIC_ALERTS="${RISKWIRE_TOPIC_ALERTS:-riskwire.alerts}"
TOPIC_GRADES="${RISKWIRE_TOPIC_GRADES:-riskwire.grades}"
TOPIC_ALERT_ARCHIVE="${RISKWIRE_TOPIC_ALERT_ARCHIVE:-riskwire.alert-archive}"
TOPIC_DLQ="${RISKWIRE_TOPIC_DLQ:-riskwire.dlq}"
TOPIC_DLQ_OUTPUTS="${RISKWIRE_TOPIC_DLQ_OUTPUTS:-riskwire.dlq.outputs}"
TOPIC_AUDIT_ANCHOR="${RISKWIRE_TOPIC_AUDIT_ANCHOR:-riskwire.audit.anchor}"

KAFKA_DIR="$STACK_DIR/kafka"
KAFKA_LIB="$KAFKA_DIR/lib"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_CONF="$KAFKA_DIR/config"
KAFKA_CLASSES="$KAFKA_DIR/classes"
KAFKA_LOG="$KAFKA_DIR/kafka.log"   # log4j (reload4j) output of the broker
KAFKA_OUT="$KAFKA_DIR/kafka.out"   # JVM stdout/stderr (startup failures, crashes)
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"
POM="$SCRIPT_DIR/kafka/pom.xml"
ADMIN_SRC="$SCRIPT_DIR/kafka/StackAdmin.java"

KAFKA_LOG_OFFSET=0                 # size of kafka.log before our start (for error excerpts)

REDIS_DIR="$STACK_DIR/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
# shellcheck source=deploy/lib/redis.sh
source "$SCRIPT_DIR/lib/redis.sh"

# ---------------------------------------------------------------- helpers
# redact credentials in a URL (redis://user:pass@host -> redis://***@host)
redact() { sed -E 's#//[^/@]*@#//***@#' <<<"$1"; }
log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

sha256_of() { cat "$@" | sha256sum | cut -c1-64; }

# port_open PORT -> 0 if something accepts TCP connections on 127.0.0.1:PORT
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE PATTERN -> prints pid and returns 0 if the process is alive and
# its command line contains PATTERN (guards against pid reuse).
pid_alive() {
    local pidfile="$1" pattern="$2" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern" || return 1
    printf '%s' "$pid"
}

# stop_pid PID NAME GRACE_SECONDS: SIGTERM, wait, then SIGKILL.
stop_pid() {
    local pid="$1" name="$2" grace="$3" waited=0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do
        if (( waited >= grace * 10 )); then
            log "$name (pid $pid) still alive after ${grace}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

take_lock() {
    mkdir -p "$STACK_DIR"
    exec 9>"$STACK_DIR/.lock"
    if ! flock -w 300 9; then
        die "could not acquire $STACK_DIR/.lock within 300s (another stack.sh running?)"
    fi
}

# ---------------------------------------------------------------- redis target
# Returns 0 when Redis should be managed by this script (no RISKWIRE_REDIS_URL, or it
# points at 127.0.0.1/localhost:$REDIS_PORT); 1 for an external Redis.
redis_is_local() {
    [[ -z "$REDIS_URL" ]] && return 0
    local rest="${REDIS_URL#*://}" hostport host port
    [[ "$REDIS_URL" == unix://* ]] && return 1
    rest="${rest##*@}"            # drop credentials
    hostport="${rest%%/*}"        # drop /db and query
    hostport="${hostport%%\?*}"
    if [[ "$hostport" == \[*\]* ]]; then   # [::1]:6379
        host="${hostport%%]*}"; host="${host#[}"
        port="${hostport##*]}"; port="${port#:}"
    else
        host="${hostport%%:*}"
        port="${hostport#"$host"}"; port="${port#:}"
    fi
    port="${port:-6379}"
    case "$host" in
        ""|localhost|127.0.0.1|::1) [[ "$port" == "$REDIS_PORT" ]] && return 0 ;;
    esac
    return 1
}

# redis_ping -> 0 if a Redis on 127.0.0.1:$REDIS_PORT answers PING with PONG
redis_ping() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
    else
        (
            exec 4<>"/dev/tcp/127.0.0.1/$REDIS_PORT" || exit 1
            printf 'PING\r\n' >&4
            IFS= read -r -t 3 line <&4 || exit 1
            [[ "${line%$'\r'}" == "+PONG" ]]
        ) 2>/dev/null
    fi
}

# ---------------------------------------------------------------- install
install_kafka_jars() {
    local stamp="$KAFKA_LIB/.pom.sha256" want
    want="$(sha256_of "$POM")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && compgen -G "$KAFKA_LIB/kafka_2.13-*.jar" >/dev/null; then
        return 0
    fi
    command -v java >/dev/null 2>&1 || die "java not found (need a JDK >= 17)"
    command -v mvn >/dev/null 2>&1 || die "mvn not found (apt-get install maven)"
    log "kafka: fetching jars with Maven into $KAFKA_LIB (one-time)"
    local tmp="$KAFKA_DIR/lib.tmp.$$" mvnlog="$KAFKA_DIR/maven.log"
    rm -rf "$tmp"
    mkdir -p "$KAFKA_DIR"
    if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
            -DoutputDirectory="$tmp" -DincludeScope=runtime >"$mvnlog" 2>&1; then
        tail -n 40 "$mvnlog" >&2 || true
        rm -rf "$tmp"
        die "maven dependency:copy-dependencies failed (full output: $mvnlog)"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "maven produced no kafka jar in $tmp"; }
    printf '%s\n' "$want" >"$tmp/.pom.sha256"
    rm -rf "$KAFKA_LIB" "$KAFKA_CLASSES"
    mv "$tmp" "$KAFKA_LIB"
    log "kafka: $(find "$KAFKA_LIB" -name '*.jar' | wc -l) jars installed"
}

# Compile the admin helper once (keyed by source + jar set) so each call is one plain JVM start.
install_admin_helper() {
    local stamp="$KAFKA_CLASSES/.sha256" want
    want="$(sha256_of "$ADMIN_SRC" "$KAFKA_LIB/.pom.sha256")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$KAFKA_CLASSES/StackAdmin.class" ]]; then
        return 0
    fi
    if command -v javac >/dev/null 2>&1; then
        rm -rf "$KAFKA_CLASSES"
        mkdir -p "$KAFKA_CLASSES"
        javac -nowarn -encoding UTF-8 -cp "$KAFKA_LIB/*" -d "$KAFKA_CLASSES" "$ADMIN_SRC" >&2 \
            || die "javac failed for $ADMIN_SRC"
        printf '%s\n' "$want" >"$stamp"
    fi
    # no javac: admin() falls back to the java single-file source launcher
}

install_redis() {
    if ! redis_is_local; then
        return 0
    fi
    command -v redis-server >/dev/null 2>&1 && return 0
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "redis-server missing; install it (apt-get install redis-server) or set RISKWIRE_REDIS_URL"
        sudo=(sudo)
    fi
    log "redis: installing redis-server via apt-get"
    # DPkg::Lock::Timeout waits for a concurrent apt/dpkg instead of failing.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 9>&-
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq redis-server >&2 9>&-
    command -v redis-server >/dev/null 2>&1 || die "redis-server still not on PATH after apt-get install"
}

cmd_install() {
    install_kafka_jars
    install_admin_helper
    install_redis
}

# ---------------------------------------------------------------- kafka
admin() { # admin <health|ensure|describe> <timeoutSec> [args...]
    local sub="$1" timeout="$2"; shift 2
    local opts=(-Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
                "-Dlog4j.configuration=file:$KAFKA_CONF/tools-log4j.properties")
    if [[ -f "$KAFKA_CLASSES/StackAdmin.class" ]]; then
        java "${opts[@]}" -cp "$KAFKA_CLASSES:$KAFKA_LIB/*" StackAdmin "$sub" "$KAFKA_BOOTSTRAP" "$timeout" "$@"
    else
        java "${opts[@]}" -cp "$KAFKA_LIB/*" "$ADMIN_SRC" "$sub" "$KAFKA_BOOTSTRAP" "$timeout" "$@"
    fi
}

write_kafka_config() {
    mkdir -p "$KAFKA_CONF" "$KAFKA_DATA"
    cat >"$KAFKA_CONF/server.properties" <<EOF
# Generated by deploy/stack.sh -- edits are overwritten on every 'up'.
# Single-node KRaft (combined broker + controller) for local development and tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA

# small box (2 cores): few threads
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=33554432

# single node: replication 1 everywhere
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# fast tests
num.partitions=$PARTITIONS
offsets.topic.num.partitions=8
transaction.state.log.num.partitions=8
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true

# keep disk use bounded
log.retention.hours=24
log.retention.bytes=268435456
log.segment.bytes=67108864
log.retention.check.interval.ms=60000
EOF
    cat >"$KAFKA_CONF/log4j.properties" <<EOF
# reload4j config for the broker (generated by deploy/stack.sh)
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_LOG
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel\$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.controller=INFO
log4j.logger.kafka.log.LogCleaner=INFO
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.org.apache.kafka.clients.NetworkClient=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.kafka.server.KafkaConfig=WARN
log4j.logger.org.apache.kafka.storage.internals.log.LogConfig=WARN
EOF
    cat >"$KAFKA_CONF/tools-log4j.properties" <<'EOF'
# reload4j config for admin/CLI tools: quiet, to stderr
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.clients.NetworkClient=ERROR
log4j.logger.org.apache.kafka.clients.admin.internals=ERROR
EOF
}

format_kafka_storage() {
    if [[ -f "$KAFKA_DATA/meta.properties" ]]; then
        return 0
    fi
    local cid
    if [[ -s "$KAFKA_CLUSTER_ID_FILE" ]]; then
        cid="$(cat "$KAFKA_CLUSTER_ID_FILE")"
    else
        cid="$(java -cp "$KAFKA_LIB/*" "-Dlog4j.configuration=file:$KAFKA_CONF/tools-log4j.properties" \
                kafka.tools.StorageTool random-uuid)"
        [[ -n "$cid" ]] || die "kafka: StorageTool random-uuid returned nothing"
        printf '%s\n' "$cid" >"$KAFKA_CLUSTER_ID_FILE"
    fi
    log "kafka: formatting storage in $KAFKA_DATA (cluster id $cid)"
    # Static quorum (controller.quorum.voters) => no --standalone; it is only valid with
    # controller.quorum.bootstrap.servers (KIP-853 dynamic quorum).
    java -cp "$KAFKA_LIB/*" "-Dlog4j.configuration=file:$KAFKA_CONF/tools-log4j.properties" \
        kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$KAFKA_CONF/server.properties" >&2 \
        || die "kafka: storage format failed"
}

# kafka_start -> starts the broker unless ours is running or the port is already taken.
kafka_start() {
    local pid
    if pid="$(pid_alive "$KAFKA_PID" kafka.Kafka)"; then
        log "kafka: already running (pid $pid)"
        return 0
    fi
    rm -f "$KAFKA_PID"
    if port_open "$KAFKA_PORT"; then
        log "kafka: something already listens on $KAFKA_BOOTSTRAP (not started by this script); reusing it if healthy"
        return 0
    fi
    if port_open "$KAFKA_CONTROLLER_PORT"; then
        die "kafka: controller port 127.0.0.1:$KAFKA_CONTROLLER_PORT is in use by another process (set RISKWIRE_KAFKA_CONTROLLER_PORT)"
    fi
    write_kafka_config
    format_kafka_storage
    KAFKA_LOG_OFFSET="$(stat -c %s "$KAFKA_LOG" 2>/dev/null || echo 0)"
    log "kafka: starting broker on $KAFKA_BOOTSTRAP (controller :$KAFKA_CONTROLLER_PORT), log $KAFKA_LOG"
    # shellcheck disable=SC2086  # KAFKA_HEAP is intentionally word-split
    (
        cd "$KAFKA_DIR"
        exec nohup setsid java $KAFKA_HEAP \
            -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
            -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
            "-Dkafka.logs.dir=$KAFKA_DIR" \
            "-Dlog4j.configuration=file:$KAFKA_CONF/log4j.properties" \
            -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_CONF/server.properties" \
            </dev/null >"$KAFKA_OUT" 2>&1 9>&-
    ) 9>&- &
    echo $! >"$KAFKA_PID"
}

# kafka_wait_port DEADLINE -> wait until the broker port accepts connections
kafka_wait_port() {
    local deadline="$1" pid
    while ! port_open "$KAFKA_PORT"; do
        if [[ -s "$KAFKA_PID" ]] && ! pid="$(pid_alive "$KAFKA_PID" kafka.Kafka)"; then
            log "kafka: broker process exited during startup; last log lines:"
            tail -n 30 "$KAFKA_OUT" >&2 2>/dev/null || true
            tail -c +"$(( KAFKA_LOG_OFFSET + 1 ))" "$KAFKA_LOG" 2>/dev/null \
                | grep -E '^\[[^]]*\] (ERROR|FATAL)' | tail -n 15 >&2 || true
            rm -f "$KAFKA_PID"
            die "kafka failed to start (see $KAFKA_LOG and $KAFKA_OUT)"
        fi
        if (( $(now) >= deadline )); then
            die "kafka: port $KAFKA_PORT not open after ${KAFKA_TIMEOUT}s (see $KAFKA_LOG)"
        fi
        sleep 0.2
    done
}

kafka_stop() {
    local pid
    if pid="$(pid_alive "$KAFKA_PID" kafka.Kafka)"; then
        log "kafka: stopping (pid $pid)"
        stop_pid "$pid" kafka 30
        log "kafka: stopped"
    elif port_open "$KAFKA_PORT"; then
        log "kafka: $KAFKA_BOOTSTRAP is served by a process this script did not start; leaving it alone"
    else
        log "kafka: not running"
    fi
    rm -f "$KAFKA_PID"
}

topic_specs() {
    local t d day_ms=86400000
    for t in "$TOPIC_REGISTRATION" "$TOPIC_COURT" "$TOPIC_TAX" "$TOPIC_ENFORCEMENT"; do
        printf '%s:%s:retention.ms=%s,segment.ms=%s\n' "$t" "$PARTITIONS" \
            "$((INPUT_RETENTION_DAYS * day_ms))" "$day_ms"
    done
    for t in "$TOPIC_ALERTS" "$TOPIC_DLQ" "$TOPIC_DLQ_OUTPUTS"; do
        printf '%s:%s\n' "$t" "$PARTITIONS"
    done
    printf '%s:%s:cleanup.policy=compact\n' "$TOPIC_GRADES" "$PARTITIONS"
    printf '%s:%s:cleanup.policy=compact\n' "$TOPIC_ALERT_ARCHIVE" "$PARTITIONS"
    printf '%s:%s:cleanup.policy=compact\n' "$TOPIC_AUDIT_ANCHOR" "$PARTITIONS"
    for d in $DEPARTMENTS; do
        printf '%s:%s\n' "$TOPIC_ALERTS.$d" "$PARTITIONS"
    done
}

ensure_topics() { # ensure_topics TIMEOUT_SECONDS
    local specs=()
    mapfile -t specs < <(topic_specs)
    log "kafka: ensuring ${#specs[@]} topics ($PARTITIONS partitions, rf 1)"
    local rc=0
    admin ensure "$1" "${specs[@]}" || rc=$?
    case "$rc" in
        0) ;;
        3) die "kafka: broker at $KAFKA_BOOTSTRAP not healthy within $1s (see $KAFKA_LOG)" ;;
        *) die "kafka: topic creation failed (rc=$rc)" ;;
    esac
}

# ---------------------------------------------------------------- redis
redis_start() {
    if ! redis_is_local; then
        log "redis: external RISKWIRE_REDIS_URL set; not managing a local Redis"
        return 0
    fi
    local pid
    if pid="$(pid_alive "$REDIS_PID" redis-server)"; then
        log "redis: already running (pid $pid)"
        return 0
    fi
    if redis_ping; then
        log "redis: a Redis already answers on 127.0.0.1:$REDIS_PORT (not started by this script); reusing it"
        return 0
    fi
    if port_open "$REDIS_PORT"; then
        die "redis: port 127.0.0.1:$REDIS_PORT is taken by something that does not answer PING"
    fi
    local flags
    mapfile -t flags < <(redis_durability_flags)   # deploy/lib/redis.sh says why
    (( ${#flags[@]} )) || exit 1
    mkdir -p "$REDIS_DIR"
    rm -f "$REDIS_PID"
    log "redis: starting on 127.0.0.1:$REDIS_PORT (data $REDIS_DIR, appendfsync $REDIS_APPENDFSYNC)"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" "${flags[@]}" \
        --dir "$REDIS_DIR" --daemonize yes \
        --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" >&2 9>&- \
        || die "redis-server failed to start (see $REDIS_LOG)"
}

redis_wait() { # redis_wait DEADLINE
    redis_is_local || return 0
    while ! redis_ping; do
        if (( $(now) >= $1 )); then
            tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
            die "redis: no PONG on 127.0.0.1:$REDIS_PORT (see $REDIS_LOG)"
        fi
        sleep 0.1
    done
    log "redis: healthy (PONG on 127.0.0.1:$REDIS_PORT)"
}

redis_stop() {
    local pid
    if ! redis_is_local; then
        log "redis: external; nothing to stop"
        return 0
    fi
    if pid="$(pid_alive "$REDIS_PID" redis-server)"; then
        log "redis: stopping (pid $pid)"
        # SIGTERM makes redis fsync the AOF and exit cleanly (same as SHUTDOWN).
        stop_pid "$pid" redis 15
        log "redis: stopped"
    elif redis_ping; then
        log "redis: 127.0.0.1:$REDIS_PORT is served by a process this script did not start; leaving it alone"
    else
        log "redis: not running"
    fi
    rm -f "$REDIS_PID"
}

# ---------------------------------------------------------------- commands
cmd_up() {
    local t0 deadline
    t0="$(now)"
    take_lock
    cmd_install
    mkdir -p "$KAFKA_CONF"
    [[ -f "$KAFKA_CONF/tools-log4j.properties" ]] || write_kafka_config
    kafka_start
    redis_start
    deadline=$(( t0 + KAFKA_TIMEOUT ))
    redis_wait "$(( $(now) + 30 ))"
    kafka_wait_port "$deadline"
    local left=$(( deadline - $(now) )); (( left < 5 )) && left=5
    ensure_topics "$left"   # waits for a metadata answer first, then creates topics
    log "kafka: healthy on $KAFKA_BOOTSTRAP"
    log "up in $(( $(now) - t0 ))s  (kafka $KAFKA_BOOTSTRAP, redis $(redact "${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"))"
}

cmd_topics() {
    take_lock
    install_kafka_jars
    install_admin_helper
    mkdir -p "$KAFKA_CONF"
    [[ -f "$KAFKA_CONF/tools-log4j.properties" ]] || write_kafka_config
    ensure_topics "$KAFKA_TIMEOUT"
}

cmd_describe() {
    install_kafka_jars
    install_admin_helper
    [[ -f "$KAFKA_CONF/tools-log4j.properties" ]] || write_kafka_config
    admin describe 10 "$@"
}

cmd_down() {
    take_lock
    kafka_stop
    redis_stop
}

cmd_status() {
    local pid rc=0
    if pid="$(pid_alive "$KAFKA_PID" kafka.Kafka)"; then
        if port_open "$KAFKA_PORT"; then
            echo "kafka: up (pid $pid) on $KAFKA_BOOTSTRAP"
        else
            echo "kafka: starting (pid $pid), $KAFKA_BOOTSTRAP not open yet"; rc=1
        fi
    elif port_open "$KAFKA_PORT"; then
        echo "kafka: up on $KAFKA_BOOTSTRAP (external, not started by stack.sh)"
    else
        echo "kafka: down"; rc=1
    fi
    if ! redis_is_local; then
        echo "redis: external ($(redact "$REDIS_URL")), not managed"
    elif pid="$(pid_alive "$REDIS_PID" redis-server)" && redis_ping; then
        echo "redis: up (pid $pid) on 127.0.0.1:$REDIS_PORT"
    elif redis_ping; then
        echo "redis: up on 127.0.0.1:$REDIS_PORT (external, not started by stack.sh)"
    else
        echo "redis: down"; rc=1
    fi
    return "$rc"
}

cmd_reset() {
    cmd_down
    log "deleting data under $STACK_DIR (keeping jars)"
    rm -rf "$KAFKA_DATA" "$KAFKA_CONF" "$KAFKA_CLUSTER_ID_FILE" "$KAFKA_PID" \
           "$KAFKA_LOG" "$KAFKA_LOG".* "$KAFKA_OUT" "$KAFKA_DIR"/*.log "$REDIS_DIR"
}

usage() {
    cat >&2 <<EOF
usage: $(basename "$0") <command>
  install   fetch Kafka jars (Maven, cached in $KAFKA_LIB) and redis-server (apt) if missing
  up        install + start Kafka (KRaft, $KAFKA_BOOTSTRAP) and Redis (127.0.0.1:$REDIS_PORT), wait healthy, create topics
  topics    create/reconcile all riskwire topics (idempotent)
  describe  list topics with partition count and cleanup.policy
  down      stop the Kafka/Redis processes started by this script
  status    print whether Kafka and Redis are up (exit 1 if any is down)
  reset     down + delete Kafka/Redis data (jars are kept)
state dir: $STACK_DIR
EOF
}

main() {
    local cmd="${1:-help}"
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
        install)  take_lock; cmd_install ;;
        up)       cmd_up ;;
        topics)   cmd_topics ;;
        describe) cmd_describe "$@" ;;
        down)     cmd_down ;;
        status)   cmd_status ;;
        reset)    cmd_reset ;;
        help|-h|--help) usage ;;
        *) usage; exit 2 ;;
    esac
}

main "$@"
