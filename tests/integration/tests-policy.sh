# shellcheck shell=bash
# Policy and audit, end to end: the real operator against real
# microcontainers, the installed broker, the real audit log (and, with a
# second install, real syslog/journald/auditd receivers). Sourced by
# tests.sh; every test puts back what it changes (the suite shares one
# install): the policy, modes of the policy's directories and of the log.
# shellcheck disable=SC2016,SC2034,SC2086,SC2154

TESTS+=(
	t_audit_every_action_recorded
	t_policy_forbids_each_action
	t_policy_first_match_and_pins
	t_policy_writable_refused
	t_audit_unwritable_sink_refuses
	t_audit_tamper_fails_verify
	t_audit_concurrent_chain
	t_audit_two_syncs
	t_audit_recording_durable
	t_audit_long_record_chains
	t_policy_ptrace_profile
	t_audit_syslog_journald_sinks
	t_audit_auditd_sink
)

POLICY=$P/etc/crashcart/policy.conf

# pol_restore: the suite's policy, modes and owners as installed; the main
# EXIT trap of runone.sh is replaced by one that calls this first.
pol_restore() {
	chown root:root "$P/etc" "$P/etc/crashcart" 2>/dev/null
	chmod 755 "$P/etc" "$P/etc/crashcart" 2>/dev/null
	rm -f "$POLICY"
	write_test_policy "$P"
	[ -f "$AUDIT" ] && chown "root:$OPS_GROUP" "$AUDIT" && chmod 0660 "$AUDIT"
}
pol_trap() {
	trap 'rc=$?; trap - EXIT; pol_restore; pol_extra_cleanup; ct_stop_all; broker_restore_caps; exit $rc' EXIT
}
pol_extra_cleanup() { :; }

# set_policy [audit-section-lines...] < rules: the installed policy (root 0644)
set_policy() {
	{ cat; printf '[audit]\n'; printf '%s\n' "${@:-sink = file}"; } > "$POLICY.new"
	chmod 0644 "$POLICY.new" && mv -f "$POLICY.new" "$POLICY"
	log "  policy now: $(tr '\n' '|' < "$POLICY")"
}

# last_refusal EVENT: the last refused record for EVENT since audit_mark
last_refusal() {
	audit_new | jq -sc --arg ev "$1" '[.[] | select(.event == $ev and .phase == "refused")] | last'
}

# expect_policy_refusal PID EVENT REASON IMG: the operation was refused by
# the policy: 125, one error line with the reason, nothing left, and a
# refused record that says who, what, where and why.
expect_policy_refusal() {
	local pid=$1 ev=$2 reason=$3 img=$4 rec
	expect_rc 125 "$ev refused by the policy"
	expect_one_error_line
	case $ERR in *"not allowed: $reason (policy $POLICY)"*) ;; *) fail "error is '$ERR', want the reason '$reason' and the policy path" ;; esac
	[ -n "$img" ] && expect_nothing_mounted "$pid" "$img"
	rec=$(last_refusal "$ev")
	log "  refused record: $rec"
	[ "$rec" != null ] || fail "no refused '$ev' record"
	printf '%s' "$rec" | jq -e --arg pid "$pid" --argjson uid "$(op_uid)" --arg reason "$reason" --arg img "$img" '
		.result == "refused" and .errno == 1 and .uid == $uid and .user == "ccop"
		and (.target.pid | tostring) == $pid and .target.claim_verified == true
		and (.error | contains($reason)) and (($img == "") or .image == $img)
		and (has("rule") | not)' >/dev/null || fail "the refused '$ev' record lacks its content: $rec"
}

# ------------------------------------------------------------------ records

t_audit_every_action_recorded() {
	local recs uid sha sess n cg ops_gid
	uid=$(op_uid); ops_gid=$(getent group "$OPS_GROUP" | cut -d: -f3)
	sha=$(sha256sum "$IMG_EXT4" | cut -d' ' -f1)
	start_ct cc-aud-all

	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m"
	recs=$(audit_new) || fail "a record that is not JSON"
	log "$recs"
	[ "$(printf '%s\n' "$recs" | wc -l)" = 2 ] || fail "-m wrote $(printf '%s\n' "$recs" | wc -l) records, want 2 (begin, end)"
	printf '%s\n' "$recs" | jq -se --arg pid "$PID" --argjson uid "$uid" --argjson g "$ops_gid" --arg sha "$sha" \
		--arg img "$IMG_EXT4" --arg cg "/$CG_PARENT/cc-aud-all" '
		.[0] as $b | .[1] as $e |
		$b.event == "mount" and $b.phase == "begin" and ($b | has("result") | not) and $b.persistent == true
		and $e.event == "mount" and $e.phase == "end" and $e.result == "ok"
		and $b.session == $e.session and ($b.session | length) == 32 and $e.seq == $b.seq + 1
		and all(.[]; .uid == $uid and .user == "ccop" and (.groups | index($g)) != null
			and (.target.pid | tostring) == $pid and .target.spec == $pid and .target.claim_verified == true
			and (.target.start_time | type) == "number" and (.target.ns.mnt | type) == "number"
			and (.target.ns.pid | type) == "number" and (.target.cgroup | contains($cg))
			and .image == $img and .image_sha256 == $sha and .rule == "it-operators"
			and (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")))
		and ($e.source | startswith("/dev/loop")) and $e.fstype == "ext4" and $e.already_mounted == false
		and ($e.duration_ms | type) == "number"' >/dev/null || fail "the -m records lack their content"

	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c 'exit 3'
	expect_rc 3 "session"
	recs=$(audit_new) || fail "a record that is not JSON"
	log "$recs"
	printf '%s\n' "$recs" | jq -se --arg bb "$BB" '
		map(.event + "/" + .phase) == ["mount/begin", "mount/end", "exec/begin", "exec/end"]
		and (map(.session) | unique | length) == 1 and (map(.seq) == [1, 2, 3, 4])
		and .[1].already_mounted == true and .[1].persistent == true
		and .[2].argv == [$bb, "sh", "-c", "exit 3"] and .[2].profile == "restricted"
		and .[3].result == "ok" and .[3].exit == {kind: "exited", value: 3, reported_by: "launcher"}' >/dev/null ||
		fail "a session on a mounted image: want mount begin/end (already mounted), exec begin (argv, profile), exec end (exit 3)"

	audit_mark
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	recs=$(audit_new)
	log "$recs"
	printf '%s\n' "$recs" | jq -se --arg pid "$PID" '
		map(.event + "/" + .phase) == ["unmount/begin", "unmount/end"]
		and .[0].reason == "request" and .[1].result == "ok" and .[1].unmounted == true
		and all(.[]; (.target.pid | tostring) == $pid and (has("image") | not) and .rule == "it-operators")' \
		>/dev/null || fail "the -u records lack their content"

	# a session without -m: mount (not persistent), exec, unmount at the end
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "session without -m"
	recs=$(audit_new)
	log "$recs"
	printf '%s\n' "$recs" | jq -se '
		map(.event + "/" + .phase) == ["mount/begin", "mount/end", "exec/begin", "exec/end", "unmount/begin", "unmount/end"]
		and .[0].persistent == false and .[1].already_mounted == false
		and .[4].reason == "session end" and .[5].unmounted == true and .[5].result == "ok"
		and (map(.session) | unique | length) == 1' >/dev/null ||
		fail "a session without -m: want mount, exec and unmount (session end), begin and end each"

	# a failing operation: an end record with result error
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" /dev/crashcart/nope
	expect_rc 127 "nonexistent tool"
	recs=$(audit_new)
	printf '%s\n' "$recs" | jq -se 'map(select(.event == "exec" and .phase == "end"))[0].exit.kind == "exec-failed"' \
		>/dev/null || fail "the exec end record of a missing tool does not say exec-failed"

	run as_op cc audit verify "$AUDIT"
	expect_rc 0 "crashcart audit verify on the real log"
	n=$(wc -l < "$AUDIT")
	# (the summary is the last line: a session of another test that has no
	# end record is a warning line before it)
	case "$(printf '%s\n' "$OUT" | tail -n 1)" in
	"$AUDIT: $n records, chain intact"|"$AUDIT: $n records, chain intact, "*" recordings verified") ;;
	*) fail "verify says: $OUT" ;;
	esac
	run as_op cc audit show "$AUDIT"
	expect_rc 0 "audit show"
	# the records, then (after an empty line) the exec sessions
	OUT=$(printf '%s\n' "$OUT" | sed '/^$/,$d')
	[ "$(printf '%s\n' "$OUT" | wc -l)" = "$n" ] || fail "audit show printed $(printf '%s\n' "$OUT" | wc -l) lines for $n records"
	printf '%s\n' "$OUT" | tail -n 6 | grep -Eq "^ *$((n - 2)) +[0-9T:.-]+Z +[0-9a-f]{8} +exec +end +ok +user ccop \(uid $uid\) target $PID \(pid $PID\) image $IMG_EXT4$" ||
		fail "audit show: no 'exec end ok' line for record $((n - 2)): $(printf '%s\n' "$OUT" | tail -n 3)"
}

