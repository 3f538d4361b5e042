# SPDX-License-Identifier: BSD-3-Clause
# Shared by the scripts in test/dpdk/ that run DPDK's own tools against the
# emulated xcap card. Sourced (not run): each script has `set -euo pipefail`.
#
# What it provides:
#   xcap_fail MSG...            print "FAIL: MSG" and exit 1
#   xcap_find_tool NAME [PATH]  sets XCAP_TOOL, the DPDK tool to run: PATH
#                               if given, else $XCAP_DPDK_BINDIR/NAME, else
#                               NAME on PATH
#   xcap_dpdk_version TOOL [V]  sets XCAP_VERSION, the DPDK version: V, else
#                               $XCAP_DPDK_VERSION, else the libdpdk.pc of the
#                               DPDK libraries TOOL loads
#   xcap_ver_ge A B             true if version A >= version B
#   xcap_check_same_dpdk TOOL PMD
#                               fails if TOOL and the PMD link different
#                               DPDK ABIs (a tool from another DPDK)
#   xcap_setup_plugin PMD       copies the PMD where EAL accepts a -d plugin
#                               (sets XCAP_PLUGIN) and makes a private work
#                               directory (XCAP_WORK)
#   xcap_new_prefix TAG         a unique EAL --file-prefix (XCAP_PREFIX) whose
#                               runtime directory is removed on exit
#   xcap_on_exit CMD            run CMD on exit (before the cleanup above)
#   xcap_run_timeout SECS IN CMD..
#                               runs CMD under timeout(1), stdin from file IN,
#                               stdout and stderr as redirected by the caller,
#                               and sets XCAP_RC; if this script
#                               is killed meanwhile, the command is stopped too
#                               (timeout(1) runs in a process group of its own,
#                               which a test harness killing ours misses)

xcap_fail() {
    echo "FAIL: $*"
    exit 1
}

XCAP_TOOL=
xcap_find_tool() {
    local name=$1 given=${2:-}
    if [ -n "$given" ]; then
        [ -x "$given" ] || xcap_fail "$name: '$given' does not exist or is not executable"
        XCAP_TOOL=$given; return
    fi
    if [ -n "${XCAP_DPDK_BINDIR:-}" ] && [ -x "$XCAP_DPDK_BINDIR/$name" ]; then
        XCAP_TOOL=$XCAP_DPDK_BINDIR/$name; return
    fi
    XCAP_TOOL=$(command -v "$name" || true)
    if [ -z "$XCAP_TOOL" ]; then
        xcap_fail "$name not found (not in \$XCAP_DPDK_BINDIR='${XCAP_DPDK_BINDIR:-}', not on PATH).
  Debian's DPDK: apt-get install dpdk-dev. A DPDK built from source: usertools/xcap-quickstart
  --dpdk <version> build installs its tools into <prefix>/bin; run through 'meson test', or
  eval \"\$(usertools/xcap-quickstart --dpdk <version> env)\" first."
    fi
}

