#!/usr/bin/env bash
# Brings the whole test bed of CEPH_RELEASE up (or checks it when it is up
# already) and writes $BED/env; .testbed/env links to the env of the bed
# brought up last. Prints how long it took.
#
#   up.sh          the release's root, Ceph clusters, Keystone, Glance and Cinder
#   up.sh ceph     the root and the Ceph clusters only (env without the cloud)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start=$EPOCHREALTIME
what=${1:-all}
mkdir -p "$BED"

# A bed belongs to one release.
if [ -f "$BED/release" ] && [ "$(cat "$BED/release")" != "$CEPH_RELEASE" ]; then
    echo "the test bed $BED is of Ceph $(cat "$BED/release"), not $CEPH_RELEASE;" \
        "use another BED or remove it with 'make testbed-clean CEPH_RELEASE=$(cat "$BED/release")'" >&2
    exit 1
fi
echo "$CEPH_RELEASE" >"$BED/release"
if [ -f "$BED/port_offset" ] && [ "$(cat "$BED/port_offset")" != "$PORT_OFFSET" ]; then
    echo "the test bed $BED was made with PORT_OFFSET=$(cat "$BED/port_offset");" \
        "run 'make testbed-clean' first to make it with PORT_OFFSET=$PORT_OFFSET" >&2
    exit 1
fi
echo "$PORT_OFFSET" >"$BED/port_offset"
if [ -d "$TOP/.testbed/main" ]; then
    log "note: $TOP/.testbed/main is a bed of the old layout (one release);" \
        "each release's bed is now $TOP/.testbed/<release>"
fi

# A bed created in one messenger mode keeps it: say so rather than
# silently mixing modes.
if [ -f "$BED/ms_mode" ] && [ -n "${MS_MODE:-}" ] &&
    [ "$(cat "$BED/ms_mode")" != "$MS_MODE" ]; then
    echo "the test bed was created with MS_MODE=$(cat "$BED/ms_mode");" \
        "run 'make testbed-clean' first to recreate it with MS_MODE=$MS_MODE" >&2
    exit 1
fi
MS_MODE=${MS_MODE:-$(cat "$BED/ms_mode" 2>/dev/null || echo crc)}
export MS_MODE
echo "$MS_MODE" >"$BED/ms_mode"

bash "$TOP/testbed/release.sh" prepare
bash "$TOP/testbed/ceph.sh" up main other noauth
if [ "$what" = all ]; then
    bash "$TOP/testbed/openstack.sh" up
else
    rm -f "$BED/openstack.env"
fi

q() { printf "'%s'" "$1"; }
version=$("$BED/bin/ceph" --version) || fail ceph "" "$BED/bin/ceph --version failed"
bedvars="CEPH_RELEASE=$CEPH_RELEASE BED=$BED"
{
    echo "# The test bed's settings; source this file. Written by testbed/up.sh."
    echo "# The Ceph release; its tools (ceph, rados, rbd, osdmaptool, ...) are wrappers"
    echo "# in RBD_NATIVE_CEPH_BIN that run them from the release's root."
    echo "export RBD_NATIVE_CEPH_RELEASE=$(q "$CEPH_RELEASE")"
    echo "export RBD_NATIVE_CEPH_VERSION=$(q "$version")"
    echo "export RBD_NATIVE_CEPH_BIN=$(q "$BED/bin")"
    echo "# Python with the release's rados/rbd bindings; the venv's (Keystone, Glance, Cinder)"
    echo "export RBD_NATIVE_SYSTEM_PYTHON=$(q "$BED/bin/python3")"
    echo "export RBD_NATIVE_VENV_PYTHON=$(q "$BED/bin/venv-python")"
    echo "export CEPH_CONF=$(q "$BED/main/ceph.conf")"
    echo "export CEPH_ADMIN_KEYRING=$(q "$BED/main/ceph.client.admin.keyring")"
    echo "export CEPH_CINDER_KEYRING=$(q "$BED/main/ceph.client.cinder.keyring")"
    echo "export CEPH_GLANCE_KEYRING=$(q "$BED/main/ceph.client.glance.keyring")"
    echo "export CEPH_CONF_OTHER=$(q "$BED/other/ceph.conf")"
    echo "export CEPH_ADMIN_KEYRING_OTHER=$(q "$BED/other/ceph.client.admin.keyring")"
    echo "export CEPH_GLANCE_KEYRING_OTHER=$(q "$BED/other/ceph.client.glance.keyring")"
    echo "export CEPH_CINDER_KEYRING_OTHER=$(q "$BED/other/ceph.client.cinder.keyring")"
    echo "# a monitor alone with authentication off (auth none)"
    echo "export CEPH_CONF_NOAUTH=$(q "$BED/noauth/ceph.conf")"
    echo "export RBD_NATIVE_MS_MODE=$(q "$MS_MODE")"
    echo "# cluster other refuses crc clients whatever MS_MODE says"
    echo "export RBD_NATIVE_MS_MODE_OTHER='secure'"
    echo "# how tests restart a monitor of cluster main (stop, then start)"
    echo "export RBD_NATIVE_MON_RESTART_CMD=$(q "$bedvars bash $TOP/testbed/ceph.sh restart-mon main")"
    echo "# how tests stop and start one OSD of cluster main ({id}: its number)"
    echo "export RBD_NATIVE_OSD_STOP_CMD=$(q "$bedvars bash $TOP/testbed/ceph.sh stop-osd {id} main")"
    echo "export RBD_NATIVE_OSD_START_CMD=$(q "$bedvars bash $TOP/testbed/ceph.sh start-osd {id} main")"
    echo "# how tests send a signal ({sig}: STOP, CONT...) to monitor {id} (a, b, c)"
    echo "# or OSD {id} of cluster main"
    echo "export RBD_NATIVE_MON_SIGNAL_CMD=$(q "$bedvars bash $TOP/testbed/ceph.sh signal-mon {id} {sig} main")"
    echo "export RBD_NATIVE_OSD_SIGNAL_CMD=$(q "$bedvars bash $TOP/testbed/ceph.sh signal-osd {id} {sig} main")"
    echo "# cluster main's erasure-coded data pool (k=2 m=1, overwrites allowed)"
    echo "export RBD_NATIVE_EC_POOL=ecdata"
    if [ -f "$BED/openstack.env" ]; then
        cat "$BED/openstack.env"
    else
        echo "# no Keystone/Glance/Cinder on this bed (testbed/up.sh ceph)"
    fi
} >"$BED/env.tmp"
mv "$BED/env.tmp" "$BED/env"
# The tests read .testbed/env by default: the bed brought up last.
if [ "$(dirname "$BED")" = "$TOP/.testbed" ]; then
    ln -sfn "$(basename "$BED")/env" "$TOP/.testbed/env"
fi

log "Ceph $CEPH_RELEASE ($version) up in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s; settings in $BED/env (source it)"
