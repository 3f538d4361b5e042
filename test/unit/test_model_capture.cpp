/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Capture channels of the device model (HW §8): records, buffer headers,
 * completion when full / on timeout / on stop, loss accounting.
 */
#include <functional>
#include <map>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "model_harness.h"

using namespace xcap::test;
using hw::ChannelState;
using hw::Opcode;
using hw::Status;
using xcap::model::CaptureProfile;
using xcap::model::FrameSizeMode;
using xcap::model::payload_byte;

namespace {

constexpr unsigned kCap = 1; /* channel 0 copies, channel 1 captures */
constexpr uint8_t S(Status s) { return uint8_t(s); }

CardConfig cap_cfg(const CaptureProfile &p)
{
	CardConfig cfg;
	cfg.copy_channels = 1;
	cfg.capture_channels = 1;
	cfg.capture = {p};
	return cfg;
}

CaptureProfile profile(double pps, uint32_t frame, uint64_t count)
{
	CaptureProfile p;
	p.rate_pps = pps;
	p.frame_min = frame;
	p.count = count;
	return p;
}

struct Rec {
	hw::RecordHeader h;
	uint64_t seq;
};

struct Parsed {
	hw::CaptureBufferHeader hdr;
	std::vector<Rec> recs;
};

/* Parse and verify a completed buffer: records back to back from byte 64,
 * payload byte-exact (seq from bytes 0..7), zero padding. */
Parsed parse(const uint8_t *buf, uint32_t buf_len)
{
	Parsed p;
	std::memcpy(&p.hdr, buf, sizeof p.hdr);
	EXPECT_EQ(p.hdr.magic, hw::kCaptureMagic);
	EXPECT_LE(p.hdr.bytes_used, buf_len);
	uint32_t off = sizeof(hw::CaptureBufferHeader);
	for (uint32_t i = 0; i < p.hdr.record_count; i++) {
		Rec r;
		std::memcpy(&r.h, buf + off, sizeof r.h);
		const uint8_t *pl = buf + off + sizeof r.h;
		uint8_t sb[8] = {};
		std::memcpy(sb, pl, std::min<uint32_t>(8, r.h.cap_len));
		std::memcpy(&r.seq, sb, 8);
		for (uint32_t b = 0; b < r.h.cap_len; b++)
			if (pl[b] != payload_byte(r.seq, b)) {
				ADD_FAILURE() << "payload mismatch, record " << i << " byte " << b;
				break;
			}
		const uint32_t stride = hw::record_stride(r.h.cap_len);
		for (uint32_t b = sizeof r.h + r.h.cap_len; b < stride; b++)
			EXPECT_EQ(buf[off + b], 0) << "padding of record " << i;
		off += stride;
		p.recs.push_back(r);
	}
	EXPECT_EQ(off, p.hdr.bytes_used);
	if (!p.recs.empty()) {
		EXPECT_EQ(p.hdr.first_ts_ns, p.recs.front().h.ts_ns);
		EXPECT_EQ(p.hdr.last_ts_ns, p.recs.back().h.ts_ns);
	}
	return p;
}

class CapHarness : public Harness {
public:
	explicit CapHarness(const CaptureProfile &p, size_t mem = 16u << 20) : Harness(cap_cfg(p), mem) {}

	uint64_t post_buffer(Ring &r, uint32_t len)
	{
		const uint64_t b = alloc(len, 64);
		std::memset(host(b), 0xee, len);
		post(r, make_desc(Opcode::Capture, 0, b, len));
		bufs[uint16_t(r.prod - 1)] = {b, len};
		return b;
	}
	/* poll (or wait for the thread) until pred holds, bounded */
	bool until(const std::function<bool()> &pred, std::chrono::milliseconds t = std::chrono::seconds(5))
	{
		const auto end = std::chrono::steady_clock::now() + t;
		while (std::chrono::steady_clock::now() < end) {
			if (!card().running())
				card().poll_once();
			if (pred())
				return true;
			if (card().running())
				std::this_thread::sleep_for(std::chrono::microseconds(20));
		}
		return pred();
	}
	Parsed parse_at(uint16_t idx)
	{
		auto &b = bufs.at(idx);
		return parse(host(b.first), b.second);
	}
	Card::CaptureCounters counters() { return card().capture_counters(0); }
	void check_invariant()
	{
		auto c = counters();
		EXPECT_EQ(c.generated, c.delivered + c.lost_no_buffer + c.lost_overrun + c.in_buffer);
	}
	std::map<uint16_t, std::pair<uint64_t, uint32_t>> bufs; /* ring index -> iova, len */
};

} // namespace

TEST(ModelCapture, PayloadByteFunction)
{
	const uint64_t seq = 0x0102030405060708ull;
	for (uint32_t i = 0; i < 8; i++)
		EXPECT_EQ(payload_byte(seq, i), uint8_t(8 - i));
	EXPECT_EQ(payload_byte(seq, 8), uint8_t(0x08 + 8));
	EXPECT_EQ(payload_byte(seq, 300), uint8_t(0x08 + 300));
	EXPECT_EQ(payload_byte(0, 8), 8);
	EXPECT_EQ(payload_byte(250, 10), uint8_t(260));
}

