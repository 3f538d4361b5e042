/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The model's arbiter (HW §3.6): ArbCaps, the channel Priority register,
 * and the order in which the engine serves channels, single-threaded with
 * poll_once() so that the order is exact.
 *
 * The order is observed through host memory only: channel A's descriptor i
 * copies one byte 0x01 to marks[i]; channel B's descriptor j copies the whole
 * marks array into snap[j]. The ones in snap[j] are the A descriptors the
 * engine had executed before B's j-th (the model executes one descriptor at
 * a time, and a copy reads its source when it executes).
 */
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "model_harness.h"

using namespace xcap::test;
using hw::ChannelState;
using hw::Opcode;
using hw::Status;

namespace {

constexpr unsigned kN = 600;     /* descriptors per channel: more than two quanta */
constexpr unsigned kQuantum = 256; /* the model's turn (kDescBatch) */

class Order {
public:
	Order(Harness &h, unsigned a = 0, unsigned b = 1) : h_(h)
	{
		one_ = h.alloc(64);
		*h.host(one_) = 1;
		marks_ = h.alloc(kN);
		snap_ = h.alloc(size_t(kN) * kN);
		ra_ = h.open(a, 10);
		rb_ = h.open(b, 10);
	}
	/* Post all descriptors of both channels, then ring both doorbells. */
	void post()
	{
		for (unsigned i = 0; i < kN; i++)
			h_.post(ra_, make_desc(Opcode::Copy, one_, marks_ + i, 1));
		for (unsigned j = 0; j < kN; j++)
			h_.post(rb_, make_desc(Opcode::Copy, marks_, snap_ + size_t(j) * kN, kN));
		h_.doorbell(ra_);
		h_.doorbell(rb_);
	}
	/* How many A descriptors had run before B's j-th. */
	unsigned seen(unsigned j)
	{
		const uint8_t *s = h_.host(snap_ + size_t(j) * kN);
		unsigned n = 0;
		while (n < kN && s[n] == 1)
			n++;
		for (unsigned k = n; k < kN; k++)
			EXPECT_EQ(s[k], 0) << "snapshot " << j << ": A ran out of order at " << k;
		return n;
	}
	/* Every descriptor of both channels completed Successful, in order. */
	void check_all_completed()
	{
		for (Ring *r : {&ra_, &rb_})
			for (unsigned i = 0; i < kN; i++) {
				const hw::Completion c = h_.next(*r);
				EXPECT_EQ(c.status, uint8_t(Status::Successful));
				EXPECT_EQ(c.id, uint16_t(i));
			}
	}
	Ring &a() { return ra_; }
	Ring &b() { return rb_; }

private:
	Harness &h_;
	uint64_t one_ = 0, marks_ = 0, snap_ = 0;
	Ring ra_, rb_;
};

CardConfig two_copy()
{
	CardConfig cfg;
	cfg.copy_channels = 2;
	cfg.max_ring_log2 = 10;
	return cfg;
}

} // namespace

/* ---- registers (HW §2.1, §3.1, §3.6) -------------------------------------- */

TEST(ModelPriority, CapabilityAndResetValue)
{
	CardConfig cfg;
	cfg.copy_channels = 2;
	cfg.capture_channels = 1;
	Harness h(cfg);
	EXPECT_EQ(h.rd(reg::kArbCaps), 4u) << "the model's default PrioLevels";
	for (unsigned c = 0; c < 3; c++)
		EXPECT_EQ(h.crd(c, ch::kPriority), 0u) << "channel " << c << " after power-on";

	/* RW, and a configuration register: channel and card reset keep it
	 * (HW §2.2, §3.6), like the ring bases. */
	h.cwr(1, ch::kPriority, 3);
	EXPECT_EQ(h.crd(1, ch::kPriority), 3u);
	h.cwr(1, ch::kCtrl, hw::chctrl::kReset);
	h.run();
	EXPECT_EQ(h.crd(1, ch::kCtrl), 0u);
	EXPECT_EQ(h.crd(1, ch::kPriority), 3u);
	h.wr(reg::kGlobalCtrl, hw::gctrl::kReset);
	h.run();
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), 0u);
	EXPECT_EQ(h.crd(1, ch::kPriority), 3u);
	EXPECT_EQ(h.crd(0, ch::kPriority), 0u);

	for (unsigned levels : {0u, 1u, 2u, 16u}) {
		CardConfig c2;
		c2.priority_levels = levels;
		Harness h2(c2);
		EXPECT_EQ(h2.rd(reg::kArbCaps), levels);
	}
	CardConfig bad;
	bad.priority_levels = hw::arbcaps::kMaxPrioLevels + 1;
	AlignedBuf bar(hw::kBar0Size);
	Iommu io(48);
	EXPECT_THROW(Card(bad, bar.p, io), std::invalid_argument);
}

