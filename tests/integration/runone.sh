#!/bin/bash
# runone.sh TEST: run one test function of tests.sh in this process (called
# by run.sh with CC_T, CC_TT, CC_SKIPFILE, CC_NOTEFILE set). Exit 0 pass,
# 77 skip, anything else failure. Containers the test started are stopped
# and the broker's capabilities restored on the way out.
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2154  # rc is set inside the trap
set -u
: "${CC_T:?}" "${CC_TT:?}"
CC_IT_DIR=$(cd "$(dirname "$0")" && pwd)
export CC_IT_DIR CC_TT
# shellcheck source=lib.sh
. "$CC_IT_DIR/lib.sh"
# shellcheck source=tests.sh
. "$CC_IT_DIR/tests.sh"
cd "$CC_TT" || exit 1
trap 'rc=$?; trap - EXIT; ct_stop_all; broker_restore_caps; exit $rc' EXIT
trap 'exit 143' TERM
"$1" || fail "$1 returned $? without failing an assertion"
if [ -s "$CC_TT/soft-failures" ]; then
	echo "FAIL: $(wc -l < "$CC_TT/soft-failures") check(s) failed above:"
	sed 's/^/  - /' "$CC_TT/soft-failures"
	exit 1
fi
