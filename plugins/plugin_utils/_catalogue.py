# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The service catalogue: what the role, its planner and the audit know of each server.

Adding a service is adding an entry here (docs/contributing.md says how it is proven).  The
role's argument spec lists the same names (a unit test holds them equal).  Per entry:
  Every per-platform table (service, process, config, validate, log, unsupported) is keyed by
    OS family (ansible_facts.os_family: Debian, RedHat, Suse, Archlinux, Alpine, FreeBSD), by
    family or distribution with a version where a release differs ('RedHat 8': every RHEL 8
    rebuild; 'Ubuntu 20': Ubuntu 20.04; 'Amazon': Amazon Linux), and ``default``; the planner
    takes the most specific key the host has (_plan.platform_keys: distribution then family,
    each with its version and then alone).  What each value is per release, with its source:
    tests/unit/plugins/plugin_utils/fixtures/releases.yml (test_releases.py holds them equal);
  service / process: the init service name and the process name holding the listeners (a
    regular expression matched at the start of listener_backlog_listeners[].process);
  config: the file holding the directive (no default: a platform with none needs the user's
    ``config``); a wildcard path stands for the one file installed that it matches; empty where
    no package installs one anywhere (gunicorn: each deployment brings its own);
  unsupported: why the service cannot be managed on a platform (its options are not in a file
    of its own, the package installs no config, or there is no such package); looked up with
    config, so 'RedHat 10' there wins over 'RedHat' in config;
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
  start: how a service with no listener is started, ``restart`` where its init script's status
    cannot tell a stopped one (uWSGI's), so that a start would do nothing; default a start;
  log: where the service writes why it failed to start, when its init script does not say;
    {stem} stands for the config file's name without its extension (a log per uWSGI app).
"""

from __future__ import annotations


def _mariadb_validate(server):
    """MariaDB's check of a candidate file with the server program ``server``."""
    return 'sh -c \'%s --defaults-file="$1" --help --verbose >/dev/null\' mariadb-validate %%s' % server


def _variable_edit(name):
    """memcached's -b N inside a shell variable of options (NAME="-l 127.0.0.1"), as replace edits.

    A -b already there gets the number; else -b N is added at the end of the quoted value
    (double or single quotes, `export` or not).  Each expression stays within the one line, as
    edit_changes needs.  ``needs`` says what must be in the file for the edit to write anything:
    without such a line the planner stops before any change instead of writing nothing.
    """
    start = r'^([ \t]*(?:export[ \t]+)?%s[ \t]*=[ \t]*(["\']))' % name
    return {'kind': 'replace', 'needs': '%s="..." (its value quoted)' % name, 'edits': [
        {'regexp': start + r'((?:(?:(?!\2)[^\n])*[ \t])?-b[ \t]*)\d+', 'replace': r'\g<1>\g<3>{backlog}'},
        {'regexp': start + r'((?:(?!-b[ \t\d])(?!\2)[^\n])*?)[ \t]*\2',
         'replace': r'\g<1>\g<3> -b {backlog}\g<2>'},
    ]}


CATALOGUE = {
    'nginx': {
        'service': {'default': 'nginx'},
        'process': {'default': '^nginx'},
        'config': {
            'Debian': '/etc/nginx/sites-enabled/default',
            # Alpine's default server is a server block of its own, as Debian's (checked the same way).
            'Alpine': '/etc/nginx/http.d/default.conf',
            'RedHat': '/etc/nginx/nginx.conf',
            'Suse': '/etc/nginx/nginx.conf',
            'Archlinux': '/etc/nginx/nginx.conf',
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
            'Suse': 'nginx -t -q -c %s',
            'Archlinux': 'nginx -t -q -c %s',
            'FreeBSD': 'nginx -t -q -c %s',
        },
        # A reload with a changed backlog makes nginx call listen() again on the open socket.
        'apply': 'reload',
        # What says why nginx refused to reload or start: its test of the whole configuration (the
        # validator sees the edited file alone; Debian's init script prints only "nginx failed!").
        'check': {'default': 'nginx -t'},
        # Arch builds it with --error-log-path=stderr: the journal has it.
        'log': {'default': '/var/log/nginx/error.log', 'Archlinux': ''},
    },
    'redis': {
        'service': {'default': 'redis-server', 'RedHat': 'redis', 'Alpine': 'redis', 'FreeBSD': 'redis'},
        'process': {'default': '^redis-server'},
        'config': {
            'Debian': '/etc/redis/redis.conf',
            'RedHat': '/etc/redis/redis.conf',
            # EL8's redis (module stream 6) keeps it in /etc; EL9 moved it into /etc/redis.
            'RedHat 8': '/etc/redis.conf',
            'Alpine': '/etc/redis.conf',
            'FreeBSD': '/usr/local/etc/redis.conf',
        },
        'unsupported': {
            'RedHat 10': 'RHEL 10 has no redis package (valkey-compat-redis obsoletes it); manage valkey instead',
            'Amazon': ('Amazon Linux 2023 ships redis6, whose file layout the catalogue does not know; set config and '
                       'service'),
            'Suse': ('SUSE\'s redis package installs no configuration (only /etc/redis/default.conf.example; '
                     'redis@NAME.service reads /etc/redis/NAME.conf); set config to your instance\'s file and service '
                     'to redis@NAME'),
            'Archlinux': 'Arch replaced redis with valkey in 2025; manage valkey instead',
        },
        'edit': {'kind': 'line', 'regexp': r'^#?[ \t]*tcp-backlog[ \t]', 'line': 'tcp-backlog {backlog}',
                 'insertafter': 'EOF'},
        # Redis has no config-test mode.  It reads the whole file, then refuses to run with no
        # port and no socket: that refusal means the file parsed; any other outcome is Redis's
        # own error about the file, printed as it gave it.  Redis before 6 (EL8's default
        # stream, redis:5) has no TLS and refuses --tls-port as a bad directive.
        'validate': {
            'default': (
                'sh -c \'case $(redis-server --version) in *" v="[2-5].*) tls=;; *) tls="--tls-port 0";; esac; '
                'out=$(redis-server "$1" --port 0 $tls --unixsocket "" --daemonize no --logfile "" '
                '--pidfile "" 2>&1); case $out in *"Configured to not listen anywhere"*) exit 0;; esac; '
                r'printf "%%s\n" "$out" >&2; exit 1' "' redis-validate %s"),
        },
        # tcp-backlog is immutable at run time (CONFIG SET refuses it) and Redis has no reload.
        'apply': 'restart',
        'log': {'default': '/var/log/redis/redis-server.log', 'RedHat': '/var/log/redis/redis.log',
                'Alpine': '/var/log/redis/redis.log', 'FreeBSD': '/var/log/redis/redis.log'},
    },
    'valkey': {
        # Redis's fork (Debian 13 on): the same directive, the same check and the same rule.
        # RHEL 10, Alpine, Arch and FreeBSD package it as `valkey` (EL8 and EL9 have none in BaseOS/AppStream).
        'service': {'default': 'valkey-server', 'RedHat 10': 'valkey', 'Alpine': 'valkey', 'Archlinux': 'valkey',
                    'FreeBSD': 'valkey'},
        'process': {'default': '^valkey-server'},
        'config': {
            'Debian': '/etc/valkey/valkey.conf',
            'RedHat 10': '/etc/valkey/valkey.conf',
            'Alpine': '/etc/valkey/valkey.conf',
            'Archlinux': '/etc/valkey/valkey.conf',
            # The port's rc.d script reads it (installed from valkey.conf.sample, as Redis's).
            'FreeBSD': '/usr/local/etc/valkey.conf',
        },
        'unsupported': {
            'Ubuntu 20': 'Ubuntu has no valkey package before 24.04',
            'Ubuntu 22': 'Ubuntu has no valkey package before 24.04',
            'Suse': ('SUSE\'s valkey package installs no configuration (only /etc/valkey/default.conf.example; '
                     'valkey@NAME.service reads /etc/valkey/NAME.conf); set config to your instance\'s file and '
                     'service to valkey@NAME'),
        },
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
        # Arch leaves logfile "" (the journal); Alpine's was not read: no file is named there.
        'log': {'default': '/var/log/valkey/valkey-server.log', 'RedHat 10': '/var/log/valkey/valkey.log',
                'Alpine': '', 'Archlinux': '', 'FreeBSD': '/var/log/valkey/valkey.log'},
    },
    'haproxy': {
        'service': {'default': 'haproxy'},
        'process': {'default': '^haproxy'},
        'config': {
            'Debian': '/etc/haproxy/haproxy.cfg',
            'RedHat': '/etc/haproxy/haproxy.cfg',
            'Suse': '/etc/haproxy/haproxy.cfg',
            'Alpine': '/etc/haproxy/haproxy.cfg',
            'Archlinux': '/etc/haproxy/haproxy.cfg',
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
        # Debian's rsyslog rule writes /var/log/haproxy.log; elsewhere the package logs to syslog
        # with no file of its own (SUSE's haproxy.cfg to /dev/log).
        'log': {'default': '/var/log/haproxy.log', 'RedHat': '', 'Suse': '', 'Alpine': '', 'Archlinux': '',
                'FreeBSD': ''},
    },
    'memcached': {
        'service': {'default': 'memcached'},
        'process': {'default': '^memcached'},
        # Debian: a file of command-line lines.  RHEL and SUSE: one shell variable of
        # /etc/sysconfig/memcached that memcached.service puts on the command line.
        'config': {'Debian': '/etc/memcached.conf', 'RedHat': '/etc/sysconfig/memcached',
                   'Suse': '/etc/sysconfig/memcached'},
        # Elsewhere its options are shell variables of an init script or service flags.
        'unsupported': {
            'Alpine': ('its options are MISC_OPTS= in /etc/conf.d/memcached, which the catalogue has no edit for; add '
                       '-b N there'),
            'Archlinux': 'its options are Environment= lines of memcached.service; add -b N with a drop-in',
            'FreeBSD': 'its options are memcached_flags in /etc/rc.conf; add -b N there',
        },
        'edit': {
            'default': {'kind': 'line', 'regexp': r'^#?[ \t]*-b[ \t]', 'line': '-b {backlog}', 'insertafter': 'EOF'},
            'RedHat': _variable_edit('OPTIONS'),
            'Suse': _variable_edit('MEMCACHED_PARAMS'),
        },
        # memcached has no config test: the file is turned into options the way Debian's
        # start-memcached (or the service unit) does, and memcached parses them and stops at -V,
        # which comes last: it prints the version before any option is acted on.
        'validate': {
            'default': (
                'sh -c \'params=$(sed -e "s/#.*//" -e "s/^[[:space:]]*//" -e "s/[[:space:]]*\\$//" '
                '-e "/^-[dh]/d" -e "/^[^-]/d" "$1" | tr "\\n" " "); '
                'eval "timeout 5 memcached $params -V" >/dev/null\' memcached-validate %s'),
            # memcached.service: ExecStart=/usr/bin/memcached -p ${PORT} -u ${USER} -m ${CACHESIZE} -c ${MAXCONN} $OPTIONS
            'RedHat': ('sh -c \'. "$1" && exec timeout 5 memcached -p "$PORT" -u "$USER" -m "$CACHESIZE" -c "$MAXCONN" '
                       '$OPTIONS -V >/dev/null\' memcached-validate %s'),
            # memcached.service: ExecStart=/usr/sbin/memcached -u $MEMCACHED_USER $MEMCACHED_PARAMS
            'Suse': ('sh -c \'. "$1" && exec timeout 5 memcached -u "$MEMCACHED_USER" $MEMCACHED_PARAMS -V >/dev/null\' '
                     'memcached-validate %s'),
        },
        # No reload: the init script's force-reload is a restart (and memcached.service has none).
        'apply': 'restart',
        # RHEL's and SUSE's units log to the journal only.
        'log': {'default': '/var/log/memcached.log', 'RedHat': '', 'Suse': ''},
    },
    'apache': {
        'service': {'default': 'apache2', 'RedHat': 'httpd', 'Archlinux': 'httpd', 'FreeBSD': 'apache24'},
        'process': {'default': '^(apache2|httpd)'},
        'config': {
            'Debian': '/etc/apache2/apache2.conf',
            'RedHat': '/etc/httpd/conf/httpd.conf',
            # SUSE's top file; start_apache2 adds its sysconfig-made includes only under -DSYSCONFIG.
            'Suse': '/etc/apache2/httpd.conf',
            'Alpine': '/etc/apache2/httpd.conf',
            'Archlinux': '/etc/httpd/conf/httpd.conf',
            'FreeBSD': '/usr/local/etc/apache24/httpd.conf',
        },
        'edit': {'kind': 'line', 'regexp': r'(?i)^#?[ \t]*ListenBacklog[ \t]', 'line': 'ListenBacklog {backlog}',
                 'insertafter': 'EOF'},
        # apache2ctl reads Debian's envvars; relative Includes resolve against ServerRoot.  Alpine's
        # package is apache2 but its program httpd (apachectl is a subpackage of its own).
        'validate': {'default': 'apache2ctl -t -f %s', 'RedHat': 'httpd -t -f %s', 'Suse': 'httpd -t -f %s',
                     'Alpine': 'httpd -t -f %s', 'Archlinux': 'httpd -t -f %s', 'FreeBSD': 'httpd -t -f %s'},
        # A graceful reload keeps the open listener (same socket, old backlog).
        'apply': 'restart',
        # FreeBSD's: the port's httpd.conf and compiled-in default (its Makefile patches httpd.h).
        'log': {'default': '/var/log/apache2/error.log', 'RedHat': '/var/log/httpd/error_log',
                'Suse': '/var/log/apache2/error_log', 'Archlinux': '/var/log/httpd/error_log',
                'FreeBSD': '/var/log/httpd-error.log'},
    },
    'php_fpm': {
        # Debian packages each PHP release apart (PHP 8.2 in Debian 12, 8.4 in 13): the pool found
        # under /etc/php/*/ names the version, and {version} stands for it in the names below.
        # Alpine does too, without the dot and the slash: /etc/php84/, service php-fpm84.
        'service': {'default': 'php{version}-fpm', 'RedHat': 'php-fpm', 'Suse': 'php-fpm',
                    'Alpine': 'php-fpm{version}', 'Archlinux': 'php-fpm', 'FreeBSD': 'php_fpm'},
        'process': {'default': '^php-fpm'},
        'config': {'Debian': '/etc/php/*/fpm/pool.d/www.conf', 'RedHat': '/etc/php-fpm.d/www.conf',
                   'Suse': '/etc/php8/fpm/php-fpm.d/www.conf', 'Alpine': '/etc/php[0-9]*/php-fpm.d/www.conf',
                   'Archlinux': '/etc/php/php-fpm.d/www.conf', 'FreeBSD': '/usr/local/etc/php-fpm.d/www.conf'},
        'version': r'^/etc/php/?([0-9][^/]*)/',
        'edit': {'kind': 'line', 'regexp': r'^;?[ \t]*listen\.backlog[ \t]*=', 'line': 'listen.backlog = {backlog}',
                 'insertafter': r'^listen[ \t]*='},
        # Debian's stock pool listens on a unix socket, which takes listen.backlog too.
        'unix': True,
        # php-fpm -t reads a pool file on its own.
        'validate': {'default': 'php-fpm{version} -t -y %s', 'RedHat': 'php-fpm -t -y %s', 'Suse': 'php-fpm -t -y %s',
                     'Archlinux': 'php-fpm -t -y %s', 'FreeBSD': 'php-fpm -t -y %s'},
        # A reload (USR2) re-executes the master, which inherits the open socket: old backlog.
        'apply': 'restart',
        # Arch's logs to syslog; SUSE's is upstream's compiled-in default (log/php-fpm.log under its
        # --localstatedir=/var), which Alpine patches to log/phpNN/error.log; FreeBSD's is upstream's
        # default too, its localstatedir not read (unverified).
        'log': {'default': '/var/log/php{version}-fpm.log', 'RedHat': '/var/log/php-fpm/error.log',
                'Suse': '/var/log/php-fpm.log', 'Alpine': '/var/log/php{version}/error.log', 'Archlinux': '',
                'FreeBSD': '/var/log/php-fpm.log'},
    },
    'mariadb': {
        'service': {'default': 'mariadb', 'FreeBSD': 'mysql-server'},
        'process': {'default': '^(mariadbd|mysqld)'},
        'config': {
            'Debian': '/etc/mysql/mariadb.conf.d/50-server.cnf',
            'RedHat': '/etc/my.cnf.d/mariadb-server.cnf',
            # SUSE's [mysqld] is in its own my.cnf (my.cnf.d is left empty).
            'Suse': '/etc/my.cnf',
            'Alpine': '/etc/my.cnf.d/mariadb-server.cnf',
            'Archlinux': '/etc/my.cnf.d/server.cnf',
            # [mysqld] is in conf.d/server.cnf; my.cnf is the client package's.
            'FreeBSD': '/usr/local/etc/mysql/conf.d/server.cnf',
        },
        'edit': {'kind': 'line', 'regexp': r'^#?[ \t]*back[-_]log[ \t]*=', 'line': 'back_log = {backlog}',
                 'insertafter': r'^\[mysqld\]'},
        # No config-test mode: --help --verbose parses every option of the file and fails on
        # an unknown or malformed one, without touching a running server.  The server is
        # mariadbd on PATH from MariaDB 10.5 on; 10.3's is mysqld (Ubuntu 20.04, EL8, where it is
        # in /usr/libexec), and FreeBSD installs it in /usr/local/libexec.
        'validate': {
            'default': _mariadb_validate('mariadbd'),
            'Ubuntu 20': _mariadb_validate('mysqld'),
            'RedHat 8': _mariadb_validate('/usr/libexec/mysqld'),
            'FreeBSD': _mariadb_validate('/usr/local/libexec/mariadbd'),
        },
        # back_log is read-only at run time; a reload only flushes privileges.
        'apply': 'restart',
        # Its unix socket takes back_log as the TCP listener does.
        'unix': True,
        # MariaDB caps back_log at 65535 itself ("adjusted to 65535").
        'max_backlog': 65535,
        # Debian's and Arch's log to the journal, Alpine's (mysqld_safe --syslog) to syslog.
        'log': {'default': '', 'RedHat': '/var/log/mariadb/mariadb.log', 'Suse': '/var/log/mysql/mysqld.log',
                'FreeBSD': '/var/log/mysql/mysqld.err'},
    },
    'uwsgi': {
        # Arch runs each app as an instance of uwsgi@.service named after its file (/etc/uwsgi/NAME.ini).
        'service': {'default': 'uwsgi', 'Archlinux': 'uwsgi@{stem}'},
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
        # The init script logs each app to a file named after its config ({stem}); FreeBSD's rc.d
        # script runs one uwsgi with -d /var/log/uwsgi.log, Alpine's an emperor logging to uwsgi.log.
        # uwsgi@.service (Arch) logs to the journal.
        'log': {'default': '/var/log/uwsgi/app/{stem}.log', 'Alpine': '/var/log/uwsgi/uwsgi.log', 'Archlinux': '',
                'FreeBSD': '/var/log/uwsgi.log'},
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
