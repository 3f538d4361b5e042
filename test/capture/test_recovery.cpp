/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * A capture stream on a card that breaks the contract (docs/capture.md §4a):
 * a failed vchan is found by the status check after a quiet spell, the
 * device is restarted, and the card's counters settle the accounting
 * exactly; a card that vanishes is noticed and the stop does not wait for it.
 */
#include <thread>

#include "capture_test.h"

namespace xcap::test {
namespace {

using Recovery = CaptureTest;

uint64_t totals_generated(model::Card *card, unsigned channels)
{
	uint64_t g = 0;
	for (unsigned i = 0; i < channels; i++)
		g += card->capture_totals(i).generated;
	return g;
}

/* Read until pred() or the deadline; checks every payload byte. */
template <typename Pred>
bool read_until(capture::Stream &s, Pred pred, uint64_t &bad, uint64_t &records)
{
	capture::Record recs[64];
	const auto deadline = std::chrono::steady_clock::now() + kWait;
	while (!pred()) {
		if (std::chrono::steady_clock::now() > deadline)
			return false;
		const uint16_t n = s.read(recs, 64);
		for (uint16_t i = 0; i < n; i++) {
			uint64_t seq;
			if (recs[i].cap_len < 8 || !payload_ok(recs[i].data, recs[i].cap_len, &seq))
				bad++;
			records++;
		}
		if (n == 0)
			std::this_thread::sleep_for(10us);
	}
	return true;
}

TEST_F(Recovery, WrongIdFailsTheVchanAndTheStreamRestartsTheDevice)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=2,cap_rate=200kpps,"
				      "cap_frame=64-512");
	ASSERT_GE(dev, 0);
	auto s = make_stream(config(dev, {0, 1}));
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	uint64_t bad = 0, records = 0;
	ASSERT_TRUE(read_until(*s, [&] { return records > 20000; }, bad, records));
	model::FaultPlan p;
	p.lie = model::FaultPlan::Lie::WrongId;
	p.lie_nth = 1;
	card(dev)->set_fault(0, p);
	ASSERT_TRUE(read_until(*s, [&] { return s->counters().channel_restarts >= 1; }, bad,
			       records)) << "the failed vchan was never found";
	const uint64_t at_restart = records;
	/* both vchans deliver again after the restart */
	ASSERT_TRUE(read_until(*s, [&] { return records > at_restart + 20000; }, bad, records));
	ASSERT_EQ(s->stop(), 0);
	capture::Record recs[64];
	while (uint16_t n = s->read(recs, 64))
		records += n;
	ASSERT_TRUE(s->drained());
	const capture::Counters c = s->counters();
	EXPECT_EQ(bad, 0u);
	EXPECT_EQ(c.channel_failures, 1u);
	EXPECT_EQ(c.channel_restarts, 1u);
	EXPECT_EQ(c.card_gone, 0u);
	EXPECT_EQ(card(dev)->faults_fired(0).lies, 1u);
	/* the buffers the card completed after the lie never reached the
	 * stream: the counters settled them */
	EXPECT_GT(c.counter_reconciled, 0u);
	EXPECT_TRUE(balanced(totals_generated(card(dev), 2), c));
	EXPECT_EQ(c.cpu_copies, 0u);
}

TEST_F(Recovery, AFailedVchanWithoutManageDeviceIsCountedAndLeftAlone)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=200kpps,"
				      "cap_frame=64");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0});
	cfg.manage_device = false;
	rte_dma_conf conf{};
	conf.nb_vchans = 1;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	rte_dma_vchan_conf vc{};
	vc.direction = RTE_DMA_DIR_DEV_TO_MEM;
	vc.nb_desc = 64;
	vc.src_port.port_type = RTE_DMA_PORT_PCIE;
	ASSERT_EQ(rte_dma_vchan_setup(dev, 0, &vc), 0);
	ASSERT_EQ(rte_dma_start(dev), 0);
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	uint64_t bad = 0, records = 0;
	ASSERT_TRUE(read_until(*s, [&] { return records > 5000; }, bad, records));
	model::FaultPlan p;
	p.lie = model::FaultPlan::Lie::WrongId;
	card(dev)->set_fault(0, p);
	ASSERT_TRUE(read_until(*s, [&] { return s->counters().channel_failures >= 1; }, bad,
			       records));
	EXPECT_EQ(s->counters().channel_restarts, 0u);
	ASSERT_EQ(rte_dma_stop(dev), 0);
	EXPECT_EQ(s->stop(), 0);
	capture::Record recs[64];
	while (s->read(recs, 64) != 0) {
	}
	EXPECT_TRUE(s->drained());
	EXPECT_EQ(bad, 0u);
	EXPECT_TRUE(balanced(totals_generated(card(dev), 1), s->counters()));
}

TEST_F(Recovery, AVanishedCardIsNoticedAndTheStopDoesNotWaitForIt)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=200kpps,"
				      "cap_frame=64");
	ASSERT_GE(dev, 0);
	auto s = make_stream(config(dev, {0}));
	ASSERT_TRUE(s);
	ASSERT_EQ(start(*s), 0);
	uint64_t bad = 0, records = 0;
	ASSERT_TRUE(read_until(*s, [&] { return records > 5000; }, bad, records));
	card(dev)->vanish();
	ASSERT_TRUE(read_until(*s, [&] { return s->counters().card_gone == 1; }, bad, records));
	EXPECT_EQ(s->stop(), -ENODEV) << "buffers stay with the vanished card";
	capture::Record recs[64];
	while (s->read(recs, 64) != 0) {
	}
	EXPECT_TRUE(s->drained());
	EXPECT_EQ(bad, 0u);
	const capture::Counters c = s->counters();
	EXPECT_EQ(c.channel_restarts, 0u);
	/* what the card took with it is not in the stream's counters */
	EXPECT_LE(capture::accounted(c), totals_generated(card(dev), 1));
	s.reset(); /* its posted buffers are leaked on purpose */
}

} // namespace
} // namespace xcap::test
