# shellcheck shell=bash
# Cinder for the test bed: sourced by testbed/openstack.sh (its credentials,
# MariaDB and helpers), never run on its own.
#
# What it runs, all started by `openstack.sh up` and stopped by pid by
# `openstack.sh down`:
#   - an epmd and a RabbitMQ broker of the bed's own (Debian's
#     rabbitmq-server, not the system service): node rbdnative<offset>,
#     AMQP on 127.0.0.1:5672+offset, Erlang distribution on 25672+offset,
#     epmd on 14369+offset (clear of a system epmd's 4369), state under
#     $BED/rabbitmq; the cinder user and vhost are made on its first boot;
#   - a cinder database and user on the bed's MariaDB;
#   - Keystone: user cinder (admin, service in project service), a plain
#     user demo (member of project demo), services block-storage and
#     volumev3 at http://127.0.0.1:8776+offset/v3 (no project id in the URL:
#     Cinder 29 routes both forms);
#   - cinder-api (gunicorn, cinder.wsgi.api), cinder-scheduler and
#     cinder-volume (three backends on cluster main's pool volumes:
#     rbd-native and rbd-native-off with this repository's driver,
#     clone optimization on and off, and rbd-stock with Cinder's
#     RBDDriver), and volume types of the same names.
#
# Honours CINDER_PORT, RABBIT_PORT, RABBIT_DIST_PORT, EPMD_PORT,
# CINDER_UP_TIMEOUT, CINDER_WORKERS, CINDER_PURGE_INTERVAL, CINDER_NATIVE_DRIVER (the driver class of the two rbd-native backends;
# default rbd_native_cinder.driver.RBDNativeDriver, Cinder's RBDDriver when
# the venv lacks that module) and RBD_NATIVE_BINARY (default
# $TOP/target/release/rbd-native).

CINDER_PORT=${CINDER_PORT:-$((8776 + PORT_OFFSET))}
RABBIT_PORT=${RABBIT_PORT:-$((5672 + PORT_OFFSET))}
RABBIT_DIST_PORT=${RABBIT_DIST_PORT:-$((25672 + PORT_OFFSET))}
EPMD_PORT=${EPMD_PORT:-$((14369 + PORT_OFFSET))}
CINDER_NATIVE_DRIVER=${CINDER_NATIVE_DRIVER:-rbd_native_cinder.driver.RBDNativeDriver}
CINDER_STOCK_DRIVER=cinder.volume.drivers.rbd.RBDDriver
RBD_NATIVE_BINARY=${RBD_NATIVE_BINARY:-$TOP/target/release/rbd-native}
CINDER_WORKERS=${CINDER_WORKERS:-1}
# Seconds `up` waits for the scheduler and the backends to report.
CINDER_UP_TIMEOUT=${CINDER_UP_TIMEOUT:-180}
# Seconds between the backends' purges of their deleted volumes.
CINDER_PURGE_INTERVAL=${CINDER_PURGE_INTERVAL:-5}
# The backends, in the order of enabled_backends.
CINDER_BACKENDS="rbd-native rbd-native-off rbd-stock"

RMQ_DIR=$BED/rabbitmq
RMQ_NODE=rbdnative$PORT_OFFSET@localhost
RMQ_PID=$RMQ_DIR/rabbitmq.pid
RMQ_LOG=$RMQ_DIR/rabbitmq.log
EPMD_PID=$RMQ_DIR/epmd.pid
EPMD_LOG=$RMQ_DIR/epmd.log
CI_DIR=$BED/cinder
CI_URL=http://127.0.0.1:$CINDER_PORT
CI_API_PID=$CI_DIR/cinder-api.pid
CI_API_LOG=$CI_DIR/cinder-api.log
CI_SCH_PID=$CI_DIR/cinder-scheduler.pid
CI_SCH_LOG=$CI_DIR/cinder-scheduler.log
CI_VOL_PID=$CI_DIR/cinder-volume.pid
CI_VOL_LOG=$CI_DIR/cinder-volume.log
CI_DB_URL="mysql+pymysql://cinder:$CINDER_DB_PASSWORD@localhost/cinder?unix_socket=$DB_SOCK&charset=utf8mb4"
CI_TRANSPORT=rabbit://$RABBIT_USER:$RABBIT_PASSWORD@127.0.0.1:$RABBIT_PORT/$RABBIT_VHOST

