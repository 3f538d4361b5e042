/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Everything in xcap that differs between the DPDK versions it supports
 * (22.11, 24.11, 25.11; docs/getting-started.md "DPDK versions"), in one
 * place, keyed on RTE_VERSION. Code elsewhere tests the feature macros below,
 * never RTE_VERSION itself, so that each difference has one name and one
 * reason.
 */
#ifndef XCAP_DPDK_COMPAT_H
#define XCAP_DPDK_COMPAT_H

#include <stdint.h>

#include <rte_log.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#if RTE_VERSION < RTE_VERSION_NUM(22, 11, 0, 0)
#error "xcap needs DPDK 22.11 or newer (docs/getting-started.md)"
#endif

/* 24.03 moved logging to per-line macros (RTE_LOG_LINE*: the macro adds the
 * newline and rejects a format that has one); 22.11 has only rte_log(). */
#define XCAP_DPDK_HAS_LOG_LINE (RTE_VERSION >= RTE_VERSION_NUM(24, 3, 0, 0))

/* 24.11: dmadev strict priority scheduling (RTE_DMA_CAPA_PRI_POLICY_SP,
 * rte_dma_info.nb_priorities, rte_dma_conf.priority). */
#define XCAP_DPDK_HAS_DMA_PRIORITY (RTE_VERSION >= RTE_VERSION_NUM(24, 11, 0, 0))

/* 25.03: op-based enqueue/dequeue (RTE_DMA_CAPA_OPS_ENQ_DEQ,
 * RTE_DMA_CFG_FLAG_ENQ_DEQ, rte_dma_enqueue_ops/rte_dma_dequeue_ops), the
 * path DPDK's event DMA adapter uses. */
#define XCAP_DPDK_HAS_DMA_OPS (RTE_VERSION >= RTE_VERSION_NUM(25, 3, 0, 0))

/* rte_dma_conf: 25.03 replaced the bool enable_silent with flags
 * (RTE_DMA_CFG_FLAG_SILENT, RTE_DMA_CFG_FLAG_ENQ_DEQ). */
#define XCAP_DPDK_HAS_DMA_CONF_FLAGS (RTE_VERSION >= RTE_VERSION_NUM(25, 3, 0, 0))

/* The driver's log type, registered in xcap_dmadev.cpp as pmd.dma.xcap. */
extern int xcap_logtype;
#define RTE_LOGTYPE_XCAP xcap_logtype

/* XCAP_LOG(level, fmt, ...): one line, no trailing newline in fmt, prefixed
 * with "xcap: <function>(): ". */
#if XCAP_DPDK_HAS_LOG_LINE
#define XCAP_LOG(level, ...) RTE_LOG_LINE_PREFIX(level, XCAP, "xcap: %s(): ", __func__, __VA_ARGS__)
#else
#define XCAP_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, xcap_logtype, "xcap: %s(): " fmt "\n", __func__, ##__VA_ARGS__)
#endif

/* Telemetry: 23.03 renamed rte_tel_data_add_dict_u64 to ..._uint (and
 * deprecated the old name). */
static inline int xcap_tel_dict_add_u64(struct rte_tel_data *d, const char *name, uint64_t value)
{
#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0)
	return rte_tel_data_add_dict_uint(d, name, value);
#else
	return rte_tel_data_add_dict_u64(d, name, value);
#endif
}

/* xcap_ring_create_elem() = rte_ring_create_elem(), callable from C++.
 * Since 24.11 rte_ring_elem.h has no extern "C" block (rte_ring.h includes it
 * before opening its own), so in C++ it declares rte_ring_create_elem() with
 * C++ linkage and a call fails to link ("undefined reference to
 * rte_ring_create_elem(char const*, ...)"); every C++ file that includes
 * <rte_mbuf.h> sees that declaration first. The asm label binds this
 * declaration to the library's C symbol whatever the header did, on every
 * version. */
#ifdef __cplusplus
struct rte_ring;
extern "C" struct rte_ring *xcap_ring_create_elem(const char *name, unsigned int esize,
						  unsigned int count, int socket_id,
						  unsigned int flags) __asm__("rte_ring_create_elem");
#else
#define xcap_ring_create_elem rte_ring_create_elem
#endif

/* Silent mode (no completion reporting) requested in a device configuration,
 * and the request to make one. xcap refuses silent mode (the card always
 * writes completions, docs/hardware.md §6). */
#include <rte_dmadev.h>
static inline int xcap_dma_conf_silent(const struct rte_dma_conf *conf)
{
#if XCAP_DPDK_HAS_DMA_CONF_FLAGS
	return (conf->flags & RTE_DMA_CFG_FLAG_SILENT) != 0;
#else
	return conf->enable_silent;
#endif
}

static inline void xcap_dma_conf_request_silent(struct rte_dma_conf *conf)
{
#if XCAP_DPDK_HAS_DMA_CONF_FLAGS
	conf->flags |= RTE_DMA_CFG_FLAG_SILENT;
#else
	conf->enable_silent = true;
#endif
}

#endif /* XCAP_DPDK_COMPAT_H */
