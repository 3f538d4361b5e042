/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Buffer recycling: a DMA buffer goes back to the card only after the last
 * mbuf that references it was freed, whatever the order of the frees and
 * whichever lcore does them.
 *
 * Every buffer of the pool is kept posted when free, so a buffer the stream
 * gives back too early is on the card at once and gets overwritten: the
 * payload check at free time would see it. Independently, whenever a
 * buffer's post count goes up, every mbuf handed out from it must have been
 * (at least about to be) freed: each freer bumps a per-buffer counter
 * before rte_pktmbuf_free().
 */
#include <algorithm>
#include <atomic>
#include <random>

#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include "xcap_dpdk_compat.h" /* xcap_ring_create_elem */

#include "capture_test.h"

namespace xcap::test {
namespace {

using capture::Stream;

struct Held {
	rte_mbuf *m;
	uint32_t buf;
	uint64_t seq;
};

struct Shared {
	Stream *s = nullptr;
	rte_ring *ring = nullptr;              /* owner -> remote freer, Held* */
	std::atomic<bool> done{false};
	std::vector<std::atomic<uint64_t>> intent; /* per buffer: frees begun */
	std::atomic<uint64_t> payload_errors{0};
	std::atomic<uint64_t> remote_freed{0};
	uint64_t seed = 0;
	explicit Shared(size_t nbuf) : intent(nbuf) {}
};

bool intact(const Held &h)
{
	uint64_t seq;
	const rte_mbuf *m = h.m;
	return payload_ok(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, &seq) && seq == h.seq;
}

void free_one(Shared &sh, Held *h)
{
	if (!intact(*h))
		sh.payload_errors.fetch_add(1);
	sh.intent[h->buf].fetch_add(1);
	rte_pktmbuf_free(h->m);
	delete h;
}

/* The remote freer: random batches, shuffled, after random pauses. */
int remote_freer(void *arg)
{
	Shared &sh = *static_cast<Shared *>(arg);
	std::mt19937_64 rng(sh.seed);
	std::vector<Held *> batch;
	void *objs[64];
	for (;;) {
		const unsigned want = 1 + unsigned(rng() % 64);
		const unsigned n = rte_ring_sc_dequeue_burst(sh.ring, objs, want, nullptr);
		for (unsigned i = 0; i < n; i++)
			batch.push_back(static_cast<Held *>(objs[i]));
		if (n == 0 && sh.done.load() && rte_ring_empty(sh.ring)) {
			for (Held *h : batch)
				free_one(sh, h);
			break;
		}
		/* hold some of them for a while */
		if (batch.empty() || (batch.size() < 32 && rng() % 4 != 0 && !sh.done.load()))
			continue;
		std::shuffle(batch.begin(), batch.end(), rng);
		const size_t k = 1 + rng() % batch.size();
		for (size_t i = 0; i < k; i++) {
			/* a short random delay; no PAUSE instructions, which a
			 * hypervisor may answer by descheduling the vCPU */
			for (volatile unsigned spin = unsigned(rng() % 2000); spin; spin = spin - 1) {
			}
			free_one(sh, batch.back());
			batch.pop_back();
			sh.remote_freed.fetch_add(1);
		}
	}
	return 0;
}

class Recycle : public CaptureTest,
		public ::testing::WithParamInterface<unsigned /* seed */> {};

TEST_P(Recycle, BufferGoesBackOnlyAfterItsLastMbufIsFreed)
{
	constexpr uint64_t kFrames = 60000;
	constexpr uint32_t kBufs = 8;
	const unsigned seed = GetParam();
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=64-200,cap_count=60000,lcore=0");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.nb_buffers = kBufs;
	cfg.posted_per_vchan = kBufs; /* every free buffer goes straight back to the card */
	cfg.buffer_size = 2048;
	cfg.nb_mbufs = 4096;
	cfg.mbuf_cache = 32;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);

	Shared sh(kBufs);
	sh.s = s.get();
	sh.seed = seed * 7919u + 1;
	sh.ring = rte_ring_create(("t_free" + std::to_string(seed)).c_str(), 8192, SOCKET_ID_ANY,
				  RING_F_SP_ENQ | RING_F_SC_DEQ);
	ASSERT_NE(sh.ring, nullptr);
	const unsigned lc = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	ASSERT_EQ(rte_eal_remote_launch(remote_freer, &sh, lc), 0);

