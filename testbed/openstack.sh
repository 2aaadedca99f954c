#!/usr/bin/env bash
# Keystone + Glance (and Cinder: testbed/cinder.sh) for the test bed, from
# the bed's venv (PyPI, made by testbed/venv.sh with the Python of the bed's Ceph release, in the
# release's root for Reef and Tentacle: Glance's rbd store loads that
# release's librados, which Pacific's cannot replace for aes256k keys), each
# started through $BED/bin/in-root and served by gunicorn on loopback, with all state under $BED/keystone,
# $BED/glance and $BED/mariadb: Keystone keeps SQLite (its writes are rare),
# Glance has a MariaDB server of its own on a Unix socket (no TCP port), as
# in a real cloud: its API requests and background tasks write at once,
# which SQLite's locking turns into "database is locked" errors. Glance has two rbd stores (clusters "main"
# and "other" of ceph.sh) and one file store.
#
#   openstack.sh up      start (idempotent: on a healthy pair it only checks)
#   openstack.sh down    stop the daemons this script started (state is kept)
#   openstack.sh status  say what runs; exit 1 unless all are healthy
#
# Honours BED, VENV, KEYSTONE_PORT, GLANCE_PORT, KEYSTONE_WORKERS,
# GLANCE_WORKERS, GLANCE_SHOW_MULTIPLE_LOCATIONS (default False), and
# Cinder's settings (testbed/cinder.sh).
# Writes $BED/openstack.env and $BED/clouds.yaml for the uploader.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KEYSTONE_PORT=${KEYSTONE_PORT:-$((5000 + PORT_OFFSET))}
GLANCE_PORT=${GLANCE_PORT:-$((9292 + PORT_OFFSET))}
KEYSTONE_WORKERS=${KEYSTONE_WORKERS:-1}
GLANCE_WORKERS=${GLANCE_WORKERS:-1}
GLANCE_SHOW_MULTIPLE_LOCATIONS=${GLANCE_SHOW_MULTIPLE_LOCATIONS:-False}

# --- fixed test-bed credentials: the one place they live ------------------
REGION=RegionOne
DOMAIN=Default
ADMIN_USER="admin"
ADMIN_PASSWORD=testbed-admin-secret
ADMIN_PROJECT="admin"
SERVICE_PROJECT=service
GLANCE_USER=glance
GLANCE_PASSWORD=testbed-glance-secret
UPLOADER_USER=uploader
UPLOADER_PASSWORD=testbed-uploader-secret
# The uploader stands for Cinder's service user. member: create, download
# and delete images in its project (member implies reader). service: the
# 2024.2 locations API (POST /v2/images/{id}/locations) and, since 2025.1,
# GET /v2/info/stores/detail. No admin role on purpose (see report/README):
# the tool must work with least privilege.
UPLOADER_ROLES=member,service
GLANCE_ROLES=admin,service
# Cinder's service user, as a real deployment has it.
CINDER_USER=cinder
CINDER_PASSWORD=testbed-cinder-secret
CINDER_ROLES=admin,service
CINDER_DB_PASSWORD=testbed-cinder-db-secret
CINDER_RBD_SECRET_UUID=5b3d0a4e-8c1f-4d2a-9e57-7f1c2b6a9d10
# A plain user of Cinder and Glance, member of its own project only.
DEMO_USER=demo
DEMO_PASSWORD=testbed-demo-secret
DEMO_PROJECT=demo
DEMO_ROLES=member
# The bed's RabbitMQ (testbed/cinder.sh): made on the broker's first boot.
RABBIT_USER=cinder
RABBIT_PASSWORD=testbed-rabbit-secret
RABBIT_VHOST=cinder
CLOUD_NAME=rbd-native-testbed
# ---------------------------------------------------------------------------

