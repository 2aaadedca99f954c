#!/usr/bin/env python3
"""Glance images for the upload benchmark, as the uploader sees them:
their status, the sha256 of their data, and their deletion.

    glance_images.py status IMAGE_ID...   {"statuses": {id: status|"not found"}}
    glance_images.py sha256 IMAGE_ID      {"sha256": ..., "bytes": N} (a streamed download)
    glance_images.py delete IMAGE_ID...   {"deleted": {id: what happened}}
    glance_images.py delete-named NAME    deletes every image of that name (what a
                                          failed attempt left), {"deleted": {...}}
    glance_images.py token                {"token": ...}: a token of the uploader's,
                                          for commands that share one (OS_TOKEN)

Settings as the other scripts take them (bed.py: the environment, then the
bed's env file). Prints one JSON object; exit 0 when every image answered
as asked (status found, download complete, deleted or already gone).
"""

import hashlib
import json
import sys

import bed


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "token":
        print(json.dumps({"token": bed.keystone_session().get_token(), "ok": True}))
        return 0
    if len(sys.argv) < 3 or sys.argv[1] not in ("status", "sha256", "delete", "delete-named"):
        bed.die("usage: glance_images.py status|sha256|delete|delete-named IMAGE_ID... | token")
    action, ids = sys.argv[1], sys.argv[2:]
    from glanceclient import exc

    glance = bed.glance_client(bed.keystone_session())
    ok = True
    if action == "status":
        out = {}
        for i in ids:
            try:
                out[i] = glance.images.get(i)["status"]
            except exc.HTTPNotFound:
                out[i], ok = "not found", False
        result = {"statuses": out}
    elif action == "sha256":
        h, n = hashlib.sha256(), 0
        for chunk in glance.images.data(ids[0]):
            h.update(chunk)
            n += len(chunk)
        result = {"image_id": ids[0], "sha256": h.hexdigest(), "bytes": n}
    else:
        if action == "delete-named":
            ids = [img["id"] for img in glance.images.list(filters={"name": ids[0]})]
        out = {}
        for i in ids:
            out[i] = bed.delete_image(glance, i)
            ok = ok and out[i] in ("deleted", "not found")
        result = {"deleted": out}
    result["ok"] = ok
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
