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

"""Unit tests of RBDNativeDriver's delete_volume and purge.

The driver is built as in test_driver.py (a real backend
``Configuration``), with the rbd module replaced by a small in-memory pool
(``FakePool``): images with snapshots in the user or trash namespace, their
children, the RBD trash. Cinder's own ``_delete_volume`` is a mock that
records whether Cinder's path was taken.
"""

import datetime
import io
import threading
from unittest import mock

from cinder.tests.unit import fake_constants as fake
from cinder.tests.unit import fake_volume
from cinder.tests.unit import test
from cinder.volume import configuration as conf
from cinder.volume.drivers import rbd

from rbd_native_cinder import driver
from rbd_native_cinder import purge

BACKEND = 'rbd-native-test'
USER, TRASH = 0, 2
IMAGE_A = '6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3a'
IMAGE_B = '0b2e5a33-77a4-4c1e-8a59-3d2f9e6c1a00'
VOLUME = 'volume-%s' % fake.VOLUME_ID
VOLUME2 = 'volume-%s' % fake.VOLUME2_ID
VOLUME3 = 'volume-%s' % fake.VOLUME3_ID


class RBDError(Exception):
    """rbd.Error."""


class ImageNotFound(RBDError):
    """rbd.ImageNotFound."""


class ImageBusy(RBDError):
    """rbd.ImageBusy."""


class ImageHasSnapshots(RBDError):
    """rbd.ImageHasSnapshots."""


class FakeImage(object):
    """An RBD image of the fake pool: snapshots, children, parent."""

    def __init__(self, pool, name, image_id):
        self.pool = pool
        self.name = name
        self.id = image_id
        self.snaps = []
        self.parent = None
        self.cur = None
        self.closed = 0
        self.fail_children = False

    # What the tests set up.

    def snap(self, name, children=(), namespace=USER, trash_key=True):
        """Adds a snapshot (``name``: the original name when trashed)."""
        sid = len(self.snaps) + 10
        s = {'id': sid, 'name': name, 'namespace': namespace,
             'children': list(children), 'trash_key': trash_key}
        if namespace == TRASH:
            s['name'] = 'b1f5a7c2-trash-%d' % sid
            s['original'] = name
        self.snaps.append(s)
        return sid

    def snap_ids(self):
        return [s['id'] for s in self.snaps]

    # librbd's Image.

    def list_snaps(self):
        for s in self.snaps:
            d = {'id': s['id'], 'size': 1, 'name': s['name'],
                 'namespace': s['namespace']}
            if s['namespace'] == TRASH and s['trash_key']:
                d['trash'] = {'original_name': s['original']}
            yield d

    def snap_get_trash_namespace(self, sid):
        for s in self.snaps:
            if s['id'] == sid and s['namespace'] == TRASH:
                return {'original_name': s['original']}
        raise RBDError('not trashed')

    def set_snap_by_id(self, sid):
        self.cur = sid

    def set_snap(self, name):
        self.cur = None if name is None else name

    def list_children2(self):
        if self.fail_children:
            raise RBDError('permission denied')
        for s in self.snaps:
            if s['id'] == self.cur:
                return [{'pool': 'images', 'pool_namespace': '',
                         'image': c, 'id': 'c' + c[:4], 'trash': False}
                        for c in s['children']]
        return []

    def list_children(self):
        return [('images', c) for s in self.snaps for c in s['children']]

    def remove_snap_by_id(self, sid):
        for s in self.snaps:
            if s['id'] == sid:
                if s['children']:
                    raise ImageBusy('snapshot has children')
                self.snaps.remove(s)
                self.pool.log.append(('remove_snap', self.name, sid))
                return
        raise ImageNotFound('no snapshot %s' % sid)

    def remove_snap(self, name):
        for s in self.snaps:
            if s['name'] == name:
                self.snaps.remove(s)
                self.pool.log.append(('remove_snap', self.name, s['id']))
                return
        raise ImageNotFound(name)

    def unprotect_snap(self, name):
        pass

    def parent_info(self):
        if self.parent is None:
            raise ImageNotFound('not a clone')
        return self.parent

    def close(self):
        self.closed += 1


