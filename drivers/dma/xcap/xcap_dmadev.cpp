/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The one core of the xcap PMD: dmadev ops and the fast path. It talks to a
 * card through BAR0 and host memory only, and does not know whether that card
 * is on the PCI bus or emulated. "HW §n" cites docs/hardware.md.
 */
#include <cerrno>
#include <cstdarg>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <rte_cycles.h>
#include <rte_dmadev_pmd.h>
#include <rte_eal.h>
#include <rte_memory.h>

#include "xcap_fastpath.h"
#include "xcap_internal.h"

RTE_LOG_REGISTER(xcap_logtype, pmd.dma.xcap, INFO);

namespace xcap {
namespace {

using hw::chan_reg;
namespace reg = hw::reg;

static_assert(sizeof(hw::Completion) == sizeof(uint64_t));

/* A card must answer a control write (reset, enable, disable) within this.
 * Silicon takes microseconds; an emulated card on a loaded host may be
 * descheduled for tens of milliseconds. */
constexpr uint64_t kRegTimeoutUs = 1000 * 1000;

Dev *dev_of(void *priv) { return static_cast<Dev *>(priv); }
const Dev *dev_of(const void *priv) { return static_cast<const Dev *>(priv); }

/* ------------------------------------------------------------------------
 * Fast path. No MMIO reads, no allocation, no locks, no exceptions.
 * ---------------------------------------------------------------------- */

/* Descriptor and SG writes, the doorbell (HW §7.1), completion reads:
 * xcap_fastpath.h, shared with the op-based path (xcap_ops.cpp). */

/* rte_dma_copy(..., RTE_DMA_OP_FLAG_SUBMIT): out of line, so that the
 * enqueue functions need no registers beyond the argument ones. */
__rte_noinline int submit_with(Vchan &vc, uint16_t id)
{
	ring_doorbell(vc);
	return id;
}

inline int enqueue(Vchan &vc, uint32_t opcode, uint64_t flags, uint32_t length, uint64_t src,
		   uint64_t dst, uint32_t word3 = 0)
{
	const uint16_t id = vc.next;
	/* A slot is free once its previous completion has been read (HW §6). */
	if (unlikely(id == vc.limit))
		return -ENOSPC;
	put_desc(vc, id, opcode, flags, length, src, dst, word3);
	vc.next = uint16_t(id + 1);
	if (flags & RTE_DMA_OP_FLAG_SUBMIT)
		return submit_with(vc, id);
	return id;
}

int xcap_copy(void *priv, uint16_t vchan, rte_iova_t src, rte_iova_t dst, uint32_t length,
	      uint64_t flags)
{
	/* On a capture vchan the same call posts an empty buffer (HW §8). */
	Vchan &vc = dev_of(priv)->vchan[vchan];
	return enqueue(vc, vc.copy_op, flags, length, src, dst);
}

int xcap_fill(void *priv, uint16_t vchan, uint64_t pattern, rte_iova_t dst, uint32_t length,
	      uint64_t flags)
{
	return enqueue(dev_of(priv)->vchan[vchan], uint32_t(hw::Opcode::Fill), flags, length,
		       pattern, dst);
}

int xcap_copy_sg(void *priv, uint16_t vchan, const rte_dma_sge *src, const rte_dma_sge *dst,
		 uint16_t nb_src, uint16_t nb_dst, uint64_t flags)
{
	Vchan &vc = dev_of(priv)->vchan[vchan];
	/* The SG slot holds max_sge entries per side: never write past it. */
	if (unlikely(nb_src == 0 || nb_dst == 0 || nb_src > vc.max_sge || nb_dst > vc.max_sge ||
		     vc.sg == nullptr /* capture vchan */))
		return -EINVAL;
	/* Full ring: the slot's SG lists still belong to an op in flight. */
	if (unlikely(vc.next == vc.limit))
		return -ENOSPC;
	const uint16_t slot = vc.next & vc.mask;
	const uint32_t length = put_sg_lists(vc, slot, src, nb_src, dst, nb_dst);
	const uint64_t sg_iova = sg_slot_iova(vc, slot);
	return enqueue(vc, uint32_t(hw::Opcode::CopySg), flags, length, sg_iova,
		       sg_iova + vc.max_sge * sizeof(hw::Sge), uint32_t(nb_src) | uint32_t(nb_dst) << 16);
}

int xcap_submit(void *priv, uint16_t vchan)
{
	ring_doorbell(dev_of(priv)->vchan[vchan]);
	return 0;
}

#ifdef __SSE2__
/* The low 32 bits of the four entries at q, as one vector. */
inline __m128i low_words(const uint64_t *q)
{
	const __m128 a = _mm_loadu_ps(reinterpret_cast<const float *>(q));
	const __m128 b = _mm_loadu_ps(reinterpret_cast<const float *>(q + 2));
	return _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
}
#endif

/* How many of the run entries at p are plain successes, in a row: entry k
 * must read expect + (k << 16) in its low 32 bits. Advances expect past
 * them. Where SSE2 is there (every x86-64) eight entries per compare: the
 * low halves of four 16-byte loads. Each entry is an aligned 8-byte word
 * the card writes at once (HW §6), so a 16-byte load sees each of its two
 * entries either old or new, never torn. */
inline uint16_t success_run(const volatile uint64_t *p, unsigned run, uint32_t &expect)
{
	unsigned k = 0;
#ifdef __SSE2__
	if (run >= 8) {
		const auto *q = const_cast<const uint64_t *>(p);
		const __m128i step = _mm_set1_epi32(8 << 16);
		__m128i want0 = _mm_add_epi32(_mm_set1_epi32(int(expect)),
					      _mm_setr_epi32(0, 1 << 16, 2 << 16, 3 << 16));
		__m128i want1 = _mm_add_epi32(want0, _mm_set1_epi32(4 << 16));
		for (; k + 8 <= run; k += 8) {
			const __m128i eq = _mm_and_si128(_mm_cmpeq_epi32(low_words(q + k), want0),
							 _mm_cmpeq_epi32(low_words(q + k + 4), want1));
			if (_mm_movemask_ps(_mm_castsi128_ps(eq)) != 0xf)
				break;
			want0 = _mm_add_epi32(want0, step);
			want1 = _mm_add_epi32(want1, step);
		}
		expect += k << 16;
		/* the loads above are not volatile: nothing is cached past here */
		rte_compiler_barrier();
	}
#endif
	for (; k < run; k++, expect += 1u << 16)
		if (uint32_t(p[k]) != expect)
			break;
	return uint16_t(k);
}

/* HW §7.4: the card broke the contract. Record what it did (dev_dump,
 * telemetry), stop trusting this channel; everything else keeps running. */
__rte_format_printf(2, 3) __rte_noinline __rte_cold
void fail_vchan(Vchan &vc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vc.fault, sizeof(vc.fault), fmt, ap);
	va_end(ap);
	vc.failed = 1;
	vc.card_faults++;
	XCAP_LOG(ERR, "channel %u: %s: card fault; channel stopped, rte_dma_stop/start to recover",
		 vc.hw_chan, vc.fault);
}

} // namespace

