/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The control path of the xcap PMD: probe (create/destroy), dev_info,
 * configure, vchan setup, start/stop/close, stats, vchan status and dump.
 * It talks to a card through BAR0 (32-bit accesses, HW §2.4) and host
 * memory only, and does not know whether that card is on the PCI bus or
 * emulated. The fast path is xcap_fastpath.cpp, the card's bring-up and
 * reset sequences xcap_card.cpp. "HW §n" cites docs/hardware.md.
 */
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>

#include <rte_dmadev_pmd.h>
#include <rte_eal.h>
#include <rte_memory.h>

#include "xcap_card.h"
#include "xcap_fastpath.h"
#include "xcap_internal.h"

RTE_LOG_REGISTER(xcap_logtype, pmd.dma.xcap, INFO);

namespace xcap {
namespace {

using hw::chan_reg;
namespace reg = hw::reg;

Dev *dev_of(void *priv) { return static_cast<Dev *>(priv); }

/* dmadev passes the size of the structure the application was built with
 * (conf_sz, info_sz, stats_sz): an older application has a shorter one.
 * Read only what it has (the rest as 0) and write only what it has. */
template <typename T> T copy_in(const T *from, uint32_t size)
{
	T local{};
	std::memcpy(&local, from, RTE_MIN(size_t(size), sizeof(T)));
	return local;
}
template <typename T> void copy_out(T *to, const T &value, uint32_t size)
{
	std::memcpy(to, &value, RTE_MIN(size_t(size), sizeof(T)));
}

bool card_gone(const Dev &dev) { return dev.bar.read32(reg::kId) == hw::kAllOnes; }

int xcap_info_get(const rte_dma_dev *dd, rte_dma_info *out, uint32_t info_sz)
{
	const Dev *dev = dev_of(dd->data->dev_private);
	rte_dma_info info = copy_in(out, info_sz);
	/* HW §5.2: exactly what Caps1 says the card implements */
	info.dev_capa = RTE_DMA_CAPA_MEM_TO_MEM | RTE_DMA_CAPA_OPS_COPY |
			RTE_DMA_CAPA_HANDLES_ERRORS;
	if (dev->caps1 & (1u << unsigned(hw::Opcode::CopySg)))
		info.dev_capa |= RTE_DMA_CAPA_OPS_COPY_SG;
	if (dev->caps1 & (1u << unsigned(hw::Opcode::Fill)))
		info.dev_capa |= RTE_DMA_CAPA_OPS_FILL;
	if (dev->n_capture)
		info.dev_capa |= RTE_DMA_CAPA_DEV_TO_MEM;
#if XCAP_DPDK_HAS_DMA_OPS
	/* Op mode is for copy vchans (xcap_ops.cpp), and an rte_dma_op is a
	 * pair of segment lists: without CopySg only one shape of it could be
	 * described to the card. */
	if (dev->n_copy && dev->enq_deq && (info.dev_capa & RTE_DMA_CAPA_OPS_COPY_SG))
		info.dev_capa |= RTE_DMA_CAPA_OPS_ENQ_DEQ;
#endif
	info.max_vchans = uint16_t(dev->n_copy + dev->n_capture);
	info.max_desc = uint16_t(1u << dev->max_ring_log2);
	info.min_desc = 2;
	info.max_sges = (info.dev_capa & RTE_DMA_CAPA_OPS_COPY_SG) ? uint16_t(dev->max_sge) : 0;
#if XCAP_DPDK_HAS_DMA_PRIORITY
	if (dev->nb_priorities > 1) { /* HW §3.6; dmadev wants > 1 with the capa */
		info.dev_capa |= RTE_DMA_CAPA_PRI_POLICY_SP;
		info.nb_priorities = uint16_t(dev->nb_priorities);
	}
#endif
	copy_out(out, info, info_sz);
	return 0;
}

void release_vchan(Vchan &vc)
{
	vc.mz.reset();
	vc.ring = nullptr;
	vc.cpl = nullptr;
	vc.sg = nullptr;
#if XCAP_DPDK_HAS_DMA_OPS
	vc.ops = nullptr;
#endif
	vc.configured = false;
	vc.live = 0;
}

int xcap_configure(rte_dma_dev *dd, const rte_dma_conf *user_conf, uint32_t conf_sz)
{
	Dev *dev = dev_of(dd->data->dev_private);
	const rte_dma_conf conf = copy_in(user_conf, conf_sz);
	if (dev->unquiesced) {
		XCAP_LOG(ERR, "%s: a channel did not quiesce at the last stop (HW §7.3): its "
			 "rings stay allocated; call rte_dma_stop() again (or reset the card) "
			 "before configuring", dd->data->dev_name);
		return -EBUSY;
	}
	/* HW §3.6: the device priority, written to the channels at start */
	if (const int ret = priority_configure(*dev, conf, dd->data->dev_name); ret != 0)
		return ret;
#if XCAP_DPDK_HAS_DMA_OPS
	if (const int ret = ops_configure(*dev, conf); ret != 0) /* RTE_DMA_CFG_FLAG_ENQ_DEQ */
		return ret;
#endif
	for (unsigned v = conf.nb_vchans; v < kMaxChannels; v++)
		release_vchan(dev->vchan[v]);
	dev->nb_vchans = conf.nb_vchans;
	return 0;
}

/* HW §5.5: one side's SG list padded to a power of two bytes, so that at a
 * 4 KiB-aligned base no list crosses a 4 KiB boundary. */
unsigned sg_side_log2(unsigned max_sge)
{
	unsigned l = 0;
	while ((size_t(1) << l) < max_sge * sizeof(hw::Sge))
		l++;
	return l;
}

/* The layout of a vchan's memzone: descriptor ring, completion ring, the op
 * slots of op mode (copy vchans, op_slots()) and the SG lists (copy vchans),
 * each part 4 KiB aligned (HW §5.5: ring and completion ring bases, the SG
 * lists' boundary), in one IOVA-contiguous memzone on the card's node. */
struct VchanLayout {
	size_t ring_sz, cpl_off, sg_off, total;
	VchanLayout(unsigned n, bool capture, unsigned side_log2)
	{
		ring_sz = n * sizeof(hw::Descriptor);
		cpl_off = RTE_ALIGN_CEIL(ring_sz, hw::kCplAlign);
		const size_t cpl_end = cpl_off + n * sizeof(hw::Completion) +
				       (capture ? 0 : n * kOpPtrBytes);
		sg_off = RTE_ALIGN_CEIL(cpl_end, hw::kSgeListBoundary);
		total = capture ? cpl_end : sg_off + (size_t(n) << (side_log2 + 1));
	}
};
static_assert(hw::kRingAlign == RTE_PGSIZE_4K && hw::kCplAlign == RTE_PGSIZE_4K &&
	      hw::kSgeListBoundary == RTE_PGSIZE_4K, "the memzone is 4 KiB aligned");

const rte_memzone *reserve_vchan_memory(const char *name, const char *mzname, size_t len,
					int node, unsigned vchan)
{
	const unsigned flags = RTE_MEMZONE_IOVA_CONTIG | RTE_MEMZONE_2MB | RTE_MEMZONE_SIZE_HINT_ONLY;
	const rte_memzone *mz = rte_memzone_reserve_aligned(mzname, len, node, flags, hw::kRingAlign);
	if (mz == nullptr && node != SOCKET_ID_ANY) {
		mz = rte_memzone_reserve_aligned(mzname, len, SOCKET_ID_ANY, flags, hw::kRingAlign);
		if (mz != nullptr)
			XCAP_LOG(WARNING, "%s: no hugepage memory on the card's node %d; vchan %u "
				 "rings placed on node %d, which costs a socket crossing per "
				 "access. Reserve pages on node %d: echo 512 > /sys/devices/system/"
				 "node/node%d/hugepages/hugepages-2048kB/nr_hugepages",
				 name, node, vchan, mz->socket_id, node, node);
	}
	if (mz == nullptr)
		XCAP_LOG(ERR, "%s: cannot reserve %zu bytes of IOVA-contiguous memory for vchan "
			 "%u: %s. Reserve more hugepages (usertools/xcap-setup)", name, len, vchan,
			 rte_strerror(rte_errno));
	return mz;
}

int xcap_vchan_setup(rte_dma_dev *dd, uint16_t vchan, const rte_dma_vchan_conf *user_conf,
		     uint32_t conf_sz)
{
	Dev *dev = dev_of(dd->data->dev_private);
	const rte_dma_vchan_conf conf = copy_in(user_conf, conf_sz);
	const char *name = dd->data->dev_name;
	Vchan &vc = dev->vchan[vchan];
	const bool capture = vchan >= dev->n_copy;

	if (dev->unquiesced) {
		XCAP_LOG(ERR, "%s: vchan %u: a channel did not quiesce at the last stop (HW "
			 "§7.3); call rte_dma_stop() again first", name, vchan);
		return -EBUSY;
	}
	if (!capture && conf.direction != RTE_DMA_DIR_MEM_TO_MEM) {
		XCAP_LOG(ERR, "%s: vchan %u is a copy channel: use RTE_DMA_DIR_MEM_TO_MEM "
			 "(capture channels are vchans %u..%u)", name, vchan, dev->n_copy,
			 dev->n_copy + dev->n_capture - 1);
		return -EINVAL;
	}
	if (capture && conf.direction != RTE_DMA_DIR_DEV_TO_MEM) {
		XCAP_LOG(ERR, "%s: vchan %u is a capture channel: use RTE_DMA_DIR_DEV_TO_MEM "
			 "with src_port.port_type = RTE_DMA_PORT_PCIE", name, vchan);
		return -EINVAL;
	}
	const unsigned n = conf.nb_desc;
	if (n < 2 || (n & (n - 1)) || n > (1u << dev->max_ring_log2)) {
		XCAP_LOG(ERR, "%s: nb_desc %u: the card needs a power of two in [2, %u]", name, n,
			 1u << dev->max_ring_log2);
		return -EINVAL;
	}
	const unsigned side_log2 = sg_side_log2(dev->max_sge);
	const VchanLayout lay(n, capture, side_log2);
	release_vchan(vc);
	/* "xcap<dev>_vc<vchan>", unless a ring abandoned to a card that would
	 * not quiesce holds that name forever (xcap_close): then a new one. */
	static std::atomic<uint32_t> generation{0};
	char mzname[RTE_MEMZONE_NAMESIZE];
	snprintf(mzname, sizeof(mzname), "xcap%d_vc%u", dd->data->dev_id, vchan);
	if (rte_memzone_lookup(mzname) != nullptr)
		snprintf(mzname, sizeof(mzname), "xcap%d_vc%u_%u", dd->data->dev_id, vchan,
			 generation.fetch_add(1, std::memory_order_relaxed));

	const rte_memzone *mz = reserve_vchan_memory(name, mzname, lay.total,
						     dd->device->numa_node, vchan);
	if (mz == nullptr)
		return -ENOMEM;
	if (mz->iova == RTE_BAD_IOVA ||
	    (dev->addr_width < 64 && ((mz->iova + mz->len - 1) >> dev->addr_width) != 0)) {
		XCAP_LOG(ERR, "%s: vchan %u ring IOVA 0x%" PRIx64 " is outside the card's %u-bit "
			 "DMA range", name, vchan, mz->iova, dev->addr_width);
		rte_memzone_free(mz);
		return -EINVAL;
	}
	vc.mz.reset(mz);
	std::memset(mz->addr, 0, mz->len);
	auto *base = static_cast<uint8_t *>(mz->addr);
	vc.ring = reinterpret_cast<hw::Descriptor *>(base);
	vc.cpl = reinterpret_cast<const volatile uint64_t *>(base + lay.cpl_off);
	vc.sg = capture ? nullptr : reinterpret_cast<hw::Sge *>(base + lay.sg_off);
	vc.ring_iova = Iova{mz->iova};
	vc.cpl_iova = Iova{mz->iova + lay.cpl_off};
	vc.sg_iova = capture ? 0 : mz->iova + lay.sg_off;
	vc.nb_desc = uint16_t(n);
	vc.mask = uint16_t(n - 1);
	vc.log2 = uint8_t(__builtin_ctz(n));
	vc.max_sge = uint16_t(dev->max_sge);
	vc.sg_side_log2 = uint8_t(side_log2);
	vc.hw_chan = vchan;
	vc.dev_id = dd->data->dev_id;
	vc.kind = capture ? hw::ChannelKind::Capture : hw::ChannelKind::Copy;
	vc.capture = capture;
	vc.copy_op = uint8_t(capture ? hw::Opcode::Capture : hw::Opcode::Copy);
	vc.doorbell = dev->bar.doorbell(vchan);
	vc.halt_on_error = dev->halt_on_error;
	vc.live = 0;
#if XCAP_DPDK_HAS_DMA_OPS
	vc.ops = dev->op_mode && !capture ? op_slots(vc) : nullptr;
#endif
	vc.configured = true;
	return 0;
}

/* HW §3.2, §3.5: a reset channel is Disabled with its indexes at 0; the
 * configuration registers are written only then, and Enable last. */
int start_vchan(Dev &dev, Vchan &vc, const char *name)
{
	const unsigned ch = vc.hw_chan;
	/* A fresh pass: ids restart at 0 and the completion ring is zeroed so
	 * that no entry carries the first pass's phase (HW §6). */
	vc.next = vc.submitted = vc.head = 0;
	vc.limit = vc.nb_desc;
	vc.expect = success_word(0, vc.log2);
	vc.failed = 0;
	vc.drainable = 0;
	vc.fail_status = 0;
	vc.fault[0] = '\0';
	vc.last_hw_head = 0;
	vc.last_hw_head_sub = 0;
	vc.stat_submitted = vc.stat_completed = vc.stat_errors = 0;
	std::memset(const_cast<uint64_t *>(vc.cpl), 0, vc.nb_desc * sizeof(hw::Completion));
	const Bar &bar = dev.bar;
	bar.write32(chan_reg(ch, reg::ch::kRingBaseLo), uint32_t(vc.ring_iova.value));
	bar.write32(chan_reg(ch, reg::ch::kRingBaseHi), uint32_t(vc.ring_iova.value >> 32));
	bar.write32(chan_reg(ch, reg::ch::kRingLog2), vc.log2);
	bar.write32(chan_reg(ch, reg::ch::kCplBaseLo), uint32_t(vc.cpl_iova.value));
	bar.write32(chan_reg(ch, reg::ch::kCplBaseHi), uint32_t(vc.cpl_iova.value >> 32));
	bar.write32(chan_reg(ch, reg::ch::kPriority), vchan_priority(dev, ch)); /* HW §3.6 */
	/* rte_write32's barrier (or the port call) also orders the ring zeroing
	 * above before the enable: the card may start writing completions right
	 * after it. Ctrl[31:4] is RsvdP and reads 0 after the reset. */
	bar.write32(chan_reg(ch, reg::ch::kCtrl),
		    hw::chctrl::kEnable | (vc.halt_on_error ? hw::chctrl::kHaltOnError : 0));
	/* HW §3.5: enabling validates the configuration; Running or Failed */
	uint32_t st = bar.read32(chan_reg(ch, reg::ch::kStatus));
	for (unsigned tries = 0; hw::ChannelState(st & hw::chstatus::kStateMask) ==
	     hw::ChannelState::Disabled && st != hw::kAllOnes && tries < hw::kQuiesceTimeoutMs * 100;
	     tries++) {
		rte_delay_us_sleep(10);
		st = bar.read32(chan_reg(ch, reg::ch::kStatus));
	}
	if (st == hw::kAllOnes || hw::ChannelState(st & hw::chstatus::kStateMask) !=
	    hw::ChannelState::Running) {
		const uint32_t code = bar.read32(chan_reg(ch, reg::ch::kErrCode));
		XCAP_LOG(ERR, "%s: channel %u did not start: state %s, error %u (%s), address "
			 "0x%" PRIx64, name, ch, state_name(st), code, status_name(code),
			 bar.read_lo_hi(chan_reg(ch, reg::ch::kErrAddrLo)));
		return st == hw::kAllOnes ? -ENODEV : -EIO;
	}
	vc.live = 1;
	return 0;
}

/* HW §7.3: bring a Fatal card back (rte_dma_stop, rte_dma_start): a whole
 * reset and the bring-up again; the card must still be the same card. */
int recover_card(Dev &dev, const char *name, const char *why)
{
	XCAP_LOG(WARNING, "%s: %s; resetting the card (HW §7.3)", name, why);
	CardCaps caps;
	if (const int ret = card_bring_up(dev.bar, name, caps); ret != 0)
		return ret;
	if (caps.n_copy != dev.n_copy || caps.n_capture != dev.n_capture ||
	    caps.caps1 != dev.caps1 || caps.max_ring_log2 != dev.max_ring_log2) {
		XCAP_LOG(ERR, "%s: after its reset the card reports other capabilities (%u copy + "
			 "%u capture channels, Caps1 0x%x): detach and probe it again", name,
			 caps.n_copy, caps.n_capture, caps.caps1);
		return -EIO;
	}
	return 0;
}

int xcap_stop(rte_dma_dev *dd);

int xcap_start(rte_dma_dev *dd)
{
	Dev *dev = dev_of(dd->data->dev_private);
	const char *name = dd->data->dev_name;
	char why[512];
	if (const char *err = check_identity(dev->bar, why, sizeof(why))) {
		XCAP_LOG(ERR, "%s: cannot start: %s", name, err);
		return -ENODEV;
	}
	if (dev->unquiesced) {
		XCAP_LOG(ERR, "%s: cannot start: a channel did not quiesce at the last stop (HW "
			 "§7.3); call rte_dma_stop() again", name);
		return -EBUSY;
	}
	/* The card drives addr_width address bits: all of DPDK's memory must
	 * be reachable with them (HW §9). */
	if (rte_mem_check_dma_mask(uint8_t(dev->addr_width)) != 0) {
		XCAP_LOG(ERR, "%s: DPDK memory has IOVAs above the card's %u-bit DMA range; "
			 "%s", name, dev->addr_width,
			 rte_eal_iova_mode() == RTE_IOVA_VA ?
			 "the card cannot reach this process's virtual addresses; use a card "
			 "(or emulated addr_width=) with more address bits" :
			 "use --iova-mode=va with an IOMMU, or fewer/lower hugepages");
		return -EINVAL;
	}
	for (unsigned v = 0; v < dev->nb_vchans; v++)
		if (!dev->vchan[v].configured) {
			XCAP_LOG(ERR, "%s: vchan %u is configured but was never set up "
				 "(rte_dma_vchan_setup)", name, v);
			return -EINVAL;
		}
	if (const char *err = check_fatal(dev->bar, why, sizeof(why)))
		if (const int ret = recover_card(*dev, name, err); ret != 0)
			return ret;
	/* Every channel of the card, also those beyond nb_vchans, from reset:
	 * nothing a previous user left running survives a start (HW §3.5). */
	for (unsigned ch = 0; ch < dev->n_copy + dev->n_capture; ch++)
		if (const int ret = channel_reset(dev->bar, name, ch); ret != 0)
			return ret;
	/* GlobalCtrl[31:2] is RsvdP (HW §2.4): keep it */
	const uint32_t gctrl = dev->bar.read32(reg::kGlobalCtrl);
	if (!(gctrl & hw::gctrl::kEnable))
		dev->bar.write32(reg::kGlobalCtrl, (gctrl & ~hw::gctrl::kReset) | hw::gctrl::kEnable);
	for (unsigned v = 0; v < dev->nb_vchans; v++) {
		int ret = start_vchan(*dev, dev->vchan[v], name);
		if (ret) {
			xcap_stop(dd);
			return ret;
		}
	}
	return 0;
}

/* HW §7.3, §7.4: a vchan whose card is Fatal or gone, or whose channel
 * Failed, will not complete its ops: fail it, and let its ops drain when
 * nothing can write their buffers any more (the card gone, the channel
 * idle). Slow path: vchan_status and stop. */
void check_vchan(Dev &dev, Vchan &vc, uint32_t gstatus, uint32_t ch_status)
{
	const bool idle = !(ch_status & hw::chstatus::kBusy);
	if (gstatus == hw::kAllOnes || ch_status == hw::kAllOnes) {
		if (!vc.failed)
			fail_vchan(vc, RTE_DMA_STATUS_DEV_LINK_ERROR, "the card reads all-ones: it "
				   "is gone (surprise removal, link down)");
		vc.drainable = 1; /* a card that is gone does no DMA */
	} else if (gstatus & hw::gstatus::kFatal) {
		if (!vc.failed) {
			char why[256];
			fail_vchan(vc, RTE_DMA_STATUS_ERROR_UNKNOWN, "%s",
				   check_fatal(dev.bar, why, sizeof(why)) ?: "card Fatal");
		}
		vc.drainable = idle;
	} else if (hw::ChannelState(ch_status & hw::chstatus::kStateMask) ==
		   hw::ChannelState::Failed) {
		if (!vc.failed) {
			const uint32_t code = dev.bar.read32(chan_reg(vc.hw_chan, reg::ch::kErrCode));
			fail_vchan(vc, code <= hw::kStatusMaxDefined ? rte_dma_status_code(code) :
				   RTE_DMA_STATUS_ERROR_UNKNOWN, "channel Failed: %s (HW §3.5)",
				   status_name(code));
		}
		vc.drainable = idle;
	}
}

int xcap_stop(rte_dma_dev *dd)
{
	Dev *dev = dev_of(dd->data->dev_private);
	const char *name = dd->data->dev_name;
	for (unsigned v = 0; v < dev->nb_vchans; v++)
		dev->vchan[v].live = 0; /* no doorbell from here on (HW §3.4) */
	if (card_gone(*dev)) {
		XCAP_LOG(WARNING, "%s: card reads all-ones; stopping without it", name);
		for (unsigned v = 0; v < dev->nb_vchans; v++)
			check_vchan(*dev, dev->vchan[v], hw::kAllOnes, hw::kAllOnes);
		dev->unquiesced = false;
		return 0;
	}
	/* HW §3.5: disabling makes the card finish the op in progress and
	 * complete the rest with UserAbort; those stay readable until start. */
	for (unsigned v = 0; v < dev->nb_vchans; v++)
		if (dev->vchan[v].configured)
			dev->bar.write32(chan_reg(v, reg::ch::kCtrl), 0);
	/* HW §7.3: the rings and buffers are the card's until each channel
	 * reports Disabled with Busy clear. */
	int ret = 0;
	for (unsigned v = 0; v < dev->nb_vchans; v++) {
		Vchan &vc = dev->vchan[v];
		if (!vc.configured)
			continue;
		const int r = channel_quiesce(dev->bar, name, v);
		if (r == 0 || r == -ENODEV)
			vc.drainable = 1;
		if (r == -ETIMEDOUT && ret == 0)
			ret = r;
	}
	dev->unquiesced = ret != 0;
	if (ret != 0)
		XCAP_LOG(ERR, "%s: not stopped: a channel is still busy after %u ms (HW §7.3); "
			 "the device stays started and its memory allocated: call rte_dma_stop() "
			 "again", name, hw::kQuiesceTimeoutMs);
	return ret;
}

int xcap_close(rte_dma_dev *dd)
{
	Dev *dev = dev_of(dd->data->dev_private);
	const char *name = dd->data->dev_name;
	/* Every channel of the card to reset: a reset channel does no DMA
	 * (HW §3.5); only then are its rings freed. */
	int ret = 0;
	if (!card_gone(*dev))
		for (unsigned ch = 0; ch < dev->n_copy + dev->n_capture; ch++)
			if (const int r = channel_reset(dev->bar, name, ch); r == -ETIMEDOUT)
				ret = r;
	if (card_gone(*dev) ? dev->unquiesced : ret != 0) {
		/* Keep every ring: the card may still write them. (Channels that
		 * did not quiesce at stop but took the reset are idle now.) */
		for (Vchan &vc : dev->vchan)
			vc.mz.abandon();
		XCAP_LOG(ERR, "%s: closed with a channel that did not reset (HW §7.3): its "
			 "memory is left allocated, never reused, so the card cannot corrupt "
			 "anything; reset or power-cycle the card", name);
	}
	registry_remove(dev);
	/* Destroys the rings and the backend (the emulated card, if any); the
	 * dmadev library frees the memory itself. */
	dev->~Dev();
	return 0;
}

void add_stats(const Vchan &vc, rte_dma_stats *s)
{
	s->submitted += vc.stat_submitted;
	s->completed += vc.stat_completed;
	s->errors += vc.stat_errors;
}

int xcap_stats_get(const rte_dma_dev *dd, uint16_t vchan, rte_dma_stats *out, uint32_t stats_sz)
{
	const Dev *dev = dev_of(dd->data->dev_private);
	rte_dma_stats stats{};
	if (vchan == RTE_DMA_ALL_VCHAN) {
		for (unsigned v = 0; v < dev->nb_vchans; v++)
			add_stats(dev->vchan[v], &stats);
	} else {
		add_stats(dev->vchan[vchan], &stats);
	}
	copy_out(out, stats, stats_sz);
	return 0;
}

int xcap_stats_reset(rte_dma_dev *dd, uint16_t vchan)
{
	Dev *dev = dev_of(dd->data->dev_private);
	for (unsigned v = 0; v < dev->nb_vchans; v++)
		if (vchan == RTE_DMA_ALL_VCHAN || v == vchan) {
			Vchan &vc = dev->vchan[v];
			vc.stat_submitted = vc.stat_completed = vc.stat_errors = 0;
		}
	return 0;
}

/* HW §3.4, §7.4: HwHead counts descriptors consumed: it never goes
 * backwards and never passes the doorbell. It may lag the completions
 * already written (the card publishes it after them) by any amount, so the
 * only sound check is that it lies in [value read last time, doorbell].
 * Slow path (vchan_status). Skipped when more than half the 16-bit index
 * space was submitted since the last read (the window would be ambiguous)
 * or the stats were reset. */
void check_hw_head(Vchan &vc, uint16_t hw_head)
{
	const bool comparable = vc.stat_submitted >= vc.last_hw_head_sub &&
		vc.stat_submitted - vc.last_hw_head_sub <= 32768;
	const uint16_t moved = uint16_t(hw_head - vc.last_hw_head);
	const uint16_t room = uint16_t(vc.submitted - vc.last_hw_head);
	if (!comparable || moved <= room) {
		vc.last_hw_head = hw_head;
		vc.last_hw_head_sub = vc.stat_submitted;
		return;
	}
	fail_vchan(vc, RTE_DMA_STATUS_ERROR_UNKNOWN, "HwHead %u not in [%u (last read), %u "
		   "(doorbell)]: went backwards or passed the doorbell", hw_head,
		   unsigned(vc.last_hw_head), unsigned(vc.submitted));
}

int xcap_vchan_status(const rte_dma_dev *dd, uint16_t vchan, enum rte_dma_vchan_status *status)
{
	Dev *dev = const_cast<Dev *>(dev_of(dd->data->dev_private));
	Vchan &vc = dev->vchan[vchan];
	/* Ctrl before Status: the card publishes Running before it clears
	 * Resume (HW §3.3), so a Ctrl read without Resume followed by a Status
	 * read of Halted means halted. Read the other way round, a Resume acted
	 * on between the two reads would look like a halt. */
	const uint32_t gst = dev->bar.read32(reg::kGlobalStatus);
	const uint32_t ctrl = dev->bar.read32(chan_reg(vchan, reg::ch::kCtrl));
	const uint32_t st = dev->bar.read32(chan_reg(vchan, reg::ch::kStatus));
	if (vc.configured)
		check_vchan(*dev, vc, gst == hw::kAllOnes || ctrl == hw::kAllOnes ? hw::kAllOnes : gst,
			    st);
	if (st == hw::kAllOnes || ctrl == hw::kAllOnes || gst == hw::kAllOnes) {
		XCAP_LOG(ERR, "%s: vchan %u status reads all-ones: the card is gone",
			 dd->data->dev_name, vchan);
		return -ENODEV;
	}
	switch (hw::ChannelState(st & hw::chstatus::kStateMask)) {
	case hw::ChannelState::Running: {
		const uint16_t hw_head = uint16_t(dev->bar.read32(chan_reg(vchan, reg::ch::kHwHead)));
		if (!vc.failed)
			check_hw_head(vc, hw_head);
		*status = hw_head == vc.submitted ? RTE_DMA_VCHAN_IDLE : RTE_DMA_VCHAN_ACTIVE;
		break;
	}
	case hw::ChannelState::Halted:
		/* A Resume the card has not acted on yet (the bit self-clears when
		 * it does, HW §3.3) means work is about to continue. */
		*status = (ctrl & hw::chctrl::kResume) ? RTE_DMA_VCHAN_ACTIVE : RTE_DMA_VCHAN_HALTED_ERROR;
		break;
	case hw::ChannelState::Failed:
		*status = RTE_DMA_VCHAN_HALTED_ERROR;
		break;
	default:
		*status = RTE_DMA_VCHAN_IDLE;
	}
	if (vc.failed)
		*status = RTE_DMA_VCHAN_HALTED_ERROR;
	return 0;
}

} // namespace

namespace {

const rte_dma_dev_ops xcap_ops = {
	.dev_info_get = xcap_info_get,
	.dev_configure = xcap_configure,
	.dev_start = xcap_start,
	.dev_stop = xcap_stop,
	.dev_close = xcap_close,
	.vchan_setup = xcap_vchan_setup,
	.stats_get = xcap_stats_get,
	.stats_reset = xcap_stats_reset,
	.vchan_status = xcap_vchan_status,
	.dev_dump = xcap_dump,
};

} // namespace

/* For the secondary process's ops (xcap_secondary.cpp): what only reads the
 * shared state. */
int info_get(const rte_dma_dev *dd, rte_dma_info *info, uint32_t info_sz)
{
	return xcap_info_get(dd, info, info_sz);
}
int stats_get(const rte_dma_dev *dd, uint16_t vchan, rte_dma_stats *stats, uint32_t stats_sz)
{
	return xcap_stats_get(dd, vchan, stats, stats_sz);
}

int dmadev_create(CreateParams &&p)
{
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return dmadev_attach_secondary(p.name, p.device);
	const Bar bar(p.bar0, p.port);
	CardCaps caps;
	if (const int ret = card_bring_up(bar, p.name, caps); ret != 0) {
		XCAP_LOG(ERR, "%s: probe failed (%s): the device is not attached", p.name,
			 rte_strerror(-ret));
		return ret;
	}
	rte_dma_dev *dd = rte_dma_pmd_allocate(p.name, p.numa_node, sizeof(Dev));
	if (dd == nullptr && p.numa_node != SOCKET_ID_ANY) /* no hugepages on the card's node */
		dd = rte_dma_pmd_allocate(p.name, SOCKET_ID_ANY, sizeof(Dev));
	if (dd == nullptr) {
		XCAP_LOG(ERR, "%s: cannot allocate a dmadev (name taken, or out of memory)", p.name);
		return -ENOMEM;
	}
	Dev *dev = new (dd->data->dev_private) Dev();
	dev->bar = bar;
	dev->dmadev = dd;
	dev->backend = std::move(p.backend);
	dev->n_copy = caps.n_copy;
	dev->n_capture = caps.n_capture;
	dev->addr_width = caps.addr_width;
	dev->max_ring_log2 = caps.max_ring_log2;
	dev->max_sge = caps.max_sge;
	dev->max_xfer = caps.max_xfer;
	dev->version = caps.version;
	dev->caps1 = caps.caps1;
	dev->null_engine = caps.null_engine;
	dev->nb_priorities = caps.nb_priorities; /* HW §3.6 */
	dev->halt_on_error = p.halt_on_error;
#if XCAP_DPDK_HAS_DMA_OPS
	dev->enq_deq = p.enq_deq;
#endif

	dd->device = p.device;
	dd->dev_ops = &xcap_ops;
	dd->fp_obj->dev_private = dev;
	set_fast_path(dd->fp_obj, *dev);
#if XCAP_DPDK_HAS_DMA_OPS
	dd->fp_obj->enqueue = ops_enqueue;
	dd->fp_obj->dequeue = ops_dequeue;
#endif
	dd->state = RTE_DMA_DEV_READY;
	registry_add(dev, dd);
	XCAP_LOG(INFO, "%s: xcap card v%u.%u, %u copy + %u capture channels, ops 0x%02x, %u-bit "
		 "DMA, NUMA node %d", p.name, dev->version >> 16, dev->version & 0xffff,
		 caps.n_copy, caps.n_capture, caps.caps1, caps.addr_width, p.numa_node);
	return dd->data->dev_id;
}

int dmadev_destroy(const char *name)
{
	const int id = rte_dma_get_dev_id_by_name(name);
	if (id < 0)
		return -ENODEV;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		/* Detach: forget this process's handle, leave the device (the
		 * primary's) as it is; no close, which would tear it down. */
		if (rte_dma_dev *dd = registry_dmadev(id)) {
			registry_remove(static_cast<Dev *>(dd->data->dev_private));
			dd->state = RTE_DMA_DEV_REGISTERED;
		}
		return rte_dma_pmd_release(name);
	}
	auto *dev = static_cast<Dev *>(rte_dma_fp_objs[id].dev_private);
	if (dev != nullptr && dev->dmadev->data->dev_started &&
	    rte_dma_stop(int16_t(id)) != 0) {
		/* The device goes (hot unplug, EAL cleanup) although a channel did
		 * not quiesce: close then leaves its memory allocated, never reused
		 * (xcap_close), which is all that can be done for the card. */
		XCAP_LOG(ERR, "%s: removed while a channel is still busy (HW §7.3)", name);
		dev->dmadev->data->dev_started = 0;
		dev->unquiesced = true;
	}
	return rte_dma_pmd_release(name);
}

} // namespace xcap
