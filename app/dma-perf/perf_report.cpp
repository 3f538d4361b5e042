/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-dma-perf results and their writers. No DPDK here (perf_report.h).
 */
#include "perf_report.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

namespace dmaperf {

/* ---- latency histogram ---------------------------------------------------- */

unsigned LatencyHist::index(uint64_t v)
{
	if (v < 2 * kSub)
		return unsigned(v);
	const unsigned msb = 63u - unsigned(__builtin_clzll(v));
	const unsigned shift = msb - kSubBits;
	return shift * kSub + unsigned(v >> shift); /* v >> shift is in [kSub, 2 kSub) */
}

uint64_t LatencyHist::upper(unsigned idx)
{
	if (idx < 2 * kSub)
		return idx;
	const unsigned shift = idx / kSub - 1;
	const uint64_t mant = idx % kSub + kSub;
	const unsigned __int128 up = (static_cast<unsigned __int128>(mant + 1) << shift) - 1;
	return up > UINT64_MAX ? UINT64_MAX : uint64_t(up);
}

void LatencyHist::merge(const LatencyHist &o)
{
	for (unsigned i = 0; i < kBuckets; i++)
		counts_[i] += o.counts_[i];
	total_ += o.total_;
}

uint64_t LatencyHist::quantile(double q) const
{
	if (total_ == 0)
		return 0;
	q = std::clamp(q, 0.0, 1.0);
	/* the smallest value with at least ceil(q * total) samples at or below */
	uint64_t rank = uint64_t(std::ceil(q * double(total_)));
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < kBuckets; i++) {
		seen += counts_[i];
		if (seen >= rank)
			return upper(i);
	}
	return upper(kBuckets - 1);
}

/* ---- one-line records -------------------------------------------------------- */

namespace {

std::string esc(const std::string &s)
{
	std::string r;
	for (char c : s) {
		if (c == '\\')
			r += "\\\\";
		else if (c == '\t')
			r += "\\t";
		else if (c == '\n')
			r += "\\n";
		else
			r += c;
	}
	return r;
}

std::string unesc(std::string_view s)
{
	std::string r;
	for (size_t i = 0; i < s.size(); i++) {
		if (s[i] == '\\' && i + 1 < s.size()) {
			char n = s[++i];
			r += n == 't' ? '\t' : n == 'n' ? '\n' : n;
		} else {
			r += s[i];
		}
	}
	return r;
}

std::string num(double v)
{
	char b[64];
	snprintf(b, sizeof(b), "%.17g", v);
	return b;
}

/* Every field once: name, how to write it, how to read it back. */
template <typename F>
void fields(Result &r, F &&f)
{
	f("case", r.case_id);
	f("section", r.section);
	f("type", r.type);
	f("scenario", r.scenario);
	f("worker", r.worker);
	f("lcore", r.lcore);
	f("dev", r.dev);
	f("dir", r.dir);
	f("ring_size", r.ring_size);
	f("kick_batch", r.kick_batch);
	f("buf_size", r.buf_size);
	f("nr_buf", r.nr_buf);
	f("src_sge", r.src_sge);
	f("dst_sge", r.dst_sge);
	f("memory_mb", r.memory_mb);
	f("avg_cycles", r.avg_cycles);
	f("gbps", r.gbps);
	f("mops", r.mops);
	f("cpu_cycles_per_op", r.cpu_cycles_per_op);
	f("lat_p50_ns", r.lat_p50_ns);
	f("lat_p99_ns", r.lat_p99_ns);
	f("lat_p999_ns", r.lat_p999_ns);
	f("lat_samples", r.lat_samples);
	f("ops", r.ops);
	f("seconds", r.seconds);
	f("verify", r.verify);
	f("context_switches", r.context_switches);
	f("disturbed", r.disturbed);
	f("records", r.records);
	f("lost_no_buffer", r.lost_no_buffer);
	f("lost_overrun", r.lost_overrun);
	f("buffers", r.buffers);
	f("error", r.error);
}

struct Writer {
	std::string out;
	void sep(const char *k)
	{
		if (!out.empty())
			out += '\t';
		out += k;
		out += '=';
	}
	void operator()(const char *k, const std::string &v) { sep(k); out += esc(v); }
	void operator()(const char *k, double v) { sep(k); out += num(v); }
	template <typename T>
	void operator()(const char *k, T v) { sep(k); out += std::to_string(v); }
};

struct Reader {
	std::map<std::string, std::string> kv;
	bool ok = true;
	const std::string *find(const char *k)
	{
		auto it = kv.find(k);
		if (it == kv.end()) {
			ok = false;
			return nullptr;
		}
		return &it->second;
	}
	void operator()(const char *k, std::string &v)
	{
		if (auto *s = find(k))
			v = *s;
	}
	void operator()(const char *k, double &v)
	{
		if (auto *s = find(k)) {
			char *end;
			v = strtod(s->c_str(), &end);
			ok &= !s->empty() && *end == '\0';
		}
	}
	template <typename T>
	void operator()(const char *k, T &v)
	{
		if (auto *s = find(k)) {
			auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
			ok &= ec == std::errc() && p == s->data() + s->size();
		}
	}
};

} // namespace

