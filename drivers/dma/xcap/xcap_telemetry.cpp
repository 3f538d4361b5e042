/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * /xcap/ telemetry commands (read them with usertools/dpdk-telemetry.py).
 * They run on EAL's telemetry thread while the application polls: they read
 * the driver's counters without locking the fast path (aligned 16/64-bit
 * loads do not tear on the platforms DPDK supports) and read card registers,
 * which is slow-path work by definition (the latched counters under
 * Dev::reg_lock, read_counter()). The registry lock only keeps a device
 * from being closed under a command. In a secondary process they report the
 * driver's view only ("card_registers": 0): the card belongs to the primary
 * (xcap_secondary.cpp).
 */
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>

#include <rte_telemetry.h>

#include "rte_pmd_xcap.h"
#include <rte_dmadev_pmd.h>
#include <rte_eal.h>

#include "xcap_card.h"
#include "xcap_internal.h"

namespace xcap {
namespace {

using hw::chan_reg;
namespace reg = hw::reg;

std::mutex registry_lock;
Dev *registry[RTE_DMADEV_DEFAULT_MAX * 4];
/* This process's rte_dma_dev of each (Dev::dmadev is the primary's pointer,
 * not valid in a secondary; DPDK before 23.03 has no accessor by id). */
rte_dma_dev *registry_dd[RTE_DIM(registry)];

Dev *lookup(int id)
{
	if (id < 0 || size_t(id) >= RTE_DIM(registry))
		return nullptr;
	return registry[id];
}

const rte_dma_dev *dmadev(int id)
{
	return registry_dd[id];
}

/* Card registers are read in the primary only (xcap_secondary.cpp). */
bool owns_card()
{
	return rte_eal_process_type() == RTE_PROC_PRIMARY;
}

/* "<dev_id>" or "<dev_id>,<vchan>" */
bool parse_params(const char *params, int &dev_id, int *vchan)
{
	if (params == nullptr || *params == '\0')
		return false;
	char *end;
	long d = strtol(params, &end, 10);
	if (end == params || d < 0 || d > INT16_MAX)
		return false;
	dev_id = int(d);
	if (vchan == nullptr)
		return *end == '\0';
	if (*end != ',')
		return false;
	const char *v = end + 1;
	long c = strtol(v, &end, 10);
	if (end == v || *end != '\0' || c < 0 || c >= long(kMaxChannels))
		return false;
	*vchan = int(c);
	return true;
}

int cmd_cards(const char *, const char *, rte_tel_data *d)
{
	std::lock_guard<std::mutex> g(registry_lock);
	rte_tel_data_start_dict(d);
	for (size_t i = 0; i < RTE_DIM(registry); i++)
		if (registry[i] != nullptr)
			rte_tel_data_add_dict_int(d, dmadev(int(i))->data->dev_name, int(i));
	return 0;
}

int cmd_info(const char *, const char *params, rte_tel_data *d)
{
	int id;
	if (!parse_params(params, id, nullptr))
		return -EINVAL;
	std::lock_guard<std::mutex> g(registry_lock);
	const Dev *dev = lookup(id);
	if (dev == nullptr)
		return -ENODEV;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", dmadev(id)->data->dev_name);
	rte_tel_data_add_dict_int(d, "numa_node", dmadev(id)->device->numa_node);
	rte_tel_data_add_dict_int(d, "card_registers", owns_card());
	if (owns_card())
		rte_tel_data_add_dict_int(d, "present", dev->bar.read32(reg::kId) == hw::kMagic);
	rte_tel_data_add_dict_int(d, "emulated", dev->backend != nullptr);
	rte_tel_data_add_dict_int(d, "version_major", int(dev->version >> 16));
	rte_tel_data_add_dict_int(d, "version_minor", int(dev->version & 0xffff));
	rte_tel_data_add_dict_int(d, "copy_channels", int(dev->n_copy));
	rte_tel_data_add_dict_int(d, "capture_channels", int(dev->n_capture));
	rte_tel_data_add_dict_int(d, "configured_vchans", dev->nb_vchans);
	rte_tel_data_add_dict_int(d, "max_ring", int(1u << dev->max_ring_log2));
	xcap_tel_dict_add_u64(d, "max_xfer", dev->max_xfer);
	rte_tel_data_add_dict_int(d, "max_sge", int(dev->max_sge));
	rte_tel_data_add_dict_int(d, "addr_width", int(dev->addr_width));
	rte_tel_data_add_dict_int(d, "null_engine", dev->null_engine);
	rte_tel_data_add_dict_int(d, "halt_on_error", dev->halt_on_error);
	rte_tel_data_add_dict_int(d, "started", dmadev(id)->data->dev_started);
	xcap_tel_dict_add_u64(d, "caps_ops", dev->caps1);
	return 0;
}

int cmd_channel(const char *, const char *params, rte_tel_data *d)
{
	int id, v;
	if (!parse_params(params, id, &v))
		return -EINVAL;
	std::lock_guard<std::mutex> g(registry_lock);
	const Dev *dev = lookup(id);
	if (dev == nullptr || v >= dev->nb_vchans || !dev->vchan[v].configured)
		return -ENODEV;
	const Vchan &vc = dev->vchan[v];
	const uint16_t in_flight = uint16_t(vc.next - vc.head);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "kind",
				     vc.kind == hw::ChannelKind::Capture ? "capture" : "copy");
	rte_tel_data_add_dict_int(d, "ring_size", vc.nb_desc);
	rte_tel_data_add_dict_int(d, "in_flight", in_flight);
	rte_tel_data_add_dict_int(d, "occupancy_pct", in_flight * 100 / vc.nb_desc);
	rte_tel_data_add_dict_int(d, "memzone_socket", vc.mz.get()->socket_id);
	xcap_tel_dict_add_u64(d, "submitted", vc.stat_submitted);
	xcap_tel_dict_add_u64(d, "completed", vc.stat_completed);
	xcap_tel_dict_add_u64(d, "errors", vc.stat_errors);
	xcap_tel_dict_add_u64(d, "card_faults", vc.card_faults);
	rte_tel_data_add_dict_int(d, "failed", vc.failed);
	rte_tel_data_add_dict_int(d, "card_registers", owns_card());
	if (!owns_card())
		return 0;
	const Bar &bar = dev->bar;
	const uint32_t st = bar.read32(chan_reg(v, reg::ch::kStatus));
	const uint32_t code = bar.read32(chan_reg(v, reg::ch::kErrCode));
	rte_tel_data_add_dict_string(d, "state", state_name(st));
	rte_tel_data_add_dict_int(d, "hw_head", int(bar.read32(chan_reg(v, reg::ch::kHwHead))));
	rte_tel_data_add_dict_int(d, "err_code", int(code));
	rte_tel_data_add_dict_string(d, "err_name", status_name(code));
	rte_tel_data_add_dict_int(d, "err_index", int(bar.read32(chan_reg(v, reg::ch::kErrIndex))));
	xcap_tel_dict_add_u64(d, "hw_descriptors", read_counter(*dev, v, reg::ch::kCntDescLo));
	xcap_tel_dict_add_u64(d, "hw_errors", read_counter(*dev, v, reg::ch::kCntErrLo));
	xcap_tel_dict_add_u64(d, "hw_bytes", read_counter(*dev, v, reg::ch::kCntBytesLo));
	if (vc.kind == hw::ChannelKind::Capture) {
		xcap_tel_dict_add_u64(d, "records", read_counter(*dev, v, reg::ch::kCntRecLo));
		xcap_tel_dict_add_u64(d, "lost_no_buffer", read_counter(*dev, v, reg::ch::kCntLostLo));
		xcap_tel_dict_add_u64(d, "lost_overrun", read_counter(*dev, v, reg::ch::kCntOvrLo));
	}
	return 0;
}

/* One value per configured vchan, keyed "vchan<N>". */
template <typename F>
int per_vchan(const char *params, rte_tel_data *d, F value, bool capture_only = false)
{
	int id;
	if (!parse_params(params, id, nullptr))
		return -EINVAL;
	std::lock_guard<std::mutex> g(registry_lock);
	const Dev *dev = lookup(id);
	if (dev == nullptr)
		return -ENODEV;
	rte_tel_data_start_dict(d);
	for (unsigned v = 0; v < dev->nb_vchans; v++) {
		const Vchan &vc = dev->vchan[v];
		if (!vc.configured || (capture_only && vc.kind != hw::ChannelKind::Capture))
			continue;
		value(*dev, vc, v, d, "vchan" + std::to_string(v));
	}
	return 0;
}

int cmd_occupancy(const char *, const char *params, rte_tel_data *d)
{
	return per_vchan(params, d, [](const Dev &, const Vchan &vc, unsigned, rte_tel_data *t,
				       const std::string &key) {
		rte_tel_data_add_dict_int(t, key.c_str(), uint16_t(vc.next - vc.head));
	});
}

int cmd_errors(const char *, const char *params, rte_tel_data *d)
{
	return per_vchan(params, d, [](const Dev &, const Vchan &vc, unsigned, rte_tel_data *t,
				       const std::string &key) {
		xcap_tel_dict_add_u64(t, key.c_str(), vc.stat_errors + vc.card_faults);
	});
}

int cmd_capture_drops(const char *, const char *params, rte_tel_data *d)
{
	if (!owns_card())
		return -ENOTSUP; /* the card's counters: the primary's to read */
	return per_vchan(params, d, [](const Dev &dev, const Vchan &, unsigned v, rte_tel_data *t,
				       const std::string &key) {
		xcap_tel_dict_add_u64(t, (key + "_lost_no_buffer").c_str(),
					  read_counter(dev, v, reg::ch::kCntLostLo));
		xcap_tel_dict_add_u64(t, (key + "_lost_overrun").c_str(),
					  read_counter(dev, v, reg::ch::kCntOvrLo));
	}, true);
}

} // namespace

