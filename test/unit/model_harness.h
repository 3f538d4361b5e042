/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Test harness for the device model: "host memory" from aligned_alloc mapped
 * in an Iommu at an IOVA deliberately unlike its VA, a BAR0 window, and a
 * minimal driver that writes registers, descriptors and the doorbell, and
 * reads completions by their phase bit. No EAL.
 *
 * The minimal driver obeys the contract: every register access goes through
 * the card's register port (Card::mmio_read32/mmio_write32, HW §2.4) except
 * the doorbell, a direct store into the window as the PMD's fast path does;
 * counters are read Lo then Hi; rings are 4 KiB aligned and Sge arrays stay
 * within 4 KiB (HW §5.5). Every Harness checks at destruction that the card
 * saw exactly the contract violations the test announced with
 * expect_violations() (none by default), and prints the card's log lines if
 * not.
 */
#ifndef XCAP_TEST_MODEL_HARNESS_H
#define XCAP_TEST_MODEL_HARNESS_H

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "xcap_hw_defs.h"
#include "xcap_model.h"

namespace xcap::test {

namespace hw = xcap::hw;
namespace reg = xcap::hw::reg;
namespace ch = xcap::hw::reg::ch;
using model::Card;
using model::CardConfig;
using model::Iommu;

inline constexpr uint64_t kMemIova = 0x1000'0000;

struct AlignedBuf {
	explicit AlignedBuf(size_t n, size_t align = 4096)
		: p(static_cast<uint8_t *>(std::aligned_alloc(align, (n + align - 1) / align * align))), len(n)
	{
		if (!p)
			throw std::bad_alloc();
		std::memset(p, 0, n);
	}
	~AlignedBuf() { std::free(p); }
	AlignedBuf(const AlignedBuf &) = delete;
	AlignedBuf &operator=(const AlignedBuf &) = delete;
	uint8_t *p;
	size_t len;
};

struct Ring {
	unsigned chan = 0;
	unsigned log2 = 0;
	uint64_t ring_iova = 0, cpl_iova = 0;
	uint16_t prod = 0; /* next descriptor index the driver writes */
	uint16_t cons = 0; /* next completion index the driver reads */
	uint32_t size() const { return 1u << log2; }
};

inline hw::Descriptor make_desc(hw::Opcode op, uint64_t src, uint64_t dst, uint32_t len,
	uint8_t flags = 0)
{
	hw::Descriptor d{};
	d.opcode = uint8_t(op);
	d.flags = flags;
	d.length = len;
	d.src = src;
	d.dst = dst;
	return d;
}

class Harness {
public:
	explicit Harness(const CardConfig &cfg = CardConfig{}, size_t mem_len = 8u << 20,
		unsigned iommu_width = 0)
		: bar_(hw::kBar0Size), iommu_(iommu_width ? iommu_width : cfg.addr_width), mem_(mem_len)
	{
		EXPECT_EQ(iommu_.map(kMemIova, mem_len, mem_.p), 0);
		CardConfig c = cfg;
		if (!c.log) /* keep the card's violation log for the test (and its failure message) */
			c.log = [this](const char *line) {
				std::lock_guard<std::mutex> g(log_lock_);
				log_.emplace_back(line);
			};
		card_ = std::make_unique<Card>(c, bar_.p, iommu_);
	}
	~Harness()
	{
		/* HW §2.5: a test that obeys the contract leaves no violation */
		EXPECT_EQ(card_->contract_violations(), expected_violations_)
			<< "contract violations at the end of the test; the card logged:\n" << log_text();
		card_.reset();
	}

	Card &card() { return *card_; }
	Iommu &iommu() { return iommu_; }
	uint8_t *bar() { return bar_.p; }

	/* ---- contract checks ---- */
	/* This test breaks the contract on purpose, n times in all. */
	void expect_violations(uint64_t n) { expected_violations_ = n; }
	std::vector<std::string> log()
	{
		std::lock_guard<std::mutex> g(log_lock_);
		return log_;
	}
	std::string log_text()
	{
		std::string t;
		for (const auto &l : log())
			t += "  " + l + "\n";
		return t;
	}

