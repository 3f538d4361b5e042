/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The host's side of the contract, as the device model checks it: the
 * register port (HW §2.4: access width, access types, reserved bits, the
 * counter latch), the host error log and Fatal (HW §2.5), and the checks on
 * what the card only samples or reads from host memory: RO words
 * overwritten in a shared window, configuration changed while enabled
 * (HW §3.2), the doorbell rules (HW §3.4), descriptors (HW §5.1, §5.2) and
 * alignment and placement (HW §5.5).
 *
 * The model is stricter than silicon: it checks every rule it can observe.
 * A violation is counted and logged; with CardConfig::strict it is also
 * recorded in HostErrStatus/HostErrInfo and makes the card Fatal, which
 * stops every channel until GlobalCtrl.Reset.
 */
#include <cinttypes>
#include <cstdio>

#include "xcap_model_impl.h"

namespace xcap::model {

using hw::ChannelState;
using hw::hosterr::Rule;
namespace reg = hw::reg;
namespace ch = hw::reg::ch;

namespace {

/* Where a violation's rule is written down (hardware.md). */
constexpr const char *kSecAccess = "2.4";
constexpr const char *kSecConfig = "3.2";
constexpr const char *kSecDoorbell = "3.4";
constexpr const char *kSecDescriptor = "5.1";
constexpr const char *kSecOpcode = "5.2";
constexpr const char *kSecAlign = "5.5";
constexpr const char *kSecReset = "7.3";

const char *state_name(ChannelState s)
{
	switch (s) {
	case ChannelState::Disabled: return "Disabled";
	case ChannelState::Running: return "Running";
	case ChannelState::Halted: return "Halted";
	case ChannelState::Failed: return "Failed";
	}
	return "?";
}

/* "Priority, channel 3" or "GlobalCtrl" or "unassigned", for a log line. */
void describe(uint32_t off, unsigned nchan, char *buf, size_t len)
{
	const hw::RegAccess a = hw::register_access(off);
	const unsigned c = hw::register_channel(off);
	if (a.access == hw::Access::Unassigned || (c != hw::hosterr::kGlobal && c >= nchan))
		snprintf(buf, len, "unassigned");
	else if (c == hw::hosterr::kGlobal)
		snprintf(buf, len, "%s", a.name);
	else
		snprintf(buf, len, "%s, channel %u", a.name, c);
}

bool width_ok(uint32_t off, unsigned size)
{
	return size == 4 && off % 4 == 0 && off <= hw::kBar0Size - 4;
}

} // namespace

/* ---- violations (HW §2.5) ------------------------------------------------- */

void Card::Impl::vviolation(Rule r, const char *what, const char *section, unsigned chan,
			    uint32_t off, const char *fmt, va_list ap)
{
	violations.fetch_add(1, std::memory_order_relaxed);
	if (logged <= CardConfig::kLogLines) {
		char line[384];
		if (logged < CardConfig::kLogLines) {
			const int n = snprintf(line, sizeof line, "contract violation: %s (hardware.md §%s): ",
					       what, section);
			if (n > 0 && size_t(n) < sizeof line)
				vsnprintf(line + n, sizeof line - size_t(n), fmt, ap);
		} else {
			snprintf(line, sizeof line, "%s: further contract violations not logged (the first "
				 "%u were; contract_violations() counts them all)",
				 cfg.name.c_str(), CardConfig::kLogLines);
		}
		logged++;
		if (cfg.log)
			cfg.log(line);
		else
			fprintf(stderr, "%s\n", line);
	}
	if (!cfg.strict)
		return;
	const uint32_t st = host_err.load(std::memory_order_relaxed) | hw::hosterr::bit(r);
	host_err.store(st, std::memory_order_release);
	bar.host_st(reg::kHostErrStatus, st);
	if (!info_valid) {
		info_valid = true;
		bar.st(reg::kHostErrInfo, hw::hosterr::info(r, chan, off));
	}
	raise_fatal(hw::kFatalHostProtocol);
}

void Card::Impl::violation_locked(Rule r, const char *what, const char *section, unsigned chan,
				  uint32_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vviolation(r, what, section, chan, off, fmt, ap);
	va_end(ap);
}

void Card::Impl::violation(Rule r, const char *what, const char *section, unsigned chan,
			   uint32_t off, const char *fmt, ...)
{
	std::lock_guard<std::mutex> g(reg_lock);
	va_list ap;
	va_start(ap, fmt);
	vviolation(r, what, section, chan, off, fmt, ap);
	va_end(ap);
}

void Card::Impl::raise_fatal(uint32_t code)
{
	fatal.store(true, std::memory_order_release);
	if (bar.ld(reg::kFatalCode) == 0)
		bar.st(reg::kFatalCode, code);
	set_gstatus();
}

void Card::Impl::set_gstatus()
{
	bar.st(reg::kGlobalStatus, (ready.load(std::memory_order_relaxed) ? hw::gstatus::kReady : 0) |
		(fatal.load(std::memory_order_relaxed) ? hw::gstatus::kFatal : 0));
}

/* HW §2.2: what GlobalCtrl.Reset clears besides the channels. */
void Card::Impl::clear_host_errors()
{
	host_err.store(0, std::memory_order_release);
	bar.host_st(reg::kHostErrStatus, 0);
	bar.st(reg::kHostErrInfo, 0);
	info_valid = false;
	fatal.store(false, std::memory_order_release);
	bar.st(reg::kFatalCode, 0);
	time_latch = 0;
}

uint64_t Card::contract_violations() const
{
	return impl_->violations.load(std::memory_order_relaxed);
}

uint32_t Card::host_err_status() const
{
	return impl_->host_err.load(std::memory_order_acquire);
}

/* ---- the register port (HW §2.4) ------------------------------------------- */

/* HW §3.2: a channel counts as enabled from Ctrl.Enable set until it
 * reports Disabled again (after a quiesce, too). */
bool Card::Impl::port_enabled(const Chan &c) const
{
	return (bar.ld(c.rb + ch::kCtrl) & hw::chctrl::kEnable) ||
		ChannelState(bar.ld(c.rb + ch::kStatus) & hw::chstatus::kStateMask) != ChannelState::Disabled;
}

uint64_t Card::mmio_read(uint32_t off, unsigned size)
{
	Impl &m = *impl_;
	const uint64_t ones = size >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * size)) - 1;
	if (m.gone())
		return ones; /* HW §7.4: a vanished card reads all-ones */
	std::lock_guard<std::mutex> g(m.reg_lock);
	if (!width_ok(off, size)) [[unlikely]] {
		char what[32], where[48];
		if (size == 1 || size == 2 || size == 8)
			snprintf(what, sizeof what, "%u-bit access", size * 8);
		else if (size != 4)
			snprintf(what, sizeof what, "%u-byte access", size);
		else
			snprintf(what, sizeof what, off % 4 ? "unaligned access" : "access beyond BAR0");
		describe(off & ~3u, unsigned(m.chans.size()), where, sizeof where);
		m.violation_locked(Rule::Width, what, kSecAccess, hw::register_channel(off), off,
				   "read of %u bytes at BAR0+0x%x; registers are 32-bit (%s)", size, off,
				   off < hw::kBar0Size ? where : "BAR0 is 64 KiB");
		return ones;
	}
	const hw::RegAccess a = hw::register_access(off);
	const unsigned c = hw::register_channel(off);
	const bool global = c == hw::hosterr::kGlobal;
	if (a.access == hw::Access::Unassigned || (!global && !m.chan_exists(c)))
		return 0; /* HW §2.4: unassigned offsets read 0 */
	if (a.flags & (hw::regflag::kLatchLo | hw::regflag::kLatchHi)) {
		/* HW §2.4: Lo returns the low half and latches the high half of
		 * the same 64-bit value; Hi returns the latch */
		const bool lo = a.flags & hw::regflag::kLatchLo;
		const uint32_t lo_off = lo ? off : off - 4;
		uint32_t &latch = global ? m.time_latch
			: m.chans[c]->latch[(lo_off - m.chans[c]->rb - ch::kCntDescLo) / 8];
		if (!lo)
			return latch;
		const uint64_t v = m.bar.ld64(lo_off);
		latch = uint32_t(v >> 32);
		return uint32_t(v);
	}
	const uint32_t v = m.bar.ld(off);
	if (!global && off - m.chans[c]->rb == ch::kStatus &&
	    ChannelState(v & hw::chstatus::kStateMask) == ChannelState::Failed)
		m.chans[c]->failed_seen.store(true, std::memory_order_relaxed); /* HW §3.4 */
	return v;
}

