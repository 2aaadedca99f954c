#!/usr/bin/env python3
"""Glance's own ingest rate: the ceiling of any streaming upload to it.

    glance_ingest.py --gib N [--chunked]

Creates an image and sends it N GiB from memory (a file in /dev/shm, one
random 4 MiB block over and over) with curl, as an HTTP client that costs
next to nothing would: with Content-Length, or with --chunked as
`Transfer-Encoding: chunked` (what python-glanceclient, so Cinder, sends).
Then waits for `active` and deletes the image. Prints JSON: `upload_seconds`
(the PUT), `active_seconds` (PUT to active) and `mb_per_s`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import bed


def ram_file(size):
    fd, path = tempfile.mkstemp(prefix="rbd-native-ingest-", dir="/dev/shm")
    block = os.urandom(4 << 20)
    with os.fdopen(fd, "wb") as f:
        left = size
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gib", type=int, default=1)
    p.add_argument("--chunked", action="store_true")
    a = p.parse_args()
    size = a.gib << 30
    sess = bed.keystone_session()
    glance = bed.glance_client(sess)
    token = sess.get_token()
    endpoint = sess.get_endpoint(service_type="image", interface="public",
                                 region_name=bed.ENV.get("OS_REGION_NAME"))
    path = ram_file(size)
    result = {"ok": False, "bytes": size, "framing": "chunked" if a.chunked else "content-length"}
    image_id = None
    try:
        image_id = glance.images.create(name="bench-ingest", disk_format="raw",
                                        container_format="bare")["id"]
        result["image_id"] = image_id
        cmd = ["curl", "-sS", "--fail-with-body", "--max-time", "600", "-X", "PUT", "-T", path,
               "-H", "X-Auth-Token: %s" % token,
               "-H", "Content-Type: application/octet-stream",
               "-H", "x-openstack-image-size: %d" % size,
               "%s/v2/images/%s/file" % (endpoint.rstrip("/"), image_id)]
        if a.chunked:
            cmd[-1:-1] = ["-H", "Transfer-Encoding: chunked"]
        t = time.monotonic()
        out = subprocess.run(cmd, capture_output=True, text=True)
        result["upload_seconds"] = round(time.monotonic() - t, 4)
        if out.returncode != 0:
            raise RuntimeError("curl: %s %s" % (out.stdout.strip(), out.stderr.strip()))
        bed.wait_status(glance, image_id, "active")
        result["active_seconds"] = round(time.monotonic() - t, 4)
        result["mb_per_s"] = round(size / 1e6 / result["active_seconds"], 1)
        result["ok"] = True
    except Exception as e:
        result["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        os.unlink(path)
        if image_id:
            result["cleanup"] = bed.delete_image(glance, image_id)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
