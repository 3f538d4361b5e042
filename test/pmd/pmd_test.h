/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * test/pmd: GoogleTest suite that drives the xcap PMD through the public
 * rte_dma_* API on the emulated card (vdev dma_xcap_emu<N>). EAL is brought
 * up once by main.cpp; every test creates its own devices with unique names
 * through the fixture below, which also tears them down.
 *
 * Nothing here asserts on timing: completions are awaited with bounded poll
 * loops (kWait) and a test fails when the bound is hit.
 */
#ifndef XCAP_PMD_TEST_H
#define XCAP_PMD_TEST_H

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <rte_bus_vdev.h>
#include <rte_dmadev.h>
#include <rte_malloc.h>

#include "xcap_emu.h"
#include "xcap_hw_defs.h"
#include "xcap_model.h"

namespace xcap::test {

using namespace std::chrono_literals;

/* Upper bound for anything the card is expected to finish. */
inline constexpr std::chrono::milliseconds kWait = 2000ms;

/* The fill pattern of the brief, and its expected byte i. */
inline constexpr uint64_t kPattern = 0xfedcba9876543210ull;
inline uint8_t pattern_byte(uint64_t pattern, size_t i)
{
	return uint8_t(pattern >> (8 * (i % 8)));
}

void relax(unsigned spins);

/* Poll pred() until it holds or limit passes; returns its last value. Gives
 * the CPU away between polls: the card's engine thread may share the CPU of
 * the test thread (EAL pins the main thread, and threads inherit that). */
template <typename Pred>
bool poll_until(Pred &&pred, std::chrono::milliseconds limit = kWait)
{
	const auto deadline = std::chrono::steady_clock::now() + limit;
	unsigned spins = 0;
	while (!pred()) {
		if (std::chrono::steady_clock::now() > deadline)
			return pred();
		relax(spins++);
	}
	return true;
}

/* Everything a test gets back from draining a vchan. */
struct Drained {
	uint16_t count = 0;     /* completions returned */
	uint16_t last_idx = 0;  /* last_idx of the last call that returned > 0 */
	bool has_error = false; /* rte_dma_completed() reported an error */
	bool timed_out = false;
};

std::string status_name(int st);

class PmdTest : public ::testing::Test {
protected:
	void TearDown() override;

	/* A name no other test uses: dma_xcap_emu<pid-unique counter>. */
	static std::string unique_name();

	/* rte_vdev_init(unique name, args); the device is uninit'd in
	 * TearDown. Returns the dmadev id, or -1 (and records a failure). */
	int16_t create(const std::string &args, std::string *name_out = nullptr);
	/* rte_vdev_init that is expected to fail: returns its return value and
	 * checks that no device was left behind. */
	int create_fail(const std::string &args);
	/* Uninit a device created here now (the test checks the result). */
	int destroy(int16_t dev);

	/* Configure nb_vchans and set every vchan up with nb_desc entries: copy
	 * vchans MEM_TO_MEM, capture vchans (index >= n_copy) DEV_TO_MEM. */
	::testing::AssertionResult configure(int16_t dev, uint16_t nb_vchans, uint16_t nb_desc,
					     uint16_t n_copy = UINT16_MAX);
	/* create + configure + start. */
	int16_t start_card(const std::string &args, uint16_t nb_vchans = 1, uint16_t nb_desc = 512,
			   uint16_t n_copy = UINT16_MAX);

	/* rte_zmalloc'd, freed in TearDown. */
	uint8_t *alloc(size_t len, unsigned align = 64);
	static rte_iova_t iova(const void *p);

	/* Poll rte_dma_completed() until n completions were returned, an error
	 * was reported, or kWait passed. Checks last_idx of each call against
	 * the running count starting from first_id. */
	Drained drain(int16_t dev, uint16_t vchan, uint16_t n, uint16_t first_id);
	/* A vchan that completes nothing and reports why, before any op of it
	 * completed: rte_dma_completed() returns 0 with has_error and last_idx
	 * 0xffff, rte_dma_completed_status() returns 0. */
	static void expect_completed_blocked(int16_t dev, uint16_t vchan);
	/* Poll rte_dma_completed_status() until n statuses were returned. */
	std::vector<rte_dma_status_code> drain_status(int16_t dev, uint16_t vchan, uint16_t n,
						      uint16_t *last_idx = nullptr);

	model::Card *card(int16_t dev);
	/* Card::set_stall(ch, true), then wait until the card has acted on it
	 * (CH_STATUS busy with nothing to do): set_stall() itself does not wait
	 * for an engine pass in flight, which may still process descriptors
	 * submitted right after it returned. */
	::testing::AssertionResult stall(model::Card *c, unsigned ch);
	/* rte_dma_dump into a string. */
	static std::string dump(int16_t dev);

	/* The strict model (docs/model.md) counts every contract violation;
	 * a test that commits none leaves this 0. A negative test that makes
	 * violations on purpose says how many it expects on a device. */
	void expect_violations(int16_t dev, uint64_t n);

	struct Made {
		std::string name;
		int16_t id;
		uint64_t violations = 0; /* expected at uninit */
	};
	/* Checks m's card's violation count against what the test expects. */
	void check_violations(const Made &m);
	std::vector<Made> devs_;
	std::vector<void *> bufs_;
};

/* Address of a temporary, for one call: rte_dma_vchan_setup(d, v, ptr(mem_to_mem(64))). */
template <typename T>
const T *ptr(const T &t)
{
	return &t;
}

rte_dma_vchan_conf mem_to_mem(uint16_t nb_desc);
rte_dma_vchan_conf dev_to_mem(uint16_t nb_desc);

} // namespace xcap::test

#endif /* XCAP_PMD_TEST_H */