class FakePool(object):
    """The backend's pool: images by name, the RBD trash by id."""

    def __init__(self):
        self.images = {}
        self.trash = {}
        self.log = []
        self.fail_trash_list = False

    def add(self, name, trashed=False, **trash_entry):
        image = FakeImage(self, name, 'id%d' % (len(self.log) + len(
            self.images) + len(self.trash) + 100))
        if trashed:
            entry = {'id': image.id, 'name': name, 'source': 'USER',
                     'deletion_time': datetime.datetime(2026, 1, 1),
                     'deferment_end_time': datetime.datetime(2026, 1, 1)}
            entry.update(trash_entry)
            self.trash[image.id] = (entry, image)
        else:
            self.images[name] = image
        return image

    # librbd's Image(): by name or id.

    def open(self, ioctx, name=None, snapshot=None, read_only=False,
             image_id=None):
        if image_id is not None:
            if image_id not in self.trash:
                raise ImageNotFound(image_id)
            return self.trash[image_id][1]
        if name not in self.images:
            raise ImageNotFound(name)
        return self.images[name]

    # librbd's RBD().

    def trash_list(self, ioctx):
        if self.fail_trash_list:
            raise RBDError('trash list failed')
        return iter([dict(e) for e, _i in self.trash.values()])

    def trash_remove(self, ioctx, image_id, force=False):
        entry, image = self.trash[image_id]
        if image.snaps:
            raise ImageHasSnapshots(image.name)
        del self.trash[image_id]
        self.log.append(('trash_remove', entry['name']))

    def trash_move(self, ioctx, name, delay=0):
        image = self.images.pop(name)
        self.trash[image.id] = ({'id': image.id, 'name': name,
                                 'source': 'USER'}, image)
        self.log.append(('trash_move', name, delay))

    def list(self, ioctx):
        return list(self.images)

    def remove(self, ioctx, name):
        image = self.images[name]
        if image.snaps:
            raise ImageHasSnapshots(name)
        del self.images[name]
        self.log.append(('remove', name))


