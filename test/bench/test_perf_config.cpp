/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-dma-perf's config parser: DPDK test-dma-perf files (23.11 and 24.03+
 * layouts), the configs in config/, variable expansion, and one test per
 * kind of error (each must name the section, the key and what is allowed).
 */
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "perf_config.h"

using namespace dmaperf;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

Config parse_ok(const std::string &text)
{
	Config cfg;
	const auto errors = parse_config(text, "t.ini", cfg);
	EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors[0]);
	return cfg;
}

std::vector<std::string> parse_bad(const std::string &text)
{
	Config cfg;
	return parse_config(text, "t.ini", cfg);
}

const char *kDmaCase = "[case1]\n"
		       "type=DMA_MEM_COPY\n"
		       "mem_size=10\n"
		       "buf_size=64\n"
		       "dma_ring_size=1024\n"
		       "kick_batch=32\n"
		       "lcore_dma=lcore1@dma_skeleton\n";

} // namespace

TEST(ConfigDpdk, Layout2311)
{
	Config cfg;
	const auto errors = load_config(XCAP_BENCH_DATA_DIR "/dpdk-23.11-format.ini", cfg);
	ASSERT_TRUE(errors.empty()) << errors[0];
	ASSERT_EQ(cfg.cases.size(), 2u);
	const Case &c1 = cfg.cases[0];
	EXPECT_EQ(c1.id, 1u);
	EXPECT_EQ(c1.section, "case1");
	EXPECT_EQ(c1.type, TestType::DmaMemCopy);
	EXPECT_EQ(c1.mem_size.first, 10u);
	EXPECT_EQ(c1.buf_size.values(), (std::vector<uint64_t>{64, 128, 256, 512, 1024, 2048, 4096, 8192}));
	EXPECT_EQ(c1.ring_size.first, 1024u);
	EXPECT_EQ(c1.kick_batch.first, 32u);
	EXPECT_EQ(c1.test_seconds, 2u);
	EXPECT_FALSE(c1.cache_flush);
	EXPECT_EQ(c1.eal_args, "--in-memory --file-prefix=test");
	ASSERT_EQ(c1.workers.size(), 2u);
	EXPECT_EQ(c1.workers[0].lcore, 10u);
	EXPECT_EQ(c1.workers[0].dev, "0000:00:04.2");
	EXPECT_EQ(c1.workers[1].lcore, 11u);
	EXPECT_EQ(c1.workers[1].dev, "0000:00:04.3");
	EXPECT_EQ(c1.workers[1].dir, Dir::MemToMem);

	const Case &c2 = cfg.cases[1];
	EXPECT_EQ(c2.type, TestType::CpuMemCopy);
	EXPECT_EQ(c2.src_numa, 0);
	EXPECT_EQ(c2.dst_numa, 1);
	ASSERT_EQ(c2.workers.size(), 2u);
	EXPECT_EQ(c2.workers[0].lcore, 3u);
	EXPECT_EQ(c2.workers[1].lcore, 4u);
	EXPECT_TRUE(c2.workers[0].dev.empty());
}

TEST(ConfigDpdk, Layout2403WithGlobal)
{
	Config cfg;
	const auto errors = load_config(XCAP_BENCH_DATA_DIR "/dpdk-24.03-format.ini", cfg);
	ASSERT_TRUE(errors.empty()) << errors[0];
	ASSERT_EQ(cfg.cases.size(), 5u); /* [GLOBAL] is not a case */
	const Case &c1 = cfg.cases[0];
	EXPECT_EQ(c1.eal_args, "--in-memory --file-prefix=test -l 9-12");
	EXPECT_EQ(c1.test_seconds, 2u);
	ASSERT_EQ(c1.workers.size(), 2u);
	EXPECT_EQ(c1.workers[0].lcore, 10u);
	EXPECT_EQ(c1.workers[0].dev, "0000:00:04.1");
	EXPECT_EQ(c1.workers[1].dev, "0000:00:04.2");

	const Case &c2 = cfg.cases[1];
	EXPECT_TRUE(c2.is_sg());
	EXPECT_EQ(c2.src_sge, 4u);
	EXPECT_EQ(c2.dst_sge, 1u);

	EXPECT_TRUE(cfg.cases[2].skip);
	EXPECT_EQ(cfg.cases[3].type, TestType::CpuMemCopy);
	ASSERT_EQ(cfg.cases[3].workers.size(), 2u);
	EXPECT_EQ(cfg.cases[3].workers[1].lcore, 11u);

	const Worker &w = cfg.cases[4].workers.at(0);
	EXPECT_EQ(w.dir, Dir::DevToMem);
	EXPECT_EQ(w.raddr, 0x200000000u);
	EXPECT_EQ(w.coreid, 1u);
	EXPECT_EQ(w.pfid, 2u);
	EXPECT_EQ(w.vfid, 3u);
}

