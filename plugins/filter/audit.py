# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet audit's filters: audit_namespaces and audit_chart, documented in audit_namespaces.yml and
audit_chart.yml beside this file; their arithmetic is plugin_utils/_audit.py's."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netstack.backlog.plugins.plugin_utils._audit import audit_chart, audit_namespaces


class FilterModule(object):
    def filters(self):
        return {'audit_namespaces': audit_namespaces, 'audit_chart': audit_chart}