class DeleteTestCase(test.TestCase):
    """delete_volume and the purge, on a fake pool."""

    def setUp(self):
        super().setUp()
        self.pool = FakePool()
        self.set_backend(rbd_pool='volumes', rbd_user='cinder',
                         rbd_ceph_conf='/etc/ceph/ceph.conf')
        self.volume = fake_volume.fake_volume_obj(None, id=fake.VOLUME_ID)
        patcher = mock.patch.object(rbd.RBDDriver, '_delete_volume',
                                    autospec=True)
        self.cinder_delete = patcher.start()
        self.addCleanup(patcher.stop)
        patcher = mock.patch.object(rbd.RBDDriver, '_flatten', autospec=True)
        self.flatten = patcher.start()
        self.addCleanup(patcher.stop)

    def set_backend(self, **values):
        """Sets options of the backend's section; makes the driver anew."""
        conf.Configuration(rbd.RBD_OPTS + driver.volume_opts,
                           config_group=BACKEND)
        for name, value in values.items():
            self.override_config(name, value, group=BACKEND)
        cfg = conf.Configuration(rbd.RBD_OPTS, config_group=BACKEND)
        mock_rbd = mock.MagicMock()
        mock_rbd.Error = RBDError
        mock_rbd.ImageNotFound = ImageNotFound
        mock_rbd.ImageBusy = ImageBusy
        mock_rbd.ImageHasSnapshots = ImageHasSnapshots
        mock_rbd.RBD_SNAP_NAMESPACE_TYPE_TRASH = TRASH
        mock_rbd.Image.side_effect = self.pool.open
        mock_rbd.RBD.return_value = self.pool
        self.driver = driver.RBDNativeDriver(execute=mock.Mock(),
                                             configuration=cfg,
                                             rados=mock.MagicMock(),
                                             rbd=mock_rbd)
        self.client = mock.Mock(name='rados')
        self.ioctx = mock.Mock(name='ioctx')
        self.driver._connect_to_rados = mock.Mock(
            return_value=(self.client, self.ioctx))
        self.driver._disconnect_from_rados = mock.Mock()
        self.driver.set_initialized()

    def delete(self):
        self.driver.delete_volume(self.volume)

    def assert_cinders_path(self):
        self.cinder_delete.assert_called_once_with(self.driver, self.volume,
                                                   mock.ANY)

    # delete_volume

    def test_a_volume_without_snapshots_takes_cinders_path(self):
        self.pool.add(VOLUME)
        self.delete()
        self.assert_cinders_path()
        self.assertEqual([], self.pool.log)

    def test_a_missing_volume_takes_cinders_path(self):
        self.delete()
        self.assert_cinders_path()

    def test_childless_trashed_clone_snapshots_are_removed_first(self):
        vol = self.pool.add(VOLUME)
        a = vol.snap('image-%s.clone_snap' % IMAGE_A, namespace=TRASH)
        b = vol.snap('image-%s.clone_snap' % IMAGE_B, namespace=TRASH,
                     trash_key=False)
        self.delete()
        self.assertIn(('remove_snap', VOLUME, a), self.pool.log)
        self.assertIn(('remove_snap', VOLUME, b), self.pool.log)
        self.assertEqual([], vol.snaps)
        self.assert_cinders_path()
        self.assertGreater(vol.closed, 0)

    def test_a_clone_snapshot_with_an_image_trashes_without_flatten(self):
        vol = self.pool.add(VOLUME)
        live = vol.snap('image-%s.clone_snap' % IMAGE_A, children=[IMAGE_A],
                        namespace=TRASH)
        dead = vol.snap('image-%s.clone_snap' % IMAGE_B, namespace=TRASH)
        vol.snap('backup.%s.snap.1700000000.0' % fake.BACKUP_ID)
        with mock.patch.object(driver.LOG, 'info') as info:
            self.delete()
        self.cinder_delete.assert_not_called()
        self.flatten.assert_not_called()
        self.assertIn(('trash_move', VOLUME, 0), self.pool.log)
        self.assertIn(('remove_snap', VOLUME, dead), self.pool.log)
        # The backup snapshot went too, as Cinder's deletion removes it;
        # the live clone snapshot stays.
        self.assertEqual([live], vol.snap_ids())
        self.assertNotIn(VOLUME, self.pool.images)
        logged = ' '.join(str(c) for c in info.call_args_list)
        self.assertIn('moved to the RBD trash', logged)

    def test_children_that_cannot_be_listed_count_as_live(self):
        vol = self.pool.add(VOLUME)
        sid = vol.snap('image-%s.clone_snap' % IMAGE_A, namespace=TRASH)
        vol.fail_children = True
        self.delete()
        self.cinder_delete.assert_not_called()
        self.assertEqual([sid], vol.snap_ids())
        self.assertIn(('trash_move', VOLUME, 0), self.pool.log)

    def test_cinders_own_clone_snapshot_takes_cinders_path(self):
        # Cinder then renames the volume <name>.deleted: nothing flattened.
        vol = self.pool.add(VOLUME)
        vol.snap('image-%s.clone_snap' % IMAGE_A, children=[IMAGE_A],
                 namespace=TRASH)
        vol.snap('%s.clone_snap' % VOLUME2, children=[VOLUME2])
        self.delete()
        self.assert_cinders_path()
        self.assertNotIn(('trash_move', VOLUME, 0), self.pool.log)

    def test_other_trashed_snapshots_are_not_ours(self):
        vol = self.pool.add(VOLUME)
        for name in ('image-not-a-uuid.clone_snap', 'snapshot-x',
                     '%s.clone_snap' % VOLUME2,
                     'image-%s.upload_snap' % IMAGE_A):
            vol.snap(name, namespace=TRASH)
        vol.snap('image-%s.clone_snap' % IMAGE_A)  # user namespace
        self.delete()
        self.assertEqual(5, len(vol.snaps))
        self.assert_cinders_path()

    def test_a_failed_removal_still_takes_cinders_path(self):
        vol = self.pool.add(VOLUME)
        vol.snap('image-%s.clone_snap' % IMAGE_A, namespace=TRASH)
        vol.remove_snap_by_id = mock.Mock(side_effect=RBDError('busy'))
        with mock.patch.object(driver.LOG, 'warning') as warning:
            self.delete()
        self.assert_cinders_path()
        self.assertIn('Cannot remove', str(warning.call_args))

    def test_delete_runs_the_purge_whose_errors_are_only_logged(self):
        self.pool.add(VOLUME)
        gone = self.pool.add(VOLUME2, trashed=True)
        gone.snap('image-%s.clone_snap' % IMAGE_A, namespace=TRASH)
        self.delete()
        self.assertIn(('trash_remove', VOLUME2), self.pool.log)

        self.pool.fail_trash_list = True
        self.cinder_delete.reset_mock()
        with mock.patch.object(driver.LOG, 'warning') as warning:
            self.delete()
        self.assert_cinders_path()
        self.assertIn('purge', str(warning.call_args))

    # The purge

    def test_purge_removes_only_our_childless_trashed_volumes(self):
        clone_snap = 'image-%s.clone_snap' % IMAGE_A
        done = self.pool.add(VOLUME, trashed=True)
        done.snap(clone_snap, namespace=TRASH)
        done.snap('image-%s.clone_snap' % IMAGE_B, namespace=TRASH)
        live = self.pool.add(VOLUME2, trashed=True)
        live.snap(clone_snap, children=[IMAGE_A], namespace=TRASH)
        other = self.pool.add(VOLUME3, trashed=True)
        other.snap(clone_snap, namespace=TRASH)
        other.snap('snapshot-%s' % fake.SNAPSHOT_ID)
        bare = self.pool.add('volume-%s' % fake.VOLUME4_ID, trashed=True)
        foreign = self.pool.add('vm-disk-1', trashed=True)
        foreign.snap(clone_snap, namespace=TRASH)
        later = self.pool.add(
            'volume-%s' % fake.VOLUME5_ID, trashed=True,
            deferment_end_time=datetime.datetime(2999, 1, 1))
        later.snap(clone_snap, namespace=TRASH)
        mirrored = self.pool.add('volume-%s' % fake.VOLUME6_ID, trashed=True,
                                 source='MIRRORING')
        mirrored.snap(clone_snap, namespace=TRASH)
        kept = self.pool.add('volume-%s.deleted' % fake.VOLUME_NAME_ID)
        kept.snap(clone_snap, namespace=TRASH)
        alive = self.pool.add('volume-%s' % fake.VOLUME_NAME_ID)
        alive.snap(clone_snap, namespace=TRASH)
        with mock.patch.object(driver.LOG, 'info') as info:
            removed = self.driver.purge_clone_parents()
        self.assertEqual([VOLUME, 'volume-%s.deleted' % fake.VOLUME_NAME_ID],
                         removed)
        self.assertIn(('trash_remove', VOLUME), self.pool.log)
        self.assertIn(('remove', 'volume-%s.deleted' % fake.VOLUME_NAME_ID),
                      self.pool.log)
        for image in (live, other, foreign, later, mirrored, alive):
            self.assertEqual(1 if image is not other else 2,
                             len(image.snaps), image.name)
        self.assertEqual([], bare.snaps)
        self.assertEqual(6, len(self.pool.trash))
        logged = ' '.join(str(c) for c in info.call_args_list)
        self.assertIn('Removed the deleted volume', logged)
        self.assertIn(clone_snap, logged)
        self.flatten.assert_not_called()

    def test_purge_follows_the_volume_name_template(self):
        self.override_config('volume_name_template', 'vol_%s')
        ours = self.pool.add('vol_%s' % fake.VOLUME_ID, trashed=True)
        ours.snap('image-%s.clone_snap' % IMAGE_A, namespace=TRASH)
        default = self.pool.add(VOLUME2, trashed=True)
        default.snap('image-%s.clone_snap' % IMAGE_A, namespace=TRASH)
        self.assertEqual(['vol_%s' % fake.VOLUME_ID],
                         self.driver.purge_clone_parents())
        self.assertEqual(1, len(default.snaps))

    def test_purge_of_a_cinder_clone_cleans_up_its_parent(self):
        vol = self.pool.add(VOLUME, trashed=True)
        vol.snap('image-%s.clone_snap' % IMAGE_A, namespace=TRASH)
        vol.parent = ('volumes', VOLUME2 + '.deleted', VOLUME + '.clone_snap')
        with mock.patch.object(rbd.RBDDriver, '_delete_clone_parent_refs',
                               autospec=True) as refs:
            self.driver.purge_clone_parents()
        refs.assert_called_once_with(self.driver, mock.ANY,
                                     VOLUME2 + '.deleted',
                                     VOLUME + '.clone_snap')

    def test_a_purge_already_running_is_not_doubled(self):
        vol = self.pool.add(VOLUME, trashed=True)
        vol.snap('image-%s.clone_snap' % IMAGE_A, namespace=TRASH)
        self.driver._purge_lock.acquire()
        try:
            self.assertEqual([], self.driver.purge_clone_parents())
        finally:
            self.driver._purge_lock.release()
        self.assertEqual([VOLUME], self.driver.purge_clone_parents())

    def test_uploads_run_the_purge_whatever_their_outcome(self):
        with mock.patch.object(driver.RBDNativeDriver,
                               '_copy_volume_to_image') as copy, \
                mock.patch.object(driver.RBDNativeDriver,
                                  'purge_clone_parents') as purge:
            self.driver.copy_volume_to_image(None, self.volume, None, {})
            self.assertEqual(1, purge.call_count)
            copy.side_effect = RuntimeError('upload failed')
            purge.side_effect = RBDError('purge failed too')
            self.assertRaises(RuntimeError, self.driver.copy_volume_to_image,
                              None, self.volume, None, {})
            self.assertEqual(2, purge.call_count)

    # The periodic task

    def test_periodic_purge_every_interval(self):
        self.assertEqual(
            60, self.driver.configuration.rbd_native_purge_interval)
        self.set_backend(rbd_native_purge_interval=5)
        with mock.patch('oslo_service.loopingcall.FixedIntervalLoopingCall'
                        ) as call:
            self.driver._start_periodic_tasks()
            self.driver._start_periodic_tasks()
        call.assert_called_once_with(self.driver._purge_quietly)
        call.return_value.start.assert_called_once_with(interval=5,
                                                        initial_delay=5)

    def test_periodic_purge_off(self):
        self.set_backend(rbd_native_purge_interval=0)
        with mock.patch('oslo_service.loopingcall.FixedIntervalLoopingCall'
                        ) as call:
            self.driver._start_periodic_tasks()
        call.assert_not_called()

    def test_the_periodic_purge_never_raises(self):
        with mock.patch.object(driver.RBDNativeDriver, 'purge_clone_parents',
                               side_effect=RuntimeError('ceph down')):
            self.driver._purge_quietly()

    def test_deferment_in_the_past_or_absent_has_expired(self):
        self.assertTrue(driver._expired(None))
        self.assertTrue(driver._expired(datetime.datetime(2000, 1, 1)))
        self.assertFalse(driver._expired(datetime.datetime(2999, 1, 1)))
        self.assertFalse(driver._expired(datetime.datetime(
            2999, 1, 1, tzinfo=datetime.timezone.utc)))

    def test_the_lock_is_a_real_lock(self):
        self.assertIsInstance(self.driver._purge_lock,
                              type(threading.Lock()))


