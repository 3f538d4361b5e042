/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * xcap-hil-card: the xcap card of the HIL guest, as a host process.
 *
 * QEMU gives the guest an ivshmem-plain PCI device (1af4:1110) whose BAR2 is
 * a host file (a memory-backend-file with share=on), and keeps the guest's
 * RAM in shared memory-backend-files too. This program maps both and runs the
 * same device model the vdev runs (lib/model, xcap::model::Card):
 *
 *   - the register window is the BAR file (at --bar-offset, normally 0), so
 *     the guest's PMD reads and writes the card's registers through its VFIO
 *     mmap of BAR2;
 *   - "host memory" is the guest's RAM: the card's IOMMU maps every guest
 *     physical address range that is RAM to where that range lives in the RAM
 *     files. The guest's DPDK runs with --iova-mode=pa, so the IOVAs the PMD
 *     puts in descriptors are guest-physical addresses.
 *
 * No model code runs in the guest; the guest sees a PCI device, binds it to
 * vfio-pci and drives it exactly as it would drive a real card.
 *
 * Guest-physical layout (x86 PC/q35): QEMU puts the RAM of the NUMA nodes one
 * after another (node 0's backend first) into one RAM block of the total size,
 * and maps its first "below-4G" bytes at GPA 0 and the rest at GPA 4 GiB
 * (above the PCI hole). q35 keeps everything below 4 GiB when the total is
 * under 2.75 GiB, else 2 GiB below (QEMU 7.2 hw/i386/pc_q35.c). --below-4g
 * overrides that rule; the harness checks the resulting map (--map-out)
 * against QEMU's own "info mtree -f" before the guest runs.
 *
 * usage: xcap-hil-card --bar FILE --ram ID=FILE [--ram ID=FILE ...]
 *                      [--bar-offset BYTES] [--below-4g BYTES]
 *                      [--copy-channels N] [--capture-channels N]
 *                      [--strict 0|1] [--ready-delay-ms N] [--quiesce-ms N]
 *                      [--caps-ops MASK] [--map-out FILE] [--ready-file FILE]
 *
 * The register window is shared memory: the model sees no reads and no
 * access widths, only what the guest stored when it next samples the window
 * (docs/model.md). It checks what it can see there (RO words overwritten,
 * configuration changed while enabled, the doorbell rules, descriptors and
 * placement in guest memory) and logs each violation on stderr; with
 * --strict 1 (the default) a violation makes the card Fatal, as on silicon.
 *
 * It runs until SIGTERM or SIGINT, then prints the card's per-channel
 * counters and the number of contract violations, and exits 0.
 */
#include <fcntl.h>
#include <time.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xcap_hw_defs.h"
#include "xcap_model.h"

namespace {

using namespace xcap;

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t k4G = 4 * kGiB;
constexpr uint64_t kPage = 4096;

[[noreturn]] void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("xcap-hil-card: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

uint64_t parse_u64(const char *opt, const char *s)
{
	char *end = nullptr;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		die("%s: not a number: '%s'", opt, s);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		die("%s: not a number: '%s'", opt, s);
	return v;
}

struct RamFile {
	std::string id, path;
	uint64_t size = 0;
	uint8_t *va = nullptr;
};

/* One guest-physical range that is RAM, and where it lives. */
struct Region {
	uint64_t gpa, len;
	size_t file; /* index into the RAM files */
	uint64_t off; /* offset in that file */
};

int open_sized(const std::string &path, uint64_t &size)
{
	int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("cannot open %s: %s", path.c_str(), strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0)
		die("cannot stat %s: %s", path.c_str(), strerror(errno));
	size = uint64_t(st.st_size);
	return fd;
}

/* Split [0, total) of the RAM block into guest-physical regions, and each of
 * those at the file boundaries. */
std::vector<Region> layout(const std::vector<RamFile> &files, uint64_t below4g)
{
	std::vector<Region> out;
	uint64_t base = 0; /* offset of files[i] in the RAM block */
	for (size_t i = 0; i < files.size(); i++) {
		const uint64_t b = base, e = base + files[i].size;
		/* the part below 4G: block offsets [0, below4g) at GPA = offset */
		if (b < below4g) {
			const uint64_t end = std::min(e, below4g);
			out.push_back({b, end - b, i, 0});
		}
		/* the part above: block offsets [below4g, total) at GPA 4G + ... */
		if (e > below4g) {
			const uint64_t start = std::max(b, below4g);
			out.push_back({k4G + (start - below4g), e - start, i, start - b});
		}
		base = e;
	}
	return out;
}

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

uint64_t reg64(const uint8_t *bar, uint32_t off)
{
	uint32_t lo, hi;
	memcpy(&lo, bar + off, 4);
	memcpy(&hi, bar + off + 4, 4);
	return uint64_t(hi) << 32 | lo;
}

} // namespace

int main(int argc, char **argv)
{
	std::string bar_path, map_out, ready_file;
	uint64_t bar_off = 0;
	std::optional<uint64_t> below4g_opt;
	std::vector<RamFile> files;
	model::CardConfig cfg;
	cfg.copy_channels = 1;
	cfg.capture_channels = 1; /* the same card the default vdev emulates */
	cfg.name = "xcap-hil";

	for (int i = 1; i < argc; i++) {
		const std::string a = argv[i];
		auto val = [&]() -> const char * {
			if (i + 1 >= argc)
				die("%s needs a value", a.c_str());
			return argv[++i];
		};
		if (a == "--bar") {
			bar_path = val();
		} else if (a == "--bar-offset") {
			bar_off = parse_u64("--bar-offset", val());
		} else if (a == "--ram") {
			const std::string v = val();
			const auto eq = v.find('=');
			if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
				die("--ram wants ID=FILE (the QEMU memory-backend id and its mem-path), got '%s'",
				    v.c_str());
			files.push_back({v.substr(0, eq), v.substr(eq + 1)});
		} else if (a == "--below-4g") {
			below4g_opt = parse_u64("--below-4g", val());
		} else if (a == "--copy-channels") {
			cfg.copy_channels = unsigned(parse_u64("--copy-channels", val()));
		} else if (a == "--capture-channels") {
			cfg.capture_channels = unsigned(parse_u64("--capture-channels", val()));
		} else if (a == "--strict") {
			const uint64_t v = parse_u64("--strict", val());
			if (v > 1)
				die("--strict wants 0 or 1, got %" PRIu64, v);
			cfg.strict = v == 1;
		} else if (a == "--ready-delay-ms") {
			cfg.ready_delay_ms = uint32_t(parse_u64("--ready-delay-ms", val()));
		} else if (a == "--quiesce-ms") {
			cfg.quiesce_ms = uint32_t(parse_u64("--quiesce-ms", val()));
		} else if (a == "--caps-ops") {
			cfg.caps_ops = uint32_t(parse_u64("--caps-ops", val()));
		} else if (a == "--map-out") {
			map_out = val();
		} else if (a == "--ready-file") {
			ready_file = val();
		} else if (a == "-h" || a == "--help") {
			printf("usage: %s --bar FILE --ram ID=FILE [--ram ID=FILE ...] [--bar-offset BYTES]\n"
			       "       [--below-4g BYTES] [--copy-channels N] [--capture-channels N]\n"
			       "       [--strict 0|1] [--ready-delay-ms N] [--quiesce-ms N] [--caps-ops MASK]\n"
			       "       [--map-out FILE] [--ready-file FILE]\n", argv[0]);
			return 0;
		} else {
			die("unknown argument '%s' (try --help)", a.c_str());
		}
	}
	if (bar_path.empty() || files.empty())
		die("--bar and at least one --ram are required (try --help)");

	/* The register window: the ivshmem BAR file. */
	uint64_t bar_size = 0;
	const int bar_fd = open_sized(bar_path, bar_size);
	if (bar_off % 8 || bar_off + hw::kBar0Size > bar_size)
		die("%s is %" PRIu64 " bytes: no room for the %zu-byte register window at offset "
		    "0x%" PRIx64 " (must be 8-byte aligned)", bar_path.c_str(), bar_size,
		    hw::kBar0Size, bar_off);
	auto *bar_map = static_cast<uint8_t *>(
		mmap(nullptr, bar_size, PROT_READ | PROT_WRITE, MAP_SHARED, bar_fd, 0));
	if (bar_map == MAP_FAILED)
		die("cannot map %s: %s", bar_path.c_str(), strerror(errno));
	close(bar_fd);
	uint8_t *bar0 = bar_map + bar_off;

	/* Guest RAM: the files one after another in one reserved VA range, the
	 * way QEMU stacks them into the RAM block, so a DMA that crosses from
	 * one node's memory into the next is still one contiguous host range. */
	uint64_t total = 0;
	std::vector<int> fds;
	for (auto &f : files) {
		fds.push_back(open_sized(f.path, f.size));
		if (f.size == 0 || f.size % kPage)
			die("RAM file %s is %" PRIu64 " bytes: not a whole number of pages",
			    f.path.c_str(), f.size);
		total += f.size;
	}
	auto *ram = static_cast<uint8_t *>(
		mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
	if (ram == MAP_FAILED)
		die("cannot reserve %" PRIu64 " bytes of address space: %s", total, strerror(errno));
	uint64_t off = 0;
	for (size_t i = 0; i < files.size(); i++) {
		void *p = mmap(ram + off, files[i].size, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, fds[i], 0);
		if (p == MAP_FAILED)
			die("cannot map %s: %s", files[i].path.c_str(), strerror(errno));
		files[i].va = ram + off;
		close(fds[i]);
		off += files[i].size;
	}

	/* q35's rule for the RAM below the PCI hole, unless told. */
	const uint64_t lowmem = total >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
	const uint64_t below4g = below4g_opt ? std::min(*below4g_opt, total) : std::min(total, lowmem);
	const std::vector<Region> regions = layout(files, below4g);

	model::Iommu iommu(cfg.addr_width);
	FILE *mf = nullptr;
	if (!map_out.empty() && (mf = fopen(map_out.c_str(), "w")) == nullptr)
		die("cannot write %s: %s", map_out.c_str(), strerror(errno));
	for (const Region &r : regions) {
		uint64_t gpa = r.gpa, len = r.len, foff = r.off;
		if (gpa == 0) { /* IOVA 0 is never mappable (HW §9): leave page 0 out */
			gpa += kPage;
			len -= kPage;
			foff += kPage;
		}
		const int rc = iommu.map(gpa, len, files[r.file].va + foff);
		if (rc != 0)
			die("IOMMU map of GPA 0x%" PRIx64 "+0x%" PRIx64 " failed: %s", gpa, len,
			    strerror(-rc));
		printf("xcap-hil-card: GPA [0x%09" PRIx64 ", 0x%09" PRIx64 ") -> %s (%s) +0x%" PRIx64
		       "\n", r.gpa, r.gpa + r.len, files[r.file].id.c_str(), files[r.file].path.c_str(),
		       r.off);
		if (mf)
			fprintf(mf, "0x%" PRIx64 " 0x%" PRIx64 " %s 0x%" PRIx64 "\n", r.gpa,
				r.gpa + r.len, files[r.file].id.c_str(), r.off);
	}
	if (mf && fclose(mf) != 0)
		die("cannot write %s: %s", map_out.c_str(), strerror(errno));

	std::unique_ptr<model::Card> card;
	try {
		card = std::make_unique<model::Card>(cfg, bar0, iommu);
	} catch (const std::exception &e) {
		die("invalid card configuration: %s", e.what());
	}
	if (const int rc = card->start(); rc != 0)
		die("cannot start the card's engine thread: %s", strerror(-rc));

	/* Handlers before announcing readiness: a stop request is never lost. */
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, nullptr);
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGHUP, &sa, nullptr);

	uint32_t id;
	memcpy(&id, bar0 + hw::reg::kId, 4);
	printf("xcap-hil-card: ready: register window at %s+0x%" PRIx64 " (id 0x%08x), %u copy + "
	       "%u capture channels, %" PRIu64 " MiB guest RAM in %zu file(s), below-4G 0x%" PRIx64
	       "\n", bar_path.c_str(), bar_off, id, cfg.copy_channels, cfg.capture_channels,
	       total >> 20, files.size(), below4g);
	fflush(stdout);
	if (!ready_file.empty()) {
		FILE *rf = fopen(ready_file.c_str(), "w");
		if (rf == nullptr)
			die("cannot write %s: %s", ready_file.c_str(), strerror(errno));
		fprintf(rf, "%d\n", int(getpid()));
		fclose(rf);
	}

	/* Sample the channel counters while the guest runs: the driver resets
	 * its channels when it closes the device, which zeroes them, so sum
	 * what each run reached (a sample every 50 ms: a lower bound). */
	const unsigned n = cfg.copy_channels + cfg.capture_channels;
	std::vector<uint64_t> last(n * 2, 0), sum(n * 2, 0);
	auto sample = [&]() {
		for (unsigned c = 0; c < n; c++) {
			const uint64_t v[2] = {reg64(bar0, hw::chan_reg(c, hw::reg::ch::kCntDescLo)),
					       reg64(bar0, hw::chan_reg(c, hw::reg::ch::kCntBytesLo))};
			for (unsigned k = 0; k < 2; k++) {
				if (v[k] < last[c * 2 + k])
					sum[c * 2 + k] += last[c * 2 + k];
				last[c * 2 + k] = v[k];
			}
		}
	};
	while (!g_stop) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, nullptr);
		sample();
	}
	sample();
	card->stop();
	for (unsigned c = 0; c < n; c++)
		printf("xcap-hil-card: channel %u (%s): %" PRIu64 " descriptors, %" PRIu64
		       " bytes written (at least)\n", c, c < cfg.copy_channels ? "copy" : "capture",
		       sum[c * 2] + last[c * 2], sum[c * 2 + 1] + last[c * 2 + 1]);
	printf("xcap-hil-card: %" PRIu64 " contract violation(s)%s\n", card->contract_violations(),
	       card->contract_violations() ? " (logged above; docs/model.md says what each rule is)" : "");
	printf("xcap-hil-card: stopped\n");
	card.reset();
	return 0;
}
