/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-fwd: capture from an xcap card and forward, zero-copy, to worker
 * lcores, an ethdev port or a pcapng file; account for every record.
 *
 *   xcap-fwd -l 0-1 --in-memory -- --seconds 5 --stats-json out.json
 *
 * See --help and docs/capture.md.
 */
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <sched.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "fwd.h"
#include "xcap_devargs.h"
#include "xcap_emu.h"

using namespace xcap;
using namespace xcap::fwd;

namespace {

[[noreturn]] void die(int code, const std::string &msg)
{
	fprintf(stderr, "xcap-fwd: error: %s\n", msg.c_str());
	fflush(stdout);
	/* a usage error needs no EAL teardown; anything later happened with
	 * EAL up, and exiting cleans the in-memory hugepages with the process */
	exit(code);
}

void on_signal(int sig)
{
	if (g_signal) {
		/* second signal: give up on a clean stop */
		static const char m[] = "\nxcap-fwd: second signal, exiting now\n";
		ssize_t r = write(2, m, sizeof m - 1);
		(void)r;
		_exit(130);
	}
	g_signal = sig;
}

bool parse_int(const std::string &s, long &v)
{
	if (s.empty())
		return false;
	char *end;
	errno = 0;
	v = strtol(s.c_str(), &end, 10);
	return errno == 0 && *end == '\0';
}

std::string lcore_list(const std::vector<unsigned> &l)
{
	std::string s;
	for (unsigned x : l) {
		if (!s.empty())
			s += ',';
		s += std::to_string(x);
	}
	return s;
}

void choose_lcores(Ctx &x)
{
	const Options &o = x.opt;
	const unsigned main_lc = rte_get_main_lcore();
	if (o.fwd_lcore >= 0) {
		if (unsigned(o.fwd_lcore) >= RTE_MAX_LCORE || !rte_lcore_is_enabled(unsigned(o.fwd_lcore)))
			die(2, "--fwd-lcore " + std::to_string(o.fwd_lcore) +
			       ": not an EAL lcore (give it to EAL with -l/--lcores)");
		x.fwd_lcore = unsigned(o.fwd_lcore);
	} else {
		x.fwd_lcore = main_lc;
	}
	if (o.output != Output::Workers)
		return;
	if (!o.workers.empty()) {
		std::vector<unsigned> l;
		parse_list(o.workers, l, RTE_MAX_LCORE - 1);
		for (unsigned lc : l) {
			if (!rte_lcore_is_enabled(lc))
				die(2, "--workers " + o.workers + ": lcore " + std::to_string(lc) +
				       " is not an EAL lcore (EAL has: -l ...)");
			if (lc == x.fwd_lcore)
				die(2, "--workers " + o.workers + ": lcore " + std::to_string(lc) +
				       " is the forwarding lcore");
			if (lc == main_lc)
				die(2, "--workers " + o.workers + ": lcore " + std::to_string(lc) +
				       " is the main lcore, which runs the control loop");
		}
		x.worker_lcores = l;
	} else {
		unsigned lc;
		RTE_LCORE_FOREACH_WORKER(lc)
			if (lc != x.fwd_lcore)
				x.worker_lcores.push_back(lc);
	}
	if (x.worker_lcores.empty())
		die(2, "no worker lcore: give EAL more lcores (e.g. -l 0-1: 0 forwards, 1 works), "
		       "or choose another output (--inline, --port, --pcapng)");
	if (x.worker_lcores.size() > kMaxChannels * 4)
		die(2, "too many workers");
}

/* The PMD's lcore= devarg names the CPU of the card's engine thread by an
 * lcore id, through rte_lcore_to_cpu_id(). An lcore id for a CPU, or -1. */
int lcore_for_cpu(int cpu)
{
	if (cpu >= 0 && cpu < RTE_MAX_LCORE && rte_lcore_to_cpu_id(cpu) == cpu)
		return cpu;
	for (int lc = 0; lc < RTE_MAX_LCORE; lc++)
		if (rte_lcore_to_cpu_id(lc) == cpu)
			return lc;
	return -1;
}

int first_cpu(unsigned lcore)
{
	const rte_cpuset_t cs = rte_lcore_cpuset(lcore);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &cs))
			return c;
	return -1;
}