	std::mt19937_64 rng(seed);
	std::vector<uint64_t> handed(kBufs, 0), posts_seen(kBufs, 0);
	std::vector<Held *> held;
	uint64_t next_seq = 0, order_errors = 0, early = 0, reposts = 0;
	rte_mbuf *pkts[64];

	auto check_reposts = [&] {
		for (uint32_t b = 0; b < kBufs; b++) {
			const Stream::BufInfo bi = s->buffer_info(b);
			if (bi.times_posted != posts_seen[b]) {
				if (posts_seen[b] != 0)
					reposts++;
				/* reposted: every mbuf handed out from it was freed */
				if (handed[b] != sh.intent[b].load())
					early++;
				posts_seen[b] = bi.times_posted;
			}
			if (bi.state == Stream::BufState::Held && handed[b] == sh.intent[b].load() &&
			    bi.times_posted == posts_seen[b]) {
				/* all freed: it may only be waiting in the return ring */
			}
		}
	};

	ASSERT_EQ(start(*s), 0);
	check_reposts();
	auto deadline = std::chrono::steady_clock::now() + kWait;
	bool stopped = false;
	for (;;) {
		const uint16_t n = s->rx_burst(pkts, uint16_t(1 + rng() % 64));
		check_reposts();
		for (uint16_t i = 0; i < n; i++) {
			Held *h = new Held{pkts[i], 0, 0};
			const int64_t bi = s->buffer_index_of(rte_pktmbuf_mtod(pkts[i], void *));
			ASSERT_GE(bi, 0);
			h->buf = uint32_t(bi);
			uint64_t seq;
			payload_ok(rte_pktmbuf_mtod(pkts[i], const uint8_t *), pkts[i]->data_len, &seq);
			h->seq = seq;
			if (seq != next_seq)
				order_errors++;
			next_seq = seq + 1;
			handed[h->buf]++;
			held.push_back(h);
		}
		/* free a random part of what is held, in random order, here or on
		 * the other lcore; sometimes hold everything a while longer */
		if (!held.empty() && (n == 0 || held.size() > 400 || rng() % 3 == 0)) {
			std::shuffle(held.begin(), held.end(), rng);
			const size_t k = 1 + rng() % held.size();
			for (size_t i = 0; i < k; i++) {
				Held *h = held.back();
				held.pop_back();
				if (rng() % 2) {
					free_one(sh, h);
				} else {
					while (rte_ring_sp_enqueue(sh.ring, h) != 0)
						rte_pause();
				}
			}
		}
		if (!stopped && next_seq == kFrames) {
			ASSERT_EQ(s->stop(), 0);
			stopped = true;
		}
		if (stopped && n == 0 && s->drained())
			break;
		if (std::chrono::steady_clock::now() > deadline) {
			const capture::Counters c = s->counters();
			ADD_FAILURE() << "timeout at frame " << next_seq << ", holding " << held.size()
				      << "; buffers posted " << c.posted_now << " completed "
				      << c.completed_now << " in use " << c.in_use_now << " free "
				      << c.free_now << "; ring " << rte_ring_count(sh.ring)
				      << "; mbuf alloc failures " << c.mbuf_alloc_failed << "; card "
				      << card_counters(dev).generated << " generated, in buffer "
				      << card_counters(dev).in_buffer;
			for (uint32_t b = 0; b < kBufs; b++)
				ADD_FAILURE() << "buffer " << b << " state " << int(s->buffer_info(b).state)
					      << " handed " << handed[b] << " intent "
					      << sh.intent[b].load();
			break;
		}
	}
	for (Held *h : held)
		free_one(sh, h);
	held.clear();
	sh.done.store(true);
	rte_eal_wait_lcore(lc);
	s->poll();
	check_reposts();

