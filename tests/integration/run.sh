#!/bin/bash
# Integration suite for crashcart's privileged core.
# usage: run.sh SRCDIR [BUILDDIR]      (as root; meson's `integration` test)
# exit: 0 all passed (skips allowed), 1 any failure or set-up failure. Not
#       root: "1..0 # SKIP" and 0 (TAP: meson counts an exit 77 as an error).
# env:  CC_IT_ONLY=ERE   run only the tests whose function name matches
#       CC_IT_KEEP=1     keep the temporary tree (build, prefix, logs) for inspection
#       CC_IT_OPEN=1     also run OPEN_TESTS: attacks not fixed yet, which fail
#       CC_IT_REPEAT=N   run each selected test N times (a test that races
#                        under load shows itself; one set-up for all runs)
#       CC_IT_TEST_TIMEOUT=SECONDS  per-test limit (default 90)
#       CC_IT_STRICT=1   (tools/test as root, so CI) a skip fails, unless the
#                        table "Not tested here" in README.md names the test;
#                        not root fails too
# Builds and installs the project into a fresh prefix (BUILDDIR is not used:
# the suite needs its own -Dprefix/-Dops_group/-Daudit_log).
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317  # cleanup runs from a trap
set -u
umask 022

if [ "$(id -u)" != 0 ]; then
	if [ -n "${CC_IT_STRICT:-}" ]; then
		echo "Bail out! CC_IT_STRICT=1: the integration tests need root"
		exit 1
	fi
	echo "1..0 # SKIP integration tests need root"
	exit 0
fi
SRCDIR=$(cd "${1:?usage: run.sh SRCDIR [BUILDDIR]}" && pwd) || exit 1
CC_IT_DIR=$(cd "$(dirname "$0")" && pwd)
export CC_IT_DIR CC_SRC=$SRCDIR
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

CC_T=$(mktemp -d /var/tmp/crashcart-it.XXXXXX) || exit 1
chmod 755 "$CC_T"
export CC_T
# shellcheck source=lib.sh
. "$CC_IT_DIR/lib.sh"
# shellcheck source=tests.sh
. "$CC_IT_DIR/tests.sh"

[ -e /dev/crashcart ] && touch "$CC_T/host-had-dev-crashcart"

TESTPID=
cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	[ "$BASHPID" = "$MAINPID" ] || exit "$rc"
	if [ -n "$TESTPID" ] && kill -0 "$TESTPID" 2>/dev/null; then
		echo "# interrupted: stopping the running test"
		kill -TERM "$TESTPID" 2>/dev/null    # timeout passes it on to the test
		for i in $(seq 100); do kill -0 "$TESTPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$TESTPID" 2>/dev/null
	fi
	ct_stop_all
	[ -d "$CC_T/runc" ] && for id in $(runc --root "$CC_T/runc" list -q 2>/dev/null </dev/null); do
		runc --root "$CC_T/runc" delete -f "$id" </dev/null >/dev/null 2>&1
	done
	detach_leftovers | sed 's/^/# cleanup: /'
	remove_cgroup_parents
	if [ -n "${CC_IT_KEEP:-}" ]; then
		echo "# kept $CC_T"
	else
		rm -rf "$CC_T"
	fi
	exit "$rc"
}
MAINPID=$BASHPID
trap cleanup EXIT
trap '[ "$BASHPID" = "$MAINPID" ] && exit 130; exit 0' INT
trap '[ "$BASHPID" = "$MAINPID" ] && exit 143; exit 0' TERM

bail() { echo "Bail out! $*"; exit 1; }

# ------------------------------------------------------------------ set-up
echo "# temp dir $CC_T"
ensure_users || bail "cannot create users/group ($OPS_GROUP, $OP_USER, $OTHER_USER)"
build_helpers > "$CC_T/helpers.log" 2>&1 || { cat "$CC_T/helpers.log"; bail "cannot build sleeper/ctpivot"; }
echo "# building and installing into $P"
if ! out=$(CC_IT_FAULT_HOOKS=true build_install "$SRCDIR"); then
	printf '%s\n' "$out" | sed 's/^/# /'
	bail "build/install of crashcart failed"
fi
echo "# broker: $(stat -c '%U:%G %a' "$BROKER") $(cat "$CC_T/caps.orig")"
build_images > "$CC_T/images.log" 2>&1 || { cat "$CC_T/images.log"; bail "cannot build test images"; }

