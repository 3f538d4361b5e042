# SPDX-License-Identifier: BSD-3-Clause
# Sourced by usertools/xcap-quickstart: the driver-SDK headers that Debian 12's
# libdpdk-dev (DPDK 22.11) does not ship, taken from Debian's dpdk source
# package of exactly the installed version (--dpdk system).

# --------------------------------------------------------- driver SDK --

sdk_complete() {
    local dir=$1 h
    for h in "${SDK_HEADERS[@]}"; do [[ -f $dir/$h ]] || return 1; done
}

dpdk_version() { dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null || true; }

sdk_cache_dir() { printf '%s/.deps/dpdk-sdk-%s' "$REPO" "$1"; }

has_deb_src() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] && grep -Eq '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && grep -Eqi '^Types:.*deb-src' "$f" && return 0
    done
    return 1
}

# deb822 stanzas of type deb -> the same stanzas with Types: deb-src.
derive_deb822_src() {
    awk '
        function flush() {
            if (is_deb && enabled) {
                if (out_n++) print ""
                print "Types: deb-src"
                for (i = 1; i <= nkeep; i++) print keep[i]
            }
            is_deb = 0; enabled = 1; nkeep = 0; cur = ""
        }
        BEGIN { enabled = 1 }
        FNR == 1 && NR > 1 { flush() }      # a new file starts a new stanza
        /^[[:space:]]*#/ { next }
        /^[[:space:]]*$/ { flush(); next }
        /^[ \t]/ { if (cur != "") keep[++nkeep] = $0; next }   # continuation line
        {
            key = tolower($0); sub(/:.*/, "", key)
            val = $0; sub(/^[^:]*:[[:space:]]*/, "", val)
            cur = ""
            if (key == "types") { n = split(val, t, /[[:space:]]+/); for (i = 1; i <= n; i++) if (t[i] == "deb") is_deb = 1 }
            else if (key == "enabled") { if (tolower(val) == "no") enabled = 0 }
            else if (key == "uris" || key == "suites" || key == "components" || key == "signed-by") {
                keep[++nkeep] = $0; cur = key
            }
        }
        END { flush() }
    ' "$@"
}

# one-line "deb [opts] uri suite comps" -> "deb-src [opts] uri suite comps"
derive_list_src() {
    sed -nE 's/^[[:space:]]*deb[[:space:]]+/deb-src /p' "$@"
}

ensure_deb_src() {
    has_deb_src && return 0
    local -a sources=() lists=()
    local f
    for f in /etc/apt/sources.list.d/*.sources; do [[ -f $f ]] && sources+=("$f"); done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [[ -f $f ]] && lists+=("$f"); done
    local -a wrote=()
    local text
    if ((${#sources[@]})); then
        text=$(derive_deb822_src "${sources[@]}")
        if [[ -n $text ]]; then
            printf '# Written by xcap usertools/%s: deb-src twins of the deb entries in %s\n%s\n' \
                "$PROG" "${sources[*]}" "$text" >"$APT_SRC_FILE.sources"
            wrote+=("$APT_SRC_FILE.sources")
        fi
    fi
    if ((${#lists[@]})); then
        text=$(derive_list_src "${lists[@]}")
        if [[ -n $text ]]; then
            printf '# Written by xcap usertools/%s: deb-src twins of the deb entries in %s\n%s\n' \
                "$PROG" "${lists[*]}" "$text" >"$APT_SRC_FILE.list"
            wrote+=("$APT_SRC_FILE.list")
        fi
    fi
    ((${#wrote[@]})) || die "apt has no deb entries to derive deb-src entries from" \
        "add a deb-src line for Debian's main archive to /etc/apt/sources.list, or pass --dpdk-sdk <DPDK source tree>"
    APT_SOURCES_CHANGED=1
    say "added deb-src entries for apt: ${wrote[*]}"
}

fetch_sdk() {
    local version=$1 cache=$2
    say "fetching the DPDK $version driver-SDK headers from Debian's dpdk source package"
    ensure_deb_src
    local dl stage
    dl=$(tmp_dir)/src
    stage="$cache.partial.$$"
    mkdir -p "$dl"
    local -a get=(apt-get -q -o APT::Sandbox::User=root source --download-only "dpdk=$version")
    local fetched=0
    if ((APT_SOURCES_CHANGED || !APT_UPDATED)); then
        apt_update
    elif (cd "$dl" && "${get[@]}" >/dev/null 2>&1); then
        fetched=1   # apt's lists from this run's update already had it
    else
        apt_update  # the lists may predate the deb-src entries
    fi
    if ((!fetched)) && ! (cd "$dl" && quietly "${get[@]}"); then
        die "could not download Debian's dpdk source package, version $version" \
            "check: apt-get source --download-only dpdk=$version" \
            "or pass --dpdk-sdk <a DPDK ${version%%-*} source tree>"
    fi
    local -a origs=("$dl"/dpdk_*.orig.tar.*)
    [[ -f ${origs[0]} ]] || die "the dpdk source package has no .orig tarball (in $dl)"
    local -a pats=()
    local h
    for h in "${SDK_HEADERS[@]}"; do pats+=("*/$h"); done
    rm -rf "$stage"
    mkdir -p "$stage"
    if ! quietly tar -xf "${origs[0]}" -C "$stage" --wildcards --strip-components=1 "${pats[@]}"; then
        rm -rf "$stage"
        die "could not extract the driver-SDK headers from ${origs[0]##*/}"
    fi
    if ! sdk_complete "$stage"; then
        rm -rf "$stage"
        die "${origs[0]##*/} lacks some of: ${SDK_HEADERS[*]}"
    fi
    rm -rf "$cache"
    mv "$stage" "$cache"
}

# Sets SDK to the driver-SDK tree to build with (fetching it if needed).
resolve_sdk() {
    if [[ -n $DPDK_SDK_OPT ]]; then
        [[ -d $DPDK_SDK_OPT ]] || die "--dpdk-sdk $DPDK_SDK_OPT: no such directory"
        SDK=$(cd "$DPDK_SDK_OPT" && pwd)
        sdk_complete "$SDK" || die "--dpdk-sdk $SDK is not a DPDK source tree: it lacks some of" "${SDK_HEADERS[@]}"
        return
    fi
    # A DPDK that installs the headers itself (Debian 13) needs nothing.
    if [[ -f $(pkg-config --variable=includedir libdpdk 2>/dev/null)/rte_dmadev_pmd.h ]]; then
        SDK=''
        return
    fi
    local version
    version=$(dpdk_version)
    [[ -n $version ]] || die "DPDK is not installed (no libdpdk-dev)" \
        "run: sudo usertools/$PROG build (installs Debian's dpdk-dev), or pass --dpdk-sdk <DPDK source tree>"
    SDK=$(sdk_cache_dir "$version")
    sdk_complete "$SDK" || fetch_sdk "$version" "$SDK"
}

