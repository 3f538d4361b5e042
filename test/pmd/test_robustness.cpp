/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Edge cases of the fast path and of the card contract: full rings with
 * scatter-gather, the extremes of ring size, ops a capture vchan does not
 * take, the null engine, and completions that break the contract (HW §7.4),
 * injected by writing the completion ring the way a faulty card would.
 */
#include <cerrno>
#include <cstring>

#include <rte_fbarray.h>
#include <rte_memory.h>
#include <rte_memzone.h>

#include "pmd_test.h"
#include "xcap_dpdk_compat.h"

namespace xcap::test {
namespace {

using Robustness = PmdTest;

/* A copy_sg refused with -ENOSPC must not touch the SG list of the op
 * that still owns that ring slot. */
TEST_F(Robustness, FullRingCopySgLeavesInFlightOpsAlone)
{
	constexpr uint16_t kRing = 4;
	const int16_t dev = start_card("capture_channels=0,max_sge=4", 1, kRing);
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	uint8_t *src = alloc(8 * 256);
	uint8_t *dst = alloc(8 * 256);
	uint8_t *other = alloc(256);
	ASSERT_TRUE(src && dst && other);
	for (int i = 0; i < 8 * 256; i++)
		src[i] = uint8_t(i * 3 + 1);
	ASSERT_TRUE(stall(c, 0));
	for (uint16_t i = 0; i < kRing; i++) {
		rte_dma_sge s[2] = {{iova(src + 256 * i), 100}, {iova(src + 256 * i + 100), 156}};
		rte_dma_sge d[1] = {{iova(dst + 256 * i), 256}};
		ASSERT_EQ(rte_dma_copy_sg(dev, 0, s, d, 2, 1, 0), i);
	}
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	/* Ring full: this one is refused... */
	rte_dma_sge s[1] = {{iova(src + 256 * 7), 256}};
	rte_dma_sge d[1] = {{iova(other), 256}};
	ASSERT_EQ(rte_dma_copy_sg(dev, 0, s, d, 1, 1, RTE_DMA_OP_FLAG_SUBMIT), -ENOSPC);
	c->set_stall(0, false);
	/* ...and the four in flight do what they were asked. */
	uint16_t last = 0;
	const auto st = drain_status(dev, 0, kRing, &last);
	ASSERT_EQ(st.size(), kRing);
	for (uint16_t i = 0; i < kRing; i++)
		EXPECT_EQ(st[i], RTE_DMA_STATUS_SUCCESSFUL) << "op " << i << ": " << status_name(st[i]);
	EXPECT_EQ(std::memcmp(src, dst, kRing * 256), 0);
	for (int i = 0; i < 256; i++)
		ASSERT_EQ(other[i], 0) << "a refused copy_sg was executed";
}

/* copy_sg and fill are copy-channel operations; a capture vchan has no SG
 * storage at all. */
TEST_F(Robustness, CopySgOnCaptureVchanRejected)
{
	const int16_t dev = start_card("copy_channels=1,capture_channels=1,cap_count=0", 2, 16);
	ASSERT_GE(dev, 0);
	uint8_t *buf = alloc(4096);
	ASSERT_NE(buf, nullptr);
	rte_dma_sge s[1] = {{iova(buf), 256}};
	rte_dma_sge d[1] = {{iova(buf + 2048), 256}};
	EXPECT_EQ(rte_dma_copy_sg(dev, 1, s, d, 1, 1, RTE_DMA_OP_FLAG_SUBMIT), -EINVAL);
	EXPECT_EQ(rte_dma_burst_capacity(dev, 1), 16);
}

/* With halt_on_error, reading the completions a stop aborted must not
 * re-enable the channel of the stopped device. */
TEST_F(Robustness, HaltOnErrorStopLeavesChannelDisabled)
{
	const int16_t dev = start_card("capture_channels=0,halt_on_error=1", 1, 64);
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	ASSERT_TRUE(stall(c, 0));
	for (int i = 0; i < 20; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 4096, 0), i);
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	ASSERT_EQ(rte_dma_stop(dev), -ETIMEDOUT); /* stalled: it does not quiesce */
	c->set_stall(0, false);
	ASSERT_EQ(rte_dma_stop(dev), 0);
	const auto st = drain_status(dev, 0, 20);
	ASSERT_EQ(st.size(), 20u);
	unsigned aborted = 0;
	for (auto s : st)
		aborted += s == RTE_DMA_STATUS_USER_ABORT;
	ASSERT_GT(aborted, 0u) << "the stalled card finished everything; nothing to check";
	std::string d;
	EXPECT_TRUE(poll_until([&] {
		d = dump(dev);
		return d.find("card: ctrl 0x0 state disabled") != std::string::npos;
	})) << d;
	/* A restart still works. */
	ASSERT_EQ(rte_dma_start(dev), 0);
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 4096, RTE_DMA_OP_FLAG_SUBMIT), 0);
	EXPECT_EQ(drain(dev, 0, 1, 0).count, 1);
}

