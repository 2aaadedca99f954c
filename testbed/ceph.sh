#!/usr/bin/env bash
# Ceph clusters of the test bed, from Debian's packages: the host's
# (Pacific) or a release's root (CEPH_RELEASE, testbed/release.sh), whose
# tools come first on PATH from $BED/bin (lib.sh). Mon ports are Pacific's
# below, moved by the release's PORT_OFFSET (lib.sh).
#
#   ceph.sh up [main|other]...     create (first time) or start, then check
#   ceph.sh down [main|other]...   stop the daemons (by pid), keep the data
#   ceph.sh status [main|other]... print `ceph -s` of each cluster
#
# "main": 3 mons (a, b, c; v2 + v1), 1 mgr, 3 bluestore OSDs on sparse
# files, pools volumes and images, an erasure-coded pool ecdata (k=2 m=1,
# overwrites allowed: RBD data pools), users admin, cinder and glance;
# cephx everywhere.
# "other": an independent cluster (own fsid, ports, data): 1 mon, 1 mgr,
# 1 OSD, pool images, users admin, glance and cinder.
# "noauth": a monitor alone with authentication off (auth none).
# MS_MODE=crc (default: daemons accept crc and secure, clients prefer crc) or
# MS_MODE=secure (every connection must be secure), chosen at creation time,
# sets cluster main's mode. Cluster "other" always requires secure mode, so
# that every run of the tests has a cluster that refuses crc clients.
#
#   ceph.sh restart-mon main|other  stop and start monitor a (for tests)
#   ceph.sh signal-mon ID SIGNAL [main|other]  send SIGNAL (STOP, CONT...)
#                                  to monitor ID (a, b, c), for tests
#   ceph.sh signal-osd ID SIGNAL [main|other]  the same for one OSD
#   ceph.sh stop-osd ID [main|other]   stop one OSD (TERM, then KILL), for tests
#   ceph.sh start-osd ID [main|other]  start it again and wait until it is up
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MS_MODE=${MS_MODE:-crc}
OSD_BLOCK_SIZE=${OSD_BLOCK_SIZE:-$((40 * 1024 * 1024 * 1024))}

# cluster_vars NAME: set the variables that describe one cluster.
cluster_vars() {
    NAME=$1
    DIR=$BED/$NAME
    CONF=$DIR/ceph.conf
    case $NAME in
    main)
        V2PORT=${MAIN_MON_V2_PORT:-$((3300 + PORT_OFFSET))}
        V1PORT=${MAIN_MON_V1_PORT:-$((6789 - PORT_OFFSET))}
        NOSD=3
        # Three monitors, as a production cluster has: a quorum survives
        # one monitor stopped. b and c sit on the ports after noauth's.
        MONS="a b c"
        MON_V2PORTS="$V2PORT $((3303 + PORT_OFFSET)) $((3304 + PORT_OFFSET))"
        MON_V1PORTS="$V1PORT $((6786 - PORT_OFFSET)) $((6785 - PORT_OFFSET))"
        POOLS="volumes images"
        EC_POOL=ecdata
        ;;
    other)
        V2PORT=${OTHER_MON_V2_PORT:-$((3301 + PORT_OFFSET))}
        V1PORT=${OTHER_MON_V1_PORT:-$((6788 - PORT_OFFSET))}
        NOSD=1
        MONS=a MON_V2PORTS=$V2PORT MON_V1PORTS=$V1PORT
        POOLS="images"
        EC_POOL=
        ;;
    noauth)
        # A monitor alone, with authentication off: clients using the
        # "none" method are tested against it.
        V2PORT=${NOAUTH_MON_V2_PORT:-$((3302 + PORT_OFFSET))}
        V1PORT=${NOAUTH_MON_V1_PORT:-$((6787 - PORT_OFFSET))}
        NOSD=0
        MONS=a MON_V2PORTS=$V2PORT MON_V1PORTS=$V1PORT
        POOLS=""
        EC_POOL=
        ;;
    *)
        echo "unknown cluster '$NAME' (main, other or noauth)" >&2
        exit 2
        ;;
    esac
}

ceph_() { timeout 60 ceph -c "$CONF" --connect-timeout 20 "$@"; }