/* Where the emulated card's engine thread runs: a CPU no EAL lcore runs on
 * if this process may use one, else the CPU of an EAL lcore left idle, else
 * the last worker's (the card shares it), else the forwarding lcore's. */
int choose_card_lcore(Ctx &x, const cpu_set_t &orig)
{
	if (x.opt.card_lcore >= 0)
		return x.opt.card_lcore;
	cpu_set_t used;
	CPU_ZERO(&used);
	unsigned lc;
	RTE_LCORE_FOREACH(lc) {
		const rte_cpuset_t cs = rte_lcore_cpuset(lc);
		CPU_OR(&used, &used, &cs);
	}
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &orig) && !CPU_ISSET(cpu, &used) && lcore_for_cpu(cpu) >= 0)
			return lcore_for_cpu(cpu);
	cpu_set_t busy;
	CPU_ZERO(&busy);
	CPU_SET(first_cpu(x.fwd_lcore), &busy);
	CPU_SET(first_cpu(rte_get_main_lcore()), &busy);
	for (unsigned w : x.worker_lcores)
		CPU_SET(first_cpu(w), &busy);
	RTE_LCORE_FOREACH(lc) {
		const int cpu = first_cpu(lc);
		if (cpu >= 0 && !CPU_ISSET(cpu, &busy) && lcore_for_cpu(cpu) >= 0)
			return lcore_for_cpu(cpu);
	}
	const unsigned share = x.worker_lcores.empty() ? x.fwd_lcore : x.worker_lcores.back();
	const int l = lcore_for_cpu(first_cpu(share));
	return l >= 0 ? l : int(share);
}

/* The FIFO of the card xcap-fwd creates. Large, because the card's thread
 * idles between frames at low rates and an idle vCPU of a busy virtual
 * machine can take milliseconds to wake up; but at most half of what the
 * posted buffers hold: the model empties its FIFO into them in one pass, and
 * a pass that overflows every posted buffer loses frames the card may have
 * no buffer left to report in when the channel stops (docs/capture.md). */
uint32_t default_fifo(const Options &o)
{
	xcap::Devargs d;
	std::string e;
	uint32_t frame_max = 1518;
	if (xcap::parse_devargs("cap_frame=" + o.frame, xcap::DevargsTarget::Emu, d, e))
		frame_max = d.capture.size_mode == model::FrameSizeMode::Imix ? 1518
										: d.capture.frame_max;
	if (o.snaplen && o.snaplen < frame_max)
		frame_max = o.snaplen; /* not the card's snap length, but close enough */
	const uint32_t per_buf = (o.buffer_size - 64) / hw::record_stride(std::min(frame_max, 65535u));
	const uint32_t posted = o.posted ? o.posted : std::max(1u, o.buffers / (2 * o.channels));
	const uint64_t fifo = uint64_t(posted) * std::max(per_buf, 1u) / 2;
	return uint32_t(std::clamp<uint64_t>(fifo, 256, 65536));
}

bool has_capture(int16_t dev)
{
	rte_dma_info info{};
	return rte_dma_info_get(dev, &info) == 0 && (info.dev_capa & RTE_DMA_CAPA_DEV_TO_MEM);
}

/* "N copy + M capture channels" from rte_dma_dump (PCI cards). */
bool dump_channels(int16_t dev, unsigned &n_copy, unsigned &n_cap)
{
	const std::string text = dump_text(dev);
	const size_t at = text.find(" copy + ");
	if (at == std::string::npos)
		return false;
	size_t q = at;
	while (q > 0 && text[q - 1] >= '0' && text[q - 1] <= '9')
		q--;
	return sscanf(text.c_str() + q, "%u copy + %u capture", &n_copy, &n_cap) == 2;
}