void Card::mmio_write(uint32_t off, unsigned size, uint64_t v)
{
	Impl &m = *impl_;
	if (m.gone())
		return; /* HW §7.4: writes to a vanished card go nowhere */
	std::lock_guard<std::mutex> g(m.reg_lock);
	const unsigned nchan = unsigned(m.chans.size());
	char where[48];
	if (!width_ok(off, size)) [[unlikely]] {
		char what[32];
		if (size == 1 || size == 2 || size == 8)
			snprintf(what, sizeof what, "%u-bit access", size * 8);
		else if (size != 4)
			snprintf(what, sizeof what, "%u-byte access", size);
		else
			snprintf(what, sizeof what, off % 4 ? "unaligned access" : "access beyond BAR0");
		describe(off & ~3u, nchan, where, sizeof where);
		m.violation_locked(Rule::Width, what, kSecAccess, hw::register_channel(off), off,
				   "write of %u bytes (0x%" PRIx64 ") at BAR0+0x%x; registers are 32-bit (%s); "
				   "dropped", size, v, off, off < hw::kBar0Size ? where : "BAR0 is 64 KiB");
		return;
	}
	const uint32_t w = uint32_t(v);
	const hw::RegAccess a = hw::register_access(off);
	const unsigned c = hw::register_channel(off);
	const bool global = c == hw::hosterr::kGlobal;
	const bool assigned = a.access != hw::Access::Unassigned && (global || m.chan_exists(c));
	describe(off, nchan, where, sizeof where);
	/* The first rule the write breaks is reported. In strict mode the write
	 * is dropped; without, it acts as on a card that does not check, but
	 * an RO register or an unassigned offset never changes. */
	if (!m.ready.load(std::memory_order_relaxed) && off != reg::kGlobalCtrl) {
		m.violation_locked(Rule::NotReady, "write while not Ready", kSecReset, c, off,
				   "write of 0x%08x to BAR0+0x%x (%s) while GlobalStatus.Ready is 0; only "
				   "GlobalCtrl may be written until the reset is done", w, off, where);
		if (m.cfg.strict || !assigned || a.access == hw::Access::RO)
			return;
	} else if (!assigned) {
		m.violation_locked(Rule::Reserved, "write to an unassigned offset", kSecAccess, c, off,
				   "write of 0x%08x to BAR0+0x%x, where no register is; dropped", w, off);
		return;
	} else if (a.access == hw::Access::RO) {
		m.violation_locked(Rule::ReadOnly, "write to a read-only register", kSecAccess, c, off,
				   "write of 0x%08x to BAR0+0x%x (%s), which is RO; dropped", w, off, where);
		return;
	} else if (w & (a.rsvdz | a.rsvdp)) {
		m.violation_locked(Rule::Reserved, "reserved bits set", kSecAccess, c, off,
				   "write of 0x%08x to BAR0+0x%x (%s): bits 0x%08x are reserved (%s, write 0)",
				   w, off, where, w & (a.rsvdz | a.rsvdp), a.rsvdp ? "RsvdP" : "RsvdZ");
		if (m.cfg.strict)
			return;
	} else if ((a.flags & hw::regflag::kConfig) && m.port_enabled(*m.chans[c])) {
		const Chan &k = *m.chans[c];
		m.violation_locked(Rule::ConfigWhileEnabled, "configuration written while enabled",
				   kSecConfig, c, off,
				   "write of 0x%08x to BAR0+0x%x (%s) while the channel is enabled (Ctrl "
				   "0x%08x, Status 0x%08x); write it only while Disabled", w, off, where,
				   m.bar.ld(k.rb + ch::kCtrl), m.bar.ld(k.rb + ch::kStatus));
		if (m.cfg.strict)
			return;
	}
	const uint32_t val = w & a.writable;
	switch (a.access) {
	case hw::Access::RW:
	case hw::Access::RW1S:
		if (a.rw1s)
			m.bar.write_rw1s(off, val, a.writable, a.rw1s);
		else
			m.bar.host_st(off, val);
		if (off == reg::kGlobalCtrl && (val & hw::gctrl::kReset)) {
			/* HW §2.2, §7.3: from the Reset write on, Ready reads 0 and
			 * the card is no longer Fatal; the engine does the rest */
			m.reset_gen.fetch_add(1, std::memory_order_release);
			m.ready.store(false, std::memory_order_release);
			m.clear_host_errors();
			m.set_gstatus();
		}
		if (a.flags & hw::regflag::kConfig) {
			/* what the engine's sampling compares with (sample()) */
			Chan &k = *m.chans[c];
			for (unsigned i = 0; i < kNumConfigRegs; i++)
				if (k.rb + kConfigRegs[i] == off)
					k.cfg_seen[i] = val;
		}
		break;
	case hw::Access::WO:
		m.bar.host_st(off, val);
		break;
	case hw::Access::RW1C: {
		const uint32_t st = m.host_err.load(std::memory_order_relaxed) & ~val;
		m.host_err.store(st, std::memory_order_release);
		m.bar.host_st(off, st);
		break;
	}
	case hw::Access::Unassigned:
	case hw::Access::RO:
		break;
	}
}

