/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-fwd's lcore loops. The forwarding lcore owns the capture stream: it
 * takes records out of the DMA buffers and passes them on, never copying a
 * payload byte:
 *   workers  mbufs (external buffers into the DMA buffers) into one rte_ring
 *            per worker, round-robin per burst or by flow hash;
 *   port     the same mbufs to rte_eth_tx_burst;
 *   pcapng   whole buffers, written with writev() from where they lie;
 *   inline   records read and checked in place (record iterator, no mbufs).
 * Workers verify or count and free the mbufs; the last free of a buffer's
 * records sends it back to the forwarding lcore, which reposts it.
 */
#include <array>
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include <sched.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include "fwd.h"

namespace xcap::fwd {

volatile int g_signal = 0;

namespace {

struct Ramp {
	uint8_t b[256 + 65536];
	Ramp()
	{
		for (size_t i = 0; i < sizeof b; i++)
			b[i] = uint8_t(i);
	}
};
const Ramp g_ramp;

constexpr unsigned kMaxBurst = 512;

/* Records that could not be passed on: counted by cause and by channel
 * (workers check sequence gaps against it), then freed. */
void drop_mbufs(Ctx &x, rte_mbuf **pkts, unsigned n, capture::DropCause cause)
{
	for (unsigned i = 0; i < n; i++) {
		std::atomic<uint64_t> &a = x.app_dropped[capture::mbuf_meta(pkts[i]).channel];
		a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_release);
	}
	x.stream->count_dropped(cause, n);
	rte_pktmbuf_free_bulk(pkts, n);
}

/* To a worker ring: put(items, n) enqueues what fits and returns how many;
 * drop(items, n) counts and frees. Full: wait for room (keeping the
 * stream's buffers going round meanwhile), or drop. */
template <typename Item, typename Put, typename Drop>
void enqueue_or_drop(Ctx &x, Item *items, unsigned n, Put put, Drop drop)
{
	if (x.draining) [[unlikely]] {
		drop(items, n);
		return;
	}
	unsigned k = put(items, n);
	if (k == n)
		return;
	if (x.opt.ring_wait && !x.stopping) {
		const uint64_t t0 = rte_rdtsc();
		for (unsigned spins = 0; k < n; spins++) {
			x.stream->poll();
			/* a worker sharing our CPU needs it to make room */
			if (spins >= 64)
				sched_yield();
			k += put(items + k, n - k);
		}
		x.burst_wait += rte_rdtsc() - t0; /* not our work: the worker's */
		return;
	}
	drop(items + k, n - k);
}

void enqueue(Ctx &x, rte_ring *r, rte_mbuf **pkts, unsigned n)
{
	enqueue_or_drop(x, pkts, n,
		[r](rte_mbuf **p, unsigned m) {
			return rte_ring_sp_enqueue_burst(r, reinterpret_cast<void **>(p), m, nullptr);
		},
		[&x](rte_mbuf **p, unsigned m) { drop_mbufs(x, p, m, capture::DropCause::RingFull); });
}

uint32_t flow_hash_data(const uint8_t *p, uint32_t len, uint32_t ch);

/* Flow hash: IPv4/IPv6 addresses and TCP/UDP ports, symmetric (both
 * directions of a flow meet on one worker); any other frame hashes by its
 * channel, which keeps a channel's frames in order on one worker. */
inline uint32_t mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

uint32_t flow_hash(const rte_mbuf *m)
{
	return flow_hash_data(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
			      capture::mbuf_meta(m).channel);
}

uint32_t flow_hash_data(const uint8_t *p, uint32_t len, uint32_t ch)
{
	if (len < 14)
		return mix(ch);
	uint16_t et = uint16_t(p[12] << 8 | p[13]);
	uint32_t l3 = 14;
	if (et == 0x8100 && len >= 18) {
		et = uint16_t(p[16] << 8 | p[17]);
		l3 = 18;
	}
	uint32_t a = 0, b = 0, proto = 0, l4 = 0;
	if (et == 0x0800 && len >= l3 + 20) {
		const uint8_t *ip = p + l3;
		std::memcpy(&a, ip + 12, 4);
		std::memcpy(&b, ip + 16, 4);
		proto = ip[9];
		l4 = l3 + uint32_t(ip[0] & 0xf) * 4;
	} else if (et == 0x86dd && len >= l3 + 40) {
		const uint8_t *ip = p + l3;
		uint32_t w[8];
		std::memcpy(w, ip + 8, 32);
		a = w[0] ^ w[1] ^ w[2] ^ w[3];
		b = w[4] ^ w[5] ^ w[6] ^ w[7];
		proto = ip[6];
		l4 = l3 + 40;
	} else {
		return mix(ch);
	}
	uint32_t ports = 0;
	if ((proto == 6 || proto == 17) && len >= l4 + 4) {
		uint16_t sp, dp;
		std::memcpy(&sp, p + l4, 2);
		std::memcpy(&dp, p + l4 + 2, 2);
		ports = uint32_t(sp) ^ uint32_t(dp);
	}
	return mix((a ^ b) + proto * 0x9e3779b9u + ports);
}

bool is_main() { return rte_lcore_id() == rte_get_main_lcore(); }

/* Common loop shell: stop handling, busy-cycle accounting, control ticks. */
template <typename Step>
void run_loop(Ctx &x, Step &&step)
{
	const bool main = is_main();
	bool stopping = false;
	uint64_t loops = 0;
	unsigned idle = 0;
	for (;;) {
		if (!stopping && x.stop_capture.load(std::memory_order_relaxed)) {
			/* The stream stops the card once every channel that ran out
			 * of buffers has completed one more (whose header reports
			 * the loss); we keep forwarding meanwhile, and a full worker
			 * ring now drops (counted) instead of holding the buffers. */
			x.stream->request_stop();
			x.stop_tsc = rte_rdtsc();
			stopping = true;
			x.stopping = true;
		}
		x.burst_wait = 0;
		const uint64_t t0 = rte_rdtsc();
		const unsigned n = step();
		if (n != 0) {
			const uint64_t dt = rte_rdtsc() - t0 - x.burst_wait;
			x.fwd_wait_cycles.add(x.burst_wait);
			x.fwd_busy_cycles.add(dt);
			x.fwd_packets.add(n);
			x.fwd_bursts.add(1);
			x.cpp_hist[std::min<uint64_t>(dt / n, Ctx::kCppBuckets)] += n;
		} else if (stopping && x.stream->drained()) {
			break;
		}
		if (stopping && !x.draining && x.stream->stopping() &&
		    rte_rdtsc() - x.stop_tsc > x.tsc_hz / 5) [[unlikely]] {
			/* 200 ms and a channel still runs out of buffers: the workers
			 * cannot keep up with the card. Drop (counted) what they would
			 * get, so that the buffers come back at once and the card can
			 * report its loss before it stops. */
			x.draining = true;
		}
		if (x.draining && !x.stream->running()) [[unlikely]]
			x.draining = false; /* the card stopped: deliver the rest */
		if (n != 0) {
			idle = 0;
		} else if (++idle > 256) {
			/* nothing to do: a worker that shares our CPU may */
			sched_yield();
			idle = 0;
		}
		if (x.fatal.load(std::memory_order_relaxed) && !stopping)
			x.stop_capture.store(true);
		if (main && (++loops & 63) == 0)
			control_tick(x, rte_rdtsc());
	}
}

/* The forwarding loop to worker rings, for any item (mbuf pointers or
 * record references): read a burst, then round-robin it whole to the next
 * ring, or split it by flow hash into per-worker buckets of up to 64. */
template <typename Item, typename Read, typename Worker, typename Enqueue>
void distribute(Ctx &x, Read read, Worker worker_of, Enqueue enqueue_to)
{
	Item items[kMaxBurst];
	const unsigned nw = unsigned(x.rings.size());
	const uint16_t burst = x.opt.burst;
	unsigned next = 0;
	const bool hash = x.opt.dist == Dist::Hash && nw > 1;
	std::vector<std::array<Item, 64>> bucket(hash ? nw : 0);
	std::vector<unsigned> cnt(nw);
	run_loop(x, [&]() -> unsigned {
		const uint16_t n = read(items, burst);
		if (n == 0)
			return 0;
		if (!hash) {
			rte_ring *r = x.rings[next];
			next = next + 1 == nw ? 0 : next + 1;
			enqueue_to(r, items, n);
			return n;
		}
		for (uint16_t i = 0; i < n; i += 64) {
			const uint16_t m = std::min<uint16_t>(64, uint16_t(n - i));
			for (unsigned w = 0; w < nw; w++)
				cnt[w] = 0;
			for (uint16_t j = 0; j < m; j++) {
				const unsigned w = worker_of(items[i + j]) % nw;
				bucket[w][cnt[w]++] = items[i + j];
			}
			for (unsigned w = 0; w < nw; w++)
				if (cnt[w])
					enqueue_to(x.rings[w], bucket[w].data(), cnt[w]);
		}
		return n;
	});
	x.workers_stop.store(true, std::memory_order_release);
}

int fwd_workers(Ctx &x)
{
	distribute<rte_mbuf *>(x,
		[&](rte_mbuf **p, uint16_t n) { return x.stream->rx_burst(p, n); },
		[](rte_mbuf *m) { return flow_hash(m); },
		[&](rte_ring *r, rte_mbuf **p, unsigned n) { enqueue(x, r, p, n); });
	return 0;
}

/* ---- record references to workers ---- */

void drop_refs(Ctx &x, const capture::RecordRef *refs, unsigned n, capture::DropCause cause)
{
	for (unsigned i = 0; i < n; i++) {
		std::atomic<uint64_t> &a = x.app_dropped[refs[i].channel];
		a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_release);
	}
	x.stream->count_dropped(cause, n);
	x.stream->release_refs(refs, n);
}

