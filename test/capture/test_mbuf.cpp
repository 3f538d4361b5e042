/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The mbuf path: every mbuf's data lies in a DMA buffer the card filled
 * (zero copy), carries its record's length, timestamp and channel, and the
 * records arrive complete and in order also when another lcore checks and
 * frees them.
 */
#include <atomic>

#include <sched.h>

#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "capture_test.h"
#include "xcap_capture_parse.h"

namespace xcap::test {
namespace {

using capture::Stream;

class Mbuf : public CaptureTest {};

/* What the card wrote in front of the record an mbuf carries. */
hw::RecordHeader record_header(const rte_mbuf *m)
{
	hw::RecordHeader rh;
	std::memcpy(&rh, rte_pktmbuf_mtod(m, const uint8_t *) - sizeof rh, sizeof rh);
	return rh;
}

TEST_F(Mbuf, DataPointsIntoTheDmaBuffersTheCardFilled)
{
	constexpr uint64_t kFrames = 30000;
	const int16_t dev = make_card("copy_channels=0,capture_channels=2,cap_rate=max,"
				      "cap_frame=64-1518,cap_count=30000");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0, 1});
	cfg.nb_mbufs = 8192;
	cfg.mbuf_port = 7;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	const capture::MbufFields &f = capture::mbuf_fields();
	ASSERT_GE(f.ts_offset, 0);
	ASSERT_GE(f.meta_offset, 0);

	ChannelCheck chk[2];
	uint64_t outside = 0, not_completed = 0, wrong_fields = 0, wrong_iova = 0;
	rte_mbuf *pkts[64];
	auto take = [&](uint16_t n) {
		for (uint16_t i = 0; i < n; i++) {
			rte_mbuf *m = pkts[i];
			const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);
			const int64_t bi = s->buffer_index_of(data);
			if (bi < 0 || s->buffer_index_of(data + m->data_len - 1) != bi) {
				outside++;
				continue;
			}
			const Stream::BufInfo b = s->buffer_info(uint32_t(bi));
			/* filled by the card and not back on it while referenced */
			if (b.times_posted == 0 || b.times_completed == 0 ||
			    (b.state != Stream::BufState::Consumer && b.state != Stream::BufState::Held))
				not_completed++;
			if (rte_pktmbuf_iova(m) != b.iova + uint64_t(data - b.va))
				wrong_iova++;
			const hw::RecordHeader rh = record_header(m);
			const capture::MbufMeta meta = capture::mbuf_meta(m);
			if (!RTE_MBUF_HAS_EXTBUF(m) || !capture::is_capture_mbuf(m) ||
			    m->nb_segs != 1 || m->next != nullptr || m->port != 7 ||
			    m->data_len != rh.cap_len || m->pkt_len != rh.cap_len ||
			    m->buf_len != rh.cap_len || m->buf_addr != data ||
			    capture::mbuf_timestamp(m) != rh.ts_ns || !(m->ol_flags & f.ts_flag) ||
			    meta.wire_len != rh.wire_len || meta.channel > 1 || meta.flags != rh.flags)
				wrong_fields++;
			uint64_t ts;
			uint16_t ch;
			uint32_t wire;
			if (xcap_capture_mbuf_info(m, &ts, &ch, &wire) != 0 || ts != rh.ts_ns ||
			    ch != meta.channel || wire != rh.wire_len)
				wrong_fields++;
			if (meta.channel <= 1)
				chk[meta.channel].check(data, m->data_len);
		}
		rte_pktmbuf_free_bulk(pkts, n);
	};
	ASSERT_TRUE(wait_for([&] {
		take(s->rx_burst(pkts, 64));
		const auto k = card_counters(dev, 2);
		return k.generated == 2 * kFrames && k.in_buffer == 0 &&
		       s->counters().handed_out == 2 * kFrames;
	}));
	ASSERT_EQ(s->stop(), 0);
	while (uint16_t n = s->rx_burst(pkts, 64))
		take(n);
	EXPECT_TRUE(s->drained());
	EXPECT_EQ(outside, 0u) << "mbuf data outside the DMA buffers";
	EXPECT_EQ(not_completed, 0u);
	EXPECT_EQ(wrong_iova, 0u);
	EXPECT_EQ(wrong_fields, 0u);
	for (auto &c : chk) {
		EXPECT_EQ(c.records, kFrames);
		EXPECT_EQ(c.gaps + c.order_errors + c.payload_errors, 0u);
	}
	const capture::Counters c = s->counters();
	EXPECT_EQ(c.cpu_copies, 0u);
	EXPECT_TRUE(balanced(card_counters(dev, 2).generated, c));
	/* a plain mbuf is not one of ours */
	rte_mempool *mp = rte_pktmbuf_pool_create("t_plain", 63, 0, 0, 256, SOCKET_ID_ANY);
	ASSERT_NE(mp, nullptr);
	rte_mbuf *plain = rte_pktmbuf_alloc(mp);
	EXPECT_FALSE(capture::is_capture_mbuf(plain));
	EXPECT_EQ(xcap_capture_mbuf_info(plain, nullptr, nullptr, nullptr), -EINVAL);
	rte_pktmbuf_free(plain);
	rte_mempool_free(mp);
}

