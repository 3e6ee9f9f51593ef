#!/bin/bash
# Measure image/build on the full toolbox (image/packages, or the file given):
# build time with a cold download cache and a warm one, image size per
# format, number of relocated ELF files. Goals: each build under 2 minutes,
# erofs at most half the size of ext4. Exit 1 when a goal is missed.
#
# usage: bench/image-build.sh [PACKAGES-FILE]
# Needs the Debian archive; runs as any user. Leaves nothing behind.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
packages=${1:-$top/image/packages}
work=$(mktemp -d "${TMPDIR:-/tmp}/crashcart-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# build NAME FORMAT: one timed build into $work/NAME; sets secs, size, relocated
build() {
    local name=$1 fmt=$2 t0 t1
    mkdir -p "$work/$name"
    t0=$(date +%s.%N)
    if ! "$top/image/build" --format "$fmt" --packages "$packages" \
        --out "$work/$name" --cache "$work/cache" >"$work/$name.log" 2>&1; then
        tail -n 5 "$work/$name.log" >&2
        echo "bench: $name build failed" >&2
        exit 1
    fi
    t1=$(date +%s.%N)
    secs=$(python3 -c "print(round($t1 - $t0, 1))")
    size=$(stat -c %s "$work/$name/crashcart.img")
    relocated=$(grep -o 'relocated-elf [0-9]*' "$work/$name.log" | cut -d' ' -f2)
    files=$(grep -o 'files [0-9][0-9]*' "$work/$name.log" | head -n1 | cut -d' ' -f2)
    npkg=$(grep -o 'packages [0-9][0-9]*' "$work/$name.log" | head -n1 | cut -d' ' -f2)
    printf '%-14s %-9s %8.1f s %10.1f MiB  %5s packages %6s files %5s relocated ELF\n' \
        "$name" "$fmt" "$secs" "$(python3 -c "print($size / 1048576)")" \
        "$npkg" "$files" "$relocated"
    eval "secs_$name=\$secs size_$name=\$size"
}

echo "crashcart image build benchmark: $(grep -cv '^[[:space:]]*\(#\|$\)' "$packages") entries in $packages, $(nproc) CPUs"
build cold ext4          # empty download cache
build warm ext4          # everything cached
build erofs erofs
build squashfs squashfs

# shellcheck disable=SC2154  # set through eval in build()
{
    ok=0
    for n in cold warm erofs squashfs; do
        v="secs_$n"
        if python3 -c "import sys; sys.exit(0 if ${!v} < 120 else 1)"; then :; else
            echo "goal missed: $n build took ${!v} s (goal < 120 s)"; ok=1
        fi
    done
    ratio=$(python3 -c "print(round($size_erofs / $size_warm, 3))")
    echo "erofs/ext4 size ratio: $ratio (goal <= 0.5)"
    python3 -c "import sys; sys.exit(0 if $ratio <= 0.5 else 1)" ||
        { echo "goal missed: erofs is more than half of ext4"; ok=1; }
}
exit "$ok"
