/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Failed operations: address and length faults found by the card, fences,
 * halt on error, and injected faults (devargs and model::Card::set_fault).
 */
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "pmd_test.h"

namespace xcap::test {
namespace {

class Errors : public PmdTest {
protected:
	static constexpr uint32_t kLen = 256;
	static constexpr unsigned kSlots = 64;

	/* A copy card with one vchan and kSlots source/destination slots; the
	 * source slot i holds bytes (i * 31 + j). */
	void SetUpCard(const std::string &args, uint16_t nb_desc = 64)
	{
		dev_ = start_card(args, 1, nb_desc);
		ASSERT_GE(dev_, 0);
		src_ = alloc(kSlots * kLen);
		dst_ = alloc(kSlots * kLen);
		ASSERT_TRUE(src_ && dst_);
		for (unsigned i = 0; i < kSlots * kLen; i++)
			src_[i] = uint8_t((i / kLen) * 31 + i % kLen);
	}
	int copy_slot(unsigned slot, uint64_t flags = 0)
	{
		return rte_dma_copy(dev_, 0, iova(src_ + slot * kLen), iova(dst_ + slot * kLen), kLen,
				    flags);
	}
	bool slot_copied(unsigned slot) const
	{
		return std::memcmp(src_ + slot * kLen, dst_ + slot * kLen, kLen) == 0;
	}
	bool slot_untouched(unsigned slot) const
	{
		for (unsigned i = 0; i < kLen; i++)
			if (dst_[slot * kLen + i] != 0)
				return false;
		return true;
	}
	/* Poll rte_dma_completed() until it reports an error or n completions. */
	Drained until_error(uint16_t n, uint16_t first_id = 0) { return drain(dev_, 0, n, first_id); }

