/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap PMD specific API (slow path). C, callable from C and C++.
 *
 * lib/capture declares these weak: a program that links the PMD in (the
 * tests and apps here, with link_whole) gets them; a program that loads the
 * PMD as a plugin (-d) does not, and the capture library then accounts from
 * buffer headers only (docs/capture.md).
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

#ifdef __cplusplus
}
#endif

#endif /* RTE_PMD_XCAP_H */