std::string serialize(const Result &r)
{
	Writer w;
	fields(const_cast<Result &>(r), w);
	return w.out;
}

std::optional<Result> deserialize(const std::string &line)
{
	Reader rd;
	std::string_view s = line;
	while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
		s.remove_suffix(1);
	while (!s.empty()) {
		size_t tab = s.find('\t');
		std::string_view f = s.substr(0, tab);
		size_t eq = f.find('=');
		if (eq == std::string_view::npos)
			return std::nullopt;
		rd.kv[std::string(f.substr(0, eq))] = unesc(f.substr(eq + 1));
		s = tab == std::string_view::npos ? std::string_view() : s.substr(tab + 1);
	}
	Result r;
	fields(r, rd);
	if (!rd.ok)
		return std::nullopt;
	return r;
}

/* ---- CSV ------------------------------------------------------------------------ */

namespace {

const char *kDpdkHeader = "lcore,DMA,DMA ring size,kick batch size,buffer size(B),"
			  "number of buffers,memory(MB),average cycle,bandwidth(Gbps),MOps";
const char *kExtraHeader = "cpu cycles/op,latency p50(ns),latency p99(ns),latency p99.9(ns),"
			   "verify,records,lost no buffer,lost overrun";

/* No commas or newlines inside a CSV cell. */
std::string cell(std::string s)
{
	for (char &c : s)
		if (c == ',' || c == '\n' || c == '\r')
			c = ';';
	return s;
}

std::string fmt(const char *f, double v)
{
	char b[64];
	snprintf(b, sizeof(b), f, v);
	return b;
}

std::string opt_ns(double v) { return v < 0 ? "" : fmt("%.0f", v); }

} // namespace

std::string CsvWriter::header_line(unsigned case_id, const std::string &type, bool extras)
{
	std::string s = "Case " + std::to_string(case_id) + " : " + type + "," + kDpdkHeader;
	if (extras)
		s += std::string(",") + kExtraHeader;
	return s + "\n";
}

std::string CsvWriter::row_line(const Result &r, bool extras)
{
	char b[512];
	if (!r.error.empty())
		return "Scenario " + std::to_string(r.scenario) + " failed: " + cell(r.error) + "\n";
	if (r.worker < 0) {
		/* DPDK's summary: "Scenario %u Summary, , , , , ,%u,%.2lf,%.1lf,%.3lf,%.3lf" */
		snprintf(b, sizeof(b), "Scenario %u Summary, , , , , ,%" PRIu64 ",%.2f,%.1f,%.3f,%.3f",
			 r.scenario, r.nr_buf, r.memory_mb, r.avg_cycles, r.gbps, r.mops);
	} else if (r.type == "CPU_MEM_COPY") {
		snprintf(b, sizeof(b), "Scenario %u,%u,NA,NA,NA,%" PRIu64 ",%" PRIu64 ",%.2f,%" PRIu64
			 ",%.3f,%.3f", r.scenario, r.lcore, r.buf_size, r.nr_buf, r.memory_mb,
			 uint64_t(r.avg_cycles), r.gbps, r.mops);
	} else {
		snprintf(b, sizeof(b), "Scenario %u,%u,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			 ",%.2f,%" PRIu64 ",%.3f,%.3f", r.scenario, r.lcore, cell(r.dev).c_str(),
			 r.ring_size, r.kick_batch, r.buf_size, r.nr_buf, r.memory_mb,
			 uint64_t(r.avg_cycles), r.gbps, r.mops);
	}
	std::string s = b;
	if (extras) {
		const bool cap = r.type == "DMA_CAPTURE";
		for (const std::string &v : {fmt("%.1f", r.cpu_cycles_per_op), opt_ns(r.lat_p50_ns),
					     opt_ns(r.lat_p99_ns), opt_ns(r.lat_p999_ns), cell(r.verify),
					     cap ? std::to_string(r.records) : std::string(),
					     cap ? std::to_string(r.lost_no_buffer) : std::string(),
					     cap ? std::to_string(r.lost_overrun) : std::string()}) {
			s += ',';
			s += v;
		}
	}
	return s + "\n";
}

