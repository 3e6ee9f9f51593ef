#!/bin/bash
# Measure image/build on the full toolbox (image/packages, or the file given):
# build time with a cold download cache and a warm one, image size per
# format, number of relocated ELF files; with --baseline OLD-BUILD, the same
# cold and warm builds by another image/build (e.g. `git show
# OLDREV:image/build`) in the same run, as ratios. As root, also how fast a
# tool starts from each format: a fresh loop mount (nothing of the
# filesystem cached), then the first `true` and the first `bash --version`
# from it, median of 5.
# Goals: each build under 2 minutes, erofs at most half the size of ext4.
# Exit 1 when a goal is missed.
#
# usage: bench/image-build.sh [--baseline OLD-BUILD] [PACKAGES-FILE]
# Needs the Debian archive; runs as any user. Leaves nothing behind.
# Run it with nice -n 10 on a shared machine.
# shellcheck disable=SC2016  # the script for the private namespace is single-quoted
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
baseline=
if [ "${1:-}" = --baseline ]; then baseline=$(realpath "$2"); shift 2; fi
packages=${1:-$top/image/packages}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/crashcart-bench.XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# build NAME FORMAT BUILDER CACHE: one timed build into $work/NAME
build() {
    local name=$1 fmt=$2 builder=$3 cache=$4 t0 t1
    mkdir -p "$work/$name"
    t0=$(date +%s.%N)
    if ! "$builder" --format "$fmt" --packages "$packages" --sources "$top/image/sources" \
        --out "$work/$name" --cache "$cache" >"$work/$name.log" 2>&1; then
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

# startup IMG FSTYPE: ms to the first `true` and the first `bash --version`
# after a fresh mount at /dev/crashcart (a private mount namespace whose /dev
# is a tmpfs; nothing of the filesystem cached), median of 5 (root only)
startup() {
    local img=$1 fstype=$2 loop dev out=()
    for _ in 1 2 3 4 5; do
        loop=$(losetup --find --show --read-only "$img")
        dev=$(stat -L -c '%t:%T' "$loop")
        out+=("$(unshare -m --propagation private sh -c '
            loop=$1 fstype=$2 maj=$((0x${3%:*})) min=$((0x${3#*:}))
            mount -t tmpfs -o mode=755,size=1m tmpfs /dev
            mknod /dev/null c 1 3 && mknod /dev/ccloop b "$maj" "$min" && mkdir /dev/crashcart
            mount -t "$fstype" -o ro,nosuid,nodev /dev/ccloop /dev/crashcart
            t0=$(date +%s%N); /dev/crashcart/bin/true
            t1=$(date +%s%N); /dev/crashcart/bin/bash --version >/dev/null
            t2=$(date +%s%N)
            echo $(( (t1 - t0) / 1000 )) $(( (t2 - t1) / 1000 ))' sh "$loop" "$fstype" "$dev")")
        losetup -d "$loop"
    done
    printf '%s\n' "${out[@]}" | python3 -c '
import statistics, sys
rows = [list(map(int, l.split())) for l in sys.stdin if l.strip()]
print("%.1f %.1f" % (statistics.median(r[0] for r in rows) / 1000,
                     statistics.median(r[1] for r in rows) / 1000))'
}

echo "crashcart image build benchmark: $(grep -cv '^[[:space:]]*\(#\|$\)' "$packages") entries in $packages, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
if [ -n "$baseline" ]; then
    build basecold ext4 "$baseline" "$work/cache-base"
    build basewarm ext4 "$baseline" "$work/cache-base"
fi
build cold ext4 "$top/image/build" "$work/cache"          # empty download cache
build warm ext4 "$top/image/build" "$work/cache"          # everything cached
build erofs erofs "$top/image/build" "$work/cache"
build squashfs squashfs "$top/image/build" "$work/cache"

# shellcheck disable=SC2154  # set through eval in build()
{
    ok=0
    if [ -n "$baseline" ]; then
        echo "cold build: $(python3 -c "print(round($secs_cold / $secs_basecold, 2))") x the baseline's," \
            "warm: $(python3 -c "print(round($secs_warm / $secs_basewarm, 2))") x"
    fi
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
    if [ "$(id -u)" = 0 ]; then
        # the old squashfs default, for comparison: the same tree as xz with
        # 1 MiB blocks
        unsquashfs -q -n -d "$work/sqtree" "$work/squashfs/crashcart.img" >/dev/null
        mkdir -p "$work/squashfs-xz"
        mksquashfs "$work/sqtree" "$work/squashfs-xz/crashcart.img" -quiet -no-progress \
            -noappend -comp xz -b 1M -all-root -no-xattrs >/dev/null
        rm -rf "$work/sqtree"
        printf '%-14s %-9s %10s   %10.1f MiB  (old squashfs default: xz, 1 MiB blocks)\n' squashfs-xz squashfs - \
            "$(python3 -c "print($(stat -c %s "$work/squashfs-xz/crashcart.img") / 1048576)")"
        for n in warm erofs squashfs squashfs-xz; do
            fmt=ext4 label=ext4; [ "$n" = warm ] || fmt=${n%-xz} label=$n
            read -r t_true t_bash < <(startup "$work/$n/crashcart.img" "$fmt")
            printf 'start-up %-12s first true %6.1f ms, first bash --version %6.1f ms (fresh mount, median of 5)\n' \
                "$label" "$t_true" "$t_bash"
        done
    fi
}
exit "$ok"
