/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap capture library, C API.
 *
 * A capture stream keeps capture buffers posted on one or more capture vchans
 * of an xcap card (dmadev), collects the buffers the card fills, and hands
 * their records on without copying a byte, in one of three ways:
 *
 *   xcap_capture_read()         records (pointer, length, timestamp, flags)
 *                               straight out of the DMA buffers: the fastest
 *                               path, no mbufs;
 *   xcap_capture_rx_burst()     rte_mbufs whose data is the record in the DMA
 *                               buffer (external buffer, reference counted):
 *                               any DPDK consumer can take them, on any lcore;
 *                               the DMA buffer goes back to the card when the
 *                               last of its mbufs is freed;
 *   xcap_capture_next_buffer()  whole buffers with a record cursor (the
 *                               pcapng writer uses this).
 *
 * Threading: one thread (the owner lcore) calls everything here except
 * xcap_capture_get_counters() (any thread) and rte_pktmbuf_free() of the
 * stream's mbufs (any lcore; they come back through a lock-free ring).
 *
 * Accounting: every record the card produced ends up in exactly one of
 * delivered, or dropped by cause (struct xcap_capture_counters), once the
 * stream is stopped and drained.
 *
 * The C++ API (xcap_capture.hpp) is the same library; this header is
 * complete on its own and compiles as C11.
 */
#ifndef XCAP_CAPTURE_H
#define XCAP_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct xcap_capture_stream;
struct xcap_capture_buffer;

/* One record. data points into a DMA buffer; valid as the API call that
 * returned it says. 32 bytes. */
struct xcap_capture_record {
	const uint8_t *data; /* first captured byte */
	uint64_t ts_ns;      /* the card's timestamp, ns */
	uint32_t cap_len;    /* bytes at data (after the stream's snap length) */
	uint32_t wire_len;   /* frame length on the wire */
	uint32_t offset;     /* of the record header in its DMA buffer */
	uint16_t flags;      /* XCAP_CAPTURE_REC_* */
	uint16_t channel;    /* index into the stream's vchans */
};
#define XCAP_CAPTURE_REC_TRUNCATED 0x1 /* cap_len < wire_len */

/* Why a record the card produced was not delivered. */
enum xcap_capture_drop_cause {
	XCAP_CAPTURE_DROP_NO_BUFFER = 0, /* card: no buffer posted (lost_no_buffer) */
	XCAP_CAPTURE_DROP_OVERRUN,       /* card: FIFO overrun (lost_overrun) */
	XCAP_CAPTURE_DROP_RING_FULL,     /* consumer ring full */
	XCAP_CAPTURE_DROP_TX_FULL,       /* TX queue full */
	XCAP_CAPTURE_DROP_FILTERED,      /* the stream's filter said no */
	XCAP_CAPTURE_DROP_MALFORMED,     /* announced by a buffer header, unreadable */
	/* records the card counted (CntRec) in buffers the stream could not
	 * use: completions refused after a card fault (the channel failed and
	 * was restarted), buffers completed with an error status, headers that
	 * could not be read or under-reported their records. Known from the
	 * card's counters when the channel is stopped or restarted (needs the
	 * PMD linked in, rte_pmd_xcap.h). */
	XCAP_CAPTURE_DROP_CHANNEL_FAILED,
	XCAP_CAPTURE_DROP_CAUSES
};
/* "no_buffer", "overrun", "ring_full", "tx_full", "filtered", "malformed",
 * "channel_failed". */
const char *xcap_capture_drop_cause_name(enum xcap_capture_drop_cause cause);

typedef int (*xcap_capture_filter_t)(const struct xcap_capture_record *rec, void *arg);

struct xcap_capture_config {
	int16_t dev_id;           /* the card's dmadev */
	const uint16_t *vchans;   /* its capture vchans to use */
	uint16_t nb_vchans;       /* 1..64 */
	/* 1: the stream configures the dmadev (vchans 0..max(vchans); the
	 * others as minimal MEM_TO_MEM), starts and stops it. 0: the caller
	 * configured and started it with these vchans set up DEV_TO_MEM, and
	 * stops it before xcap_capture_stop(). */
	int manage_device;
	uint32_t buffer_size;     /* bytes per DMA buffer: 256..1 MiB, multiple of 64 */
	uint32_t nb_buffers;      /* pool size, all vchans together */
	uint32_t posted_per_vchan; /* buffers kept posted on each vchan; 0: auto */
	int numa_node;            /* buffer memory node; -1: the card's */
	uint32_t snaplen;         /* software snap length; 0: none (see docs) */
	uint32_t nb_mbufs;        /* mbuf pool for rx_burst; 0: no mbuf path */
	uint32_t mbuf_cache;      /* per-lcore mempool cache */
	uint16_t mbuf_port;       /* value of mbuf->port */
	uint16_t completion_burst; /* completions read per vchan per poll */
	xcap_capture_filter_t filter; /* NULL: keep everything */
	void *filter_arg;
	const char *name;         /* prefix of memzone/pool/ring names */
};
/* Defaults: 64 KiB buffers, 256 of them, auto posting, the card's node,
 * no snap length, no mbufs, manage_device = 1. */
