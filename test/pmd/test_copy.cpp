/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Copies through rte_dma_copy(): data, ids, ring capacity, stats, several
 * vchans and several cards.
 */
#include <cerrno>
#include <algorithm>
#include <cstring>
#include <random>

#include "pmd_test.h"

namespace xcap::test {
namespace {

using Copy = PmdTest;

void fill_random(std::mt19937_64 &rng, uint8_t *p, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		const uint64_t v = rng();
		std::memcpy(p + i, &v, 8);
	}
	const uint64_t v = rng();
	std::memcpy(p + i, &v, len - i);
}

TEST_F(Copy, SingleOpByteExact)
{
	const int16_t dev = start_card("capture_channels=0", 1, 64);
	ASSERT_GE(dev, 0);
	constexpr size_t kLen = 4096, kGuard = 64;
	uint8_t *src = alloc(kLen);
	uint8_t *dst = alloc(kLen + 2 * kGuard);
	ASSERT_TRUE(src && dst);
	for (size_t i = 0; i < kLen; i++)
		src[i] = uint8_t(i * 7 + 3);
	std::memset(dst, 0xa5, kLen + 2 * kGuard);

	EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 64);
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(src), iova(dst + kGuard), kLen, RTE_DMA_OP_FLAG_SUBMIT), 0);
	const Drained d = drain(dev, 0, 1, 0);
	ASSERT_FALSE(d.timed_out);
	ASSERT_FALSE(d.has_error);
	EXPECT_EQ(d.count, 1);
	EXPECT_EQ(d.last_idx, 0);
	EXPECT_EQ(std::memcmp(dst + kGuard, src, kLen), 0);
	for (size_t i = 0; i < kGuard; i++) {
		ASSERT_EQ(dst[i], 0xa5) << "write before the destination at -" << kGuard - i;
		ASSERT_EQ(dst[kGuard + kLen + i], 0xa5) << "write past the destination at +" << i;
	}
}

/* 10 000 copies of 1..4096 bytes between random offsets, in bursts. */
TEST_F(Copy, RandomSizes10k)
{
	constexpr unsigned kOps = 10000, kSlots = 128, kMaxLen = 4096, kSlotSize = kMaxLen + 128;
	const int16_t dev = start_card("capture_channels=0", 1, 256);
	ASSERT_GE(dev, 0);
	uint8_t *src = alloc(size_t(kSlots) * kSlotSize);
	uint8_t *dst = alloc(size_t(kSlots) * kSlotSize);
	ASSERT_TRUE(src && dst);
	const uint64_t seed = 0x5eed0001;
	std::mt19937_64 rng(seed);
	struct Op { uint32_t soff, doff, len; };
	std::vector<Op> ops(kSlots);
	uint16_t id = 0;
	for (unsigned done = 0; done < kOps;) {
		const unsigned n = std::min(kSlots, kOps - done);
		std::memset(dst, 0x3c, size_t(kSlots) * kSlotSize);
		for (unsigned i = 0; i < n; i++) {
			Op &o = ops[i];
			o.len = uint32_t(rng() % kMaxLen) + 1;
			o.soff = uint32_t(i * kSlotSize + rng() % 64);
			o.doff = uint32_t(i * kSlotSize + rng() % 64);
			fill_random(rng, src + o.soff, o.len);
			const int ret = rte_dma_copy(dev, 0, iova(src + o.soff), iova(dst + o.doff),
						     o.len, 0);
			ASSERT_EQ(ret, id) << "op " << done + i;
			id++;
		}
		ASSERT_EQ(rte_dma_submit(dev, 0), 0);
		const Drained d = drain(dev, 0, uint16_t(n), uint16_t(id - n));
		ASSERT_FALSE(d.timed_out) << "at op " << done << ", got " << d.count << "/" << n;
		ASSERT_FALSE(d.has_error) << "at op " << done;
		ASSERT_EQ(d.count, n);
		for (unsigned i = 0; i < n; i++) {
			const Op &o = ops[i];
			ASSERT_EQ(std::memcmp(dst + o.doff, src + o.soff, o.len), 0)
				<< "op " << done + i << " len " << o.len << " seed " << seed;
			const unsigned slot_end = (i + 1) * kSlotSize;
			for (unsigned b = o.doff + o.len; b < std::min(o.doff + o.len + 16, slot_end); b++)
				ASSERT_EQ(dst[b], 0x3c) << "op " << done + i << " wrote past its end";
			for (unsigned b = i * kSlotSize; b < o.doff; b++)
				ASSERT_EQ(dst[b], 0x3c) << "op " << done + i << " wrote before its start";
		}
		done += n;
	}
	rte_dma_stats st{};
	ASSERT_EQ(rte_dma_stats_get(dev, 0, &st), 0);
	EXPECT_EQ(st.submitted, kOps);
	EXPECT_EQ(st.completed, kOps);
	EXPECT_EQ(st.errors, 0u);
}

