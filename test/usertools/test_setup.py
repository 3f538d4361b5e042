# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 xcap developers
"""usertools/xcap-setup: sizing arithmetic, per-node reservations, mounting,
idempotence, on fake machines."""

import json
import subprocess
import sys

import pytest

from conftest import SETUP_TOOL, FakeKernel, Runner, run_tool, xs

MIB = 1024 * 1024
NR = 'devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages'
# the defaults, by hand: 4 rings of 1024 entries (32 KiB descriptors, 8 KiB
# completions, 1024 x 2 x 16 x 16 B SG table), 1024 buffers of 64 KiB
DEFAULT_CARD = 4 * (32768 + 8192 + 524288) + 1024 * 65536


def run_setup(capsys, m, *args, **kw):
    return run_tool(capsys, xs, m, '--mounts', m.mounts_file, *args, **kw)


# ---- sizing ------------------------------------------------------------------


@pytest.mark.parametrize('ring_size,entries,nbytes', [
    (1024, 1024, 32768 + 8192),
    (1000, 1024, 32768 + 8192),          # rings are 2^n entries
    (2, 2, 4096 + 4096),                 # each ring at least one 4 KiB page
    (129, 256, 8192 + 4096),             # 256 x 32 = 8 KiB, 256 x 8 = 2 KiB -> 4 KiB
    (32768, 32768, 1 * MIB + 256 * 1024),
])
def test_ring_sizing(ring_size, entries, nbytes):
    assert xs.ring_entries(ring_size) == entries
    assert xs.ring_bytes(ring_size) == nbytes


def test_sg_table_sizing():
    assert xs.sg_bytes(1024, 16) == 1024 * 2 * 16 * 16
    assert xs.sg_bytes(1000, 1) == 1024 * 2 * 16      # 2^n entries
    assert xs.sg_bytes(1024, 0) == 0


def test_card_and_node_sizing():
    assert xs.card_bytes(4, 1024, 1024, 65536) == DEFAULT_CARD
    # buffers are rounded up to 64 B
    assert xs.card_bytes(1, 2, 10, 100, max_sge=0) == 8192 + 10 * 128
    assert xs.card_bytes(3, 1024, 0, 65536, max_sge=0) == 3 * 40960
    assert xs.card_bytes(3, 1024, 0, 65536, max_sge=1) == 3 * (40960 + 32768)
    # default: 64 MiB base + 66.16 MiB card = 130.16 MiB -> 66 pages
    assert xs.node_bytes(1, DEFAULT_CARD, 64, 0) == 64 * MIB + DEFAULT_CARD
    assert xs.pages_for(xs.node_bytes(1, DEFAULT_CARD, 64, 0)) == 66
    # two cards on one node share one base: 196.31 MiB -> 99 pages
    assert xs.pages_for(xs.node_bytes(2, DEFAULT_CARD, 64, 0)) == 99
    # exact multiples are not rounded up, one byte more is
    assert xs.pages_for(4 * MIB) == 2 and xs.pages_for(4 * MIB + 1) == 3
    assert xs.pages_for(xs.node_bytes(0, 0, 64, 10)) == 37


# ---- reservations --------------------------------------------------------------


def two_node_machine(m, nr0=0, nr1=0):
    m.add_node(0, nr=nr0)
    m.add_node(1, nr=nr1)
    m.add_card('0000:03:00.0', numa=0, group=14)
    m.add_card('0000:81:00.0', numa=1, group=40)
    return m


def test_reserves_per_node_for_cards_on_two_nodes(machine, capsys):
    two_node_machine(machine)
    rc, out, err = run_setup(capsys, machine, kernel=FakeKernel(machine))
    assert rc == 0, err
    assert machine.writes() == [(NR % 0, '66'), (NR % 1, '66')]
    assert 'node 0: 64 MiB base + 1 x 66.16 MiB + 0 MiB extra = 130.16 MiB ' \
        '-> 66 pages of 2 MB' in out
    assert 'node 1: 0 pages reserved, 66 needed: wrote 66 to' in out
    assert 'card 0000:81:00.0: node 1 has 66 of the 66 pages its cards ' \
        'need: ok' in out
    assert machine.get(NR % 1).strip() == '66'


def test_options_change_the_sizing(machine, capsys):
    machine.add_node(0)
    machine.add_card('0000:03:00.0', numa=0, group=14)
    machine.add_card('0000:04:00.0', numa=0, group=15)
    rc, _, _ = run_setup(capsys, machine, '--rings', '8', '--ring-size', '4096',
                     '--buffers', '100', '--buffer-size', '1000',
                     '--base-mb', '32', '--extra-mb', '100',
                     kernel=FakeKernel(machine))
    assert rc == 0
    card = 8 * (131072 + 32768 + 4096 * 512) + 100 * 1024
    want = xs.pages_for(32 * MIB + 2 * card + 100 * MIB)
    assert machine.writes() == [(NR % 0, str(want))]


