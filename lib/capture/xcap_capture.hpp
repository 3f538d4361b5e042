/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap capture library, C++ API. The same library as the C API
 * (xcap_capture.h, whose structs it shares); see there for the model:
 * posted buffers, three zero-copy ways to consume, exact accounting.
 */
#ifndef XCAP_CAPTURE_HPP
#define XCAP_CAPTURE_HPP

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "xcap_capture.h"
#include "xcap_capture_parse.h"
#include "xcap_pcapng.h"

namespace xcap::capture {

using Counters = xcap_capture_counters;

enum class DropCause : uint8_t {
	NoBuffer = XCAP_CAPTURE_DROP_NO_BUFFER,
	Overrun = XCAP_CAPTURE_DROP_OVERRUN,
	RingFull = XCAP_CAPTURE_DROP_RING_FULL,
	TxFull = XCAP_CAPTURE_DROP_TX_FULL,
	Filtered = XCAP_CAPTURE_DROP_FILTERED,
	Malformed = XCAP_CAPTURE_DROP_MALFORMED,
	ChannelFailed = XCAP_CAPTURE_DROP_CHANNEL_FAILED,
};
inline constexpr unsigned kDropCauses = XCAP_CAPTURE_DROP_CAUSES;
inline const char *drop_cause_name(DropCause c)
{
	return xcap_capture_drop_cause_name(xcap_capture_drop_cause(c));
}
/* delivered + every drop cause */
inline uint64_t accounted(const Counters &c) { return xcap_capture_accounted(&c); }

/* Limits of a DMA buffer. The upper one keeps the number of records in one
 * buffer (at least 16 bytes each) below the 16-bit reference count of the
 * shared info every record's mbuf points to. */
inline constexpr uint32_t kMinBufferSize = hw::kCaptureMinBuffer;
inline constexpr uint32_t kMaxBufferSize = 1u << 20;

struct StreamConfig {
	int16_t dev_id = -1;
	std::vector<uint16_t> vchans;   /* capture vchans of dev_id */
	bool manage_device = true;      /* see xcap_capture_config */
	uint32_t buffer_size = 64 * 1024;
	uint32_t nb_buffers = 256;
	uint32_t posted_per_vchan = 0;  /* 0: min(nb_buffers / (2 * vchans), max ring) */
	int numa_node = -1;             /* -1: rte_dma_info.numa_node */
	uint32_t snaplen = 0;           /* 0: none */
	uint32_t nb_mbufs = 0;          /* 0: no rx_burst */
	uint32_t mbuf_cache = 256;
	uint16_t mbuf_port = RTE_MBUF_PORT_INVALID;
	uint16_t completion_burst = 64;
	/* true keeps the record; false counts it as filtered. */
	std::function<bool(const Record &)> filter;
	/* Fault injection for tests: called with every buffer the card
	 * completed successfully, before the stream parses it. */
	std::function<void(uint8_t *buf, uint32_t len, uint16_t channel)> completion_hook;
	std::string name = "xcap_cap";
};

/* What one of the stream's mbufs carries besides its data (dynamic field
 * "xcap_capture_meta", 8 bytes). */
struct MbufMeta {
	uint16_t channel;
	uint16_t flags;    /* XCAP_CAPTURE_REC_* */
	uint32_t wire_len;
};

/* Dynamic field offsets of the stream's mbufs, valid once any stream with
 * nb_mbufs > 0 was created (the same for every stream of the process). */
struct MbufFields {
	int ts_offset = -1;      /* DPDK's Rx timestamp field (uint64_t, ns) */
	uint64_t ts_flag = 0;    /* its ol_flags bit */
	int meta_offset = -1;    /* MbufMeta */
};
const MbufFields &mbuf_fields();
/* m carries a record of a capture stream (its external buffer is one). */
bool is_capture_mbuf(const rte_mbuf *m);
inline uint64_t mbuf_timestamp(const rte_mbuf *m)
{
	return *RTE_MBUF_DYNFIELD(m, mbuf_fields().ts_offset, const uint64_t *);
}
inline MbufMeta mbuf_meta(const rte_mbuf *m)
{
	return *RTE_MBUF_DYNFIELD(m, mbuf_fields().meta_offset, const MbufMeta *);
}

/* A filled buffer handed out by next_buffer(). */
struct Buffer;

/* A record that holds a reference to its DMA buffer, as an mbuf does, at a
 * fraction of the cost: 16 bytes to pass to other lcores (e.g. through an
 * rte_ring of 16-byte elements) and give back with release_refs() on any
 * lcore. The rest of the record (timestamp, wire length, flags) is in its
 * record header, right in front of data in the DMA buffer: ref_record().
 * The layout of struct xcap_capture_ref. */
struct RecordRef {
	const uint8_t *data; /* first captured byte */
	uint32_t buf;        /* the buffer's index in its stream */
	uint16_t cap_len;    /* bytes at data (after the snap length) */
	uint16_t channel;    /* index into the stream's vchans */
};
static_assert(sizeof(RecordRef) == 16);
/* The whole record a reference points to (reads its record header; offset
 * is left 0). */
inline Record ref_record(const RecordRef &r)
{
	hw::RecordHeader rh;
	std::memcpy(&rh, r.data - sizeof rh, sizeof rh);
	Record out;
	out.data = r.data;
	out.ts_ns = rh.ts_ns;
	out.cap_len = r.cap_len;
	out.wire_len = rh.wire_len;
	out.offset = 0;
	out.flags = uint16_t(rh.flags | (r.cap_len < rh.wire_len ? hw::rflag::kTruncated : 0));
	out.channel = r.channel;
	return out;
}

class Stream {
public:
	/* nullptr and err set on any bad parameter or missing resource. */
	static std::unique_ptr<Stream> create(const StreamConfig &cfg, std::string &err);
	~Stream();
	Stream(const Stream &) = delete;
	Stream &operator=(const Stream &) = delete;

