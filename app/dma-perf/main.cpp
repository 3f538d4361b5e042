/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-dma-perf: DPDK's dpdk-test-dma-perf, for any dmadev, with more.
 *
 *   xcap-dma-perf [EAL options] --config FILE [--result FILE] [--json FILE]
 *                 [--no-verify] [--dpdk-csv] [--seconds N] [--list-dma]
 *
 * Reads test-dma-perf's config.ini (23.11 and later), runs every case in a
 * process of its own with that case's EAL arguments (after the command
 * line's), and writes test-dma-perf's CSV with xcap's columns after DPDK's
 * (--dpdk-csv: DPDK's columns only). Exit status: 0 if every scenario ran and
 * its data verified, 1 if one failed, 2 for a bad command line or config.
 */
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "perf_config.h"
#include "perf_report.h"
#include "runner.h"

namespace {

constexpr const char *kProg = "xcap-dma-perf";

struct Cli {
	std::string config, result, json;
	bool verify = true, extras = true, list_dma = false, help = false;
	unsigned seconds = 0;
	std::vector<std::string> eal; /* everything else, for EAL */
};

void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [EAL options] --config FILE [options]\n"
		"  --config FILE   test-dma-perf config.ini (DPDK 23.11+ format; see config/)\n"
		"  --result FILE   CSV result file (default: <config base name>_result.csv here)\n"
		"  --json FILE     also write every result as JSON\n"
		"  --no-verify     do not compare destinations with sources after each scenario\n"
		"  --dpdk-csv      CSV with DPDK's columns only (default: xcap's columns after\n"
		"                  DPDK's: cpu cycles/op, latency p50/p99/p99.9 (ns), verify,\n"
		"                  records, lost no buffer, lost overrun)\n"
		"  --seconds N     override every case's test_seconds (1..86400)\n"
		"  --list-dma      list the dmadevs EAL finds with the given EAL options and exit\n"
		"  --help          this text\n"
		"Any other option goes to EAL, before each case's eal_args. Example:\n"
		"  %s --config config/xcap-side-by-side.ini --json out.json\n",
		kProg, kProg);
}

bool parse_cli(int argc, char **argv, Cli &cli, std::string &err)
{
	for (int i = 1; i < argc; i++) {
		const std::string a = argv[i];
		std::string val;
		/* "--name value" or "--name=value"; false if a is not --name */
		auto take = [&](const char *name) {
			const size_t n = strlen(name);
			if (a == name) {
				if (i + 1 >= argc) {
					err = std::string(name) + " needs a value";
					return true;
				}
				val = argv[++i];
				return true;
			}
			if (a.size() > n && a.compare(0, n, name) == 0 && a[n] == '=') {
				val = a.substr(n + 1);
				return true;
			}
			return false;
		};
		if (take("--config")) {
			cli.config = val;
		} else if (take("--result")) {
			cli.result = val;
		} else if (take("--json")) {
			cli.json = val;
		} else if (take("--seconds")) {
			char *end;
			const unsigned long v = strtoul(val.c_str(), &end, 10);
			if (err.empty() && (val.empty() || *end || v < 1 || v > 86400))
				err = "--seconds " + val + ": expected an integer in [1, 86400]";
			cli.seconds = unsigned(v);
		} else if (a == "--no-verify") {
			cli.verify = false;
		} else if (a == "--dpdk-csv") {
			cli.extras = false;
		} else if (a == "--list-dma") {
			cli.list_dma = true;
		} else if (a == "--help" || a == "-h") {
			cli.help = true;
		} else {
			cli.eal.push_back(a);
		}
		if (!err.empty())
			return false;
	}
	return true;
}

/* argv for rte_eal_init: program, command line EAL options, case eal_args. */
int eal_init(const Cli &cli, const std::string &case_args)
{
	std::vector<std::string> args{kProg};
	args.insert(args.end(), cli.eal.begin(), cli.eal.end());
	for (std::string &a : dmaperf::split_args(case_args))
		args.push_back(std::move(a));
	std::vector<char *> argv;
	for (std::string &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	std::string line;
	for (size_t i = 1; i < args.size(); i++)
		line += (i > 1 ? " " : "") + args[i];
	printf("EAL arguments: %s\n", line.c_str());
	fflush(stdout);
	return rte_eal_init(int(argv.size() - 1), argv.data());
}

/* One case in a child process; its rows are appended to rows_path. */
int run_child(const Cli &cli, const dmaperf::Case &c, const std::string &csv_path,
	      const std::string &rows_path)
{
	if (eal_init(cli, c.eal_args) < 0) {
		fprintf(stderr, "%s: [%s] eal_args: EAL initialisation failed (see above)\n", kProg,
			c.section.c_str());
		return 3;
	}
	FILE *f = fopen(csv_path.c_str(), "a");
	if (f == nullptr) {
		fprintf(stderr, "%s: %s: %s\n", kProg, csv_path.c_str(), strerror(errno));
		rte_eal_cleanup();
		return 1;
	}
	dmaperf::CsvWriter csv(f, cli.extras);
	csv.environment(double(rte_get_timer_hz()) / 1e9);
	dmaperf::RunOptions opt;
	opt.verify = cli.verify;
	opt.seconds_override = cli.seconds;
	std::vector<dmaperf::Result> rows;
	const int rc = dmaperf::run_case(c, opt, csv, rows);
	fclose(f);
	FILE *r = fopen(rows_path.c_str(), "a");
	if (r) {
		for (const auto &row : rows)
			fprintf(r, "%s\n", dmaperf::serialize(row).c_str());
		fclose(r);
	}
	rte_eal_cleanup();
	return rc;
}

} // namespace

