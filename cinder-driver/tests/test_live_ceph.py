#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""RBDNativeDriver's deletion and purge against a real Ceph and Glance.

Opt-in: ``RBD_NATIVE_CINDER_LIVE_ENV`` names a test bed's env file (with
Keystone and Glance, ``make testbed``), ``RBD_NATIVE_BIN`` the tool. The
driver (no Cinder service around it) runs with the real rados/rbd
bindings as client.cinder on cluster main's ``volumes`` pool: it creates a
volume, uploads it by clone with ``rbd-native upload --image-id`` into an
image that the test made queued in Glance (as Cinder's API does), then

* volume deleted first: the volume goes to the RBD trash, the image is not
  flattened and still reads the volume's bytes; once Glance deleted it,
  the periodic purge removes the volume;
* image deleted first: the volume's deletion removes the clone snapshot
  that Glance (read-only on ``volumes``) left in the snapshot trash, and
  the volume itself, with no trash entry.

Nothing named after the test's volumes or images is left in either pool.
"""

import json
import os
import time
import unittest
from unittest import mock
import urllib.error
import urllib.request
import uuid

import eventlet

from cinder import context
from cinder.tests.unit import fake_volume
from cinder.tests.unit import test
from cinder.volume import configuration as conf
from cinder.volume.drivers import rbd

from rbd_native_cinder import driver

ENV_FILE = os.environ.get('RBD_NATIVE_CINDER_LIVE_ENV')
BACKEND = 'rbd-native-live'
DATA = b'rbd-native live delete test\n' * 4096


def bed_env(path):
    """The ``export K='V'`` lines of a bed's env file, as a dict."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith('export ') or '=' not in line:
                continue
            key, value = line[len('export '):].split('=', 1)
            if value[:1] in ('"', "'") and value[-1:] == value[:1]:
                value = value[1:-1]
            env[key] = value
    return env


def http(method, url, token=None, body=None, ok=(200, 201, 204)):
    """(status, headers, body bytes) of a request; raises on other status."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header('Content-Type', 'application/json')
    if token:
        req.add_header('X-Auth-Token', token)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        if e.code in ok:
            return e.code, e.headers, e.read()
        raise AssertionError('%s %s -> %s: %s' % (
            method, url, e.code, e.read()[:300]))


@unittest.skipUnless(ENV_FILE and os.environ.get('RBD_NATIVE_BIN'),
                     'RBD_NATIVE_CINDER_LIVE_ENV (a bed env file) and '
                     'RBD_NATIVE_BIN (the tool) not both set')
class LiveDeleteTestCase(test.TestCase):
    """The driver's deletion on the bed's cluster main and Glance."""

    def setUp(self):
        super().setUp()
        import rados
        import rbd as librbd
        self.rados_mod, self.rbd_mod = rados, librbd
        self.env = bed_env(ENV_FILE)
        conf.Configuration(rbd.RBD_OPTS + driver.volume_opts,
                           config_group=BACKEND)
        for name, value in dict(
                enable_clone_optimization=True,
                rbd_pool='volumes', rbd_user='cinder',
                rbd_ceph_conf=self.env['CEPH_CONF'],
                rbd_native_binary=os.environ['RBD_NATIVE_BIN'],
                rbd_native_keyring=self.env['CEPH_CINDER_KEYRING'],
                rbd_native_purge_interval=1).items():
            self.override_config(name, value, group=BACKEND)
        self.override_config('glance_api_servers',
                             [self.env['GLANCE_URL']])
        self.override_config('send_service_user_token', False,
                             group='service_user')
        cfg = conf.Configuration(rbd.RBD_OPTS, config_group=BACKEND)
        self.driver = driver.RBDNativeDriver(execute=None, configuration=cfg,
                                             rados=rados, rbd=librbd)
        self.driver.do_setup(None)
        self.driver.check_for_setup_error()
        self.addCleanup(self.stop_periodic)
        self.driver.set_initialized()

        self.admin = rados.Rados(
            conffile=self.env['CEPH_CONF'], rados_id='admin',
            conf={'keyring': self.env['CEPH_ADMIN_KEYRING']})
        self.admin.connect()
        self.addCleanup(self.admin.shutdown)
        self.vio = self.admin.open_ioctx('volumes')
        self.iio = self.admin.open_ioctx('images')
        self.addCleanup(self.vio.close)
        self.addCleanup(self.iio.close)

        self.token = self.keystone_token()
        self.ctx = context.RequestContext(
            'live-user', 'live-project', auth_token=self.token,
            service_catalog=[{'type': 'identity', 'name': 'keystone',
                              'endpoints': [{
                                  'publicURL': self.env['OS_AUTH_URL']}]}])
        self.volume = fake_volume.fake_volume_obj(self.ctx,
                                                  id=str(uuid.uuid4()),
                                                  size=1)
        self.image_id = None
        self.addCleanup(self.leftovers)

    def stop_periodic(self):
        task = self.driver._purge_task
        if task is not None:
            task.stop()
            task.wait()

    def keystone_token(self):
        e = self.env
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': e['OS_USERNAME'], 'password': e['OS_PASSWORD'],
                'domain': {'name': e.get('OS_USER_DOMAIN_NAME', 'Default')}}}},
            'scope': {'project': {
                'name': e['OS_PROJECT_NAME'],
                'domain': {'name': e.get('OS_PROJECT_DOMAIN_NAME',
                                         'Default')}}}}}
        _s, headers, _b = http('POST', e['OS_AUTH_URL'] + '/auth/tokens',
                               body=body)
        return headers['X-Subject-Token']

    def glance(self, method, path, body=None, ok=(200, 201, 204)):
        return http(method, self.env['GLANCE_URL'].rstrip('/') + path,
                    self.token, body, ok)

    # What the test looks at, as client.admin.

    def trash(self):
        """{name: id} of the volumes pool's RBD trash."""
        return {e['name']: e['id']
                for e in self.rbd_mod.RBD().trash_list(self.vio)}

    def snaps(self, ioctx, name=None, image_id=None):
        with self.rbd_mod.Image(ioctx, name, image_id=image_id,
                                read_only=True) as img:
            return list(img.list_snaps())

    def parent_of_image(self):
        with self.rbd_mod.Image(self.iio, self.image_id,
                                read_only=True) as img:
            return img.parent_info()

    def ours(self):
        """Names of our volume and image in both pools and the trash."""
        names = (self.volume.name, self.image_id)
        left = [n for n in self.rbd_mod.RBD().list(self.vio)
                if n.startswith(self.volume.name)]
        left += [n for n in self.rbd_mod.RBD().list(self.iio)
                 if n in names]
        left += ['trash:' + n for n in self.trash() if n in names]
        return left

    def leftovers(self):
        """Removes what a failed test left, by our names only."""
        if self.image_id:
            http('DELETE', '%s/v2/images/%s' % (
                self.env['GLANCE_URL'].rstrip('/'), self.image_id),
                self.token, ok=(204, 404, 409, 500))
        r = self.rbd_mod.RBD()
        for name in (self.image_id,):
            if name and name in r.list(self.iio):
                with self.rbd_mod.Image(self.iio, name) as img:
                    for s in img.list_snaps():
                        if img.is_protected_snap(s['name']):
                            img.unprotect_snap(s['name'])
                        img.remove_snap(s['name'])
                r.remove(self.iio, name)
        tid = self.trash().get(self.volume.name)
        ids = [tid] if tid else []
        if self.volume.name in r.list(self.vio):
            with self.rbd_mod.Image(self.vio, self.volume.name) as img:
                ids.append(img.id())
        for image_id in ids:
            with self.rbd_mod.Image(self.vio, None,
                                    image_id=image_id) as img:
                for s in img.list_snaps():
                    try:
                        img.remove_snap_by_id(s['id'])
                    except self.rbd_mod.Error:
                        pass
        if tid:
            r.trash_remove(self.vio, tid, force=True)
        if self.volume.name in r.list(self.vio):
            r.remove(self.vio, self.volume.name)

    # The steps.

    def upload(self):
        """A volume with DATA, uploaded by clone into a queued image."""
        self.driver.create_volume(self.volume)
        with self.rbd_mod.Image(self.vio, self.volume.name) as img:
            img.write(DATA, 0)
        _s, _h, body = self.glance('POST', '/v2/images', {
            'name': 'live-delete-%s' % self.volume.id,
            'disk_format': 'raw', 'container_format': 'bare'})
        self.image_id = json.loads(body)['id']
        meta = {'id': self.image_id, 'disk_format': 'raw',
                'container_format': 'bare', 'status': 'queued'}
        self.driver.copy_volume_to_image(self.ctx, self.volume, None, meta)
        _s, _h, body = self.glance('GET', '/v2/images/%s' % self.image_id)
        self.assertEqual('active', json.loads(body)['status'])
        # A clone: its parent is the trashed clone snapshot of the volume.
        self.assertEqual(('volumes', self.volume.name),
                         tuple(self.parent_of_image()[:2]))
        trashed = [s for s in self.snaps(self.vio, self.volume.name)
                   if s.get('namespace') == driver.SNAP_NAMESPACE_TRASH]
        self.assertEqual(['image-%s.clone_snap' % self.image_id],
                         [s['trash']['original_name'] for s in trashed])

    def image_head(self):
        _s, _h, body = self.glance('GET',
                                   '/v2/images/%s/file' % self.image_id)
        return body[:len(DATA)]

    def delete_image(self):
        """Deletes the image, waiting out Glance's background hashing."""
        deadline = time.monotonic() + 60
        while True:
            status, _h, body = self.glance(
                'DELETE', '/v2/images/%s' % self.image_id,
                ok=(204, 409, 500))
            if status == 204 or time.monotonic() > deadline:
                break
            eventlet.sleep(1)
        self.assertEqual(204, status, body)

    def wait(self, what, secs=30):
        """Waits (letting the periodic purge run) until ``what()``."""
        deadline = time.monotonic() + secs
        while not what():
            if time.monotonic() > deadline:
                self.fail('not done in %s s: %s' % (secs, what.__doc__))
            eventlet.sleep(0.5)

    # The scenarios.

    def test_volume_deleted_first(self):
        self.upload()
        with mock.patch.object(rbd.RBDDriver, '_flatten') as flat:
            self.driver.delete_volume(self.volume)
        flat.assert_not_called()
        self.assertNotIn(self.volume.name, self.rbd_mod.RBD().list(self.vio))
        tid = self.trash().get(self.volume.name)
        self.assertIsNotNone(tid, 'the volume is not in the RBD trash')
        # Not flattened: still a clone, and it reads the volume's bytes.
        self.assertEqual(('volumes', self.volume.name),
                         tuple(self.parent_of_image()[:2]))
        self.assertEqual(DATA, self.image_head())
        # The purge leaves a volume whose image lives.
        eventlet.sleep(2)
        self.assertIn(self.volume.name, self.trash())

        self.delete_image()

        def purged():
            """the volume purged from the RBD trash"""
            return self.volume.name not in self.trash()
        self.wait(purged)
        self.assertEqual([], self.ours())

    def test_image_deleted_first(self):
        self.upload()
        self.delete_image()
        # Glance, read-only on volumes, left the trashed clone snapshot.
        left = [s for s in self.snaps(self.vio, self.volume.name)
                if s.get('namespace') == driver.SNAP_NAMESPACE_TRASH]
        self.assertEqual(1, len(left))
        self.stop_periodic()
        self.driver.delete_volume(self.volume)
        self.assertEqual([], self.ours())


if __name__ == '__main__':
    unittest.main()
