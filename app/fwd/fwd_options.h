/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-fwd command line (the part after EAL's "--"). Parsing is pure C++
 * (no EAL), so every bad option is reported with a clear message before
 * anything is allocated; what needs EAL (lcores, ports, cards) is checked
 * in main.cpp.
 */
#ifndef XCAP_FWD_OPTIONS_H
#define XCAP_FWD_OPTIONS_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xcap::fwd {

enum class Output { Workers, Port, Pcapng, Inline };
enum class Dist { RoundRobin, Hash };
enum class Check { Verify, Count };
enum class PcapTime { Card, Wall };
enum class WorkerPath { Records, Mbufs, Buffers };

struct Options {
	/* card */
	std::string card;            /* dmadev name or id; empty: find or create */
	std::vector<uint16_t> vchans; /* empty: every capture vchan */
	/* emulated card profile (devargs of the vdev xcap-fwd creates) */
	unsigned channels = 1;
	std::string rate = "1Mpps";
	std::string frame = "64";
	uint64_t count = 0;
	uint32_t fifo = 0;           /* 0: sized from the buffers (see usage()) */
	int card_lcore = -1;
	int card_numa = -1;
	bool profile_given = false;  /* any of the above was on the command line */
	/* capture */
	uint32_t snaplen = 0;
	uint32_t buffers = 512;
	uint32_t buffer_size = 64 * 1024;
	uint32_t posted = 0;
	int numa = -1;
	uint32_t filter_min = 0, filter_max = UINT32_MAX;
	bool filter = false;
	uint16_t burst = 32;
	/* output */
	Output output = Output::Workers;
	bool output_given = false;
	std::string workers;         /* lcore list; empty: every other lcore */
	Dist dist = Dist::RoundRobin;
	Check check = Check::Verify;
	uint32_t ring_size = 4096;
	bool ring_wait = true;       /* worker ring full: wait (back-pressure) or drop */
	WorkerPath worker_path = WorkerPath::Records;
	std::string port;
	uint16_t txq_size = 1024;
	unsigned tx_retries = 0;
	std::string pcapng;
	PcapTime pcap_time = PcapTime::Wall;
	/* run */
	int fwd_lcore = -1;          /* -1: the main lcore */
	double seconds = 0;          /* 0: until SIGINT (or the card's count is done) */
	std::string stats_json;
	double stats_interval = 1;   /* 0: no live statistics */
	bool help = false;
};

/* Parse argv[0..argc) (argv[0] is the program name). On error returns
 * false with err set to one line naming the option, the value and what is
 * accepted. */
bool parse_options(int argc, char **argv, Options &o, std::string &err);
const char *usage();

/* "64K", "1M", "4096" -> bytes. */
bool parse_size(const std::string &s, uint64_t &v);
/* "0-3,5" -> {0,1,2,3,5}. */
bool parse_list(const std::string &s, std::vector<unsigned> &v, unsigned max);

} // namespace xcap::fwd

#endif /* XCAP_FWD_OPTIONS_H */
