# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The audit's per-namespace rows and its chart, from facts shaped as the module returns them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from xml.etree import ElementTree

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.netstack.backlog.plugins.plugin_utils import _audit as audit

DOCKER_ID = '3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211'
POD = '8d2f3c4b-1a2b-4c5d-9e8f-0a1b2c3d4e5f'


def namespace(inode, limit, overflows, current=False, container=None, name=None, listeners=None, error=None):
    info = None if limit is None else {'listen_overflows': overflows, 'listen_drops': overflows}
    return {'id': inode, 'current': current, 'name': name, 'pids': [inode % 1000], 'container': container,
            'listener_backlog': limit, 'listener_backlog_info': info, 'listeners': listeners, 'error': error}


def samples():
    redis = {'address': '127.0.0.1', 'port': 6379, 'backlog': 128, 'queued': 0, 'pid': 10, 'process': 'redis-server'}
    other = {'address': '127.0.0.1', 'port': 8080, 'backlog': 64, 'queued': 0, 'pid': 10, 'process': 'python3'}
    first = [namespace(1, 4096, 5, current=True),
             namespace(2, 128, 100, container={'runtime': 'docker', 'id': DOCKER_ID, 'pod': None}),
             namespace(3, 4096, 0, name='blue'),
             namespace(4, 1024, 7, container={'runtime': 'containerd', 'id': DOCKER_ID[::-1], 'pod': POD})]
    second = [namespace(1, 4096, 9, current=True),
              namespace(2, 128, 700, container={'runtime': 'docker', 'id': DOCKER_ID, 'pod': None},
                        listeners=[redis, other]),
              namespace(3, 4096, 0, name='blue', listeners=[]),
              namespace(4, 1024, 7, container={'runtime': 'containerd', 'id': DOCKER_ID[::-1], 'pod': POD}),
              namespace(5, None, None, error='gone during the scan'),
              namespace(6, 8192, 3)]  # appeared between the samples
    return first, second


def test_rows_name_containers_by_short_id_and_pod_and_say_what_is_below_the_host():
    first, second = samples()
    rows = dict((row['id'], row) for row in audit.audit_namespaces(second, first, 4096))
    assert sorted(rows) == [2, 3, 4, 5, 6]  # the module's own namespace is the host's row
    assert rows[2]['label'] == 'docker container 3f4e5d6c7b8a' and rows[2]['short_id'] == '3f4e5d6c7b8a'
    assert rows[4]['label'] == 'containerd container %s (pod %s)' % (DOCKER_ID[::-1][:12], POD)
    assert rows[3]['label'] == 'netns blue' and rows[6]['label'] == 'namespace 6'
    assert [row['id'] for row in rows.values() if row['below_host']] == [2, 4]
    assert (rows[2]['overflows'], rows[2]['overflows_rise'], rows[4]['overflows_rise']) == (700, 600, 0)
    assert (rows[6]['overflows_rise'], rows[6]['new']) == (3, True)  # made between the samples: all of it rose
    assert (rows[5]['overflows_rise'], rows[5]['rising']) == (None, False)  # unread now: its rise is not known
    assert [listener['port'] for listener in rows[2]['at_limit']] == [6379]
    assert (rows[5]['limit'], rows[5]['below_host'], rows[5]['error']) == (None, False, 'gone during the scan')


def test_no_namespaces_fact_gives_no_rows():
    assert audit.audit_namespaces(None) == []


def test_a_non_list_is_refused_with_what_was_given():
    with pytest.raises(AnsibleFilterError, match="must be the list ansible_facts.listener_backlog_namespaces, got 'x'"):
        audit.audit_namespaces('x')


