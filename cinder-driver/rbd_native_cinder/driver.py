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

"""Cinder's RBD driver, uploading volumes to Glance by copy-on-write clone.

``RBDNativeDriver`` is Cinder's own ``RBDDriver`` with two methods changed.
``copy_volume_to_image`` (``openstack image create --volume``) hands the
upload to the ``rbd-native upload`` tool when ``enable_clone_optimization``
is set in the backend's section. The tool fills the ``queued`` image that
Cinder's API made, by a clone of the volume in Glance's RBD pool when the
image's store is on the same cluster, and says so by its exit status:

* 0: the image is active;
* 3: the image is active, but undoing a failed step left something (named
  on stderr, with the command that removes it);
* 4: nothing was made (no clone was possible, or a failed clone was
  undone): the image is still ``queued``, and Cinder's own path streams
  the volume into it;
* anything else: a failure. The driver then runs the tool's ``--cleanup``
  for the image and raises ``VolumeBackendAPIException``; Cinder's volume
  manager deletes the queued image.

The tool runs as a child process (an argv list, never a shell, never as
root), with the requesting user's token and, when Cinder sends service
tokens, Cinder's service token, both in its environment (never in its argv,
never in a log).

``delete_volume`` never flattens a Glance image cloned from the volume: a
volume whose trashed clone snapshot still has a clone goes to the RBD
trash instead, and the driver's purge (periodic, and after each deletion
and upload) removes it once its images are deleted.
"""

import datetime
import json
import os
import re
import signal
import subprocess
import threading

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_log import log as logging
from oslo_service import loopingcall

from cinder import exception
from cinder.i18n import _
from cinder import interface
from cinder import service_auth
from cinder import utils
from cinder.volume import configuration
from cinder.volume.drivers import rbd

LOG = logging.getLogger(__name__)

volume_opts = [
    cfg.BoolOpt('enable_clone_optimization',
                default=False,
                help='Upload volumes to Glance images with the rbd-native '
                     'tool, by copy-on-write clone of the volume in the '
                     "Glance store's RBD pool when that store is on this "
                     "backend's Ceph cluster (else the tool or Cinder "
                     'streams the data). A cloned image skips the checksum '
                     'and hash that Glance computes when it receives '
                     'data (Glance before 2024.2 never computes them for '
                     'such an image): enable it only where the images of '
                     'volumes need not be verified that way.'),
    cfg.StrOpt('rbd_native_binary',
               default='rbd-native',
               help='The rbd-native tool: a path, or a name looked up in '
                    "the volume service's PATH."),
    cfg.IntOpt('rbd_native_upload_timeout',
               default=0,
               min=0,
               help='The most an upload by the rbd-native tool may take, in '
                    'seconds (its --timeout): then the tool stops, removes '
                    'what it made and fails. If it has not ended '
                    'rbd_native_kill_grace seconds later, the driver stops '
                    'it (SIGTERM, then SIGKILL). 0: no limit.'),
    cfg.IntOpt('rbd_native_kill_grace',
               default=300,
               min=1,
               help='Seconds, beyond rbd_native_upload_timeout, before the '
                    'driver stops an rbd-native upload that has not ended '
                    'with SIGTERM (the tool then undoes what it made), and '
                    'again before SIGKILL. Only when '
                    'rbd_native_upload_timeout is set.'),
    cfg.StrOpt('rbd_native_keyring',
               help="The keyring of rbd_user that the rbd-native tool "
                    "reads (its --keyring). Unset: the keyring that "
                    "cinderlib's rbd_keyring_conf names, else the one that "
                    'rbd_ceph_conf names or the default path of Ceph, '
                    '/etc/ceph/$cluster.client.$id.keyring.'),
    cfg.IntOpt('rbd_native_cleanup_timeout',
               default=300,
               min=1,
               help='Seconds the cleanup run of the rbd-native tool (after '
                    'a failed upload) may take before it is killed.'),
    cfg.IntOpt('rbd_native_purge_interval',
               default=60,
               min=0,
               help='Seconds between runs of the periodic purge of deleted '
                    'volumes that were kept for the Glance images cloned '
                    'from them: a volume of this backend in the RBD trash, '
                    'or renamed <volume>.deleted by Cinder, whose only '
                    'snapshots are trashed clone snapshots of rbd-native '
                    'uploads without children (their images are deleted) '
                    'loses those snapshots and is removed. The purge also '
                    'runs after each volume deletion and each upload. '
                    '0: no periodic purge.'),
]

