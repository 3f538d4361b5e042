/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The lying card (HW §7.4 "card faults"): FaultPlan::Lie makes the model
 * write wrong control data once. These tests pin down exactly what each lie
 * writes, so that the driver tests (test/pmd/test_lying_card.cpp) and the
 * capture parser tests below know what they are up against. The capture
 * lies are also fed to lib/capture's buffer parser, which must reject them
 * without reading outside the posted buffer.
 */
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "model_harness.h"
#include "xcap_capture_parse.h"

using namespace xcap::test;
using hw::ChannelState;
using hw::Opcode;
using hw::Status;
using xcap::model::CaptureProfile;
using xcap::model::FaultPlan;
using Lie = xcap::model::FaultPlan::Lie;
namespace cap = xcap::capture;

namespace {

FaultPlan lie(Lie l, uint64_t nth = 1, uint8_t status = 0x42)
{
	FaultPlan p;
	p.lie = l;
	p.lie_nth = nth;
	p.lie_status = status;
	return p;
}

/* n 64-byte copies on ring r, doorbell, run. */
void copies(Harness &h, Ring &r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint64_t s = h.alloc(64), d = h.alloc(64);
		std::memset(h.host(s), int(i + 1), 64);
		h.post(r, make_desc(Opcode::Copy, s, d, 64));
	}
	h.doorbell(r);
	h.run();
}

} // namespace

TEST(ModelLies, NamesAreDistinct)
{
	EXPECT_STREQ(xcap::model::lie_name(Lie::None), "none");
	EXPECT_STRNE(xcap::model::lie_name(Lie::WrongId), xcap::model::lie_name(Lie::BadStatus));
	EXPECT_STREQ(xcap::model::lie_name(Lie::HwHeadBack), "HwHead going backwards");
}

TEST(ModelLies, DefaultPlanTellsTheTruth)
{
	Harness h;
	h.card().set_fault(0, FaultPlan{});
	Ring r = h.open(0);
	copies(h, r, 8);
	for (uint16_t i = 0; i < 8; i++) {
		auto c = h.next(r);
		EXPECT_EQ(c.id, i);
		EXPECT_EQ(c.status, uint8_t(Status::Successful));
	}
	EXPECT_FALSE(h.ready(r, 8));
	EXPECT_EQ(h.crd(0, ch::kHwHead), 8u);
}

TEST(ModelLies, WrongIdOnceAtNth)
{
	Harness h;
	h.card().set_fault(0, lie(Lie::WrongId, 3));
	Ring r = h.open(0);
	copies(h, r, 6);
	for (uint16_t i = 0; i < 6; i++) {
		auto c = h.next(r);
		EXPECT_EQ(c.id, i == 2 ? uint16_t(i ^ 0x8000) : i) << "index " << i;
		EXPECT_EQ(c.status, uint8_t(Status::Successful));
	}
	/* one-shot: the next pass over the ring tells the truth */
	copies(h, r, 4);
	for (uint16_t i = 6; i < 10; i++)
		EXPECT_EQ(h.next(r).id, i);
	EXPECT_EQ(h.state(0), ChannelState::Running) << "the card does not know it lied";
}

TEST(ModelLies, UndefinedStatus)
{
	Harness h;
	h.card().set_fault(0, lie(Lie::BadStatus, 2, 0x42));
	Ring r = h.open(0);
	copies(h, r, 3);
	EXPECT_EQ(h.next(r).status, 0);
	auto c = h.next(r);
	EXPECT_EQ(c.status, 0x42);
	EXPECT_EQ(c.id, 1);
	EXPECT_EQ(h.next(r).status, 0);
}

TEST(ModelLies, EarlyPhaseWritesBeyondTheDoorbell)
{
	Harness h;
	h.card().set_fault(0, lie(Lie::EarlyPhase, 4));
	Ring r = h.open(0, 4);
	copies(h, r, 4); /* doorbell 4 */
	for (uint16_t i = 0; i < 4; i++)
		EXPECT_EQ(h.next(r).id, i);
	/* index 4 was never submitted, yet it carries the current phase */
	EXPECT_TRUE(h.ready(r, 4));
	EXPECT_EQ(h.cpl(r, 4).id, 4);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 4u) << "HwHead itself is honest";
}

TEST(ModelLies, HwHeadGoesBackwardsUntilReset)
{
	Harness h;
	h.card().set_fault(0, lie(Lie::HwHeadBack, 5));
	Ring r = h.open(0);
	copies(h, r, 4);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 4u);
	copies(h, r, 1);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 2u) << "5 consumed, HwHead says 2";
	EXPECT_TRUE(h.ready(r, 4)) << "the completion itself is honest";
	h.cwr(0, ch::kCtrl, hw::chctrl::kReset);
	h.run();
	EXPECT_EQ(h.crd(0, ch::kHwHead), 0u);
	Ring r2 = h.open(0);
	copies(h, r2, 3);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 3u) << "reset ends the lie";
}

TEST(ModelLies, OtherChannelsTellTheTruth)
{
	CardConfig cfg;
	cfg.copy_channels = 2;
	Harness h(cfg);
	h.card().set_fault(0, lie(Lie::WrongId, 1));
	h.global_enable();
	Ring a = h.program(0, 4), b = h.program(1, 4);
	h.run();
	copies(h, a, 2);
	copies(h, b, 2);
	EXPECT_EQ(h.next(a).id, 0x8000);
	EXPECT_EQ(h.next(b).id, 0);
	EXPECT_EQ(h.next(b).id, 1);
}