	EXPECT_EQ(early, 0u) << "a buffer was reposted while an mbuf still referenced it";
	EXPECT_EQ(sh.payload_errors.load(), 0u) << "a record changed under a live mbuf";
	EXPECT_EQ(order_errors, 0u);
	EXPECT_EQ(next_seq, kFrames);
	EXPECT_GT(reposts, 100u) << "buffers went round many times";
	EXPECT_GT(sh.remote_freed.load(), 1000u);
	const capture::Counters c = s->counters();
	EXPECT_EQ(c.in_use_now, 0u);
	EXPECT_EQ(c.free_now, kBufs) << "every buffer came back";
	EXPECT_TRUE(balanced(card_counters(dev).generated, c));
	for (uint32_t b = 0; b < kBufs; b++)
		EXPECT_EQ(handed[b], sh.intent[b].load());
	rte_ring_free(sh.ring);
}

INSTANTIATE_TEST_SUITE_P(Seeds, Recycle, ::testing::Values(1u, 2u, 3u, 4u, 5u));

/* The shared info's reference count: one per live mbuf plus the stream's own
 * while it still hands records out of the buffer. */
TEST_F(CaptureTest, SharedInfoCountsLiveMbufs)
{
	constexpr uint16_t kRecs = 12;
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=64,cap_count=200");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.nb_buffers = 2;
	cfg.posted_per_vchan = 1;
	cfg.buffer_size = 64 + kRecs * hw::record_stride(64); /* 12 records a buffer: 1024 B */
	cfg.nb_mbufs = 256;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	rte_mbuf *pkts[kRecs];
	uint16_t n = 0;
	ASSERT_TRUE(wait_for([&] {
		n = uint16_t(n + s->rx_burst(pkts + n, uint16_t(4 - n)));
		return n == 4;
	}));
	rte_mbuf_ext_shared_info *sh = pkts[0]->shinfo;
	for (int i = 1; i < 4; i++)
		ASSERT_EQ(pkts[i]->shinfo, sh) << "records of one buffer share its info";
	EXPECT_EQ(rte_mbuf_ext_refcnt_read(sh), 5) << "4 mbufs + the stream's reference";
	uint16_t m = 0;
	ASSERT_TRUE(wait_for([&] {
		m = uint16_t(m + s->rx_burst(pkts + 4 + m, uint16_t(kRecs - 4 - m)));
		return m == kRecs - 4;
	}));
	EXPECT_EQ(pkts[kRecs - 1]->shinfo, sh) << "all 12 from the same buffer";
	EXPECT_EQ(rte_mbuf_ext_refcnt_read(sh), kRecs) << "buffer fully handed out: mbufs only";
	const int64_t bi = s->buffer_index_of(rte_pktmbuf_mtod(pkts[0], void *));
	ASSERT_GE(bi, 0);
	const uint64_t posted = s->buffer_info(uint32_t(bi)).times_posted;
	for (int i = kRecs - 1; i > 0; i--) {
		rte_pktmbuf_free(pkts[i]);
		EXPECT_EQ(rte_mbuf_ext_refcnt_read(sh), i);
		s->poll();
		EXPECT_EQ(s->buffer_info(uint32_t(bi)).state, Stream::BufState::Held);
		EXPECT_EQ(s->buffer_info(uint32_t(bi)).times_posted, posted);
	}
	rte_pktmbuf_free(pkts[0]);
	EXPECT_TRUE(wait_for([&] {
		s->poll();
		return s->buffer_info(uint32_t(bi)).times_posted == posted + 1;
	})) << "the last free sends it back to the card";
	ASSERT_EQ(s->stop(), 0);
	while ((n = s->rx_burst(pkts, kRecs)) != 0)
		rte_pktmbuf_free_bulk(pkts, n);
}

} // namespace
} // namespace xcap::test

