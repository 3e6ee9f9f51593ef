#!/bin/bash
# crashcart PID true  vs  nsenter -a -t PID true, in one run, on one machine.
# Cold: no loop device for the image yet (each session mounts, then unmounts,
# and the loop device autoclears). Warm: the image is already attached (and
# mounted, -m) for another container, so the loop device is reused.
# Reports the median of N runs of each and the ratios. Run as root.
# usage: bench/exec-vs-nsenter.sh [N]   (default 30)
# (bench/run measures this and every other comparison in one run.)
set -eu
N=${1:-30}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
A=$(ct_start bench-a)
W=$(ct_start bench-w)

# The operator's ids resolved once: as_op's $(id -u)/$(id -g) and a
# $(date) per sample would be forks inside the measured region (~3 ms on
# every crashcart sample, none on the baseline's).
OPU=$(id -u "$OP_USER") OPG=$(id -g "$OP_USER")
as_op() { setpriv --reuid="$OPU" --regid="$OPG" --init-groups -- "$@"; }

# median_ms CMD...: run CMD N times, print the median wall time in ms
median_ms() {
	local i t0 t1
	for i in $(seq "$N"); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
		t1=$EPOCHREALTIME
		echo $(( ${t1/./} - ${t0/./} ))
	done | sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f\n", m / 1000 }'
}

no_loops_for "$IMG_EXT4" || { echo "a loop device is already attached to the image" >&2; exit 1; }
cold=$(median_ms as_op "$CC_BIN" -i "$IMG_EXT4" "$A" /dev/crashcart/bin/busybox true)
as_op "$CC_BIN" -i "$IMG_EXT4" -m "$W"
# The baseline runs the same binary from the same image (mounted in W), and
# through setpriv too, so that both sides pay the same launch overhead.
base=$(median_ms setpriv --reuid=0 --regid=0 --clear-groups -- nsenter -a -t "$W" /dev/crashcart/bin/busybox true)
warm=$(median_ms as_op "$CC_BIN" -i "$IMG_EXT4" "$A" /dev/crashcart/bin/busybox true)
mounted=$(median_ms as_op "$CC_BIN" -i "$IMG_EXT4" "$W" /dev/crashcart/bin/busybox true)
as_op "$CC_BIN" -u "$W"
setpriv_only=$(median_ms as_op /bin/true)

printf 'runs per case: %s (median wall time, ms)\n' "$N"
printf '%-52s %8s\n' "nsenter -a -t PID busybox true (root, baseline)" "$base"
printf '%-52s %8s\n' "setpriv to the operator, true (harness overhead)" "$setpriv_only"
printf '%-52s %8s  ratio %.2f\n' "crashcart PID true, cold (attach+mount+unmount)" "$cold" "$(echo "$cold / $base" | bc -l)"
printf '%-52s %8s  ratio %.2f\n' "crashcart PID true, warm (loop attached elsewhere)" "$warm" "$(echo "$warm / $base" | bc -l)"
printf '%-52s %8s  ratio %.2f\n' "crashcart PID true, image already mounted (-m)" "$mounted" "$(echo "$mounted / $base" | bc -l)"
