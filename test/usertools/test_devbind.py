# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 xcap developers
"""usertools/xcap-devbind.py on fake machines (and --status on this one)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import (DEVBIND_TOOL, DPDK_DEVBIND, NIC_IDS, FakeKernel, Runner,
                      needs_devbind, run_tool, xd)

pytestmark = needs_devbind

CARD0 = '0000:03:00.0'
CARD1 = '0000:81:00.0'
NIC = '0000:03:00.1'
OVERRIDE0 = 'bus/pci/devices/%s/driver_override' % CARD0


def two_node_machine(m, vfio=True):
    """IOMMU on, a card on each NUMA node, each alone in its group, 2 MB
    pages free on both nodes."""
    m.add_iommu_unit('dmar0')
    m.add_iommu_unit('dmar1')
    m.add_node(0, nr=64)
    m.add_node(1, nr=64)
    m.add_card(CARD0, numa=0, group=14)
    m.add_card(CARD1, numa=1, group=40)
    if vfio:
        m.load_vfio()
    return m


def devbind(capsys, m, *args, **kw):
    return run_tool(capsys, xd, m, *args, **kw)


# ---- listing -----------------------------------------------------------------


def test_status_lists_cards_on_two_numa_nodes(machine, capsys):
    two_node_machine(machine)
    machine.add_driver('vfio-pci')
    rc, out, _ = devbind(capsys, machine, '--status-dev', 'xcap')
    assert rc == 0
    lines = [l for l in out.splitlines() if l.startswith('0000:')]
    assert len(lines) == 2
    first = next(l for l in lines if l.startswith(CARD0))
    second = next(l for l in lines if l.startswith(CARD1))
    assert '1ded:7c4a' in first and 'iommu_group=14' in first \
        and 'numa_node=0' in first
    assert 'iommu_group=40' in second and 'numa_node=1' in second
    assert 'Other xcap devices' in out          # unbound: no driver
    assert 'IOMMU: on (2 groups; dmar0 dmar1)' in out
    assert 'node 0: 64 reserved, 64 free; node 1: 64 reserved, 64 free' in out


def test_status_groups_cards_by_driver(machine, capsys):
    two_node_machine(machine)
    machine.add_card('0000:04:00.0', numa=0, group=15, driver='vfio-pci')
    machine.add_card('0000:05:00.0', numa=0, group=16, driver='pci-stub')
    rc, out, _ = devbind(capsys, machine, '--status-dev', 'xcap')
    assert rc == 0
    dpdk = out.split('xcap devices using DPDK-compatible driver')[1] \
        .split('\n\n')[0]
    kernel = out.split('xcap devices using kernel driver')[1].split('\n\n')[0]
    assert '0000:04:00.0' in dpdk and 'drv=vfio-pci' in dpdk
    assert '0000:05:00.0' in kernel and 'drv=pci-stub' in kernel


def test_status_json_fields(machine, capsys):
    two_node_machine(machine)
    machine.add_device(NIC, NIC_IDS, numa=0, group=14, driver='igb')
    rc, out, _ = devbind(capsys, machine, '--status', '--json')
    assert rc == 0
    doc = json.loads(out)
    assert doc['xcap_id'] == {'vendor': '0x1ded', 'device': '0x7c4a',
                              'class': '0x1280'}
    cards = {c['bdf']: c for c in doc['cards']}
    assert set(cards) == {CARD0, CARD1}
    c0 = cards[CARD0]
    assert c0['vendor'] == '0x1ded' and c0['device'] == '0x7c4a'
    assert c0['class'] == '0x128000'
    assert c0['driver'] is None and c0['driver_override'] is None
    assert c0['iommu_group'] == 14 and c0['numa_node'] == 0
    assert c0['transport'] == 'pci'
    assert c0['iommu_group_viable'] is False
    assert c0['iommu_group_members'] == [
        {'bdf': NIC, 'vendor': '0x8086', 'device': '0x1533',
         'class': '0x020000', 'driver': 'igb'}]
    assert cards[CARD1]['iommu_group_viable'] is True
    assert cards[CARD1]['hugepages_2m_node'] == {'reserved': 64, 'free': 64}
    assert doc['system']['iommu'] == {'enabled': True, 'groups': 2,
                                      'units': ['dmar0', 'dmar1']}
    assert doc['system']['vfio_pci_loaded'] is True
    assert doc['system']['noiommu_mode'] is False
    assert doc['system']['hugepages']['1']['2048kB'] == {'reserved': 64,
                                                        'free': 64}
    # fake root, no --devbind: dpdk-devbind.py's own classes are left out
    assert doc['other_devices'] is None


def test_non_xcap_devices_left_out(machine, capsys):
    two_node_machine(machine)
    machine.add_device(NIC, NIC_IDS, numa=0, driver='igb')
    # same class as the card (0x12, "baseband" to dpdk-devbind.py), other IDs
    machine.add_device('0000:05:00.0', ('8086', '0d5c', '0x120000'), numa=0)
    # our vendor, another device ID
    machine.add_device('0000:06:00.0', ('1ded', '0001', '0x128000'), numa=0)
    rc, out, _ = devbind(capsys, machine, '--status-dev', 'xcap')
    assert rc == 0
    for other in (NIC, '0000:05:00.0', '0000:06:00.0'):
        assert other not in out
    rc, out, _ = devbind(capsys, machine, '--status-dev', 'xcap', '--json')
    assert [c['bdf'] for c in json.loads(out)['cards']] == [CARD0, CARD1]


def test_no_cards_says_so(machine, capsys):
    machine.add_device(NIC, NIC_IDS, driver='igb')
    rc, out, _ = devbind(capsys, machine, '--status-dev', 'xcap')
    assert rc == 0
    assert 'No xcap cards detected' in out
    assert '--vdev=dma_xcap_emu0,copy_channels=2,capture_channels=1' in out
    rc, out, _ = devbind(capsys, machine, '--status', '--json')
    assert rc == 0 and json.loads(out)['cards'] == []


def test_ivshmem_only_with_flag_and_magic(machine, capsys):
    machine.add_group(3)
    machine.add_device('0000:00:04.0', ('1af4', '1110', '0x050000'), group=3,
                       resource2=(0x50414358).to_bytes(4, 'little') + b'\0' * 60)
    machine.add_device('0000:00:05.0', ('1af4', '1110', '0x050000'), group=3,
                       resource2=b'ABCD' + b'\0' * 60)
    rc, out, _ = devbind(capsys, machine, '--status-dev', 'xcap', '--json')
    assert json.loads(out)['cards'] == []
    rc, out, err = devbind(capsys, machine, '--status-dev', 'xcap', '--json',
                           '--include-ivshmem')
    cards = json.loads(out)['cards']
    assert [(c['bdf'], c['transport']) for c in cards] == \
        [('0000:00:04.0', 'ivshmem')]
    assert '0000:00:05.0' in err and 'not the xcap magic' in err


# ---- pre-flight checks -------------------------------------------------------


def test_no_iommu_refused_and_explained(machine, capsys):
    machine.add_node(0, nr=64)
    machine.load_vfio()
    machine.add_card(CARD0, numa=0)          # no iommu_groups at all
    rc, out, err = devbind(capsys, machine, '-b', 'vfio-pci', CARD0)
    assert rc == 1
    assert '[FAIL] IOMMU: No IOMMU group: the IOMMU is off' in out
    assert 'intel_iommu=on iommu=pt' in out and 'VT-d' in out
    assert 'update-grub' in out
    assert 'refusing to bind %s to vfio-pci' % CARD0 in err
    assert '--force' not in err     # forcing it would only fail the probe
    assert machine.writes() == []


def test_no_iommu_hint_for_amd(machine, capsys):
    machine.set_cpu('amd')
    machine.load_vfio()
    machine.add_card(CARD0, numa=0)
    rc, out, _ = devbind(capsys, machine, '--check', CARD0)
    assert rc == 1
    assert 'amd_iommu=on iommu=pt' in out
    assert 'intel_iommu=on' not in out


def test_iommu_asked_for_but_absent_points_at_bios(machine, capsys):
    machine.set_cmdline('root=/dev/sda1 intel_iommu=on iommu=pt')
    machine.load_vfio()
    machine.add_card(CARD0, numa=0)
    rc, out, _ = devbind(capsys, machine, '--check', CARD0)
    assert rc == 1
    assert 'booted with intel_iommu=on but found no IOMMU' in out
    assert 'BIOS' in out


def test_card_outside_any_group_while_iommu_on(machine, capsys):
    machine.load_vfio()
    machine.add_group(7)
    machine.add_card(CARD0, numa=0)
    rc, out, _ = devbind(capsys, machine, '--check', CARD0)
    assert rc == 1
    assert 'No IOMMU group: the IOMMU is on (1 group) but %s is in none' \
        % CARD0 in out


def test_noiommu_mode_warns_loudly_and_binds(machine, capsys):
    machine.set_noiommu(True)
    machine.load_vfio()
    machine.add_node(0, nr=64)
    machine.add_card(CARD0, numa=0)
    rc, out, err = devbind(capsys, machine, '-b', 'vfio-pci', CARD0,
                           kernel=FakeKernel(machine))
    assert rc == 0
    assert 'WARNING: VFIO is in UNSAFE no-IOMMU mode' in err
    assert '[WARN] IOMMU: No IOMMU group: there is no IOMMU, but VFIO\'s ' \
        'UNSAFE no-IOMMU mode is on' in out
    assert '[WARN] no-IOMMU mode' in out
    assert machine.driver_of(CARD0) == 'vfio-pci'
    # and --status says so too
    rc, out, err = devbind(capsys, machine, '--status-dev', 'xcap')
    assert 'VFIO no-IOMMU mode: ON (UNSAFE)' in out
    assert 'UNSAFE no-IOMMU mode' in err


def test_shared_group_with_kernel_driver_refused(machine, capsys):
    two_node_machine(machine)
    machine.add_device(NIC, NIC_IDS, numa=0, group=14, driver='igb')
    rc, out, err = devbind(capsys, machine, '-b', 'vfio-pci', CARD0)
    assert rc == 1
    assert "0000:03:00.1 [8086:1533 class 0200] is bound to kernel driver " \
        "'igb'" in out
    assert 'IOMMU group 14 is shared and not viable' in err
    assert '(--force binds anyway)' in err
    assert 'xcap-devbind.py -u 0000:03:00.1' in out
    assert 'xcap-devbind.py -b vfio-pci 0000:03:00.1' in out
    assert 'ACS' in out
    assert machine.writes() == []
    # --status points at it too
    rc, out, _ = devbind(capsys, machine, '--status-dev', 'xcap')
    assert 'Problems:' in out and "'igb'" in out


@pytest.mark.parametrize('driver', [None, 'vfio-pci', 'pci-stub'])
def test_shared_group_with_harmless_member_allowed(machine, capsys, driver):
    two_node_machine(machine)
    machine.add_device(NIC, NIC_IDS, numa=0, group=14, driver=driver)
    rc, out, _ = devbind(capsys, machine, '-b', 'vfio-pci', CARD0,
                         kernel=FakeKernel(machine))
    assert rc == 0, out
    assert '[ OK ] IOMMU group: group 14 is viable: also holds 0000:03:00.1' \
        in out
    assert machine.driver_of(CARD0) == 'vfio-pci'


def test_shared_group_with_bridge_allowed(machine, capsys):
    two_node_machine(machine)
    machine.add_device('0000:00:1c.0', ('8086', 'a110', '0x060400'), numa=0,
                       group=14, driver='pcieport')
    rc, out, _ = devbind(capsys, machine, '--check', CARD0)
    assert rc == 0
    assert '0000:00:1c.0 (pcieport)' in out


def test_force_binds_despite_shared_group(machine, capsys):
    two_node_machine(machine)
    machine.add_device(NIC, NIC_IDS, numa=0, group=14, driver='igb')
    rc, out, _ = devbind(capsys, machine, '-b', 'vfio-pci', '--force', CARD0,
                         kernel=FakeKernel(machine))
    assert rc == 0
    assert '--force: binding %s despite the failed checks' % CARD0 in out
    assert machine.driver_of(CARD0) == 'vfio-pci'
    assert machine.driver_of(NIC) == 'igb'


def test_vfio_loaded_by_modprobe(machine, capsys):
    two_node_machine(machine, vfio=False)
    runner = Runner(machine)
    rc, out, _ = devbind(capsys, machine, '-b', 'vfio-pci', CARD0,
                         kernel=FakeKernel(machine), runner=runner)
    assert rc == 0
    assert runner.calls == [['modprobe', 'vfio-pci']]
    assert '[ OK ] vfio-pci: was not loaded: loaded it' in out
    assert machine.driver_of(CARD0) == 'vfio-pci'
    assert machine.execs() == [['modprobe', 'vfio-pci']]


def test_vfio_not_loadable_refused(machine, capsys):
    two_node_machine(machine, vfio=False)
    runner = Runner(machine, modprobe_ok=False)
    rc, out, err = devbind(capsys, machine, '-b', 'vfio-pci', '--force', CARD0,
                           runner=runner)
    assert rc == 1            # not even --force: nothing to bind to
    assert 'modprobe vfio-pci failed (exit 1): modprobe: FATAL' in out
    assert 'linux-image-$(uname -r)' in out
    assert 'refusing to bind' in err
    assert machine.writes() == []


def test_check_does_not_load_vfio(machine, capsys):
    two_node_machine(machine, vfio=False)
    runner = Runner(machine)
    rc, out, _ = devbind(capsys, machine, '--check', CARD0, runner=runner)
    assert rc == 0
    assert runner.calls == [['modprobe', '-n', 'vfio-pci']]
    assert 'not loaded, but loadable' in out
    assert not os.path.exists(machine.p('module/vfio_pci'))


def test_hugepages_on_wrong_node_warned(machine, capsys):
    two_node_machine(machine)
    machine.add_node(1, nr=0)
    rc, out, _ = devbind(capsys, machine, '--check', CARD1)
    assert rc == 0             # a warning: binding does not need pages
    assert '[WARN] hugepages: pages on the wrong node: the card is on NUMA ' \
        'node 1, which has no free hugepages (node 0: 64 free)' in out
    assert 'xcap-setup' in out


def test_hugepages_none_at_all_warned(machine, capsys):
    two_node_machine(machine)
    machine.add_node(0, nr=0)
    machine.add_node(1, nr=0)
    rc, out, _ = devbind(capsys, machine, '--check', CARD0)
    assert rc == 0
    assert '[WARN] hugepages: no free hugepages on any node' in out


def test_check_all_cards_ok(machine, capsys):
    two_node_machine(machine)
    rc, out, _ = devbind(capsys, machine, '--check', '--json')
    assert rc == 0
    doc = json.loads(out)
    assert doc['ok'] is True
    assert [r['bdf'] for r in doc['check']] == [CARD0, CARD1]
    levels = {c['check']: c['level'] for c in doc['check'][1]['checks']}
    assert levels == {'IOMMU': 'ok', 'vfio-pci': 'ok', 'IOMMU group': 'ok',
                      'hugepages': 'ok'}


# ---- bind / unbind writes ----------------------------------------------------


def test_bind_from_kernel_driver_write_order(machine, capsys):
    two_node_machine(machine)
    machine.add_card('0000:04:00.0', numa=0, group=15, driver='pci-stub')
    bdf = '0000:04:00.0'
    rc, out, _ = devbind(capsys, machine, '-b', 'vfio-pci', bdf,
                         kernel=FakeKernel(machine))
    assert rc == 0
    assert machine.writes() == [
        ('bus/pci/devices/%s/driver_override' % bdf, 'vfio-pci'),
        ('bus/pci/drivers/pci-stub/unbind', bdf),
        ('bus/pci/drivers_probe', bdf),
    ]
    assert machine.driver_of(bdf) == 'vfio-pci'
    assert '%s bound to vfio-pci (was: pci-stub)' % bdf in out
    # the fake files hold what was written
    assert machine.get('bus/pci/drivers/pci-stub/unbind') == bdf
    assert machine.get('bus/pci/drivers_probe') == bdf


def test_bind_unbound_card_writes(machine, capsys):
    two_node_machine(machine)
    rc, _, _ = devbind(capsys, machine, '-b', 'vfio-pci', '03:00.0',
                       kernel=FakeKernel(machine))
    assert rc == 0
    assert machine.writes() == [(OVERRIDE0, 'vfio-pci'),
                                ('bus/pci/drivers_probe', CARD0)]


def test_bind_without_drivers_probe_uses_driver_bind(machine, capsys):
    two_node_machine(machine)
    os.unlink(machine.p('bus/pci/drivers_probe'))
    rc, _, _ = devbind(capsys, machine, '-b', 'vfio-pci', CARD0,
                       kernel=FakeKernel(machine))
    assert rc == 0
    assert machine.writes() == [(OVERRIDE0, 'vfio-pci'),
                                ('bus/pci/drivers/vfio-pci/bind', CARD0)]


def test_bind_two_cards_in_order(machine, capsys):
    two_node_machine(machine)
    rc, _, _ = devbind(capsys, machine, '-b', 'vfio-pci', '0000:*:00.0',
                       kernel=FakeKernel(machine))
    assert rc == 0
    assert [w[0] for w in machine.writes()] == [
        OVERRIDE0, 'bus/pci/drivers_probe',
        'bus/pci/devices/%s/driver_override' % CARD1, 'bus/pci/drivers_probe']


def test_bind_that_does_not_take_fails_and_restores(machine, capsys):
    two_node_machine(machine)
    machine.add_card('0000:04:00.0', numa=0, group=15, driver='pci-stub')
    bdf = '0000:04:00.0'
    kernel = FakeKernel(machine, fail_probe={'vfio-pci'},
                        defaults={bdf: 'pci-stub'})
    rc, out, err = devbind(capsys, machine, '-b', 'vfio-pci', bdf,
                           kernel=kernel)
    assert rc == 1
    assert 'binding %s to vfio-pci did not take: sysfs shows it bound to ' \
        'no driver afterwards' % bdf in err
    assert 'probe of %s failed with error -22' % bdf in err
    assert "Restored: %s is now bound to 'pci-stub'" % bdf in err
    assert machine.writes() == [
        ('bus/pci/devices/%s/driver_override' % bdf, 'vfio-pci'),
        ('bus/pci/drivers/pci-stub/unbind', bdf),
        ('bus/pci/drivers_probe', bdf),
        ('bus/pci/devices/%s/driver_override' % bdf, '\n'),
        ('bus/pci/drivers_probe', bdf),
    ]
    assert machine.driver_of(bdf) == 'pci-stub'


def test_bind_unverified_without_kernel_reaction(machine, capsys):
    """Plain files, nobody plays the kernel: the link never appears, and the
    tool must not claim success (dpdk-devbind.py would exit 0)."""
    two_node_machine(machine)
    rc, _, err = devbind(capsys, machine, '-b', 'vfio-pci', CARD0)
    assert rc == 1
    assert 'did not take' in err


def test_bind_write_error_reported(machine, capsys):
    two_node_machine(machine)
    os.unlink(machine.p('bus/pci/drivers_probe'))
    kernel = FakeKernel(machine, fail_probe={'vfio-pci'})
    rc, _, err = devbind(capsys, machine, '-b', 'vfio-pci', CARD0,
                         kernel=kernel)
    assert rc == 1
    assert 'cannot write' in err and 'Invalid argument' in err


def test_already_bound_is_a_no_op(machine, capsys):
    two_node_machine(machine)
    machine.add_card('0000:04:00.0', numa=0, group=15, driver='vfio-pci',
                     override='vfio-pci')
    rc, out, _ = devbind(capsys, machine, '-b', 'vfio-pci', '0000:04:00.0')
    assert rc == 0
    assert 'already bound to vfio-pci, nothing to do' in out
    assert machine.writes() == []


def test_unbind_writes_and_clears_override(machine, capsys):
    two_node_machine(machine)
    bdf = machine.add_card('0000:04:00.0', numa=0, group=15,
                           driver='vfio-pci', override='vfio-pci')
    rc, out, _ = devbind(capsys, machine, '-u', bdf,
                         kernel=FakeKernel(machine))
    assert rc == 0
    assert machine.writes() == [
        ('bus/pci/drivers/vfio-pci/unbind', bdf),
        ('bus/pci/devices/%s/driver_override' % bdf, '\n'),
    ]
    assert machine.driver_of(bdf) is None
    assert machine.get('bus/pci/devices/%s/driver_override' % bdf).strip() \
        in ('', '(null)')
    assert '%s unbound (was: vfio-pci)' % bdf in out


def test_unbind_unbound_card_clears_stale_override(machine, capsys):
    two_node_machine(machine)
    bdf = machine.add_card('0000:04:00.0', numa=0, group=15,
                           override='vfio-pci')
    rc, _, _ = devbind(capsys, machine, '-b', 'none', bdf,
                       kernel=FakeKernel(machine))
    assert rc == 0
    assert machine.writes() == [
        ('bus/pci/devices/%s/driver_override' % bdf, '\n')]


def test_unbind_that_does_not_take(machine, capsys):
    two_node_machine(machine)
    bdf = machine.add_card('0000:04:00.0', numa=0, group=15,
                           driver='vfio-pci', override='vfio-pci')
    rc, _, err = devbind(capsys, machine, '-u', bdf,
                         kernel=FakeKernel(machine, keep_bound={bdf}))
    assert rc == 1
    assert "did not take: it is still bound to 'vfio-pci'" in err


def test_unbind_refused_while_dpdk_app_holds_group(machine, capsys):
    two_node_machine(machine)
    bdf = machine.add_card('0000:04:00.0', numa=0, group=15,
                           driver='vfio-pci', override='vfio-pci')
    machine.put_proc('4242/comm', 'xcap-copy\n')
    os.makedirs(os.path.join(machine.proc, '4242', 'fd'))
    os.symlink('/dev/vfio/15', os.path.join(machine.proc, '4242', 'fd', '7'))
    rc, _, err = devbind(capsys, machine, '-u', bdf)
    assert rc == 1
    assert 'in use through /dev/vfio/15 by PID 4242 (xcap-copy)' in err
    assert machine.writes() == []


def test_unbind_dpdk_covers_cards(machine, capsys, monkeypatch):
    """dpdk-devbind.py's "-u dpdk" unbinds everything on a DPDK driver; it
    no longer sees the cards, so xcap-devbind.py adds them."""
    two_node_machine(machine)
    bdf = machine.add_card('0000:04:00.0', numa=0, group=15,
                           driver='vfio-pci', override='vfio-pci')
    db = xd.Devbind.load(DPDK_DEVBIND)
    calls = []
    monkeypatch.setattr(db.module, 'main',
                        lambda: calls.append(list(sys.argv[1:])))
    rc, _, _ = devbind(capsys, machine, '--devbind', DPDK_DEVBIND, '-u', 'dpdk',
                       kernel=FakeKernel(machine))
    assert rc == 0
    assert calls == [['-b', 'none', 'dpdk']]
    assert machine.writes() == [
        ('bus/pci/drivers/vfio-pci/unbind', bdf),
        ('bus/pci/devices/%s/driver_override' % bdf, '\n')]


def test_other_driver_for_card_needs_force(machine, capsys):
    two_node_machine(machine)
    rc, _, err = devbind(capsys, machine, '-b', 'uio_pci_generic', CARD0)
    assert rc == 1
    assert 'driven from user space through vfio-pci' in err
    assert machine.writes() == []


def test_dry_run_writes_nothing(machine, capsys):
    two_node_machine(machine)
    rc, out, _ = devbind(capsys, machine, '-b', 'vfio-pci', '--dry-run', CARD0)
    assert rc == 0
    assert 'dry run: would bind' in out
    entries = machine.log_entries()
    assert [e['path'] for e in entries] == [OVERRIDE0, 'bus/pci/drivers_probe']
    assert all(e['dry_run'] for e in entries)
    assert machine.get(OVERRIDE0).strip() == '(null)'


def test_bind_json_report(machine, capsys):
    two_node_machine(machine)
    rc, out, _ = devbind(capsys, machine, '-b', 'vfio-pci', '--json', CARD0,
                         kernel=FakeKernel(machine))
    assert rc == 0
    doc = json.loads(out)
    assert doc['ok'] is True
    (res,) = doc['bind']
    assert res['bdf'] == CARD0 and res['ok'] and res['changed']
    assert res['previous_driver'] is None


def test_unknown_device_with_fake_root(machine, capsys):
    two_node_machine(machine)
    rc, _, err = devbind(capsys, machine, '-b', 'vfio-pci', '0000:99:00.0')
    assert rc == 2
    assert 'not xcap cards: 0000:99:00.0' in err


# ---- dpdk-devbind.py integration -------------------------------------------


def test_devbind_loaded_as_module_not_copied():
    db = xd.Devbind.load(DPDK_DEVBIND)
    assert db.module.__file__ == DPDK_DEVBIND
    # its matcher is what classifies the cards
    card = {'Class': '1280', 'Vendor': '1ded', 'Device': '7c4a',
            'SVendor': '1ded', 'SDevice': '0000'}
    assert db.match(card, xd.XCAP_TYPE)
    # and stock dpdk-devbind.py would have filed the card under baseband
    assert db.module.device_type_match(card, db.module.baseband_devices)


def test_missing_devbind_is_explained(machine, capsys):
    rc, _, err = devbind(capsys, machine, '--status',
                         '--devbind', '/nonexistent/dpdk-devbind.py')
    assert rc == 2
    assert '--devbind /nonexistent/dpdk-devbind.py: no such file' in err


def test_other_devices_passed_to_devbind_first(machine, capsys, monkeypatch):
    two_node_machine(machine)
    machine.add_device(NIC, NIC_IDS, numa=0, group=14, driver='igb')
    db = xd.Devbind.load(DPDK_DEVBIND)
    calls = []

    def fake_main():
        calls.append(list(sys.argv[1:]))
        # what dpdk-devbind.py would do to the NIC, in the fake tree
        os.unlink(machine.p('bus/pci/devices/%s/driver' % NIC))
        machine.link('bus/pci/devices/%s/driver' % NIC,
                     '../../../bus/pci/drivers/vfio-pci')
    monkeypatch.setattr(db.module, 'main', fake_main)
    rc, out, _ = devbind(capsys, machine, '--devbind', DPDK_DEVBIND,
                         '-b', 'vfio-pci', NIC, CARD0,
                         kernel=FakeKernel(machine))
    assert rc == 0, out
    assert calls == [['-b', 'vfio-pci', NIC]]
    # the NIC moved first, so the card's group became viable
    assert machine.driver_of(CARD0) == 'vfio-pci'


FAKE_LSPCI = r'''#!/bin/sh
cat <<'EOF'
Slot:	0000:03:00.0
Class:	Processing accelerators [1200]
Vendor:	Device [1ded]
Device:	Device [7c4a]
SVendor:	Device [1ded]
SDevice:	Device [0000]

Slot:	0000:05:00.0
Class:	Processing accelerators [1200]
Vendor:	Intel Corporation [8086]
Device:	Device [0d5c]

Slot:	0000:03:00.1
Class:	Ethernet controller [0200]
Vendor:	Intel Corporation [8086]
Device:	I210 Gigabit Network Connection [1533]
Driver:	igb
Module:	igb

EOF
'''


def test_status_hides_cards_from_devbind_baseband(machine, capsys, tmp_path,
                                                   monkeypatch):
    """The real dpdk-devbind.py, fed by a fake lspci: the card is listed once,
    in the xcap section, and not under Baseband; other devices stay
    dpdk-devbind.py's."""
    two_node_machine(machine)
    machine.add_device(NIC, NIC_IDS, numa=0, driver='igb')
    machine.add_device('0000:05:00.0', ('8086', '0d5c', '0x120000'), numa=0)
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    lspci = bindir / 'lspci'
    lspci.write_text(FAKE_LSPCI)
    lspci.chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    rc, out, _ = devbind(capsys, machine, '--status', '--devbind', DPDK_DEVBIND)
    assert rc == 0
    baseband = out.split('Baseband devices')[1].split('\n\n')[0]
    assert '0000:05:00.0' in baseband
    assert CARD0 not in baseband
    assert out.count(CARD0) == 1
    xcap = out.split('Other xcap devices')[1]
    assert CARD0 in xcap
    assert NIC in out.split('Network devices using kernel driver')[1]
    rc, out, _ = devbind(capsys, machine, '--status', '--json',
                         '--devbind', DPDK_DEVBIND)
    doc = json.loads(out)
    assert [d['bdf'] for d in doc['other_devices']['baseband']] == \
        ['0000:05:00.0']
    assert [d['bdf'] for d in doc['other_devices']['net']] == [NIC]


