/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Op-based enqueue/dequeue (DPDK 25.03+, drivers/dma/xcap/xcap_ops.cpp):
 * rte_dma_enqueue_ops/rte_dma_dequeue_ops on a device configured with
 * RTE_DMA_CFG_FLAG_ENQ_DEQ. Byte-exact copies and SG copies, a full ring,
 * failing ops and fences, stats, what the rte_dma_copy family does in op
 * mode, switching modes, and a card fault. Nothing here before 25.03.
 */
#include "xcap_dpdk_compat.h"

#if XCAP_DPDK_HAS_DMA_OPS

#include <cerrno>
#include <cstring>
#include <random>

#include "pmd_test.h"

namespace xcap::test {
namespace {

class Ops : public PmdTest {
protected:
	static constexpr uint32_t kLen = 256;   /* bytes per slot */
	static constexpr unsigned kSlots = 256; /* source/destination slots */

	void SetUp() override
	{
		src_ = alloc(kSlots * kLen);
		dst_ = alloc(kSlots * kLen);
		ASSERT_TRUE(src_ && dst_);
		for (unsigned i = 0; i < kSlots * kLen; i++)
			src_[i] = uint8_t((i / kLen) * 29 + i % kLen * 3 + 1);
	}

	static rte_dma_conf op_conf(uint16_t nb_vchans = 1)
	{
		rte_dma_conf conf{};
		conf.nb_vchans = nb_vchans;
		conf.flags = RTE_DMA_CFG_FLAG_ENQ_DEQ;
		return conf;
	}

	/* A started card in op mode, nb_vchans copy vchans of nb_desc entries. */
	int16_t start_ops(const std::string &args, uint16_t nb_desc = 64, uint16_t nb_vchans = 1)
	{
		const int16_t dev = create(args);
		if (dev < 0)
			return -1;
		const rte_dma_conf conf = op_conf(nb_vchans);
		EXPECT_EQ(rte_dma_configure(dev, &conf), 0);
		for (uint16_t v = 0; v < nb_vchans; v++)
			EXPECT_EQ(rte_dma_vchan_setup(dev, v, ptr(mem_to_mem(nb_desc))), 0);
		EXPECT_EQ(rte_dma_start(dev), 0);
		return ::testing::Test::HasFailure() ? -1 : dev;
	}

	/* An op with room for n segments, rte_zmalloc'd (freed in TearDown). */
	rte_dma_op *new_op(unsigned n)
	{
		return reinterpret_cast<rte_dma_op *>(alloc(sizeof(rte_dma_op) +
							    n * sizeof(rte_dma_sge), 8));
	}
	/* A copy of slot `slot`, kLen bytes (or len). */
	rte_dma_op *copy_op(unsigned slot, uint64_t flags = 0, uint32_t len = kLen)
	{
		rte_dma_op *op = new_op(2);
		if (op == nullptr)
			return nullptr;
		op->nb_src = op->nb_dst = 1;
		op->src_dst_seg[0] = {iova(src_ + slot * kLen), len};
		op->src_dst_seg[1] = {iova(dst_ + slot * kLen), len};
		op->flags = flags;
		op->status = rte_dma_status_code(0x5a5a); /* must be overwritten */
		op->user_meta = slot;
		return op;
	}
	std::vector<rte_dma_op *> copy_ops(unsigned first, unsigned n)
	{
		std::vector<rte_dma_op *> v;
		for (unsigned i = 0; i < n; i++)
			v.push_back(copy_op(first + i));
		return v;
	}

	/* Dequeue until n ops came back (or kWait passed), in bursts of at most
	 * burst. */
	std::vector<rte_dma_op *> dequeue(int16_t dev, uint16_t vchan, size_t n, uint16_t burst = 32)
	{
		std::vector<rte_dma_op *> got;
		std::vector<rte_dma_op *> buf(burst);
		poll_until([&] {
			const size_t want = std::min<size_t>(burst, n - got.size());
			const uint16_t k = rte_dma_dequeue_ops(dev, vchan, buf.data(), uint16_t(want));
			got.insert(got.end(), buf.begin(), buf.begin() + k);
			return got.size() == n;
		});
		EXPECT_EQ(got.size(), n) << "dequeue timed out";
		return got;
	}

