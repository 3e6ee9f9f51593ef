# shellcheck shell=bash
# Test cases for crashcart's privileged core (sourced by run.sh/runone.sh).
# Each test is a function run in its own bash process; helpers from lib.sh
# end it with fail/skip. TESTS lists them in the order they run.
# shellcheck disable=SC2016  # single-quoted $$ etc. are meant for the tool's shell
# shellcheck disable=SC2034  # TESTS is read by run.sh

# attacks that still succeed: run.sh runs them with CC_IT_OPEN=1 only
OPEN_TESTS=()
TESTS=(
	t_broker_file_caps
	t_cli_version
	t_cli_help
	t_cli_bad_usage
	t_mount_ext4
	t_exec_identity
	t_exec_status_codes
	t_exec_options_stop_at_first_non_option
	t_session_without_m_unmounts
	t_session_keeps_prior_mount
	t_concurrent_sessions
	t_default_image
	t_default_image_missing
	t_squashfs
	t_erofs
	t_runc
	t_audit_records
	t_tty_shell
	t_tty_ctrl_c
	t_tty_ctrl_z
	t_refuse_not_in_group
	t_refuse_host_process
	t_refuse_no_such_pid
	t_refuse_image_world_writable
	t_refuse_image_owned_by_user
	t_refuse_image_symlink
	t_refuse_image_not_a_filesystem
	t_refuse_symlink_dev_crashcart_to_tmp
	t_refuse_symlink_dev_crashcart_to_root
	t_refuse_without_cap_sys_admin
	t_refuse_without_cap_sys_ptrace
	t_refuse_without_cap_sys_chroot
	t_refuse_without_cap_mknod
	t_mount_without_cap_dac_override
	t_kernel_needs_each_cap
	t_pid_dies_between_resolve_and_act
	t_pid_reused_between_resolve_and_act
	t_broker_protocol_violations
	t_broker_refuses_worker_launch
	t_broker_checks_the_claim
)

BB=/dev/crashcart/bin/busybox

# start_ct NAME: microcontainer; sets PID (host PID of its init)
start_ct() {
	PID=$(ct_start "$1") || fail "cannot start microcontainer $1"
	log "# microcontainer $1: host pid $PID"
}

# expect_mounted PID [FSTYPE]: exactly one /dev/crashcart mount, ro,nosuid,nodev
expect_mounted() {
	local m n opts
	m=$(mounted_in "$1")
	n=$(printf '%s' "$m" | awk 'END {print NR}')
	[ "$n" = 1 ] || fail "want exactly one /dev/crashcart mount in $1, found $n: '$m'"
	log "  mount: $m"
	opts=,${m%% *},
	case $opts in *,ro,*) ;; *) fail "/dev/crashcart is not mounted ro: $m" ;; esac
	case $opts in *,nosuid,*) ;; *) fail "/dev/crashcart is not mounted nosuid: $m" ;; esac
	case $opts in *,nodev,*) ;; *) fail "/dev/crashcart is not mounted nodev: $m" ;; esac
	if [ -n "${2:-}" ]; then
		[ "$(printf '%s' "$m" | awk '{print $2}')" = "$2" ] || fail "/dev/crashcart is not $2: $m"
	fi
}

# ------------------------------------------------------------------ install

# The broker holds exactly its four capabilities (SECURITY.md), permitted
# only (the install script sets them; set-up already checked they are there).
t_broker_file_caps() {
	local have want extra
	have=$(installed_caps | tr ' ' '\n' | sort | tr '\n' ' ')
	want=$(tr ' ' '\n' <<<"$REQUIRED_CAPS $PROFILE_CAPS" | sort | tr '\n' ' ')
	log "broker: $(getcap "$BROKER")"
	extra=$(comm -23 <(installed_caps | tr ' ' '\n' | sort) <(tr ' ' '\n' <<<"$REQUIRED_CAPS $PROFILE_CAPS" | sort) | tr '\n' ' ')
	[ "$have" = "$want" ] || fail "broker file capabilities are '$have', want exactly '$want' (extra: ${extra:-none})"
	case $(cat "$CC_T/caps.orig") in *=p) ;; *) fail "broker capabilities are not '=p': $(cat "$CC_T/caps.orig")" ;; esac
}

# ------------------------------------------------------------------ CLI

t_cli_version() {
	local want
	want=$(meson introspect "$B" --projectinfo | jq -r .version)
	run as_op cc -V
	expect_rc 0 "crashcart -V"
	case $OUT in *"$want"*) ;; *) fail "crashcart -V does not print the version $want" ;; esac
}

t_cli_help() {
	run as_op cc -h
	expect_rc 0 "crashcart -h"
	printf '%s\n' "$OUT" | grep -qi 'usage' || fail "crashcart -h prints no usage"
	case $OUT in *-m*) ;; *) fail "usage does not mention -m" ;; esac
}

t_cli_bad_usage() {
	run as_op cc --no-such-option 1
	expect_rc 125 "unknown option"
	expect_one_error_line
	run as_op cc -m
	expect_rc 125 "-m without an id"
	expect_one_error_line
	run as_op cc -i
	expect_rc 125 "-i without an image"
	expect_one_error_line
}

# ------------------------------------------------------------------ mount

