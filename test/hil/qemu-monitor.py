#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Talk to the HIL guest's QEMU human monitor (a unix socket) for run-hil.sh.

  qemu-monitor.py SOCK check-layout CARD_MAP   compare guest RAM in QEMU's
        "info mtree -f" with the card's IOMMU map (xcap-hil-card --map-out),
        print the layout; exit 1 on any difference
  qemu-monitor.py SOCK cont                    start the (-S) guest
  qemu-monitor.py SOCK quit                    stop QEMU

CARD_MAP lines: "<gpa start> <gpa end> <backend id> <offset in backend>".
Every RAM range QEMU maps from one of those backends must lie in one of the
card's ranges for the same backend at the same offset, and every card range
must be backed by QEMU as described: otherwise the card would read and write
the wrong guest memory.
"""
import re
import socket
import sys
import time

PROMPT = b'(qemu) '


def connect(path, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except OSError as e:
            s.close()
            if time.monotonic() > deadline:
                sys.exit('qemu-monitor: cannot connect to %s: %s' % (path, e))
            time.sleep(0.1)
    s.settimeout(timeout)
    try:
        read_until_prompt(s)
    except OSError as e:
        sys.exit('qemu-monitor: %s: %s (did QEMU exit?)' % (path, e))
    return s


def read_until_prompt(s):
    buf = b''
    while not buf.endswith(PROMPT):
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionResetError('the monitor closed the connection')
        buf += chunk
    return buf


def command(s, cmd):
    s.sendall(cmd.encode() + b'\n')
    out = read_until_prompt(s).decode(errors='replace')
    # HMP echoes the command (with terminal escapes) on the first line.
    out = re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', out).replace('\r', '')
    lines = out.split('\n')
    if lines and cmd in lines[0]:
        lines = lines[1:]
    return '\n'.join(l for l in lines if not l.startswith('(qemu)'))


LINE = re.compile(r'^\s+([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, ([a-z/]+)\): (\S+)(?: @([0-9a-f]+))?')


def flat_memory(mtree):
    """RAM ranges of the "memory" address space: [(start, end_excl, name, offset)]."""
    out, in_memory = [], False
    for line in mtree.split('\n'):
        if line.startswith('FlatView'):
            in_memory = False
            continue
        if line.startswith(' AS "memory"'):
            in_memory = True
            continue
        m = LINE.match(line)
        if in_memory and m and m.group(3) == 'ram':
            start, end = int(m.group(1), 16), int(m.group(2), 16) + 1
            out.append((start, end, m.group(4), int(m.group(5) or '0', 16)))
    return out


def check_layout(s, card_map):
    card = []
    with open(card_map) as f:
        for line in f:
            g0, g1, name, off = line.split()
            card.append((int(g0, 16), int(g1, 16), name, int(off, 16)))
    names = {c[2] for c in card}
    ram = [r for r in flat_memory(command(s, 'info mtree -f')) if r[2] in names]
    if not ram:
        print('layout: FAIL: QEMU maps none of the backends %s as guest RAM'
              % ', '.join(sorted(names)))
        return 1
    bad = 0
    for start, end, name, off in ram:
        ok = any(name == n and g0 <= start and end <= g1 and off == o + (start - g0)
                 for g0, g1, n, o in card)
        print('layout: QEMU GPA [0x%09x, 0x%09x) = %s+0x%x%s' % (
            start, end, name, off, '' if ok else '  <-- NOT in the card\'s IOMMU map'))
        bad += not ok
    for g0, g1, n, o in card:
        covered = sum(max(0, min(end, g1) - max(start, g0)) for start, end, name, off in ram
                      if name == n and off - start == o - g0)
        # QEMU punches small holes (legacy VGA/BIOS windows below 1 MiB) into RAM;
        # anything beyond 1 MiB missing means a different layout.
        if g1 - g0 - covered > (1 << 20):
            print('layout: card maps GPA [0x%09x, 0x%09x) to %s+0x%x, but QEMU backs only '
                  '%d MiB of it that way' % (g0, g1, n, o, covered >> 20))
            bad += 1
    print('layout: %s' % ('the card\'s IOMMU map matches QEMU\'s guest RAM' if not bad
                          else 'FAIL: %d difference(s) between QEMU and the card' % bad))
    return 1 if bad else 0


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    s = connect(argv[1])
    if argv[2] == 'check-layout' and len(argv) == 4:
        try:
            return check_layout(s, argv[3])
        except OSError as e:
            sys.exit('qemu-monitor: %s (did QEMU exit?)' % e)
    if argv[2] in ('cont', 'quit'):
        s.sendall(argv[2].encode() + b'\n')
        time.sleep(0.2)
        return 0
    sys.exit(__doc__)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
