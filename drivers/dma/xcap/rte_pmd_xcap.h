/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap PMD specific API (slow path). C, callable from C and C++.
 *
 * lib/capture declares the one it uses (rte_pmd_xcap_capture_counters) weak:
 * a program that links the PMD in (the tests and apps here, with link_whole)
 * gets it; a program that loads the PMD as a plugin (-d) does not, and the
 * capture library then accounts from buffer headers only (docs/capture.md).
 */
#ifndef RTE_PMD_XCAP_H
#define RTE_PMD_XCAP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The card's capture counters of one channel (HW §3.1 CntRec, CntLost,
 * CntOvr), since the channel was last reset (rte_dma_start resets every
 * channel). Final once the channel is Disabled after rte_dma_stop()
 * (HW §8.4). */
struct rte_pmd_xcap_capture_counters {
	uint64_t records;        /* CntRec: records in buffers the card completed */
	uint64_t lost_no_buffer; /* CntLost */
	uint64_t lost_overrun;   /* CntOvr */
};

/* 0; -ENODEV: dev_id is not an xcap card, or the card reads all-ones
 * (gone); -EINVAL: vchan is not a configured capture vchan. One MMIO read per
 * register: slow path only. */
int rte_pmd_xcap_capture_counters(int16_t dev_id, uint16_t vchan,
				  struct rte_pmd_xcap_capture_counters *out);

/**
 * Set the priority of one vchan at the card's arbiter, in place of the
 * device priority for that vchan.
 *
 * The card has one DMA engine for all its channels. Before each unit of work
 * (one descriptor on a copy vchan, one record on a capture vchan) it serves
 * a ready channel of the highest priority; channels of equal priority take
 * turns (round robin). A lower value is a higher priority, 0 the highest; 0
 * everywhere is plain round robin (docs/hardware.md section 3.6). dmadev's
 * priority (rte_dma_conf.priority, DPDK 24.11 and later) is one per device;
 * the card's is one per channel: this function gives one vchan its own, for
 * example a capture vchan that must keep up with the wire while copy vchans
 * of the same device keep the engine busy.
 *
 * Slow path. Call it after rte_dma_configure() and rte_dma_vchan_setup() of
 * this vchan, before rte_dma_start() or while the device is stopped; the
 * value reaches the card at the next rte_dma_start() and holds until the
 * next rte_dma_configure(). Available on every DPDK version xcap supports.
 *
 * @param dev_id
 *   The identifier of an xcap DMA device.
 * @param vchan
 *   The vchan, set up with rte_dma_vchan_setup().
 * @param priority
 *   0 (served first) to nb_priorities - 1: the card's number of levels, as
 *   rte_dma_info_get() reports it in nb_priorities on DPDK 24.11 and later.
 *   A card without priority levels accepts only 0.
 *
 * @return
 *   0 on success. Otherwise, with the reason logged (logtype pmd.dma.xcap):
 *   - -ENODEV: dev_id is not an xcap device, or the card reads all-ones
 *     (it is gone);
 *   - -EBUSY: the device is started (rte_dma_stop() first);
 *   - -EINVAL: vchan is not set up, or priority is not below the card's
 *     number of priority levels.
 */
int rte_pmd_xcap_vchan_priority_set(int16_t dev_id, uint16_t vchan, uint8_t priority);

#ifdef __cplusplus
}
#endif

#endif /* RTE_PMD_XCAP_H */
