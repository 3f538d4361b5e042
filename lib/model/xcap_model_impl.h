/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Internals of the xcap device model, shared by xcap_model.cpp (card, engine,
 * channel state machine), copy.cpp (copy channels), capture.cpp (capture
 * channels and the frame generator), arbiter.cpp, contract.cpp (register
 * port, contract checks) and faults.cpp (fault injection). Not installed,
 * not for drivers.
 */
#ifndef XCAP_MODEL_IMPL_H
#define XCAP_MODEL_IMPL_H

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdarg>
#include <cstring>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "xcap_model.h"

static_assert(std::endian::native == std::endian::little,
	"the model writes the little-endian wire formats with memcpy");

namespace xcap::model {

/* Engine batching (not part of the contract): at most this many descriptors
 * per copy channel per turn, the round-robin quantum of HW §3.6. */
inline constexpr uint32_t kDescBatch = 256;

/* BAR0 as the card sees it: 32-bit registers, acquire loads of what the
 * driver writes, release stores of what the card writes. The 64-bit
 * counters and the clock are single 64-bit stores (HW §2, §3).
 *
 * Every store of the card also goes to a shadow copy of the window, which
 * only the card writes: the engine compares the RO words with it to see a
 * host that overwrote one (a shared-memory window has no port to refuse the
 * write, HW §2.5) and puts them back. */
class Bar {
public:
	Bar(uint8_t *base, uint32_t *shadow) : b_(base), shadow_(shadow) {}
	uint32_t ld(uint32_t off) const
	{
		return std::atomic_ref<uint32_t>(*word(off)).load(std::memory_order_acquire);
	}
	uint64_t ld64(uint32_t off) const
	{
		return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t *>(b_ + off))
			.load(std::memory_order_acquire);
	}
	void st(uint32_t off, uint32_t v) const
	{
		shadow_[off / 4] = v;
		std::atomic_ref<uint32_t>(*word(off)).store(v, std::memory_order_release);
	}
	void st64(uint32_t off, uint64_t v) const
	{
		std::memcpy(shadow_ + off / 4, &v, sizeof v);
		std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t *>(b_ + off))
			.store(v, std::memory_order_release);
	}
	/* The clock (TimeLo/TimeHi), stored at every pass: not shadowed, a
	 * host store there is overwritten at the next pass anyway. */
	void st64_live(uint32_t off, uint64_t v) const
	{
		std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t *>(b_ + off))
			.store(v, std::memory_order_release);
	}
	/* Self-clearing bits: an atomic read-modify-write so that a driver
	 * write racing with the card's clear is never lost. */
	void clear_bits(uint32_t off, uint32_t bits) const
	{
		std::atomic_ref<uint32_t>(*word(off)).fetch_and(~bits, std::memory_order_acq_rel);
	}
	/* The host's side of a register with RW1S bits (the register port):
	 * the RW bits take the value written, a RW1S bit is set by a 1 and
	 * left as it is by a 0 (HW §2.4), atomically against clear_bits(). */
	void write_rw1s(uint32_t off, uint32_t v, uint32_t writable, uint32_t rw1s) const
	{
		std::atomic_ref<uint32_t> w(*word(off));
		uint32_t cur = w.load(std::memory_order_relaxed);
		while (!w.compare_exchange_weak(cur, (v & writable & ~rw1s) | ((cur | v) & rw1s),
						std::memory_order_acq_rel))
			;
	}
	/* A host store through the port: not the card's, so not shadowed. */
	void host_st(uint32_t off, uint32_t v) const
	{
		std::atomic_ref<uint32_t>(*word(off)).store(v, std::memory_order_release);
	}
	uint32_t shadow(uint32_t off) const { return shadow_[off / 4]; }
	const uint32_t *shadow_words() const { return shadow_; }
	uint8_t *base() const { return b_; }

private:
	uint32_t *word(uint32_t off) const { return reinterpret_cast<uint32_t *>(b_ + off); }
	uint8_t *b_;
	uint32_t *shadow_;
};

/* Statuses that are consequences of another event (a disable, an earlier
 * failure): they never latch ErrCode and never halt (HW §3.5, §5.3). */
inline bool halts_on(hw::Status s)
{
	return s != hw::Status::Successful && s != hw::Status::UserAbort &&
		s != hw::Status::NotAttempted;
}

