#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run-hil.sh: the xcap card as a real PCI device in a QEMU guest.
#
# Boots a Debian kernel under QEMU (TCG) on a q35 machine with an emulated
# Intel IOMMU and two NUMA nodes. The xcap card is an ivshmem-plain device
# (1af4:1110) behind a PCIe expander bridge on node 1; its BAR2 is a 1 MiB
# host file that xcap-hil-card (the device model, a host process) uses as
# the register window, and it reaches guest memory through the guest's RAM
# files. The guest mounts the host's root read-only over 9p, binds the card
# to vfio-pci and runs test/hil/guest-test.sh (DPDK's PCI probe through VFIO,
# dmadev_autotest, the apps); results come back over a second 9p share.
#
# usage: test/hil/run-hil.sh [--build-dir DIR] [--source-dir DIR]
#            [--guest-script FILE] [--timeout SECONDS] [--keep]
#   --guest-script  run this script in the guest instead of guest-test.sh
#   --timeout       hard limit for QEMU, seconds (default 270); the script in
#                   the guest gets 45 s less
#   --keep          keep the run directory (always kept when the run fails)
#
# Exit status: 0 when every step in the guest passed and its log shows the
# vfio-pci bind, EAL's probe of dma_xcap on socket 1 and dmadev_autotest's
# "Test OK"; 1 when a step failed; 2 when the harness could not run the
# guest at all (each such case says why).
#
# Environment:
#   XCAP_HIL_CACHE       guest kernel and initramfs cache (default
#                        /var/cache/xcap-hil, or <source>/.deps/hil if that
#                        is not writable)
#   XCAP_HIL_NODE_MEM    guest RAM per NUMA node in MiB (default 1024)
#   XCAP_HIL_KERNEL      Debian kernel ABI to use, e.g. 6.1.0-56-amd64 (default:
#                        the one already cached, else linux-image-amd64's)
#   XCAP_HIL_BAR_OFFSET  where xcap-hil-card puts the register window in the
#                        BAR file (default 0; anything else breaks the PCI
#                        path on purpose: the PMD then finds no xcap card)
#   XCAP_HIL_CARD_ARGS   more xcap-hil-card arguments, e.g. "--copy-channels 2"
#   XCAP_HIL_NO_INSTALL  1: never apt-get install missing tools, just fail
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=
guest_script=
timeout_s=270   # hard limit for the guest; the whole suite stays under 5 min
keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --build-dir) build=$2; shift 2 ;;
    --source-dir) src=$2; shift 2 ;;
    --guest-script) guest_script=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '3,/^set /{/^#/p}' "$0" | cut -c3-; exit 0 ;;
    *) echo "run-hil.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
build=${build:-$src/build}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "hil: FAIL: build directory not found (meson setup build; ninja -C build)"; exit 2; }
guest_script=${guest_script:-$here/guest-test.sh}
if [ -n "${XCAP_HIL_CACHE:-}" ]; then cache=$XCAP_HIL_CACHE
elif [ -w /var/cache ]; then cache=/var/cache/xcap-hil
else cache=$src/.deps/hil; fi
node_mem=${XCAP_HIL_NODE_MEM:-1024}
case $node_mem in *[!0-9]*|'') echo "run-hil.sh: XCAP_HIL_NODE_MEM must be MiB, got '$node_mem'" >&2; exit 2 ;; esac
bar_offset=${XCAP_HIL_BAR_OFFSET:-0}

t0=$(date +%s)
say() { printf 'hil: [%3ds] %s\n' $(( $(date +%s) - t0 )) "$*"; }
fail() { say "FAIL: $*"; exit 2; }

# ---- host tools ----------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
[ -x /bin/busybox ] && ! LC_ALL=C file -L /bin/busybox 2>/dev/null | grep -q dynamic ||
    need_pkgs+=(busybox-static)
command -v depmod >/dev/null && command -v modprobe >/dev/null || need_pkgs+=(kmod)
command -v dpkg-deb >/dev/null || fail "dpkg-deb not found: this harness needs a Debian host"
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "${XCAP_HIL_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        fail "missing tools; install the Debian packages: ${need_pkgs[*]}"
    fi
    say "installing ${need_pkgs[*]} (apt-get)"
    aptlog=$(mktemp)
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >"$aptlog" 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$aptlog" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >>"$aptlog" 2>&1 ||
            { tail -5 "$aptlog"; rm -f "$aptlog"; fail "apt-get install ${need_pkgs[*]} failed"; }
    fi
    rm -f "$aptlog"