/* The completion ring of vchan 0, to write entries the way a card would
 * (HW §6): status | flags << 8 | id << 16 | result << 32. It follows the
 * descriptor ring at the next 4 KiB boundary (HW §5.5). */
volatile uint64_t *completion_ring(int16_t dev, uint16_t nb_desc)
{
	const std::string name = "xcap" + std::to_string(dev) + "_vc0";
	const rte_memzone *mz = rte_memzone_lookup(name.c_str());
	if (mz == nullptr)
		return nullptr;
	return reinterpret_cast<volatile uint64_t *>(static_cast<uint8_t *>(mz->addr) +
						     RTE_ALIGN_CEIL(size_t(nb_desc) * sizeof(hw::Descriptor),
								    hw::kCplAlign));
}

uint64_t cpl_entry(uint8_t status, uint8_t flags, uint16_t id)
{
	return uint64_t(status) | uint64_t(flags) << 8 | uint64_t(id) << 16;
}

/* A completion with the right phase but another op's id: the channel stops
 * reporting (HW §7.4) until the device is restarted. */
TEST_F(Robustness, CardFaultWrongIdStopsTheChannel)
{
	constexpr uint16_t kRing = 8;
	const int16_t dev = start_card("capture_channels=0", 1, kRing);
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	volatile uint64_t *cpl = completion_ring(dev, kRing);
	ASSERT_NE(cpl, nullptr);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	ASSERT_TRUE(stall(c, 0));
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 64, RTE_DMA_OP_FLAG_SUBMIT), 0);
	cpl[0] = cpl_entry(0, hw::cflag::kPhase, 5);
	for (int k = 0; k < 3; k++)
		expect_completed_blocked(dev, 0);
	enum rte_dma_vchan_status vs = RTE_DMA_VCHAN_IDLE;
	ASSERT_EQ(rte_dma_vchan_status(dev, 0, &vs), 0);
	EXPECT_EQ(vs, RTE_DMA_VCHAN_HALTED_ERROR);
	const std::string d = dump(dev);
	EXPECT_NE(d.find("carries id 5"), std::string::npos) << d;
	EXPECT_NE(d.find("card faults 1"), std::string::npos) << d;
	/* The card's own (correct) completion does not revive the channel. */
	c->set_stall(0, false);
	ASSERT_TRUE(poll_until([&] { return cpl[0] == cpl_entry(0, hw::cflag::kPhase, 0) + (64ull << 32); }))
		<< std::hex << cpl[0];
	bool err = false;
	EXPECT_EQ(rte_dma_completed(dev, 0, 8, nullptr, &err), 0);
	EXPECT_TRUE(err);
	/* A restart does. */
	ASSERT_EQ(rte_dma_stop(dev), 0);
	ASSERT_EQ(rte_dma_start(dev), 0);
	ASSERT_EQ(rte_dma_vchan_status(dev, 0, &vs), 0);
	EXPECT_EQ(vs, RTE_DMA_VCHAN_IDLE);
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 64, RTE_DMA_OP_FLAG_SUBMIT), 0);
	const Drained r = drain(dev, 0, 1, 0);
	EXPECT_EQ(r.count, 1);
	EXPECT_FALSE(r.has_error);
}

/* Status codes outside the contract read as ERROR_UNKNOWN; 0xff is the
 * contract's own "unknown error", anything else also counts a card fault. */