/* What executing (or refusing) one descriptor came to. */
struct Outcome {
	hw::Status status = hw::Status::Successful;
	uint32_t result = 0;
	bool addr_fault = false;
	uint64_t addr = 0;
	/* strict mode, a contract violation found while executing (an Sge
	 * reserved field, HW §5.1): not executed, no completion, the card
	 * is Fatal and stops here */
	bool stop = false;
};

/* The channel configuration registers (HW §3.2), in Chan::cfg_seen order. */
inline constexpr uint32_t kConfigRegs[] = {
	hw::reg::ch::kRingBaseLo, hw::reg::ch::kRingBaseHi, hw::reg::ch::kRingLog2,
	hw::reg::ch::kCplBaseLo, hw::reg::ch::kCplBaseHi, hw::reg::ch::kCapSnapLen,
};
inline constexpr unsigned kNumConfigRegs = std::size(kConfigRegs);
/* Counter pairs per channel (CntDesc .. CntOvr), each with a latch. */
inline constexpr unsigned kCounterPairs = 6;
/* How often the engine compares the window with its shadow (HW §2.5,
 * sampling): every this many passes, so that a bad store is seen within
 * about 0.2 ms when busy and 26 ms when idle, at a cost of a few
 * instructions per pass; counted in passes, not time, so that what a pass
 * costs does not depend on how fast the machine runs it (the callgrind
 * figures of test/bench). The doorbell is checked at every pass. */
inline constexpr unsigned kSamplePasses = 128;

/* The wire in front of a capture channel: frames on a virtual timeline
 * (HW §8.1). Only frame metadata lives here; payload is derived from seq. */
struct FrameGen {
	CaptureProfile prof;
	uint64_t seed = 0;
	bool max_rate = false;   /* back-pressured source, no timeline */
	bool by_bits = false;    /* timeline in wire bits (rate_bps) */
	double ns_per_unit = 0;  /* per frame or per bit */

	uint64_t seq = 0;        /* next frame's sequence number == frames generated */
	uint64_t rng = 0;
	uint64_t t0 = 0;         /* card time of the timeline origin */
	uint64_t units = 0;      /* frames or bits before the pending frame */
	bool ready = false;      /* len/ts of the pending frame are valid */
	uint32_t len = 0;
	uint64_t ts = 0;
	uint64_t last_ts = 0;
	bool paused = true;
	uint64_t paused_at = 0;

	void configure(const CaptureProfile &p, unsigned capture_index);
	void start(uint64_t now);
	void pause(uint64_t now);
	void resume(uint64_t now);
	bool exhausted() const { return prof.count != 0 && seq >= prof.count; }
	void prepare();          /* make the pending frame's len (and ts) valid */
	void consume();          /* the pending frame is accounted for */
	uint32_t next_len();
};

/* One descriptor fetched by a capture channel: a posted buffer
 * (status Successful) or a descriptor already refused, waiting for its turn
 * to complete in ring order (HW §8.2). */
struct CaptureEntry {
	uint16_t idx = 0;
	uint16_t id = 0;
	bool halts = false;      /* refused with HaltOnError set: halt after its completion */
	Outcome out;             /* for refused descriptors */
	uint64_t iova = 0;       /* posted buffer */
	uint32_t len = 0;
	uint8_t *va = nullptr;
	bool buffer = false;     /* a posted buffer, else a refused descriptor */
};

struct CaptureChan {
	unsigned cap_index = 0;
	FrameGen gen;

	/* FIFO of fetched, not yet completed descriptors, in ring order. After
	 * every step its front is a buffer (the open one) or it is empty. */
	std::vector<CaptureEntry> q;
	size_t q_head = 0, q_count = 0;

	/* fill state of the open buffer */
	uint32_t used = sizeof(hw::CaptureBufferHeader);
	uint32_t records = 0;
	uint64_t first_ts = 0, last_ts = 0;

	uint64_t bufs_completed = 0;          /* header sequence numbers */
	uint64_t lost_nb_since = 0, lost_ovr_since = 0;

