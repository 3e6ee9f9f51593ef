# shellcheck shell=bash
# Session recordings, the reading side: `crashcart audit verify|show|replay`
# as the operator, against a synthetic recording and a log whose chain is
# valid (written by the audit-chain helper, the way the broker chains
# records: no real session writes a digest yet). Sourced by tests.sh. The
# end-to-end test with a recorded session comes with the broker's side.
# shellcheck disable=SC2034,SC2154

TESTS+=(
	t_replay_session_dir_mode
	t_replay_verify_show_replay
	t_replay_tampered_recordings
	t_replay_hostile_casts
	t_replay_timing_on_a_terminal
)

RP_ID=0123456789abcdef0123456789abcdef    # a recorded session that ended
RP_ID2=fedcba9876543210fedcba9876543210   # a recorded session without an end record
RP_ID3=00112233445566778899aabbccddeeff   # a session that was not recorded

# rp_cast FILE: the recording of session RP_ID: a prompt, a command typed,
# its exec (an argv holding ESC and a quote), its output with colour codes,
# a resize, silence of 30 s, the end marker
rp_cast() {
	cat > "$1" <<-EOF
	{"version":2,"width":80,"height":24,"timestamp":1764583200,"env":{"TERM":"xterm"},"title":"crashcart web","crashcart":{"session":"$RP_ID","target":"web","pty":true}}
	[0.1,"o","\$ "]
	[0.5,"i","ls\\r"]
	[0.6,"x",{"pid":42,"syscall":"execve","path":"/dev/crashcart/bin/ls","argv":["ls","-l","it's","\\u001b[2J"]}]
	[0.7,"o","ls\\r\\n\\u001b[1ma\\u001b[0m  b\\r\\n"]
	[0.8,"r","100x30"]
	[31.2,"x",{"pid":43,"syscall":"execveat","path":"/bin/true","argv":[]}]
	[31.3,"o","\$ "]
	[31.4,"m","session ended: terminal hang-up"]
	EOF
	chmod 644 "$1"
}

# rp_log LOG CAST: a chained log: session RP_ID (mount, exec begin and end
# with CAST's size and digest), RP_ID2 (exec begin only: the broker died),
# RP_ID3 (an exec without a recording)
rp_log() {
	local log=$1 cast=$2 bytes sha
	bytes=$(stat -c %s "$cast"); sha=$(sha256sum "$cast" | cut -d' ' -f1)
	rm -f "$log"
	"$B/tests/audit-chain" "$log" <<-EOF || fail "audit-chain failed"
	{"ts":"2026-12-01T10:00:00.000Z","session":"$RP_ID","seq":1,"event":"mount","phase":"begin","uid":1001,"user":"ccop","target":{"spec":"web","pid":42}}
	{"ts":"2026-12-01T10:00:00.090Z","duration_ms":90,"session":"$RP_ID","seq":2,"event":"mount","phase":"end","uid":1001,"user":"ccop","target":{"spec":"web","pid":42},"result":"ok"}
	{"ts":"2026-12-01T10:00:00.100Z","session":"$RP_ID","seq":3,"event":"exec","phase":"begin","uid":1001,"user":"ccop","target":{"spec":"web","pid":42},"argv":["sh"],"pty":true,"recording":{"file":"$RP_ID.cast"}}
	{"ts":"2026-12-01T10:00:31.500Z","duration_ms":31400,"session":"$RP_ID","seq":4,"event":"exec","phase":"end","uid":1001,"user":"ccop","target":{"spec":"web","pid":42},"exit":{"kind":"exited","value":0,"reported_by":"launcher"},"recording":{"file":"$RP_ID.cast","bytes":$bytes,"sha256":"$sha"},"result":"ok"}
	{"ts":"2026-12-01T10:05:00.000Z","session":"$RP_ID2","seq":2,"event":"exec","phase":"begin","uid":1001,"user":"ccop","target":{"spec":"db","pid":50},"argv":["sh"],"pty":true,"recording":{"file":"$RP_ID2.cast"}}
	{"ts":"2026-12-01T10:06:00.000Z","session":"$RP_ID3","seq":2,"event":"exec","phase":"begin","uid":1001,"user":"ccop","target":{"spec":"cache\\u001b[2J","pid":60},"argv":["true"],"pty":false}
	{"ts":"2026-12-01T10:06:00.020Z","duration_ms":20,"session":"$RP_ID3","seq":3,"event":"exec","phase":"end","uid":1001,"user":"ccop","target":{"spec":"cache\\u001b[2J","pid":60},"exit":{"kind":"signaled","value":9,"reported_by":"launcher"},"result":"ok"}
	EOF
	chmod 644 "$log"
}