void setup_card(Ctx &x, const cpu_set_t &orig)
{
	const Options &o = x.opt;
	if (!o.card.empty()) {
		long id;
		int dev = parse_int(o.card, id) ? int(id) : rte_dma_get_dev_id_by_name(o.card.c_str());
		if (dev < 0 || !rte_dma_is_valid(int16_t(dev)))
			die(2, "--card " + o.card + ": no such dmadev (give one with --vdev=dma_xcap_emu0 "
			       "or -a <bdf>; or leave --card out and xcap-fwd creates an emulated card)");
		x.dev = int16_t(dev);
		if (!has_capture(x.dev))
			die(2, "--card " + o.card + ": this dmadev has no capture channel");
	} else {
		int16_t d;
		RTE_DMA_FOREACH_DEV(d) {
			if (has_capture(d)) {
				x.dev = d;
				break;
			}
		}
	}
	if (x.dev >= 0 && o.profile_given)
		die(2, "--channels/--rate/--frame/--count/--fifo/--card-lcore/--card-numa describe the "
		       "emulated card xcap-fwd creates, but a card is already there; give them in its "
		       "devargs instead (e.g. --vdev=dma_xcap_emu0,capture_channels=2,cap_rate=10G)");
	if (x.dev < 0) {
		std::string args = "copy_channels=0,capture_channels=" + std::to_string(o.channels) +
				   ",cap_rate=" + o.rate + ",cap_frame=" + o.frame;
		if (o.count)
			args += ",cap_count=" + std::to_string(o.count);
		args += ",cap_fifo=" + std::to_string(o.fifo ? o.fifo : default_fifo(o));
		args += ",lcore=" + std::to_string(choose_card_lcore(x, orig));
		if (o.card_numa >= 0)
			args += ",numa=" + std::to_string(o.card_numa);
		std::string name;
		for (unsigned i = 0; i < 64; i++) {
			name = "dma_xcap_emu" + std::to_string(i);
			if (rte_dma_get_dev_id_by_name(name.c_str()) < 0)
				break;
		}
		const int rc = rte_vdev_init(name.c_str(), args.c_str());
		if (rc != 0)
			die(1, "cannot create the emulated card " + name + "," + args + ": " +
			       rte_strerror(-rc) + " (see the xcap log lines above)");
		x.created_vdev = true;
		x.dev = int16_t(rte_dma_get_dev_id_by_name(name.c_str()));
		printf("xcap-fwd: created %s,%s\n", name.c_str(), args.c_str());
	}
	rte_dma_info info{};
	rte_dma_info_get(x.dev, &info);
	x.dev_name = info.dev_name;
	x.card = emu_card(x.dev);

	unsigned n_copy = 0, n_cap = 0;
	if (x.card != nullptr) {
		n_copy = x.card->config().copy_channels;
		n_cap = x.card->config().capture_channels;
	} else if (!dump_channels(x.dev, n_copy, n_cap) && o.vchans.empty()) {
		die(2, x.dev_name + ": cannot tell which vchans capture; give them with --vchans");
	}
	if (!o.vchans.empty()) {
		for (uint16_t v : o.vchans)
			if (n_cap && (v < n_copy || v >= n_copy + n_cap))
				die(2, "--vchans: vchan " + std::to_string(v) + " of " + x.dev_name +
				       " is not a capture vchan (those are " + std::to_string(n_copy) +
				       ".." + std::to_string(n_copy + n_cap - 1) + ")");
		x.vchans = o.vchans;
	} else {
		for (unsigned v = n_copy; v < n_copy + n_cap; v++)
			x.vchans.push_back(uint16_t(v));
	}
	if (x.vchans.empty())
		die(2, x.dev_name + " has no capture channel");
	if (x.vchans.size() > kMaxChannels)
		die(2, "at most 64 capture channels");
	for (uint16_t v : x.vchans)
		x.cap_index.push_back(v - n_copy);
	/* a generator with a count: the run ends when all of it is accounted for */
	if (x.card != nullptr) {
		const auto &cfg = x.card->config();
		for (unsigned ci : x.cap_index) {
			const uint64_t cnt = ci < cfg.capture.size() ? cfg.capture[ci].count : 0;
			if (cnt == 0) {
				x.card_count = 0;
				break;
			}
			x.card_count += cnt;
		}
	}
}

