/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Channel priorities (docs/hardware.md §3.6): rte_pmd_xcap_vchan_priority_set
 * and its errors, the Priority registers written at rte_dma_start, dmadev's
 * RTE_DMA_CAPA_PRI_POLICY_SP / nb_priorities / rte_dma_conf.priority (DPDK
 * 24.11+), and what it is for: a capture vchan at a higher priority keeps up
 * with its wire while copy vchans keep the card's one engine busy.
 */
#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "pmd_test.h"
#include "rte_pmd_xcap.h"
#include "xcap_dpdk_compat.h"

namespace xcap::test {
namespace {

/* What the load test saw: the card's capture counters after the stop. */
struct Figures {
	uint64_t records = 0, lost_no_buffer = 0, lost_overrun = 0, generated = 0;
	uint64_t copies = 0; /* 16 MiB copies completed while the wire ran */
};

class Priority : public PmdTest {
protected:
	/* The card's Priority register of channel ch (the emulated BAR). */
	uint32_t reg_priority(int16_t dev, unsigned ch)
	{
		model::Card *c = card(dev);
		if (c == nullptr)
			return 0xdead;
		return *reinterpret_cast<const volatile uint32_t *>(
			c->bar0() + hw::chan_reg(ch, hw::reg::ch::kPriority));
	}

	Figures capture_under_copy_load(bool capture_first);
};

/* ---- the API ----------------------------------------------------------------- */

TEST_F(Priority, SetErrors)
{
	const int16_t dev = create("copy_channels=2,capture_channels=1");
	ASSERT_GE(dev, 0);
	/* not an xcap device */
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(-1, 0, 0), -ENODEV);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(INT16_MAX, 0, 0), -ENODEV);
	/* not configured: no vchan exists */
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 0), -EINVAL);

	rte_dma_conf conf{};
	conf.nb_vchans = 3;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(64))), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 2, ptr(dev_to_mem(64))), 0);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 1, 0), -EINVAL) << "vchan 1 is not set up";
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 3, 0), -EINVAL) << "beyond nb_vchans";
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, UINT16_MAX, 0), -EINVAL);
	/* the model has 4 levels: 0..3 */
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 4), -EINVAL);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 255), -EINVAL);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 3), 0);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 2, 0), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 1, ptr(mem_to_mem(64))), 0);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 1, 2), 0);

	ASSERT_EQ(rte_dma_start(dev), 0);
	EXPECT_EQ(reg_priority(dev, 0), 3u);
	EXPECT_EQ(reg_priority(dev, 1), 2u);
	EXPECT_EQ(reg_priority(dev, 2), 0u);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 1), -EBUSY);
	const std::string d = dump(dev);
	EXPECT_NE(d.find("arbiter: 4 priority levels"), std::string::npos) << d;
	EXPECT_NE(d.find("Priority per vchan: 0:3 1:2 2:0"), std::string::npos) << d;

	/* while stopped: taken at the next start */
	ASSERT_EQ(rte_dma_stop(dev), 0);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 1), 0);
	EXPECT_EQ(reg_priority(dev, 0), 3u) << "written before the start";
	ASSERT_EQ(rte_dma_start(dev), 0);
	EXPECT_EQ(reg_priority(dev, 0), 1u);
	ASSERT_EQ(rte_dma_stop(dev), 0);

	/* a new configuration drops the overrides: back to the device's 0 */
	ASSERT_TRUE(configure(dev, 3, 64));
	ASSERT_EQ(rte_dma_start(dev), 0);
	for (unsigned v = 0; v < 3; v++)
		EXPECT_EQ(reg_priority(dev, v), 0u) << "vchan " << v;
	ASSERT_EQ(rte_dma_stop(dev), 0);

	/* a card that is gone */
	card(dev)->vanish();
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 0), -ENODEV);
}

/* A card without priority levels (ArbCaps 0, as a contract 1.0 card reads):
 * only 0 is valid, nothing about priorities is reported. */
