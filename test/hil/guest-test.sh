#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The HIL test itself, run INSIDE the guest by run-hil.sh (chrooted into the
# host's root, so this is the host's bash, DPDK, Python and build tree).
#
# The xcap card is the guest's ivshmem-plain device (1af4:1110) on NUMA node
# 1; its register window (BAR2) is served by xcap-hil-card on the host. Steps:
# find the card, load vfio-pci, bind it with dpdk-devbind.py, check it with
# xcap-devbind.py, reserve hugepages on both nodes, probe it with DPDK
# (xcap-hil-probe: 1 MiB copy + rte_dma_dump), dmadev_autotest, xcap-dma-perf,
# the capture/forward apps when built. Every step ends in one PASS, FAIL or
# SKIP line; the last line counts them. Exit 1 if any step failed.
set -uo pipefail

: "${HIL_ENV:?run by run-hil.sh in the guest}"
# shellcheck disable=SC1090
. "$HIL_ENV"
: "${XCAP_SRC:?}" "${XCAP_BUILD:?}"
node=${XCAP_HIL_NODE:-1}
work=/run/xcap-hil/work
mkdir -p "$work"
chmod 0755 /run/xcap-hil "$work"

n_pass=0 n_fail=0 n_skip=0
t0=$(cut -d. -f1 /proc/uptime)
step() { echo; echo "=== [$(( $(cut -d. -f1 /proc/uptime) - t0 ))s] $*"; }
pass() { echo "PASS: $*"; n_pass=$((n_pass + 1)); }
fail() { echo "FAIL: $*"; n_fail=$((n_fail + 1)); }
skip() { echo "SKIP: $*"; n_skip=$((n_skip + 1)); }
finish() {
    echo
    echo "hil-guest: $n_pass passed, $n_fail failed, $n_skip skipped"
    [ "$n_fail" = 0 ]
    exit
}
# Progress lines of DPDK's tests end in \r: one line each, without the
# per-burst counters.
show() { tr '\r' '\n' <"$1" | grep -v -e '^Ops submitted' -e '^[[:space:]]*$' | sed 's/^/  | /'; }

step "guest: $(uname -r), $(nproc) CPUs, nodes: $(cd /sys/devices/system/node && echo node[0-9]*)"
grep 'System RAM' /proc/iomem | sed 's/^/  iomem: /'

# ---- 1. the card on the PCI bus ----------------------------------------------
step "find the card (PCI 1af4:1110, ivshmem-plain)"
bdf=
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ]; then
        bdf=$(basename "$d"); break
    fi
done
if [ -z "$bdf" ]; then
    fail "no ivshmem device on the guest's PCI bus"
    finish
fi
dev=/sys/bus/pci/devices/$bdf
card_node=$(cat "$dev/numa_node")
group=$(basename "$(readlink "$dev/iommu_group" 2>/dev/null)" 2>/dev/null)
echo "  $bdf: class $(cat "$dev/class"), numa_node $card_node, iommu_group ${group:-none}"
sed -n '3p' "$dev/resource" | awk '{printf "  BAR2: %s-%s\n", $1, $2}'
if [ "$card_node" != "$node" ]; then
    fail "$bdf is on NUMA node $card_node, expected $node (pxb-pcie numa_node)"
elif [ -z "$group" ]; then
    fail "$bdf has no IOMMU group: the guest's IOMMU is off (intel_iommu=on, -device intel-iommu)"
else
    pass "card $bdf on NUMA node $card_node, IOMMU group $group"
fi

# ---- 2. vfio-pci ---------------------------------------------------------------
step "load vfio-pci"
if command -v modprobe >/dev/null; then modprobe vfio-pci; else /run/xcap-hil/busybox modprobe vfio-pci; fi
lsmod 2>/dev/null | grep -E '^vfio' | sed 's/^/  /'
if [ -d /sys/bus/pci/drivers/vfio-pci ]; then pass "vfio-pci loaded"; else fail "vfio-pci did not load"; fi

