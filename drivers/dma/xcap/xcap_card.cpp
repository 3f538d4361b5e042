/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The card's side of the slow path (xcap_card.h): bring-up, channel reset and
 * quiesce, counters, and the words for what the card reports. Every register
 * access is an aligned 32-bit access through Bar (HW §2.4). "HW §n" cites
 * docs/hardware.md.
 */
#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include <rte_cycles.h>

#include "xcap_card.h"

namespace xcap {
namespace {

using hw::chan_reg;
namespace reg = hw::reg;

/* Poll until pred(register value) holds, for at most timeout_ms. true when
 * it held; false on timeout or when the register read all-ones (the card is
 * gone, or never there). *last gets the last value read. */
template <typename Pred>
bool wait_reg(const Bar &bar, uint32_t off, uint32_t timeout_ms, Pred pred, uint32_t &last)
{
	const uint64_t hz = rte_get_timer_hz();
	const uint64_t deadline = rte_get_timer_cycles() + hz * timeout_ms / 1000;
	for (;;) {
		last = bar.read32(off);
		if (last == hw::kAllOnes)
			return false;
		if (pred(last))
			return true;
		if (rte_get_timer_cycles() > deadline)
			return false;
		rte_delay_us_sleep(10);
	}
}

uint32_t elapsed_ms(uint64_t since)
{
	return uint32_t((rte_get_timer_cycles() - since) * 1000 / rte_get_timer_hz());
}

/* HW §7.5 step 2: GlobalCtrl.Reset, then Reset == 0 and Ready == 1. The
 * Reset bit is the handshake: the card clears it only when the reset is done
 * and Ready is valid, so a stale Ready from before the write is never taken
 * for the new one, even on a window the card only samples. */
int reset_card(const Bar &bar, const char *name)
{
	/* GlobalCtrl[31:2] is RsvdP (HW §2.4): keep what it reads; Enable off. */
	const uint32_t keep = bar.read32(reg::kGlobalCtrl) &
			      hw::register_access(reg::kGlobalCtrl).rsvdp;
	const uint64_t t0 = rte_get_timer_cycles();
	bar.write32(reg::kGlobalCtrl, keep | hw::gctrl::kReset);
	uint32_t ctrl = 0, st = 0;
	const bool reset_done = wait_reg(bar, reg::kGlobalCtrl, hw::kResetTimeoutMs,
		[](uint32_t c) { return (c & hw::gctrl::kReset) == 0; }, ctrl);
	const uint32_t left = hw::kResetTimeoutMs - RTE_MIN(elapsed_ms(t0), hw::kResetTimeoutMs);
	const bool ready = reset_done && wait_reg(bar, reg::kGlobalStatus, left,
		[](uint32_t s) { return (s & hw::gstatus::kReady) != 0; }, st);
	if (ctrl == hw::kAllOnes || st == hw::kAllOnes) {
		XCAP_LOG(ERR, "%s: the card reads all-ones during its reset: it is gone (surprise "
			 "removal, link down) or blocked by the IOMMU", name);
		return -ENODEV;
	}
	if (!ready) {
		XCAP_LOG(ERR, "%s: the card is not Ready %u ms after a reset (GlobalCtrl 0x%08x, "
			 "GlobalStatus 0x%08x); the contract allows %u ms (HW §7.3). Its "
			 "firmware may be stuck: reload the bitstream or power-cycle the card",
			 name, elapsed_ms(t0), ctrl, st, hw::kResetTimeoutMs);
		return -ETIMEDOUT;
	}
	XCAP_LOG(DEBUG, "%s: card Ready %u ms after reset", name, elapsed_ms(t0));
	return 0;
}

/* HW §7.5 step 4: two complementary patterns through Scratch: every data
 * line of the path both ways, and proof that writes reach this card's BAR. */
int scratch_test(const Bar &bar, const char *name)
{
	static constexpr uint32_t kPatterns[] = {0xa5a55a5au, 0x5a5aa5a5u};
	for (const uint32_t p : kPatterns) {
		bar.write32(reg::kScratch, p);
		const uint32_t got = bar.read32(reg::kScratch);
		if (got != p) {
			XCAP_LOG(ERR, "%s: Scratch link test failed: wrote 0x%08x, read 0x%08x "
				 "(HW §7.5). Writes do not reach the card's registers: the "
				 "wrong BAR is mapped, or the link is faulty", name, p, got);
			return got == hw::kAllOnes ? -ENODEV : -EIO;
		}
	}
	bar.write32(reg::kScratch, 0);
	return 0;
}

int read_caps(const Bar &bar, const char *name, CardCaps &c)
{
	const uint32_t caps0 = bar.read32(reg::kCaps0);
	c.n_copy = (caps0 >> hw::caps0::kCopyChanShift) & hw::caps0::kFieldMask;
	c.n_capture = (caps0 >> hw::caps0::kCaptureChanShift) & hw::caps0::kFieldMask;
	c.addr_width = (caps0 >> hw::caps0::kAddrWidthShift) & hw::caps0::kFieldMask;
	c.null_engine = caps0 & hw::caps0::kNullEngine;
	c.caps1 = bar.read32(reg::kCaps1);
	c.max_ring_log2 = bar.read32(reg::kMaxRingLog2);
	c.max_xfer = bar.read32(reg::kMaxXferLen);
	c.max_sge = bar.read32(reg::kMaxSge);
	c.version = bar.read32(reg::kVersion);
	const unsigned levels = (bar.read32(reg::kArbCaps) >> hw::arbcaps::kLevelsShift) &
				hw::arbcaps::kLevelsMask;
	if (levels > hw::arbcaps::kMaxPrioLevels)
		XCAP_LOG(WARNING, "%s: ArbCaps reports %u priority levels, the contract allows "
			 "at most %u (firmware problem?); priorities not used", name, levels,
			 hw::arbcaps::kMaxPrioLevels);
	c.nb_priorities = levels <= hw::arbcaps::kMaxPrioLevels ? levels : 0;
	const unsigned n = c.n_copy + c.n_capture;
	if (n == 0 || n > kMaxChannels || c.addr_width < 32 || c.addr_width > 64 ||
	    c.max_ring_log2 < 1 || c.max_ring_log2 > 15 || c.max_sge < 1 ||
	    c.max_sge > hw::kMaxSgeLimit || (c.caps1 & ~hw::kOpsSupported) != 0) {
		XCAP_LOG(ERR, "%s: capabilities make no sense (Caps0 0x%08x, Caps1 0x%08x, max "
			 "ring 2^%u, MaxSge %u; HW §2.1, §5.5): firmware problem?", name, caps0,
			 c.caps1, c.max_ring_log2, c.max_sge);
		return -EINVAL;
	}
	if (c.n_copy && !c.implements(hw::Opcode::Copy)) {
		XCAP_LOG(ERR, "%s: the card has %u copy channels but its Caps1 (0x%08x) lacks "
			 "Copy (HW §5.2): firmware problem?", name, c.n_copy, c.caps1);
		return -EINVAL;
	}
	if (c.n_capture && !c.implements(hw::Opcode::Capture)) {
		XCAP_LOG(ERR, "%s: the card has %u capture channels but its Caps1 (0x%08x) lacks "
			 "Capture (HW §5.2): firmware problem?", name, c.n_capture, c.caps1);
		return -EINVAL;
	}
	return 0;
}

} // namespace

int card_bring_up(const Bar &bar, const char *name, CardCaps &caps)
{
	char why[512];
	/* Step 1: is this an xcap register window at all? */
	if (const char *err = check_identity(bar, why, sizeof(why))) {
		XCAP_LOG(ERR, "%s: refusing the device: %s", name, err);
		return -ENODEV;
	}
	/* Step 2: a known state, whatever the last owner left behind. */
	if (const int ret = reset_card(bar, name); ret != 0)
		return ret;
	/* Step 3: a reset clears Fatal; one that survives it is a broken card. */
	if (const char *err = check_fatal(bar, why, sizeof(why))) {
		XCAP_LOG(ERR, "%s: the card is Fatal right after its reset: %s", name, err);
		return -EIO;
	}
	if (const char *err = check_identity(bar, why, sizeof(why))) {
		XCAP_LOG(ERR, "%s: refusing the device after its reset: %s", name, err);
		return -ENODEV;
	}
	/* Step 4 */
	if (const int ret = scratch_test(bar, name); ret != 0)
		return ret;
	/* Step 5: advertise exactly this, nothing else. */
	if (const int ret = read_caps(bar, name, caps); ret != 0)
		return ret;
	/* Step 6: every channel the card has, configured or not. */
	for (unsigned ch = 0; ch < caps.n_copy + caps.n_capture; ch++)
		if (const int ret = channel_reset(bar, name, ch); ret != 0)
			return ret;
	return 0;
}

int channel_reset(const Bar &bar, const char *name, unsigned ch)
{
	/* Ctrl[31:4] is RsvdP; Enable and HaltOnError go to 0 with the reset. */
	const uint32_t off = chan_reg(ch, reg::ch::kCtrl);
	const uint32_t keep = bar.read32(off) & hw::register_access(off).rsvdp;
	bar.write32(off, keep | hw::chctrl::kReset);
	uint32_t v = 0;
	if (wait_reg(bar, off, hw::kQuiesceTimeoutMs,
		     [](uint32_t c) { return (c & hw::chctrl::kReset) == 0; }, v))
		return 0;
	if (v == hw::kAllOnes) {
		XCAP_LOG(ERR, "%s: channel %u reads all-ones during its reset: the card is gone "
			 "(surprise removal, link down, or an IOMMU fault)", name, ch);
		return -ENODEV;
	}
	XCAP_LOG(ERR, "%s: channel %u did not finish its reset within %u ms (Ctrl 0x%08x; HW "
		 "§7.3)", name, ch, hw::kQuiesceTimeoutMs, v);
	return -ETIMEDOUT;
}

int channel_quiesce(const Bar &bar, const char *name, unsigned ch)
{
	uint32_t st = 0;
	const uint64_t t0 = rte_get_timer_cycles();
	if (wait_reg(bar, chan_reg(ch, reg::ch::kStatus), hw::kQuiesceTimeoutMs, [](uint32_t s) {
		    const auto state = hw::ChannelState(s & hw::chstatus::kStateMask);
		    return (s & hw::chstatus::kBusy) == 0 && state != hw::ChannelState::Running &&
			   state != hw::ChannelState::Halted;
	    }, st))
		return 0;
	if (st == hw::kAllOnes) {
		XCAP_LOG(ERR, "%s: channel %u reads all-ones while stopping: the card is gone",
			 name, ch);
		return -ENODEV;
	}
	XCAP_LOG(ERR, "%s: channel %u did not quiesce within %u ms of being disabled (state %s%s "
		 "after %u ms; the contract allows %u ms, HW §7.3): the card may still write its "
		 "rings and buffers, so they stay allocated; call rte_dma_stop() again, or reset "
		 "the card", name, ch, hw::kQuiesceTimeoutMs, state_name(st),
		 (st & hw::chstatus::kBusy) ? ", busy" : "", elapsed_ms(t0), hw::kQuiesceTimeoutMs);
	return -ETIMEDOUT;
}

uint64_t read_counter(const Dev &dev, unsigned ch, uint32_t lo_reg)
{
	rte_spinlock_lock(&dev.reg_lock);
	const uint64_t v = dev.bar.read_lo_hi(chan_reg(ch, lo_reg));
	rte_spinlock_unlock(&dev.reg_lock);
	return v;
}

const char *check_identity(const Bar &bar, char *buf, size_t len)
{
	const uint32_t id = bar.read32(reg::kId);
	if (id == hw::kAllOnes) {
		snprintf(buf, len, "BAR0 reads all-ones (0xffffffff): the card is not answering. "
			 "Likely causes: the IOMMU blocks it (check dmesg for DMAR/AMD-Vi faults; "
			 "boot with intel_iommu=on iommu=pt), BAR0 is not mapped (bind the card to "
			 "vfio-pci: usertools/xcap-devbind.py -b vfio-pci <bdf>), the PCIe link is "
			 "down, or the card is in reset or D3 power state");
		return buf;
	}
	if (id != hw::kMagic) {
		snprintf(buf, len, "ID register reads 0x%08x, not the xcap magic 0x%08x: not an "
			 "xcap card, or the wrong BAR is mapped", id, hw::kMagic);
		return buf;
	}
	const uint32_t ver = bar.read32(reg::kVersion);
	if ((ver >> 16) != hw::kVersionMajor) {
		snprintf(buf, len, "card speaks contract version %u.%u; this driver speaks %u.x",
			 ver >> 16, ver & 0xffff, hw::kVersionMajor);
		return buf;
	}
	return nullptr;
}

const char *check_fatal(const Bar &bar, char *buf, size_t len)
{
	const uint32_t st = bar.read32(reg::kGlobalStatus);
	if (st == hw::kAllOnes || !(st & hw::gstatus::kFatal))
		return nullptr;
	const uint32_t code = bar.read32(reg::kFatalCode);
	if (code != hw::kFatalHostProtocol) {
		snprintf(buf, len, "card Fatal, FatalCode 0x%02x (%s; HW §2.5, §7.4)", code,
			 status_name(code));
		return buf;
	}
	const uint32_t err = bar.read32(reg::kHostErrStatus);
	const uint32_t info = bar.read32(reg::kHostErrInfo);
	static const char *const rules[hw::hosterr::kRules] = {
		"access width", "write to a read-only register", "reserved bits or offset",
		"write before Ready", "doorbell", "configuration while enabled", "alignment",
		"opcode not in Caps1",
	};
	const unsigned r = unsigned(hw::hosterr::info_rule(info));
	const unsigned c = hw::hosterr::info_chan(info);
	snprintf(buf, len, "card Fatal: the host broke the contract (FatalCode 0x80, HW §2.5): "
		 "HostErrStatus 0x%02x, first violation: %s, %s %u, BAR0 offset 0x%04x",
		 err, r < hw::hosterr::kRules ? rules[r] : "unknown rule",
		 c == hw::hosterr::kGlobal ? "global" : "channel", c == hw::hosterr::kGlobal ? 0 : c,
		 hw::hosterr::info_offset(info));
	return buf;
}

const char *status_name(uint32_t st)
{
	static const char *const names[] = {
		"successful", "user abort", "not attempted", "invalid source address",
		"invalid destination address", "invalid address", "invalid length",
		"invalid opcode", "bus read error", "bus write error", "bus error",
		"data poison", "descriptor read error", "device link error", "page fault",
	};
	if (st < RTE_DIM(names))
		return names[st];
	return st == 0xff ? "unknown error" : "undefined status";
}

const char *state_name(uint32_t status)
{
	if (status == hw::kAllOnes)
		return "NOT RESPONDING (all-ones)";
	switch (hw::ChannelState(status & hw::chstatus::kStateMask)) {
	case hw::ChannelState::Disabled: return "disabled";
	case hw::ChannelState::Running: return "running";
	case hw::ChannelState::Halted: return "halted";
	case hw::ChannelState::Failed: return "failed";
	}
	return "undefined";
}

} // namespace xcap
