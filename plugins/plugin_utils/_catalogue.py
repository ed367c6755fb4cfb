# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The service catalogue: what the role, its planner and the audit know of each server.

Adding a service is adding an entry here (docs/contributing.md says how it is proven).  The
role's argument spec lists the same names (a unit test holds them equal).  Per entry:
  service / process: the init service name and the process name holding the listeners (a
    regular expression matched at the start of listener_backlog_listeners[].process), per OS
    family (ansible_facts.os_family), with ``default`` for any other;
  config: the file holding the directive, per OS family (no default: an unknown family needs
    the user's ``config``); a wildcard path stands for the one file installed that it matches;
  version: where a name carries a release (PHP-FPM), a regular expression whose group reads it
    from the config file's path; {version} in service, validate and log stands for it;
  edit: how the backlog is written.  kind line: one line (ansible.builtin.lineinfile: regexp,
    line, insertafter); kind replace: regular expression edits applied in order
    (ansible.builtin.replace).  {backlog} stands for the number;
  validate: the service's own check of a candidate file (%s), run before it replaces the old
    one; %% is a literal %;
  apply: what makes a changed backlog reach an already-open listener, reload or restart (found
    by testing the real daemon: tests/integration/test_role_services.py);
  unix: whether the service's unix-domain listeners take the backlog too (default false: a
    unix socket may be an admin socket with its own backlog, as HAProxy's stats socket);
  max_backlog: the most the service itself takes, where it caps the backlog below the kernel;
  log: where the service writes why it failed to start, when its init script does not say.
"""

from __future__ import annotations

CATALOGUE = {
    'nginx': {
        'service': {'default': 'nginx'},
        'process': {'default': '^nginx'},
        'config': {
            'Debian': '/etc/nginx/sites-enabled/default',
            'RedHat': '/etc/nginx/nginx.conf',
            'FreeBSD': '/usr/local/etc/nginx/nginx.conf',
        },
        'edit': {'kind': 'replace', 'edits': [
            # A listen directive that has a backlog gets the number...
            {'regexp': r'(^[ \t]*listen[ \t][^;#\n]*\bbacklog=)\d+', 'replace': r'\g<1>{backlog}'},
            # ... and one that has none gets it added before its semicolon.
            {'regexp': r'^([ \t]*listen[ \t](?:(?!backlog=)[^;#\n])*?)[ \t]*;', 'replace': r'\g<1> backlog={backlog};'},
        ]},
        # The file is a server block included by nginx.conf; nginx -t checks it inside a
        # minimal main configuration that loads the same dynamic modules.
        'validate': {
            'default': (
                "sh -c 'main=$(mktemp) || exit 1; "
                r'printf "include /etc/nginx/modules-enabled/*.conf;\nevents {}\nhttp {\ninclude /etc/nginx/mime.types;'
                r'\ninclude %%s;\n}\n" "$1" > "$main"; '
                'nginx -t -q -c "$main"; rc=$?; rm -f "$main"; exit $rc\' nginx-validate %s'),
            'RedHat': 'nginx -t -q -c %s',
            'FreeBSD': 'nginx -t -q -c %s',
        },
        # A reload with a changed backlog makes nginx call listen() again on the open socket.
        'apply': 'reload',
        'log': {'default': '/var/log/nginx/error.log'},
    },
    'redis': {
        'service': {'default': 'redis-server', 'RedHat': 'redis', 'FreeBSD': 'redis'},
        'process': {'default': '^redis-server'},
        'config': {
            'Debian': '/etc/redis/redis.conf',
            'RedHat': '/etc/redis/redis.conf',
            'FreeBSD': '/usr/local/etc/redis.conf',
        },
        'edit': {'kind': 'line', 'regexp': r'^#?[ \t]*tcp-backlog[ \t]', 'line': 'tcp-backlog {backlog}',
                 'insertafter': 'EOF'},
        # Redis has no config-test mode.  It reads the whole file, then refuses to run with no
        # port and no socket: that refusal means the file parsed; any other outcome is Redis's
        # own error about the file, printed as it gave it.
        'validate': {
            'default': (
                'sh -c \'out=$(redis-server "$1" --port 0 --tls-port 0 --unixsocket "" --daemonize no --logfile "" '
                '--pidfile "" 2>&1); case $out in *"Configured to not listen anywhere"*) exit 0;; esac; '
                r'printf "%%s\n" "$out" >&2; exit 1' "' redis-validate %s"),
        },
        # tcp-backlog is immutable at run time (CONFIG SET refuses it) and Redis has no reload.
        'apply': 'restart',
        'log': {'default': '/var/log/redis/redis-server.log', 'RedHat': '/var/log/redis/redis.log'},
    },
    'valkey': {
        # Redis's fork (Debian 13 on): the same directive, the same check and the same rule.
        'service': {'default': 'valkey-server'},
        'process': {'default': '^valkey-server'},
        'config': {'Debian': '/etc/valkey/valkey.conf'},
        'edit': {'kind': 'line', 'regexp': r'^#?[ \t]*tcp-backlog[ \t]', 'line': 'tcp-backlog {backlog}',
                 'insertafter': 'EOF'},
        # As Redis: parsing the file and refusing to run without a port or a socket means it parsed.
        'validate': {
            'default': (
                'sh -c \'out=$(valkey-server "$1" --port 0 --tls-port 0 --unixsocket "" --daemonize no --logfile "" '
                '--pidfile "" 2>&1); case $out in *"Configured to not listen anywhere"*) exit 0;; esac; '
                r'printf "%%s\n" "$out" >&2; exit 1' "' valkey-validate %s"),
        },
        # tcp-backlog is immutable at run time, as in Redis, and there is no reload.
        'apply': 'restart',
        'log': {'default': '/var/log/valkey/valkey-server.log'},
    },
    'haproxy': {
        'service': {'default': 'haproxy'},
        'process': {'default': '^haproxy'},
        'config': {
            'Debian': '/etc/haproxy/haproxy.cfg',
            'RedHat': '/etc/haproxy/haproxy.cfg',
            'FreeBSD': '/usr/local/etc/haproxy.conf',
        },
        # `backlog` in defaults applies to every frontend without its own; the last backlog
        # line of the file is the one edited (a frontend's own line, where there is one).
        'edit': {'kind': 'line', 'regexp': r'^[ \t]*#?[ \t]*backlog[ \t]', 'line': '\tbacklog {backlog}',
                 'insertafter': '^defaults'},
        'validate': {'default': 'haproxy -c -f %s'},
        # Debian's init script reloads with -sf: a new process, new sockets, the new backlog.
        # In master-worker mode (systemd's unit, USR2) the new worker takes over the old
        # socket and keeps the old backlog, so only a restart is right everywhere.
        'apply': 'restart',
        'log': {'default': '/var/log/haproxy.log'},
    },
    'memcached': {
        'service': {'default': 'memcached'},
        'process': {'default': '^memcached'},
        'config': {'Debian': '/etc/memcached.conf'},
        'edit': {'kind': 'line', 'regexp': r'^#?[ \t]*-b[ \t]', 'line': '-b {backlog}', 'insertafter': 'EOF'},
        # memcached has no config test: the file is turned into options the way Debian's
        # start-memcached does, and memcached parses them and stops (-V prints its version).
        'validate': {
            'default': (
                'sh -c \'params=$(sed -e "s/#.*//" -e "s/^[[:space:]]*//" -e "s/[[:space:]]*\\$//" '
                '-e "/^-[dh]/d" -e "/^[^-]/d" "$1" | tr "\\n" " "); '
                'eval "timeout 5 memcached $params -V" >/dev/null\' memcached-validate %s'),
        },
        # No reload: the init script's force-reload is a restart.
        'apply': 'restart',
        'log': {'default': '/var/log/memcached.log'},
    },
    'apache': {
        'service': {'default': 'apache2', 'RedHat': 'httpd', 'FreeBSD': 'apache24'},
        'process': {'default': '^(apache2|httpd)'},
        'config': {
            'Debian': '/etc/apache2/apache2.conf',
            'RedHat': '/etc/httpd/conf/httpd.conf',
            'FreeBSD': '/usr/local/etc/apache24/httpd.conf',
        },
        'edit': {'kind': 'line', 'regexp': r'(?i)^#?[ \t]*ListenBacklog[ \t]', 'line': 'ListenBacklog {backlog}',
                 'insertafter': 'EOF'},
        # apache2ctl reads Debian's envvars; relative Includes resolve against ServerRoot.
        'validate': {'default': 'apache2ctl -t -f %s', 'RedHat': 'httpd -t -f %s', 'FreeBSD': 'httpd -t -f %s'},
        # A graceful reload keeps the open listener (same socket, old backlog).
        'apply': 'restart',
        'log': {'default': '/var/log/apache2/error.log', 'RedHat': '/var/log/httpd/error_log'},
    },
    'php_fpm': {
        # Debian packages each PHP release apart (PHP 8.2 in Debian 12, 8.4 in 13): the pool found
        # under /etc/php/*/ names the version, and {version} stands for it in the names below.
        'service': {'default': 'php{version}-fpm', 'RedHat': 'php-fpm'},
        'process': {'default': '^php-fpm'},
        'config': {'Debian': '/etc/php/*/fpm/pool.d/www.conf', 'RedHat': '/etc/php-fpm.d/www.conf'},
        'version': r'^/etc/php/([0-9][^/]*)/',
        'edit': {'kind': 'line', 'regexp': r'^;?[ \t]*listen\.backlog[ \t]*=', 'line': 'listen.backlog = {backlog}',
                 'insertafter': r'^listen[ \t]*='},
        # Debian's stock pool listens on a unix socket, which takes listen.backlog too.
        'unix': True,
        # php-fpm -t reads a pool file on its own.
        'validate': {'default': 'php-fpm{version} -t -y %s', 'RedHat': 'php-fpm -t -y %s'},
        # A reload (USR2) re-executes the master, which inherits the open socket: old backlog.
        'apply': 'restart',
        'log': {'default': '/var/log/php{version}-fpm.log', 'RedHat': '/var/log/php-fpm/error.log'},
    },
    'mariadb': {
        'service': {'default': 'mariadb'},
        'process': {'default': '^(mariadbd|mysqld)'},
        'config': {
            'Debian': '/etc/mysql/mariadb.conf.d/50-server.cnf',
            'RedHat': '/etc/my.cnf.d/mariadb-server.cnf',
            'FreeBSD': '/usr/local/etc/mysql/my.cnf',
        },
        'edit': {'kind': 'line', 'regexp': r'^#?[ \t]*back[-_]log[ \t]*=', 'line': 'back_log = {backlog}',
                 'insertafter': r'^\[mysqld\]'},
        # No config-test mode: --help --verbose parses every option of the file and fails on
        # an unknown or malformed one, without touching a running server.
        'validate': {'default': 'sh -c \'mariadbd --defaults-file="$1" --help --verbose >/dev/null\' mariadb-validate %s'},
        # back_log is read-only at run time; a reload only flushes privileges.
        'apply': 'restart',
        # Its unix socket takes back_log as the TCP listener does.
        'unix': True,
        # MariaDB caps back_log at 65535 itself ("adjusted to 65535").
        'max_backlog': 65535,
        'log': {'default': ''},
    },
    'uwsgi': {
        'service': {'default': 'uwsgi'},
        'process': {'default': '^uwsgi'},
        # Debian's init script starts each app of apps-enabled (links into apps-available, edited
        # where they point) and the package enables none: the one app there is the file; with
        # several the planner names them and the user picks one with `config`.
        'config': {'Debian': '/etc/uwsgi/apps-enabled/*.ini'},
        # Active lines only: a commented `listen` is left as a comment.
        'edit': {'kind': 'line', 'regexp': r'^[ \t]*listen[ \t]*=', 'line': 'listen = {backlog}',
                 'insertafter': r'^\[uwsgi\]'},
        # Each socket takes `listen`, the unix one Debian's default.ini gives every app included.
        'unix': True,
        # No config-test mode (and unknown keys are let through outside --strict, which refuses the
        # placeholders many configs use): the file is read after Debian's default.ini, as the init
        # script passes them, and must end with a number for `listen` (--get prints it and exits).
        'validate': {
            'default': (
                'sh -c \'file=$1; set --; [ -r /usr/share/uwsgi/conf/default.ini ] && set -- --ini '
                '/usr/share/uwsgi/conf/default.ini; value=$(uwsgi "$@" --ini "$file" --get listen) || exit 1; '
                'case $value in ""|*[!0-9]*) echo "uwsgi reads no number for listen from $file (it read: $value)" >&2; '
                'exit 1;; esac\' uwsgi-validate %s'),
        },
        # A reload (SIGHUP) re-executes the master, which inherits its open sockets: the old backlog
        # stays, though its log says "listen backlog is limited to" the new one.
        'apply': 'restart',
        # Debian's init script answers `status` without an app name ("which one?") with 0, which
        # ansible's service module takes for running, so a start would do nothing: a restart starts it.
        'start': 'restart',
        # The init script logs each app to a file named after its config ({stem}).
        'log': {'default': '/var/log/uwsgi/app/{stem}.log'},
    },
    'gunicorn': {
        # Debian's package installs no service and no config (its NEWS.Debian: /etc/gunicorn.d went
        # in 19.6.0-3): each deployment runs gunicorn from a service of its own with a
        # gunicorn.conf.py of its own, so there is no default `config` (the planner asks for it
        # before any change) and `service` defaults to gunicorn, the unit name of gunicorn's
        # deployment docs.
        'service': {'default': 'gunicorn'},
        'process': {'default': '^gunicorn'},
        'config': {},
        # A Python file: top-level lines only (an indented `backlog` inside a block is left alone
        # and the line added at the end, run after it, wins).
        'edit': {'kind': 'line', 'regexp': r'^(#[ \t]*)?backlog[ \t]*=', 'line': 'backlog = {backlog}',
                 'insertafter': 'EOF'},
        # --check-config runs the file as gunicorn does and checks every setting it knows (20.1 also
        # needs an app to import: the standard library's demo app stands in for the user's, which
        # is not imported here with whatever it does at import time).
        'validate': {'default': 'gunicorn --check-config -c %s wsgiref.simple_server:demo_app'},
        # HUP reloads the config and replaces the workers, but the master keeps its open socket
        # unless the bind address changed: the old backlog stays.
        'apply': 'restart',
        # Where it logs is the deployment's choice (its unit's journal, or errorlog).
        'log': {'default': ''},
    },
}
