/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The device model as the contract's referee (HW §2.4, §2.5): the register
 * port, the counter latch, the host error log and Fatal, one negative test
 * per rule the card checks, and the options of a slower, smaller card
 * (ready_delay_ms, caps_ops, quiesce_ms, strict). Every negative test
 * announces its violations (Harness::expect_violations): a test that leaves
 * any other one fails at teardown.
 */
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "model_harness.h"

using namespace xcap::test;
using hw::ChannelState;
using hw::Opcode;
using hw::Status;
namespace he = hw::hosterr;

namespace {

constexpr uint8_t S(Status s) { return uint8_t(s); }

bool starts_with(const std::string &s, const std::string &p) { return s.rfind(p, 0) == 0; }

/* What a strict card shows after its first violation (HW §2.5). */
void expect_fatal(Harness &h, uint32_t status_bits, he::Rule first, unsigned chan, uint32_t off)
{
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady | hw::gstatus::kFatal);
	EXPECT_EQ(h.rd(reg::kFatalCode), hw::kFatalHostProtocol);
	EXPECT_EQ(h.rd(reg::kHostErrStatus), status_bits);
	EXPECT_EQ(h.card().host_err_status(), status_bits);
	EXPECT_EQ(h.rd(reg::kHostErrInfo), he::info(first, chan, off));
}

/* The card stopped: a Nop submitted now is not executed. */
void expect_nothing_runs(Harness &h, Ring &r)
{
	const uint64_t done = h.counter(r.chan, ch::kCntDescLo);
	const uint16_t idx = h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	for (int i = 0; i < 20; i++)
		h.card().poll_once();
	EXPECT_FALSE(h.ready(r, idx)) << "a Fatal card executed a descriptor";
	EXPECT_EQ(h.counter(r.chan, ch::kCntDescLo), done);
}

/* Poll (the engine thread is not running) until pred holds, bounded. */
template <class P> bool poll_until(Harness &h, P pred, std::chrono::milliseconds t = std::chrono::seconds(5))
{
	const auto end = std::chrono::steady_clock::now() + t;
	while (std::chrono::steady_clock::now() < end) {
		h.card().poll_once();
		if (pred())
			return true;
		std::this_thread::sleep_for(std::chrono::microseconds(200));
	}
	return pred();
}

/* Let the engine sample the window (it does every 128 passes). */
void sample(Harness &h)
{
	for (int i = 0; i < 128; i++)
		h.card().poll_once();
}

} // namespace

/* ---- HW §2.4 access width ------------------------------------------------------ */

TEST(ModelContract, WidthViolation)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.expect_violations(3);
	/* a 64-bit read of a counter pair: all-ones, and the card stops */
	EXPECT_EQ(h.card().mmio_read(hw::chan_reg(0, ch::kCntDescLo), 8), ~uint64_t(0));
	EXPECT_EQ(h.card().contract_violations(), 1u);
	expect_fatal(h, he::kWidth, he::Rule::Width, 0, 0x1040);
	ASSERT_GE(h.log().size(), 1u);
	EXPECT_EQ(h.log()[0], "contract violation: 64-bit access (hardware.md §2.4): read of 8 bytes at "
			      "BAR0+0x1040; registers are 32-bit (CntDescLo, channel 0)");
	/* a 16-bit write and an unaligned one are dropped */
	h.card().mmio_write(reg::kScratch, 2, 0x1234);
	h.card().mmio_write(reg::kScratch + 1, 4, 0x1234);
	EXPECT_EQ(h.rd(reg::kScratch), 0u);
	EXPECT_EQ(h.card().contract_violations(), 3u);
	ASSERT_EQ(h.log().size(), 3u);
	EXPECT_TRUE(starts_with(h.log()[1], "contract violation: 16-bit access (hardware.md §2.4): write of 2 bytes"));
	EXPECT_TRUE(starts_with(h.log()[2], "contract violation: unaligned access (hardware.md §2.4)"));
	/* bits accumulate; HostErrInfo keeps the first */
	expect_fatal(h, he::kWidth, he::Rule::Width, 0, 0x1040);
	expect_nothing_runs(h, r);
}

TEST(ModelContract, WidthBeyondBar0AndByteRead)
{
	CardConfig cfg;
	cfg.strict = false;
	Harness h(cfg);
	h.expect_violations(2);
	EXPECT_EQ(h.card().mmio_read(hw::kBar0Size, 4), 0xffffffffu);
	EXPECT_EQ(h.card().mmio_read(reg::kId, 1), 0xffu);
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: access beyond BAR0 (hardware.md §2.4)"));
	EXPECT_TRUE(starts_with(h.log().at(1), "contract violation: 8-bit access (hardware.md §2.4)"));
	/* strict = false: counted and logged, nothing else */
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady);
	EXPECT_EQ(h.rd(reg::kHostErrStatus), 0u);
	EXPECT_EQ(h.card().host_err_status(), 0u);
}

/* ---- HW §2.4 access types ---------------------------------------------------------- */