/* ---- what the engine samples ------------------------------------------------ */

/* HW §2.5 on a window the host can store into directly (a shared-memory
 * transport; on the vdev anything that bypasses the port): an RO register
 * that no longer holds what the card wrote, and a configuration register
 * changed while its channel is enabled. Runs every kSamplePasses passes. A
 * write that repeats the old value, or is undone before the next look, is
 * invisible here. */
/* One RO word of the window against the shadow (reg_lock held). */
void Card::Impl::sample_ro_word(uint32_t off)
{
	const uint32_t v = bar.ld(off), want = bar.shadow(off);
	if (v == want)
		return;
	char where[48];
	describe(off, unsigned(chans.size()), where, sizeof where);
	violation_locked(Rule::ReadOnly, "read-only register overwritten", kSecAccess,
			 hw::register_channel(off), off,
			 "BAR0+0x%x (%s) holds 0x%08x where the card wrote 0x%08x: a host store to an "
			 "RO register; restored", off, where, v, want);
	bar.host_st(off, want);
}

void Card::Impl::sample()
{
	std::lock_guard<std::mutex> g(reg_lock);
	const unsigned nchan = unsigned(chans.size());
	const uint32_t *shadow = bar.shadow_words();
	for (const WordRun &run : ro_runs) {
		/* the common case: the whole run as the card left it */
		uint32_t diff = 0;
		for (uint32_t off = run.first, e = off + 4 * run.n; off < e; off += 4)
			diff |= bar.ld(off) ^ shadow[off / 4];
		if (diff == 0) [[likely]]
			continue;
		for (uint32_t off = run.first; off < run.first + 4 * run.n; off += 4)
			sample_ro_word(off);
	}
	/* RW1C cannot be done with stores into memory: the card's value stands */
	if (bar.ld(reg::kHostErrStatus) != host_err.load(std::memory_order_relaxed))
		bar.host_st(reg::kHostErrStatus, host_err.load(std::memory_order_relaxed));
	for (auto &cp : chans) {
		Chan &c = *cp;
		/* cfg_seen holds the values latched at enable (or written through
		 * the port since): a change while the channel has not been
		 * Disabled since is a store while enabled */
		if (c.state == ChannelState::Disabled && !c.quiescing)
			continue;
		for (unsigned i = 0; i < kNumConfigRegs; i++) {
			const uint32_t off = c.rb + kConfigRegs[i];
			const uint32_t v = bar.ld(off);
			if (v == c.cfg_seen[i]) [[likely]]
				continue;
			char where[48];
			describe(off, nchan, where, sizeof where);
			violation_locked(Rule::ConfigWhileEnabled, "configuration written while enabled",
					 kSecConfig, c.index, off,
					 "BAR0+0x%x (%s) changed from 0x%08x to 0x%08x while the channel is "
					 "%s; write it only while Disabled", off, where, c.cfg_seen[i], v,
					 state_name(c.quiescing ? c.shown : c.state));
			c.cfg_seen[i] = v;
		}
	}
}