	uint16_t enqueue(int16_t dev, std::vector<rte_dma_op *> &ops, uint16_t vchan = 0)
	{
		return rte_dma_enqueue_ops(dev, vchan, ops.data(), uint16_t(ops.size()));
	}

	bool slot_copied(unsigned slot, uint32_t len = kLen) const
	{
		return std::memcmp(src_ + slot * kLen, dst_ + slot * kLen, len) == 0;
	}
	bool slot_untouched(unsigned slot) const
	{
		for (unsigned i = 0; i < kLen; i++)
			if (dst_[slot * kLen + i] != 0)
				return false;
		return true;
	}
	static void expect_stats(int16_t dev, uint64_t submitted, uint64_t completed,
				 uint64_t errors)
	{
		rte_dma_stats s{};
		ASSERT_EQ(rte_dma_stats_get(dev, 0, &s), 0);
		EXPECT_EQ(s.submitted, submitted);
		EXPECT_EQ(s.completed, completed);
		EXPECT_EQ(s.errors, errors);
	}

	uint8_t *src_ = nullptr, *dst_ = nullptr;
};

TEST_F(Ops, CapabilityAndCaptureVchansRefused)
{
	const int16_t dev = create("copy_channels=1,capture_channels=1");
	ASSERT_GE(dev, 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	EXPECT_TRUE(info.dev_capa & RTE_DMA_CAPA_OPS_ENQ_DEQ);
	/* vchan 1 is a capture channel: no op mode for it. */
	rte_dma_conf conf = op_conf(2);
	EXPECT_EQ(rte_dma_configure(dev, &conf), -EINVAL);
	conf = op_conf(1);
	EXPECT_EQ(rte_dma_configure(dev, &conf), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(16))), 0);
	ASSERT_EQ(rte_dma_start(dev), 0);
	std::vector<rte_dma_op *> ops = copy_ops(0, 4);
	ASSERT_EQ(enqueue(dev, ops), 4);
	ASSERT_EQ(dequeue(dev, 0, 4), ops);
	for (unsigned i = 0; i < 4; i++)
		EXPECT_TRUE(slot_copied(i)) << i;

	/* A card without copy channels does not offer op mode at all (and the
	 * library refuses the flag for it). */
	const int16_t cap = create("copy_channels=0,capture_channels=1");
	ASSERT_GE(cap, 0);
	ASSERT_EQ(rte_dma_info_get(cap, &info), 0);
	EXPECT_FALSE(info.dev_capa & RTE_DMA_CAPA_OPS_ENQ_DEQ);
	conf = op_conf(1);
	EXPECT_EQ(rte_dma_configure(cap, &conf), -EINVAL);

