# shellcheck shell=bash
# The benchmarks' common set-up (sourced): a fresh temp tree, the
# integration suite's helpers, a real install into it with the suite's
# group, users, policy and test images; everything removed on exit.
# Sets SRC, CC_T and everything lib.sh defines. Run as root.
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# CC_BENCH_DIR: where the temp tree goes (default /var/tmp): the audit log,
# the recordings and the images are on that file system.
CC_T=$(mktemp -d "${CC_BENCH_DIR:-/var/tmp}/crashcart-bench.XXXXXX")
chmod 755 "$CC_T"
export CC_T CC_IT_DIR=$SRC/tests/integration CC_SRC=$SRC
# shellcheck source=../tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"
# (set -e would end the trap at its first false test and leave the rest)
bench_cleanup() { local rc=${1:-$?}; set +e; ct_stop_all >/dev/null 2>&1; detach_leftovers >/dev/null 2>&1; remove_cgroup_parents; rm -rf "$CC_T"; exit "$rc"; }
trap bench_cleanup EXIT

ensure_users >/dev/null
build_helpers >/dev/null
build_install "$SRC" >/dev/null || { echo "build failed" >&2; exit 1; }
build_images >/dev/null
