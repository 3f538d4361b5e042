/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-dma-perf configuration: the config.ini format of DPDK's
 * app/test-dma-perf (23.11 and later), parsed and validated without DPDK so
 * that it is unit-tested on its own (test/bench).
 *
 * Accepted, per test-case section (any name but GLOBAL; cases are numbered
 * in file order from 1):
 *   type=DMA_MEM_COPY|CPU_MEM_COPY|DMA_CAPTURE (the last is an xcap extension)
 *   mem_size, buf_size, dma_ring_size, kick_batch: an integer or a variable
 *       "first,last,increment,ADD|MUL" (at most one variable per case)
 *   src_numa_node, dst_numa_node, cache_flush, test_seconds, eal_args, skip,
 *   dma_src_sge, dma_dst_sge, use_enq_deq_ops (0 only: DPDK 22.11 has no
 *   enqueue/dequeue ops API),
 *   lcore_dma=lcore10@<dev>, lcore11@<dev>      (23.11 form) or
 *   lcore_dma0=lcore=10,dev=<dev>,dir=mem2mem   (24.03+ form, also dir=
 *       mem2dev|dev2mem with raddr=, coreid=, pfid=, vfid=),
 *   lcore=10, 11                                 (CPU_MEM_COPY),
 *   capture_vchan=<n>                            (DMA_CAPTURE).
 * [GLOBAL] (optional): eal_args, cache_flush, test_seconds. A case's own
 * cache_flush and test_seconds win over GLOBAL's; its eal_args come after
 * GLOBAL's (and both after the command line's EAL options).
 */
#ifndef XCAP_DMA_PERF_CONFIG_H
#define XCAP_DMA_PERF_CONFIG_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dmaperf {

enum class TestType { DmaMemCopy, CpuMemCopy, DmaCapture };
const char *type_name(TestType t);

enum class VarOp { None, Add, Mul };

/* A value that may vary over a case's scenarios. */
struct Var {
	uint64_t first = 0, last = 0, incr = 0;
	VarOp op = VarOp::None;
	bool is_variable() const { return op != VarOp::None; }
	/* first, then first+incr (ADD) or first*incr (MUL), up to last. */
	std::vector<uint64_t> values() const;
};

enum class Dir { MemToMem, MemToDev, DevToMem };
const char *dir_name(Dir d);

/* One worker: an lcore and, for DMA cases, its device and port settings. */
struct Worker {
	unsigned lcore = 0;
	std::string dev;  /* dmadev name (empty for CPU_MEM_COPY) */
	Dir dir = Dir::MemToMem;
	uint64_t raddr = 0;
	uint8_t coreid = 0;
	uint16_t pfid = 0, vfid = 0;
};

struct Case {
	unsigned id = 0;       /* 1-based, in file order (the CSV's "Case N") */
	std::string section;   /* its [name] */
	unsigned line = 0;     /* line of the [name] */
	bool skip = false;     /* skip=1: nothing else was validated */
	TestType type = TestType::DmaMemCopy;
	Var mem_size, buf_size, ring_size, kick_batch; /* MiB, bytes, descriptors, ops */
	int src_numa = -1, dst_numa = -1;   /* -1: the worker lcore's node */
	bool cache_flush = false;
	unsigned test_seconds = 2;
	std::string eal_args;
	unsigned src_sge = 0, dst_sge = 0;  /* 0: plain copies */
	int capture_vchan = -1;             /* DMA_CAPTURE: -1 = the device's last vchan */
	std::vector<Worker> workers;

	bool is_sg() const { return src_sge != 0; }
};

struct Config {
	std::string path;
	std::vector<Case> cases;
};

/* One point of a case's variable: the values a scenario runs with. */
struct Scenario {
	unsigned id = 0; /* 1-based within the case */
	uint64_t mem_size = 0, buf_size = 0, ring_size = 0, kick_batch = 0;
	/* buffers per worker (DPDK's "number of buffers"): mem_size MiB split
	 * into src+dst pairs (dst only for DMA_CAPTURE), then over the workers */
	uint64_t nr_buf = 0;
};

/* Limits the parser enforces (the device may be stricter: checked at run). */
inline constexpr uint64_t kMaxMemSizeMb = 65536;
inline constexpr uint64_t kMaxBufSize = 1u << 30;
inline constexpr uint64_t kMinRing = 2, kMaxRing = 32768;
inline constexpr unsigned kMaxTestSeconds = 86400;
inline constexpr unsigned kMaxSge = 256;
inline constexpr unsigned kMaxLcore = 1023;
inline constexpr size_t kMaxScenarios = 4096;

/* Parses text (the contents of file `path`, used in messages). Returns every
 * error found, each as "path:line: [section] key: what is wrong; allowed: ...";
 * empty means cfg is valid. */
std::vector<std::string> parse_config(std::string_view text, const std::string &path, Config &cfg);
/* Reads and parses a file; a read error is returned as the only error. */
std::vector<std::string> load_config(const std::string &path, Config &cfg);

/* The scenarios of a (valid, not skipped) case, in run order. */
std::vector<Scenario> expand(const Case &c);

/* EAL arguments split on blanks, as DPDK does. */
std::vector<std::string> split_args(std::string_view s);

/* Default result path of DPDK: the config's base name up to its first '.',
 * plus "_result.csv", in the current directory. */
std::string default_result_path(const std::string &config_path);

} // namespace dmaperf

#endif
