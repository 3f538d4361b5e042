/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The hardware contract's layouts, checked at run time as well (the header
 * checks them at compile time; these catch a changed static_assert).
 */
#include <cstddef>
#include <cstring>

#include <gtest/gtest.h>

#include "xcap_hw_defs.h"

namespace hw = xcap::hw;

TEST(HwDefs, DescriptorLayout)
{
	EXPECT_EQ(sizeof(hw::Descriptor), 32u);
	EXPECT_EQ(alignof(hw::Descriptor), 32u);
	EXPECT_EQ(offsetof(hw::Descriptor, opcode), 0u);
	EXPECT_EQ(offsetof(hw::Descriptor, flags), 1u);
	EXPECT_EQ(offsetof(hw::Descriptor, id), 2u);
	EXPECT_EQ(offsetof(hw::Descriptor, length), 4u);
	EXPECT_EQ(offsetof(hw::Descriptor, src), 8u);
	EXPECT_EQ(offsetof(hw::Descriptor, dst), 16u);
	EXPECT_EQ(offsetof(hw::Descriptor, nb_src), 24u);
	EXPECT_EQ(offsetof(hw::Descriptor, nb_dst), 26u);
	EXPECT_EQ(offsetof(hw::Descriptor, reserved), 28u);
	EXPECT_EQ(sizeof(hw::Sge), 16u);
	EXPECT_EQ(offsetof(hw::Sge, addr), 0u);
	EXPECT_EQ(offsetof(hw::Sge, length), 8u);

	/* little-endian wire image of one descriptor */
	hw::Descriptor d{};
	d.opcode = 1;
	d.flags = 2;
	d.id = 0x1234;
	d.length = 0x01020304;
	d.src = 0x1122334455667788ull;
	uint8_t b[32];
	std::memcpy(b, &d, 32);
	EXPECT_EQ(b[0], 1);
	EXPECT_EQ(b[1], 2);
	EXPECT_EQ(b[2], 0x34);
	EXPECT_EQ(b[3], 0x12);
	EXPECT_EQ(b[4], 0x04);
	EXPECT_EQ(b[7], 0x01);
	EXPECT_EQ(b[8], 0x88);
	EXPECT_EQ(b[15], 0x11);
}

TEST(HwDefs, CompletionLayoutAndPhase)
{
	EXPECT_EQ(sizeof(hw::Completion), 8u);
	EXPECT_EQ(offsetof(hw::Completion, status), 0u);
	EXPECT_EQ(offsetof(hw::Completion, flags), 1u);
	EXPECT_EQ(offsetof(hw::Completion, id), 2u);
	EXPECT_EQ(offsetof(hw::Completion, result), 4u);
	/* phase: 1 on the first pass, flips every wrap */
	for (unsigned log2 = 1; log2 <= 15; log2++) {
		const uint32_t n = 1u << log2;
		EXPECT_EQ(hw::completion_phase(0, log2), 1);
		EXPECT_EQ(hw::completion_phase(n - 1, log2), 1);
		EXPECT_EQ(hw::completion_phase(n, log2), 0);
		EXPECT_EQ(hw::completion_phase(2 * n - 1, log2), 0);
		EXPECT_EQ(hw::completion_phase(2 * n, log2), 1);
		/* consistent across the 16-bit index wrap */
		EXPECT_EQ(hw::completion_phase(0xffff, log2), 0);
		EXPECT_EQ(hw::completion_phase(uint16_t(0x10000), log2), 1);
	}
}

