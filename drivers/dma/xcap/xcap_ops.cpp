/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Op-based enqueue/dequeue (DPDK 25.03+: RTE_DMA_CAPA_OPS_ENQ_DEQ,
 * rte_dma_enqueue_ops/rte_dma_dequeue_ops, the path of DPDK's event DMA
 * adapter), on the same descriptor and completion rings as rte_dma_copy().
 * "HW §n" cites docs/hardware.md.
 *
 * Op mode is a device configuration (RTE_DMA_CFG_FLAG_ENQ_DEQ in
 * rte_dma_conf.flags) and exists for copy vchans only: a capture buffer
 * completes when the card has filled it with frames (HW §8), which is not
 * one rte_dma_op; dev_configure refuses the flag with capture vchans.
 *
 * - Enqueue: an op with one source and one destination segment of the same
 *   length is a Copy descriptor; any other shape, up to max_sges segments a
 *   side, a CopySg descriptor whose lists go into the slot's SG area as for
 *   rte_dma_copy_sg() (the card checks the lists, e.g. unequal totals give
 *   INVALID_LENGTH, HW §5.2). An op with no segment or more than max_sges on
 *   a side is refused: enqueue stops before it. Enqueue also stops when the
 *   ring is full, and returns how many ops it accepted. Each call is one
 *   submission: one doorbell, CompletionRequest on its last descriptor, so
 *   RTE_DMA_OP_FLAG_FENCE on an op makes it NOT_ATTEMPTED when an earlier op
 *   of the same call failed, and never reaches back into an earlier call
 *   (HW §5.3, §6.2). The other op flags have no meaning for this card.
 * - Dequeue returns the ops in the order they were enqueued, each with
 *   op->status set from its completion: SUCCESSFUL, the failure's status,
 *   NOT_ATTEMPTED for a fenced op after a failure, USER_ABORT for ops the
 *   card aborted at rte_dma_stop() (those stay dequeueable until the next
 *   rte_dma_start(), which forgets them). Stats count exactly as for
 *   rte_dma_completed_status(): every op not SUCCESSFUL is an error.
 * - In op mode rte_dma_copy/copy_sg/fill/submit return -ENOTSUP and
 *   rte_dma_completed/completed_status return 0 (completed() with
 *   has_error): rte_dmadev.h declares them not valid with ENQ_DEQ, and the
 *   completions belong to the ops, which only dequeue hands out. The first
 *   such call is logged. rte_dma_burst_capacity() stays valid: how many ops
 *   an enqueue can accept. Without op mode enqueue/dequeue return 0 (logged
 *   once).
 * - A card fault (HW §7.4) stops the vchan as for rte_dma_completed():
 *   dequeue returns nothing more while the card may still write the ops'
 *   buffers. Once it cannot (rte_dma_stop() quiesced the channel, or the
 *   card is gone or Fatal with the channel idle) it hands back every op still
 *   in flight: those the card completed correctly with their status, the
 *   rest with the vchan's failure status (what the card did with them is
 *   unknown), so that the application gets all its ops back.
 */
#include "xcap_dpdk_compat.h"

#if XCAP_DPDK_HAS_DMA_OPS

#include <atomic>
#include <cerrno>

#include "xcap_fastpath.h"
#include "xcap_internal.h"