# ------------------------------------------------------------------ policy

t_policy_forbids_each_action() {
	pol_trap
	start_ct cc-pol-each

	# unmount only: -m and a session are refused
	set_policy <<-EOF
	[unmount-only]
	group = $OPS_GROUP
	actions = unmount
	target = *
	EOF
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_policy_refusal "$PID" mount "the policy does not allow ccop to mount" "$IMG_EXT4"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_policy_refusal "$PID" mount "the policy does not allow ccop to exec" "$IMG_EXT4"

	# mount but not exec: -m works, a session is refused, -u is refused
	set_policy <<-EOF
	[mount-only]
	group = $OPS_GROUP
	actions = mount
	image = $IMGDIR/*
	target = *
	EOF
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m with mount allowed"
	expect_mounted "$PID" ext4
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 125 "exec with only mount allowed"
	case $ERR in *"does not allow ccop to exec"*) ;; *) fail "exec refusal: '$ERR'" ;; esac
	expect_mounted "$PID" ext4 # the -m mount stays
	run as_op cc -u "$PID"
	expect_policy_refusal "$PID" unmount "the policy does not allow ccop to unmount" ""
	expect_mounted "$PID" ext4
	set_policy <<-EOF
	[exec-only]
	group = $OPS_GROUP
	actions = exec, unmount
	image = $IMGDIR/*
	target = *
	EOF
	run as_op cc -u "$PID"
	expect_rc 0 "-u once unmount is allowed"
	expect_nothing_mounted "$PID" "$IMG_EXT4"

	# image and target outside the rule
	set_policy <<-EOF
	[ext4-here-only]
	group = $OPS_GROUP
	actions = mount, exec, unmount
	image = $IMG_EXT4
	target = cgroup:/$CG_PARENT/cc-pol-each
	EOF
	# an image the rule does not name, otherwise fine (root's, 0644: the
	# same bytes as the named one), so that only the policy can refuse it
	local unnamed=$CC_TT/unnamed.ext4
	install -m 0644 -o root -g root "$IMG_EXT4" "$unnamed" || fail "cannot copy the image"
	audit_mark
	run as_op cc -i "$unnamed" -m "$PID"
	expect_policy_refusal "$PID" mount "the policy does not allow image $unnamed" "$unnamed"
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m of the named image in the named cgroup"
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	local other
	other=$(ct_start cc-pol-other) || fail "cannot start a second container"
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$other"
	expect_policy_refusal "$other" mount "the policy does not allow mount on this target" "$IMG_EXT4"

	# a rule for another group: ccop is not named at all
	set_policy <<-EOF
	[others]
	group = $OTHER_USER
	user = root
	actions = mount, exec, unmount
	image = $IMGDIR/*
	target = *
	EOF
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_policy_refusal "$PID" mount "no policy rule names user ccop or one of its groups" "$IMG_EXT4"
	# ... and the same rule by user name
	set_policy <<-EOF
	[by-name]
	user = $OP_USER
	actions = mount, unmount
	image = $IMGDIR/*
	target = *
	EOF
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m allowed by user name"
	audit_new | jq -se 'last.rule == "by-name"' >/dev/null || fail "the record does not name rule by-name"
	run as_op cc -u "$PID"
	expect_rc 0 "-u allowed by user name"
	# an empty policy denies everything
	set_policy < /dev/null
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_policy_refusal "$PID" mount "no policy rule names user ccop or one of its groups" "$IMG_EXT4"
	run as_op cc audit verify "$AUDIT"
	expect_rc 0 "audit verify"
}

t_policy_first_match_and_pins() {
	local sha
	pol_trap
	sha=$(sha256sum "$IMG_EXT4" | cut -d' ' -f1)
	start_ct cc-pol-pin
	# the first matching rule decides: its name is on record
	set_policy <<-EOF
	[pinned-wrong]
	group = $OPS_GROUP
	actions = mount, unmount
	image = $IMG_EXT4 sha256=$(printf '%064d' 0)
	target = *
	[pinned-right]
	group = $OPS_GROUP
	actions = mount, unmount
	image = $IMG_EXT4 sha256=$sha
	target = *
	[any]
	group = $OPS_GROUP
	actions = mount, unmount
	image = $IMGDIR/*
	target = *
	EOF
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m of a pinned image"
	audit_new | jq -se --arg sha "$sha" 'last | .rule == "pinned-right" and .image_sha256 == $sha' >/dev/null ||
		fail "want rule pinned-right (first match, digest $sha): $(audit_new | tail -n1)"
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	# unmount involves no image: the first rule that allows it decides, pin or not
	audit_new | jq -se 'last.rule == "pinned-wrong"' >/dev/null || fail "-u: want the first rule that allows unmount (pinned-wrong)"
	# a wrong pin only: refused
	set_policy <<-EOF
	[pinned-wrong]
	group = $OPS_GROUP
	actions = mount, unmount
	image = $IMG_EXT4 sha256=$(printf '%064d' 0)
	target = *
	EOF
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_policy_refusal "$PID" mount "the policy does not allow image $IMG_EXT4" "$IMG_EXT4"
	last_refusal mount | jq -e --arg sha "$sha" '.image_sha256 == $sha' >/dev/null ||
		fail "the refusal does not record the image's actual digest"
	# --check-policy as the operator describes the installed policy
	run as_op cc --check-policy
	expect_rc 0 "--check-policy"
	expect_out_match "^$POLICY: valid$"
	expect_out_match "image:  $IMG_EXT4 sha256=0{64}"
}

t_policy_writable_refused() {
	local d
	pol_trap
	start_ct cc-pol-mode
	d=$P/etc/crashcart
	for change in "chmod g+w $POLICY" "chmod o+w $POLICY" "chown $OP_USER $POLICY" "chmod o+w $d" "chmod g+w $P/etc" "chown $OP_USER $d"; do
		pol_restore
		$change
		log "# $change: $(stat -c '%U:%G %a %n' "$POLICY" "$d" "$P/etc" | tr '\n' ' ')"
		audit_mark
		run as_op cc -i "$IMG_EXT4" -m "$PID"
		expect_rc 125 "-m after '$change'"
		expect_one_error_line
		case $ERR in
		*"policy $POLICY is "*": refusing"* | *"policy $d is "*": refusing"* | *"policy $P/etc is "*": refusing"*) ;;
		*) fail "after '$change' the error does not name the policy: '$ERR'" ;;
		esac
		expect_nothing_mounted "$PID" "$IMG_EXT4"
		run as_op cc -i "$IMG_EXT4" "$PID" $BB true
		expect_rc 125 "session after '$change'"
		expect_nothing_mounted "$PID" "$IMG_EXT4"
		# the refusal is on record in the build-time file
		audit_new | jq -se --arg err "${ERR#crashcart: }" 'length >= 2 and all(.phase == "refused" and .result == "refused"
			and .error == $err and (has("rule") | not))' >/dev/null ||
			fail "no refused record with the policy error after '$change': $(audit_new)"
		run as_op cc --check-policy
		expect_rc 125 "--check-policy after '$change'"
	done
	pol_restore
	# a symlink in place of the policy
	cp "$POLICY" "$d/real.conf"
	ln -sf real.conf "$POLICY"
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "policy is a symlink"
	case $ERR in *"policy $POLICY is a symlink: refusing"*) ;; *) fail "symlink: '$ERR'" ;; esac
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	rm -f "$d/real.conf"
	# an invalid policy refuses everything, with the line
	pol_restore
	printf '[r]\ngroup = %s\nactions = mount\ntarget = *\nimage = %s/*\ncolour = red\n' "$OPS_GROUP" "$IMGDIR" > "$POLICY"
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "invalid policy"
	case $ERR in *"$POLICY:6: unknown key 'colour' in [r]"*) ;; *) fail "invalid policy: '$ERR'" ;; esac
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	pol_restore
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m once the policy is back"
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
}

# ------------------------------------------------------------------ sinks

# A session's six records reach the disk in two fsyncs, not six: the
# first before the tool runs (it covers mount begin/end and exec begin), the
# second with the last record; every record is written before what it
# announces; the last record is found with a small tail read (no 256 KiB
# pread per record). Watched from outside with strace (-y names the fds).
t_audit_two_syncs() {
	local st=$CC_T/two-syncs.strace n tool sync1 last big
	command -v strace >/dev/null || skip "strace not installed (tools/install-deps)"
	start_ct cc-aud-sync
	audit_mark
	run as_root strace -f -y -qq -e trace=fsync,fdatasync,write,pread64,execve,umount2,move_mount -o "$st" \
		setpriv --reuid="$(op_uid)" --regid="$(id -g "$OP_USER")" --init-groups -- \
		"$CC_BIN" -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "a session under strace"
	[ "$(audit_new | jq -r '.event + "/" + .phase' | tr '\n' ' ')" = "mount/begin mount/end exec/begin exec/end unmount/begin unmount/end " ] ||
		fail "want the six records of a session: $(audit_new | jq -r '.event + "/" + .phase' | tr '\n' ' ')"
	n=$(grep -c "sync([0-9]*<$AUDIT>" "$st")
	[ "$n" = 2 ] || fail "the session fsynced the audit log $n times, want 2"
	# order: exec begin written, then synced, then the tool; the last
	# record written before the second sync; the mount after its record
	tool=$(grep -n "execve(\"$BB\"" "$st" | head -n1 | cut -d: -f1)
	sync1=$(grep -n "sync([0-9]*<$AUDIT>" "$st" | head -n1 | cut -d: -f1)
	last=$(grep -n "sync([0-9]*<$AUDIT>" "$st" | tail -n1 | cut -d: -f1)
	if [ -z "$tool" ] || [ -z "$sync1" ] || [ "$sync1" -ge "$tool" ]; then
		fail "the tool ran before its records were synced"
	fi
	[ "$(grep -c "write([0-9]*<$AUDIT>" "$st")" = 6 ] || fail "want six writes to the audit log"
	[ "$(grep -n "write([0-9]*<$AUDIT>" "$st" | tail -n1 | cut -d: -f1)" -lt "$last" ] || fail "a record was written after the last sync"
	[ "$(grep -n "write([0-9]*<$AUDIT>" "$st" | head -n1 | cut -d: -f1)" -lt "$(grep -n 'move_mount(' "$st" | head -n1 | cut -d: -f1)" ] ||
		fail "mounted before the mount begin record was written"
	big=$(grep "pread64([0-9]*<$AUDIT>" "$st" | sed -E 's/.*, ([0-9]+), [0-9]+\) += .*/\1/' | awk '$1 > 4096' | head -n1)
	[ -z "$big" ] || fail "a tail read of more than 4 KiB: $big"
	run as_op cc audit verify "$AUDIT"
	expect_rc 0 "the chain after a session"
}

