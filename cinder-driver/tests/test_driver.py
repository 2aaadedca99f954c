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

"""Unit tests of RBDNativeDriver.copy_volume_to_image, with Cinder's helpers.

The driver is built as Cinder's volume manager builds it: a real
``Configuration`` of a backend section, the rados/rbd modules mocked (as
Cinder's own test_rbd.py does). The tool is either ``subprocess.run``
mocked, or a small script standing in for it (a real child process: what
it received is what the driver gave it). Cinder's own upload path
(``RBDDriver.copy_volume_to_image``) is replaced by a mock that records
whether it was taken.
"""

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from unittest import mock

from keystoneauth1 import loading as ks_loading

from cinder import context
from cinder import exception
from cinder import service_auth
from cinder.tests.unit import fake_constants as fake
from cinder.tests.unit import fake_volume
from cinder.tests.unit import test
from cinder.volume import configuration as conf
from cinder.volume.drivers import rbd

from rbd_native_cinder import driver

BACKEND = 'rbd-native-test'
USER_TOKEN = 'gAAAAAB-user-token-secret'
SERVICE_TOKEN = 'gAAAAAB-service-token-secret'
KEYSTONE = 'http://keystone.example:5000/v3'
CATALOG = [
    {'type': 'identity', 'name': 'keystone',
     'endpoints': [{'region': 'RegionOne', 'publicURL': KEYSTONE,
                    'internalURL': 'http://keystone.internal:5000/v3'}]},
    {'type': 'image', 'name': 'glance',
     'endpoints': [{'region': 'RegionOne',
                    'publicURL': 'http://glance.example:9292'}]},
]
REPORT = {'image_id': fake.IMAGE_ID, 'volume': 'volumes/volume-x',
          'path': 'clone', 'bytes': 1 << 30, 'seconds': 1.25,
          'steps': [{'name': 'snapshot', 'seconds': 0.5},
                    {'name': 'clone', 'seconds': 0.75}],
          'undo_failures': []}


#: The fake children by their pid, for the fake os.killpg.
CHILDREN = {}


def fake_killpg(pid, sig):
    """``os.killpg`` for fake children: records the signal."""
    CHILDREN[pid].signals.append(signal.Signals(sig).name[3:])


class FakeChild(object):
    """A child process as ``subprocess.Popen`` returns it, ending as told.

    A child that hangs outlives every timeout until it is signalled (its
    process group, with ``os.killpg``): it then ends with ``code``
    (SIGTERM, when it does not ignore it) or -9 (SIGKILL).
    """

    def __init__(self, code=0, stdout='', stderr='', hangs=False,
                 ignores_term=False):
        self.pid = 1000000 + len(CHILDREN)
        CHILDREN[self.pid] = self
        self.code = code
        self.out = stdout.encode()
        self.err = stderr.encode()
        self.hangs = hangs
        self.ignores_term = ignores_term
        self.returncode = None
        self.timeouts = []
        self.signals = []

    def communicate(self, timeout=None):
        self.timeouts.append(timeout)
        if self.hangs:
            if 'KILL' in self.signals:
                self.code = -9
            elif 'TERM' not in self.signals or self.ignores_term:
                raise subprocess.TimeoutExpired(['rbd-native'], timeout)
        self.returncode = self.code
        return self.out, self.err

    def wait(self):
        return self.returncode


