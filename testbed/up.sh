#!/usr/bin/env bash
# Brings the whole test bed up (or checks it when it is up already) and
# writes $BED/env. Prints how long it took.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start=$EPOCHREALTIME
mkdir -p "$BED"

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

bash "$TOP/testbed/ceph.sh" up main other noauth
bash "$TOP/testbed/openstack.sh" up

q() { printf "'%s'" "$1"; }
{
    echo "# The test bed's settings; source this file. Written by testbed/up.sh."
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
    echo "export RBD_NATIVE_MON_RESTART_CMD=$(q "bash $TOP/testbed/ceph.sh restart-mon main")"
    echo "# how tests stop and start one OSD of cluster main ({id}: its number)"
    echo "export RBD_NATIVE_OSD_STOP_CMD=$(q "bash $TOP/testbed/ceph.sh stop-osd {id} main")"
    echo "export RBD_NATIVE_OSD_START_CMD=$(q "bash $TOP/testbed/ceph.sh start-osd {id} main")"
    cat "$BED/openstack.env"
} >"$BED/env.tmp"
mv "$BED/env.tmp" "$BED/env"

log "up in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s; settings in $BED/env (source it)"
