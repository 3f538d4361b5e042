/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * A C program's use of the capture library: compiled as C11 against
 * xcap_capture.h alone (plus DPDK's C headers for the mbufs).
 */
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>

#include "xcap_capture.h"

struct c_result {
	uint64_t records, mbufs, bad_payload, accounted, delivered, cpu_copies;
	int drained;
};

static int payload_good(const uint8_t *p, uint32_t len, uint64_t expect_seq)
{
	uint64_t seq;
	uint32_t i;
	if (len < 8)
		return 0;
	memcpy(&seq, p, 8);
	if (seq != expect_seq)
		return 0;
	for (i = 8; i < len; i++)
		if (p[i] != (uint8_t)(seq + i))
			return 0;
	return 1;
}

/* A started one-vchan stream of 4 KiB buffers, or NULL (msg says why).
 * Start is tried three times: an emulated card on a busy machine may miss
 * the PMD's deadline to answer a channel reset. */
static struct xcap_capture_stream *open_stream(int16_t dev, uint16_t *vchan, uint32_t nb_buffers,
					       uint32_t nb_mbufs, const char *name, char *msg,
					       size_t msg_len)
{
	struct xcap_capture_config cfg;
	struct xcap_capture_stream *s;

	xcap_capture_config_init(&cfg);
	cfg.dev_id = dev;
	cfg.vchans = vchan;
	cfg.nb_vchans = 1;
	cfg.nb_buffers = nb_buffers;
	cfg.buffer_size = 4096;
	cfg.nb_mbufs = nb_mbufs;
	cfg.name = name;
	s = xcap_capture_create(&cfg, msg, msg_len);
	if (s == NULL)
		return NULL;
	if (xcap_capture_start(s) != 0 && xcap_capture_start(s) != 0 &&
	    xcap_capture_start(s) != 0) {
		snprintf(msg, msg_len, "start failed");
		xcap_capture_destroy(s);
		return NULL;
	}
	return s;
}

/* Records path for the first half of the frames, mbuf path for the rest;
 * returns 0 or a negative errno, msg says why. */
int xcap_c_api_run(int16_t dev, uint16_t vchan, uint64_t frames, struct c_result *r, char *msg,
		   size_t msg_len)
{
	struct xcap_capture_stream *s;
	struct xcap_capture_record recs[32];
	struct rte_mbuf *pkts[32];
	struct xcap_capture_counters c;
	uint64_t next = 0, spins = 0;
	uint16_t n, i;

	memset(r, 0, sizeof(*r));
	s = open_stream(dev, &vchan, 32, 1024, "c_api", msg, msg_len);
	if (s == NULL)
		return -1;
	while (next < frames / 2 && spins++ < 200000000ull) {
		n = xcap_capture_read(s, recs, 32);
		for (i = 0; i < n; i++, next++)
			if (!payload_good(recs[i].data, recs[i].cap_len, next))
				r->bad_payload++;
		r->records += n;
	}
	while (next < frames && spins++ < 400000000ull) {
		n = xcap_capture_rx_burst(s, pkts, 32);
		for (i = 0; i < n; i++, next++) {
			uint64_t ts;
			uint16_t ch;
			uint32_t wire;
			if (!payload_good(rte_pktmbuf_mtod(pkts[i], const uint8_t *),
					  pkts[i]->data_len, next) ||
			    xcap_capture_mbuf_info(pkts[i], &ts, &ch, &wire) != 0 || ch != 0 ||
			    wire != pkts[i]->pkt_len)
				r->bad_payload++;
			rte_pktmbuf_free(pkts[i]);
		}
		r->mbufs += n;
	}
	xcap_capture_stop(s);
	while ((n = xcap_capture_rx_burst(s, pkts, 32)) != 0) {
		r->mbufs += n;
		for (i = 0; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
	}
	r->drained = xcap_capture_drained(s);
	xcap_capture_get_counters(s, &c);
	r->accounted = xcap_capture_accounted(&c);
	r->delivered = c.delivered;
	r->cpu_copies = c.cpu_copies;
	snprintf(msg, msg_len, "%s", xcap_capture_drop_cause_name(XCAP_CAPTURE_DROP_RING_FULL));
	xcap_capture_destroy(s);
	return next == frames ? 0 : -2;
}

/* Record references from C: read on this thread, released in reverse
 * order; returns the number of references that did not check out. */
int xcap_c_api_refs(int16_t dev, uint16_t vchan, uint64_t frames, char *msg, size_t msg_len)
{
	struct xcap_capture_stream *s;
	struct xcap_capture_ref refs[4096];
	struct xcap_capture_record rec;
	uint64_t next = 0, spins = 0;
	unsigned held = 0, i;
	int bad = 0;

	s = open_stream(dev, &vchan, 64, 0, "c_refs", msg, msg_len);
	if (s == NULL)
		return -1;
	while (next < frames && spins++ < 400000000ull) {
		uint16_t n = xcap_capture_read_refs(s, refs + held, 32);
		for (i = held; i < held + n; i++, next++) {
			xcap_capture_ref_record(&refs[i], &rec);
			if (!payload_good(refs[i].data, refs[i].cap_len, next) ||
			    rec.wire_len != refs[i].cap_len || rec.data != refs[i].data || rec.ts_ns == 0)
				bad++;
		}
		held += n;
		if (held + 32 > 4096 || (n == 0 && held)) {
			/* release the newest first */
			while (held > 0) {
				held--;
				xcap_capture_release_refs(s, &refs[held], 1);
			}
		}
	}
	xcap_capture_release_refs(s, refs, held);
	xcap_capture_stop(s);
	if (next != frames)
		bad = -2;
	xcap_capture_destroy(s);
	return bad;
}

/* Whole buffers from C: the records read with xcap_capture_read_detached()
 * (on this thread, as another lcore would); of every third buffer only the
 * first record is read and the rest released unread as ring_full. A
 * back-pressured card loses nothing, so the next record's sequence number
 * is always (records read + records dropped). Returns the records that did
 * not check out, or -2 if the counters do not add up. */
int xcap_c_api_detached(int16_t dev, uint16_t vchan, uint64_t frames, char *msg, size_t msg_len)
{
	struct xcap_capture_stream *s;
	struct xcap_capture_buffer *b;
	struct xcap_capture_record recs[32];
	struct xcap_capture_counters c;
	uint64_t read = 0, dropped = 0, spins = 0, nbuf = 0;
	uint32_t n, i;
	int bad = 0;

	s = open_stream(dev, &vchan, 64, 0, "c_detached", msg, msg_len);
	if (s == NULL)
		return -1;
	while (read + dropped < frames && spins++ < 400000000ull) {
		b = xcap_capture_next_buffer(s);
		if (b == NULL)
			continue;
		if (nbuf++ % 3 == 2) {
			n = xcap_capture_read_detached(s, b, recs, 1);
			if (n == 1 && !payload_good(recs[0].data, recs[0].cap_len, read + dropped))
				bad++;
			read += n;
			xcap_capture_release_dropped(s, b, XCAP_CAPTURE_DROP_RING_FULL);
			xcap_capture_get_counters(s, &c);
			dropped = c.dropped[XCAP_CAPTURE_DROP_RING_FULL];
			continue;
		}
		while ((n = xcap_capture_read_detached(s, b, recs, 32)) != 0)
			for (i = 0; i < n; i++, read++)
				if (!payload_good(recs[i].data, recs[i].cap_len, read + dropped))
					bad++;
		xcap_capture_release(s, b);
	}
	xcap_capture_stop(s);
	while ((b = xcap_capture_next_buffer(s)) != NULL)
		xcap_capture_release(s, b);
	xcap_capture_get_counters(s, &c);
	snprintf(msg, msg_len, "read %llu, delivered %llu, ring_full %llu, accounted %llu",
		 (unsigned long long)read, (unsigned long long)c.delivered,
		 (unsigned long long)c.dropped[XCAP_CAPTURE_DROP_RING_FULL],
		 (unsigned long long)xcap_capture_accounted(&c));
	if (c.delivered != read || c.handed_out != read || dropped == 0 ||
	    xcap_capture_accounted(&c) != read + dropped || read + dropped != frames)
		bad = -2;
	xcap_capture_destroy(s);
	return bad;
}