/* Declared in xcap_fastpath.h: the op-based path (xcap_ops.cpp) uses them too. */

/* HW §7.4: the card wrote a completion that breaks the contract. Stop
 * trusting this channel; everything else keeps running. */
void card_fault(Vchan &vc, uint16_t idx, uint64_t entry)
{
	fail_vchan(vc, "completion at index %u carries id %u (entry 0x%016" PRIx64 ")", idx,
		   unsigned(uint16_t(entry >> 16)), entry);
}

/* HW §6, §7.4: the card writes completions only below the doorbell, so the
 * entry at the doorbell's slot is always from the previous pass (or zeroed).
 * One load, only when a call has consumed everything submitted, never per
 * op: a current-phase entry there is a completion for a descriptor never
 * submitted (a phase bit written early, a phantom completion). Returns true
 * if it marked the channel failed. */
bool completion_beyond_doorbell(Vchan &vc)
{
	const uint16_t idx = vc.submitted;
	const uint64_t e = vc.cpl[idx & vc.mask];
	/* vc.expect is the success word of idx (head == submitted here) */
	if (likely(((uint32_t(e) ^ vc.expect) & (uint32_t(hw::cflag::kPhase) << 8)) != 0))
		return false;
	fail_vchan(vc, "completion at index %u beyond the doorbell (%u submitted, entry 0x%016"
		   PRIx64 ")", idx, unsigned(vc.submitted), e);
	return true;
}

