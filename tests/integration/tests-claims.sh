# shellcheck shell=bash
# Claims of README.md and SECURITY.md that had no test of their own, each
# tested the way an operator (or the container) would meet it. Sourced by
# tests.sh.
# shellcheck disable=SC2016,SC2034,SC2086,SC2154

TESTS+=(
	t_claims_tool_filter_in_session
	t_claims_m_over_a_sessions_mount
	t_claims_existing_dev_crashcart_kept
	t_claims_policy_runtime_and_id_targets
	t_claims_audit_caller_fields
)

# The tool's seccomp filter is the tool's, in both ABIs a 64-bit x86
# process can use: creating a user namespace fails with EPERM natively and
# through int 0x80. The control: the same program, as the same user, in the
# same container, without crashcart, creates one in both ABIs.
t_claims_tool_filter_in_session() {
	local ctl
	start_ct cc-filt
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m"
	ctl=$(nsenter -t "$PID" -m -u -i -n -p -C --setuid "$(op_uid)" --setgid "$(id -g "$OP_USER")" -- \
		/dev/crashcart/bin/toolprobe userns 2>&1)
	log "  control (nsenter, no crashcart): $ctl"
	[ "$ctl" = "unshare(CLONE_NEWUSER) native=ok i386=ok" ] ||
		fail "the control could not create a user namespace ($ctl): the check below would mean nothing"
	run as_op cc -i "$IMG_EXT4" "$PID" /dev/crashcart/bin/toolprobe userns
	expect_rc 0 "toolprobe userns as the tool"
	expect_out "unshare(CLONE_NEWUSER) native=EPERM i386=EPERM"
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
}

# -m over a session's mount makes it stay (README): the session ends, the
# image stays mounted until -u.
t_claims_m_over_a_sessions_mount() {
	local recs
	start_ct cc-mover
	ct_gate "$PID" cc-go
	audit_mark
	run_bg s as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'read _ < /cc-go; exit 4'
	wait_until 10 mounted_or_ended "$PID" s
	is_mounted_in "$PID" || { wait_bg s; fail "the session never mounted"; }
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m over the session's mount"
	[ "$ERR" = "crashcart: /dev/crashcart was already mounted in PID $PID; it stays until -u" ] ||
		fail "-m over a mount says '$ERR'"
	ct_gate_open "$PID" cc-go
	wait_bg s
	expect_rc 4 "the session"
	expect_mounted "$PID" ext4
	recs=$(audit_new)
	printf '%s\n' "$recs" | jq -se 'any(.event == "unmount" and .phase == "end" and .unmounted == true)' >/dev/null &&
		fail "the session's end unmounted the image after -m: $(printf '%s\n' "$recs" | grep unmount | tr '\n' ' ')"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "a later session"
	expect_mounted "$PID" ext4
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
}

# A /dev/crashcart that was there before crashcart is kept (README: only
# one crashcart had to create is removed again), empty as it was.
t_claims_existing_dev_crashcart_kept() {
	local d
	start_ct cc-predir
	d=/proc/$PID/root/dev/crashcart
	mkdir -m 0755 "$d" || fail "cannot make $d"
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m onto the container's own /dev/crashcart"
	expect_mounted "$PID" ext4
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	not_mounted_in "$PID" || fail "still mounted after -u"
	[ -d "$d" ] || fail "-u removed the /dev/crashcart the container had"
	[ "$(stat -c '%u:%g %a' "$d")" = "0:0 755" ] || fail "/dev/crashcart is now $(stat -c '%u:%g %a' "$d")"
	[ -z "$(ls -A "$d")" ] || fail "/dev/crashcart is not empty: $(ls -A "$d")"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB test -f /dev/crashcart/etc/crashcart-test
	expect_rc 0 "a session without -m"
	not_mounted_in "$PID" || fail "still mounted after the session"
	[ -d "$d" ] || fail "the session's end removed the /dev/crashcart the container had"
	wait_until 5 no_loops_for "$IMG_EXT4" || fail "loop device left: $(loops_for "$IMG_EXT4")"
}

