/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The xcap card in software: a device model that implements the hardware
 * contract (drivers/dma/xcap/xcap_hw_defs.h, docs/hardware.md) and nothing
 * else. It sees exactly what a card sees: its BAR0 register window and host
 * memory reached through IOVAs, translated by an emulated IOMMU. It knows no
 * driver structure and has no DPDK dependency, so it is unit-tested without
 * EAL and reused by every transport (the vdev in drivers/dma/xcap/xcap_emu.cpp,
 * a host process behind a QEMU ivshmem BAR).
 */
#ifndef XCAP_MODEL_H
#define XCAP_MODEL_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "xcap_hw_defs.h"

namespace xcap::model {

/* ---- emulated IOMMU (HW §9) -----------------------------------------------
 * A table of IOVA ranges the host has mapped for the card. Anything outside
 * it faults; IOVA 0 is never mappable, so a null address always faults.
 *
 * Updates (map/unmap/clear, from any thread, serialised by a mutex) publish a
 * new immutable table of segments (mappings merged where they are contiguous
 * in both IOVA and VA) stamped with a process-wide unique generation number;
 * an update costs O(log mappings + segments), so mapping thousands of pages
 * one by one stays cheap.
 * Readers never lock on the fast path: a Reader (one per reading thread; the
 * card keeps its own) holds a reference to the table it last saw and compares
 * one atomic generation load per lookup; only when the generation changed
 * does it take the mutex once to pick up the new table. It also keeps the
 * last few segments it hit (a TLB), so descriptors whose buffers lie in a
 * handful of segments cost a few compares per address. */
struct IommuRange {
	uint64_t iova;
	uint64_t len;
	uint8_t *va; /* where the transport can reach those bytes */
};

class Iommu {
	struct Table;

public:
	explicit Iommu(unsigned addr_width_bits = 48);
	~Iommu();
	Iommu(const Iommu &) = delete;
	Iommu &operator=(const Iommu &) = delete;

	/* 0, or -EINVAL (len 0, iova 0, va null, wraps, beyond the address
	 * width), -EEXIST (overlaps an existing mapping). */
	int map(uint64_t iova, uint64_t len, void *va);
	/* 0, or -ENOENT when no mapping starts at iova with exactly that length. */
	int unmap(uint64_t iova, uint64_t len);
	void clear();
	unsigned addr_width() const { return addr_width_; }
	size_t ranges() const;
	/* Current generation; changes on every successful map/unmap/clear. */
	uint64_t generation() const { return gen_.load(std::memory_order_acquire); }

	/* Host pointer for [iova, iova+len) if the whole range is mapped (it may
	 * span adjacent mappings only when they are also contiguous in VA), or
	 * nullptr. len 0 is treated as 1. Thread-safe; lock-free unless the
	 * table changed (a small per-thread cache of tables, keyed by
	 * generation). */
	uint8_t *translate(uint64_t iova, uint64_t len) const;

	/* A single-threaded translation cache over an Iommu. Not thread-safe:
	 * one per reading thread; must not outlive its Iommu.
	 *
	 * In front of the table sits a small TLB of the last segments hit
	 * (kTlbEntries, round-robin refill), so that a stream of descriptors
	 * whose sources and destinations lie in different segments costs one
	 * generation compare and a few range compares per lookup, not a
	 * binary search. Every lookup first compares the Iommu's generation:
	 * when the map changed, the TLB is flushed and the new table taken
	 * before anything is translated, so a mapping change takes effect at
	 * the very next lookup, as without the TLB (HW §9). */
	class Reader {
	public:
		explicit Reader(const Iommu &iommu);
		~Reader();
		Reader(const Reader &) = delete;
		Reader &operator=(const Reader &) = delete;
		/* A mapped segment: [first, last] at host address va. */
		struct Seg {
			uint64_t first = ~uint64_t(0), last = 0; /* empty: matches nothing */
			uint8_t *va = nullptr;                   /* host address of first */
			bool holds(uint64_t iova, uint64_t last_byte) const
			{
				return iova >= first && last_byte <= this->last && last_byte >= iova;
			}
		};