def test_chart_is_one_svg_with_a_row_per_host_and_namespace_and_rates_per_second():
    first, second = samples()
    hosts = [{'name': 'web1', 'limit': 4096, 'overflows_rise': 4,
              'namespaces': audit.audit_namespaces(second, first, 4096)},
             {'name': 'db<1>', 'limit': 128, 'overflows_rise': 0, 'namespaces': []}]
    svg = audit.audit_chart(hosts, interval=2)
    root = ElementTree.fromstring(svg)  # well-formed, the name with <> escaped
    texts = [element.text for element in root.iter('{http://www.w3.org/2000/svg}text')]
    assert 'web1' in texts and 'db<1>' in texts and '  docker container 3f4e5d6c7b8a' in texts
    assert '300.0' in texts and '2.0' in texts  # 600 overflows in 2 s; the host's 4 in 2 s
    assert 'unread' in texts and 'unknown' in texts  # the namespace gone during the scan: no limit, no rate
    red = [element for element in root.iter('{http://www.w3.org/2000/svg}rect') if element.get('fill') == '#c0392b']
    assert len(red) == 2  # the two namespaces below their host
    assert 'http' not in svg.replace('http://www.w3.org/2000/svg', '')  # nothing fetched from anywhere


def test_limit_bars_grow_with_the_limit_on_a_log_scale():
    widths = [audit._limit_width(value) for value in (0, 1, 128, 4096, 65535, audit.INT_MAX)]
    assert widths[0] == 0 and widths == sorted(widths) and widths[-1] == audit.BAR_WIDTH


def test_chart_refuses_an_interval_that_is_no_number():
    with pytest.raises(AnsibleFilterError, match='interval must be a number of seconds'):
        audit.audit_chart([], interval='soon')


def counters(overflows, drops=None):
    return {'listen_overflows': overflows, 'listen_drops': overflows if drops is None else drops}


def one(second_info, first_info=None, first_present=True, listeners=None, limit=128, error=None):
    """The row of namespace 9 from two samples; ``first_present`` False: it is not in the first."""
    second = [{'id': 9, 'listener_backlog': limit, 'listener_backlog_info': second_info, 'listeners': listeners,
               'error': error}]
    first = [{'id': 9, 'listener_backlog': limit, 'listener_backlog_info': first_info}] if first_present else []
    [row] = audit.audit_namespaces(second, first, 4096)
    return row


def test_a_namespace_made_during_the_pause_counts_all_its_overflows_as_the_rise():
    # Issue 23 item 2: it appears only in the second sample; its counters began at 0 in the interval.
    row = one(counters(40, 2), first_present=False)
    assert (row['new'], row['overflows'], row['overflows_rise'], row['drops_rise'], row['rising']) == \
        (True, 40, 40, 2, True)
    assert one(counters(0), first_present=False)['rising'] is False  # new and quiet: nothing rose


def test_a_counter_that_went_back_was_reset_and_all_of_it_is_the_rise():
    # The namespace was made anew under the same inode (its counters restart at 0), as Prometheus' rate() sees it.
    row = one(counters(3, 500), counters(10, 500))
    assert (row['new'], row['overflows_rise'], row['drops_rise'], row['rising']) == (False, 3, 0, True)
    assert one(counters(700), counters(100))['overflows_rise'] == 600


@pytest.mark.parametrize('second_info, first_info, rising', [
    (counters(40), None, None),             # unread in the first sample, overflowed now: it may be rising
    (counters(0), None, False),             # unread in the first sample, nothing counted: nothing to report
    (counters(None), counters(5), False),   # its counters not read now (TcpExt unreadable inside)
    (counters(40), counters(None), None),
    (None, counters(5), False),             # unread now (gone, not permitted): listed among the unread instead
])
def test_a_rise_is_unknown_where_a_sample_did_not_read_the_counter(second_info, first_info, rising):
    row = one(second_info, first_info)
    assert (row['overflows_rise'], row['drops_rise'], row['rising']) == (None, None, rising)


def test_without_a_first_sample_every_rise_is_unknown_and_no_namespace_is_new():
    [row] = audit.audit_namespaces([{'id': 9, 'listener_backlog': 128, 'listener_backlog_info': counters(40)}],
                                   host_limit=4096)
    assert (row['new'], row['overflows_rise'], row['rising']) == (None, None, None)


