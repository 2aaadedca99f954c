#!/usr/bin/env bash
# `make demo`: the main job on the local test bed. A Cinder-style volume
# (SIZE GiB, default 2) filled with random data is uploaded to Glance twice
# with rbd-native: once by streaming, once by copy-on-write clone. Both
# images are downloaded from Glance and checked against the volume's
# sha256, and the times are printed in the form of the spec's table.
# Everything the demo makes is removed at the end.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC1091
source "$BED/env"
set -euo pipefail

SIZE=${SIZE:-2}
bin="$TOP/target/release/rbd-native"
work=$(mktemp -d)
vol="volume-$(uuidgen)"
images=()

section() { printf '\n== %s\n' "$*"; }
rbd_() { rbd -c "$CEPH_CONF" --id admin "$@" 2>/dev/null; }
ours() {
    env -u OS_CLOUD -u CEPH_ARGS RBD_NATIVE_CONFIG=/dev/null \
        "$bin" -c "$CEPH_CONF" --id cinder -k "$CEPH_CINDER_KEYRING" "$@"
}
token() {
    curl -sS -i -H 'Content-Type: application/json' \
        -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$OS_USERNAME\",\"domain\":{\"name\":\"$OS_USER_DOMAIN_NAME\"},\"password\":\"$OS_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"$OS_PROJECT_NAME\",\"domain\":{\"name\":\"$OS_PROJECT_DOMAIN_NAME\"}}}}}" \
        "$OS_AUTH_URL/auth/tokens" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}'
}
cleanup() {
    local t id
    t=$(token || true)
    for id in "${images[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "X-Auth-Token: $t" "$GLANCE_URL/v2/images/$id" || true)
            case $code in 204|404) break ;; *) sleep 1 ;; esac
        done
    done
    rbd_ rm "volumes/$vol" >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
show() {
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("image %s by %s: %d bytes in %.2f s%s" % (r["image_id"], r["path"], r["bytes"], r["seconds"],
      ("  (not cloned: %s)" % r["reason"]) if r.get("reason") else ""))
for s in r["steps"]:
    print("  %-26s %8.3f s" % (s["name"], s["seconds"]))
PY
}

section "A $SIZE GiB volume of random data: volumes/$vol"
rbd_ create --size "${SIZE}G" "volumes/$vol"
rbd_ bench --io-type write --io-pattern seq --io-size 4M --io-total "${SIZE}G" "volumes/$vol" >/dev/null
want=$(rbd_ export --no-progress "volumes/$vol" - | sha256sum | cut -d' ' -f1)
echo "sha256 $want"

section "Upload by streaming (rbd-native upload --no-clone-optimization)"
ours upload --volume "volumes/$vol" --name "demo-stream" --no-clone-optimization --format json >"$work/stream.json"
show "$work/stream.json"
section "Upload by copy-on-write clone (rbd-native upload --clone-optimization)"
ours upload --volume "volumes/$vol" --name "demo-clone" --clone-optimization --format json >"$work/clone.json"
show "$work/clone.json"

t=$(token)
for kind in stream clone; do
    id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image_id"])' "$work/$kind.json")
    images+=("$id")
    got=$(curl -sS -H "X-Auth-Token: $t" "$GLANCE_URL/v2/images/$id/file" | sha256sum | cut -d' ' -f1)
    if [ "$got" = "$want" ]; then
        echo "image $id ($kind) downloads from Glance with the volume's sha256: OK"
    else
        echo "image $id ($kind) downloads with sha256 $got, not $want" >&2
        exit 1
    fi
done

section "The spec's table, measured here"
python3 - "$work/stream.json" "$work/clone.json" "$SIZE" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1])); c = json.load(open(sys.argv[2])); size = sys.argv[3]
def fmt(t):
    m, sec = divmod(t, 60)
    return ("%dmin%05.2fs" % (m, sec)) if m else ("%.2fs" % sec)
red = 100.0 * (1 - c["seconds"] / s["seconds"])
rows = [("Image size", "%s GiB" % size), ("Time without COW clone", fmt(s["seconds"])),
        ("Time with COW clone", fmt(c["seconds"])), ("", "-%.0f%%" % red)]
w = max(len(a) for a, _ in rows)
for a, b in rows:
    print("| %-*s | %12s |" % (w, a, b))
EOF