/* The completion scan (eight entries per compare where the CPU allows,
 * then one at a time) must stop exactly at the first failed entry wherever
 * it lies: at every offset in a group of eight, just before and after the
 * ring wraps, with any nb_cpls. A 64-entry ring, random batch sizes and
 * random nb_cpls, every 7th op failed by the card in continue mode: after
 * the card is idle each call's result is fully determined, and checked. */
TEST_F(Copy, CompletionScanStopsAtEveryFailureOffset)
{
	constexpr unsigned kRing = 64, kFailEvery = 7, kOps = 20000;
	const int16_t dev = start_card("capture_channels=0", 1, kRing);
	ASSERT_GE(dev, 0);
	model::FaultPlan plan;
	plan.fail_every = kFailEvery;
	card(dev)->set_fault(0, plan);
	uint8_t *src = alloc(kRing * 64);
	uint8_t *dst = alloc(kRing * 64);
	ASSERT_TRUE(src && dst);
	/* op id i is the card's descriptor i + 1 since reset (HW §5.3 counting) */
	auto fails = [](uint32_t op) { return (op + 1) % kFailEvery == 0; };
	std::mt19937_64 rng(0x5eed0002);
	uint32_t enqueued = 0, consumed = 0, failures = 0;
	std::vector<rte_dma_status_code> st(kRing);
	while (consumed < kOps) {
		const unsigned room = kRing - (enqueued - consumed);
		const unsigned k = std::min<unsigned>(unsigned(rng() % kRing) + 1,
						      std::min(room, kOps - enqueued));
		for (unsigned i = 0; i < k; i++) {
			const unsigned slot = enqueued % kRing;
			ASSERT_EQ(rte_dma_copy(dev, 0, iova(src + slot * 64), iova(dst + slot * 64), 64, 0),
				  int(uint16_t(enqueued)));
			enqueued++;
		}
		ASSERT_EQ(rte_dma_submit(dev, 0), 0);
		ASSERT_TRUE(poll_until([&] {
			enum rte_dma_vchan_status vs;
			return rte_dma_vchan_status(dev, 0, &vs) == 0 && vs == RTE_DMA_VCHAN_IDLE;
		}));
		/* consume a random part of what is complete, by random calls */
		const uint32_t target = consumed + unsigned(rng() % (enqueued - consumed + 1));
		while (consumed < target) {
			const uint16_t nb = uint16_t(rng() % 48 + 1);
			uint16_t last = 0xdead;
			if (rng() % 3 == 0) {
				const uint16_t got = rte_dma_completed_status(dev, 0, nb, &last, st.data());
				ASSERT_EQ(got, std::min<uint32_t>(nb, enqueued - consumed));
				for (uint16_t i = 0; i < got; i++) {
					const bool f = fails(consumed + i);
					ASSERT_EQ(st[i] != RTE_DMA_STATUS_SUCCESSFUL, f)
						<< "op " << consumed + i << ": " << status_name(st[i]);
					failures += f;
				}
				consumed += got;
			} else {
				bool err = false;
				uint32_t expect = 0;
				while (expect < nb && consumed + expect < enqueued && !fails(consumed + expect))
					expect++;
				const uint16_t got = rte_dma_completed(dev, 0, nb, &last, &err);
				ASSERT_EQ(got, expect) << "at op " << consumed << ", nb_cpls " << nb;
				ASSERT_EQ(err, expect < nb && consumed + expect < enqueued)
					<< "at op " << consumed << ", nb_cpls " << nb;
				consumed += got;
				if (err) {
					/* completed() keeps returning 0 until the status is read */
					ASSERT_EQ(rte_dma_completed(dev, 0, nb, &last, &err), 0);
					ASSERT_EQ(rte_dma_completed_status(dev, 0, 1, &last, st.data()), 1);
					ASSERT_NE(st[0], RTE_DMA_STATUS_SUCCESSFUL);
					failures++;
					consumed++;
				}
			}
			ASSERT_EQ(last, uint16_t(consumed - 1)) << "last_idx at op " << consumed;
		}
	}
	EXPECT_EQ(failures, kOps / kFailEvery);
	rte_dma_stats s{};
	ASSERT_EQ(rte_dma_stats_get(dev, 0, &s), 0);
	EXPECT_EQ(s.completed, kOps);
	EXPECT_EQ(s.errors, kOps / kFailEvery);
}