def test_the_hosts_own_namespace_goes_through_as_one_entry_as_the_playbook_does():
    # audit.yml judges the host's own counters and listeners with the same function: a reset host is no negative rise.
    listeners = [{'address': '127.0.0.1', 'port': 7070, 'backlog': 4096, 'process': 'python3'},
                 {'address': '127.0.0.1', 'port': 7071, 'backlog': 100, 'process': 'python3'}]
    [own] = audit.audit_namespaces(
        [{'id': 'host', 'listener_backlog': 4096, 'listener_backlog_info': counters(4), 'listeners': listeners}],
        [{'id': 'host', 'listener_backlog_info': counters(90)}])
    assert (own['overflows_rise'], own['rising'], own['new']) == (4, True, False)
    assert own['at_limit'] == listeners[:1]
    assert own['at_limit_groups'] == [{'process': 'python3', 'listeners': 1, 'backlog': 4096, 'ports': '7070',
                                       'addresses': '127.0.0.1'}]


def test_listeners_at_the_limit_are_grouped_per_process_with_a_count_and_a_short_sample():
    # Issue 18 item 4: 2 000 listeners at 128 in one namespace are two lines, not 2 000.
    redis = [{'address': '0.0.0.0', 'port': port, 'backlog': 128, 'process': 'redis-server'}
             for port in range(7000, 8800)]
    redis += [{'address': '::', 'port': port, 'backlog': 128, 'process': 'redis-server'} for port in (7000, 7001)]
    scattered = [{'address': '10.0.0.%d' % index, 'port': port, 'backlog': 128, 'process': None}
                 for index, port in enumerate((80, 443, 1000, 1001, 2000, 3000, 4000, 5000, 5001, 5002))]
    other = [{'address': '127.0.0.1', 'port': 9000, 'backlog': 64, 'process': 'python3'}]
    row = one(counters(0), counters(0), listeners=redis + scattered + other)
    assert len(row['at_limit']) == 1812  # the JSON keeps every one
    assert row['at_limit_groups'] == [
        {'process': 'redis-server', 'listeners': 1802, 'backlog': 128, 'ports': '7000-8799',
         'addresses': '0.0.0.0, ::'},
        {'process': None, 'listeners': 10, 'backlog': 128,
         'ports': '80, 443, 1000-1001, 2000, 3000, and 4 more ports',
         'addresses': '10.0.0.0, 10.0.0.1, 10.0.0.2, and 7 more'}]
    assert audit._port_ranges([22, 80, 81, 82, 83, 84, 90, 100, 110]) == '22, 80-84, 90, 100, 110'
    assert audit._port_ranges([1, 3, 5, 7, 9, 11]) == '1, 3, 5, 7, 9, and 1 more port'


def chart_ticks(svg):
    """The chart's tick labels by their text, each with its x."""
    root = ElementTree.fromstring(svg)
    return dict((element.text, int(element.get('x'))) for element in root.iter('{http://www.w3.org/2000/svg}text')
                if element.get('text-anchor') == 'middle')


def test_the_log_scale_has_labelled_ticks_so_4096_against_128_can_be_read():
    ticks = chart_ticks(audit.audit_chart([{'name': 'web1', 'limit': 4096, 'overflows_rise': 10, 'namespaces': []}],
                                          interval=2))
    limit_ticks = ['1', '128', '4096', '65535', u'2\u00b3\u00b9\u22121']
    assert [ticks[text] for text in limit_ticks] == sorted(ticks[text] for text in limit_ticks)
    for value, text in ((1, '1'), (128, '128'), (4096, '4096'), (65535, '65535'), (audit.INT_MAX, limit_ticks[-1])):
        assert ticks[text] == audit.LABEL_WIDTH + audit._limit_width(value)  # where a bar of that limit ends
    # Log scale: 4096 is 32 times 128, five doublings of BAR_WIDTH / 31 each; 65535 four more.
    doubling = audit.BAR_WIDTH / 31.0
    assert abs((ticks['4096'] - ticks['128']) - 5 * doubling) < 1.5
    assert abs((ticks['65535'] - ticks['4096']) - 4 * doubling) < 1.5
    # The rate scale is linear, from 0 to the highest rate drawn.
    assert ticks['5.0'] - ticks['0'] == audit.BAR_WIDTH


