/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * vdev front end: --vdev=dma_xcap_emu<N>[,devargs] builds a device model
 * (lib/model), gives it a BAR0 window and an emulated IOMMU filled with the
 * memory DPDK registered for DMA, and hands the BAR0 pointer to the same
 * core the PCI card uses. Everything above BAR access is shared.
 */
#include <cerrno>
#include <cinttypes>
#include <exception>
#include <memory>
#include <string>

#include <sys/mman.h>

#include <bus_vdev_driver.h>
#include <rte_dmadev_pmd.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include "xcap_devargs.h"
#include "xcap_emu.h"
#include "xcap_internal.h"
#include "xcap_model.h"

namespace xcap {
namespace {

/* BAR0 of the emulated card: zeroed, page-aligned memory. */
class BarMemory {
public:
	BarMemory()
	{
		void *p = mmap(nullptr, hw::kBar0Size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			throw std::runtime_error("cannot map 64 KiB for the emulated BAR0");
		mem_ = static_cast<uint8_t *>(p);
	}
	~BarMemory() { munmap(mem_, hw::kBar0Size); }
	BarMemory(const BarMemory &) = delete;
	BarMemory &operator=(const BarMemory &) = delete;
	uint8_t *get() const { return mem_; }

private:
	uint8_t *mem_;
};

class EmuCard final : public Backend {
public:
	EmuCard(std::string name, const model::CardConfig &cfg)
		: name_(std::move(name)), iommu_(cfg.addr_width), card_(cfg, bar_.get(), iommu_),
		  port_{port_read32, port_write32, &card_}
	{
		cb_name_ = "xcap_emu:" + name_;
		/* Everything DPDK has mapped for DMA now... */
		rte_memseg_walk(map_memseg, this);
		/* ...and whatever it maps or unmaps later (dynamic memory mode). */
		if (rte_mem_event_callback_register(cb_name_.c_str(), mem_event, this) == 0)
			cb_registered_ = true;
		else if (rte_errno != ENOTSUP)
			throw std::runtime_error("cannot register a memory event callback: " +
						 std::string(rte_strerror(rte_errno)));
		if (card_.start() != 0)
			throw std::runtime_error("cannot start the card's engine thread");
	}
	~EmuCard() override
	{
		if (cb_registered_)
			rte_mem_event_callback_unregister(cb_name_.c_str(), this);
		card_.stop();
	}

	volatile uint8_t *bar() { return bar_.get(); }
	/* The driver's slow-path register accesses go through the model's
	 * register port (HW §2.4: it checks each access and implements the
	 * counter latch); the doorbell is a direct store the model samples. */
	const BarPort *port() const { return &port_; }
	model::Card &card() { return card_; }
	model::Iommu &iommu() { return iommu_; }

	void dump(FILE *f) const override
	{
		fprintf(f, "  emulated card %s: IOMMU %zu mapped ranges, %u-bit; %s\n",
			name_.c_str(), iommu_.ranges(), iommu_.addr_width(),
			card_.vanished() ? "VANISHED (fault injection)" : "present");
		const auto &cfg = card_.config();
		for (unsigned c = 0; c < cfg.capture_channels; c++) {
			const auto k = card_.capture_counters(c);
			fprintf(f, "    capture %u (vchan %u): generated %" PRIu64 " delivered %"
				PRIu64 " lost no-buffer %" PRIu64 " lost overrun %" PRIu64 "\n", c,
				cfg.copy_channels + c, k.generated, k.delivered, k.lost_no_buffer,
				k.lost_overrun);
		}
	}

private:
	static uint32_t port_read32(void *card, uint32_t off)
	{
		return static_cast<model::Card *>(card)->mmio_read32(off);
	}
	static void port_write32(void *card, uint32_t off, uint32_t v)
	{
		static_cast<model::Card *>(card)->mmio_write32(off, v);
	}

	static int map_memseg(const rte_memseg_list *, const rte_memseg *ms, void *arg)
	{
		auto *self = static_cast<EmuCard *>(arg);
		if (ms->iova != RTE_BAD_IOVA && ms->addr != nullptr)
			self->iommu_.map(ms->iova, ms->len, ms->addr);
		return 0;
	}

	/* Called by EAL with its memory lock held: only thread-unsafe lookups. */
	static void mem_event(rte_mem_event type, const void *addr, size_t len, void *arg)
	{
		auto *self = static_cast<EmuCard *>(arg);
		const rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);
		if (msl == nullptr)
			return;
		for (size_t off = 0; off < len; off += msl->page_sz) {
			const auto *va = static_cast<const uint8_t *>(addr) + off;
			const rte_memseg *ms = rte_mem_virt2memseg(va, msl);
			if (ms == nullptr || ms->iova == RTE_BAD_IOVA)
				continue;
			if (type == RTE_MEM_EVENT_ALLOC)
				self->iommu_.map(ms->iova, ms->len, ms->addr);
			else
				self->iommu_.unmap(ms->iova, ms->len);
		}
	}