/* More than 65 536 ops: ids are 16 bits and wrap; every returned id and
 * every last_idx follows the sequence exactly, and the data is right. */
TEST_F(Copy, IdsWrapPast65535)
{
	constexpr unsigned kOps = 70500, kBurst = 500, kRing = 512;
	const int16_t dev = start_card("capture_channels=0", 1, kRing);
	ASSERT_GE(dev, 0);
	auto *src = reinterpret_cast<uint64_t *>(alloc(kBurst * 8));
	auto *dst = reinterpret_cast<uint64_t *>(alloc(kBurst * 8));
	ASSERT_TRUE(src && dst);
	uint64_t op = 0;
	while (op < kOps) {
		for (unsigned i = 0; i < kBurst; i++) {
			src[i] = op + i + 1;
			dst[i] = 0;
		}
		for (unsigned i = 0; i < kBurst; i++) {
			const uint64_t flags = i == kBurst - 1 ? RTE_DMA_OP_FLAG_SUBMIT : 0;
			const int ret = rte_dma_copy(dev, 0, iova(&src[i]), iova(&dst[i]), 8, flags);
			ASSERT_EQ(ret, int(uint16_t(op + i))) << "op " << op + i;
		}
		/* Collect in odd-sized chunks so that the calls split across the
		 * id wrap and the ring wrap at different points. */
		unsigned got = 0;
		const bool ok = poll_until([&] {
			uint16_t last = 0;
			bool err = false;
			const uint16_t want = uint16_t(std::min(kBurst - got, 97u));
			const uint16_t n = rte_dma_completed(dev, 0, want, &last, &err);
			EXPECT_FALSE(err) << "op " << op + got;
			if (n > 0) {
				EXPECT_LE(n, want);
				EXPECT_EQ(last, uint16_t(op + got + n - 1)) << "op " << op + got;
			} else {
				EXPECT_EQ(last, uint16_t(op + got - 1)) << "empty call, op " << op + got;
			}
			got += n;
			return got == kBurst || err;
		});
		ASSERT_TRUE(ok) << "burst at op " << op << ": " << got << "/" << kBurst;
		ASSERT_EQ(got, kBurst);
		for (unsigned i = 0; i < kBurst; i++)
			ASSERT_EQ(dst[i], op + i + 1) << "op " << op + i;
		op += kBurst;
	}
	ASSERT_GT(op, 65536u);
	uint16_t last = 0;
	bool err = true;
	EXPECT_EQ(rte_dma_completed(dev, 0, 64, &last, &err), 0);
	EXPECT_FALSE(err);
	EXPECT_EQ(last, uint16_t(kOps - 1));
	rte_dma_stats st{};
	ASSERT_EQ(rte_dma_stats_get(dev, 0, &st), 0);
	EXPECT_EQ(st.submitted, kOps);
	EXPECT_EQ(st.completed, kOps);
}

/* Ring full: -ENOSPC exactly at burst_capacity; capacity drops by one per
 * enqueue and comes back once completions are read. */
