#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 xcap developers
"""xcap-devbind.py: DPDK's dpdk-devbind.py with xcap cards as a device class
of their own.

The system's dpdk-devbind.py is loaded as a module (it is not copied) and
does everything that is not about xcap cards: the other device classes in
--status, and binding any other device. Around it, this tool

  * finds xcap cards (PCI 1ded:7c4a, class 0x1280; with --include-ivshmem
    also QEMU ivshmem devices 1af4:1110 whose BAR2 starts with "XCAP") in
    sysfs and hides them from dpdk-devbind.py, which would file an FPGA of
    class 0x12 under "Baseband" (and an ivshmem device under "Network");
  * lists them with driver, IOMMU group and NUMA node (--status, --json);
  * before binding one to vfio-pci checks what VFIO needs and explains what
    is missing: an IOMMU, vfio-pci, a viable IOMMU group (every other member
    unbound or on vfio-pci/pci-stub), and hugepages on the card's NUMA node;
    it warns loudly about VFIO's unsafe no-IOMMU mode;
  * binds through driver_override, unbinds, re-probes, and re-reads sysfs to
    verify: it fails with a clear message when the bind did not take.

For tests, every sysfs and /proc access goes below --sysfs-root /
XCAP_SYSFS_ROOT and --proc-root / XCAP_PROC_ROOT, and every write to sysfs
(and every command run) is appended, in order, as one JSON object per line
to the file named by XCAP_SYSFS_WRITE_LOG.
"""

import argparse
import importlib.machinery
import importlib.util
import json
import mmap
import os
import shutil
import subprocess
import sys
from fnmatch import fnmatchcase

# ---- identity ---------------------------------------------------------------


def _env_hex(name, default):
    value = os.environ.get(name, default).strip().lower()
    if value.startswith('0x'):
        value = value[2:]
    return value.zfill(4)


# docs/hardware.md §1; overridable like meson's -Dpci_vendor_id/-Dpci_device_id
XCAP_VENDOR = _env_hex('XCAP_PCI_VENDOR_ID', '1ded')
XCAP_DEVICE = _env_hex('XCAP_PCI_DEVICE_ID', '7c4a')
XCAP_CLASS = '1280'          # processing accelerator
IVSHMEM_VENDOR = '1af4'
IVSHMEM_DEVICE = '1110'
XCAP_MAGIC = 0x50414358      # "XCAP" little-endian, BAR0 of the card, BAR2 of ivshmem
IVSHMEM_BAR = 2

VFIO = 'vfio-pci'
# drivers that may hold another device of the card's IOMMU group without
# making the group unusable for VFIO (the kernel's own allow-list, plus vfio)
GROUP_SAFE_DRIVERS = ('vfio-pci', 'pci-stub')
HUGE_2M = 'hugepages-2048kB'

# dpdk-devbind.py's device-type tables, in the format of its
# device_type_match(): Class is the first two hex digits of the PCI class.
XCAP_TYPE = [{'Class': XCAP_CLASS[:2], 'Vendor': XCAP_VENDOR,
              'Device': XCAP_DEVICE, 'SVendor': None, 'SDevice': None}]
IVSHMEM_TYPE = [{'Class': '05', 'Vendor': IVSHMEM_VENDOR,
                 'Device': IVSHMEM_DEVICE, 'SVendor': None, 'SDevice': None}]

# dpdk-devbind.py's device lists and the --status-dev name of each
DEVBIND_CLASSES = [
    ('net', 'network_devices'), ('baseband', 'baseband_devices'),
    ('crypto', 'crypto_devices'), ('dma', 'dma_devices'),
    ('event', 'eventdev_devices'), ('mempool', 'mempool_devices'),
    ('compress', 'compress_devices'), ('regex', 'regex_devices'),
    ('misc', 'misc_devices'),
]
STATUS_DEVS = ['xcap'] + [name for name, _ in DEVBIND_CLASSES]

DEVBIND_CANDIDATES = [
    '/usr/bin/dpdk-devbind.py',
    '/usr/share/dpdk/usertools/dpdk-devbind.py',
    '/usr/local/bin/dpdk-devbind.py',
    '/usr/local/share/dpdk/usertools/dpdk-devbind.py',
]
DEVBIND_NEEDS = ('device_type_match', 'display_devices', 'get_device_details',
                 'clear_data', 'check_modules', 'main', 'dpdk_drivers')

EMU_VDEV = '--vdev=dma_xcap_emu0,copy_channels=2,capture_channels=1'