	std::string name_, cb_name_;
	bool cb_registered_ = false;
	BarMemory bar_;
	model::Iommu iommu_;
	model::Card card_;
	BarPort port_;
};

EmuCard *emu_of(rte_device *dev)
{
	const int id = rte_dma_get_dev_id_by_name(dev->name);
	if (id < 0)
		return nullptr;
	auto *d = static_cast<Dev *>(rte_dma_fp_objs[id].dev_private);
	return d ? dynamic_cast<EmuCard *>(d->backend.get()) : nullptr;
}

bool node_known(int node)
{
	for (unsigned i = 0; i < rte_socket_count(); i++)
		if (rte_socket_id_by_idx(i) == node)
			return true;
	return false;
}

int emu_probe(rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	const char *args = rte_vdev_device_args(vdev);
	/* The emulated card lives in the primary process; a secondary attaches
	 * to the primary's device and never sees the card (xcap_secondary.cpp). */
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		const int id = dmadev_attach_secondary(name, &vdev->device);
		return id < 0 ? id : 0;
	}
	Devargs d;
	std::string err;
	if (!parse_devargs(args ? args : "", DevargsTarget::Emu, d, err)) {
		XCAP_LOG(ERR, "%s: %s", name, err.c_str());
		return -EINVAL;
	}
	int numa = d.numa >= 0 ? d.numa : int(rte_socket_id());
	if (numa >= RTE_MAX_NUMA_NODES) {
		XCAP_LOG(ERR, "%s: devarg numa=%d: DPDK supports nodes 0..%d", name, numa,
			 RTE_MAX_NUMA_NODES - 1);
		return -EINVAL;
	}
	if (!node_known(numa))
		XCAP_LOG(WARNING, "%s: numa=%d: EAL knows no memory on node %d; rings will be "
			 "placed on another node", name, numa, numa);
	if (d.lcore >= 0) {
		/* The lcore's CPU set, not its "core id": with --lcores remapping
		 * (2@1) the two differ. */
		int cpu = -1;
		if (d.lcore < RTE_MAX_LCORE) {
			const rte_cpuset_t set = rte_lcore_cpuset(unsigned(d.lcore));
			for (int c = 0; c < CPU_SETSIZE && cpu < 0; c++)
				if (CPU_ISSET(c, &set))
					cpu = c;
		}
		if (cpu < 0) {
			XCAP_LOG(ERR, "%s: devarg lcore=%d: no such lcore (an EAL lcore 0..%d with "
				 "a CPU)", name, d.lcore, RTE_MAX_LCORE - 1);
			return -EINVAL;
		}
		d.card.cpu = cpu;
		if (rte_lcore_is_enabled(unsigned(d.lcore)))
			XCAP_LOG(WARNING, "%s: lcore=%d is also an EAL lcore: the card thread will "
				 "share CPU %d with it", name, d.lcore, d.card.cpu);
	}
	d.card.capture.assign(d.card.capture_channels, d.capture);
	d.card.name = name;
	/* The model's contract violations (docs/model.md) in the PMD's log,
	 * under the device's name. */
	const std::string dev_name = name;
	d.card.log = [dev_name](const char *line) {
		XCAP_LOG(ERR, "%s: %s", dev_name.c_str(), line);
	};

	std::unique_ptr<EmuCard> card;
	try {
		card = std::make_unique<EmuCard>(name, d.card);
	} catch (const std::exception &e) {
		XCAP_LOG(ERR, "%s: cannot create the emulated card: %s", name, e.what());
		return -EINVAL;
	}
	if (d.fault_set)
		for (unsigned c = 0; c < d.card.copy_channels + d.card.capture_channels; c++)
			card->card().set_fault(c, d.fault);

	vdev->device.numa_node = numa;
	volatile uint8_t *bar = card->bar();
	const BarPort *port = card->port();
	const int id = dmadev_create(CreateParams{name, &vdev->device, bar, port, numa,
						  d.halt_on_error, d.enq_deq, std::move(card)});
	return id < 0 ? id : 0;
}

int emu_remove(rte_vdev_device *vdev)
{
	return dmadev_destroy(rte_vdev_device_name(vdev));
}

/* Memory registered with rte_dev_dma_map() (external memory) becomes
 * reachable by the card, as VFIO would make it for a PCI card. */
int emu_dma_map(rte_vdev_device *vdev, void *addr, uint64_t iova, size_t len)
{
	EmuCard *c = emu_of(&vdev->device);
	if (c == nullptr)
		return -ENODEV;
	return c->iommu().map(iova, len, addr);
}

int emu_dma_unmap(rte_vdev_device *vdev, void *, uint64_t iova, size_t len)
{
	EmuCard *c = emu_of(&vdev->device);
	if (c == nullptr)
		return -ENODEV;
	return c->iommu().unmap(iova, len);
}

rte_vdev_driver emu_driver = {
	.probe = emu_probe,
	.remove = emu_remove,
	.dma_map = emu_dma_map,
	.dma_unmap = emu_dma_unmap,
};

} // namespace

model::Card *emu_card(int16_t dev_id)
{
	if (!rte_dma_is_valid(dev_id))
		return nullptr;
	auto *d = static_cast<Dev *>(rte_dma_fp_objs[dev_id].dev_private);
	auto *c = d ? dynamic_cast<EmuCard *>(d->backend.get()) : nullptr;
	return c ? &c->card() : nullptr;
}

RTE_PMD_REGISTER_VDEV(dma_xcap_emu, emu_driver);
RTE_PMD_REGISTER_PARAM_STRING(dma_xcap_emu,
	"copy_channels=<0..32> capture_channels=<0..32> numa=<node> lcore=<lcore> "
	"max_ring=<2..32768> max_xfer=<bytes> max_sge=<1..128> addr_width=<32..64> null=<0|1> "
	"priorities=<0..16> halt_on_error=<0|1> enq_deq=<0|1> cap_rate=<rate> cap_frame=<size|min-max|imix> "
	"cap_count=<n> cap_fifo=<n> cap_delay=<us> fail_nth=<n> fail_every=<n> "
	"fail_status=<status> ready_delay_ms=<0..60000> caps_ops=<mask> quiesce_ms=<0..60000> "
	"strict=<0|1>");

} // namespace xcap