# --- RabbitMQ ------------------------------------------------------------------
# RMQ_ENV: the bed broker's environment, for env(1) (no /etc/rabbitmq,
# HOME for the Erlang cookie, the bed's epmd).
RMQ_ENV=(
    HOME="$RMQ_DIR"
    ERL_EPMD_PORT="$EPMD_PORT"
    RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
    RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq"
    RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
    RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
    RABBITMQ_LOG_BASE="$RMQ_DIR/log"
    RABBITMQ_LOGS=-
    RABBITMQ_PLUGINS_EXPAND_DIR="$RMQ_DIR/plugins-expand"
    RABBITMQ_PID_FILE="$RMQ_DIR/beam.pid"
    RABBITMQ_NODENAME="$RMQ_NODE"
    RABBITMQ_USE_LONGNAME=false
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$RABBIT_PORT"
    RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT"
    # Erlang distribution on loopback only (it listens on every address
    # by default).
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
)

rmq_conf() {
    mkdir -p "$RMQ_DIR/log"
    : >"$RMQ_DIR/rabbitmq-env.conf"
    echo "[]." >"$RMQ_DIR/enabled_plugins"
    echo "[]." >"$RMQ_DIR/advanced.config"
    # default_*: the user and vhost the broker makes on its first boot.
    write_if_changed "$RMQ_DIR/rabbitmq.conf" <<EOF || true
# Written by testbed/cinder.sh; rewritten on every 'up'.
listeners.tcp.default = 127.0.0.1:$RABBIT_PORT
default_vhost = $RABBIT_VHOST
default_user = $RABBIT_USER
default_pass = $RABBIT_PASSWORD
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users = none
log.console = true
log.console.level = warning
log.file = false
disk_free_limit.absolute = 50MB
EOF
}

epmd_answers() {
    port_open 127.0.0.1 "$EPMD_PORT"
}

rabbit_answers() {
    port_open 127.0.0.1 "$RABBIT_PORT"
}

# rabbit_spawn: the bed's epmd, then the broker, without waiting for it
# (it boots while Keystone and the databases do).
rabbit_spawn() {
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
        fail rabbitmq "" "rabbitmq-server missing (apt-get install rabbitmq-server; 'make deps' does it)"
    rmq_conf
    if ! pid_alive "$EPMD_PID"; then
        if epmd_answers; then
            fail epmd "" "port $EPMD_PORT is taken by a process this script did not start (EPMD_PORT=)"
        fi
        log "starting epmd on 127.0.0.1:$EPMD_PORT"
        spawn "$EPMD_PID" "$EPMD_LOG" epmd -port "$EPMD_PORT" -address 127.0.0.1
        wait_until 15 epmd "$EPMD_LOG" "$EPMD_PID" epmd_answers
    fi
    pid_alive "$RMQ_PID" && return 0
    if rabbit_answers; then
        fail rabbitmq "" "port $RABBIT_PORT is taken by a process this script did not start" \
            "(the system's rabbitmq-server? stop it, or set RABBIT_PORT= or PORT_OFFSET=)"
    fi
    log "starting rabbitmq $RMQ_NODE on 127.0.0.1:$RABBIT_PORT"
    # The script stays in front of the Erlang VM and stops it on TERM.
    spawn "$RMQ_PID" "$RMQ_LOG" env "${RMQ_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server
}

rabbit_wait() {
    wait_until 90 rabbitmq "$RMQ_LOG" "$RMQ_PID" rabbit_answers
}

