# shellcheck shell=bash
# Attacks on what the tool shows, end to end as the real operator: control
# bytes in a target spec must not forge lines in `crashcart audit show` or
# in the worker's errors. Sourced by tests.sh.
# shellcheck disable=SC2015,SC2016,SC2034,SC2154,SC2317

TESTS+=(
	t_attack_f_audit_show_forged_line
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
