/* SPDX-License-Identifier: BSD-3-Clause
 *
 * xcap-copy: the interim main job. A verified memory-to-memory copy workload
 * on any dmadev, through the public rte_dma_* API only.
 *
 *   xcap-copy <EAL args> -- [--seconds N] [--size BYTES] [--burst N]
 *                           [--ring N] [--dev NAME] [--vchan N]
 *
 * Every copy's source is filled with a pattern derived from the operation's
 * sequence number, every completed copy is compared byte for byte with its
 * source, and buffers are recycled in completion order. Exit status: 0 only
 * if copies completed and none failed or mismatched; 2 for a bad option;
 * 1 for anything else.
 */
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

namespace {

constexpr const char *kProg = "xcap-copy";

/* Option ranges that do not depend on the device. */
constexpr uint64_t kMaxSeconds = 86400;
constexpr uint64_t kMaxSize = 16u << 20; /* 16 MiB per copy */
constexpr uint64_t kMaxBurst = 1024;
/* How long to wait for in-flight copies after the run ends. */
constexpr double kDrainSeconds = 2.0;

struct Options {
    uint64_t seconds = 10;
    uint64_t size = 4096;
    uint64_t burst = 32;
    uint64_t ring = 1024;
    bool ring_set = false;
    std::string dev;
    uint64_t vchan = 0;
};

std::atomic<bool> g_stop{false};

void on_signal(int sig)
{
    g_stop.store(true, std::memory_order_relaxed);
    /* A second Ctrl-C ends the process the hard way. */
    std::signal(sig, SIG_DFL);
}

void usage(FILE *out)
{
    std::fprintf(out,
        "usage: %s <EAL args> -- [options]\n"
        "  --seconds N     run time, 1..%" PRIu64 " (default 10)\n"
        "  --size BYTES    bytes per copy, 1..%" PRIu64 " (default 4096)\n"
        "  --burst N       copies enqueued per submit, 1..min(%" PRIu64 ", ring) (default 32)\n"
        "  --ring N        descriptors in the vchan ring, the device's min_desc..max_desc\n"
        "                  (default 1024, clamped to the device's range)\n"
        "  --dev NAME      dmadev to use (default: first dma_xcap*, else the first dmadev)\n"
        "  --vchan N       vchan to run on, 0..max_vchans-1 (default 0)\n"
        "  --help          this text\n"
        "example: %s -l 0-1 --in-memory --iova-mode=va --no-pci "
        "--vdev=dma_xcap_emu0,copy_channels=1 -- --seconds 5\n",
        kProg, kMaxSeconds, kMaxSize, kMaxBurst, kProg);
}

[[noreturn]] void bad_option(const char *fmt, const char *opt, const std::string &detail)
{
    std::fprintf(stderr, "%s: ", kProg);
    std::fprintf(stderr, fmt, opt, detail.c_str());
    std::fprintf(stderr, "\n(run with -- --help for the options)\n");
    /* EAL is initialised by now: release hugepage files etc. before leaving. */
    rte_eal_cleanup();
    std::exit(2);
}

/* Strict unsigned decimal parse: digits only, no sign, no trailing junk. */
bool parse_u64(const char *s, uint64_t &out)
{
    if (s == nullptr || *s == '\0')
        return false;
    for (const char *p = s; *p; ++p)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    char *end = nullptr;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    out = v;
    return true;
}

void parse_number(const char *opt, const char *val, uint64_t lo, uint64_t hi, uint64_t &out)
{
    uint64_t v = 0;
    if (!parse_u64(val, v) || v < lo || v > hi) {
        std::string range = std::to_string(lo) + ".." + std::to_string(hi);
        bad_option("%s must be an integer in %s", opt,
                   range + " (got '" + (val ? val : "") + "')");
    }
    out = v;
}

Options parse_args(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--")
            continue;
        if (arg == "--help" || arg == "-h") {
            usage(stdout);
            rte_eal_cleanup();
            std::exit(0);
        }
        if (arg.substr(0, 2) != "--")
            bad_option("unexpected argument '%s'%s", argv[i], "");

        std::string name(arg);
        const char *val = nullptr;
        if (auto eq = name.find('='); eq != std::string::npos) {
            val = argv[i] + eq + 1;
            name.resize(eq);
        }
        auto need_value = [&]() -> const char * {
            if (val != nullptr)
                return val;
            if (i + 1 >= argc)
                bad_option("%s needs a value%s", name.c_str(), "");
            return argv[++i];
        };

        if (name == "--seconds")
            parse_number("--seconds", need_value(), 1, kMaxSeconds, o.seconds);
        else if (name == "--size")
            parse_number("--size", need_value(), 1, kMaxSize, o.size);
        else if (name == "--burst")
            parse_number("--burst", need_value(), 1, kMaxBurst, o.burst);
        else if (name == "--ring") {
            /* The device's min_desc..max_desc is checked once it is known. */
            parse_number("--ring", need_value(), 1, UINT32_MAX, o.ring);
            o.ring_set = true;
        } else if (name == "--dev") {
            o.dev = need_value();
            if (o.dev.empty())
                bad_option("%s needs a dmadev name%s", "--dev", "");
        } else if (name == "--vchan")
            parse_number("--vchan", need_value(), 0, UINT16_MAX - 1, o.vchan);
        else
            bad_option("unknown option '%s'%s", name.c_str(), "");
    }
    return o;
}