	/* enq_deq=0 (devarg): op mode not offered, the flag refused, the
	 * rte_dma_copy family unchanged. */
	const int16_t off = create("copy_channels=1,capture_channels=0,enq_deq=0");
	ASSERT_GE(off, 0);
	ASSERT_EQ(rte_dma_info_get(off, &info), 0);
	EXPECT_FALSE(info.dev_capa & RTE_DMA_CAPA_OPS_ENQ_DEQ);
	EXPECT_TRUE(info.dev_capa & RTE_DMA_CAPA_OPS_COPY);
	conf = op_conf(1);
	EXPECT_EQ(rte_dma_configure(off, &conf), -EINVAL);
	EXPECT_EQ(create_fail("copy_channels=1,enq_deq=maybe"), -EINVAL);
}

/* Bursts of copies of assorted lengths: every op comes back, in order, the
 * very op enqueued, SUCCESSFUL, the data byte-exact and nothing written
 * beyond it. */
TEST_F(Ops, CopiesByteExactInOrder)
{
	const int16_t dev = start_ops("capture_channels=0", 64);
	ASSERT_GE(dev, 0);
	std::mt19937 rng(7);
	std::vector<uint32_t> lens;
	unsigned slot = 0;
	for (unsigned burst : {1u, 7u, 16u, 33u, 3u}) {
		std::vector<rte_dma_op *> ops;
		for (unsigned i = 0; i < burst; i++, slot++) {
			const uint32_t len = 1 + rng() % (kLen - 1);
			ops.push_back(copy_op(slot, 0, len));
			lens.push_back(len);
		}
		ASSERT_EQ(enqueue(dev, ops), burst);
		const auto got = dequeue(dev, 0, burst, 5);
		ASSERT_EQ(got, ops);
		for (rte_dma_op *op : got)
			EXPECT_EQ(op->status, RTE_DMA_STATUS_SUCCESSFUL) << status_name(op->status);
	}
	for (unsigned s = 0; s < slot; s++) {
		ASSERT_TRUE(slot_copied(s, lens[s])) << "slot " << s << " length " << lens[s];
		for (uint32_t i = lens[s]; i < kLen; i++)
			ASSERT_EQ(dst_[s * kLen + i], 0) << "slot " << s << " written past its length";
	}
	expect_stats(dev, slot, slot, 0);
	rte_dma_op *none = nullptr;
	EXPECT_EQ(rte_dma_dequeue_ops(dev, 0, &none, 1), 0);
	EXPECT_EQ(none, nullptr);
}

/* Two copy vchans in op mode: each returns its own ops, with its own stats. */
TEST_F(Ops, TwoVchans)
{
	const int16_t dev = start_ops("copy_channels=2,capture_channels=0", 16, 2);
	ASSERT_GE(dev, 0);
	std::vector<rte_dma_op *> a = copy_ops(0, 12), b = copy_ops(12, 5);
	ASSERT_EQ(enqueue(dev, a, 0), 12);
	ASSERT_EQ(enqueue(dev, b, 1), 5);
	EXPECT_EQ(dequeue(dev, 1, 5), b);
	EXPECT_EQ(dequeue(dev, 0, 12), a);
	for (unsigned i = 0; i < 17; i++)
		EXPECT_TRUE(slot_copied(i)) << i;
	rte_dma_stats s{};
	ASSERT_EQ(rte_dma_stats_get(dev, 1, &s), 0);
	EXPECT_EQ(s.submitted, 5u);
	EXPECT_EQ(s.completed, 5u);
	ASSERT_EQ(rte_dma_stats_get(dev, RTE_DMA_ALL_VCHAN, &s), 0);
	EXPECT_EQ(s.submitted, 17u);
	EXPECT_EQ(s.completed, 17u);
	EXPECT_EQ(s.errors, 0u);
}

/* Scatter-gather ops: splits that do not line up, max_sges segments a side,
 * a 1:1 op with unequal lengths (the card refuses it), and an op with more
 * segments than max_sges (the driver refuses it). */
TEST_F(Ops, SgCopies)
{
	const int16_t dev = start_ops("capture_channels=0,max_sge=4", 32);
	ASSERT_GE(dev, 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	ASSERT_EQ(info.max_sges, 4);

	/* Op k gathers slot k's kLen bytes from its source pieces into
	 * destination pieces (lengths summing to kLen each). */
	const std::vector<std::vector<uint32_t>> src_split = {
		{kLen}, {100, 156}, {1, 2, 3, 250}, {64, 64, 64, 64}, {200, 56}};
	const std::vector<std::vector<uint32_t>> dst_split = {
		{128, 128}, {kLen}, {250, 3, 2, 1}, {17, 239}, {1, 1, 1, 253}};
	std::vector<rte_dma_op *> ops;
	for (unsigned k = 0; k < src_split.size(); k++) {
		const auto &s = src_split[k], &d = dst_split[k];
		rte_dma_op *op = new_op(unsigned(s.size() + d.size()));
		ASSERT_NE(op, nullptr);
		op->nb_src = uint16_t(s.size());
		op->nb_dst = uint16_t(d.size());
		uint32_t off = 0;
		for (size_t i = 0; i < s.size(); off += s[i], i++)
			op->src_dst_seg[i] = {iova(src_ + k * kLen + off), s[i]};
		off = 0;
		for (size_t i = 0; i < d.size(); off += d[i], i++)
			op->src_dst_seg[s.size() + i] = {iova(dst_ + k * kLen + off), d[i]};
		ops.push_back(op);
	}
	/* 1:1 with unequal lengths: a CopySg the card rejects (HW §5.2). */
	rte_dma_op *uneven = copy_op(5);
	uneven->src_dst_seg[1].length = kLen / 2;
	ops.push_back(uneven);
	ops.push_back(copy_op(6));
	ASSERT_EQ(enqueue(dev, ops), ops.size());
	const auto got = dequeue(dev, 0, ops.size());
	ASSERT_EQ(got, ops);
	for (unsigned k = 0; k < 7; k++) {
		if (k == 5) {
			EXPECT_EQ(got[k]->status, RTE_DMA_STATUS_INVALID_LENGTH)
				<< status_name(got[k]->status);
			EXPECT_TRUE(slot_untouched(5));
			continue;
		}
		EXPECT_EQ(got[k]->status, RTE_DMA_STATUS_SUCCESSFUL) << k << ": "
								      << status_name(got[k]->status);
		EXPECT_TRUE(slot_copied(k)) << "op " << k;
	}
	expect_stats(dev, 7, 7, 1);

	/* 5 source segments > max_sges: enqueue takes the ops before it and
	 * stops there; the ring has not moved for it. */
	rte_dma_op *big = new_op(6);
	ASSERT_NE(big, nullptr);
	big->nb_src = 5;
	big->nb_dst = 1;
	for (unsigned i = 0; i < 5; i++)
		big->src_dst_seg[i] = {iova(src_ + 7 * kLen + i * 10), 10};
	big->src_dst_seg[5] = {iova(dst_ + 7 * kLen), 50};
	rte_dma_op *none_dst = copy_op(8);
	none_dst->nb_dst = 0;
	std::vector<rte_dma_op *> mixed = {copy_op(9), big, copy_op(10)};
	ASSERT_EQ(enqueue(dev, mixed), 1);
	std::vector<rte_dma_op *> zero = {none_dst};
	ASSERT_EQ(enqueue(dev, zero), 0);
	std::vector<rte_dma_op *> rest = {mixed[2]};
	ASSERT_EQ(enqueue(dev, rest), 1);
	const auto got2 = dequeue(dev, 0, 2);
	ASSERT_EQ(got2.size(), 2u);
	EXPECT_EQ(got2[0], mixed[0]);
	EXPECT_EQ(got2[1], mixed[2]);
	EXPECT_TRUE(slot_copied(9));
	EXPECT_TRUE(slot_copied(10));
	EXPECT_TRUE(slot_untouched(7));
	EXPECT_TRUE(slot_untouched(8));
	expect_stats(dev, 9, 9, 1);
}

/* A ring of 64: an enqueue of 100 takes exactly 64 (a slot is free only
 * once its op was dequeued), the next takes 0, and after k dequeues exactly
 * k more. */
TEST_F(Ops, FullRingPartialEnqueue)
{
	constexpr uint16_t kDesc = 64;
	const int16_t dev = start_ops("capture_channels=0", kDesc);
	ASSERT_GE(dev, 0);
	std::vector<rte_dma_op *> ops = copy_ops(0, 100);
	EXPECT_EQ(rte_dma_burst_capacity(dev, 0), kDesc);
	ASSERT_EQ(enqueue(dev, ops), kDesc);
	EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 0);
	std::vector<rte_dma_op *> more(ops.begin() + kDesc, ops.end());
	ASSERT_EQ(enqueue(dev, more), 0);
	expect_stats(dev, kDesc, 0, 0);

	auto got = dequeue(dev, 0, 10);
	ASSERT_EQ(got, std::vector<rte_dma_op *>(ops.begin(), ops.begin() + 10));
	EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 10);
	ASSERT_EQ(enqueue(dev, more), 10);
	EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 0);
	std::vector<rte_dma_op *> rest(ops.begin() + kDesc + 10, ops.end());
	ASSERT_EQ(enqueue(dev, rest), 0);

	/* Drain, refill, drain: every op once, in order. */
	auto got2 = dequeue(dev, 0, kDesc, 64);
	got.insert(got.end(), got2.begin(), got2.end());
	ASSERT_EQ(enqueue(dev, rest), rest.size());
	got2 = dequeue(dev, 0, rest.size(), 64);
	got.insert(got.end(), got2.begin(), got2.end());
	ASSERT_EQ(got, ops);
	for (unsigned i = 0; i < ops.size(); i++) {
		EXPECT_EQ(ops[i]->status, RTE_DMA_STATUS_SUCCESSFUL) << i;
		EXPECT_TRUE(slot_copied(i)) << i;
	}
	expect_stats(dev, 100, 100, 0);
	EXPECT_EQ(rte_dma_burst_capacity(dev, 0), kDesc);
}