CONF = cfg.CONF
CONF.register_opts(volume_opts, group=configuration.SHARED_CONF_GROUP)

#: The tool's exit status when the image is active but undoing a failed
#: step left something behind.
EXIT_LEFT_BEHIND = 3
#: The tool's exit status when it made nothing and the image is still
#: ``queued`` (no clone possible, or a failed clone undone).
EXIT_NOT_CLONED = 4

#: The environment variable of the tool that carries a service token.
SERVICE_TOKEN_VAR = 'RBD_NATIVE_SERVICE_TOKEN'

#: The name of the volume snapshot that a clone made by ``rbd-native
#: upload --image-id`` hangs from (``image-<image id>.clone_snap``), as
#: its original name once it is in the snapshot trash.
CLONE_SNAP_RE = re.compile(r'^image-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
                           r'[0-9a-f]{4}-[0-9a-f]{12}\.clone_snap$')

#: The suffix Cinder's RBD driver gives a deleted volume it must keep for
#: its clones (``_delete_volume``).
DELETED_SUFFIX = '.deleted'

#: librbd's snapshot namespace type of the snapshot trash (librbd.h), for
#: bindings that do not name it.
SNAP_NAMESPACE_TRASH = 2

#: The interfaces of Keystone's catalog, by their v2 names that Cinder's
#: ``glance_catalog_info`` uses.
_INTERFACES = {'publicURL': 'public', 'internalURL': 'internal',
               'adminURL': 'admin'}


def _is_timeout(error):
    """Whether ``error`` says that a child outlived its timeout.

    Under eventlet's monkey patching (Cinder's volume service), ``Popen``
    is eventlet's, which raises the ``TimeoutExpired`` of one of eventlet's
    copies of the ``subprocess`` module, another class than
    ``subprocess.TimeoutExpired``.
    """
    return (isinstance(error, subprocess.TimeoutExpired) or
            type(error).__name__ == 'TimeoutExpired')


def _signal_group(child, sig):
    """Sends ``sig`` to the child's process group: it, and what it started.

    A wrapper script in the tool's place may have started the tool as its
    own child, which then holds the output pipes open.
    """
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass


def _run(argv, env, timeout, grace):
    """Runs ``argv`` (no shell) with ``env``; (status, stdout, stderr, late).

    The child leads a process group of its own. ``late`` says that it
    outlived ``timeout`` seconds (None: no limit) and was stopped: SIGTERM
    first (rbd-native then undoes what it made), SIGKILL if it has not
    ended ``grace`` seconds later. A child that cannot be started raises
    OSError.
    """
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
    late = False
    try:
        out, err = child.communicate(timeout=timeout)
    except Exception as e:
        if not _is_timeout(e):
            _signal_group(child, signal.SIGKILL)
            child.wait()
            raise
        late = True
        _signal_group(child, signal.SIGTERM)
        try:
            out, err = child.communicate(timeout=grace)
        except Exception as e:
            if not _is_timeout(e):
                raise
            _signal_group(child, signal.SIGKILL)
            try:
                out, err = child.communicate(timeout=grace)
            except Exception as e:
                if not _is_timeout(e):
                    raise
                # Something outside the group holds the pipes: the child
                # itself is gone.
                child.wait()
                out, err = b'', b''
    return child.returncode, _text(out), _text(err), late


class _NoToolEnvironment(Exception):
    """The tool cannot be given what it needs (a token, Keystone's URL)."""


def _conf_get(group, name):
    """The value of option ``name`` of ``group``, or None if unregistered.

    ``group`` None is [DEFAULT]. Keystone's options ([keystone_authtoken],
    an auth plugin's options) are registered only by the code that uses
    them, which a volume service may not have loaded.
    """
    try:
        if group is None:
            return getattr(CONF, name)
        return getattr(getattr(CONF, group), name)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return None


def _www_authenticate_uri():
    """``[keystone_authtoken] www_authenticate_uri``, or its old name.

    The options of keystonemiddleware are registered from it when the
    volume service has not loaded it.
    """
    try:
        CONF.import_group('keystone_authtoken',
                          'keystonemiddleware.auth_token')
    except (ImportError, cfg.Error):
        return None
    return (_conf_get('keystone_authtoken', 'www_authenticate_uri') or
            _conf_get('keystone_authtoken', 'auth_uri'))


