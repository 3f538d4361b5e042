/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Capture streams through the record path (no mbufs) and the buffer path:
 * integrity over several channels, snap length, filter, buffers the card
 * failed or corrupted, configuration errors, restart.
 */
#include <map>
#include <set>

#include <rte_memzone.h>

#include "capture_test.h"

namespace xcap::test {
namespace {

using capture::Record;
using capture::Stream;

class Stream_ : public CaptureTest {};

/* Three channels of a back-pressured source (it never loses a frame): every
 * frame of every channel arrives once, in order, byte for byte. */
TEST_F(Stream_, RecordPathDeliversEveryFrameInOrder)
{
	constexpr uint64_t kFrames = 20000;
	const int16_t dev = make_card("copy_channels=1,capture_channels=3,cap_rate=max,"
				      "cap_frame=64-1518,cap_count=20000");
	ASSERT_GE(dev, 0);
	auto s = make_stream(config(dev, {1, 2, 3}));
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	ChannelCheck chk[3];
	uint64_t prev_ts[3] = {};
	uint64_t ts_errors = 0, bad_len = 0;
	ASSERT_TRUE(read_all(*s, dev, 3, kFrames, [&](const Record &r) {
		ASSERT_LT(r.channel, 3);
		chk[r.channel].check(r.data, r.cap_len);
		if (r.ts_ns <= prev_ts[r.channel])
			ts_errors++;
		prev_ts[r.channel] = r.ts_ns;
		if (r.cap_len != r.wire_len || r.wire_len < 64 || r.wire_len > 1518 || r.flags)
			bad_len++;
	}));
	for (unsigned c = 0; c < 3; c++) {
		SCOPED_TRACE("channel " + std::to_string(c));
		EXPECT_EQ(chk[c].records, kFrames);
		EXPECT_EQ(chk[c].next, kFrames);
		EXPECT_EQ(chk[c].gaps, 0u);
		EXPECT_EQ(chk[c].order_errors, 0u);
		EXPECT_EQ(chk[c].payload_errors, 0u);
		EXPECT_EQ(s->undelivered(uint16_t(c)), 0u);
	}
	EXPECT_EQ(ts_errors, 0u) << "card timestamps increase per channel";
	EXPECT_EQ(bad_len, 0u);
	const capture::Counters c = s->counters();
	EXPECT_EQ(c.delivered, 3 * kFrames);
	EXPECT_TRUE(balanced(card_counters(dev, 3).generated, c));
	EXPECT_EQ(c.cpu_copies, 0u);
	EXPECT_EQ(c.buffers_malformed, 0u);
	EXPECT_EQ(c.buffer_seq_errors, 0u);
	EXPECT_EQ(c.buffers_posted, c.buffers_completed + c.buffers_aborted);
	EXPECT_EQ(c.posted_now, 0u);
}

TEST_F(Stream_, SnapLengthCutsRecordsWithoutCopying)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=64-1518,cap_count=5000");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.snaplen = 40;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	ChannelCheck chk;
	uint64_t wrong = 0;
	ASSERT_TRUE(read_all(*s, dev, 1, 5000, [&](const Record &r) {
		chk.check(r.data, r.cap_len);
		if (r.cap_len != 40 || !(r.flags & XCAP_CAPTURE_REC_TRUNCATED) || r.wire_len < 64)
			wrong++;
	}));
	EXPECT_EQ(wrong, 0u);
	EXPECT_EQ(chk.records, 5000u);
	EXPECT_EQ(chk.payload_errors + chk.order_errors + chk.gaps, 0u);
	EXPECT_EQ(s->counters().bytes, 5000u * 40);
}

TEST_F(Stream_, FilterCountsWhatItDrops)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=imix,cap_count=30000");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.filter = [](const Record &r) { return r.wire_len < 600; };
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	ChannelCheck chk;
	uint64_t big = 0;
	ASSERT_TRUE(read_all(*s, dev, 1, 30000, [&](const Record &r) {
		chk.check(r.data, r.cap_len);
		if (r.wire_len >= 600)
			big++;
	}));
	const capture::Counters c = s->counters();
	EXPECT_EQ(big, 0u);
	EXPECT_GT(c.dropped[XCAP_CAPTURE_DROP_FILTERED], 0u) << "imix has 1518-byte frames";
	EXPECT_EQ(c.delivered + c.dropped[XCAP_CAPTURE_DROP_FILTERED], 30000u);
	/* the gaps the filter left are exactly what it counted */
	EXPECT_EQ(chk.gaps + (29999 - (chk.next - 1)), c.dropped[XCAP_CAPTURE_DROP_FILTERED]);
	EXPECT_EQ(s->undelivered(0), c.dropped[XCAP_CAPTURE_DROP_FILTERED]);
	EXPECT_EQ(chk.payload_errors, 0u);
	EXPECT_TRUE(balanced(card_counters(dev).generated, c));
}

/* The card fails every 7th capture descriptor (an error completion): the
 * stream counts those buffers, reposts them and keeps going; no frame is
 * lost for it (the card puts the frames in the next buffer). */
