/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The xcap device model: card construction, the engine thread, global
 * registers and reset, the channel state machine and completions. Copy
 * channels are in copy.cpp, capture channels in capture.cpp, the register
 * port and the contract checks in contract.cpp, fault injection in
 * faults.cpp, the IOMMU in iommu.cpp. "HW §n" cites docs/hardware.md.
 */
#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include <pthread.h>
#include <unistd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include "xcap_model_impl.h"

namespace xcap::model {

using hw::ChannelState;
using hw::Status;
namespace reg = hw::reg;
namespace ch = hw::reg::ch;

namespace {

/* Idle backoff (not part of the contract); kDescBatch: xcap_model_impl.h. */
constexpr uint64_t kSpinBeforeSleepNs = 30'000;
constexpr uint64_t kSleepMinNs = 1'000;
constexpr uint64_t kSleepMaxNs = 200'000;

inline void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	asm volatile("yield" ::: "memory");
#endif
}

void validate(const CardConfig &cfg, const void *bar0)
{
	auto bad = [](const std::string &m) { throw std::invalid_argument("xcap model: " + m); };
	if (bar0 == nullptr)
		bad("BAR0 window is null");
	if (reinterpret_cast<uintptr_t>(bar0) % 8 != 0)
		bad("BAR0 window must be 8-byte aligned");
	const unsigned n = cfg.copy_channels + cfg.capture_channels;
	if (cfg.copy_channels > 64 || cfg.capture_channels > 64 || n < 1 || n > 64)
		bad("copy_channels + capture_channels must be 1..64 (got " +
			std::to_string(cfg.copy_channels) + " + " + std::to_string(cfg.capture_channels) + ")");
	if (cfg.max_ring_log2 < 1 || cfg.max_ring_log2 > 15)
		bad("max_ring_log2 must be 1..15 (16-bit ring indexes), got " + std::to_string(cfg.max_ring_log2));
	if (cfg.max_xfer_len < 1)
		bad("max_xfer_len must be >= 1");
	if (cfg.capture_channels && cfg.max_xfer_len < hw::kCaptureMinBuffer)
		bad("max_xfer_len must be >= kCaptureMinBuffer (" + std::to_string(hw::kCaptureMinBuffer) +
			") with capture channels");
	if (cfg.max_sge < 1 || cfg.max_sge > hw::kMaxSgeLimit)
		bad("max_sge must be 1.." + std::to_string(hw::kMaxSgeLimit) +
			" (an Sge array lies within 4 KiB, HW §5.5), got " + std::to_string(cfg.max_sge));
	if (cfg.addr_width < 32 || cfg.addr_width > 64)
		bad("addr_width must be 32..64, got " + std::to_string(cfg.addr_width));
	if (cfg.priority_levels > hw::arbcaps::kMaxPrioLevels)
		bad("priority_levels must be 0.." + std::to_string(hw::arbcaps::kMaxPrioLevels) +
			", got " + std::to_string(cfg.priority_levels));
	if (cfg.caps_ops & ~hw::kOpsSupported) {
		char m[128];
		snprintf(m, sizeof m, "caps_ops 0x%x must be a subset of kOpsSupported 0x%x (HW §5.2)",
			 cfg.caps_ops, hw::kOpsSupported);
		bad(m);
	}
	if (cfg.ready_delay_ms > 60000)
		bad("ready_delay_ms must be 0..60000, got " + std::to_string(cfg.ready_delay_ms));
	if (cfg.quiesce_ms > 60000)
		bad("quiesce_ms must be 0..60000, got " + std::to_string(cfg.quiesce_ms));
	if (cfg.cpu < -1 || cfg.cpu >= CPU_SETSIZE)
		bad("cpu must be -1 or 0.." + std::to_string(CPU_SETSIZE - 1));
	if (cfg.capture.size() > cfg.capture_channels)
		bad(std::to_string(cfg.capture.size()) + " capture profiles for " +
			std::to_string(cfg.capture_channels) + " capture channels");
	for (size_t i = 0; i < cfg.capture.size(); i++) {
		const CaptureProfile &p = cfg.capture[i];
		const std::string w = "capture profile " + std::to_string(i) + ": ";
		if (!(p.rate_pps >= 0) || !(p.rate_bps >= 0) || p.rate_pps > 1e12 || p.rate_bps > 1e15)
			bad(w + "rates must be finite and >= 0");
		if (p.frame_min < 1)
			bad(w + "frame_min must be >= 1");
		if (p.size_mode == FrameSizeMode::Range && p.frame_max < p.frame_min)
			bad(w + "frame_max must be >= frame_min");
		if (p.fifo_frames < 1)
			bad(w + "fifo_frames must be >= 1");
	}
}

} // namespace

