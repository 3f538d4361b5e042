/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The engine's arbiter (HW §3.6): the order in which one engine pass serves
 * the channels when their priorities differ. With every Priority equal (the
 * reset state) pass() does not come here: it gives every channel one turn
 * in channel order, which is the round robin of HW §3.6 with nothing to
 * preempt it.
 *
 * A pass here gives every channel one turn too, in priority order and, in a
 * level, in channel order. A turn is what service() does for the channel:
 * control, then up to kDescBatch descriptors (copy) or the frames due
 * (capture). Before every descriptor and every record of a turn, the channel
 * checks whether a channel of a higher priority is ready (higher_ready());
 * if so it stops, the engine serves the higher levels (each of them a turn,
 * preemptible in turn by the levels above it), and the stopped turn resumes
 * with what is left of its quantum. So a ready channel waits at most for
 * the one unit of lower-priority work in progress.
 */
#include <algorithm>

#include "xcap_model_impl.h"

namespace xcap::model {

using hw::ChannelState;
namespace reg = hw::reg;
namespace ch = hw::reg::ch;

/* HW §3.6: Priority is read at every arbitration; here at the start of
 * every pass, so a write takes effect from the next pass on. When the
 * levels differ, fills arb_order (by level, then channel number) and
 * arb_first, and returns true. A counting sort: no allocation, O(channels). */
bool Card::Impl::prioritised()
{
	const unsigned levels = cfg.priority_levels;
	if (levels <= 1)
		return false;
	/* The common case, every pass: the same value everywhere (the reset
	 * state). Four instructions per channel. */
	const uint32_t first = bar.ld(chans[0]->rb + ch::kPriority) & hw::prio::kLevelMask;
	uint32_t differ = 0;
	for (auto &c : chans)
		differ |= (bar.ld(c->rb + ch::kPriority) & hw::prio::kLevelMask) ^ first;
	if (differ == 0)
		return false;
	unsigned count[hw::arbcaps::kMaxPrioLevels] = {};
	unsigned lo = levels, hi = 0;
	for (auto &c : chans) {
		c->level = hw::effective_priority(bar.ld(c->rb + ch::kPriority), levels);
		count[c->level]++;
		lo = std::min(lo, c->level);
		hi = std::max(hi, c->level);
	}
	if (lo == hi) /* e.g. 5 and 7 on a card with 4 levels: both the lowest */
		return false;
	unsigned next[hw::arbcaps::kMaxPrioLevels];
	unsigned at = 0;
	for (unsigned l = 0; l < levels; l++) {
		arb_first[l] = next[l] = at;
		at += count[l];
	}
	for (auto &c : chans)
		arb_order[next[c->level]++] = c.get();
	return true;
}

bool Card::Impl::higher_ready()
{
	uint64_t now = 0; /* read once, and only for a capture channel */
	for (unsigned i = 0; i < arb_nhi; i++)
		if (chan_ready(*arb_order[i], now))
			return true;
	return false;
}

/* HW §3.6 "ready": work the engine would do for this channel now. now is
 * read on first need (capture channels only) and shared by the caller's
 * checks. */
bool Card::Impl::chan_ready(Chan &c, uint64_t &now)
{
	if (c.state != ChannelState::Running || !arb_genable ||
	    c.stall.load(std::memory_order_relaxed))
		return false;
	const uint16_t db = uint16_t(bar.ld(c.rb + ch::kDoorbell));
	if (!c.capture)
		return db != c.head; /* descriptors submitted, not processed */
	CaptureChan &k = *c.cap;
	/* a buffer to write into: the open one, or one posted and not fetched;
	 * frames with no buffer are dropped by the FIFO, not by the engine */
	const CaptureEntry *e = k.front();
	if (!((e && e->buffer) || (db != c.fetch && !c.halt_pending)))
		return false;
	if (now == 0)
		now = now_ns();
	if (k.records > 0) {
		const uint64_t flush_us = bar.ld(c.rb + ch::kCapFlushUs);
		if (flush_us && now >= k.first_ts + flush_us * 1000)
			return true; /* the open buffer's flush timeout (HW §8.3) */
	}
	FrameGen &g = k.gen;
	if (g.paused || g.exhausted() || now < g.t0)
		return false;
	if (g.max_rate)
		return true; /* back-pressured: a frame whenever there is room */
	if (!g.ready)
		g.prepare(); /* the same frame cap_generate() takes next */
	return g.ts <= now; /* a frame waits in the FIFO */
}

size_t Card::Impl::arbitrate(bool genable, uint64_t now)
{
	arb_genable = genable;
	size_t work = 0;
	for (unsigned i = 0; i < chans.size() && !gone(); i++)
		work += arb_visit(i, now);
	arb_nhi = 0;
	arb_preempted = false;
	return work;
}

/* One turn of arb_order[i], with the higher levels served whenever they
 * become ready during it. Recurses at most once per level above it. */
size_t Card::Impl::arb_visit(unsigned i, uint64_t now)
{
	Chan &c = *arb_order[i];
	const unsigned higher = arb_first[c.level];
	uint32_t budget = kDescBatch;
	size_t work = 0;
	for (unsigned rounds = 1;; rounds++) {
		arb_nhi = higher;
		arb_budget = budget;
		arb_preempted = false;
		const uint64_t before = arb_units;
		work += service(c, arb_genable, now);
		budget = arb_budget;
		/* The turn ends when it was not preempted, its quantum is used up,
		 * or it was preempted before doing anything (a higher channel
		 * became ready again at once: strict priority, the next pass
		 * serves the higher levels first anyway). Every round did at least
		 * one unit, and there are at most kDescBatch rounds: that bounds
		 * a capture channel's turn too (a back-pressured source has no
		 * time limit), so the pass ends and the channels after it get
		 * their turns. */
		if (!arb_preempted || arb_units == before || budget == 0 || rounds >= kDescBatch ||
		    gone())
			break;
		/* The higher levels are served at the current time; this turn
		 * then resumes with the rest of its quantum and its own time (a
		 * capture channel takes the frames due when the turn began). */
		const uint64_t t = now_ns();
		bar.st64_live(reg::kTimeLo, t);
		for (unsigned j = 0; j < higher && !gone(); j++)
			work += arb_visit(j, t);
	}
	return work;
}

} // namespace xcap::model
