# shellcheck shell=bash
# Rough edges a new user hit (issue 13), each as the message or behaviour
# the user now sees (sourced by tests.sh).
# shellcheck disable=SC2016  # single-quoted $$ etc. are meant for the tool's shell
# shellcheck disable=SC2034  # TESTS is read by run.sh

TESTS+=(
	t_edges_unmount_in_use_needs_force
	t_edges_noop_says_so
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
	run_bg busy as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c \
		"$BB sleep 3; $BB test -f /dev/crashcart/etc/crashcart-test"
	wait_until 10 mounted_or_ended "$PID" busy
	is_mounted_in "$PID" || { wait_bg busy; fail "the session never mounted"; }

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
	wait_bg busy
	expect_rc 0 "the session (its tools must survive a refused -u)"
	not_mounted_in "$PID" || fail "mount left after the session: $(mounted_in "$PID")"

	# --force: detached under the running session
	run_bg busy2 as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c \
		"$BB sleep 3; $BB test -f /dev/crashcart/etc/crashcart-test"
	wait_until 10 mounted_or_ended "$PID" busy2
	is_mounted_in "$PID" || { wait_bg busy2; fail "the second session never mounted"; }
	audit_mark
	run as_op cc -u --force "$PID"
	expect_rc 0 "-u --force while a session uses the image"
	not_mounted_in "$PID" || fail "still mounted after -u --force: $(mounted_in "$PID")"
	edges_last unmount begin | jq -e '.force == true' >/dev/null ||
		fail "the -u --force begin record lacks force=true: $(edges_last unmount begin)"
	edges_last unmount end | jq -e '.result == "ok" and .unmounted == true' >/dev/null ||
		fail "the -u --force end record: $(edges_last unmount end)"
	wait_bg busy2
	[ "$RC" != 0 ] || fail "the session still found its tools after -u --force"
	wait_until 5 no_loops_for "$IMG_EXT4" || fail "loop device left after -u --force and the session: $(loops_for "$IMG_EXT4")"

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
