/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The driver against a slower, smaller, stricter card (docs/model.md
 * devargs ready_delay_ms, caps_ops, quiesce_ms; docs/hardware.md §7.3,
 * §7.5, §2.5): probe waits for Ready within the contract's bound and no
 * longer, advertises exactly the card's opcodes, stop waits for a late
 * quiesce and reports one that does not come, and a card gone Fatal hands
 * every outstanding op back with an error.
 */
#include <chrono>
#include <cstring>
#include <thread>

#include "pmd_test.h"

namespace xcap::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Contract : public PmdTest {
};

long ms_since(Clock::time_point t0)
{
	return long(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

/* HW §7.3: Ready later than kResetTimeoutMs after the reset: the probe
 * gives up, with -ETIMEDOUT, and leaves no device behind. */
TEST_F(Contract, ReadyLaterThanTheTimeoutFailsTheProbe)
{
	const auto t0 = Clock::now();
	EXPECT_EQ(create_fail("capture_channels=0,ready_delay_ms=" +
			      std::to_string(hw::kResetTimeoutMs + 500)), -ETIMEDOUT);
	const long waited = ms_since(t0);
	EXPECT_GE(waited, long(hw::kResetTimeoutMs));
	EXPECT_LT(waited, long(hw::kResetTimeoutMs) + 400) << "the wait is bounded";
}

/* Ready within the bound: the probe waits for it, then the card works. */
TEST_F(Contract, ReadyWithinTheTimeoutProbeWaits)
{
	const auto t0 = Clock::now();
	const int16_t dev = start_card("capture_channels=0,ready_delay_ms=200", 1, 64);
	ASSERT_GE(dev, 0);
	EXPECT_GE(ms_since(t0), 200);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	for (unsigned i = 0; i < 4096; i++)
		buf[i] = uint8_t(i * 13);
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 4096, RTE_DMA_OP_FLAG_SUBMIT), 0);
	const Drained r = drain(dev, 0, 1, 0);
	EXPECT_EQ(r.count, 1);
	EXPECT_FALSE(r.has_error);
	EXPECT_EQ(std::memcmp(buf, buf + 4096, 4096), 0);
}

/* HW §5.2: a card without Fill and CopySg (Caps1 = Nop | Copy | Capture):
 * rte_dma_info has neither, and the calls are refused without reaching the
 * card (which would count the opcode as a violation). */
TEST_F(Contract, CapsOpsWithoutFillAndSg)
{
	const int16_t dev = start_card("capture_channels=0,caps_ops=0x13", 1, 64);
	ASSERT_GE(dev, 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	EXPECT_TRUE(info.dev_capa & RTE_DMA_CAPA_OPS_COPY);
	EXPECT_FALSE(info.dev_capa & RTE_DMA_CAPA_OPS_FILL);
	EXPECT_FALSE(info.dev_capa & RTE_DMA_CAPA_OPS_COPY_SG);
	EXPECT_EQ(info.max_sges, 0);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	EXPECT_EQ(rte_dma_fill(dev, 0, 0x1122334455667788ull, iova(buf), 64, 0), -ENOTSUP);
	rte_dma_sge s{iova(buf), 64}, d{iova(buf + 4096), 64};
	EXPECT_EQ(rte_dma_copy_sg(dev, 0, &s, &d, 1, 1, 0), -ENOTSUP);
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 64, RTE_DMA_OP_FLAG_SUBMIT), 0);
	EXPECT_EQ(drain(dev, 0, 1, 0).count, 1);
	/* the full set, for contrast */
	const int16_t full = create("capture_channels=0");
	ASSERT_GE(full, 0);
	ASSERT_EQ(rte_dma_info_get(full, &info), 0);
	EXPECT_TRUE(info.dev_capa & RTE_DMA_CAPA_OPS_FILL);
	EXPECT_TRUE(info.dev_capa & RTE_DMA_CAPA_OPS_COPY_SG);
}

/* A card without Copy but with copy channels makes no sense: refused. */
TEST_F(Contract, CapsOpsWithoutCopyRefused)
{
	EXPECT_EQ(create_fail("capture_channels=0,caps_ops=0x11"), -EINVAL);
}

/* HW §7.3: a channel that quiesces within kQuiesceTimeoutMs: stop waits
 * for it and succeeds. */
