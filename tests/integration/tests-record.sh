# shellcheck shell=bash
# Session recording (sourced by tests.sh): every session's I/O, resizes and
# the programs it ran, written by the broker as asciicast v2 into the
# build-time session directory, its digest in the audit chain; fail closed;
# the policy's record = and max_session =.
# shellcheck disable=SC2016  # single-quoted $ are meant for the tool's shell
# shellcheck disable=SC2034  # TESTS is read by run.sh

TESTS+=(
	t_record_interactive_session
	t_record_pipe_session
	t_record_unwritable_dir_refuses
	t_record_policy_tty_and_none
	t_record_max_session
	t_record_broker_killed
	t_record_no_trace_left
	t_record_verify_and_replay
)

# rule_with LINE: the policy is one rule for the operators, with LINE added
rule_with() {
	printf '[rec]\ngroup = %s\nactions = mount, unmount, exec\nimage = %s/*\ntarget = *\n%s\n' \
		"$OPS_GROUP" "$IMGDIR" "$1" | set_policy
}

# last_exec_end: the last exec end record since audit_mark
last_exec_end() { audit_new | jq -sc '[.[] | select(.event == "exec" and .phase == "end")] | last'; }
# cast_of RECORD: the recording file an end record names
cast_of() { printf '%s' "$1" | jq -r '"'"$SESSIONS"'/" + .recording.file'; }

# expect_valid_cast FILE: asciicast v2: a header, then [t, code, data] events
expect_valid_cast() {
	python3 - "$1" <<-'EOF' || fail "$1 is not a valid asciicast v2 recording"
	import json, sys
	lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
	assert lines[-1] == "", "no newline at the end"
	head = json.loads(lines[0])
	assert head["version"] == 2 and head["width"] > 0 and head["height"] > 0, head
	last = 0.0
	for l in lines[1:-1]:
	    t, code, data = json.loads(l)
	    assert isinstance(t, float) or isinstance(t, int), l
	    assert t >= last - 1e-6, "time goes back: " + l
	    last = t
	    assert code in "oirmx", l
	    assert isinstance(data, dict) if code == "x" else isinstance(data, str), l
	EOF
}

# expect_digest_matches RECORD: the end record's size and sha256 are the file's
expect_digest_matches() {
	local f sha bytes
	f=$(cast_of "$1")
	sha=$(printf '%s' "$1" | jq -r .recording.sha256)
	bytes=$(printf '%s' "$1" | jq -r .recording.bytes)
	[ -f "$f" ] || fail "no recording $f"
	[ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$sha" ] || fail "the recording's sha256 is not the one on record"
	[ "$(stat -c %s "$f")" = "$bytes" ] || fail "the recording's size is not the one on record"
}

# An interactive session through a pty: typed commands, a script that
# starts other programs, a resize, ^C. The recording replays what was
# shown and typed, lists every program started (from the script too), and
# its digest is on record.
t_record_interactive_session() {
	local rec f
	start_ct cc-rec
	audit_mark
	ptyrun_op --timeout 25 --size 30,100 \
		--send '1:echo RECORDED-$((6*7))\n' \
		--send "2:$BB sh -c '$BB ls / >/dev/null; $BB sh -c \"$BB true\"'\n" \
		--resize-after 3 --resize 40,120 \
		--send "4:$BB sleep 30\n" --send '5:\x03' --send '6:exit 3\n' \
		-- "$CC_BIN" -i "$IMG_EXT4" "$PID"
	[ "$RC" = 3 ] || fail "the shell exited $RC, want 3"
	rec=$(last_exec_end)
	log "  end record: $rec"
	printf '%s' "$rec" | jq -e '.recording.sha256 | test("^[0-9a-f]{64}$")' >/dev/null || fail "no recording digest in the end record"
	f=$(cast_of "$rec")
	[ "$(stat -c '%U %a' "$f")" = "$OP_USER 640" ] || fail "the recording is $(stat -c '%U %a' "$f")"
	expect_valid_cast "$f"
	expect_digest_matches "$rec"
	# asciinema itself plays it (on a terminal: it wants /dev/tty)
	command -v asciinema >/dev/null || fail "asciinema is not installed (tests/integration/install-runtimes)"
	"$PYTHON" "$CC_IT_DIR/ptyrun.py" --timeout 20 -- asciinema play -s 100 "$f" 2>"$CC_TT/asciinema.err" |
		tr -d '\r' | grep -q '^RECORDED-42$' ||
		fail "asciinema play does not replay the session's output: $(cat "$CC_TT/asciinema.err")"
	python3 - "$f" "$BB" <<-'EOF' || fail "the recording does not hold the session (see above)"
	import json, sys
	lines = open(sys.argv[1]).read().splitlines()
	bb = sys.argv[2]
	ev = [json.loads(l) for l in lines[1:]]
	out = "".join(d for _, c, d in ev if c == "o")
	inp = "".join(d for _, c, d in ev if c == "i")
	execs = [d["argv"] for _, c, d in ev if c == "x"]
	print("execs:", execs)
	assert "RECORDED-42" in out, "output"
	assert "echo RECORDED-$((6*7))" in inp, "input"
	assert "\x03" in inp, "^C as input"
	assert any(c == "r" and d == "120x40" for _, c, d in ev), "resize"
	assert [bb, "ls", "/"] in execs, "ls started by the script"
	assert [bb, "true"] in execs, "true started by the script's own sh"
	assert [bb, "sleep", "30"] in execs, "sleep"
	assert execs[0] == ["/dev/crashcart/bin/sh"], "the shell itself first: %r" % execs[0]
	EOF
	printf '%s' "$rec" | jq -e '.recording.execs >= 5' >/dev/null || fail "the end record counts too few execs"
}

# Without a terminal: stdout and stderr are recorded too (record = all).
t_record_pipe_session() {
	local rec f
	start_ct cc-recpipe
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'echo to-out; echo to-err >&2'
	expect_rc 0
	rec=$(last_exec_end)
	f=$(cast_of "$rec")
	expect_valid_cast "$f"
	expect_digest_matches "$rec"
	grep -q 'to-out' "$f" && grep -q 'to-err' "$f" || fail "the pipe session's output is not in the recording"
	head -n1 "$f" | jq -e '.crashcart.pty == false' >/dev/null || fail "the header does not say pty false"
}

# Fail closed: the session directory cannot take the recording: the
# session is refused, on record, and nothing is mounted.
t_record_unwritable_dir_refuses() {
	start_ct cc-recdir
	chmod 1710 "$SESSIONS"
	trap 'chmod 1730 "$SESSIONS"; ct_stop_all; broker_restore_caps' EXIT
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	chmod 1730 "$SESSIONS"
	refusal "$PID" "$IMG_EXT4" "unwritable session directory"
	case $ERR in *"recorded"*"cannot be created"*) ;; *) fail "the error does not say the recording cannot be made: $ERR" ;; esac
	# a mount alone (-m) is no session: not recorded, not refused
	chmod 1710 "$SESSIONS"
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	chmod 1730 "$SESSIONS"
	expect_rc 0 "-m with an unwritable session directory"
	run as_op cc -u "$PID"
}