TEST(HwDefs, CaptureLayoutsAndStride)
{
	EXPECT_EQ(sizeof(hw::CaptureBufferHeader), 64u);
	EXPECT_EQ(offsetof(hw::CaptureBufferHeader, magic), 0u);
	EXPECT_EQ(offsetof(hw::CaptureBufferHeader, bytes_used), 4u);
	EXPECT_EQ(offsetof(hw::CaptureBufferHeader, record_count), 8u);
	EXPECT_EQ(offsetof(hw::CaptureBufferHeader, flags), 12u);
	EXPECT_EQ(offsetof(hw::CaptureBufferHeader, sequence), 16u);
	EXPECT_EQ(offsetof(hw::CaptureBufferHeader, lost_no_buffer), 24u);
	EXPECT_EQ(offsetof(hw::CaptureBufferHeader, lost_overrun), 32u);
	EXPECT_EQ(offsetof(hw::CaptureBufferHeader, first_ts_ns), 40u);
	EXPECT_EQ(offsetof(hw::CaptureBufferHeader, last_ts_ns), 48u);
	EXPECT_EQ(sizeof(hw::RecordHeader), 16u);
	EXPECT_EQ(offsetof(hw::RecordHeader, ts_ns), 0u);
	EXPECT_EQ(offsetof(hw::RecordHeader, wire_len), 8u);
	EXPECT_EQ(offsetof(hw::RecordHeader, cap_len), 12u);
	EXPECT_EQ(offsetof(hw::RecordHeader, flags), 14u);
	EXPECT_EQ(hw::record_stride(0), 16u);
	EXPECT_EQ(hw::record_stride(1), 24u);
	EXPECT_EQ(hw::record_stride(7), 24u);
	EXPECT_EQ(hw::record_stride(8), 24u);
	EXPECT_EQ(hw::record_stride(9), 32u);
	EXPECT_EQ(hw::record_stride(64), 80u);
	EXPECT_EQ(hw::record_stride(1518), 16u + 1520u);
	EXPECT_EQ(hw::record_stride(65535), 16u + 65536u);
	for (uint32_t l = 0; l < 100; l++)
		EXPECT_EQ(hw::record_stride(l) % 8, 0u);
	EXPECT_EQ(hw::kCaptureMagic, 0x31424358u);
	uint8_t m[4];
	std::memcpy(m, &hw::kCaptureMagic, 4);
	EXPECT_EQ(std::memcmp(m, "XCB1", 4), 0);
	std::memcpy(m, &hw::kMagic, 4);
	EXPECT_EQ(std::memcmp(m, "XCAP", 4), 0);
}

TEST(HwDefs, RegisterMap)
{
	namespace reg = hw::reg;
	namespace ch = hw::reg::ch;
	EXPECT_EQ(hw::kBar0Size, 65536u);
	EXPECT_EQ(reg::kTimeLo % 8, 0u); /* written as one 64-bit store */
	EXPECT_EQ(hw::chan_reg(0, 0), 0x1000u);
	EXPECT_EQ(hw::chan_reg(1, ch::kDoorbell), 0x111cu);
	EXPECT_EQ(hw::chan_reg(63, ch::kCntOvrHi), 0x1000u + 63 * 0x100 + 0x6c);
	EXPECT_LT(hw::chan_reg(63, ch::kCntOvrHi), hw::kBar0Size);
	for (uint32_t r : {ch::kCntDescLo, ch::kCntErrLo, ch::kCntBytesLo, ch::kCntRecLo, ch::kCntLostLo, ch::kCntOvrLo})
		EXPECT_EQ(hw::chan_reg(5, r) % 8, 0u);
	EXPECT_EQ(hw::kOpsSupported, 0x1fu);
	EXPECT_EQ(hw::kPciVendorId, 0x1ded);
	EXPECT_EQ(hw::kPciDeviceId, 0x7c4a);
	EXPECT_EQ(unsigned(hw::Status::PageFault), 14u);
	EXPECT_EQ(unsigned(hw::Status::ErrorUnknown), 0xffu);
}

