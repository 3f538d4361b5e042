/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The device model's registers, channel state machine and copy channels,
 * driven through BAR0 and host memory only (HW §2-§7).
 */
#include <cstring>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "model_harness.h"

using namespace xcap::test;
using hw::ChannelState;
using hw::Opcode;
using hw::Status;

namespace {

void fill_bytes(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = uint8_t(seed + i * 7);
}

uint8_t st(const hw::Completion &c) { return c.status; }
constexpr uint8_t S(Status s) { return uint8_t(s); }

} // namespace

/* ---- identity and configuration (HW §2) ----------------------------------- */

TEST(ModelRegs, Identity)
{
	CardConfig cfg;
	cfg.copy_channels = 3;
	cfg.capture_channels = 2;
	cfg.addr_width = 40;
	cfg.max_ring_log2 = 10;
	cfg.max_xfer_len = 1 << 20;
	cfg.max_sge = 8;
	cfg.null_engine = true;
	Harness h(cfg, 1 << 20);
	EXPECT_EQ(h.rd(reg::kId), hw::kMagic);
	EXPECT_EQ(h.rd(reg::kVersion), 0x10002u); /* 1.2 */
	EXPECT_EQ(h.rd(reg::kCaps0), 3u | 2u << 8 | 40u << 16 | hw::caps0::kNullEngine);
	EXPECT_EQ(h.rd(reg::kCaps1), hw::kOpsSupported);
	EXPECT_EQ(h.rd(reg::kMaxRingLog2), 10u);
	EXPECT_EQ(h.rd(reg::kMaxXferLen), 1u << 20);
	EXPECT_EQ(h.rd(reg::kMaxSge), 8u);
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady);
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), 0u);
	EXPECT_EQ(h.rd(reg::kFatalCode), 0u);
	for (unsigned c = 0; c < 5; c++) {
		EXPECT_EQ(h.crd(c, ch::kKind), c < 3 ? 0u : 1u) << c;
		EXPECT_EQ(h.state(c), ChannelState::Disabled);
		EXPECT_EQ(h.crd(c, ch::kCapSnapLen), c < 3 ? 0u : 65535u);
		EXPECT_EQ(h.crd(c, ch::kCapFlushUs), c < 3 ? 0u : 100u);
	}
	EXPECT_EQ(h.crd(5, ch::kKind), 0u); /* no such channel: zero */
	/* Scratch is plain RW */
	h.wr(reg::kScratch, 0x5a5aa5a5);
	h.card().poll_once();
	EXPECT_EQ(h.rd(reg::kScratch), 0x5a5aa5a5u);
}

TEST(ModelRegs, DefaultCapsAndPowerOnReset)
{
	AlignedBuf bar(hw::kBar0Size);
	std::memset(bar.p, 0x77, hw::kBar0Size); /* stale ivshmem contents */
	Iommu io;
	Card card(CardConfig{}, bar.p, io);
	uint32_t v;
	std::memcpy(&v, bar.p + reg::kCaps0, 4);
	EXPECT_EQ(v, 1u | 0u << 8 | 48u << 16);
	std::memcpy(&v, bar.p + hw::chan_reg(0, ch::kCtrl), 4);
	EXPECT_EQ(v, 0u);
	std::memcpy(&v, bar.p + 0x8000, 4);
	EXPECT_EQ(v, 0u);
	std::memcpy(&v, bar.p + reg::kMaxSge, 4);
	EXPECT_EQ(v, 16u);
}

TEST(ModelRegs, ConfigValidation)
{
	AlignedBuf bar(hw::kBar0Size);
	Iommu io;
	auto make = [&](auto edit) {
		CardConfig c;
		edit(c);
		Card card(c, bar.p, io);
	};
	EXPECT_THROW(make([](CardConfig &c) { c.copy_channels = 0; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.copy_channels = 60; c.capture_channels = 5; }), std::invalid_argument);
	EXPECT_NO_THROW(make([](CardConfig &c) { c.copy_channels = 0; c.capture_channels = 1; }));
	EXPECT_NO_THROW(make([](CardConfig &c) { c.copy_channels = 32; c.capture_channels = 32; }));
	EXPECT_THROW(make([](CardConfig &c) { c.max_ring_log2 = 0; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.max_ring_log2 = 16; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.max_sge = 0; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.max_xfer_len = 0; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.addr_width = 31; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.addr_width = 65; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.cpu = -2; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.capture.resize(1); }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) {
		c.capture_channels = 1;
		c.capture.resize(1);
		c.capture[0].size_mode = xcap::model::FrameSizeMode::Range;
		c.capture[0].frame_min = 100;
		c.capture[0].frame_max = 99;
	}), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.capture_channels = 1; c.max_xfer_len = 255; }), std::invalid_argument);
	EXPECT_THROW(Card(CardConfig{}, nullptr, io), std::invalid_argument);
	EXPECT_THROW(Card(CardConfig{}, bar.p + 4, io), std::invalid_argument);
	Card ok(CardConfig{}, bar.p, io);
	EXPECT_THROW(ok.set_fault(1, {}), std::out_of_range);
	EXPECT_THROW(ok.set_stall(7, true), std::out_of_range);
	EXPECT_THROW(ok.capture_counters(0), std::out_of_range);
}

TEST(ModelRegs, ClockAdvances)
{
	Harness h;
	h.card().poll_once();
	const uint64_t t1 = h.rd64(reg::kTimeLo);
	std::this_thread::sleep_for(std::chrono::milliseconds(2));
	h.card().poll_once();
	const uint64_t t2 = h.rd64(reg::kTimeLo);
	EXPECT_GT(t1, 0u);
	EXPECT_GE(t2 - t1, 2'000'000u);
	EXPECT_LT(t2 - t1, 2'000'000'000u);
	EXPECT_EQ(h.rd(reg::kTimeHi), uint32_t(t2 >> 32));
}

/* ---- opcodes (HW §5) --------------------------------------------------------- */

TEST(ModelCopy, NopAndIdEcho)
{
	Harness h;
	Ring r = h.open(0);
	auto d = make_desc(Opcode::Nop, 0, 0, 0);
	d.id = 0xbeef;
	h.post(r, d, true);
	d.id = 0x0001;
	h.post(r, d, true);
	h.doorbell(r);
	h.run();
	auto c0 = h.next(r), c1 = h.next(r);
	EXPECT_EQ(st(c0), S(Status::Successful));
	EXPECT_EQ(c0.id, 0xbeef);
	EXPECT_EQ(c0.result, 0u);
	EXPECT_EQ(c0.flags, hw::cflag::kPhase);
	EXPECT_EQ(st(c1), S(Status::Successful));
	EXPECT_EQ(c1.id, 1);
	EXPECT_FALSE(h.ready(r, 2));
}

TEST(ModelCopy, CopyIsByteExact)
{
	Harness h;
	Ring r = h.open(0);
	const uint32_t lens[] = {1, 7, 64, 4095, 65536, 1 << 20};
	std::vector<std::pair<uint64_t, uint64_t>> bufs;
	uint64_t total = 0;
	for (uint32_t len : lens) {
		const uint64_t s = h.alloc(len, 1), d = h.alloc(len + 2, 1) + 1; /* odd alignment */
		fill_bytes(h.host(s), len, uint8_t(len));
		std::memset(h.host(d - 1), 0xaa, len + 2);
		bufs.push_back({s, d});
		h.post(r, make_desc(Opcode::Copy, s, d, len));
		total += len;
	}
	h.doorbell(r);
	h.run();
	for (size_t i = 0; i < bufs.size(); i++) {
		auto c = h.next(r);
		EXPECT_EQ(st(c), S(Status::Successful));
		EXPECT_EQ(c.result, lens[i]);
		EXPECT_EQ(std::memcmp(h.host(bufs[i].first), h.host(bufs[i].second), lens[i]), 0) << lens[i];
		EXPECT_EQ(h.host(bufs[i].second)[-1], 0xaa);
		EXPECT_EQ(h.host(bufs[i].second)[lens[i]], 0xaa);
	}
	EXPECT_EQ(h.counter(0, ch::kCntBytesLo), total);
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 6u);
	EXPECT_EQ(h.counter(0, ch::kCntErrLo), 0u);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 6u);
}