void registry_add(Dev *dev, rte_dma_dev *dd)
{
	std::lock_guard<std::mutex> g(registry_lock);
	const int id = dd->data->dev_id;
	if (id >= 0 && size_t(id) < RTE_DIM(registry)) {
		registry[id] = dev;
		registry_dd[id] = dd;
	}
}

void registry_remove(Dev *dev)
{
	std::lock_guard<std::mutex> g(registry_lock);
	for (Dev *&slot : registry)
		if (slot == dev)
			slot = nullptr;
}

Dev *registry_find(int dev_id)
{
	std::lock_guard<std::mutex> g(registry_lock);
	return lookup(dev_id);
}

rte_dma_dev *registry_dmadev(int dev_id)
{
	std::lock_guard<std::mutex> g(registry_lock);
	return lookup(dev_id) ? registry_dd[dev_id] : nullptr;
}

const char *dev_name_of(int dev_id)
{
	const rte_dma_dev *dd = registry_dmadev(dev_id);
	return dd ? dd->data->dev_name : "xcap";
}

RTE_INIT(xcap_telemetry_init)
{
	rte_telemetry_register_cmd("/xcap/cards", cmd_cards,
				   "xcap cards: name -> dmadev id. No parameters");
	rte_telemetry_register_cmd("/xcap/info", cmd_info,
				   "Card identity and limits. Parameters: int dev_id");
	rte_telemetry_register_cmd("/xcap/channel", cmd_channel,
				   "One channel: state, ring occupancy, counters, last error. "
				   "Parameters: int dev_id,int vchan");
	rte_telemetry_register_cmd("/xcap/occupancy", cmd_occupancy,
				   "Ops in flight per vchan. Parameters: int dev_id");
	rte_telemetry_register_cmd("/xcap/errors", cmd_errors,
				   "Failed ops + card faults per vchan. Parameters: int dev_id");
	rte_telemetry_register_cmd("/xcap/capture_drops", cmd_capture_drops,
				   "Capture records lost per capture vchan, by cause. "
				   "Parameters: int dev_id");
}

} // namespace xcap

extern "C" int rte_pmd_xcap_capture_counters(int16_t dev_id, uint16_t vchan,
					     struct rte_pmd_xcap_capture_counters *out)
{
	using namespace xcap;
	std::lock_guard<std::mutex> g(registry_lock);
	const Dev *dev = lookup(dev_id);
	if (dev == nullptr)
		return -ENODEV;
	if (vchan >= dev->nb_vchans || !dev->vchan[vchan].configured ||
	    dev->vchan[vchan].kind != hw::ChannelKind::Capture)
		return -EINVAL;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		XCAP_LOG(ERR, "dmadev %d: the card's counters are read by the primary process, "
			 "which owns the card", dev_id);
		return -ENOTSUP;
	}
	if (dev->bar.read32(reg::kId) == hw::kAllOnes)
		return -ENODEV;
	out->records = read_counter(*dev, vchan, reg::ch::kCntRecLo);
	out->lost_no_buffer = read_counter(*dev, vchan, reg::ch::kCntLostLo);
	out->lost_overrun = read_counter(*dev, vchan, reg::ch::kCntOvrLo);
	/* a card that vanished between the reads */
	if (dev->bar.read32(reg::kId) == hw::kAllOnes)
		return -ENODEV;
	return 0;
}
