/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 */
#include "capture_test.h"

#include <atomic>
#include <thread>

#include <rte_pause.h>

namespace xcap::test {

namespace {
struct Ramp {
	uint8_t b[256 + 65536];
	Ramp()
	{
		for (size_t i = 0; i < sizeof b; i++)
			b[i] = uint8_t(i);
	}
};
const Ramp g_ramp;
} // namespace

bool payload_ok(const uint8_t *p, uint32_t len, uint64_t *seq)
{
	uint64_t s;
	std::memcpy(&s, p, 8);
	*seq = s;
	return len <= 8 || std::memcmp(p + 8, g_ramp.b + ((s + 8) & 0xff), len - 8) == 0;
}

void CaptureTest::TearDown()
{
	while (!vdevs_.empty()) {
		const std::string n = vdevs_.back();
		vdevs_.pop_back();
		EXPECT_EQ(rte_vdev_uninit(n.c_str()), 0) << n;
	}
}

int16_t CaptureTest::make_card(const std::string &args)
{
	static std::atomic<unsigned> counter{0};
	const std::string name = "dma_xcap_emu" + std::to_string(200 + counter++);
	std::string a = args;
	if (a.find("lcore=") == std::string::npos)
		a += std::string(a.empty() ? "" : ",") + "lcore=1";
	const int rc = rte_vdev_init(name.c_str(), a.c_str());
	EXPECT_EQ(rc, 0) << "rte_vdev_init(" << name << ", " << a << ")";
	if (rc != 0)
		return -1;
	vdevs_.push_back(name);
	const int id = rte_dma_get_dev_id_by_name(name.c_str());
	EXPECT_GE(id, 0);
	return int16_t(id);
}

model::Card::CaptureCounters CaptureTest::card_counters(int16_t dev, unsigned n, unsigned first)
{
	model::Card::CaptureCounters t{};
	model::Card *c = card(dev);
	if (c == nullptr) {
		ADD_FAILURE() << "dmadev " << dev << " is not an emulated card";
		return t;
	}
	for (unsigned i = first; i < first + n; i++) {
		const auto k = c->capture_counters(i);
		t.generated += k.generated;
		t.delivered += k.delivered;
		t.lost_no_buffer += k.lost_no_buffer;
		t.lost_overrun += k.lost_overrun;
		t.in_buffer += k.in_buffer;
	}
	return t;
}

capture::StreamConfig CaptureTest::config(int16_t dev, std::vector<uint16_t> vchans)
{
	capture::StreamConfig c;
	c.dev_id = dev;
	c.vchans = std::move(vchans);
	c.buffer_size = 16 * 1024;
	c.nb_buffers = 64;
	c.name = "t";
	return c;
}

std::unique_ptr<capture::Stream> CaptureTest::make_stream(const capture::StreamConfig &c)
{
	std::string err;
	auto s = capture::Stream::create(c, err);
	EXPECT_NE(s, nullptr) << err;
	return s;
}

int CaptureTest::start(capture::Stream &s)
{
	int rc = s.start();
	for (int i = 0; rc != 0 && i < 3; i++) {
		fprintf(stderr, "stream start: %d, trying again (busy machine?)\n", rc);
		rc = s.start();
	}
	return rc;
}

bool CaptureTest::wait_for(const std::function<bool()> &pred, std::chrono::milliseconds limit)
{
	const auto deadline = std::chrono::steady_clock::now() + limit;
	/* no PAUSE loop: a hypervisor may answer one by descheduling the vCPU */
	while (!pred()) {
		if (std::chrono::steady_clock::now() > deadline)
			return pred();
		std::this_thread::sleep_for(10us);
	}
	return true;
}

bool CaptureTest::read_all(capture::Stream &s, int16_t dev, unsigned channels, uint64_t frames,
			   const std::function<void(const capture::Record &)> &on_record)
{
	capture::Record recs[64];
	const auto deadline = std::chrono::steady_clock::now() + kWait;
	auto quiet_since = std::chrono::steady_clock::now();
	uint64_t last_buffers = ~0ull;
	bool ok = true;
	for (;;) {
		const uint16_t n = s.read(recs, 64);
		for (uint16_t i = 0; i < n; i++)
			on_record(recs[i]);
		if (n)
			continue;
		const auto k = card_counters(dev, channels);
		const capture::Counters c = s.counters();
		const uint64_t reached = c.records + c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER] +
					 c.dropped[XCAP_CAPTURE_DROP_OVERRUN];
		const auto now = std::chrono::steady_clock::now();
		if (k.generated >= frames * channels && k.in_buffer == 0) {
			if (reached >= k.generated)
				break;
			/* buffers whose headers were unusable never reach the
			 * count: stop once nothing moved for a while */
			if (c.buffers_completed + c.buffers_malformed != last_buffers) {
				last_buffers = c.buffers_completed + c.buffers_malformed;
				quiet_since = now;
			} else if (now - quiet_since > 200ms) {
				break;
			}
		}
		if (now > deadline) {
			ADD_FAILURE() << "timeout: generated " << k.generated << " of "
				      << frames * channels << " (card delivered " << k.delivered
				      << ", lost no buffer " << k.lost_no_buffer << ", overrun "
				      << k.lost_overrun << ", in buffer " << k.in_buffer
				      << "); reached the stream " << reached << " (records " << c.records
				      << ", no buffer " << c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER]
				      << ", overrun " << c.dropped[XCAP_CAPTURE_DROP_OVERRUN] << ")";
			ok = false;
			break;
		}
		std::this_thread::sleep_for(10us);
	}
	EXPECT_EQ(s.stop(), 0);
	uint16_t n;
	while ((n = s.read(recs, 64)) != 0)
		for (uint16_t i = 0; i < n; i++)
			on_record(recs[i]);
	EXPECT_TRUE(s.drained());
	return ok;
}

::testing::AssertionResult balanced(uint64_t generated, const capture::Counters &c)
{
	const uint64_t acc = capture::accounted(c);
	if (generated == acc)
		return ::testing::AssertionSuccess();
	auto r = ::testing::AssertionFailure();
	r << "generated " << generated << " != delivered " << c.delivered;
	for (unsigned i = 0; i < capture::kDropCauses; i++)
		r << " + " << capture::drop_cause_name(capture::DropCause(i)) << " " << c.dropped[i];
	r << " = " << acc;
	return r;
}

} // namespace xcap::test
