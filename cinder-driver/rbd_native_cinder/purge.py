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

"""The driver's purge, by hand.

    python -m rbd_native_cinder.purge [--config-file /etc/cinder/cinder.conf]
        [--backend NAME ...]

Runs ``RBDNativeDriver.purge_clone_parents`` once for each named backend
(default: each of ``enabled_backends`` whose ``volume_driver`` is this
driver), with the backend's own settings from cinder.conf, and prints the
volumes it removed, one a line. Exit status 0, or 1 when a backend could not
be purged (the error on stderr).
"""

import sys

from oslo_config import cfg
from oslo_log import log as logging

DRIVER = 'rbd_native_cinder.driver.RBDNativeDriver'

CONF = cfg.CONF
CONF.register_cli_opts([
    cfg.MultiStrOpt('backend', default=[],
                    help='A backend section of cinder.conf to purge '
                         '(repeatable); default: every enabled backend '
                         'whose volume_driver is %s.' % DRIVER),
])


def _backends():
    """The backend sections to purge."""
    if CONF.backend:
        return CONF.backend
    from cinder.volume import configuration
    from cinder.volume import manager
    names = []
    for name in CONF.enabled_backends or []:
        section = configuration.Configuration(manager.volume_backend_opts,
                                              config_group=name)
        if section.safe_get('volume_driver') == DRIVER:
            names.append(name)
    return names


def purge(backends, out=None, err=None):
    """Purges each backend section; the exit status.

    Prints what it removed to ``out``, errors to ``err`` (default: stdout
    and stderr).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    from cinder.volume import configuration
    from cinder.volume.drivers import rbd

    from rbd_native_cinder import driver

    status = 0
    for name in backends:
        conf = configuration.Configuration(rbd.RBD_OPTS, config_group=name)
        try:
            drv = driver.RBDNativeDriver(configuration=conf)
            drv.do_setup(None)
            removed = drv.purge_clone_parents()
        except Exception as e:
            err.write('rbd-native-cinder-purge: backend %s: %s\n'
                      % (name, e))
            status = 1
            continue
        for volume in removed:
            out.write('%s: removed %s\n' % (name, volume))
    return status


def main(argv=None):
    """Reads cinder.conf, purges the backends; the exit status."""
    # Cinder's options (enabled_backends, volume_name_template).
    from cinder.common import config  # noqa: F401
    from cinder import objects

    logging.register_options(CONF)
    CONF(sys.argv[1:] if argv is None else argv, project='cinder')
    logging.setup(CONF, 'rbd-native-cinder-purge')
    objects.register_all()
    backends = _backends()
    if not backends:
        sys.stderr.write('rbd-native-cinder-purge: no backend with volume_'
                         'driver = %s in enabled_backends; name one with '
                         '--backend\n' % DRIVER)
        return 1
    return purge(backends)


if __name__ == '__main__':
    sys.exit(main())
