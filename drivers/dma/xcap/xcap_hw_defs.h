/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap hardware contract, in code.
 *
 * This header is the single machine-readable copy of docs/hardware.md: the
 * PCI identity, the BAR0 register map, the descriptor, completion entry and
 * capture buffer formats, and the status codes. Both sides of the bus include
 * it: the PMD (drivers/dma/xcap) and the device model (lib/model). Section
 * numbers in comments ("HW §4.2") refer to docs/hardware.md.
 *
 * Everything here is little-endian, as on the PCIe wire. Every layout is
 * checked at compile time at the bottom of this file.
 *
 * It is plain C++ with no DPDK dependency so that the device model and its
 * unit tests build without EAL.
 */
#ifndef XCAP_HW_DEFS_H
#define XCAP_HW_DEFS_H

#include <bit>
#include <cstddef>
#include <cstdint>

namespace xcap::hw {

/* ---- HW §1 PCI identity ------------------------------------------------ */

/* Overridable at build time (meson -Dpci_vendor_id=... -Dpci_device_id=...)
 * for an FPGA team that programs its own IDs into the PCIe hard block. */
#ifndef XCAP_PCI_VENDOR_ID
#define XCAP_PCI_VENDOR_ID 0x1dedu
#endif
#ifndef XCAP_PCI_DEVICE_ID
#define XCAP_PCI_DEVICE_ID 0x7c4au
#endif
inline constexpr uint16_t kPciVendorId = XCAP_PCI_VENDOR_ID;
inline constexpr uint16_t kPciDeviceId = XCAP_PCI_DEVICE_ID;

/* BAR0: 64 KiB, 32-bit registers, non-prefetchable. No other BAR is used. */
inline constexpr unsigned kRegBar = 0;
inline constexpr size_t kBar0Size = 64 * 1024;

/* ---- HW §2 global registers (BAR0 offsets) ----------------------------- */

namespace reg {
inline constexpr uint32_t kId = 0x000;           /* RO: kMagic */
inline constexpr uint32_t kVersion = 0x004;      /* RO: major << 16 | minor */
inline constexpr uint32_t kCaps0 = 0x008;        /* RO: see caps0:: */
inline constexpr uint32_t kCaps1 = 0x00c;        /* RO: supported ops, bit (1 << opcode) */
inline constexpr uint32_t kMaxRingLog2 = 0x010;  /* RO: log2 of max ring entries */
inline constexpr uint32_t kMaxXferLen = 0x014;   /* RO: max bytes per descriptor */
inline constexpr uint32_t kMaxSge = 0x018;       /* RO: max SG entries per side */
inline constexpr uint32_t kArbCaps = 0x01c;      /* RO: see arbcaps:: (contract 1.1, HW §3.6) */
inline constexpr uint32_t kGlobalCtrl = 0x020;   /* RW: see gctrl:: */
inline constexpr uint32_t kGlobalStatus = 0x024; /* RO: see gstatus:: */
inline constexpr uint32_t kFatalCode = 0x028;    /* RO: a Status, valid when FATAL */
inline constexpr uint32_t kScratch = 0x02c;      /* RW: no effect; link test */
inline constexpr uint32_t kTimeLo = 0x030;       /* RO: card clock, ns, low word */
inline constexpr uint32_t kTimeHi = 0x034;       /* RO: high word (latched on TimeLo read) */

/* Channel blocks: channel c's register r is at kChanBase + c * kChanStride + r.
 * Copy channels come first (0 .. n_copy-1), then capture channels. */
inline constexpr uint32_t kChanBase = 0x1000;
inline constexpr uint32_t kChanStride = 0x100;

namespace ch {
inline constexpr uint32_t kCtrl = 0x00;        /* RW: see chctrl:: */
inline constexpr uint32_t kStatus = 0x04;      /* RO: see chstatus:: */
inline constexpr uint32_t kRingBaseLo = 0x08;  /* RW: descriptor ring IOVA, 64 B aligned */
inline constexpr uint32_t kRingBaseHi = 0x0c;
inline constexpr uint32_t kRingLog2 = 0x10;    /* RW: log2(entries), 1 .. kMaxRingLog2 */
inline constexpr uint32_t kCplBaseLo = 0x14;   /* RW: completion ring IOVA, 64 B aligned */
inline constexpr uint32_t kCplBaseHi = 0x18;
inline constexpr uint32_t kDoorbell = 0x1c;    /* WO: producer index (low 16 bits) */
inline constexpr uint32_t kHwHead = 0x20;      /* RO: descriptors consumed (low 16 bits) */
inline constexpr uint32_t kErrCode = 0x24;     /* RO: first error's Status since enable */
inline constexpr uint32_t kErrIndex = 0x28;    /* RO: ring index of that descriptor */
inline constexpr uint32_t kErrAddrLo = 0x2c;   /* RO: faulting IOVA (address faults) */
inline constexpr uint32_t kErrAddrHi = 0x30;
inline constexpr uint32_t kCapSnapLen = 0x34;  /* RW: capture: max captured bytes/record */
inline constexpr uint32_t kCapFlushUs = 0x38;  /* RW: capture: flush timeout, 0 = never */
inline constexpr uint32_t kKind = 0x3c;        /* RO: see ChannelKind */
/* 64-bit counters, low word first; the high word is latched when the low
 * word is read. They count since the channel was last reset. */
inline constexpr uint32_t kCntDescLo = 0x40;   /* descriptors completed */
inline constexpr uint32_t kCntDescHi = 0x44;
inline constexpr uint32_t kCntErrLo = 0x48;    /* descriptors completed with error */
inline constexpr uint32_t kCntErrHi = 0x4c;
inline constexpr uint32_t kCntBytesLo = 0x50;  /* payload bytes written to host */
inline constexpr uint32_t kCntBytesHi = 0x54;
inline constexpr uint32_t kCntRecLo = 0x58;    /* capture: records delivered */
inline constexpr uint32_t kCntRecHi = 0x5c;
inline constexpr uint32_t kCntLostLo = 0x60;   /* capture: records lost, no buffer */
inline constexpr uint32_t kCntLostHi = 0x64;
inline constexpr uint32_t kCntOvrLo = 0x68;    /* capture: records lost, FIFO overrun */
inline constexpr uint32_t kCntOvrHi = 0x6c;
/* RW, reset 0: the channel's priority at the arbiter, see prio:: (HW §3.6).
 * Not latched at enable; kept by channel and card reset like the other RW
 * configuration registers. */
inline constexpr uint32_t kPriority = 0x70;
} // namespace ch
} // namespace reg

inline constexpr uint32_t kMagic = 0x50414358u; /* "XCAP" in memory order */
inline constexpr uint32_t kVersionMajor = 1;
inline constexpr uint32_t kVersionMinor = 1; /* 1.1: ArbCaps and Priority (HW §3.6) */
inline constexpr uint32_t kAllOnes = 0xffffffffu; /* what a vanished card reads as */

namespace caps0 {
inline constexpr uint32_t kCopyChanShift = 0;    /* [7:0]  copy channels */
inline constexpr uint32_t kCaptureChanShift = 8; /* [15:8] capture channels */
inline constexpr uint32_t kAddrWidthShift = 16;  /* [23:16] DMA address bits */
inline constexpr uint32_t kNullEngine = 1u << 24;  /* descriptors complete, data untouched */
inline constexpr uint32_t kFieldMask = 0xff;
} // namespace caps0

/* HW §3.6 ArbCaps: how many priority levels the engine's arbiter has.
 * 0 (a contract 1.0 card: the offset reads 0) or 1: no priorities, every
 * channel is served round robin and Priority has no effect. */
namespace arbcaps {
inline constexpr uint32_t kLevelsShift = 0; /* [7:0] PrioLevels, 0..kMaxPrioLevels */
inline constexpr uint32_t kLevelsMask = 0xff;
inline constexpr uint32_t kMaxPrioLevels = 16;
} // namespace arbcaps

/* HW §3.6 channel Priority: [3:0] level, 0 = served first; [31:4] reserved.
 * A value >= PrioLevels acts as PrioLevels - 1 (the lowest). */
namespace prio {
inline constexpr uint32_t kLevelMask = 0xf;
} // namespace prio

/* The level the arbiter uses for a Priority register value on a card with
 * `levels` priority levels (HW §3.6). */
constexpr unsigned effective_priority(uint32_t reg_value, unsigned levels)
{
	const unsigned p = reg_value & prio::kLevelMask;
	return levels <= 1 ? 0 : p < levels ? p : levels - 1;
}

namespace gctrl {
inline constexpr uint32_t kEnable = 1u << 0; /* 0: every channel stops fetching */
inline constexpr uint32_t kReset = 1u << 1;  /* self-clearing: whole-card reset */
} // namespace gctrl

namespace gstatus {
inline constexpr uint32_t kReady = 1u << 0; /* reset done, registers valid */
inline constexpr uint32_t kFatal = 1u << 1; /* card-level failure, FatalCode valid */
} // namespace gstatus

namespace chctrl {
inline constexpr uint32_t kEnable = 1u << 0;      /* 1: fetch descriptors up to the doorbell */
inline constexpr uint32_t kHaltOnError = 1u << 1; /* 1: halt after a failed descriptor */
inline constexpr uint32_t kReset = 1u << 2;       /* self-clearing: indexes and counters to 0 */
inline constexpr uint32_t kResume = 1u << 3;      /* self-clearing: leave HALTED, go on */
} // namespace chctrl

/* HW §3.5 channel state, CH_STATUS[2:0]. */
enum class ChannelState : uint32_t {
	Disabled = 0, /* not enabled; registers may be written */
	Running = 1,  /* enabled, fetching up to the doorbell (idle when head == doorbell) */
	Halted = 2,   /* stopped after an error with HaltOnError set; RESUME or RESET */
	Failed = 3,   /* cannot continue (ring unreadable, completion unwritable): RESET */
};
namespace chstatus {
inline constexpr uint32_t kStateMask = 0x7;
inline constexpr uint32_t kBusy = 1u << 3; /* a descriptor is in progress */
} // namespace chstatus

enum class ChannelKind : uint32_t { Copy = 0, Capture = 1 };

/* ---- HW §4 status codes -------------------------------------------------
 * One to one with enum rte_dma_status_code (values 0..14); ErrorUnknown is
 * 0xff on the wire and 0x100 in DPDK. The model writes nothing else; any
 * other value read from a completion is a card fault (HW §7). */
enum class Status : uint8_t {
	Successful = 0,
	UserAbort = 1,
	NotAttempted = 2,
	InvalidSrcAddr = 3,
	InvalidDstAddr = 4,
	InvalidAddr = 5,
	InvalidLength = 6,
	InvalidOpcode = 7,
	BusReadError = 8,
	BusWriteError = 9,
	BusError = 10,
	DataPoison = 11,
	DescriptorReadError = 12,
	DevLinkError = 13,
	PageFault = 14,
	ErrorUnknown = 0xff,
};
inline constexpr uint8_t kStatusMaxDefined = 14;

/* ---- HW §5 descriptor ---------------------------------------------------- */

enum class Opcode : uint8_t {
	Nop = 0,     /* completes successfully, moves no data */
	Copy = 1,    /* src -> dst, length bytes */
	Fill = 2,    /* 8-byte pattern (src field) repeated over dst, length bytes */
	CopySg = 3,  /* src/dst are IOVAs of Sge arrays of nb_src/nb_dst entries */
	Capture = 4, /* post an empty host buffer (dst, length) to a capture channel */
};
inline constexpr uint32_t kOpsSupported = (1u << unsigned(Opcode::Nop)) |
	(1u << unsigned(Opcode::Copy)) | (1u << unsigned(Opcode::Fill)) |
	(1u << unsigned(Opcode::CopySg)) | (1u << unsigned(Opcode::Capture));

namespace dflag {
/* Start this descriptor only after every earlier one has completed and its
 * data is visible; if any descriptor since the previous fenced one (inclusive)
 * did not succeed, complete this one NotAttempted instead (HW §5.3). */
inline constexpr uint8_t kFence = 1u << 0;
/* Write this completion, and every earlier one held for coalescing, before
 * starting the next descriptor (HW §6.2). */
inline constexpr uint8_t kCompletionRequest = 1u << 1;
} // namespace dflag

/* 32 bytes: two per cache line, never straddling one. */
struct alignas(32) Descriptor {
	uint8_t opcode;   /* Opcode */
	uint8_t flags;    /* dflag:: */
	uint16_t id;      /* echoed in the completion; the driver puts its ring index here */
	uint32_t length;  /* bytes; Copy/Fill/Capture: 1..MaxXferLen; CopySg: total */
	uint64_t src;     /* Copy: IOVA; Fill: pattern; CopySg: IOVA of src Sge[] */
	uint64_t dst;     /* Copy/Fill/Capture: IOVA; CopySg: IOVA of dst Sge[] */
	uint16_t nb_src;  /* CopySg only, 1..MaxSge; else 0 */
	uint16_t nb_dst;  /* CopySg only, 1..MaxSge; else 0 */
	uint32_t reserved; /* must be 0 */
};

/* Scatter-gather element, 16 bytes, 16 B aligned. */
struct alignas(16) Sge {
	uint64_t addr;
	uint32_t length;
	uint32_t reserved;
};

/* ---- HW §6 completion entry --------------------------------------------- */

/* 8 bytes, written by the card at the same ring index as its descriptor, as
 * one 64-bit write after the descriptor's data writes are visible. The phase
 * bit is 1 on the first pass over the ring and flips on every wrap, so the
 * driver finds new entries by reading host memory only and never has to clear
 * the ring. */
struct alignas(8) Completion {
	uint8_t status; /* Status */
	uint8_t flags;  /* cflag:: */
	uint16_t id;    /* the descriptor's id */
	uint32_t result; /* Copy/Fill/CopySg: bytes written; Capture: bytes used */
};
namespace cflag {
inline constexpr uint8_t kPhase = 1u << 0;
} // namespace cflag

/* Expected phase of the completion at free-running index idx in a ring of
 * 2^log2 entries: 1 on even passes, 0 on odd ones. */
constexpr uint8_t completion_phase(uint32_t idx, unsigned log2)
{
	return uint8_t(((idx >> log2) & 1u) ^ 1u);
}

/* ---- HW §8 capture buffer and records ----------------------------------- */

/* First 64 bytes of every completed capture buffer, written by the card. */
struct alignas(64) CaptureBufferHeader {
	uint32_t magic;        /* kCaptureMagic */
	uint32_t bytes_used;   /* header + records, <= the posted length */
	uint32_t record_count; /* records in this buffer */
	uint32_t flags;        /* bflag:: */
	uint64_t sequence;     /* buffers completed on this channel before this one */
	uint64_t lost_no_buffer; /* records dropped since the previous buffer: none posted */
	uint64_t lost_overrun;   /* records dropped since the previous buffer: FIFO overrun */
	uint64_t first_ts_ns;  /* timestamp of the first record (0 if none) */
	uint64_t last_ts_ns;   /* timestamp of the last record (0 if none) */
	uint64_t reserved;
};
inline constexpr uint32_t kCaptureMagic = 0x31424358u; /* "XCB1" */
namespace bflag {
inline constexpr uint32_t kFull = 1u << 0;    /* the next record did not fit */
inline constexpr uint32_t kTimeout = 1u << 1; /* flush timeout expired */
inline constexpr uint32_t kStopped = 1u << 2; /* channel disabled or reset */
} // namespace bflag

/* Record header, 16 bytes; payload follows; the next record starts at
 * record_stride(cap_len) from this one. */
struct alignas(8) RecordHeader {
	uint64_t ts_ns;    /* card clock at first byte on the wire */
	uint32_t wire_len; /* frame length on the wire */
	uint16_t cap_len;  /* bytes stored (min(wire_len, snap length)) */
	uint16_t flags;    /* rflag:: */
};
namespace rflag {
inline constexpr uint16_t kTruncated = 1u << 0; /* cap_len < wire_len */
} // namespace rflag
inline constexpr uint32_t kRecordAlign = 8;
constexpr uint32_t record_stride(uint32_t cap_len)
{
	return uint32_t(sizeof(RecordHeader)) + ((cap_len + kRecordAlign - 1) & ~(kRecordAlign - 1));
}
/* Smallest capture buffer a card accepts: header plus one 64 B frame. */
inline constexpr uint32_t kCaptureMinBuffer = 256;

/* ---- layout checks -------------------------------------------------------- */
static_assert(sizeof(Descriptor) == 32 && alignof(Descriptor) == 32);
static_assert(offsetof(Descriptor, opcode) == 0 && offsetof(Descriptor, flags) == 1);
static_assert(offsetof(Descriptor, id) == 2 && offsetof(Descriptor, length) == 4);
static_assert(offsetof(Descriptor, src) == 8 && offsetof(Descriptor, dst) == 16);
static_assert(offsetof(Descriptor, nb_src) == 24 && offsetof(Descriptor, nb_dst) == 26);
static_assert(sizeof(Sge) == 16 && offsetof(Sge, length) == 8);
/* descriptor_word0() and the completion compares in the driver read the
 * layouts as native words: the host must be little-endian, like the wire. */
static_assert(std::endian::native == std::endian::little);
static_assert(sizeof(Completion) == 8 && offsetof(Completion, status) == 0);
static_assert(offsetof(Completion, flags) == 1 && offsetof(Completion, id) == 2);
static_assert(offsetof(Completion, result) == 4);
static_assert(sizeof(CaptureBufferHeader) == 64);
static_assert(offsetof(CaptureBufferHeader, sequence) == 16);
static_assert(offsetof(CaptureBufferHeader, lost_no_buffer) == 24);
static_assert(offsetof(CaptureBufferHeader, first_ts_ns) == 40);
static_assert(sizeof(RecordHeader) == 16 && offsetof(RecordHeader, cap_len) == 12);
static_assert(record_stride(0) == 16 && record_stride(1) == 24 && record_stride(64) == 80);
static_assert(reg::kChanBase + 64 * reg::kChanStride <= kBar0Size, "64 channels fit BAR0");
static_assert(completion_phase(0, 9) == 1 && completion_phase(512, 9) == 0);
/* HW §3.6: every level fits the Priority field, the level count its field. */
static_assert(arbcaps::kMaxPrioLevels - 1 <= prio::kLevelMask);
static_assert(arbcaps::kMaxPrioLevels <= arbcaps::kLevelsMask);
static_assert(reg::kArbCaps > reg::kMaxSge && reg::kArbCaps < reg::kGlobalCtrl);
static_assert(reg::ch::kPriority > reg::ch::kCntOvrHi && reg::ch::kPriority % 4 == 0 &&
	      reg::ch::kPriority < reg::kChanStride, "Priority lies in the channel block");
static_assert(effective_priority(0, 4) == 0 && effective_priority(9, 4) == 3 &&
	      effective_priority(3, 0) == 0 && effective_priority(0x13, 16) == 3);

constexpr uint32_t chan_reg(unsigned chan, uint32_t r)
{
	return reg::kChanBase + chan * reg::kChanStride + r;
}

} // namespace xcap::hw

#endif /* XCAP_HW_DEFS_H */
