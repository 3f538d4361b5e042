/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * C API (xcap_capture.h) over the C++ one. No exception crosses it.
 */
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "xcap_capture.hpp"

using namespace xcap::capture;

struct xcap_capture_stream {
	std::unique_ptr<Stream> s;
};
struct xcap_capture_buffer; /* is a xcap::capture::Buffer */
struct xcap_pcapng {
	PcapngWriter w;
};

namespace {

Buffer *buf(xcap_capture_buffer *b) { return reinterpret_cast<Buffer *>(b); }

void set_err(char *err, size_t len, const std::string &m)
{
	if (err != nullptr && len > 0)
		snprintf(err, len, "%s", m.c_str());
}

} // namespace

extern "C" {

const char *xcap_capture_drop_cause_name(enum xcap_capture_drop_cause cause)
{
	static const char *const names[XCAP_CAPTURE_DROP_CAUSES] = {
		"no_buffer", "overrun", "ring_full", "tx_full", "filtered", "malformed",
		"channel_failed",
	};
	return unsigned(cause) < XCAP_CAPTURE_DROP_CAUSES ? names[cause] : "unknown";
}

void xcap_capture_config_init(struct xcap_capture_config *cfg)
{
	const StreamConfig d;
	std::memset(cfg, 0, sizeof(*cfg));
	cfg->dev_id = -1;
	cfg->manage_device = 1;
	cfg->buffer_size = d.buffer_size;
	cfg->nb_buffers = d.nb_buffers;
	cfg->numa_node = -1;
	cfg->mbuf_cache = d.mbuf_cache;
	cfg->mbuf_port = d.mbuf_port;
	cfg->completion_burst = d.completion_burst;
	cfg->name = "xcap_cap";
}

struct xcap_capture_stream *xcap_capture_create(const struct xcap_capture_config *cfg, char *err,
						size_t err_len)
{
	if (cfg == nullptr || (cfg->nb_vchans && cfg->vchans == nullptr)) {
		set_err(err, err_len, "no configuration or no vchans");
		return nullptr;
	}
	try {
		StreamConfig c;
		c.dev_id = cfg->dev_id;
		c.vchans.assign(cfg->vchans, cfg->vchans + cfg->nb_vchans);
		c.manage_device = cfg->manage_device != 0;
		c.buffer_size = cfg->buffer_size;
		c.nb_buffers = cfg->nb_buffers;
		c.posted_per_vchan = cfg->posted_per_vchan;
		c.numa_node = cfg->numa_node;
		c.snaplen = cfg->snaplen;
		c.nb_mbufs = cfg->nb_mbufs;
		c.mbuf_cache = cfg->mbuf_cache;
		c.mbuf_port = cfg->mbuf_port;
		c.completion_burst = cfg->completion_burst;
		if (cfg->filter != nullptr) {
			const xcap_capture_filter_t f = cfg->filter;
			void *arg = cfg->filter_arg;
			c.filter = [f, arg](const Record &r) {
				return f(reinterpret_cast<const xcap_capture_record *>(&r), arg) != 0;
			};
		}
		if (cfg->name != nullptr)
			c.name = cfg->name;
		std::string e;
		auto s = Stream::create(c, e);
		if (!s) {
			set_err(err, err_len, e);
			return nullptr;
		}
		return new xcap_capture_stream{std::move(s)};
	} catch (const std::exception &ex) {
		set_err(err, err_len, ex.what());
		return nullptr;
	}
}

void xcap_capture_destroy(struct xcap_capture_stream *s)
{
	delete s;
}

int xcap_capture_start(struct xcap_capture_stream *s) { return s->s->start(); }
int xcap_capture_stop(struct xcap_capture_stream *s) { return s->s->stop(); }
void xcap_capture_request_stop(struct xcap_capture_stream *s) { s->s->request_stop(); }
int xcap_capture_poll(struct xcap_capture_stream *s) { return s->s->poll(); }
int xcap_capture_drained(const struct xcap_capture_stream *s) { return s->s->drained(); }

uint16_t xcap_capture_read(struct xcap_capture_stream *s, struct xcap_capture_record *recs,
			   uint16_t n)
{
	return s->s->read(reinterpret_cast<Record *>(recs), n);
}

uint16_t xcap_capture_read_refs(struct xcap_capture_stream *s, struct xcap_capture_ref *refs,
				uint16_t n)
{
	return s->s->read_refs(reinterpret_cast<RecordRef *>(refs), n);
}

void xcap_capture_release_refs(const struct xcap_capture_stream *s,
			       const struct xcap_capture_ref *refs, unsigned n)
{
	s->s->release_refs(reinterpret_cast<const RecordRef *>(refs), n);
}

void xcap_capture_ref_record(const struct xcap_capture_ref *ref, struct xcap_capture_record *rec)
{
	const Record r = ref_record(*reinterpret_cast<const RecordRef *>(ref));
	std::memcpy(rec, &r, sizeof r);
}

uint16_t xcap_capture_rx_burst(struct xcap_capture_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	return s->s->rx_burst(pkts, n);
}

int xcap_capture_mbuf_info(const struct rte_mbuf *m, uint64_t *ts_ns, uint16_t *channel,
			   uint32_t *wire_len)
{
	if (!is_capture_mbuf(m))
		return -EINVAL;
	const MbufMeta meta = mbuf_meta(m);
	if (ts_ns != nullptr)
		*ts_ns = mbuf_timestamp(m);
	if (channel != nullptr)
		*channel = meta.channel;
	if (wire_len != nullptr)
		*wire_len = meta.wire_len;
	return 0;
}

struct xcap_capture_buffer *xcap_capture_next_buffer(struct xcap_capture_stream *s)
{
	return reinterpret_cast<xcap_capture_buffer *>(s->s->next_buffer());
}

uint32_t xcap_capture_buffer_records(struct xcap_capture_stream *s, struct xcap_capture_buffer *b,
				     struct xcap_capture_record *recs, uint32_t n)
{
	return s->s->buffer_records(buf(b), reinterpret_cast<Record *>(recs), n);
}

void xcap_capture_release(struct xcap_capture_stream *s, struct xcap_capture_buffer *b)
{
	s->s->release(buf(b));
}

uint32_t xcap_capture_read_detached(const struct xcap_capture_stream *s,
				    struct xcap_capture_buffer *b, struct xcap_capture_record *recs,
				    uint32_t n)
{
	return s->s->read_detached(buf(b), reinterpret_cast<Record *>(recs), n);
}

void xcap_capture_release_dropped(struct xcap_capture_stream *s, struct xcap_capture_buffer *b,
				  enum xcap_capture_drop_cause unread_cause)
{
	s->s->release(buf(b), unsigned(unread_cause) < XCAP_CAPTURE_DROP_CAUSES ?
				      DropCause(unread_cause) : DropCause::Filtered);
}

void xcap_capture_count_dropped(struct xcap_capture_stream *s, enum xcap_capture_drop_cause cause,
				uint64_t n)
{
	if (unsigned(cause) < XCAP_CAPTURE_DROP_CAUSES)
		s->s->count_dropped(DropCause(cause), n);
}

void xcap_capture_count_copy(struct xcap_capture_stream *s, uint64_t n) { s->s->count_copy(n); }

void xcap_capture_get_counters(const struct xcap_capture_stream *s,
			       struct xcap_capture_counters *c)
{
	*c = s->s->counters();
}

uint64_t xcap_capture_accounted(const struct xcap_capture_counters *c)
{
	uint64_t t = c->delivered;
	for (unsigned i = 0; i < XCAP_CAPTURE_DROP_CAUSES; i++)
		t += c->dropped[i];
	return t;
}

struct xcap_pcapng *xcap_pcapng_open(const char *path, uint16_t channels, const char *if_prefix,
				     uint32_t snaplen, int64_t ts_offset_ns, char *err,
				     size_t err_len)
{
	try {
		auto *w = new xcap_pcapng;
		std::vector<std::string> names;
		for (uint16_t i = 0; i < channels; i++)
			names.push_back(std::string(if_prefix ? if_prefix : "xcap") +
					std::to_string(i));
		std::string e;
		if (!w->w.open(path ? path : "", names, snaplen, ts_offset_ns, e)) {
			set_err(err, err_len, e);
			delete w;
			return nullptr;
		}
		return w;
	} catch (const std::exception &ex) {
		set_err(err, err_len, ex.what());
		return nullptr;
	}
}

int64_t xcap_pcapng_write_buffer(struct xcap_pcapng *w, struct xcap_capture_stream *s,
				 struct xcap_capture_buffer *b)
{
	return write_buffer(w->w, *s->s, buf(b));
}

int xcap_pcapng_close(struct xcap_pcapng *w)
{
	if (w == nullptr)
		return 0;
	const int rc = w->w.close();
	delete w;
	return rc;
}

} // extern "C"
