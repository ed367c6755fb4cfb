# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Write the documentation's generated parts from the collection's data.

Each generated part sits between two markers in its file (a comment in the file's own syntax)
that name it, so the prose around it stays hand-written:

    <!-- BEGIN GENERATED platform-summary: ... -->  ...  <!-- END GENERATED platform-summary -->

The data is one record per platform (plugins/module_utils/_platforms.py) and the service
catalogue, a file per service (plugins/plugin_utils/catalogue/, loaded by _catalogue.py).  `make generated-docs`
(this script) rewrites the parts; tests/unit/test_docs_generated.py fails when a committed part
differs from what this script would write, so a changed record cannot ship with stale docs.

Usage: generate_docs.py [--check]   (--check: say which files differ and exit 1, write nothing)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Typography of the tables: the records are ASCII (they are module code, sent to every host).
TYPOGRAPHY = ((' >= ', ' ≥ '), (' ... ', ' … '), ('...`', '…`'))
NOTICE = 'made by make generated-docs from the collection data (tests/utils/generate_docs.py)'


class Block(str):
    """A part laid out as it is (a table, a YAML line), not wrapped as a sentence."""


def records():
    try:
        from ansible_collections.netstack.backlog.plugins.module_utils import _platforms
    except ImportError:
        # From a plain checkout: tests/conftest.py links it into a collection tree.
        sys.path.insert(0, os.path.join(ROOT, 'tests'))
        import conftest  # noqa: F401 pylint: disable=unused-import
        from ansible_collections.netstack.backlog.plugins.module_utils import _platforms
    return _platforms.RECORDS


def _span(bounds):
    return '%d ... %d' % tuple(bounds)


def somaxconn_ranges(style):
    """What listener_backlog_somaxconn accepts on each platform the role tunes, as one sentence."""
    parts = []
    for record in records().values():
        tuning = record.get('tuning')
        if not tuning:
            continue
        lowest, highest = tuning['somaxconn_range']
        notes = []
        if 'somaxconn_max_before_4_1' in tuning:
            notes.append('%d to %d before 4.1' % (lowest, tuning['somaxconn_max_before_4_1']))
        if tuning.get('range_note'):
            notes.append(tuning['range_note'])
        text = '%s %d to %d' % (record['name'], lowest, highest)
        parts.append(text + (' (%s)' % ', '.join(notes) if notes else ''))
    return '; '.join(parts) + '.'


def _cell(text, record):
    values = {'range': _span(record['tuning']['somaxconn_range']) if record.get('tuning') else '',
              'bounds': _span(record['bounds']) if record.get('bounds') else '',
              'ceiling': '%d' % record['ceiling'] if record.get('ceiling') is not None else '',
              'default': '%d' % record['default'] if record.get('default') is not None else ''}
    text = text.format(**values)
    for ascii_text, typeset in TYPOGRAPHY:
        text = text.replace(ascii_text, typeset)
    return '–' if text == '-' else text


def platform_summary(style):
    """docs/platforms.md's summary table: one row per platform other than Linux, then any other system."""
    rows = records()  # first: it makes the collection importable
    from ansible_collections.netstack.backlog.plugins.module_utils._backlog import UNKNOWN_PLATFORM_DEFAULT
    columns = ('platform', 'knob', 'range', 'ceiling', 'default', 'minimum', 'read_with', 'source')
    lines = ['| platform | knob (`info.key`) | type / accepted range | ceiling applied | default | minimum | read with '
             '| `info.source` |', '|---|---|---|---|---|---|---|---|']
    for record in rows.values():
        summary = record.get('summary')
        if summary is None:
            continue
        row = dict(summary)
        row.setdefault('default', '{default}')
        lines.append('| %s |' % ' | '.join(_cell(row[column], record) for column in columns))
    lines.append('| other | – | – | – | %d | – | nothing runs | `default`, warning |' % UNKNOWN_PLATFORM_DEFAULT)
    return Block('\n'.join(lines))


def catalogue():
    records()  # it makes the collection importable
    from ansible_collections.netstack.backlog.plugins.plugin_utils import _catalogue
    return _catalogue


def service_choices(style):
    """The services the role's argument spec accepts: the catalogue's names, in its order."""
    return Block('choices: [%s]' % ', '.join(catalogue().CATALOGUE))


def catalogue_table(style):
    """The role README's table: per service its Debian config, the directive, the check and the apply rule."""
    loaded = catalogue()
    lines = ['| name | config (Debian) | written as | validated with | a changed backlog needs | how that was established |',
             '|---|---|---|---|---|---|']
    for name in loaded.CATALOGUE:
        readme = loaded.CATALOGUE.record(name)['readme']
        lines.append('| `%s` | %s | %s | %s | **%s** | %s |' % (
            name, readme['config'], readme['written'], readme['validated'], loaded.CATALOGUE[name]['apply'],
            readme['established']))
    return Block('\n'.join(lines))


def _evidence(recorded):
    """How a release's values of a service are known, as the README's platform table says it."""
    if 'unsupported' in recorded:
        return '—'
    if 'user_config' in recorded:
        return '%s (your config)' % ('run' if recorded['evidence'] == 'run' else 'sources')
    if 'unknown' in recorded:
        return 'unknown'
    if recorded['evidence'] in ('run', 'unverified'):
        return recorded['evidence']
    unverified = recorded.get('unverified')
    return 'sources' + (' (unverified: %s)' % ', '.join(unverified) if unverified else '')


def platform_table(style):
    """The README's table: per release users run, how each service's values there are known."""
    loaded = catalogue()
    names = list(loaded.CATALOGUE)
    recorded = dict((name, loaded.CATALOGUE.record(name)['releases']) for name in names)
    lines = ['| platform | %s |' % ' | '.join(names), '|---|%s' % ('---|' * len(names))]
    for release in loaded.releases()['releases']:
        lines.append('| %s | %s |' % (release['name'], ' | '.join(
            _evidence(recorded[name][release['key']]) for name in names)))
    return Block('\n'.join(lines))


PARTS = {'somaxconn-ranges': somaxconn_ranges, 'platform-summary': platform_summary, 'service-choices': service_choices,
         'catalogue-table': catalogue_table, 'platform-table': platform_table}

# The files with generated parts; a part may appear in several.
FILES = ('README.md', 'docs/platforms.md', 'docs/docsite/rst/guide_tuning.rst', 'roles/listener_backlog/README.md',
         'roles/listener_backlog/meta/argument_specs.yml')

MARKERS = {
    '.md': (r'(?P<indent>[ \t]*)<!-- BEGIN GENERATED (?P<name>[a-z-]+)[^\n]*-->\n', '<!-- END GENERATED %s -->',
            '<!-- BEGIN GENERATED %s: %s -->'),
    '.rst': (r'(?P<indent>[ \t]*)\.\. BEGIN GENERATED (?P<name>[a-z-]+)[^\n]*\n\n', '.. END GENERATED %s',
             '.. BEGIN GENERATED %s: %s'),
    '.yml': (r'(?P<indent>[ \t]*)# BEGIN GENERATED (?P<name>[a-z-]+)[^\n]*\n', '# END GENERATED %s',
             '# BEGIN GENERATED %s: %s'),
}


def _layout(text, extension, indent, width=100):
    """A part as it sits in its file: a block as it is, a sentence wrapped (in YAML, as a list item)."""
    if isinstance(text, Block):
        return textwrap.indent(text, indent) + '\n'
    if extension == '.yml':
        return '\n'.join(textwrap.wrap(text, width=width, initial_indent=indent + '- ', subsequent_indent=indent + '  ',
                                       break_long_words=False, break_on_hyphens=False)) + '\n'
    return '\n'.join(textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False)) + '\n'


