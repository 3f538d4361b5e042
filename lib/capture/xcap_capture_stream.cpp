/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Capture stream: a pool of DMA buffers in hugepages on the card's NUMA
 * node, kept posted on the card's capture vchans (rte_dma_copy on a
 * DEV_TO_MEM vchan posts an empty buffer, HW §8); completed buffers are
 * parsed (xcap_capture_parse.cpp) and their records handed out without a
 * copy.
 *
 * Buffer life cycle (owner thread only, except the mbuf free callback):
 *
 *   Free --post--> Posted --card completes--> Completed --consumer takes-->
 *   Consumer --all records handed out--> Held (mbufs still reference it)
 *   --last mbuf freed: callback enqueues it on the return ring--> (ring)
 *   --owner dequeues--> Free
 *
 * A buffer handed out as mbufs has one rte_mbuf_ext_shared_info whose 16-bit
 * refcnt counts its live mbufs plus one reference of the owner while it is
 * still handing records out. Each mbuf attaches one record (never the whole
 * buffer: buf_len is 16 bits), so a buffer holds at most (1 MiB - 64) / 16
 * records and the refcnt cannot overflow.
 */
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_memzone.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "rte_pmd_xcap.h"
#include "xcap_capture.hpp"

/* The PMD's counters API (rte_pmd_xcap.h), weak: present when the program
 * links the PMD in, absent (null) when it is loaded as a plugin; the stream
 * then accounts from buffer headers only. The library itself never links the
 * PMD. */
extern "C" int rte_pmd_xcap_capture_counters(int16_t dev_id, uint16_t vchan,
					     struct rte_pmd_xcap_capture_counters *out)
	__attribute__((weak));

namespace xcap::capture {

static_assert(sizeof(Record) == sizeof(xcap_capture_record));
static_assert(offsetof(Record, data) == offsetof(xcap_capture_record, data));
static_assert(offsetof(Record, ts_ns) == offsetof(xcap_capture_record, ts_ns));
static_assert(offsetof(Record, cap_len) == offsetof(xcap_capture_record, cap_len));
static_assert(offsetof(Record, wire_len) == offsetof(xcap_capture_record, wire_len));
static_assert(offsetof(Record, offset) == offsetof(xcap_capture_record, offset));
static_assert(offsetof(Record, flags) == offsetof(xcap_capture_record, flags));
static_assert(offsetof(Record, channel) == offsetof(xcap_capture_record, channel));
static_assert(XCAP_CAPTURE_REC_TRUNCATED == hw::rflag::kTruncated);
static_assert((kMaxBufferSize - sizeof(hw::CaptureBufferHeader)) / sizeof(hw::RecordHeader) + 1 <
	      UINT16_MAX, "records of one buffer fit the shared info's 16-bit refcnt");
static_assert(sizeof(MbufMeta) == 8);
static_assert(sizeof(RecordRef) == sizeof(xcap_capture_ref));
static_assert(offsetof(RecordRef, buf) == offsetof(xcap_capture_ref, buf));
static_assert(offsetof(RecordRef, cap_len) == offsetof(xcap_capture_ref, cap_len));
static_assert(offsetof(RecordRef, channel) == offsetof(xcap_capture_ref, channel));

using BufState = Stream::BufState;

/* One DMA buffer and its bookkeeping. The shared info is written by any
 * lcore that frees an mbuf: it gets its own cache line. */
struct alignas(RTE_CACHE_LINE_SIZE) Buffer {
	rte_mbuf_ext_shared_info shinfo;
	alignas(RTE_CACHE_LINE_SIZE) uint8_t *va = nullptr;
	rte_iova_t iova = 0;
	uint32_t len = 0;
	uint32_t index = 0;
	rte_ring *ret_ring = nullptr;
	uint16_t chan = 0;          /* index into the stream's vchans */
	BufState state = BufState::Free;
	bool walked = false;        /* finish_walk() done */
	uint32_t malformed_counted = 0; /* announced in undelivered */
	/* read_detached() on another lcore: what it handed out, folded into
	 * the stream's counters when the buffer is released */
	uint32_t det_got = 0, det_malformed = 0;
	uint64_t det_bytes = 0, det_filtered = 0;
	uint64_t times_posted = 0;
	uint64_t times_completed = 0;
	BufferParser parser;
};

namespace {

std::atomic<unsigned> g_stream_serial{0};
/* stop(): how long to wait for a channel that went without a posted buffer
 * to complete one again (its header reports what it lost meanwhile) */
constexpr unsigned kStopWaitMs = 500;
/* A vchan with buffers posted that completed nothing for this long is
 * asked for its status (rte_dma_vchan_status: a few MMIO reads); two
 * HALTED_ERROR answers in a row, with completions polled in between (which
 * resumes a channel halted on an error), mean it failed. */
constexpr unsigned kHealthCheckMs = 20;
constexpr unsigned kFailedChecks = 2;
std::mutex g_fields_lock;
MbufFields g_fields;

/* The mbuf free callback: the last mbuf of a buffer was freed, on whatever
 * lcore. The ring has room for every buffer, so this cannot fail. */
void ext_buf_free(void *, void *opaque)
{
	auto *b = static_cast<Buffer *>(opaque);
	const unsigned ok = rte_ring_mp_enqueue_bulk(b->ret_ring, reinterpret_cast<void **>(&b), 1,
						     nullptr);
	RTE_VERIFY(ok == 1);
}

bool register_mbuf_fields(std::string &err)
{
	std::lock_guard<std::mutex> g(g_fields_lock);
	if (g_fields.meta_offset >= 0)
		return true;
	int ts_off = -1;
	uint64_t ts_flag = 0;
	if (rte_mbuf_dyn_rx_timestamp_register(&ts_off, &ts_flag) != 0) {
		err = std::string("cannot register the mbuf Rx timestamp field: ") +
		      rte_strerror(rte_errno);
		return false;
	}
	static const rte_mbuf_dynfield meta_desc = {
		"xcap_capture_meta", sizeof(MbufMeta), alignof(MbufMeta), 0,
	};
	const int meta_off = rte_mbuf_dynfield_register(&meta_desc);
	if (meta_off < 0) {
		err = std::string("cannot register the mbuf field xcap_capture_meta: ") +
		      rte_strerror(rte_errno);
		return false;
	}
	g_fields.ts_offset = ts_off;
	g_fields.ts_flag = ts_flag;
	g_fields.meta_offset = meta_off;
	return true;
}

inline void bump(std::atomic<uint64_t> &a, uint64_t n)
{
	/* single writer (the owner): no read-modify-write needed */
	a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

} // namespace

const MbufFields &mbuf_fields()
{
	return g_fields;
}

bool is_capture_mbuf(const rte_mbuf *m)
{
	return m != nullptr && g_fields.meta_offset >= 0 && RTE_MBUF_HAS_EXTBUF(m) &&
	       m->shinfo != nullptr && m->shinfo->free_cb == ext_buf_free;
}

struct Vch {
	uint16_t vchan = 0;
	uint16_t nb_desc = 0;
	uint32_t target = 0;            /* buffers to keep posted */
	std::vector<Buffer *> posted;   /* in posting order, ring of nb_desc */
	uint32_t head = 0, count = 0;   /* oldest posted, how many */
	uint64_t expect_seq = 0;        /* next CaptureBufferHeader::sequence */
	/* health (HW §3.5, §7.4) */
	uint64_t idle_since = 0;        /* TSC of the first empty poll, 0 = busy */
	unsigned halted_checks = 0;
	bool failed = false;            /* found failed: no completions will come */
	/* this enable's totals from accepted headers, to compare with the card's
	 * counters at the next stop/restart */
	uint64_t ep_records = 0, ep_lost_nb = 0, ep_lost_ovr = 0;