void xcap_capture_config_init(struct xcap_capture_config *cfg);

struct xcap_capture_counters {
	/* buffers */
	uint64_t buffers_posted;    /* rte_dma_copy() calls that posted one */
	uint64_t buffers_completed; /* came back filled, header readable */
	uint64_t buffers_aborted;   /* came back unused when the channel stopped */
	uint64_t buffers_failed;    /* came back with an error status */
	uint64_t buffers_malformed; /* header or records broken (counted, skipped) */
	uint64_t buffer_seq_errors; /* header sequence not the expected one */
	/* records */
	uint64_t records;           /* announced by readable buffer headers */
	uint64_t bytes;             /* captured bytes of the records handed out */
	uint64_t handed_out;        /* returned by read/rx_burst/buffer cursors */
	uint64_t delivered;         /* handed_out minus consumer-reported drops */
	uint64_t dropped[XCAP_CAPTURE_DROP_CAUSES];
	uint64_t cpu_copies;        /* payload memcpy by the library: 0 by design */
	uint64_t mbuf_alloc_failed; /* rx_burst found the mbuf pool empty */
	/* channel health (checked with rte_dma_vchan_status only after a vchan
	 * completed nothing for 20 ms with buffers posted) */
	uint64_t channel_failures;  /* vchans found failed (card fault, Failed state) */
	uint64_t channel_restarts;  /* rte_dma_stop + rte_dma_start to recover one */
	uint64_t card_gone;         /* the card read all-ones: the stream stopped posting */
	/* records + loss learned from the card's counters at a stop or restart
	 * rather than from buffer headers (included in dropped[]) */
	uint64_t counter_reconciled;
	/* now */
	uint32_t posted_now;        /* on the card */
	uint32_t completed_now;     /* filled, waiting for the consumer */
	uint32_t in_use_now;        /* with the consumer, or referenced by mbufs */
	uint32_t free_now;
};

struct xcap_capture_stream *xcap_capture_create(const struct xcap_capture_config *cfg,
						char *err, size_t err_len);
/* Stops it if needed. Every mbuf of the stream must have been freed. */
void xcap_capture_destroy(struct xcap_capture_stream *s);

/* Start the card (manage_device) and post buffers. 0 or -errno. */
int xcap_capture_start(struct xcap_capture_stream *s);
/* Stop the card (manage_device): it completes the buffer it is filling and
 * hands back the unused ones; the filled ones stay readable. A channel that
 * has no buffer posted is stopped only once it has one again (at most 500 ms
 * later), whose header reports the frames it lost meanwhile (HW §8.3).
 * Then the card's counters are read (rte_pmd_xcap_capture_counters, if the
 * PMD is linked in) and whatever no header reported is counted by cause, so
 * the counters account for every record the card saw. 0 or -errno. */
int xcap_capture_stop(struct xcap_capture_stream *s);
/* The same without blocking: the stream stops itself during later calls
 * while the consumer goes on consuming; xcap_capture_drained() tells when
 * everything was handed out. */
void xcap_capture_request_stop(struct xcap_capture_stream *s);
/* Recycle freed buffers, read completions, repost. The read functions call
 * it themselves. Returns the number of buffers that completed. */
int xcap_capture_poll(struct xcap_capture_stream *s);
/* Stopped, and every record handed out: the counters are final. */
int xcap_capture_drained(const struct xcap_capture_stream *s);

/* Up to n records, all from one buffer. They stay valid until the next
 * xcap_capture_read() call. */
uint16_t xcap_capture_read(struct xcap_capture_stream *s, struct xcap_capture_record *recs,
			   uint16_t n);

/* Records that each hold a reference to their DMA buffer (as an mbuf would,
 * for much less): 16 bytes to pass to other lcores, e.g. through an rte_ring
 * of 16-byte elements, and give back with xcap_capture_release_refs() on any
 * lcore, in any order. The buffer goes back to the card when its last
 * reference is released. Timestamp, wire length and flags are in the record
 * header in front of data: xcap_capture_ref_record(). */
