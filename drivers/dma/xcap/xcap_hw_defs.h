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
#include <iterator>
#include <string_view>

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
inline constexpr uint32_t kFatalCode = 0x028;    /* RO: valid when FATAL: a Status or kFatalHostProtocol */
inline constexpr uint32_t kScratch = 0x02c;      /* RW: no effect; link test */
inline constexpr uint32_t kTimeLo = 0x030;       /* RO: card clock, ns, low word */
inline constexpr uint32_t kTimeHi = 0x034;       /* RO: high word (latched on TimeLo read, HW §2.4) */
inline constexpr uint32_t kHostErrStatus = 0x038; /* RW1C: see hosterr:: (contract 1.2, HW §2.5) */
inline constexpr uint32_t kHostErrInfo = 0x03c;   /* RO: the first violation, see hosterr:: */

/* Channel blocks: channel c's register r is at kChanBase + c * kChanStride + r.
 * Copy channels come first (0 .. n_copy-1), then capture channels. */
inline constexpr uint32_t kChanBase = 0x1000;
inline constexpr uint32_t kChanStride = 0x100;

namespace ch {
inline constexpr uint32_t kCtrl = 0x00;        /* RW: see chctrl:: */
inline constexpr uint32_t kStatus = 0x04;      /* RO: see chstatus:: */
inline constexpr uint32_t kRingBaseLo = 0x08;  /* RW: descriptor ring IOVA, kRingAlign aligned */
inline constexpr uint32_t kRingBaseHi = 0x0c;
inline constexpr uint32_t kRingLog2 = 0x10;    /* RW: log2(entries), 1 .. kMaxRingLog2 */
inline constexpr uint32_t kCplBaseLo = 0x14;   /* RW: completion ring IOVA, kCplAlign aligned */
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
/* 64-bit counters, RO, a Lo/Hi pair each (HW §2.4): reading the Lo word
 * returns the low 32 bits and latches the high 32 bits of the same 64-bit
 * value into that pair's latch; reading the Hi word returns the latch. So a
 * driver reads Lo, then Hi, with no other read of that pair in between, and
 * gets one consistent value. (A shared-memory window, which cannot see
 * reads, has both words live: a pair read there may tear once per 2^32
 * counts.) They count since the channel was last reset. */
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
/* 1.1: ArbCaps and Priority (HW §3.6). 1.2: the register access rules
 * (HW §2.4), the host error log HostErrStatus/HostErrInfo and FatalCode
 * HostProtocol (HW §2.5), alignment and placement rules (HW §5.5), reset
 * and quiesce timing (HW §7.3). */
inline constexpr uint32_t kVersionMinor = 2;
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

/* HW §2.5 FatalCode: 0 = none; a Status (an engine-level failure); or this:
 * the host broke the contract, HostErrStatus/HostErrInfo say how. A Fatal
 * card stops fetching on every channel (as GlobalCtrl.Enable = 0) until
 * GlobalCtrl.Reset, which clears Fatal, FatalCode, HostErrStatus and
 * HostErrInfo. */
inline constexpr uint32_t kFatalHostProtocol = 0x80;

/* HW §2.5 host error log. HostErrStatus (RW1C): one bit per rule class the
 * card caught the host breaking, since reset. HostErrInfo (RO): the first
 * such violation since reset. */
namespace hosterr {
/* Bit numbers, also HostErrInfo.Rule. */
enum class Rule : uint8_t {
	Width = 0,              /* not an aligned 32-bit access (HW §2.4) */
	ReadOnly = 1,           /* write to an RO register (HW §2.4) */
	Reserved = 2,           /* RsvdZ/RsvdP bit set, unassigned offset written,
				 * descriptor reserved field or flag bit set (HW §2.4, §5.1) */
	NotReady = 3,           /* a write other than to GlobalCtrl while Ready = 0 (HW §7.3) */
	Doorbell = 4,           /* doorbell on a Disabled/Failed channel, or more
				 * than ring entries ahead of HwHead (HW §3.4) */
	ConfigWhileEnabled = 5, /* a configuration register written while the
				 * channel is enabled (HW §3.2) */
	Alignment = 6,          /* an alignment or placement rule (HW §5.5) */
	Opcode = 7,             /* an opcode not in Caps1 (HW §5.2) */
};
inline constexpr unsigned kRules = 8;
inline constexpr uint32_t bit(Rule r) { return 1u << unsigned(r); }
inline constexpr uint32_t kWidth = bit(Rule::Width);
inline constexpr uint32_t kReadOnly = bit(Rule::ReadOnly);
inline constexpr uint32_t kReserved = bit(Rule::Reserved);
inline constexpr uint32_t kNotReady = bit(Rule::NotReady);
inline constexpr uint32_t kDoorbell = bit(Rule::Doorbell);
inline constexpr uint32_t kConfigWhileEnabled = bit(Rule::ConfigWhileEnabled);
inline constexpr uint32_t kAlignment = bit(Rule::Alignment);
inline constexpr uint32_t kOpcode = bit(Rule::Opcode);
inline constexpr uint32_t kAll = (1u << kRules) - 1;

/* HostErrInfo: [7:0] rule (bit number), [15:8] channel (kGlobal: not a
 * channel's), [31:16] BAR offset >> 2 of the access, or 0 (a violation
 * found in a descriptor or in host memory, not in an access). */
inline constexpr uint32_t kInfoRuleShift = 0;
inline constexpr uint32_t kInfoChanShift = 8;
inline constexpr uint32_t kInfoOffShift = 16;
inline constexpr uint32_t kInfoFieldMask = 0xff;   /* Rule, Chan */
inline constexpr uint32_t kInfoOffMask = 0xffff;   /* Offset >> 2 */
inline constexpr uint32_t kGlobal = 0xff;
constexpr uint32_t info(Rule r, unsigned chan, uint32_t bar_off)
{
	return uint32_t(r) << kInfoRuleShift | (chan & kInfoFieldMask) << kInfoChanShift |
		((bar_off >> 2) & kInfoOffMask) << kInfoOffShift;
}
constexpr Rule info_rule(uint32_t v) { return Rule((v >> kInfoRuleShift) & kInfoFieldMask); }
constexpr unsigned info_chan(uint32_t v) { return (v >> kInfoChanShift) & kInfoFieldMask; }
constexpr uint32_t info_offset(uint32_t v) { return ((v >> kInfoOffShift) & kInfoOffMask) << 2; }
} // namespace hosterr

/* HW §7.3 timing. After power-on, FLR or GlobalCtrl.Reset the card clears
 * GlobalCtrl.Reset and sets GlobalStatus.Ready within kResetTimeoutMs;
 * Ready reads 0 from the Reset write until then. The driver waits for
 * Reset == 0 and Ready == 1 (race-free on a polled shared window too). */
inline constexpr uint32_t kResetTimeoutMs = 1000;
/* After Ctrl.Enable is cleared the channel finishes or abandons its
 * descriptor in flight and reports State Disabled with Busy = 0 within
 * kQuiesceTimeoutMs; until then Status shows its old state with Busy = 1.
 * A channel reset (Ctrl.Reset) completes within the same bound. */
inline constexpr uint32_t kQuiesceTimeoutMs = 100;

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
/* Every other flag bit is reserved: 0 (HW §5.1). */
inline constexpr uint8_t kDefined = kFence | kCompletionRequest;
} // namespace dflag