xcap_ver_ge() {
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

# The DPDK version: given, else $XCAP_DPDK_VERSION (meson's test setup sets
# it), else the Version of the libdpdk.pc next to the librte_eal the tool
# loads (found with ldd; LD_LIBRARY_PATH must be as for running it).
xcap_dpdk_version() {
    local tool=$1 v=${2:-${XCAP_DPDK_VERSION:-}} lib
    if [ -z "$v" ]; then
        lib=$(ldd "$tool" 2>/dev/null | awk '/librte_eal\.so/ { print $3; exit }' || true)
        if [ -n "$lib" ] && [ -f "$(dirname "$lib")/pkgconfig/libdpdk.pc" ]; then
            v=$(sed -n 's/^Version: *//p' "$(dirname "$lib")/pkgconfig/libdpdk.pc")
        fi
        [ -n "$v" ] || xcap_fail "cannot tell the DPDK version of $tool (no libdpdk.pc next to the librte_eal it loads): pass --dpdk-version or set XCAP_DPDK_VERSION"
    fi
    XCAP_VERSION=$v
}

# The NEEDED librte_eal.so.N of an ELF file (empty if none: a static build).
xcap_eal_soname() {
    { readelf -d "$1" 2>/dev/null || true; } |
        sed -n 's/.*Shared library: \[\(librte_eal\.so[.0-9]*\)\].*/\1/p' | head -n 1
}

xcap_check_same_dpdk() {
    local tool=$1 pmd=$2 a b
    command -v readelf >/dev/null || return 0
    a=$(xcap_eal_soname "$tool"); b=$(xcap_eal_soname "$pmd")
    if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then
        xcap_fail "$tool links $a but the PMD ($pmd) was built against $b: the tool belongs
  to another DPDK than the build's. Put that DPDK's own tool in its <prefix>/bin
  (usertools/xcap-quickstart does) or first on PATH, or pass its path."
    fi
}

XCAP_EXIT_HOOKS=()
xcap_on_exit() { XCAP_EXIT_HOOKS+=("$1"); }

XCAP_CHILD=
XCAP_RC=
xcap_run_timeout() {
    local secs=$1 in=$2; shift 2
    timeout "$secs" "$@" <"$in" &
    XCAP_CHILD=$!
    wait "$XCAP_CHILD" && XCAP_RC=0 || XCAP_RC=$?
    XCAP_CHILD=
}

XCAP_WORK=
XCAP_PREFIXES=()
xcap_exit() {
    local rc=$? h p rt
    [ -z "$XCAP_CHILD" ] || { kill -TERM "$XCAP_CHILD" 2>/dev/null; wait "$XCAP_CHILD" 2>/dev/null; } || true
    for h in "${XCAP_EXIT_HOOKS[@]+"${XCAP_EXIT_HOOKS[@]}"}"; do eval "$h" || true; done
    # EAL makes <runtime dir>/<file-prefix> even with --in-memory and leaves
    # it behind; remove ours (only ours).
    rt=$(xcap_runtime_dir)
    for p in "${XCAP_PREFIXES[@]+"${XCAP_PREFIXES[@]}"}"; do
        [ -n "$p" ] && rm -rf "${rt:?}/$p"
    done
    [ -n "$XCAP_WORK" ] && rm -rf "$XCAP_WORK"
    exit $rc
}
trap xcap_exit EXIT
# Killed (a meson test timeout, ^C): still clean up.
trap 'exit 143' TERM
trap 'exit 130' INT

# Where EAL puts its runtime directories (eal_create_runtime_dir()).
xcap_runtime_dir() {
    if [ "$(id -u)" = 0 ]; then echo /var/run/dpdk; else echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk"; fi
}

XCAP_PREFIX=
xcap_new_prefix() {
    XCAP_PREFIX="xcap-$1-$$-${#XCAP_PREFIXES[@]}"
    XCAP_PREFIXES+=("$XCAP_PREFIX")
}

# EAL refuses a plugin when the file or any parent directory is
# world-writable (a fresh clone may sit under /tmp). Copy it into a private
# directory under a parent that is not world-writable.
XCAP_PLUGIN=
xcap_setup_plugin() {
    local so=$1 base='' cand d unsafe
    [ -f "$so" ] || xcap_fail "the PMD '$so' does not exist: build it first (ninja -C <build dir>)"
    for cand in "${XDG_RUNTIME_DIR:-}" /run "${HOME:-/nonexistent}/.cache"; do
        [ -n "$cand" ] && [ -d "$cand" ] && [ -w "$cand" ] || continue
        unsafe=0; d=$cand
        while [ "$d" != / ]; do
            if [ -n "$(find "$d" -maxdepth 0 -perm -0002 2>/dev/null)" ]; then unsafe=1; break; fi
            d=$(dirname "$d")
        done
        if [ $unsafe = 0 ]; then base=$cand; break; fi
    done
    [ -n "$base" ] || xcap_fail "no writable directory without world-writable parents to load the plugin from
  (tried \$XDG_RUNTIME_DIR, /run, ~/.cache): create one, e.g. mkdir -m 0700 ~/.cache"
    XCAP_WORK=$(mktemp -d "$base/xcap-dpdk-tools.XXXXXX")
    chmod 0755 "$XCAP_WORK"
    install -m 0644 "$so" "$XCAP_WORK/librte_dma_xcap.so"
    XCAP_PLUGIN=$XCAP_WORK/librte_dma_xcap.so
}
