/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * libFuzzer target: xcap-dma-perf's config.ini parser (app/dma-perf,
 * DPDK-free). The input is a config file's text; a config it accepts is
 * expanded into scenarios, which must stay within the parser's limits.
 */
#include <cstdint>
#include <string>
#include <string_view>

#include "perf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string text(reinterpret_cast<const char *>(data), size);
	dmaperf::Config cfg;
	const auto errs = dmaperf::parse_config(std::string_view(text.data(), text.size()), "fuzz.ini", cfg);
	for (const auto &e : errs)
		if (e.empty())
			__builtin_trap();
	if (errs.empty()) {
		for (const auto &c : cfg.cases) {
			(void)dmaperf::split_args(c.eal_args);
			if (c.skip)
				continue;
			const auto sc = dmaperf::expand(c);
			if (sc.size() > dmaperf::kMaxScenarios)
				__builtin_trap();
			for (const auto &s : sc)
				if (s.ring_size > dmaperf::kMaxRing || s.mem_size > dmaperf::kMaxMemSizeMb)
					__builtin_trap();
		}
	}
	(void)dmaperf::default_result_path(text.substr(0, 64));
	return 0;
}