t_mount_ext4() {
	local devb devA mib mia
	start_ct cc-mount
	devb=$(dev_listing "$PID"); mib=$(mountinfo_rest "$PID")
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "crashcart -m"
	expect_mounted "$PID" ext4
	devA=$(dev_listing "$PID"); mia=$(mountinfo_rest "$PID")
	log "  /dev after -m:"; printf '%s\n' "$devA" | sed 's/^/    /'
	printf '%s\n' "$devA" | grep -q '^b ' && fail "a block device node appeared in the container's /dev"
	[ "$(printf '%s\n' "$devA" | grep -v ' \./crashcart$')" = "$devb" ] ||
		fail "the container's /dev changed beyond /dev/crashcart: $(diff <(echo "$devb") <(echo "$devA"))"
	[ "$mia" = "$mib" ] || fail "the container's other mounts changed: $(diff <(echo "$mib") <(echo "$mia"))"
	[ -f "/proc/$PID/root/dev/crashcart/etc/crashcart-test" ] || fail "image content not visible at /dev/crashcart"
	[ -n "$(loops_for "$IMG_EXT4")" ] || fail "no loop device backs the image while mounted"
	log "  loop: $(loops_for "$IMG_EXT4")"

	run as_op cc -v -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "second crashcart -v -m (already mounted)"
	expect_mounted "$PID" ext4

	run as_op cc -u "$PID"
	expect_rc 0 "crashcart -u"
	not_mounted_in "$PID" || fail "still mounted after -u: $(mounted_in "$PID")"
	[ -e "/proc/$PID/root/dev/crashcart" ] && fail "/dev/crashcart directory left after -u"
	[ "$(dev_listing "$PID")" = "$devb" ] || fail "the container's /dev differs after -u"
	[ "$(mountinfo_rest "$PID")" = "$mib" ] || fail "the container's mounts differ after -u"
	wait_until 5 no_loops_for "$IMG_EXT4" || fail "loop device still backs the image 5 s after -u: $(loops_for "$IMG_EXT4")"

	# mount again, then stop the container without -u: the loop must go
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "crashcart -m (again)"
	ct_stop cc-mount
	wait_until 5 no_loops_for "$IMG_EXT4" ||
		fail "loop device still backs the image 5 s after the container stopped: $(loops_for "$IMG_EXT4")"
}

t_exec_identity() {
	local uid st n
	uid=$(op_uid)
	start_ct cc-ident
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "crashcart -m"

	run as_op cc -i "$IMG_EXT4" "$PID" $BB id -u
	expect_rc 0 "busybox id -u"
	expect_out "$uid"

	run as_op cc -i "$IMG_EXT4" "$PID" $BB cat /proc/self/status
	expect_rc 0 "busybox cat /proc/self/status"
	st=$OUT
	for f in CapEff CapPrm CapInh CapAmb; do
		printf '%s\n' "$st" | grep -qx "$f:	0000000000000000" ||
			fail "tool has $(printf '%s\n' "$st" | grep "^$f:"), want 0"
	done
	printf '%s\n' "$st" | grep -qx 'NoNewPrivs:	1' || fail "tool has $(printf '%s\n' "$st" | grep '^NoNewPrivs:'), want 1"
	printf '%s\n' "$st" | grep -qE "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}$" ||
		fail "tool uids: $(printf '%s\n' "$st" | grep '^Uid:'), want all $uid"

	run as_op cc -i "$IMG_EXT4" "$PID" $BB hostname
	expect_rc 0 "busybox hostname"
	expect_out cc-ident

	run as_op cc -i "$IMG_EXT4" "$PID" $BB ps -o pid,args
	expect_rc 0 "busybox ps"
	printf '%s\n' "$OUT" | grep -qE '^ *1 +/sleeper *$' || fail "PID 1 in the tool's view is not the container's /sleeper"
	n=$(printf '%s\n' "$OUT" | awk 'NR > 1' | awk 'END {print NR}')
	[ "$n" -le 4 ] || fail "the tool sees $n processes, want only the container's (sleeper, the session's reaper, tool)"
	printf '%s\n' "$OUT" | grep -Eq 'process_api|kthreadd|crashcart-broker|runone' && fail "the tool sees host processes"
	printf '%s\n' "$OUT" | grep -qE '^ *[0-9]+ +crashcart-reaper *$' || fail "the session's reaper is not the tool's parent in the container"

	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'echo $PATH; pwd; echo ${HOME-unset}'
	expect_rc 0 "environment"
	case $(printf '%s\n' "$OUT" | head -n1) in /dev/crashcart/bin*) ;; *) fail "PATH does not start with /dev/crashcart/bin" ;; esac
	[ "$(printf '%s\n' "$OUT" | sed -n 2p)" = / ] || fail "tool's cwd is not /"
	[ "$(printf '%s\n' "$OUT" | sed -n 3p)" = /dev/crashcart ] ||
		fail "tool's HOME is '$(printf '%s\n' "$OUT" | sed -n 3p)', want /dev/crashcart (the image has no home/)"

	# gid and supplementary groups: the operator's, all four gids
	local gid want have
	gid=$(id -g "$OP_USER")
	printf '%s\n' "$st" | grep -qE "^Gid:[[:space:]]+${gid}[[:space:]]+${gid}[[:space:]]+${gid}[[:space:]]+${gid}$" ||
		fail "tool gids: $(printf '%s\n' "$st" | grep '^Gid:'), want all $gid"
	want=$(id -G "$OP_USER" | tr ' ' '\n' | sort -n | tr '\n' ' ')
	have=$(printf '%s\n' "$st" | sed -n 's/^Groups:[[:space:]]*//p' | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
	[ "$have" = "$want" ] || fail "tool's groups are '$have', want the operator's '$want'"

	# only fds 0, 1, 2, none of them the operator's: crashcart holds 7 and 9
	# of the operator's, and its stdout is a file; the tool's are pipes
	run as_op bash -c 'exec 7</dev/null 9</etc/hostname || exit 99; exec "$@"' op "$CC_BIN" -i "$IMG_EXT4" "$PID" \
		/dev/crashcart/bin/toolprobe fds
	expect_rc 0 "toolprobe fds"
	expect_out "fds 0 1 2"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'for f in 0 1 2; do /dev/crashcart/bin/busybox readlink /proc/$$/fd/$f; done' 
	expect_rc 0 "readlink of the tool's fds"
	printf '%s\n' "$OUT" | grep -qvE '^pipe:\[[0-9]+\]$' && fail "a tool fd is not one of the broker's pipes: $OUT"
	[ "$(printf '%s\n' "$OUT" | wc -l)" = 3 ] || fail "want 3 fd links: $OUT"

	# default dispositions and an empty mask, though the operator ignores some
	run as_op bash -c 'trap "" INT QUIT HUP TERM USR1 PIPE TSTP TTOU; exec "$@"' op "$CC_BIN" -i "$IMG_EXT4" "$PID" \
		/dev/crashcart/bin/toolprobe signals
	expect_rc 0 "toolprobe signals"
	expect_out "ignored - caught - blocked -"

	# the environment, exactly; nothing of the operator's (TERM is passed on
	# when it is a plain name)
	run as_op env -i CC_OPERATOR_SECRET=leaked HOME=/root LANG=C.UTF-8 LD_PRELOAD=/nonexistent.so TERM=xterm-256color \
		PATH=/usr/bin:/bin "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB env
	expect_rc 0 "busybox env"
	want=$(sort <<-EOF
	PATH=/dev/crashcart/bin:/dev/crashcart/sbin
	HOME=/dev/crashcart
	INPUTRC=/dev/crashcart/etc/inputrc
	HISTFILE=
	LESSHISTFILE=-
	SHELL=/dev/crashcart/bin/sh
	OPENSSL_CONF=/dev/crashcart/usr/lib/ssl/openssl.cnf
	LOCPATH=/dev/crashcart/usr/lib/locale
	TERM=xterm-256color
	PS1=[crashcart $OP_USER@$PID \\W]\\\$ 
	CRASHCART_TARGET=$PID
	CRASHCART_USER=$OP_USER
	CRASHCART_PROFILE=restricted
	EOF
	)
	have=$(printf '%s\n' "$OUT" | sort)
	[ "$have" = "$want" ] || fail "the tool's environment differs from the documented one: $(diff <(echo "$want") <(echo "$have") | grep '^[<>]' | tr '\n' ' ')"
	run as_op env -i TERM='xterm;rm -rf /' "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c 'echo "$TERM"'
	expect_rc 0 "TERM with a shell metacharacter"
	expect_out dumb

	# the container's namespaces, every one
	local ns wantns=
	for ns in cgroup ipc mnt net pid time user uts; do
		wantns="$wantns$(readlink "/proc/$PID/ns/$ns") "
	done
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c \
		'for n in cgroup ipc mnt net pid time user uts; do printf "%s " "$(/dev/crashcart/bin/busybox readlink /proc/self/ns/$n)"; done'
	expect_rc 0 "the tool's namespaces"
	[ "$OUT" = "$wantns" ] || fail "the tool's namespaces are '$OUT', want the container's '$wantns'"
	[ "$(readlink /proc/self/ns/net)" != "$(readlink "/proc/$PID/ns/net")" ] || fail "the container shares the host's net namespace: the check above means nothing"
	run as_op cc -u "$PID"
	expect_rc 0 "crashcart -u"
}