TEST(ModelCapture, RecordsParse)
{
	CapHarness h(profile(0, 100, 50)); /* back-pressured, 50 frames of 100 B */
	Ring r = h.open(kCap, 4);
	h.post_buffer(r, 8192);
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.ready(r, 0); })); /* flush timeout (100 us) */
	auto c = h.next(r);
	EXPECT_EQ(c.status, S(Status::Successful));
	const uint32_t used = 64 + 50 * hw::record_stride(100);
	EXPECT_EQ(c.result, used);
	EXPECT_EQ(c.id, 0);
	Parsed p = h.parse_at(0);
	EXPECT_EQ(p.hdr.bytes_used, used);
	EXPECT_EQ(p.hdr.record_count, 50u);
	EXPECT_EQ(p.hdr.flags, hw::bflag::kTimeout);
	EXPECT_EQ(p.hdr.sequence, 0u);
	EXPECT_EQ(p.hdr.lost_no_buffer, 0u);
	EXPECT_EQ(p.hdr.lost_overrun, 0u);
	EXPECT_EQ(p.hdr.reserved, 0u);
	ASSERT_EQ(p.recs.size(), 50u);
	for (size_t i = 0; i < p.recs.size(); i++) {
		EXPECT_EQ(p.recs[i].seq, i);
		EXPECT_EQ(p.recs[i].h.wire_len, 100u);
		EXPECT_EQ(p.recs[i].h.cap_len, 100u);
		EXPECT_EQ(p.recs[i].h.flags, 0u);
		if (i) {
			EXPECT_GT(p.recs[i].h.ts_ns, p.recs[i - 1].h.ts_ns);
		}
	}
	/* timestamps are on the card clock */
	EXPECT_LE(p.hdr.last_ts_ns, h.rd64(reg::kTimeLo));
	EXPECT_EQ(h.host(h.bufs[0].first)[used], 0xee) << "wrote past bytes_used";
	auto k = h.counters();
	EXPECT_EQ(k.generated, 50u);
	EXPECT_EQ(k.delivered, 50u);
	EXPECT_EQ(k.in_buffer, 0u);
	EXPECT_EQ(h.counter(kCap, ch::kCntRecLo), 50u);
	EXPECT_EQ(h.counter(kCap, ch::kCntBytesLo), used);
	EXPECT_EQ(h.counter(kCap, ch::kCntDescLo), 1u);
	EXPECT_EQ(h.crd(kCap, ch::kHwHead), 1u);
}

TEST(ModelCapture, FullBuffersChainInRingOrder)
{
	CapHarness h(profile(0, 200, 100));
	Ring r = h.open(kCap, 5);
	for (int i = 0; i < 30; i++)
		h.post_buffer(r, 1024); /* (1024 - 64) / 216 = 4 records each */
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.ready(r, 24); }));
	uint64_t seq = 0;
	for (uint16_t i = 0; i < 25; i++) {
		auto c = h.next(r);
		EXPECT_EQ(c.status, S(Status::Successful));
		EXPECT_EQ(c.id, i);
		Parsed p = h.parse_at(i);
		EXPECT_EQ(p.hdr.sequence, i);
		EXPECT_EQ(p.hdr.record_count, 4u);
		EXPECT_EQ(p.hdr.bytes_used, 64u + 4 * 216);
		EXPECT_EQ(c.result, p.hdr.bytes_used);
		EXPECT_EQ(p.hdr.flags, i < 24 ? hw::bflag::kFull : hw::bflag::kTimeout) << i;
		for (auto &rec : p.recs)
			EXPECT_EQ(rec.seq, seq++);
	}
	EXPECT_FALSE(h.ready(r, 25));
	EXPECT_EQ(h.counters().delivered, 100u);
	/* disable: the remaining posted buffers complete UserAbort, untouched */
	h.cwr(kCap, ch::kCtrl, 0);
	h.run();
	EXPECT_EQ(h.state(kCap), ChannelState::Disabled);
	for (uint16_t i = 25; i < 30; i++) {
		auto c = h.next(r);
		EXPECT_EQ(c.status, S(Status::UserAbort));
		EXPECT_EQ(c.result, 0u);
		EXPECT_EQ(h.host(h.bufs[i].first)[0], 0xee);
	}
	EXPECT_EQ(h.crd(kCap, ch::kHwHead), 30u);
}