namespace {

/* xcap_completed() has read i complete entries from head; expect is the
 * success word of the next one. */
inline uint16_t completed_finish(Vchan &vc, uint16_t head, unsigned i, uint32_t expect,
				 uint16_t *last_idx, bool *has_error)
{
	/* HW §7.2: the card made its data visible before the completions we just
	 * read; order those reads before the caller's reads of that data (a
	 * compiler barrier on x86, dmb oshld on Arm). */
	rte_io_rmb();
	vc.head = uint16_t(head + i);
	vc.limit = uint16_t(vc.head + vc.nb_desc);
	vc.expect = expect;
	vc.stat_completed += i;
	*last_idx = uint16_t(vc.head - 1);
	if (vc.head == vc.submitted && !vc.failed && unlikely(completion_beyond_doorbell(vc)))
		*has_error = true;
	return uint16_t(i);
}

/* The rest of xcap_completed() when the first run of plain successes did
 * not cover all n entries: a failed channel, a run that reached the end of
 * the ring (the caller flipped expect's phase bit: the next pass has the
 * other phase, HW §6), or an entry that is not a plain success. Out of line
 * so that the common case stays a short leaf function. */
__rte_noinline
uint16_t completed_rest(Vchan &vc, uint16_t head, unsigned i, unsigned n, uint32_t expect,
			uint16_t *last_idx, bool *has_error)
{
	if (vc.failed) { /* it reports nothing more until restarted */
		*has_error = true;
		i = n = 0;
	}
	if (i < n && i == unsigned(vc.nb_desc - (head & vc.mask)))
		i += success_run(vc.cpl, n - i, expect);
	for (; i < n; i++) {
		const uint16_t idx = uint16_t(head + i);
		const uint64_t e = vc.cpl[idx & vc.mask];
		const Entry k = classify(uint32_t(e), idx, vc.log2);
		if (likely(k == Entry::Success))
			continue;
		if (k == Entry::Failed)
			*has_error = true; /* stays unread until completed_status() */
		else if (k == Entry::Fault) {
			card_fault(vc, idx, e);
			*has_error = true;
		}
		break;
	}
	return completed_finish(vc, head, i, success_word(uint16_t(head + i), vc.log2), last_idx,
				has_error);
}

uint16_t xcap_completed(void *priv, uint16_t vchan, const uint16_t nb_cpls, uint16_t *last_idx,
			bool *has_error)
{
	Vchan &vc = dev_of(priv)->vchan[vchan];
	const uint16_t head = vc.head;
	unsigned n = uint16_t(vc.submitted - head);
	if (n > nb_cpls)
		n = nb_cpls;
	/* Plain successes first, one compare each, up to the end of the ring:
	 * the expected word's id advances by one per entry (HW §6). */
	const unsigned room = vc.nb_desc - (head & vc.mask);
	uint32_t expect = vc.expect;
	const unsigned i = success_run(vc.cpl + (head & vc.mask), RTE_MIN(n, room), expect);
	if (unlikely(i == room)) /* the next pass over the ring has the other phase */
		expect ^= uint32_t(hw::cflag::kPhase) << 8;
	if (unlikely(i < n || vc.failed))
		return completed_rest(vc, head, i, n, expect, last_idx, has_error);
	return completed_finish(vc, head, i, expect, last_idx, has_error);
}

uint16_t xcap_completed_status(void *priv, uint16_t vchan, const uint16_t nb_cpls,
			       uint16_t *last_idx, rte_dma_status_code *status)
{
	Dev *dev = dev_of(priv);
	Vchan &vc = dev->vchan[vchan];
	const uint16_t head = vc.head;
	uint16_t n = uint16_t(vc.submitted - head);
	if (n > nb_cpls)
		n = nb_cpls;
	if (unlikely(vc.failed))
		n = 0;
	uint16_t i = 0, errors = 0;
	for (; i < n; i++) {
		const uint16_t idx = uint16_t(head + i);
		const uint64_t e = vc.cpl[idx & vc.mask];
		const Entry k = classify(uint32_t(e), idx, vc.log2);
		if (likely(k == Entry::Success)) {
			status[i] = RTE_DMA_STATUS_SUCCESSFUL;
			continue;
		}
		if (k == Entry::NotYet)
			break;
		if (k == Entry::Fault) {
			card_fault(vc, idx, e);
			break;
		}
		status[i] = to_rte_status(uint8_t(e), vc, idx);
		errors++;
	}
	consume_statuses(*dev, vc, i, errors); /* HW §7.2 read barrier, halt-on-error resume */
	*last_idx = uint16_t(vc.head - 1);
	return i;
}

uint16_t xcap_burst_capacity(const void *priv, uint16_t vchan)
{
	const Vchan &vc = dev_of(priv)->vchan[vchan];
	return uint16_t(vc.nb_desc - uint16_t(vc.next - vc.head));
}

/* ------------------------------------------------------------------------
 * Slow path.
 * ---------------------------------------------------------------------- */

bool card_gone(const Dev &dev) { return dev.bar.read32(reg::kId) == hw::kAllOnes; }

/* Poll until pred(register value) holds; false on timeout or all-ones. */
template <typename Pred>
bool wait_reg(const Dev &dev, uint32_t off, Pred pred, uint32_t *last = nullptr)
{
	const uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() * kRegTimeoutUs / 1000000;
	uint32_t v;
	for (;;) {
		v = dev.bar.read32(off);
		if (last)
			*last = v;
		if (v == hw::kAllOnes)
			return false;
		if (pred(v))
			return true;
		if (rte_get_timer_cycles() > deadline)
			return false;
		rte_delay_us_sleep(5);
	}
}

int xcap_info_get(const rte_dma_dev *dd, rte_dma_info *info, uint32_t)
{
	const Dev *dev = dev_of(dd->data->dev_private);
	info->dev_capa = RTE_DMA_CAPA_MEM_TO_MEM | RTE_DMA_CAPA_OPS_COPY | RTE_DMA_CAPA_OPS_COPY_SG |
			 RTE_DMA_CAPA_OPS_FILL | RTE_DMA_CAPA_HANDLES_ERRORS;
	if (dev->n_capture)
		info->dev_capa |= RTE_DMA_CAPA_DEV_TO_MEM;
#if XCAP_DPDK_HAS_DMA_OPS
	if (dev->n_copy && dev->enq_deq) /* op mode is for copy vchans (xcap_ops.cpp) */
		info->dev_capa |= RTE_DMA_CAPA_OPS_ENQ_DEQ;
#endif
	info->max_vchans = uint16_t(dev->n_copy + dev->n_capture);
	info->max_desc = uint16_t(1u << dev->max_ring_log2);
	info->min_desc = 2;
	info->max_sges = uint16_t(dev->max_sge);
#if XCAP_DPDK_HAS_DMA_PRIORITY
	if (dev->nb_priorities > 1) { /* HW §3.6; dmadev wants > 1 with the capa */
		info->dev_capa |= RTE_DMA_CAPA_PRI_POLICY_SP;
		info->nb_priorities = uint16_t(dev->nb_priorities);
	}
#endif
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
}

int xcap_configure(rte_dma_dev *dd, const rte_dma_conf *conf, uint32_t)
{
	Dev *dev = dev_of(dd->data->dev_private);
	/* HW §3.6: the device priority, written to the channels at start */
	if (const int ret = priority_configure(*dev, *conf, dd->data->dev_name); ret != 0)
		return ret;
#if XCAP_DPDK_HAS_DMA_OPS
	if (const int ret = ops_configure(*dev, *conf); ret != 0) /* RTE_DMA_CFG_FLAG_ENQ_DEQ */
		return ret;
#endif
	for (unsigned v = conf->nb_vchans; v < kMaxChannels; v++)
		release_vchan(dev->vchan[v]);
	dev->nb_vchans = conf->nb_vchans;
	return 0;
}

int xcap_vchan_setup(rte_dma_dev *dd, uint16_t vchan, const rte_dma_vchan_conf *conf, uint32_t)
{
	Dev *dev = dev_of(dd->data->dev_private);
	const char *name = dd->data->dev_name;
	Vchan &vc = dev->vchan[vchan];
	const bool capture = vchan >= dev->n_copy;

	if (!capture && conf->direction != RTE_DMA_DIR_MEM_TO_MEM) {
		XCAP_LOG(ERR, "%s: vchan %u is a copy channel: use RTE_DMA_DIR_MEM_TO_MEM "
			 "(capture channels are vchans %u..%u)", name, vchan, dev->n_copy,
			 dev->n_copy + dev->n_capture - 1);
		return -EINVAL;
	}
	if (capture && conf->direction != RTE_DMA_DIR_DEV_TO_MEM) {
		XCAP_LOG(ERR, "%s: vchan %u is a capture channel: use RTE_DMA_DIR_DEV_TO_MEM "
			 "with src_port.port_type = RTE_DMA_PORT_PCIE", name, vchan);
		return -EINVAL;
	}
	const unsigned n = conf->nb_desc;
	if (n < 2 || (n & (n - 1)) || n > (1u << dev->max_ring_log2)) {
		XCAP_LOG(ERR, "%s: nb_desc %u: the card needs a power of two in [2, %u]", name, n,
			 1u << dev->max_ring_log2);
		return -EINVAL;
	}

	/* Descriptor ring, completion ring and (copy channels) the op slots of
	 * op mode (op_slots()) and one SG slot per ring entry, in one
	 * IOVA-contiguous memzone on the card's node. */
	const size_t ring_sz = n * sizeof(hw::Descriptor);
	const size_t cpl_sz = n * sizeof(hw::Completion);
	const size_t ops_sz = capture ? 0 : n * kOpPtrBytes;
	const size_t sg_off = RTE_ALIGN_CEIL(ring_sz + cpl_sz + ops_sz, RTE_CACHE_LINE_SIZE);
	const size_t sg_sz = capture ? 0 : size_t(n) * 2 * dev->max_sge * sizeof(hw::Sge);
	char mzname[RTE_MEMZONE_NAMESIZE];
	snprintf(mzname, sizeof(mzname), "xcap%d_vc%u", dd->data->dev_id, vchan);

	release_vchan(vc);
	const int node = dd->device->numa_node;
	const unsigned flags = RTE_MEMZONE_IOVA_CONTIG | RTE_MEMZONE_2MB | RTE_MEMZONE_SIZE_HINT_ONLY;
	const rte_memzone *mz = rte_memzone_reserve_aligned(mzname, sg_off + sg_sz, node, flags,
							    RTE_PGSIZE_4K);
	if (mz == nullptr && node != SOCKET_ID_ANY) {
		mz = rte_memzone_reserve_aligned(mzname, sg_off + sg_sz, SOCKET_ID_ANY, flags,
						 RTE_PGSIZE_4K);
		if (mz != nullptr)
			XCAP_LOG(WARNING, "%s: no hugepage memory on the card's node %d; vchan %u "
				 "rings placed on node %d, which costs a socket crossing per "
				 "access. Reserve pages on node %d: echo 512 > /sys/devices/system/"
				 "node/node%d/hugepages/hugepages-2048kB/nr_hugepages",
				 name, node, vchan, mz->socket_id, node, node);
	}
	if (mz == nullptr) {
		XCAP_LOG(ERR, "%s: cannot reserve %zu bytes of IOVA-contiguous memory for vchan "
			 "%u: %s. Reserve more hugepages (usertools/xcap-setup)", name,
			 sg_off + sg_sz, vchan, rte_strerror(rte_errno));
		return -ENOMEM;
	}
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
	vc.cpl = reinterpret_cast<const volatile uint64_t *>(base + ring_sz);
	vc.sg = capture ? nullptr : reinterpret_cast<hw::Sge *>(base + sg_off);
	vc.ring_iova = Iova{mz->iova};
	vc.cpl_iova = Iova{mz->iova + ring_sz};
	vc.sg_iova = capture ? 0 : mz->iova + sg_off;
	vc.nb_desc = uint16_t(n);
	vc.mask = uint16_t(n - 1);
	vc.log2 = uint8_t(__builtin_ctz(n));
	vc.max_sge = uint8_t(dev->max_sge);
	vc.hw_chan = vchan;
	vc.kind = capture ? hw::ChannelKind::Capture : hw::ChannelKind::Copy;
	const hw::Opcode copy_op_ = capture ? hw::Opcode::Capture : hw::Opcode::Copy;
	vc.copy_op = uint32_t(copy_op_);
	vc.doorbell = dev->bar.reg(chan_reg(vchan, reg::ch::kDoorbell));
	vc.halt_on_error = dev->halt_on_error;
#if XCAP_DPDK_HAS_DMA_OPS
	vc.ops = dev->op_mode && !capture ? op_slots(vc) : nullptr;
#endif
	vc.configured = true;
	return 0;
}

/* HW §3.5: reset a channel and wait for the card to acknowledge. */
int reset_channel(Dev &dev, unsigned ch)
{
	dev.bar.write32(chan_reg(ch, reg::ch::kCtrl), hw::chctrl::kReset);
	uint32_t v;
	if (!wait_reg(dev, chan_reg(ch, reg::ch::kCtrl),
		      [](uint32_t c) { return (c & hw::chctrl::kReset) == 0; }, &v)) {
		XCAP_LOG(ERR, "channel %u: %s", ch, v == hw::kAllOnes ?
			 "card reads all-ones during reset: it is gone (surprise removal, "
			 "link down, or an IOMMU fault)" :
			 "card did not finish the channel reset within 1 s");
		return v == hw::kAllOnes ? -ENODEV : -ETIMEDOUT;
	}
	return 0;
}

int start_vchan(Dev &dev, Vchan &vc)
{
	const unsigned ch = vc.hw_chan;
	int ret = reset_channel(dev, ch);
	if (ret)
		return ret;
	/* A fresh pass: ids restart at 0 and the completion ring is zeroed so
	 * that no entry carries the first pass's phase (HW §6). */
	vc.next = vc.submitted = vc.head = 0;
	vc.limit = vc.nb_desc;
	vc.expect = success_word(0, vc.log2);
	vc.failed = 0;
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
	bar.write32(chan_reg(ch, reg::ch::kDoorbell), 0);
	/* rte_write32's barrier also orders the ring zeroing above before the
	 * enable: the card may start writing completions right after it. */
	bar.write32(chan_reg(ch, reg::ch::kCtrl),
		    hw::chctrl::kEnable | (vc.halt_on_error ? hw::chctrl::kHaltOnError : 0));
	uint32_t st;
	if (!wait_reg(dev, chan_reg(ch, reg::ch::kStatus), [](uint32_t s) {
		    return hw::ChannelState(s & hw::chstatus::kStateMask) != hw::ChannelState::Disabled;
	    }, &st) || hw::ChannelState(st & hw::chstatus::kStateMask) != hw::ChannelState::Running) {
		const uint32_t code = bar.read32(chan_reg(ch, reg::ch::kErrCode));
		XCAP_LOG(ERR, "channel %u did not start: state %s, error %u (%s), address 0x%" PRIx64,
			 ch, state_name(st), code, status_name(code),
			 bar.read64_split(chan_reg(ch, reg::ch::kErrAddrLo)));
		return st == hw::kAllOnes ? -ENODEV : -EIO;
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
	const uint32_t gctrl = dev->bar.read32(reg::kGlobalCtrl);
	if (!(gctrl & hw::gctrl::kEnable))
		dev->bar.write32(reg::kGlobalCtrl, hw::gctrl::kEnable);
	for (unsigned v = 0; v < dev->nb_vchans; v++) {
		int ret = start_vchan(*dev, dev->vchan[v]);
		if (ret) {
			xcap_stop(dd);
			return ret;
		}
	}
	return 0;
}

int xcap_stop(rte_dma_dev *dd)
{
	Dev *dev = dev_of(dd->data->dev_private);
	if (card_gone(*dev)) {
		XCAP_LOG(WARNING, "%s: card reads all-ones; stopping without it",
			 dd->data->dev_name);
		return 0;
	}
	/* HW §3.5: disabling makes the card finish the op in progress and
	 * complete the rest with UserAbort; those stay readable until start. */
	for (unsigned v = 0; v < dev->nb_vchans; v++)
		if (dev->vchan[v].configured)
			dev->bar.write32(chan_reg(v, reg::ch::kCtrl), 0);
	for (unsigned v = 0; v < dev->nb_vchans; v++) {
		if (!dev->vchan[v].configured)
			continue;
		uint32_t st;
		if (!wait_reg(*dev, chan_reg(v, reg::ch::kStatus), [](uint32_t s) {
			    return hw::ChannelState(s & hw::chstatus::kStateMask) !=
				   hw::ChannelState::Running;
		    }, &st))
			XCAP_LOG(ERR, "%s: channel %u did not stop within 1 s (state %s); "
				 "it will be reset at the next start", dd->data->dev_name, v,
				 state_name(st));
	}
	return 0;
}

int xcap_close(rte_dma_dev *dd)
{
	Dev *dev = dev_of(dd->data->dev_private);
	if (!card_gone(*dev)) {
		for (unsigned v = 0; v < kMaxChannels && v < dev->n_copy + dev->n_capture; v++)
			dev->bar.write32(chan_reg(v, reg::ch::kCtrl), hw::chctrl::kReset);
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

int xcap_stats_get(const rte_dma_dev *dd, uint16_t vchan, rte_dma_stats *stats, uint32_t)
{
	const Dev *dev = dev_of(dd->data->dev_private);
	*stats = rte_dma_stats{};
	if (vchan == RTE_DMA_ALL_VCHAN) {
		for (unsigned v = 0; v < dev->nb_vchans; v++)
			add_stats(dev->vchan[v], stats);
	} else {
		add_stats(dev->vchan[vchan], stats);
	}
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
	fail_vchan(vc, "HwHead %u is not in [%u (last read), %u (doorbell)]: it went backwards "
		   "or passed the doorbell", hw_head, unsigned(vc.last_hw_head),
		   unsigned(vc.submitted));
}

int xcap_vchan_status(const rte_dma_dev *dd, uint16_t vchan, enum rte_dma_vchan_status *status)
{
	const Dev *dev = dev_of(dd->data->dev_private);
	const Vchan &vc = dev->vchan[vchan];
	/* Ctrl before Status: the card publishes Running before it clears
	 * Resume (HW §3.3), so a Ctrl read without Resume followed by a Status
	 * read of Halted means halted. Read the other way round, a Resume acted
	 * on between the two reads would look like a halt. */
	const uint32_t ctrl = dev->bar.read32(chan_reg(vchan, reg::ch::kCtrl));
	const uint32_t st = dev->bar.read32(chan_reg(vchan, reg::ch::kStatus));
	if (st == hw::kAllOnes || ctrl == hw::kAllOnes) {
		XCAP_LOG(ERR, "%s: vchan %u status reads all-ones: the card is gone",
			 dd->data->dev_name, vchan);
		return -ENODEV;
	}
	switch (hw::ChannelState(st & hw::chstatus::kStateMask)) {
	case hw::ChannelState::Running: {
		const uint16_t hw_head = uint16_t(dev->bar.read32(chan_reg(vchan, reg::ch::kHwHead)));
		if (!vc.failed)
			check_hw_head(const_cast<Vchan &>(vc), hw_head);
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

int xcap_dump(const rte_dma_dev *dd, FILE *f)
{
	const Dev *dev = dev_of(dd->data->dev_private);
	const Bar &bar = dev->bar;
	const uint32_t id = bar.read32(reg::kId);
	fprintf(f, "xcap %s: card v%u.%u, %u copy + %u capture channels, ring <= %u, "
		"xfer <= %u B, %u SGEs, %u-bit DMA%s, halt_on_error=%d, NUMA node %d\n",
		dd->data->dev_name, dev->version >> 16, dev->version & 0xffff, dev->n_copy,
		dev->n_capture, 1u << dev->max_ring_log2, dev->max_xfer, dev->max_sge,
		dev->addr_width, dev->null_engine ? ", null engine" : "", dev->halt_on_error,
		dd->device->numa_node);
	if (id == hw::kAllOnes)
		fprintf(f, "  CARD NOT RESPONDING: BAR0 reads all-ones (removed, link down, "
			"reset, or blocked by the IOMMU)\n");
	fprintf(f, "  global: ctrl 0x%x status 0x%x fatal %u\n", bar.read32(reg::kGlobalCtrl),
		bar.read32(reg::kGlobalStatus), bar.read32(reg::kFatalCode));
	priority_dump(*dev, f);
	for (unsigned v = 0; v < dev->nb_vchans; v++) {
		const Vchan &vc = dev->vchan[v];
		if (!vc.configured) {
			fprintf(f, "  vchan %u: not set up\n", v);
			continue;
		}
		const uint32_t st = bar.read32(chan_reg(v, reg::ch::kStatus));
		const uint32_t code = bar.read32(chan_reg(v, reg::ch::kErrCode));
		fprintf(f, "  vchan %u (%s): %u entries, ring iova 0x%" PRIx64 ", completions iova "
			"0x%" PRIx64 ", memzone %s on socket %d\n", v,
			vc.kind == hw::ChannelKind::Capture ? "capture" : "copy", vc.nb_desc,
			vc.ring_iova.value, vc.cpl_iova.value, vc.mz.get()->name,
			vc.mz.get()->socket_id);
		fprintf(f, "    driver: next %u submitted %u head %u in flight %u; stats "
			"submitted %" PRIu64 " completed %" PRIu64 " errors %" PRIu64
			" card faults %" PRIu64 "%s%s\n", vc.next, vc.submitted, vc.head,
			uint16_t(vc.next - vc.head), vc.stat_submitted, vc.stat_completed,
			vc.stat_errors, vc.card_faults, vc.failed ? "; FAILED: " :
			vc.fault[0] ? "; last card fault: " : "", vc.fault);
		fprintf(f, "    card: ctrl 0x%x state %s%s hw head %u; error %u (%s) at index %u "
			"address 0x%" PRIx64 "\n", bar.read32(chan_reg(v, reg::ch::kCtrl)),
			state_name(st), (st != hw::kAllOnes && (st & hw::chstatus::kBusy)) ?
			" busy" : "", bar.read32(chan_reg(v, reg::ch::kHwHead)), code,
			status_name(code), bar.read32(chan_reg(v, reg::ch::kErrIndex)),
			bar.read64_split(chan_reg(v, reg::ch::kErrAddrLo)));
		fprintf(f, "    card counters: descriptors %" PRIu64 " errors %" PRIu64 " bytes %"
			PRIu64, bar.read64(chan_reg(v, reg::ch::kCntDescLo)),
			bar.read64(chan_reg(v, reg::ch::kCntErrLo)),
			bar.read64(chan_reg(v, reg::ch::kCntBytesLo)));
		if (vc.kind == hw::ChannelKind::Capture)
			fprintf(f, " records %" PRIu64 " lost (no buffer) %" PRIu64
				" lost (overrun) %" PRIu64, bar.read64(chan_reg(v, reg::ch::kCntRecLo)),
				bar.read64(chan_reg(v, reg::ch::kCntLostLo)),
				bar.read64(chan_reg(v, reg::ch::kCntOvrLo)));
		fprintf(f, "\n");
	}
	if (dev->backend)
		dev->backend->dump(f);
	return 0;
}

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

void set_fast_path(rte_dma_fp_object *fp)
{
	fp->copy = xcap_copy;
	fp->copy_sg = xcap_copy_sg;
	fp->fill = xcap_fill;
	fp->submit = xcap_submit;
	fp->completed = xcap_completed;
	fp->completed_status = xcap_completed_status;
}

int dmadev_create(CreateParams &&p)
{
	Bar bar(p.bar0);
	char why[512];
	if (const char *err = check_identity(bar, why, sizeof(why))) {
		XCAP_LOG(ERR, "%s: refusing the device: %s", p.name, err);
		return -ENODEV;
	}
	const uint32_t caps0 = bar.read32(reg::kCaps0);
	const unsigned n_copy = (caps0 >> hw::caps0::kCopyChanShift) & hw::caps0::kFieldMask;
	const unsigned n_cap = (caps0 >> hw::caps0::kCaptureChanShift) & hw::caps0::kFieldMask;
	const unsigned width = (caps0 >> hw::caps0::kAddrWidthShift) & hw::caps0::kFieldMask;
	const unsigned ring_log2 = bar.read32(reg::kMaxRingLog2);
	const unsigned max_sge = bar.read32(reg::kMaxSge);
	if (n_copy + n_cap == 0 || n_copy + n_cap > kMaxChannels || width < 32 || width > 64 ||
	    ring_log2 < 1 || ring_log2 > 15 || max_sge < 1 || max_sge > 255) {
		XCAP_LOG(ERR, "%s: refusing the device: capabilities make no sense (caps0 0x%08x, "
			 "max ring 2^%u, %u SGEs); firmware problem?", p.name, caps0, ring_log2,
			 max_sge);
		return -EINVAL;
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
	dev->n_copy = n_copy;
	dev->n_capture = n_cap;
	dev->addr_width = width;
	dev->max_ring_log2 = ring_log2;
	dev->max_sge = max_sge;
	dev->max_xfer = bar.read32(reg::kMaxXferLen);
	dev->version = bar.read32(reg::kVersion);
	dev->null_engine = caps0 & hw::caps0::kNullEngine;
	dev->nb_priorities = priority_levels(bar, p.name); /* HW §3.6 */
	dev->halt_on_error = p.halt_on_error;
#if XCAP_DPDK_HAS_DMA_OPS
	dev->enq_deq = p.enq_deq;
#endif

	dd->device = p.device;
	dd->dev_ops = &xcap_ops;
	dd->fp_obj->dev_private = dev;
	set_fast_path(dd->fp_obj);
	dd->fp_obj->burst_capacity = xcap_burst_capacity;
#if XCAP_DPDK_HAS_DMA_OPS
	dd->fp_obj->enqueue = ops_enqueue;
	dd->fp_obj->dequeue = ops_dequeue;
#endif
	dd->state = RTE_DMA_DEV_READY;
	registry_add(dev);
	XCAP_LOG(INFO, "%s: xcap card v%u.%u, %u copy + %u capture channels, %u-bit DMA, "
		 "NUMA node %d", p.name, dev->version >> 16, dev->version & 0xffff, n_copy, n_cap,
		 width, p.numa_node);
	return dd->data->dev_id;
}

int dmadev_destroy(const char *name)
{
	const int id = rte_dma_get_dev_id_by_name(name);
	if (id < 0)
		return -ENODEV;
	const auto *dev = static_cast<const Dev *>(rte_dma_fp_objs[id].dev_private);
	if (dev != nullptr && dev->dmadev->data->dev_started)
		rte_dma_stop(int16_t(id)); /* close refuses a started device */
	return rte_dma_pmd_release(name);
}

} // namespace xcap