void enqueue_refs(Ctx &x, rte_ring *r, const capture::RecordRef *refs, unsigned n)
{
	enqueue_or_drop(x, refs, n,
		[r](const capture::RecordRef *p, unsigned m) {
			return rte_ring_sp_enqueue_burst_elem(r, p, sizeof(capture::RecordRef), m,
							      nullptr);
		},
		[&x](const capture::RecordRef *p, unsigned m) {
			drop_refs(x, p, m, capture::DropCause::RingFull);
		});
}

int fwd_workers_refs(Ctx &x)
{
	distribute<capture::RecordRef>(x,
		[&](capture::RecordRef *p, uint16_t n) { return x.stream->read_refs(p, n); },
		[](const capture::RecordRef &r) { return flow_hash_data(r.data, r.cap_len, r.channel); },
		[&](rte_ring *r, capture::RecordRef *p, unsigned n) { enqueue_refs(x, r, p, n); });
	return 0;
}

/* ---- whole buffers to workers ---- */

/* Buffers the workers are done with go back to the stream (and the card). */
void take_back_buffers(Ctx &x)
{
	capture::Buffer *bufs[64];
	for (rte_ring *r : x.back_rings) {
		unsigned k;
		while ((k = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void **>(bufs), 64,
						      nullptr)) != 0)
			for (unsigned i = 0; i < k; i++)
				x.stream->release(bufs[i]);
	}
}