class ToolError(Exception):
    """An error to report to the user, with an exit code."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


# ---- sysfs / proc access -----------------------------------------------------


class System:
    """The machine as seen through sysfs and /proc, rooted anywhere.

    Reads are relative to the sysfs root ("bus/pci/devices/..."). Writes go
    through write(), which logs them (XCAP_SYSFS_WRITE_LOG) before doing
    them, so their order can be checked; commands go through run().
    kernel, if given, is called after each write as kernel(system, rel,
    value): tests use it to play the kernel's part in a fake tree.
    runner, if given, runs commands instead of subprocess (tests).
    """

    def __init__(self, sysfs_root=None, proc_root=None, dry_run=False,
                 write_log=None, kernel=None, runner=None):
        self.root = sysfs_root or os.environ.get('XCAP_SYSFS_ROOT') or '/sys'
        self.proc = proc_root or os.environ.get('XCAP_PROC_ROOT') or '/proc'
        self.real = os.path.realpath(self.root) == '/sys'
        self.dry_run = dry_run
        self.write_log = write_log if write_log is not None else \
            os.environ.get('XCAP_SYSFS_WRITE_LOG')
        self.kernel = kernel
        self.runner = runner
        self.writes = []     # (rel, value) in order, as done (or planned)

    # -- reading
    def path(self, rel):
        return os.path.join(self.root, rel)

    def exists(self, rel):
        return os.path.lexists(self.path(rel))

    def read(self, rel, default=None):
        try:
            with open(self.path(rel)) as f:
                return f.read().strip()
        except OSError:
            return default

    def read_int(self, rel, default=None):
        text = self.read(rel)
        try:
            return int(text)
        except (TypeError, ValueError):
            return default

    def listdir(self, rel):
        try:
            return sorted(os.listdir(self.path(rel)))
        except OSError:
            return []

    def link_name(self, rel):
        """The last component of a symlink's target (a driver's or group's
        name), None if there is no such link."""
        try:
            return os.path.basename(os.readlink(self.path(rel)).rstrip('/'))
        except OSError:
            return None

    def read_proc(self, name, default=''):
        try:
            with open(os.path.join(self.proc, name)) as f:
                return f.read()
        except OSError:
            return default

    # -- changing
    def _log(self, entry):
        if not self.write_log:
            return
        with open(self.write_log, 'a') as f:
            f.write(json.dumps(entry) + '\n')

    def write(self, rel, value, append=False):
        """Write value to a sysfs file: append for action files (bind,
        unbind, drivers_probe), truncate for attributes. The file must exist,
        as in sysfs: nothing is created."""
        entry = {'op': 'write', 'path': rel, 'value': value}
        if self.dry_run:
            entry['dry_run'] = True
        self._log(entry)
        self.writes.append((rel, value))
        if self.dry_run:
            return
        flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
        try:
            fd = os.open(self.path(rel), flags)
            try:
                os.write(fd, value.encode())
            finally:
                os.close(fd)
            if self.kernel is not None:
                # the fake kernel may refuse, like sysfs does (EINVAL, ENODEV)
                self.kernel(self, rel, value)
        except OSError as err:
            raise ToolError('cannot write %r to %s: %s'
                            % (value, self.path(rel), err.strerror)) from err

    def run(self, argv):
        """Run a command; returns (returncode, output) or None when it was
        not run (--dry-run, or a fake sysfs root without a runner)."""
        entry = {'op': 'exec', 'argv': list(argv)}
        if self.dry_run or (not self.real and self.runner is None):
            entry['not_run'] = True
            self._log(entry)
            return None
        self._log(entry)
        if self.runner is not None:
            return self.runner(self, list(argv))
        try:
            done = subprocess.run(argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  check=False)
        except OSError as err:
            return 127, '%s: %s' % (argv[0], err.strerror)
        return done.returncode, done.stdout.strip()


# ---- devices ---------------------------------------------------------------


def _hex(text):
    text = (text or '').strip().lower()
    return text[2:] if text.startswith('0x') else text


class PciDevice:
    """What sysfs says about one PCI function."""

    def __init__(self, system, bdf):
        base = 'bus/pci/devices/' + bdf
        self.bdf = bdf
        self.vendor = _hex(system.read(base + '/vendor', ''))
        self.device = _hex(system.read(base + '/device', ''))
        self.class_full = _hex(system.read(base + '/class', ''))
        self.klass = self.class_full[:4]
        self.svendor = _hex(system.read(base + '/subsystem_vendor', ''))
        self.sdevice = _hex(system.read(base + '/subsystem_device', ''))
        self.driver = system.link_name(base + '/driver')
        override = system.read(base + '/driver_override', '')
        self.driver_override = '' if override == '(null)' else override
        self.iommu_group = system.link_name(base + '/iommu_group')
        node = system.read_int(base + '/numa_node', -1)
        self.numa_node = node if node is not None and node >= 0 else None
        self.header_type = None
        try:
            with open(system.path(base + '/config'), 'rb') as f:
                config = f.read(16)
            if len(config) >= 15:
                self.header_type = config[14] & 0x7f
        except OSError:
            pass
        self.transport = 'pci'
        self.name = ''

    @property
    def ids(self):
        return '%s:%s' % (self.vendor, self.device)

    def is_bridge(self):
        """A bridge (non-normal header): VFIO accepts any driver on it."""
        if self.header_type is not None:
            return self.header_type != 0
        return self.klass in ('0604', '0607', '0609')

    def devbind_dict(self):
        """This device in dpdk-devbind.py's format (as parsed from lspci)."""
        dev = {'Slot': self.bdf, 'Class': self.klass, 'Vendor': self.vendor,
               'Device': self.device, 'SVendor': self.svendor,
               'SDevice': self.sdevice, 'Device_str': self.name or 'device',
               'Interface': '', 'Ssh_if': False, 'Active': ''}
        if self.driver:
            dev['Driver_str'] = self.driver
        return dev

    def to_json(self):
        return {'bdf': self.bdf, 'vendor': '0x' + self.vendor,
                'device': '0x' + self.device,
                'class': '0x' + self.class_full if self.class_full else None,
                'driver': self.driver,
                'driver_override': self.driver_override or None,
                'iommu_group': _int_or_str(self.iommu_group),
                'numa_node': self.numa_node}


def plural(n, word):
    return '%d %s%s' % (n, word, '' if n == 1 else 's')