t_exec_status_codes() {
	start_ct cc-status
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "crashcart -m"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'exit 3'
	expect_rc 3 "sh -c 'exit 3'"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'kill -TERM $$'
	expect_rc 143 "sh -c 'kill -TERM \$\$' (128+15)"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "busybox true"
	run as_op cc -i "$IMG_EXT4" "$PID" /dev/crashcart/nope
	expect_rc 127 "nonexistent tool"
	run as_op cc -i "$IMG_EXT4" "$PID" /dev/crashcart/bin/notexec
	expect_rc 126 "non-executable tool"
	run as_op cc -u "$PID"
	expect_rc 0 "crashcart -u"
}

t_exec_options_stop_at_first_non_option() {
	start_ct cc-opts
	run as_op cc -i "$IMG_EXT4" "$PID" $BB ls -i /
	expect_rc 0 "crashcart PID busybox ls -i /"
	printf '%s\n' "$OUT" | grep -qE '^ *[0-9]+ +sleeper$' || fail "ls did not get -i (no inode numbers in its output)"
	not_mounted_in "$PID" || fail "mount left after the session"
}

t_session_without_m_unmounts() {
	start_ct cc-sess
	run as_op cc -i "$IMG_EXT4" "$PID" $BB test -f /dev/crashcart/etc/crashcart-test
	expect_rc 0 "session sees its image"
	not_mounted_in "$PID" || fail "mount left after a session without -m: $(mounted_in "$PID")"
	[ -e "/proc/$PID/root/dev/crashcart" ] && fail "/dev/crashcart directory left after a session without -m"
	wait_until 5 no_loops_for "$IMG_EXT4" || fail "loop device left after a session without -m: $(loops_for "$IMG_EXT4")"
	return 0
}

t_session_keeps_prior_mount() {
	start_ct cc-keep
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "crashcart -m"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "session"
	expect_mounted "$PID" ext4
	run as_op cc -u "$PID"
	expect_rc 0 "crashcart -u"
	not_mounted_in "$PID" || fail "still mounted after -u"
}

# run_bg TAG WHO CMD...: run in the background; wait_bg TAG collects it
run_bg() {
	local tag=$1; shift
	( RUN_TAG=$tag run "$@" > "$CC_TT/$tag.log" 2>&1; echo "$RC" > "$CC_TT/$tag.rc"
	  printf '%s' "$OUT" > "$CC_TT/$tag.stdout"; printf '%s' "$ERR" > "$CC_TT/$tag.stderr" ) &
	eval "BG_$tag=\$!"
}
wait_bg() {
	local p
	eval "p=\$BG_$1"
	wait "$p"
	cat "$CC_TT/$1.log"
	RC=$(cat "$CC_TT/$1.rc" 2>/dev/null); OUT=$(cat "$CC_TT/$1.stdout" 2>/dev/null); ERR=$(cat "$CC_TT/$1.stderr" 2>/dev/null)
}