KS_DIR=$BED/keystone
GL_DIR=$BED/glance
KS_URL=http://127.0.0.1:$KEYSTONE_PORT
GL_URL=http://127.0.0.1:$GLANCE_PORT
# The venv's Python and tools run in the release's root (wrappers of
# testbed/release.sh; on the host for Pacific).
PY=$BED/bin/venv-python
IN_ROOT=$BED/bin/in-root
KS_PID=$KS_DIR/keystone.pid
KS_LOG=$KS_DIR/keystone.log
GL_PID=$GL_DIR/glance-api.pid
GL_LOG=$GL_DIR/glance-api.log
DB_DIR=$BED/mariadb
DB_SOCK=$DB_DIR/mysqld.sock
DB_PID=$DB_DIR/mariadbd.pid
DB_LOG=$DB_DIR/mariadbd.log
GL_DB_PASSWORD=testbed-glance-db-secret
GL_DB_URL="mysql+pymysql://glance:$GL_DB_PASSWORD@localhost/glance?unix_socket=$DB_SOCK&charset=utf8mb4"

# Cinder and its RabbitMQ (functions only).
# shellcheck source=cinder.sh
source "$TOP/testbed/cinder.sh"

# write_if_changed FILE: stdin to FILE; true (0) when the content changed.
write_if_changed() {
    local file=$1 tmp
    tmp=$(mktemp "$file.XXXXXX")
    cat >"$tmp"
    if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        return 1
    fi
    mv -f "$tmp" "$file"
    return 0
}

# fsid_of CONF: the fsid line of a ceph.conf.
fsid_of() {
    sed -n 's/^[[:space:]]*fsid[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\1/p' "$1" | head -n 1
}

# --- venv ----------------------------------------------------------------
ensure_venv() {
    [ -x "$PY" ] || fail venv "" "no $PY: run testbed/release.sh prepare first"
    [ -x "$VENV/bin/python" ] || fail venv "" "no venv at $VENV (make venv CEPH_RELEASE=$CEPH_RELEASE)"
    local m site suffix src dst linked=0
    for m in keystone-manage glance-manage gunicorn; do
        [ -x "$VENV/bin/$m" ] || fail venv "" "$VENV/bin/$m missing (pip install keystone glance glance-store gunicorn into $VENV)"
    done
    read -r site suffix < <("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"], sysconfig.get_config_var("EXT_SUFFIX"))')
    # Only rados and rbd from Debian's dist-packages: the rest of it would
    # shadow the venv's newer libraries.
    for m in rados rbd; do
        dst=$site/$m$suffix
        src=/usr/lib/python3/dist-packages/$m$suffix
        # The link is read inside the root: check its target there.
        [ -L "$dst" ] && [ "$(readlink "$dst")" = "$src" ] && [ -f "$ROOT$src" ] && continue
        rm -f "$dst"   # a dangling link
        [ -f "$ROOT$src" ] || fail venv "" "$ROOT$src missing: python3-rados/python3-rbd of $CEPH_RELEASE not installed"
        ln -sfn "$src" "$dst"
        log "linked $m$suffix into $site"
        linked=1
    done
    if [ "$linked" = 1 ]; then
        "$PY" -c 'import rados, rbd' 2>"$BED/venv-check.log" \
            || fail venv "$BED/venv-check.log" "the venv cannot import rados/rbd"
    fi
}