TEST(ModelCapture, SnapLenTruncates)
{
	CaptureProfile p = profile(0, 64, 120);
	p.size_mode = FrameSizeMode::Imix;
	CapHarness h(p);
	h.cwr(kCap, ch::kCapSnapLen, 100);
	Ring r = h.open(kCap, 4);
	h.post_buffer(r, 65536);
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.ready(r, 0); }));
	h.next(r);
	Parsed ps = h.parse_at(0);
	ASSERT_EQ(ps.recs.size(), 120u);
	unsigned truncated = 0;
	for (size_t i = 0; i < ps.recs.size(); i++) {
		const auto &rh = ps.recs[i].h;
		EXPECT_EQ(ps.recs[i].seq, i);
		EXPECT_EQ(rh.cap_len, std::min<uint32_t>(rh.wire_len, 100));
		EXPECT_EQ(rh.flags, rh.wire_len > 100 ? hw::rflag::kTruncated : 0);
		truncated += rh.wire_len > 100;
	}
	EXPECT_GT(truncated, 0u);
	EXPECT_LT(truncated, 120u);
}

TEST(ModelCapture, SnapLenZeroMeansFull)
{
	CapHarness h(profile(0, 1518, 10));
	h.cwr(kCap, ch::kCapSnapLen, 0);
	Ring r = h.open(kCap, 4);
	h.post_buffer(r, 65536);
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.ready(r, 0); }));
	Parsed ps = h.parse_at(0);
	ASSERT_EQ(ps.recs.size(), 10u);
	for (auto &rec : ps.recs) {
		EXPECT_EQ(rec.h.cap_len, 1518u);
		EXPECT_EQ(rec.h.flags, 0u);
	}
}

TEST(ModelCapture, FrameLargerThanBufferIsCut)
{
	CapHarness h(profile(0, 1518, 3));
	Ring r = h.open(kCap, 4);
	for (int i = 0; i < 3; i++)
		h.post_buffer(r, hw::kCaptureMinBuffer);
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.ready(r, 2); }));
	for (uint16_t i = 0; i < 3; i++) {
		auto c = h.next(r);
		EXPECT_EQ(c.status, S(Status::Successful));
		EXPECT_EQ(c.result, 256u);
		Parsed ps = h.parse_at(i);
		ASSERT_EQ(ps.recs.size(), 1u);
		EXPECT_EQ(ps.recs[0].h.cap_len, 176u);
		EXPECT_EQ(ps.recs[0].h.wire_len, 1518u);
		EXPECT_EQ(ps.recs[0].h.flags, hw::rflag::kTruncated);
		EXPECT_EQ(ps.recs[0].seq, i);
	}
}

TEST(ModelCapture, LossWhenNoBufferPosted)
{
	CapHarness h(profile(1e6, 64, 1000)); /* 1 ms of traffic */
	Ring r = h.open(kCap, 4);
	ASSERT_TRUE(h.until([&] { return h.counters().generated == 1000; }));
	auto k = h.counters();
	EXPECT_EQ(k.lost_no_buffer, 1000u);
	EXPECT_EQ(k.lost_overrun, 0u);
	EXPECT_EQ(k.delivered, 0u);
	EXPECT_EQ(h.counter(kCap, ch::kCntLostLo), 1000u);
	EXPECT_EQ(h.counter(kCap, ch::kCntOvrLo), 0u);
	EXPECT_EQ(h.counter(kCap, ch::kCntDescLo), 0u);
	h.cwr(kCap, ch::kCtrl, 0);
	h.run();
	EXPECT_FALSE(h.ready(r, 0));
}

TEST(ModelCapture, LostCountsInNextHeader)
{
	CapHarness h(profile(1e6, 64, 0), 32u << 20);
	h.cwr(kCap, ch::kCapFlushUs, 0); /* complete only when full or stopped */
	Ring r = h.open(kCap, 4);
	ASSERT_TRUE(h.until([&] { return h.counters().generated >= 300; }));
	h.post_buffer(r, 1u << 20); /* ~13 ms of frames */
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.counters().in_buffer > 0; }));
	h.cwr(kCap, ch::kCtrl, 0);
	h.run();
	ASSERT_EQ(h.state(kCap), ChannelState::Disabled);
	const auto k = h.counters(); /* stable now */
	auto c = h.next(r);
	EXPECT_EQ(c.status, S(Status::Successful));
	Parsed ps = h.parse_at(0);
	EXPECT_EQ(ps.hdr.flags, hw::bflag::kStopped);
	EXPECT_GE(ps.hdr.lost_no_buffer, 300u);
	EXPECT_EQ(ps.hdr.lost_no_buffer, k.lost_no_buffer);
	EXPECT_EQ(ps.hdr.lost_overrun, k.lost_overrun);
	EXPECT_EQ(ps.hdr.record_count, k.delivered);
	ASSERT_FALSE(ps.recs.empty());
	/* the frames before the buffer were lost for want of one; a slow
	 * machine may add FIFO overruns on either side */
	if (k.lost_overrun == 0) {
		EXPECT_EQ(ps.recs.front().seq, k.lost_no_buffer);
		EXPECT_EQ(ps.recs.back().seq, k.generated - 1);
	} else {
		EXPECT_GE(ps.recs.front().seq, k.lost_no_buffer);
		EXPECT_LE(ps.recs.back().seq, k.generated - 1);
	}
	for (size_t i = 1; i < ps.recs.size(); i++)
		ASSERT_GT(ps.recs[i].seq, ps.recs[i - 1].seq);
	EXPECT_EQ(k.in_buffer, 0u);
	EXPECT_EQ(k.generated, k.delivered + k.lost_no_buffer + k.lost_overrun);
}

