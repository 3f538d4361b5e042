/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Channel priorities at the card's arbiter (HW §3.6). dmadev has one
 * priority per device (rte_dma_conf.priority, DPDK 24.11+); the card has one
 * per channel. The device priority is the default of every vchan and
 * rte_pmd_xcap_vchan_priority_set() (every DPDK version) overrides it per
 * vchan; xcap_start() writes the result to each channel's Priority register.
 * Slow path only.
 */
#include <cerrno>
#include <cstdio>

#include "rte_pmd_xcap.h"
#include <rte_eal.h>

#include "xcap_internal.h"

namespace xcap {

using hw::chan_reg;
namespace reg = hw::reg;

int priority_configure(Dev &dev, const rte_dma_conf &conf, const char *name)
{
	unsigned prio = 0;
#if XCAP_DPDK_HAS_DMA_PRIORITY
	/* dmadev checks priority < nb_priorities only when the device reports
	 * RTE_DMA_CAPA_PRI_POLICY_SP; without it the value must be 0. */
	prio = conf.priority;
	if (prio != 0 && dev.nb_priorities <= 1) {
		XCAP_LOG(ERR, "%s: priority %u: this card has no priority levels (its ArbCaps "
			 "register reports %u); use 0", name, prio, dev.nb_priorities);
		return -EINVAL;
	}
#else
	(void)conf;
	(void)name;
#endif
	dev.priority = uint8_t(prio);
	/* a new configuration: the per-vchan overrides of the old one go */
	dev.prio_override = 0;
	return 0;
}

uint32_t vchan_priority(const Dev &dev, unsigned vchan)
{
	return (dev.prio_override >> vchan) & 1 ? dev.vchan_prio[vchan] : dev.priority;
}

void priority_dump(const Dev &dev, FILE *f)
{
	if (dev.nb_priorities <= 1)
		return;
	fprintf(f, "  arbiter: %u priority levels (0 = first), device priority %u; card "
		"Priority per vchan:", dev.nb_priorities, dev.priority);
	for (unsigned v = 0; v < dev.nb_vchans; v++)
		if (dev.vchan[v].configured)
			fprintf(f, " %u:%u", v, dev.bar.read32(chan_reg(v, reg::ch::kPriority)));
	fprintf(f, "\n");
}

} // namespace xcap

extern "C" int rte_pmd_xcap_vchan_priority_set(int16_t dev_id, uint16_t vchan, uint8_t priority)
{
	using namespace xcap;
	Dev *dev = registry_find(dev_id);
	if (dev == nullptr) {
		XCAP_LOG(ERR, "dmadev %d is not an xcap device", dev_id);
		return -ENODEV;
	}
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		XCAP_LOG(ERR, "dmadev %d: vchan %u: priorities are set by the primary process, "
			 "which owns the card; a secondary process only reads its state", dev_id,
			 vchan);
		return -ENOTSUP;
	}
	const char *name = dev->dmadev->data->dev_name;
	if (dev->bar.read32(reg::kId) == hw::kAllOnes) {
		XCAP_LOG(ERR, "%s: the card reads all-ones: it is gone", name);
		return -ENODEV;
	}
	if (dev->dmadev->data->dev_started) {
		XCAP_LOG(ERR, "%s: vchan %u: the device is started; priorities are written at "
			 "rte_dma_start(): stop it first (rte_dma_stop)", name, vchan);
		return -EBUSY;
	}
	if (vchan >= dev->nb_vchans || !dev->vchan[vchan].configured) {
		XCAP_LOG(ERR, "%s: vchan %u is not set up (%u vchans configured; call "
			 "rte_dma_configure and rte_dma_vchan_setup first)", name, vchan,
			 dev->nb_vchans);
		return -EINVAL;
	}
	if (dev->nb_priorities <= 1 && priority != 0) {
		XCAP_LOG(ERR, "%s: vchan %u: priority %u: this card has no priority levels "
			 "(its ArbCaps register reports %u); only 0 is valid", name, vchan, priority,
			 dev->nb_priorities);
		return -EINVAL;
	}
	if (dev->nb_priorities > 1 && priority >= dev->nb_priorities) {
		XCAP_LOG(ERR, "%s: vchan %u: priority %u: the card has %u levels, 0 (served "
			 "first) to %u", name, vchan, priority, dev->nb_priorities,
			 dev->nb_priorities - 1);
		return -EINVAL;
	}
	dev->vchan_prio[vchan] = priority;
	dev->prio_override |= uint64_t(1) << vchan;
	return 0;
}