fi
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 still missing after installing qemu-system-x86"
python=$(command -v /usr/bin/python3 python3 | head -1)
[ -n "$python" ] || fail "python3 not found"
command -v dpdk-test >/dev/null || fail "dpdk-test not found on the host (Debian package dpdk-dev): the guest runs the host's DPDK"
command -v dpdk-devbind.py >/dev/null || fail "dpdk-devbind.py not found on the host (Debian package dpdk)"

card_bin=$build/test/hil/xcap-hil-card
probe_bin=$build/test/hil/xcap-hil-probe
pmd_so=$build/drivers/librte_dma_xcap.so
for f in "$card_bin" "$probe_bin" "$pmd_so"; do
    [ -x "$f" ] || [ -f "$f" ] || fail "$f is not built (ninja -C $build)"
done
[ -f "$guest_script" ] || fail "guest script $guest_script not found"
case $guest_script in /*) ;; *) guest_script=$(cd "$(dirname "$guest_script")" && pwd)/$(basename "$guest_script") ;; esac

# ---- guest kernel and initramfs (cached) ------------------------------------
# modules the guest needs, with their dependencies: virtio-pci + 9p for the
# root and results shares, overlay for a writable root, VFIO for the card.
guest_modules="virtio_pci 9pnet_virtio 9p overlay vfio-pci vfio_iommu_type1"
mkdir -p "$cache" || fail "cannot create the cache directory $cache"
exec 9>"$cache/.lock"
flock -w 300 9 || fail "another run holds $cache/.lock"

kver=${XCAP_HIL_KERNEL:-}
if [ -z "$kver" ] && [ -f "$cache/current" ]; then
    kver=$(cat "$cache/current")
    [ -f "$cache/$kver/vmlinuz" ] || kver=
fi
if [ -z "$kver" ]; then
    kver=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\(.*-amd64\)$/\1/p' | head -1)
    if [ -z "$kver" ]; then
        apt-get update -q >/dev/null 2>&1
        kver=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\(.*-amd64\)$/\1/p' | head -1)
    fi
    [ -n "$kver" ] || fail "cannot tell which Debian kernel to use: apt-cache knows no linux-image-amd64 (apt-get update failed?); set XCAP_HIL_KERNEL=<abi>-amd64"
fi
kdir=$cache/$kver
if [ ! -f "$kdir/vmlinuz" ] || [ ! -f "$kdir/modules.done" ]; then
    say "guest kernel $kver: downloading linux-image-$kver (apt-get download)"
    tmp=$(mktemp -d "$cache/.dl.XXXXXX")
    if ! (cd "$tmp" && apt-get download "linux-image-$kver" >"$tmp/apt.log" 2>&1); then
        apt-get update -q >>"$tmp/apt.log" 2>&1
        (cd "$tmp" && apt-get download "linux-image-$kver" >>"$tmp/apt.log" 2>&1) || {
            tail -3 "$tmp/apt.log"; rm -rf "$tmp"
            fail "kernel download failed: apt-get download linux-image-$kver (no network to Debian's archive, or that version is gone: set XCAP_HIL_KERNEL)"; }
    fi
    dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/x" || { rm -rf "$tmp"; fail "cannot unpack linux-image-$kver"; }
    depmod -b "$tmp/x" "$kver" || { rm -rf "$tmp"; fail "depmod on linux-image-$kver failed"; }
    rm -rf "$kdir"; mkdir -p "$kdir/root/lib/modules/$kver"
    cp "$tmp/x/boot/vmlinuz-$kver" "$kdir/vmlinuz"
    for m in $guest_modules; do
        deps=$(modprobe -d "$tmp/x" -S "$kver" --show-depends "$m" 2>&1) ||
            { rm -rf "$tmp"; fail "guest kernel $kver has no module $m: $deps"; }
        while read -r kind path _; do
            [ "$kind" = insmod ] || continue
            rel=${path#"$tmp/x"}
            mkdir -p "$kdir/root$(dirname "$rel")"
            cp "$path" "$kdir/root$rel"
        done <<<"$deps"
    done
    for f in modules.order modules.builtin modules.builtin.modinfo; do
        cp "$tmp/x/lib/modules/$kver/$f" "$kdir/root/lib/modules/$kver/" 2>/dev/null
    done
    depmod -b "$kdir/root" "$kver" || { rm -rf "$tmp"; fail "depmod on the module subset failed"; }
    rm -rf "$tmp"
    touch "$kdir/modules.done"
    echo "$kver" >"$cache/current"
fi
# The initramfs depends on /init and busybox: rebuilt when either changes.
ikey=$(cat "$here/guest-init.sh" /bin/busybox | sha256sum | cut -c1-16)
initrd=$kdir/initramfs-$ikey.cpio.gz
if [ ! -f "$initrd" ]; then
    say "guest initramfs: busybox + $(find "$kdir/root" -name '*.ko' | wc -l) modules"
    tmp=$(mktemp -d "$cache/.ir.XXXXXX")
    mkdir -p "$tmp"/{bin,sbin,dev,proc,sys,mnt,newroot,lib}
    cp /bin/busybox "$tmp/bin/busybox"
    for app in $(/bin/busybox --list); do
        [ -e "$tmp/bin/$app" ] || ln -s busybox "$tmp/bin/$app"
    done
    cp -a "$kdir/root/lib/modules" "$tmp/lib/"
    install -m 0755 "$here/guest-init.sh" "$tmp/init"
    (cd "$tmp" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd.tmp") ||
        { rm -rf "$tmp" "$initrd.tmp"; fail "cannot build the initramfs"; }
    mv "$initrd.tmp" "$initrd"
    rm -rf "$tmp"
    find "$kdir" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -name "$(basename "$initrd")" -delete
fi
flock -u 9
say "guest kernel $kver, initramfs $(basename "$initrd") ($(( $(stat -c %s "$initrd") / 1024 )) KiB), cache $cache"

# ---- run directory, shared memory --------------------------------------------
run=$(mktemp -d "${TMPDIR:-/tmp}/xcap-hil.XXXXXX") || fail "cannot create a run directory"
chmod 0755 "$run"
mkdir -p "$run/results"
shm=/dev/shm/xcap-hil-$$
ram0=$shm-ram0 ram1=$shm-ram1 bar=$shm-bar
card_pid='' qemu_pid=''
# shellcheck disable=SC2317 # called through the trap
cleanup() {
    local rc=$?
    [ -n "$qemu_pid" ] && kill -KILL "$qemu_pid" 2>/dev/null
    [ -n "$card_pid" ] && kill -TERM "$card_pid" 2>/dev/null && wait "$card_pid" 2>/dev/null
    rm -f "$ram0" "$ram1" "$bar"
    # kept on failure: console.log, card.log, qemu.cmd, results/
    if [ "$keep" = 1 ] || [ "$rc" != 0 ]; then echo "hil: run directory kept: $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 2' INT TERM
shm_free=$(df -k --output=avail /dev/shm | tail -1)
[ "$shm_free" -gt $(( (2 * node_mem + 64) * 1024 )) ] || fail "/dev/shm has $(( shm_free / 1024 )) MiB free; the guest's RAM needs $(( 2 * node_mem )) MiB there"
if ! truncate -s "${node_mem}M" "$ram0" || ! truncate -s "${node_mem}M" "$ram1" || ! truncate -s 1M "$bar"; then
    fail "cannot create the shared memory files under /dev/shm"
fi

# ---- the card --------------------------------------------------------------
# shellcheck disable=SC2086 # XCAP_HIL_CARD_ARGS is a list of arguments
"$card_bin" --bar "$bar" --bar-offset "$bar_offset" --ram "hil-ram0=$ram0" --ram "hil-ram1=$ram1" \
    --map-out "$run/card.map" --ready-file "$run/card.ready" ${XCAP_HIL_CARD_ARGS:-} >"$run/card.log" 2>&1 &
card_pid=$!
for _ in $(seq 100); do
    [ -f "$run/card.ready" ] && break
    kill -0 "$card_pid" 2>/dev/null || { cat "$run/card.log"; card_pid=; fail "xcap-hil-card exited before it was ready"; }
    sleep 0.1
done
[ -f "$run/card.ready" ] || { cat "$run/card.log"; fail "xcap-hil-card not ready after 10 s"; }
sed 's/^/  /' "$run/card.log"
say "card: xcap-hil-card (pid $card_pid) owns the register window in $bar"

# ---- the guest ---------------------------------------------------------------
# The guest's own limit for the test script comes first, so a hung step
# still ends in a clean power-off with a log; the hard timeout is for a
# guest that hangs as a whole.
# (booting takes 5-15 s, more on a busy host).
guest_timeout=$(( timeout_s - 45 ))
[ $guest_timeout -ge 10 ] || guest_timeout=$(( timeout_s / 2 ))
cat >"$run/results/hil.env" <<EOF
HIL_SCRIPT=$guest_script
HIL_TIMEOUT=$guest_timeout
XCAP_SRC=$src
XCAP_BUILD=$build
XCAP_HIL_NODE=1
XCAP_DPDK_VERSION=${XCAP_DPDK_VERSION:-}
# the host's DPDK (Debian's, or a source build: its bin and libraries are
# outside the guest's default paths), seen through the 9p root
export PATH=$PATH
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
EOF
# shellcheck disable=SC2054 # commas inside QEMU option values
qemu=(qemu-system-x86_64 -name xcap-hil -nodefaults -no-user-config -display none
    -machine q35,kernel-irqchip=split -accel tcg,thread=multi -cpu max -smp 2 -m $(( 2 * node_mem ))M
    # the IOMMU first, so every device is created behind it
    -device intel-iommu,intremap=on,caching-mode=on
    -object "memory-backend-file,id=hil-ram0,size=${node_mem}M,mem-path=$ram0,share=on"
    -object "memory-backend-file,id=hil-ram1,size=${node_mem}M,mem-path=$ram1,share=on"
    -numa node,nodeid=0,cpus=0,memdev=hil-ram0
    -numa node,nodeid=1,cpus=1,memdev=hil-ram1
    # the card: behind an expander bridge whose root bus is on node 1
    -device pxb-pcie,id=pxb1,bus_nr=32,numa_node=1,bus=pcie.0
    -device pcie-root-port,id=rp1,bus=pxb1,chassis=1
    -object memory-backend-file,id=xcap-bar,size=1M,mem-path="$bar",share=on
    -device ivshmem-plain,id=xcap0,memdev=xcap-bar,bus=rp1
    # host root (read-only) and the results share
    -fsdev local,id=fs-root,path=/,security_model=none,readonly=on,multidevs=remap
    -device virtio-9p-pci,fsdev=fs-root,mount_tag=hostroot,bus=pcie.0
    -fsdev local,id=fs-res,path="$run/results",security_model=none
    -device virtio-9p-pci,fsdev=fs-res,mount_tag=results,bus=pcie.0
    -kernel "$kdir/vmlinuz" -initrd "$initrd"
    -append "console=ttyS0 intel_iommu=on panic=-1 loglevel=4 rdinit=/init"
    -chardev file,id=con,path="$run/console.log" -serial chardev:con
    -monitor unix:"$run/mon.sock",server=on,wait=off
    -no-reboot -S)
printf '%q ' "${qemu[@]}" >"$run/qemu.cmd"
say "guest: starting QEMU (q35, intel-iommu, 2 NUMA nodes, card behind pxb-pcie on node 1; hard timeout ${timeout_s}s)"
timeout -k 5 "$timeout_s" "${qemu[@]}" >"$run/qemu.log" 2>&1 &
qemu_pid=$!
# Before the guest runs a single instruction: does the card see guest RAM
# where QEMU put it?
if ! "$python" "$here/qemu-monitor.py" "$run/mon.sock" check-layout "$run/card.map" >"$run/layout.log" 2>&1; then
    sed 's/^/  /' "$run/layout.log"
    if ! kill -0 "$qemu_pid" 2>/dev/null; then
        cat "$run/qemu.log"; qemu_pid=
        fail "QEMU did not start (its messages are above)"
    fi
    "$python" "$here/qemu-monitor.py" "$run/mon.sock" quit >/dev/null 2>&1
    fail "the card's view of guest memory does not match QEMU's"
fi
sed 's/^/  /' "$run/layout.log"
"$python" "$here/qemu-monitor.py" "$run/mon.sock" cont >/dev/null 2>&1 || fail "cannot start the guest (monitor)"
tq=$(date +%s)
wait "$qemu_pid"
qrc=$?
qemu_pid=
cycle=$(( $(date +%s) - tq ))

kill -TERM "$card_pid" 2>/dev/null
wait "$card_pid"
crc=$?
card_pid=

echo "----- guest: test script output ($guest_script) -----"
if [ -f "$run/results/guest.log" ]; then tr -d '\r' <"$run/results/guest.log"; else echo "(none)"; fi
echo "----- card: xcap-hil-card -----"
sed -n '/ready:/,$p' "$run/card.log" | grep -v 'ready:'
echo "-----"

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    echo "last console lines:"; tail -25 "$run/console.log" | tr -d '\r'
    fail "guest did not power off within ${timeout_s}s (hard timeout): QEMU killed"
fi
if [ "$qrc" != 0 ]; then
    cat "$run/qemu.log"; echo "last console lines:"; tail -25 "$run/console.log" | tr -d '\r'
    fail "QEMU exited with status $qrc"
fi
[ "$crc" = 0 ] || fail "xcap-hil-card exited with status $crc (see above)"
# The strict card (docs/model.md): the real vfio-pci path must not break
# the hardware contract anywhere in the guest's run.
grep -q 'xcap-hil-card: 0 contract violation(s)' "$run/card.log" ||
    fail "the driver in the guest broke the hardware contract: $(grep -m1 'contract violation' "$run/card.log" || echo 'no violation count in card.log')"
if [ -f "$run/results/init-error" ]; then
    tail -25 "$run/console.log" | tr -d '\r'
    fail "guest init: $(cat "$run/results/init-error")"
fi
if [ ! -f "$run/results/rc" ]; then
    echo "last console lines:"; tail -40 "$run/console.log" | tr -d '\r'
    fail "the guest powered off without a result (kernel panic or init failure: see the console lines above)"
fi
grc=$(cat "$run/results/rc")
say "guest finished in ${cycle}s (boot to power-off); test script exit code $grc"
if [ "$grc" = 137 ]; then
    say "FAIL: the guest test script was killed after ${guest_timeout}s (the guest's timeout; --timeout sets it)"
    exit 1
fi
if [ "$grc" != 0 ]; then
    grep -E '^(FAIL|SKIP): ' "$run/results/guest.log" | sed 's/^/  /'
    say "FAIL: the guest test script failed (exit $grc)"
    exit 1
fi
# The script passed; its log must also show the evidence this test exists for.
missing=0
evidence() {
    if grep -qE "$1" "$run/results/guest.log"; then say "evidence: $2"
    else say "FAIL: the guest log does not show: $2"; missing=1; fi
}
evidence '^PASS: .* bound to vfio-pci' "the card bound to vfio-pci"
evidence '(EAL|PCI_BUS): Probe PCI driver: dma_xcap \(1af4:1110\) device: [0-9a-f:.]+ \(socket 1\)' \
    "EAL probing the xcap PCI driver on socket 1"
evidence 'EAL: VFIO support initialized' "EAL using VFIO"
evidence '^  \| hil-probe: dmadev [0-9]+: [0-9a-f:.]+, NUMA node 1$' "the PMD's dmadev for the card, NUMA node 1"
if grep -q '^SKIP: dmadev_autotest' "$run/results/guest.log"; then
    say "note: $(grep '^SKIP: dmadev_autotest' "$run/results/guest.log" | sed 's/^SKIP: //')"
else
    evidence '^  \| Test OK' "dmadev_autotest Test OK on the PCI card"
fi
evidence 'memzone .* on socket 1$' "the vchan rings on socket 1"
[ $missing = 0 ] || exit 1
say "PASS ($(grep -E '^hil-guest: ' "$run/results/guest.log" | sed 's/^hil-guest: //'))"
exit 0