/* ---- arbitration order ------------------------------------------------------ */

/* Equal priorities, whatever the value: round robin, one quantum (256
 * descriptors) per channel per turn, in channel order. This is the model's
 * behaviour without priorities. */
TEST(ModelPriority, EqualPrioritiesTakeTurns)
{
	for (uint32_t p : {0u, 2u, 9u /* acts as 3, the lowest */}) {
		SCOPED_TRACE("priority " + std::to_string(p));
		Harness h(two_copy());
		Order o(h);
		h.cwr(0, ch::kPriority, p);
		h.cwr(1, ch::kPriority, p);
		o.post();
		for (unsigned pass = 1; pass <= 3; pass++) {
			ASSERT_NE(h.card().poll_once(), 0u);
			const uint64_t done = std::min(kN, pass * kQuantum);
			EXPECT_EQ(h.counter(0, ch::kCntDescLo), done) << "pass " << pass;
			EXPECT_EQ(h.counter(1, ch::kCntDescLo), done) << "pass " << pass;
		}
		h.run();
		for (unsigned j = 0; j < kN; j++)
			ASSERT_EQ(o.seen(j), std::min(kN, (j / kQuantum + 1) * kQuantum)) << "B op " << j;
		o.check_all_completed();
	}
}

/* A channel of higher priority (lower value) has all its ready work served
 * before a lower-priority channel gets any, whichever channel number it has. */
TEST(ModelPriority, HigherPriorityServedFirst)
{
	{
		SCOPED_TRACE("A (channel 0) higher");
		Harness h(two_copy());
		Order o(h);
		h.cwr(0, ch::kPriority, 0);
		h.cwr(1, ch::kPriority, 1);
		o.post();
		h.run();
		for (unsigned j = 0; j < kN; j++)
			ASSERT_EQ(o.seen(j), kN) << "B op " << j << " ran before A was done";
		o.check_all_completed();
	}
	{
		SCOPED_TRACE("B (channel 1) higher, A at a value above the levels");
		Harness h(two_copy());
		Order o(h);
		h.cwr(0, ch::kPriority, 15); /* acts as 3 */
		h.cwr(1, ch::kPriority, 2);
		o.post();
		/* B's 600 take three quanta; A gets nothing until B has no work. */
		for (unsigned pass = 1; pass <= 3; pass++) {
			h.card().poll_once();
			EXPECT_EQ(h.counter(1, ch::kCntDescLo), std::min(kN, pass * kQuantum));
			EXPECT_EQ(h.counter(0, ch::kCntDescLo), pass < 3 ? 0u : kQuantum) << "pass " << pass;
		}
		h.run();
		for (unsigned j = 0; j < kN; j++)
			ASSERT_EQ(o.seen(j), 0u) << "A ran before B op " << j;
		o.check_all_completed();
	}
}

/* A priority written while the channels run takes effect at the next
 * arbitration (the model's next pass). */
TEST(ModelPriority, ChangeTakesEffectAtNextPass)
{
	Harness h(two_copy());
	Order o(h);
	o.post();
	h.card().poll_once(); /* equal: a quantum each */
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), kQuantum);
	EXPECT_EQ(h.counter(1, ch::kCntDescLo), kQuantum);
	h.cwr(0, ch::kPriority, 0);
	h.cwr(1, ch::kPriority, 3);
	h.run();
	for (unsigned j = 0; j < kN; j++)
		ASSERT_EQ(o.seen(j), j < kQuantum ? kQuantum : kN) << "B op " << j;
	o.check_all_completed();
}

/* Only ready channels count: a halted higher-priority channel with
 * descriptors pending does not hold a lower one back (HW §3.6). */