TEST(ModelContract, ReadOnlyViolation)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.expect_violations(1);
	h.cwr(0, ch::kHwHead, 5);
	EXPECT_EQ(h.crd(0, ch::kHwHead), 0u); /* dropped */
	expect_fatal(h, he::kReadOnly, he::Rule::ReadOnly, 0, hw::chan_reg(0, ch::kHwHead));
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: write to a read-only register "
					       "(hardware.md §2.4): write of 0x00000005 to BAR0+0x1020 (HwHead, channel 0)"));
	expect_nothing_runs(h, r);
}

/* A shared window cannot refuse the store: the card sees it when it samples
 * and puts its value back. */
TEST(ModelContract, ReadOnlyOverwrittenInTheWindow)
{
	Harness h;
	h.card().poll_once();
	h.expect_violations(1);
	h.raw_wr(reg::kCaps0, 0x12345678);
	sample(h);
	EXPECT_EQ(h.card().contract_violations(), 1u);
	EXPECT_EQ(h.raw_rd(reg::kCaps0), 1u | 48u << 16) << "restored";
	expect_fatal(h, he::kReadOnly, he::Rule::ReadOnly, he::kGlobal, reg::kCaps0);
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: read-only register overwritten (hardware.md §2.4)"));
}

/* ---- HW §2.4 reserved bits and offsets, HW §5.1 reserved fields -------------------- */

TEST(ModelContract, ReservedRegisterBits)
{
	CardConfig cfg;
	cfg.strict = false; /* see every one of them */
	Harness h(cfg);
	h.expect_violations(4);
	h.cwr(0, ch::kPriority, 0x13);             /* RsvdZ [31:4] */
	h.wr(reg::kGlobalCtrl, 0x20 | hw::gctrl::kEnable); /* RsvdP [31:2] */
	h.wr(0x040, 1);                            /* unassigned */
	h.cwr(1, ch::kCapFlushUs, 1);              /* a channel the card does not have */
	EXPECT_EQ(h.card().contract_violations(), 4u);
	/* without strict the write acts with the reserved bits masked off */
	EXPECT_EQ(h.crd(0, ch::kPriority), 3u);
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), hw::gctrl::kEnable);
	EXPECT_EQ(h.rd(0x040), 0u);
	EXPECT_EQ(h.crd(1, ch::kCapFlushUs), 0u);
	const auto log = h.log();
	EXPECT_TRUE(starts_with(log.at(0), "contract violation: reserved bits set (hardware.md §2.4): write of "
					   "0x00000013 to BAR0+0x1070 (Priority, channel 0): bits 0x00000010 are reserved (RsvdZ"));
	EXPECT_NE(log.at(1).find("RsvdP"), std::string::npos);
	EXPECT_TRUE(starts_with(log.at(2), "contract violation: write to an unassigned offset (hardware.md §2.4)"));
	EXPECT_TRUE(starts_with(log.at(3), "contract violation: write to an unassigned offset (hardware.md §2.4)"));
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady);
}

TEST(ModelContract, ReservedStrictDropsAndStops)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.expect_violations(1);
	h.cwr(0, ch::kRingLog2, 0x25); /* also config while enabled, but reserved is checked first */
	EXPECT_EQ(h.crd(0, ch::kRingLog2), 4u);
	expect_fatal(h, he::kReserved, he::Rule::Reserved, 0, hw::chan_reg(0, ch::kRingLog2));
	expect_nothing_runs(h, r);
}

TEST(ModelContract, DescriptorReservedFields)
{
	Harness h;
	Ring r = h.open(0, 4);
	const uint64_t s = h.alloc(64), d = h.alloc(3 * 64);
	h.post(r, make_desc(Opcode::Copy, s, d, 64));
	h.post(r, make_desc(Opcode::Copy, s, d + 64, 64, 0x04)); /* flag bit 2 */
	h.post(r, make_desc(Opcode::Copy, s, d + 128, 64));
	h.doorbell(r);
	h.expect_violations(1);
	h.run();
	/* the first completes; the card stops before the offending one */
	EXPECT_EQ(h.next(r).status, S(Status::Successful));
	EXPECT_FALSE(h.ready(r, 1));
	EXPECT_FALSE(h.ready(r, 2));
	EXPECT_EQ(h.crd(0, ch::kHwHead), 1u);
	expect_fatal(h, he::kReserved, he::Rule::Reserved, 0, 0);
	EXPECT_EQ(h.log().at(0), "contract violation: descriptor reserved bits set (hardware.md §5.1): channel 0 "
				 "descriptor 1 (opcode 1): flags 0x04 (defined 0x03), reserved 0x00000000; reserved "
				 "bits must be 0");
	expect_nothing_runs(h, r);
	/* the driver can still stop the channel: what is left completes UserAbort */
	h.cwr(0, ch::kCtrl, 0);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Disabled);
	EXPECT_EQ(h.next(r).status, S(Status::UserAbort));
}

TEST(ModelContract, DescriptorReservedWordWithoutStrict)
{
	CardConfig cfg;
	cfg.strict = false;
	Harness h(cfg);
	Ring r = h.open(0, 4);
	auto x = make_desc(Opcode::Nop, 0, 0, 0);
	x.reserved = 0xffffffff;
	h.post(r, x);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.expect_violations(1);
	h.run();
	EXPECT_EQ(h.next(r).status, S(Status::Successful)); /* executed, as a card that does not check */
	EXPECT_EQ(h.next(r).status, S(Status::Successful));
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady);
	EXPECT_EQ(h.rd(reg::kHostErrStatus), 0u);
}

