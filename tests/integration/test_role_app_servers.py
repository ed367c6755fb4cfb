# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role with Python application servers: uWSGI and gunicorn from Debian 12's and 13's packages.

As in test_role_services.py (whose run_role and helpers this file uses), each test has a
simulated host with its own network namespace, /etc, /var and /run, the daemon is started
there with an init script, and the truth is what the kernel granted (ss), not the files.
uWSGI runs from Debian's /etc/init.d/uwsgi with an app enabled in apps-enabled; gunicorn comes
with no service at all, so the test writes the init script a user would have (a unit, elsewhere).
"""

from __future__ import annotations

import shlex
import time

import pytest

# run_role is a fixture: pytest finds it by name in this module (its `host` is this module's).
from test_role_services import (  # pylint: disable=unused-import
    failure_message, granted, make_host, pid_of, port_held, run_role, unix_granted)

from ansible_collections.netstack.backlog.plugins.plugin_utils._catalogue import CATALOGUE

STOCK_SOMAXCONN = 128

# Debian 12 is this machine's release; Debian 13 runs from its own root (nshost.RootHost), with
# uWSGI 2.0.28 and gunicorn 23 where Debian 12 has 2.0.21 and 20.1.
RELEASES = ['debian12', 'debian13']


@pytest.fixture(params=RELEASES)
def host(request):
    made = make_host('apps', STOCK_SOMAXCONN, request.param)
    yield made
    # uWSGI takes SIGTERM (remove()'s first round) for a reload: stopped by its init script
    # (SIGQUIT), the host goes at once instead of waiting 5 s for the SIGKILL round.
    if made.init_pid is not None:
        made.run('service', 'uwsgi', 'stop', check=False)
    made.remove()


def wait_for(condition, what, timeout=30):
    """Wait until ``condition()`` is true; fail saying ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'waited %d s for %s' % (timeout, what)
        time.sleep(0.1)


def children(host, pid):
    return set(host.run('pgrep', '-P', str(pid), check=False).stdout.split())


def decided(tasks):
    """What the role decided for each service in its last decision ({init service: state})."""
    decision = [task for task in tasks if task['task'].endswith('Decide what each service needs')][-1]
    return {action['service']: action['state'] for action in decision['result']['apply']}


def validate(host, name, path):
    """The catalogue's validator of ``name`` run on ``path`` on the host, as the role runs it (argv, no shell)."""
    return host.run(*shlex.split(CATALOGUE[name]['validate']['default'] % path), check=False)


WSGI_APP = '''def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'shop\\n']
'''

UWSGI_APP = '/etc/uwsgi/apps-available/shop.ini'
UWSGI_ENABLED = '/etc/uwsgi/apps-enabled/shop.ini'
UWSGI_LOG = '/var/log/uwsgi/app/shop.log'      # the init script's --daemonize, named after the app
UWSGI_PID = '/run/uwsgi/app/shop/pid'          # Debian's default.ini
UWSGI_SOCKET = '/run/uwsgi/app/shop/socket'    # Debian's default.ini gives every app this unix socket


