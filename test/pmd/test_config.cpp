/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * dev_info, configuration checks and devargs of the emulated card.
 */
#include <cerrno>

#include <rte_memzone.h>

#include "pmd_test.h"
#include "xcap_dpdk_compat.h"

namespace xcap::test {
namespace {

constexpr uint64_t kBaseCapa = RTE_DMA_CAPA_MEM_TO_MEM | RTE_DMA_CAPA_OPS_COPY |
	RTE_DMA_CAPA_OPS_COPY_SG | RTE_DMA_CAPA_OPS_FILL | RTE_DMA_CAPA_HANDLES_ERRORS
#if XCAP_DPDK_HAS_DMA_OPS
	| RTE_DMA_CAPA_OPS_ENQ_DEQ /* every card with a copy channel (test_ops.cpp) */
#endif
#if XCAP_DPDK_HAS_DMA_PRIORITY
	| RTE_DMA_CAPA_PRI_POLICY_SP /* the model's 4 priority levels (test_priority.cpp) */
#endif
	;

using DevInfo = PmdTest;

TEST_F(DevInfo, CopyOnlyCard)
{
	const int16_t dev = create("copy_channels=3,capture_channels=0,max_ring=512,max_sge=7");
	ASSERT_GE(dev, 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	EXPECT_EQ(info.dev_capa, kBaseCapa) << std::hex << info.dev_capa;
	EXPECT_EQ(info.dev_capa & RTE_DMA_CAPA_DEV_TO_MEM, 0u);
	EXPECT_EQ(info.max_vchans, 3);
	EXPECT_EQ(info.max_desc, 512);
	EXPECT_EQ(info.min_desc, 2);
	EXPECT_EQ(info.max_sges, 7);
	EXPECT_EQ(info.nb_vchans, 0);
	EXPECT_EQ(info.numa_node, int(rte_socket_id()));
	EXPECT_NE(info.dev_name, nullptr);
}

TEST_F(DevInfo, CaptureCardAndDefaults)
{
	/* Defaults: 1 copy + 1 capture channel, 4096 ring entries, 16 SGEs. */
	const int16_t dev = create("");
	ASSERT_GE(dev, 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	EXPECT_EQ(info.dev_capa, kBaseCapa | RTE_DMA_CAPA_DEV_TO_MEM) << std::hex << info.dev_capa;
	EXPECT_EQ(info.max_vchans, 2);
	EXPECT_EQ(info.max_desc, 4096);
	EXPECT_EQ(info.max_sges, 16);

	const int16_t dev2 = create("copy_channels=2,capture_channels=3,max_ring=32768");
	ASSERT_GE(dev2, 0);
	ASSERT_EQ(rte_dma_info_get(dev2, &info), 0);
	EXPECT_TRUE(info.dev_capa & RTE_DMA_CAPA_DEV_TO_MEM);
	EXPECT_EQ(info.max_vchans, 5);
	EXPECT_EQ(info.max_desc, 32768);

	const int16_t dev3 = create("copy_channels=0,capture_channels=1,max_ring=2");
	ASSERT_GE(dev3, 0);
	ASSERT_EQ(rte_dma_info_get(dev3, &info), 0);
	EXPECT_TRUE(info.dev_capa & RTE_DMA_CAPA_DEV_TO_MEM);
	EXPECT_EQ(info.max_vchans, 1);
	EXPECT_EQ(info.max_desc, 2);
}

TEST_F(DevInfo, NumaNodeFromDevarg)
{
	const int16_t dev = create("numa=0");
	ASSERT_GE(dev, 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	EXPECT_EQ(info.numa_node, 0);

	/* A node EAL has no memory on is still reported (with a warning), and
	 * the rings fall back to another node. */
	const int16_t dev2 = create("numa=5,capture_channels=0");
	ASSERT_GE(dev2, 0);
	ASSERT_EQ(rte_dma_info_get(dev2, &info), 0);
	EXPECT_EQ(info.numa_node, 5);
	ASSERT_TRUE(configure(dev2, 1, 64));
	ASSERT_EQ(rte_dma_start(dev2), 0);
	const std::string mzname = "xcap" + std::to_string(dev2) + "_vc0";
	const rte_memzone *mz = rte_memzone_lookup(mzname.c_str());
	ASSERT_NE(mz, nullptr) << mzname;
	EXPECT_NE(mz->socket_id, 5);
}

using Config = PmdTest;

TEST_F(Config, NbDescMustBePowerOfTwoInRange)
{
	const int16_t dev = create("capture_channels=0,max_ring=1024");
	ASSERT_GE(dev, 0);
	rte_dma_conf conf{};
	conf.nb_vchans = 1;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	for (uint16_t bad : {3, 100, 1000, 1023, 1})
		EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(bad))), -EINVAL) << bad;
	/* Above max_desc (the max_ring devarg) and below min_desc. */
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(2048))), -EINVAL);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(0))), -EINVAL);
	/* The bounds themselves are accepted. */
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(2))), 0);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(1024))), 0);
	EXPECT_EQ(rte_dma_start(dev), 0);
	EXPECT_EQ(rte_dma_burst_capacity(dev, 0), 1024);
}