# rp_setup: $RPD/sessions holds RP_ID's recording (and the partial one of
# RP_ID2), $RPD/audit.log the records; all readable by the operator
rp_setup() {
	RPD=$CC_TT/rp
	{ mkdir -p "$RPD/sessions" && chmod 755 "$RPD" "$RPD/sessions"; } || fail "cannot make $RPD"
	RPC=$RPD/sessions/$RP_ID.cast
	RPL=$RPD/audit.log
	rp_cast "$RPC"
	head -n 3 "$RPC" | sed "1s/$RP_ID/$RP_ID2/" > "$RPD/sessions/$RP_ID2.cast" &&
		chmod 644 "$RPD/sessions/$RP_ID2.cast"
	rp_log "$RPL" "$RPC"
	run as_op cc audit verify "$RPL" --sessions "$RPD/sessions"
	expect_rc 0 "verify of the synthetic log as written"
}

rp_no_control_bytes() {
	! printf '%s' "$1" | LC_ALL=C grep -q -P '[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|(^|[\x00-\x7f])[\x80-\x9f]'
}

# ------------------------------------------------------------------ tests

# The installed directory: operators create their own recordings (the
# broker runs as them), open one by name, but neither list the directory
# nor delete or rename another's; others cannot even enter it.
t_replay_session_dir_mode() {
	local st
	st=$(stat -c '%U:%G %a' "$SESSIONS")
	[ "$st" = "root:$OPS_GROUP 1730" ] || fail "$SESSIONS is $st, want root:$OPS_GROUP 1730"
	trap 'rc=$?; trap - EXIT; rm -f "$SESSIONS"/{root-owned,by-op,gone,by-other}.cast; exit $rc' EXIT
	printf 'x\n' > "$SESSIONS/root-owned.cast" && chmod 644 "$SESSIONS/root-owned.cast"
	run as_op sh -c "printf 'y\n' > '$SESSIONS/by-op.cast'"
	expect_rc 0 "an operator creates a file in the session directory"
	run as_op ls "$SESSIONS"
	expect_rc 2 "an operator lists the session directory (ls: 2, cannot open directory)"
	expect_err_denied
	run as_op cat "$SESSIONS/root-owned.cast"
	expect_rc 0 "an operator opens a recording by its name"
	run as_op rm -f "$SESSIONS/root-owned.cast"
	[ -e "$SESSIONS/root-owned.cast" ] || fail "an operator deleted a file that is not theirs (no sticky bit?)"
	run as_op mv "$SESSIONS/root-owned.cast" "$SESSIONS/gone.cast"
	[ -e "$SESSIONS/root-owned.cast" ] || fail "an operator renamed a file that is not theirs"
	run as_other cat "$SESSIONS/root-owned.cast"
	expect_rc 1 "a user outside $OPS_GROUP reads a recording (cat: 1)"
	expect_err_denied
	run as_other sh -c "printf 'z\n' > '$SESSIONS/by-other.cast'"
	expect_rc 2 "a user outside $OPS_GROUP creates a file in the session directory (sh: 2, cannot create)"
	expect_err_denied
	[ -e "$SESSIONS/by-other.cast" ] && fail "a user outside $OPS_GROUP created a file in the session directory"
	return 0
}

