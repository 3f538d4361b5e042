/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The xcap PMD's own structures. Nothing here knows whether BAR0 belongs to
 * a PCI card or to the device model: xcap_pci.cpp and xcap_emu.cpp hand a
 * BAR0 pointer to xcap_dmadev_create() and everything above that is shared.
 */
#ifndef XCAP_INTERNAL_H
#define XCAP_INTERNAL_H

#include <cstdint>
#include <memory>

#include <rte_common.h>
#include <rte_dmadev.h>
#include <rte_dmadev_pmd.h>
#include <rte_errno.h>
#include <rte_io.h>
#include <rte_log.h>
#include <rte_memzone.h>
#include <rte_spinlock.h>

#include "xcap_dpdk_compat.h" /* XCAP_LOG, the per-version differences */
#include "xcap_hw_defs.h"

namespace xcap {

/* An address as the card sees it. Kept apart from pointers so that a VA can
 * never be written into a descriptor by accident. */
struct Iova {
	uint64_t value = 0;
	constexpr Iova operator+(uint64_t off) const { return Iova{value + off}; }
};

/* The emulated card's register port (xcap_emu.cpp): every slow-path register
 * access goes to the device model as a call carrying its width, as a card's
 * BAR decoder sees each TLP, so the model can check the access rules
 * (HW §2.4) and implement the counter latch. A PCI card has none: its
 * accesses are plain 32-bit MMIO. The doorbell never goes through a port
 * (Vchan::doorbell, a direct store: the model samples it). */
struct BarPort {
	uint32_t (*read32)(void *ctx, uint32_t off);
	void (*write32)(void *ctx, uint32_t off, uint32_t value);
	void *ctx;
};

/* BAR0 register window: aligned 32-bit accesses only (HW §2.4); there is
 * deliberately no 64-bit accessor. Slow path only: the fast path touches
 * nothing but the doorbell (a write) and host memory. */
class Bar {
public:
	explicit Bar(volatile uint8_t *base = nullptr, const BarPort *port = nullptr)
		: base_(base), port_(port) {}
	uint32_t read32(uint32_t off) const
	{
		return port_ ? port_->read32(port_->ctx, off) : rte_read32(base_ + off);
	}
	void write32(uint32_t off, uint32_t v) const
	{
		if (port_)
			port_->write32(port_->ctx, off, v);
		else
			rte_write32(v, base_ + off);
	}
	/* A 64-bit value in a Lo/Hi register pair, as two 32-bit reads, Lo
	 * first: the order HW §2.4 requires for the counters and the clock
	 * (reading Lo latches Hi; callers of those hold Dev::reg_lock so that
	 * no other Lo read comes in between: read_counter()). ErrAddr, which
	 * changes only while its channel is stopped, reads the same way. */
	uint64_t read_lo_hi(uint32_t lo_off) const
	{
		const uint32_t lo = read32(lo_off);
		return uint64_t(read32(lo_off + 4)) << 32 | lo;
	}
	/* Where a channel's doorbell is, for the fast path's direct store. */
	volatile uint32_t *doorbell(unsigned chan) const
	{
		return reinterpret_cast<volatile uint32_t *>(
			base_ + hw::chan_reg(chan, hw::reg::ch::kDoorbell));
	}
	volatile uint8_t *base() const { return base_; }

private:
	volatile uint8_t *base_;
	const BarPort *port_; /* primary process only (it points into its heap) */
};

/* RAII owner of one memzone. */
class Memzone {
public:
	Memzone() = default;
	~Memzone() { reset(); }
	Memzone(const Memzone &) = delete;
	Memzone &operator=(const Memzone &) = delete;
	void reset(const rte_memzone *mz = nullptr)
	{
		if (mz_ != nullptr)
			rte_memzone_free(mz_);
		mz_ = mz;
	}
	const rte_memzone *get() const { return mz_; }
	/* Forget the memzone without freeing it: memory a card that would not
	 * quiesce may still write (HW §7.3) must never be handed out again. */
	void abandon() { mz_ = nullptr; }
	explicit operator bool() const { return mz_ != nullptr; }

private:
	const rte_memzone *mz_ = nullptr;
};

/* What a probe front end may attach to a device and get destroyed with it
 * (the emulated card). Slow path only. */
class Backend {
public:
	virtual ~Backend() = default;
	virtual void dump(FILE *f) const = 0;
};

inline constexpr unsigned kMaxChannels = hw::kMaxChannels;

/* Op mode (xcap_ops.cpp) keeps one rte_dma_op pointer per ring slot of a copy
 * vchan, after its completion ring, and Vchan::ops takes its room from
 * Vchan::fault: the size of one op pointer, 0 without op mode (DPDK < 25.03). */
inline constexpr size_t kOpPtrBytes = XCAP_DPDK_HAS_DMA_OPS ? sizeof(void *) : 0;

/* One virtual channel = one hardware channel. Fields the fast path uses come
 * first, on the first two cache lines. */
struct alignas(RTE_CACHE_LINE_SIZE) Vchan {
	/* --- enqueue/submit (HW §5, §7) --- */
	hw::Descriptor *ring = nullptr;       /* descriptor ring, VA */
	volatile uint32_t *doorbell = nullptr;
	hw::Sge *sg = nullptr;                /* per-slot SG lists (sg_src_iova()) */
	uint64_t sg_iova = 0;
	uint16_t next = 0;      /* id of the next op to enqueue */
	uint16_t submitted = 0; /* producer index last written to the doorbell */
	uint16_t head = 0;      /* id of the next completion to read */
	uint16_t limit = 0;     /* head + nb_desc: next == limit means the ring is full */
	uint16_t mask = 0;
	uint16_t nb_desc = 0;
	uint16_t max_sge = 0;   /* Sge entries per side and slot, <= hw::kMaxSgeLimit */
	uint8_t log2 = 0;
	uint8_t sg_side_log2 = 0; /* log2 of the bytes of one side's SG list (HW §5.5) */
	uint8_t halt_on_error = 0;
	/* The doorbell may be rung: the channel is enabled (between start and
	 * stop) and its card is trusted. A doorbell on a Disabled channel
	 * breaks the contract (HW §3.4); on a failed vchan it would hand the
	 * card more work nobody will trust. */
	uint8_t live = 0;
	uint8_t failed = 0;     /* card fault seen: the card's completions are not trusted */
	/* A failed vchan completes its outstanding ops with fail_status (an
	 * rte_dma_status_code), but only once drainable: the channel is known
	 * not to DMA any more (stopped and quiesced, the card gone, or Fatal
	 * with the channel idle, HW §7.3, §7.4), so their buffers are free. */
	uint8_t drainable = 0;
	uint8_t capture = 0;    /* a capture vchan: result = bytes used, not length (HW §6.1) */
	uint8_t copy_op = 0;    /* what rte_dma_copy() enqueues: Copy, or Capture (HW §8) */
	uint16_t fail_status = 0;
	uint32_t expect = 0; /* low word of a successful completion at head (HW §6) */