def _int_or_str(value):
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def read_bar_magic(path):
    """First 32-bit little-endian word of a BAR's sysfs resource file (mmap:
    sysfs cannot read() memory BARs), None if it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        data = b''
        if size >= 4:
            try:
                with mmap.mmap(fd, min(size, mmap.PAGESIZE), mmap.MAP_SHARED,
                               mmap.PROT_READ) as m:
                    data = m[:4]
            except (OSError, ValueError):
                data = b''
        if len(data) < 4:
            data = os.pread(fd, 4, 0)
    except OSError:
        return None
    finally:
        os.close(fd)
    return int.from_bytes(data, 'little') if len(data) == 4 else None


def plain_match(dev, types):
    """The same test as dpdk-devbind.py's device_type_match(), for when it
    is not loaded (xcap-setup without DPDK's usertools)."""
    for t in types:
        if dev['Class'][:2] != t['Class']:
            continue
        if all(dev.get(k) in v.split(',') for k, v in t.items()
               if k != 'Class' and v):
            return True
    return False


def list_bdfs(system):
    return system.listdir('bus/pci/devices')


def discover(system, match=plain_match, include_ivshmem=False, notes=None):
    """xcap cards under the sysfs root, sorted by BDF."""
    cards = []
    for bdf in list_bdfs(system):
        dev = PciDevice(system, bdf)
        info = dev.devbind_dict()
        if match(info, XCAP_TYPE):
            dev.name = 'xcap DMA/capture card'
            cards.append(dev)
        elif include_ivshmem and match(info, IVSHMEM_TYPE):
            path = system.path('bus/pci/devices/%s/resource%d'
                               % (bdf, IVSHMEM_BAR))
            magic = read_bar_magic(path)
            if magic == XCAP_MAGIC:
                dev.transport = 'ivshmem'
                dev.name = 'xcap on QEMU ivshmem'
                cards.append(dev)
            elif notes is not None:
                if magic is None:
                    notes.append('ivshmem device %s: cannot read BAR%d (%s); '
                                 'run as root to tell whether it carries an '
                                 'xcap card' % (bdf, IVSHMEM_BAR, path))
                else:
                    notes.append('ivshmem device %s: BAR%d starts with '
                                 '0x%08x, not the xcap magic 0x%08x: not an '
                                 'xcap card' % (bdf, IVSHMEM_BAR, magic,
                                                XCAP_MAGIC))
    return cards


def resolve_device(system, name):
    """A device argument as BDFs present under the sysfs root: full or
    domain-less BDF, or a shell glob of either. [] if nothing matches."""
    present = list_bdfs(system)
    for pattern in (name, '0000:' + name):
        hits = [b for b in present if fnmatchcase(b, pattern)]
        if hits:
            return hits
    return []


# ---- machine state -------------------------------------------------------------


def iommu_groups(system):
    return system.listdir('kernel/iommu_groups')


def iommu_units(system):
    return system.listdir('class/iommu')


def noiommu_mode(system):
    value = system.read('module/vfio/parameters/enable_unsafe_noiommu_mode', '')
    return value.upper() in ('Y', '1')


def vfio_loaded(system):
    return system.exists('module/vfio_pci') or \
        system.exists('bus/pci/drivers/' + VFIO)


def group_members(system, group):
    return system.listdir('kernel/iommu_groups/%s/devices' % group)


def node_ids(system):
    nodes = []
    for name in system.listdir('devices/system/node'):
        if name.startswith('node') and name[4:].isdigit():
            nodes.append(int(name[4:]))
    return sorted(nodes)


def hugepage_dir(system, node):
    """sysfs directory of the 2 MB pool of a node (node None: the global
    pool of a kernel without NUMA)."""
    if node is None:
        return 'kernel/mm/hugepages/' + HUGE_2M
    return 'devices/system/node/node%d/hugepages/%s' % (node, HUGE_2M)


def hugepages(system):
    """{node: {size_kb: (nr, free)}}; node None when sysfs has no NUMA nodes."""
    result = {}
    nodes = node_ids(system)
    bases = [('devices/system/node/node%d/hugepages' % n, n) for n in nodes] \
        if nodes else [('kernel/mm/hugepages', None)]
    for base, node in bases:
        sizes = {}
        for entry in system.listdir(base):
            if not (entry.startswith('hugepages-') and entry.endswith('kB')):
                continue
            try:
                size_kb = int(entry[len('hugepages-'):-2])
            except ValueError:
                continue
            nr = system.read_int('%s/%s/nr_hugepages' % (base, entry), 0)
            free = system.read_int('%s/%s/free_hugepages' % (base, entry), nr)
            sizes[size_kb] = (nr, free)
        result[node] = sizes
    return result


def cpu_vendor(system):
    cpuinfo = system.read_proc('cpuinfo')
    if 'AuthenticAMD' in cpuinfo or 'HygonGenuine' in cpuinfo:
        return 'amd'
    if 'GenuineIntel' in cpuinfo:
        return 'intel'
    return None


# ---- pre-flight checks -----------------------------------------------------


class Check:
    LABELS = {'ok': ' OK ', 'warn': 'WARN', 'fail': 'FAIL', 'info': 'INFO'}

    def __init__(self, name, level, message, hints=()):
        self.name = name
        self.level = level
        self.message = message
        self.hints = list(hints)

    def lines(self):
        out = ['  [%s] %s: %s' % (self.LABELS[self.level], self.name,
                                  self.message)]
        out += ['         ' + h for h in self.hints]
        return out

    def to_json(self):
        return {'check': self.name, 'level': self.level,
                'message': self.message, 'hints': self.hints}


def iommu_enable_hints(system):
    """How to turn the IOMMU on, for this CPU and this kernel command line."""
    cmdline = system.read_proc('cmdline').split()
    vendor = cpu_vendor(system)
    asked = [w for w in cmdline if w in ('intel_iommu=on', 'amd_iommu=on')]
    off = [w for w in cmdline if w in ('intel_iommu=off', 'amd_iommu=off',
                                      'iommu=off')]
    hints = []
    if off:
        hints.append('The kernel command line turns it off: %s. Remove that.'
                     % ' '.join(off))
    if asked and not off:
        hints.append('The kernel was booted with %s but found no IOMMU: it is '
                     'disabled in the BIOS/UEFI setup (Intel: "VT-d", AMD: '
                     '"IOMMU"/"AMD-Vi"), or the platform has none. '
                     'See: dmesg | grep -i -e DMAR -e IOMMU -e AMD-Vi'
                     % ' '.join(asked))
        return hints
    hints.append('1. Enable it in the BIOS/UEFI setup: Intel "VT-d" '
                 '(Virtualization Technology for Directed I/O), AMD "IOMMU" '
                 '/ "AMD-Vi".')
    if vendor == 'amd':
        params = 'amd_iommu=on iommu=pt'
    elif vendor == 'intel':
        params = 'intel_iommu=on iommu=pt'
    else:
        params = 'intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD)'
    hints.append('2. Boot with the kernel parameters %s: add them to '
                 'GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub, '
                 'reboot.' % params)
    hints.append('3. Check: ls /sys/kernel/iommu_groups/ lists groups, and '
                 'xcap-devbind.py --status shows the card\'s group.')
    return hints


def check_iommu(system, card):
    groups = iommu_groups(system)
    units = iommu_units(system)
    if card.iommu_group is not None:
        what = 'on (%s%s)' % (plural(len(groups), 'group'),
                              (', units: ' + ' '.join(units)) if units else '')
        return Check('IOMMU', 'ok', '%s; the card is in IOMMU group %s'
                     % (what, card.iommu_group))
    if groups:
        return Check('IOMMU', 'fail',
                     'No IOMMU group: the IOMMU is on (%s) but %s is in '
                     'none, so VFIO cannot take it'
                     % (plural(len(groups), 'group'), card.bdf),
                     ['The card sits behind a bridge or in a slot that the '
                      'IOMMU does not translate, or the IOMMU ignores it '
                      '(check dmesg | grep -i -e DMAR -e IOMMU for %s).'
                      % card.bdf,
                      'Try another slot; check the BIOS for per-slot DMA '
                      'protection / VT-d settings.'])
    if noiommu_mode(system):
        return Check('IOMMU', 'warn',
                     'No IOMMU group: there is no IOMMU, but VFIO\'s UNSAFE '
                     'no-IOMMU mode is on: binding without any DMA protection',
                     ['Run DPDK with --iova-mode=pa. Turn the IOMMU on for '
                      'anything but a lab machine:'] + iommu_enable_hints(system))
    return Check('IOMMU', 'fail',
                 'No IOMMU group: the IOMMU is off (%s/kernel/iommu_groups is '
                 'empty), and vfio-pci needs it to confine the card\'s DMA'
                 % system.root.rstrip('/'),
                 iommu_enable_hints(system) +
                 ['(Last resort on a lab machine: VFIO\'s unsafe no-IOMMU mode, '
                  'modprobe vfio enable_unsafe_noiommu_mode=1: no DMA '
                  'protection at all.)'])


def check_noiommu(system):
    if noiommu_mode(system):
        return Check('no-IOMMU mode', 'warn',
                     'VFIO is in UNSAFE no-IOMMU mode '
                     '(module/vfio/parameters/enable_unsafe_noiommu_mode = Y): '
                     'a device bound without an IOMMU group can DMA to any '
                     'host memory and the kernel is tainted',
                     ['Turn it off: modprobe -r vfio-pci vfio; modprobe '
                      'vfio-pci (or remove enable_unsafe_noiommu_mode from '
                      '/etc/modprobe.d) and enable the IOMMU instead.'])
    return Check('no-IOMMU mode', 'ok', 'off')


NOIOMMU_BANNER = """\
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! WARNING: VFIO is in UNSAFE no-IOMMU mode
!! (/sys/module/vfio/parameters/enable_unsafe_noiommu_mode = Y).
!! A device bound to vfio-pci without an IOMMU group can DMA anywhere in
!! host memory: a card or driver bug can corrupt the kernel. Lab use only.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"""


def check_vfio(system, load=True):
    """vfio-pci loaded, or loaded now (load=True), or at least loadable
    (load=False: modprobe -n, which changes nothing)."""
    if vfio_loaded(system):
        return Check('vfio-pci', 'ok', 'loaded')
    if not load:
        result = system.run(['modprobe', '-n', VFIO])
        if result is not None and result[0] == 0:
            return Check('vfio-pci', 'ok', 'not loaded, but loadable: '
                         '-b vfio-pci loads it (modprobe vfio-pci)')
        if result is None:
            return Check('vfio-pci', 'warn', 'not loaded; whether it is '
                         'loadable was not checked (modprobe -n not run: %s)'
                         % ('dry run' if system.dry_run
                            else 'sysfs root is not /sys'))
        return Check('vfio-pci', 'fail', 'not loaded and not loadable: '
                     'modprobe -n vfio-pci failed (exit %d)%s' % (
                         result[0], (': ' + result[1]) if result[1] else ''),
                     VFIO_HINTS)
    result = system.run(['modprobe', VFIO])
    if result is not None and result[0] == 0 and vfio_loaded(system):
        return Check('vfio-pci', 'ok', 'was not loaded: loaded it '
                     '(modprobe vfio-pci)')
    if result is None:
        why = 'modprobe vfio-pci was not run (%s)' % (
            'dry run' if system.dry_run else 'sysfs root is not /sys')
    elif result[0] == 0:
        why = 'modprobe vfio-pci succeeded but no vfio-pci driver appeared'
    else:
        why = 'modprobe vfio-pci failed (exit %d)%s' % (
            result[0], (': ' + result[1]) if result[1] else '')
    return Check('vfio-pci', 'fail', 'not loaded: ' + why, VFIO_HINTS)


VFIO_HINTS = [
    'vfio-pci is part of the kernel (CONFIG_VFIO_PCI): on Debian install the '
    'modules of the running kernel (linux-image-$(uname -r)) and run '
    'modprobe vfio-pci as root.',
    'To load it at boot: echo vfio-pci > /etc/modules-load.d/vfio-pci.conf']


def check_group(system, card, binding=()):
    """The card's IOMMU group is viable for VFIO once the card is on
    vfio-pci: every other member unbound, on vfio-pci or pci-stub, a bridge,
    or being bound in this same run."""
    group = card.iommu_group
    if group is None:
        return Check('IOMMU group', 'info', 'none (see IOMMU)')
    others = [m for m in group_members(system, group) if m != card.bdf]
    blockers, fine = [], []
    for bdf in others:
        dev = PciDevice(system, bdf)
        if bdf in binding or dev.driver in (None,) + GROUP_SAFE_DRIVERS \
                or dev.is_bridge():
            fine.append('%s (%s)' % (bdf, dev.driver or 'no driver'))
        else:
            blockers.append(dev)
    if not blockers:
        if not others:
            return Check('IOMMU group', 'ok', 'group %s holds only the card'
                         % group)
        return Check('IOMMU group', 'ok', 'group %s is viable: also holds %s'
                     % (group, ', '.join(fine)))
    names = '; '.join("%s [%s class %s] is bound to kernel driver '%s'"
                      % (d.bdf, d.ids, d.klass, d.driver) for d in blockers)
    first = blockers[0].bdf
    return Check('IOMMU group', 'fail',
                 'IOMMU group %s is shared and not viable: %s' % (group, names),
                 ['VFIO hands a whole IOMMU group to user space: every other '
                  'device in group %s must be unbound or bound to vfio-pci or '
                  'pci-stub.' % group,
                  'Either bind it to vfio-pci too: xcap-devbind.py -b vfio-pci '
                  '%s (the kernel loses that device: if it is the network '
                  'interface you are logged in through, you lose the '
                  'connection),' % first,
                  'or unbind it: xcap-devbind.py -u %s,' % first,
                  'or move the card to a slot whose root port or switch '
                  'isolates it (ACS), so it gets a group of its own '
                  '(ls /sys/kernel/iommu_groups/*/devices).'])


def check_hugepages(system, card):
    pools = hugepages(system)
    free = {node: sum(f for _, f in sizes.values())
            for node, sizes in pools.items()}
    if card.numa_node is None or card.numa_node not in pools:
        total = sum(free.values())
        if total:
            return Check('hugepages', 'ok', '%d free hugepages (the card '
                         'reports no NUMA node)' % total)
        return Check('hugepages', 'warn', 'no free hugepages',
                     ['Reserve them: xcap-setup'])
    node = card.numa_node
    mine = free.get(node, 0)
    if mine:
        nr2, free2 = pools[node].get(2048, (0, 0))
        return Check('hugepages', 'ok', 'node %d (the card\'s): %d of %d 2 MB '
                     'pages free' % (node, free2, nr2) if nr2 else
                     'node %d (the card\'s): %d pages free' % (node, mine))
    elsewhere = ['node %s: %d free' % (n, f) for n, f in sorted(
        free.items(), key=lambda kv: -1 if kv[0] is None else kv[0]) if f]
    if elsewhere:
        return Check('hugepages', 'warn',
                     'pages on the wrong node: the card is on NUMA node %d, '
                     'which has no free hugepages (%s)'
                     % (node, ', '.join(elsewhere)),
                     ['The PMD places the card\'s rings and buffers on the '
                      'card\'s node; from another node every DMA crosses the '
                      'socket interconnect, or allocation fails.',
                      'Reserve pages on node %d: xcap-setup' % node])
    return Check('hugepages', 'warn', 'no free hugepages on any node (the '
                 'card is on NUMA node %d)' % node,
                 ['Reserve them: xcap-setup'])


def preflight(system, card, binding=(), load=True):
    checks = [check_iommu(system, card)]
    if noiommu_mode(system):
        checks.append(check_noiommu(system))
    checks.append(check_vfio(system, load))
    checks.append(check_group(system, card, binding))
    checks.append(check_hugepages(system, card))
    return checks


# ---- dpdk-devbind.py -----------------------------------------------------------


_LOADED = {}


def find_devbind(explicit=None):
    if explicit:
        if os.path.isfile(explicit):
            return explicit
        raise ToolError('--devbind %s: no such file' % explicit, 2)
    candidates = [shutil.which('dpdk-devbind.py')] + DEVBIND_CANDIDATES
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    raise ToolError('dpdk-devbind.py not found (looked on PATH and in %s). '
                    'Install DPDK\'s tools (Debian: apt-get install dpdk) or '
                    'give its path with --devbind PATH.'
                    % ', '.join(DEVBIND_CANDIDATES), 2)


class Devbind:
    """The system's dpdk-devbind.py, loaded as a module, with xcap cards
    hidden from it: after each of its get_device_details() calls the
    devices in self.hidden are dropped from its device table, so its status
    never lists them and it never binds them."""

    def __init__(self, module, path):
        self.module = module
        self.path = path
        self.hidden = set()
        self.dpdk_drivers = list(module.dpdk_drivers)
        original = module.get_device_details
        hidden = self.hidden

        def get_device_details(devices_type):
            original(devices_type)
            for bdf in hidden:
                module.devices.pop(bdf, None)
        get_device_details.xcap_original = original
        module.get_device_details = get_device_details

    @classmethod
    def load(cls, path):
        key = os.path.realpath(path)
        if key in _LOADED:
            return _LOADED[key]
        saved = sys.dont_write_bytecode
        sys.dont_write_bytecode = True    # no __pycache__ next to it
        try:
            loader = importlib.machinery.SourceFileLoader('dpdk_devbind', path)
            spec = importlib.util.spec_from_loader('dpdk_devbind', loader)
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
        except Exception as err:
            raise ToolError('cannot load %s as a module: %s' % (path, err), 2)
        finally:
            sys.dont_write_bytecode = saved
        missing = [n for n in DEVBIND_NEEDS if not hasattr(module, n)]
        if missing:
            raise ToolError('%s lacks %s: xcap-devbind.py needs the '
                            'dpdk-devbind.py of DPDK 22.11 or a compatible one'
                            % (path, ', '.join(missing)), 2)
        _LOADED[key] = cls(module, path)
        return _LOADED[key]

    def match(self, dev, types):
        return self.module.device_type_match(dev, types)

    def display(self, title, devs, extra):
        self.module.display_devices(title, devs, extra)

    def main(self, argv):
        """Run its main() with argv; returns its exit code."""
        saved = sys.argv
        sys.argv = [self.path] + list(argv)
        try:
            self.module.main()
            return 0
        except SystemExit as ex:
            if ex.code is None or isinstance(ex.code, int):
                return ex.code or 0
            print(ex.code, file=sys.stderr)
            return 1
        finally:
            sys.argv = saved
            sys.stdout.flush()

    def other_devices(self):
        """{status-dev name: [device]} of everything it sees, for --json."""
        mod = self.module
        mod.check_modules()
        mod.clear_data()
        types = [(name, getattr(mod, attr)) for name, attr in DEVBIND_CLASSES
                 if hasattr(mod, attr)]
        for _, t in types:
            mod.get_device_details(t)
        result = {}
        for name, t in types:
            result[name] = [
                {'bdf': d.get('Slot'), 'vendor': d.get('Vendor'),
                 'device': d.get('Device'), 'class': d.get('Class'),
                 'name': d.get('Device_str'), 'driver': d.get('Driver_str'),
                 'interface': d.get('Interface') or None}
                for _, d in sorted(mod.devices.items())
                if mod.device_type_match(d, t)]
        return result


# ---- output ------------------------------------------------------------------


class Output:
    """Human text to stdout, or to stderr when stdout carries JSON."""

    def __init__(self, json_mode):
        self.json_mode = json_mode

    def say(self, *lines):
        stream = sys.stderr if self.json_mode else sys.stdout
        for line in lines:
            print(line, file=stream)

    def error(self, message):
        print('Error: ' + message, file=sys.stderr)


# ---- status ------------------------------------------------------------------


def status_json(system, cards, devbind_other, notes):
    pools = hugepages(system)
    cards_json = []
    for card in cards:
        entry = card.to_json()
        entry['transport'] = card.transport
        entry['name'] = card.name
        members = []
        if card.iommu_group is not None:
            for bdf in group_members(system, card.iommu_group):
                if bdf == card.bdf:
                    continue
                dev = PciDevice(system, bdf)
                members.append({'bdf': bdf, 'vendor': '0x' + dev.vendor,
                                'device': '0x' + dev.device,
                                'class': '0x' + dev.class_full,
                                'driver': dev.driver})
        entry['iommu_group_members'] = members
        group = check_group(system, card)
        entry['iommu_group_viable'] = None if group.level == 'info' \
            else group.level == 'ok'
        entry['dpdk_ready'] = card.driver == VFIO
        node_pool = pools.get(card.numa_node, {})
        nr2, free2 = node_pool.get(2048, (0, 0))
        entry['hugepages_2m_node'] = {'reserved': nr2, 'free': free2} \
            if card.numa_node in pools else None
        cards_json.append(entry)
    return {
        'xcap_id': {'vendor': '0x' + XCAP_VENDOR, 'device': '0x' + XCAP_DEVICE,
                    'class': '0x' + XCAP_CLASS},
        'sysfs_root': system.root,
        'cards': cards_json,
        'system': {
            'iommu': {'enabled': bool(iommu_groups(system)),
                      'groups': len(iommu_groups(system)),
                      'units': iommu_units(system)},
            'noiommu_mode': noiommu_mode(system),
            'vfio_pci_loaded': vfio_loaded(system),
            'hugepages': {
                ('none' if node is None else str(node)): {
                    '%dkB' % size: {'reserved': nr, 'free': free}
                    for size, (nr, free) in sorted(sizes.items())}
                for node, sizes in pools.items()},
        },
        'other_devices': devbind_other,
        'notes': notes,
    }


def print_xcap_status(system, devbind, cards, out):
    if not cards:
        msg = 'No xcap cards detected'
        out.say('', msg, '=' * len(msg),
                '(looked for PCI %s:%s, class %s, under %s/bus/pci/devices)'
                % (XCAP_VENDOR, XCAP_DEVICE, XCAP_CLASS, system.root.rstrip('/')),
                'The emulated card needs no binding: run the app with %s'
                % EMU_VDEV,
                'A card emulated over QEMU ivshmem (1af4:1110) is listed with '
                '--include-ivshmem.')
    else:
        devs = {'dpdk': [], 'kernel': [], 'none': []}
        for card in cards:
            dev = card.devbind_dict()
            dev['Device_str'] = card.name
            dev['Device'] = card.ids
            dev['Module_str'] = VFIO
            dev['IOMMU_group'] = card.iommu_group if card.iommu_group \
                is not None else 'none'
            dev['NUMA_node'] = card.numa_node if card.numa_node is not None \
                else 'unknown'
            dev['Class'] = card.klass
            if card.driver is None:
                devs['none'].append(dev)
            elif card.driver in devbind.dpdk_drivers:
                devs['dpdk'].append(dev)
            else:
                devs['kernel'].append(dev)
        where = ('class=%(Class)s iommu_group=%(IOMMU_group)s '
                 'numa_node=%(NUMA_node)s')
        if devs['dpdk']:
            devbind.display('xcap devices using DPDK-compatible driver',
                            devs['dpdk'], 'drv=%(Driver_str)s ' + where)
        if devs['kernel']:
            devbind.display('xcap devices using kernel driver', devs['kernel'],
                            'drv=%(Driver_str)s unused=%(Module_str)s ' + where)
        if devs['none']:
            devbind.display('Other xcap devices', devs['none'],
                            'unused=%(Module_str)s ' + where)
        problems = []
        for card in cards:
            group = check_group(system, card)
            if group.level == 'fail':
                problems.append('%s: %s' % (card.bdf, group.message))
            if card.iommu_group is None and not noiommu_mode(system):
                problems.append('%s: No IOMMU group: vfio-pci cannot take it '
                                '(xcap-devbind.py --check %s explains)'
                                % (card.bdf, card.bdf))
        if problems:
            out.say('', 'Problems:')
            out.say(*['  ' + p for p in problems])
    # the machine's side of it
    title = 'xcap prerequisites'
    out.say('', title, '=' * len(title))
    groups = iommu_groups(system)
    if groups:
        units = iommu_units(system)
        out.say('IOMMU: on (%s%s)' % (
            plural(len(groups), 'group'),
            ('; ' + ' '.join(units)) if units else ''))
    else:
        out.say('IOMMU: off (no IOMMU groups): vfio-pci cannot take a card '
                '(xcap-devbind.py --check <bdf> explains)')
    out.say('vfio-pci: ' + ('loaded' if vfio_loaded(system) else
                            'not loaded (modprobe vfio-pci; -b vfio-pci does '
                            'it)'))
    out.say('VFIO no-IOMMU mode: ' + ('ON (UNSAFE)' if noiommu_mode(system)
                                      else 'off'))
    pools = hugepages(system)
    parts = []
    for node, sizes in sorted(pools.items(),
                              key=lambda kv: -1 if kv[0] is None else kv[0]):
        nr, free = sizes.get(2048, (0, 0))
        parts.append('%s%d reserved, %d free' % (
            '' if node is None else 'node %d: ' % node, nr, free))
    out.say('2 MB hugepages: ' + ('; '.join(parts) if parts else
                                  'no hugepage pools in sysfs'))


# ---- bind / unbind -------------------------------------------------------------


def verify_driver(system, bdf):
    return system.link_name('bus/pci/devices/%s/driver' % bdf)


def probe(system, bdf, driver):
    """Ask the kernel to probe bdf: drivers_probe (honours driver_override),
    else the driver's own bind file."""
    if system.exists('bus/pci/drivers_probe'):
        system.write('bus/pci/drivers_probe', bdf, append=True)
    else:
        system.write('bus/pci/drivers/%s/bind' % driver, bdf, append=True)


def bind_card(system, card, driver, force, binding, out):
    res = {'bdf': card.bdf, 'action': 'bind', 'driver': driver,
           'previous_driver': card.driver, 'checks': [], 'ok': False,
           'changed': False, 'message': ''}
    if card.driver == driver:
        res['ok'] = True
        res['message'] = '%s already bound to %s, nothing to do' % (card.bdf,
                                                                     driver)
        out.say(res['message'])
        return res
    if card.driver == VFIO and not force:
        users = vfio_users(system, card.iommu_group)
        if users:
            res['message'] = in_use_message(card, users) + \
                ' (--force rebinds anyway)'
            out.error(res['message'])
            return res
    if driver != VFIO and not force:
        res['message'] = ('%s is an xcap card: it is driven from user space '
                          'through vfio-pci. Use -b vfio-pci (or --force to '
                          'bind it to %s anyway).' % (card.bdf, driver))
        out.error(res['message'])
        return res
    if driver == VFIO:
        checks = preflight(system, card, binding)
        res['checks'] = [c.to_json() for c in checks]
        out.say('xcap %s: pre-flight for vfio-pci' % card.bdf)
        for c in checks:
            out.say(*c.lines())
        failed = [c for c in checks if c.level == 'fail']
        hard = [c for c in failed if c.name == 'vfio-pci']
        if hard or (failed and not force):
            res['message'] = 'refusing to bind %s to vfio-pci: %s' % (
                card.bdf, '; '.join('%s: %s' % (c.name, c.message)
                                    for c in failed))
            if all(c.name == 'IOMMU group' for c in failed):
                res['message'] += ' (--force binds anyway)'
            out.error(res['message'])
            return res
        if failed:
            out.say('--force: binding %s despite the failed checks above'
                    % card.bdf)
    base = 'bus/pci/devices/%s/' % card.bdf
    try:
        system.write(base + 'driver_override', driver)
        if card.driver:
            system.write('bus/pci/drivers/%s/unbind' % card.driver, card.bdf,
                         append=True)
        probe(system, card.bdf, driver)
        write_error = None
    except ToolError as err:
        write_error = str(err)
    res['changed'] = True
    if system.dry_run:
        res['ok'] = True
        res['message'] = 'dry run: would bind %s to %s' % (card.bdf, driver)
        out.say(res['message'])
        return res
    now = verify_driver(system, card.bdf)
    if now == driver:
        res['ok'] = True
        res['message'] = '%s bound to %s (was: %s)' % (
            card.bdf, driver, card.driver or 'no driver')
        out.say(res['message'])
        return res
    # it did not take: say why as far as we can tell, and put things back
    msg = ('binding %s to %s did not take: sysfs shows it %s afterwards'
           % (card.bdf, driver, ("bound to '%s'" % now) if now else
              'bound to no driver'))
    if write_error:
        msg += ' (%s)' % write_error
    hints = ['The kernel log says why: dmesg | tail. "%s: probe of %s failed '
             'with error -22" usually means the card has no IOMMU group (IOMMU '
             'off, see xcap-devbind.py --check %s); -16 (busy) that another '
             'driver holds it.' % (driver, card.bdf, card.bdf)]
    try:
        system.write(base + 'driver_override', '\n')
        if card.driver and now != card.driver:
            probe(system, card.bdf, card.driver)
    except ToolError as err:
        hints.append('restoring the previous state failed too: %s' % err)
    after = verify_driver(system, card.bdf)
    hints.append('Restored: %s is now %s.' % (
        card.bdf, ("bound to '%s'" % after) if after else 'unbound'))
    res['message'] = msg
    res['hints'] = hints
    out.error(msg)
    for h in hints:
        print('       ' + h, file=sys.stderr)
    return res


def vfio_users(system, group):
    """Processes holding the card's VFIO group open: [(pid, comm)]."""
    if group is None:
        return []
    targets = ('/dev/vfio/%s' % group, '/dev/vfio/noiommu-%s' % group)
    users = []
    for pid in sorted((p for p in os.listdir(system.proc) if p.isdigit()),
                      key=int) if os.path.isdir(system.proc) else []:
        fd_dir = os.path.join(system.proc, pid, 'fd')
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target in targets:
                comm = system.read_proc(pid + '/comm', '?').strip()
                users.append((int(pid), comm))
                break
    return users


def in_use_message(card, users):
    return ('%s is in use through /dev/vfio/%s by %s: stop %s first '
            '(unbinding now would block until %s exits)'
            % (card.bdf, card.iommu_group,
               ', '.join('PID %d (%s)' % u for u in users),
               'it' if len(users) == 1 else 'them',
               'it' if len(users) == 1 else 'they'))


def unbind_card(system, card, out, force=False):
    res = {'bdf': card.bdf, 'action': 'unbind', 'previous_driver': card.driver,
           'ok': False, 'changed': False, 'message': ''}
    base = 'bus/pci/devices/%s/' % card.bdf
    if card.driver is None and not card.driver_override:
        res['ok'] = True
        res['message'] = '%s is not bound to any driver, nothing to do' % card.bdf
        out.say(res['message'])
        return res
    if card.driver == VFIO and not force:
        users = vfio_users(system, card.iommu_group)
        if users:
            res['message'] = in_use_message(card, users) + \
                ' (--force unbinds anyway)'
            out.error(res['message'])
            return res
    try:
        if card.driver:
            system.write('bus/pci/drivers/%s/unbind' % card.driver, card.bdf,
                         append=True)
        if card.driver_override:
            system.write(base + 'driver_override', '\n')
    except ToolError as err:
        res['message'] = 'unbinding %s failed: %s' % (card.bdf, err)
        out.error(res['message'])
        return res
    res['changed'] = True
    if system.dry_run:
        res['ok'] = True
        res['message'] = 'dry run: would unbind %s' % card.bdf
        out.say(res['message'])
        return res
    now = verify_driver(system, card.bdf)
    if now:
        res['message'] = ("unbinding %s did not take: it is still bound to "
                          "'%s' (is a process still using it? For vfio-pci: "
                          "fuser -v /dev/vfio/%s)"
                          % (card.bdf, now, card.iommu_group or '*'))
        out.error(res['message'])
        return res
    res['ok'] = True
    res['message'] = '%s unbound (was: %s)' % (card.bdf,
                                               card.driver or 'no driver')
    out.say(res['message'])
    return res


# ---- command line ------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='xcap-devbind.py',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description='dpdk-devbind.py with xcap DMA/capture cards as a device '
                    'class of their own: lists them, checks what vfio-pci '
                    'needs before binding them, binds and verifies. Anything '
                    'that is not an xcap card goes to dpdk-devbind.py.',
        epilog="""
Examples:
  %(prog)s --status                     every device class, xcap cards last
  %(prog)s --status-dev xcap --json     xcap cards only, as JSON
  %(prog)s --check 0000:03:00.0         pre-flight checks only
  %(prog)s -b vfio-pci 0000:03:00.0     check, bind, verify
  %(prog)s -u 0000:03:00.0              unbind, clear driver_override

Exit status: 0 success, 1 a check or a bind failed, 2 usage or setup error.
""")
    parser.add_argument('-s', '--status', action='store_true',
                        help='status of all devices (xcap cards and '
                             'dpdk-devbind.py\'s classes)')
    parser.add_argument('--status-dev', choices=STATUS_DEVS,
                        help='status of one device class; "xcap" for the cards')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('-b', '--bind', metavar='DRIVER',
                       help='driver to bind the devices to (xcap cards: '
                            'vfio-pci), or "none" to unbind')
    group.add_argument('-u', '--unbind', action='store_true',
                       help='unbind the devices (same as -b none)')
    group.add_argument('--check', action='store_true',
                       help='run the vfio-pci pre-flight checks on the given '
                            'xcap cards (all if none given) without binding')
    parser.add_argument('--force', action='store_true',
                        help='bind although IOMMU or IOMMU-group checks fail '
                             '(passed on to dpdk-devbind.py too)')
    parser.add_argument('--json', action='store_true',
                        help='machine-readable output on stdout (text goes '
                             'to stderr)')
    parser.add_argument('--include-ivshmem', action='store_true',
                        help='also treat QEMU ivshmem devices (1af4:1110) whose '
                             'BAR2 carries the xcap magic as xcap cards')
    parser.add_argument('--devbind', metavar='PATH',
                        help='dpdk-devbind.py to use (default: PATH, /usr/bin, '
                             '/usr/share/dpdk/usertools)')
    parser.add_argument('--sysfs-root', metavar='DIR',
                        help='sysfs root (default: $XCAP_SYSFS_ROOT or /sys)')
    parser.add_argument('--proc-root', metavar='DIR',
                        help='procfs root (default: $XCAP_PROC_ROOT or /proc)')
    parser.add_argument('--dry-run', action='store_true',
                        help='check and show what would be written; change '
                             'nothing')
    parser.add_argument('devices', metavar='DEVICE', nargs='*',
                        help='PCI address (domain:bus:slot.func, bus:slot.func '
                             'or a glob), or for non-xcap devices anything '
                             'dpdk-devbind.py accepts')
    opt = parser.parse_args(argv)
    if opt.unbind:
        opt.bind = 'none'
    if not (opt.bind or opt.status or opt.status_dev or opt.check):
        parser.error('no action: give --status, --status-dev, --check, '
                     '-b DRIVER or -u')
    if opt.bind and not opt.devices:
        parser.error('no devices given to bind or unbind')
    return opt