struct xcap_capture_ref {
	const uint8_t *data; /* first captured byte */
	uint32_t buf;        /* the buffer's index in its stream */
	uint16_t cap_len;    /* bytes at data (after the snap length) */
	uint16_t channel;    /* index into the stream's vchans */
};
uint16_t xcap_capture_read_refs(struct xcap_capture_stream *s, struct xcap_capture_ref *refs,
				uint16_t n);
/* Any lcore (the stream must outlive its references). */
void xcap_capture_release_refs(const struct xcap_capture_stream *s,
			       const struct xcap_capture_ref *refs, unsigned n);
void xcap_capture_ref_record(const struct xcap_capture_ref *ref, struct xcap_capture_record *rec);

/* Up to n mbufs (needs nb_mbufs > 0). Each holds one record: data_len =
 * pkt_len = cap_len, the DMA buffer attached as an external buffer; the
 * card timestamp is in DPDK's Rx timestamp dynamic field. Free them with
 * rte_pktmbuf_free() on any lcore; never with RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE. */
uint16_t xcap_capture_rx_burst(struct xcap_capture_stream *s, struct rte_mbuf **pkts,
			       uint16_t n);
/* What the stream put in an mbuf's dynamic fields. 0, or -EINVAL if m is
 * not one of its mbufs (no external buffer of a capture stream). */
int xcap_capture_mbuf_info(const struct rte_mbuf *m, uint64_t *ts_ns, uint16_t *channel,
			   uint32_t *wire_len);

/* The next filled buffer, or NULL. Read its records with
 * xcap_capture_buffer_records(); they stay valid until release. */
struct xcap_capture_buffer *xcap_capture_next_buffer(struct xcap_capture_stream *s);
uint32_t xcap_capture_buffer_records(struct xcap_capture_stream *s,
				     struct xcap_capture_buffer *b,
				     struct xcap_capture_record *recs, uint32_t n);
/* Hand a buffer back (it is reposted). Unread records count as delivered
 * only if they were read; the rest are counted as filtered. */
void xcap_capture_release(struct xcap_capture_stream *s, struct xcap_capture_buffer *b);

/* Whole buffers across lcores: xcap_capture_next_buffer() on the stream's
 * lcore, pass the buffer (e.g. through an rte_ring) to one other lcore that
 * reads its records with xcap_capture_read_detached() (valid until the
 * buffer is released), pass it back, release it on the stream's lcore. The
 * stream's counters catch up at the release. */
uint32_t xcap_capture_read_detached(const struct xcap_capture_stream *s,
				    struct xcap_capture_buffer *b, struct xcap_capture_record *recs,
				    uint32_t n);
/* xcap_capture_release(), with the unread records dropped for unread_cause. */
void xcap_capture_release_dropped(struct xcap_capture_stream *s, struct xcap_capture_buffer *b,
				  enum xcap_capture_drop_cause unread_cause);

/* The consumer could not pass n handed-out records on. */
void xcap_capture_count_dropped(struct xcap_capture_stream *s,
				enum xcap_capture_drop_cause cause, uint64_t n);
/* A consumer copied payload bytes (it should not): counted in cpu_copies. */
void xcap_capture_count_copy(struct xcap_capture_stream *s, uint64_t n);

/* A consistent-enough snapshot; callable from any thread. */
void xcap_capture_get_counters(const struct xcap_capture_stream *s,
			       struct xcap_capture_counters *c);
/* delivered + every drop cause. */
uint64_t xcap_capture_accounted(const struct xcap_capture_counters *c);

/* ---- pcapng writer --------------------------------------------------------
 * Writes pcapng (one interface per capture channel, if_tsresol = 9: the
 * card's nanosecond timestamps) with writev() straight from the DMA buffers:
 * the only copy of a payload byte is the kernel's. */
struct xcap_pcapng;
/* channels interfaces named "<if_prefix><n>"; snaplen as in the IDBs;
 * ts_offset_ns is added to every card timestamp (0: the card clock). */
struct xcap_pcapng *xcap_pcapng_open(const char *path, uint16_t channels, const char *if_prefix,
				     uint32_t snaplen, int64_t ts_offset_ns, char *err,
				     size_t err_len);
/* Write every record of a buffer (reading it to its end) and release it.
 * Returns records written, or -errno (the buffer is released anyway). */
int64_t xcap_pcapng_write_buffer(struct xcap_pcapng *w, struct xcap_capture_stream *s,
				 struct xcap_capture_buffer *b);
/* Flush and close; 0 or -errno. */
int xcap_pcapng_close(struct xcap_pcapng *w);

#ifdef __cplusplus
}
#endif

#endif /* XCAP_CAPTURE_H */
