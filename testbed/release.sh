#!/usr/bin/env bash
# The Ceph release a test bed runs (CEPH_RELEASE=pacific|reef|tentacle).
#
#   release.sh prepare   the release's root (built once), its mounts and
#                        the wrappers in $BED/bin
#   release.sh root      build the root only (debootstrap + apt), if needed
#   release.sh mount     bind the root's mounts (idempotent; ROOT_EXTRA_BINDS:
#                        more host folders, e.g. another worktree)
#   release.sh umount    unmount them (refuses while something uses them)
#   release.sh clean-bed unmount, then remove the bed ($BED; daemons stopped)
#   release.sh clean     unmount, then remove the root and its venv
#
# Pacific is the host's own Ceph (Debian bookworm's packages, `make deps`):
# it has no root, and its wrappers run the host's tools. Reef (Debian
# trixie) and Tentacle (Debian sid) live in a root of their suite made by
# `debootstrap --variant=minbase` in $ROOTS/<release>, with the release's
# Ceph, its Python and its rados/rbd bindings. The root sees the host's
# /proc, /sys, /dev (with a /dev/shm of its own), and the project ($TOP,
# which holds the beds, the venvs and target/) and /tmp at the same
# absolute paths as the host: every path in a ceph.conf, a keyring or a
# test's temporary file means the same inside and out.
#
# The wrappers in $BED/bin (ceph, rados, rbd, the daemons, the map tools,
# python3 = the release's system Python with its bindings, venv-python =
# the bed's venv, in-root = any command) enter the root, go to the caller's
# directory when it exists there, and exec the tool: a daemon started
# through one keeps the pid the caller saw.
#
# A root with the project, /tmp and /dev bound inside must never be removed
# by a recursive rm while mounted: `clean` unmounts first and removes with
# safe_rm (lib.sh), which refuses while anything is mounted inside.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# What a root holds: the release's Ceph, its Python bindings, a venv-capable
# Python for Keystone/Glance/Cinder, CA certificates for pip, curl (the
# benchmark of Glance's own ingest sends with it). The stamp holds this
# list: a root made with another list gets the packages again.
ROOT_PACKAGES="ceph-mon ceph-osd ceph-mgr ceph-common python3-rados python3-rbd \
python3-venv ca-certificates curl"
ROOT_STAMP=.rbd-native-root
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WRAPPED_TOOLS="ceph rados rbd ceph-authtool ceph-conf ceph-mon ceph-osd ceph-mgr \
osdmaptool crushtool monmaptool ceph-dencoder"

