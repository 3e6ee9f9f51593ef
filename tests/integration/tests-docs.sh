# shellcheck shell=bash
# The installed man pages and bash completion (sourced by tests.sh): what
# `meson install` put into the suite's prefix, used the way an operator
# does: `man crashcart`, and TAB on a running container's id or name; and
# README's demo command, run as README gives it.
# (Rendering, option and policy-key coverage are unit-level: tests/docs.)
# shellcheck disable=SC2034  # TESTS is read by run.sh

TESTS+=(
	t_docs_man_installed
	t_docs_completion_container
	t_docs_demo
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

# ------------------------------------------------------------------ demo

# readme_setup_command WORD: the command of README.md's "Set-up on a fresh
# machine" block whose program is named WORD (its comment cut off)
readme_setup_command() {
	awk '/^## Set-up on a fresh machine/ { s = 1; next }
		s && /^## / { exit }
		s && /^```/ { f = !f; next }
		s && f' "$CC_SRC/README.md" |
		sed 's/[[:space:]]*#.*//' | awk -v w="$1" '{ n = split($1, p, "/") } p[n] == w'
}

# demo_leftovers DIR: what the demo left of its temporary directory DIR: the
# directory, mounts and loop devices of files under it, processes started
# from it, its microcontainer's cgroups
demo_leftovers() {
	local d=$1 l f p a
	[ -e "$d" ] && echo "its directory $d"
	awk -v d="$d" 'index($0, d) {print "mount " $5}' /proc/self/mountinfo
	losetup -l -n -O NAME,BACK-FILE 2>/dev/null | while read -r l f; do
		case $f in "$d"/*) echo "loop device $l for $f" ;; esac
	done
	# (builtins only: a grep for the path would find itself)
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$BASHPID" ] && continue
		mapfile -d '' a 2>/dev/null < "$p/cmdline" || continue
		[[ "${a[*]}" == *"$d"* ]] && echo "process ${p#/proc/} (${a[*]})"
	done
	for f in $(cg_dirs demo); do [ -d "$f" ] && echo "cgroup $f"; done
	return 0
}

# demo_cleanup DIR: stop and detach what the demo left in DIR, the way the
# demo's own trap does (lib.sh with CC_T=DIR)
demo_cleanup() {
	# shellcheck disable=SC2016  # the script's variables are its own
	CC_T=$1 bash -c '. "$CC_IT_DIR/lib.sh"; ct_stop_all; detach_leftovers; remove_cgroup_parents' >/dev/null 2>&1
	rm -rf "$1"
}

# README's demo command (taken from README.md, not copied here), run as
# root from the source tree in a clean environment, as a user would run
# it: it builds and installs its own prefix, starts a microcontainer whose
# root is one static binary, debugs it as the operator, and removes what it
# made. Its output must show the tool in that container (its hostname,
# its PID 1, the operator's ids, no capabilities), the mount read-only and
# gone after -u, the refusals and an intact audit chain; afterwards nothing
# of it may be left: no mount, no loop device, no process, no directory.
t_docs_demo() {
	local cmd out=$CC_TT/demo.out err=$CC_TT/demo.err rc t0 secs dt pid entries loop left
	cmd=$(readme_setup_command demo)
	[ -n "$cmd" ] || fail "README.md's set-up block names no demo command"
	[ "$(printf '%s\n' "$cmd" | wc -l)" = 1 ] || fail "README.md's set-up block names more than one demo command: $cmd"
	log "# README's demo command: $cmd"
	t0=$(date +%s)
	(cd "$CC_SRC" && exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 timeout -k 5 80 bash -c "$cmd") </dev/null >"$out" 2>"$err"
	rc=$?
	secs=$(( $(date +%s) - t0 ))
	# its temporary directory, from what it says it installs into
	dt=$(sed -n 's|^.*== build and install into \(/var/tmp/crashcart-demo\.[A-Za-z0-9]*\)/prefix .*|\1|p' "$out" | head -n1)
	left=
	if [ -n "$dt" ]; then
		left=$(demo_leftovers "$dt")
		[ -z "$left" ] || demo_cleanup "$dt"
	fi
	log "# the demo: exit $rc after ${secs}s; stdout:"
	sed 's/^/#   /' "$out"
	log "# stderr:"
	sed 's/^/#   /' "$err"
	[ -z "$left" ] || left="left behind: $(printf '%s\n' "$left" | paste -sd, -)"
	[ "$rc" = 0 ] || fail "'$cmd' exited $rc (124: it ran longer than 80 s)${left:+; $left}"
	[ -n "$dt" ] || fail "the demo does not say where it installed crashcart"
	[ -z "$left" ] || fail "the demo $left"

	# the microcontainer: its whole root is one static binary
	pid=$(sed -n 's/^container init is host PID \([0-9]*\); operator: .*/\1/p' "$out")
	[ -n "$pid" ] || fail "the demo does not name its container's PID"
	entries=$(sed -n "\|^/proc/$pid/root/:\$|,/^\$/p" "$out" | awk 'NF >= 9 {print $NF}' | paste -sd' ')
	[ "$entries" = "dev proc sleeper sys" ] || fail "the container's root holds '$entries', not 'dev proc sleeper sys'"
	# the image mounted into it read-only, nosuid, nodev from a loop device
	loop=$(sed -nE 's|^[0-9]+ [0-9]+ [0-9]+:[0-9]+ / /dev/crashcart ro,nosuid,nodev[^ ]*( [^ -][^ ]*)* - [a-z0-9]+ (/dev/loop[0-9]+) .*|\2|p' "$out")
	[ -n "$loop" ] || fail "no read-only, nosuid, nodev /dev/crashcart from a loop device in the container's mountinfo"
	# the tool ran in the container, as the operator, with nothing more:
	# the container's hostname, its init as PID 1, the reaper beside it
	grep -qx 'hostname: demo' "$out" || fail "the tool did not see the container's hostname 'demo'"
	grep -qx "uid=$(id -u "$OP_USER") gid=$(id -g "$OP_USER") groups=.*" "$out" || fail "the tool did not run as $OP_USER"
	grep -qxP 'CapEff:\t0{16}' "$out" || fail "the tool had capabilities"
	grep -qxP 'NoNewPrivs:\t1' "$out" || fail "the tool ran without no_new_privs"
	grep -qE '^ +1 0 +/sleeper$' "$out" || fail "the tool's PID 1 is not the container's /sleeper: not in its PID namespace"
	grep -qE '^ +[0-9]+ [0-9]+ +crashcart-reaper$' "$out" || fail "no crashcart-reaper beside the tool"
	if grep -q '^bash [0-9.]*([0-9]*)-release in demo, PATH=/dev/crashcart/bin' "$out"; then
		note "the demo's shell: bash from the toolbox image it built"
	else
		grep -qx '(the demo goes on with a busybox-only image)' "$out" || fail "neither the toolbox's bash nor the busybox-only fallback ran"
		grep -qx 'a shell from the image: .* in demo' "$out" || fail "the busybox-only image's shell did not run in the container"
		note "the demo's shell: the busybox-only image $(grep -x '(no toolbox image: .*)' "$out")"
	fi
	# the refusals, one line each
	grep -q "^crashcart: PID [0-9]* is not in a container" "$err" || fail "the host's own process was not refused"
	grep -q "^crashcart: image .*world-writable.ext4 is writable by others" "$err" || fail "the world-writable image was not refused"
	grep -q "^crashcart: permission denied running .*: only members of group '$OPS_GROUP' may use crashcart" "$err" ||
		fail "the non-member was not refused"
	[ "$(grep -c '^(exit status 125)$' "$out")" = 3 ] || fail "the three refusals did not each exit 125"
	# unmounted: no /dev/crashcart left in the container while it still ran
	grep -A1 -xF "\$ grep -c  /dev/crashcart  /proc/$pid/mountinfo" "$out" | tail -n1 | grep -qx 0 ||
		fail "/dev/crashcart still mounted in the container after -u"
	grep -qE "/audit\\.log: [0-9]+ records, chain intact" "$out" || fail "the demo's audit log does not verify"
	grep -qx '.*container stopped; loop devices backing the image: 0.*' "$out" || fail "the demo's image was still attached"
	# and on the host now (not only what the demo says): its container is
	# gone, the loop device it used is not backed by anything of it
	[ ! -e "/proc/$pid" ] || ! grep -q /sleeper "/proc/$pid/cmdline" 2>/dev/null || fail "the demo's container (PID $pid) still runs"
	if losetup -n -O BACK-FILE "$loop" 2>/dev/null | grep -qF "$dt"; then fail "$loop is still attached to the demo's image"; fi
	note "tools/demo ran in ${secs}s"
}
