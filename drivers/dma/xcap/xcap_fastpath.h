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

/* HW §4: bytes 0-3 of a descriptor: opcode, flags (only the fence flag
 * passes from the caller) and id, as one little-endian word. */
inline uint32_t desc_word0(uint32_t opcode, uint64_t flags, uint16_t id)
{
	return opcode | (uint32_t(flags) & RTE_DMA_OP_FLAG_FENCE) << 8 | uint32_t(id) << 16;
}

/* HW §5.1: write the descriptor with ring index id (the caller checked that
 * its slot is free). The card reads the slot only after the doorbell (HW
 * §7.1), so the order of these stores does not matter. */
inline void put_desc(Vchan &vc, uint16_t id, uint32_t opcode, uint64_t flags, uint32_t length,
		     uint64_t src, uint64_t dst, uint32_t word3)
{
	auto *w = reinterpret_cast<uint32_t *>(vc.ring + (id & vc.mask));
	w[0] = desc_word0(opcode, flags, id);
	w[1] = length;
	reinterpret_cast<uint64_t *>(w)[1] = src;
	reinterpret_cast<uint64_t *>(w)[2] = dst;
	reinterpret_cast<uint64_t *>(w)[3] = word3; /* nb_src, nb_dst (CopySg), reserved 0 */
}

/* HW §5.1, §5.2 CopySg: ring slot `slot` of a copy vchan owns 2 * max_sge
 * SG entries in the vchan's memzone: max_sge source entries, then max_sge
 * destination entries. IOVA of the slot's source list; the destination list
 * follows at + max_sge entries. */
inline uint64_t sg_slot_iova(const Vchan &vc, uint16_t slot)
{
	return vc.sg_iova + uint64_t(slot) * 2 * vc.max_sge * sizeof(hw::Sge);
}

/* Write the SG lists of a CopySg into the slot's SG area (1 <= nb_src,
 * nb_dst <= max_sge, checked by the caller) and return the descriptor's
 * length: the sum of the source lengths. A total above 32 bits cannot be
 * described: 0 ("the sum of the lists"), which the card then rejects. */
inline uint32_t put_sg_lists(Vchan &vc, uint16_t slot, const rte_dma_sge *src, uint16_t nb_src,
			     const rte_dma_sge *dst, uint16_t nb_dst)
{
	hw::Sge *s = vc.sg + size_t(slot) * 2 * vc.max_sge;
	hw::Sge *d = s + vc.max_sge;
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

inline Entry classify(uint32_t lo, uint16_t idx, unsigned log2)
{
	if (likely(lo == success_word(idx, log2)))
		return Entry::Success;
	if (((lo >> 8) & hw::cflag::kPhase) != hw::completion_phase(idx, log2))
		return Entry::NotYet;
	if (uint16_t(lo >> 16) != idx)
		return Entry::Fault;
	return (lo & 0xff) == 0 ? Entry::Success : Entry::Failed;
}

/* xcap_dmadev.cpp, cold. HW §7.4: the card wrote a completion at idx whose
 * id is not idx: the vchan is marked failed. */
void card_fault(Vchan &vc, uint16_t idx, uint64_t entry);
/* xcap_dmadev.cpp. HW §6, §7.4: with everything submitted consumed, is
 * there a current-phase entry at the doorbell's slot (a completion for a
 * descriptor never submitted)? Marks the vchan failed and returns true if
 * so. */
bool completion_beyond_doorbell(Vchan &vc);

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
			XCAP_LOG(ERR, "channel %u: %s", vc.hw_chan, vc.fault);
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
	 * after rte_dma_stop(), where it would re-enable the stopped channel. */
	if (unlikely(errors != 0 && vc.halt_on_error && dev.dmadev->data->dev_started))
		dev.bar.write32(hw::chan_reg(vc.hw_chan, hw::reg::ch::kCtrl),
				hw::chctrl::kEnable | hw::chctrl::kHaltOnError | hw::chctrl::kResume);
}

} // namespace xcap

#endif /* XCAP_FASTPATH_H */
