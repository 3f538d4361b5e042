/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * main() of xcap-pmd-test (test/common/eal_gtest_main.h). Devices are created
 * by the tests themselves (rte_vdev_init), except dma_xcap_emu0, which EAL
 * probes from --vdev (test_startup.cpp checks it) and removes at cleanup.
 */
#include "../common/eal_gtest_main.h"

int main(int argc, char **argv)
{
	return xcap::test::eal_gtest_main(argc, argv, "xcap-pmd-test", {
		"--log-level=pmd.dma.xcap:info",
		"--vdev=dma_xcap_emu0,copy_channels=2,capture_channels=0,max_ring=256",
	});
}