TEST(ModelPriority, HaltedChannelIsNotReady)
{
	Harness h(two_copy());
	const uint64_t buf = h.alloc(4096);
	Ring a = h.open(0, 6, hw::chctrl::kHaltOnError);
	Ring b = h.open(1, 6);
	h.cwr(0, ch::kPriority, 0);
	h.cwr(1, ch::kPriority, 1);
	h.post(a, make_desc(Opcode::Copy, buf, buf + 2048, 0)); /* length 0: fails, halts */
	for (unsigned i = 0; i < 8; i++)
		h.post(a, make_desc(Opcode::Copy, buf, buf + 2048, 64));
	for (unsigned i = 0; i < 8; i++)
		h.post(b, make_desc(Opcode::Copy, buf + 1024, buf + 3072, 64));
	h.doorbell(a);
	h.doorbell(b);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Halted);
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 1u);
	EXPECT_EQ(h.counter(1, ch::kCntDescLo), 8u) << "the lower channel waited for a halted one";
	EXPECT_EQ(h.next(a).status, uint8_t(Status::InvalidLength));
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable | hw::chctrl::kHaltOnError | hw::chctrl::kResume);
	h.run();
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 9u);
}

/* A capture channel at a higher priority than a copy channel with a lower
 * number is served first in the pass: the copy channel's snapshot of the
 * capture buffer already holds the records (a back-pressured source, so
 * nothing depends on time). At equal priority, channel order: the copy runs
 * first and sees the buffer untouched. */
TEST(ModelPriority, CaptureChannelServedBeforeCopy)
{
	for (bool prio : {false, true}) {
		SCOPED_TRACE(prio ? "capture at priority 0, copy at 1" : "equal priorities");
		CardConfig cfg;
		cfg.copy_channels = 1;
		cfg.capture_channels = 1;
		xcap::model::CaptureProfile p;
		p.rate_pps = 0; /* back-pressured */
		p.frame_min = 64;
		p.count = 10;
		cfg.capture = {p};
		Harness h(cfg);
		Ring cp = h.open(0, 4);
		Ring cap = h.open(1, 4);
		if (prio) {
			h.cwr(0, ch::kPriority, 1);
			h.cwr(1, ch::kPriority, 0);
		}
		const uint64_t buf = h.alloc(4096);
		std::memset(h.host(buf), 0xee, 4096);
		const uint64_t snap = h.alloc(4096);
		h.post(cap, make_desc(Opcode::Capture, 0, buf, 4096));
		h.post(cp, make_desc(Opcode::Copy, buf, snap, 4096));
		h.doorbell(cap);
		h.doorbell(cp);
		h.card().poll_once();
		ASSERT_TRUE(h.ready(cp, 0));
		EXPECT_EQ(h.next(cp).status, uint8_t(Status::Successful));
		hw::RecordHeader first;
		std::memcpy(&first, h.host(snap) + sizeof(hw::CaptureBufferHeader), sizeof first);
		if (prio) {
			EXPECT_EQ(first.wire_len, 64u) << "the copy ran before the capture channel";
			EXPECT_EQ(first.cap_len, 64u);
		} else {
			EXPECT_EQ(first.wire_len, 0xeeeeeeeeu) << "channel order: the copy runs first";
		}
		EXPECT_EQ(h.card().capture_counters(0).generated, 10u);
	}
}

/* CaptureProfile::start_delay_us: no frame before enable + delay, so a host
 * can post its buffers first and lose nothing (HW §8.1). */
TEST(ModelPriority, CaptureStartDelay)
{
	CardConfig cfg;
	cfg.copy_channels = 0;
	cfg.capture_channels = 1;
	xcap::model::CaptureProfile p;
	p.rate_pps = 1e6;
	p.frame_min = 64;
	p.count = 100;
	p.start_delay_us = 20'000;
	cfg.capture = {p};
	Harness h(cfg);
	Ring cap = h.open(0, 4);
	h.card().poll_once();
	EXPECT_EQ(h.card().capture_counters(0).generated, 0u) << "a frame before the delay";
	h.post(cap, make_desc(Opcode::Capture, 0, h.alloc(16384), 16384));
	h.doorbell(cap);
	const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
	while (h.card().capture_counters(0).generated < 100 && std::chrono::steady_clock::now() < end)
		h.card().poll_once();
	const auto k = h.card().capture_counters(0);
	EXPECT_EQ(k.generated, 100u);
	EXPECT_EQ(k.lost_no_buffer, 0u);
	EXPECT_EQ(k.lost_overrun, 0u);
	EXPECT_EQ(k.delivered + k.in_buffer, 100u);
}