# mon_addrs: "[v2:...,v1:...],[...]" for every monitor of the cluster;
# mon_addr ID: one monitor's.
mon_addr() {
    local i=0 id v2 v1
    read -ra v2 <<<"$MON_V2PORTS"
    read -ra v1 <<<"$MON_V1PORTS"
    for id in $MONS; do
        if [ "$id" = "$1" ]; then
            echo "[v2:127.0.0.1:${v2[$i]},v1:127.0.0.1:${v1[$i]}]"
            return 0
        fi
        i=$((i + 1))
    done
    echo "cluster $NAME has monitors $MONS, not '$1'" >&2
    exit 2
}
mon_addrs() {
    local id out=
    for id in $MONS; do out=${out:+$out,}$(mon_addr "$id"); done
    echo "$out"
}

write_conf() {
    local fsid=$1 mode_svc mode_cli mode=$MS_MODE auth=cephx
    [ "$NAME" = noauth ] && auth=none
    [ "$NAME" = other ] && mode=secure
    # Without cephx there are no keys for secure mode: crc whatever MS_MODE says.
    [ "$NAME" = noauth ] && mode=crc
    if [ "$mode" = secure ]; then
        mode_svc=secure
        mode_cli=secure
    elif [ "$mode" = crc ]; then
        mode_svc="crc secure"
        mode_cli="crc secure"
    else
        echo "MS_MODE must be crc or secure, not '$MS_MODE'" >&2
        exit 2
    fi
    cat >"$CONF" <<CONF
# Written by testbed/ceph.sh for the test bed's cluster "$NAME".
[global]
fsid = $fsid
mon_host = $(mon_addrs)
auth_cluster_required = $auth
auth_service_required = $auth
auth_client_required = $auth
keyring = $DIR/ceph.\$name.keyring
ms_cluster_mode = $mode_svc
ms_service_mode = $mode_svc
ms_client_mode = $mode_cli
ms_mon_cluster_mode = $mode_svc
ms_mon_service_mode = $mode_svc
ms_mon_client_mode = $mode_cli
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
mon_cluster_log_file = $DIR/log/cluster.log
osd_crush_chooseleaf_type = 0
osd_pool_default_size = $NOSD
osd_pool_default_min_size = 1
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_delete = true
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1
auth_allow_insecure_global_id_reclaim = false
# The OSDs share one host: count each OSD as a reporter of a peer's
# failure (the default counts hosts), so that an OSD that stops answering
# is marked down after the heartbeat grace, as on a cluster of hosts.
mon_osd_reporter_subtree_level = osd

[mon]
keyring = $DIR/mon.\$id/keyring
mon_data = $DIR/mon.\$id

[mgr]
keyring = $DIR/mgr.\$id/keyring
mgr_data = $DIR/mgr.\$id
public_addr = 127.0.0.1

[osd]
keyring = $DIR/osd.\$id/keyring
osd_data = $DIR/osd.\$id
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
osd_objectstore = bluestore
bluestore_block_path = $DIR/blocks/osd.\$id.block
bluestore_block_create = true
bluestore_block_size = $OSD_BLOCK_SIZE
bluestore_fsck_on_mkfs = false
bluestore_fsck_on_mount = false
# First-fit allocation: space freed by deleted objects is reused before the
# sparse block files grow (the default hybrid allocator keeps moving
# forward, and the files never give space back to the host).
bluestore_allocator = bitmap
bluefs_allocator = bitmap
osd_memory_target = 1073741824
CONF
}

# quiet WHAT CMD...: run CMD, show its output only when it fails.
quiet() {
    local what=$1 out
    shift
    out=$("$@" 2>&1) || {
        printf '%s\n' "$out" >"$DIR/log/last-failed-command.out"
        fail "$what" "$DIR/log/last-failed-command.out" "command failed: $*"
    }
}

mon_pidfile() { echo "$DIR/run/mon.${1:-a}.pid"; }
mgr_pidfile() { echo "$DIR/run/mgr.x.pid"; }
osd_pidfile() { echo "$DIR/run/osd.$1.pid"; }

# start_mon [ID]: one monitor (every monitor without ID).
start_mon() {
    local id
    for id in ${1:-$MONS}; do
        pid_alive "$(mon_pidfile "$id")" && continue
        spawn "$(mon_pidfile "$id")" "$DIR/log/mon.$id.out" \
            ceph-mon -c "$CONF" -i "$id" -f
    done
}

start_mgr() {
    pid_alive "$(mgr_pidfile)" && return 0
    spawn "$(mgr_pidfile)" "$DIR/log/mgr.x.out" ceph-mgr -c "$CONF" -i x -f
}

