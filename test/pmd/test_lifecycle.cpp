/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Channel state, stop/start with work in flight, dumps, and a card that
 * vanishes from the bus.
 */
#include <cerrno>
#include <cstring>

#include <rte_memzone.h>

#include "pmd_test.h"

namespace xcap::test {
namespace {

using Lifecycle = PmdTest;

enum rte_dma_vchan_status vchan_status(int16_t dev, uint16_t vchan, int *ret = nullptr)
{
	/* Not one a healthy idle/active channel reports: must be overwritten. */
	enum rte_dma_vchan_status st = RTE_DMA_VCHAN_HALTED_ERROR;
	const int r = rte_dma_vchan_status(dev, vchan, &st);
	if (ret)
		*ret = r;
	else
		EXPECT_EQ(r, 0);
	return st;
}

TEST_F(Lifecycle, VchanStatusIdleActiveIdle)
{
	const int16_t dev = start_card("capture_channels=0", 1, 64);
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	uint8_t *buf = alloc(2 * 4096);
	ASSERT_NE(buf, nullptr);
	EXPECT_EQ(vchan_status(dev, 0), RTE_DMA_VCHAN_IDLE);

	ASSERT_TRUE(stall(c, 0));
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 4096, 0), i);
	/* Enqueued, not submitted: the card has nothing to do. */
	EXPECT_EQ(vchan_status(dev, 0), RTE_DMA_VCHAN_IDLE);
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	for (int k = 0; k < 5; k++) {
		EXPECT_EQ(vchan_status(dev, 0), RTE_DMA_VCHAN_ACTIVE);
		uint16_t last;
		bool err;
		EXPECT_EQ(rte_dma_completed(dev, 0, 8, &last, &err), 0);
	}
	c->set_stall(0, false);
	const Drained d = drain(dev, 0, 5, 0);
	ASSERT_FALSE(d.timed_out);
	EXPECT_EQ(d.count, 5);
	enum rte_dma_vchan_status st = RTE_DMA_VCHAN_ACTIVE;
	EXPECT_TRUE(poll_until([&] {
		st = vchan_status(dev, 0);
		return st == RTE_DMA_VCHAN_IDLE;
	})) << "status " << st;
	int ret = 0;
	vchan_status(dev, 1, &ret);
	EXPECT_EQ(ret, -EINVAL);
	EXPECT_EQ(rte_dma_vchan_status(dev, 0, nullptr), -EINVAL);
}

/* Stop with 100 ops in flight on a stalled channel; each op ends up either
 * done or aborted, and a restart starts over from id 0. */
