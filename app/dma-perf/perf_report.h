/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-dma-perf results: the latency histogram, the CSV writer (the columns
 * of DPDK's dpdk-test-dma-perf, then xcap's own), the JSON writer, the
 * ratio table, and the one-line record a case's process hands back to the
 * parent. No DPDK here: unit-tested in test/bench.
 */
#ifndef XCAP_DMA_PERF_REPORT_H
#define XCAP_DMA_PERF_REPORT_H

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace dmaperf {

/* Log-linear histogram of durations in TSC cycles: 32 sub-buckets per power
 * of two (values below 64 are exact), so a percentile is within 3.2%. */
class LatencyHist {
public:
	static constexpr unsigned kSubBits = 5;
	static constexpr unsigned kSub = 1u << kSubBits;
	static constexpr unsigned kBuckets = (64 - kSubBits) * kSub + 2 * kSub;

	void add(uint64_t v) { counts_[index(v)]++; total_++; }
	void merge(const LatencyHist &o);
	uint64_t count() const { return total_; }
	/* Value at quantile q in [0, 1] (upper edge of its bucket, so never
	 * understated); 0 when empty. */
	uint64_t quantile(double q) const;

	static unsigned index(uint64_t v);
	static uint64_t upper(unsigned idx); /* largest value in bucket idx */

private:
	std::array<uint64_t, kBuckets> counts_{};
	uint64_t total_ = 0;
};

/* One CSV/JSON row: a worker's figures in one scenario, or a scenario's
 * summary (worker == -1). */
struct Result {
	unsigned case_id = 0;
	std::string section;
	std::string type;          /* DMA_MEM_COPY, CPU_MEM_COPY, DMA_CAPTURE */
	unsigned scenario = 0;
	int worker = -1;           /* -1: summary of the scenario */
	unsigned lcore = 0;
	std::string dev;           /* "" for CPU */
	std::string dir;           /* mem2mem, ... ("" for CPU) */
	uint64_t ring_size = 0, kick_batch = 0, buf_size = 0, nr_buf = 0;
	unsigned src_sge = 0, dst_sge = 0;
	double memory_mb = 0;
	double avg_cycles = 0;     /* DPDK's "average cycle": wall cycles / ops */
	double gbps = 0, mops = 0;
	double cpu_cycles_per_op = 0; /* measured: cycles inside productive calls / ops */
	double lat_p50_ns = -1, lat_p99_ns = -1, lat_p999_ns = -1; /* -1: none */
	uint64_t lat_samples = 0;
	uint64_t ops = 0;          /* ops completed in the measured window */
	double seconds = 0;        /* length of that window */
	std::string verify;        /* "ok", "skipped", "FAILED: ...", "n/a" */
	/* noise: context switches of the worker thread in the window, and loop
	 * iterations left out of cpu_cycles_per_op because they lasted > 50 us */
	uint64_t context_switches = 0, disturbed = 0;
	/* DMA_CAPTURE */
	uint64_t records = 0, lost_no_buffer = 0, lost_overrun = 0, buffers = 0;
	std::string error;         /* the scenario failed: why */
};

/* One line, "key=value" fields separated by tabs (values escaped), and back. */
std::string serialize(const Result &r);
std::optional<Result> deserialize(const std::string &line);

/* CSV in DPDK's layout. With extras, every row gets xcap's columns after
 * DPDK's eleven; without, the file is column for column DPDK's. */
class CsvWriter {
public:
	CsvWriter(FILE *f, bool extras) : f_(f), extras_(extras) {}
	void environment(double cpu_ghz);              /* the "Test Environment" block */
	void case_header(unsigned case_id, const std::string &type);
	void row(const Result &r);                     /* worker line or summary */
	void skipped(unsigned case_id);
	void invalid(unsigned case_id, const std::string &why);
	void blank(int lines);

	static std::string header_line(unsigned case_id, const std::string &type, bool extras);
	static std::string row_line(const Result &r, bool extras);

private:
	FILE *f_;
	bool extras_;
};

/* A JSON array of every row. */
std::string to_json(const std::vector<Result> &rows, const std::string &config_path);

/* Human-readable table of every summary row. */
std::string summary_table(const std::vector<Result> &rows);

/* Per buffer size: the Mops of every case that ran it, and the ratios of
 * the first DMA case to each other case ("xcap / skeleton", "xcap / CPU").
 * Empty if fewer than two cases share a buffer size. */
std::string ratio_table(const std::vector<Result> &rows);

std::string json_escape(const std::string &s);

} // namespace dmaperf

#endif
