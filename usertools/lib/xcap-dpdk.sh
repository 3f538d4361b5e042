# SPDX-License-Identifier: BSD-3-Clause
# Sourced by usertools/xcap-quickstart: which DPDK xcap builds against
# (--dpdk system|24.11|25.11|PATH), and building a DPDK release from source
# into a cache outside the checkout (docs/getting-started.md "DPDK versions").
#
# After select_dpdk: DPDK_KIND (system|source), DPDK_VER (e.g. 25.11),
# DPDK_PREFIX (source builds), BUILD_DIR (build/ for the default version,
# build-dpdk-<version>/ for any other).

# The version built from source when the installed DPDK is older than 23.11.
DEFAULT_SOURCE_DPDK=25.11
# The lean DPDK build: the buses, the mempool, net/null, net/ring, net/pcap
# (xcap-fwd's pcap output port in the capture tests), dma/skeleton and the
# upstream tools the test suite runs against xcap.
# default_library=shared: DPDK's apps then load our plugin (-d) against the
# same shared bus libraries it links to (a static dpdk-test panics with
# "Cannot initialize tailq" when a plugin brings its own librte_bus_pci).
# cpu_instruction_set=generic: -march=corei7, as Debian builds its DPDK.
# DPDK's default (native) puts this CPU's AVX-512 into libdpdk.pc's cflags,
# hence into xcap too, and the HIL guest's emulated CPU (QEMU TCG) then
# dies of SIGILL; DPDK still picks its AVX2/AVX-512 paths at run time.
DPDK_MESON_OPTS=(
    -Denable_driver_sdk=true -Dtests=true -Ddefault_library=shared
    -Ddeveloper_mode=disabled -Dbuildtype=release -Dcpu_instruction_set=generic
    -Denable_drivers=bus/pci,bus/vdev,mempool/ring,net/null,net/ring,net/pcap,dma/skeleton
    -Denable_apps=test,test-dma-perf,dumpcap,pdump,proc-info,test-pmd
    -Dexamples=dma,l2fwd
)
DPDK_RELEASE_URL=https://fast.dpdk.org/rel
XCAP_CACHE=${XCAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xcap}

# Debian's installed DPDK version as x.y (empty: none).
system_dpdk_version() {
    local v
    v=$(pkg-config --modversion libdpdk 2>/dev/null) || return 0
    [[ $(pkg-config --variable=prefix libdpdk 2>/dev/null) == /usr ]] || return 0
    printf '%s' "${v%.*}"
}

version_ge() { [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1) == "$2" ]]; }

# Sets DPDK_KIND, DPDK_VER, DPDK_SRC_HINT from --dpdk / XCAP_DPDK (or the
# default), and BUILD_DIR.
select_dpdk() {
    local want=${DPDK_OPT:-${XCAP_DPDK:-}} sys default
    sys=$(system_dpdk_version)
    if [[ -n $sys ]] && version_ge "$sys" 23.11; then default=system; else default=$DEFAULT_SOURCE_DPDK; fi
    [[ -n $want ]] || want=$default
    DPDK_SRC_HINT=${XCAP_DPDK_SRC:-}
    case $want in
    system)
        DPDK_KIND=system DPDK_VER=${sys:-22.11} ;;
    [0-9][0-9].[0-9][0-9])
        DPDK_KIND=source DPDK_VER=$want ;;
    *)
        [[ -e $want ]] || usage_error "--dpdk $want: not system, a version (24.11, 25.11) or an existing DPDK tree/tarball"
        DPDK_KIND=source DPDK_SRC_HINT=$(realpath "$want")
        DPDK_VER=$(source_version "$DPDK_SRC_HINT") ||
            die "--dpdk $want: cannot tell its DPDK version (no VERSION file in the tree or tarball)" ;;
    esac
    if [[ $want == "$default" || ($DPDK_KIND == system && $default == system) ]]; then
        BUILD_DIR=$REPO/build
    else
        BUILD_DIR=$REPO/build-dpdk-$DPDK_VER
    fi
}

# x.y of a DPDK tree or release tarball.
source_version() {
    local src=$1 v
    if [[ -d $src ]]; then
        v=$(<"$src/VERSION")
    else
        v=$(tar -xOf "$src" --wildcards '*/VERSION' 2>/dev/null | head -n 1)
    fi
    [[ $v =~ ^([0-9]+\.[0-9]+) ]] || return 1
    printf '%s' "${BASH_REMATCH[1]}"
}