class ModelFill : public ::testing::TestWithParam<uint32_t> {};

TEST_P(ModelFill, PatternRepeats)
{
	const uint32_t len = GetParam();
	Harness h;
	Ring r = h.open(0);
	const uint64_t pattern = 0x0807060504030201ull ^ 0xa0b0c0d0e0f01020ull;
	const uint64_t d1 = h.alloc(len + 16, 8) + 8, d2 = h.alloc(len + 16, 8) + 3; /* aligned, odd */
	std::memset(h.host(d1 - 8), 0x5c, len + 16);
	std::memset(h.host(d2 - 3), 0x5c, len + 16);
	h.post(r, make_desc(Opcode::Fill, pattern, d1, len));
	h.post(r, make_desc(Opcode::Fill, pattern, d2, len));
	h.doorbell(r);
	h.run();
	for (uint64_t d : {d1, d2}) {
		auto c = h.next(r);
		EXPECT_EQ(st(c), S(Status::Successful));
		EXPECT_EQ(c.result, len);
		const uint8_t *p = h.host(d);
		for (uint32_t i = 0; i < len; i++)
			ASSERT_EQ(p[i], uint8_t(pattern >> (8 * (i % 8)))) << "len " << len << " byte " << i;
		EXPECT_EQ(p[-1], 0x5c);
		EXPECT_EQ(p[len], 0x5c);
	}
}
INSTANTIATE_TEST_SUITE_P(Lengths, ModelFill, ::testing::Values(8u, 64u, 1024u, 50u, 100u, 89u, 1u));

TEST(ModelCopy, CopySgUnevenSplits)
{
	Harness h;
	Ring r = h.open(0);
	const uint32_t slen[] = {100, 1, 411, 61};
	const uint32_t dlen[] = {256, 3, 253, 60, 1};
	const uint32_t total = 573;
	std::vector<uint8_t> expect;
	const uint64_t sl = h.alloc_sg(4), dl = h.alloc_sg(5);
	auto *sg = h.hostp<hw::Sge>(sl);
	auto *dg = h.hostp<hw::Sge>(dl);
	for (int i = 0; i < 4; i++) {
		const uint64_t a = h.alloc(slen[i] + 64, 1) + 17; /* scattered, unaligned */
		fill_bytes(h.host(a), slen[i], uint8_t(i * 40));
		expect.insert(expect.end(), h.host(a), h.host(a) + slen[i]);
		sg[i] = {a, slen[i], 0};
	}
	std::vector<uint64_t> dsts;
	for (int i = 0; i < 5; i++) {
		const uint64_t a = h.alloc(dlen[i] + 64, 1) + 5;
		std::memset(h.host(a), 0, dlen[i] + 1);
		dg[i] = {a, dlen[i], 0};
		dsts.push_back(a);
	}
	auto d = make_desc(Opcode::CopySg, sl, dl, total);
	d.nb_src = 4;
	d.nb_dst = 5;
	h.post(r, d);
	d.length = 0; /* 0: the card takes the sum */
	h.post(r, d);
	h.doorbell(r);
	h.run();
	for (int k = 0; k < 2; k++) {
		auto c = h.next(r);
		EXPECT_EQ(st(c), S(Status::Successful));
		EXPECT_EQ(c.result, total);
	}
	std::vector<uint8_t> got;
	for (int i = 0; i < 5; i++) {
		got.insert(got.end(), h.host(dsts[i]), h.host(dsts[i]) + dlen[i]);
		EXPECT_EQ(h.host(dsts[i])[dlen[i]], 0) << "overrun of dst element " << i;
	}
	EXPECT_EQ(got, expect);
	EXPECT_EQ(h.counter(0, ch::kCntBytesLo), 2u * total);
}

/* ---- error statuses ------------------------------------------------------------ */

TEST(ModelErrors, InvalidLength)
{
	CardConfig cfg;
	cfg.max_xfer_len = 4096;
	Harness h(cfg);
	Ring r = h.open(0);
	const uint64_t s = h.alloc(8192), d = h.alloc(8192);
	std::memset(h.host(d), 0xaa, 8192);
	h.post(r, make_desc(Opcode::Copy, s, d, 0));
	h.post(r, make_desc(Opcode::Copy, s, d, 4097));
	h.post(r, make_desc(Opcode::Fill, 0x1234, d, 0));
	h.post(r, make_desc(Opcode::Fill, 0x1234, d, 4097));
	h.post(r, make_desc(Opcode::Copy, s, d, 4096)); /* exactly max: fine */
	h.doorbell(r);
	h.run();
	for (int i = 0; i < 4; i++) {
		auto c = h.next(r);
		EXPECT_EQ(st(c), S(Status::InvalidLength)) << i;
		EXPECT_EQ(c.result, 0u);
	}
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::InvalidLength));
	EXPECT_EQ(h.crd(0, ch::kErrIndex), 0u);
	EXPECT_EQ(h.err_addr(0), 0u); /* not an address fault */
	EXPECT_EQ(h.counter(0, ch::kCntErrLo), 4u);
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 5u);
}

TEST(ModelErrors, InvalidSrcAddrLatchesErrAddr)
{
	Harness h;
	Ring r = h.open(0);
	const uint64_t d = h.alloc(4096);
	std::memset(h.host(d), 0xaa, 4096);
	const uint64_t bad = 0x7'0000'1230ull; /* never mapped */
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.post(r, make_desc(Opcode::Copy, bad, d, 64));
	h.post(r, make_desc(Opcode::Copy, kMemIova + (8u << 20) - 32, d, 64)); /* runs off the end */
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidSrcAddr));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidSrcAddr));
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::InvalidSrcAddr));
	EXPECT_EQ(h.crd(0, ch::kErrIndex), 1u); /* first error wins */
	EXPECT_EQ(h.err_addr(0), bad);
	EXPECT_EQ(h.host(d)[0], 0xaa);
	EXPECT_EQ(h.state(0), ChannelState::Running); /* continue mode */
}

