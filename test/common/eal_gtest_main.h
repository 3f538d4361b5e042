/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * main() of the GoogleTest suites that need EAL: EAL comes up once for the
 * whole suite (a ::testing::Environment) with
 *   -l 0-1 --in-memory --iova-mode=va --no-pci --file-prefix <name>-<pid>
 * plus the suite's own arguments, and goes down after the last test.
 * Extra EAL arguments go after "--" on the command line, e.g.
 *   xcap-pmd-test --gtest_filter='Copy*' -- --log-level=pmd.dma.xcap:debug
 */
#ifndef XCAP_TEST_EAL_GTEST_MAIN_H
#define XCAP_TEST_EAL_GTEST_MAIN_H

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

namespace xcap::test {

class EalEnvironment : public ::testing::Environment {
public:
	EalEnvironment(std::string name, std::vector<std::string> args)
		: name_(std::move(name)), extra_(std::move(args))
	{
	}

	void SetUp() override
	{
		args_ = {name_, "-l", "0-1", "--in-memory", "--iova-mode=va", "--no-pci",
			 "--file-prefix", name_ + "-" + std::to_string(getpid())};
		args_.insert(args_.end(), extra_.begin(), extra_.end());
		std::vector<char *> argv;
		for (auto &a : args_)
			argv.push_back(a.data());
		argv.push_back(nullptr);
		const int ret = rte_eal_init(int(argv.size() - 1), argv.data());
		ASSERT_GE(ret, 0) << "rte_eal_init: " << rte_strerror(rte_errno)
				  << " (hugepages reserved? grep HugePages_Total /proc/meminfo)";
		up_ = true;
		ASSERT_EQ(rte_eal_iova_mode(), RTE_IOVA_VA) << "the suite assumes IOVA == VA";
		ASSERT_GE(rte_lcore_count(), 2u) << "the suite needs lcores 0 and 1";
	}

	void TearDown() override
	{
		if (up_) {
			EXPECT_EQ(rte_eal_cleanup(), 0);
		}
		up_ = false;
	}

private:
	std::string name_;
	std::vector<std::string> extra_, args_;
	bool up_ = false;
};

/* The suite's main(): suite_args are EAL arguments of its own (log levels,
 * --vdev), command-line arguments after "--" are appended. */
inline int eal_gtest_main(int argc, char **argv, const char *name,
			  std::vector<std::string> suite_args)
{
	::testing::InitGoogleTest(&argc, argv);
	bool after = false;
	for (int i = 1; i < argc; i++) {
		if (after)
			suite_args.emplace_back(argv[i]);
		else if (std::strcmp(argv[i], "--") == 0)
			after = true;
	}
	::testing::AddGlobalTestEnvironment(new EalEnvironment(name, std::move(suite_args)));
	return RUN_ALL_TESTS();
}

} // namespace xcap::test

#endif /* XCAP_TEST_EAL_GTEST_MAIN_H */