	std::atomic<uint64_t> loss{0};  /* reported by headers */
	std::atomic<uint64_t> undelivered{0}; /* loss + malformed + filtered */
};

struct AtomicCounters {
	std::atomic<uint64_t> buffers_posted{0}, buffers_completed{0}, buffers_aborted{0},
		buffers_failed{0}, buffers_malformed{0}, buffer_seq_errors{0};
	std::atomic<uint64_t> records{0}, bytes{0}, handed_out{0}, consumer_dropped{0};
	std::atomic<uint64_t> dropped[kDropCauses];
	std::atomic<uint64_t> cpu_copies{0}, mbuf_alloc_failed{0};
	std::atomic<uint64_t> channel_failures{0}, channel_restarts{0}, card_gone{0},
		counter_reconciled{0};
	std::atomic<uint32_t> posted_now{0}, completed_now{0}, free_now{0};
	AtomicCounters()
	{
		for (auto &d : dropped)
			d.store(0);
	}
};

struct Stream::Impl {
	StreamConfig cfg;
	int16_t dev = -1;
	int node = SOCKET_ID_ANY;
	bool started = false;
	bool stop_requested = false;
	bool gone = false;          /* the card read all-ones: nothing more from it */
	bool restarting = false;    /* restart() runs: no health checks */
	uint64_t restart_retry = 0; /* TSC when to try a restart that failed again */
	uint64_t health_cycles = 0; /* kHealthCheckMs in TSC cycles */
	std::chrono::steady_clock::time_point stop_deadline;
	std::string name;

	std::vector<const rte_memzone *> mzs;
	struct Chunk {
		const uint8_t *lo;
		uint32_t n, first;
	};
	std::vector<Chunk> chunks; /* one per memzone */
	Buffer *bufs = nullptr; /* rte_zmalloc'd array of nb_buffers */
	uint32_t nb_bufs = 0;
	std::vector<Buffer *> free_list;
	std::vector<Buffer *> done; /* FIFO ring of completed buffers */
	uint32_t done_head = 0, done_count = 0;
	std::vector<Vch> vch;
	unsigned repost_rr = 0;
	rte_ring *ret_ring = nullptr;
	rte_mempool *mp = nullptr;
	uint64_t ts_flag = 0;
	int ts_off = -1, meta_off = -1;
	uint16_t mbuf_port = RTE_MBUF_PORT_INVALID;

	Buffer *rd_cur = nullptr; /* read() */
	Buffer *mb_cur = nullptr; /* rx_burst() */
	uint32_t consumer_bufs = 0; /* next_buffer() not yet released */
	std::vector<Record> scratch;
	std::vector<rte_dma_status_code> st;

	AtomicCounters c;

	~Impl();
	bool init(const StreamConfig &config, std::string &err);
	bool alloc_buffers(std::string &err);
	bool setup_device(std::string &err);