void CsvWriter::blank(int lines)
{
	for (int i = 0; i < lines; i++)
		fputs(",,,,,,,,\n", f_);
	fflush(f_);
}

void CsvWriter::environment(double cpu_ghz)
{
	blank(2);
	fprintf(f_, "Test Environment:\nCPU frequency,%.3f Ghz\n", cpu_ghz);
	blank(1);
}

void CsvWriter::case_header(unsigned case_id, const std::string &type)
{
	fputs(header_line(case_id, type, extras_).c_str(), f_);
	fflush(f_);
}

void CsvWriter::row(const Result &r)
{
	fputs(row_line(r, extras_).c_str(), f_);
	fflush(f_);
}

void CsvWriter::skipped(unsigned case_id)
{
	blank(2);
	fprintf(f_, "Skip the test-case %u\n", case_id);
	fflush(f_);
}

void CsvWriter::invalid(unsigned case_id, const std::string &why)
{
	blank(2);
	fprintf(f_, "Invalid case %u%s%s\n", case_id, why.empty() ? "" : ": ", cell(why).c_str());
	fflush(f_);
}

/* ---- JSON ----------------------------------------------------------------------- */

std::string json_escape(const std::string &s)
{
	std::string r = "\"";
	for (unsigned char c : s) {
		switch (c) {
		case '"': r += "\\\""; break;
		case '\\': r += "\\\\"; break;
		case '\n': r += "\\n"; break;
		case '\t': r += "\\t"; break;
		case '\r': r += "\\r"; break;
		default:
			if (c < 0x20) {
				char b[8];
				snprintf(b, sizeof(b), "\\u%04x", c);
				r += b;
			} else {
				r += char(c);
			}
		}
	}
	return r + "\"";
}

namespace {

struct JsonWriter {
	std::string out;
	bool first = true;
	void key(const char *k)
	{
		out += first ? "" : ", ";
		first = false;
		out += json_escape(k) + ": ";
	}
	void operator()(const char *k, const std::string &v) { key(k); out += json_escape(v); }
	void operator()(const char *k, double v)
	{
		key(k);
		out += (!std::isfinite(v) || v < 0) ? "null" : num(v); /* -1: not measured */
	}
	void operator()(const char *k, int v)
	{
		key(k);
		out += v < 0 ? "null" : std::to_string(v);
	}
	template <typename T>
	void operator()(const char *k, T v) { key(k); out += std::to_string(v); }
};

} // namespace

std::string to_json(const std::vector<Result> &rows, const std::string &config_path)
{
	std::string s = "{\n  \"tool\": \"xcap-dma-perf\",\n  \"config\": " +
			json_escape(config_path) + ",\n  \"results\": [";
	bool first = true;
	for (const Result &r : rows) {
		JsonWriter w;
		fields(const_cast<Result &>(r), w);
		s += first ? "\n    {" : ",\n    {";
		s += w.out + "}";
		first = false;
	}
	s += first ? "]\n}\n" : "\n  ]\n}\n";
	return s;
}

/* ---- tables --------------------------------------------------------------------- */

namespace {

std::string size_str(uint64_t b)
{
	if (b >= (1u << 20) && b % (1u << 20) == 0)
		return std::to_string(b >> 20) + " MiB";
	if (b >= 1024 && b % 1024 == 0)
		return std::to_string(b >> 10) + " KiB";
	return std::to_string(b) + " B";
}

std::string label_of(const Result &r)
{
	if (r.type == "CPU_MEM_COPY")
		return "CPU memcpy";
	return r.dev;
}

} // namespace

