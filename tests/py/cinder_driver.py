#!/usr/bin/env python3
"""Cinder's own RBD volume driver, driven against the test bed.

    cinder_driver.py create-volume NAME SIZE_GB
    cinder_driver.py delete-volume NAME
    cinder_driver.py create-volume-from-image NAME IMAGE_ID SIZE_GB [--no-clone]
    cinder_driver.py copy-volume-to-image NAME IMAGE_ID|new
    cinder_driver.py list

Each action prints one JSON document on stdout. The work is done by
`cinder.volume.drivers.rbd.RBDDriver` (the `cinder` package of the venv)
and, for Glance, by Cinder's `GlanceImageService`; this file only writes
the configuration a cinder-volume service would have and the few objects
the driver is handed (a Volume without a database behind it).

NAME is the volume's RBD image name in the driver's pool: `volume-<uuid>`
as Cinder names them, or any other name (the volume's id is then the name
itself and the name template `%s`).

Settings come from the environment (CEPH_CONF, CEPH_CINDER_KEYRING, OS_*,
GLANCE_URL) and, for what is not set there, from the bed's env file
(RBD_NATIVE_TESTBED_ENV, else .testbed/env of this checkout). Options:
--pool (default volumes), --user (default cinder), --pools for `list`
(default: the volume pool and images), --verbose (driver log on stderr).
Exit status: 0 done, 1 the action failed (JSON with "error" on stdout),
2 usage, 3 cinder is not installed in this Python.
"""

