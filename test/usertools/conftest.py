# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 xcap developers
"""Fixtures for the usertools tests: the tools loaded as modules, and a
fake machine (a sysfs tree, a /proc tree, a mount table) to run them on.

The fake sysfs follows the kernel's layout:
  bus/pci/devices/<bdf>/{vendor,device,class,numa_node,driver_override,...}
  bus/pci/devices/<bdf>/iommu_group -> ../../../kernel/iommu_groups/<n>
  bus/pci/devices/<bdf>/driver -> ../../../bus/pci/drivers/<drv>
  kernel/iommu_groups/<n>/devices/<bdf> -> ../../../../bus/pci/devices/<bdf>
  bus/pci/drivers/<drv>/{bind,unbind,new_id}, bus/pci/drivers_probe
  module/vfio_pci, module/vfio/parameters/enable_unsafe_noiommu_mode
  devices/system/node/node<N>/hugepages/hugepages-2048kB/{nr,free}_hugepages
Writes are regular-file writes; the tools log them in order to
XCAP_SYSFS_WRITE_LOG. FakeKernel plays the kernel's part where a test needs
sysfs to react (a driver link appearing after drivers_probe).
"""

import errno
import importlib.machinery
import importlib.util
import json
import os
import sys

import pytest

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
USERTOOLS = os.path.join(ROOT, 'usertools')
DEVBIND_TOOL = os.path.join(USERTOOLS, 'xcap-devbind.py')
SETUP_TOOL = os.path.join(USERTOOLS, 'xcap-setup')

XCAP_IDS = ('1ded', '7c4a', '0x128000')
NIC_IDS = ('8086', '1533', '0x020000')


def load_tool(name, path):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


# the identity env vars would change what the tools look for
for _var in ('XCAP_PCI_VENDOR_ID', 'XCAP_PCI_DEVICE_ID'):
    os.environ.pop(_var, None)

xd = load_tool('xcap_devbind_under_test', DEVBIND_TOOL)
xs = load_tool('xcap_setup_under_test', SETUP_TOOL)

try:
    DPDK_DEVBIND = xd.find_devbind()
except xd.ToolError:
    DPDK_DEVBIND = None

needs_devbind = pytest.mark.skipif(
    DPDK_DEVBIND is None,
    reason='DPDK\'s dpdk-devbind.py is not installed (Debian package dpdk)')