TEST_F(Stream_, BuffersCompletedWithAnErrorAreCountedAndSkipped)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=128,cap_count=20000,fail_every=7,"
				      "fail_status=bus_error");
	ASSERT_GE(dev, 0);
	auto s = make_stream(config(dev, {0}));
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	ChannelCheck chk;
	ASSERT_TRUE(read_all(*s, dev, 1, 20000,
			     [&](const Record &r) { chk.check(r.data, r.cap_len); }));
	const capture::Counters c = s->counters();
	EXPECT_GT(c.buffers_failed, 10u);
	EXPECT_EQ(c.buffers_malformed, c.buffers_failed);
	EXPECT_EQ(chk.records, 20000u);
	EXPECT_EQ(chk.gaps + chk.order_errors + chk.payload_errors, 0u);
	EXPECT_TRUE(balanced(card_counters(dev).generated, c));
}

/* Buffers corrupted between the card and the parser (the completion hook):
 * each kind is counted, never read past its end, and the stream goes on.
 * Records of a buffer whose header cannot be trusted are unknown: the
 * identity then misses exactly those. */
TEST_F(Stream_, MalformedBuffersAreCountedAndSkipped)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=100,cap_count=40000");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.buffer_size = 4096;
	unsigned nbuf = 0;
	uint64_t unknown = 0, phantom = 0, expect_malformed_records = 0, expect_bad_buffers = 0;
	cfg.completion_hook = [&](uint8_t *b, uint32_t len, uint16_t) {
		hw::CaptureBufferHeader h;
		std::memcpy(&h, b, sizeof h);
		const unsigned k = nbuf++;
		if (h.record_count < 4 || k % 5 != 0)
			return;
		switch ((k / 5) % 5) {
		case 0: /* bad magic: nothing can be trusted */
			h.magic ^= 1;
			unknown += h.record_count;
			break;
		case 1: /* bytes_used beyond the buffer */
			h.bytes_used = len + 64;
			unknown += h.record_count;
			break;
		case 2: { /* the third record's cap_len overruns the buffer */
			const uint32_t off = 64 + 2 * hw::record_stride(100);
			uint16_t cap = 60000;
			std::memcpy(b + off + 12, &cap, 2);
			uint32_t wire = 60000;
			std::memcpy(b + off + 8, &wire, 4);
			expect_malformed_records += h.record_count - 2;
			break;
		}
		case 3: /* two records more than there are: counted as malformed, as
			 * the stream cannot know they do not exist */
			h.record_count += 2;
			expect_malformed_records += 2;
			phantom += 2;
			break;
		case 4: /* one record fewer: the last one is left over */
			h.record_count -= 1;
			unknown += 1;
			break;
		}
		expect_bad_buffers++;
		std::memcpy(b, &h, sizeof h);
	};
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	ChannelCheck chk;
	ASSERT_TRUE(read_all(*s, dev, 1, 40000,
			     [&](const Record &r) { chk.check(r.data, r.cap_len); }));
	const capture::Counters c = s->counters();
	EXPECT_EQ(chk.payload_errors + chk.order_errors, 0u) << "good records stay good";
	EXPECT_GT(expect_bad_buffers, 10u);
	EXPECT_EQ(c.buffers_malformed, expect_bad_buffers);
	EXPECT_GT(chk.records, 20000u) << "the stream kept going";
	const uint64_t gen = card_counters(dev).generated;
	/* At the stop the card's counters (CntRec) settle what untrustworthy
	 * headers hid (channel_failed) or invented (no longer malformed): the
	 * net difference, for the whole enable */
	const int64_t net = int64_t(unknown) - int64_t(phantom);
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_MALFORMED],
		  expect_malformed_records - uint64_t(std::max<int64_t>(0, -net)));
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_CHANNEL_FAILED], uint64_t(std::max<int64_t>(0, net)));
	EXPECT_EQ(gen, capture::accounted(c)) << "everything is accounted for";
	/* every gap the checker saw is covered */
	EXPECT_EQ(chk.gaps + (gen - chk.next), s->undelivered(0));
}

TEST_F(Stream_, BufferPathAndRelease)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=64,cap_count=10000");
	ASSERT_GE(dev, 0);
	auto s = make_stream(config(dev, {0}));
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	ChannelCheck chk;
	uint64_t skipped = 0, bufs = 0;
	Record recs[16];
	auto consume = [&](capture::Buffer *b) {
		const hw::CaptureBufferHeader &h = s->buffer_header(b);
		EXPECT_EQ(h.magic, hw::kCaptureMagic);
		EXPECT_EQ(s->buffer_channel(b), 0);
		/* every other buffer: read only 16 records, release the rest */
		const uint32_t n = s->buffer_records(b, recs, 16);
		for (uint32_t i = 0; i < n; i++)
			chk.check(recs[i].data, recs[i].cap_len);
		if (bufs++ % 2 == 0) {
			skipped += h.record_count - n;
		} else {
			uint32_t k;
			while ((k = s->buffer_records(b, recs, 16)) != 0)
				for (uint32_t i = 0; i < k; i++)
					chk.check(recs[i].data, recs[i].cap_len);
		}
		s->release(b);
	};
	ASSERT_TRUE(wait_for([&] {
		while (capture::Buffer *b = s->next_buffer())
			consume(b);
		return card_counters(dev).generated == 10000 && card_counters(dev).in_buffer == 0 &&
		       s->counters().completed_now == 0;
	}));
	ASSERT_EQ(s->stop(), 0);
	while (capture::Buffer *b = s->next_buffer())
		consume(b);
	EXPECT_TRUE(s->drained());
	const capture::Counters c = s->counters();
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_FILTERED], skipped);
	EXPECT_EQ(chk.records + skipped, 10000u);
	EXPECT_EQ(chk.gaps, skipped - (10000 - chk.next));
	EXPECT_TRUE(balanced(10000, c));
}