TEST(ModelErrors, InvalidDstAddrWritesNothing)
{
	Harness h;
	Ring r = h.open(0);
	const uint64_t s = h.alloc(4096);
	fill_bytes(h.host(s), 4096, 1);
	/* dst starts mapped and runs past the end of the mapping */
	const uint64_t d = kMemIova + (8u << 20) - 100;
	std::memset(h.host(d), 0xaa, 100);
	h.post(r, make_desc(Opcode::Copy, s, d, 101));
	h.post(r, make_desc(Opcode::Fill, 0x11, d, 200));
	h.post(r, make_desc(Opcode::Copy, s, 0, 8)); /* IOVA 0 */
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidDstAddr));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidDstAddr));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidDstAddr));
	EXPECT_EQ(h.err_addr(0), d);
	EXPECT_EQ(h.crd(0, ch::kErrIndex), 0u);
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(h.host(d)[i], 0xaa);
	EXPECT_EQ(h.counter(0, ch::kCntBytesLo), 0u);
}

TEST(ModelErrors, BeyondAddressWidth)
{
	CardConfig cfg;
	cfg.addr_width = 40;
	Harness h(cfg, 1 << 20, 48); /* the IOMMU itself reaches further */
	AlignedBuf hi(4096);
	const uint64_t hi_iova = 1ull << 40;
	ASSERT_EQ(h.iommu().map(hi_iova, 4096, hi.p), 0);
	AlignedBuf lo(4096);
	ASSERT_EQ(h.iommu().map(hi_iova - 4096, 4096, lo.p), 0);
	Ring r = h.open(0);
	const uint64_t b = h.alloc(64);
	h.post(r, make_desc(Opcode::Copy, hi_iova, b, 64));
	h.post(r, make_desc(Opcode::Copy, b, hi_iova, 64));
	h.post(r, make_desc(Opcode::Copy, hi_iova - 32, b, 64)); /* straddles 2^40 */
	h.post(r, make_desc(Opcode::Copy, hi_iova - 64, b, 64)); /* ends just below */
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidSrcAddr));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidDstAddr));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidSrcAddr));
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(h.err_addr(0), hi_iova);
}

TEST(ModelErrors, CopySgListUnreadable)
{
	Harness h;
	Ring r = h.open(0);
	const uint64_t buf = h.alloc(256);
	const uint64_t list = h.alloc_sg(1);
	*h.hostp<hw::Sge>(list) = {buf, 64, 0};
	const uint64_t bad = 0x5'0000'0000ull;
	/* a mapping that ends inside a 4 KiB block, so that a list can run off
	 * it without crossing a 4 KiB boundary (HW §5.5) */
	AlignedBuf tail(4096);
	const uint64_t tail_iova = 0x6000'0000;
	ASSERT_EQ(h.iommu().map(tail_iova, 0x810, tail.p), 0);
	auto d = make_desc(Opcode::CopySg, bad, list, 0);
	d.nb_src = d.nb_dst = 1;
	h.post(r, d);
	d.src = list;
	d.dst = bad + 0x40;
	h.post(r, d);
	d.dst = tail_iova + 0x800; /* 1 entry readable, 2 are not */
	d.nb_dst = 2;
	h.post(r, d);
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::DescriptorReadError));
	EXPECT_EQ(st(h.next(r)), S(Status::DescriptorReadError));
	EXPECT_EQ(st(h.next(r)), S(Status::DescriptorReadError));
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::DescriptorReadError));
	EXPECT_EQ(h.err_addr(0), bad);
	EXPECT_EQ(h.state(0), ChannelState::Running); /* a bad SG list is per descriptor */
}

TEST(ModelErrors, CopySgInvalidLength)
{
	CardConfig cfg;
	cfg.max_sge = 4;
	cfg.max_xfer_len = 1000;
	Harness h(cfg);
	Ring r = h.open(0);
	const uint64_t a = h.alloc(2048), b = h.alloc(2048);
	std::memset(h.host(b), 0xaa, 2048);
	auto list = [&](std::vector<uint32_t> lens, uint64_t base) {
		const uint64_t l = h.alloc_sg(lens.size());
		uint64_t off = 0;
		for (size_t i = 0; i < lens.size(); i++) {
			h.hostp<hw::Sge>(l)[i] = {base + off, lens[i], 0};
			off += lens[i];
		}
		return l;
	};
	auto sg = [&](std::vector<uint32_t> s, std::vector<uint32_t> d, uint32_t len) {
		auto x = make_desc(Opcode::CopySg, list(s, a), list(d, b), len);
		x.nb_src = uint16_t(s.size());
		x.nb_dst = uint16_t(d.size());
		return x;
	};
	auto z = sg({10}, {10}, 10);
	z.nb_src = 0;
	h.post(r, z);                                   /* nb_src 0 */
	auto big = sg({10}, {10}, 10);
	big.nb_dst = 5;
	h.post(r, big);                                 /* nb_dst > MaxSge */
	h.post(r, sg({10, 0}, {10}, 0));                /* element length 0 */
	h.post(r, sg({10, 5}, {10}, 0));                /* sums differ */
	h.post(r, sg({10, 5}, {15}, 14));               /* desc.length != sum */
	h.post(r, sg({600, 401}, {1001}, 0));           /* > MaxXferLen */
	h.post(r, sg({600, 400}, {1, 999}, 1000));      /* fine */
	h.doorbell(r);
	h.run();
	for (int i = 0; i < 6; i++)
		EXPECT_EQ(st(h.next(r)), S(Status::InvalidLength)) << i;
	auto ok = h.next(r);
	EXPECT_EQ(st(ok), S(Status::Successful));
	EXPECT_EQ(ok.result, 1000u);
	EXPECT_EQ(h.crd(0, ch::kErrIndex), 0u);
}

TEST(ModelErrors, CopySgElementFaultsWriteNothing)
{
	Harness h;
	Ring r = h.open(0);
	const uint64_t a = h.alloc(256), b = h.alloc(256);
	fill_bytes(h.host(a), 256, 3);
	std::memset(h.host(b), 0xaa, 256);
	const uint64_t bad = 0x9'0000'0040ull;
	const uint64_t sl = h.alloc_sg(2), dl = h.alloc_sg(2);
	h.hostp<hw::Sge>(sl)[0] = {a, 64, 0};
	h.hostp<hw::Sge>(sl)[1] = {bad, 64, 0};
	h.hostp<hw::Sge>(dl)[0] = {b, 128, 0};
	auto d = make_desc(Opcode::CopySg, sl, dl, 128);
	d.nb_src = 2;
	d.nb_dst = 1;
	h.post(r, d);
	const uint64_t sl2 = h.alloc_sg(1), dl2 = h.alloc_sg(2);
	h.hostp<hw::Sge>(sl2)[0] = {a, 128, 0};
	h.hostp<hw::Sge>(dl2)[0] = {b, 64, 0};
	h.hostp<hw::Sge>(dl2)[1] = {bad + 0x1000, 64, 0};
	auto d2 = make_desc(Opcode::CopySg, sl2, dl2, 128);
	d2.nb_src = 1;
	d2.nb_dst = 2;
	h.post(r, d2);
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidSrcAddr));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidDstAddr));
	EXPECT_EQ(h.err_addr(0), bad); /* first error */
	for (int i = 0; i < 256; i++)
		ASSERT_EQ(h.host(b)[i], 0xaa) << "a failed op wrote data at " << i;
}

