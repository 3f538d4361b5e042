/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-soak: capture + forward for a configurable time while the device
 * model injects a random, seeded mix of faults (docs/reliability.md, "The
 * capture soak"). Exit 0 only if, per card incarnation and in total, the
 * model's ground truth equals delivered + dropped by cause exactly, every
 * delivered byte is intact, no record is duplicated or out of order, RSS
 * stayed flat, and no loop stalled (a watchdog aborts the run otherwise).
 *
 *   xcap-soak [EAL args] -- [--seconds N] [--seed S] [--rate PPS] [--no-vanish]
 *
 * --seconds defaults to 120; $XCAP_SOAK_SECONDS, if set, wins over it. The seed is printed;
 * --seed replays the same fault schedule (the timing of a run on a loaded
 * machine still differs, so counters differ from run to run; the checks do
 * not).
 */
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include "xcap_dpdk_compat.h" /* xcap_ring_create_elem */

#include "xcap_capture.hpp"
#include "xcap_emu.h"
#include "xcap_fault_scheduler.h"
#include "xcap_model.h"

using namespace xcap;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned kChannels = 2;      /* capture vchans per card; faults on vchan 0 */
constexpr unsigned kWatchdogSec = 10;
constexpr uint32_t kBurst = 256;
constexpr const char *kVdev = "dma_xcap_emu_soak";

struct Options {
	unsigned seconds = 120;
	uint64_t seed = 0;
	bool seed_given = false;
	unsigned rate = 50000; /* frames per second per channel */
	bool vanish = true;
	bool simulate_hang = false; /* self-test of the watchdog */
};

/* ---- the worker: verifies every record, gives the references back -------- */
struct ChanCheck {
	uint64_t next_seq = 0;  /* expected at least, in this enable */
	uint64_t last_ts = 0;
	uint64_t records = 0, bytes = 0;
	uint64_t restarts_seen = 0; /* sequence went back to a lower value, timestamps on */
	bool any = false;
};

struct Shared {
	rte_ring *ring = nullptr;            /* RecordRef, main -> worker */
	std::atomic<const capture::Stream *> stream{nullptr};
	std::atomic<bool> quit{false};
	std::atomic<uint64_t> main_beat{0}, worker_beat{0};
	std::atomic<int> worker_phase{0};
	std::atomic<bool> hang{false}; /* --simulate-hang: the worker spins, no heartbeat */ /* where the worker is, for the watchdog's message */
	std::atomic<uint64_t> in_flight{0};  /* refs enqueued, not yet released */
	/* worker results, per incarnation (reset by main while the worker idles) */
	std::array<ChanCheck, kChannels> chk{};
	std::atomic<uint64_t> payload_errors{0}, order_errors{0}, dup_errors{0}, short_records{0};
};

Shared g;
std::atomic<pid_t> g_main_tid{0}, g_worker_tid{0}; /* for the watchdog */
uint8_t g_ramp[256 + 65536];

inline void beat(std::atomic<uint64_t> &b)
{
	b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void verify(const capture::RecordRef &ref)
{
	xcap_capture_record rec;
	xcap_capture_ref_record(reinterpret_cast<const xcap_capture_ref *>(&ref), &rec);
	ChanCheck &c = g.chk[ref.channel % kChannels];
	if (rec.cap_len < 8) {
		g.short_records.fetch_add(1, std::memory_order_relaxed);
		return;
	}
	uint64_t seq;
	std::memcpy(&seq, rec.data, 8);
	/* bytes 8.. are a ramp from (seq + 8) & 0xff (model::payload_byte) */
	if (std::memcmp(rec.data + 8, g_ramp + ((seq + 8) & 0xff), rec.cap_len - 8) != 0)
		g.payload_errors.fetch_add(1, std::memory_order_relaxed);
	if (c.any) {
		/* timestamps (the card clock) strictly increase across the whole
		 * incarnation; sequence numbers within one enable */
		if (rec.ts_ns <= c.last_ts)
			g.dup_errors.fetch_add(1, std::memory_order_relaxed);
		else if (seq < c.next_seq)
			c.restarts_seen++; /* the device was restarted: sequence from 0 again */
	}
	c.any = true;
	c.last_ts = rec.ts_ns;
	c.next_seq = seq + 1;
	c.records++;
	c.bytes += rec.cap_len;
}

int worker_main(void *)
{
	g_worker_tid.store(pid_t(gettid()));
	capture::RecordRef refs[kBurst];
	while (!g.quit.load(std::memory_order_acquire)) {
		beat(g.worker_beat);
		g.worker_phase.store(1, std::memory_order_relaxed);
		const unsigned n = rte_ring_sc_dequeue_burst_elem(g.ring, refs, sizeof(refs[0]),
								  kBurst, nullptr);
		if (n == 0) {
			/* leave the CPU to the card's thread (2-CPU machines) */
			std::this_thread::sleep_for(std::chrono::microseconds(20));
			continue;
		}
		g.worker_phase.store(2, std::memory_order_relaxed);
		while (g.hang.load(std::memory_order_relaxed))
			; /* --simulate-hang */
		for (unsigned i = 0; i < n; i++)
			verify(refs[i]);
		g.worker_phase.store(3, std::memory_order_relaxed);
		g.stream.load(std::memory_order_acquire)->release_refs(refs, n);
		g.in_flight.fetch_sub(n, std::memory_order_release);
	}
	return 0;
}

/* ---- watchdog ------------------------------------------------------------ */
/* A loop that makes no progress for kWatchdogSec is a hang: it spins (its
 * thread burns CPU) or it is blocked (sleeping in the kernel). On a shared
 * machine a thread can also be starved: runnable, but given (almost) no CPU
 * by the host for seconds, or the whole process frozen (the watchdog itself
 * oversleeps). Those are not hangs of ours: the watchdog restarts its clock
 * for that thread and reports them in the summary. */
std::atomic<uint64_t> g_starved{0}, g_longest_starved_ms{0};

struct ThreadSample {
	char state = '?';
	uint64_t cpu_ticks = 0; /* utime + stime */
};

ThreadSample sample_thread(pid_t tid)
{
	ThreadSample t;
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", int(tid));
	FILE *f = fopen(path, "r");
	if (f == nullptr)
		return t;
	char buf[1024];
	const size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the name may hold spaces */
	if (p == nullptr)
		return t;
	char st = '?';
	unsigned long utime = 0, stime = 0;
	/* fields after the name: state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &st, &utime,
		   &stime) == 3) {
		t.state = st;
		t.cpu_ticks = utime + stime;
	}
	return t;
}

struct Watched {
	const char *name;
	std::atomic<uint64_t> *beat;
	std::atomic<pid_t> *tid;
	uint64_t last = ~0ull;
	Clock::time_point at;
	ThreadSample at_sample;
};

void watchdog()
{
	Watched w[2] = {{"the capture/forwarding loop (main lcore)", &g.main_beat, &g_main_tid},
			{"the worker lcore", &g.worker_beat, &g_worker_tid}};
	const long hz = sysconf(_SC_CLK_TCK);
	for (auto &x : w) {
		x.at = Clock::now();
		x.at_sample = sample_thread(x.tid->load());
	}
	auto last = Clock::now();
	while (!g.quit.load(std::memory_order_acquire)) {
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
		const auto now = Clock::now();
		if (now - last > std::chrono::seconds(1)) {
			/* the watchdog itself was not run for a second: the whole
			 * process was frozen; start over */
			const uint64_t ms = uint64_t(
				std::chrono::duration_cast<std::chrono::milliseconds>(now - last).count());
			g_starved.fetch_add(1);
			if (ms > g_longest_starved_ms.load())
				g_longest_starved_ms.store(ms);
			for (auto &x : w) {
				x.at = now;
				x.at_sample = sample_thread(x.tid->load());
			}
		}
		last = now;
		for (auto &x : w) {
			const uint64_t b = x.beat->load(std::memory_order_relaxed);
			if (b != x.last) {
				x.last = b;
				x.at = now;
				x.at_sample = sample_thread(x.tid->load());
				continue;
			}
			if (now - x.at <= std::chrono::seconds(kWatchdogSec))
				continue;
			const ThreadSample t = sample_thread(x.tid->load());
			const double cpu_s = double(t.cpu_ticks - x.at_sample.cpu_ticks) / double(hz);
			const uint64_t ms = uint64_t(
				std::chrono::duration_cast<std::chrono::milliseconds>(now - x.at).count());
			if (t.state == 'R' && cpu_s < 0.1) {
				/* runnable, not run: starved by the host, not hung */
				g_starved.fetch_add(1);
				if (ms > g_longest_starved_ms.load())
					g_longest_starved_ms.store(ms);
				x.at = now;
				x.at_sample = t;
				continue;
			}
			fprintf(stderr, "\nxcap-soak: WATCHDOG: %s made no progress for %.1f s "
				"(thread state %c, %.2f s of CPU meanwhile: %s): the process hung; "
				"aborting the run (FAILED) [worker phase %d, ring %u, in flight %"
				PRIu64 "]\n", x.name, ms / 1e3, t.state, cpu_s,
				cpu_s >= 0.1 ? "spinning" : "blocked", g.worker_phase.load(),
				rte_ring_count(g.ring), g.in_flight.load());
			fflush(stderr);
			fflush(stdout);
			_exit(3);
		}
	}
}

