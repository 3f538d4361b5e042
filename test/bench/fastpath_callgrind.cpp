/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Instructions per op of the xcap fast path, counted by callgrind: a figure
 * that does not depend on the machine's noise. Run by callgrind-fastpath.sh
 * (meson benchmark 'fastpath-instructions', usertools/xcap-quickstart bench):
 *
 *   valgrind --tool=callgrind --collect-atstart=no ... fastpath-callgrind <EAL args>
 *
 * On the null card (null=1: descriptors complete without data movement), N
 * bursts of 32 ops each run rte_dma_copy() x 32 + rte_dma_submit() +
 * rte_dma_completed(), the calls an application makes, inside a callgrind
 * collection region. Waiting for the card happens outside the regions (the
 * card thread, not the driver, does that work), so no empty poll is counted.
 * A first phase counts the cost of empty regions (the client requests that
 * toggle collection) to subtract it. Each phase ends with a stats dump
 * (calibration, then fastpath); the script divides.
 *
 * For the device model's share (what the card thread spends per
 * descriptor), XCAP_FASTPATH_NO_REGIONS=1 turns the regions off, so that
 *   valgrind --tool=callgrind --collect-atstart=no \
 *       '--toggle-collect=xcap::model::Card::Impl::run_copy*' fastpath-callgrind \
 *       <EAL args with --vdev=dma_xcap_emu0[,null=1]>
 * counts the card's work only; XCAP_FASTPATH_SIZE sets the copy size (64),
 * XCAP_FASTPATH_DEV the dmadev (dma_xcap_emu0), e.g. dma_skeleton to
 * compare.
 */
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sched.h>

#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_malloc.h>

#include <valgrind/callgrind.h>

namespace {

constexpr unsigned kBurst = 32;
constexpr unsigned kRing = 1024;
constexpr unsigned kCalibration = 1000;

void wait_idle(int16_t dev)
{
	enum rte_dma_vchan_status st;
	while (rte_dma_vchan_status(dev, 0, &st) == 0 && st == RTE_DMA_VCHAN_ACTIVE)
		sched_yield(); /* under valgrind: lets the card thread run */
}

} // namespace

int main(int argc, char **argv)
{
	unsigned bursts = 2000;
	const char *name = getenv("XCAP_FASTPATH_DEV") ? getenv("XCAP_FASTPATH_DEV") : "dma_xcap_emu0";
	uint32_t size = 64;
	if (const char *b = getenv("XCAP_FASTPATH_BURSTS"))
		bursts = unsigned(strtoul(b, nullptr, 10));
	if (const char *z = getenv("XCAP_FASTPATH_SIZE"))
		size = uint32_t(strtoul(z, nullptr, 10));
	const char *nr = getenv("XCAP_FASTPATH_NO_REGIONS");
	const bool regions = nr == nullptr || strcmp(nr, "1") != 0;
	if (size == 0 || size > (1u << 20)) {
		fprintf(stderr, "fastpath-callgrind: XCAP_FASTPATH_SIZE must be in [1, 1048576]\n");
		return 1;
	}
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "fastpath-callgrind: EAL initialisation failed\n");
		return 1;
	}
	const int id = rte_dma_get_dev_id_by_name(name);
	if (id < 0) {
		fprintf(stderr, "fastpath-callgrind: no dmadev %s (pass --vdev=%s,null=1)\n", name, name);
		return 1;
	}
	const int16_t dev = int16_t(id);
	rte_dma_conf conf{};
	conf.nb_vchans = 1;
	rte_dma_vchan_conf vc{};
	vc.direction = RTE_DMA_DIR_MEM_TO_MEM;
	vc.nb_desc = kRing;
	if (rte_dma_configure(dev, &conf) || rte_dma_vchan_setup(dev, 0, &vc) || rte_dma_start(dev)) {
		fprintf(stderr, "fastpath-callgrind: cannot configure and start %s\n", name);
		return 1;
	}
	auto *mem = static_cast<uint8_t *>(rte_malloc(nullptr, 2 * kBurst * size_t(size), 64));
	if (mem == nullptr) {
		fprintf(stderr, "fastpath-callgrind: rte_malloc failed\n");
		return 1;
	}
	rte_iova_t src[kBurst], dst[kBurst];
	for (unsigned i = 0; i < kBurst; i++) {
		src[i] = rte_malloc_virt2iova(mem) + i * size;
		dst[i] = src[i] + kBurst * size;
	}

	uint64_t done = 0, extra_polls = 0, failed = 0;
	auto copy_burst = [&] {
		for (unsigned i = 0; i < kBurst; i++)
			if (rte_dma_copy(dev, 0, src[i], dst[i], size, 0) < 0)
				failed++;
		rte_dma_submit(dev, 0);
	};
	auto complete_burst = [&] {
		uint16_t last;
		bool err = false;
		unsigned got = rte_dma_completed(dev, 0, kBurst, &last, &err);
		while (got < kBurst && !err) { /* the card was not done after all */
			extra_polls++;
			got += rte_dma_completed(dev, 0, uint16_t(kBurst - got), &last, &err);
		}
		done += got;
		failed += err;
	};

	/* warm-up: caches, branch history, the card thread's own start */
	for (unsigned b = 0; b < 100; b++) {
		copy_burst();
		wait_idle(dev);
		complete_burst();
	}
	done = 0;

	/* Phase 1: what an empty region costs. */
	for (unsigned k = 0; regions && k < kCalibration; k++) {
		CALLGRIND_TOGGLE_COLLECT;
		CALLGRIND_TOGGLE_COLLECT;
	}
	CALLGRIND_DUMP_STATS_AT("calibration");

	/* Phase 2: bursts. Region k: completions of burst k-1, burst k. */
	for (unsigned b = 0; b <= bursts; b++) {
		if (b > 0)
			wait_idle(dev);
		if (regions)
			CALLGRIND_TOGGLE_COLLECT;
		if (b > 0)
			complete_burst();
		if (b < bursts)
			copy_burst();
		if (regions)
			CALLGRIND_TOGGLE_COLLECT;
	}
	CALLGRIND_DUMP_STATS_AT("fastpath");

	printf("fastpath-callgrind: device=%s bursts=%u burst=%u ops=%" PRIu64 " regions=%u "
	       "calibration_regions=%u extra_polls=%" PRIu64 " failed=%" PRIu64 "\n", name,
	       bursts, kBurst, done, bursts + 1, kCalibration, extra_polls, failed);
	rte_dma_stop(dev);
	rte_free(mem);
	rte_eal_cleanup();
	return failed || done != uint64_t(bursts) * kBurst ? 1 : 0;
}
