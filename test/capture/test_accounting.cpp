/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Accounting under pressure: a consumer that holds on to its records makes
 * the card run out of posted buffers and drop frames; a card that cannot
 * keep up overruns its FIFO; a consumer that cannot pass records on drops
 * them itself. In every case each frame the card generated (the model's own
 * counter, cap_count fixes the total) is delivered or counted as dropped by
 * cause, exactly; every sequence gap a consumer sees is covered by those
 * counts; and the stream recovers once the consumer catches up.
 */
#include <algorithm>
#include <thread>

#include "capture_test.h"

namespace xcap::test {
namespace {

using capture::Stream;

class Accounting : public CaptureTest {};

TEST_F(Accounting, SlowConsumerMakesTheCardDropAndTheStreamRecovers)
{
	constexpr uint64_t kFrames = 150000; /* 1.5 s at 100 kpps */
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=100kpps,"
				      "cap_frame=64,cap_count=150000");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.nb_buffers = 160;
	cfg.posted_per_vchan = 128;
	cfg.buffer_size = 16 * 1024; /* up to ~200 records each (the card's 100 us flush
				      * timeout completes them with ~10 at this rate) */
	cfg.nb_mbufs = 65536;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);

	ChannelCheck chk;
	std::vector<rte_mbuf *> held;
	rte_mbuf *pkts[64];
	auto take = [&](uint16_t n, bool hold) {
		for (uint16_t i = 0; i < n; i++) {
			chk.check(rte_pktmbuf_mtod(pkts[i], const uint8_t *), pkts[i]->data_len);
			/* every gap is covered by what was counted as lost so far */
			EXPECT_LE(chk.gaps, s->undelivered(0)) << "gap not reported by the card";
			if (hold)
				held.push_back(pkts[i]);
			else
				rte_pktmbuf_free(pkts[i]);
		}
	};

	/* slow: hold every record for 0.5 s; the posted buffers run out */
	const auto slow_end = std::chrono::steady_clock::now() + 500ms;
	while (std::chrono::steady_clock::now() < slow_end)
		take(s->rx_burst(pkts, 64), true);
	const capture::Counters at_slow_end = s->counters();
	for (rte_mbuf *m : held)
		rte_pktmbuf_free(m);
	held.clear();

	/* fast: free at once; after a settling moment the card loses no more
	 * frames for want of a buffer */
	capture::Counters settled{};
	uint64_t generated_at_settle = 0;
	const auto settle = std::chrono::steady_clock::now() + 100ms;
	bool settled_taken = false;
	uint32_t max_posted_after = 0; /* buffers back on the card once caught up */
	ASSERT_TRUE(wait_for([&] {
		while (uint16_t n = s->rx_burst(pkts, 64))
			take(n, false);
		if (!settled_taken && std::chrono::steady_clock::now() > settle) {
			settled = s->counters();
			generated_at_settle = card_counters(dev).generated;
			settled_taken = true;
		}
		max_posted_after = std::max(max_posted_after, s->counters().posted_now);
		/* all generated, nothing in a buffer or waiting for us (frames
		 * lost at the very end are reported by the stop) */
		const auto k = card_counters(dev);
		return k.generated == kFrames && k.in_buffer == 0 && s->counters().completed_now == 0;
	}));
	if (!settled_taken) /* the card had generated everything before the settling moment */
		settled = s->counters();
	ASSERT_EQ(s->stop(), 0);
	while (uint16_t n = s->rx_burst(pkts, 64))
		take(n, false);
	ASSERT_TRUE(s->drained());