# record = tty: only sessions with a terminal; record = none: none.
t_record_policy_tty_and_none() {
	local n0 n1
	pol_trap
	start_ct cc-recpol
	rule_with "record = tty"
	n0=$(find "$SESSIONS" -name '*.cast' | wc -l)
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0
	n1=$(find "$SESSIONS" -name '*.cast' | wc -l)
	[ "$n1" = "$n0" ] || fail "record = tty recorded a session without a terminal"
	ptyrun_op --timeout 20 -- "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c 'echo TTY-SESSION'
	n1=$(find "$SESSIONS" -name '*.cast' | wc -l)
	[ "$n1" = $((n0 + 1)) ] || fail "record = tty did not record a terminal session"
	rule_with "record = none"
	ptyrun_op --timeout 20 -- "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c 'echo TTY-SESSION'
	[ "$(find "$SESSIONS" -name '*.cast' | wc -l)" = $((n0 + 1)) ] || fail "record = none recorded"
	run as_op cc --check-policy
	printf '%s\n' "$OUT" | grep -q 'record: none' || fail "--check-policy does not show record = none"
}

# max_session: the session ends at the limit, on record and in the recording.
t_record_max_session() {
	local rec f
	pol_trap
	start_ct cc-recmax
	rule_with "max_session = 2s"
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sleep 30
	expect_rc 137 "a session past its max_session (the tool killed)"
	case $ERR in *"max_session"*) ;; *) fail "the operator was not told why: $ERR" ;; esac
	rec=$(last_exec_end)
	printf '%s' "$rec" | jq -e '.ended_by == "time limit"' >/dev/null || fail "the end record does not say time limit: $rec"
	f=$(cast_of "$rec")
	grep -q '"m", "session ended: time limit"' "$f" || fail "no marker in the recording"
	wait_until 5 ct_proc_gone "$PID" 'sleep 30' || fail "the tool outlived its time limit"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
}

# The broker killed mid-session: the recording up to that point is intact
# (whole lines, valid JSON), and the chain has the begin record without an
# end.
t_record_broker_killed() {
	local worker broker f sess
	start_ct cc-reckill
	audit_mark
	as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c 'echo BEFORE-KILL; exec /dev/crashcart/bin/busybox sleep 30' \
		</dev/null >"$CC_TT/k.out" 2>"$CC_TT/k.err" &
	local bg=$!
	wait_until 15 ct_proc_running "$PID" 'busybox sleep 30' || fail "the tool did not start"
	worker=$(pgrep -u "$(op_uid)" -f "^$CC_BIN -i" | head -n1)
	broker=$(pgrep -P "$worker" -x crashcart-broke | head -n1)
	as_op kill -KILL "$broker"
	wait "$bg"
	sess=$(audit_new | jq -sr '[.[] | select(.event == "exec" and .phase == "begin")] | last | .session')
	f=$SESSIONS/$sess.cast
	[ -f "$f" ] || fail "no recording $f"
	expect_valid_cast "$f"
	grep -q BEFORE-KILL "$f" || fail "the output before the kill is not in the recording"
	audit_new | jq -se --arg s "$sess" 'any(.[]; .session == $s and .event == "exec" and .phase == "end") | not' >/dev/null ||
		fail "an end record for a session whose broker was killed"
	run as_op cc audit verify "$AUDIT" --sessions "$SESSIONS"
	printf '%s\n%s\n' "$OUT" "$ERR" | grep -q "session $sess: no end record (ended abnormally)" ||
		fail "audit verify does not say the session ended abnormally"
}

