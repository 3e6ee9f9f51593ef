#!/bin/bash
# What a session waits for to make its records and its recording durable:
# the time in fsync/fdatasync/sync_file_range (strace -T), by file (the
# audit log, the recording), for this tree and for TREE (another tree,
# installed beside it), N sessions of each in turns, the image already
# mounted, on an idle disk and with a bounded dd oflag=dsync writer on the
# same file system ("before": TREE, "after": this tree). Medians.
# CC_BENCH_DIR picks the file system (a journal or not changes the answer:
# SECURITY.md, "Audit"). Run as root.
#   usage: bench/session-waits.sh TREE [N]   (default 25 pairs)
set -eu
[ $# -ge 1 ] || { echo "usage: bench/session-waits.sh TREE [N]" >&2; exit 2; }
BEFORE=$(cd "$1" && pwd) N=${2:-25}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
declare -A BINS
BINS[after]=$CC_BIN
SAVE=("$P" "$B" "$AUDIT" "$SESSIONS" "$CC_BIN" "$BROKER")
P=$CC_T/before B=$CC_T/build-before AUDIT=$CC_T/before/var/log/crashcart/audit.log
SESSIONS=$CC_T/before/var/log/crashcart/sessions CC_BIN=$P/bin/crashcart BROKER=$P/libexec/crashcart-broker
build_install "$BEFORE" >/dev/null || { echo "build of $BEFORE failed" >&2; exit 1; }
BINS[before]=$CC_BIN
P=${SAVE[0]} B=${SAVE[1]} AUDIT=${SAVE[2]} SESSIONS=${SAVE[3]} CC_BIN=${SAVE[4]} BROKER=${SAVE[5]}
W=$(ct_start bench-waits)
OPU=$(id -u "$OP_USER") OPG=$(id -g "$OP_USER")
BB=/dev/crashcart/bin/busybox
setpriv --reuid="$OPU" --regid="$OPG" --init-groups -- "$CC_BIN" -i "$IMG_EXT4" -m "$W" >/dev/null
one() { # one BUILD FILE
	strace -f -T -y -qq -e trace=fsync,fdatasync,sync_file_range -o "$2" \
		setpriv --reuid="$OPU" --regid="$OPG" --init-groups -- "${BINS[$1]}" -i "$IMG_EXT4" "$W" $BB true >/dev/null 2>&1
	awk 'function dur(l) { match(l, /<[0-9.]+>$/); return substr(l, RSTART + 1, RLENGTH - 2) }
	     /\.cast>/ { c += dur($0); nc++ } /audit\.log>/ { a += dur($0); na++ }
	     END { printf "%.3f %.3f %d %d\n", c * 1000, a * 1000, nc, na }' "$2"
}
for load in idle busy; do
	DD=
	if [ $load = busy ]; then
		( end=$((SECONDS + 150)); while [ $SECONDS -lt $end ]; do dd if=/dev/zero of="$CC_T/busy" bs=64k count=64 oflag=dsync status=none; done ) &
		DD=$!; sleep 1
	fi
	: > "$CC_T/w.before"; : > "$CC_T/w.after"
	for _ in $(seq "$N"); do
		for b in before after; do one $b "$CC_T/s.$b" >> "$CC_T/w.$b"; done
		for b in after before; do one $b "$CC_T/s.$b" >> "$CC_T/w.$b"; done
	done
	if [ -n "$DD" ]; then kill "$DD"; wait "$DD" 2>/dev/null || true; rm -f "$CC_T/busy"; fi
	for b in before after; do
		# shellcheck disable=SC2016
		awk -v b=$b -v l=$load '{ c[NR] = $1; a[NR] = $2; t[NR] = $1 + $2; nc = $3; na = $4 }
		  function med(v, n,  i, j, x) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
		    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
		  END { printf "%-5s %-6s the recording: %d call(s) %.3f ms; the audit log: %d call(s) %.3f ms; both %.3f ms (medians of %d sessions)\n", l, b, nc, med(c, NR), na, med(a, NR), med(t, NR), NR }' "$CC_T/w.$b"
	done
done
setpriv --reuid="$OPU" --regid="$OPG" --init-groups -- "$CC_BIN" -u "$W" >/dev/null
