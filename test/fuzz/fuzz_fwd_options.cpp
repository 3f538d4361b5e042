/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * libFuzzer target: xcap-fwd's option parser (app/fwd, DPDK-free, the part
 * of the command line after EAL's "--"). The input is split at NUL bytes
 * into argv[1..]; each argument is its own heap block of exactly its length
 * plus the terminator.
 */
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fwd_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::vector<std::unique_ptr<char[]>> store;
	auto add = [&store](const char *p, size_t n) {
		auto a = std::make_unique<char[]>(n + 1);
		std::memcpy(a.get(), p, n);
		a[n] = '\0';
		store.push_back(std::move(a));
	};
	add("xcap-fwd", 8);
	const char *p = reinterpret_cast<const char *>(data);
	size_t start = 0;
	for (size_t i = 0; i <= size && store.size() < 64; i++)
		if (i == size || data[i] == 0) {
			add(p + start, i - start);
			start = i + 1;
		}
	std::vector<char *> argv;
	for (auto &a : store)
		argv.push_back(a.get());
	argv.push_back(nullptr);
	xcap::fwd::Options o;
	std::string err;
	const bool ok = xcap::fwd::parse_options(int(argv.size() - 1), argv.data(), o, err);
	if (!ok && err.empty())
		__builtin_trap();
	/* the helpers on the raw text, too */
	const std::string s(p, size);
	uint64_t v = 0;
	(void)xcap::fwd::parse_size(s, v);
	std::vector<unsigned> l;
	(void)xcap::fwd::parse_list(s, l, 1024);
	if (l.size() > 1025) /* distinct values 0..1024 */
		__builtin_trap();
	return 0;
}