/* ---- construction (HW §2, §3) --------------------------------------------- */

Card::Impl::Impl(Card &card, Iommu &io)
	: cfg(card.cfg_), shadow_mem(std::make_unique<uint32_t[]>(hw::kBar0Size / 4)),
	  bar(card.bar0_, shadow_mem.get()), iommu(io), reader(io),
	  origin(std::chrono::steady_clock::now())
{
	copy_implemented = cfg.caps_ops & (1u << unsigned(hw::Opcode::Copy));
	addr_limit_last = cfg.addr_width >= 64 ? ~uint64_t(0) : (uint64_t(1) << cfg.addr_width) - 1;
	sg_src.resize(cfg.max_sge);
	sg_dst.resize(cfg.max_sge);
	sg_src_va.resize(cfg.max_sge);
	sg_dst_va.resize(cfg.max_sge);
	const unsigned n = cfg.copy_channels + cfg.capture_channels;
	for (unsigned i = 0; i < n; i++) {
		auto c = std::make_unique<Chan>();
		c->index = i;
		c->rb = hw::chan_reg(i, 0);
		c->capture = i >= cfg.copy_channels;
		if (c->capture) {
			const unsigned k = i - cfg.copy_channels;
			cap_init(*c, k, k < cfg.capture.size() ? cfg.capture[k] : CaptureProfile{});
		}
		chans.push_back(std::move(c));
	}
	/* the words sample() compares with the shadow: every RO register of
	 * the card's globals and channels (HW §2.4) but the clock */
	for (uint32_t off = 0; off < hw::kBar0Size; off += 4) {
		const unsigned c = hw::register_channel(off);
		if (hw::register_access(off).access != hw::Access::RO || off == reg::kTimeLo ||
		    off == reg::kTimeHi || (c != hw::hosterr::kGlobal && c >= n))
			continue;
		if (!ro_runs.empty() && ro_runs.back().first + 4 * ro_runs.back().n == off)
			ro_runs.back().n++;
		else
			ro_runs.push_back({off, 1});
	}
}

void Card::Impl::power_on()
{
	std::memset(bar.base(), 0, hw::kBar0Size);
	std::memset(shadow_mem.get(), 0, hw::kBar0Size);
	bar.st(reg::kId, hw::kMagic);
	bar.st(reg::kVersion, hw::kVersionMajor << 16 | hw::kVersionMinor);
	bar.st(reg::kCaps0, cfg.copy_channels << hw::caps0::kCopyChanShift |
		cfg.capture_channels << hw::caps0::kCaptureChanShift |
		cfg.addr_width << hw::caps0::kAddrWidthShift |
		(cfg.null_engine ? hw::caps0::kNullEngine : 0));
	bar.st(reg::kCaps1, cfg.caps_ops);
	bar.st(reg::kMaxRingLog2, cfg.max_ring_log2);
	bar.st(reg::kMaxXferLen, cfg.max_xfer_len);
	bar.st(reg::kMaxSge, cfg.max_sge);
	bar.st(reg::kArbCaps, cfg.priority_levels << hw::arbcaps::kLevelsShift);
	for (auto &c : chans) { /* Priority: 0 from the memset (HW §3.6) */
		bar.st(c->rb + ch::kKind, uint32_t(c->capture ? hw::ChannelKind::Capture : hw::ChannelKind::Copy));
		if (c->capture) {
			bar.st(c->rb + ch::kCapSnapLen, 65535);
			bar.st(c->rb + ch::kCapFlushUs, 100);
		}
		for (unsigned i = 0; i < kNumConfigRegs; i++)
			c->cfg_seen[i] = bar.ld(c->rb + kConfigRegs[i]);
	}
	/* HW §7.3: a card comes out of power-on reset ready_delay_ms later,
	 * showing the reset in progress until then */
	if (cfg.ready_delay_ms) {
		resetting = true;
		ready_at = now_ns() + uint64_t(cfg.ready_delay_ms) * 1'000'000;
		bar.host_st(reg::kGlobalCtrl, hw::gctrl::kReset);
		ready.store(false);
	} else {
		ready.store(true);
	}
	std::lock_guard<std::mutex> g(reg_lock);
	set_gstatus();
}