TEST(ModelCapture, ExactAccountingWithCount)
{
	CaptureProfile p = profile(4e6, 64, 20000);
	p.size_mode = FrameSizeMode::Range;
	p.frame_min = 60;
	p.frame_max = 300;
	CapHarness h(p, 64u << 20);
	Ring r = h.open(kCap, 6);
	/* a driver that keeps 32 buffers posted and reposts as they complete */
	const uint32_t blen = 4096;
	std::vector<uint64_t> slot_buf(64);
	for (auto &b : slot_buf)
		b = h.alloc(blen);
	auto post_slot = [&] {
		const uint16_t idx = r.prod;
		h.post(r, make_desc(Opcode::Capture, 0, slot_buf[idx & 63], blen));
	};
	for (int i = 0; i < 32; i++)
		post_slot();
	h.doorbell(r);
	uint64_t delivered = 0, hdr_lost = 0, next_seq = 0, bufseq = 0, bytes = 0;
	std::set<uint64_t> seen;
	uint64_t aborted = 0, stopped = 0;
	auto consume = [&] {
		while (h.ready(r, r.cons)) {
			const uint16_t idx = r.cons;
			auto c = h.next(r);
			if (c.status == S(Status::UserAbort)) { /* after the disable */
				aborted++;
				continue;
			}
			EXPECT_EQ(c.status, S(Status::Successful));
			Parsed ps = parse(h.host(slot_buf[idx & 63]), blen);
			EXPECT_EQ(ps.hdr.sequence, bufseq++);
			EXPECT_EQ(c.result, ps.hdr.bytes_used);
			stopped += ps.hdr.flags == hw::bflag::kStopped;
			bytes += c.result;
			hdr_lost += ps.hdr.lost_no_buffer + ps.hdr.lost_overrun;
			for (auto &rec : ps.recs) {
				EXPECT_GE(rec.seq, next_seq);
				EXPECT_GE(rec.h.wire_len, 60u);
				EXPECT_LE(rec.h.wire_len, 300u);
				next_seq = rec.seq + 1;
				seen.insert(rec.seq);
			}
			delivered += ps.recs.size();
			if (h.state(kCap) == ChannelState::Running) {
				post_slot();
				h.doorbell(r);
			}
		}
	};
	ASSERT_TRUE(h.until([&] {
		consume();
		return h.counters().generated == 20000;
	}));
	h.cwr(kCap, ch::kCtrl, 0); /* stop: the open buffer completes */
	h.run();
	consume();
	EXPECT_EQ(h.state(kCap), ChannelState::Disabled);
	auto k = h.counters();
	EXPECT_EQ(k.generated, 20000u);
	EXPECT_EQ(k.in_buffer, 0u);
	EXPECT_EQ(k.delivered, delivered);
	EXPECT_EQ(k.generated, k.delivered + k.lost_no_buffer + k.lost_overrun);
	EXPECT_EQ(seen.size(), delivered);
	EXPECT_LE(hdr_lost, k.lost_no_buffer + k.lost_overrun);
	EXPECT_EQ(h.counter(kCap, ch::kCntRecLo), delivered);
	EXPECT_EQ(h.counter(kCap, ch::kCntLostLo), k.lost_no_buffer);
	EXPECT_EQ(h.counter(kCap, ch::kCntOvrLo), k.lost_overrun);
	EXPECT_EQ(h.counter(kCap, ch::kCntBytesLo), bytes);
	/* the remaining posted buffers were aborted by the disable */
	EXPECT_EQ(h.crd(kCap, ch::kHwHead), r.prod);
	EXPECT_EQ(h.counter(kCap, ch::kCntDescLo), uint64_t(r.prod));
	EXPECT_EQ(aborted + stopped, 32u); /* 32 posted; the open one, if not empty, kStopped */
	EXPECT_LE(stopped, 1u);
	EXPECT_EQ(r.cons, r.prod);
}

TEST(ModelCapture, FlushTimeout)
{
	CapHarness h(profile(1e5, 64, 10)); /* 10 frames over 100 us */
	h.cwr(kCap, ch::kCapFlushUs, 2000);
	Ring r = h.open(kCap, 4);
	h.post_buffer(r, 65536);
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.counters().generated == 10; }));
	ASSERT_TRUE(h.until([&] { return h.ready(r, 0); }));
	const uint64_t when = h.rd64(reg::kTimeLo);
	auto c = h.next(r);
	EXPECT_EQ(c.status, S(Status::Successful));
	Parsed ps = h.parse_at(0);
	EXPECT_EQ(ps.hdr.flags, hw::bflag::kTimeout);
	EXPECT_EQ(ps.hdr.record_count, 10u);
	EXPECT_GE(when, ps.hdr.first_ts_ns + 2'000'000);
	EXPECT_EQ(ps.recs[9].h.ts_ns - ps.recs[0].h.ts_ns, 9u * 10000); /* 100 kpps */
}

