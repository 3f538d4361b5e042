/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-hil-probe: the smallest real user of an xcap card, for the HIL guest.
 *
 * Linked with DPDK only: the PMD comes in as a plugin (-d), the way an
 * application picks up an out-of-tree driver. It finds the dmadev (the only
 * one, or the one named with --dev after the EAL arguments), configures and
 * starts vchan 0, copies 1 MiB in 64 KiB descriptors from a buffer on NUMA
 * node 0 to one on the card's node and then 1 MiB in one descriptor back,
 * checks both byte for byte, and prints rte_dma_dump() (where the PMD tells
 * on which socket each vchan's rings live).
 *
 * usage: xcap-hil-probe <EAL args> [-- --dev NAME]
 * exit status 0 only if everything above worked.
 */
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

namespace {

constexpr size_t kTotal = 1u << 20;
constexpr size_t kChunk = 64u << 10;
constexpr uint16_t kDesc = 256;

int fail(const char *what)
{
	printf("hil-probe: FAIL: %s\n", what);
	return 1;
}

void *alloc_on(const char *tag, int socket, int &got)
{
	void *p = rte_malloc_socket(tag, kTotal, 4096, socket);
	if (p == nullptr) {
		p = rte_malloc(tag, kTotal, 4096);
		printf("hil-probe: no %zu bytes on socket %d for %s, using any socket\n", kTotal,
		       socket, tag);
	}
	got = -1;
	if (p != nullptr) {
		const rte_memseg *ms = rte_mem_virt2memseg(p, nullptr);
		got = ms ? ms->socket_id : -1;
	}
	return p;
}

/* Submit what is queued and wait for n completions without error. */
bool wait_done(int16_t dev, uint16_t n, const char *what)
{
	uint16_t done = 0, last_idx = 0;
	bool error = false;
	const uint64_t deadline = rte_get_timer_cycles() + 20 * rte_get_timer_hz();
	while (done < n && rte_get_timer_cycles() < deadline) {
		done += rte_dma_completed(dev, 0, n - done, &last_idx, &error);
		if (error) {
			printf("hil-probe: %s: a copy completed with an error\n", what);
			return false;
		}
	}
	if (done < n) {
		printf("hil-probe: %s: only %u of %u copies completed within 20 s\n", what, done, n);
		return false;
	}
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	const int consumed = rte_eal_init(argc, argv);
	if (consumed < 0) {
		printf("hil-probe: FAIL: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= consumed;
	argv += consumed;
	std::string want;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--dev") && i + 1 < argc)
			want = argv[++i];

	printf("hil-probe: %u dmadev(s)\n", rte_dma_count_avail());
	int16_t dev = -1;
	int16_t id;
	RTE_DMA_FOREACH_DEV(id) {
		rte_dma_info info;
		if (rte_dma_info_get(id, &info) != 0)
			continue;
		printf("hil-probe: dmadev %d: %s, NUMA node %d\n", id, info.dev_name,
		       info.numa_node);
		if (dev < 0 && (want.empty() || want == info.dev_name))
			dev = id;
	}
	if (dev < 0)
		return fail(want.empty() ? "no dmadev was probed" : "the requested dmadev is missing");

	rte_dma_info info;
	rte_dma_info_get(dev, &info);
	const rte_dma_conf conf = {.nb_vchans = 1};
	rte_dma_vchan_conf vconf = {};
	vconf.direction = RTE_DMA_DIR_MEM_TO_MEM;
	vconf.nb_desc = RTE_MIN(kDesc, info.max_desc);
	if (rte_dma_configure(dev, &conf) != 0)
		return fail("rte_dma_configure");
	if (rte_dma_vchan_setup(dev, 0, &vconf) != 0)
		return fail("rte_dma_vchan_setup");
	if (rte_dma_start(dev) != 0)
		return fail("rte_dma_start");

	const int card_node = info.numa_node < 0 ? SOCKET_ID_ANY : info.numa_node;
	int src_sock, dst_sock;
	auto *src = static_cast<uint8_t *>(alloc_on("hil_src", 0, src_sock));
	auto *dst = static_cast<uint8_t *>(alloc_on("hil_dst", card_node, dst_sock));
	if (src == nullptr || dst == nullptr)
		return fail("rte_malloc of the copy buffers");
	const rte_iova_t src_iova = rte_malloc_virt2iova(src), dst_iova = rte_malloc_virt2iova(dst);
	printf("hil-probe: src %p iova 0x%" PRIx64 " (socket %d), dst %p iova 0x%" PRIx64
	       " (socket %d), IOVA mode %s\n", (void *)src, src_iova, src_sock, (void *)dst,
	       dst_iova, dst_sock, rte_eal_iova_mode() == RTE_IOVA_PA ? "PA" : "VA");
	for (size_t i = 0; i < kTotal; i++)
		src[i] = uint8_t((i * 7 + (i >> 12)) ^ 0x5a);
	memset(dst, 0, kTotal);

	/* 1 MiB as 16 x 64 KiB, src -> dst */
	const uint16_t n = kTotal / kChunk;
	for (uint16_t i = 0; i < n; i++) {
		const uint64_t flags = i == n - 1 ? RTE_DMA_OP_FLAG_SUBMIT : 0;
		if (rte_dma_copy(dev, 0, src_iova + i * kChunk, dst_iova + i * kChunk, kChunk,
				 flags) < 0)
			return fail("rte_dma_copy (64 KiB)");
	}
	if (!wait_done(dev, n, "16 x 64 KiB"))
		return fail("16 x 64 KiB copies did not complete");
	if (memcmp(src, dst, kTotal) != 0)
		return fail("dst differs from src after 16 x 64 KiB copies");
	printf("hil-probe: copied %zu bytes as %u x %zu B, byte-exact\n", kTotal, n, kChunk);

	/* 1 MiB in one descriptor, dst -> src (src cleared first) */
	memset(src, 0, kTotal);
	if (rte_dma_copy(dev, 0, dst_iova, src_iova, kTotal, RTE_DMA_OP_FLAG_SUBMIT) < 0)
		return fail("rte_dma_copy (1 MiB)");
	if (!wait_done(dev, 1, "1 x 1 MiB"))
		return fail("the 1 MiB copy did not complete");
	if (memcmp(src, dst, kTotal) != 0)
		return fail("src differs from dst after the 1 MiB copy");
	printf("hil-probe: copied %zu bytes in one descriptor, byte-exact\n", kTotal);

	rte_dma_stats st;
	if (rte_dma_stats_get(dev, 0, &st) == 0)
		printf("hil-probe: stats: submitted %" PRIu64 " completed %" PRIu64 " errors %" PRIu64
		       "\n", st.submitted, st.completed, st.errors);
	printf("hil-probe: rte_dma_dump:\n");
	fflush(stdout);
	rte_dma_dump(dev, stdout);
	fflush(stdout);

	rte_free(src);
	rte_free(dst);
	rte_dma_stop(dev);
	rte_dma_close(dev);
	rte_eal_cleanup();
	printf("hil-probe: PASS\n");
	return 0;
}