/* Source IOVA 0 (never mapped, HW §9) in the middle of one enqueue call:
 * that op is INVALID_SRC_ADDR; after it, unfenced ops of the call run
 * (SUCCESSFUL), fenced ones are NOT_ATTEMPTED (HW §5.3); a fenced op of the
 * next call runs again. */
TEST_F(Ops, FailingOpAndFences)
{
	const int16_t dev = start_ops("capture_channels=0", 64);
	ASSERT_GE(dev, 0);
	const uint64_t F = RTE_DMA_OP_FLAG_FENCE;
	std::vector<rte_dma_op *> ops = {copy_op(0), copy_op(1, F), copy_op(2), copy_op(3),
					 copy_op(4), copy_op(5, F), copy_op(6, F), copy_op(7)};
	ops[3]->src_dst_seg[0].addr = 0;
	ASSERT_EQ(enqueue(dev, ops), 8);
	std::vector<rte_dma_op *> next = {copy_op(8, F), copy_op(9)};
	ASSERT_EQ(enqueue(dev, next), 2);
	const auto got = dequeue(dev, 0, 10, 3);
	ops.insert(ops.end(), next.begin(), next.end());
	ASSERT_EQ(got, ops);
	const rte_dma_status_code S = RTE_DMA_STATUS_SUCCESSFUL, N = RTE_DMA_STATUS_NOT_ATTEMPTED;
	const rte_dma_status_code want[10] = {S, S, S, RTE_DMA_STATUS_INVALID_SRC_ADDR, S, N, N,
					      S, S, S};
	for (unsigned i = 0; i < 10; i++) {
		EXPECT_EQ(got[i]->status, want[i]) << "op " << i << ": " << status_name(got[i]->status);
		if (want[i] == S)
			EXPECT_TRUE(slot_copied(i)) << "op " << i;
		else
			EXPECT_TRUE(slot_untouched(i)) << "op " << i << " wrote its destination";
	}
	expect_stats(dev, 10, 10, 3);
}

