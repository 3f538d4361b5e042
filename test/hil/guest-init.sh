#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# /init of the HIL guest's initramfs (busybox sh, PID 1). Built into the
# initramfs by run-hil.sh; not run on the host.
#
# Mounts the host's root read-only over virtio-9p (tag hostroot), puts a
# tmpfs overlay on it so the guest can write (/run, /tmp, /lib/modules) without
# touching the host, mounts the writable results share (tag results) at
# /run/xcap-hil/results, and runs the test script named in results/hil.env
# (HIL_SCRIPT, HIL_TIMEOUT) chrooted into that root; its output goes to
# results/guest.log, its exit code to results/rc (137: killed at
# HIL_TIMEOUT), then the guest powers off. PID 1 stays here, so a crashing
# or hanging script still ends with an rc file and a power-off.
PATH=/bin:/sbin
export PATH

say() { echo "hil-init: [$(cut -d" " -f1 /proc/uptime)] $*"; }
halt() {
    sync
    umount /newroot/run/xcap-hil/results 2>/dev/null
    poweroff -f
    sleep 5
    echo o >/proc/sysrq-trigger
}
die() {
    say "FATAL: $*"
    [ -d /newroot/run/xcap-hil/results ] && echo "init: $*" >/newroot/run/xcap-hil/results/init-error
    halt
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
kver=$(uname -r)
say "kernel $kver, $(grep -c ^processor /proc/cpuinfo) CPUs, $(ls -d /sys/devices/system/node/node* | wc -l) NUMA nodes"

for m in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe "$m" || die "modprobe $m failed"
done

p9="trans=virtio,version=9p2000.L,msize=262144"
mkdir -p /mnt/lower /mnt/rw /newroot
mount -t 9p -o "$p9,ro,cache=loose" hostroot /mnt/lower || die "cannot mount the host root (9p tag hostroot)"
mount -t tmpfs -o mode=0755,size=512m rw /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot ||
    die "cannot put an overlay on the 9p root"

mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm /newroot/dev/hugepages
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
mount -t tmpfs -o mode=0755 run /newroot/run
mount -t tmpfs -o mode=1777 tmp /newroot/tmp
mkdir -p /newroot/run/xcap-hil/results
mount -t 9p -o "$p9,cache=none" results /newroot/run/xcap-hil/results ||
    die "cannot mount the results share (9p tag results)"
res=/newroot/run/xcap-hil/results

# The guest kernel's modules, for modprobe in the test script.
mkdir -p "/newroot/lib/modules/$kver"
cp -a "/lib/modules/$kver/." "/newroot/lib/modules/$kver/"
cp /bin/busybox /newroot/run/xcap-hil/busybox

[ -f "$res/hil.env" ] || die "results/hil.env is missing"
HIL_SCRIPT=$(sed -n 's/^HIL_SCRIPT=//p' "$res/hil.env")
HIL_TIMEOUT=$(sed -n 's/^HIL_TIMEOUT=//p' "$res/hil.env")
[ -n "$HIL_SCRIPT" ] || die "HIL_SCRIPT is not set in hil.env"
# A checkout under /tmp or /run (a CI clone, say) is hidden by the guest's own
# tmpfs there: bind the host's copy of it back (<repo>/test/hil/<script>).
case "$HIL_SCRIPT" in
/tmp/*|/run/*)
    repo=${HIL_SCRIPT%/test/hil/*}
    mkdir -p "/newroot$repo"
    mount -o bind "/mnt/lower$repo" "/newroot$repo" ||
        die "cannot bind the checkout $repo from the host root"
    ;;
esac
[ -f "/newroot$HIL_SCRIPT" ] || die "test script $HIL_SCRIPT is not in the host root"
say "running $HIL_SCRIPT (guest timeout ${HIL_TIMEOUT:-none} s)"

# In a session of its own, so that a timeout kills everything it started.
cd /newroot || die "no /newroot"
setsid chroot /newroot /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TERM=dumb LANG=C.UTF-8 TMPDIR=/tmp \
    HIL_RESULTS=/run/xcap-hil/results HIL_ENV=/run/xcap-hil/results/hil.env \
    /bin/bash "$HIL_SCRIPT" </dev/null >"$res/guest.log" 2>&1 &
pid=$!
waited=0
while kill -0 "$pid" 2>/dev/null; do
    if [ -n "$HIL_TIMEOUT" ] && [ "$waited" -ge "$HIL_TIMEOUT" ]; then
        say "test script still running after $HIL_TIMEOUT s: killing it"
        kill -KILL -"$pid" "$pid" 2>/dev/null
        echo "hil-init: killed after $HIL_TIMEOUT s (guest timeout)" >>"$res/guest.log"
        break
    fi
    sleep 1
    waited=$((waited + 1))
done
wait "$pid"
rc=$?
kill -KILL -"$pid" 2>/dev/null # whatever it left behind
echo "$rc" >"$res/rc"
say "test script exit code $rc after ${waited}s"
halt