void setup_stream(Ctx &x)
{
	const Options &o = x.opt;
	capture::StreamConfig sc;
	sc.dev_id = x.dev;
	sc.vchans = x.vchans;
	sc.buffer_size = o.buffer_size;
	sc.nb_buffers = o.buffers;
	sc.posted_per_vchan = o.posted;
	sc.numa_node = o.numa;
	sc.snaplen = o.snaplen;
	sc.name = "fwd";
	if (o.filter) {
		const uint32_t lo = o.filter_min, hi = o.filter_max;
		sc.filter = [lo, hi](const capture::Record &r) {
			return r.wire_len >= lo && r.wire_len <= hi;
		};
	}
	if ((o.output == Output::Workers && o.worker_path == WorkerPath::Mbufs) ||
	    o.output == Output::Port) {
		/* mbufs in flight: worker rings or the TX ring, bursts, caches */
		const uint64_t rings = o.output == Output::Workers
					       ? uint64_t(x.worker_lcores.size()) * o.ring_size
					       : uint64_t(o.txq_size) * 2;
		const uint64_t lcores = x.worker_lcores.size() + 2;
		sc.nb_mbufs = uint32_t(std::min<uint64_t>(rings + lcores * 512 + 4 * o.burst + 4096,
							  1u << 24));
		sc.mbuf_cache = 256;
		sc.mbuf_port = x.port == UINT16_MAX ? RTE_MBUF_PORT_INVALID : x.port;
	}
	std::string err;
	x.stream = capture::Stream::create(sc, err);
	if (!x.stream)
		die(2, err);
	x.numa = x.stream->numa_node();
}