	int16_t dev_ = -1;
	uint8_t *src_ = nullptr, *dst_ = nullptr;
};

TEST_F(Errors, SrcIovaZero)
{
	ASSERT_NO_FATAL_FAILURE(SetUpCard("capture_channels=0"));
	for (unsigned i = 0; i < 8; i++) {
		const int ret = i == 3 ? rte_dma_copy(dev_, 0, 0, iova(dst_ + 3 * kLen), kLen, 0)
				       : copy_slot(i);
		ASSERT_EQ(ret, int(i));
	}
	ASSERT_EQ(rte_dma_submit(dev_, 0), 0);

	/* completed() stops right before the failed op and says so. */
	const Drained d = until_error(8);
	ASSERT_FALSE(d.timed_out);
	EXPECT_TRUE(d.has_error);
	EXPECT_EQ(d.count, 3);
	EXPECT_EQ(d.last_idx, 2);
	/* ...and keeps saying so, returning nothing, until completed_status(). */
	for (int k = 0; k < 3; k++) {
		uint16_t last = 0;
		bool err = false;
		EXPECT_EQ(rte_dma_completed(dev_, 0, 8, &last, &err), 0);
		EXPECT_TRUE(err);
		EXPECT_EQ(last, 2);
	}
	uint16_t last = 0;
	const auto st = drain_status(dev_, 0, 5, &last);
	ASSERT_EQ(st.size(), 5u);
	EXPECT_EQ(st[0], RTE_DMA_STATUS_INVALID_SRC_ADDR) << status_name(st[0]);
	for (size_t i = 1; i < 5; i++)
		EXPECT_EQ(st[i], RTE_DMA_STATUS_SUCCESSFUL) << "op " << 3 + i << ": " << status_name(st[i]);
	EXPECT_EQ(last, 7);
	/* The error is consumed. */
	bool err = true;
	EXPECT_EQ(rte_dma_completed(dev_, 0, 8, &last, &err), 0);
	EXPECT_FALSE(err);
	EXPECT_EQ(last, 7);
	for (unsigned i = 0; i < 8; i++) {
		if (i == 3)
			EXPECT_TRUE(slot_untouched(i)) << "the failed copy wrote its destination";
		else
			EXPECT_TRUE(slot_copied(i)) << "op " << i;
	}
	rte_dma_stats stats{};
	ASSERT_EQ(rte_dma_stats_get(dev_, 0, &stats), 0);
	EXPECT_EQ(stats.submitted, 8u);
	EXPECT_EQ(stats.completed, 8u);
	EXPECT_EQ(stats.errors, 1u);
}

TEST_F(Errors, UnmappedAddresses)
{
	ASSERT_NO_FATAL_FAILURE(SetUpCard("capture_channels=0"));
	/* Process heap: not DPDK memory, so not mapped for the card. In VA
	 * mode its IOVA would be its VA. */
	auto heap = std::make_unique<uint8_t[]>(4 * kLen);
	std::memset(heap.get(), 0x77, 4 * kLen);
	const auto heap_iova = rte_iova_t(reinterpret_cast<uintptr_t>(heap.get()));
	ASSERT_EQ(copy_slot(0), 0);
	ASSERT_EQ(rte_dma_copy(dev_, 0, iova(src_ + kLen), heap_iova, kLen, 0), 1);
	ASSERT_EQ(rte_dma_copy(dev_, 0, heap_iova, iova(dst_ + 2 * kLen), kLen, 0), 2);
	ASSERT_EQ(rte_dma_fill(dev_, 0, kPattern, heap_iova + kLen, kLen, 0), 3);
	/* Beyond the card's 48-bit DMA range. */
	ASSERT_EQ(rte_dma_copy(dev_, 0, iova(src_ + 4 * kLen), 1ull << 48, kLen, 0), 4);
	ASSERT_EQ(copy_slot(5, RTE_DMA_OP_FLAG_SUBMIT), 5);
	const auto st = drain_status(dev_, 0, 6);
	ASSERT_EQ(st.size(), 6u);
	EXPECT_EQ(st[0], RTE_DMA_STATUS_SUCCESSFUL) << status_name(st[0]);
	EXPECT_EQ(st[1], RTE_DMA_STATUS_INVALID_DST_ADDR) << status_name(st[1]);
	EXPECT_EQ(st[2], RTE_DMA_STATUS_INVALID_SRC_ADDR) << status_name(st[2]);
	EXPECT_EQ(st[3], RTE_DMA_STATUS_INVALID_DST_ADDR) << status_name(st[3]);
	EXPECT_EQ(st[4], RTE_DMA_STATUS_INVALID_DST_ADDR) << status_name(st[4]);
	EXPECT_EQ(st[5], RTE_DMA_STATUS_SUCCESSFUL) << status_name(st[5]);
	for (unsigned i = 0; i < 4 * kLen; i++)
		ASSERT_EQ(heap[i], 0x77) << "the card wrote unmapped memory at " << i;
	EXPECT_TRUE(slot_untouched(2));
	EXPECT_TRUE(slot_copied(0));
	EXPECT_TRUE(slot_copied(5));
	rte_dma_stats stats{};
	ASSERT_EQ(rte_dma_stats_get(dev_, 0, &stats), 0);
	EXPECT_EQ(stats.errors, 4u);
}

TEST_F(Errors, InvalidLengths)
{
	ASSERT_NO_FATAL_FAILURE(SetUpCard("capture_channels=0,max_xfer=4096"));
	uint8_t *big = alloc(4097);
	uint8_t *out[3];
	for (auto &o : out) {
		o = alloc(4097 + 64);
		ASSERT_NE(o, nullptr);
	}
	ASSERT_NE(big, nullptr);
	for (unsigned i = 0; i < 4097; i++)
		big[i] = uint8_t(i * 3 + 1);
	ASSERT_EQ(rte_dma_copy(dev_, 0, iova(src_), iova(dst_), 0, 0), 0);
	ASSERT_EQ(rte_dma_fill(dev_, 0, kPattern, iova(dst_), 0, 0), 1);
	ASSERT_EQ(rte_dma_copy(dev_, 0, iova(big), iova(out[0]), 4096, 0), 2); /* the max */
	ASSERT_EQ(rte_dma_copy(dev_, 0, iova(big), iova(out[1]), 4097, 0), 3);
	ASSERT_EQ(rte_dma_fill(dev_, 0, kPattern, iova(out[2]), 4097, 0), 4);
	ASSERT_EQ(copy_slot(1, RTE_DMA_OP_FLAG_SUBMIT), 5);
	const auto st = drain_status(dev_, 0, 6);
	ASSERT_EQ(st.size(), 6u);
	const rte_dma_status_code want[] = {
		RTE_DMA_STATUS_INVALID_LENGTH, RTE_DMA_STATUS_INVALID_LENGTH,
		RTE_DMA_STATUS_SUCCESSFUL,     RTE_DMA_STATUS_INVALID_LENGTH,
		RTE_DMA_STATUS_INVALID_LENGTH, RTE_DMA_STATUS_SUCCESSFUL,
	};
	for (size_t i = 0; i < 6; i++)
		EXPECT_EQ(st[i], want[i]) << "op " << i << ": " << status_name(st[i]);
	EXPECT_TRUE(slot_untouched(0));
	EXPECT_TRUE(slot_copied(1));
	EXPECT_EQ(std::memcmp(out[0], big, 4096), 0);
	EXPECT_EQ(out[0][4096], 0);
	for (int k = 1; k < 3; k++)
		for (unsigned i = 0; i < 4097 + 64; i++)
			ASSERT_EQ(out[k][i], 0) << "rejected op " << k + 2 << " wrote byte " << i;
	rte_dma_stats stats{};
	ASSERT_EQ(rte_dma_stats_get(dev_, 0, &stats), 0);
	EXPECT_EQ(stats.errors, 4u);
}

/* HW §5.3: within a submission batch, a fenced op runs only if nothing
 * before it in the batch failed; the next batch starts clean. */
TEST_F(Errors, FenceAfterFailureNotAttempted)
{
	ASSERT_NO_FATAL_FAILURE(SetUpCard("capture_channels=0"));
	ASSERT_EQ(copy_slot(0), 0);
	ASSERT_EQ(copy_slot(1, RTE_DMA_OP_FLAG_FENCE), 1);
	ASSERT_EQ(rte_dma_copy(dev_, 0, 0, iova(dst_ + 2 * kLen), kLen, 0), 2);
	ASSERT_EQ(copy_slot(3, RTE_DMA_OP_FLAG_FENCE), 3);
	ASSERT_EQ(copy_slot(4), 4);
	ASSERT_EQ(copy_slot(5, RTE_DMA_OP_FLAG_FENCE | RTE_DMA_OP_FLAG_SUBMIT), 5);
	const Drained d = until_error(6);
	EXPECT_TRUE(d.has_error);
	EXPECT_EQ(d.count, 2);
	uint16_t last = 0;
	const auto st = drain_status(dev_, 0, 4, &last);
	ASSERT_EQ(st.size(), 4u);
	const rte_dma_status_code want[] = {
		RTE_DMA_STATUS_INVALID_SRC_ADDR, /* 2 */
		RTE_DMA_STATUS_NOT_ATTEMPTED,    /* 3: fenced after 2 */
		RTE_DMA_STATUS_SUCCESSFUL,       /* 4: not fenced */
		RTE_DMA_STATUS_NOT_ATTEMPTED,    /* 5: still the same batch */
	};
	for (size_t i = 0; i < 4; i++)
		EXPECT_EQ(st[i], want[i]) << "op " << 2 + i << ": " << status_name(st[i]);
	EXPECT_EQ(last, 5);
	EXPECT_TRUE(slot_copied(0));
	EXPECT_TRUE(slot_copied(1));
	EXPECT_TRUE(slot_untouched(2));
	EXPECT_TRUE(slot_untouched(3)) << "a NOT_ATTEMPTED op moved data";
	EXPECT_TRUE(slot_copied(4));
	EXPECT_TRUE(slot_untouched(5)) << "a NOT_ATTEMPTED op moved data";
	rte_dma_stats stats{};
	ASSERT_EQ(rte_dma_stats_get(dev_, 0, &stats), 0);
	EXPECT_EQ(stats.errors, 3u);

	/* A new submission: its fenced op runs. */
	ASSERT_EQ(copy_slot(6, RTE_DMA_OP_FLAG_FENCE), 6);
	ASSERT_EQ(copy_slot(7, RTE_DMA_OP_FLAG_FENCE | RTE_DMA_OP_FLAG_SUBMIT), 7);
	const Drained d2 = drain(dev_, 0, 2, 6);
	EXPECT_FALSE(d2.has_error);
	EXPECT_EQ(d2.count, 2);
	EXPECT_TRUE(slot_copied(6));
	EXPECT_TRUE(slot_copied(7));
}

TEST_F(Errors, HaltOnError)
{
	ASSERT_NO_FATAL_FAILURE(SetUpCard("capture_channels=0,halt_on_error=1"));
	for (unsigned i = 0; i < 10; i++) {
		const int ret = i == 3 ? rte_dma_copy(dev_, 0, 0, iova(dst_ + 3 * kLen), kLen, 0)
				       : copy_slot(i);
		ASSERT_EQ(ret, int(i));
	}
	ASSERT_EQ(rte_dma_submit(dev_, 0), 0);
	const Drained d = until_error(10);
	ASSERT_FALSE(d.timed_out);
	EXPECT_TRUE(d.has_error);
	EXPECT_EQ(d.count, 3);
	enum rte_dma_vchan_status vs = RTE_DMA_VCHAN_IDLE;
	EXPECT_TRUE(poll_until([&] {
		return rte_dma_vchan_status(dev_, 0, &vs) == 0 && vs == RTE_DMA_VCHAN_HALTED_ERROR;
	})) << "vchan status " << vs;
	/* Halted: nothing after the failure ran. */
	for (unsigned i = 4; i < 10; i++)
		EXPECT_TRUE(slot_untouched(i)) << "op " << i << " ran on a halted channel";
	uint16_t last = 0;
	bool err = false;
	EXPECT_EQ(rte_dma_completed(dev_, 0, 10, &last, &err), 0);
	EXPECT_TRUE(err);
	/* completed_status() reports the failure and resumes the channel. */
	rte_dma_status_code st[10];
	ASSERT_EQ(rte_dma_completed_status(dev_, 0, 10, &last, st), 1);
	EXPECT_EQ(st[0], RTE_DMA_STATUS_INVALID_SRC_ADDR) << status_name(st[0]);
	EXPECT_EQ(last, 3);
	const Drained rest = drain(dev_, 0, 6, 4);
	ASSERT_FALSE(rest.timed_out) << rest.count << "/6 after resume";
	EXPECT_FALSE(rest.has_error);
	EXPECT_EQ(rest.count, 6);
	EXPECT_EQ(rest.last_idx, 9);
	for (unsigned i = 0; i < 10; i++)
		if (i != 3) {
			EXPECT_TRUE(slot_copied(i)) << "op " << i;
		}
	EXPECT_TRUE(poll_until([&] {
		return rte_dma_vchan_status(dev_, 0, &vs) == 0 && vs == RTE_DMA_VCHAN_IDLE;
	})) << "vchan status " << vs;
	rte_dma_stats stats{};
	ASSERT_EQ(rte_dma_stats_get(dev_, 0, &stats), 0);
	EXPECT_EQ(stats.completed, 10u);
	EXPECT_EQ(stats.errors, 1u);

	/* It halts again on the next failure. */
	ASSERT_EQ(rte_dma_copy(dev_, 0, 0, iova(dst_), kLen, 0), 10);
	ASSERT_EQ(copy_slot(11, RTE_DMA_OP_FLAG_SUBMIT), 11);
	EXPECT_TRUE(poll_until([&] {
		return rte_dma_vchan_status(dev_, 0, &vs) == 0 && vs == RTE_DMA_VCHAN_HALTED_ERROR;
	}));
	const auto st2 = drain_status(dev_, 0, 2);
	ASSERT_EQ(st2.size(), 2u);
	EXPECT_EQ(st2[0], RTE_DMA_STATUS_INVALID_SRC_ADDR);
	EXPECT_EQ(st2[1], RTE_DMA_STATUS_SUCCESSFUL);
	EXPECT_TRUE(slot_copied(11));

	/* The resume also re-armed the fence: a fenced op runs. */
	ASSERT_EQ(copy_slot(12, RTE_DMA_OP_FLAG_FENCE | RTE_DMA_OP_FLAG_SUBMIT), 12);
	const auto st3 = drain_status(dev_, 0, 1);
	ASSERT_EQ(st3.size(), 1u);
	EXPECT_EQ(st3[0], RTE_DMA_STATUS_SUCCESSFUL) << status_name(st3[0]);
	EXPECT_TRUE(slot_copied(12));
}

/* Without halt_on_error the channel never halts on a failed op. */
TEST_F(Errors, NoHaltByDefault)
{
	ASSERT_NO_FATAL_FAILURE(SetUpCard("capture_channels=0"));
	ASSERT_EQ(rte_dma_copy(dev_, 0, 0, iova(dst_), kLen, 0), 0);
	ASSERT_EQ(copy_slot(1, RTE_DMA_OP_FLAG_SUBMIT), 1);
	/* Both complete before anyone reads the error. */
	ASSERT_TRUE(poll_until([&] { return slot_copied(1); }));
	enum rte_dma_vchan_status vs = RTE_DMA_VCHAN_HALTED_ERROR;
	ASSERT_EQ(rte_dma_vchan_status(dev_, 0, &vs), 0);
	EXPECT_NE(vs, RTE_DMA_VCHAN_HALTED_ERROR);
	const auto st = drain_status(dev_, 0, 2);
	ASSERT_EQ(st.size(), 2u);
	EXPECT_EQ(st[0], RTE_DMA_STATUS_INVALID_SRC_ADDR);
	EXPECT_EQ(st[1], RTE_DMA_STATUS_SUCCESSFUL);
}

/* fail_nth=5 and each fail_status spelling map to the right DPDK code. */
TEST_F(Errors, FailNthDevarg)
{
	const struct { const char *name; rte_dma_status_code want; } cases[] = {
		{"bus_error", RTE_DMA_STATUS_BUS_ERROR},
		{"page_fault", RTE_DMA_STATUS_PAGE_FAULT},
		{"data_poison", RTE_DMA_STATUS_DATA_POISION},
		{"dev_link_error", RTE_DMA_STATUS_DEV_LINK_ERROR},
		{"error_unknown", RTE_DMA_STATUS_ERROR_UNKNOWN},
		{"8", RTE_DMA_STATUS_BUS_READ_ERROR},
		{"user_abort", RTE_DMA_STATUS_USER_ABORT},
	};
	uint8_t *buf = alloc(2 * kLen);
	ASSERT_NE(buf, nullptr);
	for (const auto &c : cases) {
		SCOPED_TRACE(std::string("fail_status=") + c.name);
		const int16_t dev = start_card(std::string("capture_channels=0,fail_nth=5,fail_status=") +
					       c.name, 1, 32);
		ASSERT_GE(dev, 0);
		for (unsigned round = 0; round < 2; round++) {
			/* Counted since the channel was reset: a restart starts over. */
			for (int i = 0; i < 10; i++)
				ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + kLen), kLen,
						       i == 9 ? RTE_DMA_OP_FLAG_SUBMIT : 0), i);
			const Drained d = drain(dev, 0, 10, 0);
			EXPECT_TRUE(d.has_error);
			EXPECT_EQ(d.count, 4);
			const auto st = drain_status(dev, 0, 6);
			ASSERT_EQ(st.size(), 6u);
			EXPECT_EQ(st[0], c.want) << status_name(st[0]);
			for (int i = 1; i < 6; i++)
				EXPECT_EQ(st[i], RTE_DMA_STATUS_SUCCESSFUL) << "op " << 4 + i;
			/* Only the 5th: the next ten all succeed. */
			for (int i = 0; i < 10; i++)
				ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + kLen), kLen,
						       i == 9 ? RTE_DMA_OP_FLAG_SUBMIT : 0), 10 + i);
			const Drained d2 = drain(dev, 0, 10, 10);
			EXPECT_FALSE(d2.has_error);
			EXPECT_EQ(d2.count, 10);
			rte_dma_stats stats{};
			ASSERT_EQ(rte_dma_stats_get(dev, 0, &stats), 0);
			EXPECT_EQ(stats.completed, 20u);
			EXPECT_EQ(stats.errors, 1u);
			ASSERT_EQ(rte_dma_stop(dev), 0);
			ASSERT_EQ(rte_dma_start(dev), 0);
		}
	}
}