TEST(ModelCapture, FlushDisabledWaitsForStop)
{
	CapHarness h(profile(0, 64, 5));
	h.cwr(kCap, ch::kCapFlushUs, 0);
	Ring r = h.open(kCap, 4);
	h.post_buffer(r, 4096);
	h.post_buffer(r, 4096);
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.counters().generated == 5; }));
	std::this_thread::sleep_for(std::chrono::milliseconds(2));
	h.run();
	EXPECT_FALSE(h.ready(r, 0));
	EXPECT_EQ(h.counters().in_buffer, 5u);
	h.check_invariant();
	h.cwr(kCap, ch::kCtrl, 0);
	h.run();
	auto c0 = h.next(r), c1 = h.next(r);
	EXPECT_EQ(c0.status, S(Status::Successful));
	EXPECT_EQ(h.parse_at(0).hdr.flags, hw::bflag::kStopped);
	EXPECT_EQ(h.parse_at(0).hdr.record_count, 5u);
	EXPECT_EQ(c1.status, S(Status::UserAbort));
	EXPECT_EQ(h.counters().delivered, 5u);
	EXPECT_EQ(h.counters().in_buffer, 0u);
}

TEST(ModelCapture, LossReportedAtStopInAnEmptyBuffer)
{
	/* HW §8.3: losses the host has not been told about yet reach it at
	 * disable through a header with zero records. */
	CapHarness h(profile(1e6, 64, 1000));
	Ring r = h.open(kCap, 4);
	ASSERT_TRUE(h.until([&] { return h.counters().generated == 1000; }));
	h.post_buffer(r, 4096);
	h.post_buffer(r, 4096);
	h.doorbell(r);
	h.run();
	EXPECT_FALSE(h.ready(r, 0));
	h.cwr(kCap, ch::kCtrl, 0);
	h.run();
	auto c0 = h.next(r), c1 = h.next(r);
	EXPECT_EQ(c0.status, S(Status::Successful));
	EXPECT_EQ(c0.result, 64u);
	Parsed ps = h.parse_at(0);
	EXPECT_EQ(ps.hdr.flags, hw::bflag::kStopped);
	EXPECT_EQ(ps.hdr.record_count, 0u);
	EXPECT_EQ(ps.hdr.bytes_used, 64u);
	EXPECT_EQ(ps.hdr.lost_no_buffer + ps.hdr.lost_overrun, 1000u);
	EXPECT_EQ(c1.status, S(Status::UserAbort));
	h.check_invariant();
}

TEST(ModelCapture, LossReportedAtStopInABufferPostedJustBefore)
{
	/* HW §8.3: the loss also reaches a buffer the card had not fetched yet
	 * when the disable came (doorbell and disable in the same pass). */
	CapHarness h(profile(1e6, 64, 1000));
	Ring r = h.open(kCap, 4);
	ASSERT_TRUE(h.until([&] { return h.counters().generated == 1000; }));
	h.post_buffer(r, 4096);
	h.post_buffer(r, 4096);
	h.doorbell(r);
	h.cwr(kCap, ch::kCtrl, 0); /* before the card saw the doorbell */
	h.run();
	ASSERT_EQ(h.state(kCap), ChannelState::Disabled);
	auto c0 = h.next(r), c1 = h.next(r);
	EXPECT_EQ(c0.status, S(Status::Successful));
	EXPECT_EQ(c0.result, 64u);
	Parsed ps = h.parse_at(0);
	EXPECT_EQ(ps.hdr.flags, hw::bflag::kStopped);
	EXPECT_EQ(ps.hdr.record_count, 0u);
	EXPECT_EQ(ps.hdr.lost_no_buffer + ps.hdr.lost_overrun, 1000u);
	EXPECT_EQ(c1.status, S(Status::UserAbort));
	h.check_invariant();
}

TEST(ModelCapture, RateTimelines)
{
	{
		CapHarness h(profile(1e6, 64, 50));
		Ring r = h.open(kCap, 4);
		h.post_buffer(r, 65536);
		h.doorbell(r);
		ASSERT_TRUE(h.until([&] { return h.ready(r, 0); }));
		Parsed ps = h.parse_at(0);
		ASSERT_EQ(ps.recs.size(), 50u);
		for (size_t i = 1; i < 50; i++)
			EXPECT_EQ(ps.recs[i].h.ts_ns - ps.recs[i - 1].h.ts_ns, 1000u);
	}
	{
		CaptureProfile p = profile(0, 64, 50);
		p.rate_bps = 1e9; /* (64 + 20) * 8 bits = 672 ns per frame */
		CapHarness h(p);
		Ring r = h.open(kCap, 4);
		h.post_buffer(r, 65536);
		h.doorbell(r);
		ASSERT_TRUE(h.until([&] { return h.ready(r, 0); }));
		Parsed ps = h.parse_at(0);
		ASSERT_EQ(ps.recs.size(), 50u);
		for (size_t i = 1; i < 50; i++)
			EXPECT_EQ(ps.recs[i].h.ts_ns - ps.recs[i - 1].h.ts_ns, 672u);
	}
}