t_replay_verify_show_replay() {
	local n start secs
	rp_setup
	n=$(wc -l < "$RPL")

	# verify: the chain, the recording, and the session without an end
	# record as a warning that does not fail verify
	run as_op cc audit verify "$RPL" --sessions "$RPD/sessions"
	expect_rc 0 "verify"
	expect_out "session $RP_ID2: no end record (ended abnormally)
$RPL: $n records, chain intact, 1 of 1 recordings verified, 1 session without an end record (ended abnormally)"

	# show: the records as before, then one line per exec session
	run as_op cc audit show "$RPL" --sessions "$RPD/sessions"
	expect_rc 0 "show"
	rp_no_control_bytes "$OUT" || fail "show printed control bytes"
	[ "$(printf '%s\n' "$OUT" | sed '/^$/,$d' | wc -l)" = "$n" ] || fail "show printed other than $n record lines"
	printf '%s\n' "$OUT" | grep -Eq "^$RP_ID +ccop +2026-12-01T10:00:00.100Z +31.4s +exited 0 +ok +web$" ||
		fail "show: no 'ok' line for $RP_ID"
	printf '%s\n' "$OUT" | grep -Eq "^$RP_ID2 +ccop +2026-12-01T10:05:00.000Z +- +- +no end record +db$" ||
		fail "show: no 'no end record' line for $RP_ID2"
	printf '%s\n' "$OUT" | grep -Eq "^$RP_ID3 +ccop .* +0.0s +signaled 9 +none +cache\\\\x1b\[2J$" ||
		fail "show: no 'none' line for $RP_ID3 (its target escaped)"

	# replay to a file: what the container printed, raw, and at once (no
	# terminal: no delays, though the recording holds 30 s of silence)
	start=$(date +%s)
	run as_op cc audit replay "$RP_ID" --sessions "$RPD/sessions" --log "$RPL"
	secs=$(( $(date +%s) - start ))
	expect_rc 0 "replay"
	[ "$secs" -le 3 ] || fail "replay to a file took ${secs}s: it should not pause"
	printf '$ ls\r\n\033[1ma\033[0m  b\r\n$ ' > "$CC_TT/want"
	cmp "$CC_TT/out" "$CC_TT/want" || fail "replay output is $(od -c "$CC_TT/out" | head -n 5)"
	case $ERR in
	"crashcart: session $RP_ID: recording verified against end record 4 of $RPL ("*" bytes)") ;;
	*) fail "replay does not say the recording verified: $ERR" ;;
	esac
	# the same by path
	run as_op cc audit replay "$RPC" --log "$RPL"
	expect_rc 0 "replay by path"
	cmp -s "$CC_TT/out" "$CC_TT/want" || fail "replay by path differs"

	# --commands: one escaped line per exec
	run as_op cc audit replay "$RP_ID" --sessions "$RPD/sessions" --log "$RPL" --commands
	expect_rc 0 "replay --commands"
	rp_no_control_bytes "$OUT" || fail "--commands printed control bytes"
	expect_out "    0.600000       42  /dev/crashcart/bin/ls  ls -l 'it'\"'\"'s' '\\x1b[2J'
   31.200000       43  (execveat) /bin/true"

	# from the installed session directory (1730: opened by name) and with a
	# speed: still no delays when stdout is not a terminal
	trap 'rc=$?; trap - EXIT; rm -f "$SESSIONS/$RP_ID.cast"; exit $rc' EXIT
	cp "$RPC" "$SESSIONS/$RP_ID.cast" && chmod 644 "$SESSIONS/$RP_ID.cast"
	run as_op cc audit replay "$RP_ID" --log "$RPL" --speed 0.5
	expect_rc 0 "replay from the installed session directory"
	cmp -s "$CC_TT/out" "$CC_TT/want" || fail "replay from $SESSIONS differs"

	# a session without an end record: nothing vouches for its recording
	run as_op cc audit replay "$RP_ID2" --sessions "$RPD/sessions" --log "$RPL"
	expect_rc 1 "replay of a session without an end record"
	expect_one_error_line
	case $ERR in *"session $RP_ID2: not replayed: "*"no end record (ended abnormally)"*"--force"*) ;;
	*) fail "replay without an end record: $ERR" ;; esac
	run as_op cc audit replay "$RP_ID2" --sessions "$RPD/sessions" --log "$RPL" --force
	expect_rc 0 "--force replays it"
	[ "$OUT" = '$ ' ] || fail "--force replayed '$OUT'"

	# misuse: one line, 125
	for args in "replay" "replay not-a-session" "replay $RP_ID --speed -1" "verify $RPL --force" "replay $RP_ID --bogus"; do
		# shellcheck disable=SC2086
		run as_op cc audit $args
		expect_rc 125 "crashcart audit $args"
		expect_one_error_line
	done
	run as_op cc audit replay 0000000000000000000000000000beef --sessions "$RPD/sessions" --log "$RPL"
	expect_rc 125 "replay of a session with no recording"
	expect_one_error_line
}

