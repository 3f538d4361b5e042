/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Capture buffer parser (HW §8). No DPDK, no allocation: the fuzz target.
 * Every read is bounded by the posted length checked in begin(): off_ and
 * end_ never exceed it, and a record is read only when its whole stride lies
 * in [off_, end_).
 */
#include "xcap_capture_parse.h"

namespace xcap::capture {

namespace {
constexpr uint32_t kPrefetchRecords = 4;
} // namespace

const char *buffer_error_name(BufferError e)
{
	switch (e) {
	case BufferError::None: return "none";
	case BufferError::TooShort: return "buffer shorter than its header";
	case BufferError::BadMagic: return "bad magic";
	case BufferError::BytesUsedTooLarge: return "bytes_used beyond the buffer";
	case BufferError::BytesUsedTooSmall: return "bytes_used below the header";
	case BufferError::RecordOverrun: return "record overruns bytes_used";
	case BufferError::CountMismatch: return "record_count does not match bytes_used";
	case BufferError::BadRecord: return "record with inconsistent lengths or flags";
	}
	return "unknown";
}

bool BufferParser::fail(BufferError e)
{
	error_ = e;
	header_ok_ = false;
	left_ = 0;
	return false;
}

bool BufferParser::begin(const uint8_t *buf, size_t buf_len, uint16_t channel)
{
	buf_ = buf;
	channel_ = channel;
	off_ = end_ = 0;
	read_ = left_ = 0;
	header_ok_ = false;
	error_ = BufferError::None;
	h_ = hw::CaptureBufferHeader{};
	if (buf == nullptr || buf_len < sizeof(hw::CaptureBufferHeader))
		return fail(BufferError::TooShort);
	std::memcpy(&h_, buf, sizeof h_);
	if (h_.magic != hw::kCaptureMagic)
		return fail(BufferError::BadMagic);
	if (h_.bytes_used > buf_len)
		return fail(BufferError::BytesUsedTooLarge);
	if (h_.bytes_used < sizeof(hw::CaptureBufferHeader))
		return fail(BufferError::BytesUsedTooSmall);
	off_ = uint32_t(sizeof(hw::CaptureBufferHeader));
	end_ = h_.bytes_used;
	left_ = h_.record_count;
	header_ok_ = true;
	if (left_ == 0)
		finish();
	return true;
}

/* All records walked: anything left between the last one and bytes_used
 * means record_count and bytes_used disagree. */
void BufferParser::finish()
{
	if (off_ != end_ && error_ == BufferError::None)
		error_ = BufferError::CountMismatch;
}

uint32_t BufferParser::next(Record *out, uint32_t n)
{
	uint32_t got = 0;
	while (got < n && left_ != 0) {
		/* end_ - off_ cannot wrap: off_ <= end_ always holds */
		const uint32_t room = end_ - off_;
		hw::RecordHeader rh;
		if (room < sizeof rh) {
			error_ = BufferError::RecordOverrun;
			left_ = 0;
			break;
		}
		std::memcpy(&rh, buf_ + off_, sizeof rh);
		const uint32_t stride = hw::record_stride(rh.cap_len);
		if (stride > room) {
			error_ = BufferError::RecordOverrun;
			left_ = 0;
			break;
		}
		const uint32_t at = off_;
		off_ += stride;
		left_--;
		/* The next header is known only once this one is read: with big
		 * records every header is a cache miss. Guess the stride stays
		 * (fixed-size traffic) and ask for the header a few records on. */
		const uint32_t ahead = off_ + kPrefetchRecords * stride;
		if (ahead < end_)
			__builtin_prefetch(buf_ + ahead);
		if (rh.cap_len > rh.wire_len ||
		    bool(rh.flags & hw::rflag::kTruncated) != (rh.cap_len < rh.wire_len)) [[unlikely]] {
			if (error_ == BufferError::None)
				error_ = BufferError::BadRecord;
			if (left_ == 0)
				finish();
			continue;
		}
		Record &r = out[got++];
		r.data = buf_ + at + sizeof rh;
		r.ts_ns = rh.ts_ns;
		r.cap_len = rh.cap_len;
		r.wire_len = rh.wire_len;
		r.offset = at;
		r.flags = rh.flags;
		r.channel = channel_;
		if (left_ == 0)
			finish();
	}
	read_ += got;
	return got;
}

BufferSummary summarize_buffer(const uint8_t *buf, size_t buf_len)
{
	BufferParser p;
	BufferSummary s{};
	p.begin(buf, buf_len);
	Record r[64];
	uint32_t n;
	while ((n = p.next(r, 64)) != 0)
		for (uint32_t i = 0; i < n; i++)
			s.payload_bytes += r[i].cap_len;
	s.error = p.error();
	s.records = p.records_read();
	s.malformed = p.records_malformed();
	return s;
}

} // namespace xcap::capture