start_osd() {
    pid_alive "$(osd_pidfile "$1")" && return 0
    spawn "$(osd_pidfile "$1")" "$DIR/log/osd.$1.out" ceph-osd -c "$CONF" -i "$1" -f
}

# wait_mon: every monitor of the cluster in the quorum.
wait_mon() {
    local want id
    want=$(echo $MONS | wc -w)
    in_quorum() {
        ceph_ quorum_status -f json | python3 -c \
            'import json,sys; sys.exit(0 if len(json.load(sys.stdin)["quorum"]) == int(sys.argv[1]) else 1)' "$want"
    }
    wait_until 90 "$NAME/mon" "$DIR/log/mon.a.log" "$(mon_pidfile a)" in_quorum
    for id in $MONS; do
        pid_alive "$(mon_pidfile "$id")" ||
            fail "$NAME/mon.$id" "$DIR/log/mon.$id.log" "the process exited"
    done
}

# create: a new cluster from nothing. Leaves $DIR/.created when complete.
create() {
    local fsid key uuid id i
    safe_rm "$DIR"
    mkdir -p "$DIR"/{run,log,blocks,mgr.x}
    fsid=$(uuidgen)
    write_conf "$fsid"
    log "$NAME: creating cluster $fsid (mons $(mon_addrs), $NOSD OSD(s), ms mode $(grep -m1 '^ms_service_mode' "$CONF" | cut -d= -f2 | xargs))"

    ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. \
        --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring "$DIR/ceph.client.admin.keyring" --gen-key \
        -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
        --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    ceph-authtool "$DIR/mon.keyring" \
        --import-keyring "$DIR/ceph.client.admin.keyring" >/dev/null
    local addv=()
    for id in $MONS; do addv+=(--addv "$id" "$(mon_addr "$id")"); done
    monmaptool --create --fsid "$fsid" "${addv[@]}" "$DIR/monmap" >/dev/null
    for id in $MONS; do
        ceph-mon -c "$CONF" --mkfs -i "$id" --monmap "$DIR/monmap" \
            --keyring "$DIR/mon.keyring" >"$DIR/log/mon.$id.mkfs" 2>&1 ||
            fail "$NAME/mon.$id" "$DIR/log/mon.$id.mkfs" "mkfs failed"
    done
    start_mon
    wait_mon

    if [ "$NOSD" -eq 0 ]; then
        touch "$DIR/.created"
        return 0
    fi
    ceph_ auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' \
        mds 'allow *' -o "$DIR/mgr.x/keyring" >/dev/null
    start_mgr

    # OSDs: id and key from the monitor, then mkfs in parallel.
    local mkfs_pids=()
    for i in $(seq 1 "$NOSD"); do
        uuid=$(uuidgen)
        key=$(ceph-authtool --gen-print-key)
        printf '{"cephx_secret": "%s"}' "$key" >"$DIR/osd-secret.json"
        id=$(ceph_ osd new "$uuid" -i "$DIR/osd-secret.json")
        rm -f "$DIR/osd-secret.json"
        mkdir -p "$DIR/osd.$id"
        ceph-authtool --create-keyring "$DIR/osd.$id/keyring" \
            --name "osd.$id" --add-key "$key" >/dev/null
        (ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$uuid" \
            >"$DIR/log/osd.$id.mkfs" 2>&1 ||
            fail "$NAME/osd.$id" "$DIR/log/osd.$id.mkfs" "mkfs failed") &
        mkfs_pids+=($!)
    done
    for i in "${mkfs_pids[@]}"; do
        wait "$i" || exit 1
    done
    for i in $(seq 0 $((NOSD - 1))); do
        start_osd "$i"
    done
    wait_osds

    local pool
    for pool in $POOLS; do
        quiet "$NAME/pool $pool" ceph_ osd pool create "$pool" 32 32
        quiet "$NAME/pool $pool" ceph_ osd pool application enable "$pool" rbd
        quiet "$NAME/pool $pool" timeout 60 rbd -c "$CONF" pool init "$pool"
    done
    # An erasure-coded data pool (k=2 m=1 over the three OSDs), the layout
    # operators use for capacity: image headers stay in a replicated pool,
    # data objects go here (`rbd create --data-pool`).
    if [ -n "$EC_POOL" ]; then
        quiet "$NAME/pool $EC_POOL" ceph_ osd erasure-code-profile set ec21 \
            k=2 m=1 crush-failure-domain=osd
        quiet "$NAME/pool $EC_POOL" ceph_ osd pool create "$EC_POOL" 16 16 erasure ec21
        quiet "$NAME/pool $EC_POOL" ceph_ osd pool set "$EC_POOL" allow_ec_overwrites true
        quiet "$NAME/pool $EC_POOL" ceph_ osd pool application enable "$EC_POOL" rbd
    fi

    case $NAME in
    main)
        ceph_ auth get-or-create client.cinder mon 'profile rbd' \
            osd "profile rbd pool=volumes, profile rbd pool=images, profile rbd pool=$EC_POOL" \
            -o "$DIR/ceph.client.cinder.keyring" >/dev/null
        ;;
    other)
        # So that both users are tested against a secure-only cluster.
        ceph_ auth get-or-create client.cinder mon 'profile rbd' \
            osd 'profile rbd pool=images' \
            -o "$DIR/ceph.client.cinder.keyring" >/dev/null
        ;;
    esac
    # Glance reads the images it serves; a copy-on-write clone of a Cinder
    # volume reads through to its parent in volumes, hence read-only
    # access there (on cluster main, where volumes live).
    local glance_osd='profile rbd pool=images'
    [ "$NAME" = main ] && glance_osd="profile rbd pool=images, profile rbd-read-only pool=volumes, profile rbd-read-only pool=$EC_POOL"
    ceph_ auth get-or-create client.glance mon 'profile rbd' osd "$glance_osd" \
        -o "$DIR/ceph.client.glance.keyring" >/dev/null
    touch "$DIR/.created"
}