def test_uwsgi_refuses_a_listen_above_somaxconn_until_the_role_raises_the_limit_and_restarts_on_a_change(
        host, run_role):
    host.write('/srv/shop/app.py', WSGI_APP)
    host.write(UWSGI_APP, '[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:8000\nchdir = /srv/shop\n'
                          'wsgi-file = app.py\nlisten = 1024\n')
    host.run('ln', '-s', '../apps-available/shop.ini', UWSGI_ENABLED)

    # Under the old kernel default uWSGI will not start with listen = 1024, and says why.
    host.run('service', 'uwsgi', 'start', check=False)
    refusal = 'Listen queue size is greater than the system max net.core.somaxconn (128).'
    wait_for(lambda: refusal in host.run('cat', UWSGI_LOG, check=False).stdout, 'uWSGI to refuse in its log')
    assert granted(host, 8000) == [] and unix_granted(host, UWSGI_SOCKET) is None

    variables = {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': 'uwsgi'}]}
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    assert host.sysctl('net/core/somaxconn') == 4096
    assert 'listen = 4096\n' in host.read(UWSGI_APP) and 'listen = 1024' not in host.read(UWSGI_APP)
    assert host.run('test', '-L', UWSGI_ENABLED, check=False).returncode == 0, 'the enabled app stays a link'
    assert decided(tasks) == {'uwsgi': 'restarted'}
    assert granted(host, 8000) == [4096] and unix_granted(host, UWSGI_SOCKET) == 4096

    process, tasks, changed = run_role(variables)
    assert process.returncode == 0 and changed == [], (changed, process.stdout)

    # A reload (the init script's, SIGHUP) re-executes the master with the new file, which it
    # says it uses, on the sockets it inherited: the kernel keeps the old backlog.
    master = pid_of(host, UWSGI_PID)
    workers = children(host, master)
    host.write(UWSGI_APP, host.read(UWSGI_APP).replace('listen = 4096', 'listen = 700'))
    host.run('service', 'uwsgi', 'reload')
    wait_for(lambda: 'listen backlog is limited to 700 connections' in host.read(UWSGI_LOG)
             and children(host, master) and not children(host, master) & workers, 'uWSGI to act on the reload')
    assert pid_of(host, UWSGI_PID) == master
    assert 'uwsgi socket 1 inherited INET address 127.0.0.1:8000' in host.read(UWSGI_LOG)
    assert granted(host, 8000) == [4096] and unix_granted(host, UWSGI_SOCKET) == 4096

    # Stopped, with its file already right: its init script's status without an app name says
    # "which one?" and 0, so the role restarts it rather than "start" it (which would do nothing).
    host.run('service', 'uwsgi', 'stop')
    assert granted(host, 8000) == []
    process, tasks, changed = run_role(dict(variables, listener_backlog_services=[{'name': 'uwsgi', 'backlog': 700}]))
    assert process.returncode == 0, process.stdout + process.stderr
    assert decided(tasks) == {'uwsgi': 'restarted'}
    assert granted(host, 8000) == [700] and unix_granted(host, UWSGI_SOCKET) == 700

    # The validator: the app's own file passes; one without a [uwsgi] section does not.
    assert validate(host, 'uwsgi', UWSGI_APP).returncode == 0
    # Under the host's own /run (a tmpfs of its own): its /tmp is the machine's.
    host.write('/run/nosection.ini', 'listen = 700\n')
    checked = validate(host, 'uwsgi', '/run/nosection.ini')
    assert checked.returncode != 0 and 'Can\'t find section "uwsgi"' in checked.stderr, checked.stderr


def test_uwsgi_failing_to_start_is_reported_from_the_log_of_its_app(host, run_role):
    """The log is the one Debian's init script gives the app (/var/log/uwsgi/app/<name>.log, {stem})."""
    host.write('/srv/shop/app.py', WSGI_APP)
    host.write(UWSGI_APP, '[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:8000\nchdir = /srv/shop\n'
                          'wsgi-file = app.py\n')
    host.run('ln', '-s', '../apps-available/shop.ini', UWSGI_ENABLED)
    with port_held(host, 8000):  # something else holds the app's port
        process, tasks, changed = run_role({'listener_backlog_services': [{'name': 'uwsgi'}],
                                            'listener_backlog_verify_timeout': 3})
    assert process.returncode != 0
    message = failure_message(tasks)
    assert UWSGI_LOG in message and 'Address already in use' in message, message


GUNICORN_CONFIG = '/srv/shop/gunicorn.conf.py'
GUNICORN_PID = '/run/gunicorn/shop.pid'
GUNICORN_LOG = '/var/log/gunicorn/shop.log'
# What a user would have instead of a unit (this host has no systemd): gunicorn daemonized with
# the user's config, HUP for reload as gunicorn's own systemd example does (ExecReload).
GUNICORN_INIT = '''#!/bin/sh
### BEGIN INIT INFO
# Provides:          gunicorn
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: the shop's gunicorn
### END INIT INFO
PIDFILE=%(pid)s
running() { [ -s $PIDFILE ] && kill -0 "$(cat $PIDFILE)" 2>/dev/null; }
start() { running || (cd /srv/shop && gunicorn --daemon --pid $PIDFILE --config %(config)s app:application); }
stop() { start-stop-daemon --stop --quiet --retry TERM/30/KILL/5 --pidfile $PIDFILE; [ $? -le 1 ]; }
case "$1" in
  start) start ;;
  stop) stop ;;
  restart|force-reload) stop && start ;;
  reload) start-stop-daemon --stop --quiet --signal HUP --pidfile $PIDFILE ;;
  status) if running; then echo "gunicorn is running"; else echo "gunicorn is not running"; exit 3; fi ;;
  *) echo "Usage: $0 {start|stop|restart|reload|force-reload|status}" >&2; exit 3 ;;
esac
''' % {'pid': GUNICORN_PID, 'config': GUNICORN_CONFIG}


def test_gunicorn_asks_for_its_config_gets_the_backlog_on_a_restart_not_on_hup(host, run_role):
    host.write('/srv/shop/app.py', WSGI_APP)
    host.write(GUNICORN_CONFIG, 'bind = "127.0.0.1:8001"\nworkers = 2\nbacklog = 2048\nerrorlog = "%s"\n'
               % GUNICORN_LOG)
    host.write('/etc/init.d/gunicorn', GUNICORN_INIT)
    host.run('chmod', '755', '/etc/init.d/gunicorn')
    host.run('mkdir', '-p', '/run/gunicorn', '/var/log/gunicorn')

    # gunicorn asks for 2048 and gets the kernel's 128, saying nothing about it.
    host.run('service', 'gunicorn', 'start')
    wait_for(lambda: granted(host, 8001), 'gunicorn to listen')
    assert granted(host, 8001) == [128]
    assert 'backlog' not in host.read(GUNICORN_LOG).lower()

    # Debian installs no config for it: the role asks for the user's before changing anything.
    variables = {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': 'gunicorn'}]}
    process, tasks, changed = run_role(variables)
    assert process.returncode != 0
    message = failure_message(tasks)
    assert ('listener_backlog_services[0].config (gunicorn): gunicorn comes with no config file of its own on any '
            'OS family') in message, message
    assert changed == [] and host.sysctl('net/core/somaxconn') == STOCK_SOMAXCONN

    master = pid_of(host, GUNICORN_PID)
    variables = {'listener_backlog_somaxconn': 4096,
                 'listener_backlog_services': [{'name': 'gunicorn', 'config': GUNICORN_CONFIG}]}
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    assert 'backlog = 4096\n' in host.read(GUNICORN_CONFIG) and 'backlog = 2048' not in host.read(GUNICORN_CONFIG)
    assert decided(tasks) == {'gunicorn': 'restarted'}
    assert granted(host, 8001) == [4096] and pid_of(host, GUNICORN_PID) != master

    process, tasks, changed = run_role(variables)
    assert process.returncode == 0 and changed == [], (changed, process.stdout)

    # HUP re-reads the file and replaces the workers; the master keeps its socket and its backlog.
    master = pid_of(host, GUNICORN_PID)
    workers = children(host, master)
    host.write(GUNICORN_CONFIG, host.read(GUNICORN_CONFIG).replace('backlog = 4096', 'backlog = 700'))
    host.run('service', 'gunicorn', 'reload')
    wait_for(lambda: len(children(host, master) - workers) == 2 and not children(host, master) & workers,
             'gunicorn to replace its workers on HUP')
    assert pid_of(host, GUNICORN_PID) == master and granted(host, 8001) == [4096]

    # The validator: the user's file passes; a setting gunicorn refuses fails in gunicorn's words.
    assert validate(host, 'gunicorn', GUNICORN_CONFIG).returncode == 0
    host.write('/run/bad.conf.py', 'backlog = "lots"\n')
    checked = validate(host, 'gunicorn', '/run/bad.conf.py')
    assert checked.returncode != 0 and 'Invalid value for backlog: lots' in checked.stderr, checked.stderr