def test_no_cards_reserves_for_emulated_card_on_node0(machine, capsys):
    machine.add_node(0)
    machine.add_node(1)
    rc, out, _ = run_setup(capsys, machine, kernel=FakeKernel(machine))
    assert rc == 0
    assert 'no xcap card found: reserving for the emulated card ' \
        '(--vdev=dma_xcap_emu0,copy_channels=2,capture_channels=1) on node 0' \
        in out
    assert machine.writes() == [(NR % 0, '66')]


def test_idempotent(machine, capsys):
    two_node_machine(machine)
    kernel = FakeKernel(machine)
    rc, _, _ = run_setup(capsys, machine, kernel=kernel)
    assert rc == 0 and len(machine.writes()) == 2
    machine.clear_log()
    rc, out, _ = run_setup(capsys, machine, kernel=kernel)
    assert rc == 0
    assert machine.log_entries() == []
    assert 'Nothing changed' in out
    assert 'node 0: 66 pages reserved, 66 needed: ok, unchanged' in out


def test_never_takes_pages_away(machine, capsys):
    two_node_machine(machine, nr0=512, nr1=10)
    rc, out, _ = run_setup(capsys, machine, kernel=FakeKernel(machine))
    assert rc == 0
    assert machine.writes() == [(NR % 1, '66')]
    assert machine.get(NR % 0).strip() == '512'


def test_card_without_numa_node_counted_on_node0(machine, capsys):
    machine.add_node(0)
    machine.add_card('0000:03:00.0', numa=-1, group=14)
    rc, out, _ = run_setup(capsys, machine, kernel=FakeKernel(machine))
    assert rc == 0
    assert 'reports no NUMA node: counting it on node 0' in out
    assert machine.writes() == [(NR % 0, '66')]


def test_machine_without_numa_uses_global_pool(machine, capsys):
    machine.put('kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', '0\n')
    machine.put('kernel/mm/hugepages/hugepages-2048kB/free_hugepages', '0\n')
    machine.add_card('0000:03:00.0', numa=-1, group=14)
    rc, _, err = run_setup(capsys, machine, kernel=FakeKernel(machine))
    assert rc == 0, err
    assert machine.writes() == [
        ('kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', '66')]


def test_kernel_gives_fewer_pages(machine, capsys):
    two_node_machine(machine)
    rc, _, err = run_setup(capsys, machine, kernel=FakeKernel(machine,
                                                          max_pages=40))
    assert rc == 1
    assert 'node 0: needs 66 2 MB pages, the kernel reserved only 40' in err
    assert 'hugepages=0:66' in err and 'compact_memory' in err


def test_pages_in_use_warned(machine, capsys):
    machine.add_node(0, nr=66, free=10)
    machine.add_card('0000:03:00.0', numa=0, group=14)
    rc, out, _ = run_setup(capsys, machine)
    assert rc == 0
    assert 'only 10 of the 66 reserved pages are free' in out
    assert machine.writes() == []


def test_dry_run_changes_nothing(machine, capsys):
    two_node_machine(machine)
    machine.set_mounts(hugetlbfs=False)
    rc, out, _ = run_setup(capsys, machine, '--dry-run')
    assert rc == 0
    assert machine.get(NR % 0).strip() == '0'
    assert all(e.get('dry_run') or e.get('not_run')
               for e in machine.log_entries())
    assert 'would write 66' in out and 'Dry run: nothing changed.' in out


def test_dpdk_hugepages_helper_command(machine, capsys):
    """With dpdk-hugepages.py (the default on a real machine) the
    reservation is its --node/--reserve, and the result is re-read."""
    two_node_machine(machine)

    def play(argv):
        if 'dpdk-hugepages.py' in argv[1]:
            node = int(argv[argv.index('--node') + 1])
            pages = int(argv[argv.index('--reserve') + 1][:-1]) // 2
            machine.put(NR % node, '%d\n' % pages)
            return 0, ''
        return None
    runner = Runner(machine, on_argv=play)
    rc, out, err = run_setup(capsys, machine, '--method', 'dpdk-hugepages',
                         '--hugepages-tool', '/usr/bin/dpdk-hugepages.py',
                         runner=runner)
    assert rc == 0, err
    assert runner.calls == [
        [sys.executable, '/usr/bin/dpdk-hugepages.py', '--pagesize', '2M',
         '--node', '0', '--reserve', '132M'],
        [sys.executable, '/usr/bin/dpdk-hugepages.py', '--pagesize', '2M',
         '--node', '1', '--reserve', '132M']]
    assert machine.writes() == []
    assert 'ran: dpdk-hugepages.py --pagesize 2M --node 1 --reserve 132M' in out


def test_hugeadm_refused_on_two_nodes(machine, capsys):
    two_node_machine(machine)
    rc, _, err = run_setup(capsys, machine, '--method', 'hugeadm')
    assert rc == 2
    assert 'hugeadm has no per-node pools' in err