/* The forwarding lcore hands out whole DMA buffers, round-robin, and never
 * reads a record: the workers parse. Its cost per record is its cost per
 * buffer divided by the records in it. The rings hold every buffer, so an
 * enqueue cannot fail; a worker that falls behind holds buffers, and the
 * card runs out of posted ones (no_buffer, counted in the headers). */
int fwd_workers_buffers(Ctx &x)
{
	const unsigned nw = unsigned(x.rings.size());
	const unsigned burst = std::max(1u, unsigned(x.opt.burst) / 8);
	unsigned next = 0;
	capture::Buffer *bufs[64];
	run_loop(x, [&]() -> unsigned {
		take_back_buffers(x);
		unsigned n = 0, records = 0;
		while (n < burst && n < 64) {
			capture::Buffer *b = x.stream->next_buffer();
			if (b == nullptr)
				break;
			const unsigned k = x.stream->buffer_header(b).record_count;
			records += k;
			if (x.draining) [[unlikely]] {
				/* stopping and the workers cannot keep up: drop,
				 * counted, so that the card gets buffers back */
				x.stream->release(b, capture::DropCause::RingFull);
				continue;
			}
			bufs[n++] = b;
		}
		if (n != 0) {
			const unsigned k = rte_ring_sp_enqueue_burst(x.rings[next],
								     reinterpret_cast<void **>(bufs), n,
								     nullptr);
			RTE_VERIFY(k == n); /* the ring holds every buffer */
			next = next + 1 == nw ? 0 : next + 1;
		}
		return records;
	});
	x.workers_stop.store(true, std::memory_order_release);
	return 0;
}