struct CheckerArgs {
	rte_ring *ring;
	std::atomic<bool> *done;
	ChannelCheck chk[2];
	uint64_t freed = 0;
};

int checker_lcore(void *arg)
{
	auto *a = static_cast<CheckerArgs *>(arg);
	rte_mbuf *pkts[32];
	for (;;) {
		const unsigned n = rte_ring_sc_dequeue_burst(a->ring, reinterpret_cast<void **>(pkts),
							    32, nullptr);
		if (n == 0) {
			if (a->done->load() && rte_ring_empty(a->ring))
				break;
			sched_yield();
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			const uint16_t ch = capture::mbuf_meta(pkts[i]).channel;
			if (ch < 2)
				a->chk[ch].check(rte_pktmbuf_mtod(pkts[i], const uint8_t *),
						 pkts[i]->data_len);
		}
		rte_pktmbuf_free_bulk(pkts, n);
		a->freed += n;
	}
	return 0;
}

/* Lcore 0 captures, lcore 1 checks and frees: the DMA buffers come back
 * through the stream's ring and are reposted by lcore 0. */
TEST_F(Mbuf, AnotherLcoreChecksAndFrees)
{
	constexpr uint64_t kFrames = 50000;
	const int16_t dev = make_card("copy_channels=0,capture_channels=2,cap_rate=max,"
				      "cap_frame=64-256,cap_count=50000,lcore=0");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0, 1});
	cfg.nb_mbufs = 4096;
	cfg.nb_buffers = 16;
	cfg.buffer_size = 4096;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	rte_ring *ring = rte_ring_create("t_checker", 1024, SOCKET_ID_ANY,
					 RING_F_SP_ENQ | RING_F_SC_DEQ);
	ASSERT_NE(ring, nullptr);
	std::atomic<bool> done{false};
	CheckerArgs args{ring, &done, {}, 0};
	const unsigned lc = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	ASSERT_LT(lc, RTE_MAX_LCORE);
	ASSERT_EQ(rte_eal_remote_launch(checker_lcore, &args, lc), 0);
	ASSERT_EQ(start(*s), 0);
	rte_mbuf *pkts[64];
	uint64_t handed = 0;
	const bool ok = wait_for([&] {
		const uint16_t n = s->rx_burst(pkts, 64);
		unsigned k = 0;
		while (k < n)
			k += rte_ring_sp_enqueue_burst(ring, reinterpret_cast<void **>(pkts + k),
						       n - k, nullptr);
		handed += n;
		return handed == 2 * kFrames;
	});
	EXPECT_TRUE(ok) << "handed out " << handed;
	ASSERT_EQ(s->stop(), 0);
	while (uint16_t n = s->rx_burst(pkts, 64)) {
		unsigned k = 0;
		while (k < n)
			k += rte_ring_sp_enqueue_burst(ring, reinterpret_cast<void **>(pkts + k),
						       n - k, nullptr);
	}
	done.store(true);
	rte_eal_wait_lcore(lc);
	s->poll();
	for (auto &c : args.chk) {
		EXPECT_EQ(c.records, kFrames);
		EXPECT_EQ(c.gaps + c.order_errors + c.payload_errors, 0u);
	}
	const capture::Counters c = s->counters();
	EXPECT_EQ(c.in_use_now, 0u) << "every buffer came back after the last free";
	EXPECT_EQ(c.free_now, 16u);
	EXPECT_GT(c.buffers_posted, 16u * 10) << "buffers were recycled many times";
	EXPECT_TRUE(balanced(card_counters(dev, 2).generated, c));
	rte_ring_free(ring);
}

} // namespace
} // namespace xcap::test
