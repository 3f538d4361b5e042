/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The fast path of the xcap PMD: rte_dma_copy/copy_sg/fill/submit/
 * completed/completed_status/burst_capacity. No MMIO reads, no allocation,
 * no locks, no exceptions, no virtual calls: descriptors and the doorbell
 * out (HW §5, §7.1), completions in from host memory (HW §6). The control
 * path is xcap_dmadev.cpp; the pieces shared with the op-based path
 * (xcap_ops.cpp) are inline in xcap_fastpath.h. "HW §n" cites
 * docs/hardware.md.
 */
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <rte_dmadev_pmd.h>

#include "xcap_fastpath.h"

namespace xcap {
namespace {

Dev *dev_of(void *priv) { return static_cast<Dev *>(priv); }
const Dev *dev_of(const void *priv) { return static_cast<const Dev *>(priv); }

/* rte_dma_copy(..., RTE_DMA_OP_FLAG_SUBMIT): out of line, so that the
 * enqueue functions need no registers beyond the argument ones. */
__rte_noinline int submit_with(Vchan &vc, uint16_t id)
{
	ring_doorbell(vc);
	return id;
}

inline int enqueue(Vchan &vc, hw::Opcode opcode, uint64_t flags, uint32_t length, uint64_t src,
		   uint64_t dst, uint16_t nb_src = 0, uint16_t nb_dst = 0)
{
	const uint16_t id = vc.next;
	/* A slot is free once its previous completion has been read (HW §6). */
	if (unlikely(id == vc.limit))
		return -ENOSPC;
	put_desc(vc, id, opcode, flags, length, src, dst, nb_src, nb_dst);
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
	return enqueue(vc, hw::Opcode(vc.copy_op), flags, length, src, dst);
}

int xcap_fill(void *priv, uint16_t vchan, uint64_t pattern, rte_iova_t dst, uint32_t length,
	      uint64_t flags)
{
	return enqueue(dev_of(priv)->vchan[vchan], hw::Opcode::Fill, flags, length, pattern, dst);
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
	return enqueue(vc, hw::Opcode::CopySg, flags, length, sg_src_iova(vc, slot),
		       sg_dst_iova(vc, slot), nb_src, nb_dst);
}

/* HW §5.2: what a card without Fill or CopySg (Caps1) gets instead; the
 * device does not advertise them (xcap_info_get), so only a program that
 * ignored rte_dma_info gets here. */
int xcap_fill_unsupported(void *, uint16_t, uint64_t, rte_iova_t, uint32_t, uint64_t)
{
	return -ENOTSUP;
}

int xcap_copy_sg_unsupported(void *, uint16_t, const rte_dma_sge *, const rte_dma_sge *,
			     uint16_t, uint16_t, uint64_t)
{
	return -ENOTSUP;
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

/* xcap_completed() has read i complete entries from head (all successes
 * with the right result); expect is the success word of the next one. */
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
 * other phase, HW §6), a result that is not what the descriptor asked for,
 * or an entry that is not a plain success. Out of line so that the common
 * case stays a short leaf function. */
__rte_noinline
uint16_t completed_rest(Vchan &vc, uint16_t head, unsigned i, unsigned n, uint32_t expect,
			uint16_t *last_idx, bool *has_error)
{
	if (vc.failed) { /* its ops come by completed_status(), once drainable */
		*has_error = true;
		return completed_finish(vc, head, 0, vc.expect, last_idx, has_error);
	}
	if (i < n && i == unsigned(vc.nb_desc - (head & vc.mask)))
		i += success_run(vc.cpl, n - i, expect);
	/* the successes by their low words must also carry the right result */
	const unsigned ok = results_ok(vc, head, i);
	if (ok < i)
		i = ok;
	for (; i < n; i++) {
		const uint16_t idx = uint16_t(head + i);
		const uint64_t e = vc.cpl[idx & vc.mask];
		const Entry k = classify(vc, e, idx);
		if (likely(k == Entry::Success))
			continue;
		if (k == Entry::Failed)
			*has_error = true; /* stays unread until completed_status() */
		else if (k == Entry::Fault) {
			completion_fault(vc, idx, e);
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
	const unsigned run = RTE_MIN(n, room);
	const unsigned i = success_run(vc.cpl + (head & vc.mask), run, expect);
	if (unlikely(i == room)) /* the next pass over the ring has the other phase */
		expect ^= uint32_t(hw::cflag::kPhase) << 8;
	/* HW §6.1: each success also carries the bytes it wrote */
	if (unlikely(i < n || vc.failed || results_ok(vc, head, i) != i))
		return completed_rest(vc, head, i, n, expect, last_idx, has_error);
	return completed_finish(vc, head, i, expect, last_idx, has_error);
}

uint16_t xcap_completed_status(void *priv, uint16_t vchan, const uint16_t nb_cpls,
			       uint16_t *last_idx, rte_dma_status_code *status)
{
	Dev *dev = dev_of(priv);
	Vchan &vc = dev->vchan[vchan];
	const uint16_t n = RTE_MIN(nb_cpls, uint16_t(vc.submitted - vc.head));
	const uint16_t i = read_statuses(*dev, vc, n, [status](uint16_t k, rte_dma_status_code st) {
		status[k] = st;
	});
	*last_idx = uint16_t(vc.head - 1);
	return i;
}

uint16_t xcap_burst_capacity(const void *priv, uint16_t vchan)
{
	const Vchan &vc = dev_of(priv)->vchan[vchan];
	return uint16_t(vc.nb_desc - uint16_t(vc.next - vc.head));
}

} // namespace

/* HW §7.4: the card broke the contract, or the slow path found it Fatal or
 * gone. Record what happened (dev_dump, telemetry), stop trusting the
 * card's completions on this channel; every other channel keeps running.
 * The outstanding ops complete with `status` once the vchan is drainable. */
void fail_vchan(Vchan &vc, rte_dma_status_code status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vc.fault, sizeof(vc.fault), fmt, ap);
	va_end(ap);
	if (!vc.failed)
		vc.fail_status = uint16_t(status);
	vc.failed = 1;
	vc.card_faults++;
	XCAP_LOG(ERR, "%s: vchan %u: %s: card fault; its ops complete with status %u once the "
		 "channel is stopped (rte_dma_stop, then rte_dma_start to recover)",
		 vchan_dev_name(vc), vc.hw_chan, vc.fault, unsigned(vc.fail_status));
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
	fail_vchan(vc, RTE_DMA_STATUS_ERROR_UNKNOWN, "completion at index %u beyond the doorbell "
		   "(%u submitted, entry 0x%016" PRIx64 ")", idx, unsigned(vc.submitted), e);
	return true;
}

/* HW §6.1: a completion whose id is not its index, or whose result is not
 * what its descriptor asked for. */
void completion_fault(Vchan &vc, uint16_t idx, uint64_t entry)
{
	const hw::Descriptor &d = vc.ring[idx & vc.mask];
	if (uint16_t(entry >> 16) != idx)
		fail_vchan(vc, RTE_DMA_STATUS_ERROR_UNKNOWN, "completion at index %u carries id %u "
			   "(entry 0x%016" PRIx64 ")", idx, unsigned(uint16_t(entry >> 16)), entry);
	else
		fail_vchan(vc, RTE_DMA_STATUS_ERROR_UNKNOWN, "completion at index %u reports %u "
			   "bytes for a %u-byte %s (entry 0x%016" PRIx64 ")", idx,
			   unsigned(entry >> 32), d.length, vc.capture ? "buffer" : "descriptor",
			   entry);
}

void set_fast_path(rte_dma_fp_object *fp, const Dev &dev)
{
	fp->copy = xcap_copy;
	fp->copy_sg = dev.caps1 & (1u << unsigned(hw::Opcode::CopySg)) ? xcap_copy_sg
								       : xcap_copy_sg_unsupported;
	fp->fill = dev.caps1 & (1u << unsigned(hw::Opcode::Fill)) ? xcap_fill : xcap_fill_unsupported;
	fp->submit = xcap_submit;
	fp->completed = xcap_completed;
	fp->completed_status = xcap_completed_status;
	fp->burst_capacity = xcap_burst_capacity;
}

} // namespace xcap
