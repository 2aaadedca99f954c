#!/usr/bin/env bash
# The bed's Python venv with Keystone, Glance, Cinder and a WSGI server
# (PY_PACKAGES, from the Makefile), made with the Python that imports the
# release's rados/rbd bindings: the host's Python 3.11 for Pacific
# (PYTHON), the root's own for the other releases (through the wrappers
# of testbed/release.sh, which must have run), so that Glance's rbd store
# and the Cinder driver load that release's librados.
#
# The stamp holds the package list: a venv made from an older list gets
# what is missing (pip leaves the rest as it is), a current one is left
# alone. A venv whose Python is gone (a root made anew) is made anew.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY_PACKAGES=${PY_PACKAGES:?PY_PACKAGES (the Makefile sets it)}
want=$(echo "$PY_PACKAGES" | xargs)
if [ "$CEPH_RELEASE" = pacific ]; then
    read -r -a base <<<"${PYTHON:-python3}"
    "${base[@]}" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' ||
        fail venv "" "${base[*]} is not Python 3.11, which Debian's python3-rados/python3-rbd need; set PYTHON="
    run=()
else
    [ -x "$BED/bin/python3" ] || fail venv "" "$BED/bin/python3 missing: run testbed/release.sh prepare first"
    base=("$BED/bin/python3")
    run=("$BED/bin/in-root")
fi

if [ -f "$VENV/.installed" ] && ! "${run[@]}" "$VENV/bin/python" -c '' 2>/dev/null; then
    log "venv $VENV does not run (its Python changed); making it anew"
    safe_rm "$VENV"
fi
[ "$(cat "$VENV/.installed" 2>/dev/null)" = "$want" ] && exit 0

start=$SECONDS
if [ ! -x "$VENV/bin/python" ]; then
    log "venv: creating $VENV with $("${base[@]}" --version) ($CEPH_RELEASE)"
    "${base[@]}" -m venv "$VENV" || fail venv "" "python -m venv $VENV failed"
fi
log "venv: installing $want"
# A PIP_FIND_LINKS folder of the host that the root lacks only makes pip warn.
if [ -n "${PIP_FIND_LINKS:-}" ] && [ ! -d "$ROOT$PIP_FIND_LINKS" ]; then
    unset PIP_FIND_LINKS
fi
"${run[@]}" "$VENV/bin/pip" install -q --no-cache-dir --disable-pip-version-check $PY_PACKAGES ||
    fail venv "" "pip install into $VENV failed"
echo "$want" >"$VENV/.installed"
log "venv: ready in $((SECONDS - start)) s"
