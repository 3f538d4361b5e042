/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The emulated IOMMU (HW §9).
 */
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "model_harness.h"

using namespace xcap::test;

namespace {
struct Pages {
	Pages() : buf(1 << 20) {}
	AlignedBuf buf;
	uint8_t *at(size_t off) { return buf.p + off; }
};
} // namespace

TEST(Iommu, MapTranslate)
{
	Pages m;
	Iommu io(48);
	EXPECT_EQ(io.ranges(), 0u);
	EXPECT_EQ(io.translate(0x10000, 1), nullptr);
	ASSERT_EQ(io.map(0x10000, 0x1000, m.at(0)), 0);
	EXPECT_EQ(io.ranges(), 1u);
	EXPECT_EQ(io.translate(0x10000, 0x1000), m.at(0));
	EXPECT_EQ(io.translate(0x10800, 0x10), m.at(0x800));
	EXPECT_EQ(io.translate(0x10fff, 1), m.at(0xfff));
	EXPECT_EQ(io.translate(0x10fff, 2), nullptr); /* runs off the end */
	EXPECT_EQ(io.translate(0xffff, 2), nullptr);  /* starts before */
	EXPECT_EQ(io.translate(0x11000, 1), nullptr);
	EXPECT_EQ(io.translate(0x10000, 0), m.at(0)); /* len 0 treated as 1 */
}

TEST(Iommu, OverlapIsEexist)
{
	Pages m;
	Iommu io;
	ASSERT_EQ(io.map(0x10000, 0x2000, m.at(0)), 0);
	EXPECT_EQ(io.map(0x10000, 0x2000, m.at(0)), -EEXIST);
	EXPECT_EQ(io.map(0xf000, 0x1001, m.at(0x10000)), -EEXIST);  /* tail overlaps */
	EXPECT_EQ(io.map(0x11fff, 0x10, m.at(0x10000)), -EEXIST);   /* head overlaps */
	EXPECT_EQ(io.map(0x10800, 0x100, m.at(0x10000)), -EEXIST);  /* inside */
	EXPECT_EQ(io.map(0x8000, 0x10000, m.at(0x10000)), -EEXIST); /* covers */
	EXPECT_EQ(io.map(0xf000, 0x1000, m.at(0x10000)), 0);        /* just before */
	EXPECT_EQ(io.map(0x12000, 0x1000, m.at(0x20000)), 0);       /* just after */
	EXPECT_EQ(io.ranges(), 3u);
}

TEST(Iommu, UnmapExactOrEnoent)
{
	Pages m;
	Iommu io;
	ASSERT_EQ(io.map(0x10000, 0x2000, m.at(0)), 0);
	EXPECT_EQ(io.unmap(0x10000, 0x1000), -ENOENT); /* wrong length */
	EXPECT_EQ(io.unmap(0x11000, 0x1000), -ENOENT); /* not a start */
	EXPECT_EQ(io.unmap(0x20000, 0x2000), -ENOENT);
	EXPECT_NE(io.translate(0x10000, 1), nullptr);
	EXPECT_EQ(io.unmap(0x10000, 0x2000), 0);
	EXPECT_EQ(io.translate(0x10000, 1), nullptr);
	EXPECT_EQ(io.unmap(0x10000, 0x2000), -ENOENT);
	EXPECT_EQ(io.ranges(), 0u);
	ASSERT_EQ(io.map(0x10000, 0x1000, m.at(0)), 0);
	ASSERT_EQ(io.map(0x30000, 0x1000, m.at(0x1000)), 0);
	io.clear();
	EXPECT_EQ(io.ranges(), 0u);
	EXPECT_EQ(io.translate(0x30000, 1), nullptr);
}