void setup_workers(Ctx &x)
{
	const unsigned nw = x.opt.output == Output::Workers ? unsigned(x.worker_lcores.size()) : 1;
	for (unsigned w = 0; w < nw; w++) {
		x.wstats.push_back(std::make_unique<VerifyStats>());
		if (x.opt.output != Output::Workers)
			continue;
		const std::string name = "fwd_w" + std::to_string(w);
		const unsigned esize = x.opt.worker_path == WorkerPath::Records
					       ? sizeof(capture::RecordRef) : sizeof(void *);
		/* buffers: each ring holds every buffer of the stream, so neither
		 * ever fills; the buffers themselves are the back-pressure */
		const unsigned size = x.opt.worker_path == WorkerPath::Buffers
					      ? std::max(64u, rte_align32pow2(x.opt.buffers + 1))
					      : x.opt.ring_size;
		rte_ring *r = xcap_ring_create_elem(name.c_str(), esize, size, x.numa,
						   RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (r == nullptr)
			die(1, "cannot create worker ring " + name + ": " + rte_strerror(rte_errno));
		x.rings.push_back(r);
		if (x.opt.worker_path != WorkerPath::Buffers)
			continue;
		const std::string back = "fwd_b" + std::to_string(w);
		r = rte_ring_create(back.c_str(), size, x.numa, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (r == nullptr)
			die(1, "cannot create return ring " + back + ": " + rte_strerror(rte_errno));
		x.back_rings.push_back(r);
	}
}

void setup_port(Ctx &x)
{
	const Options &o = x.opt;
	long id;
	uint16_t port;
	if (parse_int(o.port, id)) {
		if (id < 0 || id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(uint16_t(id)))
			die(2, "--port " + o.port + ": no such ethdev port (" +
			       std::to_string(rte_eth_dev_count_avail()) + " available; add one with "
			       "e.g. --vdev=net_null0)");
		port = uint16_t(id);
	} else if (rte_eth_dev_get_port_by_name(o.port.c_str(), &port) != 0) {
		die(2, "--port " + o.port + ": no such ethdev (add it to the EAL options, e.g. "
		       "--vdev=" + o.port + ")");
	}
	x.port = port;
	char name[RTE_ETH_NAME_MAX_LEN];
	rte_eth_dev_get_name_by_port(port, name);
	x.port_name = name;
	rte_eth_dev_info di{};
	int rc = rte_eth_dev_info_get(port, &di);
	if (rc != 0)
		die(1, "--port " + o.port + ": rte_eth_dev_info_get: " + rte_strerror(-rc));
	x.port_loopback = di.driver_name && strcmp(di.driver_name, "net_ring") == 0;
	rte_eth_conf conf{};
	/* Never RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE: our mbufs carry external
	 * buffers that must go through rte_pktmbuf_free(). */
	conf.txmode.offloads = 0;
	const uint16_t nb_rx = di.max_rx_queues ? 1 : 0;
	rc = rte_eth_dev_configure(port, nb_rx, 1, &conf);
	if (rc != 0)
		die(1, "--port " + o.port + ": rte_eth_dev_configure: " + rte_strerror(-rc));
	if (nb_rx) {
		x.port_rx_pool = rte_pktmbuf_pool_create("fwd_port_rx", 1023, 0, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE, x.numa);
		if (x.port_rx_pool == nullptr)
			die(1, std::string("cannot create the port's Rx pool: ") + rte_strerror(rte_errno));
		rc = rte_eth_rx_queue_setup(port, 0, 512, x.numa, nullptr, x.port_rx_pool);
		if (rc != 0)
			die(1, "--port " + o.port + ": rx queue: " + rte_strerror(-rc));
	}
	rte_eth_txconf txc = di.default_txconf;
	txc.offloads = 0;
	rc = rte_eth_tx_queue_setup(port, 0, o.txq_size, x.numa, &txc);
	if (rc != 0)
		die(1, "--port " + o.port + ": tx queue of " + std::to_string(o.txq_size) + ": " +
		       rte_strerror(-rc));
	rc = rte_eth_dev_start(port);
	if (rc != 0)
		die(1, "--port " + o.port + ": start: " + rte_strerror(-rc));
}

void setup_pcapng(Ctx &x)
{
	std::vector<std::string> names;
	for (uint16_t v : x.vchans)
		names.push_back(x.dev_name + ":" + std::to_string(v));
	std::string err;
	const uint32_t snap = x.opt.snaplen ? x.opt.snaplen : 65535;
	if (!x.pcap.open(x.opt.pcapng, names, snap, 0, err))
		die(2, "--pcapng: " + err);
}

} // namespace

int main(int argc, char **argv)
{
	cpu_set_t orig;
	CPU_ZERO(&orig);
	sched_getaffinity(0, sizeof orig, &orig);

	/* --help needs no EAL */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			bool after = false;
			for (int j = 1; j < i; j++)
				after |= strcmp(argv[j], "--") == 0;
			if (after || i == 1) {
				fputs(usage(), stdout);
				return 0;
			}
		}

	/* early: a Ctrl-C during EAL's start-up stops the run right after it */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	const int ret = rte_eal_init(argc, argv);
	if (ret < 0)
		die(2, std::string("EAL initialisation failed: ") + rte_strerror(rte_errno) +
		       " (hugepages reserved? usertools/xcap-setup; EAL options go before --)");
	argc -= ret;
	argv += ret;

	static Ctx x; /* lives until exit: lcores reference it */
	std::string err;
	if (!parse_options(argc, argv, x.opt, err)) {
		fprintf(stderr, "xcap-fwd: error: %s\n", err.c_str());
		rte_eal_cleanup();
		return 2;
	}
	if (x.opt.help) {
		fputs(usage(), stdout);
		rte_eal_cleanup();
		return 0;
	}
	x.tsc_hz = rte_get_tsc_hz();

	choose_lcores(x);
	setup_card(x, orig);
	if (x.opt.output == Output::Port)
		setup_port(x);
	setup_stream(x);
	setup_workers(x);
	if (x.opt.output == Output::Pcapng)
		setup_pcapng(x);

	printf("xcap-fwd: %s, capture vchan%s %s, %u buffers x %u B on node %d, output %s, "
	       "forwarding lcore %u%s%s\n", x.dev_name.c_str(), x.vchans.size() > 1 ? "s" : "",
	       lcore_list(std::vector<unsigned>(x.vchans.begin(), x.vchans.end())).c_str(),
	       x.opt.buffers, x.opt.buffer_size, x.numa,
	       x.opt.output == Output::Workers ? "workers" : x.opt.output == Output::Port ? "port"
	       : x.opt.output == Output::Pcapng ? "pcapng" : "inline", x.fwd_lcore,
	       x.worker_lcores.empty() ? "" : ", workers ",
	       lcore_list(x.worker_lcores).c_str());
	fflush(stdout);

	/* An emulated card on a busy machine may miss the PMD's 100 ms to
	 * answer a channel reset: try again before giving up. */
	int rc = x.stream->start();
	for (int attempt = 1; rc != 0 && attempt < 3 && x.card != nullptr && !g_signal; attempt++) {
		fprintf(stderr, "xcap-fwd: starting %s: %s; the emulated card is slow to answer (busy "
			"CPUs?), trying again\n", x.dev_name.c_str(), rte_strerror(-rc));
		rc = x.stream->start();
	}
	if (rc != 0)
		die(1, std::string("cannot start capturing on ") + x.dev_name + ": " +
		       rte_strerror(-rc));
	x.start_tsc = rte_rdtsc();
	x.next_stats_tsc = x.start_tsc;

	std::vector<WorkerArg> wargs(x.worker_lcores.size());
	for (size_t w = 0; w < x.worker_lcores.size(); w++) {
		wargs[w] = WorkerArg{&x, unsigned(w)};
		rte_eal_remote_launch(worker_main, &wargs[w], x.worker_lcores[w]);
	}
	if (x.fwd_lcore == rte_get_main_lcore()) {
		fwd_main(&x);
	} else {
		rte_eal_remote_launch(fwd_main, &x, x.fwd_lcore);
		while (!x.fwd_done.load(std::memory_order_acquire)) {
			control_tick(x, rte_rdtsc());
			std::this_thread::sleep_for(std::chrono::milliseconds(5));
		}
		rte_eal_wait_lcore(x.fwd_lcore);
	}
	for (unsigned lc : x.worker_lcores)
		rte_eal_wait_lcore(lc);
	if (x.opt.output == Output::Port) {
		rte_eth_dev_stop(x.port);
		/* anything the port still held went back to the pool */
	}
	x.stream->poll(); /* take back buffers freed last */

	const Totals t = compute_totals(x);
	print_summary(x, t);
	bool ok = t.balanced && t.c.cpu_copies == 0 && !x.fatal.load();
	if (t.verified)
		ok = ok && (t.v_payload | t.v_order | t.v_unreported | t.v_channel_mismatch) == 0 &&
		     t.v_records == t.c.delivered;
	if (x.fatal.load())
		fprintf(stderr, "xcap-fwd: error: %s\n", x.fatal_msg.c_str());
	if (!x.opt.stats_json.empty() && !write_json(x, t, err)) {
		fprintf(stderr, "xcap-fwd: error: %s\n", err.c_str());
		ok = false;
	}
	if (x.opt.output == Output::Pcapng) {
		const int prc = x.pcap.close();
		if (prc != 0) {
			fprintf(stderr, "xcap-fwd: error: closing %s: %s\n", x.opt.pcapng.c_str(),
				strerror(-prc));
			ok = false;
		}
	}

	/* teardown */
	if (x.opt.output == Output::Port)
		rte_eth_dev_close(x.port);
	x.stream.reset();
	for (rte_ring *r : x.rings)
		rte_ring_free(r);
	for (rte_ring *r : x.back_rings)
		rte_ring_free(r);
	if (x.port_rx_pool)
		rte_mempool_free(x.port_rx_pool);
	if (x.created_vdev)
		rte_vdev_uninit(x.dev_name.c_str());
	rte_eal_cleanup();
	return ok ? 0 : 1;
}
