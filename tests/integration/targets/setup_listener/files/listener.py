# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TCP listener on 127.0.0.1 with the backlog asked for, until killed: the real socket the targets read.

Usage: listener.py BACKLOG PORT_FILE. Writes its port to PORT_FILE once it listens.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import sys
import time

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(('127.0.0.1', 0))
listener.listen(int(sys.argv[1]))
with open(sys.argv[2] + '.tmp', 'w') as handle:
    handle.write('%d\n' % listener.getsockname()[1])
os.rename(sys.argv[2] + '.tmp', sys.argv[2])
while True:
    time.sleep(60)