TEST(ModelCapture, SizeModesDeterministic)
{
	auto lens = [](FrameSizeMode m) {
		CaptureProfile p = profile(0, 64, 1200);
		p.size_mode = m;
		p.frame_min = 70;
		p.frame_max = 90;
		CapHarness h(p);
		h.cwr(kCap, ch::kCapSnapLen, 16);
		Ring r = h.open(kCap, 4);
		h.post_buffer(r, 64 + 1200 * 32);
		h.doorbell(r);
		EXPECT_TRUE(h.until([&] { return h.ready(r, 0); }));
		std::vector<uint32_t> v;
		for (auto &rec : h.parse_at(0).recs)
			v.push_back(rec.h.wire_len);
		EXPECT_EQ(v.size(), 1200u);
		return v;
	};
	auto a = lens(FrameSizeMode::Range), b = lens(FrameSizeMode::Range);
	EXPECT_EQ(a, b);
	std::set<uint32_t> distinct(a.begin(), a.end());
	EXPECT_EQ(*distinct.begin(), 70u);
	EXPECT_EQ(*distinct.rbegin(), 90u);
	EXPECT_EQ(distinct.size(), 21u);
	auto imix = lens(FrameSizeMode::Imix);
	std::map<uint32_t, unsigned> n;
	for (uint32_t l : imix)
		n[l]++;
	EXPECT_EQ(n.size(), 3u);
	EXPECT_NEAR(n[64], 700, 70);
	EXPECT_NEAR(n[570], 400, 60);
	EXPECT_NEAR(n[1518], 100, 35);
	auto fixed = lens(FrameSizeMode::Fixed);
	EXPECT_EQ(std::set<uint32_t>(fixed.begin(), fixed.end()), std::set<uint32_t>{70});
}

TEST(ModelCapture, OverrunWhenEngineFallsBehind)
{
	CaptureProfile p = profile(1e6, 64, 3000);
	p.fifo_frames = 100;
	CapHarness h(p);
	h.cwr(kCap, ch::kCapFlushUs, 0);
	Ring r = h.open(kCap, 4);
	h.post_buffer(r, 65536);
	h.doorbell(r);
	h.card().poll_once(); /* fetch the buffer */
	h.card().set_stall(kCap, true);
	const auto k0 = h.counters(); /* whatever was due before the stall */
	std::this_thread::sleep_for(std::chrono::milliseconds(5)); /* all 3000 frames are due */
	h.card().set_stall(kCap, false);
	h.card().poll_once();
	auto k = h.counters();
	const uint64_t rest = 3000 - k0.generated;
	ASSERT_GT(rest, 100u) << "machine too slow for this test";
	EXPECT_EQ(k.generated, 3000u);
	EXPECT_EQ(k.in_buffer, k0.in_buffer + 100);          /* the FIFO's worth */
	EXPECT_EQ(k.lost_overrun, k0.lost_overrun + rest - 100); /* the rest */
	EXPECT_EQ(k.lost_no_buffer, 0u);
	h.check_invariant();
	EXPECT_EQ(h.counter(kCap, ch::kCntOvrLo), k.lost_overrun);
	h.cwr(kCap, ch::kCtrl, 0);
	h.run();
	Parsed ps = h.parse_at(0);
	EXPECT_EQ(ps.hdr.lost_overrun, k.lost_overrun);
	ASSERT_EQ(ps.recs.size(), k.in_buffer);
	/* the FIFO kept the oldest frames: tail drop */
	EXPECT_EQ(ps.recs[k0.in_buffer].seq, k0.generated);
	EXPECT_EQ(ps.recs.back().seq, k0.generated + 99);
}