TEST(ConfigDpdk, ShippedConfigsParse)
{
	unsigned n = 0;
	for (const auto &e : std::filesystem::directory_iterator(XCAP_CONFIG_DIR)) {
		if (e.path().extension() != ".ini")
			continue;
		n++;
		Config cfg;
		const auto errors = load_config(e.path().string(), cfg);
		EXPECT_TRUE(errors.empty()) << e.path() << ": " << (errors.empty() ? "" : errors[0]);
		EXPECT_FALSE(cfg.cases.empty()) << e.path();
	}
	EXPECT_GE(n, 3u) << "config/ should hold the side-by-side, null and capture configs";
}

TEST(ConfigDpdk, SideBySideConfigRunsTheThreeAtFourSizes)
{
	Config cfg;
	const auto errors = load_config(XCAP_CONFIG_DIR "/xcap-side-by-side.ini", cfg);
	ASSERT_TRUE(errors.empty()) << errors[0];
	std::vector<std::string> who;
	for (const Case &c : cfg.cases) {
		EXPECT_EQ(c.buf_size.values(), (std::vector<uint64_t>{64, 256, 1024, 4096})) << c.section;
		who.push_back(c.type == TestType::CpuMemCopy ? "cpu" : c.workers.at(0).dev);
	}
	EXPECT_THAT(who, ElementsAre("dma_xcap_emu0", "dma_skeleton", "cpu"));
}

TEST(ConfigSyntax, CommentsBlanksAndSpacesAroundEquals)
{
	Config cfg = parse_ok("; comment\n# another\n\n[ case1 ]   \n"
			      "type = CPU_MEM_COPY ; trailing comment\n"
			      "mem_size= 4\r\nbuf_size =1024\nlcore = 0\n");
	ASSERT_EQ(cfg.cases.size(), 1u);
	EXPECT_EQ(cfg.cases[0].section, "case1");
	EXPECT_EQ(cfg.cases[0].buf_size.first, 1024u);
	EXPECT_EQ(cfg.cases[0].mem_size.first, 4u);
}

TEST(ConfigSyntax, GlobalThenCaseOverrides)
{
	Config cfg = parse_ok("[GLOBAL]\neal_args=-l 0 --in-memory\ntest_seconds=5\ncache_flush=1\n" +
			      std::string(kDmaCase) + "test_seconds=1\neal_args=--vdev=dma_skeleton\n");
	const Case &c = cfg.cases.at(0);
	EXPECT_EQ(c.test_seconds, 1u);
	EXPECT_TRUE(c.cache_flush);
	EXPECT_EQ(c.eal_args, "-l 0 --in-memory --vdev=dma_skeleton");
}

TEST(ConfigSyntax, DefaultsWhenAbsent)
{
	Config cfg = parse_ok(kDmaCase);
	const Case &c = cfg.cases.at(0);
	EXPECT_EQ(c.test_seconds, 2u);
	EXPECT_FALSE(c.cache_flush);
	EXPECT_EQ(c.src_numa, -1);
	EXPECT_EQ(c.dst_numa, -1);
	EXPECT_TRUE(c.eal_args.empty());
}

TEST(ConfigSyntax, SkippedCaseIsNotValidated)
{
	Config cfg = parse_ok(std::string(kDmaCase) + "[case2]\nskip=1\ntype=NONSENSE\nfoo=bar\n");
	ASSERT_EQ(cfg.cases.size(), 2u);
	EXPECT_TRUE(cfg.cases[1].skip);
	EXPECT_EQ(cfg.cases[1].id, 2u);
}