	int start();
	int stop();
	void request_stop();
	int finish_stop();
	/* Every loss the card counted will reach a header at the disable: each
	 * channel has buffers posted, checked right after collecting and
	 * reposting (microseconds before the disable, far less than the card
	 * needs to fill them all). At the disable the card completes the one it
	 * fills, or fetches a posted one, with the loss since the last header
	 * (HW §8.3). Checked only then, never after a sleep: while stop()
	 * blocks nobody consumes, completed buffers pile up, and a channel that
	 * had buffers a moment ago may have none after a sleep (the flaky
	 * Accounting.StopWhileTheConsumerHoldsEverything). What still escapes
	 * the headers (the card may complete the posted buffer on its flush
	 * timeout just before it sees the disable; a card without the
	 * fetch-at-disable rule) is settled from its counters (reconcile()). */
	bool ready_to_stop() const
	{
		for (const auto &v : vch)
			if (v.count == 0 && !v.failed)
				return false;
		return true;
	}
	int poll();
	void check_health(Vch &v, uint16_t chan);
	void channel_failed(Vch &v);
	void card_gone();
	int restart();
	void reconcile();
	void reclaim_posted(Vch &v);
	void recycle();
	unsigned collect();
	void complete(Vch &v, uint16_t chan, Buffer *b, rte_dma_status_code s);
	void repost();
	void to_free(Buffer *b)
	{
		b->state = BufState::Free;
		free_list.push_back(b);
	}
	Buffer *take();
	uint32_t walk(Buffer *b, Record *out, uint32_t n);
	void finish_walk(Buffer *b);
	void count_malformed(Buffer *b);
	void release_consumer(Buffer *b, DropCause unread_cause = DropCause::Filtered);
	uint16_t read(Record *out, uint16_t n);
	uint16_t rx_burst(rte_mbuf **pkts, uint16_t n);
	uint16_t read_refs(RecordRef *out, uint16_t n);
	/* The start of rx_burst() and read_refs(): act on a pending stop, and
	 * cut the burst to the scratch size (no allocation on the fast path;
	 * returning fewer records is allowed). */
	uint16_t burst_begin(uint16_t n)
	{
		if (stop_requested) [[unlikely]]
			poll();
		return n > scratch.size() ? uint16_t(scratch.size()) : n;
	}
	Buffer *handout_buffer();
	void handed_out(Buffer *b, uint32_t k);
	bool drained() const;
	void gauges();
	/* A read-modify-write: read_detached() adds from another lcore. Once
	 * per buffer at most, never per record. */
	void add_undelivered(uint16_t chan, uint64_t n)
	{
		if (n != 0)
			vch[chan].undelivered.fetch_add(n, std::memory_order_release);
	}
	uint32_t announce_malformed(Buffer *b);
	uint32_t read_detached(Buffer *b, Record *out, uint32_t n);
	void fold_detached(Buffer *b);
	uint32_t posted_total() const
	{
		uint32_t n = 0;
		for (const auto &v : vch)
			n += v.count;
		return n;
	}
};

Stream::Impl::~Impl()
{
	if (started)
		stop();
	const uint32_t still_posted = posted_total();
	if (still_posted) {
		/* The card may still write into them: leaking is the safe choice. */
		fprintf(stderr, "xcap capture %s: %u buffers still posted on the card at "
			"destroy; their memory is not freed\n", name.c_str(), still_posted);
		return;
	}
	if (mp != nullptr) {
		const unsigned in_use = rte_mempool_in_use_count(mp);
		if (in_use)
			fprintf(stderr, "xcap capture %s: %u mbufs not freed at destroy; the "
				"pool and the buffers they reference are leaked\n", name.c_str(),
				in_use);
		else
			rte_mempool_free(mp);
		if (in_use)
			return;
	}
	rte_ring_free(ret_ring);
	if (bufs != nullptr) {
		for (uint32_t i = 0; i < nb_bufs; i++)
			bufs[i].~Buffer();
		rte_free(bufs);
	}
	for (const rte_memzone *mz : mzs)
		rte_memzone_free(mz);
}

bool Stream::Impl::init(const StreamConfig &config, std::string &err)
{
	cfg = config;
	dev = cfg.dev_id;
	name = cfg.name.substr(0, 12) + std::to_string(g_stream_serial.fetch_add(1));
	auto fail = [&](const std::string &m) {
		err = m;
		return false;
	};
	if (!rte_dma_is_valid(dev))
		return fail("dmadev " + std::to_string(dev) + " does not exist");
	rte_dma_info info{};
	if (rte_dma_info_get(dev, &info) != 0)
		return fail("rte_dma_info_get(" + std::to_string(dev) + ") failed");
	if (!(info.dev_capa & RTE_DMA_CAPA_DEV_TO_MEM))
		return fail(std::string("dmadev ") + info.dev_name +
			    " has no capture channel (no RTE_DMA_CAPA_DEV_TO_MEM)");
	if (cfg.vchans.empty() || cfg.vchans.size() > 64)
		return fail("need 1..64 capture vchans, got " + std::to_string(cfg.vchans.size()));
	for (size_t i = 0; i < cfg.vchans.size(); i++) {
		if (cfg.vchans[i] >= info.max_vchans)
			return fail("vchan " + std::to_string(cfg.vchans[i]) + ": " + info.dev_name +
				    " has vchans 0.." + std::to_string(info.max_vchans - 1));
		for (size_t j = 0; j < i; j++)
			if (cfg.vchans[j] == cfg.vchans[i])
				return fail("vchan " + std::to_string(cfg.vchans[i]) + " given twice");
	}
	if (cfg.buffer_size < kMinBufferSize || cfg.buffer_size > kMaxBufferSize ||
	    cfg.buffer_size % 64)
		return fail("buffer size " + std::to_string(cfg.buffer_size) +
			    ": must be a multiple of 64 in [" + std::to_string(kMinBufferSize) +
			    ", " + std::to_string(kMaxBufferSize) + "]");
	const uint32_t nv = uint32_t(cfg.vchans.size());
	if (cfg.nb_buffers < nv || cfg.nb_buffers > (1u << 20))
		return fail("buffers: " + std::to_string(cfg.nb_buffers) + ": need at least one "
			    "per vchan (" + std::to_string(nv) + ") and at most 1048576");
	const uint32_t max_desc = info.max_desc ? info.max_desc : 1;
	uint32_t target = cfg.posted_per_vchan;
	if (target == 0)
		target = std::clamp<uint32_t>(cfg.nb_buffers / (2 * nv), 1, max_desc);
	if (target > max_desc)
		return fail("posted buffers per vchan " + std::to_string(target) + ": the card's "
			    "rings hold at most " + std::to_string(max_desc));
	if (uint64_t(target) * nv > cfg.nb_buffers)
		return fail("posted buffers " + std::to_string(target) + " x " +
			    std::to_string(nv) + " vchans > " + std::to_string(cfg.nb_buffers) +
			    " buffers in the pool");
	if (cfg.snaplen > 65535)
		return fail("snap length " + std::to_string(cfg.snaplen) + ": at most 65535");
	if (cfg.completion_burst == 0)
		cfg.completion_burst = 64;
	node = cfg.numa_node >= 0 ? cfg.numa_node : info.numa_node;
	if (node < 0)
		node = SOCKET_ID_ANY;

	vch = std::vector<Vch>(nv);
	health_cycles = rte_get_tsc_hz() / 1000 * kHealthCheckMs;
	const uint32_t nb_desc = std::clamp<uint32_t>(pow2_at_least(target),
						      std::max<uint32_t>(info.min_desc, 2), max_desc);
	for (uint32_t i = 0; i < nv; i++) {
		vch[i].vchan = cfg.vchans[i];
		vch[i].target = target;
		vch[i].nb_desc = uint16_t(nb_desc);
		vch[i].posted.assign(nb_desc, nullptr);
	}
	st.resize(std::max<uint32_t>(cfg.completion_burst, nb_desc));
	scratch.resize(512);

	if (!alloc_buffers(err))
		return false;
	if (cfg.nb_mbufs) {
		if (!register_mbuf_fields(err))
			return false;
		ts_off = g_fields.ts_offset;
		ts_flag = g_fields.ts_flag;
		meta_off = g_fields.meta_offset;
		mbuf_port = cfg.mbuf_port;
		const std::string pname = name + "_mb";
		const unsigned cache = std::min<unsigned>(cfg.mbuf_cache, RTE_MEMPOOL_CACHE_MAX_SIZE);
		mp = rte_pktmbuf_pool_create(pname.c_str(), cfg.nb_mbufs,
					     std::min<unsigned>(cache, cfg.nb_mbufs / 2), 0, 0, node);
		if (mp == nullptr)
			return fail("cannot create a pool of " + std::to_string(cfg.nb_mbufs) +
				    " mbufs on node " + std::to_string(node) + ": " +
				    rte_strerror(rte_errno));
	}
	if (cfg.manage_device && !setup_device(err))
		return false;
	return true;
}

bool Stream::Impl::alloc_buffers(std::string &err)
{
	nb_bufs = cfg.nb_buffers;
	const size_t bsz = cfg.buffer_size;
	bufs = static_cast<Buffer *>(rte_zmalloc_socket("xcap_capture_bufs", sizeof(Buffer) * nb_bufs,
							RTE_CACHE_LINE_SIZE, node));
	if (bufs == nullptr) {
		err = "cannot allocate buffer metadata";
		return false;
	}
	for (uint32_t i = 0; i < nb_bufs; i++)
		new (&bufs[i]) Buffer();

	const std::string rname = name + "_ret";
	ret_ring = rte_ring_create(rname.c_str(), pow2_at_least(nb_bufs + 1), node, RING_F_SC_DEQ);
	if (ret_ring == nullptr) {
		err = std::string("cannot create the buffer return ring: ") + rte_strerror(rte_errno);
		return false;
	}

	/* As few IOVA-contiguous memzones as the memory allows: one for all
	 * buffers if possible, halving the chunk until a single buffer. */
	uint32_t per_chunk = nb_bufs;
	uint32_t placed = 0;
	bool warned = false;
	while (placed < nb_bufs) {
		const uint32_t n = std::min(per_chunk, nb_bufs - placed);
		const std::string mzname = name + "_b" + std::to_string(mzs.size());
		const rte_memzone *mz = rte_memzone_reserve_aligned(
			mzname.c_str(), n * bsz, node, RTE_MEMZONE_IOVA_CONTIG, 4096);
		if (mz == nullptr && node != SOCKET_ID_ANY && per_chunk == 1) {
			mz = rte_memzone_reserve_aligned(mzname.c_str(), n * bsz, SOCKET_ID_ANY,
							 RTE_MEMZONE_IOVA_CONTIG, 4096);
			if (mz != nullptr && !warned) {
				fprintf(stderr, "xcap capture: no hugepage memory left on node %d "
					"(the card's); buffers placed on node %d\n", node,
					mz->socket_id);
				warned = true;
			}
		}
		if (mz == nullptr) {
			if (per_chunk > 1) {
				per_chunk = (per_chunk + 1) / 2;
				continue;
			}
			err = "cannot reserve " + std::to_string(uint64_t(nb_bufs) * bsz) +
			      " bytes of DMA buffers (" + std::to_string(nb_bufs) + " x " +
			      std::to_string(bsz) + ") on node " + std::to_string(node) + ": " +
			      rte_strerror(rte_errno) + "; reserve more hugepages or use fewer/"
			      "smaller buffers";
			return false;
		}
		if (mz->iova == RTE_BAD_IOVA) {
			err = "DMA buffer memory has no IOVA";
			rte_memzone_free(mz);
			return false;
		}
		mzs.push_back(mz);
		chunks.push_back(Chunk{static_cast<const uint8_t *>(mz->addr), n, placed});
		for (uint32_t k = 0; k < n; k++) {
			Buffer &b = bufs[placed + k];
			b.va = static_cast<uint8_t *>(mz->addr) + k * bsz;
			b.iova = mz->iova + k * bsz;
			b.len = uint32_t(bsz);
			b.index = placed + k;
			b.ret_ring = ret_ring;
			b.shinfo.free_cb = ext_buf_free;
			b.shinfo.fcb_opaque = &b;
			rte_mbuf_ext_refcnt_set(&b.shinfo, 0);
		}
		placed += n;
	}
	free_list.reserve(nb_bufs);
	for (uint32_t i = nb_bufs; i-- > 0;)
		free_list.push_back(&bufs[i]);
	done.assign(nb_bufs, nullptr);
	return true;
}

bool Stream::Impl::setup_device(std::string &err)
{
	rte_dma_info info{};
	rte_dma_info_get(dev, &info);
	uint16_t top = 0;
	for (uint16_t v : cfg.vchans)
		top = std::max<uint16_t>(top, uint16_t(v + 1));
	rte_dma_conf conf{};
	conf.nb_vchans = top;
	int rc = rte_dma_configure(dev, &conf);
	if (rc != 0) {
		err = std::string("rte_dma_configure(") + info.dev_name + ", " +
		      std::to_string(top) + " vchans): " + rte_strerror(-rc) +
		      (rc == -EBUSY ? " (the device is started: stop it, or use manage_device=0)" : "");
		return false;
	}
	for (uint16_t v = 0; v < top; v++) {
		const Vch *cap = nullptr;
		for (const auto &x : vch)
			if (x.vchan == v)
				cap = &x;
		rte_dma_vchan_conf vc{};
		if (cap != nullptr) {
			vc.direction = RTE_DMA_DIR_DEV_TO_MEM;
			vc.nb_desc = cap->nb_desc;
			vc.src_port.port_type = RTE_DMA_PORT_PCIE;
		} else {
			vc.direction = RTE_DMA_DIR_MEM_TO_MEM;
			vc.nb_desc = uint16_t(std::max<uint32_t>(pow2_at_least(info.min_desc), 2));
		}
		rc = rte_dma_vchan_setup(dev, v, &vc);
		if (rc != 0) {
			err = std::string("rte_dma_vchan_setup(") + info.dev_name + ", vchan " +
			      std::to_string(v) + (cap ? ", DEV_TO_MEM" : ", MEM_TO_MEM") + "): " +
			      rte_strerror(-rc) +
			      (cap ? " (is it a capture vchan of this card?)" : "");
			return false;
		}
	}
	return true;
}

int Stream::Impl::start()
{
	if (started)
		return 0;
	if (posted_total() != 0)
		return -EBUSY; /* buffers from a stop that did not finish */
	if (cfg.manage_device) {
		const int rc = rte_dma_start(dev);
		if (rc != 0)
			return rc;
	}
	for (auto &v : vch) {
		v.head = v.count = 0;
		v.expect_seq = 0;
		v.idle_since = 0;
		v.halted_checks = 0;
		v.failed = false;
		v.ep_records = v.ep_lost_nb = v.ep_lost_ovr = 0;
	}
	gone = false;
	restart_retry = 0;
	stop_requested = false;
	started = true;
	repost();
	gauges();
	return 0;
}

/* Stopping loses nothing silently: a channel that went without a posted
 * buffer lost frames that only the header of the next buffer it completes
 * reports. Such a channel is stopped once it completed one more buffer (the
 * consumer keeps consuming meanwhile, which is what brings buffers back), or
 * after kStopWaitMs (a source that stopped sending fills no buffer; the
 * card then reports the loss at the disable in the header of the buffer it
 * holds, if it fetched one: HW §8.3). */
void Stream::Impl::request_stop()
{
	if (!started || stop_requested)
		return;
	stop_requested = true;
	stop_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStopWaitMs);
}

int Stream::Impl::finish_stop()
{
	started = false; /* no more reposting */
	stop_requested = false;
	int rc = 0;
	if (cfg.manage_device)
		rc = rte_dma_stop(dev);
	/* The card completed the buffer it was filling and aborted the rest;
	 * collect every one of them (bounded: a dead card answers nothing). */
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
	while (posted_total() != 0 && !gone && std::chrono::steady_clock::now() < deadline) {
		if (collect() != 0)
			continue;
		/* a vchan that failed (card fault) gives nothing back: the card is
		 * disabled, done with its buffers */
		for (auto &v : vch) {
			enum rte_dma_vchan_status vs{};
			if (v.count == 0)
				continue;
			const int src = rte_dma_vchan_status(dev, v.vchan, &vs);
			if (src == -ENODEV) {
				card_gone();
			} else if (rc == 0 && src == 0 && vs == RTE_DMA_VCHAN_HALTED_ERROR) {
				if (!v.failed) {
					v.failed = true;
					bump(c.channel_failures, 1);
				}
				reclaim_posted(v);
			}
		}
		std::this_thread::sleep_for(std::chrono::microseconds(50));
	}
	if (rc == 0)
		reconcile();
	recycle();
	gauges();
	if (posted_total() != 0) {
		fprintf(stderr, "xcap capture %s: %u buffers did not come back after stop%s\n",
			name.c_str(), posted_total(), gone ? " (the card is gone)" : "");
		if (rc == 0)
			rc = gone ? -ENODEV : -ETIMEDOUT;
	}
	return rc;
}

int Stream::Impl::stop()
{
	if (!started)
		return 0;
	request_stop();
	if (cfg.manage_device) {
		while (!gone && std::chrono::steady_clock::now() < stop_deadline) {
			recycle();
			collect();
			repost();
			if (ready_to_stop())
				break; /* now, not after the sleep */
			std::this_thread::sleep_for(std::chrono::microseconds(20));
		}
	}
	return finish_stop();
}

void Stream::Impl::recycle()
{
	void *objs[64];
	unsigned n;
	while ((n = rte_ring_sc_dequeue_burst(ret_ring, objs, RTE_DIM(objs), nullptr)) != 0)
		for (unsigned i = 0; i < n; i++)
			to_free(static_cast<Buffer *>(objs[i]));
}

void Stream::Impl::complete(Vch &v, uint16_t chan, Buffer *b, rte_dma_status_code s)
{
	if (s == RTE_DMA_STATUS_USER_ABORT) {
		bump(c.buffers_aborted, 1);
		to_free(b);
		return;
	}
	if (s != RTE_DMA_STATUS_SUCCESSFUL) {
		bump(c.buffers_failed, 1);
		bump(c.buffers_malformed, 1);
		to_free(b);
		return;
	}
	b->times_completed++;
	b->walked = false;
	b->malformed_counted = 0;
	b->det_got = b->det_malformed = 0;
	b->det_bytes = b->det_filtered = 0;
	if (cfg.completion_hook) [[unlikely]]
		cfg.completion_hook(b->va, b->len, chan);
	if (!b->parser.begin(b->va, b->len, chan)) {
		bump(c.buffers_malformed, 1);
		to_free(b);
		return;
	}
	bump(c.buffers_completed, 1);
	const hw::CaptureBufferHeader &h = b->parser.header();
	if (h.sequence != v.expect_seq)
		bump(c.buffer_seq_errors, 1);
	v.expect_seq = h.sequence + 1;
	bump(c.records, h.record_count);
	v.ep_records += h.record_count;
	v.ep_lost_nb += h.lost_no_buffer;
	v.ep_lost_ovr += h.lost_overrun;
	bump(c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER], h.lost_no_buffer);
	bump(c.dropped[XCAP_CAPTURE_DROP_OVERRUN], h.lost_overrun);
	v.loss.store(v.loss.load(std::memory_order_relaxed) + h.lost_no_buffer + h.lost_overrun,
		     std::memory_order_release);
	add_undelivered(chan, h.lost_no_buffer + h.lost_overrun);
	if (b->parser.done()) { /* no records */
		finish_walk(b);
		to_free(b);
		return;
	}
	b->state = BufState::Completed;
	done[(done_head + done_count) % nb_bufs] = b;
	done_count++;
}