wait_osds() {
    local i
    check_osds() {
        local up
        up=$(ceph_ osd stat -f json | python3 -c \
            'import json,sys; d=json.load(sys.stdin); print(d["num_up_osds"], d["num_in_osds"])')
        [ "$up" = "$NOSD $NOSD" ]
    }
    local end=$((SECONDS + 90))
    while ! check_osds 2>/dev/null; do
        for i in $(seq 0 $((NOSD - 1))); do
            pid_alive "$(osd_pidfile "$i")" ||
                fail "$NAME/osd.$i" "$DIR/log/osd.$i.log" "the process exited"
        done
        [ "$SECONDS" -lt "$end" ] ||
            fail "$NAME/osd" "$DIR/log/osd.0.log" "not all $NOSD OSDs up and in after 90s"
        sleep 0.5
    done
}

# wait_clean: every PG active+clean (needs the mgr for PG stats).
wait_clean() {
    check_clean() {
        ceph_ pg stat -f json | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d.get("pg_summary", d)
total = s["num_pgs"]
clean = sum(x["num"] for x in s["num_pg_by_state"] if x["name"] == "active+clean")
sys.exit(0 if total > 0 and clean == total else 1)'
    }
    local end=$((SECONDS + 120))
    while ! check_clean 2>/dev/null; do
        pid_alive "$(mgr_pidfile)" ||
            fail "$NAME/mgr.x" "$DIR/log/mgr.x.log" "the process exited"
        [ "$SECONDS" -lt "$end" ] ||
            fail "$NAME/pgs" "$DIR/log/cluster.log" "PGs not all active+clean after 120s: $(ceph_ pg stat 2>&1)"
        sleep 1
    done
}

up_one() {
    cluster_vars "$1"
    local i
    local id
    for id in $MONS; do
        if [ -f "$DIR/.created" ] && [ ! -d "$DIR/mon.$id" ]; then
            fail "$NAME/mon.$id" "" "this bed was made with fewer monitors; remove it (make testbed-clean) and make it again"
        fi
    done
    if [ ! -f "$DIR/.created" ]; then
        create
    elif [ "$NOSD" -eq 0 ]; then
        start_mon
        wait_mon
    else
        start_mon
        wait_mon
        start_mgr
        for i in $(seq 0 $((NOSD - 1))); do
            start_osd "$i"
        done
        wait_osds
    fi
    if [ "$NOSD" -eq 0 ]; then
        log "$NAME: ready, fsid $(ceph_ fsid), monitor only"
        return 0
    fi
    wait_clean
    log "$NAME: ready, fsid $(ceph_ fsid), $NOSD OSD(s) up and in, PGs active+clean"
}