TEST_F(Lifecycle, StopStartWithOpsInFlight)
{
	constexpr unsigned kOps = 100, kLen = 512;
	const int16_t dev = start_card("capture_channels=0", 1, 128);
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	uint8_t *src = alloc(kOps * kLen);
	uint8_t *dst = alloc(kOps * kLen);
	ASSERT_TRUE(src && dst);
	for (unsigned i = 0; i < kOps * kLen; i++)
		src[i] = uint8_t(i * 7 + i / kLen);

	for (unsigned round = 0; round < 2; round++) {
		SCOPED_TRACE(round == 0 ? "stalled" : "running");
		std::memset(dst, 0, kOps * kLen);
		ASSERT_EQ(rte_dma_stats_reset(dev, 0), 0);
		if (round == 0) {
			ASSERT_TRUE(stall(c, 0));
		}
		/* Round 0 starts on a fresh device, round 1 after round 0's restart
		 * check used ids 0..9. */
		const unsigned base = round == 0 ? 0 : 10;
		for (unsigned i = 0; i < kOps; i++)
			ASSERT_EQ(rte_dma_copy(dev, 0, iova(src + i * kLen), iova(dst + i * kLen), kLen,
					       i == kOps - 1 ? RTE_DMA_OP_FLAG_SUBMIT : 0), int(base + i));
		/* A stalled card does not quiesce in time (HW §7.3): stop says so
		 * and keeps the device started; once the card lets go, it stops. */
		if (round == 0) {
			ASSERT_EQ(rte_dma_stop(dev), -ETIMEDOUT);
			EXPECT_EQ(rte_dma_close(dev), -EBUSY);
			c->set_stall(0, false);
		}
		ASSERT_EQ(rte_dma_stop(dev), 0);
		uint16_t last = 0;
		const auto st = drain_status(dev, 0, kOps, &last);
		ASSERT_EQ(st.size(), kOps);
		EXPECT_EQ(last, base + kOps - 1);
		unsigned ok = 0, aborted = 0;
		for (unsigned i = 0; i < kOps; i++) {
			if (st[i] == RTE_DMA_STATUS_SUCCESSFUL) {
				EXPECT_EQ(aborted, 0u) << "op " << i << " succeeded after an aborted one";
				EXPECT_EQ(std::memcmp(src + i * kLen, dst + i * kLen, kLen), 0) << "op " << i;
				ok++;
			} else {
				EXPECT_EQ(st[i], RTE_DMA_STATUS_USER_ABORT)
					<< "op " << i << ": " << status_name(st[i]);
				aborted++;
			}
		}
		EXPECT_EQ(ok + aborted, kOps);
		RecordProperty(round == 0 ? "stalled_aborted" : "running_aborted", int(aborted));
		rte_dma_stats stats{};
		ASSERT_EQ(rte_dma_stats_get(dev, 0, &stats), 0);
		EXPECT_EQ(stats.completed, kOps);
		EXPECT_EQ(stats.errors, aborted);

		ASSERT_EQ(rte_dma_start(dev), 0);
		ASSERT_EQ(rte_dma_stats_get(dev, 0, &stats), 0);
		EXPECT_EQ(stats.submitted, 0u);
		EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 128);
		std::memset(dst, 0, kOps * kLen);
		for (unsigned i = 0; i < 10; i++)
			ASSERT_EQ(rte_dma_copy(dev, 0, iova(src + i * kLen), iova(dst + i * kLen), kLen,
					       i == 9 ? RTE_DMA_OP_FLAG_SUBMIT : 0), int(i))
				<< "ids restart at 0";
		const Drained d = drain(dev, 0, 10, 0);
		EXPECT_EQ(d.count, 10);
		EXPECT_FALSE(d.has_error);
		EXPECT_EQ(std::memcmp(src, dst, 10 * kLen), 0);
	}
}

TEST_F(Lifecycle, RepeatedRestarts)
{
	const int16_t dev = start_card("copy_channels=2,capture_channels=0", 2, 16);
	ASSERT_GE(dev, 0);
	uint8_t *buf = alloc(2 * 1024);
	ASSERT_NE(buf, nullptr);
	for (int cycle = 0; cycle < 5; cycle++) {
		SCOPED_TRACE("cycle " + std::to_string(cycle));
		for (int i = 0; i < 1024; i++)
			buf[i] = uint8_t(i + cycle);
		for (uint16_t v = 0; v < 2; v++) {
			ASSERT_EQ(rte_dma_copy(dev, v, iova(buf + 512 * v), iova(buf + 1024 + 512 * v),
					       512, RTE_DMA_OP_FLAG_SUBMIT), 0);
			EXPECT_EQ(drain(dev, v, 1, 0).count, 1);
		}
		EXPECT_EQ(std::memcmp(buf, buf + 1024, 1024), 0);
		ASSERT_EQ(rte_dma_stop(dev), 0);
		ASSERT_EQ(rte_dma_stop(dev), 0); /* stopping twice is harmless */
		ASSERT_EQ(rte_dma_start(dev), 0);
	}
}

