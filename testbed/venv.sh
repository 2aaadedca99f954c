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
#
# Then this repository's Cinder driver ($TOP/cinder-driver, python package
# rbd_native_cinder), when the checkout has it, for the bed's cinder-volume:
# installed again whenever its files change (a stamp of their hash). The
# root sees $TOP at the same path, so pip reads it there too.

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
# install_driver: the Cinder driver of the checkout, if any, when changed.
install_driver() {
    local src=$TOP/cinder-driver sum
    [ -f "$src/pyproject.toml" ] || return 0
    sum=$(cd "$src" && find . -type f ! -path '*/__pycache__/*' ! -path './build/*' \
        ! -path '*.egg-info/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
    [ "$(cat "$VENV/.cinder-driver" 2>/dev/null)" = "$sum" ] && return 0
    log "venv: installing the Cinder driver from $src"
    # --no-deps: it runs on the venv's Cinder; no build dir left in the checkout.
    "${run[@]}" "$VENV/bin/pip" install -q --no-cache-dir --disable-pip-version-check \
        --no-deps --force-reinstall "$src" >"$VENV/.cinder-driver.log" 2>&1 ||
        fail venv "$VENV/.cinder-driver.log" "pip install $src into $VENV failed"
    rm -rf "$src/build" "$src"/*.egg-info
    echo "$sum" >"$VENV/.cinder-driver"
}

if [ "$(cat "$VENV/.installed" 2>/dev/null)" = "$want" ]; then
    install_driver
    exit 0
fi

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
install_driver
log "venv: ready in $((SECONDS - start)) s"