class FakeMachine:
    def __init__(self, base):
        self.base = str(base)
        self.sys = os.path.join(self.base, 'sys')
        self.proc = os.path.join(self.base, 'proc')
        self.log = os.path.join(self.base, 'writes.log')
        for d in ('bus/pci/devices', 'bus/pci/drivers', 'kernel/iommu_groups',
                  'module', 'class/iommu'):
            os.makedirs(self.p(d), exist_ok=True)
        self.put('bus/pci/drivers_probe', '')
        os.makedirs(self.proc, exist_ok=True)
        self.set_cmdline('BOOT_IMAGE=/vmlinuz-6.1.0 root=/dev/sda1 ro quiet')
        self.set_cpu('intel')
        self.put_proc('meminfo', 'MemTotal: 32000000 kB\n'
                      'Hugepagesize:       2048 kB\n')
        self.set_mounts(hugetlbfs=True)

    # -- files
    def p(self, rel):
        return os.path.join(self.sys, rel)

    def put(self, rel, text):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    def get(self, rel):
        with open(self.p(rel)) as f:
            return f.read()

    def link(self, rel, target):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)

    def put_proc(self, rel, text):
        path = os.path.join(self.proc, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    # -- machine
    def set_cmdline(self, text):
        self.put_proc('cmdline', text + '\n')

    def set_cpu(self, vendor):
        vid = {'intel': 'GenuineIntel', 'amd': 'AuthenticAMD'}[vendor]
        self.put_proc('cpuinfo', 'processor\t: 0\nvendor_id\t: %s\n' % vid)

    @property
    def mounts_file(self):
        return os.path.join(self.proc, 'mounts')

    def set_mounts(self, hugetlbfs=True, extra=''):
        text = 'sysfs /sys sysfs rw 0 0\nproc /proc proc rw 0 0\n'
        if hugetlbfs:
            text += 'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n'
        self.put_proc('mounts', text + extra)

    def add_driver(self, name):
        for f in ('bind', 'unbind', 'new_id'):
            if not os.path.exists(self.p('bus/pci/drivers/%s/%s' % (name, f))):
                self.put('bus/pci/drivers/%s/%s' % (name, f), '')

    def load_vfio(self):
        self.add_driver('vfio-pci')
        os.makedirs(self.p('module/vfio_pci'), exist_ok=True)

    def set_noiommu(self, on=True):
        self.put('module/vfio/parameters/enable_unsafe_noiommu_mode',
                 'Y\n' if on else 'N\n')

    def add_iommu_unit(self, name='dmar0'):
        os.makedirs(self.p('class/iommu/' + name), exist_ok=True)

    def add_group(self, n):
        os.makedirs(self.p('kernel/iommu_groups/%s/devices' % n), exist_ok=True)

    def add_node(self, n, nr=0, free=None, nr_1g=0):
        base = 'devices/system/node/node%d/hugepages/' % n
        self.put(base + 'hugepages-2048kB/nr_hugepages', '%d\n' % nr)
        self.put(base + 'hugepages-2048kB/free_hugepages',
                 '%d\n' % (nr if free is None else free))
        self.put(base + 'hugepages-1048576kB/nr_hugepages', '%d\n' % nr_1g)
        self.put(base + 'hugepages-1048576kB/free_hugepages', '%d\n' % nr_1g)

    def add_device(self, bdf, ids=XCAP_IDS, numa=-1, group=None, driver=None,
                   override=None, resource2=None):
        vendor, device, klass = ids
        base = 'bus/pci/devices/%s/' % bdf
        self.put(base + 'vendor', '0x%s\n' % vendor)
        self.put(base + 'device', '0x%s\n' % device)
        self.put(base + 'class', '%s\n' % klass)
        self.put(base + 'subsystem_vendor', '0x%s\n' % vendor)
        self.put(base + 'subsystem_device', '0x0000\n')
        self.put(base + 'numa_node', '%d\n' % numa)
        self.put(base + 'driver_override', (override or '(null)') + '\n')
        if resource2 is not None:
            with open(self.p(base + 'resource2'), 'wb') as f:
                f.write(resource2)
        if group is not None:
            self.add_group(group)
            self.link(base + 'iommu_group', '../../../kernel/iommu_groups/%s'
                      % group)
            self.link('kernel/iommu_groups/%s/devices/%s' % (group, bdf),
                      '../../../../bus/pci/devices/%s' % bdf)
        if driver:
            self.add_driver(driver)
            self.link(base + 'driver', '../../../bus/pci/drivers/%s' % driver)
        return bdf

    def add_card(self, bdf, **kw):
        return self.add_device(bdf, XCAP_IDS, **kw)

    def driver_of(self, bdf):
        try:
            return os.path.basename(os.readlink(self.p(
                'bus/pci/devices/%s/driver' % bdf)))
        except OSError:
            return None

    # -- what the tools did
    def log_entries(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def writes(self):
        return [(e['path'], e['value']) for e in self.log_entries()
                if e['op'] == 'write']

    def execs(self):
        return [e['argv'] for e in self.log_entries() if e['op'] == 'exec']

    def clear_log(self):
        if os.path.exists(self.log):
            os.unlink(self.log)

    def args(self):
        return ['--sysfs-root', self.sys, '--proc-root', self.proc]


class FakeKernel:
    """Reacts to sysfs writes the way the PCI core does, enough for the
    tools' verification: unbind drops the driver link; drivers_probe binds
    the driver_override driver (or the device's default one); a driver's
    bind file binds that driver. fail_probe: drivers that fail to probe.
    max_pages: the most hugepages a node can get (memory fragmentation)."""

    def __init__(self, machine, fail_probe=(), defaults=None, max_pages=None,
                 keep_bound=()):
        self.m = machine
        self.fail_probe = set(fail_probe)
        self.defaults = dict(defaults or {})
        self.max_pages = max_pages
        self.keep_bound = set(keep_bound)

    def _bind(self, bdf, driver):
        if driver in self.fail_probe or not os.path.isdir(
                self.m.p('bus/pci/drivers/' + driver)):
            return False
        self.m.link('bus/pci/devices/%s/driver' % bdf,
                    '../../../bus/pci/drivers/%s' % driver)
        return True

    def __call__(self, system, rel, value):
        m = self.m
        parts = rel.split('/')
        if rel == 'bus/pci/drivers_probe':
            bdf = value.strip()
            if m.driver_of(bdf):
                return
            override = m.get('bus/pci/devices/%s/driver_override'
                             % bdf).strip()
            if override and override != '(null)':
                self._bind(bdf, override)      # failure is only in dmesg
            elif bdf in self.defaults:
                self._bind(bdf, self.defaults[bdf])
        elif rel.startswith('bus/pci/drivers/') and parts[-1] == 'unbind':
            bdf = value.strip()
            if m.driver_of(bdf) == parts[3] and bdf not in self.keep_bound:
                os.unlink(m.p('bus/pci/devices/%s/driver' % bdf))
        elif rel.startswith('bus/pci/drivers/') and parts[-1] == 'bind':
            if not self._bind(value.strip(), parts[3]):
                raise OSError(errno.EINVAL, 'Invalid argument')
        elif parts[-1] == 'driver_override':
            m.put(rel, (value.strip() or '(null)') + '\n')
        elif parts[-1] == 'nr_hugepages':
            # the pages a node can give; new pages are free
            want = int(value)
            got = want if self.max_pages is None else min(want, self.max_pages)
            m.put(rel, '%d\n' % got)
            m.put(rel[:-len('nr_hugepages')] + 'free_hugepages', '%d\n' % got)


@pytest.fixture
def machine(tmp_path, monkeypatch):
    m = FakeMachine(tmp_path)
    monkeypatch.setenv('XCAP_SYSFS_WRITE_LOG', m.log)
    for var in ('XCAP_SYSFS_ROOT', 'XCAP_PROC_ROOT'):
        monkeypatch.delenv(var, raising=False)
    return m


class Runner:
    """Plays the commands the tools run (modprobe, mount, helpers)."""

    def __init__(self, machine, modprobe_ok=True, mount_ok=True,
                 on_argv=None):
        self.m = machine
        self.modprobe_ok = modprobe_ok
        self.mount_ok = mount_ok
        self.on_argv = on_argv
        self.calls = []

    def __call__(self, system, argv):
        self.calls.append(argv)
        if self.on_argv:
            result = self.on_argv(argv)
            if result is not None:
                return result
        if argv[0] == 'modprobe':
            if not self.modprobe_ok:
                return 1, ('modprobe: FATAL: Module vfio-pci not found in '
                           'directory /lib/modules/6.1.0')
            if '-n' not in argv:
                self.m.load_vfio()
            return 0, ''
        if argv[0] == 'mount':
            if not self.mount_ok:
                return 32, 'mount: /dev/hugepages: permission denied.'
            with open(self.m.mounts_file, 'a') as f:
                f.write('nodev %s hugetlbfs rw,relatime,pagesize=2M 0 0\n'
                        % argv[-1])
            return 0, ''
        return 0, ''


def run_tool(capsys, tool, machine, *args, kernel=None, runner=None):
    """Run a tool's main() on the fake machine; (rc, stdout, stderr)."""
    capsys.readouterr()
    rc = tool.main(list(args) + machine.args(), kernel=kernel, runner=runner)
    out, err = capsys.readouterr()
    return rc, out, err