Card::Card(const CardConfig &cfg, void *bar0, Iommu &iommu)
	: cfg_(cfg), bar0_(static_cast<uint8_t *>(bar0))
{
	validate(cfg_, bar0);
	impl_ = std::make_unique<Impl>(*this, iommu);
	impl_->power_on();
}

Card::~Card()
{
	stop();
}

/* ---- engine thread (HW §3 "the card polls") -------------------------------- */

int Card::start()
{
	std::lock_guard<std::mutex> g(impl_->ctl_lock);
	if (impl_->thread_running.load())
		return 0;
	impl_->stop_req.store(false);
	try {
		impl_->thread = std::thread([this] { impl_->engine_main(); });
	} catch (const std::system_error &e) {
		return -(e.code().value() ? e.code().value() : EAGAIN);
	}
	const pthread_t h = impl_->thread.native_handle();
	std::string name = cfg_.name.empty() ? std::string("xcap-model") : cfg_.name;
	if (name.size() > 15)
		name.resize(15);
	pthread_setname_np(h, name.c_str());
	/* A thread inherits its creator's affinity, and the creator is usually
	 * a pinned EAL lcore: a card that floats must be given every CPU back,
	 * or it would compete with the very lcore that polls it. */
	cpu_set_t set;
	CPU_ZERO(&set);
	if (cfg_.cpu >= 0) {
		CPU_SET(cfg_.cpu, &set);
	} else {
		const long n = sysconf(_SC_NPROCESSORS_ONLN);
		for (long c = 0; c < n && c < CPU_SETSIZE; c++)
			CPU_SET(c, &set);
	}
	{
		const int rc = pthread_setaffinity_np(h, sizeof set, &set);
		if (rc != 0 && cfg_.cpu >= 0) {
			impl_->stop_req.store(true);
			impl_->thread.join();
			return -rc;
		}
	}
	impl_->thread_running.store(true);
	return 0;
}

void Card::stop()
{
	if (!impl_)
		return;
	std::lock_guard<std::mutex> g(impl_->ctl_lock);
	if (!impl_->thread.joinable())
		return;
	impl_->stop_req.store(true);
	impl_->thread.join();
	impl_->thread_running.store(false);
}

bool Card::running() const
{
	return impl_->thread_running.load();
}

size_t Card::poll_once()
{
	if (impl_->thread_running.load())
		return 0;
	return impl_->pass();
}

void Card::Impl::engine_main()
{
	/* nanosleep must be precise for the short backoff steps */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	uint64_t idle_since = 0;
	uint64_t sleep_ns = 0;
	while (!stop_req.load(std::memory_order_relaxed)) {
		if (pass() != 0) {
			idle_since = 0;
			sleep_ns = 0;
			continue;
		}
		const uint64_t now = now_ns();
		if (idle_since == 0)
			idle_since = now ? now : 1;
		if (now - idle_since < kSpinBeforeSleepNs) {
			cpu_relax();
			continue;
		}
		/* idle: give the core back, with growing intervals */
		sleep_ns = sleep_ns ? std::min(sleep_ns * 2, kSleepMaxNs) : kSleepMinNs;
		struct timespec ts = {0, long(sleep_ns)};
		nanosleep(&ts, nullptr);
	}
}

/* ---- one pass over the card ------------------------------------------------ */