TEST_F(Config, DirectionMustMatchChannelKind)
{
	/* vchan 0 copy, vchan 1 capture. */
	const int16_t dev = create("copy_channels=1,capture_channels=1");
	ASSERT_GE(dev, 0);
	rte_dma_conf conf{};
	conf.nb_vchans = 2;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(dev_to_mem(64))), -EINVAL);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 1, ptr(mem_to_mem(64))), -EINVAL);
	/* DEV_TO_MEM needs a device port; MEM_TO_MEM must not have one. */
	rte_dma_vchan_conf noport = dev_to_mem(64);
	noport.src_port.port_type = RTE_DMA_PORT_NONE;
	EXPECT_EQ(rte_dma_vchan_setup(dev, 1, &noport), -EINVAL);
	/* Directions the card has no capability for. */
	rte_dma_vchan_conf m2d = mem_to_mem(64);
	m2d.direction = RTE_DMA_DIR_MEM_TO_DEV;
	m2d.dst_port.port_type = RTE_DMA_PORT_PCIE;
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, &m2d), -EINVAL);
	/* The right ones work. */
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(64))), 0);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 1, ptr(dev_to_mem(64))), 0);
	EXPECT_EQ(rte_dma_start(dev), 0);

	/* A card without capture channels has no DEV_TO_MEM at all. */
	const int16_t dev2 = create("copy_channels=2,capture_channels=0");
	ASSERT_GE(dev2, 0);
	ASSERT_EQ(rte_dma_configure(dev2, &conf), 0);
	EXPECT_EQ(rte_dma_vchan_setup(dev2, 1, ptr(dev_to_mem(64))), -EINVAL);
}

TEST_F(Config, VchanCountAndSetupOrder)
{
	const int16_t dev = create("copy_channels=2,capture_channels=1");
	ASSERT_GE(dev, 0);
	rte_dma_conf conf{};
	/* Setup before configure, start before configure. */
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(64))), -EINVAL);
	EXPECT_EQ(rte_dma_start(dev), -EINVAL);
	conf.nb_vchans = 4; /* > max_vchans (3) */
	EXPECT_EQ(rte_dma_configure(dev, &conf), -EINVAL);
	conf.nb_vchans = 0;
	EXPECT_EQ(rte_dma_configure(dev, &conf), -EINVAL);
	conf.nb_vchans = 2;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	/* vchan beyond nb_vchans. */
	EXPECT_EQ(rte_dma_vchan_setup(dev, 2, ptr(dev_to_mem(64))), -EINVAL);
	/* Start with vchan 1 never set up. */
	ASSERT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(64))), 0);
	EXPECT_EQ(rte_dma_start(dev), -EINVAL);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 1, ptr(mem_to_mem(64))), 0);
	EXPECT_EQ(rte_dma_start(dev), 0);
	/* Reconfiguration of a started device is refused. */
	EXPECT_EQ(rte_dma_configure(dev, &conf), -EBUSY);
	EXPECT_EQ(rte_dma_vchan_setup(dev, 0, ptr(mem_to_mem(64))), -EBUSY);
	ASSERT_EQ(rte_dma_stop(dev), 0);
	/* Shrinking to one vchan, then growing back needs vchan 1 set up again. */
	conf.nb_vchans = 1;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	EXPECT_EQ(rte_dma_start(dev), 0);
	ASSERT_EQ(rte_dma_stop(dev), 0);
	conf.nb_vchans = 2;
	ASSERT_EQ(rte_dma_configure(dev, &conf), 0);
	EXPECT_EQ(rte_dma_start(dev), -EINVAL);
	ASSERT_EQ(rte_dma_vchan_setup(dev, 1, ptr(mem_to_mem(64))), 0);
	EXPECT_EQ(rte_dma_start(dev), 0);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	EXPECT_EQ(info.nb_vchans, 2);
}

using Devargs = PmdTest;

