/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Read a pcap/pcapng file with libpcap (an independent reader), with
 * nanosecond timestamps.
 */
#ifndef XCAP_TEST_PCAP_READER_H
#define XCAP_TEST_PCAP_READER_H

#include <cstdint>
#include <string>
#include <vector>

#include <pcap/pcap.h>

namespace xcap::test {

struct PcapPacket {
	uint64_t ts_ns;
	uint32_t caplen, len;
	int linktype;
	std::vector<uint8_t> data;
};

inline std::vector<PcapPacket> read_pcap(const std::string &path, std::string &err,
					 bool keep_data = true)
{
	std::vector<PcapPacket> out;
	char eb[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO,
							    eb);
	if (p == nullptr) {
		err = std::string("pcap_open_offline: ") + eb;
		return out;
	}
	if (pcap_get_tstamp_precision(p) != PCAP_TSTAMP_PRECISION_NANO)
		err = "libpcap did not give nanosecond precision";
	const int lt = pcap_datalink(p);
	pcap_pkthdr *h;
	const u_char *d;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		PcapPacket k;
		k.ts_ns = uint64_t(h->ts.tv_sec) * 1000000000ull + uint64_t(h->ts.tv_usec);
		k.caplen = h->caplen;
		k.len = h->len;
		k.linktype = lt;
		if (keep_data)
			k.data.assign(d, d + h->caplen);
		out.push_back(std::move(k));
	}
	if (rc == -1)
		err = std::string("pcap_next_ex: ") + pcap_geterr(p);
	pcap_close(p);
	return out;
}

} // namespace xcap::test

#endif /* XCAP_TEST_PCAP_READER_H */