def run(opt, kernel=None, runner=None):
    out = Output(opt.json)
    system = System(opt.sysfs_root, opt.proc_root, dry_run=opt.dry_run,
                    kernel=kernel, runner=runner)
    devbind = Devbind.load(find_devbind(opt.devbind))
    # dpdk-devbind.py reads the real machine (lspci, /sys): it takes part in
    # status and binding only on the real sysfs root, or when asked by path
    use_devbind = system.real or bool(opt.devbind)
    notes = []
    cards = discover(system, devbind.match, opt.include_ivshmem, notes)
    devbind.hidden.clear()
    devbind.hidden.update(c.bdf for c in cards)
    by_bdf = {c.bdf: c for c in cards}
    for note in notes:
        print('Note: ' + note, file=sys.stderr)
    only_devbind = opt.status_dev not in (None, 'xcap') and not (
        opt.status or opt.bind or opt.check)
    if noiommu_mode(system) and not only_devbind:
        print(NOIOMMU_BANNER, file=sys.stderr)

    if opt.bind and system.real and not opt.dry_run and os.geteuid() != 0:
        raise ToolError('binding and unbinding write to /sys: run as root '
                        '(sudo xcap-devbind.py ...), or add --dry-run to see '
                        'what it would do', 2)

    # which arguments are xcap cards
    xcap_args, other_args = [], []
    for name in opt.devices:
        if name == 'dpdk' and opt.bind and opt.bind.lower() == 'none':
            # dpdk-devbind.py's "-u dpdk": every device on a DPDK driver;
            # it no longer sees the cards, so they are ours to add
            xcap_args += [c.bdf for c in cards if c.driver in
                          devbind.dpdk_drivers and c.bdf not in xcap_args]
            other_args.append(name)
            continue
        hits = resolve_device(system, name)
        if hits and all(h in by_bdf for h in hits):
            xcap_args += [h for h in hits if h not in xcap_args]
        elif hits and any(h in by_bdf for h in hits):
            xcap_args += [h for h in hits if h in by_bdf and h not in xcap_args]
            other_args += [h for h in hits if h not in by_bdf]
        else:
            other_args.append(name)

    rc = 0
    report = {}
    if opt.check:
        targets = xcap_args or ([] if opt.devices else list(by_bdf))
        if other_args:
            out.error('not xcap cards: %s (--check is for xcap cards)'
                      % ' '.join(other_args))
            rc = 2
        if not targets and not other_args:
            out.say('No xcap cards to check.')
        results = []
        for bdf in targets:
            checks = preflight(system, by_bdf[bdf], targets, load=False)
            out.say('xcap %s: pre-flight for vfio-pci' % bdf)
            for c in checks:
                out.say(*c.lines())
            ok = not any(c.level == 'fail' for c in checks)
            rc = rc or (0 if ok else 1)
            results.append({'bdf': bdf, 'ok': ok,
                            'checks': [c.to_json() for c in checks]})
        report['check'] = results

    if opt.bind:
        results = []
        if other_args:
            if not use_devbind:
                out.error('not xcap cards: %s. With a sysfs root other than '
                          '/sys they are not passed to dpdk-devbind.py '
                          '(give --devbind PATH to do so)'
                          % ' '.join(other_args))
                rc = 2
            else:
                # other devices first: that may be what makes a card's IOMMU
                # group viable
                argv = ['-b', opt.bind] + (['--force'] if opt.force else []) \
                    + other_args
                if opt.json:
                    saved, sys.stdout = sys.stdout, sys.stderr
                try:
                    code = devbind.main(argv)
                finally:
                    if opt.json:
                        sys.stdout = saved
                results.append({'devices': other_args, 'action': 'devbind',
                                'argv': argv, 'ok': code == 0})
                rc = rc or (1 if code else 0)
        for bdf in xcap_args:
            card = PciDevice(system, bdf)       # re-read: devbind may have
            card.name = by_bdf[bdf].name        # changed its group
            card.transport = by_bdf[bdf].transport
            if opt.bind.lower() == 'none':
                res = unbind_card(system, card, out, opt.force)
            else:
                res = bind_card(system, card, opt.bind, opt.force, xcap_args,
                                out)
            results.append(res)
            if not res['ok']:
                rc = 1
        report['bind'] = results

    if opt.status or opt.status_dev:
        if opt.bind:
            cards = discover(system, devbind.match, opt.include_ivshmem)
        want_xcap = opt.status or opt.status_dev == 'xcap'
        other = None
        if use_devbind and opt.status_dev != 'xcap':
            if opt.json:
                if shutil.which('lspci'):
                    saved, sys.stdout = sys.stdout, sys.stderr
                    try:
                        other = devbind.other_devices()
                    finally:
                        sys.stdout = saved
                else:
                    print('Note: lspci not found (install pciutils): other '
                          'device classes not listed', file=sys.stderr)
                if other is not None and opt.status_dev:
                    other = {opt.status_dev: other.get(opt.status_dev, [])}
            else:
                argv = ['--status'] if opt.status else \
                    ['--status-dev', opt.status_dev]
                code = devbind.main(argv)
                if code:
                    print('Note: dpdk-devbind.py could not list the other '
                          'device classes (exit %d)' % code, file=sys.stderr)
        elif not use_devbind and opt.status_dev not in (None, 'xcap'):
            out.error('--status-dev %s is dpdk-devbind.py\'s, which reads the '
                      'real machine: not with --sysfs-root (give --devbind '
                      'PATH to force it)' % opt.status_dev)
            rc = rc or 2
        if opt.json:
            report['status'] = status_json(system, cards if want_xcap else [],
                                           other, notes)
        elif want_xcap:
            print_xcap_status(system, devbind, cards, out)

    if opt.json:
        if list(report) == ['status']:
            doc = report['status']
        else:
            doc = dict(report)
            doc['ok'] = rc == 0
        json.dump(doc, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write('\n')
    return rc


def main(argv=None, kernel=None, runner=None):
    opt = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(opt, kernel=kernel, runner=runner)
    except ToolError as err:
        print('Error: %s' % err, file=sys.stderr)
        if opt.json:
            json.dump({'ok': False, 'error': str(err)}, sys.stdout)
            sys.stdout.write('\n')
        return err.code


if __name__ == '__main__':
    sys.exit(main())