# ---- the command line, as a user runs it ---------------------------------------


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith('XCAP_')}
    env.update(extra)
    return env


def test_cli_env_sysfs_root_and_write_log(machine):
    two_node_machine(machine)
    proc = subprocess.run(
        [sys.executable, DEVBIND_TOOL, '-b', 'vfio-pci', '--dry-run', CARD1],
        env=clean_env(XCAP_SYSFS_ROOT=machine.sys, XCAP_PROC_ROOT=machine.proc,
                      XCAP_SYSFS_WRITE_LOG=machine.log),
        capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert [(e['path'], e['value']) for e in machine.log_entries()] == [
        ('bus/pci/devices/%s/driver_override' % CARD1, 'vfio-pci'),
        ('bus/pci/drivers_probe', CARD1)]


def test_cli_status_on_this_machine():
    """--status on the real /sys: exit 0; without a card it says so."""
    env = clean_env()
    proc = subprocess.run([sys.executable, DEVBIND_TOOL, '--status', '--json'],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc['sysfs_root'] == '/sys'
    assert isinstance(doc['cards'], list)
    proc = subprocess.run([sys.executable, DEVBIND_TOOL, '--status'],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    if not doc['cards']:
        assert 'No xcap cards detected' in proc.stdout
    else:
        assert doc['cards'][0]['bdf'] in proc.stdout
    assert 'xcap prerequisites' in proc.stdout


def test_cli_usage_errors():
    proc = subprocess.run([sys.executable, DEVBIND_TOOL, '-b', 'vfio-pci'],
                          env=clean_env(), capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2
    assert 'no devices given' in proc.stderr


def test_bind_on_real_sysfs_needs_root(capsys, monkeypatch):
    # a BDF that does not exist: even a broken check could not touch a device
    monkeypatch.setattr(xd.os, 'geteuid', lambda: 1000)
    rc = xd.main(['-b', 'vfio-pci', '0000:ff:1f.7', '--sysfs-root', '/sys'])
    err = capsys.readouterr().err
    assert rc == 2
    assert 'run as root' in err and '--dry-run' in err
