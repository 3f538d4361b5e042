/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-fwd statistics: the live line, the final summary with the accounting
 * check, and --stats-json.
 *
 * `generated` comes from the card, never from us: for the emulated card the
 * device model's generator counters (model::Card::capture_counters through
 * xcap::emu_card); for a PCI card its per-channel record and loss counters
 * (the registers CntRec + CntLost + CntOvr, which the PMD prints in
 * rte_dma_dump: the dmadev API has no other way to them). Everything else
 * is counted from the buffer headers and by the stream.
 */
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <rte_cycles.h>
#include <rte_dmadev.h>

#include "fwd.h"

namespace xcap::fwd {
namespace {

std::string human(double v)
{
	char b[32];
	if (v >= 1e9)
		snprintf(b, sizeof b, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(b, sizeof b, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(b, sizeof b, "%.1fk", v / 1e3);
	else
		snprintf(b, sizeof b, "%.0f", v);
	return b;
}

/* Card counters of capture vchan v from rte_dma_dump (PCI cards). */
bool dump_counters(int16_t dev, uint16_t vchan, uint64_t &records, uint64_t &lost_nb,
		   uint64_t &lost_ovr)
{
	bool found = false;
	std::istringstream in(dump_text(dev));
	std::string line;
	const std::string head = "  vchan " + std::to_string(vchan) + " (capture)";
	bool in_vchan = false;
	while (std::getline(in, line)) {
		if (line.rfind("  vchan ", 0) == 0)
			in_vchan = line.rfind(head, 0) == 0;
		if (!in_vchan)
			continue;
		const size_t at = line.find(" records ");
		if (at == std::string::npos)
			continue;
		if (sscanf(line.c_str() + at, " records %" SCNu64 " lost (no buffer) %" SCNu64
			   " lost (overrun) %" SCNu64, &records, &lost_nb, &lost_ovr) == 3)
			found = true;
	}
	return found;
}

} // namespace

std::string dump_text(int16_t dev)
{
	char *text = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == nullptr)
		return "";
	rte_dma_dump(dev, f);
	fclose(f);
	std::string out(text ? text : "");
	free(text);
	return out;
}

bool card_generated(Ctx &x, std::vector<uint64_t> &by_channel, uint64_t *card_lost)
{
	by_channel.assign(x.channels(), 0);
	uint64_t lost = 0;
	if (x.card != nullptr) {
		for (uint16_t ch = 0; ch < x.channels(); ch++) {
			/* since power-on: a stream that restarted the device to recover
			 * a failed channel went through several enables */
			const auto k = x.card->capture_totals(x.cap_index[ch]);
			by_channel[ch] = k.generated;
			lost += k.lost_no_buffer + k.lost_overrun;
		}
	} else {
		for (uint16_t ch = 0; ch < x.channels(); ch++) {
			uint64_t r = 0, nb = 0, ovr = 0;
			if (!dump_counters(x.dev, x.vchans[ch], r, nb, ovr))
				return false;
			by_channel[ch] = r + nb + ovr;
			lost += nb + ovr;
		}
	}
	if (card_lost != nullptr)
		*card_lost = lost;
	return true;
}

Totals compute_totals(Ctx &x)
{
	Totals t;
	t.c = x.stream->counters();
	uint64_t card_lost = 0;
	t.generated_known = card_generated(x, t.generated_by_channel, &card_lost);
	const uint64_t header_lost = t.c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER] +
				     t.c.dropped[XCAP_CAPTURE_DROP_OVERRUN];
	t.lost_unreported = card_lost > header_lost ? card_lost - header_lost : 0;
	for (uint64_t g : t.generated_by_channel)
		t.generated += g;
	for (unsigned i = 0; i < capture::kDropCauses; i++)
		t.dropped_total += t.c.dropped[i];
	t.accounted = t.c.delivered + t.dropped_total;
	t.balanced = t.generated_known && t.generated == t.accounted;
	const uint64_t end = x.stop_tsc ? x.stop_tsc : rte_rdtsc();
	t.seconds = double(end - x.start_tsc) / double(x.tsc_hz);
	uint64_t total = 0;
	for (unsigned i = 0; i <= Ctx::kCppBuckets; i++)
		total += x.cpp_hist[i];
	if (total) {
		uint64_t acc = 0;
		for (unsigned i = 0; i <= Ctx::kCppBuckets; i++) {
			acc += x.cpp_hist[i];
			if (acc * 2 >= total) {
				t.cpp_median = i;
				break;
			}
		}
	}
	const uint64_t pk = x.fwd_packets.get();
	t.cpp_mean = pk ? double(x.fwd_busy_cycles.get()) / double(pk) : 0;