def _auth_url_of(group):
    """The ``auth_url`` of the Keystone auth plugin of ``group``, or None.

    ``group`` is ``[keystone_authtoken]`` or ``[service_user]``. The
    plugin's options are registered when it is loaded (no request is made),
    as Cinder itself does for these groups.
    """
    url = _conf_get(group, 'auth_url')
    if url:
        return url
    try:
        ks_loading.register_auth_conf_options(CONF, group)
        plugin = ks_loading.load_auth_from_conf_options(CONF, group)
    except (ks_exceptions.ClientException, cfg.Error):
        return None
    return getattr(plugin, 'auth_url', None) if plugin else None


def _last_error_line(stderr):
    """The tool's one-line error, from its stderr.

    The last line that says an error (``rbd-native: ...``, or a usage
    error's ``error: ...``) and is no hint; else the last line.
    """
    lines = [line.strip() for line in (stderr or '').splitlines()
             if line.strip()]
    for line in reversed(lines):
        if line.startswith('rbd-native: hint:'):
            continue
        if line.startswith(('rbd-native:', 'error:')):
            return line
    return lines[-1] if lines else ''


def _seconds(entry):
    """The ``seconds`` of a report's entry as a number (0 if it has none)."""
    try:
        return float(entry.get('seconds') or 0)
    except (TypeError, ValueError):
        return 0.0


def _text(data):
    """``data`` (bytes or str or None) as text."""
    if data is None:
        return ''
    if isinstance(data, bytes):
        return data.decode('utf-8', 'replace')
    return data


def _volume_name_re():
    """The names Cinder gives RBD volumes (``volume_name_template``).

    Cinder's default template is ``volume-%s``, ``%s`` the volume's id (a
    UUID); the pattern also matches a name that Cinder's RBD driver gave a
    deleted volume kept for its clones (``<name>.deleted``).
    """
    template = _conf_get(None, 'volume_name_template') or 'volume-%s'
    uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
    name = uuid.join(re.escape(part) for part in template.split('%s'))
    return re.compile('^%s(%s)?$' % (name, re.escape(DELETED_SUFFIX)))


def _expired(when):
    """Whether a trash entry's ``deferment_end_time`` has passed.

    The bindings give it as a naive UTC datetime (or an aware one); an
    entry without one has no deferment.
    """
    if not isinstance(when, datetime.datetime):
        return True
    now = datetime.datetime.now(datetime.timezone.utc)
    if when.tzinfo is None:
        now = now.replace(tzinfo=None)
    return when <= now


class _CloneSnaps(object):
    """The snapshots of one RBD image, sorted for the driver.

    ``live`` and ``dead``: (snapshot id, original name) of the trashed
    clone snapshots of rbd-native uploads, with children (a Glance image
    still reads through them) and without; ``others``: the names of all
    other snapshots; ``cinder_clone``: whether one of these is a snapshot
    of Cinder's own clones (``<volume>.clone_snap``, user namespace).
    """

    def __init__(self):
        self.live = []
        self.dead = []
        self.others = []
        self.cinder_clone = False


class _Closing(object):
    """Closes an RBD image at the end of a ``with`` block."""

    def __init__(self, image):
        self.image = image

    def __enter__(self):
        return self.image

    def __exit__(self, *exc):
        self.image.close()