	/* generator accounting (since enable/reset), engine-private copy ... */
	uint64_t generated = 0, delivered = 0, lost_nb = 0, lost_ovr = 0;
	/* ... and its published snapshot (seqlock) */
	std::atomic<uint64_t> pub_seq{0};
	std::atomic<uint64_t> pub_generated{0}, pub_delivered{0}, pub_lost_nb{0},
		pub_lost_ovr{0}, pub_in_buffer{0};
	/* the same summed over the previous enables/resets since power-on, and
	 * records forgotten in the open buffer by a reset (test ground truth,
	 * Card::capture_totals) */
	uint64_t base_generated = 0, base_delivered = 0, base_lost_nb = 0, base_lost_ovr = 0,
		discarded = 0;
	std::atomic<uint64_t> pub_base_generated{0}, pub_base_delivered{0}, pub_base_lost_nb{0},
		pub_base_lost_ovr{0}, pub_discarded{0};

	CaptureEntry *front() { return q_count ? &q[q_head] : nullptr; }
	void push(const CaptureEntry &e)
	{
		q[(q_head + q_count) & (q.size() - 1)] = e;
		q_count++;
	}
	void pop()
	{
		q_head = (q_head + 1) & (q.size() - 1);
		q_count--;
		used = sizeof(hw::CaptureBufferHeader);
		records = 0;
		first_ts = last_ts = 0;
	}
	void forget()
	{
		q_head = q_count = 0;
		used = sizeof(hw::CaptureBufferHeader);
		records = 0;
		first_ts = last_ts = 0;
	}
	void publish();
};

struct Chan {
	unsigned index = 0;
	uint32_t rb = 0; /* BAR offset of the channel's register block */
	bool capture = false;

	hw::ChannelState state = hw::ChannelState::Disabled;
	bool busy = false;
	uint32_t status_shadow = 0;

	/* latched at enable (HW §3.5) */
	uint64_t ring_iova = 0, cpl_iova = 0;
	unsigned log2 = 0;
	uint32_t size = 0, mask = 0;
	const uint8_t *ring = nullptr;
	uint64_t *cpl = nullptr;
	uint64_t ptr_gen = 0; /* IOMMU generation ring/cpl were translated in */

	uint16_t head = 0;  /* descriptors completed (HwHead) */
	uint16_t fetch = 0; /* next descriptor to read; == head on copy channels */
	bool fence = false;        /* a descriptor failed since the last fence (HW §5.3) */
	bool latched = false;      /* ErrCode/ErrIndex/ErrAddr hold an error */
	bool halt_pending = false; /* capture: a refused descriptor will halt */
	uint64_t seq = 0;          /* descriptors seen since reset, for FaultPlan */
	unsigned level = 0;        /* effective priority in this pass (HW §3.6, arbiter.cpp) */

	uint64_t cnt_desc = 0, cnt_err = 0, cnt_bytes = 0, cnt_rec = 0, cnt_lost = 0, cnt_ovr = 0;
	bool cnt_dirty = false;
	uint16_t hwhead_shadow = 0;

	/* HW §7.3 quiesce (CardConfig::quiesce_ms): the channel has stopped
	 * (state is Disabled, every descriptor completed) but Status shows
	 * `shown` with Busy until quiesce_until; then Doorbell <- 0, Disabled. */
	bool quiescing = false;
	hw::ChannelState shown = hw::ChannelState::Disabled;
	uint64_t quiesce_until = 0;

	/* contract checks (contract.cpp) */
	uint16_t db_seen = 0;  /* engine: the doorbell when the channel stopped running */
	std::atomic<bool> failed_seen{false}; /* the host read Status showing Failed */
	uint32_t cfg_seen[kNumConfigRegs] = {}; /* config registers as last written or
						 * seen (reg_lock) */
	uint32_t latch[kCounterPairs] = {};     /* counter Hi latches (reg_lock) */

	/* fault injection, written by any thread */
	std::atomic<uint64_t> fail_nth{0}, fail_every{0};
	std::atomic<uint8_t> fail_status{uint8_t(hw::Status::BusError)};
	std::atomic<bool> stall{false};
	std::atomic<uint8_t> lie{0}, lie_status{0x42};
	std::atomic<uint64_t> lie_nth{0};
	std::atomic<bool> lie_armed{false};
	/* what the plan made happen (Card::faults_fired), written by the engine */
	std::atomic<uint64_t> fired_failures{0}, fired_lies{0};
	uint16_t hwhead_back = 0; /* FaultPlan::Lie::HwHeadBack, engine-private */

	std::unique_ptr<CaptureChan> cap;
};

struct Card::Impl {
	Impl(Card &card, Iommu &iommu);