# --- database ------------------------------------------------------------------
cinder_db() {
    db_sql "CREATE DATABASE IF NOT EXISTS cinder CHARACTER SET utf8mb4;
        CREATE USER IF NOT EXISTS 'cinder'@'localhost' IDENTIFIED BY '$CINDER_DB_PASSWORD';
        GRANT ALL PRIVILEGES ON cinder.* TO 'cinder'@'localhost';"
}

cinder_db_sync() {
    [ "$(cat "$CI_DIR/db-synced" 2>/dev/null || true)" = "$CI_DB_URL" ] && return 0
    "$IN_ROOT" "$VENV/bin/cinder-manage" --config-file "$CI_DIR/cinder.conf" db sync \
        >>"$CI_DIR/cinder-manage.log" 2>&1 ||
        fail cinder-manage "$CI_DIR/cinder-manage.log" "cinder-manage db sync failed"
    echo "$CI_DB_URL" >"$CI_DIR/db-synced"
}

# --- configuration ---------------------------------------------------------------
# native_driver: the class of the rbd-native backends: CINDER_NATIVE_DRIVER
# when the venv has its module, else Cinder's RBDDriver (said once).
native_driver() {
    local module=${CINDER_NATIVE_DRIVER%.*}
    if "$PY" -c "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('$module') else 1)" \
        2>/dev/null; then
        echo "$CINDER_NATIVE_DRIVER"
    else
        log "cinder: no module $module in $VENV; backends rbd-native and rbd-native-off use $CINDER_STOCK_DRIVER"
        echo "$CINDER_STOCK_DRIVER"
    fi
}

# backend_section NAME DRIVER CLONE: a backend on cluster main's volumes.
backend_section() {
    local name=$1 driver=$2 clone=$3
    cat <<EOF

[$name]
volume_backend_name = $name
volume_driver = $driver
rbd_pool = volumes
rbd_ceph_conf = $BED/main/ceph.conf
rbd_user = cinder
rbd_keyring_conf = $BED/main/ceph.client.cinder.keyring
rbd_secret_uuid = $CINDER_RBD_SECRET_UUID
# A deleted volume goes to the RBD trash and the driver's periodic purge
# removes it (one a clone still needs stays there until the clone goes):
# the documented purge, every few seconds here.
enable_deferred_deletion = True
deferred_deletion_delay = 0
deferred_deletion_purge_interval = $CINDER_PURGE_INTERVAL
EOF
    if [ -n "$clone" ]; then
        echo "enable_clone_optimization = $clone"
        echo "rbd_native_binary = $RBD_NATIVE_BINARY"
        echo "rbd_native_keyring = $BED/main/ceph.client.cinder.keyring"
        echo "rbd_native_purge_interval = 5"
    fi
}

# auth_section GROUP: password authentication as the cinder user.
auth_section() {
    cat <<EOF

[$1]
auth_url = $KS_URL
auth_type = password
user_domain_name = $DOMAIN
project_domain_name = $DOMAIN
project_name = $SERVICE_PROJECT
username = $CINDER_USER
password = $CINDER_PASSWORD
region_name = $REGION
EOF
}

