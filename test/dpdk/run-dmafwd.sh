#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# DPDK's examples/dma (dpdk-dma, dmafwd.c) in hardware copy mode on two
# net_null ports, with two emulated xcap cards doing the copies, the PMD
# loaded as a plugin (-d).
#
# usage: run-dmafwd.sh [--dpdk-dma PATH] [--dpdk-version V] [--intervals N]
#                      [--card-devargs ARGS] <librte_dma_xcap.so>
#
#   --dpdk-dma PATH      default: $XCAP_DPDK_BINDIR/dpdk-dma, else dpdk-dma on PATH
#   --intervals N        statistics intervals (1 s each) to forward for; default 3
#   --card-devargs ARGS  more devargs for both cards (e.g. fail_every=1000 to
#                        see the test fail)
#
# dmafwd gives every rx queue of every port a dmadev of its own and uses its
# vchan 0 (assign_dmadevs(): dmadevs in id order, one per port and queue),
# so one queue on each of two ports takes two cards: dma_xcap_emu0 and
# dma_xcap_emu1, one copy channel each. Each port forwards to itself: rx ->
# copy by the card into a new mbuf -> tx. It runs until SIGINT or SIGTERM and
# prints cumulative counters every second: per port received, sent, dropped
# on tx and dropped on copy; per dmadev submitted, completed and failed ops
# (rte_dma_stats). This script lets it forward for N intervals, asks it for
# a device dump (SIGUSR1: rte_dma_dump() of each dmadev it uses), stops it
# with SIGINT and checks:
#   - it exits 0 after closing its ports and stopping its dmadevs ("Bye...");
#   - the dmadevs it used are the xcap cards, started (the dump);
#   - failed ops are 0 in every statistics block, for every dmadev, and in
#     the aggregate; the cards' own error and fault counters (the xcap dump)
#     are 0;
#   - counters never go down from one block to the next, and each card
#     completed more copies by the last block than by the first (it did not
#     stall: a copy that failed and was never reaped, for one, stops
#     dmafwd's port for good, because dmafwd does not look at has_error);
#   - in the last block: packets received and sent and ops completed are
#     non-zero on each port; and, if that block was printed after the signal
#     (dmafwd's worker then stops within one loop iteration, so each counter
#     may still move by at most one burst, 32, while the block is printed):
#       0 <= submitted - completed <= ring size          (ops in flight)
#       0 <= received + completed - submitted - dropped on copy - sent
#              - dropped on tx <= ring size - 1           (mbufs in its rx->tx ring)
#     each within that one-burst-per-counter slack. dmafwd prints no final
#     totals after it stops; if the signal arrived while it was printing, the
#     last block was printed mid-run and only the checks above that hold at
#     any time are made (said so).
# Drops on copy are expected: net_null delivers packets as fast as it is
# polled and dmafwd drops what does not fit in a card's full ring.
set -euo pipefail
. "$(dirname "$0")/common.sh"

usage() { echo "usage: $0 [--dpdk-dma PATH] [--dpdk-version V] [--intervals N] [--card-devargs ARGS] <librte_dma_xcap.so>"; exit 2; }
opt_tool='' opt_version='' intervals=3 card_extra=''
while [ $# -gt 0 ]; do
    case $1 in
        --dpdk-dma) opt_tool=${2:?--dpdk-dma needs a path}; shift 2 ;;
        --dpdk-version) opt_version=${2:?--dpdk-version needs a version}; shift 2 ;;
        --intervals) intervals=${2:?--intervals needs a number}; shift 2 ;;
        --card-devargs) card_extra=${2:?--card-devargs needs devargs}; shift 2 ;;
        -h|--help) usage ;;
        --*) echo "unknown option $1"; usage ;;
        *) break ;;
    esac