TEST(ModelContract, SgeReservedField)
{
	Harness h;
	Ring r = h.open(0, 4);
	const uint64_t a = h.alloc(64), b = h.alloc(64);
	std::memset(h.host(b), 0xaa, 64);
	const uint64_t sl = h.alloc_sg(1), dl = h.alloc_sg(1);
	h.hostp<hw::Sge>(sl)[0] = {a, 64, 0};
	h.hostp<hw::Sge>(dl)[0] = {b, 64, 0xdead};
	auto d = make_desc(Opcode::CopySg, sl, dl, 64);
	d.nb_src = d.nb_dst = 1;
	h.post(r, d);
	h.doorbell(r);
	h.expect_violations(1);
	h.run();
	EXPECT_FALSE(h.ready(r, 0)) << "not executed, no completion";
	EXPECT_EQ(h.host(b)[0], 0xaa);
	expect_fatal(h, he::kReserved, he::Rule::Reserved, 0, 0);
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: Sge reserved field set (hardware.md §5.1): "
					       "channel 0 descriptor 0: dst Sge[0].reserved is 0x0000dead"));
}

/* ---- HW §7.3 not ready -------------------------------------------------------------- */

TEST(ModelContract, NotReadyViolation)
{
	Harness h;
	h.expect_violations(1);
	/* a reset clears Ready at the write, before the card has acted on it */
	h.wr(reg::kGlobalCtrl, hw::gctrl::kReset);
	EXPECT_EQ(h.rd(reg::kGlobalStatus), 0u);
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), hw::gctrl::kReset);
	h.wr(reg::kScratch, 0xa5a55a5a); /* too early */
	h.run();
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), 0u);
	EXPECT_EQ(h.rd(reg::kScratch), 0u) << "dropped";
	/* the violation came after the reset began, so the reset does not clear it */
	expect_fatal(h, he::kNotReady, he::Rule::NotReady, he::kGlobal, reg::kScratch);
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: write while not Ready (hardware.md §7.3): "
					       "write of 0xa5a55a5a to BAR0+0x2c (Scratch)"));
}

/* ---- HW §3.4 doorbell ---------------------------------------------------------------- */

TEST(ModelContract, DoorbellOnDisabledChannel)
{
	Harness h;
	h.global_enable();
	Ring r = h.program(0, 4, 0);
	h.cwr(0, ch::kCtrl, 0); /* configured, not enabled */
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.expect_violations(1);
	h.run();
	expect_fatal(h, he::kDoorbell, he::Rule::Doorbell, 0, hw::chan_reg(0, ch::kDoorbell));
	EXPECT_EQ(h.log().at(0), "contract violation: doorbell on a stopped channel (hardware.md §3.4): channel 0: "
				 "Doorbell went from 0 to 1 while the channel is Disabled; ring it only between "
				 "Running and clearing Ctrl.Enable");
	/* the enable is acted on (channel control goes on), nothing is fetched */
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Running);
	EXPECT_FALSE(h.ready(r, 0));
}

TEST(ModelContract, DoorbellMoreThanARingAhead)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.ring_doorbell(0, 17);
	h.expect_violations(1);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Failed);
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::DescriptorReadError));
	expect_fatal(h, he::kDoorbell, he::Rule::Doorbell, 0, hw::chan_reg(0, ch::kDoorbell));
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: doorbell more than a ring ahead (hardware.md §3.4): "
					       "channel 0: Doorbell 17 with HwHead 0 is 17 descriptors pending on a ring of 16"));
	(void)r;
}

/* A channel the card failed under a running fast path: the host cannot know
 * until it reads Status, so a doorbell before that is not its fault. */
TEST(ModelContract, DoorbellOnFailedChannelOnceTheHostKnows)
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
	ASSERT_EQ(h.iommu().unmap(ring_iova, 4096), 0);
	h.ring_doorbell(0, 1);
	h.run();
	h.ring_doorbell(0, 2); /* not yet seen Failed */
	h.run();
	EXPECT_EQ(h.card().contract_violations(), 0u);
	EXPECT_EQ(h.state(0), ChannelState::Failed); /* the host reads Status */
	h.ring_doorbell(0, 3);
	h.expect_violations(1);
	h.run();
	EXPECT_EQ(h.card().contract_violations(), 1u);
	EXPECT_NE(h.log().at(0).find("while the channel is Failed"), std::string::npos);
}

/* ---- HW §3.2 configuration while enabled ---------------------------------------------- */

TEST(ModelContract, ConfigWhileEnabled)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.expect_violations(1);
	h.cwr(0, ch::kRingBaseLo, uint32_t(r.ring_iova) + 4096);
	EXPECT_EQ(h.crd(0, ch::kRingBaseLo), uint32_t(r.ring_iova)); /* dropped */
	expect_fatal(h, he::kConfigWhileEnabled, he::Rule::ConfigWhileEnabled, 0, hw::chan_reg(0, ch::kRingBaseLo));
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: configuration written while enabled (hardware.md "
					       "§3.2): write of 0x"));
	EXPECT_NE(h.log().at(0).find("(RingBaseLo, channel 0) while the channel is enabled (Ctrl 0x00000001, "
				     "Status 0x00000001)"), std::string::npos);
	expect_nothing_runs(h, r);
}