cinder_conf() {
    mkdir -p "$CI_DIR/state" "$CI_DIR/locks" "$CI_DIR/conversion"
    [ -f "$BED/main/ceph.conf" ] || fail cinder "" "$BED/main/ceph.conf missing: bring the Ceph clusters up first"
    local changed=1 f driver
    driver=$(native_driver)
    # The volume host's /etc/ceph (see cinder_spawn).
    mkdir -p "$CI_DIR/etc-ceph"
    [ -d "$ROOT/etc/ceph" ] || mkdir -p "$ROOT/etc/ceph"
    write_if_changed "$CI_DIR/etc-ceph/ceph.client.cinder.keyring" <"$BED/main/ceph.client.cinder.keyring" || true
    write_if_changed "$CI_DIR/etc-ceph/ceph.conf" <"$BED/main/ceph.conf" || true
    for f in api-paste.ini resource_filters.json; do
        [ -f "$VENV/etc/cinder/$f" ] || fail cinder "" "$VENV/etc/cinder/$f missing (cinder not installed in the venv?)"
        if ! cmp -s "$VENV/etc/cinder/$f" "$CI_DIR/$f"; then
            cp "$VENV/etc/cinder/$f" "$CI_DIR/$f"
            changed=0
        fi
    done
    {
        cat <<EOF
# Written by testbed/cinder.sh; rewritten on every 'up'.
# The driver as installed (testbed/venv.sh's stamp; the services restart
# when it changes): $(cat "$VENV/.cinder-driver" 2>/dev/null || echo none)
[DEFAULT]
use_stderr = true
host = rbd-native-bed
my_ip = 127.0.0.1
state_path = $CI_DIR/state
api_paste_config = $CI_DIR/api-paste.ini
resource_query_filters_file = $CI_DIR/resource_filters.json
auth_strategy = keystone
transport_url = $CI_TRANSPORT
enabled_backends = ${CINDER_BACKENDS// /,}
default_volume_type = rbd-native
glance_api_servers = $GL_URL
image_conversion_dir = $CI_DIR/conversion
rootwrap_config = $VENV/etc/cinder/rootwrap.conf
# Within stop_pid's 15 s: a service stops (its backends' processes too)
# before it would be killed.
graceful_shutdown_timeout = 10

[database]
connection = $CI_DB_URL

[oslo_concurrency]
lock_path = $CI_DIR/locks

[oslo_messaging_notifications]
driver = noop

[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
user_domain_name = $DOMAIN
project_domain_name = $DOMAIN
project_name = $SERVICE_PROJECT
username = $CINDER_USER
password = $CINDER_PASSWORD
region_name = $REGION
service_token_roles_required = True

[service_user]
send_service_user_token = True
EOF
        auth_section service_user | tail -n +3
        # Glance's GET /v2/images/{id}/locations (Cinder 29 asks it before
        # the old direct_url) needs the service role: Cinder calls it as the
        # user of this section.
        auth_section glance
        backend_section rbd-native "$driver" True
        backend_section rbd-native-off "$driver" False
        backend_section rbd-stock "$CINDER_STOCK_DRIVER" ""
    } | write_if_changed "$CI_DIR/cinder.conf" && changed=0
    write_if_changed "$CI_DIR/gunicorn.conf.py" <<EOF && changed=0
# Written by testbed/cinder.sh; rewritten on every 'up'.
wsgi_app = "cinder.wsgi.api:application"
proc_name = "cinder-api"
bind = ["127.0.0.1:$CINDER_PORT"]
workers = $CINDER_WORKERS
worker_class = "gthread"
threads = 4
timeout = 120
graceful_timeout = 10
control_socket_disable = True
accesslog = "$CI_DIR/access.log"
EOF
    [ -x "$RBD_NATIVE_BINARY" ] || [ "$driver" = "$CINDER_STOCK_DRIVER" ] ||
        log "cinder: note: $RBD_NATIVE_BINARY does not exist yet (cargo build --release)"
    return $changed
}

# --- the Python helper (stdlib only) ---------------------------------------------
# ci_py CMD: provision-keystone | provision-cinder | check-services SECONDS
ci_py() {
    "$PY" - "$@" <<'PY'
import os, sys, time

sys.path.insert(0, os.path.join(os.environ["TOP"], "testbed"))
from os_api import E, call, token, one  # noqa: E402


def provision_keystone():
    ks = E["KS_URL"]
    t, _ = token(E["ADMIN_USER"], E["ADMIN_PASSWORD"], E["ADMIN_PROJECT"])
    dom = one(t, "domains", "domains", name=E["DOMAIN"])["id"]
    roles = {}
    for name in ("admin", "member", "reader", "service"):
        r = one(t, "roles", "roles", name=name)
        if r is None:
            r, _ = call("POST", ks + "/v3/roles", t, {"role": {"name": name}})
            r = r["role"]
        roles[name] = r["id"]

    def project(name, description):
        p = one(t, "projects", "projects", name=name, domain_id=dom)
        if p is None:
            p, _ = call("POST", ks + "/v3/projects", t, {"project": {
                "name": name, "domain_id": dom, "description": description}})
            p = p["project"]
        return p["id"]

    def user(name, password, pid, role_names):
        u = one(t, "users", "users", name=name, domain_id=dom)
        body = {"user": {"name": name, "domain_id": dom, "password": password,
                         "default_project_id": pid, "enabled": True}}
        if u is None:
            u, _ = call("POST", ks + "/v3/users", t, body)
        else:
            u, _ = call("PATCH", "%s/v3/users/%s" % (ks, u["id"]), t, body)
        uid = u["user"]["id"]
        for rn in role_names:
            call("PUT", "%s/v3/projects/%s/users/%s/roles/%s" % (ks, pid, uid, roles[rn]), t)

    service = project(E["SERVICE_PROJECT"], "service users of the test bed")
    demo = project(E["DEMO_PROJECT"], "the test bed's plain user")
    user(E["CINDER_USER"], E["CINDER_PASSWORD"], service, E["CINDER_ROLES"].split(","))
    user(E["DEMO_USER"], E["DEMO_PASSWORD"], demo, E["DEMO_ROLES"].split(","))

    url = E["CI_URL"] + "/v3"
    for stype, name in (("block-storage", "cinder"), ("volumev3", "cinderv3")):
        svc = one(t, "services", "services", type=stype)
        if svc is None:
            svc, _ = call("POST", ks + "/v3/services", t, {"service": {
                "name": name, "type": stype, "description": "Cinder (block storage)"}})
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


def admin():
    t, tok = token(E["ADMIN_USER"], E["ADMIN_PASSWORD"], E["ADMIN_PROJECT"])
    return t, "%s/v3/%s" % (E["CI_URL"], tok["project"]["id"])


def provision_cinder():
    # Volume types named as the backends, public, default rbd-native (cinder.conf).
    t, base = admin()
    doc, _ = call("GET", base + "/types?is_public=None", t)
    have = {vt["name"]: vt for vt in doc["volume_types"]}
    for name in E["CINDER_BACKENDS"].split():
        vt = have.get(name)
        if vt is None:
            call("POST", base + "/types", t, {"volume_type": {
                "name": name, "os-volume-type-access:is_public": True,
                "description": "backend %s of the test bed" % name,
                "extra_specs": {"volume_backend_name": name}}})
        elif vt.get("extra_specs", {}).get("volume_backend_name") != name:
            call("POST", "%s/types/%s/extra_specs" % (base, vt["id"]), t,
                 {"extra_specs": {"volume_backend_name": name}})


def check_services(secs):
    # The scheduler and the three backends up, and every backend's pool
    # known to the scheduler (its driver initialised and reporting).
    t, base = admin()
    want = ["rbd-native-bed@" + b for b in E["CINDER_BACKENDS"].split()]
    deadline = time.time() + secs
    while True:
        problems = []
        doc, _ = call("GET", base + "/os-services", t)
        up = {(s["binary"], s["host"]) for s in doc["services"]
              if s["state"] == "up" and s["status"] == "enabled"}
        if not any(b == "cinder-scheduler" for b, _ in up):
            problems.append("cinder-scheduler is not up")
        for h in want:
            if ("cinder-volume", h) not in up:
                problems.append("cinder-volume %s is not up" % h)
        if not problems:
            doc, _ = call("GET", base + "/scheduler-stats/get_pools", t)
            pools = {p["name"].split("#")[0] for p in doc.get("pools", [])}
            problems += ["backend %s reports no pool to the scheduler" % h
                         for h in want if h not in pools]
        if not problems:
            return
        if time.time() >= deadline:
            raise SystemExit("; ".join(problems))
        time.sleep(1)


cmd = sys.argv[1]
if cmd == "provision-keystone":
    provision_keystone()
elif cmd == "provision-cinder":
    provision_cinder()
elif cmd == "check-services":
    check_services(float(sys.argv[2]))
else:
    raise SystemExit("unknown command " + cmd)
PY
}

export_ci_env() {
    export CI_URL CINDER_USER CINDER_PASSWORD CINDER_ROLES CINDER_BACKENDS \
        DEMO_USER DEMO_PASSWORD DEMO_PROJECT DEMO_ROLES
}

# --- services ------------------------------------------------------------------
cinder_api_answers() {
    curl -sf --max-time 5 -o /dev/null "$CI_URL/"
}

# cinder_spawn RESTART: the three services (restarted when RESTART is 1).
cinder_spawn() {
    local restart=$1
    if [ "$restart" = 1 ]; then
        cinder_stop
    fi
    if ! pid_alive "$CI_API_PID"; then
        if port_open 127.0.0.1 "$CINDER_PORT"; then
            fail cinder-api "" "port $CINDER_PORT is taken by a process this script did not start"
        fi
        log "starting cinder-api on $CI_URL"
        # Cinder's WSGI app parses sys.argv with oslo.config and takes no
        # config file from the environment: gunicorn's options come from
        # GUNICORN_CMD_ARGS, and oslo.config finds cinder.conf as
        # ~/cinder.conf with HOME=$CI_DIR.
        spawn "$CI_API_PID" "$CI_API_LOG" env HOME="$CI_DIR" \
            GUNICORN_CMD_ARGS="--config $CI_DIR/gunicorn.conf.py" "$IN_ROOT" "$VENV/bin/gunicorn"
    fi
    if ! pid_alive "$CI_SCH_PID"; then
        log "starting cinder-scheduler"
        spawn "$CI_SCH_PID" "$CI_SCH_LOG" "$IN_ROOT" "$VENV/bin/cinder-scheduler" \
            --config-file "$CI_DIR/cinder.conf"
    fi
    if ! pid_alive "$CI_VOL_PID"; then
        log "starting cinder-volume ($CINDER_BACKENDS)"
        # os-brick, which Cinder's RBD driver uses to read a volume (upload
        # to an image, say), takes the keyring from
        # /etc/ceph/ceph.client.cinder.keyring, as on a real volume host:
        # the service sees $CI_DIR/etc-ceph there, in a mount namespace of
        # its own (the host's and the root's /etc/ceph stay as they are).
        local userns=()
        [ "$(id -u)" = 0 ] || userns=(--map-root-user)
        spawn "$CI_VOL_PID" "$CI_VOL_LOG" unshare "${userns[@]}" --mount --propagation private \
            sh -c 'mount --bind "$1" "$2" || exit 1; shift 2; exec "$@"' sh \
            "$CI_DIR/etc-ceph" "$ROOT/etc/ceph" \
            "$IN_ROOT" "$VENV/bin/cinder-volume" --config-file "$CI_DIR/cinder.conf"
    fi
}

cinder_stop() {
    stop_pid cinder-volume "$CI_VOL_PID"
    stop_pid cinder-scheduler "$CI_SCH_PID"
    stop_pid cinder-api "$CI_API_PID"
}

# cinder_check SECONDS: the services report up within SECONDS, or fail
# naming the log to read.
cinder_check() {
    local secs=$1 pidfile
    for pidfile in "$CI_SCH_PID" "$CI_VOL_PID"; do
        pid_alive "$pidfile" || fail cinder "$CI_DIR/$(basename "$pidfile" .pid).log" \
            "$(basename "$pidfile" .pid) is not running"
    done
    if ! ci_py check-services "$secs" 2>"$CI_DIR/check.log"; then
        fail cinder "$CI_VOL_LOG" "$(tail -n 1 "$CI_DIR/check.log") after ${secs}s" \
            "(read $CI_VOL_LOG and $CI_SCH_LOG)"
    fi
}

# --- entry points (called by openstack.sh) ----------------------------------------
# cinder_prepare: what needs no Keystone: the broker spawned, the database
# and its schema (in the background: the caller waits for $CI_DBPID), the
# configuration. Sets CI_RESTART.
cinder_prepare() {
    mkdir -p "$CI_DIR"
    export_ci_env
    rabbit_spawn
    CI_RESTART=0
    cinder_conf && CI_RESTART=1
    cinder_db
    CI_DBPID=
    if [ "$(cat "$CI_DIR/db-synced" 2>/dev/null || true)" != "$CI_DB_URL" ]; then
        cinder_db_sync &
        CI_DBPID=$!
    fi
}

# cinder_up: after Keystone and Glance: Keystone's cinder entries, the
# services, the volume types, and the backends up.
cinder_up() {
    local sig
    sig="$CINDER_PORT $CINDER_ROLES $DEMO_ROLES $DEMO_PROJECT"
    if [ "$(cat "$CI_DIR/provisioned" 2>/dev/null || true)" != "$sig" ]; then
        ci_py provision-keystone >>"$CI_DIR/provision.log" 2>&1 ||
            fail cinder "$CI_DIR/provision.log" "provisioning Keystone for Cinder failed"
        echo "$sig" >"$CI_DIR/provisioned"
    fi
    if [ -n "${CI_DBPID:-}" ]; then
        wait "$CI_DBPID" || exit 1
    fi
    rabbit_wait
    cinder_spawn "$CI_RESTART"
    wait_until 90 cinder-api "$CI_API_LOG" "$CI_API_PID" cinder_api_answers
    if [ "$(cat "$CI_DIR/types" 2>/dev/null || true)" != "$CINDER_BACKENDS" ]; then
        ci_py provision-cinder >>"$CI_DIR/provision.log" 2>&1 ||
            fail cinder "$CI_DIR/provision.log" "creating the volume types failed"
        echo "$CINDER_BACKENDS" >"$CI_DIR/types"
    fi
    cinder_check "$CINDER_UP_TIMEOUT"
    log "cinder $CI_URL is up: backends $CINDER_BACKENDS (rabbitmq $RMQ_NODE on port $RABBIT_PORT)"
}

cinder_down() {
    cinder_stop
    stop_pid rabbitmq "$RMQ_PID"
    stop_pid epmd "$EPMD_PID"
}

cinder_status() {
    local ok=0
    export_ci_env
    if pid_alive "$RMQ_PID" && rabbit_answers; then
        echo "rabbitmq: running (pid $(cat "$RMQ_PID")) $RMQ_NODE on 127.0.0.1:$RABBIT_PORT"
    else
        echo "rabbitmq: not running"
        ok=1
    fi
    if pid_alive "$CI_API_PID" && cinder_api_answers; then
        if ! pid_alive "$CI_SCH_PID"; then
            echo "cinder: api at $CI_URL, but cinder-scheduler is not running"
            ok=1
        elif ! pid_alive "$CI_VOL_PID"; then
            echo "cinder: api at $CI_URL, but cinder-volume is not running"
            ok=1
        elif ci_py check-services 0 2>"$CI_DIR/check.log"; then
            echo "cinder: running (api pid $(cat "$CI_API_PID"), scheduler $(cat "$CI_SCH_PID"), volume $(cat "$CI_VOL_PID")) at $CI_URL, backends up"
        else
            echo "cinder: api at $CI_URL, but $(tail -n 1 "$CI_DIR/check.log")"
            ok=1
        fi
    else
        echo "cinder: not running"
        ok=1
    fi
    return $ok
}
