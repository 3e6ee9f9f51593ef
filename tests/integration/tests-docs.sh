# shellcheck shell=bash
# The installed man pages and bash completion (sourced by tests.sh): what
# `meson install` put into the suite's prefix, used the way an operator
# does: `man crashcart`, and TAB on a running container's id or name.
# (Rendering, option and policy-key coverage are unit-level: tests/docs.)
# shellcheck disable=SC2034  # TESTS is read by run.sh

TESTS+=(
	t_docs_man_installed
	t_docs_completion_container
)

# ------------------------------------------------------------------ man

# `man NAME` finds each installed page in the prefix's mandir, renders it
# without warnings, and the page names this install's paths.
t_docs_man_installed() {
	local page sec w path
	command -v man >/dev/null || skip "man is not installed (apt-get install man-db)"
	[ -d "$P/share/man" ] || {
		command -v scdoc >/dev/null && fail "scdoc is installed, but meson install put no pages in $P/share/man"
		skip "scdoc is not installed: no man pages were built (-Dman=auto)"
	}
	for page in crashcart.1 crashcart-broker.8 crashcart-policy.5 crashcart-toolbox-build.8; do
		sec=${page##*.}
		path=$(MANPATH=$P/share/man man -w "$sec" "${page%.*}" 2>&1) ||
			fail "man -w $sec ${page%.*} with MANPATH=$P/share/man: $path"
		[ "$path" = "$P/share/man/man$sec/$page" ] || fail "man -w ${page%.*} found '$path', not the installed $P/share/man/man$sec/$page"
		w=$(MANPATH=$P/share/man MANWIDTH=80 man --warnings "$sec" "${page%.*}" 2>&1 >/dev/null) ||
			fail "man ${page%.*} failed: $w"
		[ -z "$w" ] || fail "man --warnings ${page%.*}: $w"
		log "  $path: ok"
	done
	# the pages name the build-time paths of this install, not the defaults
	MANPATH=$P/share/man MANWIDTH=10000 LC_ALL=C man 5 crashcart-policy 2>/dev/null | col -b |
		grep -qF "$P/etc/crashcart/policy.conf" || fail "crashcart-policy(5) does not name this install's policy $P/etc/crashcart/policy.conf"
	MANPATH=$P/share/man MANWIDTH=10000 LC_ALL=C man 1 crashcart 2>/dev/null | col -b |
		grep -qF "$SESSIONS" || fail "crashcart(1) does not name this install's sessions directory $SESSIONS"
	return 0
}

# ------------------------------------------------------------------ completion

# shellcheck disable=SC2016  # the script's $1, $@ are bash -c's
# docs_complete WORD...: as the operator, source the installed completion,
# complete the command line WORD... (the cursor on the last word); sets
# CANDS (sorted, one a line).
docs_complete() {
	run as_op bash --norc --noprofile -c '
		comp=$1; shift
		. "$comp" || exit 99
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		_crashcart
		printf "%s\n" "${COMPREPLY[@]}"' complete "$DOCS_COMP" "$@"
	[ "$RC" = 0 ] || fail "the completion function failed (rc $RC): $ERR"
	CANDS=$(printf '%s\n' "$OUT" | sed '/^$/d' | sort)
}

# Two running microcontainers that --list shows: one in a Docker-style
# cgroup (docker-<64 hex>.scope: a real id whose prefix is typed), one in
# an LXC-style cgroup (lxc.payload.NAME: a name). TAB on the id's first
# characters gives the full id, on the name's the name; the ID position
# offers nothing that is not a container (or "audit").
t_docs_completion_container() {
	local id name=ccdocs-web1 pid_id pid_name g h
	DOCS_COMP=$P/share/bash-completion/completions/crashcart
	[ -f "$DOCS_COMP" ] || fail "meson install put no completion at $DOCS_COMP"
	id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	[ ${#id} = 64 ] || fail "cannot make an id: '$id'"
	start_ct cc-docs-id
	pid_id=$PID
	start_ct cc-docs-name
	pid_name=$PID
	# the inits move into the runtime-style cgroups (as tests-escape does)
	DOCS_CGROUPS=()
	for g in $(cg_dirs cc-docs-id); do
		h=${g%/*}/docker-$id.scope
		mkdir "$h" || fail "cannot make the cgroup $h"
		DOCS_CGROUPS+=("$h")
		echo "$pid_id" > "$h/cgroup.procs" || fail "cannot move $pid_id into $h"
	done
	for g in $(cg_dirs cc-docs-name); do
		h=${g%/*}/lxc.payload.$name
		mkdir "$h" || fail "cannot make the cgroup $h"
		DOCS_CGROUPS+=("$h")
		echo "$pid_name" > "$h/cgroup.procs" || fail "cannot move $pid_name into $h"
	done
	# shellcheck disable=SC2154  # rc is set inside the trap
	trap 'rc=$?; trap - EXIT; ct_stop_all; for h in "${DOCS_CGROUPS[@]}"; do rmdir "$h"; done; broker_restore_caps; exit $rc' EXIT

	run as_op cc --list --json
	expect_rc 0 "--list --json"
	printf '%s' "$OUT" | jq -e --arg id "$id" --argjson pid "$pid_id" \
		'.containers | any(.id == $id and .pid == $pid)' >/dev/null ||
		fail "--list --json does not show docker $id (PID $pid_id): $OUT"
	printf '%s' "$OUT" | jq -e --arg n "$name" --argjson pid "$pid_name" \
		'.containers | any(.name == $n and .pid == $pid)' >/dev/null ||
		fail "--list --json does not show lxc $name (PID $pid_name): $OUT"

	docs_complete "$CC_BIN" "${id:0:7}"
	[ "$CANDS" = "$id" ] || fail "TAB on '${id:0:7}' offers '$CANDS', want the id $id"
	docs_complete "$CC_BIN" -v -m "${id:0:12}"
	[ "$CANDS" = "$id" ] || fail "TAB on '-v -m ${id:0:12}' offers '$CANDS', want the id $id"
	docs_complete "$CC_BIN" ccdocs-w
	[ "$CANDS" = "$name" ] || fail "TAB on 'ccdocs-w' offers '$CANDS', want the name $name"
	# an empty word: both containers and "audit", nothing else of theirs
	docs_complete "$CC_BIN" ''
	printf '%s\n' "$CANDS" | grep -qxF "$id" || fail "TAB on nothing does not offer $id: $CANDS"
	printf '%s\n' "$CANDS" | grep -qxF "$name" || fail "TAB on nothing does not offer $name: $CANDS"
	printf '%s\n' "$CANDS" | grep -qxF audit || fail "TAB on nothing does not offer audit: $CANDS"
	# after the ID: the container's command, nothing from the host
	docs_complete "$CC_BIN" "$id" /
	[ -z "$CANDS" ] || fail "TAB after the ID offers '$CANDS'"
	# a stopped container is gone from the candidates
	ct_stop cc-docs-id
	docs_complete "$CC_BIN" "${id:0:7}"
	[ -z "$CANDS" ] || fail "TAB on '${id:0:7}' after the container stopped offers '$CANDS'"
	return 0
}