/* HW §5.2: an opcode in Caps1 on the wrong kind of channel is a descriptor
 * error, not a violation (an opcode outside Caps1: test_model_contract). */
TEST(ModelErrors, InvalidOpcodeBothWays)
{
	CardConfig cfg;
	cfg.capture_channels = 1;
	cfg.capture.resize(1);
	cfg.capture[0].count = 1; /* a short wire, so that run() goes idle */
	Harness h(cfg);
	Ring r = h.open(0);
	const uint64_t buf = h.alloc(4096);
	h.post(r, make_desc(Opcode::Capture, 0, buf, 4096)); /* capture op on a copy channel */
	h.doorbell(r);
	Ring k = h.open(1);
	h.post(k, make_desc(Opcode::Copy, buf, buf + 64, 64)); /* copy op on a capture channel */
	h.post(k, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(k);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidOpcode));
	EXPECT_EQ(st(h.next(k)), S(Status::InvalidOpcode));
	EXPECT_EQ(st(h.next(k)), S(Status::InvalidOpcode));
	EXPECT_EQ(h.crd(1, ch::kErrCode), unsigned(Status::InvalidOpcode));
	EXPECT_EQ(h.crd(1, ch::kHwHead), 2u);
}

/* ---- halt, continue, fence (HW §3.5, §5.3) -------------------------------------- */

TEST(ModelErrors, HaltOnErrorAndResume)
{
	Harness h;
	Ring r = h.open(0, 4, hw::chctrl::kHaltOnError);
	const uint64_t s = h.alloc(64), d = h.alloc(64);
	h.post(r, make_desc(Opcode::Copy, s, d, 64));
	h.post(r, make_desc(Opcode::Copy, s, 0x4'0000'0000ull, 64));
	h.post(r, make_desc(Opcode::Copy, s, d, 64));
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidDstAddr));
	EXPECT_FALSE(h.ready(r, 2)) << "fetched past the failed descriptor";
	EXPECT_EQ(h.state(0), ChannelState::Halted);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 2u);
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::InvalidDstAddr));
	EXPECT_EQ(h.crd(0, ch::kErrIndex), 1u);
	EXPECT_EQ(h.err_addr(0), 0x4'0000'0000ull);
	for (int i = 0; i < 5; i++)
		h.card().poll_once();
	EXPECT_FALSE(h.ready(r, 2));
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable | hw::chctrl::kHaltOnError | hw::chctrl::kResume);
	h.run();
	EXPECT_EQ(h.crd(0, ch::kCtrl), hw::chctrl::kEnable | hw::chctrl::kHaltOnError); /* self-clearing */
	EXPECT_EQ(h.state(0), ChannelState::Running);
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(h.crd(0, ch::kErrCode), 0u); /* latch cleared by RESUME */
	EXPECT_EQ(h.err_addr(0), 0u);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 4u);
	EXPECT_EQ(h.counter(0, ch::kCntErrLo), 1u);
}

TEST(ModelErrors, FenceAfterFailureIsNotAttempted)
{
	Harness h;
	Ring r = h.open(0);
	const uint64_t s = h.alloc(64), d = h.alloc(64);
	h.post(r, make_desc(Opcode::Copy, s, d, 64, hw::dflag::kFence)); /* no failure yet: runs */
	h.post(r, make_desc(Opcode::Copy, s, d, 0));                     /* fails */
	h.post(r, make_desc(Opcode::Copy, s, d, 64, hw::dflag::kFence)); /* NotAttempted */
	h.post(r, make_desc(Opcode::Copy, s, d, 64));                     /* unfenced: runs */
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0, hw::dflag::kFence));   /* still fenced off */
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidLength));
	EXPECT_EQ(st(h.next(r)), S(Status::NotAttempted));
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(st(h.next(r)), S(Status::NotAttempted));
	EXPECT_EQ(h.state(0), ChannelState::Running);
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::InvalidLength)); /* NotAttempted does not latch */
	EXPECT_EQ(h.crd(0, ch::kErrIndex), 1u);
	/* RESUME in Running re-arms latch and fence */
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable | hw::chctrl::kResume);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0, hw::dflag::kFence));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(h.crd(0, ch::kErrCode), 0u);
}

TEST(ModelErrors, FenceDoesNotHalt)
{
	Harness h;
	Ring r = h.open(0); /* continue mode */
	h.post(r, make_desc(Opcode::Fill, 0, 0, 0)); /* length 0 */
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidLength));
	/* now halt on error: a fenced-off descriptor completes NotAttempted
	 * without halting the channel */
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable | hw::chctrl::kHaltOnError);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0, hw::dflag::kFence));
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::NotAttempted));
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(h.state(0), ChannelState::Running);
	EXPECT_EQ(h.counter(0, ch::kCntErrLo), 2u);
}

TEST(ModelErrors, ContinueModeCompletesEverything)
{
	Harness h;
	Ring r = h.open(0);
	const uint64_t s = h.alloc(128), d = h.alloc(128);
	fill_bytes(h.host(s), 128, 9);
	h.post(r, make_desc(Opcode::Copy, s, d, 0));
	h.post(r, make_desc(Opcode::Copy, s, d, 64));
	h.post(r, make_desc(Opcode::Copy, 0x3'0000'0000ull, d, 64));
	h.post(r, make_desc(Opcode::Copy, s + 64, d + 64, 64));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidLength));
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidSrcAddr));
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(std::memcmp(h.host(s), h.host(d), 128), 0);
	EXPECT_EQ(h.state(0), ChannelState::Running);
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::InvalidLength));
	EXPECT_EQ(h.crd(0, ch::kErrIndex), 0u);
	EXPECT_EQ(h.err_addr(0), 0u);
	EXPECT_EQ(h.counter(0, ch::kCntErrLo), 2u);
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 4u);
	EXPECT_EQ(h.counter(0, ch::kCntBytesLo), 128u);
}

/* ---- rings, phase, indexes (HW §6) --------------------------------------------- */

TEST(ModelRing, PhaseFlipsAcrossWraps)
{
	Harness h;
	Ring r = h.open(0, 3); /* 8 entries */
	const uint64_t s = h.alloc(20 * 16), d = h.alloc(20 * 16);
	fill_bytes(h.host(s), 20 * 16, 0x31);
	uint16_t idx = 0;
	while (idx < 20) {
		const unsigned batch = std::min(5, 20 - idx);
		for (unsigned i = 0; i < batch; i++, idx++) {
			auto x = make_desc(Opcode::Copy, s + idx * 16, d + idx * 16, 16);
			x.id = uint16_t(0x100 + idx);
			h.post(r, x, true);
		}
		h.doorbell(r);
		h.run();
		while (r.cons < idx) {
			const uint16_t i = r.cons;
			auto c = h.next(r);
			EXPECT_EQ(st(c), S(Status::Successful));
			EXPECT_EQ(c.id, 0x100 + i);
			EXPECT_EQ(c.flags & hw::cflag::kPhase, (i / 8) % 2 == 0 ? 1 : 0) << "index " << i;
		}
		EXPECT_FALSE(h.ready(r, r.cons)); /* the stale entry has the old phase */
		EXPECT_EQ(h.crd(0, ch::kHwHead), idx);
	}
	EXPECT_EQ(std::memcmp(h.host(s), h.host(d), 20 * 16), 0);
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 20u);
}

