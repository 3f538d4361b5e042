/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Capture channels of the xcap device model (HW §8): posted buffers, the
 * frame generator on its virtual timeline, records, buffer completion and
 * loss accounting.
 */
#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include "xcap_model_impl.h"

namespace xcap::model {

using hw::ChannelState;
using hw::Status;
namespace ch = hw::reg::ch;

namespace {

constexpr size_t kMaxRateBatch = 4096; /* frames per pass, back-pressured source */
constexpr uint32_t kMaxCapLen = 65535; /* RecordHeader::cap_len is 16 bits */

/* ramp[j] = j & 0xff: payload bytes from offset 8 on are a ramp starting at
 * (seq + 8) & 0xff, so a frame's payload is one memcpy out of this table. */
struct Ramp {
	uint8_t b[256 + kMaxCapLen];
	constexpr Ramp() : b()
	{
		for (size_t j = 0; j < sizeof b; j++)
			b[j] = uint8_t(j);
	}
};
constexpr Ramp g_ramp; /* built at compile time: usable from static initialisers */

inline uint64_t splitmix64(uint64_t &s)
{
	uint64_t z = (s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

} // namespace

uint8_t payload_byte(uint64_t seq, uint32_t i)
{
	return i < 8 ? uint8_t(seq >> (8 * i)) : uint8_t(seq + i);
}

/* ---- frame generator (HW §8.1) --------------------------------------------- */

void FrameGen::configure(const CaptureProfile &p, unsigned capture_index)
{
	prof = p;
	seed = 0x243f6a8885a308d3ull ^ (uint64_t(capture_index) + 1) * 0x9e3779b97f4a7c15ull;
	max_rate = false;
	by_bits = false;
	if (p.rate_bps > 0) {
		by_bits = true;
		ns_per_unit = 1e9 / p.rate_bps;
	} else if (p.rate_pps > 0) {
		ns_per_unit = 1e9 / p.rate_pps;
	} else {
		max_rate = true;
		ns_per_unit = 0;
	}
	paused = true;
}

void FrameGen::start(uint64_t now)
{
	seq = 0;
	rng = seed;
	t0 = now + uint64_t(prof.start_delay_us) * 1000; /* the link comes up then */
	units = 0;
	ready = false;
	last_ts = 0;
	paused = false;
	paused_at = now;
}

void FrameGen::pause(uint64_t now)
{
	if (!paused) {
		paused = true;
		paused_at = now;
	}
}

/* The link is down while the channel does not run: the timeline resumes
 * where it stopped, without a burst of back-dated frames. */
void FrameGen::resume(uint64_t now)
{
	if (paused) {
		paused = false;
		const uint64_t d = now - paused_at;
		t0 += d;
		if (ready)
			ts += d;
	}
}

uint32_t FrameGen::next_len()
{
	switch (prof.size_mode) {
	case FrameSizeMode::Fixed:
		break;
	case FrameSizeMode::Range: {
		const uint64_t span = uint64_t(prof.frame_max) - prof.frame_min + 1;
		return prof.frame_min + uint32_t(((splitmix64(rng) >> 32) * span) >> 32);
	}
	case FrameSizeMode::Imix: {
		const uint64_t r = splitmix64(rng) % 12; /* 7:4:1 */
		return r < 7 ? 64 : r < 11 ? 570 : 1518;
	}
	}
	return prof.frame_min;
}

void FrameGen::prepare()
{
	len = next_len();
	if (!max_rate)
		ts = t0 + uint64_t(double(units) * ns_per_unit);
	ready = true;
}

void FrameGen::consume()
{
	units += by_bits ? (uint64_t(len) + 20) * 8 : 1;
	seq++;
	ready = false;
}

void CaptureChan::publish()
{
	const uint64_t s = pub_seq.load(std::memory_order_relaxed);
	pub_seq.store(s + 1, std::memory_order_relaxed);
	std::atomic_thread_fence(std::memory_order_release);
	pub_generated.store(generated, std::memory_order_relaxed);
	pub_delivered.store(delivered, std::memory_order_relaxed);
	pub_lost_nb.store(lost_nb, std::memory_order_relaxed);
	pub_lost_ovr.store(lost_ovr, std::memory_order_relaxed);
	pub_in_buffer.store(records, std::memory_order_relaxed);
	pub_base_generated.store(base_generated, std::memory_order_relaxed);
	pub_base_delivered.store(base_delivered, std::memory_order_relaxed);
	pub_base_lost_nb.store(base_lost_nb, std::memory_order_relaxed);
	pub_base_lost_ovr.store(base_lost_ovr, std::memory_order_relaxed);
	pub_discarded.store(discarded, std::memory_order_relaxed);
	pub_seq.store(s + 2, std::memory_order_release);
}

/* ---- channel life cycle ----------------------------------------------------- */

void Card::Impl::cap_init(Chan &c, unsigned capture_index, const CaptureProfile &p)
{
	c.cap = std::make_unique<CaptureChan>();
	c.cap->cap_index = capture_index;
	c.cap->gen.configure(p, capture_index);
}

static void zero_accounting(CaptureChan &k)
{
	/* lifetime totals (Card::capture_totals): records still in the open
	 * buffer are forgotten by a reset (at enable there are none) */
	k.base_generated += k.generated;
	k.base_delivered += k.delivered;
	k.base_lost_nb += k.lost_nb;
	k.base_lost_ovr += k.lost_ovr;
	k.discarded += k.records;
	k.forget();
	k.bufs_completed = 0;
	k.lost_nb_since = k.lost_ovr_since = 0;
	k.generated = k.delivered = k.lost_nb = k.lost_ovr = 0;
}

void Card::Impl::cap_enable(Chan &c, uint64_t now)
{
	CaptureChan &k = *c.cap;
	k.q.assign(c.size, CaptureEntry{});
	zero_accounting(k);
	k.gen.start(now);
	c.cnt_dirty = true;
}

/* HW §3.5 RESET: posted buffers are forgotten, no completion is written. */
void Card::Impl::cap_reset(Chan &c)
{
	CaptureChan &k = *c.cap;
	zero_accounting(k);
	k.gen.paused = true;
	c.cnt_dirty = true;
}

/* HW §3.5 ENABLE 1->0 on a capture channel. */
void Card::Impl::cap_disable(Chan &c)
{
	CaptureChan &k = *c.cap;
	for (size_t i = 0; i < k.q_count; i++)
		k.q[(k.q_head + i) & (k.q.size() - 1)].halts = false;
	c.halt_pending = false;
	/* HW §8.3: loss not reported yet and no buffer open, but buffers posted
	 * the card has not fetched yet (the doorbell came just before the
	 * disable): fetch them now, the first carries the loss. */
	if (k.q_count == 0 && (k.lost_nb_since > 0 || k.lost_ovr_since > 0) &&
	    uint16_t(bar.ld(c.rb + ch::kDoorbell)) != c.fetch) {
		cap_fetch(c, 0);
		if (c.state == ChannelState::Failed)
			return;
	}
	CaptureEntry *e = k.front();
	/* HW §8.4: the open buffer completes if it holds records, or if frames
	 * were lost since the last completed buffer, so that the loss reaches the
	 * host through the buffer headers alone. */
	if (e && e->buffer && (k.records > 0 || k.lost_nb_since > 0 || k.lost_ovr_since > 0))
		cap_complete_open(c, hw::bflag::kStopped);
	while (k.q_count && !gone()) {
		const CaptureEntry x = *k.front();
		Outcome o = x.out;
		if (x.buffer) {
			o = Outcome{};
			o.status = Status::UserAbort;
		}
		write_cpl(c, x.idx, x.id, o.status, o.result);
		c.head++;
		k.pop();
		after_cpl(c, x.idx, o, false);
	}
	c.fetch = c.head;
	k.gen.paused = true;
	c.cnt_dirty = true;
}

/* Posted buffers are re-translated when the IOMMU changes (HW §9). */
bool Card::Impl::cap_check_ptrs(Chan &c)
{
	CaptureChan &k = *c.cap;
	for (size_t i = 0; i < k.q_count; i++) {
		CaptureEntry &e = k.q[(k.q_head + i) & (k.q.size() - 1)];
		if (!e.buffer)
			continue;
		if (!(e.va = dma(e.iova, e.len))) {
			fail_chan(c, Status::BusWriteError, true, e.iova);
			return false;
		}
	}
	return true;
}

/* ---- descriptors ------------------------------------------------------------- */

size_t Card::Impl::run_capture(Chan &c, uint32_t ctrl, bool genable, uint64_t now)
{
	CaptureChan &k = *c.cap;
	if (c.state != ChannelState::Running || !genable) {
		k.gen.pause(now);
		return 0;
	}
	k.gen.resume(now);
	if (!check_ptrs(c))
		return 1;
	size_t work = cap_fetch(c, ctrl);
	if (c.state != ChannelState::Running)
		return work + 1;
	work += cap_generate(c, now);
	if (c.state == ChannelState::Running && k.records > 0) {
		const uint64_t flush_us = bar.ld(c.rb + ch::kCapFlushUs);
		if (flush_us && now >= k.first_ts + flush_us * 1000) {
			cap_complete_open(c, hw::bflag::kTimeout);
			work++;
		}
	}
	return work;
}

size_t Card::Impl::cap_fetch(Chan &c, uint32_t ctrl)
{
	CaptureChan &k = *c.cap;
	const uint16_t db = uint16_t(bar.ld(c.rb + ch::kDoorbell));
	const uint16_t outstanding = uint16_t(c.fetch - c.head);
	const uint16_t ahead = uint16_t(db - c.head);
	if (ahead > c.size || ahead < outstanding) {
		/* HW §3.4: a producer index more than a ring ahead of HwHead */
		doorbell_ahead(c, db, c.head);
		fail_chan(c, Status::DescriptorReadError, false, 0);
		return 1;
	}
	const uint32_t n = std::min<uint32_t>(ahead - outstanding, 256);
	if (n == 0 || c.halt_pending)
		return 0;
	c.busy = true;
	publish_status(c);
	const bool halt = ctrl & hw::chctrl::kHaltOnError;
	uint32_t done = 0;
	while (done < n && !c.halt_pending && !gone()) {
		const uint16_t idx = c.fetch;
		const hw::Descriptor d = read_desc(c, idx);
		/* HW §2.5: strict, a descriptor that breaks a rule is not
		 * fetched; the card is Fatal and stops before it */
		if (!desc_ok(c, d, idx)) [[unlikely]]
			break;
		CaptureEntry e;
		e.idx = idx;
		e.id = d.id;
		if (!fenced_or_faulted(c, d, e.out)) {
			if (hw::Opcode(d.opcode) != hw::Opcode::Capture ||
			    !(cfg.caps_ops & (1u << unsigned(hw::Opcode::Capture)))) {
				e.out.status = Status::InvalidOpcode;
			} else if (d.length < hw::kCaptureMinBuffer || d.length > cfg.max_xfer_len) {
				e.out.status = Status::InvalidLength;
			} else if (!(e.va = dma(d.dst, d.length))) {
				e.out.status = Status::InvalidDstAddr;
				e.out.addr_fault = true;
				e.out.addr = d.dst;
			} else {
				e.buffer = true;
				e.iova = d.dst;
				e.len = d.length;
			}
		}
		if (!e.buffer && e.out.status != Status::Successful) {
			c.fence = true;
			if (halt && halts_on(e.out.status)) {
				e.halts = true;
				c.halt_pending = true;
			}
		}
		k.push(e);
		c.fetch++;
		done++;
		if (fatal.load(std::memory_order_relaxed)) [[unlikely]]
			break; /* an opcode not in Caps1: the card stops after it (HW §5.2) */
	}
	cap_drain(c);
	c.busy = false;
	return done;
}

/* Complete refused descriptors at the front of the FIFO: completions are
 * written in ring order, so they wait for the buffers posted before them. */
void Card::Impl::cap_drain(Chan &c)
{
	CaptureChan &k = *c.cap;
	while (k.q_count && !k.front()->buffer && !gone()) {
		const CaptureEntry x = *k.front();
		write_cpl(c, x.idx, x.id, x.out.status, x.out.result);
		c.head++;
		k.pop();
		if (x.halts)
			c.halt_pending = false;
		if (after_cpl(c, x.idx, x.out, x.halts))
			break;
	}
}

/* HW §8.3: header, then the completion carrying bytes_used. */
void Card::Impl::cap_complete_open(Chan &c, uint32_t bflags)
{
	CaptureChan &k = *c.cap;
	const CaptureEntry x = *k.front();
	hw::CaptureBufferHeader h{};
	h.magic = hw::kCaptureMagic;
	h.bytes_used = k.used;
	h.record_count = k.records;
	h.flags = bflags;
	h.sequence = k.bufs_completed;
	h.lost_no_buffer = k.lost_nb_since;
	h.lost_overrun = k.lost_ovr_since;
	h.first_ts_ns = k.first_ts;
	h.last_ts_ns = k.last_ts;
	uint16_t id = x.id;
	Status st = Status::Successful;
	uint32_t result = k.used;
	if (const FaultPlan::Lie lie = lie_due(c, k.bufs_completed + 1); lie != FaultPlan::Lie::None) {
		/* HW §7.4: a card that writes wrong control data */
		lie_cpl(c, lie, x.idx, id, st);
		if (lie == FaultPlan::Lie::BytesUsedOverrun) {
			h.bytes_used = x.len + 4096;
			result = h.bytes_used;
		} else if (lie == FaultPlan::Lie::RecordOverrun) {
			if (k.records == 0) {
				h.record_count = 1;
			} else {
				hw::RecordHeader rh;
				std::memcpy(&rh, x.va + sizeof h, sizeof rh);
				rh.cap_len = 0xfff0;
				rh.wire_len = 0xfff0;
				rh.flags = 0;
				std::memcpy(x.va + sizeof h, &rh, sizeof rh);
			}
		} else if (lie == FaultPlan::Lie::CountMismatch) {
			h.record_count = k.records ? k.records - 1 : 1;
		}
	}
	std::memcpy(x.va, &h, sizeof h);
	write_cpl(c, x.idx, id, st, result);
	c.head++;
	k.bufs_completed++;
	k.lost_nb_since = k.lost_ovr_since = 0;
	k.delivered += k.records;
	c.cnt_rec += k.records;
	c.cnt_bytes += k.used;
	after_cpl(c, x.idx, Outcome{}, false);
	k.pop();
	cap_drain(c);
}

/* ---- frames ------------------------------------------------------------------ */

/* Put one frame into the open buffer; false if there is none (HW §8.2). */
bool Card::Impl::cap_deliver(Chan &c, uint64_t seq, uint64_t ts, uint32_t wire_len, uint32_t snap)
{
	CaptureChan &k = *c.cap;
	CaptureEntry *e = k.front();
	if (!e || !e->buffer)
		return false;
	uint32_t cap = std::min(wire_len, snap);
	uint32_t stride = hw::record_stride(cap);
	if (k.used + stride > e->len) {
		if (k.records > 0) {
			cap_complete_open(c, hw::bflag::kFull);
			e = k.front();
			if (!e || !e->buffer || c.state != ChannelState::Running)
				return false;
		}
		if (k.used + stride > e->len) {
			/* larger than an empty buffer: cut to what fits (HW §8.2) */
			cap = (e->len - uint32_t(sizeof(hw::CaptureBufferHeader)) -
				uint32_t(sizeof(hw::RecordHeader))) & ~(hw::kRecordAlign - 1);
			stride = hw::record_stride(cap);
		}
	}
	uint8_t *p = e->va + k.used;
	hw::RecordHeader rh;
	rh.ts_ns = ts;
	rh.wire_len = wire_len;
	rh.cap_len = uint16_t(cap);
	rh.flags = cap < wire_len ? hw::rflag::kTruncated : 0;
	std::memcpy(p, &rh, sizeof rh);
	uint8_t *pl = p + sizeof rh;
	if (cap >= 8) {
		std::memcpy(pl, &seq, 8);
		std::memcpy(pl + 8, g_ramp.b + ((seq + 8) & 0xff), cap - 8);
	} else {
		std::memcpy(pl, &seq, cap);
	}
	const uint32_t pad = stride - uint32_t(sizeof rh) - cap;
	if (pad)
		std::memset(pl + cap, 0, pad);
	k.used += stride;
	if (k.records++ == 0)
		k.first_ts = ts;
	k.last_ts = ts;
	return true;
}

size_t Card::Impl::cap_generate(Chan &c, uint64_t now)
{
	CaptureChan &k = *c.cap;
	FrameGen &g = k.gen;
	uint32_t snap = bar.ld(c.rb + ch::kCapSnapLen);
	if (snap == 0 || snap > kMaxCapLen)
		snap = kMaxCapLen;
	size_t frames = 0;
	if (g.max_rate) {
		/* back-pressured: a frame exists only once there is room for it */
		while (frames < kMaxRateBatch && !g.exhausted() && now >= g.t0 &&
		       c.state == ChannelState::Running && !gone()) {
			const CaptureEntry *e = k.front();
			if (!e || !e->buffer)
				break;
			if (arb_nhi && higher_ready()) [[unlikely]] { /* HW §3.6: per record */
				arb_preempted = true;
				break;
			}
			if (!g.ready)
				g.prepare();
			const uint32_t stride = hw::record_stride(std::min(g.len, snap));
			if (k.used + stride > e->len && k.records > 0) {
				cap_complete_open(c, hw::bflag::kFull);
				frames++;
				continue;
			}
			const uint64_t ts = std::max(now, g.last_ts + 1);
			cap_deliver(c, g.seq, ts, g.len, snap);
			g.last_ts = ts;
			k.generated++;
			g.consume();
			frames++;
		}
	} else {
		/* HW §8.4: frames due by now; beyond fifo_frames of them in one
		 * pass the card's FIFO overflowed */
		const uint32_t fifo = g.prof.fifo_frames;
		uint32_t taken = 0;
		while (!g.exhausted() && c.state == ChannelState::Running && !gone()) {
			if (!g.ready)
				g.prepare();
			if (g.ts > now)
				break;
			/* HW §3.6: a record is a unit of work; a frame dropped
			 * for overrun is not, and does not wait */
			if (taken < fifo && arb_nhi && higher_ready()) [[unlikely]] {
				arb_preempted = true;
				break;
			}
			if (taken >= fifo) {
				k.lost_ovr++;
				k.lost_ovr_since++;
				c.cnt_ovr++;
			} else {
				taken++;
				if (!cap_deliver(c, g.seq, g.ts, g.len, snap)) {
					k.lost_nb++;
					k.lost_nb_since++;
					c.cnt_lost++;
				}
			}
			g.last_ts = g.ts;
			k.generated++;
			g.consume();
			frames++;
		}
	}
	if (frames)
		c.cnt_dirty = true;
	arb_units += frames;
	return frames;
}

/* ---- accounting (Card::capture_counters, capture_totals) ------------------------- */

Card::CaptureCounters Card::capture_counters(unsigned capture_index) const
{
	if (capture_index >= cfg_.capture_channels)
		throw std::out_of_range("xcap model: no capture channel " + std::to_string(capture_index));
	const CaptureChan &k = *impl_->chans[cfg_.copy_channels + capture_index]->cap;
	CaptureCounters r;
	for (;;) {
		const uint64_t s1 = k.pub_seq.load(std::memory_order_acquire);
		if (s1 & 1) {
			std::this_thread::yield();
			continue;
		}
		r.generated = k.pub_generated.load(std::memory_order_relaxed);
		r.delivered = k.pub_delivered.load(std::memory_order_relaxed);
		r.lost_no_buffer = k.pub_lost_nb.load(std::memory_order_relaxed);
		r.lost_overrun = k.pub_lost_ovr.load(std::memory_order_relaxed);
		r.in_buffer = k.pub_in_buffer.load(std::memory_order_relaxed);
		std::atomic_thread_fence(std::memory_order_acquire);
		if (k.pub_seq.load(std::memory_order_relaxed) == s1)
			return r;
	}
}

Card::CaptureTotals Card::capture_totals(unsigned capture_index) const
{
	if (capture_index >= cfg_.capture_channels)
		throw std::out_of_range("xcap model: no capture channel " + std::to_string(capture_index));
	const CaptureChan &k = *impl_->chans[cfg_.copy_channels + capture_index]->cap;
	CaptureTotals r;
	for (;;) {
		const uint64_t s1 = k.pub_seq.load(std::memory_order_acquire);
		if (s1 & 1) {
			std::this_thread::yield();
			continue;
		}
		r.generated = k.pub_base_generated.load(std::memory_order_relaxed) +
			      k.pub_generated.load(std::memory_order_relaxed);
		r.delivered = k.pub_base_delivered.load(std::memory_order_relaxed) +
			      k.pub_delivered.load(std::memory_order_relaxed);
		r.lost_no_buffer = k.pub_base_lost_nb.load(std::memory_order_relaxed) +
				   k.pub_lost_nb.load(std::memory_order_relaxed);
		r.lost_overrun = k.pub_base_lost_ovr.load(std::memory_order_relaxed) +
				 k.pub_lost_ovr.load(std::memory_order_relaxed);
		r.in_buffer = k.pub_in_buffer.load(std::memory_order_relaxed);
		r.discarded_at_reset = k.pub_discarded.load(std::memory_order_relaxed);
		std::atomic_thread_fence(std::memory_order_acquire);
		if (k.pub_seq.load(std::memory_order_relaxed) == s1)
			return r;
	}
}

} // namespace xcap::model