namespace xcap {
namespace {

/* Misuse of the API (a call that is not valid in the device's mode): logged
 * the first time in the process, then silent, so a loop does not flood the
 * log. Cold: never on a correct program's path. */
__rte_noinline __rte_cold
void api_misuse(std::atomic_flag &logged, const void *priv, uint16_t vchan, const char *what)
{
	if (logged.test_and_set(std::memory_order_relaxed))
		return;
	XCAP_LOG(ERR, "%s: vchan %u: %s (logged once)",
		 static_cast<const Dev *>(priv)->dmadev->data->dev_name, vchan, what);
}

std::atomic_flag g_logged_op_mode = ATOMIC_FLAG_INIT;
std::atomic_flag g_logged_not_op_mode = ATOMIC_FLAG_INIT;

void refused_in_op_mode(const void *priv, uint16_t vchan)
{
	api_misuse(g_logged_op_mode, priv, vchan,
		 "rte_dma_copy/copy_sg/fill/submit/completed/completed_status are not valid on a "
		 "device configured with RTE_DMA_CFG_FLAG_ENQ_DEQ (rte_dmadev.h): refused; use "
		 "rte_dma_enqueue_ops/rte_dma_dequeue_ops, or reconfigure without the flag");
}

/* ---- The rte_dma_copy family in op mode: refused ---------------------- */

int op_mode_copy(void *priv, uint16_t vchan, rte_iova_t, rte_iova_t, uint32_t, uint64_t)
{
	refused_in_op_mode(priv, vchan);
	return -ENOTSUP;
}

int op_mode_copy_sg(void *priv, uint16_t vchan, const rte_dma_sge *, const rte_dma_sge *,
		    uint16_t, uint16_t, uint64_t)
{
	refused_in_op_mode(priv, vchan);
	return -ENOTSUP;
}

int op_mode_fill(void *priv, uint16_t vchan, uint64_t, rte_iova_t, uint32_t, uint64_t)
{
	refused_in_op_mode(priv, vchan);
	return -ENOTSUP;
}

int op_mode_submit(void *priv, uint16_t vchan)
{
	refused_in_op_mode(priv, vchan);
	return -ENOTSUP;
}

uint16_t op_mode_completed(void *priv, uint16_t vchan, const uint16_t, uint16_t *last_idx,
			   bool *has_error)
{
	refused_in_op_mode(priv, vchan);
	*last_idx = uint16_t(static_cast<const Dev *>(priv)->vchan[vchan].head - 1);
	*has_error = true; /* "nothing will come through here", as on a failed vchan */
	return 0;
}

uint16_t op_mode_completed_status(void *priv, uint16_t vchan, const uint16_t, uint16_t *last_idx,
				  rte_dma_status_code *)
{
	refused_in_op_mode(priv, vchan);
	*last_idx = uint16_t(static_cast<const Dev *>(priv)->vchan[vchan].head - 1);
	return 0;
}

/* ---- Enqueue ------------------------------------------------------------ */

/* A CopySg the slot's SG area can hold (HW §5.2: 1..MaxSge a side). */
inline bool sg_fits(const Vchan &vc, const rte_dma_op &op)
{
	return op.nb_src != 0 && op.nb_dst != 0 && op.nb_src <= vc.max_sge &&
	       op.nb_dst <= vc.max_sge;
}

/* HW §5.1: the descriptor for op at ring index id. False: op refused. */
inline bool put_op(Vchan &vc, uint16_t id, const rte_dma_op &op)
{
	const rte_dma_sge *seg = op.src_dst_seg; /* nb_src sources, then nb_dst destinations */
	if (likely(op.nb_src == 1 && op.nb_dst == 1 && seg[0].length == seg[1].length)) {
		put_desc(vc, id, hw::Opcode::Copy, op.flags, seg[0].length, seg[0].addr,
			 seg[1].addr);
		return true;
	}
	if (unlikely(!sg_fits(vc, op)))
		return false;
	const uint16_t slot = id & vc.mask;
	const uint32_t length = put_sg_lists(vc, slot, seg, op.nb_src, seg + op.nb_src, op.nb_dst);
	put_desc(vc, id, hw::Opcode::CopySg, op.flags, length, sg_src_iova(vc, slot),
		 sg_dst_iova(vc, slot), op.nb_src, op.nb_dst);
	return true;
}

} // namespace

uint16_t ops_enqueue(void *priv, uint16_t vchan, rte_dma_op **ops, uint16_t nb_ops)
{
	Vchan &vc = static_cast<Dev *>(priv)->vchan[vchan];
	rte_dma_op **const slots = vc.ops;
	if (unlikely(slots == nullptr)) {
		api_misuse(g_logged_not_op_mode, priv, vchan,
			 "rte_dma_enqueue_ops/dequeue_ops: not a copy vchan of a device "
			 "configured with RTE_DMA_CFG_FLAG_ENQ_DEQ; nothing enqueued or dequeued");
		return 0;
	}
	/* A slot is free once its previous completion has been dequeued (HW §6):
	 * next may run up to limit = head + nb_desc. */
	const uint16_t n = RTE_MIN(nb_ops, uint16_t(vc.limit - vc.next));
	uint16_t id = vc.next;
	uint16_t i = 0;
	for (; i < n; i++) {
		rte_dma_op *op = ops[i];
		if (unlikely(!put_op(vc, id, *op)))
			break;
		/* Host memory the card never reads, read back by dequeue on this
		 * vchan's thread: no ordering against the card needed. */
		slots[id & vc.mask] = op;
		id = uint16_t(id + 1);
	}
	vc.next = id;
	/* One doorbell for the call (nothing if nothing was accepted). Its
	 * rte_write32() orders the descriptor and SG list stores above before
	 * the doorbell store (HW §7.1: rte_io_wmb(), a compiler barrier on x86,
	 * dmb oshst on Arm); it also marks the last descriptor
	 * CompletionRequest, which ends the fence scope (HW §5.3, §6.2). */
	ring_doorbell(vc);
	return i;
}

uint16_t ops_dequeue(void *priv, uint16_t vchan, rte_dma_op **ops, uint16_t nb_ops)
{
	Dev &dev = *static_cast<Dev *>(priv);
	Vchan &vc = dev.vchan[vchan];
	rte_dma_op *const *const slots = vc.ops;
	if (unlikely(slots == nullptr)) {
		api_misuse(g_logged_not_op_mode, priv, vchan,
			 "rte_dma_enqueue_ops/dequeue_ops: not a copy vchan of a device "
			 "configured with RTE_DMA_CFG_FLAG_ENQ_DEQ; nothing enqueued or dequeued");
		return 0;
	}
	const uint16_t n = RTE_MIN(nb_ops, uint16_t(vc.submitted - vc.head));
	const uint16_t head = vc.head;
	/* The read barrier there (HW §7.2) orders the completion loads before
	 * the caller's loads of the ops' data. */
	return read_statuses(dev, vc, n, [&](uint16_t k, rte_dma_status_code st) {
		rte_dma_op *op = slots[uint16_t(head + k) & vc.mask];
		op->status = st;
		ops[k] = op;
	});
}

int ops_configure(Dev &dev, const rte_dma_conf &conf)
{
	const bool on = (conf.flags & RTE_DMA_CFG_FLAG_ENQ_DEQ) != 0;
	if (on && conf.nb_vchans > dev.n_copy) {
		XCAP_LOG(ERR, "%s: RTE_DMA_CFG_FLAG_ENQ_DEQ with %u vchans: op mode is for copy "
			 "vchans only, and this card's vchans from %u on are capture channels, "
			 "whose buffers complete when the card has filled them with frames (HW "
			 "§8), not one rte_dma_op each; configure at most %u vchans for op mode",
			 dev.dmadev->data->dev_name, conf.nb_vchans, dev.n_copy, dev.n_copy);
		return -EINVAL;
	}
	dev.op_mode = on;
	/* Vchans already set up keep their memzone, which holds the op slots
	 * (vchan_setup): they switch mode with the device. */
	for (unsigned v = 0; v < kMaxChannels; v++) {
		Vchan &vc = dev.vchan[v];
		vc.ops = on && v < conf.nb_vchans && vc.configured && vc.kind == hw::ChannelKind::Copy
			 ? op_slots(vc) : nullptr;
	}
	rte_dma_fp_object *fp = dev.dmadev->fp_obj;
	set_fast_path(fp, dev);
	if (on) {
		fp->copy = op_mode_copy;
		fp->copy_sg = op_mode_copy_sg;
		fp->fill = op_mode_fill;
		fp->submit = op_mode_submit;
		fp->completed = op_mode_completed;
		fp->completed_status = op_mode_completed_status;
	}
	return 0;
}

} // namespace xcap

#endif /* XCAP_DPDK_HAS_DMA_OPS */