/* Enable set but not yet acted on counts as enabled; CapSnapLen is config too. */
TEST(ModelContract, ConfigAfterEnableWriteAndCapSnapLen)
{
	CardConfig cfg;
	cfg.capture_channels = 1;
	cfg.strict = false;
	Harness h(cfg);
	h.global_enable();
	h.program(0, 4);                     /* Ctrl.Enable written, the card has not looked */
	h.cwr(0, ch::kRingLog2, 5);
	h.open(1, 4);
	h.cwr(1, ch::kCapSnapLen, 128);
	h.cwr(1, ch::kCapFlushUs, 50);       /* not a configuration register */
	h.cwr(1, ch::kPriority, 1);          /* nor this */
	h.expect_violations(2);
	EXPECT_EQ(h.card().contract_violations(), 2u);
	sample(h);
	EXPECT_EQ(h.card().contract_violations(), 2u) << "counted once, not again when sampled";
}

/* On a shared window the card sees the change when it samples. */
TEST(ModelContract, ConfigChangedInTheWindowWhileEnabled)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.expect_violations(1);
	h.raw_wr(hw::chan_reg(0, ch::kCplBaseLo), uint32_t(r.cpl_iova) + 4096);
	sample(h);
	expect_fatal(h, he::kConfigWhileEnabled, he::Rule::ConfigWhileEnabled, 0, hw::chan_reg(0, ch::kCplBaseLo));
	sample(h);
	EXPECT_EQ(h.card().contract_violations(), 1u);
	/* a change while Disabled, then an enable, is fine */
	h.wr(reg::kGlobalCtrl, hw::gctrl::kReset);
	h.run();
	h.raw_wr(hw::chan_reg(0, ch::kCplBaseLo), uint32_t(r.cpl_iova));
	h.global_enable();
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable);
	sample(h);
	EXPECT_EQ(h.state(0), ChannelState::Running);
	EXPECT_EQ(h.card().contract_violations(), 1u);
}

/* ---- HW §5.5 alignment and placement --------------------------------------------------- */

TEST(ModelContract, RingBaseAlignment)
{
	Harness h;
	h.global_enable();
	const uint64_t ring = h.alloc(2 * 4096, 4096) + 64; /* 64 B aligned: 1.1 took it */
	const uint64_t cpl = h.alloc(4096, 4096);
	h.cwr(0, ch::kRingBaseLo, uint32_t(ring));
	h.cwr(0, ch::kRingLog2, 4);
	h.cwr(0, ch::kCplBaseLo, uint32_t(cpl));
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable);
	h.expect_violations(1);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Failed);
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::DescriptorReadError));
	EXPECT_EQ(h.err_addr(0), ring);
	expect_fatal(h, he::kAlignment, he::Rule::Alignment, 0, hw::chan_reg(0, ch::kRingBaseLo));
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: misaligned ring base (hardware.md §5.5): channel 0: "
					       "RingBase 0x"));
}

TEST(ModelContract, CompletionRingAlignmentWithoutStrict)
{
	CardConfig cfg;
	cfg.strict = false;
	Harness h(cfg);
	h.global_enable();
	const uint64_t ring = h.alloc(4096, 4096), cpl = h.alloc(2 * 4096, 4096) + 512;
	h.cwr(0, ch::kRingBaseLo, uint32_t(ring));
	h.cwr(0, ch::kRingLog2, 4);
	h.cwr(0, ch::kCplBaseLo, uint32_t(cpl));
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable);
	h.expect_violations(1);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Failed); /* the enable fails in both modes */
	EXPECT_EQ(h.crd(0, ch::kErrCode), unsigned(Status::BusWriteError));
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: misaligned completion ring base (hardware.md §5.5)"));
}

TEST(ModelContract, SgeArrayPlacement)
{
	CardConfig cfg;
	cfg.max_sge = 256;
	cfg.strict = false;
	Harness h(cfg);
	Ring r = h.open(0, 4);
	const uint64_t a = h.alloc(256), b = h.alloc(256);
	const uint64_t p = h.alloc(6 * 4096, 4096);
	auto sg = [&](uint64_t sl, uint64_t dl, uint16_t n) {
		for (uint16_t i = 0; i < n; i++) {
			h.hostp<hw::Sge>(sl)[i] = {a + i, 1, 0};
			h.hostp<hw::Sge>(dl)[i] = {b + i, 1, 0};
		}
		auto d = make_desc(Opcode::CopySg, sl, dl, 0);
		d.nb_src = d.nb_dst = n;
		return d;
	};
	h.post(r, sg(p + 4096 - 32, p + 4096, 2));             /* fits exactly: fine */
	h.post(r, sg(p + 2 * 4096, p + 3 * 4096, 256));        /* 256 entries, a page each: fine */
	h.post(r, sg(p + 5 * 4096 - 16, p + 4 * 4096, 2));     /* src crosses 4 KiB */
	h.post(r, sg(p + 5 * 4096 + 1032, p + 5 * 4096 + 2048, 1)); /* src not 16 B aligned */
	h.doorbell(r);
	h.expect_violations(2);
	h.run();
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(h.next(r).status, S(Status::Successful)) << i; /* not strict: executed */
	const auto log = h.log();
	ASSERT_EQ(log.size(), 2u);
	EXPECT_TRUE(starts_with(log[0], "contract violation: misplaced Sge array (hardware.md §5.5): channel 0 "
					"descriptor 2: src Sge array at 0x"));
	EXPECT_NE(log[1].find("descriptor 3: src"), std::string::npos);
}

