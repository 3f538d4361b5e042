/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * libFuzzer target: lib/capture's capture buffer parser (HW §8). The input
 * is a completed capture buffer exactly as the card left it; its size is
 * the posted length. The parser must never read outside it (ASan checks:
 * the bytes live in a heap block of exactly that size), and what it returns
 * must stay inside it and add up.
 */
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "xcap_capture_parse.h"

using namespace xcap::capture;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copy: one byte beyond is a heap-buffer-overflow */
	uint8_t *buf = static_cast<uint8_t *>(std::malloc(size ? size : 1));
	if (size)
		std::memcpy(buf, data, size);
	BufferParser p;
	const bool ok = p.begin(buf, size, 3);
	if (ok) {
		const auto &h = p.header();
		if (h.bytes_used > size || h.bytes_used < sizeof(xcap::hw::CaptureBufferHeader))
			__builtin_trap();
	}
	/* vary the batch size with the input, as a stream would */
	const uint32_t batch = size ? 1 + data[size - 1] % 7 : 1;
	Record r[8];
	uint64_t sum = 0;
	uint32_t n, total = 0;
	while ((n = p.next(r, batch)) != 0) {
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *end = r[i].data + r[i].cap_len;
			if (r[i].data < buf || end > buf + size || r[i].cap_len > r[i].wire_len ||
			    r[i].channel != 3)
				__builtin_trap();
			/* touch the payload: ASan flags anything outside */
			if (r[i].cap_len)
				sum += r[i].data[0] + r[i].data[r[i].cap_len - 1];
		}
		total += n;
		if (total > size) /* every record takes at least 16 bytes */
			__builtin_trap();
	}
	if (!p.done() || p.records_read() != total)
		__builtin_trap();
	if (ok && uint64_t(p.records_read()) + p.records_malformed() != p.header().record_count)
		__builtin_trap();
	(void)buffer_error_name(p.error());
	const BufferSummary s = summarize_buffer(buf, size);
	if (s.records != total || s.error != p.error())
		__builtin_trap();
	std::free(buf);
	return sum == 0xdeadbeef ? 0 : 0;
}