unsigned Stream::Impl::collect()
{
	unsigned found = 0;
	for (uint16_t ci = 0; ci < vch.size(); ci++) {
		Vch &v = vch[ci];
		while (v.count != 0) {
			uint16_t last = 0;
			const uint16_t want = uint16_t(std::min<uint32_t>(v.count, uint32_t(st.size())));
			const uint16_t n = rte_dma_completed_status(dev, v.vchan, want, &last, st.data());
			for (uint16_t i = 0; i < n; i++) {
				Buffer *b = v.posted[v.head];
				v.posted[v.head] = nullptr;
				v.head = (v.head + 1) & (v.nb_desc - 1u);
				v.count--;
				complete(v, ci, b, st[i]);
			}
			found += n;
			if (n != 0)
				v.idle_since = 0;
			if (n < want)
				break;
		}
		if (v.count != 0 && started && !v.failed && !gone && !restarting)
			check_health(v, ci);
	}
	return found;
}

/* Slow path, reached only after a vchan with buffers posted went quiet. */
void Stream::Impl::check_health(Vch &v, uint16_t)
{
	const uint64_t now = rte_get_tsc_cycles();
	if (v.idle_since == 0) {
		v.idle_since = now;
		return;
	}
	if (now - v.idle_since < health_cycles)
		return;
	v.idle_since = now;
	enum rte_dma_vchan_status vs{};
	const int rc = rte_dma_vchan_status(dev, v.vchan, &vs);
	if (rc == -ENODEV) {
		card_gone();
		return;
	}
	if (rc == 0 && vs == RTE_DMA_VCHAN_HALTED_ERROR) {
		if (++v.halted_checks >= kFailedChecks)
			channel_failed(v);
		return;
	}
	v.halted_checks = 0;
}