mounted_or_ended() { is_mounted_in "$1" || [ -e "$CC_TT/$2.rc" ]; }

t_concurrent_sessions() {
	start_ct cc-conc
	# the first session checks, after the second one ended, that its
	# tools are still there (a new path lookup, not an open executable); it
	# waits at the gate /cc-go until then
	ct_gate "$PID" cc-go
	run_bg first as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c \
		"read _ < /cc-go; $BB test -x $BB && $BB test -f /dev/crashcart/etc/crashcart-test"
	wait_until 10 mounted_or_ended "$PID" first
	is_mounted_in "$PID" || { wait_bg first; fail "the first session never mounted"; }
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "second session"
	local still
	still=$(mounted_in "$PID")
	[ -e "$CC_TT/first.rc" ] && fail "the first session ended before it was let go: $(cat "$CC_TT/first.stderr")"
	ct_gate_open "$PID" cc-go
	wait_bg first
	expect_rc 0 "first session (its tools must outlive the second session)"
	[ -n "$still" ] || fail "the second session unmounted the image while the first was running"
	not_mounted_in "$PID" || fail "mount left after both sessions: $(mounted_in "$PID")"
	[ -e "/proc/$PID/root/dev/crashcart" ] && fail "/dev/crashcart left after both sessions"
	wait_until 5 no_loops_for "$IMG_EXT4" || fail "loop device left after both sessions"
	return 0
}

t_default_image() {
	local img=$P/share/crashcart/crashcart.img
	start_ct cc-default
	run as_op cc -m "$PID"
	expect_rc 0 "crashcart -m without -i (default image $img)"
	expect_mounted "$PID" ext4
	[ -n "$(loops_for "$img")" ] || fail "the default image does not back the mount"
	run as_op cc "$PID" $BB true
	expect_rc 0 "session with the default image"
	run as_op cc -u "$PID"
	expect_rc 0 "crashcart -u"
	wait_until 5 no_loops_for "$img" || fail "loop device left for the default image"
}

# Installed without a toolbox (no -Dtoolbox=true, no image/build): the
# default path is empty. crashcart must say what to do, in one line, and
# the refusal is audited.
t_default_image_missing() {
	local img=$P/share/crashcart/crashcart.img
	start_ct cc-noimage
	mv "$img" "$img.away" || fail "cannot move the default image aside"
	audit_mark
	run as_op cc "$PID" $BB true
	mv "$img.away" "$img"
	refusal "$PID" "$img" "missing default image"
	case $ERR in
	*"no toolbox image at $img: build one with crashcart-toolbox-build (as root) or give one with -i") ;;
	*) fail "the error does not say how to get a toolbox: $ERR" ;;
	esac
}

fs_case() { # fs_case IMG FSTYPE TOOL
	local img=$1 fs=$2
	command -v "$3" >/dev/null || skip "$3 not installed"
	[ -f "$img" ] || skip "$img was not built"
	grep -qw "$fs" /proc/filesystems || modprobe -q "$fs" 2>/dev/null ||
		skip "kernel has no $fs"
	start_ct "cc-$fs"
	run as_op cc -i "$img" -m "$PID"
	expect_rc 0 "crashcart -m ($fs)"
	expect_mounted "$PID" "$fs"
	run as_op cc -i "$img" "$PID" $BB cat /dev/crashcart/etc/crashcart-test
	expect_rc 0 "busybox from $fs"
	expect_out "crashcart integration test image"
	run as_op cc -u "$PID"
	expect_rc 0 "crashcart -u ($fs)"
	not_mounted_in "$PID" || fail "still mounted after -u"
	wait_until 5 no_loops_for "$img" || fail "loop device left for $img"
}
t_squashfs() { fs_case "$IMG_SQUASH" squashfs mksquashfs; }
t_erofs() { fs_case "$IMG_EROFS" erofs mkfs.erofs; }

t_runc() {
	local err mib
	command -v runc >/dev/null || skip "runc not installed"
	if ! PID=$(runc_start cc-runc 2>"$CC_TT/runc.err"); then
		err=$(tr '\n' ' ' < "$CC_TT/runc.err")
		skip "runc cannot start a container here: $err"
	fi
	log "# runc container cc-runc: host pid $PID"
	mib=$(mountinfo_rest "$PID")
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "crashcart -m (runc)"
	expect_mounted "$PID" ext4
	[ "$(mountinfo_rest "$PID")" = "$mib" ] || fail "the runc container's other mounts changed"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB hostname
	expect_rc 0 "busybox hostname (runc)"
	expect_out cc-runc
	run as_op cc -i "$IMG_EXT4" "$PID" $BB id -u
	expect_rc 0 "busybox id -u (runc)"
	expect_out "$(op_uid)"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'exit 7'
	expect_rc 7 "exit status (runc)"
	run as_op cc -u "$PID"
	expect_rc 0 "crashcart -u (runc)"
	not_mounted_in "$PID" || fail "still mounted after -u (runc)"
	[ -e "/proc/$PID/root/dev/crashcart" ] && fail "/dev/crashcart left after -u (runc)"
	ct_stop cc-runc
	wait_until 5 no_loops_for "$IMG_EXT4" || fail "loop device left after the runc container stopped"
}

# ------------------------------------------------------------------ audit