	int start();
	/* Stop now (manage_device: after each channel that went without a
	 * posted buffer completed one more, so that its header reports the
	 * frames lost meanwhile; at most 500 ms). Completed buffers stay
	 * readable. It cannot bring back buffers waiting for the consumer: a
	 * consumer that may be behind should use request_stop() and go on
	 * consuming until drained(). */
	int stop();
	/* The same without blocking: the stream stops itself in a later
	 * poll()/read()/rx_burst()/next_buffer(), while the consumer goes on
	 * consuming (which is what brings buffers back). Then drained() tells
	 * when everything was handed out. */
	void request_stop();
	bool stopping() const;
	int poll();
	bool running() const;
	bool drained() const;

	/* Records path: up to n records of one buffer, valid until the next
	 * read() or stop(). */
	uint16_t read(Record *out, uint16_t n);

	/* mbuf path. */
	uint16_t rx_burst(rte_mbuf **pkts, uint16_t n);

	/* Record references: the records path across lcores. */
	uint16_t read_refs(RecordRef *out, uint16_t n);
	/* Any lcore, any order; each reference exactly once. */
	void release_refs(const RecordRef *refs, unsigned n) const;

	/* Buffer path. */
	Buffer *next_buffer();
	uint32_t buffer_records(Buffer *b, Record *out, uint32_t n);
	const hw::CaptureBufferHeader &buffer_header(const Buffer *b) const;
	uint16_t buffer_channel(const Buffer *b) const;
	/* Records b holds that were not read are dropped with unread_cause
	 * (the default: the consumer chose not to take them). */
	void release(Buffer *b, DropCause unread_cause = DropCause::Filtered);
	/* Whole buffers across lcores: next_buffer() here, then pass b (e.g.
	 * through an rte_ring) to one other lcore, which reads its records
	 * with read_detached() (valid until b is released), and pass it back
	 * for release() here. read_detached() touches only the buffer, the
	 * configuration and atomic counts, so it runs while this lcore goes on
	 * with the stream; the stream's counters catch up at release(). The
	 * forwarding cost per record is then nothing: the reader parses. */
	uint32_t read_detached(Buffer *b, Record *out, uint32_t n) const;

	void count_dropped(DropCause cause, uint64_t n);
	void count_copy(uint64_t n);
	Counters counters() const;

	/* Per channel (index into cfg.vchans): loss the card reported in the
	 * headers of buffers parsed so far (no buffer + overrun). Any thread. */
	uint64_t reported_loss(uint16_t channel) const;
	/* Per channel: records the stream knows were not handed out: the
	 * reported loss, plus records skipped as malformed or filtered (also
	 * the stream's own filter). Updated before any later record of the
	 * channel is handed out, so a consumer that sees every handed-out record
	 * of a channel can check each sequence gap against it. Any thread. */
	uint64_t undelivered(uint16_t channel) const;

	const StreamConfig &config() const;
	uint16_t nb_channels() const;
	int numa_node() const;

	/* ---- introspection for tests and tools (owner thread) ---- */
	enum class BufState : uint8_t { Free, Posted, Completed, Consumer, Held };
	struct BufInfo {
		const uint8_t *va;
		uint64_t iova;
		uint32_t len;
		BufState state;
		uint64_t times_posted;
		uint64_t times_completed;
	};
	uint32_t nb_buffers() const;
	BufInfo buffer_info(uint32_t index) const;
	/* Index of the buffer holding p, or -1. */
	int64_t buffer_index_of(const void *p) const;

	struct Impl;

private:
	explicit Stream(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
	friend struct ::xcap_capture_stream;
};

/* Write every record of b to w (zero-copy, writev) and release b. Records
 * written, or -errno (b is released anyway). */
int64_t write_buffer(PcapngWriter &w, Stream &s, Buffer *b);

} // namespace xcap::capture

#endif /* XCAP_CAPTURE_HPP */
