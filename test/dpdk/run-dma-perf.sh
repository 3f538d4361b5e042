#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# DPDK's own dpdk-test-dma-perf (24.11 and later) against the emulated xcap
# card, dma_skeleton and CPU copy, with the PMD loaded as a plugin (-d).
#
# usage: run-dma-perf.sh [--dpdk-test-dma-perf PATH] [--dpdk-version V]
#                        [--config INI] <librte_dma_xcap.so>
#
#   --dpdk-test-dma-perf PATH  default: $XCAP_DPDK_BINDIR/dpdk-test-dma-perf,
#                              else dpdk-test-dma-perf on PATH
#   --config INI               default: config/dpdk-test-dma-perf.ini of the
#                              source tree (DPDK 25.11's layout, [GLOBAL])
#
# The tool is asked which layout it reads (25.11's refuses a file without
# [GLOBAL]; 24.11's has no [GLOBAL], wants cache_flush and test_seconds in
# every case, and takes EAL arguments from its command line). For 25.11 the
# plugin and a unique --file-prefix are added to [GLOBAL]'s eal_args (it
# passes nothing from its command line to EAL); for 24.11 the file is
# converted ([GLOBAL]'s cache_flush and test_seconds copied into every case)
# and [GLOBAL]'s eal_args, the plugin and the prefix go on its command line
# (not into the cases' eal_args: 24.11 reads those after freeing them).
#
# Passes if the tool and every case process exit 0, and the CSV has one row
# for every scenario of the config (device x buffer size) with non-zero
# MOps, Gbit/s and cycles. The tool writes a scenario's row only after that
# scenario's data check passed (every destination compared with its source;
# neither version has an option to turn it off, nor a column for it), so a
# row is a verified scenario; its "validation fails" message is looked for
# too. Figures are printed, never compared: the test does not depend on
# timing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

usage() { echo "usage: $0 [--dpdk-test-dma-perf PATH] [--dpdk-version V] [--config INI] <librte_dma_xcap.so>"; exit 2; }
opt_tool='' opt_version='' src_ini=$(cd "$here/../.." && pwd)/config/dpdk-test-dma-perf.ini
while [ $# -gt 0 ]; do
    case $1 in
        --dpdk-test-dma-perf) opt_tool=${2:?--dpdk-test-dma-perf needs a path}; shift 2 ;;
        --dpdk-version) opt_version=${2:?--dpdk-version needs a version}; shift 2 ;;
        --config) src_ini=${2:?--config needs a file}; shift 2 ;;
        -h|--help) usage ;;
        --*) echo "unknown option $1"; usage ;;
        *) break ;;
    esac
