/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-dma-perf's writers: DPDK's CSV lines byte for byte, xcap's extra
 * columns, the latency histogram, the record format between processes,
 * JSON and the ratio table.
 */
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "perf_report.h"

using namespace dmaperf;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

Result dma_row()
{
	Result r;
	r.case_id = 1;
	r.section = "xcap";
	r.type = "DMA_MEM_COPY";
	r.scenario = 2;
	r.worker = 0;
	r.lcore = 10;
	r.dev = "0000:00:04.2";
	r.dir = "mem2mem";
	r.ring_size = 1024;
	r.kick_batch = 32;
	r.buf_size = 128;
	r.nr_buf = 40960;
	r.memory_mb = 10;
	r.avg_cycles = 123.9;
	r.gbps = 12.3456;
	r.mops = 12.0564;
	r.cpu_cycles_per_op = 45.67;
	r.lat_p50_ns = 1500.4;
	r.lat_p99_ns = 3000;
	r.lat_p999_ns = 9000;
	r.verify = "ok";
	return r;
}

size_t columns(const std::string &line)
{
	return size_t(std::count(line.begin(), line.end(), ',')) + 1;
}

std::string read_all(FILE *f)
{
	rewind(f);
	std::string s;
	char b[4096];
	size_t n;
	while ((n = fread(b, 1, sizeof(b), f)) > 0)
		s.append(b, n);
	return s;
}

} // namespace

TEST(Csv, HeaderIsDpdks)
{
	EXPECT_EQ(CsvWriter::header_line(3, "DMA_MEM_COPY", false),
		  "Case 3 : DMA_MEM_COPY,lcore,DMA,DMA ring size,kick batch size,buffer size(B),"
		  "number of buffers,memory(MB),average cycle,bandwidth(Gbps),MOps\n");
	const std::string x = CsvWriter::header_line(3, "DMA_MEM_COPY", true);
	EXPECT_EQ(x.rfind(CsvWriter::header_line(3, "DMA_MEM_COPY", false).substr(0, 100), 0), 0u);
	EXPECT_THAT(x, HasSubstr(",MOps,cpu cycles/op,latency p50(ns),latency p99(ns),"
				 "latency p99.9(ns),verify,records,lost no buffer,lost overrun\n"));
}

TEST(Csv, DmaWorkerLineIsDpdksThenExtras)
{
	Result r = dma_row();
	EXPECT_EQ(CsvWriter::row_line(r, false),
		  "Scenario 2,10,0000:00:04.2,1024,32,128,40960,10.00,123,12.346,12.056\n");
	EXPECT_EQ(CsvWriter::row_line(r, true),
		  "Scenario 2,10,0000:00:04.2,1024,32,128,40960,10.00,123,12.346,12.056,"
		  "45.7,1500,3000,9000,ok,,,\n");
	EXPECT_EQ(columns(CsvWriter::row_line(r, false)), 11u);
	EXPECT_EQ(columns(CsvWriter::row_line(r, true)),
		  columns(CsvWriter::header_line(1, "DMA_MEM_COPY", true)));
}

TEST(Csv, CpuWorkerLineHasNa)
{
	Result r = dma_row();
	r.type = "CPU_MEM_COPY";
	r.dev.clear();
	r.lat_p50_ns = r.lat_p99_ns = r.lat_p999_ns = -1;
	EXPECT_EQ(CsvWriter::row_line(r, false),
		  "Scenario 2,10,NA,NA,NA,128,40960,10.00,123,12.346,12.056\n");
	EXPECT_EQ(CsvWriter::row_line(r, true),
		  "Scenario 2,10,NA,NA,NA,128,40960,10.00,123,12.346,12.056,45.7,,,,ok,,,\n");
}

TEST(Csv, SummaryLineIsDpdks)
{
	Result r = dma_row();
	r.worker = -1;
	r.nr_buf = 81920;
	r.memory_mb = 20;
	EXPECT_EQ(CsvWriter::row_line(r, false),
		  "Scenario 2 Summary, , , , , ,81920,20.00,123.9,12.346,12.056\n");
	EXPECT_EQ(columns(CsvWriter::row_line(r, false)), 11u);
}