TEST_F(Stream_, RestartKeepsCounting)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=2Mpps,"
				      "cap_frame=64");
	ASSERT_GE(dev, 0);
	auto s = make_stream(config(dev, {0}));
	ASSERT_TRUE(s);
	Record recs[64];
	uint64_t got = 0, generated = 0;
	for (int round = 0; round < 3; round++) {
		ASSERT_EQ(start(*s), 0);
		ASSERT_TRUE(wait_for([&] {
			while (uint16_t n = s->read(recs, 64))
				got += n;
			return card_counters(dev).generated > 20000;
		}));
		/* stop while consuming: the stream stops the card once every
		 * channel that ran out of buffers has one again */
		s->request_stop();
		ASSERT_TRUE(wait_for([&] {
			while (uint16_t n = s->read(recs, 64))
				got += n;
			return s->drained();
		}));
		generated += card_counters(dev).generated; /* counts since enable */
	}
	const capture::Counters c = s->counters();
	EXPECT_EQ(c.delivered, got);
	EXPECT_TRUE(balanced(generated, c));
	EXPECT_EQ(c.buffer_seq_errors, 0u) << "the card's buffer sequence restarts with the channel";
}

TEST_F(Stream_, BuffersLiveOnTheCardsNode)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,numa=0");
	ASSERT_GE(dev, 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	auto s = make_stream(config(dev, {0}));
	ASSERT_TRUE(s);
	EXPECT_EQ(s->numa_node(), info.numa_node);
	for (uint32_t i = 0; i < s->nb_buffers(); i++) {
		const auto b = s->buffer_info(i);
		const rte_memseg *ms = rte_mem_virt2memseg(b.va, nullptr);
		ASSERT_NE(ms, nullptr) << "buffer " << i << " is not DPDK (hugepage) memory";
		EXPECT_EQ(ms->socket_id, info.numa_node);
		EXPECT_EQ(b.iova, rte_mem_virt2iova(b.va));
		EXPECT_EQ(b.state, Stream::BufState::Free);
		EXPECT_EQ(s->buffer_index_of(b.va + b.len - 1), int64_t(i));
	}
	EXPECT_EQ(s->buffer_index_of(&info), -1);
}

TEST_F(Stream_, BadConfigurationsSayWhatIsWrong)
{
	const int16_t dev = make_card("copy_channels=1,capture_channels=1");
	ASSERT_GE(dev, 0);
	struct Case {
		std::function<void(capture::StreamConfig &)> edit;
		const char *expect;
	};
	const Case cases[] = {
		{[](auto &c) { c.dev_id = 99; }, "does not exist"},
		{[](auto &c) { c.vchans = {}; }, "need 1..64 capture vchans"},
		{[](auto &c) { c.vchans = {1, 1}; }, "given twice"},
		{[](auto &c) { c.vchans = {2}; }, "has vchans 0..1"},
		{[](auto &c) { c.vchans = {0}; }, "is it a capture vchan"},
		{[](auto &c) { c.buffer_size = 100; }, "multiple of 64"},
		{[](auto &c) { c.buffer_size = 2 << 20; }, "multiple of 64 in [256, 1048576]"},
		{[](auto &c) { c.nb_buffers = 0; }, "at least one per vchan"},
		{[](auto &c) { c.posted_per_vchan = 65; }, "buffers in the pool"},
		{[](auto &c) { c.posted_per_vchan = 8192; }, "rings hold at most"},
		{[](auto &c) { c.snaplen = 70000; }, "snap length"},
	};
	for (const Case &k : cases) {
		auto cfg = config(dev, {1});
		k.edit(cfg);
		std::string err;
		auto s = Stream::create(cfg, err);
		EXPECT_EQ(s, nullptr) << k.expect;
		EXPECT_NE(err.find(k.expect), std::string::npos) << "got: " << err;
	}
	/* no capture channel at all */
	const int16_t copy_only = make_card("copy_channels=1,capture_channels=0");
	ASSERT_GE(copy_only, 0);
	std::string err;
	EXPECT_EQ(Stream::create(config(copy_only, {0}), err), nullptr);
	EXPECT_NE(err.find("no capture channel"), std::string::npos) << err;
}

} // namespace
} // namespace xcap::test