TEST(ConfigSyntax, CaptureCase)
{
	Config cfg = parse_ok("[cap]\ntype=DMA_CAPTURE\nmem_size=16\nbuf_size=65536\n"
			      "dma_ring_size=64\nkick_batch=8\ncapture_vchan=1\n"
			      "lcore_dma=lcore0@dma_xcap_emu0\n");
	const Case &c = cfg.cases.at(0);
	EXPECT_EQ(c.type, TestType::DmaCapture);
	EXPECT_EQ(c.capture_vchan, 1);
	EXPECT_EQ(c.workers.at(0).dir, Dir::DevToMem);
	EXPECT_EQ(expand(c).at(0).nr_buf, 256u); /* 16 MiB / 64 KiB, no source buffers */
}

TEST(ConfigVariables, AddMulAndSingle)
{
	Var v;
	v.first = 64;
	v.last = 8192;
	v.incr = 2;
	v.op = VarOp::Mul;
	EXPECT_EQ(v.values().size(), 8u);
	v.last = 1000; /* last need not be reached exactly */
	EXPECT_EQ(v.values(), (std::vector<uint64_t>{64, 128, 256, 512}));
	v.op = VarOp::Add;
	v.first = 1;
	v.last = 10;
	v.incr = 4;
	EXPECT_EQ(v.values(), (std::vector<uint64_t>{1, 5, 9}));
	Var single;
	single.first = single.last = 7;
	EXPECT_EQ(single.values(), (std::vector<uint64_t>{7}));
}

TEST(ConfigVariables, ExpandEachVariableKey)
{
	for (const char *key : {"mem_size", "buf_size", "dma_ring_size", "kick_batch"}) {
		std::string t = kDmaCase;
		std::string value = std::string(key) == "mem_size" ? "8,32,2,MUL" :
				    std::string(key) == "buf_size" ? "64,4096,4,MUL" :
				    std::string(key) == "dma_ring_size" ? "64,1024,2,MUL" : "8,32,8,ADD";
		const size_t p = t.find(std::string(key) + "=");
		const size_t e = t.find('\n', p);
		t.replace(p, e - p, std::string(key) + "=" + value);
		Config cfg = parse_ok(t);
		const auto sc = expand(cfg.cases.at(0));
		ASSERT_FALSE(sc.empty()) << key;
		EXPECT_EQ(sc.front().id, 1u);
		EXPECT_EQ(sc.back().id, sc.size());
		if (std::string(key) == "mem_size") {
			ASSERT_EQ(sc.size(), 3u);
			EXPECT_EQ(sc[2].mem_size, 32u);
			EXPECT_EQ(sc[2].buf_size, 64u);
			EXPECT_EQ(sc[2].nr_buf, (32u << 20) / 128);
		} else if (std::string(key) == "buf_size") {
			ASSERT_EQ(sc.size(), 4u);
			EXPECT_EQ(sc[1].buf_size, 256u);
			EXPECT_EQ(sc[1].nr_buf, (10u << 20) / 512);
			EXPECT_EQ(sc[1].ring_size, 1024u);
		} else if (std::string(key) == "dma_ring_size") {
			ASSERT_EQ(sc.size(), 5u);
			EXPECT_EQ(sc[4].ring_size, 1024u);
			EXPECT_EQ(sc[0].kick_batch, 32u);
		} else {
			ASSERT_EQ(sc.size(), 4u);
			EXPECT_EQ(sc[3].kick_batch, 32u);
		}
	}
}

TEST(ConfigVariables, BuffersAreSplitOverWorkersAndSgRounding)
{
	Config cfg = parse_ok("[c]\ntype=DMA_MEM_COPY\nmem_size=1\nbuf_size=100\ndma_ring_size=64\n"
			      "kick_batch=8\ndma_src_sge=4\ndma_dst_sge=3\n"
			      "lcore_dma=lcore1@a, lcore2@b\n");
	const Scenario s = expand(cfg.cases.at(0)).at(0);
	/* 1 MiB / (2 * 100 B) = 5242 pairs, 2621 per worker, down to a multiple of 12 */
	EXPECT_EQ(s.nr_buf, 2616u);
}