void Stream::Impl::card_gone()
{
	if (gone)
		return;
	gone = true;
	bump(c.card_gone, 1);
	fprintf(stderr, "xcap capture %s: the card reads all-ones (gone): no more buffers are "
		"posted; %u stay with it\n", name.c_str(), posted_total());
}

void Stream::Impl::channel_failed(Vch &v)
{
	v.failed = true;
	bump(c.channel_failures, 1);
	fprintf(stderr, "xcap capture %s: vchan %u failed (rte_dma_vchan_status: HALTED_ERROR "
		"and nothing completes)%s\n", name.c_str(), v.vchan,
		cfg.manage_device ? "; restarting the device" :
		"; not restarting it (manage_device=0): no more buffers posted on it");
	if (cfg.manage_device)
		restart();
}

/* The card's counters since the last enable against what the headers we
 * accepted reported: the difference was counted by the card but never
 * reached us in a usable header (HW §8.4). Only between a stop and the next
 * start (the counters are final once the channel is disabled, and the start
 * resets them). */
void Stream::Impl::reconcile()
{
	for (uint16_t ci = 0; ci < vch.size(); ci++) {
		Vch &v = vch[ci];
		struct rte_pmd_xcap_capture_counters k{};
		if (rte_pmd_xcap_capture_counters == nullptr || gone ||
		    rte_pmd_xcap_capture_counters(dev, v.vchan, &k) != 0) {
			v.ep_records = v.ep_lost_nb = v.ep_lost_ovr = 0;
			continue;
		}
		const uint64_t rec = k.records > v.ep_records ? k.records - v.ep_records : 0;
		const uint64_t nb = k.lost_no_buffer > v.ep_lost_nb ? k.lost_no_buffer - v.ep_lost_nb : 0;
		const uint64_t ovr = k.lost_overrun > v.ep_lost_ovr ? k.lost_overrun - v.ep_lost_ovr : 0;
		if (k.records < v.ep_records) {
			/* headers announced records the card never produced (a count
			 * that lied upwards): they could not be parsed and were counted
			 * malformed; they do not exist */
			std::atomic<uint64_t> &m = c.dropped[XCAP_CAPTURE_DROP_MALFORMED];
			const uint64_t have = m.load(std::memory_order_relaxed);
			const uint64_t phantom = std::min(v.ep_records - k.records, have);
			m.store(have - phantom, std::memory_order_relaxed);
			const uint64_t u = v.undelivered.load(std::memory_order_relaxed);
			v.undelivered.store(u - std::min(u, phantom), std::memory_order_release);
		}
		bump(c.dropped[XCAP_CAPTURE_DROP_CHANNEL_FAILED], rec);
		bump(c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER], nb);
		bump(c.dropped[XCAP_CAPTURE_DROP_OVERRUN], ovr);
		bump(c.counter_reconciled, rec + nb + ovr);
		v.loss.store(v.loss.load(std::memory_order_relaxed) + nb + ovr,
			     std::memory_order_release);
		add_undelivered(ci, rec + nb + ovr);
		v.ep_records = v.ep_lost_nb = v.ep_lost_ovr = 0;
	}
}

/* Buffers still posted on a vchan whose completions will never be read
 * (failed) once the card is done with them (disabled or reset): free. */
