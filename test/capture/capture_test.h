/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * test/capture: fixture for streams on the emulated card. Every test makes
 * its own card (a dma_xcap_emu<N> vdev with a unique name) and streams over
 * it; the fixture removes the cards afterwards. Nothing asserts on timing:
 * waits are bounded loops that fail the test when the bound is hit.
 */
#ifndef XCAP_CAPTURE_TEST_H
#define XCAP_CAPTURE_TEST_H

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <rte_bus_vdev.h>
#include <rte_dmadev.h>
#include <rte_mbuf.h>

#include "xcap_capture.hpp"
#include "xcap_emu.h"
#include "xcap_model.h"

namespace xcap::test {

using namespace std::chrono_literals;

/* Bound for anything the card and the stream should finish. */
inline constexpr std::chrono::milliseconds kWait = 20000ms;

/* Generator payload (model::payload_byte): bytes 0..7 are the sequence
 * number, byte i >= 8 is (seq + i) & 0xff. */
bool payload_ok(const uint8_t *p, uint32_t len, uint64_t *seq);

/* Checks the records of one channel as they come: payload, order, gaps. */
struct ChannelCheck {
	uint64_t next = 0;
	uint64_t records = 0;
	uint64_t gaps = 0;          /* frames skipped over */
	uint64_t order_errors = 0;  /* sequence went backwards or repeated */
	uint64_t payload_errors = 0;
	uint64_t short_records = 0;
	void check(const uint8_t *p, uint32_t len)
	{
		uint64_t seq;
		if (len < 8) {
			short_records++;
			return;
		}
		if (!payload_ok(p, len, &seq))
			payload_errors++;
		if (seq < next)
			order_errors++;
		else {
			gaps += seq - next;
			next = seq + 1;
		}
		records++;
	}
};

class CaptureTest : public ::testing::Test {
protected:
	void TearDown() override;

	/* rte_vdev_init(dma_xcap_emu<unique>, args); -1 on failure. The card's
	 * engine thread runs on lcore 1's CPU unless args say otherwise. */
	int16_t make_card(const std::string &args);
	model::Card *card(int16_t dev) { return emu_card(dev); }
	/* Sum of the generator counters of capture channels first..first+n-1. */
	model::Card::CaptureCounters card_counters(int16_t dev, unsigned n = 1, unsigned first = 0);

	static capture::StreamConfig config(int16_t dev, std::vector<uint16_t> vchans);
	std::unique_ptr<capture::Stream> make_stream(const capture::StreamConfig &c);
	/* s.start(), tried again if the emulated card missed the PMD's 100 ms to
	 * answer a channel reset (a busy machine); returns the last result. */
	static int start(capture::Stream &s);

	/* Poll until pred() or the bound; returns pred(). */
	static bool wait_for(const std::function<bool()> &pred, std::chrono::milliseconds limit = kWait);

	/* Read path until the card's generator has produced `frames` frames per
	 * channel and everything it produced reached the stream; then stop and
	 * drain. on_record sees every record. false on timeout. */
	bool read_all(capture::Stream &s, int16_t dev, unsigned channels, uint64_t frames,
		      const std::function<void(const capture::Record &)> &on_record);

	std::vector<std::string> vdevs_;
};

/* The accounting identity, with the numbers in the message. */
::testing::AssertionResult balanced(uint64_t generated, const capture::Counters &c);

} // namespace xcap::test

#endif /* XCAP_CAPTURE_TEST_H */
