/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Multi-process: an xcap device in a DPDK secondary process
 * (dpdk-proc-info, dpdk-dumpcap, dpdk-test --proc-type=secondary, an
 * application's own monitor). The primary owns the card and its rings; the
 * device's Dev lives in memory both processes share (the dmadev's private
 * data), so a secondary reads the primary's state there and must never
 * write it, never construct it again, and never touch the card: a register
 * read is not side-effect free either (a counter's Lo read moves its latch,
 * HW §2.4). So a secondary can read stats, dev_info, the dump and the
 * telemetry of the driver's view; everything that changes the device or the
 * card, and the fast path, returns -ENOTSUP with a message
 * (docs/getting-started.md "Multi-process").
 */
#include <atomic>
#include <cerrno>

#include <rte_dmadev_pmd.h>
#include <rte_eal.h>

#include "xcap_fastpath.h" /* vchan_dev_name */
#include "xcap_internal.h"

namespace xcap {
namespace {

const char *name_of(const rte_dma_dev *dd) { return dd->data->dev_name; }

int refuse(const rte_dma_dev *dd, const char *what)
{
	XCAP_LOG(ERR, "%s: %s is not possible from a secondary process: the primary process "
		 "owns the card and its rings; a secondary reads stats, dev_info, dump and "
		 "telemetry only", name_of(dd), what);
	return -ENOTSUP;
}

int sec_configure(rte_dma_dev *dd, const rte_dma_conf *, uint32_t)
{
	return refuse(dd, "rte_dma_configure");
}
int sec_start(rte_dma_dev *dd) { return refuse(dd, "rte_dma_start"); }
int sec_stop(rte_dma_dev *dd) { return refuse(dd, "rte_dma_stop"); }
int sec_vchan_setup(rte_dma_dev *dd, uint16_t, const rte_dma_vchan_conf *, uint32_t)
{
	return refuse(dd, "rte_dma_vchan_setup");
}
int sec_stats_reset(rte_dma_dev *dd, uint16_t) { return refuse(dd, "rte_dma_stats_reset"); }
int sec_vchan_status(const rte_dma_dev *dd, uint16_t, enum rte_dma_vchan_status *)
{
	return refuse(dd, "rte_dma_vchan_status (it reads the card's registers)");
}

/* rte_dma_close() in a secondary: detach only (dmadev then forgets this
 * process's handle; the shared data stays the primary's). */
int sec_close(rte_dma_dev *dd)
{
	XCAP_LOG(INFO, "%s: detached from the primary's device; the card is untouched",
		 name_of(dd));
	return 0;
}

const rte_dma_dev_ops secondary_ops = {
	.dev_info_get = info_get,
	.dev_configure = sec_configure,
	.dev_start = sec_start,
	.dev_stop = sec_stop,
	.dev_close = sec_close,
	.vchan_setup = sec_vchan_setup,
	.stats_get = stats_get,
	.stats_reset = sec_stats_reset,
	.vchan_status = sec_vchan_status,
	.dev_dump = xcap_dump,
};

/* The fast path in a secondary: the rings' indexes are the primary's, so no
 * op is enqueued, submitted or completed here. Logged the first time. */
std::atomic<bool> g_logged{false};

__rte_noinline __rte_cold void fast_path_refused(const void *priv, uint16_t vchan)
{
	if (g_logged.exchange(true, std::memory_order_relaxed))
		return;
	const Dev *dev = static_cast<const Dev *>(priv);
	XCAP_LOG(ERR, "%s: vchan %u: the fast path (rte_dma_copy, fill, submit, completed, ...) "
		 "works in the primary process only: a secondary process gets -ENOTSUP or 0; "
		 "this is logged once", vchan < kMaxChannels ?
		 vchan_dev_name(dev->vchan[vchan]) : "xcap", vchan);
}

int sec_copy(void *priv, uint16_t vchan, rte_iova_t, rte_iova_t, uint32_t, uint64_t)
{
	fast_path_refused(priv, vchan);
	return -ENOTSUP;
}
int sec_copy_sg(void *priv, uint16_t vchan, const rte_dma_sge *, const rte_dma_sge *, uint16_t, uint16_t,
		uint64_t)
{
	fast_path_refused(priv, vchan);
	return -ENOTSUP;
}
int sec_fill(void *priv, uint16_t vchan, uint64_t, rte_iova_t, uint32_t, uint64_t)
{
	fast_path_refused(priv, vchan);
	return -ENOTSUP;
}
int sec_submit(void *priv, uint16_t vchan)
{
	fast_path_refused(priv, vchan);
	return -ENOTSUP;
}
uint16_t sec_completed(void *priv, uint16_t vchan, const uint16_t, uint16_t *, bool *has_error)
{
	fast_path_refused(priv, vchan);
	*has_error = true;
	return 0;
}
uint16_t sec_completed_status(void *priv, uint16_t vchan, const uint16_t, uint16_t *,
			      rte_dma_status_code *)
{
	fast_path_refused(priv, vchan);
	return 0;
}
uint16_t sec_burst_capacity(const void *priv, uint16_t vchan)
{
	fast_path_refused(priv, vchan);
	return 0;
}
#if XCAP_DPDK_HAS_DMA_OPS
uint16_t sec_enq_deq(void *priv, uint16_t vchan, rte_dma_op **, uint16_t)
{
	fast_path_refused(priv, vchan);
	return 0;
}
#endif

} // namespace

int dmadev_attach_secondary(const char *name, rte_device *device)
{
	/* In a secondary process this attaches to the primary's shared data,
	 * dev_private included; nothing is allocated or initialised there. */
	rte_dma_dev *dd = rte_dma_pmd_allocate(name, SOCKET_ID_ANY, sizeof(Dev));
	if (dd == nullptr) {
		XCAP_LOG(ERR, "%s: the primary process has no such dmadev: probe it in the "
			 "primary first (the same -a/--vdev arguments)", name);
		return -ENODEV;
	}
	Dev *dev = static_cast<Dev *>(dd->data->dev_private);
	dd->device = device;
	dd->dev_ops = &secondary_ops;
	rte_dma_fp_object *fp = dd->fp_obj;
	fp->dev_private = dev;
	fp->copy = sec_copy;
	fp->copy_sg = sec_copy_sg;
	fp->fill = sec_fill;
	fp->submit = sec_submit;
	fp->completed = sec_completed;
	fp->completed_status = sec_completed_status;
	fp->burst_capacity = sec_burst_capacity;
#if XCAP_DPDK_HAS_DMA_OPS
	fp->enqueue = sec_enq_deq;
	fp->dequeue = sec_enq_deq;
#endif
	dd->state = RTE_DMA_DEV_READY;
	registry_add(dev, dd);
	XCAP_LOG(INFO, "%s: attached to the primary process's device (read-only: stats, "
		 "dev_info, dump, telemetry)", name);
	return dd->data->dev_id;
}

} // namespace xcap