# ---- 3. bind with dpdk-devbind.py (it exits 0 even when the bind fails) --------
step "dpdk-devbind.py --bind=vfio-pci $bdf"
dpdk-devbind.py --bind=vfio-pci "$bdf" 2>&1 | sed 's/^/  /'
drv=$(basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null)
echo "  sysfs: $dev/driver -> ${drv:-none}; /dev/vfio: $(ls /dev/vfio | tr '\n' ' ')"
dpdk-devbind.py --status 2>/dev/null | grep -F "$bdf" | sed 's/^/  status: /'
if [ "$drv" = vfio-pci ] && [ -e "/dev/vfio/$group" ]; then
    pass "$bdf bound to vfio-pci (sysfs driver link), /dev/vfio/$group present"
else
    fail "$bdf is bound to '${drv:-nothing}', not vfio-pci (or /dev/vfio/$group is missing)"
    finish
fi

# ---- 4. xcap-devbind.py --status --include-ivshmem ---------------------------
step "usertools/xcap-devbind.py --status --include-ivshmem"
xdb=$XCAP_SRC/usertools/xcap-devbind.py
if [ ! -f "$xdb" ]; then
    skip "usertools/xcap-devbind.py does not exist yet"
elif ! python3 "$xdb" --help 2>/dev/null | grep -q -- --include-ivshmem; then
    skip "usertools/xcap-devbind.py has no --include-ivshmem option yet"
else
    python3 "$xdb" --status --include-ivshmem >"$work/xdb.txt" 2>&1
    xrc=$?
    sed -n '/xcap/,$p' "$work/xdb.txt" | sed 's/^/  /'
    line=$(grep -F "$bdf" "$work/xdb.txt" | grep -E 'iommu_group=' | head -1)
    if [ $xrc != 0 ]; then
        fail "xcap-devbind.py --status --include-ivshmem exited $xrc"
    elif [ -z "$line" ]; then
        fail "xcap-devbind.py does not list $bdf as an xcap card"
    elif ! grep -q "drv=vfio-pci" <<<"$line" || ! grep -q "iommu_group=$group\b" <<<"$line" ||
         ! grep -q "numa_node=$node\b" <<<"$line"; then
        fail "xcap-devbind.py lists $bdf without drv=vfio-pci, iommu_group=$group, numa_node=$node: $line"
    else
        pass "xcap-devbind.py shows $bdf: drv=vfio-pci, iommu_group=$group, numa_node=$node"
    fi
fi

# ---- 5. hugepages on both nodes -----------------------------------------------
step "hugepages on both nodes, hugetlbfs"
hp_ok=1
for n in /sys/devices/system/node/node[0-9]*; do
    f=$n/hugepages/hugepages-2048kB/nr_hugepages
    echo 128 >"$f"
    got=$(cat "$f")
    echo "  $(basename "$n"): $got x 2 MiB"
    [ "$got" -ge 64 ] || hp_ok=0
done
mountpoint -q /dev/hugepages || mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
grep hugetlbfs /proc/mounts | sed 's/^/  /'
if [ $hp_ok = 1 ] && mountpoint -q /dev/hugepages; then
    pass "2 MiB pages reserved on every node, hugetlbfs on /dev/hugepages"
else
    fail "could not reserve 2 MiB pages on every node or mount hugetlbfs"
fi

# The PMD as a plugin (-d): EAL refuses one under a world-writable
# directory, and the build tree may be under /tmp.
plugdir=$work/plugin
mkdir -p "$plugdir" && chmod 0755 "$plugdir"
install -m 0644 "$XCAP_BUILD/drivers/librte_dma_xcap.so" "$plugdir/librte_dma_xcap.so"
plugin=$plugdir/librte_dma_xcap.so
eal=(-a "$bdf" --iova-mode=pa -l 0-1)

# ---- 6. DPDK probe through VFIO, 1 MiB copy, dump ------------------------------
step "xcap-hil-probe -d <PMD> ${eal[*]}: EAL's PCI probe through VFIO, 1 MiB copy, rte_dma_dump"
# bus.pci at info: DPDK 24.11+ logs "PCI_BUS: Probe PCI driver: ..." at INFO
# under a NOTICE default (22.11: "EAL: Probe PCI driver: ...", shown anyway).
timeout 90 "$XCAP_BUILD/test/hil/xcap-hil-probe" -d "$plugin" "${eal[@]}" --log-level=bus.pci:info \
    --file-prefix hilprobe >"$work/probe.log" 2>&1
