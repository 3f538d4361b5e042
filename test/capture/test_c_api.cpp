/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The C API, driven from C (c_api_user.c).
 */
#include "capture_test.h"

extern "C" {
struct c_result {
	uint64_t records, mbufs, bad_payload, accounted, delivered, cpu_copies;
	int drained;
};
int xcap_c_api_run(int16_t dev, uint16_t vchan, uint64_t frames, struct c_result *r, char *msg,
		   size_t msg_len);
int xcap_c_api_refs(int16_t dev, uint16_t vchan, uint64_t frames, char *msg, size_t msg_len);
int xcap_c_api_detached(int16_t dev, uint16_t vchan, uint64_t frames, char *msg, size_t msg_len);
}

namespace xcap::test {
namespace {

class CApi : public CaptureTest {};

TEST_F(CApi, RecordsThenMbufsFromC)
{
	const int16_t dev = make_card("copy_channels=1,capture_channels=1,cap_rate=max,"
				      "cap_frame=64-300,cap_count=20000");
	ASSERT_GE(dev, 0);
	c_result r{};
	char msg[256] = "";
	ASSERT_EQ(xcap_c_api_run(dev, 1, 20000, &r, msg, sizeof msg), 0) << msg;
	EXPECT_STREQ(msg, "ring_full");
	EXPECT_GE(r.records, 10000u) << "records path for the first half";
	EXPECT_GT(r.mbufs, 9000u) << "mbuf path for the rest";
	EXPECT_EQ(r.records + r.mbufs, 20000u);
	EXPECT_EQ(r.bad_payload, 0u);
	EXPECT_TRUE(r.drained);
	EXPECT_EQ(r.delivered, 20000u);
	EXPECT_EQ(r.accounted, card_counters(dev).generated);
	EXPECT_EQ(r.cpu_copies, 0u);
}

TEST_F(CApi, RecordReferencesFromC)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=64-300,cap_count=30000");
	ASSERT_GE(dev, 0);
	char msg[256] = "";
	EXPECT_EQ(xcap_c_api_refs(dev, 0, 30000, msg, sizeof msg), 0) << msg;
}

TEST_F(CApi, WholeBuffersReadDetachedFromC)
{
	const int16_t dev = make_card("copy_channels=0,capture_channels=1,cap_rate=max,"
				      "cap_frame=64-300,cap_count=30000");
	ASSERT_GE(dev, 0);
	char msg[256] = "";
	EXPECT_EQ(xcap_c_api_detached(dev, 0, 30000, msg, sizeof msg), 0) << msg;
	EXPECT_EQ(card_counters(dev).generated, 30000u);
}

TEST_F(CApi, CreateReportsErrors)
{
	xcap_capture_config cfg;
	xcap_capture_config_init(&cfg);
	EXPECT_EQ(cfg.buffer_size, 64u * 1024);
	EXPECT_EQ(cfg.manage_device, 1);
	char err[128] = "";
	EXPECT_EQ(xcap_capture_create(&cfg, err, sizeof err), nullptr);
	EXPECT_NE(std::string(err).find("does not exist"), std::string::npos) << err;
	EXPECT_EQ(xcap_capture_create(nullptr, err, sizeof err), nullptr);
	EXPECT_STREQ(xcap_capture_drop_cause_name(XCAP_CAPTURE_DROP_CAUSES), "unknown");
	EXPECT_STREQ(xcap_capture_drop_cause_name(XCAP_CAPTURE_DROP_NO_BUFFER), "no_buffer");
}

} // namespace
} // namespace xcap::test