	const CardConfig &cfg;
	std::unique_ptr<uint32_t[]> shadow_mem; /* Bar's shadow of the window */
	Bar bar;
	Iommu &iommu;
	Iommu::Reader reader; /* engine-only */
	std::chrono::steady_clock::time_point origin;
	std::vector<std::unique_ptr<Chan>> chans;
	uint64_t addr_limit_last; /* highest DMA-reachable address */

	/* CopySg scratch */
	std::vector<hw::Sge> sg_src, sg_dst;
	std::vector<uint8_t *> sg_src_va, sg_dst_va;

	/* engine thread */
	std::mutex ctl_lock;
	std::thread thread;
	std::atomic<bool> thread_running{false};
	std::atomic<bool> stop_req{false};
	std::atomic<bool> vanished{false};
	std::atomic<bool> in_pass{false};

	/* HW §7.3 whole-card reset and Ready, engine-only: a reset in
	 * progress (power-on with ready_delay_ms, GlobalCtrl.Reset) ends at
	 * ready_at. */
	bool resetting = false;
	uint64_t ready_at = 0;
	uint64_t reset_gen_seen = 0; /* reset_gen when the reset started */

	/* The register port and the contract checks (contract.cpp, HW §2.4,
	 * §2.5). reg_lock serialises port accesses, violation records, the
	 * global status registers (GlobalStatus, FatalCode, HostErr*), the
	 * end of a reset and the engine's sampling of the window; none of it
	 * is on the engine's per-descriptor path unless a descriptor breaks
	 * a rule. */
	std::mutex reg_lock;
	std::atomic<uint64_t> violations{0};
	std::atomic<uint32_t> host_err{0};  /* HostErrStatus */
	std::atomic<bool> fatal{false};     /* GlobalStatus.Fatal */
	std::atomic<bool> ready{false};     /* GlobalStatus.Ready */
	bool info_valid = false;            /* HostErrInfo holds the first violation */
	unsigned logged = 0;                /* log lines written (at most kLogLines + 1) */
	std::atomic<uint64_t> reset_gen{0}; /* GlobalCtrl.Reset writes through the port */
	uint32_t time_latch = 0;            /* TimeHi */
	unsigned sample_countdown = 0;      /* engine: passes until sample() runs */
	/* The RO registers of the card's globals and channels, as runs of
	 * consecutive words [first, first + 4 * n) that sample() compares with
	 * the shadow (the clock excepted, stored at every pass). */
	struct WordRun {
		uint32_t first, n;
	};
	std::vector<WordRun> ro_runs;
	bool copy_implemented = true;       /* Caps1 has Copy: copy_fast() may run */

	/* The arbiter (arbiter.cpp, HW §3.6), engine-only. Fixed-size: nothing
	 * is allocated or locked per pass or per descriptor. */
	uint32_t arb_budget = kDescBatch; /* descriptors left in the served copy channel's turn */
	unsigned arb_nhi = 0;       /* arb_order[0, arb_nhi): the channels of a higher
				     * priority than the one served; 0: it yields to none */
	bool arb_preempted = false; /* the served channel stopped for one of them */
	bool arb_genable = false;   /* GlobalCtrl.Enable in this pass */
	uint64_t arb_units = 0;     /* descriptors and frames processed, to see progress */
	Chan *arb_order[64] = {};   /* channels by priority, then by channel number */
	unsigned arb_first[hw::arbcaps::kMaxPrioLevels] = {}; /* first index of each level */