TEST(ModelRing, SixteenBitIndexWrap)
{
	Harness h;
	Ring r = h.open(0, 6);
	/* 70000 Nops: HwHead and the doorbell wrap at 16 bits */
	uint32_t done = 0;
	while (done < 70000) {
		for (int i = 0; i < 64; i++)
			h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
		h.doorbell(r);
		h.run();
		for (int i = 0; i < 64; i++) {
			auto c = h.next(r);
			ASSERT_EQ(st(c), S(Status::Successful));
			ASSERT_EQ(c.id, uint16_t(done + i));
		}
		done += 64;
	}
	EXPECT_EQ(h.crd(0, ch::kHwHead), done & 0xffff);
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), done);
}

/* Rings smaller than a completion cache line (8 entries): the card may hold
 * completions until the end of a line, but never past the end of the ring. */
TEST(ModelRing, TinyRingsWrap)
{
	for (unsigned log2 : {1u, 2u, 3u}) {
		Harness h;
		Ring r = h.open(0, log2);
		const unsigned n = 50, sz = r.size();
		const uint64_t s = h.alloc(n * 64), d = h.alloc(n * 64);
		fill_bytes(h.host(s), n * 64, uint8_t(log2));
		unsigned posted = 0;
		while (posted < n) {
			const unsigned batch = std::min(sz, n - posted);
			for (unsigned i = 0; i < batch; i++, posted++)
				h.post(r, make_desc(Opcode::Copy, s + posted * 64, d + posted * 64, 64));
			h.doorbell(r);
			h.run();
			while (r.cons < posted) {
				const uint16_t i = r.cons;
				auto c = h.next(r);
				ASSERT_EQ(st(c), S(Status::Successful)) << "log2 " << log2 << " index " << i;
				ASSERT_EQ(c.id, i);
				ASSERT_EQ(c.result, 64u);
			}
			EXPECT_FALSE(h.ready(r, r.cons));
		}
		EXPECT_EQ(std::memcmp(h.host(s), h.host(d), n * 64), 0) << "log2 " << log2;
		EXPECT_EQ(h.counter(0, ch::kCntDescLo), n);
		EXPECT_EQ(h.crd(0, ch::kHwHead), n);
	}
}

/* HW §9: a mapping change takes effect at the next descriptor, also for the
 * buffers the card's translation cache holds. */
TEST(ModelChannel, IommuUnmapOfCachedBufferFaultsNextCopy)
{
	Harness h(CardConfig{}, 1 << 20);
	AlignedBuf extra(8192);
	const uint64_t x = 0x4000'0000; /* a segment of its own */
	ASSERT_EQ(h.iommu().map(x, 8192, extra.p), 0);
	Ring r = h.open(0, 5);
	const uint64_t d = h.alloc(4096);
	fill_bytes(extra.p, 8192, 0x5a);
	for (int i = 0; i < 4; i++)
		h.post(r, make_desc(Opcode::Copy, x + i * 64, d + i * 64, 64));
	h.doorbell(r);
	h.run();
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	ASSERT_EQ(h.iommu().unmap(x, 8192), 0);
	h.post(r, make_desc(Opcode::Copy, x + 256, d + 256, 64));
	h.post(r, make_desc(Opcode::Copy, d, x, 64));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidSrcAddr));
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidDstAddr));
	EXPECT_EQ(h.err_addr(0), x + 256);
	/* mapped again, at another host address: copies come from there */
	AlignedBuf other(8192);
	fill_bytes(other.p, 8192, 0x11);
	ASSERT_EQ(h.iommu().map(x, 8192, other.p), 0);
	h.post(r, make_desc(Opcode::Copy, x + 512, d + 512, 64));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(std::memcmp(h.host(d + 512), other.p + 512, 64), 0);
}

/* The fast path and the general one interleave within a batch: faults,
 * fences and odd opcodes among plain copies, in ring order. */
TEST(ModelErrors, MixedBatchKeepsOrderAndFence)
{
	Harness h;
	Ring r = h.open(0, 6);
	const uint64_t s = h.alloc(64 * 64), d = h.alloc(64 * 64);
	fill_bytes(h.host(s), 64 * 64, 0x77);
	std::vector<uint8_t> want;
	for (unsigned i = 0; i < 40; i++) {
		uint64_t src = s + i * 64;
		uint8_t flags = 0;
		uint8_t expect = S(Status::Successful);
		if (i == 5 || i == 17) {
			src = 0x7'0000'0000ull; /* unmapped */
			expect = S(Status::InvalidSrcAddr);
		} else if (i == 6 || i == 19) {
			flags = hw::dflag::kFence; /* after a failure in its batch */
			expect = S(Status::NotAttempted);
		} else if (i == 7) {
			flags = hw::dflag::kCompletionRequest; /* ends the fence scope */
		} else if (i == 9) {
			flags = hw::dflag::kFence; /* new scope: runs */
		}
		auto x = make_desc(i == 12 ? Opcode::Nop : Opcode::Copy, src, d + i * 64, i == 12 ? 0 : 64, flags);
		if (i == 30)
			x.length = 0;
		if (i == 30)
			expect = S(Status::InvalidLength);
		want.push_back(expect);
		h.post(r, x);
	}
	h.doorbell(r);
	h.run();
	for (unsigned i = 0; i < 40; i++) {
		auto c = h.next(r);
		EXPECT_EQ(st(c), want[i]) << "index " << i;
		EXPECT_EQ(c.id, i);
		if (want[i] == S(Status::Successful) && i != 12) {
			EXPECT_EQ(c.result, 64u);
			EXPECT_EQ(std::memcmp(h.host(s + i * 64), h.host(d + i * 64), 64), 0) << i;
		}
	}
	EXPECT_FALSE(h.ready(r, r.cons));
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 40u);
	EXPECT_EQ(h.counter(0, ch::kCntErrLo), 5u);
	EXPECT_EQ(h.counter(0, ch::kCntBytesLo), 34u * 64);
}

TEST(ModelRing, FullRingInOneDoorbell)
{
	Harness h;
	Ring r = h.open(0, 4);
	for (int i = 0; i < 16; i++)
		h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r); /* pending == ring size: allowed */
	h.run();
	for (int i = 0; i < 16; i++)
		EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(h.state(0), ChannelState::Running);
}

