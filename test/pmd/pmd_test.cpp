/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 */
#include "pmd_test.h"

#include <atomic>
#include <cstdlib>
#include <thread>

#include <unistd.h>

#include <rte_pause.h>

namespace xcap::test {

void relax(unsigned spins)
{
	if (spins < 64)
		rte_pause();
	else
		std::this_thread::sleep_for(20us);
}

std::string status_name(int st)
{
	static const char *const names[] = {
		"SUCCESSFUL", "USER_ABORT", "NOT_ATTEMPTED", "INVALID_SRC_ADDR",
		"INVALID_DST_ADDR", "INVALID_ADDR", "INVALID_LENGTH", "INVALID_OPCODE",
		"BUS_READ_ERROR", "BUS_WRITE_ERROR", "BUS_ERROR", "DATA_POISON",
		"DESCRIPTOR_READ_ERROR", "DEV_LINK_ERROR", "PAGE_FAULT",
	};
	if (st >= 0 && st < int(sizeof(names) / sizeof(names[0])))
		return names[st];
	if (st == RTE_DMA_STATUS_ERROR_UNKNOWN)
		return "ERROR_UNKNOWN";
	return "status " + std::to_string(st);
}

rte_dma_vchan_conf mem_to_mem(uint16_t nb_desc)
{
	rte_dma_vchan_conf c{};
	c.direction = RTE_DMA_DIR_MEM_TO_MEM;
	c.nb_desc = nb_desc;
	return c;
}

rte_dma_vchan_conf dev_to_mem(uint16_t nb_desc)
{
	rte_dma_vchan_conf c{};
	c.direction = RTE_DMA_DIR_DEV_TO_MEM;
	c.nb_desc = nb_desc;
	c.src_port.port_type = RTE_DMA_PORT_PCIE;
	return c;
}

std::string PmdTest::unique_name()
{
	static std::atomic<unsigned> counter{0};
	return "dma_xcap_emu" + std::to_string(100 + counter++);
}

int16_t PmdTest::create(const std::string &args, std::string *name_out)
{
	const std::string name = unique_name();
	const int ret = rte_vdev_init(name.c_str(), args.c_str());
	EXPECT_EQ(ret, 0) << "rte_vdev_init(" << name << ", \"" << args << "\")";
	if (ret != 0)
		return -1;
	const int id = rte_dma_get_dev_id_by_name(name.c_str());
	EXPECT_GE(id, 0) << name << " probed but has no dmadev";
	if (id < 0) {
		rte_vdev_uninit(name.c_str());
		return -1;
	}
	devs_.push_back({name, int16_t(id)});
	if (name_out)
		*name_out = name;
	return int16_t(id);
}

void PmdTest::expect_completed_blocked(int16_t dev, uint16_t vchan)
{
	uint16_t last = 0;
	bool err = false;
	EXPECT_EQ(rte_dma_completed(dev, vchan, 8, &last, &err), 0);
	EXPECT_TRUE(err);
	EXPECT_EQ(last, 0xffff);
	rte_dma_status_code st[8];
	EXPECT_EQ(rte_dma_completed_status(dev, vchan, 8, &last, st), 0);
}

int PmdTest::create_fail(const std::string &args)
{
	const std::string name = unique_name();
	const int ret = rte_vdev_init(name.c_str(), args.c_str());
	if (ret == 0) {
		ADD_FAILURE() << "rte_vdev_init(" << name << ", \"" << args << "\") succeeded";
		rte_vdev_uninit(name.c_str());
		return 0;
	}
	EXPECT_LT(rte_dma_get_dev_id_by_name(name.c_str()), 0)
		<< "a failed probe left dmadev " << name << " behind";
	/* A failed init must not leave the vdev on the bus either. */
	EXPECT_NE(rte_vdev_uninit(name.c_str()), 0);
	return ret;
}

void PmdTest::expect_violations(int16_t dev, uint64_t n)
{
	for (Made &m : devs_)
		if (m.id == dev)
			m.violations = n;
}

void PmdTest::check_violations(const Made &m)
{
	if (const model::Card *c = card(m.id))
		EXPECT_EQ(c->contract_violations(), m.violations)
			<< m.name << ": the driver broke the hardware contract (see the "
			<< "'contract violation' lines above, docs/model.md)";
}

int PmdTest::destroy(int16_t dev)
{
	for (auto it = devs_.begin(); it != devs_.end(); ++it)
		if (it->id == dev) {
			check_violations(*it);
			const std::string name = it->name;
			devs_.erase(it);
			return rte_vdev_uninit(name.c_str());
		}
	ADD_FAILURE() << "destroy(" << dev << "): not created by this test";
	return -1;
}

void PmdTest::TearDown()
{
	while (!devs_.empty()) {
		const Made m = devs_.back();
		devs_.pop_back();
		check_violations(m);
		EXPECT_EQ(rte_vdev_uninit(m.name.c_str()), 0) << "rte_vdev_uninit(" << m.name << ")";
		EXPECT_LT(rte_dma_get_dev_id_by_name(m.name.c_str()), 0);
	}
	for (void *p : bufs_)
		rte_free(p);
	bufs_.clear();
}

::testing::AssertionResult PmdTest::configure(int16_t dev, uint16_t nb_vchans, uint16_t nb_desc,
					      uint16_t n_copy)
{
	if (n_copy == UINT16_MAX) {
		model::Card *c = card(dev);
		if (c == nullptr)
			return ::testing::AssertionFailure() << "no emulated card behind " << dev;
		n_copy = uint16_t(c->config().copy_channels);
	}
	rte_dma_conf conf{};
	conf.nb_vchans = nb_vchans;
	int ret = rte_dma_configure(dev, &conf);
	if (ret != 0)
		return ::testing::AssertionFailure() << "rte_dma_configure: " << ret;
	for (uint16_t v = 0; v < nb_vchans; v++) {
		const rte_dma_vchan_conf vc = v < n_copy ? mem_to_mem(nb_desc) : dev_to_mem(nb_desc);
		ret = rte_dma_vchan_setup(dev, v, &vc);
		if (ret != 0)
			return ::testing::AssertionFailure() << "rte_dma_vchan_setup(" << v << "): " << ret;
	}
	return ::testing::AssertionSuccess();
}

int16_t PmdTest::start_card(const std::string &args, uint16_t nb_vchans, uint16_t nb_desc,
			    uint16_t n_copy)
{
	const int16_t dev = create(args);
	if (dev < 0)
		return -1;
	auto ok = configure(dev, nb_vchans, nb_desc, n_copy);
	EXPECT_TRUE(ok);
	if (!ok)
		return -1;
	const int ret = rte_dma_start(dev);
	EXPECT_EQ(ret, 0) << "rte_dma_start";
	return ret == 0 ? dev : -1;
}

uint8_t *PmdTest::alloc(size_t len, unsigned align)
{
	void *p = rte_zmalloc("xcap-pmd-test", len, align);
	EXPECT_NE(p, nullptr) << "rte_zmalloc(" << len << ")";
	if (p)
		bufs_.push_back(p);
	return static_cast<uint8_t *>(p);
}

rte_iova_t PmdTest::iova(const void *p)
{
	/* Any address inside DPDK memory (rte_malloc_virt2iova() only takes
	 * the start of an allocation). */
	const rte_iova_t i = rte_mem_virt2iova(p);
	EXPECT_NE(i, RTE_BAD_IOVA);
	return i;
}

Drained PmdTest::drain(int16_t dev, uint16_t vchan, uint16_t n, uint16_t first_id)
{
	Drained d;
	const bool ok = poll_until([&] {
		uint16_t last = 0xdead;
		bool err = false;
		const uint16_t got = rte_dma_completed(dev, vchan, uint16_t(n - d.count), &last, &err);
		if (got > 0) {
			EXPECT_EQ(last, uint16_t(first_id + d.count + got - 1))
				<< "last_idx after " << d.count << " + " << got << " completions";
			d.last_idx = last;
			d.count = uint16_t(d.count + got);
		}
		if (err)
			d.has_error = true;
		return d.has_error || d.count == n;
	});
	d.timed_out = !ok;
	return d;
}

std::vector<rte_dma_status_code> PmdTest::drain_status(int16_t dev, uint16_t vchan, uint16_t n,
						       uint16_t *last_idx)
{
	std::vector<rte_dma_status_code> all;
	std::vector<rte_dma_status_code> st(n);
	poll_until([&] {
		uint16_t last = 0;
		const uint16_t got = rte_dma_completed_status(dev, vchan, uint16_t(n - all.size()),
							      &last, st.data());
		all.insert(all.end(), st.begin(), st.begin() + got);
		if (got > 0 && last_idx)
			*last_idx = last;
		return all.size() == n;
	});
	EXPECT_EQ(all.size(), n) << "completed_status: timed out";
	return all;
}

model::Card *PmdTest::card(int16_t dev)
{
	model::Card *c = xcap::emu_card(dev);
	EXPECT_NE(c, nullptr) << "dmadev " << dev << " is not an emulated xcap card";
	return c;
}

::testing::AssertionResult PmdTest::stall(model::Card *c, unsigned ch)
{
	if (c == nullptr)
		return ::testing::AssertionFailure() << "no card";
	c->set_stall(ch, true);
	const volatile uint8_t *bar = c->bar0();
	const uint32_t off = hw::chan_reg(ch, hw::reg::ch::kStatus);
	const bool ok = poll_until([&] {
		const uint32_t st = *reinterpret_cast<const volatile uint32_t *>(bar + off);
		return (st & hw::chstatus::kBusy) != 0;
	});
	if (!ok)
		return ::testing::AssertionFailure() << "channel " << ch << " never showed the stall";
	return ::testing::AssertionSuccess();
}

std::string PmdTest::dump(int16_t dev)
{
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == nullptr)
		return {};
	const int ret = rte_dma_dump(dev, f);
	fclose(f);
	std::string s(buf ? buf : "", len);
	free(buf);
	EXPECT_EQ(ret, 0) << "rte_dma_dump";
	return s;
}

} // namespace xcap::test
