#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Builds the libFuzzer targets of test/fuzz with clang (not the main g++
# build): every parser of outside input, compiled with
# -fsanitize=fuzzer,address,undefined and nothing from DPDK.
#
#   test/fuzz/build.sh [OUT_DIR]     (default: build-fuzz/ at the repo root)
#
# Needs clang++ and libFuzzer's runtime: on Debian 12 the packages clang-14
# and libclang-rt-14-dev. Incremental: a target is rebuilt only when one of
# its sources is newer than it.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$REPO/build-fuzz}
CXX=${CXX_FUZZ:-}
if [[ -z $CXX ]]; then
    for c in clang++ clang++-14 clang++-15 clang++-16; do
        command -v "$c" >/dev/null && { CXX=$c; break; }
    done
fi
[[ -n $CXX ]] || { echo "build.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

mkdir -p "$OUT"
FLAGS=(-std=c++20 -g -O1 -fno-omit-frame-pointer
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
    -I"$REPO/drivers/dma/xcap" -I"$REPO/lib/model" -I"$REPO/lib/capture"
    -I"$REPO/app/dma-perf" -I"$REPO/app/fwd" -pthread)

# target -> sources (repo-relative), the fuzz driver first
declare -A SRCS=(
    [capture_parse]="test/fuzz/fuzz_capture_parse.cpp lib/capture/xcap_capture_parse.cpp"
    [devargs]="test/fuzz/fuzz_devargs.cpp drivers/dma/xcap/xcap_devargs.cpp"
    [perf_config]="test/fuzz/fuzz_perf_config.cpp app/dma-perf/perf_config.cpp"
    [fwd_options]="test/fuzz/fuzz_fwd_options.cpp app/fwd/fwd_options.cpp drivers/dma/xcap/xcap_devargs.cpp"
)
TARGETS=(capture_parse devargs perf_config fwd_options)

for t in "${TARGETS[@]}"; do
    exe=$OUT/fuzz_$t
    read -r -a src <<<"${SRCS[$t]}"
    paths=()
    missing=0
    for s in "${src[@]}"; do
        [[ -f $REPO/$s ]] || { echo "build.sh: $t: $s is missing; target skipped" >&2; missing=1; }
        paths+=("$REPO/$s")
    done
    ((missing)) && continue
    stale=0
    [[ -x $exe ]] || stale=1
    for s in "${paths[@]}" "$REPO"/drivers/dma/xcap/*.h "$REPO"/lib/model/*.h "$REPO"/lib/capture/*.h \
        "$REPO"/app/dma-perf/*.h "$REPO"/app/fwd/*.h "${BASH_SOURCE[0]}"; do
        [[ -f $s && $s -nt $exe ]] && stale=1
    done
    ((stale)) || continue
    echo "build.sh: building fuzz_$t"
    "$CXX" "${FLAGS[@]}" "${paths[@]}" -o "$exe"
done
