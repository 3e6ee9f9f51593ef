#!/bin/sh
# Runs the libFuzzer harnesses of tests/fuzz/ one after the other (one job:
# the machine is shared), each for SECONDS, and reports for each how many
# inputs it ran, how fast, and whether it crashed. Sets up and builds the
# clang build directory (-Dfuzz=true, ASan+UBSan) first.
#
# Usage: tests/fuzz/run.sh SECONDS [HARNESS...]     (default: all of them)
#   FUZZ_BUILD  build directory (default build-fuzz)
#   FUZZ_SEED   libFuzzer's random seed (default: one drawn per run)
#   FUZZ_RUNS   stop a harness after this many executions, if sooner than
#               SECONDS (issue 15's goal: FUZZ_RUNS=10000000)
# Each harness fuzz_NAME starts from its seeds (tests/fuzz/corpus/NAME/) and
# from what earlier runs found (BUILD/fuzz-corpus/fuzz_NAME/; the seeds are
# never written to). A crash leaves its input in BUILD/fuzz-artifacts/ and
# makes the exit status 1; reproduce it with BUILD/tests/fuzz/fuzz_NAME FILE.
set -eu
cd "$(dirname "$0")/../.."
B=${FUZZ_BUILD:-build-fuzz}
ALL="fuzz_proto fuzz_policy fuzz_audit fuzz_proc fuzz_args fuzz_inspect"
[ $# -ge 1 ] || { echo "usage: $0 SECONDS [HARNESS...]" >&2; exit 2; }
SECS=$1
shift
HARNESSES=${*:-$ALL}
command -v clang >/dev/null || { echo "$0: clang not found (tools/install-deps installs it)" >&2; exit 1; }

if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
targets=
for h in $HARNESSES; do targets="$targets tests/fuzz/$h"; done
# shellcheck disable=SC2086
ninja -C "$B" $targets >/dev/null

mkdir -p "$B/fuzz-artifacts"
failed=0
printf '%-14s %12s %8s %10s %8s  %s\n' HARNESS EXECS SECONDS EXEC/S CORPUS RESULT
for h in $HARNESSES; do
	work=$B/fuzz-corpus/$h
	log=$B/fuzz-artifacts/$h.log
	mkdir -p "$work"
	case $h in
	fuzz_proto|fuzz_proc) maxlen=20000 ;; # strings over CC_STR_MAX, mountinfo lines over list.c's buffer
	*) maxlen=4096 ;;
	esac
	start=$(date +%s)
	rc=0
	"$B/tests/fuzz/$h" -max_total_time="$SECS" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 ${FUZZ_SEED:+-seed="$FUZZ_SEED"} ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} -artifact_prefix="$B/fuzz-artifacts/$h-" \
		"$work" "tests/fuzz/corpus/${h#fuzz_}" >"$log" 2>&1 || rc=$?
	secs=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	execs=${execs:-0}
	corpus=$(find "$work" -type f | wc -l)
	if [ "$rc" = 0 ]; then
		result=ok
	else
		result="CRASH (exit $rc, see $log)"
		failed=1
	fi
	printf '%-14s %12s %8s %10s %8s  %s\n' "$h" "$execs" "$secs" "$(( execs / (secs > 0 ? secs : 1) ))" "$corpus" "$result"
done
if [ "$failed" != 0 ]; then
	for h in $HARNESSES; do
		log=$B/fuzz-artifacts/$h.log
		grep -q -e '^==[0-9]*==ERROR' -e 'runtime error' -e 'deadly signal' "$log" 2>/dev/null || continue
		echo "---- $h ----"
		# the finding, and the frames of our code (not libFuzzer's, not libc's)
		grep -e 'ERROR' -e 'runtime error' -e '^    #[0-9].* in [^ ]* /.*/\(src\|tests\)/' \
			-e 'Test unit written' "$log" | head -n 20 || true
	done
fi
exit "$failed"
