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

"""delete_volume and the purge with a release's own librbd (no Glance).

    $BED/bin/venv-python tests/live_release_check.py $BED

A bed's Ceph only (``make testbed-ceph``, any release: the venv's Python of
the release, whose rados/rbd bindings are that release's). The clone of
an upload is made by hand: a volume, its snapshot
``image-<uuid>.clone_snap``, a clone of it in ``images`` (clone format 2),
the snapshot removed (into the snapshot trash); Glance's removal of its
image is ``rbd --id glance rm`` (read-only on ``volumes``). Then the
volume deleted first (trashed, not flattened, purged once the clone is
gone) and the image deleted first (the left snapshot and the volume
removed). Exit status 0 when both hold.
"""

import os
import subprocess
import sys
import types
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from oslo_config import cfg  # noqa: E402
import rados  # noqa: E402
import rbd as librbd  # noqa: E402

from cinder.common import config  # noqa: E402,F401
from cinder.volume import configuration as conf  # noqa: E402
from cinder.volume.drivers import rbd  # noqa: E402

from rbd_native_cinder import driver  # noqa: E402

GROUP = 'release-check'


class Bed(object):
    """The bed's cluster main, as client.admin, and the driver on it."""

    def __init__(self, bed):
        self.bed = bed
        self.conf = bed + '/main/ceph.conf'
        cfg.CONF([], project='cinder', default_config_files=[])
        conf.Configuration(rbd.RBD_OPTS + driver.volume_opts,
                           config_group=GROUP)
        for key, value in dict(rbd_pool='volumes', rbd_user='cinder',
                               rbd_ceph_conf=self.conf).items():
            cfg.CONF.set_override(key, value, group=GROUP)
        self.driver = driver.RBDNativeDriver(configuration=conf.Configuration(
            rbd.RBD_OPTS, config_group=GROUP))
        self.driver.do_setup(None)
        self.driver.set_initialized()
        self.admin = rados.Rados(
            conffile=self.conf, rados_id='admin',
            conf={'keyring': bed + '/main/ceph.client.admin.keyring',
                  'rbd_default_clone_format': '2'})
        self.admin.connect()
        self.vio = self.admin.open_ioctx('volumes')
        self.iio = self.admin.open_ioctx('images')
        self.rbd = librbd.RBD()

    def rbd_cli(self, *args, user='admin'):
        """The release's rbd tool (its own process), as ``user``."""
        return subprocess.run(
            [self.bed + '/bin/rbd', '--id', user] + list(args),
            env=dict(os.environ, CEPH_CONF=self.conf), check=True,
            capture_output=True, text=True).stdout

    def upload(self):
        """A volume and a clone of its trashed clone snapshot in images."""
        vol = 'volume-%s' % uuid.uuid4()
        img = str(uuid.uuid4())
        snap = 'image-%s.clone_snap' % img
        self.rbd.create(self.vio, vol, 1 << 22)
        with librbd.Image(self.vio, vol) as image:
            image.write(b'x' * 4096, 0)
            image.create_snap(snap)
        self.rbd.clone(self.vio, vol, snap, self.iio, img, features=1)
        with librbd.Image(self.vio, vol) as image:
            image.remove_snap(snap)
            print('  snapshots:', list(image.list_snaps()))
        return types.SimpleNamespace(name=vol, id=vol[len('volume-'):]), img

    def glance_deletes(self, img):
        """What Glance's store does, read-only on volumes."""
        self.rbd_cli('rm', 'images/' + img, user='glance')

    def trash(self):
        return {e['name']: e for e in self.rbd.trash_list(self.vio)}


def main():
    """Both scenarios; asserts."""
    bed = Bed(sys.argv[1])
    drv = bed.driver
    print('librados', bed.admin.version())

    vol, img = bed.upload()
    drv.delete_volume(vol)
    trash = bed.trash()
    assert vol.name in trash, 'volume first: not in the RBD trash'
    print('  trash entry:', trash[vol.name])
    with librbd.Image(bed.iio, img, read_only=True) as clone:
        assert tuple(clone.parent_info()[:2]) == ('volumes', vol.name), \
            'volume first: the image was flattened'
        assert clone.read(0, 4096) == b'x' * 4096
    assert drv.purge_clone_parents() == [], 'purged while the clone lives'
    bed.glance_deletes(img)
    assert drv.purge_clone_parents() == [vol.name], 'not purged'
    assert vol.name not in bed.trash()
    assert vol.name not in bed.rbd.list(bed.vio)
    print('volume deleted first: trashed, not flattened, purged once the '
          'image is gone: OK')

    vol, img = bed.upload()
    bed.glance_deletes(img)
    # (Checked with the rbd tool: opening the volume in this process right
    # after another process removed its clone crashed Pacific's librbd.)
    left = bed.rbd_cli('snap', 'ls', '--all', 'volumes/' + vol.name)
    assert 'trash (' in left and 'image-%s.clone_snap)' % img in left, left
    drv.delete_volume(vol)
    assert vol.name not in bed.trash()
    assert vol.name not in bed.rbd.list(bed.vio)
    print('image deleted first: the snapshot Glance left and the volume '
          'removed: OK')


if __name__ == '__main__':
    main()