# ------------------------------------------------------------------ tests
# The skips CI accepts: README.md's "Not tested here" table, one test a row.
# shellcheck disable=SC2016  # backquotes of the Markdown table, not the shell's
allowed_skips=$(sed -n '/^### Not tested here/,/^#/s/^| `\(t_[a-z0-9_]*\)` |.*/\1/p' "$SRCDIR/README.md")
for t in $allowed_skips; do
	[[ " ${TESTS[*]} " == *" $t "* ]] || bail "README.md's \"Not tested here\" names $t, which is no test"
done
selected=()
# OPEN_TESTS: attacks that still succeed (SECURITY.md says which); they
# fail until fixed, so they run only when asked for (CC_IT_OPEN=1)
[ -n "${CC_IT_OPEN:-}" ] && TESTS+=("${OPEN_TESTS[@]}")
for t in "${TESTS[@]}"; do
	if [ -n "${CC_IT_ONLY:-}" ] && ! [[ $t =~ $CC_IT_ONLY ]]; then continue; fi
	selected+=("$t")
done
if [ -n "${CC_IT_REPEAT:-}" ]; then
	[[ $CC_IT_REPEAT =~ ^[1-9][0-9]*$ ]] || bail "CC_IT_REPEAT=$CC_IT_REPEAT: want a count"
	once=("${selected[@]}")
	for _ in $(seq 2 "$CC_IT_REPEAT"); do selected+=("${once[@]}"); done
fi
echo "1..${#selected[@]}"
n=0 npass=0 nfail=0 nskip=0 failed=()
for t in "${selected[@]}"; do
	# (defensive: only the main process runs the loop; a forked child that
	# somehow got here after an interrupt must not go on running tests)
	[ "$BASHPID" = "$MAINPID" ] || exit 0
	n=$((n + 1))
	tdir=$CC_T/tests/$t
	# a repeated test: a directory for each run
	[ -e "$tdir" ] && tdir=$CC_T/tests/$t.$n
	mkdir -p "$tdir"
	chmod 755 "$CC_T/tests" "$tdir"
	start=$(date +%s)
	# in the background + wait, so that a signal to this script is handled
	# at once (the trap stops the running test, then cleans up)
	CC_TT=$tdir CC_SKIPFILE=$tdir/skip CC_NOTEFILE=$tdir/notes \
		timeout -k 5 "${CC_IT_TEST_TIMEOUT:-90}" bash "$CC_IT_DIR/runone.sh" "$t" \
		</dev/null >"$tdir/log" 2>&1 &
	TESTPID=$!
	wait "$TESTPID"
	rc=$?
	TESTPID=
	# whatever the test left behind: stop, unmount, detach (and say so)
	ct_stop_all
	broker_restore_caps
	# what the test left behind fails it (loop autoclear may lag: a moment)
	wait_until 5 no_leftovers
	left=$(detach_leftovers)
	secs=$(( $(date +%s) - start ))
	desc="$t (${secs}s)"
	if [ -n "$left" ] && { [ "$rc" = 0 ] || [ "$rc" = 77 ]; }; then
		printf '%s\n' "$left" | sed 's/^/FAIL: left behind: /' >> "$tdir/log"
		rc=1
	fi
	if [ "$rc" = 77 ] && [ -n "${CC_IT_STRICT:-}" ] && ! grep -qxF "$t" <<<"$allowed_skips"; then
		echo "FAIL: skipped ($(head -n1 "$tdir/skip" 2>/dev/null)); CC_IT_STRICT=1 and README.md's \"Not tested here\" does not name $t" >> "$tdir/log"
		rc=1
	fi
	if [ "$rc" = 77 ]; then
		nskip=$((nskip + 1))
		echo "ok $n - $desc # SKIP $(head -n1 "$tdir/skip" 2>/dev/null)"
	elif [ "$rc" = 0 ]; then
		npass=$((npass + 1))
		echo "ok $n - $desc"
	else
		nfail=$((nfail + 1)); failed+=("$t")
		[ "$rc" = 124 ] || [ "$rc" = 137 ] && echo "# $t: timed out" >> "$tdir/log"
		echo "not ok $n - $desc"
		sed 's/^/#   /' "$tdir/log"
	fi
	[ -s "$tdir/notes" ] && sed 's/^/#   note: /' "$tdir/notes"
	[ -n "$left" ] && printf '%s\n' "$left" | sed 's/^/#   cleaned up after the test: /'
done
echo "# $n tests: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" = 0 ] || { echo "# failed: ${failed[*]}"; exit 1; }
exit 0