TEST(ModelCapture, InvalidBuffersCompleteInRingOrder)
{
	CapHarness h(profile(0, 64, 3));
	h.cwr(kCap, ch::kCapFlushUs, 0);
	Ring r = h.open(kCap, 4);
	h.post_buffer(r, 4096);                                           /* 0: open buffer */
	h.post(r, make_desc(Opcode::Copy, h.alloc(64), h.alloc(64), 64)); /* 1: not a capture op */
	h.post(r, make_desc(Opcode::Capture, 0, 0x5'0000'0000ull, 4096)); /* 2: unmapped */
	h.post(r, make_desc(Opcode::Capture, 0, h.alloc(256), (1u << 24) + 1)); /* 3: > MaxXferLen */
	h.post_buffer(r, 4096);                                           /* 4 */
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.counters().generated == 3; }));
	h.run();
	EXPECT_FALSE(h.ready(r, 1)) << "completion written ahead of an earlier buffer";
	EXPECT_EQ(h.crd(kCap, ch::kHwHead), 0u);
	h.cwr(kCap, ch::kCtrl, 0);
	h.run();
	auto c0 = h.next(r);
	EXPECT_EQ(c0.status, S(Status::Successful));
	EXPECT_EQ(h.parse_at(0).hdr.record_count, 3u);
	EXPECT_EQ(h.next(r).status, S(Status::InvalidOpcode));
	EXPECT_EQ(h.next(r).status, S(Status::InvalidDstAddr));
	EXPECT_EQ(h.next(r).status, S(Status::InvalidLength));
	EXPECT_EQ(h.next(r).status, S(Status::UserAbort));
	EXPECT_EQ(h.crd(kCap, ch::kErrCode), unsigned(Status::InvalidOpcode));
	EXPECT_EQ(h.crd(kCap, ch::kErrIndex), 1u);
	EXPECT_EQ(h.counter(kCap, ch::kCntErrLo), 4u);
}

TEST(ModelCapture, InvalidBufferCompletesAtOnceWhenNothingAhead)
{
	CapHarness h(profile(0, 64, 0));
	Ring r = h.open(kCap, 4);
	h.post(r, make_desc(Opcode::Capture, 0, h.alloc(256), (1u << 24) + 1)); /* > MaxXferLen */
	h.post(r, make_desc(Opcode::Capture, 0, 0x5'0000'0000ull, 4096));
	h.doorbell(r);
	h.card().poll_once();
	EXPECT_EQ(h.next(r).status, S(Status::InvalidLength));
	auto c = h.next(r);
	EXPECT_EQ(c.status, S(Status::InvalidDstAddr));
	EXPECT_EQ(c.result, 0u);
	EXPECT_EQ(h.err_addr(kCap), 0u); /* first error was a length error */
	EXPECT_EQ(h.crd(kCap, ch::kHwHead), 2u);
}

TEST(ModelCapture, HaltOnErrorAndResume)
{
	CapHarness h(profile(0, 64, 4));
	Ring r = h.open(kCap, 4, hw::chctrl::kHaltOnError);
	h.post_buffer(r, 256);                                       /* 2 records of 80 B */
	h.post(r, make_desc(Opcode::Capture, 0, h.alloc(256), (1u << 24) + 1)); /* refused */
	h.post_buffer(r, 256);
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.state(kCap) == ChannelState::Halted; }));
	EXPECT_EQ(h.next(r).status, S(Status::Successful));
	EXPECT_EQ(h.parse_at(0).hdr.flags, hw::bflag::kFull);
	EXPECT_EQ(h.next(r).status, S(Status::InvalidLength));
	EXPECT_EQ(h.crd(kCap, ch::kErrIndex), 1u);
	EXPECT_EQ(h.counters().generated, 2u);
	h.run();
	EXPECT_FALSE(h.ready(r, 2));
	h.cwr(kCap, ch::kCtrl, hw::chctrl::kEnable | hw::chctrl::kHaltOnError | hw::chctrl::kResume);
	ASSERT_TRUE(h.until([&] { return h.ready(r, 2); }));
	auto c = h.next(r);
	EXPECT_EQ(c.status, S(Status::Successful));
	Parsed ps = h.parse_at(2);
	ASSERT_EQ(ps.recs.size(), 2u);
	EXPECT_EQ(ps.recs[0].seq, 2u);
	EXPECT_EQ(ps.hdr.sequence, 1u);
	h.check_invariant();
}

TEST(ModelCapture, ResetForgetsBuffers)
{
	CapHarness h(profile(0, 64, 10));
	h.cwr(kCap, ch::kCapFlushUs, 0);
	h.cwr(kCap, ch::kCapSnapLen, 32);
	Ring r = h.open(kCap, 4);
	h.post_buffer(r, 4096);
	h.post_buffer(r, 4096);
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.counters().generated == 10; }));
	h.cwr(kCap, ch::kCtrl, hw::chctrl::kReset);
	h.run();
	EXPECT_EQ(h.state(kCap), ChannelState::Disabled);
	EXPECT_FALSE(h.ready(r, 0));
	EXPECT_FALSE(h.ready(r, 1));
	auto k = h.counters();
	EXPECT_EQ(k.generated, 0u);
	EXPECT_EQ(k.in_buffer, 0u);
	EXPECT_EQ(h.counter(kCap, ch::kCntRecLo), 0u);
	EXPECT_EQ(h.crd(kCap, ch::kCapSnapLen), 32u); /* configuration survives */
	/* enable again: sequence numbers restart at 0 */
	std::memset(h.host(r.cpl_iova), 0, 8 << 4);
	r.prod = r.cons = 0;
	h.bufs.clear();
	h.cwr(kCap, ch::kCtrl, hw::chctrl::kEnable);
	h.run();
	h.post_buffer(r, 4096);
	h.doorbell(r);
	ASSERT_TRUE(h.until([&] { return h.counters().generated == 10; }));
	h.cwr(kCap, ch::kCtrl, 0);
	h.run();
	Parsed ps = h.parse_at(0);
	ASSERT_EQ(ps.recs.size(), 10u);
	EXPECT_EQ(ps.recs[0].seq, 0u);
	EXPECT_EQ(ps.hdr.sequence, 0u);
	EXPECT_EQ(ps.recs[0].h.cap_len, 32u);
}