# Policy targets runtime:NAME and id:GLOB, end to end: a container named by
# its cgroup (runc://NAME, which the broker verifies against the cgroup),
# the same container by PID (runtime "pid"), and rules that name either.
t_claims_policy_runtime_and_id_targets() {
	pol_trap
	start_ct cc-rtid
	local spec=runc://cc-rtid
	tgt_policy() { # tgt_policy TARGET
		set_policy <<-EOF
		[by-target]
		group = $OPS_GROUP
		actions = mount, unmount
		image = $IMGDIR/*
		target = $1
		EOF
	}
	tgt_policy runtime:runc
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$spec"
	expect_rc 0 "-m $spec with target = runtime:runc"
	audit_new | jq -se --arg pid "$PID" 'last | .rule == "by-target" and .target.claim.runtime == "runc"
		and .target.claim.id == "cc-rtid" and .target.claim_verified == true and (.target.pid | tostring) == $pid' \
		>/dev/null || fail "the -m record does not show the verified runc claim: $(audit_new | tail -n1)"
	run as_op cc -u "$spec"
	expect_rc 0 "-u"
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_policy_refusal "$PID" mount "the policy does not allow mount on this target" "$IMG_EXT4"
	tgt_policy runtime:docker
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$spec"
	expect_policy_refusal "$PID" mount "the policy does not allow mount on this target" "$IMG_EXT4"

	tgt_policy 'id:cc-rt*'
	run as_op cc -i "$IMG_EXT4" -m "$spec"
	expect_rc 0 "-m $spec with target = id:cc-rt*"
	run as_op cc -u "$spec"
	expect_rc 0 "-u"
	tgt_policy 'id:other-*'
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$spec"
	expect_policy_refusal "$PID" mount "the policy does not allow mount on this target" "$IMG_EXT4"

	tgt_policy runtime:pid
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m PID with target = runtime:pid"
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$spec"
	expect_policy_refusal "$PID" mount "the policy does not allow mount on this target" "$IMG_EXT4"
}

# The caller's audit identity in every record: loginuid and audit session
# (the kernel's, set at login and kept across su/sudo), and the terminal.
t_claims_audit_caller_fields() {
	local uid sess out tty
	start_ct cc-login
	uid=$(op_uid)
	audit_mark
	# a login as ccop: root sets the loginuid (CAP_AUDIT_CONTROL), the
	# kernel starts a new audit session
	run as_root bash -c 'echo "$1" > /proc/self/loginuid && cat /proc/self/sessionid > "$2" &&
		exec setpriv --reuid="$1" --regid="$3" --init-groups -- "$4" -i "$5" -m "$6"' \
		login "$uid" "$CC_TT/sessionid" "$(id -g "$OP_USER")" "$CC_BIN" "$IMG_EXT4" "$PID"
	expect_rc 0 "-m after a login as ccop"
	sess=$(cat "$CC_TT/sessionid")
	log "  loginuid $uid, audit session $sess"
	case $sess in ''|4294967295|*[!0-9]*) fail "no audit session was started (sessionid '$sess')" ;; esac
	audit_new | jq -se --arg uid "$uid" --arg sess "$sess" 'length == 2 and all(.loginuid == $uid
		and .audit_session == $sess and .tty == "")' >/dev/null ||
		fail "the records lack loginuid=$uid audit_session=$sess tty='' (stdin /dev/null): $(audit_new | tr '\n' ' ')"
	# without a login (loginuid unset): the kernel's "unset"
	audit_mark
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	audit_new | jq -se 'all(.loginuid == "4294967295" and .audit_session == "4294967295")' >/dev/null ||
		fail "without a login the records must say the kernel's unset ids: $(audit_new | tr '\n' ' ')"
	# on a terminal: its name
	pty_cmd
	audit_mark
	out=$("$PYTHON" "$CC_IT_DIR/ptyrun.py" --timeout 20 -- setpriv --reuid="$uid" --regid="$(id -g "$OP_USER")" \
		--init-groups -- bash -c 'echo "TTY=$(tty)"; exec "$0" -i "$1" "$2" /dev/crashcart/bin/busybox true' \
		"$CC_BIN" "$IMG_EXT4" "$PID" 2>"$CC_TT/pty.err")
	tty=$(printf '%s\n' "$out" | tr -d '\r' | sed -n 's/^TTY=//p')
	log "  operator's terminal: $tty"
	case $tty in /dev/pts/[0-9]*) ;; *) fail "no terminal name from tty: '$out' $(cat "$CC_TT/pty.err")" ;; esac
	audit_new | jq -se --arg tty "$tty" 'length >= 4 and all(.tty == $tty)' >/dev/null ||
		fail "the records do not name the terminal $tty: $(audit_new | jq -c '.tty' | sort | uniq -c | tr '\n' ' ')"
}
