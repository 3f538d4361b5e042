/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Parser of completed capture buffers (HW §8): the 64-byte buffer header,
 * then record_count records, each a 16-byte RecordHeader and cap_len payload
 * bytes padded to record_stride(cap_len).
 *
 * The buffer is memory the card wrote: nothing in it is trusted. The parser
 * never reads a byte outside [buf, buf + buf_len) (buf_len is the length the
 * host posted, not what the card claims), whatever the header and record
 * headers say. It has no DPDK dependency and no allocation, so it is unit
 * tested on its own and fuzzed (one entry point: BufferParser::begin + next).
 *
 * What is wrong with a buffer, and what is still delivered:
 *   - header unusable (too short, bad magic, bytes_used out of range): no
 *     record is read; the header's counts are not trusted.
 *   - a record whose header or payload would reach past bytes_used: the walk
 *     stops there; the records before it were delivered, the rest of
 *     record_count are malformed.
 *   - a record with inconsistent fields but in bounds (cap_len > wire_len,
 *     truncation flag wrong): that record is skipped as malformed, the walk
 *     goes on.
 *   - bytes left over after record_count records: the records were
 *     delivered, the buffer is flagged (the count does not add up).
 */
#ifndef XCAP_CAPTURE_PARSE_H
#define XCAP_CAPTURE_PARSE_H

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "xcap_hw_defs.h"

namespace xcap::capture {

enum class BufferError : uint8_t {
	None = 0,
	TooShort,          /* posted length below the 64-byte header */
	BadMagic,          /* not kCaptureMagic */
	BytesUsedTooLarge, /* bytes_used > the posted length */
	BytesUsedTooSmall, /* bytes_used < the header */
	RecordOverrun,     /* a record reaches past bytes_used */
	CountMismatch,     /* bytes left over after record_count records */
	BadRecord,         /* at least one record with inconsistent fields (skipped) */
};
const char *buffer_error_name(BufferError e);

/* One record, pointing into the buffer. Same layout as the C API's
 * struct xcap_capture_record (xcap_capture.h). */
struct Record {
	const uint8_t *data; /* first captured byte */
	uint64_t ts_ns;      /* card clock, ns */
	uint32_t cap_len;    /* bytes at data */
	uint32_t wire_len;   /* frame length on the wire */
	uint32_t offset;     /* of the record header from the buffer start */
	uint16_t flags;      /* hw::rflag:: */
	uint16_t channel;    /* as given to BufferParser::begin */
};

class BufferParser {
public:
	/* Check the header of a buffer of buf_len bytes (the posted length).
	 * Returns false if the header is unusable (error() says why); then
	 * next() returns nothing. */
	bool begin(const uint8_t *buf, size_t buf_len, uint16_t channel = 0);

	/* Up to n next well-formed records into out; returns how many. Fewer
	 * than n (maybe 0) only at the end of the buffer or when the walk cannot
	 * go on (error() tells which). */
	uint32_t next(Record *out, uint32_t n);

	bool header_ok() const { return header_ok_; }
	const hw::CaptureBufferHeader &header() const { return h_; }
	BufferError error() const { return error_; }
	/* Well-formed records returned so far. */
	uint32_t records_read() const { return read_; }
	/* Records of record_count not yet walked over. */
	uint32_t records_left() const { return left_; }
	/* Records the header announced that were not (and will not be)
	 * returned: skipped as inconsistent, or cut off by an overrun. Final
	 * once done(). 0 if the header was unusable (nothing is known). */
	uint32_t records_malformed() const
	{
		return header_ok_ ? h_.record_count - read_ - left_ : 0;
	}
	/* Every record walked over (or the header was unusable). */
	bool done() const { return left_ == 0; }

private:
	bool fail(BufferError e);
	void finish();

	const uint8_t *buf_ = nullptr;
	uint32_t off_ = 0, end_ = 0;
	uint16_t channel_ = 0;
	uint32_t read_ = 0, left_ = 0;
	bool header_ok_ = false;
	BufferError error_ = BufferError::None;
	hw::CaptureBufferHeader h_{};
};

/* Whole-buffer check, for tests and tools: walks every record. */
struct BufferSummary {
	BufferError error;
	uint32_t records;   /* well-formed */
	uint32_t malformed; /* announced, not delivered */
	uint64_t payload_bytes;
};
BufferSummary summarize_buffer(const uint8_t *buf, size_t buf_len);

} // namespace xcap::capture

#endif /* XCAP_CAPTURE_PARSE_H */
