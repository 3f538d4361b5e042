/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 */
#include "xcap_devargs.h"

#include <charconv>
#include <cmath>
#include <set>

namespace xcap {
namespace {

using std::string;
using std::string_view;

constexpr uint64_t kMaxU64 = UINT64_MAX;

/* Strict unsigned decimal (or 0x hex): no sign, no spaces, no trailing text. */
bool parse_u64(string_view s, uint64_t &v)
{
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

bool parse_double(string_view s, double &v)
{
	if (s.empty() || s[0] == '-' || s[0] == '+')
		return false;
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

struct Ctx {
	string_view key, value;
	string &err;
	bool fail(const string &what)
	{
		err = "devarg " + string(key) + "=" + string(value) + ": " + what;
		return false;
	}
};

bool get_range(Ctx &c, uint64_t lo, uint64_t hi, uint64_t &v)
{
	if (!parse_u64(c.value, v) || v < lo || v > hi)
		return c.fail("expected an integer in [" + std::to_string(lo) + ", " +
			      std::to_string(hi) + "]");
	return true;
}

bool get_bool(Ctx &c, bool &b)
{
	if (c.value == "0" || c.value == "false" || c.value == "off") {
		b = false;
		return true;
	}
	if (c.value == "1" || c.value == "true" || c.value == "on") {
		b = true;
		return true;
	}
	return c.fail("expected 0 or 1");
}

/* "14.88Mpps", "500kpps", "1e6pps", "10G", "10Gbps", "400M", "max". */
bool get_rate(Ctx &c, model::CaptureProfile &p)
{
	string_view v = c.value;
	const char *what = "expected <n>pps, <n>kpps, <n>Mpps, <n>K|M|G[bps] or max";
	if (v == "max") {
		p.rate_pps = 0;
		p.rate_bps = 0;
		return true;
	}
	struct Unit { string_view suffix; double mult; bool pps; };
	static const Unit units[] = {
		{"Mpps", 1e6, true}, {"kpps", 1e3, true}, {"Kpps", 1e3, true},
		{"pps", 1, true},    {"Gbps", 1e9, false}, {"Mbps", 1e6, false},
		{"Kbps", 1e3, false}, {"kbps", 1e3, false}, {"bps", 1, false},
		{"G", 1e9, false},   {"M", 1e6, false},    {"K", 1e3, false},
		{"k", 1e3, false},
	};
	for (const Unit &u : units) {
		if (v.size() <= u.suffix.size() || !v.ends_with(u.suffix))
			continue;
		double n;
		if (!parse_double(v.substr(0, v.size() - u.suffix.size()), n) || n <= 0)
			return c.fail(what);
		double r = n * u.mult;
		if (u.pps ? r > 1e9 : r > 1e12)
			return c.fail("rate too high (at most 1000Mpps or 1000Gbps)");
		p.rate_pps = u.pps ? r : 0;
		p.rate_bps = u.pps ? 0 : r;
		return true;
	}
	return c.fail(what);
}

constexpr uint32_t kFrameMin = 16, kFrameMax = 16384;

bool get_frame(Ctx &c, model::CaptureProfile &p)
{
	string_view v = c.value;
	const string range = "frame sizes must be in [" + std::to_string(kFrameMin) + ", " +
			     std::to_string(kFrameMax) + "]";
	if (v == "imix") {
		p.size_mode = model::FrameSizeMode::Imix;
		return true;
	}
	uint64_t a, b;
	size_t dash = v.find('-');
	if (dash == string_view::npos) {
		if (!parse_u64(v, a))
			return c.fail("expected <bytes>, <min>-<max> or imix");
		if (a < kFrameMin || a > kFrameMax)
			return c.fail(range);
		p.size_mode = model::FrameSizeMode::Fixed;
		p.frame_min = p.frame_max = uint32_t(a);
		return true;
	}
	if (!parse_u64(v.substr(0, dash), a) || !parse_u64(v.substr(dash + 1), b))
		return c.fail("expected <bytes>, <min>-<max> or imix");
	if (a < kFrameMin || b > kFrameMax || a > b)
		return c.fail(range + " with min <= max");
	p.size_mode = model::FrameSizeMode::Range;
	p.frame_min = uint32_t(a);
	p.frame_max = uint32_t(b);
	return true;
}

bool get_status(Ctx &c, hw::Status &s)
{
	static const struct { string_view name; hw::Status st; } names[] = {
		{"user_abort", hw::Status::UserAbort},
		{"not_attempted", hw::Status::NotAttempted},
		{"invalid_src_addr", hw::Status::InvalidSrcAddr},
		{"invalid_dst_addr", hw::Status::InvalidDstAddr},
		{"invalid_addr", hw::Status::InvalidAddr},
		{"invalid_length", hw::Status::InvalidLength},
		{"invalid_opcode", hw::Status::InvalidOpcode},
		{"bus_read_error", hw::Status::BusReadError},
		{"bus_write_error", hw::Status::BusWriteError},
		{"bus_error", hw::Status::BusError},
		{"data_poison", hw::Status::DataPoison},
		{"descriptor_read_error", hw::Status::DescriptorReadError},
		{"dev_link_error", hw::Status::DevLinkError},
		{"page_fault", hw::Status::PageFault},
		{"error_unknown", hw::Status::ErrorUnknown},
	};
	for (const auto &n : names)
		if (c.value == n.name) {
			s = n.st;
			return true;
		}
	uint64_t v;
	if (parse_u64(c.value, v) && ((v >= 1 && v <= hw::kStatusMaxDefined) || v == 0xff)) {
		s = hw::Status(v);
		return true;
	}
	return c.fail("expected a failure status: 1..14, 255, or a name such as bus_error, "
		      "invalid_src_addr, page_fault");
}

bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

bool apply(Ctx &c, DevargsTarget target, Devargs &d)
{
	const string_view k = c.key;
	uint64_t v;

	if (k == "halt_on_error")
		return get_bool(c, d.halt_on_error);
	if (k == "enq_deq")
		return get_bool(c, d.enq_deq);
	if (target == DevargsTarget::Pci)
		return c.fail("unknown key for an xcap PCI card; accepted: halt_on_error, enq_deq");

	if (k == "copy_channels") {
		if (!get_range(c, 0, 32, v))
			return false;
		d.card.copy_channels = unsigned(v);
		return true;
	}
	if (k == "capture_channels") {
		if (!get_range(c, 0, 32, v))
			return false;
		d.card.capture_channels = unsigned(v);
		return true;
	}
	if (k == "numa") {
		if (!get_range(c, 0, 255, v))
			return false;
		d.numa = int(v);
		return true;
	}
	if (k == "lcore") {
		if (!get_range(c, 0, 1023, v))
			return false;
		d.lcore = int(v);
		return true;
	}
	if (k == "max_ring") {
		if (!get_range(c, 2, 32768, v))
			return false;
		if (!is_pow2(v))
			return c.fail("expected a power of two in [2, 32768]");
		d.card.max_ring_log2 = unsigned(__builtin_ctzll(v));
		return true;
	}
	if (k == "max_xfer") {
		if (!get_range(c, hw::kCaptureMinBuffer, 1u << 30, v))
			return false;
		d.card.max_xfer_len = uint32_t(v);
		return true;
	}
	if (k == "max_sge") {
		if (!get_range(c, 1, 128, v))
			return false;
		d.card.max_sge = unsigned(v);
		return true;
	}
	if (k == "addr_width") {
		if (!get_range(c, 32, 64, v))
			return false;
		d.card.addr_width = unsigned(v);
		return true;
	}
	if (k == "null")
		return get_bool(c, d.card.null_engine);
	if (k == "priorities") {
		if (!get_range(c, 0, hw::arbcaps::kMaxPrioLevels, v))
			return false;
		d.card.priority_levels = unsigned(v);
		return true;
	}
	/* a slower, smaller card (HW §7.3, §5.2) and how strictly it checks */
	if (k == "ready_delay_ms") {
		if (!get_range(c, 0, 60000, v))
			return false;
		d.card.ready_delay_ms = uint32_t(v);
		return true;
	}
	if (k == "quiesce_ms") {
		if (!get_range(c, 0, 60000, v))
			return false;
		d.card.quiesce_ms = uint32_t(v);
		return true;
	}
	if (k == "caps_ops") {
		if (!parse_u64(c.value, v) || (v & ~uint64_t(hw::kOpsSupported)))
			return c.fail("expected a mask of opcodes (hex 0x.. or decimal), a subset of 0x1f: "
				      "Nop 0x1, Copy 0x2, Fill 0x4, CopySg 0x8, Capture 0x10");
		d.card.caps_ops = uint32_t(v);
		return true;
	}
	if (k == "strict")
		return get_bool(c, d.card.strict);
	if (k == "cap_rate")
		return get_rate(c, d.capture);
	if (k == "cap_frame")
		return get_frame(c, d.capture);
	if (k == "cap_count")
		return get_range(c, 0, kMaxU64, d.capture.count);
	if (k == "cap_fifo") {
		if (!get_range(c, 1, 1u << 24, v))
			return false;
		d.capture.fifo_frames = uint32_t(v);
		return true;
	}
	if (k == "cap_delay") {
		if (!get_range(c, 0, 60'000'000, v))
			return false;
		d.capture.start_delay_us = uint32_t(v);
		return true;
	}
	if (k == "fail_nth") {
		d.fault_set = true;
		return get_range(c, 1, kMaxU64, d.fault.fail_nth);
	}
	if (k == "fail_every") {
		d.fault_set = true;
		return get_range(c, 1, kMaxU64, d.fault.fail_every);
	}
	if (k == "fail_status")
		return get_status(c, d.fault.fail_status);
	return c.fail(string("unknown key; accepted: ") + devargs_help(target));
}

} // namespace

const char *devargs_help(DevargsTarget target)
{
	if (target == DevargsTarget::Pci)
		return "halt_on_error=<0|1> enq_deq=<0|1>";
	return "copy_channels=<0..32> capture_channels=<0..32> numa=<node> lcore=<lcore> "
	       "max_ring=<2..32768, power of 2> max_xfer=<256..2^30> max_sge=<1..128> "
	       "addr_width=<32..64> null=<0|1> priorities=<0..16> caps_ops=<opcode mask, subset of 0x1f> "
	       "ready_delay_ms=<0..60000> quiesce_ms=<0..60000> strict=<0|1> "
	       "halt_on_error=<0|1> enq_deq=<0|1> "
	       "cap_rate=<n>pps|<n>Mpps|<n>G|max cap_frame=<16..16384>|<min>-<max>|imix "
	       "cap_count=<frames, 0=unlimited> cap_fifo=<1..2^24 frames> "
	       "cap_delay=<us before the first frame, 0..60000000> "
	       "fail_nth=<n> fail_every=<n> fail_status=<name|1..14|255>";
}

bool parse_devargs(string_view args, DevargsTarget target, Devargs &out, string &err)
{
	Devargs d;
	if (target == DevargsTarget::Emu)
		d.card.capture_channels = 1; /* an emulated card can capture by default */
	std::set<string, std::less<>> seen;
	while (!args.empty()) {
		size_t comma = args.find(',');
		string_view item = args.substr(0, comma);
		args = comma == string_view::npos ? string_view() : args.substr(comma + 1);
		if (item.empty() || (comma != string_view::npos && args.empty())) {
			err = "devargs: empty argument (two commas, or a trailing comma)";
			return false;
		}
		size_t eq = item.find('=');
		if (eq == string_view::npos || eq == 0) {
			err = "devargs: '" + string(item) + "' is not key=value; accepted: " +
			      devargs_help(target);
			return false;
		}
		Ctx c{item.substr(0, eq), item.substr(eq + 1), err};
		if (!seen.insert(string(c.key)).second)
			return c.fail("key given twice");
		if (!apply(c, target, d))
			return false;
	}
	const unsigned total = d.card.copy_channels + d.card.capture_channels;
	if (target == DevargsTarget::Emu && (total < 1 || total > 64)) {
		err = "devargs: copy_channels + capture_channels must be in [1, 64], got " +
		      std::to_string(total);
		return false;
	}
	if (d.capture.size_mode == model::FrameSizeMode::Fixed)
		d.capture.frame_max = d.capture.frame_min;
	out = std::move(d);
	return true;
}

} // namespace xcap