size_t Card::Impl::pass()
{
	/* Dekker handshake with vanish(): either vanish() sees in_pass and waits
	 * for this pass to end, or this pass sees vanished and does nothing. */
	in_pass.store(true, std::memory_order_seq_cst);
	if (vanished.load(std::memory_order_seq_cst)) {
		in_pass.store(false, std::memory_order_release);
		/* keep every word all-ones even if the driver writes (HW §7.4) */
		for (uint32_t off = 0; off < hw::kBar0Size; off += 4)
			if (bar.ld(off) != hw::kAllOnes)
				bar.host_st(off, hw::kAllOnes);
		return 0;
	}
	const uint64_t now = now_ns();
	bar.st64_live(reg::kTimeLo, now);
	size_t work = 0;
	const uint32_t gctrl = bar.ld(reg::kGlobalCtrl);
	if (!resetting && (gctrl & hw::gctrl::kReset)) {
		start_reset(now);
		work++;
	}
	if (resetting && !finish_reset(now)) {
		/* HW §7.3: nothing but the clock until the card is Ready */
		in_pass.store(false, std::memory_order_release);
		return work;
	}
	if (sample_countdown-- == 0) [[unlikely]] {
		sample();
		sample_countdown = kSamplePasses - 1;
	}
	/* HW §2.5: a Fatal card behaves as if GlobalCtrl.Enable were 0 */
	const bool genable = (gctrl & hw::gctrl::kEnable) && !fatal.load(std::memory_order_acquire);
	if (prioritised()) {
		/* HW §3.6: the priorities differ; the arbiter orders the turns */
		work += arbitrate(genable, now);
	} else {
		/* round robin: one turn per channel in channel order */
		for (auto &c : chans) {
			if (gone())
				break;
			arb_budget = kDescBatch;
			work += service(*c, genable, now);
		}
	}
	in_pass.store(false, std::memory_order_release);
	return work;
}

/* HW §2.2, §7.3: GlobalCtrl.Reset seen. Ready goes to 0 and Fatal and the
 * host error log are cleared (the register port did both at the write: a
 * violation between the write and here is the new reset's; on a shared
 * window this is where it happens), the card resets, and it stays not Ready
 * until finish_reset() ready_delay_ms later. */
void Card::Impl::start_reset(uint64_t now)
{
	{
		std::lock_guard<std::mutex> g(reg_lock);
		const uint64_t gen = reset_gen.load(std::memory_order_relaxed);
		if (gen == reset_gen_seen)
			clear_host_errors(); /* a Reset the port did not see */
		reset_gen_seen = gen;
		ready.store(false, std::memory_order_release);
		set_gstatus();
	}
	global_reset();
	resetting = true;
	ready_at = now + uint64_t(cfg.ready_delay_ms) * 1'000'000;
}

/* The reset in progress is done if its time has come: Ready, and the Reset
 * bit cleared, together under reg_lock, so that a Reset written through the
 * port meanwhile is not lost but starts the reset again. */
bool Card::Impl::finish_reset(uint64_t now)
{
	for (;;) {
		/* another Reset written meanwhile: the reset starts over */
		if (reset_gen.load(std::memory_order_acquire) != reset_gen_seen) {
			start_reset(now);
			continue;
		}
		if (now < ready_at)
			return false;
		std::lock_guard<std::mutex> g(reg_lock);
		if (reset_gen.load(std::memory_order_relaxed) == reset_gen_seen) {
			ready.store(true, std::memory_order_release);
			set_gstatus();
			bar.clear_bits(reg::kGlobalCtrl, hw::gctrl::kReset);
			resetting = false;
			return true;
		}
	}
}

void Card::Impl::global_reset()
{
	/* HW §2.2: every channel's Ctrl to 0 and the channel reset. Fatal,
	 * FatalCode and the host error log were cleared by start_reset(). */
	for (auto &c : chans) {
		bar.st(c->rb + ch::kCtrl, 0);
		reset_chan(*c);
	}
}

