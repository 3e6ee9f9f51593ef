#!/bin/bash
# The man pages and the bash completion against the program they describe
# (meson tests, suite "docs"; no root needed).
# usage: check-docs.sh CHECK SRCDIR BUILDDIR
#   man         each built page renders with no warning (MANWIDTH=80 man --warnings -l)
#   options     every option crashcart --help lists is in crashcart(1)
#   policy      every key (and keyword value) the policy parser accepts is in crashcart-policy(5)
#   completion  the completion offers --list for --li, the audit subcommands and
#               their options, and every option of --help
# exit: 0 pass, 1 fail, 77 skip (no man), 99 set-up error.
set -u
check=${1:?usage: check-docs.sh CHECK SRCDIR BUILDDIR} src=${2:?} build=${3:?}
CC=$build/crashcart
PAGES=("$build/doc/crashcart.1" "$build/doc/crashcart-broker.8" "$build/doc/crashcart-policy.5" "$build/doc/crashcart-toolbox-build.8")
nfail=0

fail() { printf 'not ok - %s\n' "$*"; nfail=$((nfail + 1)); }
ok() { printf 'ok - %s\n' "$*"; }
need_man() { command -v man >/dev/null || { echo "1..0 # SKIP man is not installed (apt-get install man-db)"; exit 77; }; }
# text PAGE: the page as plain ASCII text, one paragraph a line (no
# hyphenation at the end of a line hides a word)
text() { MANWIDTH=10000 LC_ALL=C man -l "$1" 2>/dev/null | col -b; }
# help_options [LINES-ERE]: the options --help names (on the lines matching
# LINES-ERE), one a line: -x and --long words, not the hyphens inside words
help_options() {
	"$CC" --help | grep -E -- "${1:-.}" | grep -oE -- '(^|[][ (|,])--?[A-Za-z][A-Za-z-]*' |
		sed -E 's/^[][ (|,]//' | sort -u
}
[ -x "$CC" ] || { echo "Bail out! no $CC"; exit 99; }

case $check in
man)
	need_man
	for p in "${PAGES[@]}"; do
		[ -s "$p" ] || { fail "$p was not built"; continue; }
		w=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
		rc=$?
		if [ "$rc" != 0 ] || [ -n "$w" ]; then
			fail "${p##*/}: man --warnings exit $rc: $w"
		elif [ "$(text "$p" | wc -l)" -lt 10 ]; then
			fail "${p##*/} renders to almost nothing"
		else
			ok "${p##*/} renders without warnings"
		fi
	done
	;;
options)
	need_man
	page=$(text "${PAGES[0]}")
	opts=$(help_options) || { echo "Bail out! crashcart --help failed"; exit 99; }
	[ "$(printf '%s\n' "$opts" | wc -l)" -ge 10 ] || { echo "Bail out! too few options in --help: $opts"; exit 99; }
	for o in $opts; do
		# the option as a word of its own (not "--list" inside "--listing")
		if printf '%s\n' "$page" | grep -qE -- "(^|[^A-Za-z-])$o([^A-Za-z-]|\$)"; then
			ok "crashcart(1) has $o"
		else
			fail "crashcart --help lists $o, crashcart(1) does not"
		fi
	done
	;;
policy)
	need_man
	page=$(text "${PAGES[2]}")
	c=$src/src/common/policy.c
	# the keys the handler compares the key name with; the keyword values it
	# compares a value with, and the tables of actions, sinks and record modes
	handler=$(sed -n '/^static int handler(/,/^}/p' "$c")
	keys=$(printf '%s\n' "$handler" | grep -oE 'strcmp\(name, "[a-z_]+"\)' | sed -E 's/.*"(.*)".*/\1/' | sort -u)
	values=$( {
		printf '%s\n' "$handler" | grep -oE 'strcmp\(value, "[a-z_-]+"\)' | sed -E 's/.*"(.*)".*/\1/'
		printf '%s\n' "$handler" | sed -n 's/.*names\[\] = {\(.*\)};.*/\1/p' | grep -oE '"[a-z_-]+"' | tr -d '"'
		sed -n '/^} perms\[\] = {/,/^};/p; /^} sinks\[\] = {/,/^};/p' "$c" | grep -oE '\{ "[a-z_-]+"' | sed -E 's/.*"(.*)"/\1/'
	} | sort -u)
	[ "$(printf '%s\n' "$keys" | wc -w)" -ge 10 ] || { echo "Bail out! too few keys found in $c: $keys"; exit 99; }
	[ "$(printf '%s\n' "$values" | wc -w)" -ge 12 ] || { echo "Bail out! too few values found in $c: $values"; exit 99; }
	for k in $keys; do
		if printf '%s\n' "$page" | grep -qE -- "(^|[^A-Za-z_])$k = "; then
			ok "crashcart-policy(5) documents the key $k"
		else
			fail "the policy parser accepts the key '$k', crashcart-policy(5) has no '$k ='"
		fi
	done
	for v in $values; do
		if printf '%s\n' "$page" | grep -qE -- "(^|[^A-Za-z_-])$v([^A-Za-z_-]|\$)"; then
			ok "crashcart-policy(5) names the value $v"
		else
			fail "the policy parser accepts the value '$v', crashcart-policy(5) does not name it"
		fi
	done
	;;
completion)
	comp=$src/completions/crashcart.bash
	# candidates WORD...: what the completion offers for the command line
	# WORD... (the cursor on the last word), one a line, sorted
	candidates() {
		bash --norc --noprofile -c '
			comp=$1; shift
			. "$comp" || exit 99
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
			_crashcart 2>/dev/null
			printf "%s\n" "${COMPREPLY[@]}"' candidates "$comp" "$@" | sed '/^$/d' | sort
	}
	expect() { # expect WANT WORD...: the candidates are exactly WANT (space-separated)
		local spec=$1 w want got
		read -ra w <<< "$spec"
		want=$(printf '%s\n' "${w[@]}" | sed '/^$/d' | sort)
		shift
		got=$(candidates "$@")
		if [ "$got" = "$want" ]; then
			ok "completion of '$*': $(tr '\n' ' ' <<< "$got")"
		else
			fail "completion of '$*': got '$(tr '\n' ' ' <<< "$got")', want '$spec'"
		fi
	}
	expect --list "$CC" --li
	expect --json "$CC" --list --j
	expect "verify show replay link" "$CC" audit ''
	expect --log "$CC" audit link --
	# verify takes the files of a rotated log: a second FILE is offered too
	expect "$src/meson.build $src/meson_options.txt" "$CC" audit verify "$src/README.md" "$src/meson"
	expect replay "$CC" audit re
	expect --sessions "$CC" audit verify --
	expect "--speed --commands --log --force --sessions" "$CC" audit replay --
	expect "$src/meson.build $src/meson_options.txt" "$CC" -i "$src/meson"
	expect "$src/meson.build $src/meson_options.txt" "$CC" audit show "$src/meson"
	expect "$src/doc" "$CC" audit replay x --sessions "$src/do"
	expect "" "$CC" 1234 "$src/meson"
	# every option of --help's option lines is offered for "-"
	all=$(candidates "$CC" -)
	for o in $(help_options '^ +-'); do
		if printf '%s\n' "$all" | grep -qxF -- "$o"; then
			ok "completion offers $o"
		else
			fail "crashcart --help lists $o, the completion does not offer it"
		fi
	done
	;;
*)
	echo "Bail out! unknown check $check"
	exit 99
	;;
esac
[ "$nfail" = 0 ] || { echo "# $nfail failed"; exit 1; }
exit 0
