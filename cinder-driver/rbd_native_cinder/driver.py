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

``RBDNativeDriver`` is Cinder's own ``RBDDriver`` with one method changed:
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
"""

import json
import os
import signal
import subprocess

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_log import log as logging

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


@interface.volumedriver
class RBDNativeDriver(rbd.RBDDriver):
    """RBD volumes, uploaded to Glance by the rbd-native tool.

    Everything but ``copy_volume_to_image`` is Cinder's ``RBDDriver``.

    Version history:

    .. code-block:: none

        1.0.0 - copy_volume_to_image by rbd-native upload --image-id
    """

    VERSION = '1.0.0'

    # Not a driver of Cinder's tree: no third-party CI of its own.
    CI_WIKI_NAME = 'Cinder_Jenkins'

    def __init__(self, *args, **kwargs):
        """Set up Cinder's RBD driver and this driver's options."""
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(volume_opts)

    @classmethod
    def get_driver_options(cls):
        """The options of Cinder's RBD driver and this driver's own."""
        return super().get_driver_options() + volume_opts

    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta):
        """Fill the queued Glance image ``image_meta`` with ``volume``.

        By the rbd-native tool when ``enable_clone_optimization`` is set
        and the image is raw and bare; by Cinder's RBD driver otherwise,
        and when the tool made nothing (exit status 4).
        """
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