TEST_F(Priority, CardWithoutLevels)
{
	for (const char *args : {"copy_channels=2,priorities=0", "copy_channels=2,priorities=1"}) {
		SCOPED_TRACE(args);
		const int16_t dev = create(args);
		ASSERT_GE(dev, 0);
		ASSERT_TRUE(configure(dev, 2, 64));
		EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 1), -EINVAL);
		EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 0), 0);
		rte_dma_info info{};
		ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
#if XCAP_DPDK_HAS_DMA_PRIORITY
		EXPECT_FALSE(info.dev_capa & RTE_DMA_CAPA_PRI_POLICY_SP);
		EXPECT_EQ(info.nb_priorities, 0);
		/* without the capability dmadev does not check the priority; the
		 * PMD refuses anything but 0 */
		rte_dma_conf conf{};
		conf.nb_vchans = 2;
		conf.priority = 1;
		EXPECT_EQ(rte_dma_configure(dev, &conf), -EINVAL);
		conf.priority = 0;
		EXPECT_EQ(rte_dma_configure(dev, &conf), 0);
#endif
		const std::string d = dump(dev);
		EXPECT_EQ(d.find("arbiter:"), std::string::npos) << d;
		EXPECT_EQ(destroy(dev), 0);
	}
}

/* DPDK 24.11+: the capability, nb_priorities from the card's ArbCaps, and
 * rte_dma_conf.priority as every vchan's default. Before 24.11 dmadev has
 * no device priority: every vchan defaults to 0 and only
 * rte_pmd_xcap_vchan_priority_set() changes one. */
TEST_F(Priority, DmadevDevicePriority)
{
#if !XCAP_DPDK_HAS_DMA_PRIORITY
	const int16_t dev = create("copy_channels=2,capture_channels=1,priorities=8");
	ASSERT_GE(dev, 0);
	rte_dma_conf conf{};
	conf.nb_vchans = 3;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(64))), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 1, ptr(mem_to_mem(64))), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 2, ptr(dev_to_mem(64))), 0);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 1, 7), 0);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 1, 8), -EINVAL) << "8 levels: 0..7";
	ASSERT_EQ(rte_dma_start(dev), 0);
	EXPECT_EQ(reg_priority(dev, 0), 0u);
	EXPECT_EQ(reg_priority(dev, 1), 7u);
	EXPECT_EQ(reg_priority(dev, 2), 0u);
	EXPECT_NE(dump(dev).find("arbiter: 8 priority levels (0 = first), device priority 0"),
		  std::string::npos) << dump(dev);
	EXPECT_EQ(rte_dma_stop(dev), 0);
#else
	const int16_t dev = create("copy_channels=2,capture_channels=1,priorities=8");
	ASSERT_GE(dev, 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	EXPECT_TRUE(info.dev_capa & RTE_DMA_CAPA_PRI_POLICY_SP) << std::hex << info.dev_capa;
	EXPECT_EQ(info.nb_priorities, 8);

	rte_dma_conf conf{};
	conf.nb_vchans = 3;
	conf.priority = 8; /* not below nb_priorities: dmadev refuses */
	EXPECT_EQ(rte_dma_configure(dev, &conf), -EINVAL);
	conf.priority = UINT16_MAX;
	EXPECT_EQ(rte_dma_configure(dev, &conf), -EINVAL);
	conf.priority = 7;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(64))), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 1, ptr(mem_to_mem(64))), 0);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 2, ptr(dev_to_mem(64))), 0);
	EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 2, 0), 0); /* the capture vchan first */
	ASSERT_EQ(rte_dma_start(dev), 0);
	EXPECT_EQ(reg_priority(dev, 0), 7u);
	EXPECT_EQ(reg_priority(dev, 1), 7u);
	EXPECT_EQ(reg_priority(dev, 2), 0u);
	EXPECT_NE(dump(dev).find("device priority 7"), std::string::npos);
	EXPECT_EQ(rte_dma_stop(dev), 0);
#endif
}

/* The emulated card's devargs for this: priorities= (ArbCaps) and
 * cap_delay= (the wire's start delay, CaptureProfile::start_delay_us). */
