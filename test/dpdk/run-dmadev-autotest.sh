#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# DPDK's own dmadev_autotest, run by the dpdk-test of the DPDK this build
# uses, against an emulated xcap card, with the PMD loaded as a plugin
# exactly as a user would (-d).
#
# usage: run-dmadev-autotest.sh [--dpdk-test PATH] [--dpdk-version V]
#                               <librte_dma_xcap.so> [vdev devargs]
#
#   --dpdk-test PATH   default: $XCAP_DPDK_BINDIR/dpdk-test, else dpdk-test on PATH
#   --dpdk-version V   default: $XCAP_DPDK_VERSION, else what dpdk-test's EAL says
#
# What must hold for the xcap device (dma_xcap_emu0):
#   DPDK 23.11 and later print one " + TestCase [ N] : <name> <status>" line
#   per case. copy, sg_copy, stop_start, burst_capacity, error_handling and
#   fill must succeed, and dma_enq_deq too from DPDK 25.03 on (when the
#   op-based API appeared; the PMD offers it from then on). Only these may be
#   skipped, each for a reason printed with the result:
#     m2d_autofree  the card has no mem-to-dev channel
#     sva_copy      the card has no PASID/SVA (25.11+)
#   Any other case skipped, unsupported or failed is a failure, and so is a
#   required case missing. These versions also run DPDK's dmadev API suite
#   (test_dmadev_api.c) on every device, as part of dmadev_autotest (there is
#   no separate command for it): its section for the xcap device must be
#   there and all of its cases must succeed.
#   DPDK 22.11 prints "Running <name> Tests" and "... skipping ..." lines and
#   has fewer cases: copy, burst capacity, error handling and fill must run,
#   and nothing may be skipped; its API suite runs on dma_skeleton only.
# Then dpdk-test must end with "Test OK".
set -euo pipefail
. "$(dirname "$0")/common.sh"

usage() { echo "usage: $0 [--dpdk-test PATH] [--dpdk-version V] <librte_dma_xcap.so> [vdev devargs]"; exit 2; }
opt_tool='' opt_version=''
while [ $# -gt 0 ]; do
    case $1 in
        --dpdk-test) opt_tool=${2:?--dpdk-test needs a path}; shift 2 ;;
        --dpdk-version) opt_version=${2:?--dpdk-version needs a version}; shift 2 ;;
        -h|--help) usage ;;
        --*) echo "unknown option $1"; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || usage
so=$1
devargs=${2:-}

xcap_find_tool dpdk-test "$opt_tool"; dpdk_test=$XCAP_TOOL
xcap_setup_plugin "$so"
xcap_check_same_dpdk "$dpdk_test" "$so"
xcap_dpdk_version "$dpdk_test" "$opt_version"; version=$XCAP_VERSION

dev=dma_xcap_emu0
vdev="$dev${devargs:+,$devargs}"
echo "DPDK $version: $dpdk_test"
if grep -aqw 'dmadev_api_autotest' "$dpdk_test"; then
    echo "note: this dpdk-test has a dmadev_api_autotest command; this script runs dmadev_autotest only"
else
    echo "note: this dpdk-test has no separate dmadev_api_autotest command: dmadev_autotest runs the API suite itself"
fi

declare -A skip_reason=(
    [m2d_autofree]="the card has no mem-to-dev channel"
    [sva_copy]="the card has no PASID/SVA: it DMAs to IOVAs only, docs/hardware.md"
)
required=(copy sg_copy stop_start burst_capacity error_handling fill)
if xcap_ver_ge "$version" 25.03; then required+=(dma_enq_deq); fi
legacy_required=("copy" "burst capacity" "error handling" "fill")

# caps_ops=<mask> plays a smaller card (HW §5.2 Caps1): the PMD advertises
# only its opcodes, and dmadev_autotest must then skip exactly the cases of
# the missing ones (and run them when they are there).
declare -A must_skip=() api_must_skip=()
if [[ ",$devargs," =~ ,caps_ops=([0-9a-fA-Fx]+), ]]; then
    caps=$((BASH_REMATCH[1]))
    if (( !(caps & (1 << 2)) )); then
        must_skip[fill]="the card's Caps1 (caps_ops=${BASH_REMATCH[1]}) has no Fill"
        legacy_required=("copy" "burst capacity" "error handling")
    fi
    if (( !(caps & (1 << 3)) )); then
        must_skip[sg_copy]="the card's Caps1 (caps_ops=${BASH_REMATCH[1]}) has no CopySg"
        # an rte_dma_op is segment lists: no op mode without CopySg
        api_must_skip[test_dma_sg]=1
        if xcap_ver_ge "$version" 25.03; then
            must_skip[dma_enq_deq]="no CopySg, so no RTE_DMA_CAPA_OPS_ENQ_DEQ"
            api_must_skip[test_dma_ops_enq_deq]=1
        fi
    fi
