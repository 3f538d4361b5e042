/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Test helpers without DPDK: build capture buffers as the card would (HW §8)
 * and place them so that reading one byte past the end faults (a guard page
 * right behind the buffer).
 */
#ifndef XCAP_TEST_BUFFER_BUILDER_H
#define XCAP_TEST_BUFFER_BUILDER_H

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "xcap_hw_defs.h"
#include "xcap_model.h"

namespace xcap::test {

/* A well-formed buffer: header + records of the generator's payload. */
struct BufferBuilder {
	std::vector<uint8_t> b;
	hw::CaptureBufferHeader h{};

	explicit BufferBuilder(size_t len) : b(len, 0)
	{
		h.magic = hw::kCaptureMagic;
		h.bytes_used = sizeof(hw::CaptureBufferHeader);
		h.flags = hw::bflag::kFull;
	}
	/* false if it does not fit */
	bool add(uint64_t seq, uint32_t wire_len, uint32_t cap_len, uint64_t ts)
	{
		const uint32_t stride = hw::record_stride(cap_len);
		if (h.bytes_used + stride > b.size())
			return false;
		hw::RecordHeader rh{};
		rh.ts_ns = ts;
		rh.wire_len = wire_len;
		rh.cap_len = uint16_t(cap_len);
		rh.flags = cap_len < wire_len ? hw::rflag::kTruncated : 0;
		std::memcpy(&b[h.bytes_used], &rh, sizeof rh);
		for (uint32_t i = 0; i < cap_len; i++)
			b[h.bytes_used + sizeof rh + i] = model::payload_byte(seq, i);
		if (h.record_count == 0)
			h.first_ts_ns = ts;
		h.last_ts_ns = ts;
		h.record_count++;
		h.bytes_used += stride;
		return true;
	}
	std::vector<uint8_t> &finish()
	{
		std::memcpy(b.data(), &h, sizeof h);
		return b;
	}
	/* offset of record i's header */
	uint32_t record_offset(uint32_t i) const
	{
		uint32_t off = sizeof(hw::CaptureBufferHeader);
		for (uint32_t k = 0; k < i; k++) {
			hw::RecordHeader rh;
			std::memcpy(&rh, &b[off], sizeof rh);
			off += hw::record_stride(rh.cap_len);
		}
		return off;
	}
};

/* len bytes whose last byte is followed by an inaccessible page. */
class GuardedBuffer {
public:
	explicit GuardedBuffer(size_t len)
	{
		const size_t pg = size_t(sysconf(_SC_PAGESIZE));
		data_pages_ = (len + pg - 1) / pg * pg;
		map_len_ = data_pages_ + pg;
		void *p = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (p == MAP_FAILED)
			throw std::runtime_error("mmap");
		base_ = static_cast<uint8_t *>(p);
		if (mprotect(base_ + data_pages_, pg, PROT_NONE) != 0)
			throw std::runtime_error("mprotect");
		len_ = len;
		data_ = base_ + data_pages_ - len;
	}
	~GuardedBuffer() { munmap(base_, map_len_); }
	GuardedBuffer(const GuardedBuffer &) = delete;
	GuardedBuffer &operator=(const GuardedBuffer &) = delete;
	uint8_t *data() { return data_; }
	size_t size() const { return len_; }
	void fill(const std::vector<uint8_t> &v)
	{
		std::memcpy(data_, v.data(), std::min(v.size(), len_));
	}

private:
	uint8_t *base_ = nullptr, *data_ = nullptr;
	size_t map_len_ = 0, data_pages_ = 0, len_ = 0;
};

} // namespace xcap::test

#endif /* XCAP_TEST_BUFFER_BUILDER_H */
