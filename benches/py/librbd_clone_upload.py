#!/usr/bin/env python3
"""The clone upload done through librbd (Ceph's Python bindings): the floor
that `rbd-native upload`'s clone path is compared to.

    librbd_clone_upload.py --volume POOL/NAME [--name NAME] [--store ID]
                           [--user cinder] [--delete]
    librbd_clone_upload.py --cleanup IMAGE_ID --volume POOL/NAME [--store ID]

The spec's sequence, each step timed: Glance's stores detail (the target
store: --store, else the default; it must be rbd with our fsid), image
create, snapshot `image-<image id>.clone_snap` of the volume (the name
rbd-native gives it), protected when the clone is format 1, clone into the
store's pool under the image id with the layering feature alone, snapshot
`snap` on the clone and protect it, the location
`rbd://<fsid>/<pool>/<image id>/snap` through the locations API, wait for
`active`. Prints JSON: image id, seconds per step, `clone_seconds` (image
create to active: what the spec's table measures) and `total_seconds`.
--delete removes everything afterwards; --cleanup IMAGE_ID removes what a
run for that image left (Glance image, clone, volume snapshot).
"""

import argparse
import json
import sys
import time

import bed

RELEASES = ["jewel", "kraken", "luminous", "mimic", "nautilus", "octopus", "pacific",
            "quincy", "reef", "squid", "tentacle"]


def snap_name(image_id):
    return "image-%s.clone_snap" % image_id


def target_store(sess, store_id):
    stores = sess.get("/v2/info/stores/detail",
                      endpoint_filter={"service_type": "image", "interface": "public"}).json()["stores"]
    for s in stores:
        if (store_id and s["id"] == store_id) or (not store_id and str(s.get("default")).lower() == "true"):
            return s
    bed.die("no store %s in Glance's stores detail" % (store_id or "marked default"))


def clone_format(cluster):
    """2 when the cluster lets librbd make clone v2 by default, else 1."""
    fmt = cluster.conf_get("rbd_default_clone_format")
    if fmt in ("1", "2"):
        return int(fmt)
    ret, out, err = cluster.mon_command(json.dumps({"prefix": "osd dump", "format": "json"}), b"")
    need = json.loads(out).get("require_min_compat_client", "jewel")
    return 2 if need in RELEASES and RELEASES.index(need) >= RELEASES.index("mimic") else 1


def upload(a):
    import rbd

    clock = bed.Clock()
    pool, volume = a.volume.split("/", 1)
    t = time.monotonic()
    sess = bed.keystone_session()
    glance = bed.glance_client(sess)
    clock.step("auth", t)
    t = time.monotonic()
    store = target_store(sess, a.store)
    clock.step("stores detail", t)
    if store["type"] != "rbd":
        bed.die("store %s is of type %s, not rbd" % (store["id"], store["type"]))
    t = time.monotonic()
    cluster, _conf = bed.rados_connect(a.user)
    fsid = cluster.get_fsid()
    if store.get("properties", {}).get("fsid") != fsid:
        bed.die("store %s is not in our cluster (fsid %s)" % (store["id"], fsid))
    vio = cluster.open_ioctx(pool)
    sio = cluster.open_ioctx(store["properties"]["pool"])
    fmt = clone_format(cluster)
    clock.step("ceph connect", t)

    t_clone = time.monotonic()
    t = t_clone
    image = glance.images.create(name=a.name or "librbd-clone-%s" % volume,
                                 disk_format="raw", container_format="bare")
    image_id = image["id"]
    clock.step("image create", t)
    result = {"ok": False, "image_id": image_id, "volume": a.volume, "store": store["id"],
              "clone_format": fmt}
    try:
        snap = snap_name(image_id)
        with rbd.Image(vio, volume) as vol:
            result["size"] = vol.size()
            t = time.monotonic()
            vol.create_snap(snap)
            clock.step("volume snapshot", t)
            if fmt == 1:
                t = time.monotonic()
                vol.protect_snap(snap)
                clock.step("volume snapshot protect", t)
        t = time.monotonic()
        rbd.RBD().clone(vio, volume, snap, sio, image_id, features=rbd.RBD_FEATURE_LAYERING)
        clock.step("clone", t)
        t = time.monotonic()
        with rbd.Image(sio, image_id) as child:
            child.create_snap("snap")
            child.protect_snap("snap")
        clock.step("clone snapshot", t)
        t = time.monotonic()
        url = "rbd://%s/%s/%s/snap" % (fsid, store["properties"]["pool"], image_id)
        glance.images.add_image_location(image_id, url)
        clock.step("location", t)
        t = time.monotonic()
        bed.wait_status(glance, image_id, "active")
        clock.step("active", t)
        result["clone_seconds"] = round(time.monotonic() - t_clone, 4)
        result["ok"] = True
    except Exception as e:
        result["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        result["steps"] = clock.steps
        result["total_seconds"] = clock.total()
        if a.delete or not result["ok"]:
            result["cleanup"] = cleanup(glance, vio, sio, volume, image_id)
        vio.close()
        sio.close()
        cluster.shutdown()
    return result


def cleanup(glance, vio, sio, volume, image_id):
    """Glance image (which removes the clone it owns), then the clone if
    Glance never took it, then the volume's snapshot."""
    done = {"glance image": bed.delete_image(glance, image_id)}
    try:
        done["clone"] = "removed" if bed.remove_rbd_image(sio, image_id) else "absent"
    except Exception as e:  # e.g. a volume cloned from the image
        done["clone"] = "failed: %s: %s" % (type(e).__name__, e)
    done["volume snapshot"] = bed.remove_snap(vio, volume, snap_name(image_id))
    return done


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--volume", required=True, help="POOL/NAME of the volume")
    p.add_argument("--name", help="the Glance image's name")
    p.add_argument("--store", help="Glance store id (default: Glance's default store)")
    p.add_argument("--user", default="cinder", help="Ceph user (keyring from CEPH_<USER>_KEYRING)")
    p.add_argument("--delete", action="store_true", help="remove the image and snapshot afterwards")
    p.add_argument("--cleanup", metavar="IMAGE_ID", help="only remove what a run for IMAGE_ID left")
    a = p.parse_args()
    if "/" not in a.volume:
        bed.die("--volume must be POOL/NAME")
    if a.cleanup:
        sess = bed.keystone_session()
        glance = bed.glance_client(sess)
        store = target_store(sess, a.store)
        cluster, _ = bed.rados_connect(a.user)
        pool, volume = a.volume.split("/", 1)
        with cluster.open_ioctx(pool) as vio, cluster.open_ioctx(store["properties"]["pool"]) as sio:
            result = {"ok": True, "image_id": a.cleanup,
                      "cleanup": cleanup(glance, vio, sio, volume, a.cleanup)}
        cluster.shutdown()
    else:
        result = upload(a)
    print(json.dumps(result, indent=1))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
