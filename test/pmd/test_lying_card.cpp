/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * A lying card (HW §7.4 "card faults", docs/reliability.md): the model's
 * FaultPlan::Lie makes the card write wrong control data once. Through the
 * public rte_dma_* API the driver must mark only that vchan failed
 * (HALTED_ERROR, completed() returns 0 with has_error), explain it in
 * rte_dma_dump and the log, keep every other vchan and card copying
 * byte-exact, and recover the vchan on rte_dma_stop/start.
 */
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include <unistd.h>

#include <rte_log.h>

#include "pmd_test.h"

namespace xcap::test {
namespace {

using Lie = model::FaultPlan::Lie;

class LyingCard : public PmdTest {
protected:
	static constexpr uint32_t kLen = 512;
	static constexpr uint16_t kDesc = 64;

	void SetUp() override
	{
		liar_ = start_card("copy_channels=2", 2, kDesc);
		other_ = start_card("copy_channels=1", 1, kDesc);
		ASSERT_GE(liar_, 0);
		ASSERT_GE(other_, 0);
		src_ = alloc(kDesc * kLen);
		dst_ = alloc(kDesc * kLen);
		ASSERT_TRUE(src_ && dst_);
		for (uint32_t i = 0; i < kDesc * kLen; i++)
			src_[i] = uint8_t(i * 7 + i / kLen);
	}

	static model::FaultPlan lie(Lie l, uint64_t nth, uint8_t status = 0x42)
	{
		model::FaultPlan p;
		p.lie = l;
		p.lie_nth = nth;
		p.lie_status = status;
		return p;
	}

	/* n copies of slot 0.. on (dev, vchan), submitted. */
	void submit(int16_t dev, uint16_t vchan, unsigned n, uint8_t *dst)
	{
		for (unsigned i = 0; i < n; i++)
			ASSERT_GE(rte_dma_copy(dev, vchan, iova(src_ + i * kLen), iova(dst + i * kLen), kLen,
					       i == n - 1 ? RTE_DMA_OP_FLAG_SUBMIT : 0), 0);
	}

	/* A healthy vchan: n copies complete without error, byte-exact. */
	void copies_ok(int16_t dev, uint16_t vchan, unsigned n = 32)
	{
		SCOPED_TRACE("dev " + std::to_string(dev) + " vchan " + std::to_string(vchan));
		uint8_t *dst = alloc(n * kLen);
		ASSERT_NE(dst, nullptr);
		uint16_t last = 0;
		bool err = false;
		rte_dma_completed(dev, vchan, UINT16_MAX, &last, &err); /* nothing pending */
		ASSERT_FALSE(err);
		ASSERT_NO_FATAL_FAILURE(submit(dev, vchan, n, dst));
		unsigned got = 0;
		ASSERT_TRUE(poll_until([&] {
			got += rte_dma_completed(dev, vchan, UINT16_MAX, &last, &err);
			return err || got >= n;
		}));
		ASSERT_FALSE(err);
		ASSERT_EQ(got, n);
		EXPECT_EQ(std::memcmp(src_, dst, n * kLen), 0) << "copies not byte-exact";
	}

	/* The vchan must be failed: HALTED_ERROR, completed() 0 + has_error. */
	void expect_failed(int16_t dev, uint16_t vchan, const char *dump_says)
	{
		enum rte_dma_vchan_status st = RTE_DMA_VCHAN_IDLE;
		ASSERT_EQ(rte_dma_vchan_status(dev, vchan, &st), 0);
		EXPECT_EQ(st, RTE_DMA_VCHAN_HALTED_ERROR);
		for (int k = 0; k < 3; k++) {
			uint16_t last = 0;
			bool err = false;
			EXPECT_EQ(rte_dma_completed(dev, vchan, UINT16_MAX, &last, &err), 0);
			EXPECT_TRUE(err);
			rte_dma_status_code sc[4];
			EXPECT_EQ(rte_dma_completed_status(dev, vchan, 4, &last, sc), 0);
		}
		const std::string d = dump(dev);
		EXPECT_NE(d.find("FAILED: "), std::string::npos) << d;
		EXPECT_NE(d.find(dump_says), std::string::npos) << d;
		EXPECT_NE(d.find("card faults 1"), std::string::npos) << d;
	}

