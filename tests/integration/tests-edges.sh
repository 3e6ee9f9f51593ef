# shellcheck shell=bash
# Rough edges a new user hit (issue 13), each as the message or behaviour
# the user now sees (sourced by tests.sh).
# shellcheck disable=SC2016  # single-quoted $$ etc. are meant for the tool's shell
# shellcheck disable=SC2034  # TESTS is read by run.sh

TESTS+=(
	t_edges_unmount_in_use_needs_force
	t_edges_noop_says_so
	t_edges_help_lines
	t_edges_audit_verify_broken_is_1
	t_edges_prompt_names_operator_and_target
	t_edges_install_leaves_another_installs_log
	t_edges_bare_name_says_what_was_missing
)

# the last record of EVENT/PHASE since audit_mark
edges_last() {
	audit_new | jq -sc --arg ev "$1" --arg ph "$2" '[.[] | select(.event == $ev and .phase == $ph)] | last'
}

# -u while another session is inside: refused, on record, the session keeps
# its tools; -u --force detaches it (the session's next lookup fails).
t_edges_unmount_in_use_needs_force() {
	local rec
	start_ct cc-edg-busy
	ct_gate "$PID" cc-go
	run_bg busy as_op cc -i "$IMG_EXT4" "$PID" "$BB" sh -c \
		"echo > /cc-go.up; read _ < /cc-go; $BB test -f /dev/crashcart/etc/crashcart-test"
	ct_gate_reached "$PID" cc-go
	is_mounted_in "$PID" || { wait_bg busy; fail "the session's tool runs without its mount"; }

	audit_mark
	run as_op cc -u "$PID"
	expect_rc 125 "-u while a session uses the image"
	expect_one_error_line
	[ "$ERR" = "crashcart: /dev/crashcart is in use by another crashcart session (or a process in the container): use -u --force to detach it anyway" ] ||
		fail "-u in use says '$ERR'"
	is_mounted_in "$PID" || fail "-u without --force unmounted a session's image"
	rec=$(edges_last unmount end)
	log "  record: $rec"
	printf '%s' "$rec" | jq -e '.result != "ok" and .errno == 16 and .unmounted == false
		and (.error | contains("in use"))' >/dev/null || fail "the refused -u is not on record: $rec"
	edges_last unmount begin | jq -e '.reason == "request" and .force == false' >/dev/null ||
		fail "the -u begin record lacks force=false: $(edges_last unmount begin)"
	ct_gate_open "$PID" cc-go
	wait_bg busy
	expect_rc 0 "the session (its tools must survive a refused -u)"
	not_mounted_in "$PID" || fail "mount left after the session: $(mounted_in "$PID")"

	# --force: detached under the running session
	ct_gate "$PID" cc-go
	# (its tool running: a detach before the tool's exec would fail the
	# exec, not the later lookup)
	run_bg busy2 as_op cc -i "$IMG_EXT4" "$PID" "$BB" sh -c \
		"echo > /cc-go.up; read _ < /cc-go; $BB test -f /dev/crashcart/etc/crashcart-test"
	ct_gate_reached "$PID" cc-go
	is_mounted_in "$PID" || { wait_bg busy2; fail "the second session's tool runs without its mount"; }
	audit_mark
	run as_op cc -u --force "$PID"
	expect_rc 0 "-u --force while a session uses the image"
	not_mounted_in "$PID" || fail "still mounted after -u --force: $(mounted_in "$PID")"
	edges_last unmount begin | jq -e '.force == true' >/dev/null ||
		fail "the -u --force begin record lacks force=true: $(edges_last unmount begin)"
	edges_last unmount end | jq -e '.result == "ok" and .unmounted == true' >/dev/null ||
		fail "the -u --force end record: $(edges_last unmount end)"
	ct_gate_open "$PID" cc-go
	wait_bg busy2
	# its shell still runs (an open executable), a new lookup fails
	expect_rc 127 "the session after -u --force (command not found)"
	# the shell's lookup, not crashcart's exec of the shell
	case $ERR in
	"crashcart: "*) fail "the tool never ran (detached before its exec?): $ERR" ;;
	*"$BB: not found"*) ;;
	*) fail "the session after -u --force says '$ERR', want the shell's '$BB: not found'" ;;
	esac
	wait_until 15 no_loops_for "$IMG_EXT4" || fail "loop device left after -u --force and the session: $(loops_for "$IMG_EXT4")"

	# --force goes with -u only
	run as_op cc --force -m "$PID"
	expect_rc 125 "--force with -m"
	expect_one_error_line
	[ "$ERR" = "crashcart: --force goes with -u" ] || fail "--force with -m says '$ERR'"
	not_mounted_in "$PID" || fail "--force -m mounted"
	return 0
}