class PurgeCommandTestCase(test.TestCase):
    """rbd-native-cinder-purge: which backends, what it prints."""

    def setUp(self):
        super().setUp()
        from cinder.volume import configuration
        from cinder.volume import manager
        for name, drv in (('native', purge.DRIVER),
                          ('stock', 'cinder.volume.drivers.rbd.RBDDriver')):
            configuration.Configuration(manager.volume_backend_opts,
                                        config_group=name)
            self.override_config('volume_driver', drv, group=name)
        self.override_config('enabled_backends', ['native', 'stock'])
        self.override_config('backend', [])

    def test_the_backends_of_this_driver_by_default(self):
        self.assertEqual(['native'], purge._backends())
        self.override_config('backend', ['stock'])
        self.assertEqual(['stock'], purge._backends())

    def test_prints_what_each_backend_removed(self):
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.object(driver.RBDNativeDriver, 'do_setup'), \
                mock.patch.object(driver.RBDNativeDriver,
                                  'purge_clone_parents',
                                  side_effect=[[VOLUME], RBDError('down')]):
            status = purge.purge(['native', 'other'], out, err)
        self.assertEqual(1, status)
        self.assertEqual('native: removed %s\n' % VOLUME, out.getvalue())
        self.assertEqual('rbd-native-cinder-purge: backend other: down\n',
                         err.getvalue())