		uint8_t *translate(uint64_t iova, uint64_t len)
		{
			const Seg *s = segment(iova, len);
			return s ? s->va + (iova - s->first) : nullptr;
		}
		/* The segment holding all of [iova, iova+len) (len 0 = 1), or
		 * nullptr. Valid until the next call on this Reader; callers may
		 * copy it and reuse the copy while stale() is false. */
		const Seg *segment(uint64_t iova, uint64_t len)
		{
			if (stale()) [[unlikely]]
				sync();
			const uint64_t last = iova + (len ? len - 1 : 0);
			for (const Seg &e : tlb_)
				if (e.holds(iova, last))
					return &e;
			return miss(iova, len);
		}
		/* The map changed since this Reader last looked. */
		bool stale() const { return iommu_->gen_.load(std::memory_order_acquire) != gen_; }
		/* Pick up the current table if it changed; returns its generation. */
		uint64_t sync();

		static constexpr unsigned kTlbEntries = 4;

	private:
		const Seg *miss(uint64_t iova, uint64_t len);
		void flush();

		const Iommu *iommu_;
		uint64_t gen_ = 0;
		Seg tlb_[kTlbEntries];
		unsigned victim_ = 0;
		std::shared_ptr<const Table> table_;
		size_t last_ = 0; /* index of the last segment found in the table */
	};

private:
	friend class Reader;
	std::shared_ptr<const Table> snapshot() const;
	void publish(std::shared_ptr<Table> t); /* update_lock_ held */

	unsigned addr_width_;
	mutable std::mutex update_lock_;
	std::map<uint64_t, IommuRange> maps_; /* exact mappings by iova; update_lock_ */
	std::shared_ptr<const Table> table_;  /* guarded by update_lock_ */
	std::atomic<uint64_t> gen_{0};
};

/* ---- capture source (the "wire" in front of a capture channel, HW §8) ---- */
enum class FrameSizeMode { Fixed, Range, Imix };

struct CaptureProfile {
	/* Frames per second. With rate_bps also 0 the source is back-pressured:
	 * it produces a frame whenever the channel has buffer room for it, as
	 * fast as the engine can write, and never loses one. */
	double rate_pps = 1e6;
	double rate_bps = 0;    /* if > 0, overrides rate_pps (wire bits incl. 20 B overhead) */
	FrameSizeMode size_mode = FrameSizeMode::Fixed;
	uint32_t frame_min = 64;   /* Fixed uses frame_min */
	uint32_t frame_max = 1518;
	uint64_t count = 0;        /* frames to generate, 0 = unlimited */
	uint32_t fifo_frames = 4096; /* backlog the card holds before counting overruns */
	/* The link comes up this long after the channel is enabled: no frame
	 * arrives before enable + start_delay_us (HW §8.1), which lets a host
	 * post its buffers first. */
	uint32_t start_delay_us = 0;
};

/* Payload written by the generator for the frame with sequence number seq:
 * bytes [0,8) are seq little-endian, byte i >= 8 is (seq + i) & 0xff. */
uint8_t payload_byte(uint64_t seq, uint32_t i);

/* ---- fault injection ------------------------------------------------------ */
struct FaultPlan {
	/* Fail the descriptor with this 1-based sequence number (counted per
	 * channel since reset) with fail_status; 0 = off. */
	uint64_t fail_nth = 0;
	/* Fail every Nth descriptor; 0 = off. */
	uint64_t fail_every = 0;
	hw::Status fail_status = hw::Status::BusError;
	bool stall = false; /* the channel stops processing until cleared */