TEST_F(Robustness, UndefinedStatusCodes)
{
	constexpr uint16_t kRing = 8;
	const int16_t dev = start_card("capture_channels=0", 1, kRing);
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	volatile uint64_t *cpl = completion_ring(dev, kRing);
	ASSERT_NE(cpl, nullptr);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	ASSERT_TRUE(stall(c, 0));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 64, 0), i);
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	cpl[0] = cpl_entry(0xff, hw::cflag::kPhase, 0);
	cpl[1] = cpl_entry(0x20, hw::cflag::kPhase, 1);
	cpl[2] = cpl_entry(0, hw::cflag::kPhase, 2) + (64ull << 32); /* result: 64 bytes */
	uint16_t last = 0;
	bool err = false;
	EXPECT_EQ(rte_dma_completed(dev, 0, 8, &last, &err), 0);
	EXPECT_TRUE(err);
	rte_dma_status_code st[8];
	ASSERT_EQ(rte_dma_completed_status(dev, 0, 8, &last, st), 3);
	EXPECT_EQ(st[0], RTE_DMA_STATUS_ERROR_UNKNOWN);
	EXPECT_EQ(st[1], RTE_DMA_STATUS_ERROR_UNKNOWN);
	EXPECT_EQ(st[2], RTE_DMA_STATUS_SUCCESSFUL);
	EXPECT_EQ(last, 2);
	const std::string d = dump(dev);
	EXPECT_NE(d.find("errors 2 card faults 1"), std::string::npos) << d;
	c->set_stall(0, false);
}

/* The smallest ring: two entries, the phase flips every other op. */
TEST_F(Robustness, TwoEntryRing)
{
	const int16_t dev = start_card("capture_channels=0", 1, 2);
	ASSERT_GE(dev, 0);
	constexpr unsigned kOps = 1000;
	auto *src = reinterpret_cast<uint64_t *>(alloc(kOps * 8));
	auto *dst = reinterpret_cast<uint64_t *>(alloc(kOps * 8));
	ASSERT_TRUE(src && dst);
	for (unsigned i = 0; i < kOps; i++)
		src[i] = 0xabcd000000000000ull + i;
	for (unsigned i = 0; i < kOps; i += 2) {
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(&src[i]), iova(&dst[i]), 8, 0), int(i));
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(&src[i + 1]), iova(&dst[i + 1]), 8, 0), int(i + 1));
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(&src[i]), iova(&dst[i]), 8, 0), -ENOSPC);
		ASSERT_EQ(rte_dma_submit(dev, 0), 0);
		const Drained d = drain(dev, 0, 2, uint16_t(i));
		ASSERT_EQ(d.count, 2) << "op " << i;
		ASSERT_FALSE(d.has_error);
	}
	for (unsigned i = 0; i < kOps; i++)
		ASSERT_EQ(dst[i], src[i]) << i;
}

/* The largest ring: 32768 entries filled completely, twice, so that the ids
 * wrap at 65536 with the ring full. */
TEST_F(Robustness, FullLargestRing)
{
	constexpr unsigned kRing = 32768;
	const int16_t dev = start_card("capture_channels=0,max_ring=32768,max_sge=1", 1, kRing);
	ASSERT_GE(dev, 0);
	auto *src = reinterpret_cast<uint64_t *>(alloc(kRing * 8));
	auto *dst = reinterpret_cast<uint64_t *>(alloc(kRing * 8));
	ASSERT_TRUE(src && dst);
	for (unsigned round = 0; round < 3; round++) {
		SCOPED_TRACE("round " + std::to_string(round));
		for (unsigned i = 0; i < kRing; i++) {
			src[i] = uint64_t(round) << 32 | i;
			dst[i] = 0;
		}
		ASSERT_EQ(rte_dma_burst_capacity(dev, 0), kRing);
		for (unsigned i = 0; i < kRing; i++)
			ASSERT_EQ(rte_dma_copy(dev, 0, iova(&src[i]), iova(&dst[i]), 8, 0),
				  int(uint16_t(round * kRing + i)));
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(&src[0]), iova(&dst[0]), 8, 0), -ENOSPC);
		ASSERT_EQ(rte_dma_burst_capacity(dev, 0), 0);
		ASSERT_EQ(rte_dma_submit(dev, 0), 0);
		unsigned got = 0;
		uint16_t last = 0;
		ASSERT_TRUE(poll_until([&] {
			bool err = false;
			got += rte_dma_completed(dev, 0, UINT16_MAX, &last, &err);
			EXPECT_FALSE(err);
			return got >= kRing || err;
		}));
		ASSERT_EQ(got, kRing);
		EXPECT_EQ(last, uint16_t(round * kRing + kRing - 1));
		for (unsigned i = 0; i < kRing; i++)
			ASSERT_EQ(dst[i], src[i]) << i;
	}
}

