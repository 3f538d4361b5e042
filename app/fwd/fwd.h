/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-fwd: shared state of the forwarding lcore, the worker lcores and the
 * control/statistics code.
 */
#ifndef XCAP_FWD_H
#define XCAP_FWD_H

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include "xcap_dpdk_compat.h" /* xcap_ring_create_elem */

#include "fwd_options.h"
#include "xcap_capture.hpp"
#include "xcap_model.h"

namespace xcap::fwd {

inline constexpr unsigned kMaxChannels = 64;

/* Single-writer counter readable from any thread. */
struct Counter {
	std::atomic<uint64_t> v{0};
	void add(uint64_t n) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
	uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

/* ---- verification of the emulated card's generator payload ---------------
 * Byte i of frame seq: i < 8: byte i of seq (little endian); else
 * (seq + i) & 0xff (model::payload_byte). Bytes 8.. are a ramp, compared
 * against a table with memcmp (a compare, not a copy). */
struct VerifyChan {
	uint64_t next = 0;     /* sequence number expected next */
	uint64_t records = 0;
	uint64_t gaps = 0;     /* frames skipped over (seq - next) */
	uint64_t max_seq = 0;
	bool any = false;
};

struct alignas(64) VerifyStats {
	Counter records, bytes;
	Counter payload_errors;  /* a byte differs from the generator's */
	Counter order_errors;    /* sequence went backwards or repeated */
	Counter unreported_gaps; /* a gap larger than what was counted as not delivered */
	Counter short_records;   /* under 8 bytes: no sequence number */
	VerifyChan chan[kMaxChannels]; /* owner only; read after it finished */
};

class Verifier {
public:
	/* affine: this consumer sees every delivered record of its channels,
	 * so each gap must be covered by records counted as not delivered. */
	void init(VerifyStats *st, bool affine, const capture::Stream *s,
		  const std::atomic<uint64_t> *app_dropped)
	{
		st_ = st;
		affine_ = affine;
		stream_ = s;
		app_dropped_ = app_dropped;
	}

	void check(uint16_t ch, const uint8_t *p, uint32_t len)
	{
		VerifyChan &c = st_->chan[ch];
		if (len < 8) [[unlikely]] {
			st_->short_records.add(1);
			return;
		}
		uint64_t seq;
		std::memcpy(&seq, p, 8);
		if (len > 8 && std::memcmp(p + 8, ramp() + ((seq + 8) & 0xff), len - 8) != 0) [[unlikely]]
			st_->payload_errors.add(1);
		if (seq != c.next) [[unlikely]] {
			if (seq < c.next) {
				st_->order_errors.add(1);
			} else {
				c.gaps += seq - c.next;
				if (affine_ && c.gaps > credit(ch))
					st_->unreported_gaps.add(1);
				c.next = seq + 1;
			}
		} else {
			c.next = seq + 1;
		}
		if (!c.any || seq > c.max_seq)
			c.max_seq = seq;
		c.any = true;
		c.records++;
	}

	/* Records of channel ch counted as not delivered so far. */
	uint64_t credit(uint16_t ch) const
	{
		return stream_->undelivered(ch) + app_dropped_[ch].load(std::memory_order_acquire);
	}

	static const uint8_t *ramp();

private:
	VerifyStats *st_ = nullptr;
	bool affine_ = false;
	const capture::Stream *stream_ = nullptr;
	const std::atomic<uint64_t> *app_dropped_ = nullptr;
};

/* ---- the whole run ------------------------------------------------------- */
struct Ctx {
	Options opt;

	/* card */
	int16_t dev = -1;
	std::string dev_name;
	bool created_vdev = false;   /* xcap-fwd made the emulated card */
	model::Card *card = nullptr; /* the model, if emulated */
	std::vector<uint16_t> vchans;
	std::vector<unsigned> cap_index; /* per channel: capture index on the card */
	int numa = -1;
	uint64_t card_count = 0; /* emulated card: frames it will generate in all (0: unlimited) */

	std::unique_ptr<capture::Stream> stream;