TEST(Csv, CaptureExtrasAndFailures)
{
	Result r = dma_row();
	r.type = "DMA_CAPTURE";
	r.records = 100;
	r.lost_no_buffer = 2;
	r.lost_overrun = 3;
	EXPECT_THAT(CsvWriter::row_line(r, true), HasSubstr(",ok,100,2,3\n"));
	r.error = "rte_dma_copy() failed: a, b";
	EXPECT_EQ(CsvWriter::row_line(r, true), "Scenario 2 failed: rte_dma_copy() failed: a; b\n");
	r.error.clear();
	r.dev = "weird,name";
	EXPECT_EQ(columns(CsvWriter::row_line(r, false)), 11u) << "a comma in a cell splits it";
}

TEST(Csv, FileLayout)
{
	FILE *f = tmpfile();
	ASSERT_NE(f, nullptr);
	CsvWriter w(f, false);
	w.environment(2.3);
	w.case_header(1, "DMA_MEM_COPY");
	w.row(dma_row());
	w.skipped(2);
	w.invalid(3, "EAL initialisation failed");
	EXPECT_EQ(read_all(f),
		  ",,,,,,,,\n,,,,,,,,\nTest Environment:\nCPU frequency,2.300 Ghz\n,,,,,,,,\n"
		  "Case 1 : DMA_MEM_COPY,lcore,DMA,DMA ring size,kick batch size,buffer size(B),"
		  "number of buffers,memory(MB),average cycle,bandwidth(Gbps),MOps\n"
		  "Scenario 2,10,0000:00:04.2,1024,32,128,40960,10.00,123,12.346,12.056\n"
		  ",,,,,,,,\n,,,,,,,,\nSkip the test-case 2\n"
		  ",,,,,,,,\n,,,,,,,,\nInvalid case 3: EAL initialisation failed\n");
	fclose(f);
}

TEST(Histogram, ExactBelow64AndBoundedError)
{
	for (uint64_t v = 0; v < 64; v++)
		EXPECT_EQ(LatencyHist::upper(LatencyHist::index(v)), v);
	std::mt19937_64 rng(1);
	for (int i = 0; i < 100000; i++) {
		const uint64_t v = rng() >> (rng() % 64);
		const unsigned idx = LatencyHist::index(v);
		ASSERT_LT(idx, LatencyHist::kBuckets);
		const uint64_t up = LatencyHist::upper(idx);
		ASSERT_GE(up, v);
		ASSERT_LE(double(up - v), double(v) / 32 + 1) << v;
		if (idx > 0) {
			ASSERT_LT(LatencyHist::upper(idx - 1), v) << v;
		}
	}
}

TEST(Histogram, Quantiles)
{
	LatencyHist h;
	EXPECT_EQ(h.quantile(0.5), 0u);
	for (uint64_t v = 1; v <= 10000; v++)
		h.add(v);
	EXPECT_EQ(h.count(), 10000u);
	EXPECT_NEAR(double(h.quantile(0.50)), 5000, 5000 * 0.033);
	EXPECT_NEAR(double(h.quantile(0.99)), 9900, 9900 * 0.033);
	EXPECT_NEAR(double(h.quantile(0.999)), 9990, 9990 * 0.033);
	EXPECT_GE(h.quantile(1.0), 10000u);
	EXPECT_EQ(h.quantile(0.0), 1u);

	LatencyHist a, b;
	for (int i = 0; i < 990; i++)
		a.add(100);
	for (int i = 0; i < 10; i++)
		b.add(1000000);
	a.merge(b);
	EXPECT_EQ(a.count(), 1000u);
	EXPECT_NEAR(double(a.quantile(0.99)), 100, 100 * 0.033);
	EXPECT_NEAR(double(a.quantile(0.995)), 1e6, 1e6 * 0.033);
}

TEST(Records, RoundTrip)
{
	Result r = dma_row();
	r.section = "tab\there\nnewline \\ backslash";
	r.error = "x=y";
	r.lat_p50_ns = -1;
	r.records = 1ull << 60;
	const std::string line = serialize(r);
	EXPECT_EQ(line.find('\n'), std::string::npos);
	const auto back = deserialize(line + "\n");
	ASSERT_TRUE(back.has_value());
	EXPECT_EQ(back->section, r.section);
	EXPECT_EQ(back->error, r.error);
	EXPECT_EQ(back->records, r.records);
	EXPECT_EQ(back->worker, 0);
	EXPECT_DOUBLE_EQ(back->gbps, r.gbps);
	EXPECT_DOUBLE_EQ(back->lat_p50_ns, -1);
	EXPECT_EQ(serialize(*back), line);
	EXPECT_FALSE(deserialize("garbage").has_value());
	EXPECT_FALSE(deserialize("case=1").has_value()) << "missing fields";
}

