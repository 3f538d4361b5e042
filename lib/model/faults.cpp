/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Fault injection of the xcap device model: failed descriptors, the lying
 * card (HW §7.4 card faults), stalls and surprise removal. Injected faults
 * are the card misbehaving, never contract violations of the host.
 */
#include <stdexcept>
#include <string>

#include "xcap_model_impl.h"

namespace xcap::model {

using hw::Status;

/* ---- fault injection and removal ------------------------------------------ */

const char *lie_name(FaultPlan::Lie l)
{
	using L = FaultPlan::Lie;
	switch (l) {
	case L::None: return "none";
	case L::WrongId: return "wrong completion id";
	case L::BadStatus: return "undefined status code";
	case L::EarlyPhase: return "completion beyond the doorbell";
	case L::HwHeadBack: return "HwHead going backwards";
	case L::BytesUsedOverrun: return "bytes_used beyond the posted buffer";
	case L::RecordOverrun: return "record overrunning bytes_used";
	case L::CountMismatch: return "record_count mismatch";
	}
	return "unknown";
}

FaultPlan::Lie Card::Impl::lie_due(Chan &c, uint64_t count)
{
	if (!c.lie_armed.load(std::memory_order_relaxed)) [[likely]]
		return FaultPlan::Lie::None;
	if (count < c.lie_nth.load(std::memory_order_relaxed))
		return FaultPlan::Lie::None;
	c.lie_armed.store(false, std::memory_order_relaxed);
	c.fired_lies.fetch_add(1, std::memory_order_relaxed);
	return FaultPlan::Lie(c.lie.load(std::memory_order_relaxed));
}

/* The parts of a lie that change a completion entry. */
void Card::Impl::lie_cpl(Chan &c, FaultPlan::Lie l, uint16_t, uint16_t &id, Status &st)
{
	switch (l) {
	case FaultPlan::Lie::WrongId:
		id ^= 0x8000;
		break;
	case FaultPlan::Lie::BadStatus:
		st = Status(c.lie_status.load(std::memory_order_relaxed));
		break;
	case FaultPlan::Lie::HwHeadBack:
		c.hwhead_back = 3;
		break;
	default:
		break;
	}
}

void Card::set_fault(unsigned chan, const FaultPlan &plan)
{
	if (chan >= impl_->chans.size())
		throw std::out_of_range("xcap model: set_fault: no channel " + std::to_string(chan));
	Chan &c = *impl_->chans[chan];
	c.fail_status.store(uint8_t(plan.fail_status), std::memory_order_relaxed);
	c.fail_nth.store(plan.fail_nth, std::memory_order_relaxed);
	c.fail_every.store(plan.fail_every, std::memory_order_relaxed);
	c.lie.store(uint8_t(plan.lie), std::memory_order_relaxed);
	c.lie_status.store(plan.lie_status, std::memory_order_relaxed);
	c.lie_nth.store(plan.lie_nth ? plan.lie_nth : 1, std::memory_order_relaxed);
	c.lie_armed.store(plan.lie != FaultPlan::Lie::None, std::memory_order_relaxed);
	c.stall.store(plan.stall, std::memory_order_release);
}

void Card::set_stall(unsigned chan, bool stall)
{
	if (chan >= impl_->chans.size())
		throw std::out_of_range("xcap model: set_stall: no channel " + std::to_string(chan));
	impl_->chans[chan]->stall.store(stall, std::memory_order_release);
}

void Card::vanish()
{
	impl_->vanished.store(true, std::memory_order_seq_cst);
	/* wait for a pass in flight: no DMA once we return (HW §7.4) */
	while (impl_->in_pass.load(std::memory_order_seq_cst))
		std::this_thread::yield();
	for (uint32_t off = 0; off < hw::kBar0Size; off += 4)
		impl_->bar.host_st(off, hw::kAllOnes); /* not the shadow: nothing samples a vanished card */
}

bool Card::vanished() const
{
	return impl_->vanished.load(std::memory_order_acquire);
}

Card::FaultsFired Card::faults_fired(unsigned chan) const
{
	if (chan >= impl_->chans.size())
		throw std::out_of_range("xcap model: faults_fired: no channel " + std::to_string(chan));
	const Chan &c = *impl_->chans[chan];
	return FaultsFired{c.fired_failures.load(std::memory_order_relaxed),
			   c.fired_lies.load(std::memory_order_relaxed)};
}

} // namespace xcap::model
