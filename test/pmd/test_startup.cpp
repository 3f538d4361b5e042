/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The device EAL probed from --vdev at startup (main.cpp), with devargs
 * parsed from the command line. It lives until rte_eal_cleanup(), which
 * removes it through the vdev bus.
 */
#include <cstring>

#include "pmd_test.h"

namespace xcap::test {
namespace {

using Startup = PmdTest;

TEST_F(Startup, VdevFromCommandLine)
{
	const int id = rte_dma_get_dev_id_by_name("dma_xcap_emu0");
	ASSERT_GE(id, 0) << "--vdev=dma_xcap_emu0 was not probed";
	const auto dev = int16_t(id);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	EXPECT_EQ(info.max_vchans, 2);
	EXPECT_EQ(info.max_desc, 256);
	EXPECT_EQ(info.dev_capa & RTE_DMA_CAPA_DEV_TO_MEM, 0u);
	EXPECT_STREQ(info.dev_name, "dma_xcap_emu0");
	ASSERT_NE(card(dev), nullptr);
	EXPECT_GE(rte_dma_count_avail(), 1);

	ASSERT_EQ(rte_dma_stop(dev), 0); /* --gtest_repeat: left started last time */
	ASSERT_TRUE(configure(dev, 2, 256));
	ASSERT_EQ(rte_dma_start(dev), 0);
	uint8_t *buf = alloc(4096);
	ASSERT_NE(buf, nullptr);
	for (int i = 0; i < 1024; i++)
		buf[i] = uint8_t(i * 11);
	for (uint16_t v = 0; v < 2; v++) {
		ASSERT_EQ(rte_dma_copy(dev, v, iova(buf + 512 * v), iova(buf + 2048 + 512 * v), 512,
				       RTE_DMA_OP_FLAG_SUBMIT), 0);
		EXPECT_EQ(drain(dev, v, 1, 0).count, 1);
	}
	EXPECT_EQ(std::memcmp(buf, buf + 2048, 1024), 0);
	/* Left started on purpose: EAL cleanup has to take it down. */
}

} // namespace
} // namespace xcap::test
