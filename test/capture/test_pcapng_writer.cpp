/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The pcapng writer on its own (no DPDK), read back with libpcap, an
 * independent reader: packet count, lengths, nanosecond timestamps, bytes.
 */
#include <cstdio>
#include <string>

#include <pcap/pcap.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "buffer_builder.h"
#include "pcap_reader.h"
#include "xcap_capture_parse.h"
#include "xcap_pcapng.h"

using namespace xcap;
using namespace xcap::capture;
using xcap::test::BufferBuilder;
using xcap::test::PcapPacket;
using xcap::test::read_pcap;

namespace {

std::string temp_path(const char *tag)
{
	return "/tmp/xcap-pcapng-" + std::string(tag) + "-" + std::to_string(getpid()) + ".pcapng";
}

std::vector<Record> records_of(const std::vector<uint8_t> &b, uint16_t channel)
{
	BufferParser p;
	EXPECT_TRUE(p.begin(b.data(), b.size(), channel));
	std::vector<Record> out(4096);
	const uint32_t n = p.next(out.data(), uint32_t(out.size()));
	out.resize(n);
	return out;
}

TEST(PcapngWriter, RoundTripThroughLibpcap)
{
	/* two channels, records of every length 60..140, one truncated */
	BufferBuilder a(64 * 1024), b(64 * 1024);
	uint64_t ts = 1'700'000'000'123'456'789ull;
	for (uint32_t i = 0; i < 81; i++) {
		ASSERT_TRUE(a.add(i, 60 + i, 60 + i, ts + i * 1000));
		ASSERT_TRUE(b.add(1000 + i, 1514, 64, ts + i * 1000 + 1));
	}
	auto &ab = a.finish();
	auto &bb = b.finish();
	const auto ra = records_of(ab, 0), rb = records_of(bb, 1);
	ASSERT_EQ(ra.size(), 81u);

	const std::string path = temp_path("rt");
	PcapngWriter w;
	std::string err;
	ASSERT_TRUE(w.open(path, {"xcap0:0", "xcap0:1"}, 65535, 0, err)) << err;
	std::vector<const Record *> order;
	for (size_t i = 0; i < ra.size(); i++) {
		ASSERT_TRUE(w.add(ra[i], ra[i].cap_len));
		ASSERT_TRUE(w.add(rb[i], rb[i].cap_len));
		order.push_back(&ra[i]);
		order.push_back(&rb[i]);
	}
	ASSERT_EQ(w.close(), 0);

	std::string perr;
	const auto pkts = read_pcap(path, perr);
	ASSERT_TRUE(perr.empty()) << perr;
	ASSERT_EQ(pkts.size(), order.size());
	for (size_t i = 0; i < pkts.size(); i++) {
		const Record &r = *order[i];
		SCOPED_TRACE("packet " + std::to_string(i));
		EXPECT_EQ(pkts[i].caplen, r.cap_len);
		EXPECT_EQ(pkts[i].len, r.wire_len);
		EXPECT_EQ(pkts[i].ts_ns, r.ts_ns) << "nanosecond timestamps";
		ASSERT_EQ(pkts[i].data.size(), r.cap_len);
		EXPECT_EQ(std::memcmp(pkts[i].data.data(), r.data, r.cap_len), 0);
	}
	EXPECT_EQ(pkts[0].linktype, DLT_EN10MB);
	unlink(path.c_str());
}

TEST(PcapngWriter, ManyRecordsSpanSeveralWritevCalls)
{
	BufferBuilder a(1 << 20);
	uint32_t n = 0;
	while (a.add(n, 17 + n % 50, 17 + n % 50, 5'000'000'000ull + n))
		n++;
	auto &ab = a.finish();
	const auto recs = records_of(ab, 0);
	const std::string path = temp_path("many");
	PcapngWriter w;
	std::string err;
	ASSERT_TRUE(w.open(path, {"x"}, 65535, 0, err)) << err;
	size_t added = 0;
	for (const Record &r : recs) {
		if (!w.add(r, r.cap_len)) {
			ASSERT_TRUE(w.full());
			ASSERT_EQ(w.flush(), 0);
			ASSERT_TRUE(w.add(r, r.cap_len));
		}
		added++;
	}
	ASSERT_EQ(w.close(), 0);
	EXPECT_GT(w.writev_calls(), 2u);
	std::string perr;
	const auto pkts = read_pcap(path, perr);
	ASSERT_TRUE(perr.empty()) << perr;
	ASSERT_EQ(pkts.size(), added);
	for (size_t i = 0; i < pkts.size(); i++) {
		ASSERT_EQ(pkts[i].caplen, recs[i].cap_len);
		ASSERT_EQ(pkts[i].ts_ns, recs[i].ts_ns);
		ASSERT_EQ(pkts[i].data[pkts[i].caplen - 1], recs[i].data[recs[i].cap_len - 1]);
	}
	unlink(path.c_str());
}

TEST(PcapngWriter, SnapLengthAndTimestampOffset)
{
	BufferBuilder a(4096);
	ASSERT_TRUE(a.add(1, 1000, 1000, 10));
	ASSERT_TRUE(a.add(2, 30, 30, 20));
	auto &ab = a.finish();
	const auto recs = records_of(ab, 0);
	const std::string path = temp_path("snap");
	PcapngWriter w;
	std::string err;
	const int64_t off = 1'600'000'000'000'000'000ll;
	ASSERT_TRUE(w.open(path, {"x"}, 100, off, err)) << err;
	ASSERT_TRUE(w.add(recs[0], 100));
	ASSERT_TRUE(w.add(recs[1], 100)); /* len above cap_len is cut to cap_len */
	ASSERT_EQ(w.close(), 0);
	std::string perr;
	const auto pkts = read_pcap(path, perr);
	ASSERT_EQ(pkts.size(), 2u) << perr;
	EXPECT_EQ(pkts[0].caplen, 100u);
	EXPECT_EQ(pkts[0].len, 1000u);
	EXPECT_EQ(pkts[1].caplen, 30u);
	EXPECT_EQ(pkts[0].ts_ns, uint64_t(off) + 10);
	EXPECT_EQ(pkts[1].ts_ns, uint64_t(off) + 20);
	unlink(path.c_str());
}

TEST(PcapngWriter, Errors)
{
	PcapngWriter w;
	std::string err;
	EXPECT_FALSE(w.open("/nonexistent-dir/x.pcapng", {"x"}, 0, 0, err));
	EXPECT_NE(err.find("/nonexistent-dir"), std::string::npos) << err;
	EXPECT_FALSE(w.open(temp_path("none"), {}, 0, 0, err));
	const std::string path = temp_path("chan");
	ASSERT_TRUE(w.open(path, {"only"}, 0, 0, err));
	Record r{};
	r.channel = 1;
	EXPECT_FALSE(w.add(r, 0)) << "channel without an interface";
	EXPECT_EQ(w.close(), 0);
	unlink(path.c_str());
}

} // namespace