def test_chart_shows_control_characters_as_question_marks_and_escapes_markup():
    namespaces = [{'label': 'netns a\nb<c>&"d"\x07', 'limit': 128, 'overflows_rise': 0, 'below_host': True}]
    svg = audit.audit_chart([{'name': 'h', 'limit': 4096, 'overflows_rise': 0, 'namespaces': namespaces}])
    texts = [element.text for element in ElementTree.fromstring(svg).iter('{http://www.w3.org/2000/svg}text')]
    assert '  netns a?b<c>&"d"?' in texts
    assert svg.encode('ascii')  # 2³¹−1 as character references: right in a page of any charset


def test_first_that_is_no_list_is_refused():
    with pytest.raises(AnsibleFilterError, match="first must be the list ansible_facts.listener_backlog_namespaces"):
        audit.audit_namespaces([], {'id': 1})


# The report's templates, rendered by Ansible as audit.yml renders them, from host summaries
# shaped as audit.yml makes them (the rows from audit_namespaces).
RENDER = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.template:
        src: "%s/audit.{{ item }}.j2"
        dest: "%s/report.{{ item }}"
        mode: "0644"
      loop: [md, html]
'''
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(audit.__file__)), '..', '..', 'playbooks', 'templates')
HOSTILE = 'a|b\nc<x>[y]'


def host_summary():
    redis = [{'address': '0.0.0.0', 'port': port, 'backlog': 128, 'process': 'redis-server'}
             for port in range(7000, 8800)]
    hostile = [{'address': '127.0.0.1', 'port': 9000, 'backlog': 128, 'process': HOSTILE}]
    docker = {'runtime': 'docker', 'id': DOCKER_ID, 'pod': None}
    first = [namespace(2, 128, 100, container=docker), namespace(7, 128, 10, name='blue'),
             namespace(8, None, None, error='gone during the scan')]
    second = [namespace(2, 128, 700, container=docker, listeners=redis + hostile),
              namespace(4026533745, 128, 40, listeners=[]),  # made during the pause
              namespace(5, None, None, error='entering it was refused (setns): EPERM | x'),
              namespace(7, 128, 3, name='blue'),  # made anew under the same inode: counters reset
              namespace(8, 128, 6)]  # unread in the first sample
    [own] = audit.audit_namespaces(
        [{'id': 'host', 'listener_backlog': 4096, 'listener_backlog_info': {'listen_overflows': 0, 'listen_drops': 0},
          'listeners': [{'address': '127.0.0.1', 'port': 7070, 'backlog': 4096, 'process': 'python3'}]}],
        [{'id': 'host', 'listener_backlog_info': {'listen_overflows': 0, 'listen_drops': 0}}])
    summary = {'name': 'web1', 'limit': 4096, 'source': 'procfs', 'key': 'net.core.somaxconn', 'system': 'Linux',
               'listeners': 1802, 'listeners_readable': True, 'namespaces_read': True,
               'namespaces': audit.audit_namespaces(second, first, 4096),
               'namespaces_unlisted': ['the network namespace of 2 processes could not be read (permission denied; '
                                       'pids 40, 41): namespaces only they hold are not listed'],
               'service_problems': []}
    for key in ('overflows', 'drops', 'overflows_rise', 'drops_rise', 'rising', 'at_limit', 'at_limit_groups'):
        summary[key] = own[key]
    return summary


@pytest.fixture(scope='module')
def report(tmp_path_factory, collections_root):
    directory = tmp_path_factory.mktemp('report')
    with open(os.path.join(str(directory), 'vars.json'), 'w') as handle:
        json.dump({'audit_hosts': [host_summary()], 'audit_missing': ['db1'], 'audit_sample_interval': 2}, handle)
    with open(os.path.join(str(directory), 'render.yml'), 'w') as handle:
        handle.write(RENDER % (os.path.realpath(TEMPLATES), directory))
    process = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
         '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@%s/vars.json' % directory,
         '%s/render.yml' % directory], capture_output=True, text=True, check=False,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_NOCOLOR='1'))
    assert process.returncode == 0, process.stdout + process.stderr
    with open(os.path.join(str(directory), 'report.md')) as markdown, \
            open(os.path.join(str(directory), 'report.html')) as html:
        return markdown.read(), html.read()


def section(markdown, title):
    return markdown.split('## ' + title)[1].split('\n## ')[0]


def test_report_says_1_host_not_1_hosts(report):
    markdown, html = report
    assert '\n1 host answered; no answer from db1.\n' in markdown
    assert '<p>1 host answered; no answer from db1.' in html


def test_listeners_at_their_limit_are_one_row_per_namespace_and_process(report):
    markdown, html = report
    rows = [line for line in section(markdown, "Listeners at their namespace's limit").splitlines()
            if line.startswith('| web1 ')]
    assert rows == [
        '| web1 | host | python3 | 1 | 4096 | 7070 | 127.0.0.1 |',
        '| web1 | docker container 3f4e5d6c7b8a | redis-server | 1800 | 128 | 7000-8799 | 0.0.0.0 |',
        '| web1 | docker container 3f4e5d6c7b8a | a\\|b?c\\<x\\>\\[y\\] | 1 | 128 | 9000 | 127.0.0.1 |']
    assert len(markdown.splitlines()) < 80
    assert ('<td>redis-server</td><td class="n">1800</td><td class="n">128</td><td>7000-8799</td>'
            '<td>0.0.0.0</td>') in html
    assert '<td>a|b\nc&lt;x&gt;[y]</td>' in html and HOSTILE not in html


def test_no_text_from_a_host_breaks_a_markdown_table(report):
    markdown, dummy = report
    for table in re.findall(r'(?m)((?:^\|.*\n)+)', markdown):
        lines = table.splitlines()
        cells = [len(re.findall(r'(?<!\\)\|', line)) for line in lines]
        assert cells == [cells[0]] * len(lines), table


def test_rising_names_the_namespace_made_in_the_pause_the_reset_one_and_the_unknown_rise(report):
    markdown, html = report
    rising = section(markdown, 'Rising overflows or drops')
    assert '| web1 | namespace 4026533745 (appeared between the samples) | 128 | 40 (+40) | 40 (+40) |' in rising
    assert '| web1 | netns blue | 128 | 3 (+3) | 3 (+3) |' in rising
    assert '| web1 | namespace 8 | 128 | 6 (rise unknown) | 6 (rise unknown) |' in rising
    assert '| web1 | host |' not in rising  # the host's counters did not move
    assert '<td>namespace 4026533745 (appeared between the samples)</td><td class="n">128</td>' in html


def test_namespaces_that_could_not_be_read_or_listed_are_in_the_report_with_the_reason(report):
    markdown, html = report
    unread = section(markdown, 'Network namespaces that could not be read')
    assert '| web1 | namespace 5 | entering it was refused (setns): EPERM \\| x |' in unread
    assert ('| web1 | not listed | the network namespace of 2 processes could not be read (permission denied; '
            'pids 40, 41): namespaces only they hold are not listed |') in unread
    assert '<td>namespace 5</td><td>entering it was refused (setns): EPERM | x</td>' in html
    assert 'namespace 4026533745 (network namespace 4026533745)' not in markdown + html
    assert '<svg' in html and '65535</text>' in html  # the chart, with its scale
