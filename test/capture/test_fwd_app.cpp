/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-fwd end to end, as a separate process (its own EAL): the main job's
 * run with --stats-json, each output (workers, net_null, net_ring, net_pcap,
 * pcapng, inline), SIGINT, and every kind of bad option. The binary comes
 * from $XCAP_FWD (meson sets it), else build/app/xcap-fwd.
 */
#include <atomic>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture_test.h"
#include "pcap_reader.h"

namespace xcap::test {
namespace {

struct FwdRun {
	int exit_code = -1; /* -1: killed by a signal or timed out */
	std::string out, err;
	bool timed_out = false;
};

std::string fwd_path()
{
	const char *p = getenv("XCAP_FWD");
	return p && *p ? p : "build/app/xcap-fwd";
}

std::string slurp(const std::string &path)
{
	std::ifstream f(path);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

std::string tmpname(const std::string &tag)
{
	static std::atomic<unsigned> n{0};
	return "/tmp/xcap-fwd-test-" + std::to_string(getpid()) + "-" + std::to_string(n++) + "-" + tag;
}

/* FwdRun xcap-fwd with EAL args, "--", app args. sigint_after_ms > 0 sends
 * SIGINT then. */
FwdRun run_fwd(std::vector<std::string> eal, const std::vector<std::string> &app, int timeout_s = 120,
	    int sigint_after_ms = 0)
{
	static std::atomic<unsigned> seq{0};
	std::vector<std::string> argv = {fwd_path(), "-l", "0-1", "--in-memory", "--iova-mode=va",
					 "--no-pci", "--log-level=xcap:warning", "--file-prefix",
					 "xcap-fwd-t" + std::to_string(getpid()) + "-" +
						 std::to_string(seq++)};
	bool has_lcores = false;
	for (const auto &e : eal)
		has_lcores |= e.rfind("--lcores", 0) == 0;
	if (has_lcores)
		argv.erase(argv.begin() + 1, argv.begin() + 3);
	argv.insert(argv.end(), eal.begin(), eal.end());
	argv.push_back("--");
	argv.insert(argv.end(), app.begin(), app.end());
	const std::string out = tmpname("out"), err = tmpname("err");
	FwdRun r;
	const pid_t pid = fork();
	if (pid == 0) {
		const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(o, 1);
		dup2(e, 2);
		std::vector<char *> a;
		for (auto &s : argv)
			a.push_back(s.data());
		a.push_back(nullptr);
		execv(a[0], a.data());
		_exit(127);
	}
	int status = 0;
	const auto start = std::chrono::steady_clock::now();
	bool sent = false;
	auto capturing = std::chrono::steady_clock::time_point::max();
	for (;;) {
		const pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		const auto now = std::chrono::steady_clock::now();
		const auto el = now - start;
		if (sigint_after_ms && capturing == std::chrono::steady_clock::time_point::max() &&
		    slurp(out).find(", output ") != std::string::npos)
			capturing = now;
		if (sigint_after_ms && !sent &&
		    capturing != std::chrono::steady_clock::time_point::max() &&
		    now > capturing + std::chrono::milliseconds(sigint_after_ms)) {
			kill(pid, SIGINT);
			sent = true;
		}
		if (el > std::chrono::seconds(timeout_s)) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			r.timed_out = true;
			break;
		}
		std::this_thread::sleep_for(10ms);
	}
	if (!r.timed_out && WIFEXITED(status))
		r.exit_code = WEXITSTATUS(status);
	r.out = slurp(out);
	r.err = slurp(err);
	unlink(out.c_str());
	unlink(err.c_str());
	return r;
}

/* "key": <integer> anywhere in the JSON text; -1 if absent. */
int64_t jint(const std::string &json, const std::string &key)
{
	const std::regex re("\"" + key + "\": (-?[0-9]+)");
	std::smatch m;
	if (!std::regex_search(json, m, re))
		return -1;
	return std::stoll(m[1]);
}

bool jtrue(const std::string &json, const std::string &key)
{
	return json.find("\"" + key + "\": true") != std::string::npos;
}

std::string describe(const FwdRun &r)
{
	return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
	       "\n--- stdout ---\n" + r.out + "\n--- stderr ---\n" + r.err;
}

/* The checks every successful run must pass. */
void expect_balanced(const std::string &json)
{
	const int64_t gen = jint(json, "generated"), del = jint(json, "delivered");
	int64_t dropped = 0;
	for (const char *k : {"no_buffer", "overrun", "ring_full", "tx_full", "filtered", "malformed",
			      "channel_failed"}) {
		const int64_t v = jint(json, k);
		EXPECT_GE(v, 0) << k << " missing from " << json;
		dropped += v;
	}
	EXPECT_GT(gen, 0) << json;
	EXPECT_GT(del, 0) << json;
	EXPECT_EQ(gen, del + dropped) << json;
	EXPECT_EQ(jint(json, "dropped_total"), dropped);
	EXPECT_EQ(jint(json, "cpu_copies"), 0) << json;
	EXPECT_TRUE(jtrue(json, "balanced")) << json;
	EXPECT_EQ(jint(json, "unaccounted"), 0);
}

class App : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (access(fwd_path().c_str(), X_OK) != 0)
			GTEST_SKIP() << fwd_path() << " not built";
	}
};

