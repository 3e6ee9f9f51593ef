# shellcheck shell=bash
# Attacks on what the tool shows and on the order of its checks, end to end
# as the real operator: control bytes in a target spec must not forge lines
# in `crashcart audit show` or in the worker's errors (nor a container's
# name in --list and -v), and the broker must
# not open (or hash, or mark) an image the policy does not allow. Sourced by
# tests.sh; uses tests-policy.sh's helpers (pol_trap, set_policy,
# expect_policy_refusal, last_refusal), defined by the time a test runs.
# shellcheck disable=SC2015,SC2016,SC2034,SC2154,SC2317

TESTS+=(
	t_attack_f_audit_show_forged_line
	t_attack_f_policy_before_image
	t_attack_f_container_name_escaped
)

# no_control_bytes TEXT: TEXT holds no C0 control but newline, no DEL, no C1
# control (raw 0x80..0x9f, or UTF-8 encoded 0xc2 0x80..0x9f)
no_control_bytes() {
	! printf '%s' "$1" | LC_ALL=C grep -q -P '[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|(^|[\x00-\x7f])[\x80-\x9f]'
}

# The finding: as the operator, a "target" that ends the line, erases it,
# moves up and writes a line of its own, which the auditor would read as
# root's successful mount.
t_attack_f_audit_show_forged_line() {
	local forged spec n recs line
	start_ct cc-esc-show
	forged="    1  2026-01-01T00:00:00.000Z  00000000  mount   end      ok        user root (uid 0) target web (pid 1) image $IMG_DEFAULT"
	spec="$PID"$'\n\033[2K\033[1A'"$forged"$'\xc2\x9b2K\x9b1A'
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$spec"
	expect_rc 125 "a spec holding control bytes"
	# the refusal: exactly one line, escaped, naming the spec
	expect_one_error_line
	no_control_bytes "$ERR" || fail "the worker's error holds control bytes: $(printf '%s' "$ERR" | od -c | head -n 5)"
	case $ERR in
	*"'$PID\\x0a\\x1b[2K\\x1b[1A    1  2026-01-01T00:00:00.000Z"*"\\xc2\\x9b2K\\x9b1A'"*) ;;
	*) fail "the error does not show the spec escaped: $ERR" ;;
	esac
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	# the record keeps the spec as given, JSON-escaped (up to the stray C1
	# byte, which json.c can only keep as the character U+009B)
	recs=$(audit_new) || fail "a record that is not JSON"
	printf '%s\n' "$recs" | jq -se --arg spec "$PID"$'\n\033[2K\033[1A'"$forged" \
		'any(.phase == "refused" and (.target.spec | startswith($spec + "\u009b2K\u009b1A")))' >/dev/null ||
		fail "no refused record with the spec as given: $(printf '%s' "$recs" | cat -v)"
	no_control_bytes "$(cat "$AUDIT")" || fail "the audit file holds raw control bytes"

	run as_op cc audit show "$AUDIT"
	expect_rc 0 "audit show"
	case $OUT in *$'\033'*) fail "audit show printed an ESC byte" ;; esac
	no_control_bytes "$OUT" || fail "audit show printed control bytes"
	n=$(wc -l < "$AUDIT")
	OUT=$(printf '%s\n' "$OUT" | sed '/^$/,$d') # the records; the exec sessions follow an empty line
	[ "$(printf '%s\n' "$OUT" | wc -l)" = "$n" ] ||
		fail "audit show printed $(printf '%s\n' "$OUT" | wc -l) lines for $n records"
	# the forged text is inside the refusal's line, not a line of its own
	! printf '%s\n' "$OUT" | grep -qF -x -- "$forged" || fail "audit show printed the forged line"
	! printf '%s\n' "$OUT" | grep -q -- '^    1  2026-01-01T00:00:00.000Z' || fail "a line starts like the forged one"
	line=$(printf '%s\n' "$OUT" | grep -F -- 'user root (uid 0)')
	[ "$(printf '%s\n' "$line" | wc -l)" = 1 ] || fail "want one line holding the forged text, got: $line"
	case $line in
	*"user ccop (uid $(op_uid)) target $PID\\x0a\\x1b[2K\\x1b[1A    1  "*" refused"* | *" refused "*"user ccop (uid $(op_uid)) target $PID\\x0a\\x1b[2K\\x1b[1A"*) ;;
	*) fail "the forged text is not shown escaped within ccop's refusal: $line" ;;
	esac
}

# digest_xattr FILE: the broker's trusted.crashcart.sha256 on FILE (root
# reads trusted.* attributes), empty when there is none
digest_xattr() {
	/usr/bin/python3 - "$1" <<-'EOF' 2>/dev/null
	import os, sys
	try:
	    print(os.getxattr(sys.argv[1], "trusted.crashcart.sha256").decode())
	except OSError:
	    pass
	EOF
}

