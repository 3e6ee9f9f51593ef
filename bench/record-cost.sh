#!/bin/bash
# What session recording costs, in one run, on one machine:
#  - keystroke to echo through the relay, recorded and not (median of N);
#  - throughput of `cat` of a 100 MiB file through a session, recorded, not
#    recorded, and through `runc exec` into the same container (the
#    baseline: no relay of crashcart's);
#  - recording size per MiB of output, text and binary;
#  - `crashcart PID true` against nsenter, recorded.
# Run as root. usage: bench/record-cost.sh [N]   (default 200 keystrokes)
set -eu
N=${1:-200}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
PID=$(runc_start bench-rec)
# ids resolved once: no $(id …) fork inside a measured region
OPU=$(id -u "$OP_USER") OPG=$(id -g "$OP_USER")
as_op() { setpriv --reuid="$OPU" --regid="$OPG" --init-groups -- "$@"; }
K=$SRC/bench/keystroke.py
POLICY=$P/etc/crashcart/policy.conf
record() { # record all|none: the suite's policy with that record setting
	write_test_policy "$P"
	sed -i "/^\[it-operators\]/a record = $1" "$POLICY"
}
opsh() { setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups -- "$@"; }
secs() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo "$(( (t1 - t0) / 1000000 ))"; }
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

as_op "$CC_BIN" -i "$IMG_EXT4" -m "$PID"   # the mount is not what is measured
head -c 100M /dev/urandom > "$CTDIR/bench-rec/bundle/rootfs/big.bin"
python3 -c 'import sys; sys.stdout.write("".join("line %08d of text output for the recording\n" % i for i in range(2400000)))' | head -c 100M > "$CTDIR/bench-rec/bundle/rootfs/big.txt"

record none
read -r km0 kp0 _ < <(python3 "$K" "$N" -- setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups -- "$CC_BIN" -i "$IMG_EXT4" "$PID" /sleeper)
record all
read -r km1 kp1 _ < <(python3 "$K" "$N" -- setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups -- "$CC_BIN" -i "$IMG_EXT4" "$PID" /sleeper)

cat_cc() { opsh "$CC_BIN" -i "$IMG_EXT4" "$PID" /dev/crashcart/bin/busybox cat "$1" > /dev/null; }
cat_runc() { runc --root "$CC_T/runc" exec bench-rec /dev/crashcart/bin/busybox cat "$1" > /dev/null; }
record none
t_none=$(median3 "$(secs cat_cc /big.bin)" "$(secs cat_cc /big.bin)" "$(secs cat_cc /big.bin)")
record all
t_rec=$(median3 "$(secs cat_cc /big.bin)" "$(secs cat_cc /big.bin)" "$(secs cat_cc /big.bin)")
t_runc=$(median3 "$(secs cat_runc /big.bin)" "$(secs cat_runc /big.bin)" "$(secs cat_runc /big.bin)")

# recording size per MiB of output: the newest recording after each cat
size_of_last() { find "$SESSIONS" -name '*.cast' -printf '%T@ %s\n' | sort -n | tail -n1 | cut -d' ' -f2; }
cat_cc /big.bin; sbin=$(size_of_last)
cat_cc /big.txt; stxt=$(size_of_last)
record all
as_op "$CC_BIN" -u "$PID"
median_ms() {
	local i t0 t1
	for i in $(seq 20); do
		t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; t1=$EPOCHREALTIME
		echo $(( ${t1/./} - ${t0/./} ))
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f\n", (v[10] + v[11]) / 2000 }'
}
as_op "$CC_BIN" -i "$IMG_EXT4" -m "$PID"
base=$(median_ms setpriv --reuid=0 --regid=0 --clear-groups -- nsenter -a -t "$PID" /dev/crashcart/bin/busybox true)
mounted=$(median_ms as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" /dev/crashcart/bin/busybox true)
as_op "$CC_BIN" -u "$PID"
cold=$(median_ms as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" /dev/crashcart/bin/busybox true)

printf 'keystroke to echo, %s keystrokes (us):   not recorded median %s p90 %s | recorded median %s p90 %s\n' \
	"$N" "$km0" "$kp0" "$km1" "$kp1"
printf 'cat of 100 MiB (ms, median of 3):   not recorded %s | recorded %s | runc exec %s\n' "$t_none" "$t_rec" "$t_runc"
printf '   ratios: recorded/not %.2f, recorded/runc exec %.2f, not recorded/runc exec %.2f\n' \
	"$(echo "$t_rec / $t_none" | bc -l)" "$(echo "$t_rec / $t_runc" | bc -l)" "$(echo "$t_none / $t_runc" | bc -l)"
printf 'recording size per MiB of output: text %.2f MiB, random binary %.2f MiB\n' \
	"$(echo "$stxt / 104857600" | bc -l)" "$(echo "$sbin / 104857600" | bc -l)"
printf 'crashcart PID true, recorded (ms, median of 20): cold %s, mounted %s; nsenter %s (ratios %.2f, %.2f)\n' \
	"$cold" "$mounted" "$base" "$(echo "$cold / $base" | bc -l)" "$(echo "$mounted / $base" | bc -l)"