TEST(ModelContract, CaptureBufferPlacement)
{
	CardConfig cfg;
	cfg.copy_channels = 0;
	cfg.capture_channels = 1;
	cfg.capture.resize(1);
	cfg.capture[0].count = 0;
	cfg.capture[0].rate_pps = 1; /* a quiet wire */
	Harness h(cfg);
	Ring r = h.open(0, 4);
	const uint64_t buf = h.alloc(8192);
	h.post(r, make_desc(Opcode::Capture, 0, buf + 32, 4096)); /* not 64 B aligned */
	h.doorbell(r);
	h.expect_violations(1);
	h.run();
	EXPECT_EQ(h.crd(0, ch::kHwHead), 0u);
	expect_fatal(h, he::kAlignment, he::Rule::Alignment, 0, 0);
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: misaligned capture buffer (hardware.md §5.5): "
					       "channel 0 descriptor 0: buffer at 0x"));
}

/* A short capture buffer is the application's choice of length, not a
 * placement rule: the card refuses it (InvalidLength, HW §5.2) and the
 * contract is intact. */
TEST(ModelContract, CaptureBufferTooShortIsInvalidLengthNotAViolation)
{
	CardConfig cfg;
	cfg.copy_channels = 0;
	cfg.capture_channels = 1;
	cfg.capture.resize(1);
	cfg.capture[0].rate_pps = 1;
	Harness h(cfg);
	Ring r = h.open(0, 4);
	h.post(r, make_desc(Opcode::Capture, 0, h.alloc(256), 255));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(h.next(r).status, S(Status::InvalidLength));
}

/* ---- HW §5.2 opcodes -------------------------------------------------------------------- */

TEST(ModelContract, OpcodeNotInCaps1)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.post(r, make_desc(Opcode(9), 0, 0, 0));
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.expect_violations(1);
	h.run();
	EXPECT_EQ(h.next(r).status, S(Status::Successful));
	EXPECT_EQ(h.next(r).status, S(Status::InvalidOpcode)); /* completes, then the card stops */
	EXPECT_FALSE(h.ready(r, 2));
	expect_fatal(h, he::kOpcode, he::Rule::Opcode, 0, 0);
	EXPECT_EQ(h.log().at(0), "contract violation: opcode not in Caps1 (hardware.md §5.2): channel 0 descriptor 1: "
				 "opcode 9, Caps1 0x1f; it completes InvalidOpcode");
}

/* ---- the log ------------------------------------------------------------------------------ */

TEST(ModelContract, LogIsLimitedCountingIsNot)
{
	CardConfig cfg;
	cfg.strict = false;
	Harness h(cfg);
	for (int i = 0; i < 40; i++)
		h.wr(reg::kId, uint32_t(i));
	h.expect_violations(40);
	EXPECT_EQ(h.card().contract_violations(), 40u);
	const auto log = h.log();
	ASSERT_EQ(log.size(), CardConfig::kLogLines + 1);
	for (unsigned i = 0; i < CardConfig::kLogLines; i++)
		EXPECT_TRUE(starts_with(log[i], "contract violation: write to a read-only register (hardware.md §2.4)"));
	EXPECT_NE(log.back().find("further contract violations not logged"), std::string::npos);
	EXPECT_EQ(h.rd(reg::kId), hw::kMagic);
}

/* ---- HW §2.4 the latch -------------------------------------------------------------------- */

/* A counter crossing 2^32 between the two reads: Lo then Hi still gives one
 * value, because Hi returns what the Lo read latched. Fills of 16 MiB move
 * CntBytes across 2^32 in 257 descriptors. */
TEST(ModelContract, CounterLatch)
{
	Harness h(CardConfig{}, 20u << 20);
	Ring r = h.open(0, 9);
	const uint32_t len = 1u << 24;
	const uint64_t dst = h.alloc(len);
	const uint32_t lo_off = hw::chan_reg(0, ch::kCntBytesLo), hi_off = lo_off + 4;
	auto fill = [&](unsigned n) {
		for (unsigned i = 0; i < n; i++)
			h.post(r, make_desc(Opcode::Fill, 0x0102030405060708ull, dst, len));
		h.doorbell(r);
		h.run();
		while (r.cons != r.prod)
			ASSERT_EQ(h.next(r).status, S(Status::Successful));
	};
	fill(255);
	const uint64_t before = 255ull * len; /* 0xff000000 */
	EXPECT_EQ(h.rd(lo_off), uint32_t(before));
	fill(2); /* now 0x1_01000000 */
	EXPECT_EQ(h.rd(hi_off), 0u) << "Hi returns the latch of the Lo read, not the live high word";
	EXPECT_EQ(h.rd(hi_off), 0u) << "and keeps returning it";
	const uint64_t after = 257ull * len;
	EXPECT_EQ(h.counter(0, ch::kCntBytesLo), after); /* Lo, Hi: consistent */
	EXPECT_EQ(h.rd(hi_off), 1u);
	/* the window itself holds the live value, as one 64-bit store */
	EXPECT_EQ(uint64_t(h.raw_rd(hi_off)) << 32 | h.raw_rd(lo_off), after);
	/* every pair has its own latch; the clock's is the same rule */
	EXPECT_EQ(h.crd(0, ch::kCntDescHi), 0u);
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 257u);
	EXPECT_EQ(h.rd(hi_off), 1u) << "CntDesc's Lo read does not touch CntBytes' latch";
	const uint64_t t = h.rd64(reg::kTimeLo);
	EXPECT_EQ(h.rd(reg::kTimeHi), uint32_t(t >> 32));
	/* a channel reset zeroes the latch */
	h.cwr(0, ch::kCtrl, hw::chctrl::kReset);
	h.run();
	EXPECT_EQ(h.rd(hi_off), 0u);
}