# --- the Python helper (stdlib only: quick to start) -------------------------
# os_py CMD ARGS...: provision | check-keystone | check-glance
os_py() {
    "$PY" - "$@" <<'PY'
import os, sys

sys.path.insert(0, os.path.join(os.environ["TOP"], "testbed"))
from os_api import E, call, token, one  # noqa: E402


def provision():
    ks = E["KS_URL"]
    t, _ = token(E["ADMIN_USER"], E["ADMIN_PASSWORD"], E["ADMIN_PROJECT"])
    dom = one(t, "domains", "domains", name=E["DOMAIN"])["id"]

    proj = one(t, "projects", "projects", name=E["SERVICE_PROJECT"], domain_id=dom)
    if proj is None:
        proj, _ = call("POST", ks + "/v3/projects", t, {"project": {
            "name": E["SERVICE_PROJECT"], "domain_id": dom,
            "description": "service users of the test bed"}})
        proj = proj["project"]

    roles = {}
    for name in ("admin", "member", "reader", "service"):
        r = one(t, "roles", "roles", name=name)
        if r is None:
            r, _ = call("POST", ks + "/v3/roles", t, {"role": {"name": name}})
            r = r["role"]
        roles[name] = r["id"]

    def user(name, password, role_names):
        u = one(t, "users", "users", name=name, domain_id=dom)
        body = {"user": {"name": name, "domain_id": dom, "password": password,
                         "default_project_id": proj["id"], "enabled": True}}
        if u is None:
            u, _ = call("POST", ks + "/v3/users", t, body)
        else:
            u, _ = call("PATCH", "%s/v3/users/%s" % (ks, u["id"]), t, body)
        uid = u["user"]["id"]
        for rn in role_names:
            call("PUT", "%s/v3/projects/%s/users/%s/roles/%s" % (ks, proj["id"], uid, roles[rn]), t)

    user(E["GLANCE_USER"], E["GLANCE_PASSWORD"], E["GLANCE_ROLES"].split(","))
    user(E["UPLOADER_USER"], E["UPLOADER_PASSWORD"], E["UPLOADER_ROLES"].split(","))

    # The image service; identity's endpoints come from bootstrap and are
    # only corrected here when KEYSTONE_PORT changed since.
    for stype, name, url in (("image", "glance", E["GL_URL"]),
                             ("identity", "keystone", ks + "/v3")):
        svc = one(t, "services", "services", type=stype)
        if svc is None:
            svc, _ = call("POST", ks + "/v3/services", t, {"service": {
                "name": name, "type": stype, "description": name}})
            svc = svc["service"]
        for iface in ("public", "internal", "admin"):
            ep = one(t, "endpoints", "endpoints", service_id=svc["id"], interface=iface,
                     region_id=E["REGION"])
            body = {"endpoint": {"service_id": svc["id"], "interface": iface,
                                 "region_id": E["REGION"], "url": url, "enabled": True}}
            if ep is None:
                call("POST", ks + "/v3/endpoints", t, body)
            elif ep["url"] != url:
                call("PATCH", "%s/v3/endpoints/%s" % (ks, ep["id"]), t, body)


def check_keystone():
    _, tok = token(E["UPLOADER_USER"], E["UPLOADER_PASSWORD"], E["SERVICE_PROJECT"])
    have = {r["name"] for r in tok["roles"]}
    want = set(E["UPLOADER_ROLES"].split(","))
    if not want <= have:
        raise SystemExit("uploader token lacks roles %s (has %s)" % (sorted(want - have), sorted(have)))
    urls = [ep["url"] for s in tok["catalog"] if s["type"] == "image" for ep in s["endpoints"]]
    if not urls or any(u.rstrip("/") != E["GL_URL"] for u in urls):
        raise SystemExit("catalog has no/incorrect image endpoints: %s" % urls)


def check_glance(main_fsid, other_fsid):
    t, _ = token(E["UPLOADER_USER"], E["UPLOADER_PASSWORD"], E["SERVICE_PROJECT"])
    doc, _ = call("GET", E["GL_URL"] + "/v2/info/stores/detail", t)
    stores = {s["id"]: s for s in doc["stores"]}
    problems, fsid_wrong = [], False
    for sid, fsid in (("ceph", main_fsid), ("other", other_fsid)):
        s = stores.get(sid)
        if s is None:
            problems.append("store %s missing (cluster down at Glance start?)" % sid)
            continue
        p = s.get("properties", {})
        if s.get("type") != "rbd" or p.get("pool") != "images":
            problems.append("store %s: %s" % (sid, s))
        if p.get("fsid") != fsid:
            fsid_wrong = True
            problems.append("store %s reports fsid %s, ceph.conf says %s" % (sid, p.get("fsid"), fsid))
    if stores.get("local", {}).get("type") != "file":
        problems.append("store local missing or not a file store")
    if stores.get("ceph", {}).get("default") != "true":
        problems.append("store ceph is not the default")
    if problems:
        print("; ".join(problems), file=sys.stderr)
        sys.exit(3 if fsid_wrong else 1)


def check_ceph(args):
    # args: NAME CONF FSID ...; connect as client.glance the way Glance will,
    # but with a short timeout, so that a cluster that is down fails fast.
    import rados
    problems = []
    for i in range(0, len(args), 3):
        name, conf, fsid = args[i:i + 3]
        try:
            c = rados.Rados(conffile=conf, rados_id="glance")
            for k in ("client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout"):
                c.conf_set(k, "10")
            c.connect(timeout=10)
        except Exception as e:
            problems.append("cluster %s (%s): client.glance cannot connect: %s" % (name, conf, e))
            continue
        try:
            got = c.get_fsid()
            if got != fsid:
                problems.append("cluster %s: fsid %s, its ceph.conf says %s" % (name, got, fsid))
            if not c.pool_exists("images"):
                problems.append("cluster %s: no pool 'images'" % name)
        finally:
            c.shutdown()
    if problems:
        raise SystemExit("; ".join(problems))


cmd = sys.argv[1]
if cmd == "check-ceph":
    check_ceph(sys.argv[2:])
elif cmd == "provision":
    provision()
elif cmd == "check-keystone":
    check_keystone()
elif cmd == "check-glance":
    check_glance(sys.argv[2], sys.argv[3])
else:
    raise SystemExit("unknown command " + cmd)
PY
}