TEST_F(Copy, RingFullAndBurstCapacity)
{
	constexpr uint16_t kRing = 64;
	const int16_t dev = start_card("capture_channels=0", 1, kRing);
	ASSERT_GE(dev, 0);
	uint8_t *src = alloc(kRing * 64);
	uint8_t *dst = alloc(kRing * 64);
	ASSERT_TRUE(src && dst);
	for (unsigned i = 0; i < kRing * 64u; i++)
		src[i] = uint8_t(i ^ (i >> 8));

	for (unsigned round = 0; round < 3; round++) {
		const uint16_t base = uint16_t(round * kRing);
		ASSERT_EQ(rte_dma_burst_capacity(dev, 0), kRing);
		for (uint16_t i = 0; i < kRing; i++) {
			ASSERT_EQ(rte_dma_copy(dev, 0, iova(src + i * 64), iova(dst + i * 64), 64, 0),
				  int(uint16_t(base + i)));
			ASSERT_EQ(rte_dma_burst_capacity(dev, 0), kRing - i - 1);
		}
		/* Full, submitted or not. */
		EXPECT_EQ(rte_dma_copy(dev, 0, iova(src), iova(dst), 64, 0), -ENOSPC);
		EXPECT_EQ(rte_dma_fill(dev, 0, kPattern, iova(dst), 64, 0), -ENOSPC);
		ASSERT_EQ(rte_dma_submit(dev, 0), 0);
		EXPECT_EQ(rte_dma_copy(dev, 0, iova(src), iova(dst), 64, RTE_DMA_OP_FLAG_SUBMIT),
			  -ENOSPC);
		EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 0);
		/* Capacity returns as completions are read, not as the card works. */
		const Drained d = drain(dev, 0, 10, base);
		ASSERT_EQ(d.count, 10);
		EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 10);
		const Drained d2 = drain(dev, 0, kRing - 10, uint16_t(base + 10));
		ASSERT_EQ(d2.count, kRing - 10);
		EXPECT_FALSE(d2.has_error);
		EXPECT_EQ(rte_dma_burst_capacity(dev, 0), kRing);
		EXPECT_EQ(std::memcmp(src, dst, kRing * 64), 0);
		std::memset(dst, 0, kRing * 64);
	}
}

TEST_F(Copy, CompletedOnEmpty)
{
	const int16_t dev = start_card("capture_channels=0", 1, 32);
	ASSERT_GE(dev, 0);
	uint16_t last = 1234;
	bool err = true;
	/* Nothing ever completed: last_idx is the id before 0. */
	EXPECT_EQ(rte_dma_completed(dev, 0, 32, &last, &err), 0);
	EXPECT_FALSE(err);
	EXPECT_EQ(last, 0xffff);
	rte_dma_status_code st[4];
	EXPECT_EQ(rte_dma_completed_status(dev, 0, 4, &last, st), 0);
	EXPECT_EQ(last, 0xffff);

	uint8_t *buf = alloc(4096);
	ASSERT_NE(buf, nullptr);
	/* Enqueued but not submitted: nothing completes. */
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 2048), 100, 0), i);
	EXPECT_EQ(rte_dma_completed(dev, 0, 32, &last, &err), 0);
	EXPECT_EQ(last, 0xffff);
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	const Drained d = drain(dev, 0, 5, 0);
	ASSERT_EQ(d.count, 5);
	for (int i = 0; i < 3; i++) {
		last = 0;
		err = true;
		EXPECT_EQ(rte_dma_completed(dev, 0, 32, &last, &err), 0);
		EXPECT_EQ(last, 4);
		EXPECT_FALSE(err);
		EXPECT_EQ(rte_dma_completed_status(dev, 0, 4, &last, st), 0);
		EXPECT_EQ(last, 4);
	}
	/* nb_cpls bounds what one call returns. */
	for (int i = 0; i < 7; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 2048), 100, 0), 5 + i);
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	unsigned got = 0;
	ASSERT_TRUE(poll_until([&] {
		const uint16_t n = rte_dma_completed(dev, 0, 3, &last, &err);
		EXPECT_LE(n, 3);
		EXPECT_EQ(last, uint16_t(5 + got + n - 1));
		got += n;
		return got >= 7;
	}));
	EXPECT_EQ(got, 7u);
	EXPECT_EQ(rte_dma_completed(dev, 0, 32, &last, &err), 0);
	EXPECT_EQ(last, 11);
}

