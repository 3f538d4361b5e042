/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-dma-perf: runs one test case in an initialised EAL (one process per
 * case, as DPDK's dpdk-test-dma-perf does, since each case has its own EAL
 * arguments).
 */
#ifndef XCAP_DMA_PERF_RUNNER_H
#define XCAP_DMA_PERF_RUNNER_H

#include <string>
#include <vector>

#include "perf_config.h"
#include "perf_report.h"

namespace dmaperf {

struct RunOptions {
	bool verify = true;
	unsigned seconds_override = 0; /* 0: the config's test_seconds */
	double warmup_seconds = 0.1;
};

/* Runs every scenario of c, writing CSV rows through csv and appending every
 * row to rows. Returns 0 if every scenario ran and verified, 1 otherwise. */
int run_case(const Case &c, const RunOptions &opt, CsvWriter &csv, std::vector<Result> &rows);

/* Prints the dmadevs EAL found (--list-dma). */
void list_dmadevs();

} // namespace dmaperf

#endif