# At a session's end the recording must be on the disk before the end
# record that names its digest can be. On ext4 with a journal one commit
# does both: the recording's data is written and waited for
# (sync_file_range) before the end record is written, and the log's fsync
# commits both, one wait; without a journal the recording is fsynced
# before the end record is written, as on any other file system, and so
# with journal_async_commit (no cache flush before a commit block). The log
# directory on a small ext4 of each kind of its own, watched with strace.
t_audit_recording_durable() {
	local img=$CC_T/logfs.img logdir=${AUDIT%/*} st=$CC_T/rec-sync.strace saved=$CC_T/audit.saved kind opts cast end rs
	command -v strace >/dev/null || skip "strace not installed (tools/install-deps)"
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not installed (tools/install-deps)"
	start_ct cc-aud-rec
	cp -a "$AUDIT" "$saved"
	trap 'rc=$?; trap - EXIT; mountpoint -q "$logdir" && umount "$logdir"; ct_stop_all; exit $rc' EXIT
	for kind in journal nojournal async_commit; do
		rm -f "$img" && truncate -s 64M "$img" || fail "cannot make $img"
		if [ "$kind" = nojournal ]; then mkfs.ext4 -q -F -O ^has_journal "$img"; else mkfs.ext4 -q -F "$img"; fi ||
			fail "mkfs.ext4 ($kind) failed"
		opts=loop
		[ "$kind" = async_commit ] && opts=loop,journal_async_commit,data=writeback
		mount -o "$opts" "$img" "$logdir" || fail "cannot mount an ext4 ($kind) on $logdir"
		install -m 660 -o root -g "$OPS_GROUP" /dev/null "$AUDIT" && install -d -m 1730 -o root -g "$OPS_GROUP" "$SESSIONS" ||
			fail "cannot set up $logdir"
		run as_root strace -f -y -qq -e trace=fsync,fdatasync,sync_file_range,write -o "$st" \
			setpriv --reuid="$(op_uid)" --regid="$(id -g "$OP_USER")" --init-groups -- \
			"$CC_BIN" -i "$IMG_EXT4" "$PID" $BB true
		expect_rc 0 "a session, the log on ext4 ($kind)"
		[ "$(jq -r '.event + "/" + .phase' "$AUDIT" | sed -n 4p)" = exec/end ] || fail "the fourth record is not the exec end record"
		end=$(grep -n "write([0-9]*<$AUDIT>" "$st" | sed -n 4p | cut -d: -f1)
		cast="<$SESSIONS/[0-9a-f]*\\.cast>"
		if [ "$kind" = journal ]; then
			rs=$(grep -n "sync_file_range([0-9]*$cast" "$st" | head -n1 | cut -d: -f1)
			! grep -q "sync([0-9]*$cast" "$st" || fail "the recording was fsynced on a journaled ext4: two waits at the end"
		else
			rs=$(grep -n "fsync([0-9]*$cast" "$st" | head -n1 | cut -d: -f1)
			! grep -q "sync_file_range(" "$st" || fail "($kind) sync_file_range where no journal orders it: the recording might not be on the disk before its end record"
		fi
		[ -n "$rs" ] && [ -n "$end" ] && [ "$rs" -lt "$end" ] ||
			fail "($kind) the recording's data was not on the disk before the end record was written"
		[ "$(grep -c "sync([0-9]*<$AUDIT>" "$st")" = 2 ] || fail "($kind) want the log synced twice"
		[ "$(grep -n "write([0-9]*<$AUDIT>" "$st" | tail -n1 | cut -d: -f1)" -lt "$(grep -n "sync([0-9]*<$AUDIT>" "$st" | tail -n1 | cut -d: -f1)" ] ||
			fail "($kind) a record was written after the last sync"
		run as_op cc audit verify "$AUDIT"
		expect_rc 0 "verify, the log on ext4 ($kind)"
		umount "$logdir" || fail "cannot unmount $logdir"
	done
	cmp -s "$AUDIT" "$saved" || fail "the suite's audit log changed under the mount"
}

# The last record is read with a 4 KiB tail, and more only when no line
# starts there: a record longer than that (a long argv, ~9 KiB) is still the
# one the next record chains to, and the chain verifies.
t_audit_long_record_chains() {
	local args=() i len
	start_ct cc-aud-long
	for i in $(seq 40); do args+=("$(printf 'x%.0s' $(seq 200))"); done
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true "${args[@]}"
	expect_rc 0 "a session with a long argv"
	len=$(audit_new | jq -c 'select(.event == "exec" and .phase == "begin")' | wc -c)
	[ "$len" -gt 4096 ] || fail "the exec begin record is only $len bytes: not longer than the first tail read"
	[ "$(audit_new | wc -l)" = 6 ] || fail "want six records"
	run as_op cc audit verify "$AUDIT"
	expect_rc 0 "the chain across a record longer than 4 KiB"
}

t_audit_unwritable_sink_refuses() {
	local before
	pol_trap
	start_ct cc-aud-ro
	# the file, read-only for the group
	chmod 0440 "$AUDIT"
	before=$(wc -l < "$AUDIT")
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "-m with the audit log read-only"
	expect_one_error_line
	case $ERR in *"no audit record can be written, so nothing is done"*"cannot open the audit log $AUDIT"*) ;;
		*) fail "error: '$ERR'" ;; esac
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 125 "session with the audit log read-only"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	run as_op cc -u "$PID"
	expect_rc 125 "-u with the audit log read-only"
	[ "$(wc -l < "$AUDIT")" = "$before" ] || fail "the log grew while read-only"
	chmod 0660 "$AUDIT"

	# syslog only, and nothing listens at the syslog socket: the second
	# install's, whose socket path this suite controls (the build-time
	# default, /dev/log, has a daemon behind it on most machines)
	sinks_install
	local sock=$SYSLOG_SOCK scc=$SP/bin/crashcart slog=$SP/audit.log n0
	pol_extra_cleanup() { chmod 0660 "$slog"; }
	rm -f "$sock"
	sinks_policy "sink = syslog"
	run as_op "$scc" -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "-m with only an unreachable syslog sink"
	expect_one_error_line
	case $ERR in *"cannot reach syslog at $sock"*) ;; *) fail "error: '$ERR'" ;; esac
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	# file + unreachable syslog: any (default) goes on, all refuses
	sinks_policy "sink = file, syslog" "require = all"
	n0=$(wc -l < "$slog")
	run as_op "$scc" -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "-m with require = all and syslog unreachable"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	# the file took the refusal (the message says it could not be recorded:
	# see the report, broker/audit.c OFFER)
	tail -n +"$((n0 + 1))" "$slog" | jq -se 'length == 1 and .[0].phase == "refused" and (.[0].error | contains("cannot reach syslog"))' \
		>/dev/null || fail "the file sink did not take the refusal record: $(tail -n +"$((n0 + 1))" "$slog")"
	sinks_policy "sink = file, syslog" "require = any"
	n0=$(wc -l < "$slog")
	run as_op "$scc" -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m with require = any, file writable, syslog unreachable"
	run as_op "$scc" -u "$PID"
	expect_rc 0 "-u"
	[ "$(tail -n +"$((n0 + 1))" "$slog" | wc -l)" = 4 ] || fail "want 4 file records with require = any"
	# require = any, but neither can take a record: refused
	chmod 0440 "$slog"
	run as_op "$scc" -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 125 "session with require = any, file read-only and syslog unreachable"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	chmod 0660 "$slog"
}

t_audit_tamper_fails_verify() {
	local n mid copy
	start_ct cc-aud-tamper
	for i in 1 2 3; do
		run as_op cc -i "$IMG_EXT4" "$PID" $BB true
		expect_rc 0 "session $i"
	done
	n=$(wc -l < "$AUDIT")
	[ "$n" -ge 12 ] || fail "only $n records"
	run as_op cc audit verify "$AUDIT"
	expect_rc 0 "verify the real log"
	mid=$((n / 2))
	copy=$CC_TT/audit.copy
	verify_copy() { # verify_copy WANT_FIRST_BAD_RECORD
		chmod 644 "$copy"
		run as_op cc audit verify "$copy"
		expect_rc 1 "verify of a tampered copy"
		[ "$(printf '%s\n' "$OUT" | head -n1 | sed -n 's/^record \([0-9]*\):.*/\1/p')" = "$1" ] ||
			fail "first problem reported is '$(printf '%s\n' "$OUT" | head -n1)', want record $1"
		case $ERR in *"records break the chain"*) ;; *) fail "no summary on stderr: $ERR" ;; esac
	}
	# modified (a value changed, still JSON)
	sed "${mid}s/\"user\":\"ccop\"/\"user\":\"root\"/" "$AUDIT" > "$copy"
	cmp -s "$copy" "$AUDIT" && fail "sed did not change record $mid"
	verify_copy $((mid + 1))
	# deleted (middle)
	sed "${mid}d" "$AUDIT" > "$copy"
	verify_copy "$mid"
	# two records swapped
	awk -v m="$mid" 'NR == m {hold = $0; next} {print} NR == m + 1 {print hold}' "$AUDIT" > "$copy"
	verify_copy "$mid"
	# (counting the broken links only: the shared log may also name sessions
	# that earlier tests' killed brokers left without an end record)
	[ "$(printf '%s\n' "$OUT" | grep -c '^record ')" = 3 ] || fail "a swap should break 3 links, verify says: $OUT"
	# the first record removed
	sed 1d "$AUDIT" > "$copy"
	verify_copy 1
	# a record's prev removed
	sed -E "${mid}s/,\"prev\":\"[0-9a-f]{64}\"\}$/}/" "$AUDIT" > "$copy"
	verify_copy "$mid"
	printf '%s\n' "$OUT" | grep -q "^record $mid: no chain link" || fail "want 'no chain link' for record $mid: $OUT"
	# a record that is not JSON
	sed "${mid}s/^{/x{/" "$AUDIT" > "$copy"
	verify_copy "$mid"
	printf '%s\n' "$OUT" | grep -q "^record $mid: not a JSON object" || fail "want 'not a JSON object': $OUT"
	# bytes hidden after a NUL
	awk -v m="$mid" '{printf "%s", $0} NR == m {printf "%c", 0; printf "hidden"} {print ""}' "$AUDIT" > "$copy"
	verify_copy "$mid"
	# limit (documented): the last record changed is not visible in the chain
	sed "${n}s/\"user\":\"ccop\"/\"user\":\"root\"/" "$AUDIT" > "$copy"
	run as_op cc audit verify "$copy"
	[ "$RC" = 0 ] && note "a change to the LAST record passes verify (nothing follows it; see SECURITY.md)"
	# and the broker refuses nothing because of a tampered log: it chains to
	# whatever the last line is, and verify shows the break
	run as_op cc audit verify "$AUDIT"
	expect_rc 0 "the real log is still intact"
}

