#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Instructions per descriptor of the device model's engine (Card::poll_once()
# over bursts of 32 descriptors), counted by callgrind; no DPDK.
#
#   test/bench/callgrind-model.sh <path to model-callgrind> [passes]
#
# Prints one line per mode (64 B copy, null engine, 4 KiB copy, idle pass);
# XCAP_MODEL_ANNOTATE=1 also prints the exclusive cost of the top functions.
# Exit 0 whenever the figures were measured: a benchmark, not a test.
set -euo pipefail

prog=${1:?usage: $0 <model-callgrind binary> [passes]}
passes=${2:-2000}
command -v valgrind >/dev/null || {
    echo "callgrind-model: valgrind is not installed (apt-get install valgrind)" >&2
    exit 77
}
dir=$(mktemp -d "${TMPDIR:-/tmp}/xcap-callgrind-model.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# Each CALLGRIND_DUMP_STATS_AT writes out.<n> whose "desc: Trigger:" line names
# the phase and whose "totals:" (or "summary:") line has Ir.
dump_of() {
    local f
    for f in "$dir/$1".out.*; do
        if grep -q "^desc: Trigger: Client Request: $2\$" "$f"; then
            echo "$f"
            return
        fi
    done
    echo "callgrind-model: no dump for phase $2 of $1" >&2
    exit 1
}
ir_of() { awk '/^(totals|summary):/ { print $2; exit }' "$(dump_of "$1" "$2")"; }

for mode in copy64 null64 copy4k idle; do
    if ! XCAP_MODEL_PASSES=$passes valgrind --tool=callgrind --collect-atstart=no \
            --callgrind-out-file="$dir/$mode.out" "$prog" "$mode" >"$dir/$mode.log" 2>&1; then
        echo "callgrind-model: the $mode run failed:" >&2
        tail -n 30 "$dir/$mode.log" >&2
        exit 1
    fi
    calib=$(ir_of "$mode" calibration)
    total=$(ir_of "$mode" model)
    line=$(grep '^model-callgrind:' "$dir/$mode.log")
    get() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
    awk -v m="$mode" -v c="$calib" -v t="$total" -v cr="$(get calibration_regions)" \
        -v r="$(get regions)" -v n="$(get descriptors)" 'BEGIN {
        net = t - r * (c / cr)
        what["copy64"] = "64 B copy"; what["null64"] = "null engine, 64 B"
        what["copy4k"] = "4 KiB copy"; what["idle"] = "idle pass (nothing to do)"
        if (n > 0)
            printf "model: %7.1f instructions/descriptor  %s (%d descriptors, %d passes of 32; %d Ir)\n", net / n, what[m], n, r, net
        else
            printf "model: %7.1f instructions/pass        %s (%d passes; %d Ir)\n", net / r, what[m], r, net
    }'
    if [[ ${XCAP_MODEL_ANNOTATE:-0} == 1 ]]; then
        # (the collection regions start inside main: drop its callers' lines)
        callgrind_annotate --inclusive=no --threshold=100 "$(dump_of "$mode" model)" 2>/dev/null |
            sed -n '/file:function/,/^$/p' | grep -v -e 'below main' -e libc_start_main -e '???:0x' |
            sed -n '3,14p' | sed -e 's/ \[[^]]*\]$//' -e 's/(xcap::model::[^)]*)//g' -e 's/^/    /'
    fi
done