/* The latch under the engine thread: Lo then Hi is always a value the
 * counter had (it only grows, so successive reads never go backwards). */
TEST(ModelContract, CounterLatchWhileTheEngineRuns)
{
	Harness h;
	Ring r = h.open(0, 8);
	ASSERT_EQ(h.card().start(), 0);
	std::atomic<bool> stop{false};
	std::thread reader([&] {
		uint64_t last = 0;
		while (!stop.load()) {
			const uint64_t v = h.counter(0, ch::kCntDescLo);
			EXPECT_GE(v, last);
			last = v;
		}
	});
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 64; i++)
			h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
		h.doorbell(r);
		ASSERT_TRUE(h.wait_ready(r, uint16_t(r.prod - 1)));
		r.cons = r.prod;
	}
	stop = true;
	reader.join();
	h.card().stop();
	EXPECT_EQ(h.counter(0, ch::kCntDescLo), 200u * 64);
}

/* ---- HW §2.5 the log registers ------------------------------------------------------------- */

TEST(ModelContract, HostErrStatusIsRw1c)
{
	Harness h;
	h.expect_violations(2);
	h.wr(reg::kVersion, 0);                     /* ReadOnly: the first */
	h.cwr(0, ch::kPriority, 0xff);              /* Reserved */
	EXPECT_EQ(h.rd(reg::kHostErrStatus), he::kReadOnly | he::kReserved);
	h.wr(reg::kHostErrStatus, he::kReadOnly);   /* clears that bit only */
	EXPECT_EQ(h.rd(reg::kHostErrStatus), he::kReserved);
	h.wr(reg::kHostErrStatus, 0);               /* 0 changes nothing */
	EXPECT_EQ(h.rd(reg::kHostErrStatus), he::kReserved);
	/* neither Fatal nor HostErrInfo is cleared by it */
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady | hw::gstatus::kFatal);
	EXPECT_EQ(h.rd(reg::kHostErrInfo), he::info(he::Rule::ReadOnly, he::kGlobal, reg::kVersion));
	h.wr(reg::kHostErrStatus, he::kAll);
	EXPECT_EQ(h.rd(reg::kHostErrStatus), 0u);
	EXPECT_EQ(h.card().host_err_status(), 0u);
	EXPECT_EQ(h.card().contract_violations(), 2u);
}

TEST(ModelContract, ResetClearsTheLogAndFatal)
{
	Harness h;
	Ring r = h.open(0, 4);
	h.expect_violations(1);
	h.wr(reg::kCaps1, 0);
	expect_fatal(h, he::kReadOnly, he::Rule::ReadOnly, he::kGlobal, reg::kCaps1);
	expect_nothing_runs(h, r);
	h.wr(reg::kGlobalCtrl, hw::gctrl::kEnable | hw::gctrl::kReset);
	h.run();
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), hw::gctrl::kEnable);
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady);
	EXPECT_EQ(h.rd(reg::kFatalCode), 0u);
	EXPECT_EQ(h.rd(reg::kHostErrStatus), 0u);
	EXPECT_EQ(h.rd(reg::kHostErrInfo), 0u);
	EXPECT_EQ(h.card().host_err_status(), 0u);
	EXPECT_EQ(h.card().contract_violations(), 1u); /* since construction */
	/* and the card works again */
	std::memset(h.host(r.cpl_iova), 0, 8 << 4);
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable);
	h.run();
	r.prod = r.cons = 0;
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(h.next(r).status, S(Status::Successful));
}

TEST(ModelContract, VanishedCardIsNoViolation)
{
	Harness h;
	h.card().vanish();
	EXPECT_EQ(h.card().mmio_read(reg::kId, 8), ~uint64_t(0));
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::kAllOnes);
	h.wr(reg::kId, 0);
	h.card().mmio_write(reg::kScratch, 2, 0);
	EXPECT_EQ(h.card().contract_violations(), 0u);
}

/* ---- a slower, smaller card ------------------------------------------------------------------ */