# conc_round TAG: 8 sessions at once, 4 in each container; RC of each in
# $CC_TT/TAG-i.rc (session i exits i)
conc_round() { conc_round_start "$1"; conc_round_wait "$1"; }
conc_round_start() {
	local i p
	for i in 1 2 3 4 5 6 7 8; do
		if [ $((i % 2)) = 0 ]; then p=$CONC_A; else p=$CONC_B; fi
		run_bg "$1$i" as_op cc -i "$IMG_EXT4" "$p" $BB sh -c "$BB sleep 0.$i; exit $i"
	done
}
conc_round_wait() {
	local i
	for i in 1 2 3 4 5 6 7 8; do wait_bg "$1$i" >/dev/null; done
}
# conc_check: the chain holds and every session's records pair up
conc_check() {
	local recs n
	run as_op cc audit verify "$AUDIT"
	expect_rc 0 "verify after 8 concurrent sessions"
	recs=$(audit_new) || fail "a line that is not JSON (interleaved writes?)"
	n=$(printf '%s\n' "$recs" | wc -l)
	log "  $n records from 8 sessions"
	printf '%s\n' "$recs" | jq -se '
		(map(.session) | unique | length) == 8
		and (group_by(.session) | all(
			(map(.seq) == [range(1; length + 1)])
			and ((map(select(.phase == "begin")) | length) == (map(select(.phase == "end")) | length))))
		and (map(select(.phase == "begin")) | length) == (map(select(.phase == "end")) | length)' >/dev/null ||
		fail "concurrent records: 8 sessions, each with seq 1..n and as many ends as begins"
	printf '%s\n' "$recs" > "$CC_TT/conc.recs"
}

