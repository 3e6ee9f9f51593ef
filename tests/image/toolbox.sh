#!/bin/bash
# The default toolbox, installed the way a user installs it: crashcart built
# with meson -Dtoolbox=true, so that `meson install` builds image/packages
# with image/build and installs it at the default image path. Then every
# tool the SREs asked for runs from /dev/crashcart in a microcontainer with
# no libc (its root holds only a static sleeper), as the non-root operator
# ccop through crashcart, each with an assertion on its output.
# Also: with the default image missing, crashcart says what to do.
#
# usage: toolbox.sh SRCDIR CACHE WORKDIR   (root; run by tests/image/run.sh)
# Exit 0 pass, 1 fail. Leaves nothing behind (containers, mounts, loops).
# shellcheck disable=SC2016  # commands for the container are single-quoted
# shellcheck source-path=SCRIPTDIR
set -u
top=$1 cache=$2
CC_T=$3/it
mkdir -p "$CC_T" && chmod 755 "$CC_T"
export CC_T CC_IT_DIR="$top/tests/integration" CC_SRC=$top
# shellcheck source=../integration/lib.sh
. "$CC_IT_DIR/lib.sh"

fails=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
cleanup() {
	[ -n "${PID:-}" ] && "$CC_BIN" -u --force "$PID" >/dev/null 2>&1
	ct_stop_all
	detach_leftovers | sed 's/^/# cleanup: /'
	remove_cgroup_parents
}
trap cleanup EXIT

ensure_users || { bad "cannot create $OPS_GROUP/$OP_USER"; exit 1; }
build_helpers >"$CC_T/helpers.log" 2>&1 || { cat "$CC_T/helpers.log"; bad "helpers"; exit 1; }
mkdir -p "$P" && chmod 755 "$P"
t0=$(date +%s)
if ! { meson setup "$B" "$top" -Dprefix="$P" -Dops_group="$OPS_GROUP" \
		-Daudit_log="$AUDIT" -Dsession_dir="$SESSIONS" \
		-Dtoolbox=true -Dtoolbox_format=erofs -Dtoolbox_cache="$cache" &&
	meson compile -C "$B" && meson install -C "$B"; } >"$CC_T/build.log" 2>&1; then
	tail -n 20 "$CC_T/build.log"; bad "meson install with -Dtoolbox=true"; exit 1
fi
write_test_policy "$P"
verify_install || { bad "install"; exit 1; }
if [ -s "$IMG_DEFAULT" ] && [ "$(stat -c '%U %a' "$IMG_DEFAULT")" = "root 644" ] &&
	[ "$(blkid -o value -s TYPE "$IMG_DEFAULT")" = erofs ]; then
	ok "meson install -Dtoolbox=true installed an erofs toolbox at the default path ($(( $(stat -c %s "$IMG_DEFAULT") >> 20 )) MiB, $(( $(date +%s) - t0 )) s with the build)"
else
	bad "no root-owned erofs toolbox at $IMG_DEFAULT: $(ls -l "$IMG_DEFAULT" 2>&1)"; exit 1
fi

PID=$(ct_start tools) || { bad "microcontainer"; exit 1; }
mkdir -m 1777 "/proc/$PID/root/tmp"
nsenter -t "$PID" -n ip link set lo up     # what the runtime would have done