TEST_F(Errors, SetFaultFailEvery)
{
	ASSERT_NO_FATAL_FAILURE(SetUpCard("capture_channels=0"));
	model::Card *c = card(dev_);
	ASSERT_NE(c, nullptr);
	model::FaultPlan plan;
	plan.fail_every = 3;
	plan.fail_status = hw::Status::BusWriteError;
	c->set_fault(0, plan);
	for (unsigned i = 0; i < 30; i++)
		ASSERT_EQ(copy_slot(i, i == 29 ? RTE_DMA_OP_FLAG_SUBMIT : 0), int(i));
	const auto st = drain_status(dev_, 0, 30);
	ASSERT_EQ(st.size(), 30u);
	for (unsigned i = 0; i < 30; i++) {
		/* 1-based: descriptors 3, 6, ... 30 fail, i.e. ids 2, 5, ... 29. */
		const bool fails = (i + 1) % 3 == 0;
		EXPECT_EQ(st[i], fails ? RTE_DMA_STATUS_BUS_WRITE_ERROR : RTE_DMA_STATUS_SUCCESSFUL)
			<< "op " << i << ": " << status_name(st[i]);
		if (!fails) {
			EXPECT_TRUE(slot_copied(i)) << "op " << i;
		}
	}
	rte_dma_stats stats{};
	ASSERT_EQ(rte_dma_stats_get(dev_, 0, &stats), 0);
	EXPECT_EQ(stats.completed, 30u);
	EXPECT_EQ(stats.errors, 10u);

	/* Cleared: everything succeeds again. */
	c->set_fault(0, model::FaultPlan{});
	for (unsigned i = 0; i < 10; i++)
		ASSERT_EQ(copy_slot(30 + i, i == 9 ? RTE_DMA_OP_FLAG_SUBMIT : 0), int(30 + i));
	const Drained d = drain(dev_, 0, 10, 30);
	EXPECT_FALSE(d.has_error);
	EXPECT_EQ(d.count, 10);
	/* Out-of-range channels are refused by the model. */
	EXPECT_THROW(c->set_fault(1, plan), std::out_of_range);
}

} // namespace
} // namespace xcap::test