/* 32 bytes: two per cache line, never straddling one. Fields marked 0 and
 * flag bits outside dflag::kDefined are reserved: the host writes 0 there
 * (HW §5.1); the opcode must be one Caps1 lists (HW §5.2). */
struct alignas(32) Descriptor {
	uint8_t opcode;   /* Opcode, one of Caps1 */
	uint8_t flags;    /* dflag::, other bits 0 */
	uint16_t id;      /* echoed in the completion; the driver puts its ring index here */
	uint32_t length;  /* bytes; Copy/Fill/Capture: 1..MaxXferLen; CopySg: total */
	uint64_t src;     /* Copy: IOVA; Fill: pattern; CopySg: IOVA of src Sge[] */
	uint64_t dst;     /* Copy/Fill/Capture: IOVA; CopySg: IOVA of dst Sge[] */
	uint16_t nb_src;  /* CopySg only, 1..MaxSge; else 0 */
	uint16_t nb_dst;  /* CopySg only, 1..MaxSge; else 0 */
	uint32_t reserved; /* must be 0 */
};

/* Scatter-gather element, 16 bytes; an array of them is 16 B aligned and
 * lies within one 4 KiB block (HW §5.5). */
struct alignas(16) Sge {
	uint64_t addr;
	uint32_t length;
	uint32_t reserved; /* must be 0 (HW §5.1) */
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

/* ---- HW §5.5 alignment and placement ----------------------------------------
 * What the host must place where. A card may rely on these (it fetches a
 * ring, a completion ring line or an Sge array with requests that never
 * cross a 4 KiB boundary, HW §10); the device model checks every one of them
 * and reports a violation (hosterr::kAlignment). Copy and Fill buffers take
 * any byte alignment: the card itself splits at 4 KiB. */
inline constexpr uint64_t kRingAlign = 4096;      /* descriptor ring base (RingBase) */
inline constexpr uint64_t kCplAlign = 4096;       /* completion ring base (CplBase) */
inline constexpr uint64_t kSgeAlign = 16;         /* an Sge array (CopySg src or dst) ... */
inline constexpr uint64_t kSgeListBoundary = 4096; /* ... lies within one 4 KiB block */
inline constexpr uint64_t kCaptureBufAlign = 64;  /* a Capture descriptor's dst */
/* So at most this many Sge a side (MaxSge <= kMaxSgeLimit). */
inline constexpr uint32_t kMaxSgeLimit = uint32_t(kSgeListBoundary / sizeof(Sge));

/* Channel blocks in BAR0 (Caps0 says how many are populated). */
inline constexpr unsigned kMaxChannels = 64;

/* ---- HW §2.4 register access rules ----------------------------------------
 * Only aligned 32-bit accesses; anything else (8, 16 or 64 bits, unaligned)
 * is a violation. Reserved bits are RsvdZ (read 0, software writes 0)
 * except GlobalCtrl[31:2] and Ctrl[31:4], which are RsvdP (software
 * preserves them: read-modify-write; they read 0 on a 1.x card, so a write
 * leaves them 0). Unassigned offsets read 0; writing one is a violation. */
enum class Access : uint8_t {
	Unassigned = 0, /* no register: reads 0, a write is a violation */
	RO,             /* read only: a write is a violation */
	RW,             /* read/write (may hold RW1S bits, RegAccess::rw1s) */
	WO,             /* write only; reads return the last value written */
	RW1S,           /* write 1 to start, self-clearing (RW1S-SC) */
	RW1C,           /* write 1 to clear */
};

namespace regflag {
inline constexpr uint8_t kConfig = 1u << 0;  /* channel configuration: written only
					      * while the channel is Disabled (HW §3.2) */
inline constexpr uint8_t kLatchLo = 1u << 1; /* Lo word of a latched 64-bit pair */
inline constexpr uint8_t kLatchHi = 1u << 2; /* Hi word: reads the pair's latch */
} // namespace regflag

struct RegAccess {
	const char *name;  /* as in docs/hardware.md; nullptr when unassigned */
	Access access;
	uint8_t flags;     /* regflag:: */
	uint32_t writable; /* bits a write acts on */
	uint32_t rw1s;     /* of those, RW1S-SC bits (write 1 to start, 0 has no effect) */
	uint32_t rsvdp;    /* reserved, preserve */
	uint32_t rsvdz;    /* reserved, zero */
};

namespace detail {
inline constexpr uint32_t kAll = 0xffffffffu;
constexpr RegAccess ro(const char *n, uint32_t rsvdz = 0, uint8_t flags = 0)
{
	return {n, Access::RO, flags, 0, 0, 0, rsvdz};
}
constexpr RegAccess rw(const char *n, uint32_t writable = kAll, uint8_t flags = 0)
{
	return {n, Access::RW, flags, writable, 0, 0, kAll & ~writable};
}
/* Indexed by offset / 4: every global register, 0x000 .. 0x03c. */
inline constexpr RegAccess kGlobalRegs[] = {
	ro("Id"),
	ro("Version"),
	ro("Caps0", 0xfe000000u),
	ro("Caps1", kAll & ~kOpsSupported),
	ro("MaxRingLog2"),
	ro("MaxXferLen"),
	ro("MaxSge"),
	ro("ArbCaps", kAll & ~arbcaps::kLevelsMask),
	{"GlobalCtrl", Access::RW, 0, gctrl::kEnable | gctrl::kReset, gctrl::kReset,
	 kAll & ~(gctrl::kEnable | gctrl::kReset), 0},
	ro("GlobalStatus", kAll & ~(gstatus::kReady | gstatus::kFatal)),
	ro("FatalCode"),
	rw("Scratch"),
	ro("TimeLo", 0, regflag::kLatchLo),
	ro("TimeHi", 0, regflag::kLatchHi),
	{"HostErrStatus", Access::RW1C, 0, hosterr::kAll, 0, 0, kAll & ~hosterr::kAll},
	ro("HostErrInfo"),
};
/* Indexed by (offset within the channel block) / 4: 0x00 .. 0x70. */
inline constexpr RegAccess kChanRegs[] = {
	{"Ctrl", Access::RW, 0, 0xf, chctrl::kReset | chctrl::kResume, kAll & ~0xfu, 0},
	ro("Status", kAll & ~(chstatus::kStateMask | chstatus::kBusy)),
	rw("RingBaseLo", kAll, regflag::kConfig),
	rw("RingBaseHi", kAll, regflag::kConfig),
	rw("RingLog2", 0x1f, regflag::kConfig),
	rw("CplBaseLo", kAll, regflag::kConfig),
	rw("CplBaseHi", kAll, regflag::kConfig),
	{"Doorbell", Access::WO, 0, 0xffff, 0, 0, 0xffff0000u},
	ro("HwHead"),
	ro("ErrCode"),
	ro("ErrIndex"),
	ro("ErrAddrLo"),
	ro("ErrAddrHi"),
	rw("CapSnapLen", 0xffff, regflag::kConfig),
	rw("CapFlushUs"),
	ro("Kind"),
	ro("CntDescLo", 0, regflag::kLatchLo),
	ro("CntDescHi", 0, regflag::kLatchHi),
	ro("CntErrLo", 0, regflag::kLatchLo),
	ro("CntErrHi", 0, regflag::kLatchHi),
	ro("CntBytesLo", 0, regflag::kLatchLo),
	ro("CntBytesHi", 0, regflag::kLatchHi),
	ro("CntRecLo", 0, regflag::kLatchLo),
	ro("CntRecHi", 0, regflag::kLatchHi),
	ro("CntLostLo", 0, regflag::kLatchLo),
	ro("CntLostHi", 0, regflag::kLatchHi),
	ro("CntOvrLo", 0, regflag::kLatchLo),
	ro("CntOvrHi", 0, regflag::kLatchHi),
	rw("Priority", prio::kLevelMask),
};
inline constexpr RegAccess kUnassigned = {nullptr, Access::Unassigned, 0, 0, 0, 0, 0};
} // namespace detail

/* The access description of the 32-bit register at BAR0 offset off (HW §2,
 * §3, §2.4), for every channel block 0 .. kMaxChannels-1 whether or not the
 * card populates it (Caps0 says). An unaligned offset, or one no register
 * is at, gives Access::Unassigned. */
constexpr RegAccess register_access(uint32_t off)
{
	if (off % 4 != 0)
		return detail::kUnassigned;
	if (off < reg::kChanBase) {
		const uint32_t i = off / 4;
		return i < std::size(detail::kGlobalRegs) ? detail::kGlobalRegs[i] : detail::kUnassigned;
	}
	if (off >= reg::kChanBase + kMaxChannels * reg::kChanStride)
		return detail::kUnassigned;
	const uint32_t i = (off - reg::kChanBase) % reg::kChanStride / 4;
	return i < std::size(detail::kChanRegs) ? detail::kChanRegs[i] : detail::kUnassigned;
}

/* The channel whose block holds BAR0 offset off, or hosterr::kGlobal. */
constexpr unsigned register_channel(uint32_t off)
{
	if (off < reg::kChanBase || off >= reg::kChanBase + kMaxChannels * reg::kChanStride)
		return hosterr::kGlobal;
	return (off - reg::kChanBase) / reg::kChanStride;
}

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
static_assert(reg::kChanBase + kMaxChannels * reg::kChanStride <= kBar0Size, "64 channels fit BAR0");
static_assert(completion_phase(0, 9) == 1 && completion_phase(512, 9) == 0);
/* HW §3.6: every level fits the Priority field, the level count its field. */
static_assert(arbcaps::kMaxPrioLevels - 1 <= prio::kLevelMask);
static_assert(arbcaps::kMaxPrioLevels <= arbcaps::kLevelsMask);
static_assert(reg::kArbCaps > reg::kMaxSge && reg::kArbCaps < reg::kGlobalCtrl);
static_assert(reg::ch::kPriority > reg::ch::kCntOvrHi && reg::ch::kPriority % 4 == 0 &&
	      reg::ch::kPriority < reg::kChanStride, "Priority lies in the channel block");
static_assert(effective_priority(0, 4) == 0 && effective_priority(9, 4) == 3 &&
	      effective_priority(3, 0) == 0 && effective_priority(0x13, 16) == 3);

/* HW §2.4: the access table describes every register, at its offset, with
 * masks that do not overlap and, for a register software writes, account
 * for every bit; the latched pairs are Lo, Hi at an 8-byte aligned offset. */
namespace detail {
constexpr bool access_ok(const RegAccess &a)
{
	if ((a.writable & a.rsvdp) || (a.writable & a.rsvdz) || (a.rsvdp & a.rsvdz) ||
	    (a.rw1s & ~a.writable))
		return false;
	const bool latch = a.flags & (regflag::kLatchLo | regflag::kLatchHi);
	switch (a.access) {
	case Access::Unassigned:
		return a.name == nullptr && !a.writable && !a.rsvdp && !a.rsvdz && !a.flags;
	case Access::RO:
		return a.name != nullptr && !a.writable && !a.rsvdp && !(a.flags & regflag::kConfig);
	case Access::RW:
	case Access::WO:
	case Access::RW1S:
	case Access::RW1C:
		return a.name != nullptr && a.writable && (a.writable | a.rsvdp | a.rsvdz) == kAll &&
			!latch && (a.access == Access::RW || !a.rw1s);
	}
	return false;
}
template <size_t N> constexpr bool table_ok(const RegAccess (&t)[N])
{
	for (size_t i = 0; i < N; i++) {
		if (!access_ok(t[i]) || t[i].access == Access::Unassigned)
			return false;
		if ((t[i].flags & regflag::kLatchLo) &&
		    (i % 2 != 0 || i + 1 >= N || !(t[i + 1].flags & regflag::kLatchHi)))
			return false;
		if ((t[i].flags & regflag::kLatchHi) && (i == 0 || !(t[i - 1].flags & regflag::kLatchLo)))
			return false;
	}
	return true;
}
constexpr bool is(uint32_t off, std::string_view name, Access acc)
{
	const RegAccess a = register_access(off);
	return a.name != nullptr && name == a.name && a.access == acc;
}
constexpr bool chan_is(uint32_t r, std::string_view name, Access acc)
{
	/* the same in the first and the last channel block */
	return is(reg::kChanBase + r, name, acc) &&
		is(reg::kChanBase + (kMaxChannels - 1) * reg::kChanStride + r, name, acc);
}
} // namespace detail
static_assert(detail::table_ok(detail::kGlobalRegs) && detail::table_ok(detail::kChanRegs));
static_assert(std::size(detail::kGlobalRegs) * 4 == reg::kHostErrInfo + 4);
static_assert(std::size(detail::kChanRegs) * 4 == reg::ch::kPriority + 4);
static_assert(reg::kHostErrInfo < reg::kChanBase);
/* every documented offset has its entry */
static_assert(detail::is(reg::kId, "Id", Access::RO) && detail::is(reg::kVersion, "Version", Access::RO) &&
	      detail::is(reg::kCaps0, "Caps0", Access::RO) && detail::is(reg::kCaps1, "Caps1", Access::RO) &&
	      detail::is(reg::kMaxRingLog2, "MaxRingLog2", Access::RO) &&
	      detail::is(reg::kMaxXferLen, "MaxXferLen", Access::RO) &&
	      detail::is(reg::kMaxSge, "MaxSge", Access::RO) &&
	      detail::is(reg::kArbCaps, "ArbCaps", Access::RO) &&
	      detail::is(reg::kGlobalCtrl, "GlobalCtrl", Access::RW) &&
	      detail::is(reg::kGlobalStatus, "GlobalStatus", Access::RO) &&
	      detail::is(reg::kFatalCode, "FatalCode", Access::RO) &&
	      detail::is(reg::kScratch, "Scratch", Access::RW) &&
	      detail::is(reg::kTimeLo, "TimeLo", Access::RO) && detail::is(reg::kTimeHi, "TimeHi", Access::RO) &&
	      detail::is(reg::kHostErrStatus, "HostErrStatus", Access::RW1C) &&
	      detail::is(reg::kHostErrInfo, "HostErrInfo", Access::RO));
static_assert(detail::chan_is(reg::ch::kCtrl, "Ctrl", Access::RW) &&
	      detail::chan_is(reg::ch::kStatus, "Status", Access::RO) &&
	      detail::chan_is(reg::ch::kRingBaseLo, "RingBaseLo", Access::RW) &&
	      detail::chan_is(reg::ch::kRingBaseHi, "RingBaseHi", Access::RW) &&
	      detail::chan_is(reg::ch::kRingLog2, "RingLog2", Access::RW) &&
	      detail::chan_is(reg::ch::kCplBaseLo, "CplBaseLo", Access::RW) &&
	      detail::chan_is(reg::ch::kCplBaseHi, "CplBaseHi", Access::RW) &&
	      detail::chan_is(reg::ch::kDoorbell, "Doorbell", Access::WO) &&
	      detail::chan_is(reg::ch::kHwHead, "HwHead", Access::RO) &&
	      detail::chan_is(reg::ch::kErrCode, "ErrCode", Access::RO) &&
	      detail::chan_is(reg::ch::kErrIndex, "ErrIndex", Access::RO) &&
	      detail::chan_is(reg::ch::kErrAddrLo, "ErrAddrLo", Access::RO) &&
	      detail::chan_is(reg::ch::kErrAddrHi, "ErrAddrHi", Access::RO) &&
	      detail::chan_is(reg::ch::kCapSnapLen, "CapSnapLen", Access::RW) &&
	      detail::chan_is(reg::ch::kCapFlushUs, "CapFlushUs", Access::RW) &&
	      detail::chan_is(reg::ch::kKind, "Kind", Access::RO) &&
	      detail::chan_is(reg::ch::kCntDescLo, "CntDescLo", Access::RO) &&
	      detail::chan_is(reg::ch::kCntDescHi, "CntDescHi", Access::RO) &&
	      detail::chan_is(reg::ch::kCntErrLo, "CntErrLo", Access::RO) &&
	      detail::chan_is(reg::ch::kCntErrHi, "CntErrHi", Access::RO) &&
	      detail::chan_is(reg::ch::kCntBytesLo, "CntBytesLo", Access::RO) &&
	      detail::chan_is(reg::ch::kCntBytesHi, "CntBytesHi", Access::RO) &&
	      detail::chan_is(reg::ch::kCntRecLo, "CntRecLo", Access::RO) &&
	      detail::chan_is(reg::ch::kCntRecHi, "CntRecHi", Access::RO) &&
	      detail::chan_is(reg::ch::kCntLostLo, "CntLostLo", Access::RO) &&
	      detail::chan_is(reg::ch::kCntLostHi, "CntLostHi", Access::RO) &&
	      detail::chan_is(reg::ch::kCntOvrLo, "CntOvrLo", Access::RO) &&
	      detail::chan_is(reg::ch::kCntOvrHi, "CntOvrHi", Access::RO) &&
	      detail::chan_is(reg::ch::kPriority, "Priority", Access::RW));
/* the access rules of the decisions: RsvdP only in GlobalCtrl and Ctrl */
static_assert(register_access(reg::kGlobalCtrl).rsvdp == 0xfffffffcu &&
	      register_access(reg::kChanBase + reg::ch::kCtrl).rsvdp == 0xfffffff0u &&
	      register_access(reg::kChanBase + reg::ch::kRingLog2).rsvdz == 0xffffffe0u &&
	      register_access(reg::kChanBase + reg::ch::kDoorbell).rsvdz == 0xffff0000u &&
	      register_access(reg::kChanBase + reg::ch::kCapSnapLen).rsvdz == 0xffff0000u &&
	      register_access(reg::kChanBase + reg::ch::kPriority).rsvdz == 0xfffffff0u);
static_assert(register_access(reg::kHostErrInfo + 4).access == Access::Unassigned &&
	      register_access(reg::kChanBase + reg::ch::kPriority + 4).access == Access::Unassigned &&
	      register_access(reg::kChanBase + kMaxChannels * reg::kChanStride).access == Access::Unassigned &&
	      register_access(reg::kGlobalCtrl + 1).access == Access::Unassigned);
static_assert(register_channel(reg::kScratch) == hosterr::kGlobal &&
	      register_channel(reg::kChanBase + 3 * reg::kChanStride + reg::ch::kDoorbell) == 3);
/* HW §2.5, §5.5 */
static_assert(hosterr::kAll == 0xff && hosterr::kOpcode == 0x80 && kFatalHostProtocol > kStatusMaxDefined);
static_assert(hosterr::info(hosterr::Rule::Doorbell, 2, 0x121c) == (4u | 2u << 8 | (0x121cu >> 2) << 16));
static_assert(hosterr::info_offset(hosterr::info(hosterr::Rule::Width, 0xff, 0x1040)) == 0x1040);
static_assert(kMaxSgeLimit == 256 && kSgeListBoundary % sizeof(Sge) == 0 && kSgeAlign == alignof(Sge));
static_assert(kRingAlign % alignof(Descriptor) == 0 && kCplAlign % 64 == 0 &&
	      kCaptureBufAlign == alignof(CaptureBufferHeader));

constexpr uint32_t chan_reg(unsigned chan, uint32_t r)
{
	return reg::kChanBase + chan * reg::kChanStride + r;
}

} // namespace xcap::hw

#endif /* XCAP_HW_DEFS_H */