TEST(ConfigMisc, DefaultResultPathAndArgs)
{
	EXPECT_EQ(default_result_path("config/xcap-side-by-side.ini"), "xcap-side-by-side_result.csv");
	EXPECT_EQ(default_result_path("/a/b/config.v2.ini"), "config_result.csv");
	EXPECT_THAT(split_args("  -l 0  --in-memory\t--vdev=dma_skeleton "),
		    ElementsAre("-l", "0", "--in-memory", "--vdev=dma_skeleton"));
	EXPECT_TRUE(split_args("").empty());
}

/* ---- errors: every one names the section, the key and what is allowed ---- */

struct BadCase {
	const char *name;
	std::string text;
	std::vector<std::string> expect; /* substrings of the first error */
};

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

std::string with(const std::string &key, const std::string &value)
{
	std::string t = kDmaCase;
	const size_t p = t.find("\n" + key + "=");
	if (p == std::string::npos)
		return t + key + "=" + value + "\n";
	const size_t e = t.find('\n', p + 1);
	t.replace(p + 1, e - p - 1, key + "=" + value);
	return t;
}

std::string without(const std::string &key)
{
	std::string t = kDmaCase;
	const size_t p = t.find("\n" + key + "=");
	const size_t e = t.find('\n', p + 1);
	t.erase(p + 1, e - p);
	return t;
}

TEST_P(ConfigErrors, NamesSectionKeyAndAllowed)
{
	const BadCase &b = GetParam();
	const auto errors = parse_bad(b.text);
	ASSERT_FALSE(errors.empty()) << b.name << ": accepted";
	for (const std::string &s : b.expect)
		EXPECT_THAT(errors[0], HasSubstr(s)) << b.name;
	EXPECT_THAT(errors[0], HasSubstr("t.ini:")) << b.name << ": no file:line";
}