	/* A lying card (HW §7.4 "card faults"): once, at the lie_nth-th
	 * descriptor of a copy channel (1-based, counted like fail_nth) or the
	 * lie_nth-th completed buffer of a capture channel, the card writes
	 * wrong control data. One-shot: re-armed only by the next set_fault(). */
	enum class Lie : uint8_t {
		None = 0,
		WrongId,       /* the completion carries id ^ 0x8000 (points outside the window) */
		BadStatus,     /* the completion carries lie_status (not a defined Status) */
		EarlyPhase,    /* after the completion, also writes a success entry with
				* the current phase at the slot of the doorbell: a
				* completion for a descriptor never submitted */
		HwHeadBack,    /* from then on HwHead reads 3 lower than the real head
				* (goes backwards), until the channel is reset */
		BytesUsedOverrun, /* capture: bytes_used (header and completion) = posted + 4096 */
		RecordOverrun,    /* capture: the first record's cap_len becomes 0xfff0 */
		CountMismatch,    /* capture: record_count one lower (one higher if 0) */
	};
	Lie lie = Lie::None;
	uint64_t lie_nth = 1;
	uint8_t lie_status = 0x42;
};
const char *lie_name(FaultPlan::Lie l);

struct CardConfig {
	unsigned copy_channels = 1;
	unsigned capture_channels = 0;
	unsigned max_ring_log2 = 12;       /* 4096 entries; 1..15 */
	uint32_t max_xfer_len = 1u << 24;  /* 16 MiB */
	unsigned max_sge = 16;             /* 1..kMaxSgeLimit (256, HW §5.5) */
	unsigned addr_width = 48;          /* 32..64 */
	bool null_engine = false;          /* complete descriptors without touching data */
	unsigned priority_levels = 4;      /* ArbCaps.PrioLevels, 0..16 (HW §3.6) */
	int cpu = -1;                      /* pin the card thread; -1 floats */
	std::vector<CaptureProfile> capture; /* one per capture channel (defaults if short) */
	std::string name = "xcap-model";

	/* A slower, smaller card (HW §7.3, §5.2). */
	uint32_t caps_ops = hw::kOpsSupported; /* Caps1: the opcodes implemented, bit
						* 1 << opcode, a subset of kOpsSupported;
						* any other opcode completes InvalidOpcode
						* and is an Opcode violation */
	uint32_t ready_delay_ms = 0; /* 0..60000: from power-on or GlobalCtrl.Reset to
				      * Ready (Ready reads 0 and GlobalCtrl.Reset 1
				      * until then); 0: Ready at construction */
	uint32_t quiesce_ms = 0;     /* 0..60000: from Ctrl.Enable cleared to State
				      * Disabled with Busy 0 (the old state with
				      * Busy 1 until then) */

	/* Contract checking (HW §2.4, §2.5). Every violation is counted
	 * (Card::contract_violations) and logged; with strict (the default)
	 * it also sets HostErrStatus/HostErrInfo and raises Fatal
	 * (FatalCode kFatalHostProtocol), as a card does; without, the model
	 * only counts and logs, for debugging a driver against it. */
	bool strict = true;
	/* One line per violation, starting "contract violation: <rule>
	 * (hardware.md §N)", the first kLogLines per card, then one line that
	 * says the rest are not logged. Empty (the default): stderr. Called
	 * with the card's register lock held: it must not call into the card. */
	std::function<void(const char *line)> log;
	static constexpr unsigned kLogLines = 16;
};

/* The card. Construct it over a BAR0 window of hw::kBar0Size bytes (8-byte
 * aligned) the transport owns (zeroed memory for the vdev, an ivshmem file
 * for a guest); the constructor performs a power-on reset of the whole window
 * and writes the read-only identity registers. An invalid configuration
 * throws std::invalid_argument.
 *
 * The host reaches the registers in one of two ways. Through the register
 * port (mmio_read/mmio_write), which sees every access with its width as a
 * card's BAR decoder sees TLPs: it enforces the access rules of HW §2.4
 * exactly and implements the 64-bit counter latch. Or by plain loads and
 * stores into the window (a shared-memory transport, and the doorbell of
 * every transport), which the engine samples at its passes: it then checks
 * what it can see (HW §2.5: RO words overwritten, configuration changed
 * while enabled, the doorbell rules). */
class Card {
public:
	Card(const CardConfig &cfg, void *bar0, Iommu &iommu);
	~Card(); /* stops the thread */
	Card(const Card &) = delete;
	Card &operator=(const Card &) = delete;