/* HW §3.4: a Disabled or Failed channel's doorbell must not move. Every
 * pass, for those channels. On a Failed channel only once the host has read
 * Status showing Failed through the port: until then it cannot know, and a
 * fast path that rings a channel the card just failed is not at fault (a
 * shared window, which cannot see reads, never flags it). */
void Card::Impl::check_stopped_doorbell(Chan &c)
{
	const uint16_t db = uint16_t(bar.ld(c.rb + ch::kDoorbell));
	if (db == c.db_seen) [[likely]]
		return;
	const uint16_t was = c.db_seen;
	c.db_seen = db;
	if (c.state == ChannelState::Failed && !c.failed_seen.load(std::memory_order_relaxed))
		return;
	violation(Rule::Doorbell, "doorbell on a stopped channel", kSecDoorbell, c.index,
		  c.rb + ch::kDoorbell,
		  "channel %u: Doorbell went from %u to %u while the channel is %s%s; ring it only "
		  "between Running and clearing Ctrl.Enable", c.index, was, db,
		  state_name(c.quiescing ? c.shown : c.state), c.quiescing ? " (stopping)" : "");
}

void Card::Impl::doorbell_ahead(Chan &c, uint16_t db, uint16_t head)
{
	violation(Rule::Doorbell, "doorbell more than a ring ahead", kSecDoorbell, c.index,
		  c.rb + ch::kDoorbell,
		  "channel %u: Doorbell %u with HwHead %u is %u descriptors pending on a ring of %u; "
		  "the channel fails", c.index, db, head, uint16_t(db - head), c.size);
}