export_py_env() {
    export KS_URL GL_URL DOMAIN REGION ADMIN_USER ADMIN_PASSWORD ADMIN_PROJECT \
        SERVICE_PROJECT GLANCE_USER GLANCE_PASSWORD GLANCE_ROLES \
        UPLOADER_USER UPLOADER_PASSWORD UPLOADER_ROLES
}

# --- MariaDB (Glance's database) ---------------------------------------------
db_answers() {
    mariadb-admin --no-defaults --socket="$DB_SOCK" --user=root --connect-timeout=2 ping >/dev/null 2>&1
}

db_sql() {
    mariadb --no-defaults --socket="$DB_SOCK" --user=root -e "$1" >>"$DB_LOG" 2>&1 \
        || fail mariadb "$DB_LOG" "SQL failed: $1"
}

# db_start: the server under $DB_DIR (made on first use), the glance
# database and its user. Root logs in through the socket as the Unix user
# that runs the bed.
db_start() {
    local me
    me=$(id -un)
    command -v mariadbd >/dev/null || fail mariadb "" "mariadbd missing (apt-get install mariadb-server; 'make deps' does it)"
    mkdir -p "$DB_DIR"
    write_if_changed "$DB_DIR/my.cnf" <<EOF || true
# Written by testbed/openstack.sh.
[mariadbd]
datadir = $DB_DIR/data
socket = $DB_SOCK
pid-file = $DB_DIR/mariadbd.server.pid
skip-networking
skip-name-resolve
log-error = $DB_LOG
innodb_buffer_pool_size = 64M
innodb_log_file_size = 32M
innodb_flush_log_at_trx_commit = 2
max_connections = 300
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
EOF
    if [ ! -d "$DB_DIR/data/mysql" ]; then
        safe_rm "${DB_DIR:?}/data"
        mariadb-install-db --defaults-file="$DB_DIR/my.cnf" --user="$me" \
            --auth-root-authentication-method=socket --skip-test-db \
            >>"$DB_LOG" 2>&1 || fail mariadb "$DB_LOG" "mariadb-install-db failed"
    fi
    if ! pid_alive "$DB_PID"; then
        if [ -S "$DB_SOCK" ] && db_answers; then
            fail mariadb "" "a MariaDB server this script did not start answers on $DB_SOCK"
        fi
        rm -f "$DB_SOCK"
        log "starting mariadb on $DB_SOCK"
        spawn "$DB_PID" "$DB_LOG" mariadbd --defaults-file="$DB_DIR/my.cnf" --user="$me"
        wait_until 60 mariadb "$DB_LOG" "$DB_PID" db_answers
    fi
    db_sql "CREATE DATABASE IF NOT EXISTS glance CHARACTER SET utf8mb4;
        CREATE USER IF NOT EXISTS 'glance'@'localhost' IDENTIFIED BY '$GL_DB_PASSWORD';
        GRANT ALL PRIVILEGES ON glance.* TO 'glance'@'localhost';"
}