# -u with nothing mounted and -m over a mount: 0, and one line saying so
t_edges_noop_says_so() {
	start_ct cc-edg-noop
	run as_op cc -u "$PID"
	expect_rc 0 "-u with nothing mounted"
	[ "$ERR" = "crashcart: /dev/crashcart was not mounted in PID $PID: nothing to do" ] ||
		fail "-u with nothing mounted says '$ERR'"
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m"
	[ -z "$ERR" ] || fail "the first -m says '$ERR', want nothing"
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m over the mount"
	[ "$ERR" = "crashcart: /dev/crashcart was already mounted in PID $PID; it stays until -u" ] ||
		fail "-m over a mount says '$ERR'"
	expect_mounted "$PID" ext4
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	[ -z "$ERR" ] || fail "-u of a mount says '$ERR', want nothing"
	not_mounted_in "$PID" || fail "still mounted after -u"
	return 0
}

# --help: --json is an option line, and every indented line is a usage, an
# option or an audit line (or continues one): no dangling usage line
t_edges_help_lines() {
	local line bad=''
	run as_op cc --help
	expect_rc 0 "--help"
	printf '%s\n' "$OUT" | grep -Eq '^      --json +with --list' || fail "--help does not list --json as an option"
	printf '%s\n' "$OUT" | grep -Eq '^  or:  crashcart --list \[--json\]$' || fail "--help has no usage line for --list --json"
	while IFS= read -r line; do
		case $line in
		'' | 'Usage: crashcart '* | '  or:  crashcart '* | '  -'[a-zA-Z]', --'[a-z]* | '      --'[a-z]* | '  audit '*) ;;
		'                           '[!\ ]*) ;;
		' '*) bad+="[$line] " ;;
		*crashcart\ audit* | *crashcart\ -* | *crashcart\ ID*) bad+="[$line] " ;;
		esac
	done <<< "$OUT"
	[ -z "$bad" ] || fail "--help lines that are neither usage nor option lines: $bad"
	printf '%s\n' "$OUT" | grep -q 'audit verify: 0 intact, 1 chain broken' || fail "--help does not give audit verify's exit status"
	return 0
}

# audit verify: 1 for a broken chain whatever broke it (an edited record
# that became overlong gave 125), 125 only for a log it cannot read
t_edges_audit_verify_broken_is_1() {
	local n mid copy=$CC_TT/audit.edges
	start_ct cc-edg-verify
	for i in 1 2; do
		run as_op cc -i "$IMG_EXT4" "$PID" "$BB" true
		expect_rc 0 "session $i"
	done
	n=$(wc -l < "$AUDIT"); mid=$((n / 2))
	[ "$n" -ge 8 ] || fail "only $n records"
	broken() { # broken WHAT: verify of $copy exits 1 with the summary
		chmod 644 "$copy"
		run as_op cc audit verify "$copy"
		expect_rc 1 "verify of a log with $1"
		case $ERR in *"records break the chain"*) ;; *) fail "no summary on stderr for $1: $ERR" ;; esac
	}
	sed "${mid}s/\"user\":\"ccop\"/\"user\":\"root\"/" "$AUDIT" > "$copy"
	cmp -s "$copy" "$AUDIT" && fail "sed did not change record $mid"
	broken "an edited record"
	sed "${mid}d" "$AUDIT" > "$copy"
	broken "a deleted record"
	python3 -c 'import sys
m = int(sys.argv[1])
for i, l in enumerate(open(sys.argv[2]), 1):
    sys.stdout.write(l[:-2] + ",\"pad\":\"" + "x" * 1100000 + "\"}\n" if i == m else l)' "$mid" "$AUDIT" > "$copy"
	[ "$(sed -n "${mid}p" "$copy" | wc -c)" -gt 1048576 ] || fail "python3 did not make record $mid overlong"
	broken "an edited record made overlong"
	printf '%s\n' "$OUT" | grep -q "^record $mid: longer than 1048576 bytes" || fail "want 'record $mid: longer than': $OUT"
	printf '%s\n' "$OUT" | grep -q "^record $((mid + 1)): chain broken" || fail "the records after the overlong one were not checked: $OUT"
	# a log it cannot read: 125, one line
	run as_op cc audit verify "$CC_TT/no-such-log"
	expect_rc 125 "verify of a missing log"
	expect_one_error_line
	return 0
}

# The tool's environment names the operator (the container's /etc/passwd
# does not: bash's \u printed "I have no name!") and the target as typed,
# and holds the image's PATH once. What bash makes of it (.crashcartrc's
# PS1) is checked by tests/image/run.sh with the real image.
t_edges_prompt_names_operator_and_target() {
	start_ct cc-edg-prompt
	run as_op cc -i "$IMG_EXT4" "pid://$PID" "$BB" sh -c 'printf "%s\\n" "$CRASHCART_USER|$CRASHCART_TARGET|$PATH|$PS1"'
	expect_rc 0 "a session printing its environment"
	local want="$OP_USER|pid://$PID|/dev/crashcart/bin:/dev/crashcart/sbin|[crashcart $OP_USER@pid://$PID \\W]\\\$ "
	[ "$OUT" = "$want" ] || fail "the tool's environment: '$OUT', want '$want'"
	# what the target was typed as, also when it is a bare PID
	run as_op cc -i "$IMG_EXT4" "$PID" "$BB" sh -c 'echo "$CRASHCART_TARGET"'
	expect_rc 0 "a session by bare PID"
	[ "$OUT" = "$PID" ] || fail "CRASHCART_TARGET for a bare PID: '$OUT'"
	return 0
}