# Where the sources of DPDK_VER come from: XCAP_DPDK_SRC or a --dpdk PATH, the
# release trees next to the checkout (../shared/dpdk), else a download.
find_dpdk_source() {
    if [[ -n $DPDK_SRC_HINT ]]; then
        printf '%s' "$DPDK_SRC_HINT"
        return
    fi
    local cand
    for cand in "$REPO/../shared/dpdk/dpdk-$DPDK_VER.tar.xz" "$XCAP_CACHE/src/dpdk-$DPDK_VER.tar.xz"; do
        [[ -f $cand ]] && { printf "%s" "$(realpath "$cand")"; return; }
    done
    mkdir -p "$XCAP_CACHE/src"
    say "downloading dpdk-$DPDK_VER.tar.xz from $DPDK_RELEASE_URL/" >&2
    if ! curl -fsSL -o "$XCAP_CACHE/src/dpdk-$DPDK_VER.tar.xz.part" "$DPDK_RELEASE_URL/dpdk-$DPDK_VER.tar.xz"; then
        rm -f "$XCAP_CACHE/src/dpdk-$DPDK_VER.tar.xz.part"
        die "no DPDK $DPDK_VER sources here and the download from $DPDK_RELEASE_URL failed" \
            "a machine without network needs one of: ../shared/dpdk/dpdk-$DPDK_VER.tar.xz next to the checkout," \
            "XCAP_DPDK_SRC=<DPDK tree or tarball>, or --dpdk <DPDK tree or tarball>"
    fi
    mv "$XCAP_CACHE/src/dpdk-$DPDK_VER.tar.xz.part" "$XCAP_CACHE/src/dpdk-$DPDK_VER.tar.xz"
    printf '%s' "$XCAP_CACHE/src/dpdk-$DPDK_VER.tar.xz"
}

# The cache directory of one DPDK build: version + hash of the options and
# of the source's identity (a tarball's checksum, a tree's path).
dpdk_cache_prefix() {
    local src=$1 id
    if [[ -f $src ]]; then id=$(sha256sum "$src" | cut -c1-16); else id=$src; fi
    printf '%s/dpdk-%s-%s' "$XCAP_CACHE" "$DPDK_VER" \
        "$(printf '%s\n' "${DPDK_MESON_OPTS[@]}" "$id" | sha256sum | cut -c1-12)"
}

# Builds DPDK_VER from source into the cache unless a complete build is
# there; sets DPDK_PREFIX and DPDK_PKGCONFIG.
ensure_source_dpdk() {
    local src prefix
    src=$(find_dpdk_source) || exit 1 # die in the $() ends only the subshell
    prefix=$(dpdk_cache_prefix "$src")
    if [[ ! -f $prefix/.xcap-complete ]]; then
        build_source_dpdk "$src" "$prefix"
    fi
    DPDK_PREFIX=$prefix
    DPDK_PKGCONFIG=$(dirname "$(find "$prefix" -name libdpdk.pc -path '*/pkgconfig/*' | head -n 1)")
    [[ -f $DPDK_PKGCONFIG/libdpdk.pc ]] || die "$prefix has no libdpdk.pc: remove it and run again"
    DPDK_LIBDIR=${DPDK_PKGCONFIG%/pkgconfig}
}

build_source_dpdk() {
    local src=$1 prefix=$2 work start secs
    mkdir -p "$XCAP_CACHE"
    exec 9>"$XCAP_CACHE/.lock"
    flock 9
    [[ -f $prefix/.xcap-complete ]] && { exec 9>&-; return 0; }
    work=$prefix.work
    rm -rf "$work" "$prefix"
    mkdir -p "$work"
    if [[ -f $src ]]; then
        tar -xf "$src" -C "$work" || die "cannot extract $src"
        src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    fi
    say "building DPDK $DPDK_VER from source into $prefix (a lean build: a few minutes)"
    start=$(date +%s)
    # Debian's python3 first: meson runs DPDK's scripts with the python it
    # finds, and a pyenv shim earlier on PATH lacks python3-pyelftools.
    (export PATH=/usr/bin:/bin:$PATH
        quietly meson setup "$work/build" "$src" --prefix="$prefix" "${DPDK_MESON_OPTS[@]}" &&
        quietly ninja -C "$work/build" &&
        quietly meson install -C "$work/build" --quiet) ||
        die "building DPDK $DPDK_VER failed (sources: $src)"
    # DPDK installs neither dpdk-test nor the examples; the suite runs them.
    local b
    for b in app/dpdk-test examples/dpdk-dma examples/dpdk-l2fwd; do
        install -m 0755 "$work/build/$b" "$prefix/bin/" || die "DPDK $DPDK_VER build has no $b"
    done
    secs=$(($(date +%s) - start))
    printf 'DPDK %s built in %d s from %s\n' "$DPDK_VER" "$secs" "$src" >"$prefix/.xcap-complete"
    rm -rf "$work"
    say "DPDK $DPDK_VER built and installed in $((secs / 60)) min $((secs % 60)) s"
    exec 9>&-
}

# Shell exports for a shell with this DPDK's tools and our PMD at hand.
print_dpdk_env() {
    local pmd=$BUILD_DIR/drivers/librte_dma_xcap.so
    if [[ $DPDK_KIND == source ]]; then
        printf 'export PKG_CONFIG_PATH=%q${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}\n' "$DPDK_PKGCONFIG"
        printf 'export LD_LIBRARY_PATH=%q${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\n' "$DPDK_LIBDIR"
        printf 'export PATH=%q:$PATH\n' "$DPDK_PREFIX/bin"
    fi
    printf 'export XCAP_BUILD=%q\n' "$BUILD_DIR"
    printf 'export XCAP_PMD=%q\n' "$pmd"
    printf '# DPDK %s (%s); dpdk-test -d "$XCAP_PMD" --no-pci --in-memory --iova-mode=va --vdev=dma_xcap_emu0 dmadev_autotest\n' \
        "$DPDK_VER" "$DPDK_KIND"
}
