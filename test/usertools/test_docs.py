# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 xcap developers
"""docs/getting-started.md shows only options the tools have."""

import os
import re

import pytest

from conftest import ROOT, xd, xs

DOC = os.path.join(ROOT, 'docs', 'getting-started.md')


def doc_options(tool):
    """Options shown right after the tool's name in the doc's commands."""
    found = set()
    with open(DOC) as f:
        for line in f:
            for m in re.finditer(re.escape(tool) + r'([^`#|]*)', line):
                found.update(re.findall(r'(?<![\w-])(--?[a-z][\w-]*)',
                                        m.group(1)))
    return found


def help_text(module, capsys):
    with pytest.raises(SystemExit):
        module.parse_args(['--help'])
    return capsys.readouterr().out


@pytest.mark.parametrize('tool,module', [('xcap-devbind.py', xd),
                                         ('xcap-setup', xs)])
def test_doc_options_exist(tool, module, capsys):
    options = doc_options(tool)
    assert options, 'no %s commands found in the doc' % tool
    text = help_text(module, capsys)
    missing = sorted(o for o in options
                     if not re.search(r'(?<![\w-])%s\b' % re.escape(o), text))
    assert missing == []


def test_doc_has_sections_and_telemetry_commands():
    with open(DOC) as f:
        text = f.read()
    for needle in ('intel_iommu=on iommu=pt', 'amd_iommu=on', 'VT-d',
                   'No IOMMU group', 'vfio-pci: probe failed',
                   'wrong node', '0xFFFFFFFF', 'DMAR',
                   '--vdev=dma_xcap_emu0,copy_channels=2,capture_channels=1',
                   '-a 0000:81:00.0', '## Telemetry', 'dpdk-telemetry.py -f',
                   '/xcap/cards', '/xcap/info', '/xcap/channel', '/xcap/occupancy',
                   '/xcap/errors', '/xcap/capture_drops'):
        assert needle in text, needle