std::string summary_table(const std::vector<Result> &rows)
{
	std::string s = "avg cyc: wall cycles/op (DPDK's average cycle); cyc/op: cycles the lcore spent "
			"in calls that did work, per op; csw: context switches of the lcore in the "
			"window (not 0: the figures are disturbed)\n";
	char b[512];
	snprintf(b, sizeof(b), "%-5s %-13s %-22s %9s %5s %5s %9s %9s %9s %9s %9s %9s %9s %5s  %s\n",
		 "case", "type", "device", "size", "ring", "batch", "Mops", "Gbit/s", "avg cyc",
		 "cyc/op", "p50 ns", "p99 ns", "p99.9 ns", "csw", "verify");
	s += b;
	auto ns = [](double v) { return v < 0 ? std::string("-") : fmt("%.0f", v); };
	for (const Result &r : rows) {
		if (r.worker >= 0)
			continue;
		if (!r.error.empty()) {
			snprintf(b, sizeof(b), "%-5u %-13s %-22s %9s  scenario %u FAILED: %s\n",
				 r.case_id, r.type.c_str(), label_of(r).c_str(),
				 size_str(r.buf_size).c_str(), r.scenario, r.error.c_str());
			s += b;
			continue;
		}
		const bool cpu = r.type == "CPU_MEM_COPY";
		snprintf(b, sizeof(b), "%-5u %-13s %-22s %9s %5s %5s %9.3f %9.3f %9.1f %9.1f %9s %9s %9s %5" PRIu64 "  %s\n",
			 r.case_id, r.type.c_str(), label_of(r).c_str(), size_str(r.buf_size).c_str(),
			 cpu ? "-" : std::to_string(r.ring_size).c_str(),
			 cpu ? "-" : std::to_string(r.kick_batch).c_str(), r.mops, r.gbps,
			 r.avg_cycles, r.cpu_cycles_per_op, ns(r.lat_p50_ns).c_str(),
			 ns(r.lat_p99_ns).c_str(), ns(r.lat_p999_ns).c_str(), r.context_switches,
			 r.verify.c_str());
		s += b;
	}
	return s;
}

std::string ratio_table(const std::vector<Result> &rows)
{
	/* columns: cases in order; the numerator is the first DMA copy case */
	std::vector<unsigned> cases;
	std::map<unsigned, std::string> label;
	std::map<uint64_t, std::map<unsigned, double>> mops; /* size -> case -> Mops */
	for (const Result &r : rows) {
		if (r.worker >= 0 || !r.error.empty() || r.type == "DMA_CAPTURE")
			continue;
		if (!label.count(r.case_id)) {
			cases.push_back(r.case_id);
			label[r.case_id] = label_of(r);
		}
		mops[r.buf_size].try_emplace(r.case_id, r.mops);
	}
	unsigned num = 0;
	for (const Result &r : rows)
		if (r.worker < 0 && r.error.empty() && r.type == "DMA_MEM_COPY") {
			num = r.case_id;
			break;
		}
	if (num == 0)
		return "";
	/* compare with cases of another device (or the CPU) only */
	cases.erase(std::remove_if(cases.begin(), cases.end(), [&](unsigned c) {
			    return c != num && label[c] == label[num];
		    }), cases.end());
	if (cases.size() < 2)
		return "";
	/* the same label twice (two CPU cases): tell them apart */
	std::map<std::string, int> uses;
	for (unsigned c : cases)
		uses[label[c]]++;
	for (unsigned c : cases)
		if (uses[label[c]] > 1)
			label[c] += " (case " + std::to_string(c) + ")";

	std::vector<std::string> heads;
	for (unsigned c : cases)
		heads.push_back(label[c] + " Mops");
	for (unsigned c : cases)
		if (c != num)
			heads.push_back(label[num] + " / " + label[c]);
	std::vector<size_t> w;
	for (const std::string &h : heads)
		w.push_back(std::max<size_t>(h.size(), 10));

	std::string s = "Mops per buffer size, and " + label[num] + " / each other case\n";
	char b[256];
	snprintf(b, sizeof(b), "%8s", "size");
	s += b;
	for (size_t i = 0; i < heads.size(); i++)
		s += "  " + std::string(w[i] - heads[i].size(), ' ') + heads[i];
	s += "\n";
	bool any = false;
	for (const auto &[size, m] : mops) {
		if (m.size() < 2 || !m.count(num))
			continue;
		any = true;
		snprintf(b, sizeof(b), "%8s", size_str(size).c_str());
		s += b;
		size_t col = 0;
		for (unsigned c : cases) {
			auto it = m.find(c);
			if (it == m.end())
				snprintf(b, sizeof(b), "  %*s", int(w[col]), "-");
			else
				snprintf(b, sizeof(b), "  %*.3f", int(w[col]), it->second);
			s += b;
			col++;
		}
		for (unsigned c : cases) {
			if (c == num)
				continue;
			auto it = m.find(c);
			if (it == m.end() || it->second <= 0)
				snprintf(b, sizeof(b), "  %*s", int(w[col]), "-");
			else
				snprintf(b, sizeof(b), "  %*.2fx", int(w[col]) - 1, m.at(num) / it->second);
			s += b;
			col++;
		}
		s += "\n";
	}
	return any ? s : "";
}

} // namespace dmaperf
