#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Instructions per op of the xcap fast path (rte_dma_copy + rte_dma_submit +
# rte_dma_completed, bursts of 32, null card), counted by callgrind.
#
#   test/bench/callgrind-fastpath.sh <path to fastpath-callgrind> [bursts]
#
# Prints one line "fast path: N.N instructions/op ..." (and the raw counts);
# exit 0 whenever the figure was measured: it is a benchmark, not a test
# (the target, <= 40 instructions/op, is reported, not enforced).
set -euo pipefail

prog=${1:?usage: $0 <fastpath-callgrind binary> [bursts]}
bursts=${2:-2000}
command -v valgrind >/dev/null || {
    echo "callgrind-fastpath: valgrind is not installed (apt-get install valgrind)" >&2
    exit 77
}
dir=$(mktemp -d "${TMPDIR:-/tmp}/xcap-callgrind.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# --no-huge: valgrind cannot give EAL the virtual address space it reserves
# for hugepage memory. With -m 16 there are 4096 memory segments of 4 KiB,
# each one an IOMMU mapping of the emulated card (more would make the probe
# slow). IOVA = VA.
eal=(-l 0 --no-huge -m 16 --no-shconf --no-pci --iova-mode=va --no-telemetry
     --log-level=lib.eal:error --vdev=dma_xcap_emu0,null=1,capture_channels=0)
if ! XCAP_FASTPATH_BURSTS=$bursts valgrind --tool=callgrind --collect-atstart=no \
        --callgrind-out-file="$dir/cg.out" "$prog" "${eal[@]}" >"$dir/log" 2>&1; then
    echo "callgrind-fastpath: the run failed:" >&2
    tail -n 30 "$dir/log" >&2
    exit 1
fi

# Each CALLGRIND_DUMP_STATS_AT writes cg.out.<n> whose "desc: Trigger:" line
# names the phase and whose "totals:" (or "summary:") line has Ir.
ir_of() {
    local f
    for f in "$dir"/cg.out.*; do
        if grep -q "^desc: Trigger: Client Request: $1\$" "$f"; then
            awk '/^(totals|summary):/ { print $2; exit }' "$f"
            return
        fi
    done
    echo "callgrind-fastpath: no dump for phase $1 in $dir" >&2
    exit 1
}
calib=$(ir_of calibration)
fast=$(ir_of fastpath)
line=$(grep '^fastpath-callgrind:' "$dir/log")
get() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
ops=$(get ops); regions=$(get regions); cregions=$(get calibration_regions)
extra=$(get extra_polls)

# The driver's own share: exclusive Ir of its fast-path functions.
fn_ir() {
    local f
    f=$(grep -l "^desc: Trigger: Client Request: fastpath\$" "$dir"/cg.out.*)
    callgrind_annotate --inclusive=no --threshold=100 "$f" 2>/dev/null |
        awk -v fn="$1" 'index($0, "::" fn "(") { gsub(",", "", $1); s += $1 } END { print s + 0 }'
}
copy_ir=$(fn_ir xcap_copy)
submit_ir=$(fn_ir xcap_submit)
cpl_ir=$(fn_ir xcap_completed)

awk -v c="$calib" -v f="$fast" -v ops="$ops" -v r="$regions" -v cr="$cregions" -v x="$extra" \
    -v cp="$copy_ir" -v sb="$submit_ir" -v cl="$cpl_ir" 'BEGIN {
    per_region = c / cr
    total = (f - r * per_region) / ops
    drv = (cp + sb + cl) / ops
    printf "fast path: %.1f instructions/op in the driver (xcap_copy %.1f + xcap_submit %.1f + xcap_completed %.1f), bursts of 32 on the xcap null card\n", drv, cp / ops, sb / ops, cl / ops
    printf "           %.1f instructions/op with the rte_dma_* inline wrappers and the calling loop (%d ops; %d Ir in %d regions, less %.1f Ir/region for the collection toggles; %d extra polls)\n", total, ops, f, r, per_region, x
    printf "target <= 40 instructions/op (driver): %s\n", drv <= 40 ? "met" : "NOT met"
}'