size_t Card::Impl::service(Chan &c, bool genable, uint64_t now)
{
	const uint32_t ctrl = bar.ld(c.rb + ch::kCtrl);
	if (ctrl & hw::chctrl::kReset) {
		reset_chan(c);
		bar.clear_bits(c.rb + ch::kCtrl, hw::chctrl::kReset);
		return 1;
	}
	if (c.stall.load(std::memory_order_relaxed)) {
		/* FaultPlan::stall: nothing but RESET is acted on */
		c.busy = true;
		publish_status(c);
		return 0;
	}
	if (c.quiescing) [[unlikely]] {
		/* HW §7.3: stopped, but showing the old state with Busy until
		 * quiesce_ms have passed; nothing else is acted on meanwhile */
		check_stopped_doorbell(c);
		if (now < c.quiesce_until)
			return 0;
		c.quiescing = false;
		c.busy = false;
		bar.st(c.rb + ch::kDoorbell, 0);
		c.db_seen = 0;
		publish_status(c);
		return 1;
	}
	c.busy = false;
	size_t work = 0;
	if (ctrl & hw::chctrl::kResume) {
		/* HW §3.5: Halted -> Running; in Running it re-arms the error latch
		 * and the fence; ignored in Disabled and Failed */
		if (c.state == ChannelState::Halted || c.state == ChannelState::Running) {
			clear_latch(c);
			c.fence = false;
			c.state = ChannelState::Running;
		}
		/* HW §3.3: Status shows the new state before the bit clears, so a
		 * driver that sees neither Resume nor Running knows it is halted. */
		publish_status(c);
		bar.clear_bits(c.rb + ch::kCtrl, hw::chctrl::kResume);
		work++;
	}
	switch (c.state) {
	case ChannelState::Disabled:
		/* HW §3.4: no doorbell while the channel is not enabled (contract.cpp) */
		check_stopped_doorbell(c);
		if (ctrl & hw::chctrl::kEnable) {
			enable_chan(c, now);
			work++;
		}
		break;
	case ChannelState::Running:
	case ChannelState::Halted:
		if (!(ctrl & hw::chctrl::kEnable)) {
			const ChannelState was = c.state;
			disable_chan(c);
			if (cfg.quiesce_ms && c.state == ChannelState::Disabled && !gone()) {
				/* HW §7.3 on a slow card: every descriptor is complete
				 * (disable_chan finished what it was doing and aborted
				 * the rest, as with quiesce_ms 0), no DMA follows, but
				 * Status keeps the old state with Busy 1 for quiesce_ms */
				c.quiescing = true;
				c.shown = was;
				c.busy = true;
				c.quiesce_until = now + uint64_t(cfg.quiesce_ms) * 1'000'000;
			}
			work++;
			break;
		}
		if (c.capture)
			work += run_capture(c, ctrl, genable, now);
		else if (c.state == ChannelState::Running && genable)
			work += run_copy(c, ctrl);
		break;
	case ChannelState::Failed:
		check_stopped_doorbell(c);
		break;
	}
	if (!gone()) {
		publish(c);
		publish_status(c);
	}
	return work;
}

/* ---- channel state machine (HW §3.5) -------------------------------------- */

void Card::Impl::clear_latch(Chan &c)
{
	c.latched = false;
	bar.st(c.rb + ch::kErrAddrLo, 0);
	bar.st(c.rb + ch::kErrAddrHi, 0);
	bar.st(c.rb + ch::kErrIndex, 0);
	bar.st(c.rb + ch::kErrCode, 0);
}

void Card::Impl::reset_chan(Chan &c)
{
	c.state = ChannelState::Disabled;
	c.busy = false;
	c.quiescing = false;
	c.db_seen = 0;
	c.failed_seen.store(false, std::memory_order_relaxed);
	{
		/* HW §2.4: the latches read 0 after reset */
		std::lock_guard<std::mutex> g(reg_lock);
		std::memset(c.latch, 0, sizeof c.latch);
	}
	c.head = c.fetch = 0;
	c.fence = false;
	c.halt_pending = false;
	c.seq = 0;
	c.ring = nullptr;
	c.cpl = nullptr;
	c.cnt_desc = c.cnt_err = c.cnt_bytes = c.cnt_rec = c.cnt_lost = c.cnt_ovr = 0;
	c.cnt_dirty = true;
	c.hwhead_shadow = 0;
	c.hwhead_back = 0;
	bar.st(c.rb + ch::kHwHead, 0);
	bar.st(c.rb + ch::kDoorbell, 0);
	clear_latch(c);
	if (c.capture)
		cap_reset(c);
	publish(c);
	publish_status(c);
}