down_one() {
    cluster_vars "$1"
    local i
    [ -d "$DIR" ] || return 0
    for i in $(seq 0 $((NOSD - 1))); do
        stop_pid "$NAME/osd.$i" "$(osd_pidfile "$i")"
    done
    stop_pid "$NAME/mgr.x" "$(mgr_pidfile)"
    local id
    for id in $MONS; do
        # A stopped (SIGSTOP) monitor left by a failed test still ends.
        kill -CONT "$(cat "$(mon_pidfile "$id")" 2>/dev/null)" 2>/dev/null || true
        stop_pid "$NAME/mon.$id" "$(mon_pidfile "$id")"
    done
}

restart_mon_one() {
    cluster_vars "$1"
    stop_pid "$NAME/mon.a" "$(mon_pidfile a)"
    start_mon a
    wait_mon
    log "$NAME: monitor a restarted"
}

# signal_one KIND ID SIGNAL CLUSTER: send SIGNAL to monitor or OSD ID,
# by its pid file.
signal_one() {
    local kind=$1 id=$2 sig=$3 pidfile
    cluster_vars "$4"
    case $kind in
    mon) mon_addr "$id" >/dev/null && pidfile=$(mon_pidfile "$id") ;;
    osd) osd_id_check "$id" && pidfile=$(osd_pidfile "$id") ;;
    esac
    pid_alive "$pidfile" || {
        echo "$NAME/$kind.$id is not running" >&2
        exit 1
    }
    kill -s "$sig" "$(cat "$pidfile")"
    log "$NAME: SIG$sig sent to $kind.$id"
}

# osd_id_check ID: ID must name one of this cluster's OSDs.
osd_id_check() {
    case $1 in
    '' | *[!0-9]*)
        echo "OSD id must be a number, not '$1'" >&2
        exit 2
        ;;
    esac
    if [ "$1" -ge "$NOSD" ]; then
        echo "cluster $NAME has OSDs 0 to $((NOSD - 1)), not $1" >&2
        exit 2
    fi
}

# stop_osd_one ID CLUSTER: stop one OSD by its pid file (the monitor marks
# it down when it shuts down, or its peers report it).
stop_osd_one() {
    cluster_vars "$2"
    osd_id_check "$1"
    stop_pid "$NAME/osd.$1" "$(osd_pidfile "$1")"
    log "$NAME: osd.$1 stopped"
}

# start_osd_one ID CLUSTER: start one OSD (if it is not running) and wait
# until the monitor has it up.
start_osd_one() {
    cluster_vars "$2"
    osd_id_check "$1"
    start_osd "$1"
    local id=$1
    osd_up() {
        ceph_ osd dump -f json | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(o["osd"] == int(sys.argv[1]) and o["up"] == 1 for o in d["osds"]) else 1)' "$id"
    }
    wait_until 120 "$NAME/osd.$id" "$DIR/log/osd.$id.log" "$(osd_pidfile "$id")" osd_up
    log "$NAME: osd.$id started and up"
}

status_one() {
    cluster_vars "$1"
    echo "== cluster $NAME ($CONF)"
    ceph_ -s
}

cmd=${1:-}
shift || true
clusters=("$@")
[ ${#clusters[@]} -gt 0 ] || clusters=(main other noauth)
case $cmd in
up)
    # The clusters are independent: bring them up side by side.
    pids=()
    for c in "${clusters[@]}"; do
        up_one "$c" &
        pids+=($!)
    done
    rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    exit $rc
    ;;
down) for c in "${clusters[@]}"; do down_one "$c"; done ;;
status) for c in "${clusters[@]}"; do status_one "$c"; done ;;
restart-mon) for c in "${clusters[@]}"; do restart_mon_one "$c"; done ;;
signal-mon | signal-osd)
    [ $# -ge 2 ] || {
        echo "usage: $0 $cmd ID SIGNAL [main|other]" >&2
        exit 2
    }
    signal_one "${cmd#signal-}" "$1" "$2" "${3:-main}"
    ;;
stop-osd | start-osd)
    # ceph.sh stop-osd|start-osd ID [CLUSTER] (cluster main by default)
    [ $# -ge 1 ] || {
        echo "usage: $0 $cmd ID [main|other]" >&2
        exit 2
    }
    id=$1
    cluster=${2:-main}
    if [ "$cmd" = stop-osd ]; then
        stop_osd_one "$id" "$cluster"
    else
        start_osd_one "$id" "$cluster"
    fi
    ;;
*)
    echo "usage: $0 up|down|status|restart-mon [main|other]... | stop-osd|start-osd ID [main|other]" >&2
    exit 2
    ;;
esac