# The policy decides before the image is opened. Two observers that need
# no tracing of the (file-capable) broker: a FIFO whose writer, blocked in
# open(2), wakes only when someone opens it for reading (the broker's
# O_NONBLOCK open does that too); and the digest xattr the broker writes
# when it hashes an image. Both are shown to see the broker when the
# policy allows the path, so their silence before means something.
t_attack_f_policy_before_image() {
	local d=$CC_TT/images img fifo opened rec
	[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3 to read xattrs"
	pol_trap
	FIFO_WRITER=
	pol_extra_cleanup() { [ -n "$FIFO_WRITER" ] && kill "$FIFO_WRITER" 2>/dev/null; :; }
	start_ct cc-esc-order
	mkdir -p "$d" && chmod 755 "$d" || fail "cannot make $d"
	img=$d/not-allowed.ext4 fifo=$d/fifo.img opened=$d/fifo-opened
	cp "$IMG_EXT4" "$img" && chown 0:0 "$img" && chmod 644 "$img" || fail "cannot copy the image"
	mkfifo -m 644 "$fifo" || fail "mkfifo"
	[ -z "$(digest_xattr "$img")" ] || fail "the fresh copy already has a digest xattr"
	timeout 60 bash -c 'exec 3>"$1" && : > "$2"' fifo-writer "$fifo" "$opened" </dev/null >/dev/null 2>&1 &
	FIFO_WRITER=$!
	set_policy <<-EOF
	[suite-image-only]
	group = $OPS_GROUP
	actions = mount, unmount, exec
	image = $IMG_EXT4
	target = *
	EOF

	# a regular image the policy does not name: refused, neither hashed nor marked
	audit_mark
	run as_op cc -i "$img" -m "$PID"
	expect_policy_refusal "$PID" mount "the policy does not allow image $img" "$img"
	rec=$(last_refusal mount)
	printf '%s' "$rec" | jq -e 'has("image_sha256") | not' >/dev/null ||
		fail "the refusal carries a digest: the image was hashed before the policy refused it: $rec"
	[ -z "$(digest_xattr "$img")" ] ||
		fail "the broker marked a not-allowed image with its digest xattr: $(digest_xattr "$img")"
	# an exec session asks the same before opening anything
	run as_op cc -i "$fifo" "$PID" "$BB" true
	expect_policy_refusal "$PID" mount "the policy does not allow image $fifo" "$fifo"
	# the FIFO the policy does not name: not opened
	audit_mark
	run as_op cc -i "$fifo" -m "$PID"
	expect_policy_refusal "$PID" mount "the policy does not allow image $fifo" "$fifo"
	if wait_until 1 test -e "$opened"; then
		fail "the broker opened $fifo before the policy refused it"
	fi

	# the observers see the broker once the policy allows these paths
	set_policy <<-EOF
	[test-dir]
	group = $OPS_GROUP
	actions = mount, unmount
	image = $d/*
	target = *
	EOF
	run as_op cc -i "$fifo" -m "$PID"
	expect_rc 125 "-m of an allowed FIFO"
	expect_one_error_line
	case $ERR in *"image $fifo is not a regular file"*) ;; *) fail "want the image check's refusal of the FIFO: $ERR" ;; esac
	wait_until 5 test -e "$opened" ||
		fail "control: the FIFO's writer did not see the broker open it once allowed, so its silence above shows nothing"
	run as_op cc -i "$img" -m "$PID"
	expect_rc 0 "-m of the allowed copy"
	if [ "$(digest_xattr "$img")" = "" ]; then
		note "no trusted xattr on $d's filesystem: the digest-mark check above could not fail (the FIFO check could)"
	else
		log "  digest xattr once allowed: $(digest_xattr "$img")"
	fi
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
}

# A container's name is the container's to choose: here an lxc-style cgroup
# (lxc.payload.NAME) whose name clears the screen. --list and -v's lines
# show it escaped; the lxc:// spec that names it works as before.
t_attack_f_container_name_escaped() {
	local name=$'ev\033[2J\xc2\x9bil' line g h
	start_ct cc-esc-name
	# (not its name for the harness: the hostname may not hold such bytes;
	# the container's init moves into the hostile cgroup instead)
	HOSTILE_CGROUPS=()
	for g in $(cg_dirs cc-esc-name); do
		h=${g%/*}/lxc.payload.$name
		mkdir "$h" && HOSTILE_CGROUPS+=("$h") || fail "cannot make the cgroup $h"
		echo "$PID" > "$h/cgroup.procs" || fail "cannot move $PID into $h"
	done
	trap 'rc=$?; trap - EXIT; ct_stop_all; for h in "${HOSTILE_CGROUPS[@]}"; do rmdir "$h"; done; broker_restore_caps; exit $rc' EXIT
	log "  /proc/$PID/cgroup: $(cat -v "/proc/$PID/cgroup" | tr '\n' ' ')"
	run as_op cc --list
	expect_rc 0 "--list"
	no_control_bytes "$OUT" || fail "--list printed control bytes"
	line=$(printf '%s\n' "$OUT" | grep -F -- 'ev\x1b[2J\xc2\x9bil') || fail "--list does not show lxc $name escaped"
	case $line in "lxc "*" $PID "*) ;; *) fail "--list line for the container: '$line'" ;; esac

	run as_op cc -v -i "$IMG_EXT4" -m "lxc://$name"
	expect_rc 0 "-v -m lxc://NAME"
	expect_mounted "$PID"
	no_control_bytes "$ERR" || fail "-v printed control bytes: $(printf '%s' "$ERR" | od -c | head -n 5)"
	printf '%s\n' "$ERR" | grep -qF -- "is lxc ev\\x1b[2J\\xc2\\x9bil, PID $PID" ||
		fail "-v does not show the container's name escaped: $ERR"
	[ "$(printf '%s\n' "$ERR" | grep -vc '^crashcart: ')" = 0 ] || fail "a -v line that is not crashcart's own"
	run as_op cc -u "lxc://$name"
	expect_rc 0 "-u lxc://NAME"
}