void Card::Impl::fail_chan(Chan &c, Status code, bool has_addr, uint64_t addr)
{
	/* Failed overrides any latched error: it is what the driver must see. */
	c.state = ChannelState::Failed;
	c.busy = false;
	c.latched = true;
	bar.st(c.rb + ch::kErrAddrLo, has_addr ? uint32_t(addr) : 0);
	bar.st(c.rb + ch::kErrAddrHi, has_addr ? uint32_t(addr >> 32) : 0);
	bar.st(c.rb + ch::kErrIndex, c.head);
	bar.st(c.rb + ch::kErrCode, uint32_t(code));
	/* HW §3.4: what the host rings from now on is checked against this */
	c.db_seen = uint16_t(bar.ld(c.rb + ch::kDoorbell));
	c.failed_seen.store(false, std::memory_order_relaxed);
}

void Card::Impl::enable_chan(Chan &c, uint64_t now)
{
	const uint64_t ring = uint64_t(bar.ld(c.rb + ch::kRingBaseHi)) << 32 | bar.ld(c.rb + ch::kRingBaseLo);
	const uint64_t cplb = uint64_t(bar.ld(c.rb + ch::kCplBaseHi)) << 32 | bar.ld(c.rb + ch::kCplBaseLo);
	const uint32_t log2 = bar.ld(c.rb + ch::kRingLog2);
	c.head = c.fetch = 0;
	c.fence = false;
	c.halt_pending = false;
	clear_latch(c);
	c.hwhead_shadow = 0;
	bar.st(c.rb + ch::kHwHead, 0);
	/* HW §5.5: both bases 4 KiB aligned, or the enable fails (and the host
	 * broke a rule) */
	check_enable_alignment(c, ring, cplb);
	if (log2 < 1 || log2 > cfg.max_ring_log2 || ring % hw::kRingAlign != 0) {
		fail_chan(c, Status::DescriptorReadError, true, ring);
		return;
	}
	const uint8_t *rp = dma(ring, uint64_t(sizeof(hw::Descriptor)) << log2);
	if (!rp) {
		fail_chan(c, Status::DescriptorReadError, true, ring);
		return;
	}
	uint8_t *cp = cplb % hw::kCplAlign == 0 ? dma(cplb, uint64_t(sizeof(hw::Completion)) << log2) : nullptr;
	if (!cp) {
		fail_chan(c, Status::BusWriteError, true, cplb);
		return;
	}
	c.ring_iova = ring;
	c.cpl_iova = cplb;
	c.log2 = log2;
	c.size = 1u << log2;
	c.mask = c.size - 1;
	c.ring = rp;
	c.cpl = reinterpret_cast<uint64_t *>(cp);
	c.ptr_gen = reader.sync();
	c.state = ChannelState::Running;
	if (c.capture)
		cap_enable(c, now);
}

/* The IOMMU changed since the ring pointers were taken: take them again; a
 * ring that is no longer mapped fails the channel (HW §9). */
bool Card::Impl::check_ptrs(Chan &c)
{
	const uint64_t g = reader.sync();
	if (g == c.ptr_gen)
		return true;
	const uint8_t *rp = dma(c.ring_iova, uint64_t(sizeof(hw::Descriptor)) << c.log2);
	if (!rp) {
		fail_chan(c, Status::DescriptorReadError, true, c.ring_iova);
		return false;
	}
	uint8_t *cp = dma(c.cpl_iova, uint64_t(sizeof(hw::Completion)) << c.log2);
	if (!cp) {
		fail_chan(c, Status::BusWriteError, true, c.cpl_iova);
		return false;
	}
	c.ring = rp;
	c.cpl = reinterpret_cast<uint64_t *>(cp);
	if (c.capture && !cap_check_ptrs(c))
		return false;
	c.ptr_gen = g;
	return true;
}

