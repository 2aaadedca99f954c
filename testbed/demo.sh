#!/usr/bin/env bash
# `make demo`: the main job on the local test bed. Until the upload command
# lands, it shows what the bed holds (both Ceph clusters, the Keystone
# catalog and Glance's stores) and what rbd-native does so far: monitor
# commands over its own messenger v2 (crc and secure) and cephx, and object
# I/O through its own objecter.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC1091
source "$BED/env"

section() { printf '\n== %s\n' "$*"; }

for c in main other; do
    conf=$BED/$c/ceph.conf
    section "Ceph cluster $c ($conf)"
    ceph -c "$conf" --connect-timeout 20 -s | sed -n '/cluster:/,/pgs:/p'
    echo "pools: $(ceph -c "$conf" osd pool ls | tr '\n' ' ')"
    echo "users: $(ceph -c "$conf" auth ls 2>/dev/null | grep '^client\.' | tr '\n' ' ')"
done

section "Keystone ($OS_AUTH_URL) and Glance"
token_and_catalog=$(curl -sS -i -H 'Content-Type: application/json' \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$OS_USERNAME\",\"domain\":{\"name\":\"$OS_USER_DOMAIN_NAME\"},\"password\":\"$OS_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"$OS_PROJECT_NAME\",\"domain\":{\"name\":\"$OS_PROJECT_DOMAIN_NAME\"}}}}}" \
    "$OS_AUTH_URL/auth/tokens")
token=$(printf '%s' "$token_and_catalog" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}')
glance=$(printf '%s' "$token_and_catalog" | sed -n '/^{/,$p' | python3 -c '
import json, sys
cat = json.load(sys.stdin)["token"]["catalog"]
for svc in cat:
    for ep in svc["endpoints"]:
        if ep["interface"] == "public":
            print("catalog:", svc["type"], ep["url"], file=sys.stderr)
            if svc["type"] == "image":
                print(ep["url"])
')
echo "uploader $OS_USERNAME in project $OS_PROJECT_NAME has a token"
curl -sS -H "X-Auth-Token: $token" "$glance/v2/info/stores/detail" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["stores"]:
    p = s.get("properties", {})
    print("glance store %-6s type %-4s pool %-7s fsid %s%s" % (s["id"], s["type"],
          p.get("pool", "-"), p.get("fsid", "-"), "  (default)" if s.get("default") else ""))
'

section "rbd-native: the monitors through our own msgr2 and cephx"
bin="$TOP/target/release/rbd-native"
"$bin" --version
for mode in crc secure; do
    printf 'cluster main,  %-6s as client.cinder: osd pool ls -> ' "$mode"
    "$bin" -c "$CEPH_CONF" --id cinder -k "$CEPH_CINDER_KEYRING" --ms-mode "$mode" \
        mon-command '{"prefix":"osd pool ls","format":"json"}'
done
printf 'cluster other, secure as client.admin:  fsid -> '
"$bin" -c "$CEPH_CONF_OTHER" -k "$CEPH_ADMIN_KEYRING_OTHER" --ms-mode secure \
    mon-command '{"prefix":"fsid","format":"json"}'
printf 'cluster other, crc (it requires secure): '
"$bin" -c "$CEPH_CONF_OTHER" -k "$CEPH_ADMIN_KEYRING_OTHER" --ms-mode crc \
    mon-command '{"prefix":"fsid","format":"json"}' 2>&1 | head -1 || true

section "rbd-native: objects through our own objecter (placement computed by CRUSH)"
obj="demo-$(date +%s)"
printf 'written by rbd-native at %s\n' "$(date)" >"$BED/demo-object"
"$bin" -c "$CEPH_CONF" --id cinder -k "$CEPH_CINDER_KEYRING" rados -p volumes put "$obj" "$BED/demo-object"
echo "rbd-native rados put volumes/$obj; the rados tool reads back:"
rados -c "$CEPH_CONF" -p volumes get "$obj" - | sed 's/^/    /'
echo "rbd-native rados stat: $("$bin" -c "$CEPH_CONF" --id cinder -k "$CEPH_CINDER_KEYRING" rados -p volumes stat "$obj")"
"$bin" -c "$CEPH_CONF" --id cinder -k "$CEPH_CINDER_KEYRING" rados -p volumes rm "$obj"
rm -f "$BED/demo-object"
printf 'client.glance writing to volumes: '
"$bin" -c "$CEPH_CONF" --id glance -k "$CEPH_GLANCE_KEYRING" rados -p volumes put "$obj" /etc/hostname 2>&1 | head -1 || true
echo
echo "The upload command arrives with its issue; this bed is what it will run on."