TEST(ModelLies, SetFaultRejectsUnknownChannel)
{
	Harness h;
	EXPECT_THROW(h.card().set_fault(7, lie(Lie::WrongId)), std::out_of_range);
}

/* ---- capture lies, checked against lib/capture's parser ------------------- */

namespace {

CardConfig cap_cfg(uint64_t frames)
{
	CardConfig cfg;
	cfg.copy_channels = 1;
	cfg.capture_channels = 1;
	CaptureProfile p;
	p.rate_pps = 0; /* back-pressured */
	p.frame_min = 100;
	p.count = frames;
	cfg.capture = {p};
	return cfg;
}

struct CapLie {
	Harness h{cap_cfg(10), 16u << 20};
	Ring r;
	uint64_t buf = 0;
	static constexpr uint32_t kLen = 8192;

	/* one buffer, 10 frames, completed by the flush timeout */
	hw::Completion run(const FaultPlan &p)
	{
		h.card().set_fault(1, p);
		r = h.open(1, 4);
		buf = h.alloc(kLen + 8192); /* room after the posted length: a canary */
		std::memset(h.host(buf), 0xee, kLen + 8192);
		h.post(r, make_desc(Opcode::Capture, 0, buf, kLen));
		h.doorbell(r);
		const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
		while (!h.ready(r, 0) && std::chrono::steady_clock::now() < end)
			h.card().poll_once();
		EXPECT_TRUE(h.ready(r, 0));
		return h.next(r);
	}
	hw::CaptureBufferHeader header()
	{
		hw::CaptureBufferHeader hd;
		std::memcpy(&hd, h.host(buf), sizeof hd);
		return hd;
	}
	cap::BufferSummary parse() { return cap::summarize_buffer(h.host(buf), kLen); }
};

} // namespace

TEST(ModelLies, CaptureHonestBufferParses)
{
	CapLie t;
	auto c = t.run(FaultPlan{});
	EXPECT_EQ(c.result, 64 + 10 * hw::record_stride(100));
	auto s = t.parse();
	EXPECT_EQ(s.error, cap::BufferError::None);
	EXPECT_EQ(s.records, 10u);
	EXPECT_EQ(s.payload_bytes, 1000u);
}

TEST(ModelLies, CaptureBytesUsedOverrun)
{
	CapLie t;
	auto c = t.run(lie(Lie::BytesUsedOverrun));
	EXPECT_EQ(c.result, CapLie::kLen + 4096);
	EXPECT_EQ(t.header().bytes_used, CapLie::kLen + 4096);
	EXPECT_EQ(t.h.host(t.buf)[CapLie::kLen], 0xee) << "the model itself stays in the buffer";
	auto s = t.parse();
	EXPECT_EQ(s.error, cap::BufferError::BytesUsedTooLarge);
	EXPECT_EQ(s.records, 0u);
	EXPECT_EQ(s.malformed, 0u) << "an unusable header: nothing is known";
}

TEST(ModelLies, CaptureRecordOverrun)
{
	CapLie t;
	auto c = t.run(lie(Lie::RecordOverrun));
	EXPECT_EQ(c.status, 0);
	EXPECT_EQ(t.header().record_count, 10u);
	auto s = t.parse();
	EXPECT_EQ(s.error, cap::BufferError::RecordOverrun);
	EXPECT_EQ(s.records, 0u) << "the first record overruns: nothing after it is walked";
	EXPECT_EQ(s.malformed, 10u);
}

TEST(ModelLies, CaptureCountMismatch)
{
	CapLie t;
	t.run(lie(Lie::CountMismatch));
	EXPECT_EQ(t.header().record_count, 9u);
	auto s = t.parse();
	EXPECT_EQ(s.error, cap::BufferError::CountMismatch);
	EXPECT_EQ(s.records, 9u) << "the records announced are delivered";
}

TEST(ModelLies, CaptureWrongIdAndStatus)
{
	{
		CapLie t;
		EXPECT_EQ(t.run(lie(Lie::WrongId)).id, 0x8000);
	}
	{
		CapLie t;
		EXPECT_EQ(t.run(lie(Lie::BadStatus, 1, 0x42)).status, 0x42);
	}
}

TEST(ModelLies, CaptureLieAtSecondBuffer)
{
	Harness h(cap_cfg(0), 16u << 20); /* unlimited frames */
	h.card().set_fault(1, lie(Lie::BytesUsedOverrun, 2));
	Ring r = h.open(1, 4);
	std::vector<uint64_t> bufs;
	for (int i = 0; i < 3; i++) {
		bufs.push_back(h.alloc(4096));
		h.post(r, make_desc(Opcode::Capture, 0, bufs.back(), 4096));
	}
	h.doorbell(r);
	const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
	while (!h.ready(r, 2) && std::chrono::steady_clock::now() < end)
		h.card().poll_once();
	ASSERT_TRUE(h.ready(r, 2));
	EXPECT_LE(h.next(r).result, 4096u);
	EXPECT_EQ(h.next(r).result, 4096u + 4096u);
	EXPECT_LE(h.next(r).result, 4096u);
	EXPECT_EQ(cap::summarize_buffer(h.host(bufs[0]), 4096).error, cap::BufferError::None);
	EXPECT_EQ(cap::summarize_buffer(h.host(bufs[1]), 4096).error,
		  cap::BufferError::BytesUsedTooLarge);
	EXPECT_EQ(cap::summarize_buffer(h.host(bufs[2]), 4096).error, cap::BufferError::None);
}