def gone(pid, secs=5):
    """Whether process ``pid`` ends (or is a zombie) within ``secs``."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            with open('/proc/%d/stat' % pid) as f:
                if f.read().rsplit(')', 1)[1].split()[0] == 'Z':
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


def completed(argv, code, stdout='', stderr=''):
    """A child that ends at once with ``code``, printing what is given."""
    return FakeChild(code, stdout, stderr)


class RBDNativeDriverTestCase(test.TestCase):
    """copy_volume_to_image: which path, which command, which outcome."""

    def setUp(self):
        super().setUp()
        service_auth.reset_globals()
        self.addCleanup(service_auth.reset_globals)
        self.addCleanup(setattr, service_auth, '_SERVICE_SESSION', None)
        self.set_backend(enable_clone_optimization=True, rbd_pool='volumes',
                         rbd_user='cinder',
                         rbd_ceph_conf='/etc/ceph/ceph.conf')
        self.context = context.RequestContext(fake.USER_ID, fake.PROJECT_ID,
                                              auth_token=USER_TOKEN,
                                              service_catalog=CATALOG)
        self.volume = fake_volume.fake_volume_obj(
            self.context, id=fake.VOLUME_ID, size=1,
            volume_type_id=fake.VOLUME_TYPE_ID)
        self.volume.volume_type = fake_volume.fake_volume_type_obj(
            self.context, id=fake.VOLUME_TYPE_ID)
        self.image_service = mock.Mock()
        self.image_meta = {'id': fake.IMAGE_ID, 'name': 'img',
                           'disk_format': 'raw', 'container_format': 'bare',
                           'status': 'queued'}
        # Cinder's own path, whose calls say whether it was taken.
        patcher = mock.patch.object(rbd.RBDDriver, 'copy_volume_to_image',
                                    autospec=True)
        self.cinder_path = patcher.start()
        self.addCleanup(patcher.stop)
        patcher = mock.patch.object(os, 'killpg', fake_killpg)
        patcher.start()
        self.addCleanup(patcher.stop)
        # Variables of the parent that the tool must not inherit.
        self.useFixture_env({'OS_CLOUD': 'leaked-cloud',
                             'OS_PASSWORD': 'parent-password',
                             'OS_PROJECT_ID': 'parent-project',
                             'RBD_NATIVE_SERVICE_TOKEN': 'stale',
                             'RBD_NATIVE_TEST_KEEP': 'kept'})

    def useFixture_env(self, values):
        """Sets environment variables of this process for the test."""
        patcher = mock.patch.dict(os.environ, values)
        patcher.start()
        self.addCleanup(patcher.stop)

    def set_backend(self, **values):
        """Sets options of the backend's section, and makes the driver anew.

        Cinder's RBD driver reads some options when it is made.
        """
        # The backend's section and its options, as Cinder's manager makes
        # them, before any is set.
        conf.Configuration(rbd.RBD_OPTS + driver.volume_opts,
                           config_group=BACKEND)
        for name, value in values.items():
            self.override_config(name, value, group=BACKEND)
        self.cfg = conf.Configuration(rbd.RBD_OPTS, config_group=BACKEND)
        self.driver = driver.RBDNativeDriver(execute=mock.Mock(),
                                             configuration=self.cfg,
                                             rados=mock.MagicMock(),
                                             rbd=mock.MagicMock())
        self.driver.set_initialized()

    def upload(self):
        """The driver's copy_volume_to_image of the test's volume."""
        return self.driver.copy_volume_to_image(self.context, self.volume,
                                                self.image_service,
                                                self.image_meta)

    def assert_cinder_path(self):
        """Cinder's own path was taken, once, with the same arguments."""
        self.cinder_path.assert_called_once_with(
            self.driver, self.context, self.volume, self.image_service,
            self.image_meta)

    @mock.patch.object(subprocess, 'Popen')
    def test_option_off_takes_cinders_path(self, run):
        self.set_backend(enable_clone_optimization=False)
        self.upload()
        self.assert_cinder_path()
        run.assert_not_called()

    def test_option_is_off_by_default(self):
        cfg = conf.Configuration(rbd.RBD_OPTS, config_group='other-backend')
        drv = driver.RBDNativeDriver(execute=mock.Mock(), configuration=cfg,
                                     rados=mock.MagicMock(),
                                     rbd=mock.MagicMock())
        self.assertFalse(drv.configuration.enable_clone_optimization)
        self.assertEqual('rbd-native', drv.configuration.rbd_native_binary)
        self.assertEqual(0, drv.configuration.rbd_native_upload_timeout)
        names = [o.name for o in driver.RBDNativeDriver.get_driver_options()]
        self.assertIn('enable_clone_optimization', names)
        self.assertIn('rbd_pool', names)

    @mock.patch.object(subprocess, 'Popen')
    def test_non_raw_or_non_bare_takes_cinders_path(self, run):
        for disk, container in (('qcow2', 'bare'), ('raw', 'compressed'),
                                ('vmdk', 'ova')):
            self.cinder_path.reset_mock()
            self.image_meta.update(disk_format=disk,
                                   container_format=container)
            self.upload()
            self.assert_cinder_path()
        run.assert_not_called()

    @mock.patch.object(subprocess, 'Popen')
    def test_exit_0_is_done_without_cinders_path(self, run):
        run.side_effect = lambda argv, **kw: completed(
            argv, 0, json.dumps(REPORT))
        with mock.patch.object(driver.LOG, 'info') as info:
            self.upload()
        self.cinder_path.assert_not_called()
        self.assertEqual(1, run.call_count)
        logged = ' '.join(str(c) for c in info.call_args_list)
        self.assertIn("'path': 'clone'", logged)
        self.assertIn('snapshot 0.500 s', logged)

    @mock.patch.object(subprocess, 'Popen')
    def test_exit_0_with_an_odd_report_is_still_done(self, run):
        for out in ('', 'not json', '[1, 2]',
                    '{"seconds": "x", "steps": [{"seconds": null}, 3]}',
                    '{"steps": {"a": 1}}'):
            run.side_effect = lambda argv, **kw: completed(argv, 0, out)
            self.upload()
        self.cinder_path.assert_not_called()

    @mock.patch.object(subprocess, 'Popen')
    def test_argv_and_env(self, run):
        self.set_backend(rbd_native_binary='/opt/rbd-native/bin/rbd-native',
                         rbd_native_upload_timeout=900,
                         rbd_native_kill_grace=60,
                         rbd_native_keyring='/etc/ceph/c.keyring',
                         rbd_cluster_name='east')
        child = completed([], 0, json.dumps(REPORT))
        run.return_value = child
        self.upload()
        argv = run.call_args.args[0]
        kwargs = run.call_args.kwargs
        self.assertEqual(
            ['/opt/rbd-native/bin/rbd-native', 'upload',
             '--image-id', fake.IMAGE_ID,
             '--volume', 'volumes/volume-%s' % fake.VOLUME_ID,
             '--clone-optimization', '--no-fallback', '--format', 'json',
             '--conf', '/etc/ceph/ceph.conf', '--id', 'cinder',
             '--keyring', '/etc/ceph/c.keyring', '--cluster', 'east',
             '--timeout', '900'], argv)
        self.assertNotIn('shell', kwargs)
        self.assertEqual([960], child.timeouts)
        env = kwargs['env']
        self.assertNotIn(USER_TOKEN, ' '.join(argv))
        self.assertEqual('token', env['OS_AUTH_TYPE'])
        self.assertEqual(USER_TOKEN, env['OS_TOKEN'])
        self.assertEqual(KEYSTONE, env['OS_AUTH_URL'])
        self.assertEqual('public', env['OS_INTERFACE'])
        for gone in ('OS_CLOUD', 'OS_PASSWORD', 'OS_PROJECT_ID',
                     'OS_IMAGE_URL', 'OS_REGION_NAME', 'OS_CACERT',
                     'OS_INSECURE', 'RBD_NATIVE_SERVICE_TOKEN'):
            self.assertNotIn(gone, env)
        self.assertEqual('kept', env['RBD_NATIVE_TEST_KEEP'])
        self.assertEqual(os.environ['PATH'], env['PATH'])

    @mock.patch.object(subprocess, 'Popen')
    def test_default_cluster_and_no_timeout_add_no_flags(self, run):
        self.set_backend(rbd_user=None, rbd_ceph_conf='')
        child = completed([], 0, '{}')
        run.return_value = child
        self.upload()
        argv = run.call_args.args[0]
        for flag in ('--conf', '--id', '--keyring', '--cluster', '--timeout',
                     '--store'):
            self.assertNotIn(flag, argv)
        self.assertEqual([None], child.timeouts)

    @mock.patch.object(subprocess, 'Popen')
    def test_the_volume_types_image_store_is_passed(self, run):
        self.volume.volume_type = fake_volume.fake_volume_type_obj(
            self.context, id=fake.VOLUME_TYPE_ID,
            extra_specs={'image_service:store_id': 'ceph-images'})
        run.side_effect = lambda argv, **kw: completed(argv, 0, '{}')
        self.upload()
        argv = run.call_args.args[0]
        self.assertEqual('ceph-images', argv[argv.index('--store') + 1])

    @mock.patch.object(subprocess, 'Popen')
    def test_glance_settings_reach_the_tool(self, run):
        self.flags(glance_api_servers=['glance.example:9292'],
                   glance_ca_certificates_file='/etc/ssl/glance-ca.pem',
                   glance_api_insecure=True,
                   glance_catalog_info='image:glance:internalURL')
        self.flags(region_name='RegionOne', group='glance')
        run.side_effect = lambda argv, **kw: completed(argv, 0, '{}')
        self.upload()
        env = run.call_args.kwargs['env']
        self.assertEqual('http://glance.example:9292', env['OS_IMAGE_URL'])
        self.assertEqual('/etc/ssl/glance-ca.pem', env['OS_CACERT'])
        self.assertEqual('true', env['OS_INSECURE'])
        self.assertEqual('internal', env['OS_INTERFACE'])
        self.assertEqual('RegionOne', env['OS_REGION_NAME'])
        self.assertEqual('http://keystone.internal:5000/v3',
                         env['OS_AUTH_URL'])

    @mock.patch.object(subprocess, 'Popen')
    def test_keystone_url_from_config_without_a_catalog(self, run):
        self.context = context.RequestContext(fake.USER_ID, fake.PROJECT_ID,
                                              auth_token=USER_TOKEN)
        driver._www_authenticate_uri()  # registers [keystone_authtoken]
        self.flags(www_authenticate_uri='http://ks.conf:5000',
                   group='keystone_authtoken')
        run.side_effect = lambda argv, **kw: completed(argv, 0, '{}')
        self.upload()
        self.assertEqual('http://ks.conf:5000',
                         run.call_args.kwargs['env']['OS_AUTH_URL'])

    @mock.patch.object(subprocess, 'Popen')
    def test_no_keystone_url_takes_cinders_path(self, run):
        self.context = context.RequestContext(fake.USER_ID, fake.PROJECT_ID,
                                              auth_token=USER_TOKEN)
        # Cinder's test configuration sets one.
        self.flags(auth_url=None, group='keystone_authtoken')
        self.upload()
        self.assert_cinder_path()
        run.assert_not_called()

    def use_service_user(self):
        """[service_user] that sends a static service token."""
        ks_loading.register_auth_conf_options(service_auth.CONF,
                                              'service_user')
        opts = ks_loading.get_auth_plugin_conf_options('admin_token')
        service_auth.CONF.register_opts(opts, group='service_user')
        self.flags(send_service_user_token=True, auth_type='admin_token',
                   token=SERVICE_TOKEN, endpoint='http://keystone.example',
                   group='service_user')

    @mock.patch.object(subprocess, 'Popen')
    def test_service_token_only_when_cinder_sends_one(self, run):
        run.side_effect = lambda argv, **kw: completed(argv, 0, '{}')
        self.upload()
        self.assertNotIn('RBD_NATIVE_SERVICE_TOKEN',
                         run.call_args.kwargs['env'])

        self.use_service_user()
        self.upload()
        argv = run.call_args.args[0]
        env = run.call_args.kwargs['env']
        self.assertEqual(SERVICE_TOKEN, env['RBD_NATIVE_SERVICE_TOKEN'])
        self.assertEqual(USER_TOKEN, env['OS_TOKEN'])
        self.assertNotIn(SERVICE_TOKEN, ' '.join(argv))

    @mock.patch.object(subprocess, 'Popen')
    def test_exit_4_takes_cinders_path(self, run):
        report = dict(REPORT, path='stream',
                      reason="Glance's store is on another cluster")
        run.side_effect = lambda argv, **kw: completed(
            argv, 4, json.dumps(report), 'rbd-native: not cloned: ...\n')
        with mock.patch.object(driver.LOG, 'info') as info:
            self.upload()
        self.assert_cinder_path()
        self.assertEqual(1, run.call_count)
        self.assertIn("another cluster", str(info.call_args_list))

    @mock.patch.object(subprocess, 'Popen')
    def test_exit_3_succeeds_with_a_warning(self, run):
        left = ('rbd-native: image %s was uploaded by stream, but undoing '
                'the failed clone left: remove RBD image images/x: EBUSY '
                '(`rbd-native upload --cleanup %s` removes it)\n'
                % (fake.IMAGE_ID, fake.IMAGE_ID))
        run.side_effect = lambda argv, **kw: completed(
            argv, 3, json.dumps(dict(REPORT, path='stream')), left)
        with mock.patch.object(driver.LOG, 'warning') as warning:
            self.upload()
        self.cinder_path.assert_not_called()
        self.assertEqual(1, run.call_count)
        self.assertIn('EBUSY', str(warning.call_args_list))

    def assert_cleanup(self, call):
        """``call`` is the tool's cleanup of the test's image."""
        argv = call.args[0]
        self.assertEqual(
            ['rbd-native', 'upload', '--cleanup', fake.IMAGE_ID,
             '--keep-image', '--pool', 'volumes',
             '--conf', '/etc/ceph/ceph.conf', '--id', 'cinder'], argv)
        self.assertEqual(USER_TOKEN, call.kwargs['env']['OS_TOKEN'])
        self.assertNotIn(USER_TOKEN, ' '.join(argv))

    @mock.patch.object(subprocess, 'Popen')
    def test_exit_1_cleans_up_and_raises_the_tools_error(self, run):
        run.side_effect = [
            completed(['upload'], 1, '',
                      'WARN something\nrbd-native: cannot clone: EIO\n'
                      'rbd-native: hint: see the OSD log\n'),
            completed(['cleanup'], 0, 'removed images/%s\n' % fake.IMAGE_ID),
        ]
        err = self.assertRaises(exception.VolumeBackendAPIException,
                                self.upload)
        self.assertIn('rbd-native: cannot clone: EIO', str(err))
        self.assertNotIn('hint', str(err))
        self.assertEqual(2, run.call_count)
        self.assert_cleanup(run.call_args_list[1])
        self.cinder_path.assert_not_called()

    @mock.patch.object(subprocess, 'Popen')
    def test_killed_by_a_signal_cleans_up_and_raises(self, run):
        run.side_effect = [completed(['upload'], -9),
                           completed(['cleanup'], 0, 'nothing left\n')]
        err = self.assertRaises(exception.VolumeBackendAPIException,
                                self.upload)
        self.assertIn('signal 9', str(err))
        self.assert_cleanup(run.call_args_list[1])

    @mock.patch.object(subprocess, 'Popen')
    def test_timeout_cleans_up_and_raises(self, run):
        self.set_backend(rbd_native_upload_timeout=30,
                         rbd_native_kill_grace=5)
        child = FakeChild(1, '', 'rbd-native: stopped by SIGTERM\n',
                          hangs=True)
        run.side_effect = [child, completed(['cleanup'], 0, 'removed x\n')]
        err = self.assertRaises(exception.VolumeBackendAPIException,
                                self.upload)
        self.assertIn('did not end in 35 s', str(err))
        self.assertEqual([35, 5], child.timeouts)
        self.assertEqual(['TERM'], child.signals)
        self.assert_cleanup(run.call_args_list[1])
        self.cinder_path.assert_not_called()

    @mock.patch.object(subprocess, 'Popen')
    def test_a_tool_that_ignores_sigterm_is_killed(self, run):
        self.set_backend(rbd_native_upload_timeout=30,
                         rbd_native_kill_grace=5)
        child = FakeChild(hangs=True, ignores_term=True)
        run.side_effect = [child, completed(['cleanup'], 0, 'removed x\n')]
        self.assertRaises(exception.VolumeBackendAPIException, self.upload)
        self.assertEqual([35, 5, 5], child.timeouts)
        self.assertEqual(['TERM', 'KILL'], child.signals)
        self.assert_cleanup(run.call_args_list[1])

    @mock.patch.object(subprocess, 'Popen')
    def test_failed_cleanup_still_raises_the_uploads_error(self, run):
        run.side_effect = [completed(['upload'], 2, '', 'rbd-native: bad\n'),
                           completed(['cleanup'], 1, '',
                                     'rbd-native: no monitor\n')]
        with mock.patch.object(driver.LOG, 'error') as error:
            err = self.assertRaises(exception.VolumeBackendAPIException,
                                    self.upload)
        self.assertIn('rbd-native: bad', str(err))
        self.assertIn('no monitor', str(error.call_args_list))

    def test_the_one_line_error_of_the_tools_stderr(self):
        self.assertEqual(
            'rbd-native: cannot clone: EIO',
            driver._last_error_line('2026 WARN x\nrbd-native: cannot clone: '
                                    'EIO\nrbd-native: hint: see the log\n'))
        self.assertEqual(
            "error: unexpected argument '--x' found",
            driver._last_error_line("error: unexpected argument '--x' found"
                                    "\n\nUsage: rbd-native upload\n\nFor "
                                    "more information, try '--help'.\n"))
        self.assertEqual('Killed', driver._last_error_line('Killed\n'))
        self.assertEqual('', driver._last_error_line(''))

    def test_missing_binary_raises_one_line(self):
        self.set_backend(rbd_native_binary='/nonexistent/rbd-native')
        err = self.assertRaises(exception.VolumeBackendAPIException,
                                self.upload)
        self.assertIn('cannot run /nonexistent/rbd-native', str(err))
        self.cinder_path.assert_not_called()