namespace xcap::test {
namespace {

/* Record references instead of mbufs: the same guarantee. Lcore 1 checks
 * and releases them in shuffled batches while lcore 0 captures; every
 * buffer is kept posted when free, so an early release would show up as
 * overwritten bytes. */
struct RefShared {
	const capture::Stream *s;
	rte_ring *ring;
	std::atomic<bool> done{false};
	std::atomic<uint64_t> bad{0}, released{0};
};

int ref_releaser(void *arg)
{
	auto &sh = *static_cast<RefShared *>(arg);
	std::mt19937_64 rng(99);
	std::vector<capture::RecordRef> held;
	capture::RecordRef in[64];
	for (;;) {
		const unsigned n = rte_ring_sc_dequeue_burst_elem(sh.ring, in, sizeof in[0],
								 1 + unsigned(rng() % 64), nullptr);
		held.insert(held.end(), in, in + n);
		const bool done = sh.done.load() && rte_ring_empty(sh.ring);
		if (held.empty()) {
			if (done)
				break;
			continue;
		}
		if (!done && held.size() < 200 && rng() % 4)
			continue;
		std::shuffle(held.begin(), held.end(), rng);
		const size_t k = done ? held.size() : 1 + rng() % held.size();
		for (size_t i = held.size() - k; i < held.size(); i++) {
			uint64_t seq;
			const capture::Record r = capture::ref_record(held[i]);
			if (!payload_ok(r.data, r.cap_len, &seq) || r.wire_len != r.cap_len ||
			    r.wire_len < 64 || r.wire_len > 200)
				sh.bad.fetch_add(1);
		}
		/* released in runs of mixed buffers, in random order */
		sh.s->release_refs(held.data() + held.size() - k, unsigned(k));
		sh.released.fetch_add(k);
		held.resize(held.size() - k);
	}
	return 0;
}

TEST_F(CaptureTest, RecordRefsReleasedOnAnotherLcore)
{
	constexpr uint64_t kFrames = 80000;
	const int16_t dev = make_card("copy_channels=0,capture_channels=2,cap_rate=max,"
				      "cap_frame=64-200,cap_count=40000,lcore=0");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0, 1});
	cfg.nb_buffers = 8;
	cfg.posted_per_vchan = 4;
	cfg.buffer_size = 2048;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	RefShared sh;
	sh.s = s.get();
	sh.ring = xcap_ring_create_elem("t_refs", sizeof(capture::RecordRef), 4096, SOCKET_ID_ANY,
				       RING_F_SP_ENQ | RING_F_SC_DEQ);
	ASSERT_NE(sh.ring, nullptr);
	const unsigned lc = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	ASSERT_EQ(rte_eal_remote_launch(ref_releaser, &sh, lc), 0);
	ASSERT_EQ(start(*s), 0);
	capture::RecordRef refs[64];
	ChannelCheck chk[2];
	uint64_t handed = 0, wrong_buf = 0;
	auto pass_on = [&](uint16_t n) {
		for (uint16_t i = 0; i < n; i++) {
			chk[refs[i].channel].check(refs[i].data, refs[i].cap_len);
			/* the reference names the buffer the record lies in */
			if (s->buffer_index_of(refs[i].data) != int64_t(refs[i].buf))
				wrong_buf++;
		}
		unsigned k = 0;
		while (k < n)
			k += rte_ring_sp_enqueue_burst_elem(sh.ring, refs + k, sizeof refs[0], n - k,
							    nullptr);
		handed += n;
	};
	EXPECT_TRUE(wait_for([&] {
		while (uint16_t n = s->read_refs(refs, 64))
			pass_on(n);
		return handed == kFrames;
	})) << "handed " << handed;
	ASSERT_EQ(s->stop(), 0);
	while (uint16_t n = s->read_refs(refs, 64))
		pass_on(n);
	sh.done.store(true);
	rte_eal_wait_lcore(lc);
	s->poll();
	EXPECT_EQ(sh.bad.load(), 0u) << "a record changed before its reference was released";
	EXPECT_EQ(sh.released.load(), kFrames);
	EXPECT_EQ(wrong_buf, 0u);
	for (auto &c : chk) {
		EXPECT_EQ(c.records, kFrames / 2);
		EXPECT_EQ(c.gaps + c.order_errors + c.payload_errors, 0u);
	}
	const capture::Counters c = s->counters();
	EXPECT_EQ(c.in_use_now, 0u);
	EXPECT_EQ(c.free_now, 8u);
	EXPECT_GT(c.buffers_posted, 1000u);
	EXPECT_TRUE(balanced(card_counters(dev, 2).generated, c));
	rte_ring_free(sh.ring);
}

} // namespace
} // namespace xcap::test
