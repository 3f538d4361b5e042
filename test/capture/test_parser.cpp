/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The capture buffer parser on its own (no DPDK): well-formed buffers, each
 * kind of malformed buffer the card (or a fault) could produce, and random
 * corruption. Every buffer sits right in front of an inaccessible page, so
 * a read past its end crashes the test instead of passing silently.
 */
#include <memory>
#include <random>

#include <gtest/gtest.h>

#include "buffer_builder.h"
#include "xcap_capture_parse.h"

using namespace xcap;
using namespace xcap::capture;
using xcap::test::BufferBuilder;
using xcap::test::GuardedBuffer;

namespace {

struct Walk {
	std::shared_ptr<GuardedBuffer> mem; /* keeps the records' bytes alive */
	bool header_ok;
	BufferError error;
	std::vector<Record> recs;
	uint32_t malformed;
};

Walk walk(const uint8_t *buf, size_t len, uint32_t batch = 7)
{
	BufferParser p;
	Walk w;
	w.header_ok = p.begin(buf, len, 3);
	std::vector<Record> tmp(batch);
	uint32_t n;
	while ((n = p.next(tmp.data(), batch)) != 0) {
		EXPECT_LE(n, batch);
		w.recs.insert(w.recs.end(), tmp.begin(), tmp.begin() + n);
	}
	EXPECT_TRUE(p.done());
	EXPECT_EQ(p.next(tmp.data(), batch), 0u) << "next() after the end";
	w.error = p.error();
	w.malformed = p.records_malformed();
	EXPECT_EQ(p.records_read(), w.recs.size());
	if (w.header_ok) {
		EXPECT_EQ(w.recs.size() + w.malformed, p.header().record_count);
	}
	for (const Record &r : w.recs) {
		/* every record lies inside the buffer */
		EXPECT_GE(r.data, buf + sizeof(hw::CaptureBufferHeader) + sizeof(hw::RecordHeader));
		EXPECT_LE(r.data + r.cap_len, buf + len);
		EXPECT_EQ(r.channel, 3);
		EXPECT_EQ(r.data, buf + r.offset + sizeof(hw::RecordHeader));
	}
	return w;
}

Walk walk_guarded(const std::vector<uint8_t> &bytes, size_t posted_len = 0)
{
	auto g = std::make_shared<GuardedBuffer>(posted_len ? posted_len : bytes.size());
	g->fill(bytes);
	Walk w = walk(g->data(), g->size());
	w.mem = g;
	return w;
}

BufferBuilder three_records(size_t len = 1024)
{
	BufferBuilder b(len);
	EXPECT_TRUE(b.add(0, 64, 64, 1000));
	EXPECT_TRUE(b.add(1, 100, 100, 2000));
	EXPECT_TRUE(b.add(2, 1500, 60, 3000)); /* truncated */
	return b;
}

template <typename T>
void poke(std::vector<uint8_t> &b, size_t off, T v)
{
	std::memcpy(&b[off], &v, sizeof v);
}

constexpr size_t kHdr = sizeof(hw::CaptureBufferHeader);
constexpr size_t kRecCap = offsetof(hw::RecordHeader, cap_len);
constexpr size_t kRecWire = offsetof(hw::RecordHeader, wire_len);
constexpr size_t kRecFlags = offsetof(hw::RecordHeader, flags);

TEST(Parser, WellFormedBuffer)
{
	BufferBuilder b = three_records();
	const Walk w = walk_guarded(b.finish());
	ASSERT_TRUE(w.header_ok);
	EXPECT_EQ(w.error, BufferError::None);
	ASSERT_EQ(w.recs.size(), 3u);
	EXPECT_EQ(w.malformed, 0u);
	EXPECT_EQ(w.recs[0].cap_len, 64u);
	EXPECT_EQ(w.recs[1].wire_len, 100u);
	EXPECT_EQ(w.recs[2].cap_len, 60u);
	EXPECT_EQ(w.recs[2].wire_len, 1500u);
	EXPECT_EQ(w.recs[2].flags, hw::rflag::kTruncated);
	EXPECT_EQ(w.recs[1].ts_ns, 2000u);
	for (uint32_t r = 0; r < 3; r++) {
		for (uint32_t i = 0; i < w.recs[r].cap_len; i++)
			ASSERT_EQ(w.recs[r].data[i], model::payload_byte(r, i));
	}
}

TEST(Parser, BufferFilledToTheLastByte)
{
	/* bytes_used == the posted length: the last record ends at the guard */
	BufferBuilder b(kHdr + hw::record_stride(64) * 2);
	ASSERT_TRUE(b.add(0, 64, 64, 1));
	ASSERT_TRUE(b.add(1, 64, 64, 2));
	ASSERT_FALSE(b.add(2, 64, 64, 3));
	const Walk w = walk_guarded(b.finish());
	EXPECT_EQ(w.error, BufferError::None);
	EXPECT_EQ(w.recs.size(), 2u);
}

TEST(Parser, EmptyBuffer)
{
	BufferBuilder b(256);
	const Walk w = walk_guarded(b.finish());
	EXPECT_TRUE(w.header_ok);
	EXPECT_EQ(w.error, BufferError::None);
	EXPECT_TRUE(w.recs.empty());
}

TEST(Parser, BufferShorterThanHeader)
{
	std::vector<uint8_t> bytes(63, 0);
	const Walk w = walk_guarded(bytes);
	EXPECT_FALSE(w.header_ok);
	EXPECT_EQ(w.error, BufferError::TooShort);
	BufferParser p;
	EXPECT_FALSE(p.begin(nullptr, 4096));
	EXPECT_EQ(p.error(), BufferError::TooShort);
}

TEST(Parser, BadMagic)
{
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	poke<uint32_t>(bytes, 0, 0xdeadbeef);
	const Walk w = walk_guarded(bytes);
	EXPECT_FALSE(w.header_ok);
	EXPECT_EQ(w.error, BufferError::BadMagic);
	EXPECT_TRUE(w.recs.empty());
	EXPECT_EQ(w.malformed, 0u) << "nothing is known about a buffer without its magic";
}

TEST(Parser, BytesUsedBeyondTheBuffer)
{
	BufferBuilder b = three_records(512);
	auto &bytes = b.finish();
	poke<uint32_t>(bytes, offsetof(hw::CaptureBufferHeader, bytes_used), 513);
	const Walk w = walk_guarded(bytes);
	EXPECT_FALSE(w.header_ok);
	EXPECT_EQ(w.error, BufferError::BytesUsedTooLarge);
	EXPECT_TRUE(w.recs.empty());
	/* the posted length is what counts, not the vector's */
	BufferBuilder c = three_records(512);
	const Walk w2 = walk_guarded(c.finish(), 300);
	EXPECT_EQ(w2.error, BufferError::BytesUsedTooLarge);
}

TEST(Parser, BytesUsedBelowTheHeader)
{
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	poke<uint32_t>(bytes, offsetof(hw::CaptureBufferHeader, bytes_used), 63);
	const Walk w = walk_guarded(bytes);
	EXPECT_EQ(w.error, BufferError::BytesUsedTooSmall);
}

TEST(Parser, RecordLengthOverrunsTheBuffer)
{
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	/* the second record claims 60000 bytes */
	const uint32_t off = b.record_offset(1);
	poke<uint16_t>(bytes, off + kRecCap, 60000);
	poke<uint32_t>(bytes, off + kRecWire, 60000);
	const Walk w = walk_guarded(bytes);
	EXPECT_TRUE(w.header_ok);
	EXPECT_EQ(w.error, BufferError::RecordOverrun);
	ASSERT_EQ(w.recs.size(), 1u) << "the record before it is still good";
	EXPECT_EQ(w.malformed, 2u) << "the overrunning record and the one after it";
}

TEST(Parser, RecordCountLargerThanTheRecords)
{
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	poke<uint32_t>(bytes, offsetof(hw::CaptureBufferHeader, record_count), 5);
	const Walk w = walk_guarded(bytes);
	EXPECT_EQ(w.error, BufferError::RecordOverrun);
	EXPECT_EQ(w.recs.size(), 3u);
	EXPECT_EQ(w.malformed, 2u);
}

TEST(Parser, RecordCountSmallerThanTheRecords)
{
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	poke<uint32_t>(bytes, offsetof(hw::CaptureBufferHeader, record_count), 2);
	const Walk w = walk_guarded(bytes);
	EXPECT_EQ(w.error, BufferError::CountMismatch);
	EXPECT_EQ(w.recs.size(), 2u);
	EXPECT_EQ(w.malformed, 0u);
}

TEST(Parser, HugeRecordCount)
{
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	poke<uint32_t>(bytes, offsetof(hw::CaptureBufferHeader, record_count), 0xffffffffu);
	const Walk w = walk_guarded(bytes);
	EXPECT_EQ(w.error, BufferError::RecordOverrun);
	EXPECT_EQ(w.recs.size(), 3u);
	EXPECT_EQ(w.malformed, 0xffffffffu - 3);
}

TEST(Parser, RecordHeaderCutByBytesUsed)
{
	/* bytes_used ends 8 bytes into the third record's header */
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	poke<uint32_t>(bytes, offsetof(hw::CaptureBufferHeader, bytes_used), b.record_offset(2) + 8);
	const Walk w = walk_guarded(bytes);
	EXPECT_EQ(w.error, BufferError::RecordOverrun);
	EXPECT_EQ(w.recs.size(), 2u);
	EXPECT_EQ(w.malformed, 1u);
}

TEST(Parser, CapLenAboveWireLenIsSkipped)
{
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	poke<uint32_t>(bytes, b.record_offset(0) + kRecWire, 10); /* cap_len 64 > wire 10 */
	const Walk w = walk_guarded(bytes);
	EXPECT_EQ(w.error, BufferError::BadRecord);
	ASSERT_EQ(w.recs.size(), 2u) << "the walk goes on after an in-bounds bad record";
	EXPECT_EQ(w.malformed, 1u);
	EXPECT_EQ(w.recs[0].wire_len, 100u);
}

TEST(Parser, TruncationFlagMustMatchTheLengths)
{
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	poke<uint16_t>(bytes, b.record_offset(1) + kRecFlags, hw::rflag::kTruncated);
	poke<uint16_t>(bytes, b.record_offset(2) + kRecFlags, 0);
	const Walk w = walk_guarded(bytes);
	EXPECT_EQ(w.error, BufferError::BadRecord);
	EXPECT_EQ(w.recs.size(), 1u);
	EXPECT_EQ(w.malformed, 2u);
}

TEST(Parser, ZeroLengthRecords)
{
	BufferBuilder b(256);
	ASSERT_TRUE(b.add(0, 0, 0, 1));
	ASSERT_TRUE(b.add(1, 0, 0, 2));
	const Walk w = walk_guarded(b.finish());
	EXPECT_EQ(w.error, BufferError::None);
	ASSERT_EQ(w.recs.size(), 2u);
	EXPECT_EQ(w.recs[1].cap_len, 0u);
}

TEST(Parser, LargestRecord)
{
	BufferBuilder b(kHdr + hw::record_stride(65535));
	ASSERT_TRUE(b.add(7, 65535, 65535, 1));
	const Walk w = walk_guarded(b.finish());
	EXPECT_EQ(w.error, BufferError::None);
	ASSERT_EQ(w.recs.size(), 1u);
	EXPECT_EQ(w.recs[0].cap_len, 65535u);
	EXPECT_EQ(w.recs[0].data[65534], model::payload_byte(7, 65534));
}

TEST(Parser, SummarizeBuffer)
{
	BufferBuilder b = three_records();
	auto &bytes = b.finish();
	const BufferSummary s = summarize_buffer(bytes.data(), bytes.size());
	EXPECT_EQ(s.error, BufferError::None);
	EXPECT_EQ(s.records, 3u);
	EXPECT_EQ(s.payload_bytes, 64u + 100 + 60);
	EXPECT_STRNE(buffer_error_name(BufferError::RecordOverrun), "unknown");
}

/* Random corruption: flip bytes of well-formed buffers (header and records)
 * and walk them in random batch sizes. The guard page catches any read past
 * the end; walk() checks the records it gets stay inside. */
TEST(Parser, RandomCorruptionNeverReadsPastTheEnd)
{
	std::mt19937_64 rng(0x5eed);
	unsigned bad = 0, good = 0;
	for (unsigned iter = 0; iter < 20000; iter++) {
		const size_t len = 256 + (rng() % 4096) / 8 * 8;
		BufferBuilder b(len);
		for (uint64_t seq = 0;; seq++) {
			const uint32_t wire = 16 + uint32_t(rng() % 300);
			const uint32_t cap = rng() % 4 ? wire : wire / 2;
			if (!b.add(seq, wire, cap, seq * 10))
				break;
		}
		auto &bytes = b.finish();
		const unsigned flips = 1 + rng() % 6;
		for (unsigned f = 0; f < flips; f++) {
			const size_t at = rng() % 3 == 0 ? rng() % 64 : rng() % bytes.size();
			bytes[at] = uint8_t(rng());
		}
		/* sometimes post a shorter buffer than the card filled */
		const size_t posted = rng() % 8 == 0 ? 1 + rng() % bytes.size() : bytes.size();
		GuardedBuffer g(posted);
		g.fill(bytes);
		const Walk w = walk(g.data(), g.size(), 1 + uint32_t(rng() % 40));
		(w.error == BufferError::None ? good : bad)++;
		if (HasFailure())
			FAIL() << "iteration " << iter;
	}
	RecordProperty("corrupt_buffers_detected", int(bad));
	RecordProperty("buffers_still_consistent", int(good));
	EXPECT_GT(bad, 1000u);
}

} // namespace