	uint64_t now_ns() const
	{
		return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
			std::chrono::steady_clock::now() - origin).count());
	}
	bool gone() const { return vanished.load(std::memory_order_relaxed); }

	/* host memory reachable by DMA: address-width check then IOMMU */
	uint8_t *dma(uint64_t iova, uint64_t len)
	{
		const uint64_t last = iova + (len ? len - 1 : 0);
		if (last < iova || last > addr_limit_last)
			return nullptr;
		return reader.translate(iova, len);
	}

	/* xcap_model.cpp */
	void power_on();
	size_t pass();
	void engine_main();
	void start_reset(uint64_t now);
	bool finish_reset(uint64_t now);
	void global_reset();
	size_t service(Chan &c, bool genable, uint64_t now);
	void reset_chan(Chan &c);
	void enable_chan(Chan &c, uint64_t now);
	void disable_chan(Chan &c);
	void fail_chan(Chan &c, hw::Status code, bool has_addr, uint64_t addr);
	void clear_latch(Chan &c);
	bool check_ptrs(Chan &c);
	void write_cpl(Chan &c, uint16_t idx, uint16_t id, hw::Status st, uint32_t result);
	bool after_cpl(Chan &c, uint16_t idx, const Outcome &o, bool halt);
	void publish(Chan &c);
	void publish_status(Chan &c)
	{
		const uint32_t st = c.quiescing ? uint32_t(c.shown) | hw::chstatus::kBusy
			: uint32_t(c.state) | (c.busy ? hw::chstatus::kBusy : 0);
		if (st != c.status_shadow) {
			c.status_shadow = st;
			bar.st(c.rb + hw::reg::ch::kStatus, st);
		}
	}

	/* copy.cpp */
	size_t run_copy(Chan &c, uint32_t ctrl);
	template <bool Null, bool Yields> uint32_t copy_fast(Chan &c, uint32_t max);
	bool fenced_or_faulted(Chan &c, const hw::Descriptor &d, Outcome &o);
	Outcome exec(Chan &c, const hw::Descriptor &d);
	Outcome exec_copy_sg(Chan &c, const hw::Descriptor &d);

	/* faults.cpp: the lie armed for this channel if count reached lie_nth
	 * (disarms it), and what it does to a completion */
	FaultPlan::Lie lie_due(Chan &c, uint64_t count);
	void lie_cpl(Chan &c, FaultPlan::Lie l, uint16_t idx, uint16_t &id, hw::Status &st);

	hw::Descriptor read_desc(const Chan &c, uint16_t idx) const
	{
		hw::Descriptor d;
		std::memcpy(&d, c.ring + size_t(idx & c.mask) * sizeof(hw::Descriptor), sizeof d);
		return d;
	}

	/* contract.cpp: violations (HW §2.5) */
	void violation(hw::hosterr::Rule r, const char *what, const char *section, unsigned chan,
		       uint32_t off, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
	void violation_locked(hw::hosterr::Rule r, const char *what, const char *section,
			      unsigned chan, uint32_t off, const char *fmt, ...)
		__attribute__((format(printf, 7, 8)));
	void vviolation(hw::hosterr::Rule r, const char *what, const char *section, unsigned chan,
			uint32_t off, const char *fmt, va_list ap);
	void raise_fatal(uint32_t code);   /* reg_lock held */
	void set_gstatus();                /* GlobalStatus from ready/fatal; reg_lock held */
	void clear_host_errors();          /* reg_lock held */
	bool chan_exists(unsigned chan) const { return chan < chans.size(); }
	bool port_enabled(const Chan &c) const; /* Ctrl.Enable or Status not Disabled */
	/* checks on what the engine samples */
	void sample();
	void sample_ro_word(uint32_t off);
	void check_stopped_doorbell(Chan &c);
	void doorbell_ahead(Chan &c, uint16_t db, uint16_t head);
	bool check_enable_alignment(Chan &c, uint64_t ring, uint64_t cpl);
	bool desc_ok(Chan &c, const hw::Descriptor &d, uint16_t idx);
	bool sge_ok(Chan &c, const hw::Sge *list, unsigned n, bool src);

	/* arbiter.cpp */
	bool prioritised();
	size_t arbitrate(bool genable, uint64_t now);
	size_t arb_visit(unsigned i, uint64_t now);
	bool chan_ready(Chan &c, uint64_t &now);
	/* A channel of a higher priority than the one being served is ready:
	 * the served one stops after its current descriptor or record. Called
	 * before every unit of work, only while arb_nhi != 0; out of line so
	 * that the copy loop stays as tight as without priorities. */
	bool higher_ready();

	/* capture.cpp */
	void cap_init(Chan &c, unsigned capture_index, const CaptureProfile &p);
	void cap_enable(Chan &c, uint64_t now);
	void cap_reset(Chan &c);
	void cap_disable(Chan &c);
	bool cap_check_ptrs(Chan &c);
	size_t run_capture(Chan &c, uint32_t ctrl, bool genable, uint64_t now);
	size_t cap_fetch(Chan &c, uint32_t ctrl);
	void cap_drain(Chan &c);
	void cap_complete_open(Chan &c, uint32_t bflags);
	size_t cap_generate(Chan &c, uint64_t now);
	bool cap_deliver(Chan &c, uint64_t seq, uint64_t ts, uint32_t wire_len, uint32_t snap);
};

} // namespace xcap::model

#endif /* XCAP_MODEL_IMPL_H */