/* ---- alignment and descriptors (HW §5.1, §5.2, §5.5) -------------------------- */

/* At enable: both ring bases 4 KiB aligned. Returns true if they are. */
bool Card::Impl::check_enable_alignment(Chan &c, uint64_t ring, uint64_t cpl)
{
	{
		/* what sample() compares the configuration with while enabled */
		std::lock_guard<std::mutex> g(reg_lock);
		for (unsigned i = 0; i < kNumConfigRegs; i++)
			c.cfg_seen[i] = bar.ld(c.rb + kConfigRegs[i]);
	}
	bool ok = true;
	if (ring % hw::kRingAlign) {
		violation(Rule::Alignment, "misaligned ring base", kSecAlign, c.index, c.rb + ch::kRingBaseLo,
			  "channel %u: RingBase 0x%" PRIx64 " is not %" PRIu64 "-byte aligned; the enable "
			  "fails", c.index, ring, hw::kRingAlign);
		ok = false;
	}
	if (cpl % hw::kCplAlign) {
		violation(Rule::Alignment, "misaligned completion ring base", kSecAlign, c.index,
			  c.rb + ch::kCplBaseLo,
			  "channel %u: CplBase 0x%" PRIx64 " is not %" PRIu64 "-byte aligned; the enable "
			  "fails", c.index, cpl, hw::kCplAlign);
		ok = false;
	}
	return ok;
}