TEST(ModelRing, DoorbellBeyondRingSizeFails)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.ring_doorbell(0, 17); /* HW §3.4: a violation, and the channel fails */
	h.expect_violations(1);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Failed);
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::DescriptorReadError));
	EXPECT_FALSE(h.ready(r, 0));
	/* Failed ignores ENABLE=0; only RESET leaves it */
	h.cwr(0, ch::kCtrl, 0);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Failed);
	h.cwr(0, ch::kCtrl, hw::chctrl::kReset);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Disabled);
	EXPECT_EQ(h.crd(0, ch::kErrCode), 0u);
	EXPECT_EQ(h.crd(0, ch::kDoorbell), 0u);
}

/* HW §3.4: a doorbell before the enable is a violation; without strict the
 * model carries on as a card that does not check, and sees it at enable. */
TEST(ModelRing, DoorbellBeforeEnableIsAViolation)
{
	CardConfig cfg;
	cfg.strict = false;
	Harness h(cfg);
	h.global_enable();
	Ring r = h.program(0, 4, 0);
	h.cwr(0, ch::kCtrl, 0); /* programmed but not enabled */
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.expect_violations(1);
	h.run();
	EXPECT_FALSE(h.ready(r, 0));
	EXPECT_EQ(h.card().contract_violations(), 1u);
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady); /* not strict: no Fatal */
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
}

/* ---- channel control (HW §3.5) ---------------------------------------------------- */

TEST(ModelChannel, EnableValidation)
{
	CardConfig cfg;
	cfg.copy_channels = 6;
	cfg.max_ring_log2 = 8;
	cfg.strict = false; /* the misaligned bases are violations too (HW §5.5) */
	Harness h(cfg, 1 << 20);
	h.global_enable();
	const uint64_t good_ring = h.alloc(32 << 4, 4096), good_cpl = h.alloc(8 << 4, 4096);
	auto prog = [&](unsigned c, uint64_t ring, uint32_t log2, uint64_t cpl) {
		h.cwr(c, ch::kRingBaseLo, uint32_t(ring));
		h.cwr(c, ch::kRingBaseHi, uint32_t(ring >> 32));
		h.cwr(c, ch::kRingLog2, log2);
		h.cwr(c, ch::kCplBaseLo, uint32_t(cpl));
		h.cwr(c, ch::kCplBaseHi, uint32_t(cpl >> 32));
		h.cwr(c, ch::kCtrl, hw::chctrl::kEnable);
	};
	const uint64_t end = kMemIova + (1 << 20);
	prog(0, good_ring, 0, good_cpl);             /* log2 0 */
	prog(1, good_ring, 9, good_cpl);             /* > MaxRingLog2 */
	prog(2, good_ring + 64, 4, good_cpl);        /* ring misaligned */
	prog(3, good_ring, 4, good_cpl + 8);         /* completion ring misaligned */
	prog(4, end - 4096, 8, good_cpl);            /* ring runs off the mapping */
	prog(5, good_ring, 4, end);                  /* completion ring off the mapping */
	h.expect_violations(2);
	h.run();
	const struct {
		Status code;
		uint64_t addr;
	} want[] = {
		{Status::DescriptorReadError, good_ring},
		{Status::DescriptorReadError, good_ring},
		{Status::DescriptorReadError, good_ring + 64},
		{Status::BusWriteError, good_cpl + 8},
		{Status::DescriptorReadError, end - 4096},
		{Status::BusWriteError, end},
	};
	for (unsigned c = 0; c < 6; c++) {
		EXPECT_EQ(h.state(c), ChannelState::Failed) << c;
		EXPECT_EQ(h.crd(c, ch::kErrCode), unsigned(want[c].code)) << c;
		EXPECT_EQ(h.err_addr(c), want[c].addr) << c;
	}
	/* recovery: RESET, rewrite bases, re-enable */
	h.cwr(4, ch::kCtrl, hw::chctrl::kReset);
	h.run();
	EXPECT_EQ(h.state(4), ChannelState::Disabled);
	prog(4, good_ring, 4, good_cpl);
	h.run();
	EXPECT_EQ(h.state(4), ChannelState::Running);
	EXPECT_EQ(h.crd(4, ch::kErrCode), 0u);
}

TEST(ModelChannel, DisableAbortsPending)
{
	Harness h;
	Ring r = h.open(0, 4);
	const uint64_t s = h.alloc(64), d = h.alloc(64);
	h.post(r, make_desc(Opcode::Copy, s, d, 64));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	/* stop the engine from fetching, queue more, then disable */
	h.wr(reg::kGlobalCtrl, 0);
	for (int i = 0; i < 5; i++) {
		auto x = make_desc(Opcode::Copy, s, d, 64);
		x.id = uint16_t(0x700 + i);
		h.post(r, x, true);
	}
	h.doorbell(r);
	h.run();
	EXPECT_FALSE(h.ready(r, 1));
	h.cwr(0, ch::kCtrl, 0);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Disabled);
	for (int i = 0; i < 5; i++) {
		auto c = h.next(r);
		EXPECT_EQ(st(c), S(Status::UserAbort));
		EXPECT_EQ(c.id, 0x700 + i);
		EXPECT_EQ(c.result, 0u);
	}
	EXPECT_EQ(h.crd(0, ch::kHwHead), 6u);
	EXPECT_EQ(h.crd(0, ch::kDoorbell), 0u);
	EXPECT_EQ(h.crd(0, ch::kErrCode), 0u); /* UserAbort is not an error to latch */
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 6u);
	EXPECT_EQ(h.counter(0, ch::kCntErrLo), 5u);
	/* re-enable restarts at index 0 */
	h.global_enable();
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Running);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 0u);
}

TEST(ModelChannel, DisableFromHalted)
{
	Harness h;
	Ring r = h.open(0, 4, hw::chctrl::kHaltOnError);
	h.post(r, make_desc(Opcode::Fill, 0, 0, 0)); /* length 0 */
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Halted);
	h.cwr(0, ch::kCtrl, 0);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Disabled);
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidLength));
	EXPECT_EQ(st(h.next(r)), S(Status::UserAbort));
	EXPECT_EQ(st(h.next(r)), S(Status::UserAbort));
}

TEST(ModelChannel, ResetClearsEverything)
{
	Harness h;
	Ring r = h.open(0, 4, hw::chctrl::kHaltOnError);
	const uint64_t s = h.alloc(64), d = h.alloc(64);
	h.post(r, make_desc(Opcode::Copy, s, d, 64));
	h.post(r, make_desc(Opcode::Copy, 0x2'0000'0000ull, d, 64));
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Halted);
	EXPECT_NE(h.crd(0, ch::kErrCode), 0u);
	h.cwr(0, ch::kCtrl, hw::chctrl::kReset);
	h.run();
	EXPECT_EQ(h.crd(0, ch::kCtrl), 0u); /* self-clearing */
	EXPECT_EQ(h.state(0), ChannelState::Disabled);
	EXPECT_FALSE(h.ready(r, 2)) << "RESET writes no completions";
	for (uint32_t reg_ : {ch::kHwHead, ch::kErrCode, ch::kErrIndex, ch::kErrAddrLo, ch::kErrAddrHi, ch::kDoorbell})
		EXPECT_EQ(h.crd(0, reg_), 0u) << reg_;
	for (uint32_t c : {ch::kCntDescLo, ch::kCntErrLo, ch::kCntBytesLo})
		EXPECT_EQ(h.counter(0, c), 0u);
	/* the bases survive a reset; RESET|ENABLE in one write re-enables */
	EXPECT_EQ(h.crd(0, ch::kRingBaseLo), uint32_t(r.ring_iova));
	std::memset(h.host(r.cpl_iova), 0, 8 << 4);
	h.cwr(0, ch::kCtrl, hw::chctrl::kReset | hw::chctrl::kEnable);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Running);
	Ring r2 = r;
	r2.prod = r2.cons = 0;
	h.post(r2, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r2);
	h.run();
	auto c = h.next(r2);
	EXPECT_EQ(st(c), S(Status::Successful));
	EXPECT_EQ(c.id, 0);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 1u);
}