@interface.volumedriver
class RBDNativeDriver(rbd.RBDDriver):
    """RBD volumes, uploaded to Glance by the rbd-native tool.

    Everything but ``copy_volume_to_image``, ``delete_volume`` and the
    purge is Cinder's ``RBDDriver``.

    Version history:

    .. code-block:: none

        1.0.0 - copy_volume_to_image by rbd-native upload --image-id
        1.1.0 - delete_volume keeps a volume whose clone snapshot has a
                Glance image in the RBD trash (no flatten); the purge of
                such volumes once their images are gone
    """

    VERSION = '1.1.0'

    # Not a driver of Cinder's tree: no third-party CI of its own.
    CI_WIKI_NAME = 'Cinder_Jenkins'

    def __init__(self, *args, **kwargs):
        """Set up Cinder's RBD driver and this driver's options."""
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(volume_opts)
        self._purge_lock = threading.Lock()
        self._purge_task = None

    @classmethod
    def get_driver_options(cls):
        """The options of Cinder's RBD driver and this driver's own."""
        return super().get_driver_options() + volume_opts

    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta):
        """Fill the queued Glance image ``image_meta`` with ``volume``.

        By the rbd-native tool when ``enable_clone_optimization`` is set
        and the image is raw and bare; by Cinder's RBD driver otherwise,
        and when the tool made nothing (exit status 4). Then the purge of
        deleted volumes kept for their images runs.
        """
        try:
            return self._copy_volume_to_image(context, volume, image_service,
                                              image_meta)
        finally:
            self._purge_quietly()

    def _copy_volume_to_image(self, context, volume, image_service,
                              image_meta):
        """``copy_volume_to_image`` without the purge."""
        if not self.configuration.safe_get('enable_clone_optimization'):
            return super().copy_volume_to_image(context, volume,
                                                image_service, image_meta)
        disk_format = image_meta.get('disk_format')
        container_format = image_meta.get('container_format')
        if disk_format != 'raw' or container_format != 'bare':
            LOG.info('Image %(image)s is %(disk)s in %(container)s, not raw '
                     'in bare: Cinder converts it, rbd-native does not.',
                     {'image': image_meta['id'], 'disk': disk_format,
                      'container': container_format})
            return super().copy_volume_to_image(context, volume,
                                                image_service, image_meta)
        try:
            env = self._tool_env(context)
        except _NoToolEnvironment as e:
            LOG.warning('rbd-native cannot upload volume %(volume)s to image '
                        '%(image)s (%(why)s): Cinder uploads it.',
                        {'volume': volume.id, 'image': image_meta['id'],
                         'why': e})
            return super().copy_volume_to_image(context, volume,
                                                image_service, image_meta)

        image_id = image_meta['id']
        argv = self._upload_argv(volume, image_id)
        LOG.debug('Running %s', ' '.join(argv))
        timeout = self._process_timeout()
        grace = self.configuration.safe_get('rbd_native_kill_grace') or 1
        try:
            code, stdout, stderr, late = _run(argv, env, timeout, grace)
        except OSError as e:
            error = (_('cannot run %(tool)s: %(err)s')
                     % {'tool': argv[0], 'err': e})
            raise exception.VolumeBackendAPIException(data=error)
        if late:
            error = (_('rbd-native upload of volume %(volume)s to image '
                       '%(image)s did not end in %(secs)s s and was stopped')
                     % {'volume': volume.id, 'image': image_id,
                        'secs': timeout})
            LOG.error('%(error)s (exit status %(code)s): %(err)s',
                      {'error': error, 'code': code, 'err': stderr.strip()})
            self._cleanup(image_id, env)
            raise exception.VolumeBackendAPIException(data=error)

        if code == 0:
            self._log_report(volume, image_id, stdout)
            return None
        if code == EXIT_LEFT_BEHIND:
            self._log_report(volume, image_id, stdout)
            LOG.warning('Image %(image)s of volume %(volume)s is active, but '
                        'rbd-native left something behind: %(err)s',
                        {'image': image_id, 'volume': volume.id,
                         'err': stderr.strip()})
            return None
        if code == EXIT_NOT_CLONED:
            LOG.info('rbd-native did not clone volume %(volume)s into image '
                     '%(image)s (%(why)s): Cinder uploads it.',
                     {'volume': volume.id, 'image': image_id,
                      'why': self._not_cloned_reason(stdout, stderr)})
            return super().copy_volume_to_image(context, volume,
                                                image_service, image_meta)

        if code < 0:
            how = _('was killed by signal %d') % -code
        else:
            how = _('failed (exit status %d)') % code
        line = _last_error_line(stderr)
        LOG.error('rbd-native upload of volume %(volume)s to image %(image)s '
                  '%(how)s: %(err)s',
                  {'volume': volume.id, 'image': image_id, 'how': how,
                   'err': stderr.strip()})
        self._cleanup(image_id, env)
        error = line or (_('rbd-native upload of volume %(volume)s to image '
                           '%(image)s %(how)s')
                         % {'volume': volume.id, 'image': image_id,
                            'how': how})
        raise exception.VolumeBackendAPIException(data=error)

    # Deletion, and the purge of volumes kept for their images.

    def delete_volume(self, volume):
        """Delete an RBD volume, never flattening a Glance image of it.

        A volume that an rbd-native upload cloned keeps the clone's parent
        snapshot, ``image-<image id>.clone_snap``, in the snapshot trash.
        Such snapshots without children (their images are deleted) are
        removed first. When one still has a child (a Glance image reads
        through it), Cinder's RBD driver would flatten that image (a full
        copy into Glance's pool) and trash the volume anyway: instead the
        volume goes straight to the RBD trash, where the purge removes it
        once its images are gone. Other volumes: Cinder's own deletion.
        """
        with rbd.RADOSClient(self) as client:
            snaps = self._clear_dead_clone_snaps(client.ioctx, volume.name)
            if snaps is not None and snaps.live and not snaps.cinder_clone:
                LOG.info('Volume %(volume)s has %(n)d Glance image(s) cloned '
                         'by rbd-native (%(snaps)s): moved to the RBD trash '
                         'of pool %(pool)s, not flattened; purged once the '
                         'images are deleted.',
                         {'volume': volume.name, 'n': len(snaps.live),
                          'snaps': ', '.join(n for _i, n in snaps.live),
                          'pool': self.configuration.rbd_pool})
                self._move_volume_to_trash(client.ioctx, volume.name, 0)
            else:
                self._delete_volume(volume, client)
        self._purge_quietly()

    def _open_image(self, ioctx, name=None, image_id=None):
        """An RBD image of ``ioctx`` by name or id, for a ``with`` block."""
        if image_id is not None:
            image = self.rbd.Image(ioctx, None, image_id=image_id)
        else:
            image = self.rbd.Image(ioctx, name)
        return _Closing(utils.tpool_wrap(image))

    def _trash_namespace(self):
        """librbd's snapshot namespace type of the snapshot trash."""
        value = getattr(self.rbd, 'RBD_SNAP_NAMESPACE_TYPE_TRASH',
                        SNAP_NAMESPACE_TRASH)
        return value if isinstance(value, int) else SNAP_NAMESPACE_TRASH

    def _original_name(self, image, snap):
        """The original name of a trashed snapshot, else None."""
        if snap.get('namespace') != self._trash_namespace():
            return None
        trash = snap.get('trash')
        if isinstance(trash, dict) and trash.get('original_name'):
            return trash['original_name']
        try:
            info = image.snap_get_trash_namespace(snap['id'])
        except (self.rbd.Error, AttributeError) as e:
            LOG.debug('No trash namespace of snapshot %(id)s: %(err)s',
                      {'id': snap.get('id'), 'err': e})
            return None
        return info.get('original_name') if isinstance(info, dict) else None

    def _has_children(self, image, snap_id):
        """Whether the snapshot has clones (in the RBD trash or not).

        A snapshot whose children cannot be listed counts as having some.
        """
        try:
            image.set_snap_by_id(snap_id)
            try:
                return bool(list(image.list_children2()))
            finally:
                image.set_snap(None)
        except self.rbd.Error as e:
            LOG.warning('Cannot list the clones of snapshot %(id)s: %(err)s',
                        {'id': snap_id, 'err': e})
            return True

    def _sort_snaps(self, image):
        """The image's snapshots, as a ``_CloneSnaps``."""
        snaps = _CloneSnaps()
        for snap in list(image.list_snaps()):
            original = self._original_name(image, snap)
            if original is not None and CLONE_SNAP_RE.match(original):
                entry = (snap['id'], original)
                if self._has_children(image, snap['id']):
                    snaps.live.append(entry)
                else:
                    snaps.dead.append(entry)
                continue
            snaps.others.append(original or snap.get('name'))
            # What Cinder's _find_clone_snap looks for: with one, Cinder
            # renames the volume <name>.deleted and flattens nothing.
            if original is None and (snap.get('name') or '').endswith(
                    '.clone_snap'):
                snaps.cinder_clone = True
        return snaps

    def _remove_dead(self, image, where, snaps):
        """Removes the childless trashed clone snapshots; False on error."""
        done = True
        for snap_id, original in snaps.dead:
            try:
                image.remove_snap_by_id(snap_id)
            except self.rbd.Error as e:
                LOG.warning('Cannot remove the trashed snapshot %(snap)s '
                            '(id %(id)s) of %(where)s: %(err)s',
                            {'snap': original, 'id': snap_id,
                             'where': where, 'err': e})
                done = False
                continue
            LOG.info('Removed the trashed snapshot %(snap)s (id %(id)s) of '
                     '%(where)s: its Glance image is deleted.',
                     {'snap': original, 'id': snap_id, 'where': where})
        return done

    def _clear_dead_clone_snaps(self, ioctx, name):
        """Removes the volume's childless trashed clone snapshots.

        Returns its snapshots as a ``_CloneSnaps``, or None when the volume
        is not there (Cinder's deletion then says so).
        """
        try:
            with self._open_image(ioctx, name) as image:
                snaps = self._sort_snaps(image)
                where = '%s/%s' % (self.configuration.rbd_pool, name)
                if snaps.live and not snaps.cinder_clone:
                    # Cinder's deletion would have removed them too.
                    self._delete_backup_snaps(image)
                self._remove_dead(image, where, snaps)
                return snaps
        except self.rbd.ImageNotFound:
            return None

    def _start_periodic_tasks(self):
        """Cinder's periodic tasks, and the purge.

        The purge runs every ``rbd_native_purge_interval`` seconds (never
        when 0).
        """
        super()._start_periodic_tasks()
        interval = self.configuration.safe_get('rbd_native_purge_interval')
        if not interval or self._purge_task is not None:
            return
        LOG.info('Purging deleted volumes kept for their Glance images '
                 "every %(secs)s s for backend '%(backend)s'",
                 {'secs': interval, 'backend': self._backend_name})
        self._purge_task = loopingcall.FixedIntervalLoopingCall(
            self._purge_quietly)
        self._purge_task.start(interval=interval, initial_delay=interval)

    def _purge_quietly(self):
        """``purge_clone_parents``, whose errors are only logged."""
        try:
            self.purge_clone_parents()
        except Exception as e:
            LOG.warning("The purge of deleted volumes kept for their Glance "
                        "images failed on backend '%(backend)s': %(err)s",
                        {'backend': self._backend_name, 'err': e})

    def purge_clone_parents(self):
        """Remove deleted volumes whose uploaded images are all gone.

        The candidates are this backend's volumes (named by Cinder's
        ``volume_name_template``) in the RBD trash of ``rbd_pool`` (moved
        there by ``delete_volume``, their deferment over), and those that
        Cinder renamed ``<volume>.deleted``. One whose only snapshots are
        trashed clone snapshots of rbd-native uploads, all without
        children, loses them and is removed; when it was itself a clone of
        another volume (Cinder's ``<volume>.clone_snap``), Cinder's own
        cleanup of its parent follows. Anything else is left alone. A purge
        already running elsewhere in this service makes this one return.
        Returns the names of the volumes removed.
        """
        if not self._purge_lock.acquire(blocking=False):
            return []
        try:
            return self._purge(self._volume_names())
        finally:
            self._purge_lock.release()

    @staticmethod
    def _volume_names():
        """The pattern of this backend's volume names."""
        return _volume_name_re()

    def _purge(self, names):
        """``purge_clone_parents`` of the volumes whose names match."""
        removed = []
        proxy = self.RBDProxy()
        with rbd.RADOSClient(self) as client:
            for entry in list(proxy.trash_list(client.ioctx)):
                name = entry.get('name') or ''
                if not names.match(name):
                    continue
                # Moved there by a user (Cinder), not by mirroring or a
                # migration (the bindings name it, or give librbd's 0).
                if entry.get('source', 'USER') not in ('USER', 0):
                    continue
                if not _expired(entry.get('deferment_end_time')):
                    continue
                if self._purge_one(client, name, image_id=entry.get('id')):
                    removed.append(name)
            for name in list(proxy.list(client.ioctx)):
                if name.endswith(DELETED_SUFFIX) and names.match(name):
                    if self._purge_one(client, name):
                        removed.append(name)
        return removed

    def _purge_one(self, client, name, image_id=None):
        """Purges one candidate (trashed when ``image_id`` is given)."""
        pool = self.configuration.rbd_pool
        where = ('%s/%s (RBD trash, id %s)' % (pool, name, image_id)
                 if image_id else '%s/%s' % (pool, name))
        try:
            with self._open_image(client.ioctx, name,
                                  image_id=image_id) as image:
                snaps = self._sort_snaps(image)
                if snaps.live or snaps.others or not snaps.dead:
                    return False
                parent_pool, parent, parent_snap = self._get_clone_info(
                    image, name)
                if not self._remove_dead(image, where, snaps):
                    return False
        except self.rbd.ImageNotFound:
            return False
        except self.rbd.Error as e:
            LOG.warning('Cannot purge %(where)s: %(err)s',
                        {'where': where, 'err': e})
            return False
        try:
            if image_id:
                self.RBDProxy().trash_remove(client.ioctx, image_id)
            else:
                self.RBDProxy().remove(client.ioctx, name)
        except self.rbd.ImageNotFound:
            return False
        except (self.rbd.Error, OSError) as e:
            LOG.warning('Cannot remove %(where)s: %(err)s',
                        {'where': where, 'err': e})
            return False
        LOG.info('Removed the deleted volume %(where)s: the Glance images '
                 'cloned from it are deleted.', {'where': where})
        if parent and parent_pool == pool:
            try:
                self._delete_clone_parent_refs(client, parent, parent_snap)
            except self.rbd.Error as e:
                LOG.warning('Cannot clean up %(parent)s@%(snap)s, the parent '
                            'of %(where)s: %(err)s',
                            {'parent': parent, 'snap': parent_snap,
                             'where': where, 'err': e})
        return True

    # The tool's command lines.

    def _ceph_settings(self):
        """(cluster name, ceph.conf, user) of the backend's active cluster."""
        config = self._active_config or self._get_target_config(
            self._active_backend_id)
        name, conf, user, _secret = self._get_config_tuple(config)
        return name, conf, user

    def _ceph_argv(self):
        """The tool's Ceph arguments: --conf, --id, --keyring, --cluster."""
        name, conf, user = self._ceph_settings()
        argv = []
        if conf:
            argv += ['--conf', conf]
        if user:
            argv += ['--id', user]
        keyring = (self.configuration.safe_get('rbd_native_keyring') or
                   self.keyring_file)
        if keyring:
            argv += ['--keyring', keyring]
        if name and name != 'ceph':
            argv += ['--cluster', name]
        return argv

    def _binary(self):
        """The tool's path (``rbd_native_binary``)."""
        return (self.configuration.safe_get('rbd_native_binary') or
                'rbd-native')

    def _upload_argv(self, volume, image_id):
        """The argv of ``rbd-native upload`` of ``volume`` into the image."""
        argv = [self._binary(), 'upload',
                '--image-id', image_id,
                '--volume', '%s/%s' % (self.configuration.rbd_pool,
                                       volume.name),
                '--clone-optimization', '--no-fallback',
                '--format', 'json']
        store = self._image_store(volume)
        if store:
            argv += ['--store', store]
        argv += self._ceph_argv()
        timeout = self.configuration.safe_get('rbd_native_upload_timeout')
        if timeout:
            argv += ['--timeout', str(timeout)]
        return argv

    @staticmethod
    def _image_store(volume):
        """The Glance store that the volume's type asks for, or None.

        Its ``image_service:store_id`` extra spec, which Cinder's own
        upload path (``volume_utils.upload_volume``) gives Glance too.
        """
        if not volume.volume_type_id:
            return None
        specs = volume.volume_type.extra_specs or {}
        return specs.get('image_service:store_id')

    def _cleanup_argv(self, image_id):
        """The argv that removes what an upload of the image left."""
        return ([self._binary(), 'upload', '--cleanup', image_id,
                 '--keep-image', '--pool', self.configuration.rbd_pool] +
                self._ceph_argv())

    def _process_timeout(self):
        """Seconds before the tool is killed, or None (never)."""
        timeout = self.configuration.safe_get('rbd_native_upload_timeout')
        if not timeout:
            return None
        grace = self.configuration.safe_get('rbd_native_kill_grace') or 1
        return timeout + grace

    # The tool's environment.

    def _keystone_url(self, context):
        """Keystone's URL for the tool: the request's catalog, else config.

        The identity endpoint of the request's service catalog (the
        interface and region that Cinder uses for Glance), else
        ``[keystone_authtoken] www_authenticate_uri`` or ``auth_url``, else
        ``[service_user] auth_url``.
        """
        _stype, _sname, endpoint_type = self._glance_catalog_info()
        region = _conf_get('glance', 'region_name')
        for entry in getattr(context, 'service_catalog', None) or []:
            if entry.get('type') == 'identity':
                url = utils.get_region_filtered_endpoint(
                    entry.get('endpoints', []), endpoint_type, region)
                if url:
                    return url
        return (_www_authenticate_uri() or
                _auth_url_of('keystone_authtoken') or
                _auth_url_of('service_user'))

    @staticmethod
    def _glance_catalog_info():
        """Cinder's ``glance_catalog_info``, as (type, name, endpoint type)."""
        info = _conf_get(None, 'glance_catalog_info') or ''
        parts = info.split(':')
        if len(parts) != 3:
            return 'image', 'glance', 'publicURL'
        return parts[0], parts[1], parts[2]

    @staticmethod
    def _service_token():
        """Cinder's service token, when it sends one (else None)."""
        if not CONF.service_user.send_service_user_token:
            return None
        try:
            session = service_auth.get_service_session()
            plugin = service_auth.get_service_auth_plugin()
            token = plugin.get_token(session) if plugin else None
        except (ks_exceptions.ClientException,
                exception.ServiceUserTokenNoAuth) as e:
            raise exception.VolumeBackendAPIException(
                data=_('cannot get the service token of [service_user] for '
                       'rbd-native: %s') % e)
        if not token:
            raise exception.VolumeBackendAPIException(
                data=_('[service_user] gave no service token for '
                       'rbd-native'))
        return token

    def _tool_env(self, context):
        """The tool's environment.

        The service's, without its OS_* variables, with the request's
        token, Keystone's and Glance's URLs, and Cinder's service token
        when it sends one.
        """
        token = getattr(context, 'auth_token', None)
        if not token:
            raise _NoToolEnvironment(_('the request has no token'))
        auth_url = self._keystone_url(context)
        if not auth_url:
            raise _NoToolEnvironment(
                _('no Keystone URL: the request has no identity endpoint and '
                  'neither [keystone_authtoken] www_authenticate_uri nor '
                  'auth_url nor [service_user] auth_url is set'))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_') and k != SERVICE_TOKEN_VAR}
        env['OS_AUTH_TYPE'] = 'token'
        env['OS_TOKEN'] = token
        env['OS_AUTH_URL'] = auth_url
        _stype, _sname, endpoint_type = self._glance_catalog_info()
        interface_name = _INTERFACES.get(endpoint_type)
        if interface_name:
            env['OS_INTERFACE'] = interface_name
        region = _conf_get('glance', 'region_name')
        if region:
            env['OS_REGION_NAME'] = region
        servers = _conf_get(None, 'glance_api_servers')
        if servers:
            url = servers[0]
            env['OS_IMAGE_URL'] = url if '//' in url else 'http://' + url
        cacert = _conf_get(None, 'glance_ca_certificates_file')
        if cacert:
            env['OS_CACERT'] = cacert
        if _conf_get(None, 'glance_api_insecure'):
            env['OS_INSECURE'] = 'true'
        service_token = self._service_token()
        if service_token:
            env[SERVICE_TOKEN_VAR] = service_token
        return env

    # What the tool says.

    def _log_report(self, volume, image_id, stdout):
        """Logs the tool's JSON report of an active image at info."""
        try:
            report = json.loads(stdout)
        except ValueError:
            LOG.info('rbd-native uploaded volume %(volume)s to image '
                     '%(image)s (no report: %(out)s)',
                     {'volume': volume.id, 'image': image_id,
                      'out': stdout.strip()[:200]})
            return
        if not isinstance(report, dict):
            report = {}
        steps = report.get('steps')
        steps = ', '.join('%s %.3f s' % (s.get('name'), _seconds(s))
                          for s in (steps if isinstance(steps, list) else [])
                          if isinstance(s, dict))
        LOG.info('rbd-native uploaded volume %(volume)s to image %(image)s '
                 'by %(path)s: %(bytes)s bytes in %(secs).3f s (%(steps)s)',
                 {'volume': volume.id, 'image': image_id,
                  'path': report.get('path', '?'),
                  'bytes': report.get('bytes', '?'),
                  'secs': _seconds(report),
                  'steps': steps})

    @staticmethod
    def _not_cloned_reason(stdout, stderr):
        """Why the tool did not clone: the report's reason, else stderr."""
        try:
            report = json.loads(stdout)
            if isinstance(report, dict):
                reason = report.get('reason') or report.get('clone_error')
                if reason:
                    return reason
        except ValueError:
            pass
        return _last_error_line(stderr) or _('no reason given')

    def _cleanup(self, image_id, env):
        """Runs the tool's cleanup of the image and logs what it says."""
        argv = self._cleanup_argv(image_id)
        timeout = self.configuration.safe_get('rbd_native_cleanup_timeout')
        LOG.debug('Running %s', ' '.join(argv))
        try:
            code, stdout, stderr, late = _run(argv, env, timeout, 10)
        except OSError as e:
            LOG.error('The cleanup of image %(image)s by rbd-native did not '
                      'run (%(err)s): run `%(cmd)s`.',
                      {'image': image_id, 'err': e, 'cmd': ' '.join(argv)})
            return
        out = ' '.join(stdout.split())
        if code == 0 and not late:
            LOG.warning('rbd-native cleaned up after its failed upload to '
                        'image %(image)s: %(out)s',
                        {'image': image_id, 'out': out})
        elif late:
            LOG.error('The cleanup of image %(image)s by rbd-native did not '
                      'end in %(secs)s s and was stopped: run `%(cmd)s`.',
                      {'image': image_id, 'secs': timeout,
                       'cmd': ' '.join(argv)})
        else:
            LOG.error('The cleanup of image %(image)s by rbd-native failed '
                      '(exit status %(code)s): %(err)s; run `%(cmd)s`.',
                      {'image': image_id, 'code': code,
                       'err': _last_error_line(stderr), 'cmd': ' '.join(argv)})