std::string dev_list()
{
    std::string s;
    int16_t id;
    RTE_DMA_FOREACH_DEV(id) {
        rte_dma_info info{};
        if (rte_dma_info_get(id, &info) == 0 && info.dev_name != nullptr) {
            if (!s.empty())
                s += ", ";
            s += info.dev_name;
        }
    }
    return s.empty() ? std::string("none") : s;
}

int16_t pick_device(const std::string &want)
{
    if (!want.empty()) {
        int id = rte_dma_get_dev_id_by_name(want.c_str());
        if (id < 0)
            bad_option("%s: no dmadev named %s", "--dev",
                       "'" + want + "' (available: " + dev_list() + ")");
        return static_cast<int16_t>(id);
    }
    int16_t first = -1, id;
    RTE_DMA_FOREACH_DEV(id) {
        rte_dma_info info{};
        if (rte_dma_info_get(id, &info) != 0)
            continue;
        if (first < 0)
            first = id;
        if (info.dev_name != nullptr && std::strncmp(info.dev_name, "dma_xcap", 8) == 0)
            return id;
    }
    return first;
}

/* Per-op source pattern: 64-bit words of a mix of the op's sequence number
 * and the word index, so no two ops (and no two words) look alike. */
inline uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

inline void fill_pattern(uint8_t *p, size_t len, uint64_t seq)
{
    const uint64_t base = mix64(seq);
    size_t words = len / 8;
    for (size_t w = 0; w < words; ++w) {
        uint64_t v = base ^ (w * 0xd6e8feb86659fd93ull);
        std::memcpy(p + w * 8, &v, 8);
    }
    if (size_t tail = len % 8; tail != 0) {
        uint64_t v = base ^ (words * 0xd6e8feb86659fd93ull);
        std::memcpy(p + words * 8, &v, tail);
    }
}

struct Buffer {
    uint8_t *src = nullptr;
    uint8_t *dst = nullptr;
    rte_iova_t src_iova = 0;
    rte_iova_t dst_iova = 0;
    uint16_t ring_idx = 0; /* the ring index rte_dma_copy returned */
};

size_t pow2_at_least(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* IOVA of a buffer, refusing one that is not IOVA-contiguous (possible in
 * PA mode for buffers larger than a hugepage). */
bool buffer_iova(const void *p, size_t len, rte_iova_t &iova)
{
    iova = rte_mem_virt2iova(p);
    if (iova == RTE_BAD_IOVA)
        return false;
    if (rte_eal_iova_mode() == RTE_IOVA_VA)
        return true;
    const uint8_t *b = static_cast<const uint8_t *>(p);
    const size_t pg = 4096;
    for (size_t off = pg - (reinterpret_cast<uintptr_t>(b) % pg); off < len; off += pg)
        if (rte_mem_virt2iova(b + off) != iova + off)
            return false;
    return true;
}

double now_s()
{
    return static_cast<double>(rte_get_timer_cycles()) / static_cast<double>(rte_get_timer_hz());
}

void print_rate(const char *label, double secs, uint64_t ops, uint64_t size)
{
    double mops = secs > 0 ? ops / secs / 1e6 : 0.0;
    double gbit = secs > 0 ? ops * static_cast<double>(size) * 8.0 / secs / 1e9 : 0.0;
    std::printf("%s%.3f Mops  %.2f Gbit/s", label, mops, gbit);
}

} // namespace