# in_root CMD...: run CMD inside the root (no wrappers needed).
in_root() {
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

is_mounted() {
    awk -v p="$1" '$5 == p { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# bind SRC DST: a private bind mount (nothing propagates back to SRC).
bind() {
    is_mounted "$2" && return 0
    mkdir -p "$2"
    mount --bind "$1" "$2"
    mount --make-private "$2"
}

mount_root() {
    [ -n "$ROOT" ] || return 0
    [ -x "$ROOT/usr/bin/env" ] || fail "$CEPH_RELEASE root" "" "$ROOT is not a root (make testbed builds it)"
    mkdir -p "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp"
    is_mounted "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
    bind /sys "$ROOT/sys"
    bind /dev "$ROOT/dev"
    if ! is_mounted "$ROOT/dev/shm"; then
        mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$ROOT/dev/shm"
    fi
    # A checkout under /tmp is seen through the /tmp bind (a bind of its own
    # would lie beneath it, shadowed, and could not be unmounted).
    case $(realpath -e "$TOP")/ in
    /tmp/*) ;;
    *) bind "$TOP" "$ROOT$TOP" ;;
    esac
    bind /tmp "$ROOT/tmp"
    # More host folders at their own paths, for tests run from another
    # checkout (a git worktree, say) against this bed:
    # ROOT_EXTRA_BINDS="/work/wt" testbed/release.sh mount.
    local d
    for d in ${ROOT_EXTRA_BINDS:-}; do
        case $d in
        /*) bind "$d" "$ROOT$d" ;;
        *) fail "$CEPH_RELEASE root" "" "ROOT_EXTRA_BINDS: '$d' is not an absolute path" ;;
        esac
    done
    # The Ceph object corpus the tests give the release's crushtool and
    # osdmaptool (CEPH_OBJECT_CORPUS, set by the Makefile), when it lies
    # outside the folders bound already.
    local c=${CEPH_OBJECT_CORPUS:-}
    if [ -n "$c" ] && [ -d "$c" ]; then
        c=$(realpath -e "$c")
        case $c/ in
        "$(realpath -e "$TOP")"/* | /tmp/*) ;;
        *) bind "$c" "$ROOT$c" ;;
        esac
    fi
    # The host's name resolution and CA certificates (a proxy's CA the host
    # trusts included), for apt and pip.
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    if [ -f /etc/ssl/certs/ca-certificates.crt ] && [ -d "$ROOT/etc/ssl/certs" ]; then
        cmp -s /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt" ||
            cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
    fi
}

umount_root() {
    [ -n "$ROOT" ] || return 0
    [ -d "$ROOT" ] || return 0
    local m
    while read -r m; do
        [ -n "$m" ] || continue
        umount "$m" 2>/dev/null || fail "$CEPH_RELEASE root" "" \
            "cannot unmount $m (still in use? stop the bed first: make testbed-down CEPH_RELEASE=$CEPH_RELEASE)"
    done < <(mount_points_under "$(realpath -e "$ROOT")")
}

# apt_in_root ARGS...: apt-get in the root; sid's Release file may be past
# its Valid-Until date, hence the option (set for good in build_root).
apt_in_root() {
    in_root apt-get -q -y -o Dpkg::Use-Pty=0 "$@"
}

# build_root: debootstrap (once: a half-made one is removed and made
# again), then the packages it lacks, then a check that the
# tools run. The stamp says the root is complete, with which packages.
root_complete() {
    [ -f "$ROOT/$ROOT_STAMP" ] && [ "$(cat "$ROOT/$ROOT_STAMP")" = "$ROOT_PACKAGES" ]
}

build_root() {
    [ -n "$ROOT" ] || return 0
    root_complete && return 0
    local start=$SECONDS logfile=$ROOTS/$CEPH_RELEASE.log
    mkdir -p "$ROOTS"
    # One builder at a time; a second one waits, then finds the stamp.
    exec 9>"$ROOTS/.$CEPH_RELEASE.lock"
    flock 9
    root_complete && return 0
    command -v debootstrap >/dev/null || {
        log "installing debootstrap"
        apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
            fail debootstrap "" "apt-get install debootstrap failed"
    }
    if [ ! -f "$ROOT/.rbd-native-debootstrap" ]; then
        umount_root
        safe_rm "$ROOT"
        log "$CEPH_RELEASE: debootstrap --variant=minbase $SUITE $ROOT (about a minute)"
        debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$logfile" 2>&1 || {
            umount_root
            fail debootstrap "$logfile" "debootstrap $SUITE failed"
        }
        # debootstrap mounts /proc and /sys itself and may leave them.
        umount_root
        touch "$ROOT/.rbd-native-debootstrap"
    fi
    mount_root
    # No daemon starts from a package's postinst (there is no init here).
    printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
    chmod 755 "$ROOT/usr/sbin/policy-rc.d"
    echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99rbd-native-no-valid-until"
    # Only what is missing: a root made with an older list keeps the Ceph
    # it has (apt-get install would upgrade an installed package).
    local p missing=""
    for p in $ROOT_PACKAGES; do
        in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        log "$CEPH_RELEASE: apt-get install$missing (1-2 minutes)"
        apt_in_root update >>"$logfile" 2>&1 || fail "apt-get update ($SUITE)" "$logfile" "failed"
        # shellcheck disable=SC2086 # a list of package names
        if ! apt_in_root install --no-install-recommends $missing >>"$logfile" 2>&1; then
            # Some postinsts expect systemd; the binaries do not need them.
            log "$CEPH_RELEASE: apt-get install reported failures (postinsts without systemd); checking the tools"
            in_root dpkg --configure -a >>"$logfile" 2>&1 || true
        fi
    fi
    check_root >>"$logfile" 2>&1 || fail "$CEPH_RELEASE root" "$logfile" "the release's tools do not run"
    # The downloaded packages and lists are not needed once installed (a few
    # hundred MB a root, which a small CI disk misses).
    apt_in_root clean >>"$logfile" 2>&1 || true
    rm -rf "$ROOT/var/lib/apt/lists/"* "$ROOT/usr/share/doc" "$ROOT/usr/share/man" 2>/dev/null || true
    in_root ceph --version >"$ROOT/.rbd-native-version"
    echo "$ROOT_PACKAGES" >"$ROOT/$ROOT_STAMP"
    log "$CEPH_RELEASE: root ready in $((SECONDS - start)) s: $(cat "$ROOT/.rbd-native-version")"
}

# check_root: every tool the bed and the tests use runs in the root.
check_root() {
    local t
    for t in ceph-mon ceph-osd ceph-mgr ceph rados rbd; do
        in_root "$t" --version || return 1
    done
    for t in ceph-authtool osdmaptool crushtool monmaptool; do
        in_root sh -c "command -v $t" || return 1
    done
    in_root python3 -c 'import rados, rbd, venv, ensurepip; print("python", rados.__file__)' || return 1
}

# wrapper NAME COMMAND [DIR]: $BED/bin/NAME runs COMMAND (with the
# caller's arguments) in the root, or on the host for Pacific; in DIR if
# given, else in the caller's directory when the root has it, else in /.
wrapper() {
    local name=$1 cmd=$2 dir=${3:-} file=$BED/bin/$1 cd='cd "$1" 2>/dev/null || cd /'
    [ -z "$dir" ] || cd="cd $dir"
    if [ -z "$ROOT" ]; then
        cat >"$file.tmp" <<EOF
#!/bin/bash
# Written by testbed/release.sh: $name of Ceph $CEPH_RELEASE (the host's).
${dir:+cd $dir || exit 1}
exec $cmd "\$@"
EOF
    else
        cat >"$file.tmp" <<EOF
#!/bin/bash
# Written by testbed/release.sh: $name of Ceph $CEPH_RELEASE, run in $ROOT
# (the project and /tmp are at the same paths there).
root='$ROOT'
[ -e "\$root$TOP/testbed/lib.sh" ] ||
    CEPH_RELEASE='$CEPH_RELEASE' ROOTS='$ROOTS' BED='$BED' bash '$TOP/testbed/release.sh' mount >&2 ||
    { echo "$name: the $CEPH_RELEASE root's mounts are missing and could not be made" >&2; exit 1; }
exec /usr/sbin/chroot "\$root" /bin/sh -c '$cd; shift
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; exec "\$@"' \\
    sh "\$PWD" $cmd "\$@"
EOF
    fi
    chmod 755 "$file.tmp"
    mv -f "$file.tmp" "$file"
}

write_wrappers() {
    local t
    mkdir -p "$BED/bin"
    for t in $WRAPPED_TOOLS; do
        wrapper "$t" "/usr/bin/$t"
    done
    # The daemons run in /, as their init would start them: Debian sid's
    # Tentacle has a relative default osd_class_dir
    # (lib/x86_64-linux-gnu/rados-classes) that only resolves from there.
    for t in ceph-mon ceph-osd ceph-mgr; do
        wrapper "$t" "/usr/bin/$t" /
    done
    # The release's system Python, which imports its rados/rbd bindings.
    wrapper python3 /usr/bin/python3
    # The bed's venv (Keystone, Glance, Cinder), built with that Python.
    wrapper venv-python "$VENV/bin/python"
    # Anything else (the venv's gunicorn, keystone-manage, ...).
    wrapper in-root ""
    echo "$CEPH_RELEASE" >"$BED/bin/.release"
}

cmd=${1:-}
case $cmd in
prepare)
    build_root
    mount_root
    write_wrappers
    ;;
root) build_root ;;
mount) mount_root ;;
umount) umount_root ;;
clean-bed)
    # The bed's daemons must be stopped (make testbed-clean does it).
    umount_root
    safe_rm "$BED"
    [ -e "$TOP/.testbed/env" ] || rm -f "$TOP/.testbed/env"
    ;;
clean)
    umount_root
    [ -z "$ROOT" ] || safe_rm "$ROOT"
    [ "$CEPH_RELEASE" = pacific ] || safe_rm "$VENV"
    ;;
*)
    echo "usage: CEPH_RELEASE=pacific|reef|tentacle $0 prepare|root|mount|umount|clean-bed|clean" >&2
    exit 2
    ;;
esac