# "We left nothing behind", on record: the last unmount's end record
# compares the container's mounts and /dev with what they were before the
# first mount; what changed meanwhile is listed.
t_record_no_trace_left() {
	local rec
	start_ct cc-trace
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0
	rec=$(audit_new | jq -sc '[.[] | select(.event == "unmount" and .phase == "end")] | last')
	log "  unmount end: $(printf '%s' "$rec" | jq -c .trace)"
	printf '%s' "$rec" | jq -e '.trace.identical == true and (.trace.before_sha256 | test("^[0-9a-f]{64}$"))' >/dev/null ||
		fail "no trace record saying the container is as it was: $rec"
	# the container changes its /dev during a session: the record says so
	audit_mark
	# (the tool held at a gate: the change comes while it runs, not after
	# a session of a fixed length that load can outlast)
	ct_gate "$PID" cc-go
	as_op "$CC_BIN" -i "$IMG_EXT4" "$PID" $BB sh -c 'echo > /cc-go.up; read _ < /cc-go' </dev/null >/dev/null 2>&1 &
	local bg=$!
	ct_gate_reached "$PID" cc-go
	is_mounted_in "$PID" || fail "the session's tool runs without its mount"
	touch "/proc/$PID/root/dev/planted-by-the-container"
	ct_gate_open "$PID" cc-go
	wait "$bg"
	rec=$(audit_new | jq -sc '[.[] | select(.event == "unmount" and .phase == "end")] | last')
	log "  unmount end: $(printf '%s' "$rec" | jq -c .trace)"
	printf '%s' "$rec" | jq -e '.trace.identical == false and any(.trace.diff[]; startswith("+ dev planted-by-the-container "))' >/dev/null ||
		fail "the trace record does not show what changed: $rec"
}

# A real recorded session, end to end through the reading side: verify
# holds, replay shows what was shown, --commands lists what ran; one edited
# byte, a cut, a deleted recording each make verify fail and name the
# session.
t_record_verify_and_replay() {
	local rec f sess copy
	start_ct cc-recver
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c "echo SHOWN-IN-REPLAY; $BB true"
	expect_rc 0
	rec=$(last_exec_end)
	sess=$(printf '%s' "$rec" | jq -r .session)
	f=$(cast_of "$rec")
	copy=$CC_TT/orig.cast
	cp "$f" "$copy"
	run as_op cc audit verify "$AUDIT" --sessions "$SESSIONS"
	expect_rc 0 "verify with an intact recording"
	run as_op cc audit replay "$sess" --sessions "$SESSIONS" --log "$AUDIT" --speed 0
	expect_rc 0 "replay"
	printf '%s\n' "$OUT" | grep -q SHOWN-IN-REPLAY || fail "replay does not show the session's output"
	run as_op cc audit replay "$sess" --sessions "$SESSIONS" --log "$AUDIT" --commands
	expect_rc 0 "replay --commands"
	printf '%s\n' "$OUT" | grep -q "$BB true" || fail "--commands does not list the exec of true"
	# the operator owns the file and edits one byte
	as_op sh -c 'printf X | dd of="$0" bs=1 seek=100 conv=notrunc 2>/dev/null' "$f"
	run as_op cc audit verify "$AUDIT" --sessions "$SESSIONS"
	[ "$RC" = 1 ] || fail "verify passed an edited recording (rc $RC)"
	printf '%s\n%s\n' "$OUT" "$ERR" | grep -q "$sess" || fail "verify does not name the session"
	run as_op cc audit replay "$sess" --sessions "$SESSIONS" --log "$AUDIT" --speed 0
	[ "$RC" = 1 ] || fail "replay played an edited recording without --force (rc $RC)"
	cat "$copy" > "$f"
	as_op truncate -s -10 "$f"
	run as_op cc audit verify "$AUDIT" --sessions "$SESSIONS"
	[ "$RC" = 1 ] || fail "verify passed a cut recording"
	cat "$copy" > "$f"
	as_op rm -f "$f"
	run as_op cc audit verify "$AUDIT" --sessions "$SESSIONS"
	[ "$RC" = 1 ] || fail "verify passed a deleted recording"
	cp "$copy" "$f" && chown "$OP_USER:$OP_USER" "$f" && chmod 640 "$f"
	run as_op cc audit verify "$AUDIT" --sessions "$SESSIONS"
	expect_rc 0 "verify once restored"
}