	const capture::Counters c = s->counters();
	const auto k = card_counters(dev);
	EXPECT_EQ(k.generated, kFrames);
	EXPECT_TRUE(balanced(k.generated, c));
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER], k.lost_no_buffer)
		<< "the headers reported every frame the card lost for want of a buffer";
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_OVERRUN], k.lost_overrun);
	EXPECT_GT(at_slow_end.dropped[XCAP_CAPTURE_DROP_NO_BUFFER] +
			  (c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER] -
			   at_slow_end.dropped[XCAP_CAPTURE_DROP_NO_BUFFER]),
		  10000u)
		<< "the slow consumer made the card drop";
	/* recovered: every buffer went back to the card, and records flowed
	 * again. How many frames were lost after the catch-up is reported, not
	 * asserted: on shared CPUs a consumer descheduled for longer than the
	 * posted buffers last (~13 ms here: 128 buffers the flush timeout
	 * completes every 100 us) makes the card drop again, correctly, and
	 * counted; that is timing, not behaviour. */
	EXPECT_EQ(max_posted_after, cfg.posted_per_vchan) << "buffers went back to the card";
	EXPECT_GT(c.delivered, at_slow_end.delivered) << "and records were delivered again";
	const uint64_t late_loss = c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER] -
				   settled.dropped[XCAP_CAPTURE_DROP_NO_BUFFER];
	RecordProperty("lost_after_recovery", std::to_string(late_loss));
	RecordProperty("generated_after_settle", std::to_string(kFrames - generated_at_settle));
	/* per record: nothing lost that was not counted, no duplicates, order */
	EXPECT_EQ(chk.order_errors, 0u);
	EXPECT_EQ(chk.payload_errors, 0u);
	EXPECT_EQ(chk.records, c.delivered);
	EXPECT_EQ(chk.gaps + (kFrames - chk.next), s->undelivered(0));
	RecordProperty("lost_no_buffer", std::to_string(c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER]));
	RecordProperty("lost_overrun", std::to_string(c.dropped[XCAP_CAPTURE_DROP_OVERRUN]));
}

/* A one-frame FIFO at a rate the card thread cannot serve frame by frame:
 * the card overruns; every overrun is reported and balanced. */
TEST_F(Accounting, CardFifoOverrunIsCounted)
{
	constexpr uint64_t kFrames = 300000;
	const int16_t dev = make_card("copy_channels=0,capture_channels=2,cap_rate=20Mpps,"
				      "cap_frame=64,cap_count=300000,cap_fifo=8");
	ASSERT_GE(dev, 0);
	auto s = make_stream(config(dev, {0, 1}));
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	ChannelCheck chk[2];
	uint64_t uncovered = 0;
	ASSERT_TRUE(read_all(*s, dev, 2, kFrames, [&](const capture::Record &r) {
		chk[r.channel].check(r.data, r.cap_len);
		if (chk[r.channel].gaps > s->undelivered(r.channel))
			uncovered++;
	}));
	const capture::Counters c = s->counters();
	const auto k = card_counters(dev, 2);
	EXPECT_GT(c.dropped[XCAP_CAPTURE_DROP_OVERRUN], 0u);
	EXPECT_TRUE(balanced(k.generated, c));
	EXPECT_EQ(k.generated, 2 * kFrames);
	EXPECT_EQ(uncovered, 0u);
	for (uint16_t ch = 0; ch < 2; ch++) {
		EXPECT_EQ(chk[ch].order_errors + chk[ch].payload_errors, 0u);
		EXPECT_EQ(chk[ch].gaps + (kFrames - chk[ch].next), s->undelivered(ch));
	}
	RecordProperty("lost_overrun", std::to_string(c.dropped[XCAP_CAPTURE_DROP_OVERRUN]));
}

/* The consumer cannot pass every record on (its ring or TX queue is full):
 * it says so, and delivered excludes them. */