/* null=1: descriptors complete successfully and no data moves. */
TEST_F(Robustness, NullEngine)
{
	const int16_t dev = start_card("capture_channels=0,null=1", 1, 16);
	ASSERT_GE(dev, 0);
	uint8_t *buf = alloc(4096);
	ASSERT_NE(buf, nullptr);
	std::memset(buf, 0x5a, 1024);
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 2048), 1024, 0), 0);
	ASSERT_EQ(rte_dma_fill(dev, 0, kPattern, iova(buf + 3072), 1024, 0), 1);
	rte_dma_sge s[1] = {{iova(buf), 512}}, d[1] = {{iova(buf + 2048), 512}};
	ASSERT_EQ(rte_dma_copy_sg(dev, 0, s, d, 1, 1, RTE_DMA_OP_FLAG_SUBMIT), 2);
	const auto st = drain_status(dev, 0, 3);
	ASSERT_EQ(st.size(), 3u);
	for (auto x : st)
		EXPECT_EQ(x, RTE_DMA_STATUS_SUCCESSFUL) << status_name(x);
	for (int i = 1024; i < 4096; i++)
		ASSERT_EQ(buf[i], 0) << "the null engine wrote byte " << i;
	EXPECT_NE(dump(dev).find("null engine"), std::string::npos);
	/* HW §5.4: no address translation, but the length checks apply. */
	ASSERT_EQ(rte_dma_copy(dev, 0, 0, 0, 64, 0), 3);
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 2048), 0, RTE_DMA_OP_FLAG_SUBMIT), 4);
	const auto st2 = drain_status(dev, 0, 2);
	ASSERT_EQ(st2.size(), 2u);
	EXPECT_EQ(st2[0], RTE_DMA_STATUS_SUCCESSFUL) << status_name(st2[0]);
	EXPECT_EQ(st2[1], RTE_DMA_STATUS_INVALID_LENGTH) << status_name(st2[1]);
}

/* max_xfer bounds the total of a scatter-gather op too. */
TEST_F(Robustness, CopySgTotalAboveMaxXfer)
{
	const int16_t dev = start_card("capture_channels=0,max_xfer=4096", 1, 16);
	ASSERT_GE(dev, 0);
	uint8_t *buf = alloc(16384);
	ASSERT_NE(buf, nullptr);
	for (int i = 0; i < 8192; i++)
		buf[i] = uint8_t(i);
	rte_dma_sge s[2] = {{iova(buf), 4096}, {iova(buf + 4096), 4096}};
	rte_dma_sge d[2] = {{iova(buf + 8192), 4096}, {iova(buf + 12288), 4096}};
	ASSERT_EQ(rte_dma_copy_sg(dev, 0, s, d, 2, 2, 0), 0);
	s[1].length = d[1].length = 0;
	s[0].length = d[0].length = 4096;
	ASSERT_EQ(rte_dma_copy_sg(dev, 0, s, d, 1, 1, RTE_DMA_OP_FLAG_SUBMIT), 1);
	const auto st = drain_status(dev, 0, 2);
	ASSERT_EQ(st.size(), 2u);
	EXPECT_EQ(st[0], RTE_DMA_STATUS_INVALID_LENGTH) << status_name(st[0]);
	EXPECT_EQ(st[1], RTE_DMA_STATUS_SUCCESSFUL) << status_name(st[1]);
	EXPECT_EQ(std::memcmp(buf, buf + 8192, 4096), 0);
	for (int i = 12288; i < 16384; i++)
		ASSERT_EQ(buf[i], 0) << "the refused op wrote byte " << i;
}

/* A fill enqueued on a capture vchan is not a capture buffer. */
TEST_F(Robustness, FillOnCaptureVchanInvalidOpcode)
{
	const int16_t dev = start_card("copy_channels=0,capture_channels=1,cap_count=1,cap_rate=max",
				       1, 16);
	ASSERT_GE(dev, 0);
	uint8_t *buf = alloc(4096);
	ASSERT_NE(buf, nullptr);
	ASSERT_EQ(rte_dma_fill(dev, 0, kPattern, iova(buf), 4096, RTE_DMA_OP_FLAG_SUBMIT), 0);
	const auto st = drain_status(dev, 0, 1);
	ASSERT_EQ(st.size(), 1u);
	EXPECT_EQ(st[0], RTE_DMA_STATUS_INVALID_OPCODE) << status_name(st[0]);
	for (int i = 0; i < 4096; i++)
		ASSERT_EQ(buf[i], 0) << i;
}