/* ---- memory -------------------------------------------------------------- */
uint64_t rss_bytes()
{
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == nullptr)
		return 0;
	unsigned long size = 0, res = 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return uint64_t(res) * uint64_t(sysconf(_SC_PAGESIZE));
}

/* ---- one card incarnation -------------------------------------------------- */
struct Incarnation {
	int index = 0;
	bool halt_mode = false;
	bool vanished = false;
	double seconds = 0;
	model::Card::CaptureTotals truth[kChannels]{};
	capture::Counters c{};
	uint64_t undelivered[kChannels]{};
	uint64_t verified[kChannels]{}, restarts_seen[kChannels]{};
	uint64_t ring_full[kChannels]{};
	uint64_t fired_failures = 0, fired_lies = 0;
	uint64_t truth_generated = 0, accounted = 0;
	bool exact = false;
};

int16_t probe(bool halt_mode, unsigned rate)
{
	const std::string args = "copy_channels=0,capture_channels=" + std::to_string(kChannels) +
		",cap_rate=" + std::to_string(rate) + "pps,cap_frame=64-1518,halt_on_error=" +
		(halt_mode ? "1" : "0");
	const int rc = rte_vdev_init(kVdev, args.c_str());
	if (rc != 0) {
		fprintf(stderr, "xcap-soak: rte_vdev_init(%s, %s): %s\n", kVdev, args.c_str(),
			strerror(-rc));
		return -1;
	}
	return int16_t(rte_dma_get_dev_id_by_name(kVdev));
}