# --- Keystone ----------------------------------------------------------------
keystone_conf() {
    mkdir -p "$KS_DIR/fernet-keys" "$KS_DIR/credential-keys"
    chmod 700 "$KS_DIR/fernet-keys" "$KS_DIR/credential-keys"
    local changed=1
    write_if_changed "$KS_DIR/keystone.conf" <<EOF && changed=0
# Written by testbed/openstack.sh; rewritten on every 'up'.
[DEFAULT]
use_stderr = true

[database]
connection = sqlite:///$KS_DIR/keystone.db?timeout=30

[identity]
# bcrypt's cheapest cost: every token request checks a password.
password_hash_rounds = 4

[token]
provider = fernet

[fernet_tokens]
key_repository = $KS_DIR/fernet-keys

[credential]
key_repository = $KS_DIR/credential-keys

[oslo_concurrency]
lock_path = $KS_DIR/locks
EOF
    write_if_changed "$KS_DIR/gunicorn.conf.py" <<EOF && changed=0
# Written by testbed/openstack.sh; rewritten on every 'up'.
wsgi_app = "keystone.wsgi.api:application"
proc_name = "keystone"
bind = ["127.0.0.1:$KEYSTONE_PORT"]
workers = $KEYSTONE_WORKERS
worker_class = "gthread"
threads = 4
timeout = 120
graceful_timeout = 10
control_socket_disable = True
accesslog = "$KS_DIR/access.log"
EOF
    return $changed
}

keystone_manage() {
    "$IN_ROOT" "$VENV/bin/keystone-manage" --config-file "$KS_DIR/keystone.conf" "$@" \
        >>"$KS_DIR/keystone-manage.log" 2>&1 \
        || fail keystone-manage "$KS_DIR/keystone-manage.log" "keystone-manage $1 failed"
}

keystone_bootstrap() {
    [ -f "$KS_DIR/bootstrapped" ] && return 0
    keystone_manage db_sync
    keystone_manage fernet_setup --keystone-user root --keystone-group root
    keystone_manage credential_setup --keystone-user root --keystone-group root
    keystone_manage bootstrap \
        --bootstrap-username "$ADMIN_USER" --bootstrap-password "$ADMIN_PASSWORD" \
        --bootstrap-project-name "$ADMIN_PROJECT" --bootstrap-role-name admin \
        --bootstrap-service-name keystone --bootstrap-region-id "$REGION" \
        --bootstrap-admin-url "$KS_URL/v3" --bootstrap-internal-url "$KS_URL/v3" \
        --bootstrap-public-url "$KS_URL/v3"
    touch "$KS_DIR/bootstrapped"
}

keystone_answers() {
    curl -sf --max-time 5 -o /dev/null "$KS_URL/v3"
}

keystone_start() {
    local restart=$1
    if pid_alive "$KS_PID"; then
        [ "$restart" = 1 ] || return 0
        stop_pid keystone "$KS_PID"
    fi
    if port_open 127.0.0.1 "$KEYSTONE_PORT"; then
        fail keystone "" "port $KEYSTONE_PORT is taken by a process this script did not start"
    fi
    log "starting keystone on $KS_URL"
    # gunicorn's options come from a config file named in GUNICORN_CMD_ARGS:
    # Keystone parses sys.argv with oslo.config and dies on any argument.
    spawn "$KS_PID" "$KS_LOG" env OS_KEYSTONE_CONFIG_FILES="$KS_DIR/keystone.conf" \
        GUNICORN_CMD_ARGS="--config $KS_DIR/gunicorn.conf.py" "$IN_ROOT" "$VENV/bin/gunicorn"
    wait_until 60 keystone "$KS_LOG" "$KS_PID" keystone_answers
}