TEST_F(Priority, Devargs)
{
	for (const char *args : {"priorities=17", "priorities=-1", "priorities=x",
				 "cap_delay=60000001", "cap_delay=1ms"})
		EXPECT_EQ(create_fail(args), -EINVAL) << "devargs \"" << args << "\"";
	const int16_t dev = create("capture_channels=2,priorities=16,cap_delay=60000000");
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(c->config().priority_levels, 16u);
	ASSERT_EQ(c->config().capture.size(), 2u);
	EXPECT_EQ(c->config().capture[1].start_delay_us, 60000000u);
	EXPECT_EQ(*reinterpret_cast<const volatile uint32_t *>(c->bar0() + hw::reg::kArbCaps), 16u);
	const int16_t dflt = create("");
	ASSERT_GE(dflt, 0);
	ASSERT_NE(card(dflt), nullptr);
	EXPECT_EQ(card(dflt)->config().priority_levels, 4u);
	EXPECT_EQ(card(dflt)->config().capture.at(0).start_delay_us, 0u);
}

/* ---- what it is for ---------------------------------------------------------- */

/* Geometry of the load test. The copy vchans are kept full of 16 MiB
 * copies (the model's engine spends milliseconds on each); the capture vchan
 * receives kFrames frames at 20 kpps behind a 4096-frame FIFO, i.e. the
 * engine may fall behind the wire by 200 ms before frames are lost. With the
 * capture vchan first, it waits for at most the one copy in progress; at
 * equal priority it waits for a round of both copy vchans' turns (256
 * copies each, seconds), and overruns. The wire starts 100 ms after the
 * start (cap_delay), so the buffers are posted before the first frame. */
constexpr uint64_t kFrames = 20000;
constexpr uint32_t kCopyLen = 16u << 20;
constexpr uint16_t kCopyRing = 256;
constexpr uint16_t kCapRing = 4096;
constexpr uint32_t kBufLen = 2048;
const std::string kLoadCard = "copy_channels=2,capture_channels=1,cap_rate=20kpps,cap_frame=64,"
			      "cap_count=20000,cap_fifo=4096,cap_delay=100000";

