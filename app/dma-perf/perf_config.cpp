/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * config.ini parser of xcap-dma-perf. No DPDK here (see perf_config.h).
 */
#include "perf_config.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace dmaperf {
namespace {

using std::string;
using std::string_view;

string_view trim(string_view s)
{
	while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
		s.remove_prefix(1);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
		s.remove_suffix(1);
	return s;
}

/* Strict unsigned decimal or 0x hex; no sign, no trailing text. */
bool parse_u64(string_view s, uint64_t &v)
{
	s = trim(s);
	int base = 10;
	if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s.remove_prefix(2);
	}
	if (s.empty())
		return false;
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
	return ec == std::errc() && p == s.data() + s.size();
}

std::vector<string_view> split(string_view s, char sep)
{
	std::vector<string_view> out;
	for (;;) {
		size_t p = s.find(sep);
		out.push_back(trim(s.substr(0, p)));
		if (p == string_view::npos)
			break;
		s.remove_prefix(p + 1);
	}
	return out;
}

struct Entry {
	string value;
	unsigned line;
};

struct Section {
	string name;
	unsigned line;
	std::map<string, Entry, std::less<>> entries;
	std::vector<string> order; /* keys in file order */
};

class Ctx {
public:
	Ctx(const string &path, std::vector<string> &errors) : path_(path), errors_(errors) {}

	void error(unsigned line, const string &msg)
	{
		errors_.push_back(path_ + ":" + std::to_string(line) + ": " + msg);
	}
	/* "[case1] buf_size: <what>; allowed: <allowed>" */
	void key_error(const Section &s, string_view key, const string &what, const string &allowed)
	{
		auto it = s.entries.find(key);
		const unsigned line = it != s.entries.end() ? it->second.line : s.line;
		string m = "[" + s.name + "] " + string(key) + ": " + what;
		if (!allowed.empty())
			m += "; allowed: " + allowed;
		error(line, m);
	}
	size_t count() const { return errors_.size(); }

private:
	const string &path_;
	std::vector<string> &errors_;
};

const string kVarForm = "first,last,increment,ADD|MUL";