	/* --- completion polling (HW §6) --- */
	alignas(RTE_CACHE_LINE_SIZE) const volatile uint64_t *cpl = nullptr;
	uint64_t stat_submitted = 0;
	uint64_t stat_completed = 0;
	uint64_t stat_errors = 0;
	uint64_t card_faults = 0; /* completions that broke the contract (HW §7) */
#if XCAP_DPDK_HAS_DMA_OPS
	/* Op mode (RTE_DMA_CFG_FLAG_ENQ_DEQ, xcap_ops.cpp): the rte_dma_op of
	 * each ring slot, in the vchan's memzone; nullptr when not in op mode. */
	rte_dma_op **ops = nullptr;
#endif

	/* --- slow path --- */
	Memzone mz;
	Iova ring_iova, cpl_iova;
	unsigned hw_chan = 0;
	hw::ChannelKind kind = hw::ChannelKind::Copy;
	bool configured = false;
	uint16_t last_hw_head = 0;     /* HwHead as vchan_status last read it (HW §7.4 check) */
	uint64_t last_hw_head_sub = 0; /* stat_submitted at that read */
	int16_t dev_id = -1;           /* for the device's name in log lines */
	char fault[96 - kOpPtrBytes] = ""; /* sized to keep sizeof(Vchan) a power of two */
};
/* A power of two: the fast path finds vchan[i] with one shift. */
static_assert(sizeof(Vchan) == 256);

struct Dev {
	Vchan vchan[kMaxChannels];
	Bar bar;
	rte_dma_dev *dmadev = nullptr;
	std::unique_ptr<Backend> backend;
	unsigned n_copy = 0, n_capture = 0;
	unsigned max_ring_log2 = 0, max_sge = 0, addr_width = 0;
	uint32_t max_xfer = 0;
	uint32_t version = 0;
	uint32_t caps1 = 0;   /* HW §2.1 Caps1: the opcodes the card implements */
	/* Slow-path register sequences that must not interleave across
	 * threads (an application thread, the telemetry thread): the Lo/Hi
	 * latch reads of HW §2.4 (read_counter()). */
	mutable rte_spinlock_t reg_lock = RTE_SPINLOCK_INITIALIZER;
	bool null_engine = false;
	bool halt_on_error = false;
	/* A channel did not quiesce (HW §7.3) at the last stop or close: its
	 * rings and buffers may still be written, so they are never freed. */
	bool unquiesced = false;
#if XCAP_DPDK_HAS_DMA_OPS
	bool enq_deq = true;  /* RTE_DMA_CAPA_OPS_ENQ_DEQ offered (devarg enq_deq) */
	bool op_mode = false; /* configured with RTE_DMA_CFG_FLAG_ENQ_DEQ (xcap_ops.cpp) */
#endif
	uint16_t nb_vchans = 0;
	/* HW §3.6 arbiter (xcap_priority.cpp): the card's levels (ArbCaps), the
	 * device priority (rte_dma_conf.priority) and per-vchan overrides
	 * (rte_pmd_xcap_vchan_priority_set, bit v of prio_override). */
	unsigned nb_priorities = 0;
	uint8_t priority = 0;
	uint64_t prio_override = 0;
	uint8_t vchan_prio[kMaxChannels] = {};
};

struct CreateParams {
	const char *name;
	rte_device *device;
	volatile uint8_t *bar0;
	const BarPort *port; /* the emulated card's register port, or nullptr */
	int numa_node;
	bool halt_on_error;
	bool enq_deq; /* offer RTE_DMA_CAPA_OPS_ENQ_DEQ (devarg enq_deq, 25.03+) */
	std::unique_ptr<Backend> backend;
};

/* xcap_dmadev.cpp: the control path. In a secondary process create attaches
 * (dmadev_attach_secondary) and destroy detaches. */
int dmadev_create(CreateParams &&p);
int dmadev_destroy(const char *name);

/* xcap_fastpath.cpp: point fp at the rte_dma_copy/completed family, as far
 * as the card implements it (Caps1: Fill, CopySg). */
void set_fast_path(rte_dma_fp_object *fp, const Dev &dev);

/* xcap_secondary.cpp: a secondary process attaches to the dmadev its
 * primary created, without touching the card or the primary's state. */
int dmadev_attach_secondary(const char *name, rte_device *device);
/* xcap_dmadev.cpp, xcap_dump.cpp: the dev ops a secondary shares (they only
 * read Dev; dump reads the card in the primary only). */
int info_get(const rte_dma_dev *dd, rte_dma_info *info, uint32_t info_sz);
int stats_get(const rte_dma_dev *dd, uint16_t vchan, rte_dma_stats *stats, uint32_t stats_sz);
int xcap_dump(const rte_dma_dev *dd, FILE *f);

#if XCAP_DPDK_HAS_DMA_OPS
/* xcap_ops.cpp: the op-based fast path (rte_dma_enqueue_ops/dequeue_ops). */
uint16_t ops_enqueue(void *priv, uint16_t vchan, rte_dma_op **ops, uint16_t nb_ops);
uint16_t ops_dequeue(void *priv, uint16_t vchan, rte_dma_op **ops, uint16_t nb_ops);
/* dev_configure's part for op mode: refuses RTE_DMA_CFG_FLAG_ENQ_DEQ with
 * capture vchans, records the mode, points set-up vchans and the device's
 * fast path at it. */
int ops_configure(Dev &dev, const rte_dma_conf &conf);
/* Where vchan_setup puts a copy vchan's op slots: after its completion ring. */
inline rte_dma_op **op_slots(const Vchan &vc)
{
	return reinterpret_cast<rte_dma_op **>(const_cast<uint64_t *>(vc.cpl + vc.nb_desc));
}
#endif

/* xcap_priority.cpp (HW §3.6): the device priority from rte_dma_configure
 * (clears the vchan overrides); what start writes to vchan's Priority;
 * dev_dump's line. */
int priority_configure(Dev &dev, const rte_dma_conf &conf, const char *name);
uint32_t vchan_priority(const Dev &dev, unsigned vchan);
void priority_dump(const Dev &dev, FILE *f);

/* xcap_telemetry.cpp: the devices /xcap/ telemetry commands can see. */
void registry_add(Dev *dev, rte_dma_dev *dd);
void registry_remove(Dev *dev);
/* The xcap device behind dmadev dev_id, or nullptr (not an xcap device). */
Dev *registry_find(int dev_id);
/* This process's rte_dma_dev of a registered device, or nullptr. */
rte_dma_dev *registry_dmadev(int dev_id);
/* The device's name for log lines ("xcap" if unknown). */
const char *dev_name_of(int dev_id);

} // namespace xcap

#endif /* XCAP_INTERNAL_H */