void Stream::Impl::reclaim_posted(Vch &v)
{
	while (v.count != 0) {
		Buffer *b = v.posted[v.head];
		v.posted[v.head] = nullptr;
		v.head = (v.head + 1) & (v.nb_desc - 1u);
		v.count--;
		bump(c.buffers_aborted, 1);
		to_free(b);
	}
}

/* Recover a failed vchan the only way DPDK allows: stop the device (the
 * card disables every channel: the open buffers complete, the rest are
 * aborted), collect what the healthy vchans give back, read the counters,
 * start it again (the PMD resets every channel), repost. Bounded: the PMD's
 * register polls time out after 1 s, our collection after 1 s. */
int Stream::Impl::restart()
{
	restarting = true;
	int rc = rte_dma_stop(dev);
	if (rc != 0) {
		/* the card may still write the posted buffers: keep them */
		fprintf(stderr, "xcap capture %s: rte_dma_stop: %s; trying again in 100 ms\n",
			name.c_str(), rte_strerror(-rc));
		restart_retry = rte_get_tsc_cycles() + health_cycles * 5;
		restarting = false;
		return rc;
	}
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
	for (;;) {
		collect();
		bool waiting = false;
		for (auto &v : vch) {
			if (v.count == 0 || v.failed)
				continue;
			enum rte_dma_vchan_status vs{};
			if (rte_dma_vchan_status(dev, v.vchan, &vs) == 0 &&
			    vs == RTE_DMA_VCHAN_HALTED_ERROR) {
				v.failed = true; /* failed too: its buffers are reclaimed below */
				continue;
			}
			waiting = true;
		}
		if (!waiting || std::chrono::steady_clock::now() >= deadline)
			break;
		std::this_thread::sleep_for(std::chrono::microseconds(50));
	}
	reconcile();
	rc = rte_dma_start(dev); /* resets every channel: no DMA to old buffers */
	for (auto &v : vch) {
		reclaim_posted(v);
		v.head = 0;
		v.expect_seq = 0;
		v.idle_since = 0;
		v.halted_checks = 0;
		v.failed = false;
	}
	bump(c.channel_restarts, 1);
	restarting = false;
	if (rc != 0) {
		/* e.g. a channel that does not come out of reset in time: nothing
		 * is posted until a later attempt (every 100 ms) works */
		fprintf(stderr, "xcap capture %s: restarting the device failed: %s; trying again "
			"in 100 ms\n", name.c_str(), rte_strerror(-rc));
		for (auto &v : vch)
			v.failed = true;
		restart_retry = rte_get_tsc_cycles() + health_cycles * 5;
		return rc;
	}
	restart_retry = 0;
	repost();
	return 0;
}

void Stream::Impl::repost()
{
	if (!started || free_list.empty() || gone)
		return;
	const size_t nv = vch.size();
	for (size_t k = 0; k < nv && !free_list.empty(); k++) {
		Vch &v = vch[(repost_rr + k) % nv];
		if (v.failed) [[unlikely]]
			continue;
		uint32_t n = 0;
		while (v.count < v.target && !free_list.empty()) {
			Buffer *b = free_list.back();
			const int id = rte_dma_copy(dev, v.vchan, 0, b->iova, b->len, 0);
			if (id < 0) {
				/* ring full: the caller's nb_desc is below our target */
				v.target = v.count;
				break;
			}
			free_list.pop_back();
			b->state = BufState::Posted;
			b->chan = uint16_t((repost_rr + k) % nv);
			b->times_posted++;
			v.posted[(v.head + v.count) & (v.nb_desc - 1u)] = b;
			v.count++;
			n++;

		}
		if (n) {
			rte_dma_submit(dev, v.vchan);
			bump(c.buffers_posted, n);
		}
	}
	repost_rr++;
}

int Stream::Impl::poll()
{
	recycle();
	const unsigned n = collect();
	if (restart_retry != 0 && started && !gone) [[unlikely]] {
		if (rte_get_tsc_cycles() >= restart_retry)
			restart();
	}
	repost();
	if (stop_requested) [[unlikely]] {
		if (!cfg.manage_device || ready_to_stop() ||
		    std::chrono::steady_clock::now() >= stop_deadline)
			finish_stop();
	}
	gauges();
	return int(n);
}

void Stream::Impl::gauges()
{
	c.posted_now.store(posted_total(), std::memory_order_relaxed);
	c.completed_now.store(done_count, std::memory_order_relaxed);
	c.free_now.store(uint32_t(free_list.size()), std::memory_order_relaxed);
}

Buffer *Stream::Impl::take()
{
	poll();
	if (done_count == 0)
		return nullptr;
	Buffer *b = done[done_head];
	done_head = (done_head + 1) % nb_bufs;
	done_count--;
	b->state = BufState::Consumer;
	return b;
}

/* Records of b through the filter and the snap length. Records skipped as
 * malformed are counted as soon as the parser steps over them, before any
 * later record of the buffer is handed out. */
uint32_t Stream::Impl::walk(Buffer *b, Record *out, uint32_t n)
{
	uint32_t got = 0;
	uint64_t filtered = 0, bytes = 0;
	const bool plain = !cfg.filter && cfg.snaplen == 0;
	while (got < n && !b->parser.done()) {
		const uint32_t k = b->parser.next(out + got, n - got);
		if (plain) [[likely]] {
			for (uint32_t i = 0; i < k; i++)
				bytes += out[got + i].cap_len;
			got += k;
		} else {
			uint32_t kept = 0;
			for (uint32_t i = 0; i < k; i++) {
				Record &r = out[got + i];
				if (cfg.filter && !cfg.filter(r)) {
					filtered++;
					continue;
				}
				if (cfg.snaplen && r.cap_len > cfg.snaplen) {
					r.cap_len = cfg.snaplen;
					r.flags |= hw::rflag::kTruncated;
				}
				bytes += r.cap_len;
				if (kept != i)
					out[got + kept] = r;
				kept++;
			}
			got += kept;
		}
		count_malformed(b);
	}
	if (filtered) {
		bump(c.dropped[XCAP_CAPTURE_DROP_FILTERED], filtered);
		add_undelivered(b->chan, filtered);
	}
	bump(c.handed_out, got);
	bump(c.bytes, bytes);
	if (b->parser.done() && !b->walked)
		finish_walk(b);
	return got;
}

/* Records of b found malformed since the last call, now in undelivered
 * (before any later record of the channel is handed out). */
uint32_t Stream::Impl::announce_malformed(Buffer *b)
{
	const uint32_t bad = b->parser.records_malformed();
	const uint32_t d = bad - b->malformed_counted;
	if (d != 0) {
		add_undelivered(b->chan, d);
		b->malformed_counted = bad;
	}
	return d;
}

void Stream::Impl::count_malformed(Buffer *b)
{
	if (const uint32_t d = announce_malformed(b))
		bump(c.dropped[XCAP_CAPTURE_DROP_MALFORMED], d);
}

/* walk() for a buffer another lcore holds: it touches the buffer, the
 * read-only configuration and the undelivered counts (atomic adds), and
 * keeps what the stream's single-writer counters need in the buffer until
 * fold_detached() on the stream's lcore. */
