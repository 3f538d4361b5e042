/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Instructions per descriptor of the device model's engine (the card side of
 * the fast path), counted by callgrind: a figure that does not depend on the
 * machine's noise. Run by callgrind-model.sh (meson benchmark
 * 'model-instructions'):
 *
 *   valgrind --tool=callgrind --collect-atstart=no model-callgrind [mode]
 *
 * No DPDK: the model is driven as the unit tests drive it (test/unit), over a
 * BAR0 window and host memory mapped into its Iommu. A minimal driver, outside
 * the collection regions, writes bursts of 32 descriptors (CompletionRequest
 * on each burst's last, as the PMD does) into a 1024-entry ring and rings the
 * doorbell; Card::poll_once() runs inside a region; the driver then checks and
 * consumes the completions outside it. Modes:
 *
 *   copy64   64 B copies, xcap-dma-perf's layout: 5 MiB of sources and 5 MiB
 *            of destinations, pair i at offset i * 64 of each, in 2 MiB
 *            mappings whose IOVAs are not contiguous (as hugepages with
 *            IOVA = PA): every copy translates two addresses in two different
 *            IOMMU segments
 *   null64   the same descriptors on a null-engine card (no translation, no
 *            data)
 *   copy4k   4 KiB copies over the same memory
 *   idle     passes that find nothing to do (per pass, not per descriptor)
 *
 * A first phase counts what an empty region costs, to subtract it. Each phase
 * ends with a stats dump (calibration, then the mode's name); the script
 * divides. XCAP_MODEL_PASSES sets the number of passes (2000).
 */
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <valgrind/callgrind.h>

#include "xcap_hw_defs.h"
#include "xcap_model.h"

namespace {

namespace hw = xcap::hw;
namespace reg = xcap::hw::reg;
namespace ch = xcap::hw::reg::ch;
using xcap::model::Card;
using xcap::model::CardConfig;
using xcap::model::Iommu;

constexpr unsigned kBurst = 32;
constexpr unsigned kLog2 = 10;
constexpr unsigned kRing = 1u << kLog2;
constexpr unsigned kCalibration = 1000;
constexpr uint64_t kChunk = 2u << 20;       /* one "hugepage" mapping */
constexpr uint64_t kIovaBase = 0x1'0000'0000;
constexpr uint64_t kIovaStride = 4 * kChunk; /* mappings never IOVA-contiguous */
constexpr uint64_t kHalf = 5u << 20;        /* sources, then destinations */

struct Free {
	void operator()(void *p) const { std::free(p); }
};

uint32_t rd(uint8_t *bar, uint32_t off)
{
	return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t *>(bar + off))
		.load(std::memory_order_acquire);
}
void wr(uint8_t *bar, uint32_t off, uint32_t v)
{
	std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t *>(bar + off))
		.store(v, std::memory_order_release);
}

int fail(const char *m)
{
	fprintf(stderr, "model-callgrind: %s\n", m);
	return 1;
}

} // namespace

