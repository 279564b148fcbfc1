# Where the local services keep their state (deploy/stack.sh, kafka-cluster.sh,
# redis-cluster.sh, observe.sh). Source after setting SCRIPT_DIR (deploy/); sets REPO_ROOT
# and STACK_DIR: RISKWIRE_STACK_DIR, default <repo>/.stack, a relative one taken from the
# repository root.
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
STACK_DIR="${RISKWIRE_STACK_DIR:-$REPO_ROOT/.stack}"
case "$STACK_DIR" in /*) ;; *) STACK_DIR="$REPO_ROOT/$STACK_DIR" ;; esac