# cc_run CMD...: as ccop, through crashcart, no pty; sets OUT (stdout+stderr), RC.
cc_run() {
	OUT=$(timeout -k 5 120 setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" \
		--init-groups -- "$CC_BIN" -T "$PID" "$@" </dev/null 2>&1)
	RC=$?
}
# tool DESCRIPTION ERE CMD...: CMD's output must match ERE (a line of it, or
# with "~" the whole output joined by " ~ ": a pattern over several lines).
tool() {
	local what=$1 pat=$2; shift 2
	cc_run "$@"
	if printf '%s\n' "$OUT" | grep -Eq -- "$pat" ||
		printf '%s\n' "$OUT" | awk 'NR > 1 {printf " ~ "} {printf "%s", $0} END {print ""}' |
		grep -Eq -- "$pat"; then
		ok "$what"
	else
		bad "$what (exit $RC)"; printf '%s\n' "$OUT" | tail -n 8 | sed 's/^/       /'
	fi
}
# direct CMD...: as ccop in the container without crashcart's seccomp filter
# (nsenter), for what the kernel allows an unprivileged user but the tool
# profile of crashcart refuses (perf_event_open).
NSENTER=$(command -v nsenter)
direct() {
	timeout -k 5 60 env -i PATH=/dev/crashcart/bin:/dev/crashcart/sbin HOME=/dev/crashcart/home \
		LOCPATH=/dev/crashcart/usr/lib/locale \
		"$NSENTER" -t "$PID" -m -u -i -n -p -r -w -S "$(id -u "$OP_USER")" \
		-G "$(id -g "$OP_USER")" -- "$@" </dev/null 2>&1
}

# The default image gone: one line that says what to do, exit 125.
mv "$IMG_DEFAULT" "$IMG_DEFAULT.away"
cc_run /dev/crashcart/bin/true
if [ "$RC" = 125 ] && [ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] &&
	printf '%s\n' "$OUT" | grep -q 'no toolbox image at .*crashcart-toolbox-build.*-i'; then
	ok "missing default image: $OUT"
else
	bad "missing default image: exit $RC: $OUT"
fi
mv "$IMG_DEFAULT.away" "$IMG_DEFAULT"

t=$(date +%s%N)
cc_run true
if [ "$RC" = 0 ] && [ -z "$OUT" ]; then
	ok "crashcart PID true, the first from the erofs toolbox ($(( ($(date +%s%N) - t) / 1000000 )) ms)"
else
	bad "crashcart PID true: exit $RC: $OUT"
fi
# -m: the image stays mounted for the direct (nsenter) runs below
setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups -- \
	"$CC_BIN" -m "$PID" >/dev/null 2>&1 || bad "crashcart -m"
[ -x "/proc/$PID/root/dev/crashcart/bin/bash" ] || bad "image not mounted in the container"
test ! -e "/proc/$PID/root/lib" -a ! -e "/proc/$PID/root/usr" && ok "the container has no libc"

# perf: the kernel lets an unprivileged user count and sample their own
# processes (perf_event_paranoid 2); crashcart's tool profile refuses
# perf_event_open, and perf says so. perf report reads a file: it works.
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
tool "perf stat through crashcart: refused (seccomp: perf_event_open), and crashcart says so" \
	"crashcart: perf_event_open is refused by this session's profile \\(restricted\\)" \
	perf stat -e task-clock /dev/crashcart/bin/true
echo "       ($(printf '%s\n' "$OUT" | grep -m1 -i permission))"
if [ "$paranoid" -le 2 ]; then
	out=$(direct perf stat -e task-clock /dev/crashcart/bin/true)
	if printf '%s\n' "$out" | grep -q 'task-clock'; then ok "perf stat (unprivileged, without crashcart's filter)"; else
		bad "perf stat direct"; printf '%s\n' "$out" | tail -n 5; fi
	out=$(direct perf record -q -e cpu-clock -o /tmp/perf.data /dev/crashcart/bin/ls -R /dev/crashcart/usr/share)
	if [ -s "/proc/$PID/root/tmp/perf.data" ]; then ok "perf record (unprivileged) wrote /tmp/perf.data"; else
		bad "perf record: $out"; fi
	chmod 644 "/proc/$PID/root/tmp/perf.data"
	tool "perf report through crashcart" '^# Samples: [0-9]+ .*cpu-clock' \
		perf report -i /tmp/perf.data --stdio
else
	echo "skip - perf stat/record: kernel.perf_event_paranoid is $paranoid"
fi
tool "bpftrace: refused, and crashcart says so" 'crashcart: bpf is refused under every profile' \
	bpftrace -e 'BEGIN { exit(); }'
tool "perl: modules from the image, @INC only the image's" '^perl 7 /dev/crashcart/[^ ]*( /dev/crashcart/[^ ]*)*$' \
	perl -MPOSIX -MData::Dumper -e 'print "perl ", POSIX::floor(7.9), " @INC\n"'
tool "nmap list scan" 'Nmap done: 4 IP addresses' nmap -n -sL 10.9.8.0/30
tool "nmap connect scan of lo" '^9999/tcp +open' sh -c \
	'ncat -l 127.0.0.1 9999 >/dev/null & sleep 0.5; nmap -n -sT -p 9999 127.0.0.1; kill $! 2>/dev/null'
tool "ncat: a line over lo" '^hello-ncat$' sh -c \
	'ncat -l 127.0.0.1 9998 & sleep 0.5; echo hello-ncat | ncat --send-only 127.0.0.1 9998; wait'
tool "iperf3 over lo" 'receiver' sh -c \
	'iperf3 -s -1 -B 127.0.0.1 -p 5299 >/dev/null & sleep 0.5; iperf3 -c 127.0.0.1 -p 5299 -t 1; wait'
tool "ngrep: runs, and says it needs CAP_NET_RAW to capture" \
	'ngrep: V1\.47.* ~ lo: You don.t have permission to perform this capture' \
	sh -c 'ngrep -V; ngrep -d lo -c 1 x 2>&1 | head -n 1'
tool "gdbserver under gdb (stdio)" '^rip +0x[0-9a-f]+' gdb -nx -batch \
	-ex 'target remote | gdbserver - /dev/crashcart/bin/true' -ex 'info registers rip' -ex kill
tool "conntrack: runs, and says it needs CAP_NET_ADMIN to list" \
	'conntrack v1\.4.* ~ .*must be root or get CAP_NET_ADMIN' \
	sh -c 'conntrack --version; conntrack -L 2>&1 | tail -n 1'
tool "python3 (named member): ssl, sqlite3, json" '^py 3\.[0-9]+\.[0-9]+ OpenSSL 3' \
	python3 -c 'import ssl, sqlite3, json, sys; print("py", sys.version.split()[0], ssl.OPENSSL_VERSION.split()[0], ssl.OPENSSL_VERSION.split()[1])'
tool "valgrind memcheck (tools via the libexec path, ld.so symbols)" 'ERROR SUMMARY: 0 errors' \
	valgrind --error-exitcode=3 /dev/crashcart/bin/true
tool "yq" '^42$' sh -c 'echo "a: {b: 42}" | yq -r .a.b'
t=$(date +%s%N)
tool "bash --version" 'GNU bash, version 5' bash --version
echo "       ($(( ($(date +%s%N) - t) / 1000000 )) ms)"

setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups -- \
	"$CC_BIN" -u "$PID" >/dev/null 2>&1 || bad "crashcart -u"

# Informational (no assertion on time): `crashcart -i IMG PID true` and
# `... bash --version`, each session mounting the image afresh, for the small
# test image of run.sh in each format; median of 5, in ms.
startup_ms() {     # startup_ms IMG CMD...: median ms of 5 sessions
	local img=$1 i t; shift
	for i in 1 2 3 4 5; do
		t=$(date +%s%N)
		timeout -k 5 60 setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" \
			--init-groups -- "$CC_BIN" -T -i "$img" "$PID" "$@" </dev/null >/dev/null 2>&1 ||
			{ echo "fail"; return; }
		echo $(( ($(date +%s%N) - t) / 1000000 ))
		: "$i"
	done | sort -n | sed -n 3p
}
mkdir -p "$IMGDIR" && chmod 755 "$IMGDIR"
for fmt in ext4:a erofs:erofs squashfs:squashfs; do
	src="$3/${fmt#*:}/crashcart.img"
	[ -f "$src" ] || continue
	install -m 0644 -o root -g root "$src" "$IMGDIR/small.${fmt%%:*}"
	echo "       crashcart PID true / bash --version, ${fmt%%:*} (small image, fresh mount each):" \
		"$(startup_ms "$IMGDIR/small.${fmt%%:*}" /dev/crashcart/bin/true) ms /" \
		"$(startup_ms "$IMGDIR/small.${fmt%%:*}" /dev/crashcart/bin/bash --version) ms"
done
[ "$fails" = 0 ]
