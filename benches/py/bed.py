"""What the reference scripts share: the bed's settings, a Keystone session
and python-glanceclient for the uploader, librados as the Ceph user, a
clock for steps, and the cleanup of an image the scripts made.

Settings come from the environment (CEPH_CONF, CEPH_<USER>_KEYRING, OS_*)
completed from the bed's env file (RBD_NATIVE_TESTBED_ENV, else .testbed/env
of this checkout). Run with the project's venv (`make venv`): it has
python-glanceclient, os-brick and the `rados`/`rbd` bindings.
"""

import json
import os
import shlex
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_env():
    path = os.environ.get("RBD_NATIVE_TESTBED_ENV") or os.path.join(HERE, "..", "..", ".testbed", "env")
    env = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    line = line[len("export "):]
                if line and not line.startswith("#") and "=" in line:
                    name, value = line.split("=", 1)
                    env[name.strip()] = (shlex.split(value) or [""])[0]
    env.update(os.environ)
    return env


ENV = load_env()


def die(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(1)


def need(name):
    if not ENV.get(name):
        die("%s is not set: source the bed's env file (.testbed/env)" % name)
    return ENV[name]


class Clock:
    """Seconds per named step, in order."""

    def __init__(self):
        self.steps = {}
        self.start = time.monotonic()

    def step(self, name, t0):
        self.steps[name] = round(time.monotonic() - t0, 4)

    def total(self):
        return round(time.monotonic() - self.start, 4)


def keystone_session():
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    auth = v3.Password(auth_url=need("OS_AUTH_URL"), username=need("OS_USERNAME"),
                       password=need("OS_PASSWORD"), project_name=need("OS_PROJECT_NAME"),
                       user_domain_name=ENV.get("OS_USER_DOMAIN_NAME", "Default"),
                       project_domain_name=ENV.get("OS_PROJECT_DOMAIN_NAME", "Default"))
    sess = session.Session(auth=auth)
    sess.get_token()
    return sess


def glance_client(sess):
    from glanceclient import Client

    kw = {"session": sess, "interface": "public"}
    if ENV.get("OS_REGION_NAME"):
        kw["region_name"] = ENV["OS_REGION_NAME"]
    return Client("2", **kw)


def ceph_conf_for(user, tmpdir):
    """A copy of CEPH_CONF naming the user's keyring (CEPH_<USER>_KEYRING)."""
    path = os.path.join(tmpdir, "ceph.conf")
    keyring = ENV.get("CEPH_%s_KEYRING" % user.upper())
    with open(need("CEPH_CONF")) as src, open(path, "w") as dst:
        dst.write(src.read())
        if keyring:
            dst.write("\n[client.%s]\nkeyring = %s\n" % (user, keyring))
    return path


def rados_connect(user):
    import rados

    tmp = tempfile.mkdtemp(prefix="bench-ceph-")
    conf = ceph_conf_for(user, tmp)
    c = rados.Rados(conffile=conf, rados_id=user)
    c.conf_set("client_mount_timeout", "30")
    c.connect(timeout=30)
    return c, conf


def wait_status(glance, image_id, want="active", timeout=600):
    deadline = time.monotonic() + timeout
    while True:
        img = glance.images.get(image_id)
        if img["status"] == want:
            return img
        if img["status"] in ("killed", "deleted") or time.monotonic() > deadline:
            raise RuntimeError("image %s is %s, not %s" % (image_id, img["status"], want))
        time.sleep(0.1)


def delete_image(glance, image_id, timeout=120):
    """Deletes a Glance image; waits out the 409 of its background hashing."""
    from glanceclient import exc

    deadline = time.monotonic() + timeout
    while True:
        try:
            glance.images.delete(image_id)
            return "deleted"
        except exc.HTTPNotFound:
            return "not found"
        except (exc.HTTPConflict, exc.HTTPInternalServerError) as e:
            if "backend store" in str(e) or time.monotonic() > deadline:
                return "refused: %s" % str(e).strip().splitlines()[0]
            time.sleep(0.5)


def remove_rbd_image(ioctx, name):
    """Removes an RBD image and its snapshots (unprotecting them); True if it was there."""
    import rbd

    try:
        img = rbd.Image(ioctx, name)
    except rbd.ImageNotFound:
        return False
    with img:
        for s in list(img.list_snaps()):
            if img.is_protected_snap(s["name"]):
                img.unprotect_snap(s["name"])
            img.remove_snap(s["name"])
    rbd.RBD().remove(ioctx, name)
    return True


def remove_snap(ioctx, image, snap):
    """Unprotects and removes image@snap; what happened."""
    import rbd

    try:
        with rbd.Image(ioctx, image) as img:
            if snap not in [s["name"] for s in img.list_snaps()]:
                return "absent"
            if img.is_protected_snap(snap):
                img.unprotect_snap(snap)
            img.remove_snap(snap)
            return "removed"
    except rbd.ImageNotFound:
        return "no image"
    except rbd.Error as e:
        return "failed: %s" % e