	/* ---- registers, as a driver sees them: through the port ---- */
	uint32_t rd(uint32_t off) { return card_->mmio_read32(off); }
	void wr(uint32_t off, uint32_t v) { card_->mmio_write32(off, v); }
	/* a latched pair (counter, clock): Lo, then Hi (HW §2.4) */
	uint64_t rd64(uint32_t lo_off)
	{
		const uint32_t lo = rd(lo_off);
		return uint64_t(rd(lo_off + 4)) << 32 | lo;
	}
	uint32_t crd(unsigned c, uint32_t r) { return rd(hw::chan_reg(c, r)); }
	void cwr(unsigned c, uint32_t r, uint32_t v) { wr(hw::chan_reg(c, r), v); }
	uint64_t counter(unsigned c, uint32_t lo) { return rd64(hw::chan_reg(c, lo)); }
	/* the doorbell: a direct store into the window, as the fast path does */
	void ring_doorbell(unsigned c, uint32_t v) { raw_wr(hw::chan_reg(c, ch::kDoorbell), v); }
	/* the window's memory itself, bypassing the port: what a shared-memory
	 * transport's host does (and what the doorbell is) */
	uint32_t raw_rd(uint32_t off)
	{
		return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t *>(bar_.p + off))
			.load(std::memory_order_acquire);
	}
	void raw_wr(uint32_t off, uint32_t v)
	{
		std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t *>(bar_.p + off))
			.store(v, std::memory_order_release);
	}
	hw::ChannelState state(unsigned c)
	{
		return hw::ChannelState(crd(c, ch::kStatus) & hw::chstatus::kStateMask);
	}
	uint64_t err_addr(unsigned c)
	{
		return uint64_t(crd(c, ch::kErrAddrHi)) << 32 | crd(c, ch::kErrAddrLo);
	}

	/* ---- host memory: a bump allocator over the mapped window ---- */
	uint64_t alloc(size_t len, size_t align = 64)
	{
		next_ = (next_ + align - 1) / align * align;
		if (next_ + len > mem_.len)
			throw std::runtime_error("harness memory exhausted");
		const uint64_t iova = kMemIova + next_;
		next_ += len;
		return iova;
	}
	/* an Sge array of n entries: 16 B aligned, within one 4 KiB block (HW §5.5) */
	uint64_t alloc_sg(size_t n)
	{
		const size_t len = n * sizeof(hw::Sge);
		next_ = (next_ + 15) / 16 * 16;
		if ((kMemIova + next_) % hw::kSgeListBoundary + len > hw::kSgeListBoundary)
			next_ = (next_ + hw::kSgeListBoundary - 1) / hw::kSgeListBoundary * hw::kSgeListBoundary;
		return alloc(len, 16);
	}
	uint8_t *host(uint64_t iova) { return mem_.p + (iova - kMemIova); }
	template <class T> T *hostp(uint64_t iova) { return reinterpret_cast<T *>(host(iova)); }

	/* ---- the engine ---- */
	/* poll until the card reports no work (bounded) */
	void run(unsigned max_passes = 100000)
	{
		for (unsigned i = 0; i < max_passes; i++)
			if (card_->poll_once() == 0)
				return;
		ADD_FAILURE() << "card still busy after " << max_passes << " passes";
	}

	/* ---- channel set-up ---- */
	void global_enable() { wr(reg::kGlobalCtrl, hw::gctrl::kEnable); }

	/* Write bases and log2, enable; the card latches them on its next
	 * pass. Does not poll. */
	Ring program(unsigned c, unsigned log2, uint32_t extra_ctrl = 0)
	{
		Ring r;
		r.chan = c;
		r.log2 = log2;
		r.ring_iova = alloc(sizeof(hw::Descriptor) << log2, hw::kRingAlign);
		r.cpl_iova = alloc(sizeof(hw::Completion) << log2, hw::kCplAlign);
		cwr(c, ch::kRingBaseLo, uint32_t(r.ring_iova));
		cwr(c, ch::kRingBaseHi, uint32_t(r.ring_iova >> 32));
		cwr(c, ch::kRingLog2, log2);
		cwr(c, ch::kCplBaseLo, uint32_t(r.cpl_iova));
		cwr(c, ch::kCplBaseHi, uint32_t(r.cpl_iova >> 32));
		cwr(c, ch::kCtrl, hw::chctrl::kEnable | extra_ctrl);
		return r;
	}
	/* program + global enable + poll until Running */
	Ring open(unsigned c, unsigned log2 = 6, uint32_t extra_ctrl = 0)
	{
		global_enable();
		Ring r = program(c, log2, extra_ctrl);
		card_->poll_once();
		EXPECT_EQ(state(c), hw::ChannelState::Running);
		return r;
	}

	/* write a descriptor at the producer index; id = index unless given */
	uint16_t post(Ring &r, hw::Descriptor d, bool keep_id = false)
	{
		const uint16_t idx = r.prod++;
		if (!keep_id)
			d.id = idx;
		std::memcpy(host(r.ring_iova + sizeof(hw::Descriptor) * (idx & (r.size() - 1))), &d, sizeof d);
		return idx;
	}
	void doorbell(Ring &r)
	{
		std::atomic_thread_fence(std::memory_order_release); /* descriptors before doorbell */
		ring_doorbell(r.chan, r.prod);
	}

	hw::Completion cpl(const Ring &r, uint16_t idx)
	{
		const uint64_t v = std::atomic_ref<uint64_t>(
			*hostp<uint64_t>(r.cpl_iova + 8 * (idx & (r.size() - 1))))
			.load(std::memory_order_acquire);
		hw::Completion c;
		std::memcpy(&c, &v, sizeof c);
		return c;
	}
	bool ready(const Ring &r, uint16_t idx)
	{
		return (cpl(r, idx).flags & hw::cflag::kPhase) == hw::completion_phase(idx, r.log2);
	}
	/* consume the next completion; fails the test if it is not there */
	hw::Completion next(Ring &r)
	{
		EXPECT_TRUE(ready(r, r.cons)) << "no completion at index " << r.cons;
		return cpl(r, r.cons++);
	}
	/* with the engine thread running: wait (bounded) for completion idx */
	bool wait_ready(const Ring &r, uint16_t idx, std::chrono::milliseconds t = std::chrono::seconds(5))
	{
		const auto end = std::chrono::steady_clock::now() + t;
		while (std::chrono::steady_clock::now() < end) {
			if (ready(r, idx))
				return true;
			std::this_thread::sleep_for(std::chrono::microseconds(50));
		}
		return false;
	}

private:
	AlignedBuf bar_;
	Iommu iommu_;
	AlignedBuf mem_;
	size_t next_ = 0;
	uint64_t expected_violations_ = 0;
	std::mutex log_lock_;
	std::vector<std::string> log_;
	std::unique_ptr<Card> card_;
};

} // namespace xcap::test

#endif