	const bool checks = (x.opt.output == Output::Workers || x.opt.output == Output::Inline);
	if (checks && x.opt.check == Check::Verify) {
		t.verified = true;
		std::vector<uint64_t> seen(x.channels(), 0), max_seq(x.channels(), 0);
		std::vector<bool> any(x.channels(), false);
		for (const auto &w : x.wstats) {
			t.v_records += w->records.get();
			t.v_payload += w->payload_errors.get();
			t.v_order += w->order_errors.get();
			t.v_unreported += w->unreported_gaps.get();
			t.v_short += w->short_records.get();
			for (uint16_t ch = 0; ch < x.channels(); ch++) {
				seen[ch] += w->chan[ch].records;
				if (w->chan[ch].any) {
					max_seq[ch] = any[ch] ? std::max(max_seq[ch], w->chan[ch].max_seq)
							      : w->chan[ch].max_seq;
					any[ch] = true;
				}
			}
		}
		/* per channel: every frame either seen by a checker or counted as
		 * not delivered, and none beyond what the card generated */
		for (uint16_t ch = 0; ch < x.channels(); ch++) {
			const uint64_t undelivered = x.stream->undelivered(ch) + x.app_dropped[ch].load();
			if (t.generated_known && (seen[ch] + undelivered != t.generated_by_channel[ch] ||
						  (any[ch] && max_seq[ch] >= t.generated_by_channel[ch])))
				t.v_channel_mismatch++;
		}
	}
	return t;
}

void print_live(Ctx &x, uint64_t now)
{
	const capture::Counters c = x.stream->counters();
	const double dt = x.last_stats_tsc ? double(now - x.last_stats_tsc) / double(x.tsc_hz) : 0;
	const double secs = double(now - x.start_tsc) / double(x.tsc_hz);
	double pps = 0, bps = 0;
	if (dt > 0) {
		pps = double(c.handed_out - x.last_counters.handed_out) / dt;
		bps = double(c.bytes - x.last_counters.bytes) * 8 / dt;
	}
	x.last_counters = c;
	x.last_stats_tsc = now;
	if (dt <= 0)
		return;
	printf("[%7.1f s] %7.3f Mpps %7.3f Gbit/s | delivered %s | dropped no_buffer %" PRIu64
	       " overrun %" PRIu64 " ring_full %" PRIu64 " tx_full %" PRIu64 " filtered %" PRIu64
	       " malformed %" PRIu64 " channel_failed %" PRIu64 " | buffers posted %u in use %u "
	       "ready %u free %u\n",
	       secs, pps / 1e6, bps / 1e9, human(double(c.delivered)).c_str(),
	       c.dropped[XCAP_CAPTURE_DROP_NO_BUFFER], c.dropped[XCAP_CAPTURE_DROP_OVERRUN],
	       c.dropped[XCAP_CAPTURE_DROP_RING_FULL], c.dropped[XCAP_CAPTURE_DROP_TX_FULL],
	       c.dropped[XCAP_CAPTURE_DROP_FILTERED], c.dropped[XCAP_CAPTURE_DROP_MALFORMED],
	       c.dropped[XCAP_CAPTURE_DROP_CHANNEL_FAILED], c.posted_now, c.in_use_now, c.completed_now, c.free_now);
	fflush(stdout);
}

static const char *output_name(const Ctx &x)
{
	switch (x.opt.output) {
	case Output::Workers: return "workers";
	case Output::Port: return "port";
	case Output::Pcapng: return "pcapng";
	case Output::Inline: return "inline";
	}
	return "?";
}

void print_summary(Ctx &x, const Totals &t)
{
	const capture::Counters &c = t.c;
	printf("\nxcap-fwd summary: %s, %u channel%s, output %s, %.3f s\n", x.dev_name.c_str(),
	       x.channels(), x.channels() == 1 ? "" : "s", output_name(x), t.seconds);
	if (t.generated_known)
		printf("  generated (card)   %16" PRIu64 "\n", t.generated);
	else
		printf("  generated (card)   %16s  (the card's counters are not readable)\n", "?");
	printf("  delivered          %16" PRIu64 "\n", c.delivered);
	printf("  dropped            %16" PRIu64 "  (", t.dropped_total);
	for (unsigned i = 0; i < capture::kDropCauses; i++)
		printf("%s%s %" PRIu64, i ? ", " : "", capture::drop_cause_name(capture::DropCause(i)),
		       c.dropped[i]);
	printf(")\n");
	if (t.generated_known)
		printf("  generated == delivered + dropped: %" PRIu64 " %s %" PRIu64 " + %" PRIu64
		       "  %s\n", t.generated, t.balanced ? "==" : "!=", c.delivered, t.dropped_total,
		       t.balanced ? "OK" : "MISMATCH");
	if (!t.balanced && t.generated_known) {
		printf("  unaccounted        %16" PRId64 "  (generated - delivered - dropped)\n",
		       int64_t(t.generated - t.accounted));
		if (t.lost_unreported)
			printf("                     %16" PRIu64 "  of them lost by the card while no buffer "
			       "was posted, up to the stop: in its counters, in no buffer header "
			       "(the consumer could not keep up)\n", t.lost_unreported);
	}
	const double pps = t.seconds > 0 ? double(c.handed_out) / t.seconds : 0;
	const double bps = t.seconds > 0 ? double(c.bytes) * 8 / t.seconds : 0;
	const uint64_t pk = x.fwd_packets.get();
	printf("  rate               %10.3f Mpps %.3f Gbit/s (captured bytes)\n", pps / 1e6, bps / 1e9);
	printf("  forwarding lcore   %10.0f cycles/packet median over bursts (mean %.1f, preemption "
	       "included; %" PRIu64 " packets, %.1f per burst)\n", t.cpp_median, t.cpp_mean, pk,
	       x.fwd_bursts.get() ? double(pk) / double(x.fwd_bursts.get()) : 0.0);
	printf("  cpu_copies         %16" PRIu64 "\n", c.cpu_copies);
	printf("  channel health     failures %" PRIu64 ", restarts %" PRIu64 ", card gone %" PRIu64
	       "; from the card's counters at stop/restart %" PRIu64 " (included above)\n",
	       c.channel_failures, c.channel_restarts, c.card_gone, c.counter_reconciled);
	printf("  buffers            posted %" PRIu64 ", completed %" PRIu64 ", aborted at stop %"
	       PRIu64 ", failed %" PRIu64 ", malformed %" PRIu64 ", sequence errors %" PRIu64
	       "; %u x %u B on node %d\n", c.buffers_posted, c.buffers_completed,
	       c.buffers_aborted, c.buffers_failed, c.buffers_malformed, c.buffer_seq_errors,
	       x.stream->nb_buffers(), x.stream->config().buffer_size, x.stream->numa_node());
	if (x.opt.output == Output::Port)
		printf("  port %s            sent %" PRIu64 ", looped back %" PRIu64 "\n",
		       x.port_name.c_str(), x.tx_sent.get(), x.tx_looped.get());
	if (x.opt.output == Output::Pcapng)
		printf("  pcapng %s: %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " writev calls\n",
		       x.opt.pcapng.c_str(), x.pcap.packets(), x.pcap.file_bytes(),
		       x.pcap.writev_calls());
	if (t.verified)
		printf("  verify             %" PRIu64 " records: payload errors %" PRIu64
		       ", order errors %" PRIu64 ", unreported gaps %" PRIu64 ", short %" PRIu64
		       ", channels not adding up %" PRIu64 "  %s\n", t.v_records, t.v_payload,
		       t.v_order, t.v_unreported, t.v_short, t.v_channel_mismatch,
		       (t.v_payload | t.v_order | t.v_unreported | t.v_channel_mismatch) == 0 &&
				       t.v_records == c.delivered ? "OK" : "FAILED");
	fflush(stdout);
}

bool write_json(Ctx &x, const Totals &t, std::string &err)
{
	FILE *f = fopen(x.opt.stats_json.c_str(), "w");
	if (f == nullptr) {
		err = "cannot write " + x.opt.stats_json + ": " + strerror(errno);
		return false;
	}
	const capture::Counters &c = t.c;
	fprintf(f, "{\n");
	fprintf(f, "  \"card\": \"%s\",\n  \"channels\": %u,\n  \"output\": \"%s\",\n",
		x.dev_name.c_str(), x.channels(), output_name(x));
	fprintf(f, "  \"seconds\": %.6f,\n", t.seconds);
	if (t.generated_known)
		fprintf(f, "  \"generated\": %" PRIu64 ",\n", t.generated);
	else
		fprintf(f, "  \"generated\": null,\n");
	fprintf(f, "  \"delivered\": %" PRIu64 ",\n  \"dropped\": {", c.delivered);
	for (unsigned i = 0; i < capture::kDropCauses; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "",
			capture::drop_cause_name(capture::DropCause(i)), c.dropped[i]);
	fprintf(f, "},\n  \"dropped_total\": %" PRIu64 ",\n", t.dropped_total);
	fprintf(f, "  \"balanced\": %s,\n", t.balanced ? "true" : "false");
	fprintf(f, "  \"cpu_copies\": %" PRIu64 ",\n", c.cpu_copies);
	fprintf(f, "  \"channel_health\": {\"failures\": %" PRIu64 ", \"restarts\": %" PRIu64
		", \"card_gone\": %" PRIu64 ", \"counter_reconciled\": %" PRIu64 "},\n",
		c.channel_failures, c.channel_restarts, c.card_gone, c.counter_reconciled);
	fprintf(f, "  \"records\": %" PRIu64 ",\n  \"bytes\": %" PRIu64 ",\n  \"handed_out\": %"
		PRIu64 ",\n", c.records, c.bytes, c.handed_out);
	fprintf(f, "  \"generated_by_channel\": [");
	for (size_t i = 0; i < t.generated_by_channel.size(); i++)
		fprintf(f, "%s%" PRIu64, i ? ", " : "", t.generated_by_channel[i]);
	fprintf(f, "],\n");
	fprintf(f, "  \"buffers\": {\"pool\": %u, \"size\": %u, \"posted\": %" PRIu64
		", \"completed\": %" PRIu64 ", \"aborted\": %" PRIu64 ", \"failed\": %" PRIu64
		", \"malformed\": %" PRIu64 ", \"sequence_errors\": %" PRIu64 "},\n",
		x.stream->nb_buffers(), x.stream->config().buffer_size, c.buffers_posted,
		c.buffers_completed, c.buffers_aborted, c.buffers_failed, c.buffers_malformed,
		c.buffer_seq_errors);
	const uint64_t pk = x.fwd_packets.get();
	fprintf(f, "  \"rate_mpps\": %.6f,\n  \"rate_gbps\": %.6f,\n",
		t.seconds > 0 ? double(c.handed_out) / t.seconds / 1e6 : 0.0,
		t.seconds > 0 ? double(c.bytes) * 8 / t.seconds / 1e9 : 0.0);
	fprintf(f, "  \"fwd_cycles_per_packet\": %.0f,\n  \"fwd_cycles_per_packet_mean\": %.3f,\n"
		"  \"fwd_packets\": %" PRIu64 ",\n", t.cpp_median, t.cpp_mean, pk);
	fprintf(f, "  \"fwd_wait_cycles\": %" PRIu64 ",\n", x.fwd_wait_cycles.get());
	fprintf(f, "  \"tsc_hz\": %" PRIu64 ",\n", x.tsc_hz);
	if (x.opt.output == Output::Port)
		fprintf(f, "  \"tx\": {\"port\": \"%s\", \"sent\": %" PRIu64 ", \"looped\": %" PRIu64
			"},\n", x.port_name.c_str(), x.tx_sent.get(), x.tx_looped.get());
	if (x.opt.output == Output::Pcapng)
		fprintf(f, "  \"pcapng\": {\"file\": \"%s\", \"packets\": %" PRIu64 ", \"bytes\": %"
			PRIu64 ", \"writev_calls\": %" PRIu64 "},\n", x.opt.pcapng.c_str(),
			x.pcap.packets(), x.pcap.file_bytes(), x.pcap.writev_calls());
	if (t.verified)
		fprintf(f, "  \"verify\": {\"records\": %" PRIu64 ", \"payload_errors\": %" PRIu64
			", \"order_errors\": %" PRIu64 ", \"unreported_gaps\": %" PRIu64
			", \"short_records\": %" PRIu64 ", \"channel_mismatches\": %" PRIu64 "},\n",
			t.v_records, t.v_payload, t.v_order, t.v_unreported, t.v_short,
			t.v_channel_mismatch);
	fprintf(f, "  \"card_lost_unreported\": %" PRIu64 ",\n", t.lost_unreported);
	fprintf(f, "  \"unaccounted\": %" PRId64 "\n}\n",
		t.generated_known ? int64_t(t.generated - t.accounted) : 0);
	if (fclose(f) != 0) {
		err = "cannot write " + x.opt.stats_json + ": " + strerror(errno);
		return false;
	}
	return true;
}

} // namespace xcap::fwd