TEST(ModelChannel, GlobalEnableGates)
{
	Harness h;
	Ring r = h.program(0, 4);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Running); /* state changes act without global enable */
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	for (int i = 0; i < 10; i++)
		h.card().poll_once();
	EXPECT_FALSE(h.ready(r, 0));
	h.global_enable();
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
}

TEST(ModelChannel, GlobalReset)
{
	CardConfig cfg;
	cfg.copy_channels = 2;
	Harness h(cfg);
	Ring a = h.open(0, 4), b = h.open(1, 4);
	h.post(a, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(a);
	h.run();
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 1u);
	h.wr(reg::kGlobalCtrl, hw::gctrl::kEnable | hw::gctrl::kReset);
	h.run();
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), hw::gctrl::kEnable);
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady);
	for (unsigned c = 0; c < 2; c++) {
		EXPECT_EQ(h.state(c), ChannelState::Disabled);
		EXPECT_EQ(h.crd(c, ch::kCtrl), 0u);
		EXPECT_EQ(h.crd(c, ch::kHwHead), 0u);
		EXPECT_EQ(h.counter(c, ch::kCntDescLo), 0u);
	}
	EXPECT_EQ(h.rd(reg::kId), hw::kMagic);
	(void)b;
}

TEST(ModelChannel, IommuUnmapFailsRunningChannel)
{
	Harness h(CardConfig{}, 1 << 20);
	AlignedBuf ringmem(4096);
	const uint64_t ring_iova = 0x2000'0000;
	ASSERT_EQ(h.iommu().map(ring_iova, 4096, ringmem.p), 0);
	h.global_enable();
	const uint64_t cpl = h.alloc(8 << 4, 4096);
	h.cwr(0, ch::kRingBaseLo, uint32_t(ring_iova));
	h.cwr(0, ch::kRingLog2, 4);
	h.cwr(0, ch::kCplBaseLo, uint32_t(cpl));
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable);
	h.run();
	ASSERT_EQ(h.state(0), ChannelState::Running);
	ASSERT_EQ(h.iommu().unmap(ring_iova, 4096), 0);
	h.ring_doorbell(0, 1);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Failed);
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::DescriptorReadError));
	EXPECT_EQ(h.err_addr(0), ring_iova);
}

/* ---- fault injection and removal ------------------------------------------------- */

TEST(ModelFaults, FailNthAndEvery)
{
	CardConfig cfg;
	cfg.copy_channels = 2;
	Harness h(cfg);
	Ring a = h.open(0, 5), b = h.open(1, 5);
	xcap::model::FaultPlan p;
	p.fail_nth = 3;
	p.fail_status = Status::BusReadError;
	h.card().set_fault(0, p);
	xcap::model::FaultPlan q;
	q.fail_every = 4;
	q.fail_status = Status::DataPoison;
	h.card().set_fault(1, q);
	const uint64_t s = h.alloc(64), d = h.alloc(10 * 64);
	fill_bytes(h.host(s), 64, 5);
	for (int i = 0; i < 10; i++) {
		h.post(a, make_desc(Opcode::Copy, s, d + 64 * i, 64));
		h.post(b, make_desc(Opcode::Nop, 0, 0, 0));
	}
	h.doorbell(a);
	h.doorbell(b);
	h.run();
	for (int i = 1; i <= 10; i++) {
		auto c = h.next(a);
		EXPECT_EQ(st(c), i == 3 ? S(Status::BusReadError) : S(Status::Successful)) << i;
		EXPECT_EQ(h.host(d + 64 * (i - 1))[0], i == 3 ? 0 : h.host(s)[0]) << "a failed op touched data";
		EXPECT_EQ(st(h.next(b)), i % 4 == 0 ? S(Status::DataPoison) : S(Status::Successful)) << i;
	}
	EXPECT_EQ(h.counter(0, ch::kCntErrLo), 1u);
	EXPECT_EQ(h.counter(1, ch::kCntErrLo), 2u);
	EXPECT_EQ(h.crd(1, ch::kErrIndex), 3u);
	EXPECT_EQ(h.err_addr(0), 0u);
	/* sequence numbers restart at reset */
	h.cwr(0, ch::kCtrl, hw::chctrl::kReset | hw::chctrl::kEnable);
	h.run();
	std::memset(h.host(a.cpl_iova), 0, 8 << 5);
	a.prod = a.cons = 0;
	for (int i = 0; i < 3; i++)
		h.post(a, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(a);
	h.run();
	EXPECT_EQ(st(h.next(a)), S(Status::Successful));
	EXPECT_EQ(st(h.next(a)), S(Status::Successful));
	EXPECT_EQ(st(h.next(a)), S(Status::BusReadError));
}

TEST(ModelFaults, Stall)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.card().set_stall(0, true);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	for (int i = 0; i < 20; i++)
		h.card().poll_once();
	EXPECT_FALSE(h.ready(r, 0));
	EXPECT_EQ(h.crd(0, ch::kStatus), uint32_t(ChannelState::Running) | hw::chstatus::kBusy);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 0u);
	h.card().set_stall(0, false);
	h.run();
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
	EXPECT_EQ(h.crd(0, ch::kStatus), uint32_t(ChannelState::Running));
}

TEST(ModelFaults, VanishReadsAllOnesAndStopsDma)
{
	Harness h;
	Ring r = h.open(0, 4);
	const uint64_t s = h.alloc(64), d = h.alloc(64);
	fill_bytes(h.host(s), 64, 1);
	h.post(r, make_desc(Opcode::Copy, s, d, 64));
	h.doorbell(r);
	h.card().vanish();
	EXPECT_TRUE(h.card().vanished());
	for (uint32_t off = 0; off < hw::kBar0Size; off += 4)
		ASSERT_EQ(h.rd(off), hw::kAllOnes) << off;
	std::vector<uint8_t> before(h.host(kMemIova), h.host(kMemIova) + (1 << 16));
	h.wr(reg::kScratch, 0);       /* writes are ignored ... */
	h.ring_doorbell(0, 1);
	for (int i = 0; i < 10; i++)
		h.card().poll_once();
	EXPECT_EQ(h.rd(reg::kScratch), hw::kAllOnes); /* ... and read back all-ones */
	EXPECT_EQ(h.crd(0, ch::kDoorbell), hw::kAllOnes);
	EXPECT_FALSE(h.ready(r, 0));
	EXPECT_EQ(std::memcmp(before.data(), h.host(kMemIova), before.size()), 0) << "DMA after vanish";
}

