#!/bin/bash
# The interactive round trip, keystroke to echo, through crashcart's relay
# (the operator's terminal -> worker's terminal, raw -> broker -> the tool's
# pty, whose line discipline echoes -> broker -> the operator's terminal)
# against `runc exec -t` (runc's own console relay) into the same runc
# container, running the same program (/sleeper: it never reads, so every
# echo is the innermost terminal's own). Median, 90th percentile and mean
# of N keystrokes each, and the ratios. Run as root.
# usage: bench/keystroke-rtt.sh [N]   (default 200)
set -eu
N=${1:-200}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
PID=$(runc_start bench-rtt)
K=$SRC/bench/keystroke.py

read -r rm rp ra < <(python3 "$K" "$N" -- runc --root "$CC_T/runc" exec -t bench-rtt /sleeper)
as_op "$CC_BIN" -i "$IMG_EXT4" -m "$PID"   # the mount is not what is measured
read -r cm cp ca < <(python3 "$K" "$N" -- setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" \
	--init-groups -- "$CC_BIN" -i "$IMG_EXT4" "$PID" /sleeper)
as_op "$CC_BIN" -u "$PID"

printf 'keystrokes per case: %s (microseconds)\n' "$N"
printf '%-44s %8s %8s %8s\n' "" median p90 mean
printf '%-44s %8s %8s %8s\n' "runc exec -t (baseline)" "$rm" "$rp" "$ra"
printf '%-44s %8s %8s %8s\n' "crashcart PID (relay through the broker)" "$cm" "$cp" "$ca"
printf 'ratio crashcart / runc exec -t: median %.2f, p90 %.2f\n' "$(echo "$cm / $rm" | bc -l)" "$(echo "$cp / $rp" | bc -l)"