Figures Priority::capture_under_copy_load(bool capture_first)
{
	Figures f;
	const int16_t dev = create(kLoadCard);
	EXPECT_GE(dev, 0);
	if (dev < 0)
		return f;
	rte_dma_conf conf{};
	conf.nb_vchans = 3;
	EXPECT_EQ(rte_dma_configure(dev, &conf), 0);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(kCopyRing))), 0);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 1, ptr(mem_to_mem(kCopyRing))), 0);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 2, ptr(dev_to_mem(kCapRing))), 0);
	if (capture_first) {
		EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 0, 1), 0);
		EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 1, 1), 0);
		EXPECT_EQ(rte_pmd_xcap_vchan_priority_set(dev, 2, 0), 0);
	}
	uint8_t *src = alloc(kCopyLen, 4096);
	uint8_t *dst[2] = {alloc(kCopyLen, 4096), alloc(kCopyLen, 4096)};
	uint8_t *bufs = alloc(size_t(kCapRing) * kBufLen, 4096);
	if (src == nullptr || dst[0] == nullptr || dst[1] == nullptr || bufs == nullptr)
		return f;
	const rte_iova_t src_iova = iova(src);
	const rte_iova_t dst_iova[2] = {iova(dst[0]), iova(dst[1])};
	const rte_iova_t buf_iova = iova(bufs); /* IOVA == VA: contiguous */
	EXPECT_EQ(rte_dma_start(dev), 0);

	/* every buffer posted (ring slot k holds buffer k), then the copies */
	for (unsigned k = 0; k < kCapRing; k++)
		EXPECT_EQ(rte_dma_copy(dev, 2, 0, buf_iova + uint64_t(k) * kBufLen, kBufLen, 0), int(k));
	EXPECT_EQ(rte_dma_submit(dev, 2), 0);
	auto fill = [&](uint16_t v, unsigned n) {
		for (unsigned i = 0; i < n; i++)
			if (rte_dma_copy(dev, v, src_iova, dst_iova[v], kCopyLen, 0) < 0)
				ADD_FAILURE() << "copy vchan " << v << " full";
		rte_dma_submit(dev, v);
	};
	fill(0, kCopyRing);
	fill(1, kCopyRing);

	model::Card *c = card(dev);
	bool refill = true, failed = false;
	uint16_t reposted = kCapRing; /* next capture op id */
	const bool done = poll_until([&] {
		uint16_t last = 0;
		bool err = false;
		/* completed buffers go straight back to the card, to the same slot */
		const uint16_t n = rte_dma_completed(dev, 2, 64, &last, &err);
		for (uint16_t i = 0; i < n; i++, reposted++) {
			const uint64_t b = buf_iova + uint64_t(reposted & (kCapRing - 1)) * kBufLen;
			if (rte_dma_copy(dev, 2, 0, b, kBufLen, 0) < 0)
				failed = true;
		}
		if (n)
			rte_dma_submit(dev, 2);
		failed |= err;
		uint16_t in_flight = 0;
		for (uint16_t v = 0; v < 2; v++) {
			const uint16_t m = rte_dma_completed(dev, v, kCopyRing, &last, &err);
			failed |= err;
			f.copies += m;
			if (refill && m)
				fill(v, m);
			in_flight = uint16_t(in_flight + kCopyRing - rte_dma_burst_capacity(dev, v));
		}
		/* the wire is done: let the copies drain, so that the stop does
		 * not wait for a turn of 16 MiB copies */
		if (c->capture_counters(0).generated == kFrames)
			refill = false;
		return failed || (!refill && in_flight == 0);
	}, std::chrono::milliseconds(120000));
	EXPECT_TRUE(done) << "the wire or the copies did not finish";
	EXPECT_FALSE(failed) << "an operation failed";
	EXPECT_EQ(rte_dma_stop(dev), 0);
	/* the card's counters, final once the channel is disabled (HW §8.4) */
	struct rte_pmd_xcap_capture_counters k{};
	EXPECT_EQ(rte_pmd_xcap_capture_counters(dev, 2, &k), 0);
	f.records = k.records;
	f.lost_no_buffer = k.lost_no_buffer;
	f.lost_overrun = k.lost_overrun;
	f.generated = c->capture_counters(0).generated;
	return f;
}

void report(const char *what, const Figures &f)
{
	printf("[ priority ] %s: %" PRIu64 " frames: %" PRIu64 " records, lost %" PRIu64
	       " (no buffer %" PRIu64 ", overrun %" PRIu64 "); %" PRIu64 " x 16 MiB copies "
	       "done meanwhile\n", what, f.generated, f.records, f.lost_no_buffer + f.lost_overrun,
	       f.lost_no_buffer, f.lost_overrun, f.copies);
	fflush(stdout);
}

/* The capture vchan at priority 0, the copy vchans at 1: every frame is
 * captured, none lost, while the copies keep the engine busy. */
TEST_F(Priority, HighPriorityCaptureKeepsItsRate)
{
	const Figures f = capture_under_copy_load(true);
	report("capture vchan first", f);
	EXPECT_EQ(f.generated, kFrames);
	EXPECT_EQ(f.records, kFrames);
	EXPECT_EQ(f.lost_no_buffer, 0u);
	EXPECT_EQ(f.lost_overrun, 0u);
	EXPECT_GT(f.copies, 0u) << "the copy vchans did not run";
	RecordProperty("copies", int(f.copies));
}

/* The same at equal priorities: the capture vchan waits its turn behind the
 * copies and its FIFO overruns. How much is lost depends on the machine's
 * copy speed, so only the accounting is checked; the figures are printed
 * next to the ones above. */
TEST_F(Priority, EqualPriorityCaptureLosesFrames)
{
	const Figures f = capture_under_copy_load(false);
	report("equal priorities", f);
	EXPECT_EQ(f.generated, kFrames);
	EXPECT_EQ(f.records + f.lost_no_buffer + f.lost_overrun, kFrames);
	RecordProperty("records", int(f.records));
	RecordProperty("lost_overrun", int(f.lost_overrun));
	RecordProperty("lost_no_buffer", int(f.lost_no_buffer));
}

} // namespace
} // namespace xcap::test