int main(int argc, char **argv)
{
    int eal = rte_eal_init(argc, argv);
    if (eal < 0) {
        int err = rte_errno;
        std::fprintf(stderr, "%s: EAL initialisation failed: %s\n", kProg, rte_strerror(err));
        if (err == ENOMEM || err == EACCES)
            std::fprintf(stderr, "%s: are hugepages reserved? (usertools/xcap-quickstart build "
                         "reserves them; or: echo 1024 > /proc/sys/vm/nr_hugepages)\n", kProg);
        if (err == ENODEV)
            std::fprintf(stderr, "%s: a --vdev or -a device has no driver: xcap-copy links the "
                         "xcap PMD in only when the build has it (build/drivers/); other "
                         "programs need -d build/drivers/librte_dma_xcap.so\n", kProg);
        return err == EINVAL ? 2 : 1;
    }
    argc -= eal;
    argv += eal;
    Options opt = parse_args(argc, argv);

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    if (rte_dma_count_avail() == 0) {
        std::fprintf(stderr, "%s: no dmadev found: pass one to EAL, e.g. "
                     "--vdev=dma_xcap_emu0,copy_channels=1 (emulated card), "
                     "--vdev=dma_skeleton (software), or -a <bdf> for a card bound to vfio-pci\n",
                     kProg);
        rte_eal_cleanup();
        return 1;
    }
    const int16_t dev_id = pick_device(opt.dev);
    rte_dma_info info{};
    if (dev_id < 0 || rte_dma_info_get(dev_id, &info) != 0) {
        std::fprintf(stderr, "%s: cannot query dmadev %d\n", kProg, dev_id);
        rte_eal_cleanup();
        return 1;
    }
    const std::string dev_name = info.dev_name ? info.dev_name : "?";

    if (!(info.dev_capa & RTE_DMA_CAPA_MEM_TO_MEM)) {
        std::fprintf(stderr, "%s: %s cannot do memory-to-memory copies\n", kProg, dev_name.c_str());
        rte_eal_cleanup();
        return 1;
    }
    /* Device-dependent ranges. */
    if (info.max_vchans == 0 || opt.vchan >= info.max_vchans)
        bad_option("%s must be in %s", "--vchan",
                   "0.." + std::to_string(info.max_vchans ? info.max_vchans - 1 : 0) + " for " +
                       dev_name + " (got " + std::to_string(opt.vchan) + ")");
    const uint64_t desc_lo = info.min_desc ? info.min_desc : 1;
    const uint64_t desc_hi = std::max<uint64_t>(desc_lo, info.max_desc ? info.max_desc : UINT16_MAX);
    if (!opt.ring_set)
        opt.ring = std::clamp<uint64_t>(opt.ring, desc_lo, desc_hi);
    if (opt.ring < desc_lo || opt.ring > desc_hi)
        bad_option("%s must be in %s", "--ring",
                   std::to_string(desc_lo) + ".." + std::to_string(desc_hi) + " for " +
                       dev_name + " (got " + std::to_string(opt.ring) + ")");
    if (opt.burst > opt.ring)
        bad_option("%s must be in %s", "--burst",
                   "1.." + std::to_string(opt.ring) + " (at most --ring; got " +
                       std::to_string(opt.burst) + ")");

    const uint16_t vchan = static_cast<uint16_t>(opt.vchan);
    const uint16_t nb_desc = static_cast<uint16_t>(opt.ring);
    const uint16_t burst = static_cast<uint16_t>(opt.burst);
    const uint32_t size = static_cast<uint32_t>(opt.size);
    const int socket = info.numa_node >= 0 ? info.numa_node : SOCKET_ID_ANY;

    /* One vchan carries the work; lower-numbered ones exist only so that
     * --vchan N is a valid index. */
    rte_dma_conf dconf{};
    dconf.nb_vchans = static_cast<uint16_t>(vchan + 1);
    int rc = rte_dma_configure(dev_id, &dconf);
    if (rc != 0) {
        std::fprintf(stderr, "%s: rte_dma_configure(%s, %u vchans): %s\n", kProg, dev_name.c_str(),
                     dconf.nb_vchans, std::strerror(-rc));
        rte_eal_cleanup();
        return 1;
    }
    for (uint16_t v = 0; v <= vchan; ++v) {
        rte_dma_vchan_conf vconf{};
        vconf.direction = RTE_DMA_DIR_MEM_TO_MEM;
        vconf.nb_desc = nb_desc;
        rc = rte_dma_vchan_setup(dev_id, v, &vconf);
        if (rc != 0) {
            std::fprintf(stderr, "%s: rte_dma_vchan_setup(%s, vchan %u, %u descriptors): %s\n",
                         kProg, dev_name.c_str(), v, nb_desc, std::strerror(-rc));
            if (rc == -EINVAL)
                std::fprintf(stderr, "%s: the device may need another --ring (e.g. a power of two)\n",
                             kProg);
            rte_dma_close(dev_id);
            rte_eal_cleanup();
            return rc == -EINVAL ? 2 : 1;
        }
    }

    /* Buffers: one src/dst pair per descriptor, NUMA-local to the device,
     * aligned to a power of two so that small ones never straddle a page. */
    const size_t nbufs = nb_desc;
    const size_t align = std::min<size_t>(pow2_at_least(size < 64 ? 64 : size), RTE_PGSIZE_2M);
    std::vector<Buffer> bufs(nbufs);
    bool alloc_ok = true;
    for (auto &b : bufs) {
        b.src = static_cast<uint8_t *>(rte_malloc_socket("xcap_copy_src", size, align, socket));
        b.dst = static_cast<uint8_t *>(rte_malloc_socket("xcap_copy_dst", size, align, socket));
        if (b.src == nullptr || b.dst == nullptr) {
            std::fprintf(stderr, "%s: out of hugepage memory on socket %d: %zu x 2 x %u bytes "
                         "needed; reserve more hugepages or lower --ring/--size\n",
                         kProg, socket, nbufs, size);
            alloc_ok = false;
            break;
        }
        if (!buffer_iova(b.src, size, b.src_iova) || !buffer_iova(b.dst, size, b.dst_iova)) {
            std::fprintf(stderr, "%s: a %u-byte buffer is not IOVA-contiguous; "
                         "use --iova-mode=va or a smaller --size\n", kProg, size);
            alloc_ok = false;
            break;
        }
    }
    auto free_bufs = [&]() {
        for (auto &b : bufs) {
            rte_free(b.src);
            rte_free(b.dst);
        }
    };
    if (!alloc_ok) {
        free_bufs();
        rte_dma_close(dev_id);
        rte_eal_cleanup();
        return 1;
    }

    rc = rte_dma_start(dev_id);
    if (rc != 0) {
        std::fprintf(stderr, "%s: rte_dma_start(%s): %s\n", kProg, dev_name.c_str(),
                     std::strerror(-rc));
        free_bufs();
        rte_dma_close(dev_id);
        rte_eal_cleanup();
        return 1;
    }

    std::printf("%s: %s vchan %u (numa %d), %u-byte copies, burst %u, ring %u, %" PRIu64 " s\n",
                kProg, dev_name.c_str(), vchan, info.numa_node, size, burst, nb_desc, opt.seconds);
    std::fflush(stdout);

    std::vector<rte_dma_status_code> status(burst);
    uint64_t enq_seq = 0;   /* next op to enqueue */
    uint64_t cpl_seq = 0;   /* next op to complete */
    uint64_t errors = 0, mismatches = 0, index_errors = 0, enqueue_errors = 0;
    uint64_t first_bad_seq = UINT64_MAX;
    bool fatal = false;

    const double t0 = now_s();
    const double t_end = t0 + static_cast<double>(opt.seconds);
    double t_tick = t0 + 1.0;
    uint64_t tick_ops = 0;
    double drain_deadline = 0.0;
    bool draining = false;

    auto complete = [&]() -> uint16_t {
        uint16_t last_idx = 0;
        uint16_t n = rte_dma_completed_status(dev_id, vchan, burst, &last_idx, status.data());
        for (uint16_t i = 0; i < n; ++i) {
            if (cpl_seq >= enq_seq) {
                /* The device reported more completions than were enqueued. */
                ++index_errors;
                ++errors;
                continue;
            }
            Buffer &b = bufs[cpl_seq % nbufs];
            if (status[i] != RTE_DMA_STATUS_SUCCESSFUL) {
                if (errors == 0)
                    std::fprintf(stderr, "%s: op %" PRIu64 " failed with status %d\n", kProg,
                                 cpl_seq, static_cast<int>(status[i]));
                ++errors;
                first_bad_seq = std::min(first_bad_seq, cpl_seq);
            } else if (std::memcmp(b.dst, b.src, size) != 0) {
                if (mismatches == 0)
                    std::fprintf(stderr, "%s: op %" PRIu64 ": destination differs from source\n",
                                 kProg, cpl_seq);
                ++mismatches;
                first_bad_seq = std::min(first_bad_seq, cpl_seq);
            }
            if (i + 1 == n && last_idx != b.ring_idx) {
                if (index_errors == 0)
                    std::fprintf(stderr, "%s: op %" PRIu64 ": last_idx %u, expected ring index %u\n",
                                 kProg, cpl_seq, last_idx, b.ring_idx);
                ++index_errors;
                ++errors;
            }
            ++cpl_seq;
        }
        return n;
    };

    for (;;) {
        const double t = now_s();
        if (!draining && (t >= t_end || g_stop.load(std::memory_order_relaxed))) {
            draining = true;
            drain_deadline = t + kDrainSeconds;
        }
        if (draining && (cpl_seq >= enq_seq || t >= drain_deadline))
            break;

        /* Enqueue a burst into free buffers. */
        if (!draining && !fatal) {
            uint16_t queued = 0;
            while (queued < burst && enq_seq - cpl_seq < nbufs) {
                Buffer &b = bufs[enq_seq % nbufs];
                fill_pattern(b.src, size, enq_seq);
                /* Make sure a copy that never happened cannot pass. */
                b.dst[0] = static_cast<uint8_t>(~b.src[0]);
                b.dst[size - 1] = static_cast<uint8_t>(~b.src[size - 1]);
                int idx = rte_dma_copy(dev_id, vchan, b.src_iova, b.dst_iova, size, 0);
                if (idx == -ENOSPC)
                    break;
                if (idx < 0) {
                    std::fprintf(stderr, "%s: rte_dma_copy: %s\n", kProg, std::strerror(-idx));
                    ++enqueue_errors;
                    fatal = true;
                    break;
                }
                b.ring_idx = static_cast<uint16_t>(idx);
                ++enq_seq;
                ++queued;
            }
            if (queued > 0) {
                rc = rte_dma_submit(dev_id, vchan);
                if (rc != 0) {
                    std::fprintf(stderr, "%s: rte_dma_submit: %s\n", kProg, std::strerror(-rc));
                    ++enqueue_errors;
                    fatal = true;
                }
            }
            if (fatal) {
                draining = true;
                drain_deadline = t + kDrainSeconds;
            }
        }

        tick_ops += complete();

        /* Once a second, including the last full second of the run. */
        if (t >= t_tick && t_tick <= t_end + 0.5 && !g_stop.load(std::memory_order_relaxed)) {
            std::printf("[%3lus] ", static_cast<unsigned long>(t - t0 + 0.5));
            print_rate("", 1.0 + (t - t_tick), tick_ops, size);
            std::printf("  completed %" PRIu64 "  errors %" PRIu64 "  mismatches %" PRIu64 "\n",
                        cpl_seq, errors + enqueue_errors, mismatches);
            std::fflush(stdout);
            tick_ops = 0;
            t_tick += 1.0;
            if (t_tick < t) /* we fell behind: don't print a burst of lines */
                t_tick = t + 1.0;
        }
    }
    const double elapsed = now_s() - t0;

    const uint64_t lost = enq_seq - std::min(cpl_seq, enq_seq);
    if (lost > 0)
        std::fprintf(stderr, "%s: %" PRIu64 " copies never completed within %.0f s\n", kProg, lost,
                     kDrainSeconds);
    errors += lost + enqueue_errors;

    rte_dma_stats stats{};
    bool have_stats = rte_dma_stats_get(dev_id, vchan, &stats) == 0;

    rte_dma_stop(dev_id);
    rte_dma_close(dev_id);
    free_bufs();

    const uint64_t ops = cpl_seq;
    const uint64_t good = ops - std::min(ops, errors + mismatches);
    const bool ok = ops > 0 && errors == 0 && mismatches == 0;

    std::printf("\n%s summary: %s vchan %u, %u-byte copies%s\n", kProg, dev_name.c_str(), vchan,
                size, g_stop.load() ? " (interrupted)" : "");
    std::printf("  time        %.2f s\n", elapsed);
    std::printf("  ops         %" PRIu64 " (%" PRIu64 " verified)\n", ops, good);
    std::printf("  bytes       %" PRIu64 "\n", ops * static_cast<uint64_t>(size));
    print_rate("  average     ", elapsed, ops, size);
    std::printf("\n");
    std::printf("  errors      %" PRIu64, errors);
    if (index_errors || lost || enqueue_errors)
        std::printf(" (%" PRIu64 " ring-index, %" PRIu64 " never completed, %" PRIu64 " enqueue)",
                    index_errors, lost, enqueue_errors);
    std::printf("\n  mismatches  %" PRIu64 "\n", mismatches);
    if (first_bad_seq != UINT64_MAX)
        std::printf("  first bad   op %" PRIu64 "\n", first_bad_seq);
    if (have_stats)
        std::printf("  device      submitted %" PRIu64 "  completed %" PRIu64 "  errors %" PRIu64 "\n",
                    stats.submitted, stats.completed, stats.errors);
    if (ok)
        std::printf("VERIFIED\n");
    else
        std::printf("FAILED%s\n", ops == 0 ? " (no copy completed)" : "");
    std::fflush(stdout);

    rte_eal_cleanup();
    return ok ? 0 : 1;
}