def test_missing_node_pool_reported(machine, capsys):
    machine.add_node(0, nr=100)
    machine.add_card('0000:81:00.0', numa=3, group=40)
    rc, _, err = run_setup(capsys, machine)
    assert rc == 1
    assert 'node 3: no 2 MB hugepage pool in sysfs' in err


# ---- hugetlbfs ---------------------------------------------------------------


def test_mounts_hugetlbfs_when_missing(machine, capsys):
    machine.add_node(0, nr=100)
    machine.set_mounts(hugetlbfs=False)
    runner = Runner(machine)
    rc, out, _ = run_setup(capsys, machine, runner=runner)
    assert rc == 0
    assert runner.calls == [
        ['mkdir', '-p', '/dev/hugepages'],
        ['mount', '-t', 'hugetlbfs', '-o', 'pagesize=2M', 'nodev',
         '/dev/hugepages']]
    assert 'hugetlbfs: mounted /dev/hugepages: ok' in out
    # and now there is nothing left to do
    machine.clear_log()
    rc, out, _ = run_setup(capsys, machine, runner=runner)
    assert rc == 0 and machine.log_entries() == []
    assert 'hugetlbfs: 2 MB pages mounted at /dev/hugepages: ok' in out


def test_mount_not_run_on_fake_root_without_runner(machine, capsys):
    machine.add_node(0, nr=100)
    machine.set_mounts(hugetlbfs=False)
    rc, out, _ = run_setup(capsys, machine)
    assert rc == 0
    assert machine.execs()[-1] == ['mount', '-t', 'hugetlbfs', '-o',
                                   'pagesize=2M', 'nodev', '/dev/hugepages']
    assert 'not run (sysfs root is not /sys)' in out


def test_mount_failure_reported(machine, capsys):
    machine.add_node(0, nr=100)
    machine.set_mounts(hugetlbfs=False)
    rc, _, err = run_setup(capsys, machine, runner=Runner(machine, mount_ok=False))
    assert rc == 1
    assert 'mounting hugetlbfs at /dev/hugepages failed: mount: ' in err


def test_mountpoint_taken_by_1g_pages(machine, capsys):
    machine.add_node(0, nr=100)
    machine.set_mounts(hugetlbfs=False, extra='nodev /dev/hugepages hugetlbfs '
                       'rw,relatime,pagesize=1024M 0 0\n')
    rc, _, err = run_setup(capsys, machine)
    assert rc == 1
    assert '/dev/hugepages is a hugetlbfs mount for 1048576 kB pages' in err
    assert '--mountpoint /dev/hugepages-2M' in err


def test_mount_without_pagesize_uses_default_size():
    mounts = ('hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n'
              'none /mnt/huge\\0401G hugetlbfs rw,pagesize=1G 0 0\n')
    assert xs.hugetlbfs_mounts(mounts, 2048) == [
        ('/dev/hugepages', 2048), ('/mnt/huge 1G', 1048576)]


# ---- output ------------------------------------------------------------------


def test_json_report(machine, capsys):
    two_node_machine(machine, nr1=80)
    rc, out, _ = run_setup(capsys, machine, '--json', kernel=FakeKernel(machine))
    assert rc == 0
    doc = json.loads(out)
    assert doc['ok'] is True and doc['changed'] is True
    assert doc['method'] == 'sysfs'
    assert doc['sizing']['card_bytes'] == DEFAULT_CARD
    assert doc['nodes']['0']['action'] == 'reserved'
    assert doc['nodes']['0']['pages_needed'] == 66
    assert doc['nodes']['0']['reserved_after'] == 66
    assert doc['nodes']['1']['action'] == 'none'
    assert doc['nodes']['1']['reserved_before'] == 80
    assert [c['node'] for c in doc['cards']] == [0, 1]


def test_cli_bad_option_value():
    proc = subprocess.run([sys.executable, SETUP_TOOL, '--ring-size', '1'],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert 'out of range [2, 32768]' in proc.stderr


def test_cli_env_sysfs_root(machine):
    two_node_machine(machine)
    env = {'PATH': '/usr/bin:/bin', 'XCAP_SYSFS_ROOT': machine.sys,
           'XCAP_PROC_ROOT': machine.proc, 'XCAP_SYSFS_WRITE_LOG': machine.log}
    proc = subprocess.run([sys.executable, SETUP_TOOL, '--rings', '1',
                           '--buffers', '0', '--base-mb', '2'],
                          env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    # 2 MiB base + one 40 KiB ring and its 512 KiB SG table -> 2 pages each
    assert machine.writes() == [(NR % 0, '2'), (NR % 1, '2')]


def test_emulated_card_added_next_to_real_ones(machine, capsys):
    machine.add_node(0)
    machine.add_node(1)
    machine.add_card('0000:81:00.0', numa=1, group=40)
    rc, out, _ = run_setup(capsys, machine, '--emulated',
                           kernel=FakeKernel(machine))
    assert rc == 0
    assert 'emulated card (--emulated): node 0' in out
    assert machine.writes() == [(NR % 0, '66'), (NR % 1, '66')]
