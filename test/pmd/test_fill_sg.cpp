/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * rte_dma_fill() and rte_dma_copy_sg().
 */
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <random>

#include "pmd_test.h"

namespace xcap::test {
namespace {

using Fill = PmdTest;

TEST_F(Fill, PatternLengthsAndGuards)
{
	const uint32_t lens[] = {1, 7, 8, 50, 64, 89, 100, 1024, 65536};
	constexpr size_t kGuard = 64;
	const int16_t dev = start_card("capture_channels=0", 1, 64);
	ASSERT_GE(dev, 0);
	/* Each length twice: at an aligned and at an odd destination. */
	struct Case { uint32_t len; size_t off; uint8_t *buf; };
	std::vector<Case> cases;
	for (uint32_t len : lens)
		for (size_t off : {size_t(0), size_t(3)}) {
			uint8_t *buf = alloc(len + off + 2 * kGuard);
			ASSERT_NE(buf, nullptr);
			std::memset(buf, 0xa5, len + off + 2 * kGuard);
			cases.push_back({len, off, buf});
		}
	for (size_t i = 0; i < cases.size(); i++) {
		const Case &c = cases[i];
		ASSERT_EQ(rte_dma_fill(dev, 0, kPattern, iova(c.buf + kGuard + c.off), c.len, 0), int(i));
	}
	ASSERT_EQ(rte_dma_submit(dev, 0), 0);
	const Drained d = drain(dev, 0, uint16_t(cases.size()), 0);
	ASSERT_FALSE(d.timed_out);
	ASSERT_FALSE(d.has_error);
	ASSERT_EQ(d.count, cases.size());
	for (const Case &c : cases) {
		SCOPED_TRACE("fill length " + std::to_string(c.len) + " at offset " +
			     std::to_string(c.off));
		const uint8_t *p = c.buf + kGuard + c.off;
		for (size_t i = 0; i < c.len; i++)
			ASSERT_EQ(p[i], pattern_byte(kPattern, i)) << "byte " << i;
		for (size_t i = 0; i < kGuard + c.off; i++)
			ASSERT_EQ(c.buf[i], 0xa5) << "write before the destination, byte " << i;
		for (size_t i = 0; i < kGuard; i++)
			ASSERT_EQ(p[c.len + i], 0xa5) << "write past the end, +" << i;
	}
}

TEST_F(Fill, OtherPatterns)
{
	const int16_t dev = start_card("capture_channels=0", 1, 16);
	ASSERT_GE(dev, 0);
	const uint64_t patterns[] = {0, ~0ull, 0x0102030405060708ull, 0x8000000000000001ull};
	uint8_t *buf = alloc(4 * 200);
	ASSERT_NE(buf, nullptr);
	std::memset(buf, 0x11, 4 * 200);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(rte_dma_fill(dev, 0, patterns[i], iova(buf + 200 * i), 123,
				       i == 3 ? RTE_DMA_OP_FLAG_SUBMIT : 0), i);
	ASSERT_EQ(drain(dev, 0, 4, 0).count, 4);
	for (int k = 0; k < 4; k++) {
		for (size_t i = 0; i < 123; i++)
			ASSERT_EQ(buf[200 * k + i], pattern_byte(patterns[k], i)) << k << " " << i;
		for (size_t i = 123; i < 200; i++)
			ASSERT_EQ(buf[200 * k + i], 0x11) << k << " " << i;
	}
}

using CopySg = PmdTest;

/* Gather the bytes the SG list describes. */
std::vector<uint8_t> gather(const std::vector<rte_dma_sge> &sg, const std::vector<uint8_t *> &va)
{
	std::vector<uint8_t> out;
	for (size_t i = 0; i < sg.size(); i++)
		out.insert(out.end(), va[i], va[i] + sg[i].length);
	return out;
}

TEST_F(CopySg, UnevenSplits)
{
	const int16_t dev = start_card("capture_channels=0", 1, 32);
	ASSERT_GE(dev, 0);
	constexpr size_t kGuard = 32;
	const uint32_t slen[] = {100, 1000, 24}, dlen[] = {500, 624};
	std::vector<rte_dma_sge> src, dst;
	std::vector<uint8_t *> sva, dva;
	std::mt19937 rng(3);
	for (uint32_t l : slen) {
		uint8_t *b = alloc(l + 2 * kGuard);
		ASSERT_NE(b, nullptr);
		for (uint32_t i = 0; i < l + 2 * kGuard; i++)
			b[i] = uint8_t(rng());
		sva.push_back(b + kGuard + 1); /* odd addresses */
		src.push_back({iova(b + kGuard + 1), l});
	}
	for (uint32_t l : dlen) {
		uint8_t *b = alloc(l + 2 * kGuard);
		ASSERT_NE(b, nullptr);
		std::memset(b, 0xee, l + 2 * kGuard);
		dva.push_back(b + kGuard);
		dst.push_back({iova(b + kGuard), l});
	}
	ASSERT_EQ(rte_dma_copy_sg(dev, 0, src.data(), dst.data(), 3, 2, RTE_DMA_OP_FLAG_SUBMIT), 0);
	const Drained d = drain(dev, 0, 1, 0);
	ASSERT_EQ(d.count, 1);
	ASSERT_FALSE(d.has_error);
	EXPECT_EQ(gather(dst, dva), gather(src, sva));
	for (size_t k = 0; k < dva.size(); k++)
		for (size_t i = 0; i < kGuard; i++) {
			ASSERT_EQ(dva[k][-1 - long(i)], 0xee) << "segment " << k;
			ASSERT_EQ(dva[k][dlen[k] + i], 0xee) << "segment " << k;
		}
}

/* Random splits up to max_sge on each side, many in flight, so that the
 * per-slot SG lists are reused across ring wraps. */
TEST_F(CopySg, RandomSplitsManyInFlight)
{
	constexpr unsigned kMaxSge = 16, kTotal = 4096, kOps = 300, kRing = 32;
	const int16_t dev = start_card("capture_channels=0,max_sge=16", 1, kRing);
	ASSERT_GE(dev, 0);
	uint8_t *src = alloc(size_t(kRing) * kTotal);
	uint8_t *dst = alloc(size_t(kRing) * kTotal);
	ASSERT_TRUE(src && dst);
	std::mt19937_64 rng(11);
	auto split = [&](unsigned n, uint32_t total) {
		/* n segment lengths >= 1 summing to total. */
		std::vector<uint32_t> cuts;
		while (cuts.size() < n - 1) {
			const uint32_t c = uint32_t(rng() % (total - 1)) + 1;
			if (std::find(cuts.begin(), cuts.end(), c) == cuts.end())
				cuts.push_back(c);
		}
		std::sort(cuts.begin(), cuts.end());
		std::vector<uint32_t> lens;
		uint32_t prev = 0;
		for (uint32_t c : cuts) {
			lens.push_back(c - prev);
			prev = c;
		}
		lens.push_back(total - prev);
		return lens;
	};
	uint16_t id = 0;
	for (unsigned done = 0; done < kOps; done += kRing) {
		for (unsigned i = 0; i < kTotal * kRing; i++)
			src[i] = uint8_t(rng());
		std::memset(dst, 0, size_t(kRing) * kTotal);
		for (unsigned s = 0; s < kRing; s++) {
			const unsigned ns = unsigned(rng() % kMaxSge) + 1, nd = unsigned(rng() % kMaxSge) + 1;
			/* Independent random splits of the same 4 KiB slot. */
			std::vector<uint32_t> sl = split(ns, kTotal), dl = split(nd, kTotal);
			std::vector<rte_dma_sge> sg_s, sg_d;
			uint32_t off = 0;
			for (uint32_t l : sl) {
				sg_s.push_back({iova(src + s * kTotal + off), l});
				off += l;
			}
			off = 0;
			for (uint32_t l : dl) {
				sg_d.push_back({iova(dst + s * kTotal + off), l});
				off += l;
			}
			ASSERT_EQ(rte_dma_copy_sg(dev, 0, sg_s.data(), sg_d.data(), uint16_t(ns),
						  uint16_t(nd), 0), id);
			id++;
		}
		ASSERT_EQ(rte_dma_submit(dev, 0), 0);
		const Drained d = drain(dev, 0, kRing, uint16_t(id - kRing));
		ASSERT_EQ(d.count, kRing) << "at op " << done;
		ASSERT_FALSE(d.has_error);
		ASSERT_EQ(std::memcmp(src, dst, size_t(kRing) * kTotal), 0) << "at op " << done;
	}
}

TEST_F(CopySg, TooManySegmentsRejected)
{
	const int16_t dev = start_card("capture_channels=0,max_sge=4", 1, 16);
	ASSERT_GE(dev, 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	ASSERT_EQ(info.max_sges, 4);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	for (int i = 0; i < 4096; i++)
		buf[i] = uint8_t(i * 13);
	rte_dma_sge s[5], d[5];
	for (int i = 0; i < 5; i++) {
		s[i] = {iova(buf + 100 * i), 100};
		d[i] = {iova(buf + 4096 + 100 * i), 100};
	}
	EXPECT_EQ(rte_dma_copy_sg(dev, 0, s, d, 5, 5, 0), -EINVAL);
	EXPECT_EQ(rte_dma_copy_sg(dev, 0, s, d, 5, 4, 0), -EINVAL);
	EXPECT_EQ(rte_dma_copy_sg(dev, 0, s, d, 4, 5, 0), -EINVAL);
	EXPECT_EQ(rte_dma_copy_sg(dev, 0, s, d, 0, 1, 0), -EINVAL);
	EXPECT_EQ(rte_dma_copy_sg(dev, 0, s, d, 1, 0, 0), -EINVAL);
	/* Nothing was consumed by the rejected calls. */
	EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 16);
	EXPECT_EQ(rte_dma_copy_sg(dev, 0, s, d, 4, 4, RTE_DMA_OP_FLAG_SUBMIT), 0);
	const Drained r = drain(dev, 0, 1, 0);
	ASSERT_EQ(r.count, 1);
	ASSERT_FALSE(r.has_error);
	EXPECT_EQ(std::memcmp(buf, buf + 4096, 400), 0);
	EXPECT_EQ(buf[4096 + 400], 0);
}

TEST_F(CopySg, MismatchedTotalsInvalidLength)
{
	const int16_t dev = start_card("capture_channels=0", 1, 16);
	ASSERT_GE(dev, 0);
	uint8_t *buf = alloc(8192);
	ASSERT_NE(buf, nullptr);
	for (int i = 0; i < 4096; i++)
		buf[i] = uint8_t(i * 5 + 1);
	rte_dma_sge s[3] = {{iova(buf), 100}, {iova(buf + 200), 1000}, {iova(buf + 1300), 24}};
	rte_dma_sge d[2] = {{iova(buf + 4096), 500}, {iova(buf + 4096 + 600), 500}}; /* 1000 != 1124 */
	ASSERT_EQ(rte_dma_copy_sg(dev, 0, s, d, 3, 2, 0), 0);
	d[1].length = 624; /* now equal */
	ASSERT_EQ(rte_dma_copy_sg(dev, 0, s, d, 3, 2, RTE_DMA_OP_FLAG_SUBMIT), 1);
	uint16_t last = 0;
	const auto st = drain_status(dev, 0, 2, &last);
	ASSERT_EQ(st.size(), 2u);
	EXPECT_EQ(st[0], RTE_DMA_STATUS_INVALID_LENGTH) << status_name(st[0]);
	EXPECT_EQ(st[1], RTE_DMA_STATUS_SUCCESSFUL) << status_name(st[1]);
	EXPECT_EQ(last, 1);
	std::vector<uint8_t> want(buf, buf + 100);
	want.insert(want.end(), buf + 200, buf + 1200);
	want.insert(want.end(), buf + 1300, buf + 1324);
	std::vector<uint8_t> got(buf + 4096, buf + 4096 + 500);
	got.insert(got.end(), buf + 4096 + 600, buf + 4096 + 1224);
	EXPECT_EQ(got, want);
	rte_dma_stats stats{};
	ASSERT_EQ(rte_dma_stats_get(dev, 0, &stats), 0);
	EXPECT_EQ(stats.errors, 1u);

	/* HW §5.2: an element of length 0 is invalid even when totals match. */
	std::memset(buf + 4096, 0, 4096);
	rte_dma_sge s2[3] = {{iova(buf), 100}, {iova(buf + 100), 0}, {iova(buf + 200), 28}};
	rte_dma_sge d2[1] = {{iova(buf + 4096), 128}};
	ASSERT_EQ(rte_dma_copy_sg(dev, 0, s2, d2, 3, 1, RTE_DMA_OP_FLAG_SUBMIT), 2);
	const auto st2 = drain_status(dev, 0, 1);
	ASSERT_EQ(st2.size(), 1u);
	EXPECT_EQ(st2[0], RTE_DMA_STATUS_INVALID_LENGTH) << status_name(st2[0]);
	for (int i = 0; i < 128; i++)
		ASSERT_EQ(buf[4096 + i], 0) << "a refused op wrote byte " << i;
}

} // namespace
} // namespace xcap::test