/* Tearing down a started device with a stalled channel full of work. */
TEST_F(Lifecycle, UninitWithWorkInFlight)
{
	const int16_t dev = start_card("capture_channels=0", 1, 64);
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	ASSERT_TRUE(stall(c, 0));
	for (int i = 0; i < 64; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 4096, 0), i);
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	EXPECT_EQ(destroy(dev), 0);
	EXPECT_FALSE(rte_dma_is_valid(dev));
}

TEST_F(Lifecycle, DumpHealthyCard)
{
	const int16_t dev = start_card("copy_channels=1,capture_channels=1,numa=0", 2, 64);
	ASSERT_GE(dev, 0);
	const std::string s = dump(dev);
	for (uint16_t v = 0; v < 2; v++) {
		const std::string mzname = "xcap" + std::to_string(dev) + "_vc" + std::to_string(v);
		const rte_memzone *mz = rte_memzone_lookup(mzname.c_str());
		ASSERT_NE(mz, nullptr) << mzname;
		EXPECT_EQ(mz->socket_id, 0);
		const std::string want = "memzone " + mzname + " on socket " +
					 std::to_string(mz->socket_id);
		EXPECT_NE(s.find(want), std::string::npos) << "no \"" << want << "\" in\n" << s;
	}
	EXPECT_NE(s.find("(copy)"), std::string::npos) << s;
	EXPECT_NE(s.find("(capture)"), std::string::npos) << s;
	EXPECT_NE(s.find("state running"), std::string::npos) << s;
	EXPECT_NE(s.find("NUMA node 0"), std::string::npos) << s;
	EXPECT_EQ(s.find("all-ones"), std::string::npos) << s;
	EXPECT_NE(s.find("present"), std::string::npos) << s;
	/* A stopped device, and an unconfigured one, dump too. */
	ASSERT_EQ(rte_dma_stop(dev), 0);
	EXPECT_NE(dump(dev).find("[stopped]"), std::string::npos);
	const int16_t dev2 = create("");
	ASSERT_GE(dev2, 0);
	EXPECT_NE(dump(dev2).find("nb_vchans_configured: 0"), std::string::npos);
}

/* Surprise removal: the card reads all-ones and does no more DMA. Nothing
 * may hang, and the failure is visible where the API can show it. */
TEST_F(Lifecycle, VanishingCard)
{
	const int16_t dev = start_card("capture_channels=0", 1, 64);
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	uint8_t *buf = alloc(5 * 4096);
	ASSERT_NE(buf, nullptr);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096 * (i + 1)), 1024,
				       RTE_DMA_OP_FLAG_SUBMIT), i);
	ASSERT_EQ(drain(dev, 0, 4, 0).count, 4);

	/* Work the card has been given but not done when it goes. */
	ASSERT_TRUE(stall(c, 0));
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 1024, 0), 4 + i);
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	c->vanish();
	EXPECT_TRUE(c->vanished());
	c->set_stall(0, false);

	/* Enqueue still works (host memory only); completions never come. */
	EXPECT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 1024, RTE_DMA_OP_FLAG_SUBMIT), 14);
	for (int k = 0; k < 100; k++) {
		uint16_t last = 0;
		bool err = false;
		ASSERT_EQ(rte_dma_completed(dev, 0, 64, &last, &err), 0);
		EXPECT_EQ(last, 3);
		rte_dma_status_code st[64];
		ASSERT_EQ(rte_dma_completed_status(dev, 0, 64, &last, st), 0);
	}
	int ret = 0;
	vchan_status(dev, 0, &ret);
	EXPECT_EQ(ret, -ENODEV);
	const std::string s = dump(dev);
	EXPECT_NE(s.find("all-ones"), std::string::npos) << s;
	EXPECT_NE(s.find("VANISHED"), std::string::npos) << s;
	EXPECT_EQ(rte_dma_stop(dev), 0);
	/* It cannot be started again. */
	EXPECT_EQ(rte_dma_start(dev), -ENODEV);
	EXPECT_EQ(destroy(dev), 0);
}

} // namespace
} // namespace xcap::test
