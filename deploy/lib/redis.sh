# The durability flags of every Redis riskwire starts (deploy/stack.sh's single node and each
# node of deploy/redis-cluster.sh), so that a cluster keeps what the single node keeps.
# REDIS_APPENDFSYNC must be set (from RISKWIRE_REDIS_APPENDFSYNC, default always); die() too.
#
# AOF is the durability, fsynced before Redis answers (appendfsync always): the worker
# commits a batch's Kafka offsets only after Redis has answered for it, so a write that was
# answered but not yet on disk (everysec) could be lost by a machine crash with its offsets
# committed, and those events would never be applied. Redis fsyncs once per event-loop
# pass, so a pipelined batch pays about one fsync per round trip.
# RISKWIRE_REDIS_APPENDFSYNC=everysec trades that for speed. No RDB snapshots: each one
# forks and writes the whole dataset again (Redis's default schedule: every minute under
# load), CPU this 2-core machine shares with the workers, for nothing AOF does not already
# keep. The AOF is compacted (rewritten by a forked child) once it has doubled and reached
# 1 GB, not 64 MB: every profile write logs the whole document, so with the default the log
# doubled every ~20 s under load, and the alerts written during a rewrite took 215-302 ms
# instead of ~100 ms (bench, 2026-11-27).
# Small hashes and sorted sets are kept as listpacks up to 256-byte values, not 64: a stored
# grade (processors/grade_codec.py) is 81 B on average, so with 64 an enterprise's current
# grade and grade histories were mostly hash tables and skiplists; with 256 they take
# 1,262 B instead of 2,297 B per enterprise after a medium evaluation (README, "Bounded
# state"). Listpacks stay bounded by the default 128 entries.

# redis_durability_flags -> prints the redis-server flags, one a line
redis_durability_flags() {
    case "$REDIS_APPENDFSYNC" in always|everysec|no) ;;
        *) die "RISKWIRE_REDIS_APPENDFSYNC must be always, everysec or no (got '$REDIS_APPENDFSYNC')" ;;
    esac
    printf '%s\n' --appendonly yes --appendfsync "$REDIS_APPENDFSYNC" --save "" \
        --auto-aof-rewrite-percentage 100 --auto-aof-rewrite-min-size 1gb \
        --hash-max-listpack-value 256 --zset-max-listpack-value 256
}