TEST(ModelFaults, VanishWhileThreadRuns)
{
	Harness h;
	Ring r = h.open(0, 8);
	const uint64_t s = h.alloc(4096), d = h.alloc(4096);
	ASSERT_EQ(h.card().start(), 0);
	for (int i = 0; i < 200; i++)
		h.post(r, make_desc(Opcode::Copy, s, d, 4096));
	h.doorbell(r);
	h.card().vanish();
	/* from here on nothing may change in host memory */
	std::vector<uint8_t> snap(h.host(r.cpl_iova), h.host(r.cpl_iova) + (8 << 8));
	std::this_thread::sleep_for(std::chrono::milliseconds(5));
	EXPECT_EQ(std::memcmp(snap.data(), h.host(r.cpl_iova), snap.size()), 0);
	EXPECT_EQ(h.rd(reg::kId), hw::kAllOnes);
	h.card().stop();
}

TEST(ModelFaults, NullEngineTouchesNothing)
{
	CardConfig cfg;
	cfg.null_engine = true;
	Harness h(cfg);
	Ring r = h.open(0, 4);
	std::vector<uint8_t> before(h.host(kMemIova + 0x10000), h.host(kMemIova + 0x10000) + 0x1000);
	h.post(r, make_desc(Opcode::Copy, 0x6'0000'0000ull, 0x7'0000'0000ull, 4096)); /* unmapped */
	h.post(r, make_desc(Opcode::Copy, kMemIova + 0x10000, kMemIova + 0x10800, 2048));
	h.post(r, make_desc(Opcode::Fill, 0x1122334455667788ull, kMemIova + 0x10000, 4096));
	auto sg = make_desc(Opcode::CopySg, 0x6'0000'0000ull, 0x7'0000'0000ull, 12345);
	sg.nb_src = 3;
	sg.nb_dst = 1;
	h.post(r, sg);
	h.post(r, make_desc(Opcode::Copy, 0, 0, 0)); /* lengths are still checked */
	h.doorbell(r);
	h.run();
	auto c = h.next(r);
	EXPECT_EQ(st(c), S(Status::Successful));
	EXPECT_EQ(c.result, 4096u);
	EXPECT_EQ(h.next(r).result, 2048u);
	EXPECT_EQ(h.next(r).result, 4096u);
	c = h.next(r);
	EXPECT_EQ(st(c), S(Status::Successful));
	EXPECT_EQ(c.result, 12345u);
	EXPECT_EQ(st(h.next(r)), S(Status::InvalidLength));
	EXPECT_EQ(std::memcmp(before.data(), h.host(kMemIova + 0x10000), before.size()), 0);
	EXPECT_EQ(h.counter(0, ch::kCntBytesLo), 0u);
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 5u);
}

/* ---- the engine thread (HW §3) -------------------------------------------------- */

TEST(ModelThread, StartWaitStop)
{
	Harness h;
	Ring r = h.open(0, 6);
	EXPECT_EQ(h.card().start(), 0);
	EXPECT_EQ(h.card().start(), 0); /* idempotent */
	EXPECT_TRUE(h.card().running());
	EXPECT_EQ(h.card().poll_once(), 0u); /* not while the thread runs */
	const uint64_t s = h.alloc(1 << 16), d = h.alloc(1 << 16);
	fill_bytes(h.host(s), 1 << 16, 77);
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 32; i++) {
			const uint32_t off = uint32_t((round * 32 + i) % 64) * 1024;
			h.post(r, make_desc(Opcode::Copy, s + off, d + off, 1024));
		}
		h.doorbell(r);
		/* idle in between, so the engine backs off and must wake */
		if (round % 10 == 0)
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
		ASSERT_TRUE(h.wait_ready(r, uint16_t(r.prod - 1)));
		while (r.cons != r.prod)
			ASSERT_EQ(st(h.next(r)), S(Status::Successful));
	}
	EXPECT_EQ(std::memcmp(h.host(s), h.host(d), 1 << 16), 0);
	h.card().stop();
	EXPECT_FALSE(h.card().running());
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 50u * 32);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.run(); /* poll_once works again after stop */
	EXPECT_EQ(st(h.next(r)), S(Status::Successful));
}

TEST(ModelThread, PinnedToCpu)
{
	CardConfig cfg;
	cfg.cpu = 0;
	cfg.name = "xcap-pinned-card-long-name";
	Harness h(cfg);
	Ring r = h.open(0, 4);
	ASSERT_EQ(h.card().start(), 0);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	EXPECT_TRUE(h.wait_ready(r, 0));
}

TEST(ModelThread, TwoCardsSideBySide)
{
	CardConfig cfg;
	cfg.copy_channels = 2;
	Harness h1(cfg), h2(cfg);
	Ring r[2][2];
	Harness *hs[2] = {&h1, &h2};
	for (int k = 0; k < 2; k++)
		for (unsigned c = 0; c < 2; c++)
			r[k][c] = hs[k]->open(c, 5);
	uint64_t src[2][2], dst[2][2]; /* the bump allocator is single-threaded */
	for (int k = 0; k < 2; k++)
		for (unsigned c = 0; c < 2; c++) {
			src[k][c] = hs[k]->alloc(256 * 16);
			dst[k][c] = hs[k]->alloc(256 * 16);
		}
	ASSERT_EQ(h1.card().start(), 0);
	ASSERT_EQ(h2.card().start(), 0);
	std::vector<std::thread> drivers;
	std::atomic<int> failures{0};
	for (int k = 0; k < 2; k++)
		for (unsigned c = 0; c < 2; c++)
			drivers.emplace_back([&, k, c] {
				Harness &h = *hs[k];
				Ring &rr = r[k][c];
				const uint64_t s = src[k][c], d = dst[k][c];
				for (int i = 0; i < 256 * 16; i++)
					h.host(s)[i] = uint8_t(i * (k + 3) + c);
				for (int i = 0; i < 256; i++) {
					h.post(rr, make_desc(Opcode::Copy, s + 16 * i, d + 16 * i, 16));
					if (i % 16 == 15) {
						h.doorbell(rr);
						if (!h.wait_ready(rr, uint16_t(rr.prod - 1)))
							failures++;
						while (rr.cons != rr.prod)
							if (h.cpl(rr, rr.cons++).status != 0)
								failures++;
					}
				}
				if (std::memcmp(h.host(s), h.host(d), 256 * 16) != 0)
					failures++;
			});
	for (auto &t : drivers)
		t.join();
	EXPECT_EQ(failures.load(), 0);
	for (int k = 0; k < 2; k++)
		for (unsigned c = 0; c < 2; c++)
			EXPECT_EQ(hs[k]->counter(c, ch::kCntDescLo), 256u);
}