done
[ $# = 1 ] || usage
so=$1
[[ "$intervals" =~ ^[1-9][0-9]*$ ]] || xcap_fail "--intervals: expected a positive integer, got '$intervals'"

xcap_find_tool dpdk-dma "$opt_tool"; dma_app=$XCAP_TOOL
xcap_setup_plugin "$so"
xcap_check_same_dpdk "$dma_app" "$so"
xcap_dpdk_version "$dma_app" "$opt_version"; version=$XCAP_VERSION
xcap_new_prefix fwd

ring=1024       # dmafwd -s: each card's vchan ring and the rx->tx rte_ring
burst=32        # dmafwd's MAX_PKT_BURST
card=copy_channels=1,capture_channels=0${card_extra:+,$card_extra}
out=$XCAP_WORK/dmafwd.out
eal=(-l 0-1 --in-memory --file-prefix "$XCAP_PREFIX" --no-pci --iova-mode=va --no-telemetry
     -d "$XCAP_PLUGIN" --vdev=net_null0 --vdev=net_null1
     --vdev="dma_xcap_emu0,$card" --vdev="dma_xcap_emu1,$card")
app=(-c hw -s "$ring" -i 1)
echo "DPDK $version: $dma_app ${eal[*]} -- ${app[*]}" | sed "s|$XCAP_PLUGIN|<copy of $so>|g"

linebuf=(); command -v stdbuf >/dev/null && linebuf=(stdbuf -oL)
: >"$out"
"${linebuf[@]}" "$dma_app" "${eal[@]}" -- "${app[@]}" >"$out" 2>&1 &
pid=$!
running=1   # until waited for: the exit hook kills it only while it is ours
xcap_on_exit '[ $running = 0 ] || kill -KILL $pid 2>/dev/null'
reap() { wait $pid && rc=0 || rc=$?; running=0; }

show_output() {
    echo "--- dpdk-dma output"
    sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$out"
    echo "---"
}
# Waits up to $2 seconds for $1 (a command) to succeed while dpdk-dma runs.
wait_for() {
    local what=$1 secs=$2 i
    for ((i = 0; i < secs * 5; i++)); do
        eval "$what" && return 0
        kill -0 $pid 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
blocks() { grep -c '^====================================================$' "$out" || true; }

if ! wait_for '[ "$(blocks)" -ge '"$intervals"' ]' $((20 + 2 * intervals)); then
    show_output
    if kill -0 $pid 2>/dev/null; then
        xcap_fail "dpdk-dma printed $(blocks) of $intervals statistics blocks in $((20 + 2 * intervals)) s"
    fi
    reap
    xcap_fail "dpdk-dma exited (status $rc) before forwarding for $intervals intervals: see its output above"
fi
kill -USR1 $pid
wait_for "grep -q \"^DMA Dev 1, '\" '$out'" 20 || echo "note: no rte_dma_dump output for dmadev 1 within 20 s of SIGUSR1"
kill -INT $pid
stopped=0
for ((i = 0; i < 150; i++)); do
    if ! kill -0 $pid 2>/dev/null; then stopped=1; break; fi
    sleep 0.2
done
if [ $stopped = 0 ]; then
    kill -KILL $pid 2>/dev/null || true
    reap
    show_output
    xcap_fail "dpdk-dma did not exit within 30 s of SIGINT"
fi
reap
show_output

# One line per fact, from the output with its screen-control sequences
# removed. Blocks start at dmafwd's status line ("... Copy Mode = hw,")
# and end at its "====" line.
facts=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$out" | awk '
    BEGIN { dd = -1 }
    /Signal [0-9]+ received, preparing to exit/ { if (!sig) sig = NR }
    /Copy Mode = / { b++; start[b] = NR; port = -1; chan = -1; next }
    /^Statistics for port [0-9]+ / { port = $4; chan = -1; next }
    /^Packets sent:/            { rx_tx[b, port, "tx"] = $3 }
    /^Packets received:/        { rx_tx[b, port, "rx"] = $3 }
    /^Packets dropped on tx:/   { rx_tx[b, port, "txdrop"] = $5 }
    /^Packets dropped on copy:/ { rx_tx[b, port, "copydrop"] = $5 }
    /^DMA channel [0-9]+$/      { chan = $3; chan_of[b, port] = chan; next }
    /^[ \t]+Total submitted ops:/ { ch[b, chan, "sub"] = $4 }
    /^[ \t]+Total completed ops:/ { ch[b, chan, "cpl"] = $4 }
    /^[ \t]+Total failed ops:/    { ch[b, chan, "fail"] = $4 }
    /^Total failed ops:/          { agg_fail[b] = $4 }
    /^====================================================$/ { if (b) done[b] = 1 }
    /^DMA Dev [0-9]+, / { d = $3; sub(/,$/, "", d); n = $4; gsub(/[\047,]/, "", n); print "dev", d, n, $5; dd = d; next }
    dd >= 0 && /stats submitted [0-9]+ completed [0-9]+ errors [0-9]+ card faults [0-9]+/ {
        for (i = 1; i <= NF; i++) { if ($i == "errors") e = $(i + 1); if ($i == "faults") f = $(i + 1) }
        print "cardstats", dd, e, f }
    dd >= 0 && /card counters: descriptors [0-9]+ errors [0-9]+/ {
        for (i = 1; i <= NF; i++) if ($i == "errors") e = $(i + 1)
        print "cardcounters", dd, e }
    END {
        for (i = 1; i <= b; i++) {
            if (!done[i]) continue
            print "block", i, (sig && start[i] > sig) ? "after-signal" : "running", (i in agg_fail) ? agg_fail[i] : "?"
            for (p = 0; p < 32; p++) {
                if (!((i, p, "rx") in rx_tx)) continue
                c = ((i, p) in chan_of) ? chan_of[i, p] : -1
                print "port", i, p, rx_tx[i, p, "rx"], rx_tx[i, p, "tx"], rx_tx[i, p, "txdrop"], rx_tx[i, p, "copydrop"], \
                      c, ch[i, c, "sub"] + 0, ch[i, c, "cpl"] + 0, ((i, c, "fail") in ch) ? ch[i, c, "fail"] : "?"
            }
        }
    }')

problems=() notes=()
[ $rc = 0 ] || problems+=("dpdk-dma exited with status $rc after SIGINT")
grep -q '^Bye\.\.\.' "$out" || problems+=("dpdk-dma did not finish cleanly ('Bye...' missing)")
nblocks=$(grep -c '^block ' <<<"$facts" || true)
[ "$nblocks" -ge 1 ] || problems+=("no complete statistics block in the output")

declare -A devname=()
while read -r _ id name state; do devname[$id]="$name $state"; done < <(grep '^dev ' <<<"$facts" || true)
while read -r _ id e f; do
    [ "$e" = 0 ] && [ "$f" = 0 ] || problems+=("card of dmadev $id: its driver counts errors $e, card faults $f")
done < <(grep '^cardstats ' <<<"$facts" || true)
while read -r _ id e; do
    [ "$e" = 0 ] || problems+=("card of dmadev $id: the card counts $e errors")
done < <(grep '^cardcounters ' <<<"$facts" || true)
grep -q '^cardstats ' <<<"$facts" ||
    notes+=("the device dump has no xcap counters line ('stats submitted ... errors N card faults N'): card error counters not checked")

last=$(grep '^block ' <<<"$facts" | tail -n 1 | awk '{print $2}')
last_kind=$(grep '^block ' <<<"$facts" | tail -n 1 | awk '{print $3}')
declare -A prev=() first_cpl=()
while read -r kind a b c d e f g h i j _; do
    case $kind in
        block)
            blk=$a
            [ "$c" = 0 ] || problems+=("statistics block $blk: aggregate failed ops $c")
            ;;
        port)   # block port rx tx txdrop copydrop chan sub cpl fail
            p=$b rx=$c tx=$d txd=$e cpd=$f chn=$g sb=$h cp=$i fl=$j
            if [ "$chn" = -1 ]; then problems+=("block $blk: port $p has no DMA channel"); continue; fi
            [ "$fl" = 0 ] || problems+=("block $blk: dmadev $chn (port $p): $fl failed ops")
            cur="$rx $tx $txd $cpd $sb $cp"
            if [ -n "${prev[$p]:-}" ]; then
                read -r -a old <<<"${prev[$p]}"; read -r -a new <<<"$cur"
                for n in 0 1 2 3 4 5; do
                    if [ "${new[$n]}" -lt "${old[$n]}" ]; then
                        problems+=("block $blk: port $p: a counter went down (${prev[$p]} -> $cur: rx tx txdrop copydrop submitted completed)")
                        break
                    fi
                done
            fi
            prev[$p]=$cur
            [ -n "${first_cpl[$p]:-}" ] || first_cpl[$p]=$cp
            ;;
    esac