class FakeToolTestCase(test.TestCase):
    """The driver with a real child process: a script in the tool's place.

    The script writes its argv and environment to a file and exits with the
    status of ``FAKE_EXIT`` (sleeping first for ``FAKE_SLEEP`` seconds). On
    SIGTERM it exits with 1, as the tool does once it has undone its work;
    with ``FAKE_NO_TERM`` set it ignores SIGTERM.
    """

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(self._rmtree)
        self.tool = os.path.join(self.tmp, 'rbd-native')
        self.record = os.path.join(self.tmp, 'calls')
        with open(self.tool, 'w') as f:
            f.write(textwrap.dedent('''\
                #!%s
                import json, os, signal, sys, time
                def stop(*_):
                    print('rbd-native: stopped; undone', file=sys.stderr)
                    sys.exit(1)
                signal.signal(signal.SIGTERM,
                              signal.SIG_IGN if os.environ.get('FAKE_NO_TERM')
                              else stop)
                with open(%r, 'a') as f:
                    f.write(json.dumps({'argv': sys.argv[1:],
                                        'env': dict(os.environ),
                                        'pid': os.getpid()}) + '\\n')
                if '--cleanup' in sys.argv:
                    print('removed images/' + sys.argv[3])
                    sys.exit(0)
                time.sleep(float(os.environ.get('FAKE_SLEEP', '0')))
                code = int(os.environ.get('FAKE_EXIT', '0'))
                print(json.dumps({'path': 'clone', 'seconds': 0.1,
                                  'bytes': 1, 'steps': []}))
                if code:
                    print('rbd-native: the fake failed', file=sys.stderr)
                sys.exit(code)
                ''' % (sys.executable, self.record)))
        os.chmod(self.tool, stat.S_IRWXU)
        conf.Configuration(rbd.RBD_OPTS + driver.volume_opts,
                           config_group=BACKEND)
        for name, value in dict(enable_clone_optimization=True,
                                rbd_pool='volumes', rbd_user='cinder',
                                rbd_native_binary=self.tool,
                                rbd_native_upload_timeout=1,
                                rbd_native_kill_grace=1).items():
            self.override_config(name, value, group=BACKEND)
        self.cfg = conf.Configuration(rbd.RBD_OPTS, config_group=BACKEND)
        self.driver = driver.RBDNativeDriver(execute=mock.Mock(),
                                             configuration=self.cfg,
                                             rados=mock.MagicMock(),
                                             rbd=mock.MagicMock())
        self.context = context.RequestContext(fake.USER_ID, fake.PROJECT_ID,
                                              auth_token=USER_TOKEN,
                                              service_catalog=CATALOG)
        self.volume = fake_volume.fake_volume_obj(self.context,
                                                  id=fake.VOLUME_ID)
        self.image_meta = {'id': fake.IMAGE_ID, 'disk_format': 'raw',
                           'container_format': 'bare'}
        patcher = mock.patch.object(rbd.RBDDriver, 'copy_volume_to_image',
                                    autospec=True)
        self.cinder_path = patcher.start()
        self.addCleanup(patcher.stop)

    def _rmtree(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def calls(self):
        """What the fake tool received, one entry per run."""
        with open(self.record) as f:
            return [json.loads(line) for line in f]

    def upload(self, **env):
        with mock.patch.dict(os.environ, dict(env, OS_CLOUD='leaked')):
            return self.driver.copy_volume_to_image(
                self.context, self.volume, mock.Mock(), self.image_meta)

    def test_the_child_gets_the_token_in_its_environment_only(self):
        self.upload()
        calls = self.calls()
        self.assertEqual(1, len(calls))
        self.assertEqual(USER_TOKEN, calls[0]['env']['OS_TOKEN'])
        self.assertNotIn('OS_CLOUD', calls[0]['env'])
        self.assertNotIn(USER_TOKEN, ' '.join(calls[0]['argv']))
        self.assertEqual(fake.IMAGE_ID,
                         calls[0]['argv'][calls[0]['argv'].index(
                             '--image-id') + 1])
        self.cinder_path.assert_not_called()

    def test_exit_4_streams_through_cinder(self):
        self.upload(FAKE_EXIT='4')
        self.cinder_path.assert_called_once()

    def test_a_tool_that_hangs_is_stopped_then_cleaned_up(self):
        with mock.patch.object(driver.LOG, 'error') as error:
            err = self.assertRaises(exception.VolumeBackendAPIException,
                                    self.upload, FAKE_SLEEP='30')
        self.assertIn('did not end in 2 s and was stopped', str(err))
        self.assertIn('stopped; undone', str(error.call_args_list))
        calls = self.calls()
        self.assertEqual(2, len(calls))
        self.assertIn('--cleanup', calls[1]['argv'])
        self.assertIn('--keep-image', calls[1]['argv'])

    def test_a_tool_that_ignores_sigterm_is_killed(self):
        start = time.monotonic()
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.upload, FAKE_SLEEP='30', FAKE_NO_TERM='1')
        self.assertLess(time.monotonic() - start, 15)
        self.assertEqual(2, len(self.calls()))

    def test_a_wrapper_and_its_hanging_tool_are_stopped_together(self):
        wrapper = os.path.join(self.tmp, 'wrapper')
        with open(wrapper, 'w') as f:
            f.write('#!/bin/sh\n"%s" "$@"\necho "wrapper: $?" >&2\n'
                    % self.tool)
        os.chmod(wrapper, stat.S_IRWXU)
        self.override_config('rbd_native_binary', wrapper, group=BACKEND)
        self.driver = driver.RBDNativeDriver(
            execute=mock.Mock(), rados=mock.MagicMock(), rbd=mock.MagicMock(),
            configuration=conf.Configuration(rbd.RBD_OPTS,
                                             config_group=BACKEND))
        start = time.monotonic()
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.upload, FAKE_SLEEP='30', FAKE_NO_TERM='1')
        self.assertLess(time.monotonic() - start, 15)
        self.assertEqual(wrapper, self.driver._binary())
        calls = self.calls()
        self.assertEqual(2, len(calls))
        # The tool, the wrapper's child, was stopped too.
        self.assertTrue(gone(calls[0]['pid']), 'the tool still runs')

    def test_exit_1_raises_the_tools_last_line(self):
        err = self.assertRaises(exception.VolumeBackendAPIException,
                                self.upload, FAKE_EXIT='1')
        self.assertIn('rbd-native: the fake failed', str(err))
        self.assertEqual(2, len(self.calls()))