int main(int argc, char **argv)
{
	const std::string mode = argc > 1 ? argv[1] : "copy64";
	if (mode != "copy64" && mode != "null64" && mode != "copy4k" && mode != "idle")
		return fail("mode must be copy64, null64, copy4k or idle");
	unsigned passes = 2000;
	if (const char *p = getenv("XCAP_MODEL_PASSES"))
		passes = unsigned(strtoul(p, nullptr, 10));
	const uint32_t size = mode == "copy4k" ? 4096 : 64;
	const bool idle = mode == "idle";

	/* host memory: the rings, then 2 x 5 MiB of buffers, mapped in 2 MiB
	 * chunks at scattered IOVAs */
	const uint64_t mem_len = kChunk + 2 * kHalf + kChunk;
	std::unique_ptr<uint8_t, Free> mem(static_cast<uint8_t *>(std::aligned_alloc(kChunk, mem_len)));
	std::unique_ptr<uint8_t, Free> bar(static_cast<uint8_t *>(std::aligned_alloc(4096, hw::kBar0Size)));
	if (!mem || !bar)
		return fail("out of memory");
	std::memset(mem.get(), 0, mem_len);
	Iommu iommu(48);
	const unsigned nchunks = unsigned(mem_len / kChunk);
	for (unsigned k = 0; k < nchunks; k++)
		if (iommu.map(kIovaBase + k * kIovaStride, kChunk, mem.get() + k * kChunk) != 0)
			return fail("IOMMU map failed");
	auto iova_of = [&](uint64_t off) { return kIovaBase + off / kChunk * kIovaStride + off % kChunk; };
	auto host = [&](uint64_t off) { return mem.get() + off; };

	CardConfig cfg;
	cfg.copy_channels = 1;
	cfg.capture_channels = 0;
	cfg.null_engine = mode == "null64";
	Card card(cfg, bar.get(), iommu);
	uint8_t *b = bar.get();

	/* rings in the first chunk; buffers from 2 MiB on */
	const uint64_t ring_off = 0, cpl_off = kRing * sizeof(hw::Descriptor);
	const uint64_t src_off = kChunk, dst_off = kChunk + kHalf;
	const unsigned pairs = unsigned(kHalf / size);
	for (uint64_t i = 0; i < kHalf; i++)
		host(src_off)[i] = uint8_t(i * 7 + 1);
	wr(b, reg::kGlobalCtrl, hw::gctrl::kEnable);
	wr(b, hw::chan_reg(0, ch::kRingBaseLo), uint32_t(iova_of(ring_off)));
	wr(b, hw::chan_reg(0, ch::kRingBaseHi), uint32_t(iova_of(ring_off) >> 32));
	wr(b, hw::chan_reg(0, ch::kRingLog2), kLog2);
	wr(b, hw::chan_reg(0, ch::kCplBaseLo), uint32_t(iova_of(cpl_off)));
	wr(b, hw::chan_reg(0, ch::kCplBaseHi), uint32_t(iova_of(cpl_off) >> 32));
	wr(b, hw::chan_reg(0, ch::kCtrl), hw::chctrl::kEnable);
	card.poll_once();
	if ((rd(b, hw::chan_reg(0, ch::kStatus)) & hw::chstatus::kStateMask) !=
	    uint32_t(hw::ChannelState::Running))
		return fail("channel did not start");

	auto *ring = reinterpret_cast<hw::Descriptor *>(host(ring_off));
	auto *cpl = reinterpret_cast<uint64_t *>(host(cpl_off));
	uint16_t prod = 0, cons = 0;
	unsigned pair = 0;
	uint64_t done = 0, bad = 0, empty = 0;

	auto post_burst = [&] {
		for (unsigned i = 0; i < kBurst; i++) {
			hw::Descriptor d{};
			d.opcode = uint8_t(hw::Opcode::Copy);
			d.flags = i == kBurst - 1 ? hw::dflag::kCompletionRequest : 0;
			d.id = prod;
			d.length = size;
			d.src = iova_of(src_off + uint64_t(pair) * size);
			d.dst = iova_of(dst_off + uint64_t(pair) * size);
			pair = (pair + 1) % pairs;
			std::memcpy(&ring[prod & (kRing - 1)], &d, sizeof d);
			prod++;
		}
		std::atomic_thread_fence(std::memory_order_release);
		wr(b, hw::chan_reg(0, ch::kDoorbell), prod);
	};
	auto consume = [&] {
		while (cons != prod) {
			const uint64_t v = std::atomic_ref<uint64_t>(cpl[cons & (kRing - 1)])
				.load(std::memory_order_acquire);
			hw::Completion e;
			std::memcpy(&e, &v, sizeof e);
			if ((e.flags & hw::cflag::kPhase) != hw::completion_phase(cons, kLog2))
				break;
			if (e.status != uint8_t(hw::Status::Successful) || e.id != cons || e.result != size)
				bad++;
			cons++;
			done++;
		}
	};
	auto one = [&](bool collect) {
		if (!idle)
			post_burst();
		if (collect)
			CALLGRIND_TOGGLE_COLLECT;
		const size_t w = card.poll_once();
		if (collect)
			CALLGRIND_TOGGLE_COLLECT;
		if (w == 0)
			empty++;
		consume();
	};

	/* warm-up: caches, branch history, the IOMMU reader's table */
	for (unsigned k = 0; k < 100; k++)
		one(false);
	done = empty = 0;

	for (unsigned k = 0; k < kCalibration; k++) {
		CALLGRIND_TOGGLE_COLLECT;
		CALLGRIND_TOGGLE_COLLECT;
	}
	CALLGRIND_DUMP_STATS_AT("calibration");
	for (unsigned k = 0; k < passes; k++)
		one(true);
	CALLGRIND_DUMP_STATS_AT("model");

	if (!idle && mode != "null64") {
		/* the data really moved: the last pair copied */
		const unsigned last = (pair + pairs - 1) % pairs;
		if (std::memcmp(host(src_off + uint64_t(last) * size), host(dst_off + uint64_t(last) * size), size))
			bad++;
	}
	printf("model-callgrind: mode=%s passes=%u burst=%u descriptors=%" PRIu64 " regions=%u "
	       "calibration_regions=%u empty_passes=%" PRIu64 " bad=%" PRIu64 "\n", mode.c_str(),
	       passes, idle ? 0 : kBurst, done, passes, kCalibration, idle ? 0 : empty, bad);
	const bool ok = bad == 0 && (idle ? done == 0 : done == uint64_t(passes) * kBurst && empty == 0);
	return ok ? 0 : 1;
}
