/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Copy channels of the xcap device model (HW §5): the fast loop for plain
 * copies, the general path for every other descriptor, and the operations
 * themselves. The channel state machine and completions are in
 * xcap_model.cpp, the checks of what the host submitted in contract.cpp.
 */
#include <algorithm>

#include "xcap_model_impl.h"

namespace xcap::model {

using hw::ChannelState;
using hw::Status;
namespace ch = hw::reg::ch;

/* ---- copy channels (HW §5) -------------------------------------------------- */

namespace {

/* memmove for 1..64 bytes: two overlapping loads, then two stores, so
 * overlapping ranges behave as memmove. */
inline void move_small(uint8_t *dst, const uint8_t *src, uint32_t len)
{
	auto two = [&]<size_t K>() {
		uint8_t a[K], b[K];
		std::memcpy(a, src, K);
		std::memcpy(b, src + len - K, K);
		std::memcpy(dst, a, K);
		std::memcpy(dst + len - K, b, K);
	};
	if (len >= 32)
		two.template operator()<32>();
	else if (len >= 16)
		two.template operator()<16>();
	else if (len >= 8)
		two.template operator()<8>();
	else if (len >= 4)
		two.template operator()<4>();
	else {
		const uint8_t a = src[0], b = src[len / 2], e = src[len - 1];
		dst[0] = a;
		dst[len / 2] = b;
		dst[len - 1] = e;
	}
}

} // namespace

/* The common case, in a loop of its own: Copy descriptors that are not
 * fenced off, have a valid length and reachable buffers, on a channel with
 * no fault plan due in this batch (the caller checks). Runs up to max
 * descriptors from c.head and stops, before touching it, at the first
 * descriptor that needs the general path (or when the card vanishes);
 * returns how many it completed. For each one it does what
 * fenced_or_faulted() + exec() + write_cpl() + after_cpl() do in that case,
 * with the channel's fields in locals.
 *
 * Completions are held until a completion-ring cache line is full and then
 * written together (HW §6.2 allows it): the driver polls those lines, and
 * eight writes in a row move a line to the card once instead of up to eight
 * times. They are written at the end of every line (and of the ring, for
 * rings under 8 entries), after a CompletionRequest descriptor and before
 * returning, so completions stay in ring order, a CompletionRequest's
 * completion is written before the next descriptor starts, and every
 * completion is written before the card goes idle. */
template <bool Null, bool Yields>
uint32_t Card::Impl::copy_fast(Chan &c, uint32_t max)
{
	using Seg = Iommu::Reader::Seg;
	const uint8_t *const ring = c.ring;
	uint64_t *const cpl = c.cpl;
	const uint32_t mask = c.mask;
	const unsigned log2 = c.log2;
	constexpr uint32_t kPerLine = 64 / sizeof(hw::Completion);
	const uint32_t line_last = std::min(kPerLine - 1, mask);
	const uint32_t max_len = cfg.max_xfer_len;
	bool fence = c.fence;
	/* The opcode and the flags, read as one 16-bit word, are what the
	 * loop takes when (word & allow) == Copy: the opcode Copy, no reserved
	 * flag bit (HW §5.1), and Fence only while no failure fences it off
	 * (none happens in here: the fence flag can only be cleared). */
	auto allow_for = [](bool fenced) {
		return uint16_t(~(uint16_t(fenced ? hw::dflag::kCompletionRequest : hw::dflag::kDefined) << 8));
	};
	uint16_t allow = allow_for(fence);
	uint16_t h = c.head;
	uint64_t bytes = 0;
	uint64_t held[kPerLine];
	uint32_t nheld = 0;
	uint32_t k = 0;
	/* the segments the last source and destination were in (copies of TLB
	 * entries, dropped when the IOMMU map changes), clipped to the card's
	 * address width: a hit is reachable */
	Seg sseg, dseg;
	auto lookup = [&](Seg &cache, uint64_t iova, uint32_t len) -> uint8_t * {
		const uint64_t last = iova + (len - 1);
		if (!cache.holds(iova, last)) [[unlikely]] {
			if (last < iova || last > addr_limit_last)
				return nullptr;
			const Seg *s = reader.segment(iova, len);
			if (s == nullptr)
				return nullptr;
			cache = *s;
			cache.last = std::min(cache.last, addr_limit_last);
		}
		return cache.va + (iova - cache.first);
	};
	auto flush = [&] {
		uint64_t *p = cpl + (uint16_t(h - (nheld - 1)) & mask);
		if (nheld == kPerLine) { /* the common case: a whole line */
			for (uint32_t j = 0; j < kPerLine; j++)
				std::atomic_ref<uint64_t>(p[j]).store(held[j], std::memory_order_release);
		} else {
			for (uint32_t j = 0; j < nheld; j++)
				std::atomic_ref<uint64_t>(p[j]).store(held[j], std::memory_order_release);
		}
		nheld = 0;
	};
	for (; k < max && !gone(); k++) {
		/* HW §3.6: a channel of a higher priority is ready (arbiter.cpp) */
		if (Yields && higher_ready()) [[unlikely]] {
			arb_preempted = true;
			break;
		}
		const auto *d = reinterpret_cast<const hw::Descriptor *>(ring + size_t(h & mask) * sizeof(hw::Descriptor));
		uint16_t op_flags;
		std::memcpy(&op_flags, d, sizeof op_flags);
		const uint8_t flags = uint8_t(op_flags >> 8);
		const uint32_t len = d->length;
		/* the general path also takes a descriptor with a reserved bit
		 * set (HW §5.1), to report it */
		if ((op_flags & allow) != uint8_t(hw::Opcode::Copy) || len - 1 >= max_len || d->reserved)
			[[unlikely]]
			break; /* len 0, or above MaxXferLen */
		if constexpr (!Null) {
			/* HW §9: a map change takes effect at the next descriptor */
			if (reader.stale()) [[unlikely]] {
				reader.sync();
				sseg = dseg = Seg{};
			}
			const uint8_t *src = lookup(sseg, d->src, len);
			uint8_t *dst = lookup(dseg, d->dst, len);
			if (!src || !dst) [[unlikely]]
				break;
			if (len <= 64)
				move_small(dst, src, len);
			else
				std::memmove(dst, src, len);
			bytes += len;
		}
		held[nheld++] = uint64_t(len) << 32 | uint64_t(d->id) << 16 |
			uint64_t(hw::completion_phase(h, log2)) << 8 | uint8_t(Status::Successful);
		if ((h & line_last) == line_last || (flags & hw::dflag::kCompletionRequest)) {
			flush();
			/* HW §5.3: a CompletionRequest ends the fence scope */
			if (flags & hw::dflag::kCompletionRequest) {
				fence = false;
				allow = allow_for(false);
			}
		}
		h++;
	}
	if (nheld) {
		h--;
		flush();
		h++;
	}
	c.head = h;
	c.fence = fence;
	c.seq += k;
	c.cnt_desc += k;
	c.cnt_bytes += bytes;
	return k;
}

size_t Card::Impl::run_copy(Chan &c, uint32_t ctrl)
{
	if (!check_ptrs(c))
		return 1;
	const uint16_t db = uint16_t(bar.ld(c.rb + ch::kDoorbell));
	const uint16_t pending = uint16_t(db - c.head);
	if (pending == 0)
		return 0;
	if (pending > c.size) {
		/* HW §3.4: a producer index more than a ring ahead is a driver bug */
		doorbell_ahead(c, db, c.head);
		fail_chan(c, Status::DescriptorReadError, false, 0);
		return 1;
	}
	c.busy = true;
	publish_status(c);
	const bool halt = ctrl & hw::chctrl::kHaltOnError;
	/* the rest of this turn's quantum (HW §3.6) */
	const uint32_t n = std::min<uint32_t>(pending, arb_budget);
	/* Fault plans are read once per batch, after the doorbell (so a plan
	 * set before the doorbell write that covers its descriptor applies):
	 * the fast path is taken when none can fire on this batch's
	 * descriptors (numbered c.seq + 1 .. c.seq + n). */
	const uint64_t nth = c.fail_nth.load(std::memory_order_relaxed);
	const bool fast = copy_implemented && !c.lie_armed.load(std::memory_order_relaxed) &&
		c.fail_every.load(std::memory_order_relaxed) == 0 &&
		(nth <= c.seq || nth > c.seq + n);
	uint32_t done = 0;
	while (done < n && !gone()) {
		if (fast) {
			/* Yields: there are channels of a higher priority to check
			 * before every descriptor (HW §3.6); else the loop as it
			 * always was */
			const uint32_t m = n - done;
			if (arb_nhi == 0) [[likely]]
				done += cfg.null_engine ? copy_fast<true, false>(c, m) : copy_fast<false, false>(c, m);
			else
				done += cfg.null_engine ? copy_fast<true, true>(c, m) : copy_fast<false, true>(c, m);
			if (done == n || gone() || arb_preempted)
				break;
		}
		if (arb_nhi && higher_ready()) [[unlikely]] { /* HW §3.6 */
			arb_preempted = true;
			break;
		}
		/* the general path, one descriptor */
		const uint16_t idx = c.head;
		const hw::Descriptor d = read_desc(c, idx);
		/* HW §2.5: a descriptor that breaks a rule is not executed in
		 * strict mode; the card stops before it (Fatal) */
		if (!desc_ok(c, d, idx)) [[unlikely]]
			break;
		const Outcome o = exec(c, d);
		if (o.stop) [[unlikely]]
			break;
		const FaultPlan::Lie lie = lie_due(c, c.seq);
		if (lie == FaultPlan::Lie::None) [[likely]] {
			write_cpl(c, idx, d.id, o.status, o.result);
		} else {
			uint16_t id = d.id;
			Status st = o.status;
			lie_cpl(c, lie, idx, id, st);
			write_cpl(c, idx, id, st, o.result);
			if (lie == FaultPlan::Lie::EarlyPhase)
				write_cpl(c, db, db, Status::Successful, 0);
		}
		c.head++;
		done++;
		const bool halted = after_cpl(c, idx, o, halt);
		/* HW §5.3: the fence flag is scoped to a submission batch, which
		 * ends at a CompletionRequest descriptor: a failure in one batch
		 * never cancels a fenced descriptor of a later one. */
		if (d.flags & hw::dflag::kCompletionRequest)
			c.fence = false;
		/* halted, or Fatal (an opcode not in Caps1 completes InvalidOpcode,
		 * then the card stops, HW §5.2) */
		if (halted || fatal.load(std::memory_order_relaxed))
			break;
	}
	c.fetch = c.head;
	c.cnt_dirty = true;
	arb_budget -= done;
	arb_units += done;
	/* Busy stays set while the channel keeps running: the next pass that
	 * finds no new descriptor clears it (service() does, before calling
	 * here), so back-to-back batches write Status once, not twice each,
	 * to the register line the driver's doorbell writes share. */
	c.busy = c.state == ChannelState::Running && !gone();
	return done;
}

/* Fence and fault injection, common to every channel kind (HW §5.3). */
bool Card::Impl::fenced_or_faulted(Chan &c, const hw::Descriptor &d, Outcome &o)
{
	c.seq++;
	if (d.flags & hw::dflag::kFence) {
		if (c.fence) {
			o.status = Status::NotAttempted;
			return true;
		}
		c.fence = false;
	}
	const uint64_t nth = c.fail_nth.load(std::memory_order_relaxed);
	const uint64_t every = c.fail_every.load(std::memory_order_relaxed);
	if ((nth && c.seq == nth) || (every && c.seq % every == 0)) {
		o.status = Status(c.fail_status.load(std::memory_order_relaxed));
		c.fired_failures.fetch_add(1, std::memory_order_relaxed);
		return true;
	}
	return false;
}

Outcome Card::Impl::exec(Chan &c, const hw::Descriptor &d)
{
	Outcome o;
	if (fenced_or_faulted(c, d, o))
		return o;
	const auto op = hw::Opcode(d.opcode);
	if (d.opcode >= 32 || !((cfg.caps_ops >> d.opcode) & 1)) {
		/* HW §5.2: not in Caps1, not implemented (desc_ok() reported it) */
		o.status = Status::InvalidOpcode;
		return o;
	}
	auto fault = [&o](Status s, uint64_t addr) {
		o.status = s;
		o.addr_fault = true;
		o.addr = addr;
		return o;
	};
	switch (op) {
	case hw::Opcode::Nop:
		return o;
	case hw::Opcode::Copy:
	case hw::Opcode::Fill: {
		if (d.length == 0 || d.length > cfg.max_xfer_len) {
			o.status = Status::InvalidLength;
			return o;
		}
		if (cfg.null_engine) {
			o.result = d.length;
			return o;
		}
		const uint8_t *src = nullptr;
		if (op == hw::Opcode::Copy && !(src = dma(d.src, d.length)))
			return fault(Status::InvalidSrcAddr, d.src);
		uint8_t *dst = dma(d.dst, d.length);
		if (!dst)
			return fault(Status::InvalidDstAddr, d.dst);
		if (op == hw::Opcode::Copy) {
			std::memmove(dst, src, d.length);
		} else {
			/* byte i = pattern byte (i % 8); 64 B blocks keep the phase */
			alignas(8) uint8_t block[64];
			for (unsigned k = 0; k < sizeof block; k += 8)
				std::memcpy(block + k, &d.src, 8);
			uint32_t off = 0;
			for (; d.length - off >= sizeof block; off += sizeof block)
				std::memcpy(dst + off, block, sizeof block);
			std::memcpy(dst + off, block, d.length - off);
		}
		c.cnt_bytes += d.length;
		o.result = d.length;
		return o;
	}
	case hw::Opcode::CopySg:
		return exec_copy_sg(c, d);
	case hw::Opcode::Capture: /* only on capture channels */
	default:
		o.status = Status::InvalidOpcode;
		return o;
	}
}

Outcome Card::Impl::exec_copy_sg(Chan &c, const hw::Descriptor &d)
{
	Outcome o;
	const unsigned ns = d.nb_src, nd = d.nb_dst;
	if (ns < 1 || ns > cfg.max_sge || nd < 1 || nd > cfg.max_sge) {
		o.status = Status::InvalidLength;
		return o;
	}
	if (cfg.null_engine) {
		o.result = d.length;
		return o;
	}
	auto fault = [&o](Status s, uint64_t addr) {
		o.status = s;
		o.addr_fault = true;
		o.addr = addr;
		return o;
	};
	/* the SG lists are part of the descriptor: unreadable = DescriptorReadError */
	const uint8_t *sl = dma(d.src, uint64_t(ns) * sizeof(hw::Sge));
	if (!sl)
		return fault(Status::DescriptorReadError, d.src);
	const uint8_t *dl = dma(d.dst, uint64_t(nd) * sizeof(hw::Sge));
	if (!dl)
		return fault(Status::DescriptorReadError, d.dst);
	std::memcpy(sg_src.data(), sl, ns * sizeof(hw::Sge));
	std::memcpy(sg_dst.data(), dl, nd * sizeof(hw::Sge));
	/* HW §5.1: Sge.reserved 0, checked when the lists are read */
	if (!sge_ok(c, sg_src.data(), ns, true) || !sge_ok(c, sg_dst.data(), nd, false)) [[unlikely]] {
		o.stop = true;
		return o;
	}
	uint64_t stot = 0, dtot = 0;
	bool zero = false;
	for (unsigned i = 0; i < ns; i++) {
		zero |= sg_src[i].length == 0;
		stot += sg_src[i].length;
	}
	for (unsigned i = 0; i < nd; i++) {
		zero |= sg_dst[i].length == 0;
		dtot += sg_dst[i].length;
	}
	if (zero || stot != dtot || (d.length != 0 && d.length != stot) || stot > cfg.max_xfer_len) {
		o.status = Status::InvalidLength;
		return o;
	}
	for (unsigned i = 0; i < ns; i++)
		if (!(sg_src_va[i] = dma(sg_src[i].addr, sg_src[i].length)))
			return fault(Status::InvalidSrcAddr, sg_src[i].addr);
	for (unsigned i = 0; i < nd; i++)
		if (!(sg_dst_va[i] = dma(sg_dst[i].addr, sg_dst[i].length)))
			return fault(Status::InvalidDstAddr, sg_dst[i].addr);
	unsigned i = 0, j = 0;
	uint32_t oi = 0, oj = 0;
	while (i < ns && j < nd) {
		const uint32_t n = std::min(sg_src[i].length - oi, sg_dst[j].length - oj);
		std::memmove(sg_dst_va[j] + oj, sg_src_va[i] + oi, n);
		oi += n;
		oj += n;
		if (oi == sg_src[i].length) {
			i++;
			oi = 0;
		}
		if (oj == sg_dst[j].length) {
			j++;
			oj = 0;
		}
	}
	c.cnt_bytes += stot;
	o.result = uint32_t(stot);
	return o;
}

} // namespace xcap::model
