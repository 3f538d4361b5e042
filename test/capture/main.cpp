/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * main() of xcap-capture-test (test/common/eal_gtest_main.h). Cards and
 * streams are created by the tests.
 */
#include "../common/eal_gtest_main.h"

int main(int argc, char **argv)
{
	return xcap::test::eal_gtest_main(argc, argv, "xcap-capture-test",
					  {"--log-level=pmd.dma.xcap:warning"});
}
