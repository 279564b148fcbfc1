# Shell helpers for the scripts that need local services for one run (deploy/test.sh,
# test-cluster.sh, chaos.sh, run.sh), run from the repository root: they start a service
# unless it is up already, and stop on exit only what they started.
#
#   own deploy/stack.sh      # `up`, remembered for release if `status` said it was down
#   trap release EXIT        # `down` for each service own started, the last first

OWNED=()

# own SCRIPT -> bash SCRIPT up; remembers SCRIPT when it was not up before
own() {
    bash "$1" status >/dev/null 2>&1 || OWNED+=("$1")
    bash "$1" up
}

# release -> bash SCRIPT down for each SCRIPT own started, in reverse order
release() {
    local i
    for ((i = ${#OWNED[@]} - 1; i >= 0; i--)); do bash "${OWNED[i]}" down || true; done
}