/* The main job as the quickstart runs it: 5 s, workers verifying. */
TEST_F(App, FiveSecondRunIsBalanced)
{
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({}, {"--seconds", "5", "--stats-json", json});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	EXPECT_EQ(jint(j, "payload_errors"), 0);
	EXPECT_EQ(jint(j, "order_errors"), 0);
	EXPECT_EQ(jint(j, "unreported_gaps"), 0);
	EXPECT_EQ(jint(j, "channel_mismatches"), 0);
	EXPECT_NE(r.out.find("generated == delivered + dropped"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("Mpps"), std::string::npos) << "live statistics: " << r.out;
	unlink(json.c_str());
}

TEST_F(App, BackPressuredCountIsDeliveredCompletely)
{
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({}, {"--rate", "max", "--count", "200000", "--frame", "64-1518",
				   "--channels", "2", "--stats-json", json, "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	EXPECT_EQ(jint(j, "generated"), 400000);
	EXPECT_EQ(jint(j, "delivered"), 400000);
	EXPECT_EQ(jint(j, "records"), 400000);
	unlink(json.c_str());
}

TEST_F(App, InlineRecordPath)
{
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({}, {"--inline", "verify", "--rate", "2Mpps", "--count", "100000",
				   "--stats-json", json, "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	expect_balanced(slurp(json));
	unlink(json.c_str());
}

TEST_F(App, TwoWorkersByFlowHashAndRoundRobin)
{
	for (const char *dist : {"hash", "rr"}) {
		SCOPED_TRACE(dist);
		const std::string json = tmpname("json");
		const FwdRun r = run_fwd({"--lcores=0@0,1@1,2@1"},
				      {"--workers", "1-2", "--dist", dist, "--channels", "2", "--rate",
				       "1Mpps", "--count", "100000", "--stats-json", json, "--quiet"});
		ASSERT_EQ(r.exit_code, 0) << describe(r);
		const std::string j = slurp(json);
		expect_balanced(j);
		EXPECT_EQ(jint(j, "generated"), 200000);
		EXPECT_EQ(jint(j, "channel_mismatches"), 0);
		unlink(json.c_str());
	}
}

TEST_F(App, WorkersOverMbufsRecordRefsAndWholeBuffers)
{
	for (const char *path : {"mbufs", "records", "buffers"}) {
		for (const char *mode : {"verify", "count"}) {
			SCOPED_TRACE(std::string(path) + " " + mode);
			const std::string json = tmpname("json");
			const FwdRun r = run_fwd({}, {"--worker-path", path, "--worker-mode", mode,
						      "--rate", "max", "--frame", "64-300", "--count",
						      "100000", "--stats-json", json, "--quiet"});
			ASSERT_EQ(r.exit_code, 0) << describe(r);
			const std::string j = slurp(json);
			expect_balanced(j);
			EXPECT_EQ(jint(j, "delivered"), 100000) << "back-pressure: nothing dropped";
			unlink(json.c_str());
		}
	}
}

/* Whole buffers to two workers, round-robin, with a filter: what the
 * workers' detached reads skip reaches the stream's counters exactly. */
TEST_F(App, WholeBuffersToTwoWorkersWithFilter)
{
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({"--lcores=0@0,1@1,2@1"},
			      {"--workers", "1-2", "--worker-path", "buffers", "--channels", "2",
			       "--rate", "max", "--frame", "64-600", "--filter-len", "64-300",
			       "--count", "100000", "--stats-json", json, "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	EXPECT_EQ(jint(j, "generated"), 200000);
	EXPECT_GT(jint(j, "filtered"), 0) << j;
	EXPECT_EQ(jint(j, "delivered") + jint(j, "filtered"), 200000) << j;
	EXPECT_EQ(jint(j, "payload_errors"), 0);
	EXPECT_EQ(jint(j, "unreported_gaps"), 0);
	unlink(json.c_str());
}

TEST_F(App, RingFullDropIsCounted)
{
	/* a tiny ring and dropping instead of waiting: ring_full counts */
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({}, {"--ring-size", "64", "--ring-full", "drop", "--burst", "64",
				      "--rate", "max", "--count", "300000", "--stats-json", json,
				      "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	EXPECT_GT(jint(j, "ring_full"), 0) << j;
	EXPECT_EQ(jint(j, "channel_mismatches"), 0);
	unlink(json.c_str());
}

TEST_F(App, NetNullPort)
{
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({"--vdev=net_null0"}, {"--port", "net_null0", "--rate", "max",
						     "--count", "100000", "--stats-json", json,
						     "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	EXPECT_EQ(jint(j, "sent") + jint(j, "tx_full"), jint(j, "handed_out"));
	EXPECT_EQ(jint(j, "delivered"), jint(j, "sent"));
	unlink(json.c_str());
}

TEST_F(App, NetRingPortLoopsBack)
{
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({"--vdev=net_ring0"}, {"--port", "net_ring0", "--rate", "1Mpps",
						     "--count", "100000", "--tx-retries", "10",
						     "--stats-json", json, "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	EXPECT_EQ(jint(j, "looped"), jint(j, "sent")) << "every mbuf sent came back and was freed";
	unlink(json.c_str());
}

TEST_F(App, NetPcapPortWritesEveryPacket)
{
	const std::string json = tmpname("json"), pcap = tmpname("pcap");
	const FwdRun r = run_fwd({"--vdev=net_pcap0,tx_pcap=" + pcap},
			      {"--port", "net_pcap0", "--rate", "500kpps", "--frame", "64-1518",
			       "--count", "30000", "--tx-retries", "100", "--stats-json", json,
			       "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	std::string err;
	const auto pkts = read_pcap(pcap, err);
	ASSERT_TRUE(err.empty() || err.find("nanosecond") != std::string::npos) << err;
	EXPECT_EQ(int64_t(pkts.size()), jint(j, "sent"));
	uint64_t bad = 0, next = 0;
	for (const auto &p : pkts) {
		uint64_t seq;
		if (!payload_ok(p.data.data(), p.caplen, &seq) || seq < next || p.len != p.caplen)
			bad++;
		next = seq + 1;
	}
	EXPECT_EQ(bad, 0u);
	unlink(json.c_str());
	unlink(pcap.c_str());
}

TEST_F(App, PcapngFileReadBackByLibpcap)
{
	const std::string json = tmpname("json"), file = tmpname("pcapng");
	const FwdRun r = run_fwd({}, {"--pcapng", file, "--pcap-time", "card", "--rate", "1Mpps",
				   "--frame", "64-1518", "--snaplen", "200", "--count", "50000",
				   "--stats-json", json, "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	std::string err;
	const auto pkts = read_pcap(file, err);
	ASSERT_TRUE(err.empty()) << err;
	EXPECT_EQ(int64_t(pkts.size()), jint(j, "delivered"));
	EXPECT_EQ(int64_t(pkts.size()), jint(j, "packets"));
	uint64_t bad = 0, prev_ts = 0, next = 0;
	for (const auto &p : pkts) {
		uint64_t seq;
		if (p.caplen != std::min<uint32_t>(p.len, 200) || p.len < 64 || p.len > 1518 ||
		    !payload_ok(p.data.data(), p.caplen, &seq) || seq < next || p.ts_ns <= prev_ts)
			bad++;
		next = seq + 1;
		prev_ts = p.ts_ns;
	}
	EXPECT_EQ(bad, 0u);
	unlink(json.c_str());
	unlink(file.c_str());
}

TEST_F(App, FilterAndSnapLength)
{
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({}, {"--frame", "imix", "--filter-len", "0-600", "--snaplen", "100",
				   "--rate", "1Mpps", "--count", "100000", "--stats-json", json,
				   "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	EXPECT_GT(jint(j, "filtered"), 0);
	unlink(json.c_str());
}

TEST_F(App, SigintStopsCleanly)
{
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({}, {"--stats-json", json}, 60, 1500);
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	EXPECT_NE(r.out.find("summary"), std::string::npos) << r.out;
	expect_balanced(slurp(json));
	unlink(json.c_str());
}

TEST_F(App, CardGivenOnTheCommandLine)
{
	const std::string json = tmpname("json");
	const FwdRun r = run_fwd({"--vdev=dma_xcap_emu5,copy_channels=1,capture_channels=2,"
			       "cap_rate=1Mpps,cap_count=50000,lcore=1"},
			      {"--card", "dma_xcap_emu5", "--stats-json", json, "--quiet"});
	ASSERT_EQ(r.exit_code, 0) << describe(r);
	const std::string j = slurp(json);
	expect_balanced(j);
	EXPECT_EQ(jint(j, "channels"), 2);
	EXPECT_EQ(jint(j, "generated"), 100000);
	unlink(json.c_str());
}

TEST_F(App, BadOptionsAreReportedClearly)
{
	struct Case {
		std::vector<std::string> eal, app;
		const char *expect;
	};
	const Case cases[] = {
		{{}, {"--rate", "5Xpps"}, "--rate 5Xpps: expected"},
		{{}, {"--frame", "9"}, "--frame 9: frame sizes must be in [16, 16384]"},
		{{}, {"--frame", "100-50"}, "--frame 100-50"},
		{{}, {"--count", "-3"}, "--count -3"},
		{{}, {"--channels", "0"}, "--channels 0: expected an integer in [1, 32]"},
		{{}, {"--buffer-size", "100"}, "--buffer-size 100: expected a multiple of 64"},
		{{}, {"--buffer-size", "4M"}, "--buffer-size 4M"},
		{{}, {"--buffers", "0"}, "--buffers 0"},
		{{}, {"--posted", "5000", "--buffers", "100"}, "posted buffers per vchan 5000"},
		{{}, {"--posted", "200", "--buffers", "100"}, "posted buffers 200 x 1 vchans > 100"},
		{{}, {"--snaplen", "70000"}, "--snaplen 70000"},
		{{}, {"--snaplen", "4"}, "verification needs the first 8 bytes"},
		{{}, {"--ring-size", "1000"}, "--ring-size 1000: expected a power of 2"},
		{{}, {"--dist", "random"}, "--dist random: expected rr or hash"},
		{{}, {"--worker-path", "x"}, "--worker-path x: expected records, mbufs or buffers"},
		{{}, {"--worker-path", "buffers", "--dist", "hash"}, "round-robin only"},
		{{}, {"--ring-full", "x"}, "--ring-full x: expected wait or drop"},
		{{}, {"--worker-mode", "x"}, "--worker-mode x: expected verify or count"},
		{{}, {"--seconds", "0"}, "--seconds 0: expected a number of seconds > 0"},
		{{}, {"--seconds", "abc"}, "--seconds abc"},
		{{}, {"--filter-len", "600"}, "--filter-len 600: expected MIN-MAX"},
		{{}, {"--workers", "5"}, "lcore 5 is not an EAL lcore"},
		{{}, {"--workers", "0"}, "is the forwarding lcore"},
		{{}, {"--fwd-lcore", "7"}, "--fwd-lcore 7: not an EAL lcore"},
		{{"-l", "0"}, {}, "no worker lcore"},
		{{}, {"--port", "nosuch0"}, "--port nosuch0: no such ethdev"},
		{{}, {"--port", "3"}, "--port 3: no such ethdev port"},
		{{}, {"--pcapng", "/nonexistent-dir/x.pcapng"}, "cannot create /nonexistent-dir"},
		{{}, {"--pcapng", "a", "--port", "0"}, "choose one output"},
		{{}, {"--card", "nosuch"}, "--card nosuch: no such dmadev"},
		{{}, {"--vchans", "x"}, "--vchans x"},
		{{}, {"--vchans", "3"}, "vchan 3 of dma_xcap_emu0 is not a capture vchan"},
		{{}, {"--bogus"}, "unknown option --bogus"},
		{{}, {"--rate"}, "needs a value"},
		{{}, {"extra"}, "unexpected argument 'extra'"},
		{{"--vdev=dma_xcap_emu3,capture_channels=1"}, {"--rate", "1Mpps"},
		 "give them in its devargs"},
	};
	for (const Case &k : cases) {
		std::vector<std::string> eal = k.eal;
		if (!eal.empty() && eal[0] == "-l") {
			/* replace the default lcore list */
			eal = {"--lcores=0"};
		}
		const FwdRun r = run_fwd(eal, k.app, 60);
		std::string args;
		for (const auto &a : k.app)
			args += " " + a;
		EXPECT_EQ(r.exit_code, 2) << args << "\n" << describe(r);
		EXPECT_NE(r.err.find(k.expect), std::string::npos)
			<< args << ": expected \"" << k.expect << "\" in\n" << r.err;
	}
	const FwdRun h = run_fwd({}, {"--help"});
	EXPECT_EQ(h.exit_code, 0);
	EXPECT_NE(h.out.find("usage: xcap-fwd"), std::string::npos);
}

} // namespace
} // namespace xcap::test
