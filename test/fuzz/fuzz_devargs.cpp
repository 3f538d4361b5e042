/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * libFuzzer target: the PMD's devargs parser (xcap::parse_devargs), which
 * reads whatever follows -a <bdf>, or --vdev=dma_xcap_emu0, on a command
 * line. The first byte picks the target (PCI card or emulated card); the
 * rest is the argument string. Whatever it accepts must be a card
 * configuration the device model accepts too.
 */
#include <cstdint>
#include <string>
#include <string_view>

#include "xcap_devargs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const auto target = (data[0] & 1) ? xcap::DevargsTarget::Emu : xcap::DevargsTarget::Pci;
	/* a heap copy of exactly the argument bytes, no terminator: the parser
	 * takes a string_view and must not read past it */
	const std::string args(reinterpret_cast<const char *>(data + 1), size - 1);
	xcap::Devargs d;
	std::string err;
	const bool ok = xcap::parse_devargs(std::string_view(args.data(), args.size()), target, d, err);
	if (!ok && err.empty())
		__builtin_trap(); /* every rejection says why */
	if (ok && target == xcap::DevargsTarget::Emu) {
		const auto &c = d.card;
		const unsigned n = c.copy_channels + c.capture_channels;
		if (n < 1 || n > 64 || c.max_ring_log2 < 1 || c.max_ring_log2 > 15 || c.max_sge < 1 ||
		    c.max_sge > xcap::hw::kMaxSgeLimit || c.addr_width < 32 || c.addr_width > 64 ||
		    (c.caps_ops & ~xcap::hw::kOpsSupported) || c.ready_delay_ms > 60000 ||
		    c.quiesce_ms > 60000)
			__builtin_trap(); /* accepted, yet the model would refuse it */
	}
	(void)xcap::devargs_help(target);
	return 0;
}