# audit_expect_pair RECS EVENT PID: a begin and a later end/ok for EVENT
audit_expect_pair() {
	local recs=$1 ev=$2 pid=$3 uid
	uid=$(op_uid)
	printf '%s\n' "$recs" | jq -se --arg ev "$ev" --arg pid "$pid" '
		[.[] | select(.event == $ev and ((.target.pid // "") | tostring) == $pid)] as $r
		| ($r | map(.phase) | index("begin")) as $b
		| ($r | map(.phase) | index("end")) as $e
		| $b != null and $e != null and $b < $e and $r[$e].result == "ok"' \
		>/dev/null || fail "audit: no '$ev' begin followed by end/ok for pid $pid"
	printf '%s\n' "$recs" | jq -se --arg ev "$ev" --arg pid "$pid" --argjson uid "$uid" '
		[.[] | select(.event == $ev and ((.target.pid // "") | tostring) == $pid)]
		| all(.uid == $uid and (.uid | type) == "number" and .user == "ccop"
		      and (.session | type) == "string" and .ts != null
		      and (.target | type) == "object" and (.target | has("spec")))' >/dev/null ||
		fail "audit: '$ev' records lack uid(number)=$uid/user=ccop/session(string)/ts/target.spec"
}

t_audit_records() {
	local recs
	[ -f "$AUDIT" ] || fail "no audit log at $AUDIT"
	audit_records >/dev/null || fail "the audit log has a line that is not JSON"
	start_ct cc-audit
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "crashcart -m"
	recs=$(audit_new) || fail "audit log has a line that is not JSON"
	log "  audit after -m:"; printf '%s\n' "$recs" | sed 's/^/    /'
	audit_expect_pair "$recs" mount "$PID"

	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "session"
	recs=$(audit_new) || fail "audit log has a line that is not JSON"
	log "  audit after a session:"; printf '%s\n' "$recs" | sed 's/^/    /'
	audit_expect_pair "$recs" exec "$PID"

	audit_mark
	run as_op cc -u "$PID"
	expect_rc 0 "crashcart -u"
	recs=$(audit_new) || fail "audit log has a line that is not JSON"
	log "  audit after -u:"; printf '%s\n' "$recs" | sed 's/^/    /'
	audit_expect_pair "$recs" unmount "$PID"

	# a session without -m: mount, exec and unmount all recorded
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "session without -m"
	recs=$(audit_new) || fail "audit log has a line that is not JSON"
	log "  audit after a session without -m:"; printf '%s\n' "$recs" | sed 's/^/    /'
	audit_expect_pair "$recs" mount "$PID"
	audit_expect_pair "$recs" exec "$PID"
	audit_expect_pair "$recs" unmount "$PID"
}

# ------------------------------------------------------------------ tty

pty_cmd() {
	PYTHON=$(command -v /usr/bin/python3 python3 | head -n1)
	[ -n "$PYTHON" ] || skip "no python3 for the pty helper"
}

t_tty_shell() {
	local uid gid out rc
	pty_cmd
	start_ct cc-tty
	uid=$(id -u "$OP_USER"); gid=$(id -g "$OP_USER")
	log "\$ ptyrun: as_op cc -i IMG $PID   (input: echo hi; exit 5)"
	out=$("$PYTHON" "$CC_IT_DIR/ptyrun.py" --timeout 20 --on '[crashcart ' 'echo hi; exit 5\n' -- setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$CC_BIN" -i "$IMG_EXT4" "$PID" 2>"$CC_TT/pty.err")
	rc=$?
	log "  rc=$rc $(cat "$CC_TT/pty.err")"
	printf '%s\n' "$out" | sed 's/^/  tty: /'
	[ "$rc" = 5 ] || fail "interactive default shell exited $rc, want 5"
	printf '%s\n' "$out" | tr -d '\r' | grep -qx 'hi' || fail "no 'hi' line from the shell"
	not_mounted_in "$PID" || fail "mount left after the interactive session"
}

# ^C reaches the tool, not crashcart: crashcart exits (it is not killed) with
# the tool's 128+SIGINT, and the exec end record says the tool was killed by
# SIGINT (a crashcart killed by ^C would also look like 130 to its shell).
t_tty_ctrl_c() {
	local uid gid out rc el recs
	pty_cmd
	start_ct cc-ttyc
	uid=$(id -u "$OP_USER"); gid=$(id -g "$OP_USER")
	log "\$ ptyrun: as_op cc -i IMG $PID $BB sh -c 'echo TOOL-UP; exec sleep 30'   (^C once TOOL-UP shows)"
	audit_mark
	out=$("$PYTHON" "$CC_IT_DIR/ptyrun.py" --timeout 20 --after-output TOOL-UP --intr-after 0 \
		-- setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$CC_BIN" -i "$IMG_EXT4" "$PID" \
		$BB sh -c "echo TOOL-UP; exec $BB sleep 30" 2>"$CC_TT/pty.err")
	rc=$?
	log "  rc=$rc $(tr '\n' ' ' < "$CC_TT/pty.err")"
	printf '%s\n' "$out" | sed 's/^/  tty: /'
	el=$(sed -n 's/^elapsed=//p' "$CC_TT/pty.err" | cut -d. -f1)
	grep -qx 'status=exited:130' "$CC_TT/pty.err" ||
		fail "^C: crashcart ended $(grep '^status=' "$CC_TT/pty.err"), want exited:130 (it exits with the tool's 128+SIGINT, it is not killed)"
	[ "$rc" = 130 ] || fail "^C: crashcart exited $rc, want 130"
	[ "${el:-99}" -lt 8 ] || fail "^C: crashcart took ${el}s to exit"
	recs=$(audit_new)
	printf '%s\n' "$recs" | jq -se 'map(select(.event == "exec" and .phase == "end"))
		| length == 1 and .[0].result == "ok" and .[0].exit.kind == "signaled" and .[0].exit.value == 2' >/dev/null ||
		fail "^C: the exec end record does not say the tool was killed by SIGINT: $(printf '%s\n' "$recs" | grep '"exec"' | tail -n1)"
	wait_until 5 not_mounted_in "$PID" || fail "mount left after ^C"
	wait_until 5 no_loops_for "$IMG_EXT4" || fail "loop device left after ^C"
}

# ^Z reaches the tool (here one that traps SIGTSTP and then ends) and
# crashcart survives it. (The pty's session has no job-control shell, so
# its process group is orphaned and the kernel stops nobody: with a shell,
# ^Z stops crashcart, broker and tool together and fg resumes them.)
t_tty_ctrl_z() {
	local uid gid out rc
	pty_cmd
	start_ct cc-ttyz
	uid=$(id -u "$OP_USER"); gid=$(id -g "$OP_USER")
	out=$("$PYTHON" "$CC_IT_DIR/ptyrun.py" --timeout 20 --after-output TRAP-SET --susp-after 0 \
		-- setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c \
		'trap "echo tool-got-TSTP; got=1" TSTP; echo TRAP-SET; i=0; while [ -z "$got" ] && [ $i -lt 150 ]; do /dev/crashcart/bin/busybox sleep 0.1; i=$((i+1)); done; exit 7' \
		2>"$CC_TT/pty.err")
	rc=$?
	printf '%s\n' "$out" | sed 's/^/  tty: /'
	case $out in *tool-got-TSTP*) ;; *) fail "^Z did not reach the tool: $out" ;; esac
	grep -qx 'status=exited:7' "$CC_TT/pty.err" || fail "^Z: crashcart ended $(grep '^status=' "$CC_TT/pty.err"), want exited:7 (the tool's own status)"
	[ "$rc" = 7 ] || fail "^Z: crashcart exited $rc, want 7"
	wait_until 5 not_mounted_in "$PID" || fail "mount left after ^Z"
}

# ------------------------------------------------------------------ refusals

# A caller outside the operators group cannot execute the broker, so the
# audit file gets nothing; the refusal goes to syslog authpriv (SECURITY.md),
# here a listener standing in for /dev/log, which gets the sender's uid
# from the kernel.
t_refuse_not_in_group() {
	local sl=$CC_TT/authpriv.jsonl ouid
	ouid=$(id -u "$OTHER_USER")
	start_ct cc-other
	SYSLOG_SOCK=$CC_TT/devlog.sock
	trap 'rc=$?; trap - EXIT; [ -n "${SYSLOG_PID:-}" ] && kill "$SYSLOG_PID"; ct_stop_all; broker_restore_caps; exit $rc' EXIT
	syslog_listen "$sl"
	audit_mark
	run as_other_logged "$SYSLOG_SOCK" "$CC_BIN" -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "crashcart -m as $OTHER_USER (not in $OPS_GROUP)"
	expect_one_error_line
	case $ERR in *"$BROKER"*"$OPS_GROUP"*) ;; *) fail "the error does not name the broker and the group: '$ERR'" ;; esac
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	run as_other_logged "$SYSLOG_SOCK" "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 125 "session as $OTHER_USER"
	expect_one_error_line
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	[ -z "$(audit_new)" ] || fail "audit records for a caller outside $OPS_GROUP: $(audit_new | tr '\n' ' ')"
	touch "$sl"
	wait_until 3 test "$(wc -l < "$sl")" -ge 2
	log "  authpriv: $(cat "$sl")"
	[ "$(wc -l < "$sl")" = 2 ] || fail "syslog got $(wc -l < "$sl") messages, want 2 (the two refusals)"
	jq -se --argjson uid "$ouid" --arg pid "$PID" '
		all(.[]; .uid == $uid and (.msg | test("^<84>.*crashcart\\[[0-9]+\\]: refused: uid=\($uid) action=")))
		and (.[0].msg | test("action=mount target=\($pid): "))
		and (.[1].msg | test("action=exec target=\($pid): "))' "$sl" >/dev/null ||
		fail "want two authpriv.warning (<84>) refusals from uid $ouid, mount then exec, target $PID: $(cat "$sl")"
}

t_refuse_host_process() {
	local hmi host=$$
	hmi=$(awk '{$1=""; print}' /proc/self/mountinfo | sort)
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$host"
	refusal "$host" "$IMG_EXT4" "host process"
	run as_op cc -i "$IMG_EXT4" "$host" $BB true
	expect_rc 125 "session in a host process"
	expect_one_error_line
	run as_op cc -u "$host"
	expect_rc 125 "-u of a host process"
	expect_one_error_line
	[ -e /dev/crashcart ] && ! [ -e "$CC_T/host-had-dev-crashcart" ] && fail "the host now has /dev/crashcart"
	[ "$(awk '{$1=""; print}' /proc/self/mountinfo | sort)" = "$hmi" ] || fail "the host's mounts changed"
	return 0
}

t_refuse_no_such_pid() {
	local nopid=$(( $(cat /proc/sys/kernel/pid_max) - 1 )) recs
	while [ -e "/proc/$nopid" ]; do nopid=$((nopid - 1)); done
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$nopid"
	expect_rc 125 "-m of a PID that does not exist"
	expect_one_error_line
	wait_until 3 no_loops_for "$IMG_EXT4" || fail "loop device left"
	run as_op cc -i "$IMG_EXT4" "$nopid" $BB true
	expect_rc 125 "session in a PID that does not exist"
	expect_one_error_line
	# a resolution failure still goes to the broker, which records it
	recs=$(audit_new)
	log "  audit: $(printf '%s' "$recs" | tr '\n' ' ')"
	printf '%s\n' "$recs" | jq -se --arg spec "$nopid" 'length == 2 and all(.phase == "refused"
		and .result == "refused" and .target.spec == $spec) and .[0].event == "mount" and .[1].event == "exec"' \
		>/dev/null || fail "want two refused records (mount, exec) naming the target $nopid: $recs"
}

image_refusal() { # image_refusal NAME IMG
	start_ct "$1"
	audit_mark
	run as_op cc -i "$2" -m "$PID"
	refusal "$PID" "$2"
	run as_op cc -i "$2" "$PID" $BB true
	expect_rc 125 "session with a refused image"
	expect_one_error_line
	expect_nothing_mounted "$PID" "$2"
}
t_refuse_image_world_writable() { image_refusal cc-img-ww "$IMG_WW"; }
t_refuse_image_owned_by_user() { image_refusal cc-img-user "$IMG_USER"; }
t_refuse_image_symlink() {
	image_refusal cc-img-link "$IMG_LINK"
	wait_until 3 no_loops_for "$IMG_EXT4" || fail "loop device left for the symlink's target"
}
t_refuse_image_not_a_filesystem() { image_refusal cc-img-zero "$IMG_ZERO"; }

symlink_refusal() { # symlink_refusal NAME TARGET
	local name=$1 target=$2 cmi hmi l
	start_ct "$name"
	ln -s "$target" "/proc/$PID/root/dev/crashcart" || fail "cannot plant the symlink"
	cmi=$(cat "/proc/$PID/mountinfo")
	hmi=$(awk '{$1=""; print}' /proc/self/mountinfo | sort)
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "-m with /dev/crashcart -> $target planted"
	expect_one_error_line
	[ "$(cat "/proc/$PID/mountinfo")" = "$cmi" ] ||
		fail "the container's mounts changed: $(diff <(echo "$cmi") "/proc/$PID/mountinfo")"
	[ "$(awk '{$1=""; print}' /proc/self/mountinfo | sort)" = "$hmi" ] ||
		fail "the host's mounts changed: $(diff <(echo "$hmi") <(awk '{$1=""; print}' /proc/self/mountinfo | sort))"
	l=$(readlink "/proc/$PID/root/dev/crashcart") || fail "the planted symlink is gone"
	[ "$l" = "$target" ] || fail "the planted symlink now points to $l"
	[ -e "/proc/$PID/root/tmp" ] && fail "a /tmp appeared in the container root"
	wait_until 3 no_loops_for "$IMG_EXT4" || fail "loop device left: $(loops_for "$IMG_EXT4")"
	expect_audit_refused "$PID"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 125 "session with /dev/crashcart -> $target planted"
	expect_one_error_line
	[ "$(cat "/proc/$PID/mountinfo")" = "$cmi" ] || fail "the container's mounts changed (session)"
	[ "$(readlink "/proc/$PID/root/dev/crashcart")" = "$target" ] || fail "the planted symlink changed (session)"
	wait_until 3 no_loops_for "$IMG_EXT4" || fail "loop device left (session)"
}
t_refuse_symlink_dev_crashcart_to_tmp() { symlink_refusal cc-sym-tmp /tmp; }
t_refuse_symlink_dev_crashcart_to_root() { symlink_refusal cc-sym-root /; }

# cap_refusal CAP: the broker with every capability it was installed with
# but CAP (normally the other three of the four)
cap_refusal() {
	local drop=$1 keep=() c recs n
	for c in $(installed_caps); do [ "$c" = "$drop" ] || keep+=("$c"); done
	start_ct "cc-no-$(printf '%s' "${drop#cap_}" | tr _ -)"
	broker_setcaps "${keep[@]}" || fail "setcap failed"
	log "# broker caps now: $(getcap "$BROKER")"
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "-m without $drop"
	expect_one_error_line
	printf '%s' "$ERR" | grep -qi "$drop" || fail "the error does not name the missing capability ${drop^^}"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 125 "session without $drop"
	expect_one_error_line
	printf '%s' "$ERR" | grep -qi "$drop" || fail "the error does not name the missing capability ${drop^^} (session)"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	recs=$(audit_new) || fail "audit log has a line that is not JSON"
	log "  audit: $(printf '%s' "$recs" | tr '\n' ' ')"
	n=$(printf '%s\n' "$recs" | jq -s --arg pid "$PID" '[.[] | select(((.target.pid // "") | tostring) == $pid
		and (.phase == "refused" or (.phase == "end" and .result == "error")))] | length')
	if [ "${n:-0}" -lt 1 ]; then
		if [ -z "$recs" ]; then
			soft_fail "no audit record at all for the operations refused without ${drop^^}"
		else
			soft_fail "no audit record (refused, or end with result error) naming pid $PID"
		fi
	fi
	broker_restore_caps || fail "cannot restore the broker's capabilities"
}
t_refuse_without_cap_sys_admin() { cap_refusal cap_sys_admin; }
t_refuse_without_cap_sys_ptrace() { cap_refusal cap_sys_ptrace; }
t_refuse_without_cap_sys_chroot() { cap_refusal cap_sys_chroot; }
t_refuse_without_cap_mknod() { cap_refusal cap_mknod; }

# CAP_DAC_OVERRIDE is not one of them (it once was: a broker without it
# could not create /dev/crashcart in the container's root-owned 0755 /dev).
# The installed broker lacks it and still creates the directory, through an
# idmapped clone of /dev, owned by root like the rest of /dev.
t_mount_without_cap_dac_override() {
	local own
	case $(getcap "$BROKER") in *dac_override*) fail "the broker holds CAP_DAC_OVERRIDE: $(getcap "$BROKER")" ;; esac
	start_ct cc-no-dac
	[ "$(stat -c '%u:%g %a' "/proc/$PID/root/dev")" = "0:0 755" ] ||
		fail "the container's /dev is $(stat -c '%u:%g %a' "/proc/$PID/root/dev"), want root's 0755"
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m without CAP_DAC_OVERRIDE"
	expect_mounted "$PID" ext4
	# the directory under the mount: through a bind of the container's /dev
	# alone, from inside (the image's static busybox)
	own=$(nsenter -t "$PID" -m -- $BB sh -c "$BB mkdir /.cc-peek && $BB mount --bind /dev /.cc-peek &&
		$BB stat -c '%u:%g %a' /.cc-peek/crashcart; $BB umount /.cc-peek; $BB rmdir /.cc-peek" 2>&1)
	log "  /dev/crashcart under the mount: $own"
	[ "$own" = "0:0 755" ] || fail "/dev/crashcart is '$own', want 0:0 755 (made through the idmapped clone)"
	run as_op cc -u "$PID"
	expect_rc 0 "-u without CAP_DAC_OVERRIDE"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
}

# The refusals above show the broker checks for each capability; this shows
# the kernel needs each one: the operator, given the broker's capabilities
# as ambient ones, performs each kernel step (tests/capprobe.c) with all
# four, then with each one left out, and the step that needs it must fail
# with EPERM or EACCES. A plain mkdir in the container's /dev fails with the
# four (it would need CAP_DAC_OVERRIDE); the idmapped one the broker does
# instead works.
t_kernel_needs_each_cap() {
	local probe=$B/tests/capprobe all=(sys_admin sys_ptrace sys_chroot mknod) drop c keep op
	start_ct cc-capprobe
	with_caps() { # with_caps CAPS(comma list) CMD...: as the operator, CAPS ambient
		local caps=$1; shift
		setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups \
			--inh-caps="$caps" --ambient-caps="$caps" -- "$@"
	}
	keep=$(printf '+%s,' "${all[@]}"); keep=${keep%,}
	for op in "mntns $PID" "mkdir-idmap $PID" mknod; do
		# shellcheck disable=SC2086
		out=$(with_caps "$keep" "$probe" $op) || fail "capprobe $op fails with all four capabilities: $out"
	done
	out=$(with_caps "$keep" "$probe" mkdir "$PID") &&
		fail "a plain mkdir in the container's /dev succeeded without cap_dac_override"
	case $out in *EACCES*) log "  plain mkdir with the four: $out" ;;
		*) fail "a plain mkdir with the four failed oddly: $out" ;; esac
	# which steps each capability is needed for (SECURITY.md's table)
	declare -A needs=([sys_admin]="mntns mknod mkdir-idmap" [sys_ptrace]="mntns mkdir-idmap"
		[sys_chroot]="mntns mkdir-idmap" [mknod]="mknod")
	for drop in "${all[@]}"; do
		keep=
		for c in "${all[@]}"; do [ "$c" = "$drop" ] || keep="$keep+$c,"; done
		keep=${keep%,}
		for op in ${needs[$drop]}; do
			arg=; [ "$op" = mknod ] || arg=$PID
			# shellcheck disable=SC2086
			out=$(with_caps "$keep" "$probe" $op $arg) && fail "capprobe $op succeeded without cap_$drop"
			case $out in *EPERM*|*EACCES*) log "  without cap_$drop: $op -> $out" ;;
				*) fail "capprobe $op without cap_$drop failed oddly: $out" ;; esac
		done
	done
}

# The worker is the user's: tests/broker_client.c speaks the protocol the
# way a modified worker could. BCLIENT BROKER MODE... exits 0 when the broker
# refused as it must.
BCLIENT=$B/tests/broker-client

# A process resolved (pid + start time) that dies before the broker acts.
t_pid_dies_between_resolve_and_act() {
	audit_mark
	run as_op "$BCLIENT" "$BROKER" dead
	expect_rc 0 "broker-client dead: $OUT"
	log "  broker: $OUT"
	recs=$(audit_new)
	printf '%s\n' "$recs" | jq -se 'any(.phase == "refused" and (.error | test("no process with PID")))' >/dev/null ||
		fail "no refusal record for the dead PID: $recs"
}

# The PID is alive but is not the process that was resolved (start time).
t_pid_reused_between_resolve_and_act() {
	start_ct cc-reuse
	audit_mark
	run as_op "$BCLIENT" "$BROKER" stale "$PID"
	expect_rc 0 "broker-client stale: $OUT"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	expect_audit_refused "$PID" "stale start time"
}

# The resolver's answer is a claim: a docker id that the PID's cgroup (as
# the broker reads it) does not name is refused, with both on record.
t_broker_checks_the_claim() {
	start_ct cc-claim
	audit_mark
	run as_op "$BCLIENT" "$BROKER" false-claim "$PID"
	expect_rc 0 "broker-client false-claim: $OUT"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	recs=$(audit_new)
	printf '%s\n' "$recs" | jq -se 'any(.phase == "refused" and .target.claim.runtime == "docker"
		and .target.claim_verified == false and (.target.cgroup | test("cc-claim")))' >/dev/null ||
		fail "no refusal recording the false claim and the cgroup read: $recs"
}