std::string human(uint64_t v)
{
	char b[32];
	snprintf(b, sizeof b, "%" PRIu64, v);
	return b;
}

} // namespace

int main(int argc, char **argv)
{
	const int eal = rte_eal_init(argc, argv);
	if (eal < 0) {
		fprintf(stderr, "xcap-soak: EAL init failed\n");
		return 2;
	}
	argc -= eal;
	argv += eal;
	Options o;
	for (int i = 1; i < argc; i++) {
		const std::string a = argv[i];
		auto val = [&]() -> const char * {
			if (i + 1 >= argc) {
				fprintf(stderr, "xcap-soak: %s needs a value\n", a.c_str());
				exit(2);
			}
			return argv[++i];
		};
		if (a == "--seconds")
			o.seconds = unsigned(strtoul(val(), nullptr, 10));
		else if (a == "--seed") {
			o.seed = strtoull(val(), nullptr, 0);
			o.seed_given = true;
		} else if (a == "--rate")
			o.rate = unsigned(strtoul(val(), nullptr, 10));
		else if (a == "--no-vanish")
			o.vanish = false;
		else if (a == "--simulate-hang")
			o.simulate_hang = true;
		else {
			fprintf(stderr, "usage: xcap-soak [EAL args] -- [--seconds N] [--seed S] "
				"[--rate PPS] [--no-vanish] [--simulate-hang]\n");
			return 2;
		}
	}
	/* the environment wins over --seconds (the meson test passes one) */
	if (const char *e = getenv("XCAP_SOAK_SECONDS"); e != nullptr && *e)
		o.seconds = unsigned(strtoul(e, nullptr, 10));
	if (o.seconds < 4)
		o.seconds = 4;
	if (!o.seed_given) {
		if (const char *e = getenv("XCAP_SOAK_SEED"))
			o.seed = strtoull(e, nullptr, 0);
		else
			o.seed = uint64_t(Clock::now().time_since_epoch().count()) ^ uint64_t(getpid());
	}
	const unsigned worker = rte_get_next_lcore(-1, 1, 0);
	if (worker >= RTE_MAX_LCORE) {
		fprintf(stderr, "xcap-soak: needs a worker lcore (-l 0-1)\n");
		return 2;
	}
	printf("xcap-soak: %u s, seed %" PRIu64 " (replay: --seed %" PRIu64 "), %u capture "
	       "channels at %u frames/s (64..1518 B), faults on vchan 0, vanish + re-probe %s\n",
	       o.seconds, o.seed, o.seed, kChannels, o.rate, o.vanish ? "once" : "off");
	fflush(stdout);

	for (size_t j = 0; j < sizeof g_ramp; j++)
		g_ramp[j] = uint8_t(j);
	g.ring = xcap_ring_create_elem("xcap_soak", sizeof(capture::RecordRef), 8192, SOCKET_ID_ANY,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (g.ring == nullptr) {
		fprintf(stderr, "xcap-soak: cannot create the ring\n");
		return 2;
	}

	const auto t0 = Clock::now();
	auto ms_now_fn = [t0] {
		return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)
					.count());
	};
	model::FaultScheduler::Options so;
	so.seed = o.seed;
	model::FaultScheduler sched(so);
	const uint64_t total_ms = uint64_t(o.seconds) * 1000;
	if (o.vanish)
		sched.plan_vanish(total_ms * 2 / 5, total_ms * 3 / 5);
	const uint64_t warmup_ms = std::min<uint64_t>(10000, total_ms / 4);
