# Shared helpers for the test bed scripts. Sourced, never run.
# Every daemon is started in the background with its pid written to a file
# and stopped by that pid: nothing here touches processes it did not start.

set -euo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# The Ceph release of the bed (CEPH_RELEASE=pacific|reef|tentacle). Pacific
# is the host's own (Debian bookworm); the others run from a Debian root of
# their suite under $ROOTS (testbed/release.sh), through the wrappers in
# $BED/bin. Each release has its own bed, venv and ports, so that two beds
# can be up at once: mons, Keystone and Glance at PORT_OFFSET from
# Pacific's (v1 mon ports below 6789, clear of the OSDs' 6800-7300).
# PORT_OFFSET may be set (a second checkout's beds beside the first's).
CEPH_RELEASE=${CEPH_RELEASE:-pacific}
case $CEPH_RELEASE in
pacific) SUITE=bookworm offset=0 ;;
tentacle) SUITE=sid offset=10 ;;
reef) SUITE=trixie offset=20 ;;
*)
    echo "unknown CEPH_RELEASE '$CEPH_RELEASE' (pacific, reef or tentacle)" >&2
    exit 2
    ;;
esac
ROOTS=${ROOTS:-$TOP/.roots}
# The release's root; empty for Pacific, whose tools are the host's.
ROOT=
[ "$CEPH_RELEASE" = pacific ] || ROOT=$ROOTS/$CEPH_RELEASE
BED=${BED:-$TOP/.testbed/$CEPH_RELEASE}
# A bed keeps the ports it was made with (testbed/up.sh records them).
if [ -z "${PORT_OFFSET:-}" ] && [ -f "$BED/port_offset" ]; then
    PORT_OFFSET=$(cat "$BED/port_offset")
fi
PORT_OFFSET=${PORT_OFFSET:-$offset}
if [ "$CEPH_RELEASE" = pacific ]; then
    VENV=${VENV:-$TOP/.venv}
else
    VENV=${VENV:-$TOP/.venv-$CEPH_RELEASE}
fi
export TOP CEPH_RELEASE ROOTS BED VENV PORT_OFFSET
# The release's tools (ceph, rbd, ceph-mon, python3, ...) come first.
case ":$PATH:" in
*":$BED/bin:"*) ;;
*) PATH=$BED/bin:$PATH ;;
esac

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

# mount_points_under DIR: the mount points at DIR or below it, deepest
# first (from /proc/self/mountinfo; paths without spaces).
mount_points_under() {
    local dir=$1
    awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print length($5), $5 }' \
        /proc/self/mountinfo | sort -rn | cut -d' ' -f2-
}

# safe_rm DIR: remove DIR recursively, refusing while anything is mounted
# in it (a root's bind mounts hold the project and /tmp: a recursive
# remove through them would delete those). --one-file-system as a second
# guard (it does not see bind mounts of the same file system, hence the
# check).
safe_rm() {
    local dir=$1 m
    [ -e "$dir" ] || return 0
    dir=$(realpath -e "$dir")
    case $dir in
    / | "$TOP" | /tmp | /work | "$HOME")
        echo "safe_rm: refusing to remove $dir" >&2
        exit 1
        ;;
    esac
    m=$(mount_points_under "$dir")
    if [ -n "$m" ]; then
        printf 'safe_rm: %s has mounts inside; not removing it:\n%s\n' "$dir" "$m" >&2
        exit 1
    fi
    rm -rf --one-file-system "$dir"
}
