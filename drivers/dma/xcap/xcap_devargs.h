/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Device arguments of the xcap PMD: "key=value,key=value" as given with
 * -a <bdf>,... (PCI card) or --vdev=dma_xcap_emu0,... (emulated card).
 * Pure C++ without DPDK so that it is unit-tested and fuzzed on its own.
 */
#ifndef XCAP_DEVARGS_H
#define XCAP_DEVARGS_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xcap_model.h"

namespace xcap {

/* Which device the arguments are for: the PCI card takes only driver
 * policy; the emulated card also describes the card itself. */
enum class DevargsTarget { Pci, Emu };

struct Devargs {
	/* driver policy, both targets */
	bool halt_on_error = false;
	/* enq_deq=0: do not offer RTE_DMA_CAPA_OPS_ENQ_DEQ (DPDK 25.03+), for
	 * programs whose op-mode code treats IOVAs as pointers and so works
	 * only with --iova-mode=va (DPDK 25.11's own dma_enq_deq test case) */
	bool enq_deq = true;

	/* emulated card only */
	model::CardConfig card;             /* channels, limits, null engine, cpu, caps_ops,
					      * ready_delay_ms, quiesce_ms, strict */
	int lcore = -1;                      /* EAL lcore whose CPU runs the card thread */
	int numa = -1;                       /* NUMA node the card reports; -1 = caller's */
	model::CaptureProfile capture;       /* applied to every capture channel */
	model::FaultPlan fault;              /* applied to every channel */
	bool fault_set = false;
};

/* Parse args (may be empty). On error returns false and sets err to a
 * message that names the key, the value and what is allowed. */
bool parse_devargs(std::string_view args, DevargsTarget target, Devargs &out,
		   std::string &err);

/* One line per accepted key with its range, for RTE_PMD_REGISTER_PARAM_STRING
 * and error messages. */
const char *devargs_help(DevargsTarget target);

} // namespace xcap

#endif /* XCAP_DEVARGS_H */