uint32_t Stream::Impl::read_detached(Buffer *b, Record *out, uint32_t n)
{
	uint32_t got = 0;
	uint64_t bytes = 0, filtered = 0;
	const bool plain = !cfg.filter && cfg.snaplen == 0;
	while (got < n && !b->parser.done()) {
		const uint32_t k = b->parser.next(out + got, n - got);
		uint32_t kept = k;
		if (plain) [[likely]] {
			for (uint32_t i = 0; i < k; i++)
				bytes += out[got + i].cap_len;
		} else {
			kept = 0;
			for (uint32_t i = 0; i < k; i++) {
				Record &r = out[got + i];
				if (cfg.filter && !cfg.filter(r))
					continue;
				if (cfg.snaplen && r.cap_len > cfg.snaplen) {
					r.cap_len = cfg.snaplen;
					r.flags |= hw::rflag::kTruncated;
				}
				bytes += r.cap_len;
				out[got + kept++] = r;
			}
			filtered += k - kept;
			add_undelivered(b->chan, k - kept);
		}
		got += kept;
		b->det_malformed += announce_malformed(b);
	}
	b->det_got += got;
	b->det_bytes += bytes;
	b->det_filtered += filtered;
	return got;
}

void Stream::Impl::fold_detached(Buffer *b)
{
	bump(c.handed_out, b->det_got);
	bump(c.bytes, b->det_bytes);
	bump(c.dropped[XCAP_CAPTURE_DROP_FILTERED], b->det_filtered);
	bump(c.dropped[XCAP_CAPTURE_DROP_MALFORMED], b->det_malformed);
	b->det_got = b->det_malformed = 0;
	b->det_bytes = b->det_filtered = 0;
}

void Stream::Impl::finish_walk(Buffer *b)
{
	b->walked = true;
	count_malformed(b);
	if (b->parser.error() != BufferError::None)
		bump(c.buffers_malformed, 1);
}

/* A buffer the consumer is done with, no mbuf referencing it. Records it
 * did not read are dropped with unread_cause (by default: the consumer
 * chose not to take them). */
void Stream::Impl::release_consumer(Buffer *b, DropCause unread_cause)
{
	fold_detached(b);
	if (!b->parser.done()) {
		uint64_t skipped = 0;
		uint32_t k;
		while ((k = b->parser.next(scratch.data(), uint32_t(scratch.size()))) != 0)
			skipped += k;
		bump(c.dropped[unsigned(unread_cause)], skipped);
		add_undelivered(b->chan, skipped);
	}
	if (!b->walked)
		finish_walk(b);
	to_free(b);
}

uint16_t Stream::Impl::read(Record *out, uint16_t n)
{
	if (stop_requested) [[unlikely]]
		poll();
	for (;;) {
		if (rd_cur != nullptr && rd_cur->parser.done()) {
			release_consumer(rd_cur);
			rd_cur = nullptr;
		}
		if (rd_cur == nullptr && (rd_cur = take()) == nullptr)
			return 0;
		const uint32_t k = walk(rd_cur, out, n);
		if (k != 0 || n == 0)
			return uint16_t(k);
	}
}

/* The buffer whose records are being handed out one reference each (mbufs
 * or RecordRefs), taking the next completed one when needed. */
Buffer *Stream::Impl::handout_buffer()
{
	if (mb_cur == nullptr) {
		if ((mb_cur = take()) == nullptr)
			return nullptr;
		/* the owner's reference, dropped when every record is out */
		rte_mbuf_ext_refcnt_set(&mb_cur->shinfo, 1);
	}
	return mb_cur;
}

/* k more references to b are out; once its last record is, drop the owner's
 * reference: the buffer is freed now or by the last reference's release. */
void Stream::Impl::handed_out(Buffer *b, uint32_t k)
{
	if (k != 0)
		rte_mbuf_ext_refcnt_update(&b->shinfo, int16_t(k));
	if (!b->parser.done())
		return;
	mb_cur = nullptr;
	if (rte_mbuf_ext_refcnt_update(&b->shinfo, -1) == 0)
		to_free(b);
	else
		b->state = BufState::Held;
}

uint16_t Stream::Impl::rx_burst(rte_mbuf **pkts, uint16_t n)
{
	if (mp == nullptr)
		return 0;
	n = burst_begin(n);
	uint16_t got = 0;
	while (got < n) {
		Buffer *b = handout_buffer();
		if (b == nullptr)
			break;
		const uint16_t want = uint16_t(n - got);
		if (rte_mempool_get_bulk(mp, reinterpret_cast<void **>(pkts + got), want) != 0) {
			bump(c.mbuf_alloc_failed, 1);
			break;
		}
		/* the mbufs were last written by the lcore that freed them: ask for
		 * their two lines now, parse meanwhile */
		for (uint16_t i = 0; i < want; i++) {
			rte_prefetch0_write(pkts[got + i]);
			rte_prefetch0_write(reinterpret_cast<uint8_t *>(pkts[got + i]) +
					    RTE_CACHE_LINE_SIZE);
		}
		const uint32_t k = walk(b, scratch.data(), want);
		const rte_iova_t iova0 = b->iova + sizeof(hw::RecordHeader);
		for (uint32_t i = 0; i < k; i++) {
			const Record &r = scratch[i];
			rte_mbuf *m = pkts[got + i];
			/* what rte_pktmbuf_reset() sets, then the record attached as
			 * an external buffer of its own (pool mbufs already have
			 * next == NULL, nb_segs == 1, refcnt == 1) */
			m->pkt_len = r.cap_len;
			m->tx_offload = 0;
			m->vlan_tci = 0;
			m->vlan_tci_outer = 0;
			m->port = mbuf_port;
			m->packet_type = 0;
			m->hash.rss = r.channel;
			rte_pktmbuf_attach_extbuf(m, const_cast<uint8_t *>(r.data), iova0 + r.offset,
						  uint16_t(r.cap_len), &b->shinfo);
			m->ol_flags = RTE_MBUF_F_EXTERNAL | ts_flag;
			m->data_len = uint16_t(r.cap_len);
			*RTE_MBUF_DYNFIELD(m, ts_off, uint64_t *) = r.ts_ns;
			*RTE_MBUF_DYNFIELD(m, meta_off, MbufMeta *) =
				MbufMeta{r.channel, r.flags, r.wire_len};
		}
		if (k < want)
			rte_mempool_put_bulk(mp, reinterpret_cast<void **>(pkts + got + k), want - k);
		handed_out(b, k);
		got = uint16_t(got + k);
	}
	return got;
}

uint16_t Stream::Impl::read_refs(RecordRef *out, uint16_t n)
{
	n = burst_begin(n);
	uint16_t got = 0;
	while (got < n) {
		Buffer *b = handout_buffer();
		if (b == nullptr)
			break;
		const uint32_t k = walk(b, scratch.data(), uint16_t(n - got));
		for (uint32_t i = 0; i < k; i++) {
			const Record &r = scratch[i];
			out[got + i] = RecordRef{r.data, b->index, uint16_t(r.cap_len), r.channel};
		}
		handed_out(b, k);
		got = uint16_t(got + k);
	}
	return got;
}