prc=$?
show "$work/probe.log"
probe_line=$(grep -E "(EAL|PCI_BUS): Probe PCI driver: dma_xcap .*device: $bdf" "$work/probe.log")
if [ -z "$probe_line" ]; then
    fail "EAL did not probe $bdf with the dma_xcap PCI driver"
elif ! grep -q "(socket $node)" <<<"$probe_line"; then
    fail "EAL probed the card on the wrong socket: $probe_line"
elif ! grep -q "VFIO support initialized" "$work/probe.log"; then
    fail "EAL did not use VFIO"
elif ! grep -qE "^hil-probe: dmadev [0-9]+: $bdf, NUMA node $node\$" "$work/probe.log"; then
    fail "the PMD did not create a dmadev for $bdf on node $node (it declined the device)"
else
    pass "EAL: ${probe_line#EAL: } through VFIO; dmadev $bdf on NUMA node $node"
fi
if [ $prc = 0 ] && grep -q '^hil-probe: PASS' "$work/probe.log"; then
    pass "xcap-hil-probe: 1 MiB copied byte-exact over the PCI card (16 x 64 KiB and 1 x 1 MiB)"
else
    fail "xcap-hil-probe exited $prc"
fi

# ---- 7. the rings are on the card's node -----------------------------------------
step "vchan rings on socket $node (the PMD's dev_dump)"
rings=$(grep -E 'vchan [0-9]+ \(copy\).*memzone .* on socket' "$work/probe.log")
echo "${rings:-  (no vchan line in rte_dma_dump)}" | sed 's/^ */  /'
if [ -z "$rings" ]; then
    fail "rte_dma_dump printed no vchan with its memzone's socket"
elif grep -qv "on socket $node\$" <<<"$rings"; then
    fail "a vchan's rings are not on socket $node"
else
    pass "the card's rings are in a memzone on socket $node"
fi

