#!/bin/bash
# Does resolving a container id cost more as the host runs more processes?
# It must not: the resolver walks cgroup directories and reads only the
# matching cgroup's members, never every /proc/PID.
#
# Run as root on a cgroup v1 (+ unified) host, after building:
#   meson setup build-r && ninja -C build-r && sudo bench/resolve-scale.sh [BUILD_DIR]
# For N in $COUNTS (default "100 10000") it starts N idle `sleep`s in a host
# cgroup, one "container" (unshare --pid --fork sleep, in a cgroup named like
# a docker id: /sys/fs/cgroup/pids/docker/<64hex>), and times cc_resolve()
# by a 12-char id prefix with a small driver linked to the worker library:
# median of $RUNS (default 25) runs per N, and the ratio. Everything it
# starts or creates is removed on exit.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-r}
COUNTS=${COUNTS:-"100 10000"}
RUNS=${RUNS:-25}
CG=/sys/fs/cgroup/pids
ID=ccbe7c4000000000000000000000000000000000000000000000000000000000
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 77; }
[ -d "$CG" ] || { echo "no $CG (cgroup v1 pids hierarchy)" >&2; exit 77; }
[ -f "$BUILD/src/worker/libccworker.a" ] || { echo "build first: ninja -C $BUILD" >&2; exit 1; }

TMP=$(mktemp -d /tmp/cc-bench.XXXXXX)
IDLE_CG=$CG/ccbench-idle
CT_CG=$CG/docker/$ID
MADE_DOCKER=0
CT_PID=

cleanup() {
	set +e
	# only what this script started: the members of its own two cgroups
	for cg in "$IDLE_CG" "$CT_CG"; do
		[ -f "$cg/cgroup.procs" ] || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			pids=$(cat "$cg/cgroup.procs")
			[ -z "$pids" ] && break
			kill -KILL $pids 2>/dev/null
			sleep 0.2
		done
		rmdir "$cg"
	done
	[ "$MADE_DOCKER" = 1 ] && rmdir "$CG/docker"
	rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/drv.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "resolve.h"

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int runs = atoi(argv[2]);
	double *t = calloc((size_t)runs, sizeof(double));
	struct cc_claim c;
	cc_error e = { 0 };
	for (int i = 0; i < runs; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (cc_resolve(&cc_resolve_host, argv[1], &c, &e) < 0) {
			fprintf(stderr, "resolve: %s\n", e.msg);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		t[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(t, (size_t)runs, sizeof(double), cmp);
	printf("%u %s %.1f %.1f %.1f\n", c.pid, c.runtime, t[runs / 2], t[0], t[runs - 1]);
	return 0;
}
EOF
cc -O2 -D_GNU_SOURCE -I"$SRC/src/worker" -I"$SRC/src/common" -I"$BUILD" -o "$TMP/drv" "$TMP/drv.c" \
	"$BUILD/src/worker/libccworker.a" "$BUILD/libcccommon.a" \
	$(pkg-config --libs libseccomp inih libmd json-c 2>/dev/null || true)

# the container: a PID namespace whose init is `sleep`, in a docker-named cgroup
[ -d "$CG/docker" ] || { mkdir "$CG/docker"; MADE_DOCKER=1; }
mkdir "$CT_CG"
sh -c "echo \$\$ > $CT_CG/cgroup.procs; exec unshare --pid --fork sleep 100000" </dev/null >/dev/null 2>&1 &
disown
for _ in $(seq 50); do
	for p in $(cat "$CT_CG/cgroup.procs"); do
		[ "$(awk '/^NSpid:/ {print $NF}' /proc/$p/status 2>/dev/null)" = 1 ] && CT_PID=$p
	done
	[ -n "$CT_PID" ] && break
	sleep 0.1
done
[ -n "$CT_PID" ] || { echo "the container did not start" >&2; exit 1; }

mkdir "$IDLE_CG"
declare -A MED
echo "container ${ID:0:12} init PID $CT_PID; $RUNS runs per N"
printf '%8s %10s %12s %10s %10s\n' N procs median_us min_us max_us
for n in $COUNTS; do
	have=$(wc -l <"$IDLE_CG/cgroup.procs")
	if [ "$have" -lt "$n" ]; then
		# one shell in the idle cgroup starts the sleeps (they inherit it)
		sh -c "echo \$\$ > $IDLE_CG/cgroup.procs; i=$have; while [ \$i -lt $n ]; do sleep 100000 </dev/null >/dev/null 2>&1 & i=\$((i+1)); done" </dev/null
		for _ in $(seq 100); do
			[ "$(wc -l <"$IDLE_CG/cgroup.procs")" -ge "$n" ] && break
			sleep 0.1
		done
	fi
	procs=$(ls -d /proc/[0-9]* | wc -l)
	# warm the caches once, then measure
	"$TMP/drv" "${ID:0:12}" 3 >/dev/null
	read -r pid rt med min max < <("$TMP/drv" "${ID:0:12}" "$RUNS")
	[ "$pid" = "$CT_PID" ] && [ "$rt" = docker ] || { echo "resolved to $rt $pid, expected docker $CT_PID" >&2; exit 1; }
	MED[$n]=$med
	printf '%8s %10s %12s %10s %10s\n' "$n" "$procs" "$med" "$min" "$max"
done
set -- $COUNTS
first=$1
last=${!#}
awk -v a="${MED[$first]}" -v b="${MED[$last]}" -v f="$first" -v l="$last" \
	'BEGIN { printf "ratio median(N=%s)/median(N=%s) = %.2f\n", l, f, b / a }'
