# Shared helpers for the test bed scripts. Sourced, never run.
# Every daemon is started in the background with its pid written to a file
# and stopped by that pid: nothing here touches processes it did not start.

set -euo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BED=${BED:-$TOP/.testbed}
VENV=${VENV:-$TOP/.venv}

log() { printf '[testbed] %s\n' "$*" >&2; }

# fail NAME LOGFILE MESSAGE: say which daemon failed, show its log's tail, exit 1.
fail() {
    local name=$1 logfile=$2
    shift 2
    printf '[testbed] FAILED: %s: %s\n' "$name" "$*" >&2
    if [ -n "$logfile" ] && [ -f "$logfile" ]; then
        printf '[testbed] last lines of %s:\n' "$logfile" >&2
        tail -n 30 "$logfile" | sed 's/^/    /' >&2
    fi
    exit 1
}

# wait_until SECONDS NAME LOGFILE PIDFILE CMD...: poll CMD until it succeeds,
# failing early if the daemon behind PIDFILE (may be empty) has died.
wait_until() {
    local secs=$1 name=$2 logfile=$3 pidfile=$4
    shift 4
    local end=$((SECONDS + secs))
    while ! "$@" >/dev/null 2>&1; do
        if [ -n "$pidfile" ] && ! pid_alive "$pidfile"; then
            fail "$name" "$logfile" "the process exited"
        fi
        if [ "$SECONDS" -ge "$end" ]; then
            fail "$name" "$logfile" "not ready after ${secs}s"
        fi
        sleep 0.5
    done
}

# pid_alive PIDFILE: true when the pid in PIDFILE names a live process.
pid_alive() {
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pid NAME PIDFILE: TERM the process, wait up to 15 s, then KILL it.
stop_pid() {
    local name=$1 pidfile=$2 pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name did not stop on TERM, killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

# spawn PIDFILE LOGFILE CMD...: start CMD detached, stdout/stderr to LOGFILE.
spawn() {
    local pidfile=$1 logfile=$2
    shift 2
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
    setsid "$@" >>"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}