t_audit_concurrent_chain() {
	local i
	start_ct cc-conc-a; CONC_A=$PID
	start_ct cc-conc-b; CONC_B=$PID
	# on mounted images: every session must run
	run as_op cc -i "$IMG_EXT4" -m "$CONC_A"; expect_rc 0 "-m a"
	run as_op cc -i "$IMG_EXT4" -m "$CONC_B"; expect_rc 0 "-m b"
	audit_mark
	conc_round m
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(cat "$CC_TT/m$i.rc")" = "$i" ] || fail "session $i exited $(cat "$CC_TT/m$i.rc"), want $i: $(cat "$CC_TT/m$i.stderr")"
	done
	conc_check
	jq -se '
		(group_by(.session) | all((map(select(.event == "exec")) | map(.phase)) == ["begin", "end"]))
		and (map(select(.event == "exec" and .phase == "end") | .exit.value) | sort) == [1,2,3,4,5,6,7,8]' "$CC_TT/conc.recs" >/dev/null ||
		fail "each session needs exec begin and end with its exit status"
	run as_op cc -u "$CONC_A"; expect_rc 0 "-u a"
	run as_op cc -u "$CONC_B"; expect_rc 0 "-u b"
	# fresh mounts racing: each broker inspects and changes the container's
	# /dev under its flock (mount.c). Without it, two first sessions both
	# saw no /dev/crashcart and the second failed with 125 "File exists"
	# (or both mounted, one over the other). To make them race for certain,
	# the lock is held (as the container could) until every session has
	# written its mount begin record: none may mount meanwhile; then all
	# go at once, and every one must run.
	local held=$CC_TT/held release=$CC_TT/release holders='' c
	for c in "$CONC_A" "$CONC_B"; do
		rm -f "$held.$c"
		flock "/proc/$c/root/dev" sh -c 'touch "$1"; while [ ! -e "$2" ]; do sleep 0.02; done' \
			sh "$held.$c" "$release" </dev/null >/dev/null 2>&1 &
		holders="$holders $!"
		wait_until 5 test -e "$held.$c" || fail "cannot take the lock of /dev in $c"
	done
	# shellcheck disable=SC2064  # the holders' PIDs now
	trap "touch '$release'; kill $holders 2>/dev/null; ct_stop_all; broker_restore_caps" EXIT
	audit_mark
	conc_round_start f
	wait_until 20 mount_begins 8 || fail "8 mount begin records did not appear: $(audit_new | jq -c '[.event, .phase]' | tr '\n' ' ')"
	for c in "$CONC_A" "$CONC_B"; do
		is_mounted_in "$c" && fail "a session mounted while the container's /dev was locked: $(mounted_in "$c")"
	done
	log "  8 sessions waiting for the lock; the first began $(begin_spread) ms before the last"
	touch "$release"
	conc_round_wait f
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(cat "$CC_TT/f$i.rc")" = "$i" ] ||
			fail "concurrent first session $i exited $(cat "$CC_TT/f$i.rc"), want $i: $(cat "$CC_TT/f$i.stderr")"
	done
	conc_check
	wait_until 5 not_mounted_in "$CONC_A" || fail "mount left in a"
	wait_until 5 not_mounted_in "$CONC_B" || fail "mount left in b"
	expect_nothing_mounted "$CONC_A" "$IMG_EXT4"
	expect_nothing_mounted "$CONC_B" "$IMG_EXT4"
}