TEST(Iommu, InvalidArgumentsAndWidth)
{
	Pages m;
	Iommu io(32);
	EXPECT_EQ(io.addr_width(), 32u);
	EXPECT_EQ(io.map(0x1000, 0, m.at(0)), -EINVAL);
	EXPECT_EQ(io.map(0x1000, 0x1000, nullptr), -EINVAL);
	EXPECT_EQ(io.map(0xffff'f000, 0x1000, m.at(0)), 0);  /* ends at 2^32 */
	EXPECT_EQ(io.map(0x1'0000'0000, 0x1000, m.at(0)), -EINVAL);
	EXPECT_EQ(io.map(0xffff'e000, 0x2000, m.at(0)), -EEXIST);
	EXPECT_EQ(io.map(0xffff'ff00'0000'0000ull, 0x1000, m.at(0)), -EINVAL);
	Iommu io64(64);
	EXPECT_EQ(io64.map(~0ull - 0xfff, 0x1000, m.at(0)), 0); /* the very top */
	EXPECT_EQ(io64.translate(~0ull, 1), m.at(0xfff));
	EXPECT_EQ(io64.translate(~0ull, 2), nullptr); /* wraps */
	EXPECT_EQ(io64.map(~0ull - 0x7ff, 0x1000, m.at(0)), -EINVAL); /* wraps */
	EXPECT_THROW(Iommu(0), std::invalid_argument);
	EXPECT_THROW(Iommu(65), std::invalid_argument);
}

TEST(Iommu, ZeroAlwaysFaults)
{
	Pages m;
	Iommu io;
	EXPECT_EQ(io.map(0, 0x1000, m.at(0)), -EINVAL);
	EXPECT_EQ(io.translate(0, 1), nullptr);
	EXPECT_EQ(io.translate(0, 8), nullptr);
	ASSERT_EQ(io.map(0x1000, 0x1000, m.at(0)), 0);
	EXPECT_EQ(io.translate(0, 0x1001), nullptr);
}

TEST(Iommu, AdjacentRanges)
{
	Pages m;
	Iommu io;
	/* contiguous in IOVA and VA: one span */
	ASSERT_EQ(io.map(0x10000, 0x1000, m.at(0)), 0);
	ASSERT_EQ(io.map(0x11000, 0x1000, m.at(0x1000)), 0);
	EXPECT_EQ(io.translate(0x10f00, 0x200), m.at(0xf00));
	EXPECT_EQ(io.translate(0x10000, 0x2000), m.at(0));
	/* contiguous in IOVA only: no span across */
	ASSERT_EQ(io.map(0x12000, 0x1000, m.at(0x8000)), 0);
	EXPECT_EQ(io.translate(0x11f00, 0x200), nullptr);
	EXPECT_EQ(io.translate(0x12000, 0x100), m.at(0x8000));
	/* adjacent mappings stay separately unmappable */
	EXPECT_EQ(io.unmap(0x10000, 0x2000), -ENOENT);
	EXPECT_EQ(io.unmap(0x11000, 0x1000), 0);
	EXPECT_EQ(io.translate(0x10f00, 0x200), nullptr);
	EXPECT_EQ(io.translate(0x10f00, 0x100), m.at(0xf00));
	EXPECT_EQ(io.ranges(), 2u);
}

TEST(Iommu, UnmapSplitsAndRemapMerges)
{
	Pages m;
	Iommu io;
	for (int i = 0; i < 4; i++) /* one contiguous run of 4 pages */
		ASSERT_EQ(io.map(0x40000 + 0x1000 * i, 0x1000, m.at(0x1000 * i)), 0);
	EXPECT_EQ(io.translate(0x40000, 0x4000), m.at(0));
	ASSERT_EQ(io.unmap(0x41000, 0x1000), 0); /* hole in page 1 */
	EXPECT_EQ(io.translate(0x40000, 0x1000), m.at(0));
	EXPECT_EQ(io.translate(0x40000, 0x1001), nullptr);
	EXPECT_EQ(io.translate(0x41000, 1), nullptr);
	EXPECT_EQ(io.translate(0x42000, 0x2000), m.at(0x2000));
	EXPECT_EQ(io.translate(0x43fff, 1), m.at(0x3fff));
	ASSERT_EQ(io.unmap(0x43000, 0x1000), 0); /* trim the end */
	EXPECT_EQ(io.translate(0x42000, 0x1000), m.at(0x2000));
	EXPECT_EQ(io.translate(0x42000, 0x1001), nullptr);
	ASSERT_EQ(io.map(0x41000, 0x1000, m.at(0x1000)), 0); /* refill the hole */
	EXPECT_EQ(io.translate(0x40000, 0x3000), m.at(0));
	ASSERT_EQ(io.map(0x43000, 0x1000, m.at(0x9000)), 0); /* VA elsewhere: no merge */
	EXPECT_EQ(io.translate(0x40000, 0x3000), m.at(0));
	EXPECT_EQ(io.translate(0x42800, 0x1000), nullptr);
	EXPECT_EQ(io.translate(0x43000, 0x1000), m.at(0x9000));
	EXPECT_EQ(io.ranges(), 4u);
}

TEST(Iommu, ManySmallMappingsStayCheap)
{
	/* a --no-huge EAL maps its memory one 4 KiB page at a time */
	constexpr size_t kPages = 20000;
	AlignedBuf big(kPages * 4096);
	Iommu io;
	const auto t0 = std::chrono::steady_clock::now();
	for (size_t i = 0; i < kPages; i++)
		ASSERT_EQ(io.map(0x1'0000'0000ull + i * 4096, 4096, big.p + i * 4096), 0);
	EXPECT_EQ(io.translate(0x1'0000'0000ull, kPages * 4096), big.p);
	for (size_t i = 0; i < 2000; i += 2) /* punch 1000 holes */
		ASSERT_EQ(io.unmap(0x1'0000'0000ull + i * 4096, 4096), 0);
	EXPECT_EQ(io.translate(0x1'0000'0000ull + 4096, 4096), big.p + 4096);
	EXPECT_EQ(io.translate(0x1'0000'0000ull + 4096, 4097), nullptr);
	EXPECT_EQ(io.translate(0x1'0000'0000ull + 2000 * 4096, (kPages - 2000) * 4096), big.p + 2000 * 4096);
	EXPECT_EQ(io.ranges(), kPages - 1000);
	EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(Iommu, ReaderCachesAndSeesUpdates)
{
	Pages m;
	Iommu io;
	ASSERT_EQ(io.map(0x10000, 0x1000, m.at(0)), 0);
	ASSERT_EQ(io.map(0x20000, 0x1000, m.at(0x4000)), 0);
	Iommu::Reader r(io);
	const uint64_t g0 = r.sync();
	EXPECT_EQ(g0, io.generation());
	for (int i = 0; i < 3; i++) { /* alternate between segments */
		EXPECT_EQ(r.translate(0x10010, 4), m.at(0x10));
		EXPECT_EQ(r.translate(0x20010, 4), m.at(0x4010));
	}
	ASSERT_EQ(io.unmap(0x10000, 0x1000), 0);
	EXPECT_NE(io.generation(), g0);
	EXPECT_EQ(r.translate(0x10010, 4), nullptr); /* cached hit is not reused */
	EXPECT_EQ(r.translate(0x20010, 4), m.at(0x4010));
	ASSERT_EQ(io.map(0x10000, 0x1000, m.at(0x8000)), 0); /* remapped elsewhere */
	EXPECT_EQ(r.translate(0x10010, 4), m.at(0x8010));
	/* generations are unique across instances */
	Iommu other;
	EXPECT_NE(other.generation(), io.generation());
}

/* The Reader's TLB (a few recently hit segments): more live segments than
 * entries, ranges that leave a cached segment, wrapping ranges, and map
 * changes that must be seen at the very next lookup (HW §9). */
TEST(Iommu, ReaderTlbStaysExact)
{
	Pages m;
	Iommu io;
	constexpr unsigned kSegs = Iommu::Reader::kTlbEntries + 3;
	for (unsigned i = 0; i < kSegs; i++) /* IOVA gaps: one segment each */
		ASSERT_EQ(io.map(0x100000 + i * 0x10000, 0x1000, m.at(i * 0x2000)), 0);
	Iommu::Reader r(io);
	for (int round = 0; round < 3; round++)
		for (unsigned i = 0; i < kSegs; i++) {
			const uint64_t base = 0x100000 + i * 0x10000;
			EXPECT_EQ(r.translate(base + 0x10, 8), m.at(i * 0x2000 + 0x10));
			EXPECT_EQ(r.translate(base, 0x1000), m.at(i * 0x2000));
			EXPECT_EQ(r.translate(base + 0xff8, 16), nullptr) << "runs off segment " << i;
			EXPECT_EQ(r.translate(base - 8, 16), nullptr) << "starts before segment " << i;
			EXPECT_EQ(r.translate(base + 0xfff, 0), m.at(i * 0x2000 + 0xfff)); /* len 0 = 1 */
		}
	EXPECT_EQ(r.translate(~uint64_t(0) - 3, 16), nullptr); /* wraps */
	/* a cached segment unmapped: the next lookup misses */
	EXPECT_EQ(r.translate(0x100010, 8), m.at(0x10));
	ASSERT_EQ(io.unmap(0x100000, 0x1000), 0);
	EXPECT_EQ(r.translate(0x100010, 8), nullptr);
	/* a cached segment that grows (an adjacent, VA-contiguous mapping
	 * merges into it): ranges across the join translate right away */
	EXPECT_EQ(r.translate(0x110010, 8), m.at(0x2010));
	EXPECT_EQ(r.translate(0x110ff8, 16), nullptr);
	ASSERT_EQ(io.map(0x111000, 0x1000, m.at(0x3000)), 0);
	EXPECT_EQ(r.translate(0x110ff8, 16), m.at(0x2ff8));
	/* ... and splits again */
	ASSERT_EQ(io.unmap(0x111000, 0x1000), 0);
	EXPECT_EQ(r.translate(0x110ff8, 16), nullptr);
	EXPECT_EQ(r.translate(0x110ff0, 16), m.at(0x2ff0));
	/* remapped elsewhere: the new VA, not the cached one */
	ASSERT_EQ(io.unmap(0x110000, 0x1000), 0);
	ASSERT_EQ(io.map(0x110000, 0x1000, m.at(0x80000)), 0);
	EXPECT_EQ(r.translate(0x110010, 8), m.at(0x80010));
	io.clear();
	for (unsigned i = 0; i < kSegs; i++)
		EXPECT_EQ(r.translate(0x100000 + i * 0x10000 + 0x10, 8), nullptr);
}

TEST(Iommu, ConcurrentUpdatesAndReaders)
{
	Pages m;
	Iommu io;
	ASSERT_EQ(io.map(0x100000, 0x1000, m.at(0)), 0); /* stable mapping */
	std::atomic<bool> stop{false};
	std::atomic<uint64_t> bad{0}, lookups{0};
	std::vector<std::thread> readers;
	for (int t = 0; t < 2; t++)
		readers.emplace_back([&] {
			Iommu::Reader r(io);
			while (!stop.load()) {
				if (r.translate(0x100004, 4) != m.at(4))
					bad++;
				if (io.translate(0x100008, 8) != m.at(8))
					bad++;
				uint8_t *p = r.translate(0x200000, 16); /* flapping */
				if (p && p != m.at(0x2000))
					bad++;
				lookups++;
			}
		});
	for (int i = 0; i < 2000 || lookups.load() < 20000; i++) {
		ASSERT_EQ(io.map(0x200000, 0x1000, m.at(0x2000)), 0);
		ASSERT_EQ(io.unmap(0x200000, 0x1000), 0);
	}
	stop = true;
	for (auto &t : readers)
		t.join();
	EXPECT_EQ(bad.load(), 0u);
	EXPECT_GT(lookups.load(), 0u);
}