fi

log=$XCAP_WORK/autotest.log
norm=$XCAP_WORK/autotest.txt
# stdout line-buffered so that it interleaves with stderr in the log in the
# order it was written.
linebuf=(); command -v stdbuf >/dev/null && linebuf=(stdbuf -oL)

# The lines of the section whose header starts with $1 and names device $2
# ("... [$2]"), up to the next "### Test dmadev" header.
section() {
    awk -v a="$1" -v b="[$2]" '/^### Test dmadev /{ on = (index($0, a) == 1 && index($0, b) > 0) } on' "$norm"
}
# "name status" for each " + TestCase [ N] : name status" line on stdin.
cases() {
    sed -n 's/^ + TestCase \[ *[0-9]*\] : \(.*\) \([a-z]*\)$/\1 \2/p'
}

# Checks the log of one run. Sets: problems (array of messages), ran,
# skipped (summary lists), api_summary, last_header (the section dpdk-test
# was in when it stopped).
analyze() {
    problems=() ran=() skipped=() api_summary=
    tr '\r' '\n' <"$log" >"$norm"
    last_header=$(grep '^### Test dmadev ' "$norm" | tail -n 1 || true)
    local inst api name st
    inst=$(section "### Test dmadev instance " "$dev")
    if [ -z "$inst" ]; then
        problems+=("dpdk-test did not test the xcap device $dev (was the plugin loaded, did EAL create the vdev?)")
        return
    fi
    if grep -q '^ + TestCase \[' "$norm"; then
        declare -A st_of=()
        while read -r name st; do st_of[$name]=$st; done < <(cases <<<"$inst")
        for name in "${required[@]}"; do
            if [ -z "${st_of[$name]:-}" ]; then
                problems+=("required case $name did not run for $dev (not in its section of the output)")
            fi
        done
        while read -r name st; do
            if [ -n "${must_skip[$name]:-}" ]; then
                if [ "$st" = skipped ]; then
                    skipped+=("$name (${must_skip[$name]})")
                else
                    problems+=("case $name $st for $dev although ${must_skip[$name]}: it must be skipped")
                fi
                continue
            fi
            case $st in
                succeeded) ran+=("$name") ;;
                skipped)
                    if [ -n "${skip_reason[$name]:-}" ]; then
                        skipped+=("$name (${skip_reason[$name]})")
                    else
                        problems+=("case $name was skipped for $dev: only ${!skip_reason[*]} may be skipped (if the card really lacks what it tests, add it to skip_reason in $0 with the reason)")
                    fi ;;
                *) problems+=("case $name $st for $dev") ;;
            esac
        done < <(cases <<<"$inst")
        if ! grep -q '^ + Tests Failed : *0$' <<<"$inst"; then
            problems+=("the instance suite summary for $dev does not say 'Tests Failed : 0'")
        fi
        api=$(section "### Test dmadev infrastructure using " "$dev")
        if [ -z "$api" ]; then
            problems+=("no dmadev API suite section ('### Test dmadev infrastructure using N [$dev]') for $dev")
        else
            local n=0 bad=() api_skipped=0
            while read -r name st; do
                n=$((n + 1))
                if [ -n "${api_must_skip[$name]:-}" ]; then
                    if [ "$st" = skipped ]; then api_skipped=$((api_skipped + 1)); else bad+=("$name $st (must be skipped: not in caps_ops)"); fi
                    continue
                fi
                [ "$st" = succeeded ] || bad+=("$name $st")
            done < <(cases <<<"$api")
            if [ $n = 0 ]; then
                problems+=("the dmadev API suite section for $dev has no test cases (its setup failed?)")
            elif [ ${#bad[@]} -gt 0 ]; then
                problems+=("dmadev API suite on $dev: ${bad[*]} (all $n cases must succeed)")
            fi
            api_summary="dmadev API suite (test_dmadev_api.c, inside dmadev_autotest) on $dev: $n cases, $((n - ${#bad[@]} - api_skipped)) succeeded, $api_skipped skipped for the caps_ops the card lacks"
        fi
    else
        for name in "${legacy_required[@]}"; do
            if grep -q "Running $name Tests" <<<"$inst"; then
                ran+=("${name// /_}")
            else
                problems+=("the $name tests did not run for $dev")
            fi
        done
        if [ -n "${must_skip[fill]:-}" ]; then
            grep -qi 'fill.*skipping\|skipping.*fill' <<<"$inst" ||
                problems+=("the fill tests ran for $dev although ${must_skip[fill]}")
            inst=$(grep -vi 'fill' <<<"$inst" || true)
        fi
        if grep -qi 'skipping' <<<"$inst"; then
            problems+=("part of dmadev_autotest was skipped for $dev: $(grep -i skipping <<<"$inst" | tr '\n' ' ')")
        fi
        api_summary="dmadev API suite: DPDK $version runs it on dma_skeleton only ('$(grep -m1 '^### Test dmadev infrastructure' "$norm" || echo 'not found')'), not on $dev"
    fi
}

cmd=("$dpdk_test" -d "$XCAP_PLUGIN" --vdev="$vdev" --iova-mode=va --no-pci -l 0-1 --in-memory)
echo "$dpdk_test -d <copy of $so> --vdev=$vdev --iova-mode=va --no-pci -l 0-1 --in-memory --file-prefix <unique>"
# dmadev_autotest also tests DPDK's own dma_skeleton driver, whose API tests
# wait a fixed 10 ms for its copy thread; on a loaded machine that thread can
# be late and the run fails in the skeleton's section (before the xcap
# device is tested on 22.11, after it on 23.11+). Only such a failure, with
# nothing wrong in the xcap sections that ran, is retried (twice, said out
# loud); any failure for the xcap device fails at once.
for attempt in 1 2 3; do
    xcap_new_prefix at
    printf 'dmadev_autotest\n' >"$XCAP_WORK/stdin"
    xcap_run_timeout 300 "$XCAP_WORK/stdin" "${linebuf[@]}" "${cmd[@]}" --file-prefix "$XCAP_PREFIX" >"$log" 2>&1
    rc=$XCAP_RC
    analyze
    if [ $rc -ne 0 ] && [[ "$last_header" == *skeleton* ]] &&
       { [ ${#problems[@]} = 0 ] || [[ "${problems[0]}" == "dpdk-test did not test the xcap device"* ]]; }; then
        if [ $attempt -lt 3 ]; then
            echo "note: attempt $attempt: DPDK's own dma_skeleton failed its tests ('$last_header'): a timing flake of that driver's test, not of xcap; running again"
            grep -iE 'failed|error' "$norm" | grep -v '^Ops submitted' | head -5 || true
            continue
        fi
    fi
    break
done
# The full output, without the progress lines (\r-terminated counters, the
# per-segment lines of sg_copy, the per-batch lines of dma_enq_deq).
grep -vE '^Ops submitted|^	src segs|^Enqueued [0-9]+ Latency' "$norm" || true
echo

if [ ${#problems[@]} -gt 0 ]; then
    printf 'FAIL: %s\n' "${problems[@]}"
    exit 1
fi
if [ $rc -ne 0 ] || ! grep -q '^Test OK' "$norm"; then
    xcap_fail "dmadev_autotest did not pass (exit $rc, stopped in '$last_header'): see the output above"
fi
if [ ${#skipped[@]} = 0 ]; then skipped=(none); fi
run_list=$(IFS=,; echo "${ran[*]}")
skip_list=$(printf '%s, ' "${skipped[@]}"); skip_list=${skip_list%, }
[ -z "$api_summary" ] || echo "$api_summary"
if ! grep -q '^ + TestCase \[' "$norm"; then
    echo "note: DPDK $version's dmadev_autotest has no sg_copy, stop_start, m2d_autofree, sva_copy or dma_enq_deq case"
fi
echo "dmadev_autotest $version: run: $run_list; skipped: $skip_list"
echo "PASS: dmadev_autotest on $vdev"