class ToolContractTestCase(test.TestCase):
    """The driver's command lines, parsed by the real tool.

    ``RBD_NATIVE_BIN`` names the tool (the Rust test that runs these tests
    gives the workspace's build); without it the test is skipped. The tool
    is given a ceph.conf that does not exist: it must fail on that (exit
    status 1), not on its command line (clap's usage error, status 2).
    """

    def test_the_tool_takes_the_upload_and_cleanup_command_lines(self):
        binary = os.environ.get('RBD_NATIVE_BIN')
        if not binary:
            self.skipTest('RBD_NATIVE_BIN is not set')
        conf.Configuration(rbd.RBD_OPTS + driver.volume_opts,
                           config_group=BACKEND)
        for name, value in dict(enable_clone_optimization=True,
                                rbd_pool='volumes', rbd_user='cinder',
                                rbd_ceph_conf='/nonexistent/ceph.conf',
                                rbd_cluster_name='east',
                                rbd_native_keyring='/nonexistent/keyring',
                                rbd_native_binary=binary,
                                rbd_native_upload_timeout=600).items():
            self.override_config(name, value, group=BACKEND)
        cfg = conf.Configuration(rbd.RBD_OPTS, config_group=BACKEND)
        drv = driver.RBDNativeDriver(execute=mock.Mock(), configuration=cfg,
                                     rados=mock.MagicMock(),
                                     rbd=mock.MagicMock())
        catalog = [{'type': 'identity', 'name': 'keystone',
                    'endpoints': [{'publicURL': 'http://127.0.0.1:9/v3'}]}]
        ctx = context.RequestContext(fake.USER_ID, fake.PROJECT_ID,
                                     auth_token=USER_TOKEN,
                                     service_catalog=catalog)
        volume = fake_volume.fake_volume_obj(
            ctx, id=fake.VOLUME_ID, volume_type_id=fake.VOLUME_TYPE_ID)
        volume.volume_type = fake_volume.fake_volume_type_obj(
            ctx, id=fake.VOLUME_TYPE_ID,
            extra_specs={'image_service:store_id': 'ceph-images'})
        image_meta = {'id': fake.IMAGE_ID, 'disk_format': 'raw',
                      'container_format': 'bare'}
        statuses = []
        real_run = driver._run

        def run(argv, env, timeout, grace):
            result = real_run(argv, env, timeout, grace)
            statuses.append((argv, result))
            return result

        with mock.patch.object(driver, '_run', run), \
                mock.patch.object(rbd.RBDDriver, 'copy_volume_to_image',
                                  autospec=True) as cinder_path:
            err = self.assertRaises(exception.VolumeBackendAPIException,
                                    drv.copy_volume_to_image, ctx, volume,
                                    mock.Mock(), image_meta)
        cinder_path.assert_not_called()
        self.assertIn('/nonexistent/ceph.conf', str(err))
        self.assertEqual(2, len(statuses))
        for argv, (code, _out, err_text, late) in statuses:
            self.assertEqual(1, code, '%s: %s' % (argv, err_text))
            self.assertNotIn('Usage:', err_text)
            self.assertFalse(late)
        self.assertIn('--image-id', statuses[0][0])
        self.assertIn('--store', statuses[0][0])
        self.assertIn('--keep-image', statuses[1][0])
