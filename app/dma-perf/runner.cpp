/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-dma-perf: the measured loops. One worker per lcore; every worker
 * times itself with the TSC (a warm-up, then test_seconds of measurement),
 * so a worker may also run on the EAL main lcore (a 2-core machine runs the
 * app on lcore 0 and leaves core 1 to a device thread).
 *
 * What is measured, per worker:
 *  - ops: operations completed inside the window; Mops, Gbit/s from it.
 *  - average cycle (DPDK's column): window cycles / ops.
 *  - cpu cycles/op: TSC cycles spent in loop iterations that did work (an
 *    enqueue + submit, or a completed() call that returned completions),
 *    divided by ops. Iterations in which the ring was full and completed()
 *    found nothing (busy-wait spins) are excluded. Includes the rdtsc pair
 *    itself (~2 x 20 cycles per iteration of kick_batch ops).
 *  - latency: per burst, TSC at rte_dma_submit() to the TSC right after the
 *    rte_dma_completed() call that returned that burst's last op; one sample
 *    per burst, in a log-linear histogram (3% resolution).
 */
#include "runner.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_memcpy.h>
#include <rte_memzone.h>
#include <rte_pause.h>

/* Only for the capture buffer header layout (HW §8): plain C++, no driver. */
#include "xcap_hw_defs.h"

namespace dmaperf {
namespace {

constexpr uint16_t kMaxCpl = 255;         /* completions asked per poll, as DPDK */
constexpr double kDrainSeconds = 5.0;     /* wait for in-flight ops at the end */
/* A loop iteration (kick_batch enqueues + submit + one completed() call)
 * that takes longer than this lost its CPU to another thread: its cycles
 * are not CPU cycles the driver spent, and stay out of "cpu cycles/op". */
constexpr double kDisturbedSeconds = 50e-6;

long context_switches()
{
	rusage ru{};
	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

std::string strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string strf(const char *fmt, ...)
{
	char b[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	return b;
}

/* Buffers of one size in one memzone, each IOVA-contiguous: the memzone is
 * IOVA-contiguous if EAL can give one (always with --iova-mode=va), else the
 * buffers are packed so that none crosses a 2 MiB boundary (hugepages are
 * IOVA-contiguous inside) and each gets its own IOVA. */
class Buffers {
public:
	Buffers() = default;
	Buffers(const Buffers &) = delete;
	Buffers &operator=(const Buffers &) = delete;
	~Buffers() { release(); }

	bool alloc(const std::string &name, uint64_t n, uint64_t size, int socket, std::string &err)
	{
		release();
		const uint64_t stride = RTE_ALIGN_CEIL(size, RTE_CACHE_LINE_SIZE);
		size_ = size;
		va_.resize(n);
		iova_.resize(n);
		mz_ = rte_memzone_reserve_aligned(name.c_str(), n * stride, socket,
						  RTE_MEMZONE_IOVA_CONTIG, RTE_PGSIZE_4K);
		if (mz_ != nullptr && mz_->iova != RTE_BAD_IOVA) {
			for (uint64_t i = 0; i < n; i++) {
				va_[i] = static_cast<uint8_t *>(mz_->addr) + i * stride;
				iova_[i] = mz_->iova + i * stride;
			}
			return true;
		}
		release();
		const uint64_t unit = RTE_PGSIZE_2M;
		if (stride > unit) {
			err = strf("cannot reserve %.1f MiB of IOVA-contiguous memory on NUMA node %d "
				   "for %" PRIu64 " B buffers: %s (use --iova-mode=va in eal_args, or "
				   "reserve more hugepages: echo 1024 > /proc/sys/vm/nr_hugepages)",
				   double(n * stride) / (1 << 20), socket, size, rte_strerror(rte_errno));
			return false;
		}
		const uint64_t per = unit / stride;
		const uint64_t len = (n + per - 1) / per * unit;
		mz_ = rte_memzone_reserve_aligned(name.c_str(), len, socket, 0, unit);
		if (mz_ == nullptr) {
			err = strf("cannot reserve %.1f MiB of memory on NUMA node %d: %s (reserve more "
				   "hugepages: echo 1024 > /proc/sys/vm/nr_hugepages)",
				   double(len) / (1 << 20), socket, rte_strerror(rte_errno));
			return false;
		}
		for (uint64_t i = 0; i < n; i++) {
			va_[i] = static_cast<uint8_t *>(mz_->addr) + i / per * unit + i % per * stride;
			iova_[i] = rte_mem_virt2iova(va_[i]);
			if (iova_[i] == RTE_BAD_IOVA) {
				err = "memory has no IOVA (run with hugepages, or --iova-mode=va)";
				return false;
			}
		}
		return true;
	}
	void release()
	{
		if (mz_)
			rte_memzone_free(mz_);
		mz_ = nullptr;
	}
	uint8_t *va(uint64_t i) const { return va_[i]; }
	rte_iova_t iova(uint64_t i) const { return iova_[i]; }
	uint64_t count() const { return va_.size(); }
	void zero() const
	{
		for (uint8_t *p : va_)
			memset(p, 0, size_);
	}
	void flush() const;

private:
	const rte_memzone *mz_ = nullptr;
	uint64_t size_ = 0;
	std::vector<uint8_t *> va_;
	std::vector<rte_iova_t> iova_;
};

void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	for (; i < n; i++)
		p[i] = uint8_t(x >> (8 * (i & 7)));
}

void Buffers::flush() const
{
#if defined(RTE_ARCH_X86)
	for (uint8_t *p : va_)
		for (uint64_t i = 0; i < size_; i += RTE_CACHE_LINE_SIZE)
			__builtin_ia32_clflush(p + i);
	rte_mb();
#endif
}

struct Batch {
	uint64_t end; /* cumulative op count when this burst's last op completes */
	uint64_t tsc; /* when it was submitted */
};

/* Everything one worker needs and reports. */
struct WorkerCtx {
	/* in */
	const Case *c = nullptr;
	Scenario sc;
	const Worker *w = nullptr;
	unsigned index = 0;
	int16_t dev_id = -1;
	uint16_t vchan = 0;
	Buffers src, dst;
	std::vector<rte_dma_sge> sg_src, sg_dst; /* per SG op: src_sge / dst_sge entries */
	uint64_t sg_ops = 0;                     /* SG ops per pass over the buffers */
	uint64_t warmup = 0, window = 0;         /* TSC cycles */
	std::atomic<bool> *start = nullptr;
	std::atomic<unsigned> *ready = nullptr;

	/* out */
	uint64_t ops = 0, window_cycles = 0, busy = 0;
	uint64_t issued = 0;  /* ops submitted in total (all phases) */
	uint64_t disturbed = 0; /* productive iterations left out of busy: longer than
				 * kDisturbed, i.e. the thread lost its CPU in them */
	long csw = 0;           /* context switches of the worker during the window */
	LatencyHist hist;
	std::string err;
	/* capture */
	uint64_t records = 0, bytes = 0, lost_nb = 0, lost_ovr = 0, buffers = 0;
	uint64_t bad_headers = 0;
	std::string bad_header;
};

void wait_start(WorkerCtx &x)
{
	x.ready->fetch_add(1);
	while (!x.start->load(std::memory_order_acquire))
		rte_pause();
}

/* Every worker's clock: it waits for the common start, warms up for
 * x.warmup cycles, then measures one window of x.window cycles. at(t), at
 * the top of each iteration, says Begin once (take the counters' baseline),
 * End once (the window's cycles and context switches are in x; take the
 * counters' deltas and stop), and Run otherwise. */
class Window {
public:
	enum Event { Run, Begin, End };
	explicit Window(WorkerCtx &x) : x_(x)
	{
		wait_start(x);
		deadline_ = rte_rdtsc() + x.warmup;
	}
	Event at(uint64_t t)
	{
		if (likely(t < deadline_))
			return Run;
		if (!measuring_) {
			measuring_ = true;
			t_begin_ = t;
			csw0_ = context_switches();
			deadline_ = t + x_.window;
			return Begin;
		}
		x_.window_cycles = t - t_begin_;
		x_.csw = context_switches() - csw0_;
		return End;
	}
	bool measuring() const { return measuring_; }

private:
	WorkerCtx &x_;
	uint64_t deadline_ = 0, t_begin_ = 0;
	long csw0_ = 0;
	bool measuring_ = false;
};

/* Reads the error status of the first failed op after has_error. */
std::string dma_error(int16_t dev, uint16_t vchan)
{
	rte_dma_status_code st[kMaxCpl];
	uint16_t last = 0;
	const uint16_t n = rte_dma_completed_status(dev, vchan, kMaxCpl, &last, st);
	for (uint16_t i = 0; i < n; i++)
		if (st[i] != RTE_DMA_STATUS_SUCCESSFUL)
			return strf("operation %u completed with status %d", unsigned(uint16_t(last - n + 1 + i)),
				    int(st[i]));
	return "the device reported an error without a failed status";
}

/* Completes whatever is in flight, up to kDrainSeconds. */
bool drain(WorkerCtx &x, uint64_t &cpl, uint64_t enq)
{
	const uint64_t hz = rte_get_tsc_hz();
	const uint64_t deadline = rte_rdtsc() + uint64_t(kDrainSeconds * double(hz));
	while (cpl < enq) {
		bool err = false;
		uint16_t last;
		const uint16_t n = rte_dma_completed(x.dev_id, x.vchan, kMaxCpl, &last, &err);
		cpl += n;
		if (err) {
			x.err = dma_error(x.dev_id, x.vchan);
			return false;
		}
		if (n == 0 && rte_rdtsc() > deadline) {
			x.err = strf("%" PRIu64 " operations still in flight %.0f s after the run",
				     enq - cpl, kDrainSeconds);
			return false;
		}
	}
	return true;
}

/* DMA_MEM_COPY (and mem2dev/dev2mem): enqueue kick_batch ops, submit, poll. */
/* The submitting lcore's productive cycles (see the top of this file): an
 * iteration that did work adds its cycles, unless it took longer than
 * kDisturbedSeconds (the lcore was preempted): then it is only counted. */
struct BusyMeter {
	uint64_t busy = 0, disturbed = 0;
	const uint64_t too_long = uint64_t(kDisturbedSeconds * double(rte_get_tsc_hz()));

	void add(uint64_t t0, uint64_t t1)
	{
		if (likely(t1 - t0 < too_long))
			busy += t1 - t0;
		else
			disturbed++;
	}
	void reset() { busy = disturbed = 0; }
	void report(WorkerCtx &x) const
	{
		x.busy = busy;
		x.disturbed = disturbed;
	}
};

int dma_copy_worker(void *arg)
{
	WorkerCtx &x = *static_cast<WorkerCtx *>(arg);
	const int16_t dev = x.dev_id;
	const uint16_t vchan = x.vchan;
	const uint32_t len = uint32_t(x.sc.buf_size);
	const uint64_t kick = x.sc.kick_batch;
	const bool sg = x.c->is_sg();
	const uint64_t nb = sg ? x.sg_ops : x.sc.nr_buf;
	const unsigned ns = x.c->src_sge, nd = x.c->dst_sge;
	/* the IOVAs of every op, remote side included (mem2dev, dev2mem) */
	std::vector<rte_iova_t> sa, da;
	if (!sg) {
		sa.resize(nb);
		da.resize(nb);
		for (uint64_t i = 0; i < nb; i++) {
			sa[i] = x.w->dir == Dir::DevToMem ? x.w->raddr + i * len : x.src.iova(i);
			da[i] = x.w->dir == Dir::MemToDev ? x.w->raddr + i * len : x.dst.iova(i);
		}
	}
	const rte_iova_t *const sap = sa.data(), *const dap = da.data();

	uint64_t cap = x.sc.ring_size; /* lowered if the device says ENOSPC earlier */
	std::vector<Batch> batches(x.sc.ring_size + 1);
	const size_t nbat = batches.size();
	uint64_t bh = 0, bt = 0; /* batch head/tail counters */
	uint64_t enq = 0, cpl = 0, bi = 0;
	uint64_t cpl0 = 0;
	BusyMeter meter;

	Window win(x);
	for (;;) {
		const uint64_t t0 = rte_rdtsc();
		if (const Window::Event ev = win.at(t0); unlikely(ev != Window::Run)) {
			if (ev == Window::End) {
				x.ops = cpl - cpl0;
				break;
			}
			cpl0 = cpl;
			meter.reset();
		}
		bool did = false;
		if (enq - cpl + kick <= cap) {
			uint64_t k = 0;
			int ret = 0;
			for (; k < kick; k++) {
				if (sg) {
					ret = rte_dma_copy_sg(dev, vchan, &x.sg_src[bi * ns], &x.sg_dst[bi * nd],
							      uint16_t(ns), uint16_t(nd), 0);
				} else {
					ret = rte_dma_copy(dev, vchan, sap[bi], dap[bi], len, 0);
				}
				if (unlikely(ret < 0))
					break;
				bi = bi + 1 == nb ? 0 : bi + 1;
			}
			if (unlikely(ret < 0)) {
				if (ret != -ENOSPC) {
					x.err = strf("rte_dma_copy%s() failed: %s", sg ? "_sg" : "",
						     strerror(-ret));
					break;
				}
				cap = enq - cpl + k; /* the device's real capacity */
				if (cap < kick) {
					x.err = strf("the device takes only %" PRIu64 " operations in flight, "
						     "fewer than kick_batch %" PRIu64, cap, kick);
					break;
				}
			}
			if (k) {
				rte_dma_submit(dev, vchan);
				batches[bt++ % nbat] = Batch{enq + k, rte_rdtsc()};
				enq += k;
				did = true;
			}
		}
		bool err = false;
		uint16_t last;
		const uint16_t n = rte_dma_completed(dev, vchan, kMaxCpl, &last, &err);
		const uint64_t t1 = rte_rdtsc();
		if (unlikely(err)) {
			x.err = dma_error(dev, vchan);
			break;
		}
		if (n) {
			cpl += n;
			did = true;
			while (bh != bt && batches[bh % nbat].end <= cpl) {
				if (win.measuring())
					x.hist.add(t1 - batches[bh % nbat].tsc);
				bh++;
			}
		}
		if (did)
			meter.add(t0, t1);
	}
	meter.report(x);
	x.issued = enq;
	if (x.err.empty())
		drain(x, cpl, enq);
	return 0;
}

/* CPU_MEM_COPY: rte_memcpy() over the buffers, as DPDK's CPU case. */
int cpu_copy_worker(void *arg)
{
	WorkerCtx &x = *static_cast<WorkerCtx *>(arg);
	const size_t len = x.sc.buf_size;
	const uint64_t nb = x.sc.nr_buf;
	/* look at the clock every ~64 KiB copied */
	const uint64_t step = std::clamp<uint64_t>(65536 / len, 1, 64);
	uint64_t done = 0, done0 = 0, bi = 0;

	Window win(x);
	for (;;) {
		if (const Window::Event ev = win.at(rte_rdtsc()); unlikely(ev != Window::Run)) {
			if (ev == Window::End) {
				x.ops = done - done0;
				break;
			}
			done0 = done;
		}
		for (uint64_t k = 0; k < step; k++) {
			rte_memcpy(x.dst.va(bi), x.src.va(bi), len);
			bi = bi + 1 == nb ? 0 : bi + 1;
		}
		done += step;
	}
	x.busy = x.window_cycles; /* every cycle is copying */
	x.issued = done;
	return 0;
}

/* DMA_CAPTURE: keep empty buffers posted on a capture vchan; read the
 * header of every completed buffer (HW §8) and count its records. */
int capture_worker(void *arg)
{
	WorkerCtx &x = *static_cast<WorkerCtx *>(arg);
	const int16_t dev = x.dev_id;
	const uint16_t vchan = x.vchan;
	const uint32_t len = uint32_t(x.sc.buf_size);
	const uint64_t kick = x.sc.kick_batch;
	const uint64_t nb = x.sc.nr_buf;
	uint64_t cap = std::min<uint64_t>(x.sc.ring_size, nb);
	uint64_t enq = 0, cpl = 0, seq = 0;
	uint64_t rec0 = 0, bytes0 = 0, nb0 = 0, ovr0 = 0, buf0 = 0;
	uint64_t records = 0, bytes = 0, lost_nb = 0, lost_ovr = 0;
	BusyMeter meter;

	Window win(x);
	for (;;) {
		const uint64_t t0 = rte_rdtsc();
		if (const Window::Event ev = win.at(t0); unlikely(ev != Window::Run)) {
			if (ev == Window::Begin) {
				rec0 = records, bytes0 = bytes, nb0 = lost_nb, ovr0 = lost_ovr, buf0 = cpl;
				meter.reset();
			} else {
				x.records = records - rec0;
				x.bytes = bytes - bytes0;
				x.lost_nb = lost_nb - nb0;
				x.lost_ovr = lost_ovr - ovr0;
				x.buffers = cpl - buf0;
				x.ops = x.records;
				break;
			}
		}
		bool did = false;
		if (enq - cpl + std::min(kick, cap) <= cap) {
			uint64_t k = 0;
			int ret = 0;
			for (; k < kick && enq + k - cpl < cap; k++) {
				ret = rte_dma_copy(dev, vchan, 0, x.dst.iova((enq + k) % nb), len, 0);
				if (ret < 0)
					break;
			}
			if (ret < 0 && ret != -ENOSPC) {
				x.err = strf("posting a capture buffer failed: %s", strerror(-ret));
				break;
			}
			if (ret == -ENOSPC)
				cap = enq - cpl + k;
			if (k) {
				rte_dma_submit(dev, vchan);
				enq += k;
				did = true;
			}
		}
		bool err = false;
		uint16_t last;
		const uint16_t n = rte_dma_completed(dev, vchan, kMaxCpl, &last, &err);
		if (unlikely(err)) {
			x.err = dma_error(dev, vchan);
			break;
		}
		for (uint16_t i = 0; i < n; i++) {
			const auto *h = reinterpret_cast<const xcap::hw::CaptureBufferHeader *>(
				x.dst.va((cpl + i) % nb));
			if (unlikely(h->magic != xcap::hw::kCaptureMagic || h->sequence != seq ||
				     h->bytes_used > len || h->bytes_used < sizeof(*h))) {
				if (x.bad_headers++ == 0)
					x.bad_header = strf("buffer %" PRIu64 ": magic 0x%08x sequence %" PRIu64
							    " (expected %" PRIu64 ") bytes_used %u of %u",
							    cpl + i, h->magic, h->sequence, seq,
							    h->bytes_used, len);
				seq = h->sequence;
			}
			seq++;
			records += h->record_count;
			bytes += h->bytes_used;
			lost_nb += h->lost_no_buffer;
			lost_ovr += h->lost_overrun;
		}
		const uint64_t t1 = rte_rdtsc();
		if (n) {
			cpl += n;
			did = true;
		}
		if (did)
			meter.add(t0, t1);
	}
	meter.report(x);
	x.issued = enq;
	/* Buffers still posted complete when the device stops (HW §3.5). */
	return 0;
}

/* ---- verification ------------------------------------------------------------ */

std::string verify_copy(WorkerCtx &x)
{
	const uint64_t len = x.sc.buf_size;
	if (x.w->dir != Dir::MemToMem)
		return "n/a";
	uint64_t bad = 0, zero = 0, checked = 0;
	std::string first;
	if (!x.c->is_sg()) {
		const uint64_t n = std::min<uint64_t>(x.issued, x.sc.nr_buf);
		for (uint64_t i = 0; i < n; i++, checked++) {
			const uint8_t *s = x.src.va(i), *d = x.dst.va(i);
			if (memcmp(s, d, len) == 0)
				continue;
			bool all_zero = true;
			for (uint64_t k = 0; k < len && all_zero; k++)
				all_zero = d[k] == 0;
			zero += all_zero;
			if (bad++ == 0) {
				uint64_t k = 0;
				while (s[k] == d[k])
					k++;
				first = strf("buffer %" PRIu64 " byte %" PRIu64 ": source 0x%02x, "
					     "destination 0x%02x", i, k, s[k], d[k]);
			}
		}
	} else {
		/* an SG op gathers src_sge segments and scatters dst_sge ones */
		const unsigned ns = x.c->src_sge, nd = x.c->dst_sge;
		const uint64_t n = std::min<uint64_t>(x.issued, x.sg_ops);
		std::vector<uint8_t> a(len), b(len);
		for (uint64_t j = 0; j < n; j++, checked++) {
			size_t off = 0;
			for (unsigned k = 0; k < ns; k++) {
				const rte_dma_sge &e = x.sg_src[j * ns + k];
				memcpy(a.data() + off, x.src.va(j * ns + k), e.length);
				off += e.length;
			}
			off = 0;
			for (unsigned k = 0; k < nd; k++) {
				const rte_dma_sge &e = x.sg_dst[j * nd + k];
				memcpy(b.data() + off, x.dst.va(j * nd + k), e.length);
				off += e.length;
			}
			if (a != b) {
				zero += std::all_of(b.begin(), b.end(), [](uint8_t v) { return v == 0; });
				if (bad++ == 0)
					first = strf("SG operation %" PRIu64, j);
			}
		}
	}
	if (bad == 0)
		return "ok";
	std::string r = strf("FAILED: %" PRIu64 " of %" PRIu64 " buffers differ from their source "
			     "(first: %s)", bad, checked, first.c_str());
	if (zero == bad && bad == checked)
		r += "; no destination was written at all: a null engine (xcap null=1)? Run it with "
		     "--no-verify";
	return r;
}

/* ---- device setup --------------------------------------------------------------- */

std::string where(const Case &c, const char *key)
{
	return "[" + c.section + "] " + key + ": ";
}

bool setup_device(const Case &c, const Scenario &sc, WorkerCtx &x, std::string &err)
{
	const Worker &w = *x.w;
	const int id = rte_dma_get_dev_id_by_name(w.dev.c_str());
	if (id < 0) {
		std::string names;
		int16_t d;
		RTE_DMA_FOREACH_DEV(d) {
			rte_dma_info i;
			if (rte_dma_info_get(d, &i) == 0)
				names += std::string(names.empty() ? "" : ", ") + i.dev_name;
		}
		err = where(c, "lcore_dma") + "no dmadev named '" + w.dev + "'; allowed: " +
		      (names.empty() ? std::string("none: EAL found no dmadev (add --vdev=... or -a "
						   "<PCI address> to eal_args)") : names);
		return false;
	}
	x.dev_id = int16_t(id);
	rte_dma_info info;
	if (rte_dma_info_get(x.dev_id, &info) != 0) {
		err = "rte_dma_info_get(" + w.dev + ") failed";
		return false;
	}
	if (sc.ring_size < info.min_desc || sc.ring_size > info.max_desc) {
		err = where(c, "dma_ring_size") + std::to_string(sc.ring_size) + " is outside " +
		      w.dev + "'s range; allowed: [" + std::to_string(info.min_desc) + ", " +
		      std::to_string(info.max_desc) + "]";
		return false;
	}
	const uint64_t need = c.type == TestType::DmaCapture ? RTE_DMA_CAPA_DEV_TO_MEM :
			      w.dir == Dir::MemToMem ? RTE_DMA_CAPA_MEM_TO_MEM :
			      w.dir == Dir::MemToDev ? RTE_DMA_CAPA_MEM_TO_DEV : RTE_DMA_CAPA_DEV_TO_MEM;
	if (!(info.dev_capa & need)) {
		err = where(c, c.type == TestType::DmaCapture ? "type" : "lcore_dma") + w.dev +
		      " cannot do " + (c.type == TestType::DmaCapture ? "DEV_TO_MEM capture" :
				       dir_name(w.dir)) + " transfers";
		return false;
	}
	if (c.is_sg()) {
		if (!(info.dev_capa & RTE_DMA_CAPA_OPS_COPY_SG)) {
			err = where(c, "dma_src_sge") + w.dev + " has no scatter-gather copy; allowed: "
			      "no dma_src_sge/dma_dst_sge for this device";
			return false;
		}
		if (c.src_sge > info.max_sges || c.dst_sge > info.max_sges) {
			err = where(c, c.src_sge > info.max_sges ? "dma_src_sge" : "dma_dst_sge") +
			      "more segments than " + w.dev + " takes; allowed: [1, " +
			      std::to_string(info.max_sges) + "]";
			return false;
		}
	}
	uint16_t vchan = 0;
	if (c.type == TestType::DmaCapture) {
		vchan = c.capture_vchan >= 0 ? uint16_t(c.capture_vchan) : uint16_t(info.max_vchans - 1);
		if (vchan >= info.max_vchans) {
			err = where(c, "capture_vchan") + std::to_string(vchan) + " is not a vchan of " +
			      w.dev + "; allowed: [0, " + std::to_string(info.max_vchans - 1) + "]";
			return false;
		}
	}
	x.vchan = vchan;
	rte_dma_stop(x.dev_id); /* a previous scenario's run */
	rte_dma_conf conf{};
	conf.nb_vchans = uint16_t(vchan + 1);
	if (rte_dma_configure(x.dev_id, &conf) != 0) {
		err = "rte_dma_configure(" + w.dev + ", " + std::to_string(conf.nb_vchans) +
		      " vchans) failed";
		return false;
	}
	for (uint16_t v = 0; v <= vchan; v++) {
		rte_dma_vchan_conf vc{};
		vc.nb_desc = uint16_t(sc.ring_size);
		if (v == vchan) {
			vc.direction = c.type == TestType::DmaCapture ? RTE_DMA_DIR_DEV_TO_MEM :
				       w.dir == Dir::MemToMem ? RTE_DMA_DIR_MEM_TO_MEM :
				       w.dir == Dir::MemToDev ? RTE_DMA_DIR_MEM_TO_DEV : RTE_DMA_DIR_DEV_TO_MEM;
			rte_dma_port_param *port = vc.direction == RTE_DMA_DIR_DEV_TO_MEM ? &vc.src_port :
						   vc.direction == RTE_DMA_DIR_MEM_TO_DEV ? &vc.dst_port : nullptr;
			if (port) {
				port->port_type = RTE_DMA_PORT_PCIE;
				port->pcie.coreid = w.coreid & 0xf;
				port->pcie.pfid = w.pfid & 0xff;
				port->pcie.vfen = w.vfid != 0;
				port->pcie.vfid = w.vfid;
			}
			if (rte_dma_vchan_setup(x.dev_id, v, &vc) != 0) {
				err = strf("rte_dma_vchan_setup(%s, vchan %u, %s, %" PRIu64 " descriptors) "
					   "failed (see the driver's log above)", w.dev.c_str(), v,
					   c.type == TestType::DmaCapture ? "dev2mem" : dir_name(w.dir),
					   sc.ring_size);
				return false;
			}
		} else {
			/* vchans below a capture vchan: whatever direction they take */
			vc.direction = RTE_DMA_DIR_MEM_TO_MEM;
			if (rte_dma_vchan_setup(x.dev_id, v, &vc) != 0) {
				vc.direction = RTE_DMA_DIR_DEV_TO_MEM;
				vc.src_port.port_type = RTE_DMA_PORT_PCIE;
				if (rte_dma_vchan_setup(x.dev_id, v, &vc) != 0) {
					err = strf("cannot set up vchan %u of %s below capture vchan %u",
						   v, w.dev.c_str(), vchan);
					return false;
				}
			}
		}
	}
	if (rte_dma_start(x.dev_id) != 0) {
		err = "rte_dma_start(" + w.dev + ") failed (see the driver's log above)";
		return false;
	}
	return true;
}

int node_of(int configured, unsigned lcore)
{
	return configured >= 0 ? configured : int(rte_lcore_to_socket_id(lcore));
}

bool node_ok(int node)
{
	for (unsigned i = 0; i < rte_socket_count(); i++)
		if (rte_socket_id_by_idx(i) == node)
			return true;
	return false;
}

std::string nodes_list()
{
	std::string s;
	for (unsigned i = 0; i < rte_socket_count(); i++)
		s += (s.empty() ? "" : ", ") + std::to_string(rte_socket_id_by_idx(i));
	return s;
}

/* One scenario: set up, run, verify, report. */
bool run_scenario(const Case &c, const Scenario &sc, const RunOptions &opt, CsvWriter &csv,
		  std::vector<Result> &rows)
{
	const size_t nw = c.workers.size();
	std::vector<std::unique_ptr<WorkerCtx>> ws;
	std::atomic<bool> start{false};
	std::atomic<unsigned> ready{0};
	const uint64_t hz = rte_get_tsc_hz();
	const unsigned secs = opt.seconds_override ? opt.seconds_override : c.test_seconds;
	std::string err;
	const bool dma = c.type != TestType::CpuMemCopy;

	printf("\n[%s] case %u scenario %u: %s, buf_size %" PRIu64 " B, %" PRIu64 " buffers/worker, "
	       "mem_size %" PRIu64 " MiB", c.section.c_str(), c.id, sc.id, type_name(c.type),
	       sc.buf_size, sc.nr_buf, sc.mem_size);
	if (dma)
		printf(", ring %" PRIu64 ", kick_batch %" PRIu64, sc.ring_size, sc.kick_batch);
	printf("\n");

	for (size_t i = 0; i < nw && err.empty(); i++) {
		auto x = std::make_unique<WorkerCtx>();
		x->c = &c;
		x->sc = sc;
		x->w = &c.workers[i];
		x->index = unsigned(i);
		x->start = &start;
		x->ready = &ready;
		x->warmup = uint64_t(opt.warmup_seconds * double(hz));
		x->window = uint64_t(secs) * hz;
		const unsigned lcore = x->w->lcore;
		const char *wkey = dma ? "lcore_dma" : "lcore";
		if (lcore >= RTE_MAX_LCORE || !rte_lcore_is_enabled(lcore)) {
			std::string en;
			unsigned l;
			RTE_LCORE_FOREACH(l)
				en += (en.empty() ? "" : ", ") + std::to_string(l);
			err = where(c, wkey) + "lcore " + std::to_string(lcore) + " is not an EAL lcore; "
			      "allowed: " + en + " (EAL -l option in eal_args)";
			break;
		}
		const int sn = node_of(c.src_numa, lcore), dn = node_of(c.dst_numa, lcore);
		if (!node_ok(sn) || !node_ok(dn)) {
			err = where(c, !node_ok(sn) ? "src_numa_node" : "dst_numa_node") + "node " +
			      std::to_string(!node_ok(sn) ? sn : dn) + " has no memory in EAL; allowed: " +
			      nodes_list();
			break;
		}
		if (c.type == TestType::DmaCapture) {
			if (!x->dst.alloc(strf("dmaperf_cap%zu", i), sc.nr_buf, sc.buf_size, dn, err))
				break;
		} else {
			if (!x->src.alloc(strf("dmaperf_src%zu", i), sc.nr_buf, sc.buf_size, sn, err) ||
			    !x->dst.alloc(strf("dmaperf_dst%zu", i), sc.nr_buf, sc.buf_size, dn, err))
				break;
			for (uint64_t b = 0; b < sc.nr_buf; b++)
				fill_random(x->src.va(b), sc.buf_size, (uint64_t(i) << 40) ^ b ^ (sc.id << 20));
			x->dst.zero();
		}
		if (c.is_sg()) {
			/* op j: src buffers j*ns.., dst buffers j*nd.., each segment a
			 * share of buf_size (the last one takes the remainder) */
			const unsigned ns = c.src_sge, nd = c.dst_sge;
			x->sg_ops = sc.nr_buf / std::max(ns, nd);
			x->sg_src.resize(x->sg_ops * ns);
			x->sg_dst.resize(x->sg_ops * nd);
			for (uint64_t j = 0; j < x->sg_ops; j++) {
				for (unsigned k = 0; k < ns; k++)
					x->sg_src[j * ns + k] = rte_dma_sge{x->src.iova(j * ns + k),
						uint32_t(sc.buf_size / ns + (k == ns - 1 ? sc.buf_size % ns : 0))};
				for (unsigned k = 0; k < nd; k++)
					x->sg_dst[j * nd + k] = rte_dma_sge{x->dst.iova(j * nd + k),
						uint32_t(sc.buf_size / nd + (k == nd - 1 ? sc.buf_size % nd : 0))};
			}
		}
		if (dma && !setup_device(c, sc, *x, err))
			break;
		if (c.cache_flush) {
			x->src.flush();
			x->dst.flush();
		}
		ws.push_back(std::move(x));
	}

	auto fail = [&](const std::string &why) {
		Result r;
		r.case_id = c.id;
		r.section = c.section;
		r.type = type_name(c.type);
		r.scenario = sc.id;
		r.buf_size = sc.buf_size;
		r.error = why;
		for (const Worker &w : c.workers)
			r.dev += (r.dev.empty() ? "" : "+") + w.dev;
		csv.row(r);
		rows.push_back(r);
		printf("  scenario %u FAILED: %s\n", sc.id, why.c_str());
		for (auto &x : ws)
			if (x->dev_id >= 0)
				rte_dma_stop(x->dev_id);
		return false;
	};
	if (!err.empty())
		return fail(err);

	lcore_function_t *fn = c.type == TestType::CpuMemCopy ? cpu_copy_worker :
			       c.type == TestType::DmaCapture ? capture_worker : dma_copy_worker;
	const unsigned main_lcore = rte_get_main_lcore();
	WorkerCtx *inline_worker = nullptr;
	for (auto &x : ws) {
		if (x->w->lcore == main_lcore) {
			inline_worker = x.get();
			continue;
		}
		if (rte_eal_remote_launch(fn, x.get(), x->w->lcore) != 0)
			return fail(strf("lcore %u is busy", x->w->lcore));
	}
	while (ready.load() < ws.size() - (inline_worker ? 1 : 0))
		rte_pause();
	start.store(true, std::memory_order_release);
	if (inline_worker)
		fn(inline_worker);
	rte_eal_mp_wait_lcore();
	for (auto &x : ws)
		if (x->dev_id >= 0)
			rte_dma_stop(x->dev_id);

	/* Per worker rows, then the summary. */
	Result sum;
	sum.case_id = c.id;
	sum.section = c.section;
	sum.type = type_name(c.type);
	sum.scenario = sc.id;
	sum.ring_size = dma ? sc.ring_size : 0;
	sum.kick_batch = dma ? sc.kick_batch : 0;
	sum.buf_size = sc.buf_size;
	sum.src_sge = c.src_sge;
	sum.dst_sge = c.dst_sge;
	sum.verify = "ok";
	LatencyHist all;
	uint64_t busy = 0, ops = 0;
	double avg_sum = 0;
	std::string errors;
	const double ns_per_cycle = 1e9 / double(hz);
	for (auto &x : ws) {
		Result r = sum;
		r.worker = int(x->index);
		r.lcore = x->w->lcore;
		r.dev = x->w->dev;
		r.dir = dma ? (c.type == TestType::DmaCapture ? "dev2mem" : dir_name(x->w->dir)) : "";
		r.nr_buf = sc.nr_buf;
		r.memory_mb = double(sc.buf_size * sc.nr_buf * (c.type == TestType::DmaCapture ? 1 : 2)) /
			      (1024.0 * 1024.0);
		r.seconds = double(x->window_cycles) / double(hz);
		r.ops = x->ops;
		r.context_switches = uint64_t(std::max(0L, x->csw));
		r.disturbed = x->disturbed;
		if (r.seconds > 0 && x->ops > 0) {
			r.mops = double(x->ops) / r.seconds / 1e6;
			const double bytes = c.type == TestType::DmaCapture ? double(x->bytes) :
					     double(x->ops) * double(sc.buf_size);
			r.gbps = bytes * 8 / r.seconds / 1e9;
			r.avg_cycles = double(x->window_cycles) / double(x->ops);
			r.cpu_cycles_per_op = double(x->busy) / double(x->ops);
		}
		if (x->hist.count()) {
			r.lat_samples = x->hist.count();
			r.lat_p50_ns = double(x->hist.quantile(0.50)) * ns_per_cycle;
			r.lat_p99_ns = double(x->hist.quantile(0.99)) * ns_per_cycle;
			r.lat_p999_ns = double(x->hist.quantile(0.999)) * ns_per_cycle;
		}
		if (c.type == TestType::DmaCapture) {
			r.records = x->records;
			r.lost_no_buffer = x->lost_nb;
			r.lost_overrun = x->lost_ovr;
			r.buffers = x->buffers;
			r.verify = !opt.verify ? "skipped" : x->bad_headers == 0 ? "ok" :
				   strf("FAILED: %" PRIu64 " bad buffer headers (first: %s)",
					x->bad_headers, x->bad_header.c_str());
		} else if (!x->err.empty()) {
			r.verify = "not run";
		} else if (!opt.verify) {
			r.verify = "skipped";
		} else {
			r.verify = verify_copy(*x);
		}
		r.error = x->err;
		if (r.error.empty() && x->ops == 0)
			r.error = "no operation completed in " + std::to_string(secs) + " s";
		if (!r.error.empty())
			errors += (errors.empty() ? "" : "; ") + ("lcore " + std::to_string(r.lcore) +
				   (dma ? " (" + r.dev + ")" : "") + ": " + r.error);

		printf("  lcore %u%s%s: %.3f Mops, %.3f Gbit/s, %.1f cycles/op (wall), %.1f cycles/op "
		       "(cpu)", r.lcore, dma ? " " : "", dma ? r.dev.c_str() : "", r.mops, r.gbps,
		       r.avg_cycles, r.cpu_cycles_per_op);
		if (r.lat_samples)
			printf(", latency p50 %.0f ns p99 %.0f ns p99.9 %.0f ns", r.lat_p50_ns,
			       r.lat_p99_ns, r.lat_p999_ns);
		if (c.type == TestType::DmaCapture)
			printf(", %" PRIu64 " records in %" PRIu64 " buffers, lost %" PRIu64
			       " (no buffer) + %" PRIu64 " (overrun)", r.records, r.buffers,
			       r.lost_no_buffer, r.lost_overrun);
		if (r.context_switches || r.disturbed)
			printf(", DISTURBED: %" PRIu64 " context switches, %" PRIu64 " loop iterations "
			       "over %.0f us", r.context_switches, r.disturbed, kDisturbedSeconds * 1e6);
		printf(", verify %s\n", r.verify.c_str());
		if (!r.error.empty())
			printf("  lcore %u FAILED: %s\n", r.lcore, r.error.c_str());
		if (r.error.empty())
			csv.row(r);
		rows.push_back(r);

		sum.nr_buf += r.nr_buf;
		sum.memory_mb += r.memory_mb;
		sum.gbps += r.gbps;
		sum.mops += r.mops;
		sum.ops += r.ops;
		sum.seconds = std::max(sum.seconds, r.seconds);
		sum.records += r.records;
		sum.lost_no_buffer += r.lost_no_buffer;
		sum.lost_overrun += r.lost_overrun;
		sum.buffers += r.buffers;
		sum.context_switches += r.context_switches;
		sum.disturbed += r.disturbed;
		avg_sum += r.avg_cycles;
		busy += x->busy;
		ops += x->ops;
		all.merge(x->hist);
		sum.dev += (sum.dev.empty() ? "" : "+") + r.dev;
		if (r.verify != "ok" && sum.verify == "ok")
			sum.verify = r.verify;
	}
	sum.avg_cycles = ws.empty() ? 0 : avg_sum / double(ws.size());
	sum.cpu_cycles_per_op = ops ? double(busy) / double(ops) : 0;
	sum.lat_samples = all.count();
	if (all.count()) {
		sum.lat_p50_ns = double(all.quantile(0.50)) * ns_per_cycle;
		sum.lat_p99_ns = double(all.quantile(0.99)) * ns_per_cycle;
		sum.lat_p999_ns = double(all.quantile(0.999)) * ns_per_cycle;
	}
	sum.error = errors;
	csv.row(sum);
	rows.push_back(sum);
	printf("  total: %.3f Mops, %.3f Gbit/s, verify %s%s%s\n", sum.mops, sum.gbps,
	       sum.verify.c_str(), errors.empty() ? "" : ", FAILED: ", errors.c_str());
	return errors.empty() && (sum.verify == "ok" || sum.verify == "skipped" || sum.verify == "n/a");
}

} // namespace

int run_case(const Case &c, const RunOptions &opt, CsvWriter &csv, std::vector<Result> &rows)
{
	csv.case_header(c.id, type_name(c.type));
	bool ok = true;
	for (const Scenario &sc : expand(c))
		ok &= run_scenario(c, sc, opt, csv, rows);
	return ok ? 0 : 1;
}

void list_dmadevs()
{
	int16_t d;
	unsigned n = 0;
	RTE_DMA_FOREACH_DEV(d) {
		rte_dma_info i;
		if (rte_dma_info_get(d, &i) != 0)
			continue;
		n++;
		printf("%s: dev_id %d, %u vchans, %u..%u descriptors, %u SG entries, NUMA node %d, "
		       "capabilities:%s%s%s%s%s%s\n", i.dev_name, d, i.max_vchans, i.min_desc, i.max_desc,
		       i.max_sges, i.numa_node,
		       (i.dev_capa & RTE_DMA_CAPA_MEM_TO_MEM) ? " mem2mem" : "",
		       (i.dev_capa & RTE_DMA_CAPA_MEM_TO_DEV) ? " mem2dev" : "",
		       (i.dev_capa & RTE_DMA_CAPA_DEV_TO_MEM) ? " dev2mem" : "",
		       (i.dev_capa & RTE_DMA_CAPA_OPS_COPY) ? " copy" : "",
		       (i.dev_capa & RTE_DMA_CAPA_OPS_COPY_SG) ? " copy_sg" : "",
		       (i.dev_capa & RTE_DMA_CAPA_OPS_FILL) ? " fill" : "");
	}
	if (n == 0)
		printf("no dmadev: add --vdev=dma_xcap_emu0, --vdev=dma_skeleton or -a <PCI address> "
		       "to the EAL arguments\n");
}

} // namespace dmaperf