# A second install (another prefix, another operators group) that finds the
# shared audit log or recordings directory of a first one: refused before
# anything changes, one line saying whose they are; the first install's
# files keep their group. A log of this install's own group is kept as is.
t_edges_install_leaves_another_installs_log() {
	local d=$CC_TT/inst other=nogroup
	mkdir -p "$d/log/sessions"
	{ cp "$BUSYBOX" "$d/broker" && chmod 0755 "$d/broker"; } || fail "cannot copy $BUSYBOX"
	printf 'first install\n' > "$d/log/audit.log"
	chown "root:$other" "$d/log/audit.log" "$d/log/sessions"
	chmod 0660 "$d/log/audit.log"; chmod 1730 "$d/log/sessions"
	printf '#!/bin/sh\nexec sh "%s/tools/install-broker.sh" "%s/broker" "%s" "%s/log/audit.log" setcap "%s/policy.conf" "%s/policy/policy.conf.in" no_audit_write "%s/log/sessions"\n' \
		"$CC_SRC" "$d" "$OPS_GROUP" "$d" "$d" "$CC_SRC" "$d" > "$d/inst"
	chmod 755 "$d/inst"
	inst="$d/inst"
	run as_root "$inst"
	expect_rc 1 "an install over another install's audit log"
	expect_one_error_line
	case $ERR in
	"crashcart: $d/log/audit.log belongs to root:$other, not root:$OPS_GROUP: another crashcart install"*) ;;
	*) fail "the refusal says '$ERR'" ;;
	esac
	[ "$(stat -c %G:%a "$d/log/audit.log")" = "$other:660" ] || fail "the first install's log was changed: $(stat -c %G:%a "$d/log/audit.log")"
	{ [ "$(stat -c %G "$d/broker")" = root ] && [ -z "$(getcap "$d/broker")" ]; } || fail "the broker was changed before the refusal"
	[ ! -e "$d/policy.conf" ] || fail "a policy was installed before the refusal"
	# the log is free, the recordings directory is not: refused too
	chown "root:$OPS_GROUP" "$d/log/audit.log"
	run as_root "$inst"
	expect_rc 1 "an install over another install's recordings directory"
	case $ERR in *"$d/log/sessions belongs to root:$other"*) ;; *) fail "the refusal says '$ERR'" ;; esac
	[ "$(stat -c %G "$d/log/sessions")" = "$other" ] || fail "the first install's recordings directory was regrouped"
	# both this install's group: kept, contents and mode untouched
	chown "root:$OPS_GROUP" "$d/log/sessions"; chmod 0640 "$d/log/audit.log"
	run as_root "$inst"
	expect_rc 0 "an install over its own group's log"
	[ "$(cat "$d/log/audit.log")" = "first install" ] || fail "the existing log's contents changed"
	[ "$(stat -c %G:%a "$d/log/audit.log")" = "$OPS_GROUP:640" ] || fail "the existing log's mode was changed: $(stat -c %G:%a "$d/log/audit.log")"
	printf '%s\n' "$OUT" | grep -q "keeping the existing audit log" || fail "the install does not say it kept the log: $OUT"
	return 0
}

# A bare name nobody knows: the first message says what Docker and podman,
# which keep names to themselves, needed and lacked (it said only "searched:
# docker, podman, ..."; docker://NAME explained "no socket")
t_edges_bare_name_says_what_was_missing() {
	run as_op env DOCKER_HOST=unix:///nonexistent/docker.sock CONTAINER_HOST=unix:///nonexistent/podman.sock \
		"$CC_BIN" -i "$IMG_EXT4" no-such-web "$BB" true
	expect_rc 125 "a bare name nobody knows"
	expect_one_error_line
	case $ERR in
	"crashcart: cannot resolve 'no-such-web': no container 'no-such-web' (searched: docker, podman, "*"; Docker API: cannot use /nonexistent/docker.sock: No such file or directory; podman API: cannot use /nonexistent/podman.sock: No such file or directory; conmon: "*) ;;
	*) fail "the bare name's message: '$ERR'" ;;
	esac
	# docker:// says the same of Docker, and only of Docker
	run as_op env DOCKER_HOST=unix:///nonexistent/docker.sock "$CC_BIN" -i "$IMG_EXT4" docker://no-such-web "$BB" true
	expect_rc 125 "docker://NAME nobody knows"
	case $ERR in
	*"(searched: docker; Docker API: cannot use /nonexistent/docker.sock: No such file or directory)") ;;
	*) fail "docker://NAME's message: '$ERR'" ;;
	esac
	return 0
}