/* HW §2.4: the access table, as the model and the driver use it. */
TEST(HwDefs, RegisterAccessTable)
{
	namespace reg = hw::reg;
	namespace ch = hw::reg::ch;
	using hw::Access;
	EXPECT_EQ(hw::kVersionMinor, 2u);
	EXPECT_EQ(reg::kHostErrStatus, 0x038u);
	EXPECT_EQ(reg::kHostErrInfo, 0x03cu);
	unsigned global = 0, per_chan = 0;
	for (uint32_t off = 0; off < hw::kBar0Size; off += 4) {
		const hw::RegAccess a = hw::register_access(off);
		EXPECT_EQ(a.writable & (a.rsvdp | a.rsvdz), 0u) << std::hex << off;
		EXPECT_EQ(a.rsvdp & a.rsvdz, 0u) << std::hex << off;
		if (a.access == Access::Unassigned) {
			EXPECT_EQ(a.name, nullptr);
			continue;
		}
		ASSERT_NE(a.name, nullptr) << std::hex << off;
		if (a.access != Access::RO) {
			EXPECT_EQ(a.writable | a.rsvdp | a.rsvdz, 0xffffffffu) << a.name;
		}
		if (off < reg::kChanBase)
			global++;
		else if (hw::register_channel(off) == 0)
			per_chan++;
		EXPECT_EQ(hw::register_access(off + 1).access, Access::Unassigned);
	}
	EXPECT_EQ(global, 16u);
	EXPECT_EQ(per_chan, 29u);
	EXPECT_STREQ(hw::register_access(hw::chan_reg(7, ch::kCntBytesHi)).name, "CntBytesHi");
	EXPECT_EQ(hw::register_channel(hw::chan_reg(7, ch::kCntBytesHi)), 7u);
	EXPECT_EQ(hw::register_access(hw::chan_reg(7, ch::kCntBytesLo)).flags, hw::regflag::kLatchLo);
	EXPECT_EQ(hw::register_access(reg::kTimeHi).flags, hw::regflag::kLatchHi);
	EXPECT_EQ(hw::register_access(reg::kGlobalCtrl).rw1s, hw::gctrl::kReset);
	EXPECT_EQ(hw::register_access(hw::chan_reg(0, ch::kCtrl)).rw1s,
		  hw::chctrl::kReset | hw::chctrl::kResume);
	for (uint32_t r : {ch::kRingBaseLo, ch::kRingBaseHi, ch::kRingLog2, ch::kCplBaseLo, ch::kCplBaseHi,
			   ch::kCapSnapLen})
		EXPECT_TRUE(hw::register_access(hw::chan_reg(3, r)).flags & hw::regflag::kConfig) << r;
	EXPECT_FALSE(hw::register_access(hw::chan_reg(3, ch::kCapFlushUs)).flags & hw::regflag::kConfig);
	EXPECT_EQ(hw::register_access(reg::kHostErrStatus).access, Access::RW1C);
	EXPECT_EQ(hw::register_access(0x040).access, Access::Unassigned);
	EXPECT_EQ(hw::register_access(hw::chan_reg(0, 0x74)).access, Access::Unassigned);
	EXPECT_EQ(hw::register_access(hw::chan_reg(64, 0)).access, Access::Unassigned);
}

TEST(HwDefs, HostErrorLogAndPlacement)
{
	namespace he = hw::hosterr;
	EXPECT_EQ(he::kWidth, 0x01u);
	EXPECT_EQ(he::kReadOnly, 0x02u);
	EXPECT_EQ(he::kReserved, 0x04u);
	EXPECT_EQ(he::kNotReady, 0x08u);
	EXPECT_EQ(he::kDoorbell, 0x10u);
	EXPECT_EQ(he::kConfigWhileEnabled, 0x20u);
	EXPECT_EQ(he::kAlignment, 0x40u);
	EXPECT_EQ(he::kOpcode, 0x80u);
	const uint32_t v = he::info(he::Rule::ConfigWhileEnabled, 3, hw::chan_reg(3, hw::reg::ch::kRingLog2));
	EXPECT_EQ(v & 0xff, 5u);
	EXPECT_EQ((v >> 8) & 0xff, 3u);
	EXPECT_EQ(v >> 16, hw::chan_reg(3, hw::reg::ch::kRingLog2) >> 2);
	EXPECT_EQ(he::info_rule(v), he::Rule::ConfigWhileEnabled);
	EXPECT_EQ(he::info_chan(v), 3u);
	EXPECT_EQ(he::info_offset(v), hw::chan_reg(3, hw::reg::ch::kRingLog2));
	EXPECT_EQ(hw::kFatalHostProtocol, 0x80u);
	EXPECT_EQ(hw::kResetTimeoutMs, 1000u);
	EXPECT_EQ(hw::kQuiesceTimeoutMs, 100u);
	EXPECT_EQ(hw::kRingAlign, 4096u);
	EXPECT_EQ(hw::kCplAlign, 4096u);
	EXPECT_EQ(hw::kSgeListBoundary, 4096u);
	EXPECT_EQ(hw::kCaptureBufAlign, 64u);
	EXPECT_EQ(hw::kMaxSgeLimit, 256u);
	EXPECT_EQ(hw::dflag::kDefined, 0x03u);
}