import argparse
import json
import logging
import os
import re
import shlex
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
BACKEND = "testbed-rbd"
UUID_RE = re.compile(r"^volume-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def load_env():
    """os.environ, completed from the bed's env file."""
    path = os.environ.get("RBD_NATIVE_TESTBED_ENV") or os.path.join(HERE, "..", "..", ".testbed", "env")
    env = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    line = line[len("export "):]
                if not line or line.startswith("#") or "=" not in line:
                    continue
                name, value = line.split("=", 1)
                parts = shlex.split(value) or [""]
                env[name.strip()] = parts[0]
    env.update(os.environ)
    return env


def need(env, name):
    if not env.get(name):
        raise SystemExit("cinder_driver: %s is not set (source the bed's env file, .testbed/env)" % name)
    return env[name]


class Capture(logging.Handler):
    """Keeps the driver's log lines, to show what delete_volume did."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append("%s %s" % (record.levelname, record.getMessage()))


class Harness:
    def __init__(self, args, env):
        self.args = args
        self.env = env
        self.tmp = tempfile.TemporaryDirectory(prefix="cinder-driver-")
        user = args.user
        # Cinder reads the keyring the way librados does: from the ceph.conf.
        # A copy of the bed's conf names the user's keyring, as
        # testbed/openstack.sh does for Glance.
        keyring = env.get("CEPH_%s_KEYRING" % user.upper()) or env.get("CEPH_CINDER_KEYRING")
        self.ceph_conf = os.path.join(self.tmp.name, "ceph.conf")
        with open(need(env, "CEPH_CONF")) as src, open(self.ceph_conf, "w") as dst:
            dst.write(src.read())
            if keyring:
                dst.write("\n[client.%s]\nkeyring = %s\n" % (user, keyring))
        self.keyring = keyring
        self.cinder_conf = os.path.join(self.tmp.name, "cinder.conf")
        glance_url = env.get("GLANCE_URL") or ""
        with open(self.cinder_conf, "w") as f:
            f.write(CINDER_CONF.format(
                state_path=self.tmp.name, glance=glance_url, backend=BACKEND,
                privsep=os.path.join(os.path.dirname(sys.executable), "privsep-helper"),
                cinder_conf=self.cinder_conf,
                pool=args.pool, user=user, ceph_conf=self.ceph_conf,
                auth_url=need(env, "OS_AUTH_URL"), os_user=need(env, "OS_USERNAME"),
                os_password=need(env, "OS_PASSWORD"), os_project=need(env, "OS_PROJECT_NAME"),
                user_domain=env.get("OS_USER_DOMAIN_NAME", "Default"),
                project_domain=env.get("OS_PROJECT_DOMAIN_NAME", "Default"),
                region=env.get("OS_REGION_NAME", "RegionOne")))
        self.log = Capture()
        logger = logging.getLogger("cinder")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self.log)
        logger.propagate = False
        if args.verbose:
            h = logging.StreamHandler(sys.stderr)
            h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            logger.addHandler(h)
        self._driver = None
        self._ctx = None
        self._images = None

    # --- Cinder ------------------------------------------------------------
    def driver(self):
        if self._driver is None:
            from cinder import objects
            from cinder.common import config  # noqa: F401  (registers Cinder's options)
            from cinder.volume import configuration
            from cinder.volume import driver as base
            from cinder.volume.drivers import rbd as rbd_driver
            from oslo_config import cfg

            objects.register_all()
            cfg.CONF([], project="cinder", default_config_files=[self.cinder_conf])
            conf = configuration.Configuration(base.volume_opts, config_group=BACKEND)
            drv = rbd_driver.RBDDriver(configuration=conf, host="testbed@" + BACKEND)
            if self.keyring:
                # cinderlib's way of giving the driver a keyring (rbd_keyring_conf
                # is not an option in cinder.conf, see RBDDriver._set_keyring_attributes):
                # initialize_connection hands it to os-brick for copy_volume_to_image.
                conf.rbd_keyring_conf = self.keyring
                drv._set_keyring_attributes()
            drv.do_setup(self.context())
            drv.check_for_setup_error()
            self._driver = drv
        return self._driver

    def context(self):
        if self._ctx is None:
            from cinder import context
            from keystoneauth1 import session
            from keystoneauth1.identity import v3

            e = self.env
            auth = v3.Password(auth_url=e["OS_AUTH_URL"], username=e["OS_USERNAME"],
                               password=e["OS_PASSWORD"], project_name=e["OS_PROJECT_NAME"],
                               user_domain_name=e.get("OS_USER_DOMAIN_NAME", "Default"),
                               project_domain_name=e.get("OS_PROJECT_DOMAIN_NAME", "Default"))
            sess = session.Session(auth=auth)
            token = sess.get_token()
            self._ctx = context.RequestContext(
                user_id=auth.get_user_id(sess), project_id=auth.get_project_id(sess),
                auth_token=token, service_catalog=[], is_admin=False)
        return self._ctx

    def image_service(self):
        if self._images is None:
            from cinder.image import glance
            if not self.env.get("GLANCE_URL"):
                raise SystemExit("cinder_driver: GLANCE_URL is not set")
            self._images = glance.GlanceImageService()
        return self._images

    def volume(self, name, size_gb=1):
        """A Volume object as the volume manager hands it to the driver."""
        from cinder import objects
        from oslo_config import cfg

        self.driver()
        m = UUID_RE.match(name)
        if m:
            vid = m.group(1)
        else:
            # Any other RBD name: the id is the name, the template '%s'.
            cfg.CONF.set_override("volume_name_template", "%s")
            vid = name
        ctx = self.context()
        vtype = objects.VolumeType(ctx, id=str(uuid.uuid4()), name="testbed", extra_specs={},
                                   qos_specs_id=None)
        vol = objects.Volume(ctx, id=vid, name_id=None, size=int(size_gb), display_name=name,
                             encryption_key_id=None, volume_type=vtype,
                             volume_type_id=vtype.id, glance_metadata={},
                             host="testbed@%s#%s" % (BACKEND, BACKEND))
        assert vol.name == name, (vol.name, name)
        return vol

    # --- Ceph state, read as the driver's user --------------------------------
    def pools_state(self, pools):
        import rbd as rbdlib
        from cinder.volume.drivers.rbd import RADOSClient

        out = {}
        drv = self.driver()
        for pool in pools:
            with RADOSClient(drv, pool) as client:
                out[pool] = {"images": [], "trash": []}
                r = rbdlib.RBD()
                for name in sorted(r.list(client.ioctx)):
                    try:
                        out[pool]["images"].append(image_state(client.ioctx, name))
                    except rbdlib.ImageNotFound:
                        pass  # removed meanwhile by another client
                for t in r.trash_list(client.ioctx):
                    out[pool]["trash"].append({"id": t["id"], "name": t["name"],
                                               "source": trash_source(t.get("source"))})
        return out

    def find(self, state, name):
        """Where the volume NAME is now: its image, a .deleted one, the trash."""
        pool = state[self.args.pool]
        for img in pool["images"]:
            if img["name"] == name:
                return "present"
        for img in pool["images"]:
            if img["name"] == name + ".deleted":
                return "renamed to %s" % img["name"]
        for t in pool["trash"]:
            if t["name"] == name:
                return "moved to trash (id %s)" % t["id"]
        return "removed"


def image_state(ioctx, name):
    import rbd as rbdlib

    img = rbdlib.Image(ioctx, name, read_only=True)
    try:
        st = {"name": name, "size": img.size(), "features": img.features(), "snaps": []}
        try:
            p = img.get_parent_image_spec()
            st["parent"] = "%s/%s@%s" % (p["pool_name"], p["image_name"], p["snap_name"])
        except rbdlib.ImageNotFound:
            st["parent"] = None
        for s in img.list_snaps():
            snap = {"name": s["name"], "id": s["id"]}
            ns = s.get("namespace")
            if ns == rbdlib.RBD_SNAP_NAMESPACE_TYPE_TRASH:
                snap["namespace"] = "trash"
                try:
                    snap["original_name"] = img.snap_get_trash_namespace(s["id"])["original_name"]
                except Exception:
                    pass
            else:
                snap["namespace"] = "user"
                snap["protected"] = img.is_protected_snap(s["name"])
            try:
                img.set_snap_by_id(s["id"])
                snap["children"] = ["%s/%s" % c for c in img.list_children()]
            except Exception as e:
                snap["children_error"] = str(e)
            finally:
                img.set_snap(None)
            st["snaps"].append(snap)
        return st
    finally:
        img.close()


def trash_source(src):
    # librbd's rbd_trash_image_source_t (the Pacific bindings lack the names).
    return {0: "user", 1: "mirroring", 2: "migration", 3: "removing"}.get(src, src)


CINDER_CONF = """\
# Written by tests/py/cinder_driver.py: a cinder-volume service's view of
# the test bed, for one run.
[DEFAULT]
state_path = {state_path}
glance_api_servers = {glance}
enabled_backends = {backend}
auth_strategy = keystone

[{backend}]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
volume_backend_name = {backend}
rbd_pool = {pool}
rbd_user = {user}
rbd_ceph_conf = {ceph_conf}
rados_connect_timeout = 30
rados_connection_retries = 1
rados_connection_interval = 1

# Privileged helpers (qemu-img, file ops of the download path) run by the
# venv's privsep-helper directly, not through sudo: the bed runs as root.
[cinder_sys_admin]
helper_command = {privsep} --config-file {cinder_conf}

[privsep_osbrick]
helper_command = {privsep} --config-file {cinder_conf}

[glance]
# Cinder's service user for Glance (the locations API wants the service role).
auth_type = password
auth_url = {auth_url}
username = {os_user}
password = {os_password}
project_name = {os_project}
user_domain_name = {user_domain}
project_domain_name = {project_domain}
region_name = {region}
"""


# --- actions -------------------------------------------------------------------
def act_create_volume(h, a):
    vol = h.volume(a.name, a.size_gb)
    t = time.monotonic()
    update = h.driver().create_volume(vol)
    return {"volume": vol.name, "size_gb": vol.size, "model_update": update,
            "seconds": round(time.monotonic() - t, 3)}


def act_delete_volume(h, a):
    vol = h.volume(a.name)
    pools = [a.pool] + [p for p in a.pools if p != a.pool]
    before = h.pools_state(pools)
    t = time.monotonic()
    h.driver().delete_volume(vol)
    secs = round(time.monotonic() - t, 3)
    after = h.pools_state(pools)
    flattened = [ln.split("Image ", 1)[1].split(" is dependent")[0]
                 for ln in h.log.lines if "is dependent on the image" in ln]
    return {"volume": vol.name, "before": h.find(before, vol.name),
            "outcome": h.find(after, vol.name), "flattened_children": flattened,
            "seconds": secs, "pools_after": after}


def act_create_volume_from_image(h, a):
    vol = h.volume(a.name, a.size_gb)
    ctx, svc, drv = h.context(), h.image_service(), h.driver()
    # As Cinder's create-volume flow does (volume/flows/manager/create_volume.py):
    # the image's locations and metadata from Glance, then the driver's
    # clone_image; when that declines, create the volume and copy the data.
    location = svc.get_location(ctx, a.image_id)
    meta = svc.show(ctx, a.image_id)
    t = time.monotonic()
    cloned = False
    if not a.no_clone:
        _update, cloned = drv.clone_image(ctx, vol, location, meta, svc)
    if not cloned:
        drv.create_volume(vol)
        try:
            drv.copy_image_to_volume(ctx, vol, svc, a.image_id)
        except Exception:
            drv.delete_volume(vol)  # as the flow's revert does
            raise
    secs = round(time.monotonic() - t, 3)
    # clone_image's reasons (RBDDriver._is_cloneable logs them at debug).
    keys = ("clone", "different ceph cluster", "unable to open image", "requires image format")
    reasons = [ln for ln in h.log.lines if any(k in ln.lower() for k in keys)]
    return {"volume": vol.name, "image_id": a.image_id,
            "path": "clone_image" if cloned else "copy_image_to_volume",
            "direct_url": location[0], "locations": location[1],
            "disk_format": meta.get("disk_format"), "driver_log": reasons,
            "seconds": secs, "volume_state": image_state_by_name(h, a.pool, vol.name)}


def image_state_by_name(h, pool, name):
    from cinder.volume.drivers.rbd import RADOSClient

    with RADOSClient(h.driver(), pool) as client:
        return image_state(client.ioctx, name)


def act_copy_volume_to_image(h, a):
    vol = h.volume(a.name)
    ctx, svc, drv = h.context(), h.image_service(), h.driver()
    image_id = a.image_id
    if image_id == "new":
        # As Cinder's volume API does before it casts the upload.
        image_id = svc.create(ctx, {"name": "%s-upload" % a.name, "disk_format": "raw",
                                    "container_format": "bare"})["id"]
    meta = svc.show(ctx, image_id)
    t = time.monotonic()
    drv.copy_volume_to_image(ctx, vol, svc, meta)
    secs = round(time.monotonic() - t, 3)
    meta = svc.show(ctx, image_id)
    return {"volume": vol.name, "image_id": image_id, "status": meta.get("status"),
            "size": meta.get("size"), "seconds": secs}


def act_list(h, a):
    pools = [a.pool] + [p for p in a.pools if p != a.pool]
    return {"pools": h.pools_state(pools)}


ACTIONS = {
    "create-volume": act_create_volume,
    "delete-volume": act_delete_volume,
    "create-volume-from-image": act_create_volume_from_image,
    "copy-volume-to-image": act_copy_volume_to_image,
    "list": act_list,
}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pool", default="volumes", help="the driver's rbd_pool")
    p.add_argument("--user", default="cinder", help="the driver's rbd_user")
    p.add_argument("--pools", default="images", help="further pools for list/delete-volume, comma-separated")
    p.add_argument("--verbose", action="store_true", help="the driver's log on stderr")
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("create-volume")
    s.add_argument("name")
    s.add_argument("size_gb", type=int)
    s = sub.add_parser("delete-volume")
    s.add_argument("name")
    s = sub.add_parser("create-volume-from-image")
    s.add_argument("name")
    s.add_argument("image_id")
    s.add_argument("size_gb", type=int)
    s.add_argument("--no-clone", action="store_true", help="skip clone_image (the download path)")
    s = sub.add_parser("copy-volume-to-image")
    s.add_argument("name")
    s.add_argument("image_id", help="a queued Glance image, or 'new' to create one")
    sub.add_parser("list")
    a = p.parse_args(argv)
    a.pools = [x for x in a.pools.split(",") if x]
    return a


def main(argv):
    a = parse(argv)
    try:
        import cinder.volume.drivers.rbd  # noqa: F401
    except ImportError as e:
        print("cinder_driver: Cinder's RBD driver cannot be imported in %s (%s): "
              "run `make venv`" % (sys.executable, e), file=sys.stderr)
        return 3
    h = Harness(a, load_env())
    try:
        result = ACTIONS[a.action](h, a)
        result = dict({"action": a.action, "ok": True}, **result)
        rc = 0
    except Exception as e:  # the driver's exception, reported as JSON
        result = {"action": a.action, "ok": False, "error": "%s: %s" % (type(e).__name__, e),
                  "driver_log": h.log.lines[-30:]}
        rc = 1
    print(json.dumps(result, indent=1, default=str))
    h.tmp.cleanup()
    return rc


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # privsep-helper's too
    sys.exit(main(sys.argv[1:]))