#if defined(__SANITIZE_ADDRESS__)
	const uint64_t rss_tolerance = 64ull << 20; /* ASan's quarantine and shadow */
#else
	const uint64_t rss_tolerance = 8ull << 20;
#endif
	uint64_t rss_min = 0, rss_max = 0, rss_first = 0, rss_samples = 0;

	/* The fault scheduler runs on its own thread, every millisecond: faults
	 * come and go whatever the capture loop is doing (e.g. a stall ends
	 * while the stream waits in rte_dma_stop). */
	std::mutex sched_mu;
	model::Card *sched_card = nullptr;
	std::atomic<bool> vanish_done{false};
	std::thread faults([&] {
		while (!g.quit.load(std::memory_order_acquire)) {
			{
				std::lock_guard<std::mutex> lk(sched_mu);
				const uint64_t now = ms_now_fn();
				if (sched_card != nullptr) {
					sched.tick(now);
					if (sched.vanish_due(now)) {
						sched.detach();
						sched_card->vanish();
						sched.vanished();
						sched_card = nullptr;
						vanish_done.store(true, std::memory_order_release);
					}
				}
			}
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
		}
	});
	g_main_tid.store(pid_t(gettid()));
	std::thread wd(watchdog);
	rte_eal_remote_launch(worker_main, nullptr, worker);

	auto ms_now = ms_now_fn;
	std::vector<Incarnation> incs;
	bool setup_failed = false;
	uint64_t next_rss = warmup_ms, next_status = 10000;
	capture::RecordRef refs[kBurst];

	for (int inc = 0; ms_now() < total_ms && !setup_failed; inc++) {
		Incarnation I;
		I.index = inc;
		I.halt_mode = inc % 2 == 0;
		const auto ti = Clock::now();
		const int16_t dev = probe(I.halt_mode, o.rate);
		model::Card *card = dev >= 0 ? emu_card(dev) : nullptr;
		if (card == nullptr) {
			setup_failed = true;
			break;
		}
		capture::StreamConfig cfg;
		cfg.dev_id = dev;
		cfg.vchans = {0, 1};
		cfg.buffer_size = 64 * 1024;
		cfg.nb_buffers = 128;
		cfg.name = "soak";
		std::string err;
		auto s = capture::Stream::create(cfg, err);
		if (!s || s->start() != 0) {
			fprintf(stderr, "xcap-soak: stream: %s\n", err.c_str());
			setup_failed = true;
			break;
		}
		for (auto &c : g.chk)
			c = ChanCheck{};
		g.stream.store(s.get(), std::memory_order_release);
		vanish_done.store(false);
		{
			std::lock_guard<std::mutex> lk(sched_mu);
			sched.attach(card, /*hw channel of capture vchan 0*/ 0, I.halt_mode);
			sched_card = card;
		}
		printf("[%6.1f s] card incarnation %d: dmadev %d, halt_on_error=%d\n", ms_now() / 1e3,
		       inc, dev, I.halt_mode ? 1 : 0);
		fflush(stdout);

		auto forward = [&]() {
			const uint16_t n = s->read_refs(refs, kBurst);
			if (n == 0)
				return 0u;
			g.in_flight.fetch_add(n, std::memory_order_relaxed);
			const unsigned k = rte_ring_sp_enqueue_burst_elem(g.ring, refs, sizeof(refs[0]), n,
									  nullptr);
			if (k < n) {
				for (unsigned i = k; i < n; i++)
					I.ring_full[refs[i].channel % kChannels]++;
				s->count_dropped(capture::DropCause::RingFull, n - k);
				s->release_refs(refs + k, n - k);
				g.in_flight.fetch_sub(n - k, std::memory_order_relaxed);
			}
			return unsigned(n);
		};

		bool vanish_now = false;
		while (ms_now() < total_ms) {
			beat(g.main_beat);
			const unsigned n = forward();
			const uint64_t now = ms_now();
			if (now >= next_rss) {
				const uint64_t r = rss_bytes();
				if (rss_samples++ == 0)
					rss_first = r;
				rss_min = rss_samples == 1 ? r : std::min(rss_min, r);
				rss_max = std::max(rss_max, r);
				next_rss += 1000;
			}
			if (now >= next_status) {
				const auto c = s->counters();
				printf("[%6.1f s] delivered %s, dropped %" PRIu64 ", failures %" PRIu64
				       ", restarts %" PRIu64 ", rss %.1f MiB\n", now / 1e3,
				       human(c.delivered).c_str(),
				       capture::accounted(c) - c.delivered, c.channel_failures,
				       c.channel_restarts, rss_bytes() / 1048576.0);
				fflush(stdout);
				next_status += 10000;
			}
			if (o.simulate_hang && now > 3000)
				g.hang.store(true); /* the watchdog must end the run */
			if (vanish_done.load(std::memory_order_acquire)) {
				vanish_now = true;
				break;
			}
			if (n == 0)
				std::this_thread::sleep_for(std::chrono::microseconds(20));
		}
		{
			std::lock_guard<std::mutex> lk(sched_mu);
			if (sched_card != nullptr)
				sched.detach();
			sched_card = nullptr;
		}
		if (vanish_now) {
			printf("[%6.1f s] the card vanished (surprise removal)\n", ms_now() / 1e3);
			fflush(stdout);
			I.vanished = true;
			/* the stream finds out by itself (the vchan goes quiet, its
			 * status reads all-ones) */
			const auto until = Clock::now() + std::chrono::seconds(3);
			while (s->counters().card_gone == 0 && Clock::now() < until) {
				beat(g.main_beat);
				forward();
			}
			printf("[%6.1f s] the stream %s the card gone\n", ms_now() / 1e3,
			       s->counters().card_gone ? "saw" : "did NOT see");
		}
		/* stop, consume what is left, wait for the worker's releases */
		s->request_stop();
		const auto until = Clock::now() + std::chrono::seconds(5);
		while ((!s->drained() || g.in_flight.load(std::memory_order_acquire) != 0) &&
		       Clock::now() < until) {
			beat(g.main_beat);
			if (forward() == 0)
				rte_pause();
		}
		/* no heartbeat here: a worker that stopped releasing is a hang */
		while (g.in_flight.load(std::memory_order_acquire) != 0)
			rte_pause();
		/* the worker is idle (everything released): its results are final */
		I.c = s->counters();
		for (unsigned ch = 0; ch < kChannels; ch++) {
			I.truth[ch] = card->capture_totals(ch);
			I.undelivered[ch] = s->undelivered(uint16_t(ch));
			I.verified[ch] = g.chk[ch].records;
			I.restarts_seen[ch] = g.chk[ch].restarts_seen;
		}
		const auto ff = card->faults_fired(0);
		I.fired_failures = ff.failures;
		I.fired_lies = ff.lies;
		I.seconds = std::chrono::duration<double>(Clock::now() - ti).count();
		g.stream.store(nullptr, std::memory_order_release);
		s.reset(); /* leaks its buffers if the card vanished with them (safe) */
		rte_vdev_uninit(kVdev);
		for (unsigned ch = 0; ch < kChannels; ch++)
			I.truth_generated += I.truth[ch].generated;
		I.accounted = capture::accounted(I.c);
		I.exact = I.truth_generated == I.accounted;
		incs.push_back(I);
		if (!o.vanish)
			continue;
	}
	g.quit.store(true, std::memory_order_release);
	rte_eal_wait_lcore(worker);
	faults.join();
	wd.join();
	const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

	/* ---- summary ---- */
	bool ok = !setup_failed && !incs.empty();
	printf("\nxcap-soak summary: %.1f s, seed %" PRIu64 ", %zu card incarnation%s\n", secs,
	       o.seed, incs.size(), incs.size() == 1 ? "" : "s");
	printf("  faults injected:");
	const auto &inj = sched.injected();
	uint64_t fired_f = 0, fired_l = 0;
	for (const auto &I : incs) {
		fired_f += I.fired_failures;
		fired_l += I.fired_lies;
	}
	for (size_t k = 0; k < inj.size(); k++)
		printf("%s %s %" PRIu64, k ? "," : "",
		       model::FaultScheduler::kind_name(model::FaultScheduler::Kind(k)), inj[k]);
	printf("\n  the card acted on them: %" PRIu64 " descriptors failed (address faults/halts), "
	       "%" PRIu64 " lies told\n", fired_f, fired_l);
	uint64_t T_gen = 0, T_del = 0, T_drop[capture::kDropCauses]{}, T_vanish = 0, T_verified = 0;
	uint64_t T_fail = 0, T_restart = 0, T_gone = 0, T_recon = 0;
	bool integrity = true, exact = true;
	for (const auto &I : incs) {
		const capture::Counters &c = I.c;
		uint64_t tdel = 0, tnb = 0, tovr = 0, tin = 0, tdisc = 0, ver = 0;
		for (unsigned ch = 0; ch < kChannels; ch++) {
			tdel += I.truth[ch].delivered;
			tnb += I.truth[ch].lost_no_buffer;
			tovr += I.truth[ch].lost_overrun;
			tin += I.truth[ch].in_buffer;
			tdisc += I.truth[ch].discarded_at_reset;
			ver += I.verified[ch];
		}
		printf("  incarnation %d (%.1f s, halt_on_error=%d%s):\n", I.index, I.seconds,
		       I.halt_mode ? 1 : 0, I.vanished ? ", vanished" : "");
		printf("    model truth: generated %" PRIu64 " = in completed buffers %" PRIu64
		       " + lost no_buffer %" PRIu64 " + overrun %" PRIu64 " + in the open buffer %"
		       PRIu64 " + forgotten at reset %" PRIu64 "\n", I.truth_generated, tdel, tnb,
		       tovr, tin, tdisc);
		printf("    stream: delivered %" PRIu64 " + dropped", c.delivered);
		for (unsigned i = 0; i < capture::kDropCauses; i++)
			printf(" %s %" PRIu64, capture::drop_cause_name(capture::DropCause(i)),
			       c.dropped[i]);
		printf(" = %" PRIu64 "\n", I.accounted);
		printf("    channel health: failures %" PRIu64 ", restarts %" PRIu64 ", card gone %"
		       PRIu64 ", from card counters %" PRIu64 "; buffers failed %" PRIu64
		       ", malformed %" PRIu64 ", sequence errors %" PRIu64 "\n", c.channel_failures,
		       c.channel_restarts, c.card_gone, c.counter_reconciled, c.buffers_failed,
		       c.buffers_malformed, c.buffer_seq_errors);
		uint64_t vanish_lost = 0;
		bool inc_ok;
		if (I.vanished) {
			/* the host cannot see these: the card vanished holding them
			 * (open buffer, completed buffers not collected, loss not yet
			 * in any header); the harness takes them from the model */
			inc_ok = I.truth_generated >= I.accounted;
			vanish_lost = inc_ok ? I.truth_generated - I.accounted : 0;
			printf("    generated %" PRIu64 " == accounted %" PRIu64 " + lost_at_vanish %"
			       PRIu64 " (harness only: from the model)  %s\n", I.truth_generated,
			       I.accounted, vanish_lost, inc_ok ? "OK" : "MISMATCH");
		} else {
			inc_ok = I.exact;
			printf("    generated %" PRIu64 " %s delivered + dropped %" PRIu64 "  %s\n",
			       I.truth_generated, I.exact ? "==" : "!=", I.accounted,
			       I.exact ? "OK" : "MISMATCH");
			/* per channel: what the worker verified + what the stream
			 * counted as not delivered + the ring drops */
			for (unsigned ch = 0; ch < kChannels; ch++) {
				const uint64_t sum = I.verified[ch] + I.undelivered[ch] + I.ring_full[ch];
				if (sum != I.truth[ch].generated) {
					printf("    channel %u: verified %" PRIu64 " + undelivered %" PRIu64
					       " + ring_full %" PRIu64 " = %" PRIu64 " != generated %"
					       PRIu64 "  MISMATCH\n", ch, I.verified[ch],
					       I.undelivered[ch], I.ring_full[ch], sum,
					       I.truth[ch].generated);
					inc_ok = false;
				}
			}
		}
		if (ver != c.delivered) {
			printf("    the worker verified %" PRIu64 " records, the stream delivered %" PRIu64
			       "  MISMATCH\n", ver, c.delivered);
			inc_ok = false;
		}
		if (c.cpu_copies != 0) {
			printf("    cpu_copies %" PRIu64 "  (must be 0)\n", c.cpu_copies);
			inc_ok = false;
		}
		exact = exact && inc_ok;
		T_gen += I.truth_generated;
		T_del += c.delivered;
		for (unsigned i = 0; i < capture::kDropCauses; i++)
			T_drop[i] += c.dropped[i];
		T_vanish += vanish_lost;
		T_verified += ver;
		T_fail += c.channel_failures;
		T_restart += c.channel_restarts;
		T_gone += c.card_gone;
		T_recon += c.counter_reconciled;
	}
	uint64_t T_dropped = 0;
	for (uint64_t d : T_drop)
		T_dropped += d;
	printf("  total: generated %" PRIu64 " == delivered %" PRIu64 " + dropped %" PRIu64 " (",
	       T_gen, T_del, T_dropped);
	for (unsigned i = 0; i < capture::kDropCauses; i++)
		printf("%s%s %" PRIu64, i ? ", " : "", capture::drop_cause_name(capture::DropCause(i)),
		       T_drop[i]);
	printf(") + lost_at_vanish %" PRIu64 "  %s\n", T_vanish,
	       T_gen == T_del + T_dropped + T_vanish && exact ? "OK" : "MISMATCH");
	exact = exact && T_gen == T_del + T_dropped + T_vanish;
	printf("  channel health: failures %" PRIu64 ", restarts %" PRIu64 ", card gone %" PRIu64
	       ", records+loss settled from card counters %" PRIu64 "\n", T_fail, T_restart,
	       T_gone, T_recon);
	const uint64_t pe = g.payload_errors.load(), de = g.dup_errors.load(),
		       se = g.short_records.load();
	integrity = pe == 0 && de == 0 && se == 0;
	printf("  integrity: %" PRIu64 " records verified byte by byte; payload errors %" PRIu64
	       ", duplicates/out of order %" PRIu64 ", short %" PRIu64 "  %s\n", T_verified, pe,
	       de, se, integrity ? "OK" : "FAILED");
	const bool rss_ok = rss_samples >= 2 && rss_max - rss_min <= rss_tolerance;
	printf("  RSS (statm, once a second after %.0f s warm-up, %" PRIu64 " samples): first %.1f "
	       "MiB, min %.1f MiB, max %.1f MiB, spread %.1f MiB (tolerance %.0f MiB)  %s\n",
	       warmup_ms / 1e3, rss_samples, rss_first / 1048576.0, rss_min / 1048576.0,
	       rss_max / 1048576.0, (rss_max - rss_min) / 1048576.0, rss_tolerance / 1048576.0,
	       rss_samples < 2 ? "TOO FEW SAMPLES" : rss_ok ? "OK" : "GREW");
	printf("  watchdog (%u s): no hang; starved by the host (the process frozen > 1 s, or a "
	       "loop runnable but not run for %u s; not counted as hangs): %" PRIu64
	       " times, longest %.1f s\n", kWatchdogSec, kWatchdogSec, g_starved.load(),
	       g_longest_starved_ms.load() / 1e3);
	if (o.vanish && inj[size_t(model::FaultScheduler::Kind::Vanish)] == 0 && o.seconds >= 4) {
		printf("  the vanish was planned but did not happen  FAILED\n");
		ok = false;
	}
	ok = ok && exact && integrity && rss_ok;
	printf("xcap-soak: %s\n", ok ? "PASSED" : "FAILED");
	fflush(stdout);
	rte_ring_free(g.ring);
	rte_eal_cleanup();
	return ok ? 0 : 1;
}