using Stats = PmdTest;

void expect_stats(int16_t dev, uint16_t vchan, uint64_t sub, uint64_t cpl, uint64_t err)
{
	rte_dma_stats st{1, 1, 1};
	ASSERT_EQ(rte_dma_stats_get(dev, vchan, &st), 0);
	EXPECT_EQ(st.submitted, sub) << "vchan " << vchan;
	EXPECT_EQ(st.completed, cpl) << "vchan " << vchan;
	EXPECT_EQ(st.errors, err) << "vchan " << vchan;
}

TEST_F(Stats, ExactCountsAndReset)
{
	const int16_t dev = start_card("capture_channels=0", 1, 64);
	ASSERT_GE(dev, 0);
	SCOPED_TRACE("stats");
	expect_stats(dev, 0, 0, 0, 0);
	expect_stats(dev, RTE_DMA_ALL_VCHAN, 0, 0, 0);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);

	for (int i = 0; i < 10; i++)
		ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 512, 0), i);
	expect_stats(dev, 0, 0, 0, 0); /* enqueued is not submitted */
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	expect_stats(dev, 0, 10, 0, 0);
	ASSERT_EQ(drain(dev, 0, 10, 0).count, 10);
	expect_stats(dev, 0, 10, 10, 0);

	/* One failure among five: counted by completed_status. */
	for (int i = 0; i < 5; i++) {
		const rte_iova_t src = i == 2 ? 0 : iova(buf);
		ASSERT_EQ(rte_dma_copy(dev, 0, src, iova(buf + 4096), 512,
				       i == 4 ? RTE_DMA_OP_FLAG_SUBMIT : 0), 10 + i);
	}
	expect_stats(dev, 0, 15, 10, 0);
	const auto st = drain_status(dev, 0, 5);
	ASSERT_EQ(st.size(), 5u);
	EXPECT_EQ(st[2], RTE_DMA_STATUS_INVALID_SRC_ADDR);
	expect_stats(dev, 0, 15, 15, 1);
	expect_stats(dev, RTE_DMA_ALL_VCHAN, 15, 15, 1);

	ASSERT_EQ(rte_dma_stats_reset(dev, 0), 0);
	expect_stats(dev, 0, 0, 0, 0);
	/* Counting goes on from zero. */
	ASSERT_EQ(rte_dma_copy(dev, 0, iova(buf), iova(buf + 4096), 512, RTE_DMA_OP_FLAG_SUBMIT), 15);
	ASSERT_EQ(drain(dev, 0, 1, 15).count, 1);
	expect_stats(dev, 0, 1, 1, 0);

	/* A restart zeroes them too. */
	ASSERT_EQ(rte_dma_stop(dev), 0);
	ASSERT_EQ(rte_dma_start(dev), 0);
	expect_stats(dev, 0, 0, 0, 0);

	rte_dma_stats s{};
	EXPECT_EQ(rte_dma_stats_get(dev, 1, &s), -EINVAL);
	EXPECT_EQ(rte_dma_stats_reset(dev, 1), -EINVAL);
}