# Each way to damage a recording: verify exits 1 naming the session and
# what is wrong, replay refuses it (1) unless --force.
t_replay_tampered_recordings() {
	local how want
	rp_setup
	cp "$RPC" "$RPD/good.cast"
	for how in edited cut extended missing; do
		cp "$RPD/good.cast" "$RPC"
		case $how in
		edited) sed -i 's/1ma\\u001b/1mA\\u001b/' "$RPC"; want="was edited: its sha256 is not the end record's" ;;
		cut) truncate -s -5 "$RPC"; want="was cut short: " ;;
		extended) printf '[40,"o","planted"]\n' >> "$RPC"; want="was extended: " ;;
		missing) rm "$RPC"; want="is missing" ;;
		esac
		[ "$how" = missing ] || ! cmp -s "$RPC" "$RPD/good.cast" || fail "$how: the recording did not change"
		run as_op cc audit verify "$RPL" --sessions "$RPD/sessions"
		expect_rc 1 "verify of a recording $how"
		printf '%s\n' "$OUT" | grep -qF "session $RP_ID: recording $RP_ID.cast $want" ||
			fail "$how: verify does not say '$want' for session $RP_ID: $OUT"
		expect_one_error_line
		case $ERR in *"chain intact, 0 of 1 recordings verified, 1 session with a damaged recording"*) ;;
		*) fail "$how: summary is '$ERR'" ;; esac
		[ "$how" = missing ] && continue
		run as_op cc audit replay "$RP_ID" --sessions "$RPD/sessions" --log "$RPL"
		expect_rc 1 "replay of a recording $how"
		[ -s "$CC_TT/out" ] && fail "$how: replay printed output although it refused"
		case $ERR in *"not replayed: the recording does not verify: "*) ;; *) fail "$how: replay says '$ERR'" ;; esac
		run as_op cc audit replay "$RP_ID" --sessions "$RPD/sessions" --log "$RPL" --force
		case $ERR in *"NOT verified: "*"replaying anyway (--force)"*) ;; *) fail "$how: --force says '$ERR'" ;; esac
		if [ "$how" = cut ]; then
			# replayed up to the cut, then the half line is an error
			expect_rc 125 "replay --force of a recording cut in a line"
			case $ERR in *"$RPC: line 9 is not JSON (it ends early)"*) ;; *) fail "cut: '$ERR'" ;; esac
			[ "$(head -c 2 "$CC_TT/out")" = '$ ' ] || fail "cut: nothing was replayed before the cut"
		else
			expect_rc 0 "replay --force of a recording $how"
		fi
		run as_op cc audit show "$RPL" --sessions "$RPD/sessions"
		printf '%s\n' "$OUT" | grep -Eq "^$RP_ID .* MODIFIED +web$" || fail "$how: show does not say MODIFIED"
	done
	run as_op cc audit show "$RPL" --sessions "$RPD/sessions"
	printf '%s\n' "$OUT" | grep -Eq "^$RP_ID .* MISSING +web$" || fail "show does not say MISSING"

	# a log whose chain is broken: replay does not trust its end record
	cp "$RPD/good.cast" "$RPC"
	sed '2s/"user":"ccop"/"user":"root"/' "$RPL" > "$RPD/broken.log" && chmod 644 "$RPD/broken.log"
	run as_op cc audit replay "$RP_ID" --sessions "$RPD/sessions" --log "$RPD/broken.log"
	expect_rc 1 "replay against a broken chain"
	case $ERR in *"chain of $RPD/broken.log is broken"*) ;; *) fail "replay with a broken chain says '$ERR'" ;; esac
}