/* The model's fail_nth= devarg: the 5th descriptor fails with the status
 * asked for, which dequeue passes through. */
TEST_F(Ops, InjectedFailureStatus)
{
	const int16_t dev = start_ops("capture_channels=0,fail_nth=5,fail_status=data_poison", 16);
	ASSERT_GE(dev, 0);
	std::vector<rte_dma_op *> ops = copy_ops(0, 8);
	ASSERT_EQ(enqueue(dev, ops), 8);
	const auto got = dequeue(dev, 0, 8);
	ASSERT_EQ(got, ops);
	for (unsigned i = 0; i < 8; i++) {
		EXPECT_EQ(got[i]->status, i == 4 ? RTE_DMA_STATUS_DATA_POISION
						 : RTE_DMA_STATUS_SUCCESSFUL)
			<< "op " << i << ": " << status_name(got[i]->status);
		EXPECT_EQ(slot_copied(i), i != 4) << "op " << i;
	}
	expect_stats(dev, 8, 8, 1);
}

/* halt_on_error=1: the channel halts after the failure; dequeue shows it and
 * resumes the channel (HW §7.3), which clears the fence flag, so the fenced
 * op after it runs. */
TEST_F(Ops, HaltOnErrorResumes)
{
	const int16_t dev = start_ops("capture_channels=0,halt_on_error=1", 16);
	ASSERT_GE(dev, 0);
	std::vector<rte_dma_op *> ops = {copy_op(0), copy_op(1), copy_op(2, RTE_DMA_OP_FLAG_FENCE),
					 copy_op(3)};
	ops[1]->src_dst_seg[1].addr = 0;
	ASSERT_EQ(enqueue(dev, ops), 4);
	const auto got = dequeue(dev, 0, 4, 1);
	ASSERT_EQ(got, ops);
	EXPECT_EQ(got[0]->status, RTE_DMA_STATUS_SUCCESSFUL);
	EXPECT_EQ(got[1]->status, RTE_DMA_STATUS_INVALID_DST_ADDR) << status_name(got[1]->status);
	EXPECT_EQ(got[2]->status, RTE_DMA_STATUS_SUCCESSFUL) << status_name(got[2]->status);
	EXPECT_EQ(got[3]->status, RTE_DMA_STATUS_SUCCESSFUL) << status_name(got[3]->status);
	for (unsigned i : {0u, 2u, 3u})
		EXPECT_TRUE(slot_copied(i)) << i;
	expect_stats(dev, 4, 4, 1);
}