done < <(grep -E '^(block|port) ' <<<"$facts" || true)

table=()
nports=0
if [ -n "$last" ]; then
    while read -r _ _ p rx tx txd cpd chn sb cp fl; do
        nports=$((nports + 1))
        name=${devname[$chn]:-}
        if [[ "$name" != dma_xcap_emu*" [started]" ]]; then
            problems+=("dmadev $chn (port $p) is '${name:-not in the device dump}', not a started xcap card")
        fi
        [ "$rx" -gt 0 ] || problems+=("port $p received no packets")
        [ "$tx" -gt 0 ] || problems+=("port $p sent no packets")
        [ "$cp" -gt 0 ] || problems+=("dmadev $chn (port $p) completed no copies")
        if [ "$nblocks" -ge 2 ] && [ "$cp" -le "${first_cpl[$p]:-0}" ]; then
            problems+=("dmadev $chn (port $p) completed nothing between the first and the last statistics block ($cp ops in both, $nblocks blocks): it stalled")
        fi
        inflight=$((sb - cp))
        inring=$((rx + cp - sb - cpd - tx - txd))
        if [ "$last_kind" = after-signal ]; then
            if [ $inflight -lt $((-burst)) ] || [ $inflight -gt $((ring + burst)) ]; then
                problems+=("port $p: submitted - completed = $inflight, outside [0, $ring] (+- $burst)")
            fi
            if [ $inring -lt $((-6 * burst)) ] || [ $inring -gt $((ring - 1 + 6 * burst)) ]; then
                problems+=("port $p: received + completed - submitted - dropped - sent = $inring: not what its rx->tx ring (<= $((ring - 1))) can hold (+- $((6 * burst))): packets unaccounted for")
            fi
        fi
        table+=("$(printf '%4s %12s %12s %8s %12s | %3s %-14s %12s %12s %6s %6s %7s' \
            "$p" "$rx" "$tx" "$txd" "$cpd" "$chn" "${name%% *}" "$sb" "$cp" "$fl" "$inflight" "$inring")")
    done < <(grep "^port $last " <<<"$facts")
    [ $nports = 2 ] || problems+=("the last statistics block has $nports ports, expected 2")
    if [ "$last_kind" != after-signal ]; then
        notes+=("the last statistics block was printed while dmafwd was still forwarding (SIGINT arrived during a print): the in-flight and in-ring bounds were not checked")
    fi
fi
for d in "${!devname[@]}"; do
    grep -q "^Stopping dmadev $d\$" "$out" || problems+=("dpdk-dma did not stop dmadev $d")
done

echo "dmafwd $version: -c hw, net_null0 and net_null1, each copied by its own emulated xcap card (ring $ring), $nblocks statistics blocks, stopped by SIGINT, exit status $rc"
case $last_kind in
    after-signal) when="after SIGINT" ;;
    *) when="while forwarding" ;;
esac
echo "final counters (the last statistics block, printed $when):"
printf '%4s %12s %12s %8s %12s | %3s %-14s %12s %12s %6s %6s %7s\n' \
    port received sent tx-drop copy-drop dev name submitted completed failed flight in-ring
printf '%s\n' "${table[@]+"${table[@]}"}"
for n in "${notes[@]+"${notes[@]}"}"; do echo "note: $n"; done
if [ ${#problems[@]} -gt 0 ]; then
    printf 'FAIL: %s\n' "${problems[@]}"
    exit 1
fi
echo "PASS: dmafwd forwarded through both xcap cards: zero failed ops, every counter accounted for"