TEST_F(Accounting, ConsumerDropsAreCountedByCause)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=64,cap_count=50000");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.nb_mbufs = 2048;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	rte_mbuf *pkts[32];
	uint64_t handed = 0, ring_full = 0, tx_full = 0;
	auto take = [&](uint16_t n) {
		handed += n;
		/* pretend: the last 3 of a burst do not fit a ring, every 5th
		 * burst the TX queue takes only half */
		uint16_t keep = n > 3 ? uint16_t(n - 3) : n;
		if (handed % 5 == 0)
			keep = uint16_t(keep / 2);
		const uint16_t dropped = uint16_t(n - keep);
		if (handed % 5 == 0) {
			s->count_dropped(capture::DropCause::TxFull, dropped);
			tx_full += dropped;
		} else {
			s->count_dropped(capture::DropCause::RingFull, dropped);
			ring_full += dropped;
		}
		rte_pktmbuf_free_bulk(pkts, n);
	};
	ASSERT_TRUE(wait_for([&] {
		take(s->rx_burst(pkts, 32));
		return handed == 50000;
	}));
	ASSERT_EQ(s->stop(), 0);
	while (uint16_t n = s->rx_burst(pkts, 32))
		take(n);
	const capture::Counters c = s->counters();
	EXPECT_EQ(c.handed_out, 50000u);
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_RING_FULL], ring_full);
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_TX_FULL], tx_full);
	EXPECT_EQ(c.delivered, 50000u - ring_full - tx_full);
	EXPECT_TRUE(balanced(card_counters(dev).generated, c));
}

/* Stopping while the consumer holds every buffer: the stream first waits
 * (briefly) for a buffer to come back and be posted, so that the frames
 * the card lost meanwhile land in a header before the channel stops. */
TEST_F(Accounting, StopWhileTheConsumerHoldsEverything)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=200kpps,"
				      "cap_frame=64");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.nb_buffers = 8;
	cfg.buffer_size = 4096;
	cfg.nb_mbufs = 4096;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	std::vector<rte_mbuf *> held;
	rte_mbuf *pkts[64];
	const auto until = std::chrono::steady_clock::now() + 100ms;
	while (std::chrono::steady_clock::now() < until) {
		const uint16_t n = s->rx_burst(pkts, 64);
		held.insert(held.end(), pkts, pkts + n);
	}
	ASSERT_GT(s->counters().in_use_now, 0u);
	/* the consumer lets go on another thread while the stream stops */
	std::thread freer([&] {
		std::this_thread::sleep_for(5ms);
		for (rte_mbuf *m : held)
			rte_pktmbuf_free(m);
	});
	ASSERT_EQ(s->stop(), 0);
	freer.join();
	while (uint16_t n = s->rx_burst(pkts, 64))
		rte_pktmbuf_free_bulk(pkts, n);
	ASSERT_TRUE(s->drained());
	const capture::Counters c = s->counters();
	EXPECT_GT(c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER], 0u);
	EXPECT_TRUE(balanced(card_counters(dev).generated, c));
	/* Why this test was flaky (about 1 in 6 under ASan): stop() waited,
	 * checking after every 20 us sleep, for a moment where the channel had
	 * completed a buffer since it starved and still had one posted. While
	 * stop() blocks nobody consumes, so the buffers the freer returns are
	 * filled and pile up as completed ones; a slow (ASan) loop often slept
	 * through the moment, hit the 500 ms deadline with no buffer posted, and
	 * the loss since the last header existed only in the card's counters:
	 * unbalanced. Now stop() disables right after the repost that left a
	 * buffer posted, the card reports pending loss in a posted buffer even
	 * if it had not fetched it yet (HW §8.3), and what still escapes every
	 * header (the card may complete that buffer on its flush timeout just
	 * before it sees the disable) is read from the card's counters at the
	 * stop. So the identity above holds exactly every time; no record is
	 * ever hidden from the stream, and every loss is counted by its cause. */
	const auto k = card_counters(dev);
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_CHANNEL_FAILED], 0u);
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER], k.lost_no_buffer);
	EXPECT_EQ(c.dropped[XCAP_CAPTURE_DROP_OVERRUN], k.lost_overrun);
	RecordProperty("loss_settled_from_counters", std::to_string(c.counter_reconciled));
}

} // namespace
} // namespace xcap::test