/* In op mode the rte_dma_copy family is not valid (rte_dmadev.h) and is
 * refused without touching the ring; without op mode enqueue/dequeue are. */
TEST_F(Ops, EachModeRefusesTheOtherApi)
{
	const int16_t dev = start_ops("capture_channels=0", 16);
	ASSERT_GE(dev, 0);
	rte_dma_sge s = {iova(src_), kLen}, d = {iova(dst_), kLen};
	EXPECT_EQ(rte_dma_copy(dev, 0, iova(src_), iova(dst_), kLen, RTE_DMA_OP_FLAG_SUBMIT),
		  -ENOTSUP);
	EXPECT_EQ(rte_dma_copy_sg(dev, 0, &s, &d, 1, 1, 0), -ENOTSUP);
	EXPECT_EQ(rte_dma_fill(dev, 0, kPattern, iova(dst_), kLen, 0), -ENOTSUP);
	EXPECT_EQ(rte_dma_submit(dev, 0), -ENOTSUP);
	expect_completed_blocked(dev, 0);
	EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 16);
	expect_stats(dev, 0, 0, 0);
	EXPECT_TRUE(slot_untouched(0));
	/* The ops path still works, from index 0. */
	std::vector<rte_dma_op *> ops = copy_ops(0, 2);
	ASSERT_EQ(enqueue(dev, ops), 2);
	ASSERT_EQ(dequeue(dev, 0, 2), ops);
	EXPECT_TRUE(slot_copied(0));

	const int16_t plain = start_card("capture_channels=0", 1, 16);
	ASSERT_GE(plain, 0);
	std::vector<rte_dma_op *> more = copy_ops(1, 1);
	EXPECT_EQ(enqueue(plain, more), 0);
	EXPECT_EQ(rte_dma_dequeue_ops(plain, 0, more.data(), 1), 0);
	expect_stats(plain, 0, 0, 0);
}

/* Op mode and back, by rte_dma_configure alone (the vchan memzone holds the
 * op slots either way) and with a fresh vchan_setup. */
