/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * main() of xcap-capture-test: EAL comes up once for the whole suite
 * (--in-memory --iova-mode=va --no-pci -l 0-1) and goes down after the last
 * test. Cards and streams are created by the tests.
 *
 * Extra EAL arguments go after "--":
 *   xcap-capture-test --gtest_filter='Recycle*' -- --log-level=xcap:debug
 */
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

namespace {

class EalEnvironment : public ::testing::Environment {
public:
	explicit EalEnvironment(std::vector<std::string> extra) : extra_(std::move(extra)) {}

	void SetUp() override
	{
		args_ = {"xcap-capture-test", "-l", "0-1", "--in-memory", "--iova-mode=va",
			 "--no-pci", "--file-prefix", "xcap-capture-" + std::to_string(getpid()),
			 "--log-level=xcap:warning"};
		args_.insert(args_.end(), extra_.begin(), extra_.end());
		std::vector<char *> argv;
		for (auto &a : args_)
			argv.push_back(a.data());
		argv.push_back(nullptr);
		const int ret = rte_eal_init(int(argv.size() - 1), argv.data());
		ASSERT_GE(ret, 0) << "rte_eal_init: " << rte_strerror(rte_errno)
				  << " (hugepages reserved? grep HugePages_Total /proc/meminfo)";
		ASSERT_EQ(rte_eal_iova_mode(), RTE_IOVA_VA) << "the suite assumes IOVA == VA";
		ASSERT_GE(rte_lcore_count(), 2u) << "the suite needs lcores 0 and 1";
		up_ = true;
	}

	void TearDown() override
	{
		if (up_) {
			EXPECT_EQ(rte_eal_cleanup(), 0);
		}
		up_ = false;
	}

private:
	std::vector<std::string> extra_, args_;
	bool up_ = false;
};

} // namespace

int main(int argc, char **argv)
{
	::testing::InitGoogleTest(&argc, argv);
	std::vector<std::string> extra;
	bool after = false;
	for (int i = 1; i < argc; i++) {
		if (after)
			extra.emplace_back(argv[i]);
		else if (std::strcmp(argv[i], "--") == 0)
			after = true;
	}
	::testing::AddGlobalTestEnvironment(new EalEnvironment(std::move(extra)));
	return RUN_ALL_TESTS();
}