TEST_F(Contract, StopWaitsForALateQuiesce)
{
	const int16_t dev = start_card("capture_channels=0,quiesce_ms=60", 1, 64);
	ASSERT_GE(dev, 0);
	const auto t0 = Clock::now();
	ASSERT_EQ(rte_dma_stop(dev), 0);
	EXPECT_GE(ms_since(t0), 60);
	ASSERT_EQ(rte_dma_start(dev), 0);
}

/* A channel that quiesces later than the bound: stop reports -ETIMEDOUT,
 * the device stays started (close refuses it), nothing is freed; once the
 * card lets go, stop succeeds and the device closes. */
TEST_F(Contract, StopOnACardThatQuiescesTooLate)
{
	const int16_t dev = start_card("capture_channels=0,quiesce_ms=" +
				       std::to_string(hw::kQuiesceTimeoutMs + 300), 1, 64);
	ASSERT_GE(dev, 0);
	const auto t0 = Clock::now();
	EXPECT_EQ(rte_dma_stop(dev), -ETIMEDOUT);
	EXPECT_EQ(rte_dma_close(dev), -EBUSY);
	std::this_thread::sleep_until(t0 + std::chrono::milliseconds(hw::kQuiesceTimeoutMs + 400));
	EXPECT_EQ(rte_dma_stop(dev), 0);
	EXPECT_EQ(destroy(dev), 0); /* close, and the vdev goes */
}

/* HW §2.5, §7.4: a card gone Fatal (here: the test breaks the contract with
 * a 64-bit access, which the strict model answers with Fatal) completes
 * nothing more. rte_dma_vchan_status finds it, and every op in flight comes
 * back from completed_status with an error; stop/start resets the card and
 * it works again. */
TEST_F(Contract, FatalCardHandsEveryOpBack)
{
	const int16_t dev = start_card("capture_channels=0", 1, 64);
	ASSERT_GE(dev, 0);
	expect_violations(dev, 1);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	c->mmio_read(hw::chan_reg(0, hw::reg::ch::kCntDescLo), 8);
	ASSERT_TRUE(poll_until([&] {
		return c->mmio_read32(hw::reg::kGlobalStatus) & hw::gstatus::kFatal;
	}));
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 256, 0), i);
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	std::this_thread::sleep_for(20ms);
	uint16_t last = 0;
	bool err = false;
	EXPECT_EQ(rte_dma_completed(dev, 0, 16, &last, &err), 0);
	enum rte_dma_vchan_status vs;
	ASSERT_EQ(rte_dma_vchan_status(dev, 0, &vs), 0);
	EXPECT_EQ(vs, RTE_DMA_VCHAN_HALTED_ERROR);
	rte_dma_status_code st[16];
	ASSERT_EQ(rte_dma_completed_status(dev, 0, 16, &last, st), 10);
	EXPECT_EQ(last, 9);
	for (int i = 0; i < 10; i++)
		EXPECT_EQ(st[i], RTE_DMA_STATUS_ERROR_UNKNOWN) << i;
	rte_dma_stats s{};
	ASSERT_EQ(rte_dma_stats_get(dev, 0, &s), 0);
	EXPECT_EQ(s.submitted, 10u);
	EXPECT_EQ(s.completed, 10u);
	EXPECT_EQ(s.errors, 10u);
	EXPECT_NE(dump(dev).find("first violation: access width"), std::string::npos) << dump(dev);
	ASSERT_EQ(rte_dma_stop(dev), 0);
	ASSERT_EQ(rte_dma_start(dev), 0);
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 256, RTE_DMA_OP_FLAG_SUBMIT), 0);
	const Drained r = drain(dev, 0, 1, 0);
	EXPECT_EQ(r.count, 1);
	EXPECT_FALSE(r.has_error);
}

/* The counters through the latch (HW §2.4): Lo then Hi is one value. */
TEST_F(Contract, CountersThroughTheLatch)
{
	const int16_t dev = start_card("capture_channels=0", 1, 64);
	ASSERT_GE(dev, 0);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 100, 0), i);
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	ASSERT_EQ(drain(dev, 0, 5, 0).count, 5);
	EXPECT_NE(dump(dev).find("card counters: descriptors 5 errors 0 bytes 500"),
		  std::string::npos) << dump(dev);
}

} // namespace
} // namespace xcap::test