TEST_F(Ops, ReconfigureBetweenModes)
{
	const int16_t dev = start_ops("capture_channels=0", 32);
	ASSERT_GE(dev, 0);
	std::vector<rte_dma_op *> ops = copy_ops(0, 8);
	ASSERT_EQ(enqueue(dev, ops), 8);
	ASSERT_EQ(dequeue(dev, 0, 8), ops);

	/* Back to plain mode without vchan_setup. */
	ASSERT_EQ(rte_dma_stop(dev), 0);
	rte_dma_conf plain{};
	plain.nb_vchans = 1;
	ASSERT_EQ(rte_dma_configure(dev, &plain), 0);
	ASSERT_EQ(rte_dma_start(dev), 0);
	for (unsigned i = 0; i < 8; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(src_ + (8 + i) * kLen), iova(dst_ + (8 + i) * kLen),
				       kLen, i == 7 ? RTE_DMA_OP_FLAG_SUBMIT : 0), int(i));
	const Drained d = drain(dev, 0, 8, 0);
	ASSERT_FALSE(d.timed_out);
	EXPECT_FALSE(d.has_error);
	EXPECT_EQ(d.count, 8);
	std::vector<rte_dma_op *> refused = copy_ops(30, 1);
	EXPECT_EQ(enqueue(dev, refused), 0);
	expect_stats(dev, 8, 8, 0);

	/* Op mode again without vchan_setup, then with a new one of another
	 * size. */
	ASSERT_EQ(rte_dma_stop(dev), 0);
	const rte_dma_conf conf = op_conf();
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	ASSERT_EQ(rte_dma_start(dev), 0);
	std::vector<rte_dma_op *> ops1 = copy_ops(28, 4);
	ASSERT_EQ(enqueue(dev, ops1), 4);
	ASSERT_EQ(dequeue(dev, 0, 4), ops1);
	expect_stats(dev, 4, 4, 0);
	ASSERT_EQ(rte_dma_stop(dev), 0);
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(8))), 0);
	ASSERT_EQ(rte_dma_start(dev), 0);
	std::vector<rte_dma_op *> ops2 = copy_ops(16, 12);
	ASSERT_EQ(enqueue(dev, ops2), 8); /* ring of 8 */
	auto got = dequeue(dev, 0, 8);
	std::vector<rte_dma_op *> tail(ops2.begin() + 8, ops2.end());
	ASSERT_EQ(enqueue(dev, tail), 4);
	const auto got2 = dequeue(dev, 0, 4);
	got.insert(got.end(), got2.begin(), got2.end());
	ASSERT_EQ(got, ops2);
	for (unsigned i = 0; i < 32; i++)
		EXPECT_TRUE(slot_copied(i)) << i;
	expect_stats(dev, 12, 12, 0);
}

/* Over 65536 ops through a small ring: the 16-bit indexes and the phase
 * wrap many times; order, data and stats stay exact. */
TEST_F(Ops, IndexWrap)
{
	constexpr uint16_t kDesc = 128;
	constexpr unsigned kTotal = 70000, kBurst = 48;
	const int16_t dev = start_ops("capture_channels=0", kDesc);
	ASSERT_GE(dev, 0);
	/* kDesc + kBurst reusable ops, recycled in FIFO order as an
	 * application's mempool might; each op's data is checked when it comes
	 * back and its destination cleared for its next use. */
	static_assert(kDesc + kBurst <= kSlots);
	std::vector<rte_dma_op *> pool;
	for (unsigned i = 0; i < kDesc + kBurst; i++)
		pool.push_back(copy_op(i));
	unsigned enq = 0, deq = 0, next_free = 0;
	std::vector<rte_dma_op *> burst(kBurst);
	const bool ok = poll_until([&] {
		while (enq < kTotal) {
			const unsigned n = std::min(kBurst, kTotal - enq);
			std::vector<rte_dma_op *> b;
			for (unsigned i = 0; i < n; i++) {
				rte_dma_op *op = pool[(next_free + i) % pool.size()];
				op->user_meta = enq + i;
				b.push_back(op);
			}
			const uint16_t k = enqueue(dev, b);
			next_free += k;
			enq += k;
			if (k < n)
				break;
		}
		const uint16_t k = rte_dma_dequeue_ops(dev, 0, burst.data(), kBurst);
		for (uint16_t i = 0; i < k; i++, deq++) {
			const rte_dma_op *op = burst[i];
			const unsigned slot = unsigned(deq % pool.size());
			if (op->user_meta != deq || op->status != RTE_DMA_STATUS_SUCCESSFUL ||
			    !slot_copied(slot)) {
				ADD_FAILURE() << "op " << deq << ": got op " << op->user_meta
					      << " status " << status_name(op->status)
					      << (slot_copied(slot) ? "" : ", data wrong");
				return true;
			}
			/* the op's next use must copy again */
			std::memset(dst_ + slot * kLen, 0, kLen);
		}
		return deq == kTotal;
	}, 60000ms);
	ASSERT_TRUE(ok) << enq << " enqueued, " << deq << " dequeued";
	ASSERT_EQ(deq, kTotal);
	expect_stats(dev, kTotal, kTotal, 0);
}