/* The card drives addr_width address bits: rings it cannot reach are
 * refused at setup. In VA mode DPDK memory lives above 4 GiB. */
TEST_F(Robustness, AddrWidth32RefusesHighMemory)
{
	const int16_t dev = create("capture_channels=0,addr_width=32");
	ASSERT_GE(dev, 0);
	uint8_t *probe = alloc(64);
	ASSERT_NE(probe, nullptr);
	if (iova(probe) < (1ull << 32))
		GTEST_SKIP() << "DPDK memory is below 4 GiB here";
	rte_dma_conf conf{};
	conf.nb_vchans = 1;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(64))), -EINVAL);
	EXPECT_EQ(rte_dma_start(dev), -EINVAL);
}

TEST_F(Robustness, SilentModeRefused)
{
	const int16_t dev = create("capture_channels=0");
	ASSERT_GE(dev, 0);
	rte_dma_conf conf{};
	conf.nb_vchans = 1;
	xcap_dma_conf_request_silent(&conf);
	EXPECT_EQ(rte_dma_configure(dev, &conf), -EINVAL);
}

/* addr: an address (it may be memory just freed), never dereferenced. */
/* noinline: inlined, GCC 12 would track addr back to the freed pointer and
 * warn (-Wuse-after-free) although nothing is dereferenced. */
__attribute__((noinline)) bool page_in_use(uintptr_t addr)
{
	const rte_memseg_list *msl = rte_mem_virt2memseg_list(reinterpret_cast<const void *>(addr));
	if (msl == nullptr)
		return false;
	const auto idx = int((addr - uintptr_t(msl->base_va)) / msl->page_sz);
	return rte_fbarray_is_used(const_cast<rte_fbarray *>(&msl->memseg_arr), idx) == 1;
}

/* Memory DPDK maps after the card was created is reachable by it; memory
 * DPDK gives back is not any more (the emulated IOMMU follows EAL's memory
 * events, as VFIO does for a real card). */
TEST_F(Robustness, IommuFollowsMemoryHotplug)
{
	const int16_t dev = start_card("capture_channels=0", 1, 16);
	ASSERT_GE(dev, 0);
	uint8_t *src = alloc(4096);
	ASSERT_NE(src, nullptr);
	for (int i = 0; i < 4096; i++)
		src[i] = uint8_t(i * 9 + 7);
	constexpr size_t kBig = 64u << 20;
	for (int round = 0; round < 2; round++) {
		SCOPED_TRACE("round " + std::to_string(round));
		auto *big = static_cast<uint8_t *>(rte_malloc("xcap-pmd-big", kBig, 4096));
		ASSERT_NE(big, nullptr);
		uint8_t *far = big + kBig - 4096;
		/* an address, not a pointer: it is probed after the free */
		const uintptr_t mid = uintptr_t(big + kBig / 2);
		std::memset(far, 0, 4096);
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(src), iova(far), 4096, RTE_DMA_OP_FLAG_SUBMIT),
			  2 * round);
		auto st = drain_status(dev, 0, 1);
		ASSERT_EQ(st.size(), 1u);
		EXPECT_EQ(st[0], RTE_DMA_STATUS_SUCCESSFUL) << status_name(st[0]);
		EXPECT_EQ(std::memcmp(src, far, 4096), 0);
		rte_free(big);
		if (page_in_use(mid)) {
			/* EAL kept the pages: the card may still reach them. */
			ASSERT_EQ(rte_dma_copy(dev, 0, iova(src), iova(src), 1, RTE_DMA_OP_FLAG_SUBMIT),
				  2 * round + 1);
			ASSERT_EQ(drain_status(dev, 0, 1).size(), 1u);
			GTEST_SKIP() << "EAL did not release the pages of a freed 64 MiB buffer";
		}
		/* DMA into memory DPDK no longer has is refused, not performed. */
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(src), rte_iova_t(mid), 4096,
				       RTE_DMA_OP_FLAG_SUBMIT), 2 * round + 1);
		st = drain_status(dev, 0, 1);
		ASSERT_EQ(st.size(), 1u);
		EXPECT_EQ(st[0], RTE_DMA_STATUS_INVALID_DST_ADDR) << status_name(st[0]);
	}
}

} // namespace
} // namespace xcap::test
