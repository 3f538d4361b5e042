/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * rte_dma_dump() of an xcap device: the driver's view of each vchan and,
 * in the primary process, the card's (its registers, counters and the
 * emulated card's accounting). A secondary process prints the driver's
 * view only: it never touches the card (reading a counter's Lo word moves
 * the latch the primary may be using, HW §2.4). "HW §n" cites
 * docs/hardware.md.
 */
#include <cinttypes>
#include <cstdio>

#include <rte_dmadev_pmd.h>
#include <rte_eal.h>

#include "xcap_card.h"
#include "xcap_internal.h"

namespace xcap {
namespace {

using hw::chan_reg;
namespace reg = hw::reg;

void dump_card_channel(const Dev &dev, unsigned v, FILE *f)
{
	const Bar &bar = dev.bar;
	const uint32_t st = bar.read32(chan_reg(v, reg::ch::kStatus));
	const uint32_t code = bar.read32(chan_reg(v, reg::ch::kErrCode));
	fprintf(f, "    card: ctrl 0x%x state %s%s hw head %u; error %u (%s) at index %u "
		"address 0x%" PRIx64 "\n", bar.read32(chan_reg(v, reg::ch::kCtrl)),
		state_name(st), (st != hw::kAllOnes && (st & hw::chstatus::kBusy)) ? " busy" : "",
		bar.read32(chan_reg(v, reg::ch::kHwHead)), code, status_name(code),
		bar.read32(chan_reg(v, reg::ch::kErrIndex)),
		bar.read_lo_hi(chan_reg(v, reg::ch::kErrAddrLo)));
	fprintf(f, "    card counters: descriptors %" PRIu64 " errors %" PRIu64 " bytes %" PRIu64,
		read_counter(dev, v, reg::ch::kCntDescLo), read_counter(dev, v, reg::ch::kCntErrLo),
		read_counter(dev, v, reg::ch::kCntBytesLo));
	if (dev.vchan[v].kind == hw::ChannelKind::Capture)
		fprintf(f, " records %" PRIu64 " lost (no buffer) %" PRIu64 " lost (overrun) %"
			PRIu64, read_counter(dev, v, reg::ch::kCntRecLo),
			read_counter(dev, v, reg::ch::kCntLostLo),
			read_counter(dev, v, reg::ch::kCntOvrLo));
	fprintf(f, "\n");
}

} // namespace

int xcap_dump(const rte_dma_dev *dd, FILE *f)
{
	const Dev *dev = static_cast<const Dev *>(dd->data->dev_private);
	const bool primary = rte_eal_process_type() == RTE_PROC_PRIMARY;
	fprintf(f, "xcap %s: card v%u.%u, %u copy + %u capture channels, ops 0x%02x, ring <= "
		"%u, xfer <= %u B, %u SGEs, %u-bit DMA%s, halt_on_error=%d, NUMA node %d\n",
		dd->data->dev_name, dev->version >> 16, dev->version & 0xffff, dev->n_copy,
		dev->n_capture, dev->caps1, 1u << dev->max_ring_log2, dev->max_xfer, dev->max_sge,
		dev->addr_width, dev->null_engine ? ", null engine" : "", dev->halt_on_error,
		dd->device->numa_node);
	if (primary) {
		const Bar &bar = dev->bar;
		if (bar.read32(reg::kId) == hw::kAllOnes)
			fprintf(f, "  CARD NOT RESPONDING: BAR0 reads all-ones (removed, link down, "
				"reset, or blocked by the IOMMU)\n");
		char why[256];
		const char *fatal = check_fatal(bar, why, sizeof(why));
		fprintf(f, "  global: ctrl 0x%x status 0x%x fatal 0x%x host errors 0x%x%s%s\n",
			bar.read32(reg::kGlobalCtrl), bar.read32(reg::kGlobalStatus),
			bar.read32(reg::kFatalCode), bar.read32(reg::kHostErrStatus),
			fatal ? ": " : "", fatal ? fatal : "");
		priority_dump(*dev, f);
	} else {
		fprintf(f, "  (secondary process: the driver's state only; the card's registers "
			"are read by the primary, which owns the card)\n");
	}
	for (unsigned v = 0; v < dev->nb_vchans; v++) {
		const Vchan &vc = dev->vchan[v];
		if (!vc.configured) {
			fprintf(f, "  vchan %u: not set up\n", v);
			continue;
		}
		fprintf(f, "  vchan %u (%s): %u entries, ring iova 0x%" PRIx64 ", completions iova "
			"0x%" PRIx64 ", memzone %s on socket %d\n", v,
			vc.kind == hw::ChannelKind::Capture ? "capture" : "copy", vc.nb_desc,
			vc.ring_iova.value, vc.cpl_iova.value, vc.mz.get()->name,
			vc.mz.get()->socket_id);
		fprintf(f, "    driver: next %u submitted %u head %u in flight %u; stats "
			"submitted %" PRIu64 " completed %" PRIu64 " errors %" PRIu64
			" card faults %" PRIu64 "%s%s\n", vc.next, vc.submitted, vc.head,
			uint16_t(vc.next - vc.head), vc.stat_submitted, vc.stat_completed,
			vc.stat_errors, vc.card_faults, vc.failed ? "; FAILED: " :
			vc.fault[0] ? "; last card fault: " : "", vc.fault);
		if (primary)
			dump_card_channel(*dev, v, f);
	}
	/* The backend lives in the primary's heap (its vtable too). */
	if (primary && dev->backend)
		dev->backend->dump(f);
	return 0;
}

} // namespace xcap