/* A card fault (a completion with the wrong id, HW §7.4): the ops before it
 * come back; then nothing while the device runs (the vchan is failed, the
 * card may still write those buffers); after rte_dma_stop every op still in
 * flight comes back ERROR_UNKNOWN, so the application owns all its ops
 * again; rte_dma_start recovers the vchan. */
TEST_F(Ops, CardFaultHandsOpsBackAfterStop)
{
	const int16_t dev = start_ops("capture_channels=0", 32);
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	model::FaultPlan plan;
	plan.lie = model::FaultPlan::Lie::WrongId;
	plan.lie_nth = 4;
	c->set_fault(0, plan);
	std::vector<rte_dma_op *> ops = copy_ops(0, 10);
	ASSERT_EQ(enqueue(dev, ops), 10);
	/* Dequeue until the driver has read the lie and failed the vchan. */
	std::vector<rte_dma_op *> got, buf(16);
	ASSERT_TRUE(poll_until([&] {
		const uint16_t k = rte_dma_dequeue_ops(dev, 0, buf.data(), 16);
		got.insert(got.end(), buf.begin(), buf.begin() + k);
		enum rte_dma_vchan_status st;
		return rte_dma_vchan_status(dev, 0, &st) == 0 && st == RTE_DMA_VCHAN_HALTED_ERROR;
	}));
	ASSERT_EQ(got, std::vector<rte_dma_op *>(ops.begin(), ops.begin() + 3));
	EXPECT_NE(dump(dev).find("carries id"), std::string::npos) << dump(dev);
	/* Let the card finish the rest: still nothing comes back. */
	ASSERT_TRUE(poll_until([&] {
		return c->bar0() != nullptr &&
		       *reinterpret_cast<const volatile uint32_t *>(
			       c->bar0() + hw::chan_reg(0, hw::reg::ch::kHwHead)) == 10;
	}));
	EXPECT_EQ(rte_dma_dequeue_ops(dev, 0, buf.data(), 16), 0);
	ASSERT_EQ(rte_dma_stop(dev), 0);
	const auto rest = dequeue(dev, 0, 7, 4);
	ASSERT_EQ(rest, std::vector<rte_dma_op *>(ops.begin() + 3, ops.end()));
	for (rte_dma_op *op : rest)
		EXPECT_EQ(op->status, RTE_DMA_STATUS_ERROR_UNKNOWN) << status_name(op->status);
	EXPECT_EQ(rte_dma_dequeue_ops(dev, 0, buf.data(), 16), 0);
	expect_stats(dev, 10, 10, 7);

	ASSERT_EQ(rte_dma_start(dev), 0);
	std::memset(dst_, 0, kSlots * kLen);
	std::vector<rte_dma_op *> again = copy_ops(20, 5);
	ASSERT_EQ(enqueue(dev, again), 5);
	ASSERT_EQ(dequeue(dev, 0, 5), again);
	for (unsigned i = 20; i < 25; i++)
		EXPECT_TRUE(slot_copied(i)) << i;
	expect_stats(dev, 5, 5, 0);
}

} // namespace
} // namespace xcap::test

#endif /* XCAP_DPDK_HAS_DMA_OPS */