INSTANTIATE_TEST_SUITE_P(
	All, ConfigErrors,
	::testing::Values(
		BadCase{"bad_type", with("type", "GPU_COPY"),
			{"[case1] type", "GPU_COPY", "allowed: DMA_MEM_COPY, CPU_MEM_COPY or DMA_CAPTURE"}},
		BadCase{"no_type", without("type"), {"[case1] type", "missing", "allowed:"}},
		BadCase{"not_integer", with("mem_size", "ten"),
			{"[case1] mem_size", "'ten'", "allowed: an integer in [1, 65536]"}},
		BadCase{"zero_buf", with("buf_size", "0"), {"[case1] buf_size", "out of range", "allowed:"}},
		BadCase{"bad_op", with("buf_size", "64,4096,2,DIV"),
			{"[case1] buf_size", "DIV", "first,last,increment,ADD|MUL"}},
		BadCase{"three_fields", with("buf_size", "64,4096,2"),
			{"[case1] buf_size", "4 fields", "first,last,increment,ADD|MUL"}},
		BadCase{"first_gt_last", with("buf_size", "4096,64,2,MUL"),
			{"[case1] buf_size", "first is greater than last", "allowed:"}},
		BadCase{"mul_by_one", with("buf_size", "64,4096,1,MUL"),
			{"[case1] buf_size", "MUL increment must be at least 2", "allowed:"}},
		BadCase{"add_zero", with("kick_batch", "8,32,0,ADD"),
			{"[case1] kick_batch", "ADD increment must be at least 1", "allowed:"}},
		BadCase{"ring_not_pow2", with("dma_ring_size", "1000"),
			{"[case1] dma_ring_size", "allowed: a power of two in [2, 32768]"}},
		BadCase{"ring_missing", without("dma_ring_size"),
			{"[case1] dma_ring_size", "missing", "allowed:"}},
		BadCase{"kick_gt_ring", with("kick_batch", "2048"),
			{"[case1] dma_ring_size", "exceeds", "allowed: kick_batch <= dma_ring_size"}},
		BadCase{"unknown_key", with("colour", "blue"),
			{"[case1] colour", "unknown key", "allowed:", "kick_batch"}},
		BadCase{"lcore_in_dma", with("lcore", "1"),
			{"[case1] lcore", "lcore_dma", "allowed:"}},
		BadCase{"no_lcore_dma", without("lcore_dma"),
			{"[case1] lcore_dma", "missing", "allowed: lcore_dma=lcore<N>@<dmadev name>"}},
		BadCase{"lcore_dma_no_at", with("lcore_dma", "lcore1:dma_skeleton"),
			{"[case1] lcore_dma", "no '@'", "allowed: lcore<N>@<dmadev name>"}},
		BadCase{"lcore_dma_bad_lcore", with("lcore_dma", "core1@dma_skeleton"),
			{"[case1] lcore_dma", "'core1'", "allowed:"}},
		BadCase{"lcore_dma_no_dev", with("lcore_dma", "lcore1@"),
			{"[case1] lcore_dma", "names no device", "allowed:"}},
		BadCase{"dup_lcore", with("lcore_dma", "lcore1@a, lcore1@b"),
			{"[case1] lcore_dma", "lcore 1 given twice", "allowed: one worker per lcore"}},
		BadCase{"dup_device", with("lcore_dma", "lcore1@a, lcore2@a"),
			{"[case1] lcore_dma", "device a given twice", "allowed: one lcore per device"}},
		BadCase{"sge_alone", with("dma_src_sge", "4"),
			{"[case1] dma_src_sge", "without dma_dst_sge", "allowed: both"}},
		BadCase{"sge_zero", with("dma_src_sge", "0") + "dma_dst_sge=1\n",
			{"[case1] dma_src_sge", "'0'", "allowed: an integer in [1, 256]"}},
		BadCase{"enq_deq_ops", with("use_enq_deq_ops", "1"),
			{"[case1] use_enq_deq_ops", "22.11", "allowed: 0"}},
		BadCase{"mixed_lcore_dma", with("lcore_dma0", "lcore=1,dev=a"),
			{"[case1] lcore_dma0", "mixed with lcore_dma=", "allowed:"}},
		BadCase{"kv_no_dev", without("lcore_dma") + "lcore_dma0=lcore=1,dir=mem2mem\n",
			{"[case1] lcore_dma0", "no dev=", "allowed: lcore=<N>,dev=<dmadev name>"}},
		BadCase{"kv_bad_dir", without("lcore_dma") + "lcore_dma0=lcore=1,dev=a,dir=sideways\n",
			{"[case1] lcore_dma0", "dir='sideways'", "allowed: dir=mem2mem|mem2dev|dev2mem"}},
		BadCase{"kv_unknown", without("lcore_dma") + "lcore_dma0=lcore=1,dev=a,speed=9\n",
			{"[case1] lcore_dma0", "unknown parameter 'speed'", "allowed:"}},
		BadCase{"kv_bad_raddr", without("lcore_dma") + "lcore_dma0=lcore=1,dev=a,dir=dev2mem,raddr=xyz\n",
			{"[case1] lcore_dma0", "raddr='xyz'", "allowed: raddr=<hexadecimal address>"}},
		BadCase{"dup_key", with("mem_size", "10") + "mem_size=20\n",
			{"[case1] mem_size", "given twice", "allowed: once per section"}},
		BadCase{"dup_section", std::string(kDmaCase) + kDmaCase,
			{"[case1] appears twice", "unique"}},
		BadCase{"outside_section", "type=DMA_MEM_COPY\n" + std::string(kDmaCase),
			{"outside any section", "[GLOBAL]"}},
		BadCase{"not_key_value", with("mem_size", "10") + "justtext\n",
			{"[case1]", "'justtext' is not key=value"}},
		BadCase{"bad_header", "[case1\n", {"section header is [name]"}},
		BadCase{"global_unknown", "[GLOBAL]\nverbose=1\n" + std::string(kDmaCase),
			{"[GLOBAL] verbose", "unknown key", "allowed: cache_flush, eal_args, test_seconds"}},
		BadCase{"seconds_zero", with("test_seconds", "0"),
			{"[case1] test_seconds", "allowed: an integer in [1, 86400]"}},
		BadCase{"global_seconds_bad", "[GLOBAL]\ntest_seconds=x\n" + std::string(kDmaCase),
			{"[GLOBAL] test_seconds", "allowed: an integer in [1, 86400]"}},
		BadCase{"cache_flush_2", with("cache_flush", "2"),
			{"[case1] cache_flush", "allowed: an integer in [0, 1]"}},
		BadCase{"skip_2", with("skip", "yes"), {"[case1] skip", "allowed: an integer in [0, 1]"}},
		BadCase{"numa_bad", with("src_numa_node", "-1"),
			{"[case1] src_numa_node", "allowed: an integer in [0, 1023]"}},
		BadCase{"mem_too_small", with("buf_size", "8388608"), {"[case1] mem_size", "holds no",
			"allowed: mem_size * 1 MiB >= 2 * buf_size * workers"}},
		BadCase{"cpu_without_lcore", "[c]\ntype=CPU_MEM_COPY\nmem_size=1\nbuf_size=64\n",
			{"[c] lcore", "missing", "allowed: lcore=<N>"}},
		BadCase{"cpu_with_ring", "[c]\ntype=CPU_MEM_COPY\nmem_size=1\nbuf_size=64\nlcore=0\n"
					 "dma_ring_size=64\n",
			{"[c] dma_ring_size", "unknown key for type CPU_MEM_COPY", "allowed:"}},
		BadCase{"cpu_bad_lcore", "[c]\ntype=CPU_MEM_COPY\nmem_size=1\nbuf_size=64\nlcore=0,x\n",
			{"[c] lcore", "'x'", "allowed: lcore ids"}},
		BadCase{"capture_small_buffer", "[c]\ntype=DMA_CAPTURE\nmem_size=1\nbuf_size=64\n"
						"dma_ring_size=64\nkick_batch=8\nlcore_dma=lcore0@x\n",
			{"[c] buf_size", "out of range", "allowed: an integer in [256,"}},
		BadCase{"capture_vchan_bad", "[c]\ntype=DMA_CAPTURE\nmem_size=1\nbuf_size=4096\n"
					     "dma_ring_size=64\nkick_batch=8\nlcore_dma=lcore0@x\ncapture_vchan=64\n",
			{"[c] capture_vchan", "allowed: an integer in [0, 63]"}},
		BadCase{"no_case", "[GLOBAL]\ntest_seconds=1\n", {"no test case", "[case1]"}},
		BadCase{"empty_file", "", {"no test case"}}),
	[](const ::testing::TestParamInfo<BadCase> &i) { return std::string(i.param.name); });

