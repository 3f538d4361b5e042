/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The pieces of the fast path that both of its front ends use: the
 * rte_dma_copy/completed family (xcap_dmadev.cpp) and the op-based
 * rte_dma_enqueue_ops/dequeue_ops (xcap_ops.cpp). How a descriptor and its SG
 * lists are written, how the doorbell is rung, how a completion entry is read
 * and how consumed entries are retired: one definition of each, inline. Like
 * everything on the fast path: no MMIO reads, no allocation, no locks, no
 * exceptions, no virtual calls. "HW §n" cites docs/hardware.md.
 */
#ifndef XCAP_FASTPATH_H
#define XCAP_FASTPATH_H

#include <cstdio>

#include "xcap_internal.h"

namespace xcap {

static_assert(RTE_DMA_OP_FLAG_FENCE == hw::dflag::kFence,
	      "the fence flag passes straight into the descriptor");

/* HW §5.1: write the descriptor with ring index id (the caller checked that
 * its slot is free) as one aligned 32-byte object. The card reads the slot
 * only after the doorbell (HW §5.6, §7.1), so how the compiler splits the
 * store does not matter; only the fence flag passes from the caller, the
 * reserved fields are 0. */
inline void put_desc(Vchan &vc, uint16_t id, hw::Opcode opcode, uint64_t flags, uint32_t length,
		     uint64_t src, uint64_t dst, uint16_t nb_src = 0, uint16_t nb_dst = 0)
{
	vc.ring[id & vc.mask] = hw::Descriptor{
		.opcode = uint8_t(opcode),
		.flags = uint8_t(flags & RTE_DMA_OP_FLAG_FENCE),
		.id = id,
		.length = length,
		.src = src,
		.dst = dst,
		.nb_src = nb_src,
		.nb_dst = nb_dst,
		.reserved = 0,
	};
}

/* HW §5.2, §5.5 CopySg: ring slot `slot` of a copy vchan owns two SG lists
 * in the vchan's memzone, source then destination, each max_sge entries
 * padded to a power of two bytes (1 << sg_side_log2, at most 4 KiB) from a
 * 4 KiB-aligned base: so no list crosses a 4 KiB boundary. */
inline uint64_t sg_src_iova(const Vchan &vc, uint16_t slot)
{
	return vc.sg_iova + (uint64_t(slot) << (vc.sg_side_log2 + 1));
}
inline uint64_t sg_dst_iova(const Vchan &vc, uint16_t slot)
{
	return sg_src_iova(vc, slot) + (uint64_t(1) << vc.sg_side_log2);
}

/* Write the SG lists of a CopySg into the slot's SG area (1 <= nb_src,
 * nb_dst <= max_sge, checked by the caller) and return the descriptor's
 * length: the sum of the source lengths. A total above 32 bits cannot be
 * described: 0 ("the sum of the lists"), which the card then rejects. */
inline uint32_t put_sg_lists(Vchan &vc, uint16_t slot, const rte_dma_sge *src, uint16_t nb_src,
			     const rte_dma_sge *dst, uint16_t nb_dst)
{
	const size_t side = (size_t(1) << vc.sg_side_log2) / sizeof(hw::Sge);
	hw::Sge *s = vc.sg + size_t(slot) * 2 * side;
	hw::Sge *d = s + side;
	uint64_t total = 0;
	for (uint16_t i = 0; i < nb_src; i++) {
		s[i] = hw::Sge{src[i].addr, src[i].length, 0};
		total += src[i].length;
	}
	for (uint16_t i = 0; i < nb_dst; i++)
		d[i] = hw::Sge{dst[i].addr, dst[i].length, 0};
	return total > UINT32_MAX ? 0 : uint32_t(total);
}

/* HW §7.1: every descriptor up to vc.next must be visible in host memory
 * before the card sees the new producer index. rte_write32() issues
 * rte_io_wmb() (store-store order: a compiler barrier on x86, whose stores
 * are already ordered; dmb oshst on Arm) before the doorbell store. */
inline void ring_doorbell(Vchan &vc)
{
	const uint16_t next = vc.next;
	if (next == vc.submitted)
		return;
	/* HW §6.2: ask the card not to hold back the batch's last completion. */
	vc.ring[uint16_t(next - 1) & vc.mask].flags |= hw::dflag::kCompletionRequest;
	if (likely(vc.live))
		rte_write32(next, vc.doorbell);
	vc.stat_submitted += uint16_t(next - vc.submitted);
	vc.submitted = next;
}

/* The low 32 bits of a successful completion for ring index idx: status 0,
 * flags = the expected phase, id = idx (HW §6). One compare per entry. */
inline uint32_t success_word(uint16_t idx, unsigned log2)
{
	return (uint32_t(hw::completion_phase(idx, log2)) << 8) | (uint32_t(idx) << 16);
}

enum class Entry { Success, NotYet, Failed, Fault };

/* HW §6.1: the result of a successful completion: the bytes written, which
 * for Copy, Fill and CopySg is the descriptor's length; for a capture
 * buffer the bytes used, at most the buffer's length. The driver's own copy
 * of the descriptor is in host memory and stays put until the slot is
 * reused, after this completion was read. */
inline bool result_ok(const Vchan &vc, uint16_t idx, uint64_t entry)
{
	const uint32_t result = uint32_t(entry >> 32);
	const uint32_t length = vc.ring[idx & vc.mask].length;
	return vc.capture ? result <= length : result == length;
}

/* How many of the n entries from head carry the right result. */
inline unsigned results_ok(const Vchan &vc, uint16_t head, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		const uint16_t idx = uint16_t(head + k);
		if (unlikely(!result_ok(vc, idx, vc.cpl[idx & vc.mask])))
			return k;
	}
	return n;
}