/* Two vchans of one card, used interleaved; stats per vchan and summed. */
TEST_F(Stats, TwoVchansOneCard)
{
	const int16_t dev = start_card("copy_channels=2,capture_channels=0", 2, 128);
	ASSERT_GE(dev, 0);
	constexpr unsigned kLen = 1000;
	const unsigned n[2] = {300, 500};
	uint8_t *src[2], *dst[2];
	for (int v = 0; v < 2; v++) {
		src[v] = alloc(size_t(n[v]) * kLen);
		dst[v] = alloc(size_t(n[v]) * kLen);
		ASSERT_TRUE(src[v] && dst[v]);
		std::mt19937_64 rng(42 + v);
		fill_random(rng, src[v], size_t(n[v]) * kLen);
	}
	unsigned sent[2] = {0, 0}, done[2] = {0, 0};
	const bool ok = poll_until([&] {
		for (uint16_t v = 0; v < 2; v++) {
			/* Up to 16 per round, alternating vchans. */
			for (int k = 0; k < 16 && sent[v] < n[v]; k++) {
				const int ret = rte_dma_copy(dev, v, iova(src[v] + sent[v] * kLen),
							     iova(dst[v] + sent[v] * kLen), kLen, 0);
				if (ret == -ENOSPC)
					break;
				EXPECT_EQ(ret, int(sent[v])) << "vchan " << v;
				sent[v]++;
			}
			rte_dma_submit(dev, v);
			uint16_t last;
			bool err = false;
			const uint16_t got = rte_dma_completed(dev, v, 64, &last, &err);
			EXPECT_FALSE(err);
			done[v] += got;
			if (got) {
				EXPECT_EQ(last, uint16_t(done[v] - 1));
			}
		}
		return done[0] == n[0] && done[1] == n[1];
	}, 5000ms);
	ASSERT_TRUE(ok) << done[0] << "/" << n[0] << " " << done[1] << "/" << n[1];
	for (int v = 0; v < 2; v++)
		EXPECT_EQ(std::memcmp(src[v], dst[v], size_t(n[v]) * kLen), 0) << "vchan " << v;
	expect_stats(dev, 0, 300, 300, 0);
	expect_stats(dev, 1, 500, 500, 0);
	expect_stats(dev, RTE_DMA_ALL_VCHAN, 800, 800, 0);
	ASSERT_EQ(rte_dma_stats_reset(dev, 1), 0);
	expect_stats(dev, 0, 300, 300, 0);
	expect_stats(dev, RTE_DMA_ALL_VCHAN, 300, 300, 0);
	ASSERT_EQ(rte_dma_stats_reset(dev, RTE_DMA_ALL_VCHAN), 0);
	expect_stats(dev, RTE_DMA_ALL_VCHAN, 0, 0, 0);
}

/* Two cards side by side, driven from one thread. */
TEST_F(Copy, TwoCardsConcurrently)
{
	const int16_t a = start_card("capture_channels=0", 1, 256);
	const int16_t b = start_card("capture_channels=0,max_sge=4", 1, 64);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_NE(a, b);
	ASSERT_NE(card(a), card(b));
	constexpr unsigned kOps = 2000, kLen = 256;
	const int16_t dev[2] = {a, b};
	uint8_t *src[2], *dst[2];
	for (int c = 0; c < 2; c++) {
		src[c] = alloc(size_t(kOps) * kLen);
		dst[c] = alloc(size_t(kOps) * kLen);
		ASSERT_TRUE(src[c] && dst[c]);
		std::mt19937_64 rng(7 + c);
		fill_random(rng, src[c], size_t(kOps) * kLen);
	}
	unsigned sent[2] = {0, 0}, done[2] = {0, 0};
	const bool ok = poll_until([&] {
		for (int c = 0; c < 2; c++) {
			const uint16_t cap = rte_dma_burst_capacity(dev[c], 0);
			for (uint16_t k = 0; k < cap && sent[c] < kOps; k++) {
				const int ret = rte_dma_copy(dev[c], 0, iova(src[c] + sent[c] * kLen),
							     iova(dst[c] + sent[c] * kLen), kLen, 0);
				EXPECT_EQ(ret, int(uint16_t(sent[c]))) << "card " << c;
				if (ret < 0)
					break;
				sent[c]++;
			}
			rte_dma_submit(dev[c], 0);
			uint16_t last;
			bool err = false;
			const uint16_t got = rte_dma_completed(dev[c], 0, 128, &last, &err);
			EXPECT_FALSE(err) << "card " << c;
			done[c] += got;
			if (got) {
				EXPECT_EQ(last, uint16_t(done[c] - 1)) << "card " << c;
			}
		}
		return done[0] == kOps && done[1] == kOps;
	}, 5000ms);
	ASSERT_TRUE(ok) << done[0] << " " << done[1];
	for (int c = 0; c < 2; c++)
		EXPECT_EQ(std::memcmp(src[c], dst[c], size_t(kOps) * kLen), 0) << "card " << c;
	expect_stats(a, 0, kOps, kOps, 0);
	expect_stats(b, 0, kOps, kOps, 0);
}

} // namespace
} // namespace xcap::test
