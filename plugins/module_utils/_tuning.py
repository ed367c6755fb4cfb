# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where and how the kernel limit is tuned: the one source the module, the role's planner,
the filters and the audit read (the role's argument spec and docs are tested against it).

Module code: runs on target Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.netstack.backlog.plugins.module_utils._backlog import parse_kernel_release
from ansible_collections.netstack.backlog.plugins.module_utils._platforms import TUNING

# Per system (listener_backlog_info.system): the knobs, the values each accepts, the files; the
# ``tuning`` of each record in _platforms.RECORDS.

# How much of a file is read to find its settings: sysctl files are a few lines.
MAX_SYSCTL_FILE = 1024 * 1024


def somaxconn_range(system, release=None):
    """(lowest, highest) value the kernel limit accepts on ``system`` (this ``release`` of Linux)."""
    tuning = TUNING[system]
    lowest, highest = tuning['somaxconn_range']
    if system == 'Linux':
        version = parse_kernel_release(release)
        if version is not None and version < (4, 1):
            highest = tuning['somaxconn_max_before_4_1']
    return lowest, highest


def range_text(system):
    """The accepted values of ``system``'s limit as the role's docs state them: '0 to 2147483647'."""
    lowest, highest = TUNING[system]['somaxconn_range']
    text = '%d to %d' % (lowest, highest)
    if 'somaxconn_max_before_4_1' in TUNING[system]:
        text += ' (%d before Linux 4.1)' % TUNING[system]['somaxconn_max_before_4_1']
    return text


def setting_lines(text, keys):
    """{key: the last line of ``text`` that assigns it, stripped of its newline} for each ``key`` set.

    A line assigns a key as sysctl.conf(5) and sysctl.d(5) read it: ``key = value`` with any
    blanks around the ``=``, comments starting with # or ;.  The last one wins, as for
    ansible.builtin.lineinfile, whose edit the role's planner predicts from these lines.
    """
    found = {}
    for line in (text or '').splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in '#;' or '=' not in stripped:
            continue
        key = stripped.split('=', 1)[0].strip()
        if key in keys:
            found[key] = line
    return found


def line_value(line):
    """The value a setting line assigns, without blanks: 'net.core.somaxconn = 4096' gives '4096'."""
    return line.split('=', 1)[1].strip()


def _read_text(read_file, path):
    try:
        return read_file(path)
    except (IOError, OSError):
        return None


def boot_files(tuning, listdir=None):
    """The files read at boot that may set the keys, in no particular order (the planner orders)."""
    listdir = listdir or os.listdir
    paths = []
    for directory in tuning.get('boot_dirs', ()):
        try:
            names = listdir(directory)
        except (IOError, OSError):
            continue
        paths.extend(os.path.join(directory, name) for name in names if name.endswith('.conf'))
    if tuning.get('boot_last'):
        paths.append(tuning['boot_last'])
    return paths


def _writable(path):
    return os.access(path, os.W_OK)


def tuning_state(system, release, sysctl_file, persist, read_file, live_value, listdir=None, writable=None,
                 readlink=None):
    """What the role needs to plan the tuning without another look at the host.

    ``read_file(path)`` returns a file's text (raising IOError/OSError when it cannot);
    ``live_value(key)`` returns the knob's value as text or None.  Returns None on a system
    the role cannot tune.
    """
    tuning = TUNING.get(system)
    if tuning is None:
        return None
    writable = writable or _writable
    readlink = readlink or _link
    keys = [tuning['somaxconn_key']] + ([tuning['syn_backlog_key']] if 'syn_backlog_key' in tuning else [])
    path = sysctl_file or tuning['persistent_file' if persist else 'runtime_file']
    text = _read_text(read_file, path)
    state = {
        'system': system,
        'release': release,
        'somaxconn_range': list(somaxconn_range(system, release)),
        'file': path,
        'file_exists': text is not None,
        # Where the file is a symlink, what it points to (the planner refuses one out of its directory).
        'file_link': readlink(path),
        'file_lines': setting_lines(text, keys),
        'live': dict((key, live_value(key)) for key in keys),
        'writable': writable(tuning['writable_probe']) if tuning.get('writable_probe') else None,
        'boot_files': [],
    }
    if persist:
        for candidate in boot_files(tuning, listdir):
            if candidate == path:
                continue
            lines = setting_lines(_read_text(read_file, candidate), keys)
            if lines:
                state['boot_files'].append({'path': candidate, 'keys': sorted(lines)})
        state['boot_files'].sort(key=lambda entry: entry['path'])
    return state


def linux_live_value(read_file):
    """A ``live_value`` for Linux: the knob's procfs file."""
    def live(key):
        text = _read_text(read_file, '/proc/sys/' + key.replace('.', '/'))
        return text.strip() if text is not None else None
    return live


# os-release(5): ID and ID_LIKE name the distribution and those it derives from.  The
# families are the names ansible.builtin.setup gives ansible_os_family, so a play that
# gathered facts and one that did not plan alike.
OS_FAMILIES = (
    ('Debian', ('debian', 'ubuntu')),
    ('RedHat', ('rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'amzn', 'ol')),
    ('Suse', ('suse', 'opensuse', 'sles', 'opensuse-leap', 'opensuse-tumbleweed')),
    ('Archlinux', ('arch',)),
    ('Alpine', ('alpine',)),
)


def parse_os_release(text):
    """{'id', 'id_like' (list), 'version_id'} from an os-release file's text."""
    values = {}
    for line in (text or '').splitlines():
        if '=' not in line or line.lstrip().startswith('#'):
            continue
        key, value = line.split('=', 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        values[key.strip()] = value
    return {'id': values.get('ID', '').lower() or None,
            'id_like': values.get('ID_LIKE', '').lower().split(),
            'version_id': values.get('VERSION_ID') or None}


def distribution(system, read_file):
    """{'os_family', 'id', 'id_like', 'version_id'} of this host; ``os_family`` as setup names it."""
    if system != 'Linux':
        return {'os_family': system, 'id': system.lower(), 'id_like': [], 'version_id': None}
    text = _read_text(read_file, '/etc/os-release')
    if text is None:
        text = _read_text(read_file, '/usr/lib/os-release')
    found = parse_os_release(text)
    family = None
    for name in [found['id']] + found['id_like']:
        for candidate, members in OS_FAMILIES:
            if name in members:
                family = candidate
                break
        if family:
            break
    found['os_family'] = family
    return found


# Where systemd says it runs (sd_booted(3): the directory exists only while systemd is the
# init), and the older places ansible-core's service_mgr fact also looks at.
SYSTEMD_CANARIES = ('/run/systemd/system/', '/dev/.run/systemd/', '/dev/.systemd/')


def _link(path):
    try:
        return os.readlink(path)
    except (IOError, OSError):
        return None


def init_state(read_file, exists=os.path.exists, readlink=_link):
    """What decides which service manager restarts services here, and whether it runs here (Linux).

    ansible-core's service module picks the manager from the ``service_mgr`` fact, which it
    derives from PID 1's name, systemd's canaries and ``/sbin/init``; a host built by hand (a
    network namespace, a chroot, a container whose PID 1 is a shell) can lead it to systemd where
    systemd does not run, or runs another namespace's services.  The planner compares the two.
    """
    comm = _read_text(read_file, '/proc/1/comm')
    pid1_net, own_net = readlink('/proc/1/ns/net'), readlink('/proc/self/ns/net')
    sbin_init = readlink('/sbin/init')
    return {
        'pid1': comm.strip() if comm else None,
        # Whether PID 1 (the init that would start a service) is in this network namespace.
        'pid1_same_network': pid1_net == own_net if pid1_net and own_net else None,
        'systemd_booted': any(exists(path) for path in SYSTEMD_CANARIES),
        'sbin_init': os.path.basename(sbin_init) if sbin_init else None,
        'upstart': exists('/etc/init/') and any(
            exists(os.path.join(directory, 'initctl')) for directory in ('/sbin', '/usr/sbin', '/bin', '/usr/bin')),
        'systemctl': any(exists(os.path.join(directory, 'systemctl')) for directory in ('/usr/bin', '/bin')),
        'openrc': exists('/sbin/openrc'),
        'init_d': exists('/etc/init.d/'),
    }