/* What the completion entry at ring index idx says (HW §6.1): not written
 * yet (the previous pass's phase), a success with the right id and result,
 * a failure, or a card fault (wrong id, or a success with a wrong result). */
inline Entry classify(const Vchan &vc, uint64_t entry, uint16_t idx)
{
	const uint32_t lo = uint32_t(entry);
	if (likely(lo == success_word(idx, vc.log2)))
		return likely(result_ok(vc, idx, entry)) ? Entry::Success : Entry::Fault;
	if (((lo >> 8) & hw::cflag::kPhase) != hw::completion_phase(idx, vc.log2))
		return Entry::NotYet;
	if (uint16_t(lo >> 16) != idx)
		return Entry::Fault;
	if ((lo & 0xff) != 0)
		return Entry::Failed;
	return result_ok(vc, idx, entry) ? Entry::Success : Entry::Fault;
}

/* xcap_fastpath.cpp, cold. HW §7.4: mark the vchan failed; its outstanding
 * ops complete with status once drainable. Logged with the device name. */
__rte_format_printf(3, 4) __rte_noinline __rte_cold
void fail_vchan(Vchan &vc, rte_dma_status_code status, const char *fmt, ...);
/* xcap_fastpath.cpp, cold: the entry at idx is Entry::Fault; says which. */
__rte_noinline __rte_cold
void completion_fault(Vchan &vc, uint16_t idx, uint64_t entry);
/* xcap_fastpath.cpp. HW §6, §7.4: with everything submitted consumed, is
 * there a current-phase entry at the doorbell's slot (a completion for a
 * descriptor never submitted)? Marks the vchan failed and returns true if
 * so. */
bool completion_beyond_doorbell(Vchan &vc);

/* The name of the device a vchan belongs to, for log lines. */
inline const char *vchan_dev_name(const Vchan &vc)
{
	return dev_name_of(vc.dev_id);
}