TEST(ModelContract, ReadyDelay)
{
	CardConfig cfg;
	cfg.ready_delay_ms = 30;
	const auto t0 = std::chrono::steady_clock::now();
	Harness h(cfg);
	/* power-on: not Ready, the reset still in progress; reading is fine,
	 * and so is writing GlobalCtrl */
	EXPECT_EQ(h.rd(reg::kGlobalStatus), 0u);
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), hw::gctrl::kReset);
	EXPECT_EQ(h.rd(reg::kId), hw::kMagic);
	h.wr(reg::kGlobalCtrl, hw::gctrl::kEnable);
	h.card().poll_once();
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), hw::gctrl::kEnable | hw::gctrl::kReset); /* RW1S: 0 does not cancel */
	ASSERT_TRUE(poll_until(h, [&] { return h.rd(reg::kGlobalStatus) == hw::gstatus::kReady; }));
	EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(30));
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), hw::gctrl::kEnable);
	/* GlobalCtrl.Reset: Ready reads 0 at once, for the delay again */
	const auto t1 = std::chrono::steady_clock::now();
	h.wr(reg::kGlobalCtrl, hw::gctrl::kEnable | hw::gctrl::kReset);
	EXPECT_EQ(h.rd(reg::kGlobalStatus), 0u);
	h.card().poll_once();
	EXPECT_EQ(h.rd(reg::kGlobalStatus), 0u);
	EXPECT_EQ(h.rd(reg::kGlobalCtrl) & hw::gctrl::kReset, hw::gctrl::kReset);
	ASSERT_TRUE(poll_until(h, [&] {
		return h.rd(reg::kGlobalCtrl) == hw::gctrl::kEnable && h.rd(reg::kGlobalStatus) == hw::gstatus::kReady;
	}));
	EXPECT_GE(std::chrono::steady_clock::now() - t1, std::chrono::milliseconds(30));
	h.wr(reg::kScratch, 0x5a5aa5a5);
	EXPECT_EQ(h.rd(reg::kScratch), 0x5a5aa5a5u);
}

TEST(ModelContract, WritesBeforeReadyAreViolations)
{
	CardConfig cfg;
	cfg.ready_delay_ms = 20;
	cfg.strict = false;
	Harness h(cfg);
	h.expect_violations(2);
	h.wr(reg::kScratch, 1);
	h.cwr(0, ch::kRingLog2, 4);
	EXPECT_EQ(h.card().contract_violations(), 2u);
	EXPECT_TRUE(starts_with(h.log().at(0), "contract violation: write while not Ready (hardware.md §7.3)"));
	ASSERT_TRUE(poll_until(h, [&] { return h.rd(reg::kGlobalStatus) & hw::gstatus::kReady; }));
	EXPECT_EQ(h.rd(reg::kGlobalStatus), hw::gstatus::kReady); /* not strict: no Fatal */
}

/* A reset written again while one is in progress starts it over. */
TEST(ModelContract, ResetDuringReset)
{
	CardConfig cfg;
	cfg.ready_delay_ms = 20;
	Harness h(cfg);
	ASSERT_TRUE(poll_until(h, [&] { return h.rd(reg::kGlobalStatus) == hw::gstatus::kReady; }));
	h.wr(reg::kGlobalCtrl, hw::gctrl::kReset);
	h.card().poll_once();
	std::this_thread::sleep_for(std::chrono::milliseconds(12));
	const auto t = std::chrono::steady_clock::now();
	h.wr(reg::kGlobalCtrl, hw::gctrl::kReset);
	ASSERT_TRUE(poll_until(h, [&] { return h.rd(reg::kGlobalStatus) == hw::gstatus::kReady; }));
	EXPECT_GE(std::chrono::steady_clock::now() - t, std::chrono::milliseconds(19));
	EXPECT_EQ(h.rd(reg::kGlobalCtrl), 0u);
}

TEST(ModelContract, CapsOps)
{
	CardConfig cfg;
	cfg.caps_ops = (1u << unsigned(Opcode::Nop)) | (1u << unsigned(Opcode::Copy));
	Harness h(cfg);
	EXPECT_EQ(h.rd(reg::kCaps1), 0x3u);
	Ring r = h.open(0, 4);
	const uint64_t s = h.alloc(64), d = h.alloc(64);
	std::memset(h.host(d), 0x55, 64);
	h.post(r, make_desc(Opcode::Copy, s, d, 64));
	h.post(r, make_desc(Opcode::Fill, 0x1111, d, 64)); /* defined, not implemented here */
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.expect_violations(1);
	h.run();
	EXPECT_EQ(h.next(r).status, S(Status::Successful));
	EXPECT_EQ(h.next(r).status, S(Status::InvalidOpcode));
	EXPECT_FALSE(h.ready(r, 2));
	EXPECT_EQ(h.host(d)[0], 0) << "the copy ran, the fill did not";
	expect_fatal(h, he::kOpcode, he::Rule::Opcode, 0, 0);
	EXPECT_EQ(h.log().at(0), "contract violation: opcode not in Caps1 (hardware.md §5.2): channel 0 descriptor 1: "
				 "opcode 2, Caps1 0x03; it completes InvalidOpcode");
}