int main(int argc, char **argv)
{
	Cli cli;
	std::string err;
	if (!parse_cli(argc, argv, cli, err)) {
		fprintf(stderr, "%s: error: %s\n\n", kProg, err.c_str());
		usage(stderr);
		return 2;
	}
	if (cli.help) {
		usage(stdout);
		return 0;
	}
	dmaperf::Config cfg;
	if (!cli.config.empty()) {
		const auto errors = dmaperf::load_config(cli.config, cfg);
		for (const auto &e : errors)
			fprintf(stderr, "%s: error: %s\n", kProg, e.c_str());
		if (!errors.empty())
			return 2;
	}
	if (cli.list_dma) {
		std::string args;
		for (const auto &c : cfg.cases)
			if (!c.skip) {
				args = c.eal_args;
				break;
			}
		if (eal_init(cli, args) < 0) {
			fprintf(stderr, "%s: EAL initialisation failed\n", kProg);
			return 1;
		}
		dmaperf::list_dmadevs();
		rte_eal_cleanup();
		return 0;
	}
	if (cli.config.empty()) {
		fprintf(stderr, "%s: error: no --config FILE\n\n", kProg);
		usage(stderr);
		return 2;
	}

	const std::string csv_path = cli.result.empty() ? dmaperf::default_result_path(cli.config)
							: cli.result;
	FILE *f = fopen(csv_path.c_str(), "w");
	if (f == nullptr) {
		fprintf(stderr, "%s: --result %s: %s\n", kProg, csv_path.c_str(), strerror(errno));
		return 2;
	}
	fclose(f);
	char rows_tmpl[] = "/tmp/xcap-dma-perf.XXXXXX";
	const int tfd = mkstemp(rows_tmpl);
	if (tfd < 0) {
		fprintf(stderr, "%s: cannot create a temporary file: %s\n", kProg, strerror(errno));
		return 1;
	}
	close(tfd);
	const std::string rows_path = rows_tmpl;

	int status = 0;
	for (const dmaperf::Case &c : cfg.cases) {
		if (c.skip) {
			printf("\n[%s] case %u: skipped (skip=1)\n", c.section.c_str(), c.id);
			FILE *cf = fopen(csv_path.c_str(), "a");
			if (cf) {
				dmaperf::CsvWriter(cf, cli.extras).skipped(c.id);
				fclose(cf);
			}
			continue;
		}
		printf("\n==== [%s] case %u: %s ====\n", c.section.c_str(), c.id,
		       dmaperf::type_name(c.type));
		fflush(stdout);
		fflush(stderr);
		const pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "%s: fork: %s\n", kProg, strerror(errno));
			return 1;
		}
		if (pid == 0) {
			const int rc = run_child(cli, c, csv_path, rows_path);
			fflush(stdout);
			fflush(stderr);
			_exit(rc);
		}
		int ws = 0;
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
		std::string why;
		if (WIFSIGNALED(ws))
			why = "its process was killed by signal " + std::to_string(WTERMSIG(ws)) +
			      " (" + strsignal(WTERMSIG(ws)) + ")";
		else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 3)
			why = "EAL initialisation failed with eal_args '" + c.eal_args + "'";
		else if (WIFEXITED(ws) && WEXITSTATUS(ws) != 0)
			status = 1;
		if (!why.empty()) {
			status = 1;
			fprintf(stderr, "%s: [%s] case %u failed: %s\n", kProg, c.section.c_str(), c.id,
				why.c_str());
			FILE *cf = fopen(csv_path.c_str(), "a");
			if (cf) {
				dmaperf::CsvWriter(cf, cli.extras).invalid(c.id, why);
				fclose(cf);
			}
		}
	}

	std::vector<dmaperf::Result> rows;
	{
		std::ifstream in(rows_path);
		std::string line;
		while (std::getline(in, line))
			if (auto r = dmaperf::deserialize(line))
				rows.push_back(*r);
	}
	unlink(rows_path.c_str());

	printf("\n==== %s results ====\n%s", kProg, dmaperf::summary_table(rows).c_str());
	const std::string ratios = dmaperf::ratio_table(rows);
	if (!ratios.empty())
		printf("\n%s", ratios.c_str());
	printf("\nCSV: %s\n", csv_path.c_str());
	if (!cli.json.empty()) {
		FILE *j = fopen(cli.json.c_str(), "w");
		if (j == nullptr) {
			fprintf(stderr, "%s: --json %s: %s\n", kProg, cli.json.c_str(), strerror(errno));
			return 1;
		}
		fputs(dmaperf::to_json(rows, cli.config).c_str(), j);
		fclose(j);
		printf("JSON: %s\n", cli.json.c_str());
	}
	return status;
}
