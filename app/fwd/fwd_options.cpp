/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 */
#include "fwd_options.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

#include <getopt.h>

#include "xcap_devargs.h"

namespace xcap::fwd {
namespace {

bool parse_u64(const std::string &s, uint64_t &v)
{
	if (s.empty() || s[0] == '-' || s[0] == '+')
		return false;
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
	return ec == std::errc() && p == s.data() + s.size();
}

bool parse_double(const std::string &s, double &v)
{
	if (s.empty() || s[0] == '-' || s[0] == '+')
		return false;
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

enum Opt {
	kCard = 256, kVchans, kChannels, kRate, kFrame, kCount, kFifo, kCardLcore, kCardNuma,
	kSnaplen, kBuffers, kBufferSize, kPosted, kNuma, kFilterLen, kBurst, kWorkers, kDist,
	kWorkerMode, kWorkerPath, kRingSize, kRingFull, kPort, kTxqSize, kTxRetries, kPcapng, kPcapTime, kInline,
	kFwdLcore, kSeconds, kStatsJson, kStatsInterval, kQuiet, kHelp,
};

const struct option kLongOpts[] = {
	{"card", required_argument, nullptr, kCard},
	{"vchans", required_argument, nullptr, kVchans},
	{"channels", required_argument, nullptr, kChannels},
	{"rate", required_argument, nullptr, kRate},
	{"frame", required_argument, nullptr, kFrame},
	{"count", required_argument, nullptr, kCount},
	{"fifo", required_argument, nullptr, kFifo},
	{"card-lcore", required_argument, nullptr, kCardLcore},
	{"card-numa", required_argument, nullptr, kCardNuma},
	{"snaplen", required_argument, nullptr, kSnaplen},
	{"buffers", required_argument, nullptr, kBuffers},
	{"buffer-size", required_argument, nullptr, kBufferSize},
	{"posted", required_argument, nullptr, kPosted},
	{"numa", required_argument, nullptr, kNuma},
	{"filter-len", required_argument, nullptr, kFilterLen},
	{"burst", required_argument, nullptr, kBurst},
	{"workers", required_argument, nullptr, kWorkers},
	{"dist", required_argument, nullptr, kDist},
	{"worker-mode", required_argument, nullptr, kWorkerMode},
	{"worker-path", required_argument, nullptr, kWorkerPath},
	{"ring-size", required_argument, nullptr, kRingSize},
	{"ring-full", required_argument, nullptr, kRingFull},
	{"port", required_argument, nullptr, kPort},
	{"txq-size", required_argument, nullptr, kTxqSize},
	{"tx-retries", required_argument, nullptr, kTxRetries},
	{"pcapng", required_argument, nullptr, kPcapng},
	{"pcap-time", required_argument, nullptr, kPcapTime},
	{"inline", required_argument, nullptr, kInline},
	{"fwd-lcore", required_argument, nullptr, kFwdLcore},
	{"seconds", required_argument, nullptr, kSeconds},
	{"stats-json", required_argument, nullptr, kStatsJson},
	{"stats-interval", required_argument, nullptr, kStatsInterval},
	{"quiet", no_argument, nullptr, kQuiet},
	{"help", no_argument, nullptr, kHelp},
	{nullptr, 0, nullptr, 0},
};

} // namespace

const char *usage()
{
	return R"(usage: xcap-fwd [EAL options] -- [options]

Captures from an xcap card (PCI, or emulated: dma_xcap_emu) and forwards the
records without copying them to worker lcores, an ethdev port, or a pcapng
file. Without --card, the first dmadev with capture channels is used; if
there is none, xcap-fwd creates the emulated card dma_xcap_emu0 with the
profile below.

card:
  --card NAME|ID         dmadev to capture from
  --vchans LIST          its capture vchans to use (default: all), e.g. 1-2
emulated card profile (only for the card xcap-fwd creates itself; for one
given with --vdev put them in its devargs: cap_rate=, cap_frame=, ...):
  --channels N           capture channels, 1..32 (default 1)
  --rate RATE            <n>pps|kpps|Mpps, <n>K|M|G[bps] (wire rate), max
                         (back-pressured: never loses) (default 1Mpps)
  --frame SIZE           16..16384, MIN-MAX (uniform) or imix (default 64)
  --count N              frames per channel, 0 = unlimited (default 0); the
                         run ends when all of them are accounted for
  --fifo N               frames the card buffers before overrun (default: half
                         of what the posted buffers hold, at most 65536; the
                         model's own default, 4096, is 4 ms at 1 Mpps, less
                         than an idle vCPU may take to wake up)
  --card-lcore N         lcore whose CPU runs the card's engine thread
                         (default: a CPU no EAL lcore uses, else the last lcore)
  --card-numa N          NUMA node the emulated card reports
capture:
  --snaplen N            keep at most N bytes of each record (0 = all). Applied
                         by the library; the card's own CapSnapLen register is
                         a card setting the dmadev API cannot reach (it stays
                         at its reset value, 65535)
  --buffers N            DMA buffers in the pool (default 512)
  --buffer-size SIZE     bytes per DMA buffer, 256..1M, multiple of 64 (default 64K)
  --posted N             buffers kept posted per channel (default: buffers / (2 x channels))
  --numa N               NUMA node of buffers and mbufs (default: the card's)
  --filter-len MIN-MAX   keep records whose wire length is in [MIN, MAX]; the
                         others are counted as dropped (filtered)
  --burst N              records per burst, 1..512 (default 32)
output (one of; default --workers):
  --workers LIST         worker lcores, e.g. 1 or 1-3 (default: every EAL lcore
                         but the forwarding one)
  --dist rr|hash         to workers: round-robin per burst, or by flow hash
                         (IPv4/IPv6 5-tuple; other frames by channel) (default rr)
  --worker-mode verify|count  verify payload and sequence, or only count (default verify)
  --worker-path records|mbufs|buffers  what goes through the worker rings:
                         16-byte record references (pointer, length, buffer
                         reference), rte_mbufs with the record attached as an
                         external buffer, or whole DMA buffers that the worker
                         parses itself (round-robin per buffer only; back-
                         pressure through the buffers). All zero-copy
                         (default records)
  --ring-size N          records per worker ring, power of 2 (default 4096)
  --ring-full wait|drop  a full worker ring: wait for room (back-pressure: the
                         buffers fill up and the card drops, counted as
                         no_buffer) or drop the records (ring_full) (default
                         wait; while stopping, always drop, so that the
                         buffers come back and the card can report its loss)
  --port ID|NAME         transmit on this ethdev port (e.g. --vdev=net_null0 ... --port net_null0)
  --txq-size N           its TX ring (default 1024)
  --tx-retries N         tx_burst retries before counting tx_full (default 0)
  --pcapng FILE          write a pcapng file (ns timestamps, writev from the DMA buffers)
  --pcap-time card|wall  timestamps: the card clock, or mapped to wall time (default wall)
  --inline verify|count  consume the records on the forwarding lcore itself
                         (record iterator, no mbufs): the fastest path
run:
  --fwd-lcore N          lcore that captures and forwards (default: the main lcore)
  --seconds N            stop after N seconds (default: at SIGINT, or when --count is done)
  --stats-json FILE      write the final counters as JSON
  --stats-interval S     live statistics every S seconds, 0 = off (default 1)
  --quiet                same as --stats-interval 0
  --help                 this text

Exit status: 0 if every record the card generated is delivered or counted as
dropped (and, with verify, every delivered record checked out); 1 otherwise;
2 for a usage error.
)";
}

bool parse_size(const std::string &s, uint64_t &v)
{
	if (s.empty())
		return false;
	uint64_t mult = 1;
	std::string n = s;
	const char last = s.back();
	if (last == 'K' || last == 'k')
		mult = 1024;
	else if (last == 'M' || last == 'm')
		mult = 1024 * 1024;
	else if (last == 'G' || last == 'g')
		mult = 1024ull * 1024 * 1024;
	if (mult != 1)
		n.pop_back();
	if (!parse_u64(n, v) || v > UINT64_MAX / mult)
		return false;
	v *= mult;
	return true;
}

bool parse_list(const std::string &s, std::vector<unsigned> &out, unsigned max)
{
	out.clear();
	std::set<unsigned> seen;
	size_t pos = 0;
	if (s.empty())
		return false;
	while (pos <= s.size()) {
		const size_t comma = s.find(',', pos);
		const std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos
										   : comma - pos);
		const size_t dash = item.find('-');
		uint64_t a, b;
		if (dash == std::string::npos) {
			if (!parse_u64(item, a))
				return false;
			b = a;
		} else if (!parse_u64(item.substr(0, dash), a) ||
			   !parse_u64(item.substr(dash + 1), b) || a > b) {
			return false;
		}
		if (b > max)
			return false;
		for (uint64_t i = a; i <= b; i++)
			if (seen.insert(unsigned(i)).second)
				out.push_back(unsigned(i));
		if (comma == std::string::npos)
			break;
		pos = comma + 1;
	}
	return !out.empty();
}

bool parse_options(int argc, char **argv, Options &o, std::string &err)
{
	auto bad = [&](const char *opt, const std::string &val, const std::string &what) {
		err = std::string("--") + opt + " " + val + ": " + what;
		return false;
	};
	auto u64_in = [&](const char *opt, const std::string &val, uint64_t lo, uint64_t hi,
			  uint64_t &v) {
		if (!parse_u64(val, v) || v < lo || v > hi)
			return bad(opt, val, "expected an integer in [" + std::to_string(lo) + ", " +
					     std::to_string(hi) + "]");
		return true;
	};
	/* val must be word a or word b: out takes the matching value */
	auto one_of = [&](const char *opt, const std::string &val, const char *a, auto va,
			  const char *b, decltype(va) vb, auto &out) {
		if (val == a)
			out = va;
		else if (val == b)
			out = vb;
		else
			return bad(opt, val, std::string("expected ") + a + " or " + b);
		return true;
	};
	std::set<int> outputs;
	optind = 0; /* glibc: 0 also resets getopt's internal state */
	opterr = 0;
	int c;
	uint64_t v;
	while ((c = getopt_long(argc, argv, ":h", kLongOpts, nullptr)) != -1) {
		const std::string val = optarg ? optarg : "";
		const char *name = "";
		for (const auto &lo : kLongOpts)
			if (lo.val == c)
				name = lo.name;
		switch (c) {
		case kCard:
			if (val.empty())
				return bad(name, "''", "expected a dmadev name or id");
			o.card = val;
			break;
		case kVchans: {
			std::vector<unsigned> l;
			if (!parse_list(val, l, 63))
				return bad(name, val, "expected a list of vchans in 0..63, e.g. 1 or 1-3,5");
			o.vchans.assign(l.begin(), l.end());
			break;
		}
		case kChannels:
			if (!u64_in(name, val, 1, 32, v))
				return false;
			o.channels = unsigned(v);
			o.profile_given = true;
			break;
		case kRate:
		case kFrame:
		case kCount:
		case kFifo: {
			/* the emulated card's own devargs parser: same rules, same words */
			const char *key = c == kRate ? "cap_rate" : c == kFrame ? "cap_frame"
							  : c == kCount ? "cap_count" : "cap_fifo";
			xcap::Devargs d;
			std::string e;
			if (!xcap::parse_devargs(std::string(key) + "=" + val, xcap::DevargsTarget::Emu,
						 d, e)) {
				const size_t colon = e.find(": ");
				return bad(name, val, colon == std::string::npos ? e : e.substr(colon + 2));
			}
			if (c == kRate)
				o.rate = val;
			else if (c == kFrame)
				o.frame = val;
			else if (c == kCount)
				o.count = d.capture.count;
			else
				o.fifo = d.capture.fifo_frames;
			o.profile_given = true;
			break;
		}
		case kCardLcore:
			if (!u64_in(name, val, 0, 1023, v))
				return false;
			o.card_lcore = int(v);
			o.profile_given = true;
			break;
		case kCardNuma:
			if (!u64_in(name, val, 0, 255, v))
				return false;
			o.card_numa = int(v);
			o.profile_given = true;
			break;
		case kSnaplen:
			if (!u64_in(name, val, 0, 65535, v))
				return false;
			o.snaplen = uint32_t(v);
			break;
		case kBuffers:
			if (!u64_in(name, val, 1, 1u << 20, v))
				return false;
			o.buffers = uint32_t(v);
			break;
		case kBufferSize:
			if (!parse_size(val, v) || v < 256 || v > (1u << 20) || v % 64)
				return bad(name, val, "expected a multiple of 64 in [256, 1M] (K and M "
						      "suffixes: 64K)");
			o.buffer_size = uint32_t(v);
			break;
		case kPosted:
			if (!u64_in(name, val, 1, 32768, v))
				return false;
			o.posted = uint32_t(v);
			break;
		case kNuma:
			if (!u64_in(name, val, 0, 255, v))
				return false;
			o.numa = int(v);
			break;
		case kFilterLen: {
			const size_t dash = val.find('-');
			uint64_t a, b;
			if (dash == std::string::npos || !parse_u64(val.substr(0, dash), a) ||
			    !parse_u64(val.substr(dash + 1), b) || a > b || b > UINT32_MAX)
				return bad(name, val, "expected MIN-MAX wire lengths with MIN <= MAX, "
						      "e.g. 64-1518");
			o.filter = true;
			o.filter_min = uint32_t(a);
			o.filter_max = uint32_t(b);
			break;
		}
		case kBurst:
			if (!u64_in(name, val, 1, 512, v))
				return false;
			o.burst = uint16_t(v);
			break;
		case kWorkers: {
			std::vector<unsigned> l;
			if (!parse_list(val, l, 1023))
				return bad(name, val, "expected a list of lcores, e.g. 1 or 1-3,5");
			o.workers = val;
			o.output = Output::Workers;
			outputs.insert(kWorkers);
			break;
		}
		case kDist:
			if (!one_of(name, val, "rr", Dist::RoundRobin, "hash", Dist::Hash, o.dist))
				return false;
			break;
		case kWorkerMode:
			if (!one_of(name, val, "verify", Check::Verify, "count", Check::Count, o.check))
				return false;
			break;
		case kRingSize:
			if (!u64_in(name, val, 64, 1u << 24, v) || (v & (v - 1)))
				return bad(name, val, "expected a power of 2 in [64, 16777216]");
			o.ring_size = uint32_t(v);
			break;
		case kWorkerPath:
			if (val == "records")
				o.worker_path = WorkerPath::Records;
			else if (val == "mbufs")
				o.worker_path = WorkerPath::Mbufs;
			else if (val == "buffers")
				o.worker_path = WorkerPath::Buffers;
			else
				return bad(name, val, "expected records, mbufs or buffers");
			break;
		case kRingFull:
			if (!one_of(name, val, "wait", true, "drop", false, o.ring_wait))
				return false;
			break;
		case kPort:
			if (val.empty())
				return bad(name, "''", "expected a port id or device name");
			o.port = val;
			o.output = Output::Port;
			outputs.insert(kPort);
			break;
		case kTxqSize:
			if (!u64_in(name, val, 32, 32768, v))
				return false;
			o.txq_size = uint16_t(v);
			break;
		case kTxRetries:
			if (!u64_in(name, val, 0, 1000000, v))
				return false;
			o.tx_retries = unsigned(v);
			break;
		case kPcapng:
			if (val.empty())
				return bad(name, "''", "expected a file name");
			o.pcapng = val;
			o.output = Output::Pcapng;
			outputs.insert(kPcapng);
			break;
		case kPcapTime:
			if (!one_of(name, val, "card", PcapTime::Card, "wall", PcapTime::Wall, o.pcap_time))
				return false;
			break;
		case kInline:
			if (!one_of(name, val, "verify", Check::Verify, "count", Check::Count, o.check))
				return false;
			o.output = Output::Inline;
			outputs.insert(kInline);
			break;
		case kFwdLcore:
			if (!u64_in(name, val, 0, 1023, v))
				return false;
			o.fwd_lcore = int(v);
			break;
		case kSeconds:
			if (!parse_double(val, o.seconds) || o.seconds <= 0 || o.seconds > 31536000)
				return bad(name, val, "expected a number of seconds > 0");
			break;
		case kStatsJson:
			if (val.empty())
				return bad(name, "''", "expected a file name");
			o.stats_json = val;
			break;
		case kStatsInterval:
			if (!parse_double(val, o.stats_interval) || o.stats_interval > 3600)
				return bad(name, val, "expected seconds in [0, 3600]");
			break;
		case kQuiet:
			o.stats_interval = 0;
			break;
		case kHelp:
		case 'h':
			o.help = true;
			return true;
		case ':':
			err = std::string("option ") + argv[optind - 1] + " needs a value";
			return false;
		default:
			err = std::string("unknown option ") + argv[optind - 1] +
			      " (EAL options go before --; see --help)";
			return false;
		}
	}
	if (optind < argc) {
		err = std::string("unexpected argument '") + argv[optind] + "' (see --help)";
		return false;
	}
	if (outputs.size() > 1) {
		err = "choose one output: --workers, --port, --pcapng or --inline";
		return false;
	}
	o.output_given = !outputs.empty();
	if (o.worker_path == WorkerPath::Buffers && o.dist == Dist::Hash) {
		err = "--worker-path buffers --dist hash: a whole DMA buffer goes to one worker, so "
		      "buffers are spread round-robin only; use --dist rr, or --worker-path records "
		      "to spread records by flow hash";
		return false;
	}
	if (o.check == Check::Verify && o.snaplen != 0 && o.snaplen < 8 &&
	    (o.output == Output::Workers || o.output == Output::Inline)) {
		err = "--snaplen " + std::to_string(o.snaplen) + ": verification needs the first 8 "
		      "bytes (the sequence number); use --snaplen >= 8 or --worker-mode count";
		return false;
	}
	return true;
}

} // namespace xcap::fwd