void drain_loopback(Ctx &x)
{
	rte_mbuf *rx[64];
	uint16_t k;
	while ((k = rte_eth_rx_burst(x.port, 0, rx, 64)) != 0) {
		x.tx_looped.add(k);
		rte_pktmbuf_free_bulk(rx, k);
	}
}

int fwd_port(Ctx &x)
{
	rte_mbuf *pkts[kMaxBurst];
	const uint16_t burst = x.opt.burst;
	run_loop(x, [&]() -> unsigned {
		if (x.port_loopback)
			drain_loopback(x);
		const uint16_t n = x.stream->rx_burst(pkts, burst);
		if (n == 0)
			return 0;
		uint16_t sent = rte_eth_tx_burst(x.port, 0, pkts, n);
		for (unsigned r = 0; sent < n && r < x.opt.tx_retries; r++) {
			if (x.port_loopback)
				drain_loopback(x);
			sent = uint16_t(sent + rte_eth_tx_burst(x.port, 0, pkts + sent, uint16_t(n - sent)));
		}
		x.tx_sent.add(sent);
		if (sent < n)
			drop_mbufs(x, pkts + sent, n - sent, capture::DropCause::TxFull);
		return n;
	});
	if (x.port_loopback)
		drain_loopback(x);
	return 0;
}

int fwd_pcapng(Ctx &x)
{
	bool offset_set = x.opt.pcap_time == PcapTime::Card;
	run_loop(x, [&]() -> unsigned {
		capture::Buffer *b = x.stream->next_buffer();
		if (b == nullptr)
			return 0;
		if (!offset_set) {
			/* map the card clock to wall time at the first record */
			timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			const uint64_t now = uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
			x.pcap.set_ts_offset(int64_t(now - x.stream->buffer_header(b).first_ts_ns));
			offset_set = true;
		}
		const int64_t n = capture::write_buffer(x.pcap, *x.stream, b);
		if (n < 0) {
			if (!x.fatal.exchange(1))
				x.fatal_msg = std::string("writing ") + x.opt.pcapng + ": " +
					      strerror(int(-n));
			return 0;
		}
		x.pcap_records.add(uint64_t(n));
		return unsigned(n);
	});
	return 0;
}

int fwd_inline(Ctx &x)
{
	capture::Record recs[kMaxBurst];
	const uint16_t burst = x.opt.burst;
	VerifyStats &vs = *x.wstats[0];
	Verifier v;
	v.init(&vs, true, x.stream.get(), x.app_dropped);
	const bool verify = x.opt.check == Check::Verify;
	run_loop(x, [&]() -> unsigned {
		const uint16_t n = x.stream->read(recs, burst);
		uint64_t bytes = 0;
		for (uint16_t i = 0; i < n; i++) {
			if (verify)
				v.check(recs[i].channel, recs[i].data, recs[i].cap_len);
			else
				vs.chan[recs[i].channel].records++;
			bytes += recs[i].cap_len;
		}
		vs.records.add(n);
		vs.bytes.add(bytes);
		return n;
	});
	return 0;
}

} // namespace