bool Stream::Impl::drained() const
{
	/* a card that is gone gives nothing back: its posted buffers are not
	 * waited for (they stay with it, never reused) */
	return !started && (posted_total() == 0 || gone) && done_count == 0 && consumer_bufs == 0 &&
	       (rd_cur == nullptr || rd_cur->parser.done()) && mb_cur == nullptr;
}

/* ---- Stream ----------------------------------------------------------------- */

Stream::Stream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Stream::~Stream() = default;

std::unique_ptr<Stream> Stream::create(const StreamConfig &cfg, std::string &err)
{
	auto impl = std::make_unique<Impl>();
	if (!impl->init(cfg, err))
		return nullptr;
	return std::unique_ptr<Stream>(new Stream(std::move(impl)));
}

int Stream::start() { return impl_->start(); }
int Stream::stop() { return impl_->stop(); }
void Stream::request_stop() { impl_->request_stop(); }
bool Stream::stopping() const { return impl_->stop_requested; }
int Stream::poll() { return impl_->poll(); }
bool Stream::running() const { return impl_->started; }
bool Stream::drained() const { return impl_->drained(); }
uint16_t Stream::read(Record *out, uint16_t n) { return impl_->read(out, n); }
uint16_t Stream::rx_burst(rte_mbuf **pkts, uint16_t n) { return impl_->rx_burst(pkts, n); }
uint16_t Stream::read_refs(RecordRef *out, uint16_t n) { return impl_->read_refs(out, n); }

void Stream::release_refs(const RecordRef *refs, unsigned n) const
{
	Buffer *const bufs = impl_->bufs;
	unsigned i = 0;
	while (i < n) {
		const uint32_t bi = refs[i].buf;
		unsigned j = i + 1;
		while (j < n && refs[j].buf == bi && j - i < INT16_MAX)
			j++;
		/* one atomic per run of records of the same buffer; the last
		 * reference sends the buffer home, as the last mbuf's would */
		Buffer *b = &bufs[bi];
		if (rte_mbuf_ext_refcnt_update(&b->shinfo, int16_t(-int(j - i))) == 0)
			ext_buf_free(nullptr, b);
		i = j;
	}
}

Buffer *Stream::next_buffer()
{
	Buffer *b = impl_->take();
	if (b != nullptr)
		impl_->consumer_bufs++;
	return b;
}

uint32_t Stream::buffer_records(Buffer *b, Record *out, uint32_t n)
{
	return impl_->walk(b, out, n);
}

const hw::CaptureBufferHeader &Stream::buffer_header(const Buffer *b) const
{
	return b->parser.header();
}

uint16_t Stream::buffer_channel(const Buffer *b) const { return b->chan; }

void Stream::release(Buffer *b, DropCause unread_cause)
{
	impl_->consumer_bufs--;
	impl_->release_consumer(b, unread_cause);
	impl_->gauges();
}

uint32_t Stream::read_detached(Buffer *b, Record *out, uint32_t n) const
{
	return impl_->read_detached(b, out, n);
}

void Stream::count_dropped(DropCause cause, uint64_t n)
{
	bump(impl_->c.dropped[unsigned(cause)], n);
	bump(impl_->c.consumer_dropped, n);
}

void Stream::count_copy(uint64_t n) { bump(impl_->c.cpu_copies, n); }

Counters Stream::counters() const
{
	const AtomicCounters &a = impl_->c;
	auto ld = [](const std::atomic<uint64_t> &x) { return x.load(std::memory_order_relaxed); };
	Counters r{};
	r.buffers_posted = ld(a.buffers_posted);
	r.buffers_completed = ld(a.buffers_completed);
	r.buffers_aborted = ld(a.buffers_aborted);
	r.buffers_failed = ld(a.buffers_failed);
	r.buffers_malformed = ld(a.buffers_malformed);
	r.buffer_seq_errors = ld(a.buffer_seq_errors);
	r.records = ld(a.records);
	r.bytes = ld(a.bytes);
	r.handed_out = ld(a.handed_out);
	const uint64_t cd = ld(a.consumer_dropped);
	r.delivered = r.handed_out >= cd ? r.handed_out - cd : 0;
	for (unsigned i = 0; i < kDropCauses; i++)
		r.dropped[i] = ld(a.dropped[i]);
	r.cpu_copies = ld(a.cpu_copies);
	r.mbuf_alloc_failed = ld(a.mbuf_alloc_failed);
	r.channel_failures = ld(a.channel_failures);
	r.channel_restarts = ld(a.channel_restarts);
	r.card_gone = ld(a.card_gone);
	r.counter_reconciled = ld(a.counter_reconciled);
	r.posted_now = a.posted_now.load(std::memory_order_relaxed);
	r.completed_now = a.completed_now.load(std::memory_order_relaxed);
	r.free_now = a.free_now.load(std::memory_order_relaxed);
	const uint32_t busy = r.posted_now + r.completed_now + r.free_now;
	r.in_use_now = impl_->nb_bufs > busy ? impl_->nb_bufs - busy : 0;
	return r;
}

uint64_t Stream::reported_loss(uint16_t channel) const
{
	if (channel >= impl_->vch.size())
		return 0;
	return impl_->vch[channel].loss.load(std::memory_order_acquire);
}

uint64_t Stream::undelivered(uint16_t channel) const
{
	if (channel >= impl_->vch.size())
		return 0;
	return impl_->vch[channel].undelivered.load(std::memory_order_acquire);
}

const StreamConfig &Stream::config() const { return impl_->cfg; }
uint16_t Stream::nb_channels() const { return uint16_t(impl_->vch.size()); }
int Stream::numa_node() const { return impl_->node; }
uint32_t Stream::nb_buffers() const { return impl_->nb_bufs; }

Stream::BufInfo Stream::buffer_info(uint32_t index) const
{
	const Buffer &b = impl_->bufs[index];
	return BufInfo{b.va, b.iova, b.len, b.state, b.times_posted, b.times_completed};
}

int64_t Stream::buffer_index_of(const void *p) const
{
	const auto *q = static_cast<const uint8_t *>(p);
	for (const auto &ch : impl_->chunks)
		if (q >= ch.lo && q < ch.lo + uint64_t(ch.n) * impl_->cfg.buffer_size)
			return int64_t(ch.first + uint32_t((q - ch.lo) / impl_->cfg.buffer_size));
	return -1;
}

/* ---- pcapng from stream buffers ------------------------------------------ */

int64_t write_buffer(PcapngWriter &w, Stream &s, Buffer *b)
{
	Record rec[64];
	int64_t written = 0;
	int rc = 0;
	uint32_t n;
	while (rc == 0 && (n = s.buffer_records(b, rec, 64)) != 0) {
		for (uint32_t i = 0; i < n && rc == 0; i++) {
			if (!w.add(rec[i], rec[i].cap_len)) {
				rc = w.flush();
				if (rc == 0 && !w.add(rec[i], rec[i].cap_len))
					rc = -EINVAL; /* channel without an interface */
			}
			if (rc == 0)
				written++;
		}
	}
	/* the bytes must be written before the buffer goes back to the card */
	if (rc == 0)
		rc = w.flush();
	s.release(b);
	return rc < 0 ? rc : written;
}

} // namespace xcap::capture