/* What the card checks in a descriptor it fetched, before executing it.
 * false: strict mode and a Reserved or Alignment rule broken; the card is
 * Fatal and stops before the descriptor, which is neither executed nor
 * completed (HW §2.5 leaves the completion open). An opcode not in Caps1 is
 * a violation too, but the descriptor completes InvalidOpcode, as a card
 * that does not check would complete it, and the card stops after it. */
bool Card::Impl::desc_ok(Chan &c, const hw::Descriptor &d, uint16_t idx)
{
	bool ok = true;
	if ((d.flags & ~hw::dflag::kDefined) || d.reserved) [[unlikely]] {
		violation(Rule::Reserved, "descriptor reserved bits set", kSecDescriptor, c.index, 0,
			  "channel %u descriptor %u (opcode %u): flags 0x%02x (defined 0x%02x), "
			  "reserved 0x%08x; reserved bits must be 0", c.index, idx, d.opcode, d.flags,
			  hw::dflag::kDefined, d.reserved);
		ok = false;
	}
	const unsigned op = d.opcode;
	if (op >= 32 || !((cfg.caps_ops >> op) & 1)) [[unlikely]] {
		violation(Rule::Opcode, "opcode not in Caps1", kSecOpcode, c.index, 0,
			  "channel %u descriptor %u: opcode %u, Caps1 0x%02x; it completes InvalidOpcode",
			  c.index, idx, op, cfg.caps_ops);
	} else if (op == unsigned(hw::Opcode::CopySg) && !c.capture) {
		for (int side = 0; side < 2; side++) {
			const uint64_t a = side ? d.dst : d.src;
			const unsigned nb = side ? d.nb_dst : d.nb_src;
			if (nb < 1 || nb > cfg.max_sge)
				continue; /* InvalidLength, never read */
			const uint64_t bytes = uint64_t(nb) * sizeof(hw::Sge);
			if (a % hw::kSgeAlign == 0 && a % hw::kSgeListBoundary + bytes <= hw::kSgeListBoundary)
				continue;
			violation(Rule::Alignment, "misplaced Sge array", kSecAlign, c.index, 0,
				  "channel %u descriptor %u: %s Sge array at 0x%" PRIx64 ", %u entries: it "
				  "must be %" PRIu64 "-byte aligned and not cross a %" PRIu64 "-byte boundary",
				  c.index, idx, side ? "dst" : "src", a, nb, hw::kSgeAlign,
				  hw::kSgeListBoundary);
			ok = false;
		}
	} else if (op == unsigned(hw::Opcode::Capture) && c.capture) {
		if (d.dst % hw::kCaptureBufAlign) {
			violation(Rule::Alignment, "misaligned capture buffer", kSecAlign, c.index, 0,
				  "channel %u descriptor %u: buffer at 0x%" PRIx64 " is not %" PRIu64
				  "-byte aligned", c.index, idx, d.dst, hw::kCaptureBufAlign);
			ok = false;
		}
		/* A buffer shorter than kCaptureMinBuffer is a descriptor the card
		 * refuses (InvalidLength, HW §5.2), not a placement violation: the
		 * application chose its length, the driver passes it through. */
	}
	return ok || !cfg.strict;
}

/* HW §5.1: a CopySg list's reserved fields, when the list is read. false:
 * strict mode and one is set (the card stops, as in desc_ok()). */
bool Card::Impl::sge_ok(Chan &c, const hw::Sge *list, unsigned n, bool src)
{
	for (unsigned i = 0; i < n; i++) {
		if (list[i].reserved == 0) [[likely]]
			continue;
		violation(Rule::Reserved, "Sge reserved field set", kSecDescriptor, c.index, 0,
			  "channel %u descriptor %u: %s Sge[%u].reserved is 0x%08x; it must be 0",
			  c.index, c.head, src ? "src" : "dst", i, list[i].reserved);
		return !cfg.strict;
	}
	return true;
}

} // namespace xcap::model