	/* Start/stop the card's engine thread. start() is idempotent; returns 0
	 * or a negative errno (thread creation or pinning failed). */
	int start();
	void stop();
	bool running() const;

	/* Run the engine once over every channel on the caller's thread (unit
	 * tests; only when the thread is not running, else returns 0 and does
	 * nothing). Returns work done (0 = nothing to do). */
	size_t poll_once();

	const CardConfig &config() const { return cfg_; }
	uint8_t *bar0() const { return bar0_; }

	/* ---- the register port (HW §2.4) ----
	 * Thread-safe, also against the engine thread. size is the access
	 * width in bytes: anything but an aligned 4-byte access inside BAR0
	 * is a Width violation (a read returns all-ones of its width, a write
	 * is dropped). A write that breaks a rule is dropped in strict mode;
	 * without strict it acts as on a card that does not check (reserved
	 * bits masked off), except a write to an RO register or an
	 * unassigned offset, which never acts. An unassigned offset (also
	 * the block of a channel the card does not have) reads 0. Reading a
	 * counter's or the clock's Lo word latches its Hi word; reading Hi
	 * returns the latch. A vanished card reads all-ones and ignores
	 * writes (not a violation). */
	uint64_t mmio_read(uint32_t off, unsigned size);
	void mmio_write(uint32_t off, unsigned size, uint64_t v);
	uint32_t mmio_read32(uint32_t off) { return uint32_t(mmio_read(off, 4)); }
	void mmio_write32(uint32_t off, uint32_t v) { mmio_write(off, 4, v); }
	/* Violations since construction (strict or not, any transport). */
	uint64_t contract_violations() const;
	/* What HostErrStatus reads (0 without strict: nothing is recorded). */
	uint32_t host_err_status() const;

	/* Fault injection, callable from any thread. Out-of-range channel
	 * numbers throw std::out_of_range. */
	void set_fault(unsigned chan, const FaultPlan &plan);
	void set_stall(unsigned chan, bool stall);
	/* Surprise removal: every register reads all-ones from now on and the
	 * card performs no more DMA once this returns. */
	void vanish();
	bool vanished() const;
	/* What the fault plans of a channel made happen since power-on:
	 * descriptors failed by fail_nth/fail_every, lies told. */
	struct FaultsFired {
		uint64_t failures, lies;
	};
	FaultsFired faults_fired(unsigned chan) const;

	/* Generator accounting, per capture channel index (0-based among capture
	 * channels), since the channel was last enabled or reset: frames
	 * generated, delivered in completed buffers, lost by cause, and sitting
	 * in the open (not yet completed) buffer. Always
	 * generated == delivered + lost_no_buffer + lost_overrun + in_buffer
	 * (a consistent snapshot, also while the engine thread runs). */
	struct CaptureCounters {
		uint64_t generated, delivered, lost_no_buffer, lost_overrun, in_buffer;
	};
	CaptureCounters capture_counters(unsigned capture_index) const;
	/* The same since power-on (summed over every enable and reset), plus the
	 * records a reset forgot in the open buffer (HW §3.5: no completion).
	 * Always generated == delivered + lost_no_buffer + lost_overrun +
	 * in_buffer + discarded_at_reset. Ground truth for soak tests. */
	struct CaptureTotals {
		uint64_t generated, delivered, lost_no_buffer, lost_overrun, in_buffer,
			discarded_at_reset;
	};
	CaptureTotals capture_totals(unsigned capture_index) const;

private:
	struct Impl; /* model internals (xcap_model_impl.h) */
	CardConfig cfg_;
	uint8_t *bar0_;
	std::unique_ptr<Impl> impl_;
};

} // namespace xcap::model

#endif /* XCAP_MODEL_H */