# begin_spread: ms between the first and the last mount begin since audit_mark
begin_spread() {
	audit_new | jq -s '[.[] | select(.event == "mount" and .phase == "begin") | .ts[11:23]
		| split(":") | (.[0] | tonumber) * 3600000 + (.[1] | tonumber) * 60000 + (.[2] | tonumber) * 1000]
		| (max - min) | floor'
}
# mount_begins N: N mount begin records since audit_mark
mount_begins() {
	[ "$(audit_new | jq -s '[.[] | select(.event == "mount" and .phase == "begin")] | length')" -ge "$1" ]
}

t_policy_ptrace_profile() {
	local eff
	pol_trap
	start_ct cc-ptrace
	set_policy <<-EOF
	[tracers]
	group = $OPS_GROUP
	actions = exec
	image = $IMGDIR/*
	target = *
	profile = ptrace
	[plain]
	group = $OPS_GROUP
	actions = exec, mount, unmount
	image = $IMGDIR/*
	target = *
	EOF
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status
	expect_rc 0 "exec with the ptrace profile"
	eff=$(printf '%s\n' "$OUT" | sed -n 's/^CapEff:[[:space:]]*//p')
	[ -n "$eff" ] && [ $(( (16#$eff >> 19) & 1 )) = 1 ] || fail "CapEff is '$eff', want CAP_SYS_PTRACE (bit 19)"
	[ $(( 16#$eff & ~(1 << 19) )) = 0 ] || fail "CapEff is '$eff': more than CAP_SYS_PTRACE"
	audit_new | jq -se 'map(select(.event == "exec" and .phase == "begin"))[0] | .profile == "ptrace" and .rule == "tracers"' \
		>/dev/null || fail "the exec record does not say profile ptrace, rule tracers"
	# what it is for: the container's root-owned init is readable
	run as_op cc -i "$IMG_EXT4" "$PID" $BB ls -l /proc/1/root/
	expect_rc 0 "ptrace profile: /proc/1/root of the container's init"
	# the first match decides: restricted first
	set_policy <<-EOF
	[plain]
	group = $OPS_GROUP
	actions = exec, mount, unmount
	image = $IMGDIR/*
	target = *
	[tracers]
	group = $OPS_GROUP
	actions = exec
	image = $IMGDIR/*
	target = *
	profile = ptrace
	EOF
	run as_op cc -i "$IMG_EXT4" "$PID" $BB grep '^CapEff' /proc/self/status
	expect_rc 0 "exec with the restricted profile"
	expect_out "CapEff:	0000000000000000"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB ls /proc/1/root/
	expect_rc 1 "restricted profile: ls /proc/1/root of the container's init (busybox ls: 1)"
	expect_err_denied
	# a ptrace -m does not make the later session ptrace: the session's rule decides
	set_policy <<-EOF
	[tracers]
	group = $OPS_GROUP
	actions = mount
	image = $IMGDIR/*
	target = *
	profile = ptrace
	[plain]
	group = $OPS_GROUP
	actions = exec, unmount
	image = $IMGDIR/*
	target = *
	EOF
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB grep '^CapEff' /proc/self/status
	expect_out "CapEff:	0000000000000000"
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
}

# ---------------------------------------------------------------- other sinks

# A second install whose sinks point at receivers this suite controls:
# syslog at $CC_T/sinks/syslog.sock, journald at the real socket, and
# CAP_AUDIT_WRITE for auditd. Built once, by the first test that needs it.
SP=$CC_T/prefix-sinks
SB=$CC_T/build-sinks
SYSLOG_SOCK=$CC_T/sinks/syslog.sock
JOURNAL_SOCK=/run/systemd/journal/socket
sinks_install() {
	[ -e "$SP/.built" ] && return 0
	mkdir -p "$SP" "$CC_T/sinks" && chmod 755 "$SP" "$CC_T/sinks"
	local aw=false
	pkg-config --exists audit && aw=true
	{ meson setup "$SB" "$CC_SRC" -Dprefix="$SP" -Dops_group="$OPS_GROUP" -Daudit_log="$SP/audit.log" \
		-Dsession_dir="$SP/sessions" \
		-Dsyslog_socket="$SYSLOG_SOCK" -Djournald_socket="$JOURNAL_SOCK" -Daudit_write=$aw &&
		meson compile -C "$SB" && meson install -C "$SB"; } >"$CC_T/sinks.log" 2>&1 ||
		fail "sinks build failed: $(tail -n 20 "$CC_T/sinks.log")"
	echo "$aw" > "$SP/.built"
}
sinks_policy() { # sinks_policy AUDIT-LINES...
	{
		printf '[it-operators]\ngroup = %s\nactions = mount, unmount, exec\nimage = %s/*\ntarget = *\n[audit]\n' \
			"$OPS_GROUP" "$IMGDIR"
		printf '%s\n' "$@"
	} > "$SP/etc/crashcart/policy.conf"
	chmod 0644 "$SP/etc/crashcart/policy.conf"
}

# syslog_listen FILE: a datagram server at $SYSLOG_SOCK that writes one JSON
# line per message with the sender's kernel-stamped credentials
syslog_listen() {
	rm -f "$SYSLOG_SOCK"
	python3 -c '
import json, os, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
os.chmod(path, 0o666)
open(out + ".ready", "w").close()
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = uid = gid = None
    for level, typ, cd in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
            pid, uid, gid = struct.unpack("iII", cd[:12])
    with open(out, "a") as f:
        f.write(json.dumps({"pid": pid, "uid": uid, "gid": gid, "msg": data.decode("utf-8", "replace")}) + "\n")
' "$SYSLOG_SOCK" "$1" &
	SYSLOG_PID=$!
	wait_until 5 test -e "$1.ready" || fail "the syslog listener did not start"
}

JOURNALD_STARTED=
journald_up() {
	if pgrep -x systemd-journal >/dev/null; then return 0; fi
	/lib/systemd/systemd-journald >"$CC_TT/journald.log" 2>&1 &
	JOURNALD_STARTED=$!
	wait_until 5 sh -c "ss -xl | grep -qF '$JOURNAL_SOCK '"
	kill -0 "$JOURNALD_STARTED" 2>/dev/null || { cat "$CC_TT/journald.log"; return 1; }
}

t_audit_syslog_journald_sinks() {
	local recs n sess j uid sl fields
	command -v python3 >/dev/null || skip "no python3 for the syslog listener"
	[ -x /lib/systemd/systemd-journald ] || skip "no systemd-journald"
	sinks_install
	uid=$(op_uid)
	pol_extra_cleanup() {
		[ -n "${SYSLOG_PID:-}" ] && kill "$SYSLOG_PID" 2>/dev/null
		[ -n "$JOURNALD_STARTED" ] && kill "$JOURNALD_STARTED" 2>/dev/null && wait "$JOURNALD_STARTED" 2>/dev/null
		rm -f "$SYSLOG_SOCK"
	}
	pol_trap
	journald_up || skip "systemd-journald does not start here"
	syslog_listen "$CC_TT/syslog.jsonl"
	sinks_policy "sink = file, syslog, journald" "require = all"
	start_ct cc-sinks
	# (the second install's log is shared with t_audit_unwritable_sink_refuses)
	local n0
	n0=$(wc -l < "$SP/audit.log")
	run as_op "$SP/bin/crashcart" -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "session with file, syslog, journald (require = all)"
	recs=$(tail -n +"$((n0 + 1))" "$SP/audit.log" | jq -c .)
	n=$(printf '%s\n' "$recs" | wc -l)
	[ "$n" = 6 ] || fail "file: $n records, want 6"

	# syslog: one RFC 5424 message per record, the kernel's credentials
	sl=$CC_TT/syslog.jsonl
	wait_until 3 test "$(wc -l < "$sl")" -ge 6
	log "  syslog: $(head -n 2 "$sl")"
	[ "$(wc -l < "$sl")" = 6 ] || fail "syslog received $(wc -l < "$sl") messages, want 6"
	jq -se --argjson uid "$uid" '
		all(.[]; .uid == $uid and (.msg | test("^<8[45]>1 [0-9T:.-]+Z [^ ]+ crashcart-broker [0-9]+ (mount|exec|unmount) \\[crashcart@32473 session=\"[0-9a-f]{32}\" event=\"[a-z]+\" phase=\"(begin|end)\" result=\"(ok|)\" uid=\"[0-9]+\"( recording_sha256=\"[0-9a-f]{64}\")?\\] \\{")))
		and all(.[]; (.msg | capture(" crashcart-broker (?<p>[0-9]+) ").p | tonumber) == .pid)' "$sl" >/dev/null ||
		fail "syslog messages are not RFC 5424 from uid $uid with PROCID == the kernel-stamped pid"
	# the record in each message is the file's (without "prev"), in order
	diff <(jq -r '.msg | sub("^[^\\]]*\\] "; "")' "$sl" | jq -c .) <(printf '%s\n' "$recs" | jq -c 'del(.prev)') >/dev/null ||
		fail "syslog records differ from the file's"
	note "syslog: SCM_CREDENTIALS uid=$(jq -r .uid "$sl" | sort -u | tr '\n' ' ')pid=$(jq -r .pid "$sl" | sort -u | tr '\n' ' ')(PROCID matches)"

	# journald: trusted fields the broker cannot forge
	sess=$(printf '%s\n' "$recs" | jq -r .session | sort -u)
	jget() { journalctl -D /run/log/journal SYSLOG_IDENTIFIER=crashcart-broker CRASHCART_SESSION="$sess" -o json 2>/dev/null; }
	wait_until 5 test "$(jget | wc -l)" -ge 6
	j=$(jget)
	log "  journal: $(printf '%s\n' "$j" | head -n 1)"
	[ "$(printf '%s\n' "$j" | grep -c .)" = 6 ] || fail "journald has $(printf '%s\n' "$j" | grep -c .) entries, want 6"
	fields=$(printf '%s\n' "$j" | jq -r 'keys[] | select(startswith("_") and (startswith("__") | not))' | sort | uniq -c | awk '{printf "%s(%s) ", $2, $1}')
	note "journald trusted fields (count of 6 entries): $fields"
	printf '%s\n' "$j" | jq -se --arg uid "$uid" '
		all(.[]; ._UID == $uid and ._TRANSPORT == "journal" and .PRIORITY == "5" and .SYSLOG_FACILITY == "10"
			and (.CRASHCART_SESSION | length) == 32 and (.CRASHCART_RECORD | fromjson | .uid | tostring) == $uid)' \
		>/dev/null || fail "journald entries lack _UID=$uid / _TRANSPORT=journal / the record"
	printf '%s\n' "$j" | jq -se --arg exe "$SP/libexec/crashcart-broker" 'all(.[]; ._EXE == $exe)' >/dev/null ||
		soft_fail "_EXE is not $SP/libexec/crashcart-broker on every entry: $(printf '%s\n' "$j" | jq -r '._EXE // "(none)"' | sort | uniq -c | tr '\n' ' ')"
	diff <(printf '%s\n' "$j" | jq -r .CRASHCART_RECORD | jq -c .) <(printf '%s\n' "$recs" | jq -c 'del(.prev)') >/dev/null ||
		fail "journald records differ from the file's"
	# the session's recording digest: in the file's exec end record, and in
	# the copies the operator cannot erase
	local dig
	dig=$(printf '%s\n' "$recs" | jq -r 'select(.event == "exec" and .phase == "end") | .recording.sha256')
	[ "${#dig}" = 64 ] || fail "no recording digest in the exec end record"
	jq -se --arg d "$dig" 'any(.[]; .msg | contains("recording_sha256=\"" + $d + "\""))' "$sl" >/dev/null ||
		fail "syslog's exec end message lacks recording_sha256=$dig"
	printf '%s\n' "$j" | jq -se --arg d "$dig" 'any(.[]; .CRASHCART_RECORDING_SHA256 == $d)' >/dev/null ||
		fail "journald lacks CRASHCART_RECORDING_SHA256=$dig"
	run as_op "$SP/bin/crashcart" audit verify "$SP/audit.log"
	expect_rc 0 "verify the second install's log"

	# the listener goes away: require = all refuses, nothing is mounted
	kill "$SYSLOG_PID"; wait "$SYSLOG_PID" 2>/dev/null; SYSLOG_PID=
	run as_op "$SP/bin/crashcart" -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "-m with syslog gone (require = all)"
	case $ERR in *"cannot reach syslog at $SYSLOG_SOCK"*) ;; *) fail "error: '$ERR'" ;; esac
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	# syslog only, no listener: refused too
	sinks_policy "sink = syslog"
	run as_op "$SP/bin/crashcart" -i "$IMG_EXT4" -m "$PID"
	expect_rc 125 "-m with only syslog, unreachable"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	# journald only: works without the file
	sinks_policy "sink = journald"
	n=$(wc -l < "$SP/audit.log")
	run as_op "$SP/bin/crashcart" -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "session with only journald"
	[ "$(wc -l < "$SP/audit.log")" = "$n" ] || fail "the file grew though the policy names only journald"
}

AUDITD_STARTED= AUDIT_WAS_ENABLED=
t_audit_auditd_sink() {
	local uid al=/var/log/audit/audit.log mark recs
	command -v auditd >/dev/null || skip "auditd not installed (apt-get install auditd)"
	sinks_install
	[ "$(cat "$SP/.built")" = true ] || skip "libaudit (pkg-config audit) missing: no -Daudit_write=true build"
	auditctl -s >/dev/null 2>&1 || skip "the kernel refuses audit netlink here: $(auditctl -s 2>&1 | head -n1)"
	AUDIT_WAS_ENABLED=$(auditctl -s | awk '$1 == "enabled" {print $2}')
	uid=$(op_uid)
	pol_extra_cleanup() {
		if [ -n "$AUDITD_STARTED" ]; then kill "$AUDITD_STARTED" 2>/dev/null; wait "$AUDITD_STARTED" 2>/dev/null; fi
		auditctl -e "${AUDIT_WAS_ENABLED:-0}" >/dev/null 2>&1
	}
	pol_trap
	if [ "$(auditctl -s | awk '$1 == "pid" {print $2}')" = 0 ]; then
		mkdir -p /var/log/audit
		auditd -n >"$CC_TT/auditd.log" 2>&1 &
		AUDITD_STARTED=$!
		wait_until 5 sh -c '[ "$(auditctl -s | awk '\''$1 == "pid" {print $2}'\'')" != 0 ]' ||
			skip "auditd does not start: $(cat "$CC_TT/auditd.log")"
	fi
	auditctl -e 1 >/dev/null || fail "auditctl -e 1"
	getcap "$SP/libexec/crashcart-broker" | grep -q cap_audit_write || fail "the -Daudit_write=true broker lacks cap_audit_write"
	sinks_policy "sink = file, auditd" "require = all"
	start_ct cc-auditd
	mark=$(wc -l < "$al" 2>/dev/null || echo 0)
	run as_op "$SP/bin/crashcart" -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m with the auditd sink (require = all)"
	run as_op "$SP/bin/crashcart" -u "$PID"
	expect_rc 0 "-u with the auditd sink"
	wait_until 5 sh -c "tail -n +$((mark + 1)) $al | grep -q 'op=crashcart-unmount phase=end'"
	recs=$(tail -n +"$((mark + 1))" "$al" | grep 'op=crashcart-')
	log "$recs"
	[ "$(printf '%s\n' "$recs" | grep -c 'type=USER_CMD')" = 4 ] || fail "want 4 USER_CMD records (mount/unmount begin/end), got: $recs"
	printf '%s\n' "$recs" | grep -q "op=crashcart-mount phase=begin session=[0-9a-f]\{32\}" || fail "no mount begin record"
	printf '%s\n' "$recs" | grep -qv " uid=$uid " && fail "a record not stamped uid=$uid"
	printf '%s\n' "$recs" | grep -q "exe=\"$SP/libexec/crashcart-broker\"" || fail "exe= is not the broker"
	note "auditd: $(printf '%s\n' "$recs" | head -n1 | grep -o 'pid=[0-9]* uid=[0-9]* auid=[0-9]* ses=[0-9]*') $(printf '%s\n' "$recs" | head -n1 | grep -o 'exe="[^"]*"')"
	run as_op "$SP/bin/crashcart" audit verify "$SP/audit.log"
	expect_rc 0 "verify"

	# kernel auditing disabled (auditctl -e 0): the kernel drops user records
	# but audit_log_user_message reports success, so the sink "accepts" them
	sinks_policy "sink = auditd"
	auditctl -e 0 >/dev/null
	mark=$(wc -l < "$al")
	run as_op "$SP/bin/crashcart" -i "$IMG_EXT4" -m "$PID"
	local rc_m=$RC
	run as_op "$SP/bin/crashcart" -u "$PID"
	sleep 1
	if [ "$rc_m" = 0 ] && ! tail -n +"$((mark + 1))" "$al" | grep -q 'op=crashcart-'; then
		note "known limit (SECURITY.md): with auditing disabled (auditctl -e 0) and sink = auditd only, -m succeeded and the kernel kept no record"
	fi
	auditctl -e 1 >/dev/null
}