# The tool's ids and capabilities travel from the broker to its launcher
# in a LAUNCH message; a worker that sends one itself (the ptrace
# profile's creds for uid 0, every capability kept) has made a protocol
# violation: the broker ends, on record, and nothing runs.
t_broker_refuses_worker_launch() {
	start_ct cc-wlaunch
	audit_mark
	run as_op "$BCLIENT" "$BROKER" launch "$PID"
	expect_rc 0 "broker-client launch: $OUT"
	log "  $OUT"
	audit_new | jq -se 'any(.event == "protocol" and .phase == "refused" and (.error | test("unexpected request LAUNCH")))' >/dev/null ||
		fail "no protocol refusal on record for the worker's LAUNCH: $(audit_new)"
	ct_proc_running "$PID" '/dev/crashcart/bin/sh' && fail "a tool runs in the container"
	return 0
}

# Out-of-order requests and undecodable frames end the broker, on record.
t_broker_protocol_violations() {
	audit_mark
	run as_op "$BCLIENT" "$BROKER" out-of-order
	expect_rc 0 "out-of-order: $OUT"
	run as_op "$BCLIENT" "$BROKER" garbage
	expect_rc 0 "garbage: $OUT"
	recs=$(audit_new)
	n=$(printf '%s\n' "$recs" | jq -s '[.[] | select(.event == "protocol" and .phase == "refused")] | length')
	[ "$n" = 2 ] || fail "want 2 protocol refusal records, got $n: $recs"
}

# More test files (tests-*.sh), each appending its functions to TESTS.
for _f in "$CC_IT_DIR"/tests-*.sh; do
	[ -e "$_f" ] || continue
	# shellcheck source=/dev/null
	. "$_f"
done
unset _f
