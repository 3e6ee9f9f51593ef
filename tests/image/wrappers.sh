#!/bin/bash
# The image's perf and bpftrace wrappers (image/ccimage/startup.py, issue
# 12), run as they are written into the image but with the real program
# replaced by a stand-in that exits with a chosen status: on a failure in a
# crashcart session whose profile refuses the call, one crashcart line on
# stderr; otherwise (success, ptrace for perf, no session, a perf
# subcommand that reads a file) nothing added; the program's exit status
# and arguments always passed through. The real perf against the real
# filter is tests/image/toolbox.sh's; the filter itself, test_seccomp and
# t_prof_ptrace_perf_counts.
#   usage: wrappers.sh SOURCE_ROOT        exit 0 pass, 1 fail
set -u
top=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# the wrappers, with /dev/crashcart/... pointed into $tmp
python3 - "$top" "$tmp" <<'PY' || exit 1
import os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "image"))
from ccimage import startup
for prog, text in (("perf", startup.PERF), ("bpftrace", startup.BPFTRACE)):
    text = text.replace("#!/dev/crashcart/bin/sh", "#!/bin/sh")
    text = text.replace("/dev/crashcart/usr/bin/", sys.argv[2] + "/")
    with open(os.path.join(sys.argv[2], prog), "w") as f:
        f.write(text)
    os.chmod(os.path.join(sys.argv[2], prog), 0o755)
    with open(os.path.join(sys.argv[2], prog + ".bin"), "w") as f:
        f.write('#!/bin/sh\necho "ran $*"\nexit "${FAKE_RC:-0}"\n')
    os.chmod(os.path.join(sys.argv[2], prog + ".bin"), 0o755)
PY

# check PROG RC PROFILE WANT_LINE ARGS...: PROFILE "-" for none
check() {
	local prog=$1 rc=$2 prof=$3 want=$4 out err got
	shift 4
	if [ "$prof" = - ]; then
		out=$(FAKE_RC=$rc "$tmp/$prog" "$@" 2>"$tmp/err"); got=$?
	else
		out=$(CRASHCART_PROFILE=$prof FAKE_RC=$rc "$tmp/$prog" "$@" 2>"$tmp/err"); got=$?
	fi
	err=$(cat "$tmp/err")
	[ "$got" = "$rc" ] || bad "$prog $* ($prof): exit $got, want $rc"
	[ "$out" = "ran $*" ] || bad "$prog $* ($prof): the program did not get its arguments: '$out'"
	if [ -n "$want" ]; then
		[ "$err" = "$want" ] || bad "$prog $* ($prof, exit $rc): stderr '$err', want '$want'"
	else
		[ -z "$err" ] || bad "$prog $* ($prof, exit $rc): stderr '$err', want nothing"
	fi
}

perf_line() { echo "crashcart: perf_event_open is refused by this session's profile ($1); a rule with profile = ptrace allows perf stat/record of the container's processes"; }
bpf_line() { echo "crashcart: bpf is refused under every profile (this session's: $1): bpftrace needs CAP_BPF and CAP_PERFMON and sees the whole host, which crashcart does not grant"; }

check perf 255 restricted "$(perf_line restricted)" stat -e task-clock -p 7
check perf 129 netadmin "$(perf_line netadmin)" record -p 7 "a b"
check perf 255 ptrace "" stat -e task-clock -p 7         # perf's own message is the true one then
check perf 0 restricted "" stat -e task-clock -p 7       # it worked
check perf 1 restricted "" report -i perf.data           # reads a file: not the filter's doing
check perf 255 - "" stat -p 7                            # not in a crashcart session
check bpftrace 1 restricted "$(bpf_line restricted)" -e 'BEGIN { exit(); }'
check bpftrace 1 ptrace "$(bpf_line ptrace)" -e 'BEGIN { exit(); }'
check bpftrace 0 ptrace "" --help
check bpftrace 1 - "" -e 'BEGIN { exit(); }'
[ "$fails" = 0 ] && echo "perf and bpftrace wrappers: all checks passed"
[ "$fails" = 0 ]