TEST(ModelCapture, GlobalDisablePausesTheWire)
{
	CapHarness h(profile(1e6, 64, 0));
	Ring r = h.open(kCap, 4);
	h.card().poll_once();
	h.wr(reg::kGlobalCtrl, 0);
	h.card().poll_once();
	const uint64_t g0 = h.counters().generated;
	std::this_thread::sleep_for(std::chrono::milliseconds(5)); /* 5000 frame times */
	h.card().poll_once();
	EXPECT_EQ(h.counters().generated, g0);
	h.global_enable();
	h.card().poll_once();
	EXPECT_LT(h.counters().generated - g0, 2000u) << "a burst of back-dated frames";
	h.check_invariant();
	(void)r;
}

TEST(ModelCapture, UnmappedPostedBufferFailsChannel)
{
	CapHarness h(profile(1e3, 64, 0));
	h.cwr(kCap, ch::kCapFlushUs, 0); /* the buffer stays posted */
	AlignedBuf extra(8192);
	const uint64_t iova = 0x3000'0000;
	ASSERT_EQ(h.iommu().map(iova, 8192, extra.p), 0);
	Ring r = h.open(kCap, 4);
	h.post(r, make_desc(Opcode::Capture, 0, iova, 8192));
	h.doorbell(r);
	h.card().poll_once();
	ASSERT_EQ(h.iommu().unmap(iova, 8192), 0);
	h.card().poll_once();
	EXPECT_EQ(h.state(kCap), ChannelState::Failed);
	EXPECT_EQ(h.crd(kCap, ch::kErrCode), unsigned(Status::BusWriteError));
	EXPECT_EQ(h.err_addr(kCap), iova);
}

TEST(ModelCapture, TwoCardsWithThreads)
{
	CaptureProfile p = profile(5e5, 128, 10000);
	CapHarness h1(p), h2(p);
	CapHarness *hs[2] = {&h1, &h2};
	Ring rings[2];
	std::vector<uint64_t> bufs[2];
	for (int k = 0; k < 2; k++) {
		rings[k] = hs[k]->open(kCap, 5);
		for (int i = 0; i < 32; i++)
			bufs[k].push_back(hs[k]->alloc(16384));
		for (int i = 0; i < 16; i++)
			hs[k]->post(rings[k], make_desc(Opcode::Capture, 0, bufs[k][i], 16384));
		hs[k]->doorbell(rings[k]);
	}
	ASSERT_EQ(h1.card().start(), 0);
	ASSERT_EQ(h2.card().start(), 0);
	uint64_t got[2] = {0, 0};
	std::vector<std::thread> drivers;
	for (int k = 0; k < 2; k++)
		drivers.emplace_back([&, k] {
			CapHarness &h = *hs[k];
			Ring &r = rings[k];
			uint64_t next = 0;
			const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
			while (std::chrono::steady_clock::now() < end) {
				while (h.ready(r, r.cons)) {
					const uint16_t idx = r.cons;
					auto c = h.cpl(r, r.cons++);
					if (c.status != 0)
						ADD_FAILURE() << "status " << int(c.status);
					Parsed ps = parse(h.host(bufs[k][idx & 31]), 16384);
					for (auto &rec : ps.recs) {
						if (rec.seq < next)
							ADD_FAILURE() << "seq went backwards";
						next = rec.seq + 1;
					}
					got[k] += ps.recs.size();
					h.post(r, make_desc(Opcode::Capture, 0, bufs[k][r.prod & 31], 16384));
					h.doorbell(r);
				}
				auto cc = h.card().capture_counters(0);
				EXPECT_EQ(cc.generated, cc.delivered + cc.lost_no_buffer + cc.lost_overrun + cc.in_buffer);
				if (cc.generated == 10000 && cc.in_buffer == 0 && cc.delivered == got[k])
					return;
				std::this_thread::sleep_for(std::chrono::microseconds(100));
			}
			ADD_FAILURE() << "card " << k << " did not finish";
		});
	for (auto &t : drivers)
		t.join();
	for (int k = 0; k < 2; k++) {
		auto cc = hs[k]->counters();
		EXPECT_EQ(cc.generated, 10000u);
		EXPECT_EQ(cc.delivered, got[k]);
		EXPECT_GT(got[k], 0u);
	}
	h1.card().stop();
	h2.card().stop();
}