TEST(ModelContract, CapsOpsWithoutCopyNorCapture)
{
	CardConfig cfg;
	cfg.capture_channels = 1;
	cfg.capture.resize(1);
	cfg.capture[0].rate_pps = 1;
	cfg.caps_ops = 1u << unsigned(Opcode::Nop);
	cfg.strict = false;
	Harness h(cfg);
	Ring r = h.open(0, 4), k = h.open(1, 4);
	const uint64_t s = h.alloc(64), d = h.alloc(64);
	for (int i = 0; i < 3; i++)
		h.post(r, make_desc(Opcode::Copy, s, d, 64));
	h.post(k, make_desc(Opcode::Capture, 0, h.alloc(4096), 4096));
	h.doorbell(r);
	h.doorbell(k);
	h.expect_violations(4);
	h.run();
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(h.next(r).status, S(Status::InvalidOpcode)) << i;
	EXPECT_EQ(h.next(k).status, S(Status::InvalidOpcode));
}

TEST(ModelContract, ConfigLimits)
{
	AlignedBuf bar(hw::kBar0Size);
	Iommu io;
	auto make = [&](auto edit) {
		CardConfig c;
		edit(c);
		Card card(c, bar.p, io);
	};
	EXPECT_THROW(make([](CardConfig &c) { c.caps_ops = 0x20; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.caps_ops = 0x3f; }), std::invalid_argument);
	EXPECT_NO_THROW(make([](CardConfig &c) { c.caps_ops = 0; }));
	EXPECT_THROW(make([](CardConfig &c) { c.max_sge = 257; }), std::invalid_argument);
	EXPECT_NO_THROW(make([](CardConfig &c) { c.max_sge = 256; }));
	EXPECT_THROW(make([](CardConfig &c) { c.ready_delay_ms = 60001; }), std::invalid_argument);
	EXPECT_THROW(make([](CardConfig &c) { c.quiesce_ms = 60001; }), std::invalid_argument);
}

TEST(ModelContract, Quiesce)
{
	CardConfig cfg;
	cfg.quiesce_ms = 20;
	Harness h(cfg);
	Ring r = h.open(0, 4);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.run();
	EXPECT_EQ(h.next(r).status, S(Status::Successful));
	/* two more, held back by GlobalCtrl.Enable 0, then the stop */
	h.wr(reg::kGlobalCtrl, 0);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.run();
	const auto t0 = std::chrono::steady_clock::now();
	h.cwr(0, ch::kCtrl, 0);
	h.card().poll_once();
	/* finished what it was doing (the rest completed UserAbort), then shows
	 * the old state with Busy until the quiesce time is over */
	EXPECT_EQ(h.crd(0, ch::kStatus), uint32_t(ChannelState::Running) | hw::chstatus::kBusy);
	EXPECT_EQ(h.next(r).status, S(Status::UserAbort));
	EXPECT_EQ(h.next(r).status, S(Status::UserAbort));
	std::this_thread::sleep_for(std::chrono::milliseconds(5));
	h.card().poll_once();
	EXPECT_EQ(h.crd(0, ch::kStatus), uint32_t(ChannelState::Running) | hw::chstatus::kBusy);
	ASSERT_TRUE(poll_until(h, [&] { return h.crd(0, ch::kStatus) == uint32_t(ChannelState::Disabled); }));
	EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(20));
	EXPECT_EQ(h.crd(0, ch::kDoorbell), 0u);
	/* Disabled now: configuration may be written, the channel enabled again */
	h.cwr(0, ch::kRingLog2, 3);
	h.global_enable();
	h.cwr(0, ch::kCtrl, hw::chctrl::kEnable);
	h.run();
	EXPECT_EQ(h.state(0), ChannelState::Running);
}

/* Stopping is not done until Disabled: configuration and the doorbell during
 * the quiesce are violations. */
TEST(ModelContract, QuiesceIsStillEnabled)
{
	CardConfig cfg;
	cfg.quiesce_ms = 50;
	cfg.strict = false;
	Harness h(cfg);
	Ring r = h.open(0, 4);
	h.cwr(0, ch::kCtrl, 0);
	h.card().poll_once();
	ASSERT_EQ(h.crd(0, ch::kStatus), uint32_t(ChannelState::Running) | hw::chstatus::kBusy);
	h.cwr(0, ch::kRingLog2, 3);
	h.post(r, make_desc(Opcode::Nop, 0, 0, 0));
	h.doorbell(r);
	h.card().poll_once();
	h.expect_violations(2);
	EXPECT_EQ(h.card().contract_violations(), 2u);
	const auto log = h.log();
	ASSERT_EQ(log.size(), 2u);
	EXPECT_TRUE(starts_with(log[0], "contract violation: configuration written while enabled"));
	EXPECT_NE(log[1].find("while the channel is Running (stopping)"), std::string::npos);
}

TEST(ModelContract, ChannelResetEndsAQuiesce)
{
	CardConfig cfg;
	cfg.quiesce_ms = 60000;
	Harness h(cfg);
	h.open(0, 4);
	h.cwr(0, ch::kCtrl, 0);
	h.card().poll_once();
	ASSERT_EQ(h.crd(0, ch::kStatus), uint32_t(ChannelState::Running) | hw::chstatus::kBusy);
	h.cwr(0, ch::kCtrl, hw::chctrl::kReset);
	h.run();
	EXPECT_EQ(h.crd(0, ch::kCtrl), 0u);
	EXPECT_EQ(h.crd(0, ch::kStatus), uint32_t(ChannelState::Disabled));
}