void Card::Impl::disable_chan(Chan &c)
{
	/* HW §3.5: the descriptor in progress is finished (passes are atomic per
	 * descriptor), the rest up to the doorbell complete UserAbort. */
	if (!check_ptrs(c))
		return;
	if (c.capture) {
		cap_disable(c);
		if (c.state == ChannelState::Failed)
			return;
	}
	const uint16_t db = uint16_t(bar.ld(c.rb + ch::kDoorbell));
	const uint16_t pending = uint16_t(db - c.head);
	if (pending > c.size) {
		doorbell_ahead(c, db, c.head);
		fail_chan(c, Status::DescriptorReadError, false, 0);
		return;
	}
	for (uint16_t i = 0; i < pending && !gone(); i++) {
		const uint16_t idx = c.head;
		const hw::Descriptor d = read_desc(c, idx);
		Outcome o;
		o.status = Status::UserAbort;
		write_cpl(c, idx, d.id, o.status, 0);
		c.head++;
		after_cpl(c, idx, o, false);
	}
	c.fetch = c.head;
	if (gone())
		return;
	c.state = ChannelState::Disabled;
	/* the next enable restarts both indexes at 0; a quiescing channel
	 * (service()) writes it when the quiesce is over, and any doorbell the
	 * host writes meanwhile is checked against db (HW §3.4) */
	c.db_seen = db;
	if (!cfg.quiesce_ms) {
		bar.st(c.rb + ch::kDoorbell, 0);
		c.db_seen = 0;
	}
}

/* ---- completions (HW §6, §7) ---------------------------------------------- */

void Card::Impl::write_cpl(Chan &c, uint16_t idx, uint16_t id, Status st, uint32_t result)
{
	hw::Completion e;
	e.status = uint8_t(st);
	e.flags = hw::completion_phase(idx, c.log2);
	e.id = id;
	e.result = result;
	uint64_t v;
	std::memcpy(&v, &e, sizeof v);
	/* release: the descriptor's data writes are visible before it */
	std::atomic_ref<uint64_t>(c.cpl[idx & c.mask]).store(v, std::memory_order_release);
}

/* Account one written completion; returns true if the channel halted. */
bool Card::Impl::after_cpl(Chan &c, uint16_t idx, const Outcome &o, bool halt)
{
	c.cnt_desc++;
	c.cnt_dirty = true;
	if (o.status == Status::Successful)
		return false;
	c.cnt_err++;
	c.fence = true;
	if (!halts_on(o.status))
		return false;
	if (!c.latched) {
		c.latched = true;
		bar.st(c.rb + ch::kErrAddrLo, o.addr_fault ? uint32_t(o.addr) : 0);
		bar.st(c.rb + ch::kErrAddrHi, o.addr_fault ? uint32_t(o.addr >> 32) : 0);
		bar.st(c.rb + ch::kErrIndex, idx);
		bar.st(c.rb + ch::kErrCode, uint32_t(o.status));
	}
	if (halt) {
		c.state = ChannelState::Halted;
		return true;
	}
	return false;
}

void Card::Impl::publish(Chan &c)
{
	/* HwHead after the completions it covers (all written by now) */
	if (c.hwhead_shadow != c.head) {
		c.hwhead_shadow = c.head;
		bar.st(c.rb + ch::kHwHead, uint16_t(c.head - c.hwhead_back));
	}
	if (c.cnt_dirty) {
		c.cnt_dirty = false;
		bar.st64(c.rb + ch::kCntDescLo, c.cnt_desc);
		bar.st64(c.rb + ch::kCntErrLo, c.cnt_err);
		bar.st64(c.rb + ch::kCntBytesLo, c.cnt_bytes);
		if (c.capture) {
			bar.st64(c.rb + ch::kCntRecLo, c.cnt_rec);
			bar.st64(c.rb + ch::kCntLostLo, c.cnt_lost);
			bar.st64(c.rb + ch::kCntOvrLo, c.cnt_ovr);
			c.cap->publish();
		}
	}
}


} // namespace xcap::model