done
[ $# = 1 ] || usage
so=$1

xcap_find_tool dpdk-test-dma-perf "$opt_tool"; perf=$XCAP_TOOL
xcap_setup_plugin "$so"
xcap_check_same_dpdk "$perf" "$so"
xcap_dpdk_version "$perf" "$opt_version"; version=$XCAP_VERSION
if ! xcap_ver_ge "$version" 24.11; then
    xcap_fail "DPDK $version: this test knows the config layouts of dpdk-test-dma-perf 24.11 and later only"
fi
xcap_new_prefix perf

ini=$XCAP_WORK/dma-perf.ini
csv=$XCAP_WORK/dma-perf.csv
out=$XCAP_WORK/dma-perf.out
[ -f "$src_ini" ] || xcap_fail "no config file $src_ini (pass --config)"
# [GLOBAL]'s key $1.
global() {
    awk -v k="$1" '/^\[/ { g = ($0 ~ /^\[GLOBAL\]/); next }
        g && index($0, "=") { key = substr($0, 1, index($0, "=") - 1); gsub(/[ \t]/, "", key)
                              if (key == k) { v = substr($0, index($0, "=") + 1); sub(/^[ \t]+/, "", v); print v } }' "$src_ini"
}
g_eal=$(global eal_args) g_flush=$(global cache_flush) g_secs=$(global test_seconds)
if [ -z "$g_eal" ] || [ -z "$g_flush" ] || [ -z "$g_secs" ]; then
    xcap_fail "$src_ini: its [GLOBAL] section needs eal_args, cache_flush and test_seconds (DPDK 25.11's layout)"
fi
eal_extra="-d $XCAP_PLUGIN --file-prefix $XCAP_PREFIX"
if grep -aq 'GLOBAL section' "$perf"; then
    layout="[GLOBAL] layout (25.11)"
    # Append ours to [GLOBAL]'s eal_args. rte_cfgfile cuts a value at 255
    # characters without a word: check.
    awk -v extra="$eal_extra" '
        /^\[/ { g = ($0 ~ /^\[GLOBAL\]/) }
        g && /^eal_args *=/ { $0 = $0 " " extra }
        { print }' "$src_ini" >"$ini"
    len=$(( ${#g_eal} + 1 + ${#eal_extra} ))
    if [ "$len" -gt 255 ]; then
        xcap_fail "[GLOBAL] eal_args plus '$eal_extra' is $len characters: rte_cfgfile keeps 255.
  Shorten eal_args in $src_ini, or set XDG_RUNTIME_DIR to a shorter directory for the plugin copy."
    fi
    cmd=("$perf" --config "$ini" --result "$csv")
else
    layout="per-case layout (24.11), converted from the [GLOBAL] layout"
    awk -v flush="$g_flush" -v secs="$g_secs" '
        /^\[/ { g = ($0 ~ /^\[GLOBAL\]/); if (g) next
                print; print "cache_flush=" flush; print "test_seconds=" secs; next }
        g { next }
        /^(cache_flush|test_seconds|eal_args) *=/ { next }
        { print }' "$src_ini" >"$ini"
    read -r -a eal_words <<<"$g_eal $eal_extra"
    cmd=("$perf" "${eal_words[@]}" --config "$ini" --result "$csv")
fi
echo "DPDK $version: $perf, $layout: $src_ini"
if [ "$layout" != "[GLOBAL] layout (25.11)" ]; then
    echo "--- the converted config, $ini"; cat "$ini"; echo "---"
fi

# The scenarios the config asks for, one "case type device buf_size" line
# each (device "CPU" for CPU_MEM_COPY), from its [caseN] sections in order.
expected=$(awk '
    /^[ \t]*;/ { next }
    /^\[/ { sec = $0; gsub(/[][ \t]/, "", sec); next }
    sec ~ /^case[0-9]+$/ && index($0, "=") {
        k = substr($0, 1, index($0, "=") - 1); gsub(/[ \t]/, "", k)
        v = substr($0, index($0, "=") + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
        val[sec, k] = v
    }
    END {
        for (n = 1; (("case" n, "type") in val) || (("case" n, "skip") in val); n++) {
            s = "case" n
            if (val[s, "skip"] == "1") continue
            for (i = 0; i < 3; i++) {
                k = i == 0 ? "mem_size" : i == 1 ? "dma_ring_size" : "kick_batch"
                if (split(val[s, k], f, ",") > 1) { print "ERROR only buf_size may vary: " s " " k; exit 0 }
            }
            dev = "CPU"
            if (val[s, "type"] == "DMA_MEM_COPY") {
                dev = "?"
                m = split(val[s, "lcore_dma0"], kv, ",")
                for (j = 1; j <= m; j++) if (kv[j] ~ /^dev=/) dev = substr(kv[j], 5)
                if ((s, "lcore_dma1") in val) { print "ERROR one worker per case only: " s; exit 0 }
            }
            if (split(val[s, "buf_size"], b, ",") == 4) {
                for (x = b[1] + 0; x <= b[2] + 0; x = (b[4] == "MUL" ? x * b[3] : x + b[3]))
                    print n, val[s, "type"], dev, x
            } else
                print n, val[s, "type"], dev, val[s, "buf_size"] + 0
        }
    }' "$ini")
if [ -z "$expected" ] || grep -q '^ERROR' <<<"$expected"; then
    xcap_fail "$src_ini: cannot list its scenarios: ${expected:-no [caseN] sections}"
fi
ncases=$(awk '{print $1}' <<<"$expected" | sort -u | wc -l)

echo "${cmd[*]}" | sed "s|$XCAP_PLUGIN|<copy of $so>|g"
linebuf=(); command -v stdbuf >/dev/null && linebuf=(stdbuf -oL)

# Runs the tool once and checks what it wrote. Sets problems, table and
# zero_cases (the cases whose process died of SIGFPE: the tool divides by
# the operations a worker completed in the measuring window, so a scenario
# that completed none kills its case process).
run_once() {
    problems=() table=() zero_cases=()
    rm -f "$csv"
    xcap_run_timeout 90 /dev/null "${linebuf[@]}" "${cmd[@]}" >"$out" 2>&1
    rc=$XCAP_RC
    if [ $rc = 124 ]; then
        echo "dpdk-test-dma-perf did not finish within 90 s (a normal run takes about 10): killed." >>"$out"
        echo "  Its worker waits without end for room in a ring that no completion drains: a card that stopped completing?" >>"$out"
    fi
    cat "$out"
    echo
    echo "--- $csv"
    cat "$csv" 2>/dev/null || true
    echo "---"

    [ $rc = 0 ] || problems+=("dpdk-test-dma-perf exited with status $rc")
    [ -s "$csv" ] || problems+=("no result CSV was written")
    grep -q '^Bye\.\.\.' "$out" || problems+=("dpdk-test-dma-perf did not finish ('Bye...' missing)")
    local ok_cases line row n type dev buf ring kick cycles gbps mops
    ok_cases=$(grep -c '^Case process exited\. status 0$' "$out" || true)
    [ "$ok_cases" = "$ncases" ] || problems+=("$ok_cases of $ncases case processes exited with status 0")
    while read -r n; do zero_cases+=("$n"); done < <(awk '
        /^Running case [0-9]+$/ { c = $3 }
        /^Case process killed by signal 8$/ { print c }' "$out")
    while read -r line; do problems+=("dpdk-test-dma-perf: $line"); done < <(
        grep -E 'Case process (exited\. status [1-9]|killed|stopped)|Test fails!|validation fails|Error|Invalid|Not enough|failed' "$out" "$csv" 2>/dev/null | sed 's/^[^:]*://' || true)

    # CSV rows: "Scenario K,lcore,DMA,ring,kick,buf,nbuf,mem,cycles,Gbps,MOps"
    # under a "Case N : TYPE,..." header; CPU rows have NA for DMA/ring/kick.
    rows=$(awk -F, '
        /^Case [0-9]+ : / { split($1, h, " "); c = h[2]; next }
        /^Scenario [0-9]+,/ { d = ($3 == "NA" ? "CPU" : $3); print c, d, $6 + 0, $4, $5, $9, $10, $11 }' "$csv" 2>/dev/null || true)
    while read -r n type dev buf; do
        row=$(awk -v n="$n" -v d="$dev" -v b="$buf" '$1 == n && $2 == d && $3 == b' <<<"$rows")
        if [ -z "$row" ]; then
            problems+=("case $n ($type on $dev), $buf B: no result row (the scenario failed, or its data check did)")
            continue
        fi
        if [ "$(wc -l <<<"$row")" != 1 ]; then problems+=("case $n ($dev), $buf B: more than one result row"); fi
        read -r _ _ _ ring kick cycles gbps mops <<<"$(head -n 1 <<<"$row")"
        if ! awk -v a="$cycles" -v b="$gbps" -v c="$mops" 'BEGIN { exit !(a > 0 && b > 0 && c > 0) }'; then
            problems+=("case $n ($dev), $buf B: zero throughput (cycles $cycles, Gbps $gbps, MOps $mops)")
        fi
        table+=("$(printf '%-14s %6s B %6s %6s %10s %10s %10s' "$dev" "$buf" "$ring" "$kick" "$mops" "$gbps" "$cycles")")
    done <<<"$expected"
}

# The only failure retried (twice, said out loud): case processes killed by
# SIGFPE, i.e. a device that completed nothing in a measuring window, with
# nothing else wrong (every other problem is then just its missing rows). A
# device thread starved of CPU by other load does that; a card that really
# stalls does it every time and fails all three runs.
for attempt in 1 2 3; do
    run_once
    [ ${#zero_cases[@]} -gt 0 ] || break
    others=$(printf '%s\n' "${problems[@]}" | grep -vE 'killed by signal 8|case processes exited with status 0|no result row' || true)
    [ -z "$others" ] && [ $attempt -lt 3 ] || break
    devs=$(for n in "${zero_cases[@]}"; do awk -v n="$n" '$1 == n { print $3; exit }' <<<"$expected"; done | tr '\n' ' ')
    echo "note: attempt $attempt: case(s) ${zero_cases[*]} (${devs% }) died of SIGFPE: dpdk-test-dma-perf divides by the operations completed in the ${g_secs} s window and got none (the device's thread got no CPU?); running again"
done

nscen=$(wc -l <<<"$expected")
echo "dpdk-test-dma-perf $version: $nscen scenarios ($ncases cases), test_seconds=$g_secs, cache_flush=$g_flush"
printf '%-14s %8s %6s %6s %10s %10s %10s\n' device size ring kick MOps Gbit/s cycles/op
printf '%s\n' "${table[@]+"${table[@]}"}"
if awk '$2 == "CPU_MEM_COPY"' <<<"$expected" | grep -q . && ! xcap_ver_ge "$version" 26.07; then
    echo "note: DPDK $version's CPU_MEM_COPY worker copies each destination buffer onto its source"
    echo "  (app/test-dma-perf/benchmark.c, fixed after 25.11), so its data check compares two zeroed"
    echo "  buffers; its figures are still one rte_memcpy() of buf_size bytes per operation"
fi
if [ ${#problems[@]} -gt 0 ]; then
    printf 'FAIL: %s\n' "${problems[@]}"
    exit 1
fi
echo "PASS: dpdk-test-dma-perf: all $nscen scenarios completed, data checked, non-zero throughput"