TEST(Json, RowsAndEscapes)
{
	Result a = dma_row(), b = dma_row();
	b.worker = -1;
	b.section = "quote\"back\\slash";
	b.lat_p99_ns = -1;
	const std::string j = to_json({a, b}, "config/x.ini");
	EXPECT_THAT(j, HasSubstr("\"config\": \"config/x.ini\""));
	EXPECT_THAT(j, HasSubstr("\"dev\": \"0000:00:04.2\""));
	EXPECT_THAT(j, HasSubstr("\"mops\": 12.0564"));
	EXPECT_THAT(j, HasSubstr("\"worker\": null"));
	EXPECT_THAT(j, HasSubstr("\"lat_p99_ns\": null"));
	EXPECT_THAT(j, HasSubstr("\"section\": \"quote\\\"back\\\\slash\""));
	EXPECT_EQ(std::count(j.begin(), j.end(), '{'), std::count(j.begin(), j.end(), '}'));
	EXPECT_EQ(std::count(j.begin(), j.end(), '['), std::count(j.begin(), j.end(), ']'));
	EXPECT_EQ(to_json({}, "c"), "{\n  \"tool\": \"xcap-dma-perf\",\n  \"config\": \"c\",\n"
				    "  \"results\": []\n}\n");
	EXPECT_EQ(json_escape(std::string("a\x01")), "\"a\\u0001\"");
}

namespace {

Result summary(unsigned case_id, const std::string &type, const std::string &dev, uint64_t size,
	       double mops)
{
	Result r;
	r.case_id = case_id;
	r.type = type;
	r.dev = dev;
	r.buf_size = size;
	r.mops = mops;
	r.worker = -1;
	r.verify = "ok";
	return r;
}

} // namespace

TEST(Tables, RatioTable)
{
	std::vector<Result> rows = {
		summary(1, "DMA_MEM_COPY", "dma_xcap_emu0", 64, 20),
		summary(1, "DMA_MEM_COPY", "dma_xcap_emu0", 4096, 5),
		summary(2, "DMA_MEM_COPY", "dma_skeleton", 64, 5),
		summary(2, "DMA_MEM_COPY", "dma_skeleton", 4096, 2),
		summary(3, "CPU_MEM_COPY", "", 64, 25),
		summary(3, "CPU_MEM_COPY", "", 4096, 5.5),
	};
	Result w = rows[0];
	w.worker = 0;
	w.mops = 999; /* worker rows do not count */
	rows.push_back(w);
	const std::string t = ratio_table(rows);
	EXPECT_THAT(t, HasSubstr("dma_xcap_emu0 / dma_skeleton"));
	EXPECT_THAT(t, HasSubstr("dma_xcap_emu0 / CPU memcpy"));
	EXPECT_THAT(t, HasSubstr("4.00x"));  /* 20 / 5 */
	EXPECT_THAT(t, HasSubstr("0.80x"));  /* 20 / 25 */
	EXPECT_THAT(t, HasSubstr("2.50x"));  /* 5 / 2 */
	EXPECT_THAT(t, HasSubstr("0.91x"));  /* 5 / 5.5 */
	EXPECT_THAT(t, HasSubstr("4 KiB"));
	EXPECT_THAT(t, Not(HasSubstr("999")));
	EXPECT_EQ(ratio_table({rows[0], rows[1]}), "") << "one case: nothing to compare";
	Result failed = rows[2];
	failed.error = "boom";
	EXPECT_EQ(ratio_table({rows[0], failed}), "");
}

TEST(Tables, SummaryTable)
{
	Result a = summary(1, "DMA_MEM_COPY", "dma_xcap_emu0", 64, 20);
	a.lat_p50_ns = 1234;
	Result f = summary(2, "DMA_MEM_COPY", "dma_skeleton", 64, 0);
	f.error = "no dmadev";
	const std::string t = summary_table({a, f});
	EXPECT_THAT(t, HasSubstr("dma_xcap_emu0"));
	EXPECT_THAT(t, HasSubstr("20.000"));
	EXPECT_THAT(t, HasSubstr("1234"));
	EXPECT_THAT(t, HasSubstr("FAILED: no dmadev"));
}
