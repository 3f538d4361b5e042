/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * A random fault scheduler for soak runs: seeded and reproducible, it drives
 * one channel of a model Card through model::FaultPlan over time (address
 * faults, stalls, lying completions and malformed capture buffers), one
 * fault at a time, each for a bounded window. The vanish and re-probe are the
 * harness's business (it must detach and recreate the device); the scheduler
 * only says when (vanish_due()).
 *
 * Not thread-safe: one thread calls tick(); the card may be running.
 */
#ifndef XCAP_FAULT_SCHEDULER_H
#define XCAP_FAULT_SCHEDULER_H

#include <array>
#include <cstdint>

#include "xcap_model.h"

namespace xcap::model {

class FaultScheduler {
public:
	enum class Kind : uint8_t {
		AddressFault,     /* fail_every with InvalidDstAddr (continue mode) */
		Halt,             /* the same on a card created with halt_on_error=1 */
		Stall,            /* set_stall on, then off */
		LieWrongId,       /* FaultPlan::Lie, once at the next completed buffer */
		LieBadStatus,
		LieHwHeadBack,
		BytesUsedOverrun, /* malformed capture buffers */
		RecordOverrun,
		CountMismatch,
		Vanish,           /* counted by the harness (vanished()) */
		kCount
	};
	static const char *kind_name(Kind k);

	struct Options {
		uint64_t seed = 1;
		unsigned mean_gap_ms = 600;  /* mean quiet time between two faults */
		unsigned max_stall_ms = 300; /* well below the PMD's 1 s stop timeout */
		bool lies = true;
		bool address_faults = true;
		bool stalls = true;
	};
	explicit FaultScheduler(const Options &o);

	/* A new card (after a re-probe): no fault active; halt_mode says whether
	 * the device was created with halt_on_error=1 (address faults halt). */
	void attach(Card *card, unsigned chan, bool halt_mode);
	/* Clear whatever is active on the attached card and detach. */
	void detach();
	/* Advance to now (ms since the start of the run): end the active fault
	 * when its window is over, start the next one when due. */
	void tick(uint64_t now_ms);
	/* Pick a vanish time in [lo_ms, hi_ms) (reproducibly) and report it. */
	uint64_t plan_vanish(uint64_t lo_ms, uint64_t hi_ms);
	bool vanish_due(uint64_t now_ms) const { return vanish_at_ != 0 && now_ms >= vanish_at_; }
	void vanished() { counts_[size_t(Kind::Vanish)]++; vanish_at_ = 0; }

	/* faults started, by kind */
	const std::array<uint64_t, size_t(Kind::kCount)> &injected() const { return counts_; }

private:
	uint64_t rnd();
	uint64_t uniform(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); }
	void start_one(uint64_t now_ms);
	void end_active();

	Options o_;
	uint64_t state_;
	Card *card_ = nullptr;
	unsigned chan_ = 0;
	bool halt_mode_ = false;
	bool active_ = false;
	Kind active_kind_ = Kind::AddressFault;
	uint64_t active_until_ = 0;
	uint64_t next_at_ = 0;
	uint64_t vanish_at_ = 0;
	std::array<uint64_t, size_t(Kind::kCount)> counts_{};
};

} // namespace xcap::model

#endif /* XCAP_FAULT_SCHEDULER_H */