const uint8_t *Verifier::ramp() { return g_ramp.b; }

int fwd_main(void *arg)
{
	Ctx &x = *static_cast<Ctx *>(arg);
	int rc = 0;
	switch (x.opt.output) {
	case Output::Workers:
		rc = x.opt.worker_path == WorkerPath::Records   ? fwd_workers_refs(x)
		     : x.opt.worker_path == WorkerPath::Buffers ? fwd_workers_buffers(x)
								: fwd_workers(x);
		break;
	case Output::Port: rc = fwd_port(x); break;
	case Output::Pcapng: rc = fwd_pcapng(x); break;
	case Output::Inline: rc = fwd_inline(x); break;
	}
	x.workers_stop.store(true, std::memory_order_release);
	x.fwd_done.store(true, std::memory_order_release);
	return rc;
}

namespace {

/* The shell of every worker loop: take what dequeue() returns to handle();
 * stop once the forwarding lcore is done and the ring is empty. */
template <typename Dequeue, typename Handle>
void worker_loop(Ctx &x, rte_ring *ring, Dequeue dequeue, Handle handle)
{
	unsigned idle = 0;
	for (;;) {
		if (x.draining && !x.fwd_done.load(std::memory_order_relaxed)) [[unlikely]] {
			/* the forwarding lcore needs the CPU to catch up with the
			 * card (it drops meanwhile); our ring waits */
			sched_yield();
		}
		const unsigned n = dequeue();
		if (n == 0) {
			if (x.workers_stop.load(std::memory_order_acquire) && rte_ring_empty(ring))
				break;
			/* idle: after a while let a card thread sharing this CPU
			 * run. No PAUSE loop: under a hypervisor with pause-loop
			 * exiting it deschedules the vCPU and the ring overflows. */
			if (++idle > 1024)
				sched_yield();
			continue;
		}
		idle = 0;
		handle(n);
	}
}

void worker_refs(Ctx &x, rte_ring *ring, VerifyStats &vs, Verifier &v, bool verify)
{
	capture::RecordRef refs[64];
	worker_loop(x, ring,
		[&] {
			return rte_ring_sc_dequeue_burst_elem(ring, refs, sizeof(capture::RecordRef), 64,
							      nullptr);
		},
		[&](unsigned n) {
			uint64_t bytes = 0;
			if (verify) {
				for (unsigned i = 0; i < n; i++) {
					if (i + 2 < n)
						rte_prefetch0(refs[i + 2].data);
					const capture::RecordRef &r = refs[i];
					v.check(r.channel, r.data, r.cap_len);
					bytes += r.cap_len;
				}
			} else {
				for (unsigned i = 0; i < n; i++) {
					vs.chan[refs[i].channel].records++;
					bytes += refs[i].cap_len;
				}
			}
			vs.records.add(n);
			vs.bytes.add(bytes);
			x.stream->release_refs(refs, n);
		});
}

/* Whole buffers: parse each (read_detached) and send it back. */
void worker_buffers(Ctx &x, unsigned index, VerifyStats &vs, Verifier &v, bool verify)
{
	rte_ring *ring = x.rings[index];
	rte_ring *back = x.back_rings[index];
	capture::Buffer *bufs[16];
	capture::Record recs[64];
	worker_loop(x, ring,
		[&] { return rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void **>(bufs), 16, nullptr); },
		[&](unsigned n) {
			for (unsigned j = 0; j < n; j++) {
				uint64_t bytes = 0, records = 0;
				uint32_t k;
				while ((k = x.stream->read_detached(bufs[j], recs, 64)) != 0) {
					for (uint32_t i = 0; i < k; i++) {
						if (verify)
							v.check(recs[i].channel, recs[i].data, recs[i].cap_len);
						bytes += recs[i].cap_len;
					}
					if (!verify) /* one buffer, one channel */
						vs.chan[recs[0].channel].records += k;
					records += k;
				}
				vs.records.add(records);
				vs.bytes.add(bytes);
			}
			/* the ring holds every buffer: this cannot fail */
			RTE_VERIFY(rte_ring_sp_enqueue_burst(back, reinterpret_cast<void **>(bufs), n,
							     nullptr) == n);
		});
}