# Recordings that are not what the broker writes: one clear line, 125,
# never a crash or a hang (--force: they do not verify either).
t_replay_hostile_casts() {
	local f big
	rp_setup
	f=$RPD/hostile.cast
	for body in 'not json' '{"version":2,"width":80,"height":24}\n[1,"o",42]' \
		'{"version":2,"width":80,"height":24}\n[1,"o","x"] [2,"o","y"]' \
		'{"version":3,"width":80,"height":24}' '{"version":2,"width":80,"height":24}\n[1,"x",{"pid":"1"}]'; do
		printf '%b\n' "$body" > "$f"; chmod 644 "$f"
		run as_op cc audit replay "$f" --log "$RPL" --force
		expect_rc 125 "replay of '$body'"
		[ "$(printf '%s\n' "$ERR" | grep -c '^crashcart: .*hostile.cast')" -ge 1 ] ||
			fail "no error naming the file for '$body': $ERR"
	done
	# one line of 64 MiB
	{ printf '{"version":2,"width":80,"height":24}\n[1,"o","'; head -c 64M /dev/zero | tr '\0' x; printf '"]\n'; } > "$f"
	run as_op cc audit replay "$f" --log "$RPL" --force
	expect_rc 125 "replay of a huge line"
	case $ERR in *"line 2 is longer than 1048576 bytes"*) ;; *) fail "huge line: $ERR" ;; esac
	# a FIFO in a recording's place does not hang verify or replay
	rm -f "$RPC" && mkfifo -m 644 "$RPC"
	run as_op cc audit verify "$RPL" --sessions "$RPD/sessions"
	expect_rc 1 "verify with a FIFO as the recording"
	printf '%s\n' "$OUT" | grep -qF "session $RP_ID: $RP_ID.cast is not a regular file" || fail "FIFO: $OUT"
	run as_op cc audit replay "$RP_ID" --sessions "$RPD/sessions" --log "$RPL" --force
	expect_rc 125 "replay of a FIFO"
}

# On a terminal, output keeps its timing: RP_ID's outputs come at 0.1, 0.7
# and 31.3 s, so pauses of 0.1 + 0.6 + 2 (30.6 s capped) = 2.7 s at speed 1,
# half of that at --speed 2, none at --speed 0.
rp_pty_replay() { # rp_pty_replay ARGS...: sets RP_SECS, output in $CC_TT/pty.out
	local py
	py=$(command -v /usr/bin/python3 python3 | head -n1)
	[ -n "$py" ] || skip "no python3 for ptyrun.py"
	"$py" "$CC_IT_DIR/ptyrun.py" --timeout 20 -- \
		setpriv --reuid="$(id -u "$OP_USER")" --regid="$(id -g "$OP_USER")" --init-groups -- \
		"$CC_BIN" audit replay "$RP_ID" --sessions "$RPD/sessions" --log "$RPL" "$@" \
		>"$CC_TT/pty.out" 2>"$CC_TT/pty.err"
	RC=$?
	RP_SECS=$(sed -n 's/^elapsed=//p' "$CC_TT/pty.err")
	log "  replay $* on a terminal: rc=$RC ${RP_SECS}s"
	[ "$RC" = 0 ] || fail "replay $* on a terminal exited $RC: $(cat "$CC_TT/pty.out")"
	grep -q 'b' "$CC_TT/pty.out" || fail "replay $* on a terminal printed no output"
}
t_replay_timing_on_a_terminal() {
	rp_setup
	rp_pty_replay
	awk -v s="$RP_SECS" 'BEGIN { exit !(s >= 2.6 && s < 6) }' || fail "speed 1 took ${RP_SECS}s, want 2.7 s"
	rp_pty_replay --speed 2
	awk -v s="$RP_SECS" 'BEGIN { exit !(s >= 1.3 && s < 2.6) }' || fail "speed 2 took ${RP_SECS}s, want 1.35 s"
	rp_pty_replay --speed 0
	awk -v s="$RP_SECS" 'BEGIN { exit !(s < 1.3) }' || fail "speed 0 took ${RP_SECS}s, want no pauses"
}