TEST(ConfigErrorsMore, SecondVariableIsNamed)
{
	const auto errors = parse_bad(with("buf_size", "64,4096,2,MUL") + "");
	/* buf_size alone is fine: add a second variable */
	std::string t = with("buf_size", "64,4096,2,MUL");
	t.replace(t.find("kick_batch=32"), 13, "kick_batch=8,32,8,ADD");
	const auto e2 = parse_bad(t);
	EXPECT_TRUE(errors.empty());
	ASSERT_EQ(e2.size(), 1u);
	EXPECT_THAT(e2[0], AllOf(HasSubstr("[case1] kick_batch"), HasSubstr("buf_size is one already"),
				 HasSubstr("allowed: at most one key written first,last,increment,ADD|MUL")));
}

TEST(ConfigErrorsMore, EveryErrorIsReportedWithItsLine)
{
	const auto errors = parse_bad("[a]\ntype=DMA_MEM_COPY\nmem_size=x\nbuf_size=64\n"
				      "dma_ring_size=3\nkick_batch=1\nlcore_dma=lcore0@d\n"
				      "[b]\ntype=FOO\n");
	ASSERT_EQ(errors.size(), 3u);
	EXPECT_THAT(errors[0], HasSubstr("t.ini:3: [a] mem_size"));
	EXPECT_THAT(errors[1], HasSubstr("t.ini:5: [a] dma_ring_size"));
	EXPECT_THAT(errors[2], HasSubstr("t.ini:9: [b] type"));
}

TEST(ConfigErrorsMore, MissingFile)
{
	Config cfg;
	const auto errors = load_config("/nonexistent/x.ini", cfg);
	ASSERT_EQ(errors.size(), 1u);
	EXPECT_THAT(errors[0], HasSubstr("cannot open"));
}
