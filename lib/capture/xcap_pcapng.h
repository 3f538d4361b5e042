/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * pcapng writer for capture records, zero-copy: the packet bytes go to the
 * kernel with writev() straight from where they lie (the DMA buffers); the
 * writer builds only the 28-byte block headers and 4-byte trailers around
 * them. One interface per capture channel, if_tsresol = 9 (nanoseconds: the
 * card's timestamps as they are). No DPDK dependency.
 *
 * DPDK's rte_pcapng is not used: it copies every packet into a new mbuf and
 * stamps it with TSC time.
 */
#ifndef XCAP_PCAPNG_H
#define XCAP_PCAPNG_H

#include <cstdint>
#include <string>
#include <vector>

#include <sys/uio.h>

#include "xcap_capture_parse.h"

namespace xcap::capture {

class PcapngWriter {
public:
	PcapngWriter() = default;
	~PcapngWriter();
	PcapngWriter(const PcapngWriter &) = delete;
	PcapngWriter &operator=(const PcapngWriter &) = delete;

	/* Create path (truncating it) and write the section header and one
	 * interface description block per name (LINKTYPE_ETHERNET, snaplen,
	 * if_tsresol 9). ts_offset_ns is added to every timestamp (0 keeps the
	 * card clock; the card's clock origin to the Unix epoch maps it to wall
	 * time). false and err on failure. */
	bool open(const std::string &path, const std::vector<std::string> &if_names,
		  uint32_t snaplen, int64_t ts_offset_ns, std::string &err);
	/* Queue len <= r.cap_len bytes of r on interface r.channel. The bytes
	 * must stay valid until flush() returns. false when the queue is full
	 * (flush() first) or r.channel has no interface. */
	bool add(const Record &r, uint32_t len);
	bool full() const { return n_iov_ + 3 > kMaxIov; }
	/* writev() everything queued, as whole blocks. 0 or -errno. */
	int flush();
	/* flush() and close the file. 0 or -errno. */
	int close();
	bool is_open() const { return fd_ >= 0; }
	/* Change the offset added to timestamps of records queued from now on. */
	void set_ts_offset(int64_t ns) { ts_offset_ = ns; }
	int64_t ts_offset() const { return ts_offset_; }

	uint64_t packets() const { return packets_; }    /* blocks written */
	uint64_t file_bytes() const { return bytes_; }   /* bytes written */
	uint64_t writev_calls() const { return writevs_; }

	/* writev() takes at most IOV_MAX (1024 on Linux) entries; a record
	 * needs two (header slot, data) plus one closing trailer per flush. */
	static constexpr unsigned kMaxIov = 1024;

private:
	/* The 0-3 pad bytes and 4-byte trailer of the previous block, then the
	 * 28-byte Enhanced Packet Block header of this one. */
	struct Slot {
		uint8_t b[40];
	};
	int write_all(struct iovec *iov, unsigned n);

	int fd_ = -1;
	int64_t ts_offset_ = 0;
	uint32_t n_ifaces_ = 0;
	uint64_t packets_ = 0, bytes_ = 0, writevs_ = 0;
	unsigned n_iov_ = 0, n_slots_ = 0;
	uint32_t owed_pad_ = 0;   /* pad bytes of the last queued block */
	uint32_t owed_total_ = 0; /* its total length, for its trailer; 0: none */
	std::vector<struct iovec> iov_;
	std::vector<Slot> slots_;
};

} // namespace xcap::capture

#endif /* XCAP_PCAPNG_H */
