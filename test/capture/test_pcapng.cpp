/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * pcapng from a live stream, written zero-copy from the DMA buffers, read
 * back by libpcap: the right number of packets, their lengths, the card's
 * nanosecond timestamps, the bytes.
 */
#include <unistd.h>

#include "capture_test.h"
#include "pcap_reader.h"

namespace xcap::test {
namespace {

using capture::Record;

struct Expect {
	uint64_t ts;
	uint32_t cap, wire;
	uint64_t seq;
};

class Pcapng : public CaptureTest {};

std::string tmp(const char *tag)
{
	return "/tmp/xcap-capture-" + std::string(tag) + "-" + std::to_string(getpid()) + ".pcapng";
}

TEST_F(Pcapng, EveryRecordWithItsTimestampAndLengths)
{
	constexpr uint64_t kFrames = 15000;
	const int16_t dev = make_card("copy_channels=0,capture_channels=2,cap_rate=max,"
				      "cap_frame=64-1518,cap_count=15000");
	ASSERT_GE(dev, 0);
	auto cfg = config(dev, {0, 1});
	cfg.snaplen = 1000;
	auto s = make_stream(cfg);
	ASSERT_TRUE(s);
	const std::string path = tmp("ts");
	capture::PcapngWriter w;
	std::string err;
	ASSERT_TRUE(w.open(path, {"ch0", "ch1"}, 1000, 0, err)) << err;
	ASSERT_EQ(start(*s), 0);
	std::vector<Expect> expect;
	Record recs[64];
	auto consume = [&](capture::Buffer *b) {
		uint32_t n;
		while ((n = s->buffer_records(b, recs, 64)) != 0) {
			for (uint32_t i = 0; i < n; i++) {
				if (!w.add(recs[i], recs[i].cap_len)) {
					ASSERT_EQ(w.flush(), 0);
					ASSERT_TRUE(w.add(recs[i], recs[i].cap_len));
				}
				uint64_t seq;
				payload_ok(recs[i].data, recs[i].cap_len, &seq);
				expect.push_back({recs[i].ts_ns, recs[i].cap_len, recs[i].wire_len, seq});
			}
		}
		ASSERT_EQ(w.flush(), 0); /* written before the buffer goes back */
		s->release(b);
	};
	ASSERT_TRUE(wait_for([&] {
		while (capture::Buffer *b = s->next_buffer())
			consume(b);
		return card_counters(dev, 2).generated == 2 * kFrames &&
		       card_counters(dev, 2).in_buffer == 0 && s->counters().completed_now == 0;
	}));
	ASSERT_EQ(s->stop(), 0);
	while (capture::Buffer *b = s->next_buffer())
		consume(b);
	ASSERT_EQ(w.close(), 0);
	ASSERT_EQ(expect.size(), 2 * kFrames);

	std::string perr;
	const auto pkts = read_pcap(path, perr);
	ASSERT_TRUE(perr.empty()) << perr;
	ASSERT_EQ(pkts.size(), expect.size());
	uint64_t bad = 0;
	for (size_t i = 0; i < pkts.size(); i++) {
		const Expect &e = expect[i];
		uint64_t seq = 0;
		const bool ok = pkts[i].ts_ns == e.ts && pkts[i].caplen == e.cap &&
				pkts[i].len == e.wire && pkts[i].data.size() == e.cap &&
				payload_ok(pkts[i].data.data(), e.cap, &seq) && seq == e.seq &&
				e.cap == std::min<uint32_t>(e.wire, 1000);
		if (!ok && bad++ < 5)
			ADD_FAILURE() << "packet " << i << ": ts " << pkts[i].ts_ns << " vs " << e.ts
				      << ", caplen " << pkts[i].caplen << " vs " << e.cap << ", len "
				      << pkts[i].len << " vs " << e.wire;
	}
	EXPECT_EQ(bad, 0u);
	EXPECT_EQ(s->counters().cpu_copies, 0u);
	EXPECT_TRUE(balanced(card_counters(dev, 2).generated, s->counters()));
	unlink(path.c_str());
}

/* The C API's writer over whole buffers. */
TEST_F(Pcapng, WriteBufferThroughTheCApi)
{
	constexpr uint64_t kFrames = 20000;
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=64,cap_count=20000");
	ASSERT_GE(dev, 0);
	xcap_capture_config cfg;
	xcap_capture_config_init(&cfg);
	const uint16_t vchan = 0;
	cfg.dev_id = dev;
	cfg.vchans = &vchan;
	cfg.nb_vchans = 1;
	cfg.nb_buffers = 32;
	cfg.buffer_size = 8192;
	char err[256];
	xcap_capture_stream *s = xcap_capture_create(&cfg, err, sizeof err);
	ASSERT_NE(s, nullptr) << err;
	const std::string path = tmp("c");
	xcap_pcapng *w = xcap_pcapng_open(path.c_str(), 1, "xcap", 0, 0, err, sizeof err);
	ASSERT_NE(w, nullptr) << err;
	int rc = xcap_capture_start(s);
	for (int i = 0; rc != 0 && i < 3; i++) /* a busy machine: see CaptureTest::start */
		rc = xcap_capture_start(s);
	ASSERT_EQ(rc, 0);
	int64_t written = 0;
	ASSERT_TRUE(wait_for([&] {
		while (xcap_capture_buffer *b = xcap_capture_next_buffer(s)) {
			const int64_t n = xcap_pcapng_write_buffer(w, s, b);
			EXPECT_GE(n, 0);
			written += n;
		}
		return written == int64_t(kFrames);
	}));
	ASSERT_EQ(xcap_capture_stop(s), 0);
	while (xcap_capture_buffer *b = xcap_capture_next_buffer(s))
		written += xcap_pcapng_write_buffer(w, s, b);
	ASSERT_EQ(xcap_pcapng_close(w), 0);
	xcap_capture_counters c;
	xcap_capture_get_counters(s, &c);
	EXPECT_EQ(c.delivered, kFrames);
	EXPECT_EQ(uint64_t(written), kFrames);
	xcap_capture_destroy(s);

	std::string perr;
	const auto pkts = read_pcap(path, perr);
	ASSERT_TRUE(perr.empty()) << perr;
	ASSERT_EQ(pkts.size(), kFrames);
	uint64_t prev_ts = 0, bad = 0;
	for (size_t i = 0; i < pkts.size(); i++) {
		uint64_t seq;
		if (pkts[i].caplen != 64 || pkts[i].len != 64 || pkts[i].ts_ns <= prev_ts ||
		    !payload_ok(pkts[i].data.data(), 64, &seq) || seq != i)
			bad++;
		prev_ts = pkts[i].ts_ns;
	}
	EXPECT_EQ(bad, 0u);
	unlink(path.c_str());
}

} // namespace
} // namespace xcap::test