void worker_mbufs(Ctx &x, rte_ring *ring, VerifyStats &vs, Verifier &v, bool verify)
{
	const int meta_off = capture::mbuf_fields().meta_offset;
	rte_mbuf *pkts[64];
	worker_loop(x, ring,
		[&] { return rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void **>(pkts), 64, nullptr); },
		[&](unsigned n) {
			uint64_t bytes = 0;
			for (unsigned i = 0; i < n; i++) {
				const rte_mbuf *m = pkts[i];
				const auto *meta = RTE_MBUF_DYNFIELD(m, meta_off, const capture::MbufMeta *);
				if (verify) {
					if (i + 2 < n)
						rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 2], void *));
					v.check(meta->channel, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
				} else {
					vs.chan[meta->channel].records++;
				}
				bytes += m->data_len;
			}
			vs.records.add(n);
			vs.bytes.add(bytes);
			rte_pktmbuf_free_bulk(pkts, n);
		});
}

} // namespace

int worker_main(void *arg)
{
	const WorkerArg wa = *static_cast<WorkerArg *>(arg);
	Ctx &x = *wa.ctx;
	rte_ring *ring = x.rings[wa.index];
	VerifyStats &vs = *x.wstats[wa.index];
	Verifier v;
	const bool affine = x.rings.size() == 1 || x.opt.dist == Dist::Hash;
	v.init(&vs, affine, x.stream.get(), x.app_dropped);
	const bool verify = x.opt.check == Check::Verify;
	switch (x.opt.worker_path) {
	case WorkerPath::Records: worker_refs(x, ring, vs, v, verify); break;
	case WorkerPath::Buffers: worker_buffers(x, wa.index, vs, v, verify); break;
	case WorkerPath::Mbufs: worker_mbufs(x, ring, vs, v, verify); break;
	}
	return 0;
}

void control_tick(Ctx &x, uint64_t now)
{
	if (x.opt.stats_interval > 0 && now >= x.next_stats_tsc) {
		print_live(x, now);
		x.next_stats_tsc = now + uint64_t(x.opt.stats_interval * double(x.tsc_hz));
	}
	if (x.stop_capture.load(std::memory_order_relaxed))
		return;
	if (g_signal) {
		x.stop_capture.store(true);
		return;
	}
	if (x.opt.seconds > 0 && now - x.start_tsc >= uint64_t(x.opt.seconds * double(x.tsc_hz))) {
		x.stop_capture.store(true);
		return;
	}
	/* --count: stop once every frame was generated and reached us (its
	 * buffer completed), or nothing moved for a second after the generator
	 * finished (then the summary shows what is missing). */
	if (x.card_count != 0) {
		std::vector<uint64_t> g;
		card_generated(x, g);
		uint64_t gen = 0;
		for (uint64_t v : g)
			gen += v;
		if (gen < x.card_count)
			return;
		const capture::Counters c = x.stream->counters();
		const uint64_t seen = c.records + c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER] +
				      c.dropped[XCAP_CAPTURE_DROP_OVERRUN];
		if (seen >= gen && c.completed_now == 0) {
			x.stop_capture.store(true);
			return;
		}
		if (seen != x.last_accounted) {
			x.last_accounted = seen;
			x.idle_since_tsc = now;
		} else if (x.idle_since_tsc && now - x.idle_since_tsc > x.tsc_hz) {
			x.stop_capture.store(true);
		} else if (!x.idle_since_tsc) {
			x.idle_since_tsc = now;
		}
	}
}

} // namespace xcap::fwd