	/* rte_dma_stop/start brings the failed vchan back. */
	void recovers(int16_t dev, uint16_t vchan)
	{
		ASSERT_EQ(rte_dma_stop(dev), 0);
		ASSERT_EQ(rte_dma_start(dev), 0);
		enum rte_dma_vchan_status st = RTE_DMA_VCHAN_HALTED_ERROR;
		ASSERT_EQ(rte_dma_vchan_status(dev, vchan, &st), 0);
		EXPECT_NE(st, RTE_DMA_VCHAN_HALTED_ERROR);
		copies_ok(dev, vchan);
		EXPECT_EQ(dump(dev).find("FAILED"), std::string::npos);
	}

	int16_t liar_ = -1, other_ = -1;
	uint8_t *src_ = nullptr, *dst_ = nullptr;
};

TEST_F(LyingCard, WrongCompletionId)
{
	card(liar_)->set_fault(0, lie(Lie::WrongId, 3));
	ASSERT_NO_FATAL_FAILURE(submit(liar_, 0, 8, dst_));
	const Drained d = drain(liar_, 0, 8, 0);
	ASSERT_FALSE(d.timed_out);
	EXPECT_TRUE(d.has_error);
	EXPECT_EQ(d.count, 2) << "the two ops before the lie completed";
	EXPECT_EQ(std::memcmp(src_, dst_, 2 * kLen), 0);
	ASSERT_NO_FATAL_FAILURE(expect_failed(liar_, 0, "carries id 32770"));
	rte_dma_stats s{};
	ASSERT_EQ(rte_dma_stats_get(liar_, 0, &s), 0);
	EXPECT_EQ(s.submitted, 8u);
	EXPECT_EQ(s.completed, 2u) << "nothing after the lie is reported";
	/* the same card's other vchan and another card go on */
	copies_ok(liar_, 1);
	copies_ok(other_, 0);
	recovers(liar_, 0);
}

TEST_F(LyingCard, UndefinedStatusIsErrorUnknownAndTheChannelGoesOn)
{
	card(liar_)->set_fault(0, lie(Lie::BadStatus, 2, 0x42));
	ASSERT_NO_FATAL_FAILURE(submit(liar_, 0, 4, dst_));
	const Drained d = drain(liar_, 0, 4, 0);
	EXPECT_TRUE(d.has_error);
	EXPECT_EQ(d.count, 1);
	uint16_t last = 0;
	const auto st = drain_status(liar_, 0, 3, &last);
	ASSERT_EQ(st.size(), 3u);
	EXPECT_EQ(st[0], RTE_DMA_STATUS_ERROR_UNKNOWN);
	EXPECT_EQ(st[1], RTE_DMA_STATUS_SUCCESSFUL);
	EXPECT_EQ(st[2], RTE_DMA_STATUS_SUCCESSFUL);
	EXPECT_EQ(last, 3);
	rte_dma_stats s{};
	ASSERT_EQ(rte_dma_stats_get(liar_, 0, &s), 0);
	EXPECT_EQ(s.completed, 4u);
	EXPECT_EQ(s.errors, 1u);
	const std::string dm = dump(liar_);
	EXPECT_NE(dm.find("card faults 1"), std::string::npos) << dm;
	EXPECT_NE(dm.find("status 0x42"), std::string::npos) << dm;
	EXPECT_EQ(dm.find("FAILED"), std::string::npos) << "not a reason to stop the channel: " << dm;
	copies_ok(liar_, 0);
	copies_ok(liar_, 1);
}

TEST_F(LyingCard, CompletionBeyondTheDoorbell)
{
	card(liar_)->set_fault(0, lie(Lie::EarlyPhase, 4));
	ASSERT_NO_FATAL_FAILURE(submit(liar_, 0, 4, dst_));
	unsigned got = 0;
	bool err = false;
	ASSERT_TRUE(poll_until([&] {
		uint16_t last = 0;
		got += rte_dma_completed(liar_, 0, UINT16_MAX, &last, &err);
		return err;
	})) << "the completion at index 4 (never submitted) went unnoticed";
	EXPECT_EQ(got, 4u) << "the four real completions are delivered";
	EXPECT_EQ(std::memcmp(src_, dst_, 4 * kLen), 0);
	ASSERT_NO_FATAL_FAILURE(expect_failed(liar_, 0, "beyond the doorbell"));
	copies_ok(liar_, 1);
	copies_ok(other_, 0);
	recovers(liar_, 0);
}

TEST_F(LyingCard, HwHeadGoingBackwards)
{
	card(liar_)->set_fault(0, lie(Lie::HwHeadBack, 5));
	ASSERT_NO_FATAL_FAILURE(submit(liar_, 0, 4, dst_));
	ASSERT_EQ(drain(liar_, 0, 4, 0).count, 4);
	enum rte_dma_vchan_status st = RTE_DMA_VCHAN_ACTIVE;
	ASSERT_TRUE(poll_until([&] {
		return rte_dma_vchan_status(liar_, 0, &st) == 0 && st == RTE_DMA_VCHAN_IDLE;
	}));
	ASSERT_NO_FATAL_FAILURE(submit(liar_, 0, 1, dst_ + 4 * kLen));
	EXPECT_TRUE(poll_until([&] {
		return rte_dma_vchan_status(liar_, 0, &st) == 0 && st == RTE_DMA_VCHAN_HALTED_ERROR;
	})) << "HwHead went 4 -> 2 unnoticed";
	ASSERT_NO_FATAL_FAILURE(expect_failed(liar_, 0, "went backwards or passed the doorbell"));
	copies_ok(liar_, 1);
	copies_ok(other_, 0);
	recovers(liar_, 0);
}

TEST_F(LyingCard, CaptureVchanWrongIdLeavesCopyRunning)
{
	const int16_t dev = start_card("copy_channels=1,capture_channels=1", 2, kDesc, 1);
	ASSERT_GE(dev, 0);
	card(dev)->set_fault(1, lie(Lie::WrongId, 1));
	uint8_t *buf = alloc(4096);
	ASSERT_NE(buf, nullptr);
	ASSERT_EQ(rte_dma_copy(dev, 1, 0, iova(buf), 4096, RTE_DMA_OP_FLAG_SUBMIT), 0);
	bool err = false;
	ASSERT_TRUE(poll_until([&] {
		uint16_t last = 0;
		EXPECT_EQ(rte_dma_completed(dev, 1, 8, &last, &err), 0);
		return err;
	}));
	ASSERT_NO_FATAL_FAILURE(expect_failed(dev, 1, "carries id 32768"));
	copies_ok(dev, 0);
	copies_ok(liar_, 0);
	ASSERT_EQ(rte_dma_stop(dev), 0); /* the posted buffer is given back before buf is freed */
}


/* Soak: rounds of copies on two cards while one vchan of the first card lies
 * at a random op (wrong id, undefined status, completion beyond the
 * doorbell). Every round: the honest vchans complete everything byte-exact;
 * the lying vchan either reports the lie (failed: then rte_dma_stop/start)
 * or an ERROR_UNKNOWN op, and every op it reports successful is byte-exact;
 * nothing waits unbounded (poll_until is the watchdog); RSS stays flat.
 * XCAP_SOAK_SECONDS (default 3) sets the duration, XCAP_SOAK_SEED the seed. */
TEST_F(LyingCard, SoakRandomLies)
{
	const char *env = std::getenv("XCAP_SOAK_SECONDS");
	const double seconds = env ? std::atof(env) : 3.0;
	const char *seed_env = std::getenv("XCAP_SOAK_SEED");
	const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 0) : 20261122;
	RecordProperty("seed", std::to_string(seed));
	std::mt19937_64 rng(seed);
	const Lie kLies[] = {Lie::WrongId, Lie::BadStatus, Lie::EarlyPhase};
	constexpr unsigned kOps = 32;
	uint8_t *dst[3];
	for (auto &d : dst)
		ASSERT_NE(d = alloc(kOps * kLen), nullptr);
	auto rss_kb = [] {
		long pages = 0, rss = 0;
		FILE *f = std::fopen("/proc/self/statm", "r");
		if (f) {
			if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2)
				rss = 0;
			std::fclose(f);
		}
		return rss * (sysconf(_SC_PAGESIZE) / 1024);
	};
	/* thousands of card faults: one log line each would drown the test log */
	const int logtype = rte_log_register("pmd.dma.xcap");
	const int level = logtype >= 0 ? rte_log_get_level(uint32_t(logtype)) : -1;
	if (logtype >= 0)
		rte_log_set_level(uint32_t(logtype), RTE_LOG_CRIT);
	long rss_start = 0;
	unsigned rounds = 0, failed = 0, unknown = 0;
	const auto end = std::chrono::steady_clock::now() +
		std::chrono::milliseconds(long(seconds * 1000));
	while (std::chrono::steady_clock::now() < end || rounds < 4) {
		SCOPED_TRACE("round " + std::to_string(rounds) + " seed " + std::to_string(seed));
		const uint16_t lv = uint16_t(rng() % 2);
		const Lie l = kLies[rng() % 3];
		card(liar_)->set_fault(lv, lie(l, 1 + rng() % kOps));
		const int16_t devs[3] = {liar_, liar_, other_};
		const uint16_t vchans[3] = {0, 1, 0};
		for (int k = 0; k < 3; k++) {
			std::memset(dst[k], 0, kOps * kLen);
			ASSERT_NO_FATAL_FAILURE(submit(devs[k], vchans[k], kOps, dst[k]));
		}
		bool restarted = false;
		for (int k = 0; k < 3; k++) {
			if (restarted && devs[k] == liar_)
				continue; /* its ops went with the restart */
			const bool liar = devs[k] == liar_ && vchans[k] == lv;
			std::vector<bool> ok(kOps, false);
			unsigned seen = 0;
			bool dead = false;
			ASSERT_TRUE(poll_until([&] {
				uint16_t last = 0;
				bool err = false;
				const uint16_t n = rte_dma_completed(devs[k], vchans[k], kOps, &last, &err);
				for (uint16_t i = 0; i < n; i++)
					ok[seen + i] = true;
				seen += n;
				if (err) {
					rte_dma_status_code st[kOps];
					const uint16_t m = rte_dma_completed_status(devs[k], vchans[k],
										   uint16_t(kOps - seen), &last, st);
					for (uint16_t i = 0; i < m; i++) {
						ok[seen + i] = st[i] == RTE_DMA_STATUS_SUCCESSFUL;
						unknown += st[i] == RTE_DMA_STATUS_ERROR_UNKNOWN;
					}
					seen += m;
					enum rte_dma_vchan_status vs;
					if (m == 0 && rte_dma_vchan_status(devs[k], vchans[k], &vs) == 0 &&
					    vs == RTE_DMA_VCHAN_HALTED_ERROR)
						dead = true;
				}
				return dead || seen == kOps;
			})) << "watchdog: vchan " << vchans[k] << " of dev " << devs[k] << " stuck at "
			    << seen << "/" << kOps << "\n" << dump(devs[k]);
			EXPECT_TRUE(liar || (!dead && seen == kOps)) << "an honest vchan was hit";
			for (unsigned i = 0; i < kOps; i++)
				if (ok[i]) {
					ASSERT_EQ(std::memcmp(src_ + i * kLen, dst[k] + i * kLen, kLen), 0)
						<< "op " << i << " reported successful but not copied";
				}
			if (dead) {
				failed++;
				EXPECT_EQ(rte_dma_stop(liar_), 0);
				EXPECT_EQ(rte_dma_start(liar_), 0);
				restarted = true;
			}
		}
		card(liar_)->set_fault(lv, model::FaultPlan{});
		if (++rounds == 4)
			rss_start = rss_kb();
	}
	if (level >= 0)
		rte_log_set_level(uint32_t(logtype), uint32_t(level));
	const long rss_end = rss_kb();
	EXPECT_LT(rss_end - rss_start, 8 * 1024) << "RSS grew from " << rss_start << " to "
						  << rss_end << " kB";
	EXPECT_GT(failed, 0u);
	std::printf("soak: %u rounds, %u vchan failures recovered, %u ERROR_UNKNOWN ops, "
		    "RSS %ld -> %ld kB, seed %llu\n", rounds, failed, unknown, rss_start, rss_end,
		    (unsigned long long)seed);
	copies_ok(liar_, 0);
	copies_ok(liar_, 1);
	copies_ok(other_, 0);
}

} // namespace
} // namespace xcap::test