string range_str(uint64_t lo, uint64_t hi)
{
	return "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

const Entry *get(const Section &s, string_view key)
{
	auto it = s.entries.find(key);
	return it == s.entries.end() ? nullptr : &it->second;
}

/* An integer key in [lo, hi]; absent keeps v. */
bool get_uint(Ctx &c, const Section &s, string_view key, uint64_t lo, uint64_t hi, uint64_t &v,
	      const string &extra = "")
{
	const Entry *e = get(s, key);
	if (e == nullptr)
		return true;
	uint64_t x;
	if (!parse_u64(e->value, x) || x < lo || x > hi) {
		c.key_error(s, key, "'" + e->value + "' is not valid",
			    range_str(lo, hi) + extra);
		return false;
	}
	v = x;
	return true;
}

bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* A variable-capable key: "n" or "first,last,increment,ADD|MUL". */
bool get_var(Ctx &c, const Section &s, string_view key, uint64_t lo, uint64_t hi, bool pow2,
	     Var &v)
{
	const Entry *e = get(s, key);
	const string allowed = (pow2 ? "a power of two in [" : "an integer in [") +
			       std::to_string(lo) + ", " + std::to_string(hi) + "], or " + kVarForm;
	if (e == nullptr) {
		c.key_error(s, key, "missing (mandatory for type " + string(get(s, "type")->value) + ")",
			    allowed);
		return false;
	}
	auto bad = [&](const string &what) {
		c.key_error(s, key, "'" + e->value + "': " + what, allowed);
		return false;
	};
	auto check = [&](uint64_t x, const char *which) {
		if (x < lo || x > hi || (pow2 && !is_pow2(x)))
			return bad(string(which) + " " + std::to_string(x) + " is out of range");
		return true;
	};
	const auto parts = split(e->value, ',');
	Var r;
	if (parts.size() == 1) {
		if (!parse_u64(parts[0], r.first))
			return bad("not an integer");
		if (!check(r.first, "value"))
			return false;
		r.last = r.first;
		v = r;
		return true;
	}
	if (parts.size() != 4)
		return bad("a variable has 4 fields, this has " + std::to_string(parts.size()));
	if (!parse_u64(parts[0], r.first) || !parse_u64(parts[1], r.last) ||
	    !parse_u64(parts[2], r.incr))
		return bad("first, last and increment must be integers");
	if (parts[3] == "ADD")
		r.op = VarOp::Add;
	else if (parts[3] == "MUL")
		r.op = VarOp::Mul;
	else
		return bad("operation '" + string(parts[3]) + "' is neither ADD nor MUL");
	if (!check(r.first, "first") || !check(r.last, "last"))
		return false;
	if (r.first > r.last)
		return bad("first is greater than last");
	if (r.op == VarOp::Add && r.incr == 0)
		return bad("an ADD increment must be at least 1");
	if (r.op == VarOp::Mul && r.incr < 2)
		return bad("a MUL increment must be at least 2");
	if (r.values().size() > kMaxScenarios)
		return bad("more than " + std::to_string(kMaxScenarios) + " scenarios");
	for (uint64_t x : r.values())
		if (!check(x, "step"))
			return false;
	v = r;
	return true;
}

bool parse_lcore_id(string_view s, unsigned &lcore)
{
	uint64_t v;
	if (!parse_u64(s, v) || v > kMaxLcore)
		return false;
	lcore = unsigned(v);
	return true;
}

/* 23.11 form: "lcore10@0000:00:04.2, lcore11@dma_skeleton". */
bool parse_lcore_dma_list(Ctx &c, const Section &s, std::vector<Worker> &out)
{
	const Entry *e = get(s, "lcore_dma");
	const string allowed = "lcore<N>@<dmadev name>[, lcore<N>@<dmadev name>...], e.g. "
			       "lcore_dma=lcore0@dma_xcap_emu0";
	if (trim(e->value).empty()) {
		c.key_error(s, "lcore_dma", "empty", allowed);
		return false;
	}
	for (string_view item : split(e->value, ',')) {
		size_t at = item.find('@');
		Worker w;
		if (item.empty() || at == string_view::npos) {
			c.key_error(s, "lcore_dma", "'" + string(item) + "' has no '@'", allowed);
			return false;
		}
		string_view l = trim(item.substr(0, at));
		string_view d = trim(item.substr(at + 1));
		if (l.substr(0, 5) != "lcore" || !parse_lcore_id(l.substr(5), w.lcore)) {
			c.key_error(s, "lcore_dma", "'" + string(l) + "' is not lcore<N> with N in [0, " +
				    std::to_string(kMaxLcore) + "]", allowed);
			return false;
		}
		if (d.empty()) {
			c.key_error(s, "lcore_dma", "'" + string(item) + "' names no device", allowed);
			return false;
		}
		w.dev = string(d);
		out.push_back(w);
	}
	return true;
}

/* 24.03+ form: lcore_dma<i>=lcore=10,dev=0000:00:04.1,dir=mem2mem[,raddr=..]. */
bool parse_lcore_dma_kv(Ctx &c, const Section &s, const string &key, Worker &w)
{
	const Entry *e = get(s, key);
	const string allowed = "lcore=<N>,dev=<dmadev name>[,dir=mem2mem|mem2dev|dev2mem]"
			       "[,raddr=<hex>][,coreid=<n>][,pfid=<n>][,vfid=<n>]";
	bool has_lcore = false, has_dev = false;
	std::set<string, std::less<>> seen;
	for (string_view kv : split(e->value, ',')) {
		size_t eq = kv.find('=');
		if (eq == string_view::npos) {
			c.key_error(s, key, "'" + string(kv) + "' is not name=value", allowed);
			return false;
		}
		string_view k = trim(kv.substr(0, eq)), v = trim(kv.substr(eq + 1));
		if (!seen.insert(string(k)).second) {
			c.key_error(s, key, "'" + string(k) + "' given twice", allowed);
			return false;
		}
		uint64_t x;
		auto bad = [&](const string &a) {
			c.key_error(s, key, string(k) + "='" + string(v) + "' is not valid", a);
			return false;
		};
		if (k == "lcore") {
			if (!parse_lcore_id(v, w.lcore))
				return bad("lcore=" + range_str(0, kMaxLcore));
			has_lcore = true;
		} else if (k == "dev") {
			if (v.empty())
				return bad("dev=<dmadev name>");
			w.dev = string(v);
			has_dev = true;
		} else if (k == "dir") {
			if (v == "mem2mem")
				w.dir = Dir::MemToMem;
			else if (v == "mem2dev")
				w.dir = Dir::MemToDev;
			else if (v == "dev2mem")
				w.dir = Dir::DevToMem;
			else
				return bad("dir=mem2mem|mem2dev|dev2mem");
		} else if (k == "raddr") {
			/* DPDK reads raddr as hex with or without 0x */
			string_view h = v;
			if (h.size() > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
				h.remove_prefix(2);
			auto [p, ec] = std::from_chars(h.data(), h.data() + h.size(), x, 16);
			if (h.empty() || ec != std::errc() || p != h.data() + h.size())
				return bad("raddr=<hexadecimal address>");
			w.raddr = x;
		} else if (k == "coreid") {
			if (!parse_u64(v, x) || x > 255)
				return bad("coreid=" + range_str(0, 255));
			w.coreid = uint8_t(x);
		} else if (k == "pfid" || k == "vfid") {
			if (!parse_u64(v, x) || x > 65535)
				return bad(string(k) + "=" + range_str(0, 65535));
			(k == "pfid" ? w.pfid : w.vfid) = uint16_t(x);
		} else {
			c.key_error(s, key, "unknown parameter '" + string(k) + "'", allowed);
			return false;
		}
	}
	if (!has_lcore || !has_dev) {
		c.key_error(s, key, has_lcore ? "no dev=" : "no lcore=", allowed);
		return false;
	}
	return true;
}

/* CPU_MEM_COPY "lcore=3, 4" (commas and/or blanks). */
bool parse_lcore_list(Ctx &c, const Section &s, std::vector<Worker> &out)
{
	const Entry *e = get(s, "lcore");
	string v = e->value;
	std::replace(v.begin(), v.end(), ',', ' ');
	std::istringstream is(v);
	string tok;
	while (is >> tok) {
		Worker w;
		if (!parse_lcore_id(tok, w.lcore)) {
			c.key_error(s, "lcore", "'" + tok + "' is not an lcore id",
				    "lcore ids in [0, " + std::to_string(kMaxLcore) +
				    "] separated by commas, e.g. lcore=0 or lcore=3, 4");
			return false;
		}
		out.push_back(w);
	}
	if (out.empty()) {
		c.key_error(s, "lcore", "empty", "lcore ids separated by commas, e.g. lcore=0");
		return false;
	}
	return true;
}

const std::set<string, std::less<>> kGlobalKeys = {"eal_args", "cache_flush", "test_seconds"};
const std::set<string, std::less<>> kCommonKeys = {
	"type", "skip", "mem_size", "buf_size", "src_numa_node", "dst_numa_node",
	"cache_flush", "test_seconds", "eal_args"};
const std::set<string, std::less<>> kDmaKeys = {
	"dma_ring_size", "kick_batch", "lcore_dma", "dma_src_sge", "dma_dst_sge",
	"use_enq_deq_ops"};
const std::set<string, std::less<>> kCaptureKeys = {
	"dma_ring_size", "kick_batch", "lcore_dma", "capture_vchan"};

string join(const std::set<string, std::less<>> &a, const std::set<string, std::less<>> &b = {})
{
	std::set<string, std::less<>> all = a;
	all.insert(b.begin(), b.end());
	string r;
	for (const string &k : all)
		r += (r.empty() ? "" : ", ") + k;
	return r;
}

bool is_lcore_dma_n(string_view k, unsigned &n)
{
	if (k.size() <= 9 || k.substr(0, 9) != "lcore_dma")
		return false;
	uint64_t v;
	if (!parse_u64(k.substr(9), v) || v > 9999 || (k.size() > 10 && k[9] == '0'))
		return false;
	n = unsigned(v);
	return true;
}

void parse_case(Ctx &c, const Section &s, const Section *global, Case &cs)
{
	const size_t errors_before = c.count();
	cs.section = s.name;
	cs.line = s.line;

	/* skip=1: DPDK skips the case before looking at anything else. */
	uint64_t v = 0;
	if (!get_uint(c, s, "skip", 0, 1, v))
		return;
	if (v == 1) {
		cs.skip = true;
		return;
	}

	const Entry *type = get(s, "type");
	if (type == nullptr) {
		c.key_error(s, "type", "missing", "DMA_MEM_COPY, CPU_MEM_COPY or DMA_CAPTURE");
		return;
	}
	if (type->value == "DMA_MEM_COPY")
		cs.type = TestType::DmaMemCopy;
	else if (type->value == "CPU_MEM_COPY")
		cs.type = TestType::CpuMemCopy;
	else if (type->value == "DMA_CAPTURE")
		cs.type = TestType::DmaCapture;
	else {
		c.key_error(s, "type", "'" + type->value + "' is not a test type",
			    "DMA_MEM_COPY, CPU_MEM_COPY or DMA_CAPTURE");
		return;
	}
	const bool dma = cs.type != TestType::CpuMemCopy;

	/* Keys that do not belong to this type. */
	const auto &own = cs.type == TestType::DmaMemCopy ? kDmaKeys :
			  cs.type == TestType::DmaCapture ? kCaptureKeys :
			  std::set<string, std::less<>>{"lcore"};
	for (const string &k : s.order) {
		unsigned n;
		if (kCommonKeys.count(k) || own.count(k))
			continue;
		if (cs.type == TestType::DmaMemCopy && is_lcore_dma_n(k, n))
			continue;
		string hint;
		if (k == "lcore" && dma)
			hint = " (lcore is for CPU_MEM_COPY; DMA cases map lcores to devices with "
			       "lcore_dma)";
		else if ((k == "lcore_dma" || kDmaKeys.count(k) || kCaptureKeys.count(k)) && !dma)
			hint = " (a CPU_MEM_COPY case takes lcore=)";
		else if (k.rfind("lcore_dma", 0) == 0 && cs.type == TestType::DmaMemCopy)
			hint = " (per-device entries are lcore_dma0, lcore_dma1, ...)";
		c.key_error(s, k, "unknown key for type " + type->value + hint,
			    join(kCommonKeys, own) +
			    (cs.type == TestType::DmaMemCopy ? ", lcore_dma<N>" : ""));
	}

	const uint64_t max_buf = kMaxBufSize;
	const uint64_t min_buf = cs.type == TestType::DmaCapture ? 256 : 1;
	get_var(c, s, "mem_size", 1, kMaxMemSizeMb, false, cs.mem_size);
	get_var(c, s, "buf_size", min_buf, max_buf, false, cs.buf_size);
	if (dma) {
		get_var(c, s, "dma_ring_size", kMinRing, kMaxRing, true, cs.ring_size);
		get_var(c, s, "kick_batch", 1, kMaxRing, false, cs.kick_batch);
	} else {
		cs.ring_size = cs.kick_batch = Var{};
	}

	for (auto [key, dst] : {std::pair{"src_numa_node", &cs.src_numa},
				std::pair{"dst_numa_node", &cs.dst_numa}}) {
		uint64_t n = 0;
		if (get(s, key) && get_uint(c, s, key, 0, 1023, n))
			*dst = int(n);
	}

	/* cache_flush, test_seconds, eal_args: the case's own, else GLOBAL's. */
	const Section *src = get(s, "cache_flush") ? &s : global;
	if (src && get(*src, "cache_flush")) {
		uint64_t f = 0;
		if (get_uint(c, *src, "cache_flush", 0, 1, f))
			cs.cache_flush = f == 1;
	}
	src = get(s, "test_seconds") ? &s : global;
	if (src && get(*src, "test_seconds")) {
		uint64_t t = cs.test_seconds;
		if (get_uint(c, *src, "test_seconds", 1, kMaxTestSeconds, t))
			cs.test_seconds = unsigned(t);
	}
	/* eal_args: GLOBAL's, then the case's own (DPDK files have one or the other) */
	for (const Section *sec : {global, &s})
		if (sec && get(*sec, "eal_args") && !get(*sec, "eal_args")->value.empty())
			cs.eal_args += (cs.eal_args.empty() ? "" : " ") + get(*sec, "eal_args")->value;

	if (cs.type == TestType::DmaMemCopy) {
		const Entry *ss = get(s, "dma_src_sge"), *ds = get(s, "dma_dst_sge");
		if ((ss == nullptr) != (ds == nullptr)) {
			c.key_error(s, ss ? "dma_src_sge" : "dma_dst_sge",
				    string("given without ") + (ss ? "dma_dst_sge" : "dma_src_sge"),
				    "both dma_src_sge and dma_dst_sge, or neither");
		} else if (ss) {
			uint64_t a = 0, b = 0;
			if (get_uint(c, s, "dma_src_sge", 1, kMaxSge, a) &&
			    get_uint(c, s, "dma_dst_sge", 1, kMaxSge, b)) {
				cs.src_sge = unsigned(a);
				cs.dst_sge = unsigned(b);
			}
		}
		uint64_t ops = 0;
		if (get_uint(c, s, "use_enq_deq_ops", 0, 1, ops) && ops == 1)
			c.key_error(s, "use_enq_deq_ops", "1 needs rte_dma_enqueue_ops() (DPDK 24.11), "
				    "which DPDK 22.11 does not have", "0");
	}
	if (cs.type == TestType::DmaCapture) {
		uint64_t cv = 0;
		if (get(s, "capture_vchan") && get_uint(c, s, "capture_vchan", 0, 63, cv))
			cs.capture_vchan = int(cv);
	}

	/* Workers. */
	if (dma) {
		std::map<unsigned, string> numbered;
		for (const string &k : s.order) {
			unsigned n;
			if (is_lcore_dma_n(k, n))
				numbered[n] = k;
		}
		const bool listed = get(s, "lcore_dma") != nullptr;
		if (listed && !numbered.empty()) {
			c.key_error(s, numbered.begin()->second, "mixed with lcore_dma=",
				    "either lcore_dma=lcoreN@dev,... or lcore_dma0=..., lcore_dma1=..., "
				    "not both");
		} else if (listed) {
			parse_lcore_dma_list(c, s, cs.workers);
		} else if (!numbered.empty()) {
			for (const auto &[n, k] : numbered) {
				Worker w;
				if (!parse_lcore_dma_kv(c, s, k, w))
					break;
				if (cs.type == TestType::DmaCapture && w.dir != Dir::MemToMem &&
				    w.dir != Dir::DevToMem) {
					c.key_error(s, k, "a DMA_CAPTURE worker captures (dev2mem)",
						    "dir=dev2mem or no dir");
					break;
				}
				cs.workers.push_back(w);
			}
		} else {
			c.key_error(s, "lcore_dma", "missing: a DMA case needs at least one worker",
				    "lcore_dma=lcore<N>@<dmadev name>[, ...] or lcore_dma0=lcore=<N>,"
				    "dev=<dmadev name>[,dir=...]");
		}
		if (cs.type == TestType::DmaCapture)
			for (Worker &w : cs.workers)
				w.dir = Dir::DevToMem;
		if (cs.is_sg())
			for (const Worker &w : cs.workers)
				if (w.dir != Dir::MemToMem)
					c.key_error(s, "dma_src_sge", "scatter-gather runs mem2mem only",
						    "no dma_src_sge/dma_dst_sge with dir=mem2dev|dev2mem");
	} else if (get(s, "lcore")) {
		parse_lcore_list(c, s, cs.workers);
	} else {
		c.key_error(s, "lcore", "missing: a CPU_MEM_COPY case needs at least one lcore",
			    "lcore=<N>[, <N>...]");
	}

	/* One worker per lcore, one lcore per device (DPDK's 1:1 rule). */
	std::set<unsigned> lcores;
	std::set<string> devs;
	const char *wkey = dma ? "lcore_dma" : "lcore";
	for (const Worker &w : cs.workers) {
		if (!lcores.insert(w.lcore).second)
			c.key_error(s, wkey, "lcore " + std::to_string(w.lcore) + " given twice",
				    "one worker per lcore");
		if (dma && !devs.insert(w.dev).second)
			c.key_error(s, wkey, "device " + w.dev + " given twice",
				    "one lcore per device (1:1 mapping)");
	}

	/* DPDK: each case can only have one variable. */
	std::vector<string> vars;
	for (auto [k, var] : {std::pair{"mem_size", &cs.mem_size}, {"buf_size", &cs.buf_size},
			      {"dma_ring_size", &cs.ring_size}, {"kick_batch", &cs.kick_batch}})
		if (var->is_variable())
			vars.push_back(k);
	if (vars.size() > 1)
		c.key_error(s, vars[1], "a second variable (" + vars[0] + " is one already)",
			    "at most one key written " + kVarForm + " per case");
	if (c.count() != errors_before)
		return;

	/* Every scenario must be runnable: kick_batch <= ring, >= 1 buffer per
	 * worker, SG segments no longer than a buffer. */
	for (const Scenario &sc : expand(cs)) {
		if (dma && sc.kick_batch > sc.ring_size) {
			c.key_error(s, cs.kick_batch.is_variable() ? "kick_batch" : "dma_ring_size",
				    "kick_batch " + std::to_string(sc.kick_batch) + " exceeds "
				    "dma_ring_size " + std::to_string(sc.ring_size) + " in scenario " +
				    std::to_string(sc.id), "kick_batch <= dma_ring_size");
			break;
		}
		const uint64_t per = cs.type == TestType::DmaCapture ? 1 : 2;
		const uint64_t need = std::max<uint64_t>(1, std::max(cs.src_sge, cs.dst_sge));
		if (sc.nr_buf < need) {
			c.key_error(s, cs.buf_size.is_variable() ? "buf_size" : "mem_size",
				    "mem_size " + std::to_string(sc.mem_size) + " MiB holds no " +
				    std::to_string(per) + " x " + std::to_string(sc.buf_size) +
				    " B buffers for each of " + std::to_string(cs.workers.size()) +
				    " workers in scenario " + std::to_string(sc.id),
				    "mem_size * 1 MiB >= " + std::to_string(per) +
				    " * buf_size * workers" + (cs.is_sg() ? " * max(sge)" : ""));
			break;
		}
		if (cs.is_sg() && (sc.buf_size < cs.src_sge || sc.buf_size < cs.dst_sge)) {
			c.key_error(s, "buf_size", std::to_string(sc.buf_size) + " B cannot be split "
				    "into " + std::to_string(std::max(cs.src_sge, cs.dst_sge)) +
				    " segments", "buf_size >= dma_src_sge and >= dma_dst_sge");
			break;
		}
	}
}

} // namespace

const char *type_name(TestType t)
{
	switch (t) {
	case TestType::DmaMemCopy: return "DMA_MEM_COPY";
	case TestType::CpuMemCopy: return "CPU_MEM_COPY";
	case TestType::DmaCapture: return "DMA_CAPTURE";
	}
	return "?";
}

const char *dir_name(Dir d)
{
	switch (d) {
	case Dir::MemToMem: return "mem2mem";
	case Dir::MemToDev: return "mem2dev";
	case Dir::DevToMem: return "dev2mem";
	}
	return "?";
}

std::vector<uint64_t> Var::values() const
{
	std::vector<uint64_t> r;
	if (op == VarOp::None) {
		r.push_back(first);
		return r;
	}
	for (uint64_t x = first; x <= last && r.size() <= kMaxScenarios;) {
		r.push_back(x);
		const uint64_t next = op == VarOp::Add ? x + incr : x * incr;
		if (next <= x) /* overflow, or a degenerate step */
			break;
		x = next;
	}
	return r;
}

std::vector<Scenario> expand(const Case &c)
{
	std::vector<Scenario> out;
	const Var *var = nullptr;
	for (const Var *v : {&c.mem_size, &c.buf_size, &c.ring_size, &c.kick_batch})
		if (v->is_variable())
			var = v;
	const std::vector<uint64_t> values = var ? var->values() : std::vector<uint64_t>{0};
	const uint64_t workers = std::max<size_t>(1, c.workers.size());
	unsigned id = 0;
	for (uint64_t x : values) {
		Scenario s;
		s.id = ++id;
		s.mem_size = var == &c.mem_size ? x : c.mem_size.first;
		s.buf_size = var == &c.buf_size ? x : c.buf_size.first;
		s.ring_size = var == &c.ring_size ? x : c.ring_size.first;
		s.kick_batch = var == &c.kick_batch ? x : c.kick_batch.first;
		const uint64_t per = c.type == TestType::DmaCapture ? 1 : 2;
		s.nr_buf = s.buf_size ? (s.mem_size << 20) / (s.buf_size * per) / workers : 0;
		if (c.is_sg()) {
			/* whole SG ops: a multiple of src_sge * dst_sge buffers */
			const uint64_t m = uint64_t(c.src_sge) * c.dst_sge;
			s.nr_buf -= s.nr_buf % m;
		}
		out.push_back(s);
	}
	return out;
}

std::vector<std::string> parse_config(std::string_view text, const std::string &path, Config &cfg)
{
	std::vector<std::string> errors;
	Ctx c(path, errors);
	std::vector<Section> sections;
	std::set<string, std::less<>> names;
	unsigned lineno = 0;
	while (!text.empty() || lineno == 0) {
		size_t nl = text.find('\n');
		string_view line = text.substr(0, nl);
		text = nl == string_view::npos ? string_view() : text.substr(nl + 1);
		lineno++;
		/* rte_cfgfile: ';' starts a comment anywhere; '#' at line start too */
		line = trim(line.substr(0, line.find(';')));
		if (line.empty() || line[0] == '#') {
			if (text.empty())
				break;
			continue;
		}
		if (line[0] == '[') {
			if (line.back() != ']') {
				c.error(lineno, "'" + string(line) + "': a section header is [name]");
			} else {
				string name(trim(line.substr(1, line.size() - 2)));
				if (name.empty())
					c.error(lineno, "empty section name []");
				else if (!names.insert(name).second)
					c.error(lineno, "[" + name + "] appears twice; section names must "
						"be unique");
				else
					sections.push_back(Section{name, lineno, {}, {}});
			}
		} else if (sections.empty()) {
			c.error(lineno, "'" + string(line) + "' is outside any section; start with "
				"[GLOBAL] or a test case such as [case1]");
		} else {
			size_t eq = line.find('=');
			string_view key = trim(line.substr(0, eq));
			if (eq == string_view::npos || key.empty()) {
				c.error(lineno, "[" + sections.back().name + "] '" + string(line) +
					"' is not key=value");
			} else {
				Section &s = sections.back();
				auto [it, fresh] = s.entries.try_emplace(
					string(key), Entry{string(trim(line.substr(eq + 1))), lineno});
				if (!fresh)
					c.error(lineno, "[" + s.name + "] " + string(key) + ": given twice "
						"(first on line " + std::to_string(it->second.line) +
						"); allowed: once per section");
				else
					s.order.push_back(string(key));
			}
		}
		if (text.empty())
			break;
	}

	const Section *global = nullptr;
	for (const Section &s : sections)
		if (s.name == "GLOBAL")
			global = &s;
	if (global)
		for (const string &k : global->order)
			if (!kGlobalKeys.count(k))
				c.key_error(*global, k, "unknown key in [GLOBAL]", join(kGlobalKeys));

	cfg.path = path;
	cfg.cases.clear();
	for (const Section &s : sections) {
		if (&s == global)
			continue;
		Case cs;
		cs.id = unsigned(cfg.cases.size() + 1);
		parse_case(c, s, global, cs);
		cfg.cases.push_back(std::move(cs));
	}
	if (cfg.cases.empty() && errors.empty())
		c.error(lineno, "no test case: add a section such as [case1] with type=DMA_MEM_COPY");
	return errors;
}

std::vector<std::string> load_config(const std::string &path, Config &cfg)
{
	std::ifstream f(path, std::ios::binary);
	if (!f)
		return {path + ": cannot open the config file"};
	std::ostringstream ss;
	ss << f.rdbuf();
	if (f.bad())
		return {path + ": read error"};
	return parse_config(ss.str(), path, cfg);
}

std::vector<std::string> split_args(std::string_view s)
{
	std::vector<std::string> out;
	std::string cur;
	for (char ch : s) {
		if (ch == ' ' || ch == '\t') {
			if (!cur.empty())
				out.push_back(std::move(cur));
			cur.clear();
		} else {
			cur += ch;
		}
	}
	if (!cur.empty())
		out.push_back(cur);
	return out;
}

std::string default_result_path(const std::string &config_path)
{
	std::string base = config_path.substr(config_path.find_last_of('/') + 1);
	base = base.substr(0, base.find('.'));
	if (base.empty())
		base = "dma_perf";
	return base + "_result.csv";
}

} // namespace dmaperf
