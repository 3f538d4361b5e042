/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The devargs of a slower, smaller emulated card (HW §7.3, §5.2) and of the
 * model's contract checking, parsed without EAL (xcap_devargs.cpp is plain
 * C++). The PMD tests (test/pmd/test_config.cpp) cover the rest of the keys
 * through the vdev.
 */
#include <string>

#include <gtest/gtest.h>

#include "xcap_devargs.h"

using xcap::Devargs;
using xcap::DevargsTarget;
using xcap::parse_devargs;

namespace {

Devargs ok(const std::string &args)
{
	Devargs d;
	std::string err;
	EXPECT_TRUE(parse_devargs(args, DevargsTarget::Emu, d, err)) << args << ": " << err;
	return d;
}

std::string error(const std::string &args, DevargsTarget t = DevargsTarget::Emu)
{
	Devargs d;
	std::string err;
	EXPECT_FALSE(parse_devargs(args, t, d, err)) << args;
	return err;
}

} // namespace

TEST(Devargs, SlowCardDefaults)
{
	const Devargs d = ok("");
	EXPECT_EQ(d.card.ready_delay_ms, 0u);
	EXPECT_EQ(d.card.quiesce_ms, 0u);
	EXPECT_EQ(d.card.caps_ops, xcap::hw::kOpsSupported);
	EXPECT_TRUE(d.card.strict);
}

TEST(Devargs, SlowCardKeys)
{
	const Devargs d = ok("ready_delay_ms=250,quiesce_ms=150,caps_ops=0x13,strict=0");
	EXPECT_EQ(d.card.ready_delay_ms, 250u);
	EXPECT_EQ(d.card.quiesce_ms, 150u);
	EXPECT_EQ(d.card.caps_ops, 0x13u);
	EXPECT_FALSE(d.card.strict);
	EXPECT_EQ(ok("caps_ops=3").card.caps_ops, 3u);      /* decimal */
	EXPECT_EQ(ok("caps_ops=0").card.caps_ops, 0u);
	EXPECT_EQ(ok("caps_ops=0x1f").card.caps_ops, 0x1fu);
	EXPECT_EQ(ok("ready_delay_ms=60000").card.ready_delay_ms, 60000u);
	EXPECT_TRUE(ok("strict=1").card.strict);
	EXPECT_EQ(ok("max_sge=128").card.max_sge, 128u);
}

TEST(Devargs, SlowCardErrorsNameKeyValueAndRange)
{
	EXPECT_EQ(error("ready_delay_ms=60001"), "devarg ready_delay_ms=60001: expected an integer in [0, 60000]");
	EXPECT_EQ(error("quiesce_ms=-1"), "devarg quiesce_ms=-1: expected an integer in [0, 60000]");
	const std::string caps = error("caps_ops=0x20");
	EXPECT_EQ(caps.rfind("devarg caps_ops=0x20: expected a mask of opcodes", 0), 0u) << caps;
	EXPECT_NE(caps.find("subset of 0x1f"), std::string::npos);
	EXPECT_NE(error("caps_ops=fill").find("devarg caps_ops=fill:"), std::string::npos);
	EXPECT_EQ(error("strict=yes"), "devarg strict=yes: expected 0 or 1");
	EXPECT_EQ(error("max_sge=129"), "devarg max_sge=129: expected an integer in [1, 128]");
	/* card keys are the emulated card's only */
	EXPECT_NE(error("strict=0", DevargsTarget::Pci).find("unknown key for an xcap PCI card"),
		  std::string::npos);
}

TEST(Devargs, HelpListsTheNewKeys)
{
	const std::string help = xcap::devargs_help(DevargsTarget::Emu);
	for (const char *k : {"caps_ops=", "ready_delay_ms=<0..60000>", "quiesce_ms=<0..60000>", "strict=<0|1>",
			      "max_sge=<1..128>"})
		EXPECT_NE(help.find(k), std::string::npos) << k;
	EXPECT_EQ(std::string(xcap::devargs_help(DevargsTarget::Pci)).find("strict"), std::string::npos);
}

/* What the parser accepts the model accepts. */
TEST(Devargs, ModelTakesWhatTheParserAccepts)
{
	const Devargs d = ok("copy_channels=2,capture_channels=0,ready_delay_ms=1,quiesce_ms=2,caps_ops=0x7,strict=0");
	xcap::model::Iommu io;
	std::vector<uint8_t> bar(xcap::hw::kBar0Size + 8);
	void *p = reinterpret_cast<void *>((reinterpret_cast<uintptr_t>(bar.data()) + 7) & ~uintptr_t(7));
	xcap::model::Card card(d.card, p, io);
	EXPECT_EQ(card.mmio_read32(xcap::hw::reg::kCaps1), 0x7u);
}