def render(path, text):
    """``text`` (the file at ``path``) with each generated part as the data gives it now."""
    extension = os.path.splitext(path)[1]
    begin, end, header = MARKERS[extension]
    out, position = [], 0
    for match in re.finditer(begin, text):
        name, indent = match.group('name'), match.group('indent')
        if name not in PARTS:
            raise ValueError('%s: unknown generated part %r (known: %s)' % (path, name, ', '.join(sorted(PARTS))))
        closing = re.compile(r'^[ \t]*' + re.escape(end % name) + r'[ \t]*$', re.MULTILINE)
        found = closing.search(text, match.end())
        if found is None:
            raise ValueError('%s: generated part %s has no end marker (%s)' % (path, name, end % name))
        separator = '\n' if extension == '.rst' else ''
        out.append(text[position:match.start()])
        out.append(indent + header % (name, NOTICE) + '\n' + separator)
        out.append(_layout(PARTS[name](extension), extension, indent) + separator)
        position = found.start()
    out.append(text[position:])
    return ''.join(out)


def parts_in(text, path):
    return re.findall(MARKERS[os.path.splitext(path)[1]][0], text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--check', action='store_true', help='write nothing; exit 1 naming the files that differ')
    args = parser.parse_args(argv)
    stale = []
    for path in FILES:
        full = os.path.join(ROOT, path)
        with open(full, encoding='utf-8') as handle:
            text = handle.read()
        generated = render(path, text)
        if generated != text:
            stale.append(path)
            if not args.check:
                with open(full, 'w', encoding='utf-8') as handle:
                    handle.write(generated)
    if stale:
        print('%s: %s' % ('stale' if args.check else 'written', ', '.join(stale)))
    return 1 if stale and args.check else 0


if __name__ == '__main__':
    sys.exit(main())