# --- Glance ------------------------------------------------------------------
# glance_ceph_conf CLUSTER: a copy of the cluster's ceph.conf plus a
# [client.glance] section naming the glance keyring, so that python-rados
# finds client.glance's key whatever the cluster's conf says.
glance_ceph_conf() {
    local cluster=$1 conf=$BED/$1/ceph.conf keyring=$BED/$1/ceph.client.glance.keyring
    [ -f "$conf" ] || fail glance "" "$conf missing: bring the Ceph clusters up first (testbed/ceph.sh up)"
    [ -f "$keyring" ] || fail glance "" "$keyring missing: bring the Ceph clusters up first (testbed/ceph.sh up)"
    [ -n "$(fsid_of "$conf")" ] || fail glance "" "$conf has no fsid line"
    {
        echo "# Written by testbed/openstack.sh from $conf; rewritten on every 'up'."
        cat "$conf"
        printf '\n[client.glance]\nkeyring = %s\nadmin_socket =\nlog_file = %s\n' \
            "$keyring" "$GL_DIR/ceph-client-$cluster.log"
    } | write_if_changed "$GL_DIR/ceph-$cluster.conf"
}

glance_conf() {
    mkdir -p "$GL_DIR/images" "$GL_DIR/staging" "$GL_DIR/tasks" "$GL_DIR/locks"
    local changed=1
    glance_ceph_conf main && changed=0
    glance_ceph_conf other && changed=0
    if [ ! -f "$GL_DIR/glance-api-paste.ini" ] \
        || ! cmp -s "$VENV/etc/glance/glance-api-paste.ini" "$GL_DIR/glance-api-paste.ini"; then
        [ -f "$VENV/etc/glance/glance-api-paste.ini" ] \
            || fail glance "" "$VENV/etc/glance/glance-api-paste.ini missing (glance not installed in the venv?)"
        cp "$VENV/etc/glance/glance-api-paste.ini" "$GL_DIR/glance-api-paste.ini"
        changed=0
    fi
    write_if_changed "$GL_DIR/glance-api.conf" <<EOF && changed=0
# Written by testbed/openstack.sh; rewritten on every 'up'.
[DEFAULT]
use_stderr = true
enabled_backends = ceph:rbd, other:rbd, local:file
show_image_direct_url = True
show_multiple_locations = $GLANCE_SHOW_MULTIPLE_LOCATIONS
hashing_algorithm = sha512
do_secure_hash = True
worker_self_reference_url = $GL_URL
image_cache_dir = $GL_DIR/cache

[database]
connection = $GL_DB_URL

[paste_deploy]
flavor = keystone
config_file = $GL_DIR/glance-api-paste.ini

[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
user_domain_name = $DOMAIN
project_domain_name = $DOMAIN
project_name = $SERVICE_PROJECT
username = $GLANCE_USER
password = $GLANCE_PASSWORD
region_name = $REGION
service_token_roles_required = true

[oslo_concurrency]
lock_path = $GL_DIR/locks

[glance_store]
default_backend = ceph

[ceph]
store_description = RBD store on cluster main (default)
rbd_store_pool = images
rbd_store_user = glance
rbd_store_ceph_conf = $GL_DIR/ceph-main.conf
rbd_store_chunk_size = 8
rados_connect_timeout = 30

[other]
store_description = RBD store on cluster other
rbd_store_pool = images
rbd_store_user = glance
rbd_store_ceph_conf = $GL_DIR/ceph-other.conf
rbd_store_chunk_size = 8
rados_connect_timeout = 30

[local]
store_description = file store
filesystem_store_datadir = $GL_DIR/images

[os_glance_staging_store]
filesystem_store_datadir = $GL_DIR/staging

[os_glance_tasks_store]
filesystem_store_datadir = $GL_DIR/tasks
EOF
    # gthread workers: a long image download runs in a thread while the
    # worker keeps beating, so the timeout does not cut it off.
    write_if_changed "$GL_DIR/gunicorn.conf.py" <<EOF && changed=0
# Written by testbed/openstack.sh; rewritten on every 'up'.
wsgi_app = "glance.wsgi.api:application"
proc_name = "glance-api"
bind = ["127.0.0.1:$GLANCE_PORT"]
workers = $GLANCE_WORKERS
worker_class = "gthread"
threads = 8
timeout = 600
graceful_timeout = 10
control_socket_disable = True
accesslog = "$GL_DIR/access.log"
EOF
    return $changed
}

glance_db_sync() {
    [ "$(cat "$GL_DIR/db-synced" 2>/dev/null || true)" = "$GL_DB_URL" ] && return 0
    "$IN_ROOT" "$VENV/bin/glance-manage" --config-file "$GL_DIR/glance-api.conf" db_sync \
        >>"$GL_DIR/glance-manage.log" 2>&1 \
        || fail glance-manage "$GL_DIR/glance-manage.log" "glance-manage db_sync failed"
    echo "$GL_DB_URL" >"$GL_DIR/db-synced"
}

glance_answers() {
    curl -sf --max-time 5 -o /dev/null "$GL_URL/healthcheck"
}

glance_start() {
    local restart=$1
    if pid_alive "$GL_PID"; then
        [ "$restart" = 1 ] || return 0
        stop_pid glance-api "$GL_PID"
    fi
    if port_open 127.0.0.1 "$GLANCE_PORT"; then
        fail glance-api "" "port $GLANCE_PORT is taken by a process this script did not start"
    fi
    os_py check-ceph \
        main "$GL_DIR/ceph-main.conf" "$(fsid_of "$BED/main/ceph.conf")" \
        other "$GL_DIR/ceph-other.conf" "$(fsid_of "$BED/other/ceph.conf")" \
        2>"$GL_DIR/check-ceph.log" \
        || fail glance-api "$GL_DIR/check-ceph.log" "a Ceph cluster is not reachable as client.glance: is testbed/ceph.sh up?"
    log "starting glance-api on $GL_URL"
    spawn "$GL_PID" "$GL_LOG" env OS_GLANCE_CONFIG_DIR="$GL_DIR" \
        GUNICORN_CMD_ARGS="--config $GL_DIR/gunicorn.conf.py" "$IN_ROOT" "$VENV/bin/gunicorn"
    wait_until 90 glance-api "$GL_LOG" "$GL_PID" glance_answers
}

glance_check() {
    os_py check-glance "$(fsid_of "$BED/main/ceph.conf")" "$(fsid_of "$BED/other/ceph.conf")"
}

# --- env files ---------------------------------------------------------------
write_env() {
    write_if_changed "$BED/openstack.env" <<EOF || true
# Keystone/Glance of the test bed (testbed/openstack.sh); the uploader
# stands for Cinder's service user (roles: $UPLOADER_ROLES in $SERVICE_PROJECT).
export OS_AUTH_URL=$KS_URL/v3
export OS_USERNAME=$UPLOADER_USER
export OS_PASSWORD=$UPLOADER_PASSWORD
export OS_PROJECT_NAME=$SERVICE_PROJECT
export OS_USER_DOMAIN_NAME=$DOMAIN
export OS_PROJECT_DOMAIN_NAME=$DOMAIN
export OS_REGION_NAME=$REGION
export OS_IDENTITY_API_VERSION=3
export OS_CLOUD=$CLOUD_NAME
export OS_CLIENT_CONFIG_FILE=$BED/clouds.yaml
export OS_ADMIN_USERNAME=$ADMIN_USER
export OS_ADMIN_PASSWORD=$ADMIN_PASSWORD
export OS_ADMIN_PROJECT_NAME=$ADMIN_PROJECT
export GLANCE_URL=$GL_URL
# Cinder (testbed/cinder.sh): its API, its volume types (one a backend:
# rbd-native, rbd-native-off, rbd-stock; default rbd-native), and a plain
# user of the cloud, demo (member of project demo), for tests through it.
export CINDER_URL=$CI_URL/v3
export CINDER_VOLUME_TYPES='$CINDER_BACKENDS'
export DEMO_USERNAME=$DEMO_USER
export DEMO_PASSWORD=$DEMO_PASSWORD
export DEMO_PROJECT_NAME=$DEMO_PROJECT
export DEMO_CLOUD=$CLOUD_NAME-demo
EOF
    write_if_changed "$BED/clouds.yaml" <<EOF || true
# Written by testbed/openstack.sh.
clouds:
  $CLOUD_NAME:
    auth:
      auth_url: $KS_URL/v3
      username: $UPLOADER_USER
      password: $UPLOADER_PASSWORD
      project_name: $SERVICE_PROJECT
      user_domain_name: $DOMAIN
      project_domain_name: $DOMAIN
    region_name: $REGION
    identity_api_version: 3
    interface: public
  $CLOUD_NAME-admin:
    auth:
      auth_url: $KS_URL/v3
      username: $ADMIN_USER
      password: $ADMIN_PASSWORD
      project_name: $ADMIN_PROJECT
      user_domain_name: $DOMAIN
      project_domain_name: $DOMAIN
    region_name: $REGION
    identity_api_version: 3
    interface: public
  $CLOUD_NAME-demo:
    auth:
      auth_url: $KS_URL/v3
      username: $DEMO_USER
      password: $DEMO_PASSWORD
      project_name: $DEMO_PROJECT
      user_domain_name: $DOMAIN
      project_domain_name: $DOMAIN
    region_name: $REGION
    identity_api_version: 3
    interface: public
EOF
}

# --- subcommands ---------------------------------------------------------------
cmd_up() {
    local ks_restart=0 gl_restart=0 rc sig
    mkdir -p "$KS_DIR" "$GL_DIR"
    ensure_venv
    export_py_env
    keystone_conf && ks_restart=1
    glance_conf && gl_restart=1
    db_start
    # The broker boots and Cinder's schema is made while Keystone and
    # Glance's schema are.
    cinder_prepare
    # Both databases at once: two cores, two independent slow steps.
    if [ "$(cat "$GL_DIR/db-synced" 2>/dev/null || true)" != "$GL_DB_URL" ]; then
        glance_db_sync &
        local dbpid=$!
    fi
    keystone_bootstrap
    if [ -n "${dbpid:-}" ]; then
        wait "$dbpid" || exit 1
    fi
    keystone_start "$ks_restart"

    sig="$KEYSTONE_PORT $GLANCE_PORT $UPLOADER_ROLES $GLANCE_ROLES"
    if [ "$(cat "$KS_DIR/provisioned" 2>/dev/null || true)" != "$sig" ]; then
        os_py provision >>"$KS_DIR/provision.log" 2>&1 \
            || fail keystone "$KS_DIR/provision.log" "provisioning through the REST API failed"
        echo "$sig" >"$KS_DIR/provisioned"
    fi
    os_py check-keystone >>"$KS_DIR/provision.log" 2>&1 \
        || fail keystone "$KS_DIR/provision.log" "uploader cannot get a proper token"

    glance_start "$gl_restart"
    rc=0
    glance_check 2>>"$GL_DIR/check.log" || rc=$?
    if [ "$rc" = 3 ]; then
        # An rbd store without the right fsid: its cluster was re-created
        # under a running Glance, or was down when Glance started (the store
        # then reports no fsid). Restart Glance once.
        log "a Ceph cluster changed under glance-api; restarting it"
        glance_start 1
        rc=0
        glance_check 2>>"$GL_DIR/check.log" || rc=$?
    fi
    [ "$rc" = 0 ] || fail glance-api "$GL_DIR/check.log" "stores detail is not what it should be (see also $GL_LOG)"
    write_env
    log "keystone $KS_URL and glance $GL_URL are up"
    cinder_up
}

cmd_down() {
    cinder_down
    stop_pid glance-api "$GL_PID"
    stop_pid keystone "$KS_PID"
    stop_pid mariadb "$DB_PID"
}

cmd_status() {
    local ok=0
    export_py_env
    if pid_alive "$KS_PID" && keystone_answers; then
        echo "keystone: running (pid $(cat "$KS_PID")) at $KS_URL"
    else
        echo "keystone: not running"
        ok=1
    fi
    if pid_alive "$GL_PID" && glance_answers; then
        if [ -f "$BED/main/ceph.conf" ] && [ -f "$BED/other/ceph.conf" ] \
            && glance_check 2>/dev/null; then
            echo "glance-api: running (pid $(cat "$GL_PID")) at $GL_URL, stores ok"
        else
            echo "glance-api: running (pid $(cat "$GL_PID")) at $GL_URL, but stores detail is wrong"
            ok=1
        fi
    else
        echo "glance-api: not running"
        ok=1
    fi
    cinder_status || ok=1
    return $ok
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 up|down|status" >&2
        exit 2
        ;;
esac
