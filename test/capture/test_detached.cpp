/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Whole buffers across threads: next_buffer() on the stream's thread, the
 * records read with read_detached() on another, the buffer handed back
 * through a ring and released. With malformed buffers (a completion hook
 * breaks some, as in MalformedBuffersAreCountedAndSkipped) and buffers
 * released unread with a drop cause, the stream's counters end up exactly
 * where the same buffers read on one thread leave them.
 */
#include <atomic>
#include <thread>

#include <rte_ring.h>

#include "capture_test.h"

namespace xcap::test {
namespace {

using capture::Record;
using Detached = CaptureTest;

TEST_F(Detached, ReadOnAnotherThreadAccountsExactly)
{
	constexpr uint64_t kFrames = 40000;
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=100,cap_count=40000");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.buffer_size = 4096;
	/* by the header's buffer sequence number, which the pump sees too */
	auto malformed = [](uint64_t seq) { return seq % 9 == 4; };
	auto dropped = [](uint64_t seq) { return seq % 7 == 3; };
	uint64_t expect_malformed_records = 0, expect_bad_buffers = 0;
	cfg.completion_hook = [&](uint8_t *b, uint32_t, uint16_t) {
		hw::CaptureBufferHeader h;
		std::memcpy(&h, b, sizeof h);
		if (h.record_count < 4 || !malformed(h.sequence) || dropped(h.sequence))
			return;
		/* the third record's cap_len overruns the buffer: the first two
		 * are good, the rest of the buffer is malformed */
		const uint32_t off = 64 + 2 * hw::record_stride(100);
		const uint16_t cap = 60000;
		const uint32_t wire = 60000;
		std::memcpy(b + off + 12, &cap, 2);
		std::memcpy(b + off + 8, &wire, 4);
		expect_malformed_records += h.record_count - 2;
		expect_bad_buffers++;
	};
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	rte_ring *to_worker = rte_ring_create("det_to", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	rte_ring *back = rte_ring_create("det_back", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	ASSERT_TRUE(to_worker && back);
	ASSERT_EQ(start(*s), 0);

	std::atomic<bool> stop{false};
	ChannelCheck chk; /* the worker's only */
	std::thread worker([&] {
		Record recs[32];
		for (;;) {
			void *p;
			if (rte_ring_sc_dequeue(to_worker, &p) != 0) {
				if (stop.load(std::memory_order_acquire) && rte_ring_empty(to_worker))
					return;
				std::this_thread::yield();
				continue;
			}
			auto *b = static_cast<capture::Buffer *>(p);
			uint32_t k;
			while ((k = s->read_detached(b, recs, 32)) != 0)
				for (uint32_t i = 0; i < k; i++)
					chk.check(recs[i].data, recs[i].cap_len);
			while (rte_ring_sp_enqueue(back, b) != 0)
				std::this_thread::yield();
		}
	});
	/* some buffers are dropped unread, as a full ring would make them */
	uint64_t dropped_unread = 0;
	auto pump = [&] {
		void *p;
		while (rte_ring_sc_dequeue(back, &p) == 0)
			s->release(static_cast<capture::Buffer *>(p));
		while (capture::Buffer *b = s->next_buffer()) {
			if (dropped(s->buffer_header(b).sequence)) {
				dropped_unread += s->buffer_header(b).record_count;
				s->release(b, capture::DropCause::RingFull);
				continue;
			}
			while (rte_ring_sp_enqueue(to_worker, b) != 0)
				std::this_thread::yield();
		}
	};
	const bool done = wait_for([&] {
		pump();
		const auto k = card_counters(dev);
		return k.generated == kFrames && k.in_buffer == 0 && s->counters().completed_now == 0;
	});
	s->request_stop();
	ASSERT_TRUE(wait_for([&] {
		pump();
		return s->drained();
	}));
	stop.store(true, std::memory_order_release);
	worker.join();
	rte_ring_free(to_worker);
	rte_ring_free(back);
	ASSERT_TRUE(done);

	const capture::Counters c = s->counters();
	EXPECT_EQ(chk.payload_errors + chk.order_errors, 0u) << "good records stay good";
	EXPECT_GT(expect_bad_buffers, 5u);
	EXPECT_EQ(c.buffers_malformed, expect_bad_buffers);
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_MALFORMED], expect_malformed_records);
	EXPECT_GT(dropped_unread, 0u);
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_RING_FULL], dropped_unread);
	EXPECT_EQ(c.delivered, chk.records) << "every record the worker read, and no other";
	EXPECT_EQ(c.handed_out, chk.records);
	EXPECT_TRUE(balanced(kFrames, c));
	/* every gap the worker saw was in undelivered before it saw it, and
	 * nothing else is */
	EXPECT_EQ(chk.gaps + (kFrames - chk.next), s->undelivered(0));
	EXPECT_EQ(c.cpu_copies, 0u);
}

} // namespace
} // namespace xcap::test