inline rte_dma_status_code to_rte_status(uint8_t st, Vchan &vc, uint16_t idx)
{
	if (likely(st <= hw::kStatusMaxDefined))
		return rte_dma_status_code(st); /* HW §4: one to one */
	if (st != uint8_t(hw::Status::ErrorUnknown)) {
		/* A code the contract does not define (HW §7.4): the op is
		 * reported failed (ERROR_UNKNOWN), the channel goes on, the
		 * fault is counted and kept for dev_dump; logged the first time. */
		if (vc.card_faults++ == 0 || !vc.fault[0]) {
			snprintf(vc.fault, sizeof(vc.fault),
				 "completion at index %u: status 0x%02x is not in the contract, "
				 "reported as ERROR_UNKNOWN", idx, st);
			XCAP_LOG(ERR, "%s: vchan %u: %s", vchan_dev_name(vc), vc.hw_chan,
				 vc.fault);
		}
	}
	return RTE_DMA_STATUS_ERROR_UNKNOWN;
}

/* A caller that read per-op statuses consumed n entries from vc.head, of
 * which `errors` were not successful: retire them. */
inline void consume_statuses(Dev &dev, Vchan &vc, uint16_t n, uint16_t errors)
{
	/* HW §7.2: the card made its data visible before the completions just
	 * read; order those reads before the caller's reads of that data (a
	 * compiler barrier on x86, dmb oshld on Arm). */
	rte_io_rmb();
	vc.head = uint16_t(vc.head + n);
	vc.limit = uint16_t(vc.head + vc.nb_desc);
	vc.expect = success_word(vc.head, vc.log2);
	vc.stat_completed += n;
	vc.stat_errors += errors;
	if (vc.head == vc.submitted && !vc.failed)
		completion_beyond_doorbell(vc);
	/* HW §3.5: a channel that halts on error waits for the host to have seen
	 * the failure; now it has. A register write, only on the error path; not
	 * after rte_dma_stop(), where it would re-enable the stopped channel,
	 * nor on a failed vchan, whose card is not trusted. */
	if (unlikely(errors != 0 && vc.halt_on_error && vc.live))
		dev.bar.write32(hw::chan_reg(vc.hw_chan, hw::reg::ch::kCtrl),
				hw::chctrl::kEnable | hw::chctrl::kHaltOnError | hw::chctrl::kResume);
}

/* HW §7.4: the statuses of a failed vchan, once nothing can DMA into its
 * ops' buffers any more: every op still in flight gets the vchan's
 * fail_status (what an untrusted card did with them is unknown), so that the
 * application gets all its ops back. Before that, nothing: an op reported
 * done must not still be written. */
template <typename Put>
[[gnu::noinline, gnu::cold]]
uint16_t drain_failed(Dev &dev, Vchan &vc, uint16_t n, Put put)
{
	if (!vc.drainable)
		return 0;
	for (uint16_t i = 0; i < n; i++)
		put(i, rte_dma_status_code(vc.fail_status));
	consume_statuses(dev, vc, n, n);
	return n;
}

/* completed_status() and dequeue_ops(): read up to n completions from
 * vc.head, hand each op's status to put(k, status) (k from 0), retire them.
 * Stops before the first entry not written yet, and at a card fault (which
 * fails the vchan: the rest comes by drain_failed()). */
template <typename Put>
inline uint16_t read_statuses(Dev &dev, Vchan &vc, uint16_t n, Put put)
{
	if (unlikely(vc.failed))
		return drain_failed(dev, vc, n, put);
	uint16_t i = 0, errors = 0;
	for (; i < n; i++) {
		const uint16_t idx = uint16_t(vc.head + i);
		/* One aligned 8-byte load per entry: the card writes it at once
		 * (HW §6.1), so status, phase, id and result are from one write. */
		const uint64_t e = vc.cpl[idx & vc.mask];
		const Entry k = classify(vc, e, idx);
		if (likely(k == Entry::Success)) {
			put(i, RTE_DMA_STATUS_SUCCESSFUL);
			continue;
		}
		if (k == Entry::NotYet)
			break;
		if (k == Entry::Fault) {
			completion_fault(vc, idx, e);
			break;
		}
		put(i, to_rte_status(uint8_t(e), vc, idx)); /* HW §4: one to one */
		errors++;
	}
	/* HW §7.2 read barrier, halt-on-error resume */
	consume_statuses(dev, vc, i, errors);
	return i;
}

} // namespace xcap

#endif /* XCAP_FASTPATH_H */
