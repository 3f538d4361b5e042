/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Random fault scheduler for soak runs (xcap_fault_scheduler.h).
 */
#include "xcap_fault_scheduler.h"

namespace xcap::model {

const char *FaultScheduler::kind_name(Kind k)
{
	static const char *const names[] = {
		"address_fault", "halt", "stall", "lie_wrong_id", "lie_bad_status",
		"lie_hwhead_back", "bytes_used_overrun", "record_overrun", "count_mismatch",
		"vanish",
	};
	return size_t(k) < size_t(Kind::kCount) ? names[size_t(k)] : "?";
}

FaultScheduler::FaultScheduler(const Options &o) : o_(o), state_(o.seed ^ 0x5eedf00dcafe1234ull) {}

uint64_t FaultScheduler::rnd()
{
	/* splitmix64: the sequence depends on the seed only */
	uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void FaultScheduler::attach(Card *card, unsigned chan, bool halt_mode)
{
	card_ = card;
	chan_ = chan;
	halt_mode_ = halt_mode;
	active_ = false;
	next_at_ = 0; /* the next tick schedules */
}

void FaultScheduler::end_active()
{
	if (card_ != nullptr && active_)
		card_->set_fault(chan_, FaultPlan{}); /* clears fail_*, stall, an unfired lie */
	active_ = false;
}

void FaultScheduler::detach()
{
	end_active();
	card_ = nullptr;
}

uint64_t FaultScheduler::plan_vanish(uint64_t lo_ms, uint64_t hi_ms)
{
	vanish_at_ = hi_ms > lo_ms ? uniform(lo_ms, hi_ms - 1) : lo_ms;
	if (vanish_at_ == 0)
		vanish_at_ = 1;
	return vanish_at_;
}

void FaultScheduler::start_one(uint64_t now_ms)
{
	/* weights: address faults and stalls as often as all lies together */
	Kind menu[16];
	unsigned n = 0;
	if (o_.address_faults) {
		menu[n++] = halt_mode_ ? Kind::Halt : Kind::AddressFault;
		menu[n++] = halt_mode_ ? Kind::Halt : Kind::AddressFault;
	}
	if (o_.stalls) {
		menu[n++] = Kind::Stall;
		menu[n++] = Kind::Stall;
	}
	if (o_.lies)
		for (Kind k : {Kind::LieWrongId, Kind::LieBadStatus, Kind::LieHwHeadBack,
			       Kind::BytesUsedOverrun, Kind::RecordOverrun, Kind::CountMismatch})
			menu[n++] = k;
	if (n == 0)
		return;
	const Kind k = menu[rnd() % n];
	FaultPlan p;
	uint64_t window = 0;
	switch (k) {
	case Kind::AddressFault:
	case Kind::Halt:
		p.fail_every = uniform(5, 60);
		p.fail_status = hw::Status::InvalidDstAddr;
		window = uniform(20, 300);
		break;
	case Kind::Stall:
		p.stall = true;
		window = uniform(10, o_.max_stall_ms);
		break;
	default: {
		static const FaultPlan::Lie lies[] = {
			FaultPlan::Lie::WrongId, FaultPlan::Lie::BadStatus, FaultPlan::Lie::HwHeadBack,
			FaultPlan::Lie::BytesUsedOverrun, FaultPlan::Lie::RecordOverrun,
			FaultPlan::Lie::CountMismatch,
		};
		p.lie = lies[size_t(k) - size_t(Kind::LieWrongId)];
		p.lie_nth = 1; /* the next buffer the card completes */
		window = 200;  /* then disarmed if it did not fire (no traffic) */
		break;
	}
	}
	card_->set_fault(chan_, p);
	counts_[size_t(k)]++;
	active_ = true;
	active_kind_ = k;
	active_until_ = now_ms + window;
}

void FaultScheduler::tick(uint64_t now_ms)
{
	if (card_ == nullptr)
		return;
	if (active_ && now_ms >= active_until_) {
		end_active();
		next_at_ = now_ms + uniform(o_.mean_gap_ms / 2, o_.mean_gap_ms * 3 / 2);
	}
	if (!active_ && next_at_ == 0)
		next_at_ = now_ms + uniform(o_.mean_gap_ms / 2, o_.mean_gap_ms * 3 / 2);
	if (!active_ && now_ms >= next_at_)
		start_one(now_ms);
}

} // namespace xcap::model