	/* lcores */
	unsigned fwd_lcore = 0;
	std::vector<unsigned> worker_lcores;
	std::vector<rte_ring *> rings;
	std::vector<rte_ring *> back_rings; /* --worker-path buffers: worker -> us */
	std::vector<std::unique_ptr<VerifyStats>> wstats; /* per worker (or inline) */

	/* port */
	uint16_t port = UINT16_MAX;
	std::string port_name;
	bool port_loopback = false;
	rte_mempool *port_rx_pool = nullptr;

	/* pcapng */
	capture::PcapngWriter pcap;

	/* control */
	std::atomic<bool> stop_capture{false}; /* control -> forwarding lcore */
	std::atomic<bool> workers_stop{false}; /* forwarding lcore -> workers */
	std::atomic<bool> fwd_done{false};
	std::atomic<int> fatal{0};
	std::string fatal_msg;
	uint64_t tsc_hz = 0, start_tsc = 0, stop_tsc = 0;
	uint64_t next_stats_tsc = 0;
	uint64_t last_stats_tsc = 0;
	capture::Counters last_counters{};
	uint64_t idle_since_tsc = 0, last_accounted = 0;

	/* forwarding lcore counters */
	Counter fwd_packets, fwd_busy_cycles, fwd_bursts;
	Counter fwd_wait_cycles;  /* waiting for room in a worker ring */
	uint64_t burst_wait = 0;  /* of the current burst (forwarding lcore only) */
	bool stopping = false;    /* forwarding lcore only */
	/* stopping, and the workers cannot keep up: drop; read by workers */
	std::atomic<bool> draining{false};
	/* cycles per packet of each busy burst, 1-cycle buckets (the last one
	 * collects everything above): the median shrugs off bursts during
	 * which the lcore was preempted, which a shared CPU has plenty of */
	static constexpr unsigned kCppBuckets = 4096;
	std::vector<uint64_t> cpp_hist = std::vector<uint64_t>(kCppBuckets + 1, 0);
	Counter tx_sent, tx_looped, pcap_records;
	std::atomic<uint64_t> app_dropped[kMaxChannels]; /* ring_full/tx_full by channel */

	Ctx()
	{
		for (auto &a : app_dropped)
			a.store(0);
	}
	uint16_t channels() const { return uint16_t(vchans.size()); }
};

/* fwd_paths.cpp */
int fwd_main(void *arg);    /* the forwarding lcore */
int worker_main(void *arg); /* a worker lcore; arg: WorkerArg */
struct WorkerArg {
	Ctx *ctx;
	unsigned index;
};
/* Statistics and stop conditions; main lcore (or the forwarding lcore when
 * it is the main one). */
void control_tick(Ctx &x, uint64_t now_tsc);
extern volatile int g_signal;

/* fwd_report.cpp */
struct Totals {
	uint64_t generated = 0;
	bool generated_known = false;
	std::vector<uint64_t> generated_by_channel;
	capture::Counters c{};
	uint64_t dropped_total = 0;
	uint64_t accounted = 0;
	uint64_t lost_unreported = 0; /* card counters' loss - headers' loss */
	bool balanced = false;
	/* verification */
	bool verified = false;
	uint64_t v_records = 0, v_payload = 0, v_order = 0, v_unreported = 0, v_short = 0;
	uint64_t v_channel_mismatch = 0; /* channels whose records + dropped != generated */
	double seconds = 0;
	double cpp_median = 0, cpp_mean = 0;
};
/* rte_dma_dump() of dev as text ("" if it cannot be captured). */
std::string dump_text(int16_t dev);
/* generated (and, if card_lost, the card's own loss counters) per channel */
bool card_generated(Ctx &x, std::vector<uint64_t> &by_channel, uint64_t *card_lost = nullptr);
Totals compute_totals(Ctx &x);
void print_live(Ctx &x, uint64_t now_tsc);
void print_summary(Ctx &x, const Totals &t);
bool write_json(Ctx &x, const Totals &t, std::string &err);

} // namespace xcap::fwd

#endif /* XCAP_FWD_H */
