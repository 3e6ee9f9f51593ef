#!/bin/bash
# Where the first session after a new image goes, against the next one
# (cached digest): a 272 MiB ext4 image made as bench/run makes it (in the
# page cache, as after a copy), then a first and a second session, each
# untraced (the difference) and under strace (the parts: the hash, from the
# image's first read to the digest's xattr; the xattr; the loop device;
# fsmount; move_mount; umount2; the fsyncs of the audit log and the
# recording, which wait behind the new image's writeback). Medians of N of
# each. Run as root.
#   usage: bench/image-first-use.sh [N]   (default 5)
set -eu
N=${1:-5}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
A=$(ct_start bench-img)
OPU=$(id -u "$OP_USER") OPG=$(id -g "$OP_USER")
op() { setpriv --reuid="$OPU" --regid="$OPG" --init-groups -- "$@"; }
BB=/dev/crashcart/bin/busybox BIG=$IMGDIR/big.ext4
mkdir -p "$CC_T/bigsrc/bin" && cp "$BUSYBOX" "$CC_T/bigsrc/bin/busybox"
head -c 236M /dev/urandom > "$CC_T/bigsrc/fill"
new_image() {
	rm -f "$BIG"
	mke2fs -q -t ext4 -d "$CC_T/bigsrc" "$BIG" 272M >/dev/null 2>&1
	chmod 644 "$BIG"
	cat "$BIG" > /dev/null
}
us() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; local t1=$EPOCHREALTIME; echo $(( ${t1/./} - ${t0/./} )); }
# parts FILE: "hash xattr loop fsmount move_mount umount2 fsync" in ms from an strace -f -tt -T -y
parts() {
	awk -v img="$BIG" '
	function t(s,  a) { split(s, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
	function dur(l,  m) { match(l, /<[0-9.]+>$/); return substr(l, RSTART + 1, RLENGTH - 2) }
	index($0, img) && ($3 ~ /^(pread64|mmap)\(/) && !hs && ($0 ~ /1048576|PROT_READ/) { hs = t($2) }
	$3 ~ /^fsetxattr\(/ && index($0, "crashcart.sha256") { if (hs) h = t($2) - hs; x += dur($0) }
	/LOOP_CONFIGURE|LOOP_CTL_GET_FREE|LOOP_SET_FD|LOOP_SET_STATUS/ { l += dur($0) }
	$3 ~ /^fsmount\(/ { f += dur($0) }
	$3 ~ /^move_mount\(/ { m += dur($0) }
	$3 ~ /^umount2\(/ { u += dur($0) }
	$3 ~ /^(fsync|fdatasync|sync_file_range)\(/ { s += dur($0) }
	END { printf "%.1f %.2f %.2f %.2f %.2f %.2f %.2f\n", h * 1000, x * 1000, l * 1000, f * 1000, m * 1000, u * 1000, s * 1000 }' "$1"
}
traced() { strace -f -tt -T -y -qq -e trace=pread64,mmap,fsetxattr,ioctl,fsmount,move_mount,umount2,fsync,fdatasync,sync_file_range -o "$1" \
	setpriv --reuid="$OPU" --regid="$OPG" --init-groups -- "$CC_BIN" -i "$BIG" "$A" $BB true >/dev/null 2>&1; }
med() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
F='' S=''
: > "$CC_T/p1"
: > "$CC_T/p2"
for _ in $(seq "$N"); do
	new_image; F="$F $(us op "$CC_BIN" -i "$BIG" "$A" $BB true)"; S="$S $(us op "$CC_BIN" -i "$BIG" "$A" $BB true)"
	new_image; traced "$CC_T/s1"; traced "$CC_T/s2"
	parts "$CC_T/s1" >> "$CC_T/p1"; parts "$CC_T/s2" >> "$CC_T/p2"
done
# shellcheck disable=SC2086 # lists of numbers
f=$(printf '%s\n' $F | med) s=$(printf '%s\n' $S | med)
printf 'untraced, median of %s: first session %.1f ms, next %.1f ms, difference %.1f ms\n' "$N" "$(( f ))e-3" "$(( s ))e-3" "$(( f - s ))e-3"
printf '%-10s %8s %8s %8s %8s %10s %8s %8s   (ms, under strace, medians)\n' session hash xattr loop fsmount move_mount umount2 fsync
for k in 1 2; do
	printf '%-10s' "$([ $k = 1 ] && echo first || echo next)"
	for c in 1 2 3 4 5 6 7; do printf ' %8s' "$(cut -d' ' -f$c "$CC_T/p$k" | med)"; done
	echo
done
