#!/usr/bin/env python3
"""Today's Cinder upload path, for the benchmark: librbd reads the volume
and python-glanceclient streams it to Glance.

    cinder_stream_upload.py --volume POOL/NAME [--name NAME] [--store ID]
                            [--user cinder] [--chunk-mb N] [--delete]
    cinder_stream_upload.py --cleanup IMAGE_ID

What Cinder's RBD driver does for a raw/bare upload (copy_volume_to_image):
the volume is opened through os-brick's RBDVolumeIOWrapper (a file over
librbd, read in the 64 KiB chunks python-glanceclient asks for) and handed
to glanceclient's image upload; then the image is waited for `active`.
--chunk-mb N reads N MiB per librbd call instead, to see how much of the time the small reads cost. Prints JSON:
image id, bytes, seconds per step, `upload_seconds` (image create to
active) and MB/s. --delete deletes the image afterwards; --cleanup IMAGE_ID
deletes that image.
"""

import argparse
import json
import sys
import tempfile
import time

import bed


class BigReads:
    """A file over an RBD image that reads `chunk` bytes per librbd call and
    hands them out in whatever pieces glanceclient asks for."""

    def __init__(self, image, size, chunk):
        self.image, self.size, self.chunk = image, size, chunk
        self.off, self.buf = 0, memoryview(b"")

    def read(self, n=-1):
        if not self.buf and self.off < self.size:
            want = min(self.chunk, self.size - self.off)
            self.buf = memoryview(self.image.read(self.off, want))
            self.off += want
        n = len(self.buf) if n is None or n < 0 else n
        out, self.buf = self.buf[:n], self.buf[n:]
        return bytes(out)


def upload(a):
    from os_brick.initiator import linuxrbd

    clock = bed.Clock()
    pool, volume = a.volume.split("/", 1)
    t = time.monotonic()
    sess = bed.keystone_session()
    glance = bed.glance_client(sess)
    clock.step("auth", t)
    t = time.monotonic()
    # As os-brick connects for Cinder: a client of the pool, the volume open.
    conf = bed.ceph_conf_for(a.user, tempfile.mkdtemp(prefix="bench-ceph-"))
    client = linuxrbd.RBDClient(a.user, pool, conffile=conf)
    vol = linuxrbd.RBDVolume(client, volume)
    size = vol.image.size()
    clock.step("ceph connect", t)
    t0 = time.monotonic()
    t = t0
    image = glance.images.create(name=a.name or "cinder-stream-%s" % volume,
                                 disk_format="raw", container_format="bare")
    image_id = image["id"]
    clock.step("image create", t)
    result = {"ok": False, "image_id": image_id, "volume": a.volume, "size": size,
              "reader": "RBDVolumeIOWrapper" if not a.chunk_mb else "%d MiB reads" % a.chunk_mb}
    data = None
    try:
        t = time.monotonic()
        if a.chunk_mb:
            data = BigReads(vol.image, size, a.chunk_mb << 20)
        else:
            meta = linuxrbd.RBDImageMetadata(vol, pool, a.user, conf)
            data = linuxrbd.RBDVolumeIOWrapper(meta)
        kw = {"backend": a.store} if a.store else {}
        glance.images.upload(image_id, data, image_size=size, **kw)
        clock.step("upload", t)
        t = time.monotonic()
        img = bed.wait_status(glance, image_id, "active")
        clock.step("active", t)
        result["upload_seconds"] = round(time.monotonic() - t0, 4)
        result["mb_per_s"] = round(size / 1e6 / result["upload_seconds"], 1)
        result["checksum"] = img.get("checksum")
        result["ok"] = True
    except Exception as e:
        result["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if isinstance(data, linuxrbd.RBDVolumeIOWrapper):
            data.close()  # the image, then the client
            client.disconnect()
        else:
            vol.close()  # the image and the client
        result["steps"] = clock.steps
        result["total_seconds"] = clock.total()
        if a.delete or not result["ok"]:
            result["cleanup"] = {"glance image": bed.delete_image(glance, image_id)}
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--volume", help="POOL/NAME of the volume")
    p.add_argument("--name", help="the Glance image's name")
    p.add_argument("--store", help="Glance store id (default: Glance's default store)")
    p.add_argument("--user", default="cinder", help="Ceph user (keyring from CEPH_<USER>_KEYRING)")
    p.add_argument("--chunk-mb", type=int, default=0, help="read N MiB per librbd call")
    p.add_argument("--delete", action="store_true", help="delete the image afterwards")
    p.add_argument("--cleanup", metavar="IMAGE_ID", help="only delete that image")
    a = p.parse_args()
    if a.cleanup:
        glance = bed.glance_client(bed.keystone_session())
        result = {"ok": True, "image_id": a.cleanup,
                  "cleanup": {"glance image": bed.delete_image(glance, a.cleanup)}}
    elif not a.volume or "/" not in a.volume:
        bed.die("--volume POOL/NAME is required")
    else:
        result = upload(a)
    print(json.dumps(result, indent=1))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore")  # eventlet's deprecation, imported by os-brick
    sys.exit(main())
