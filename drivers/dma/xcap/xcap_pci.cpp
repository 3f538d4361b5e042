/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * PCI front end: an xcap card bound to vfio-pci. The bus maps BAR0 and tells
 * the device's NUMA node; everything else is the shared core. Nothing here
 * may assume the card is emulated.
 */
#include <cerrno>
#include <string>

#include <bus_pci_driver.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>

#include "xcap_devargs.h"
#include "xcap_internal.h"

namespace xcap {
namespace {

/* The xcap card itself, and a QEMU ivshmem-plain device whose shared-memory
 * BAR carries an xcap register window (docs/model.md §1: how the HIL
 * guest gets a card). An ivshmem device without the xcap identity is left
 * alone for whatever else uses ivshmem. */
constexpr uint16_t kIvshmemVendor = 0x1af4, kIvshmemDevice = 0x1110;
constexpr unsigned kIvshmemRegBar = 2;

const rte_pci_id pci_ids[] = {
	{RTE_PCI_DEVICE(hw::kPciVendorId, hw::kPciDeviceId)},
	{RTE_PCI_DEVICE(kIvshmemVendor, kIvshmemDevice)},
	{.vendor_id = 0},
};

bool is_ivshmem(const rte_pci_device *pdev)
{
	return pdev->id.vendor_id == kIvshmemVendor && pdev->id.device_id == kIvshmemDevice;
}

int pci_probe(rte_pci_driver *, rte_pci_device *pdev)
{
	const char *name = pdev->device.name;
	const char *args = pdev->device.devargs ? pdev->device.devargs->args : "";
	Devargs d;
	std::string err;
	if (!parse_devargs(args ? args : "", DevargsTarget::Pci, d, err)) {
		XCAP_LOG(ERR, "%s: %s", name, err.c_str());
		return -EINVAL;
	}
	/* A secondary process attaches to what its primary probed and reads
	 * nothing of the card (xcap_secondary.cpp). */
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		const int id = dmadev_attach_secondary(name, &pdev->device);
		return id >= 0 ? 0 : is_ivshmem(pdev) ? 1 : id;
	}
	const unsigned bar_idx = is_ivshmem(pdev) ? kIvshmemRegBar : hw::kRegBar;
	const rte_mem_resource &bar = pdev->mem_resource[bar_idx];
	if (bar.addr == nullptr || bar.len < hw::kBar0Size) {
		if (is_ivshmem(pdev))
			return 1; /* not an xcap window: not ours */
		XCAP_LOG(ERR, "%s: BAR%u is not mapped (length %" PRIu64 ", need %zu): bind the "
			 "card to vfio-pci (usertools/xcap-devbind.py -b vfio-pci %s)", name,
			 bar_idx, bar.len, hw::kBar0Size, name);
		return -ENODEV;
	}
	if (is_ivshmem(pdev) &&
	    rte_read32(static_cast<volatile uint8_t *>(bar.addr) + hw::reg::kId) != hw::kMagic) {
		XCAP_LOG(INFO, "%s: ivshmem device without an xcap register window: skipped", name);
		return 1;
	}
	int numa = pdev->device.numa_node;
	if (numa < 0)
		XCAP_LOG(WARNING, "%s: the platform reports no NUMA node for the card; rings "
			 "go wherever memory is", name);
	const int id = dmadev_create(CreateParams{name, &pdev->device,
						  static_cast<volatile uint8_t *>(bar.addr), nullptr,
						  numa, d.halt_on_error, d.enq_deq, nullptr});
	return id < 0 ? id : 0;
}

int pci_remove(rte_pci_device *pdev)
{
	return dmadev_destroy(pdev->device.name);
}

rte_pci_driver pci_driver = {
	.probe = pci_probe,
	.remove = pci_remove,
	.id_table = pci_ids,
	.drv_flags = RTE_PCI_DRV_NEED_MAPPING,
};

} // namespace

RTE_PMD_REGISTER_PCI(dma_xcap, pci_driver);
RTE_PMD_REGISTER_PCI_TABLE(dma_xcap, pci_ids);
RTE_PMD_REGISTER_KMOD_DEP(dma_xcap, "vfio-pci");
RTE_PMD_REGISTER_PARAM_STRING(dma_xcap, "halt_on_error=<0|1> enq_deq=<0|1>");

} // namespace xcap
