"""Keystone and OpenStack API calls of the bed's provisioning scripts
(testbed/openstack.sh, testbed/cinder.sh): stdlib only, quick to start.

Reads from the environment: KS_URL (Keystone) and DOMAIN (the bed's
domain, of users and projects).
"""
import json
import os
import urllib.error
import urllib.request

E = os.environ


def call(method, url, token=None, body=None, ok=(200, 201, 202, 204)):
    """An API call; (JSON body or {}, headers). Exits on a status not in ok."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw, status, headers = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        raw, status, headers = e.read(), e.code, e.headers
    if status not in ok:
        raise SystemExit("%s %s -> %s: %s" % (method, url, status, raw[:500].decode(errors="replace")))
    return (json.loads(raw) if raw else {}), headers


def token(user, password, project):
    """A token of user, scoped to project: (token, Keystone's token body)."""
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": E["DOMAIN"]}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": E["DOMAIN"]}}}}}
    doc, headers = call("POST", E["KS_URL"] + "/v3/auth/tokens", body=body)
    return headers["X-Subject-Token"], doc["token"]


def one(t, path, key, **filters):
    """The first Keystone item of /v3/path matching filters, or None."""
    q = "&".join("%s=%s" % kv for kv in filters.items())
    doc, _ = call("GET", "%s/v3/%s?%s" % (E["KS_URL"], path, q), t)
    items = doc[key]
    return items[0] if items else None