# ---- 8. DPDK's dmadev_autotest on the PCI card ------------------------------------
# DPDK 23.11-24.11 run dmadev_autotest's API suite on every dmadev, and
# that suite passes the virtual addresses of its buffers as IOVAs
# (app/test/test_dmadev_api.c; 25.11 uses rte_malloc_virt2iova). Under
# --iova-mode=pa, the only mode this card can DMA in, its copies go to
# wrong addresses on a PCI card, so it cannot pass here; the host runs the
# whole dmadev_autotest of those versions on the emulated card in VA mode
# (test/dpdk). 22.11 runs the API suite on dma_skeleton only.
dpdk_ver=${XCAP_DPDK_VERSION:-}
api_uses_va=0
if [[ $dpdk_ver =~ ^([0-9]+)\.([0-9]+) ]]; then
    v=$((10#${BASH_REMATCH[1]} * 100 + 10#${BASH_REMATCH[2]}))
    ((v >= 2311 && v < 2511)) && api_uses_va=1
fi
if [ $api_uses_va = 1 ]; then
    step "dpdk-test dmadev_autotest: not run on DPDK $dpdk_ver"
    skip "dmadev_autotest on $bdf: DPDK $dpdk_ver's API suite passes virtual addresses as IOVAs, which a PCI card in --iova-mode=pa cannot DMA to (fixed in 25.11); the host's test/dpdk runs it on the emulated card in VA mode"
else
    step "dpdk-test dmadev_autotest -d <PMD> -a $bdf,enq_deq=0 ${eal[*]:2}"
    # enq_deq=0: DPDK 25.11's dma_enq_deq case memsets the IOVAs it enqueues as
    # if they were pointers, which crashes dpdk-test under --iova-mode=pa (the
    # only mode this card can DMA in, see xcap_hil_card.cpp); the host runs that
    # case on the emulated card in VA mode (test/dpdk). Older DPDKs ignore it.
    at_eal=(-a "$bdf,enq_deq=0" "${eal[@]:2}")
    printf 'dmadev_autotest\n' | timeout 120 dpdk-test -d "$plugin" "${at_eal[@]}" --file-prefix hilat \
        >"$work/autotest.log" 2>&1
    arc=$?
    show "$work/autotest.log"
    section=$(tr '\r' '\n' <"$work/autotest.log" | sed -n "/### Test dmadev instance .*\[$bdf\]/,/### Test dmadev instance/p")
    # Allowed: error handling in PA mode (its bad IOVA 0 needs VA mode), and
    # SVA (DPDK 25.11's sva_copy): the card has no PASID, it DMAs to IOVAs only.
    others=$(grep -i skipping <<<"$section" | grep -v -e 'not in VA mode, skipping error handling' \
        -e 'device does not support SVA, skipping SVA tests')
    if [ -z "$section" ]; then
        fail "dmadev_autotest did not test $bdf (exit $arc)"
    elif [ -n "$others" ]; then
        fail "dmadev_autotest skipped part of the tests on $bdf: $others"
    elif ! grep -q "Running copy Tests" <<<"$section" || ! grep -qE "Running burst[ _]capacity Tests" <<<"$section" ||
         ! grep -q "Running fill Tests" <<<"$section"; then
        fail "dmadev_autotest did not run the copy, burst capacity and fill tests on $bdf"
    elif [ $arc != 0 ] || ! grep -q '^Test OK' "$work/autotest.log"; then
        fail "dmadev_autotest on $bdf: no 'Test OK' (exit $arc)"
    else
        pass "dmadev_autotest on $bdf: Test OK (copy, burst capacity, fill; error handling is skipped by DPDK in PA mode)"
    fi
fi

# ---- 9. xcap-dma-perf -------------------------------------------------------------
step "xcap-dma-perf on the PCI card"
perf=$XCAP_BUILD/app/xcap-dma-perf
if [ ! -x "$perf" ]; then
    skip "build/app/xcap-dma-perf is not built"
else
    # copy on vchan 0, capture on vchan 1 (the card process has one of each)
    cat >"$work/perf.ini" <<EOF
[GLOBAL]
eal_args=-a $bdf --iova-mode=pa -l 0-1 --file-prefix hilperf --log-level=lib.eal:notice
test_seconds=1

[hil-copy-4k]
type=DMA_MEM_COPY
mem_size=2
buf_size=4096
dma_ring_size=256
kick_batch=32
lcore_dma=lcore1@$bdf

[hil-capture]
type=DMA_CAPTURE
mem_size=4
buf_size=16384
dma_ring_size=32
kick_batch=8
capture_vchan=1
lcore_dma=lcore1@$bdf
EOF
    (cd "$work" && timeout 120 "$perf" --config "$work/perf.ini" --result "$work/perf.csv") \
        >"$work/perf.log" 2>&1
    frc=$?
    show "$work/perf.log" | tail -30
    [ -f "$work/perf.csv" ] && sed 's/^/  csv: /' "$work/perf.csv"
    if [ $frc = 0 ]; then
        pass "xcap-dma-perf: a copy and a capture scenario on $bdf"
    else
        fail "xcap-dma-perf exited $frc"
    fi
fi

# ---- 10. capture / forward apps ---------------------------------------------------
step "capture/forward app on the PCI card"
fwd=$XCAP_BUILD/app/xcap-fwd
if [ ! -x "$fwd" ]; then
    skip "build/app/xcap-fwd is not built"
else
    # capture vchan 1 of the PCI card -> a verifying worker lcore, zero-copy
    (cd "$work" && timeout 120 "$fwd" -a "$bdf" --iova-mode=pa -l 0-1 --file-prefix hilfwd \
        --log-level=lib.eal:notice -- --card "$bdf" --seconds 3 --stats-json "$work/fwd.json") \
        >"$work/fwd.log" 2>&1
    frc=$?
    show "$work/fwd.log" | tail -14
    verdict=$(python3 - "$work/fwd.json" <<'PYEOF' 2>&1
import json, sys
s = json.load(open(sys.argv[1]))
problems = []
if s.get("delivered", 0) <= 0:
    problems.append("delivered %s" % s.get("delivered"))
if s.get("cpu_copies") != 0:
    problems.append("cpu_copies %s" % s.get("cpu_copies"))
if s.get("verify", {}).get("payload_errors", 1) != 0:
    problems.append("payload errors")
print("; ".join(problems) if problems else
      "delivered %d, dropped %d, cpu_copies 0" % (s["delivered"], s.get("dropped_total", 0)))
sys.exit(1 if problems else 0)
PYEOF
)
    vrc=$?
    if [ $frc = 0 ] && [ $vrc = 0 ]; then
        pass "xcap-fwd on $bdf: $verdict"
    else
        fail "xcap-fwd exited $frc: $verdict"
    fi
fi

finish