TEST_F(Devargs, BadDevargsFailProbe)
{
	const char *const bad[] = {
		"bogus=1",                             /* unknown key */
		"copy_channels=33",                    /* out of range */
		"max_ring=65536",                      /* out of range */
		"max_ring=1",                          /* out of range */
		"max_ring=1000",                       /* not a power of two */
		"max_sge=0",                           /* out of range */
		"max_sge=129",                         /* out of range */
		"addr_width=31",                       /* out of range */
		"max_xfer=255",                        /* out of range */
		"max_sge=4,max_sge=8",                 /* duplicate key */
		"max_sge=4,,null=0",                   /* empty item */
		"max_sge=4,",                          /* trailing comma */
		"max_sge",                             /* not key=value */
		"=4",                                  /* no key */
		"max_sge=-1",                          /* sign */
		"max_sge=4x",                          /* trailing text */
		"null=2",                              /* not a bool */
		"halt_on_error=yes",                   /* not a bool */
		"cap_rate=fast",                       /* bad rate */
		"cap_rate=0pps",                       /* zero rate */
		"cap_rate=-1Mpps",                     /* negative rate */
		"cap_rate=2000Mpps",                   /* too high */
		"cap_frame=8",                         /* below 16 */
		"cap_frame=20000",                     /* above 16384 */
		"cap_frame=200-100",                   /* min > max */
		"cap_frame=big",                       /* not a size */
		"cap_fifo=0",                          /* out of range */
		"fail_nth=0",                          /* out of range */
		"fail_status=0",                       /* success is no failure */
		"fail_status=oops",                    /* unknown status */
		"copy_channels=0,capture_channels=0",  /* no channel at all */
		"capture_channels=33",                 /* out of range */
		"numa=100",                            /* beyond RTE_MAX_NUMA_NODES */
		"lcore=1000",                          /* no such lcore */
	};
	for (const char *args : bad)
		EXPECT_EQ(create_fail(args), -EINVAL) << "devargs \"" << args << "\"";
}

TEST_F(Devargs, GoodDevargsAreApplied)
{
	const int16_t dev = create("copy_channels=2,capture_channels=1,max_ring=1024,max_sge=8,"
				   "max_xfer=0x10000,addr_width=64,null=0,halt_on_error=1,"
				   "cap_rate=14.88Mpps,cap_frame=64-1518,cap_count=10,cap_fifo=128,"
				   "fail_status=page_fault,numa=0");
	ASSERT_GE(dev, 0);
	model::Card *c = card(dev);
	ASSERT_NE(c, nullptr);
	const model::CardConfig &cfg = c->config();
	EXPECT_EQ(cfg.copy_channels, 2u);
	EXPECT_EQ(cfg.capture_channels, 1u);
	EXPECT_EQ(cfg.max_ring_log2, 10u);
	EXPECT_EQ(cfg.max_sge, 8u);
	EXPECT_EQ(cfg.max_xfer_len, 0x10000u);
	EXPECT_EQ(cfg.addr_width, 64u);
	EXPECT_FALSE(cfg.null_engine);
	ASSERT_EQ(cfg.capture.size(), 1u);
	EXPECT_DOUBLE_EQ(cfg.capture[0].rate_pps, 14.88e6);
	EXPECT_EQ(cfg.capture[0].size_mode, model::FrameSizeMode::Range);
	EXPECT_EQ(cfg.capture[0].frame_min, 64u);
	EXPECT_EQ(cfg.capture[0].frame_max, 1518u);
	EXPECT_EQ(cfg.capture[0].count, 10u);
	EXPECT_EQ(cfg.capture[0].fifo_frames, 128u);
	rte_dma_info info{};
	ASSERT_EQ(rte_dma_info_get(dev, &info), 0);
	EXPECT_EQ(info.max_vchans, 3);
	EXPECT_EQ(info.max_desc, 1024);
	EXPECT_EQ(info.max_sges, 8);
	/* halt_on_error reaches the driver. */
	EXPECT_NE(dump(dev).find("halt_on_error=1"), std::string::npos);

	/* Other spellings of the same kinds of value. */
	for (const char *args : {"cap_rate=10G", "cap_rate=500kpps", "cap_rate=max",
				 "cap_frame=imix", "null=true,halt_on_error=off", "fail_status=10",
				 "fail_status=255", "fail_every=3", "cap_count=0"})
		EXPECT_GE(create(args), 0) << args;
}

/* A device name taken twice is refused (the dmadev name is the vdev name). */
TEST_F(Devargs, DuplicateNameRefused)
{
	std::string name;
	ASSERT_GE(create("", &name), 0);
	EXPECT_NE(rte_vdev_init(name.c_str(), ""), 0);
}

} // namespace
} // namespace xcap::test
