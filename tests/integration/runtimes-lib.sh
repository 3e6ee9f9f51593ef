# shellcheck shell=bash
# Helpers for the real-runtime tests (tests-runtimes.sh): install a runtime
# when missing, start and stop daemons by PID, clean up in reverse order,
# and the checks every runtime goes through as the operator.
#
# Each test keeps all of a runtime's state under $CC_TT/<runtime> (private
# data roots, state dirs and sockets), registers what it starts with
# rt_defer, and rt_begin's EXIT trap undoes it (also on fail, skip and
# SIGTERM). Daemons are also listed in $CC_T/rt-daemons so that a test killed
# with SIGKILL by the harness's timeout has its daemons stopped by the next
# runtime test (see rt_reap_stale).

RT_CLEANUP=()

# rt_defer CMD...: run CMD (one string, eval'ed) when the test ends, last first.
rt_defer() { RT_CLEANUP+=("$1"); }

rt_cleanup() {
	local i
	for ((i = ${#RT_CLEANUP[@]} - 1; i >= 0; i--)); do
		log "# cleanup: ${RT_CLEANUP[$i]}"
		eval "${RT_CLEANUP[$i]}" </dev/null >>"$CC_TT/cleanup.log" 2>&1
	done
	RT_CLEANUP=()
}

# rt_begin: the test's EXIT trap (replaces runone.sh's, doing what it did too)
rt_begin() {
	# shellcheck disable=SC2154  # rc is set inside the trap
	trap 'rc=$?; trap - EXIT; rt_cleanup; ct_stop_all; broker_restore_caps; exit $rc' EXIT
	rt_reap_stale
}

# rt_reap_stale: daemons of an earlier runtime test that was killed before
# its clean-up ran (pid and start time must still match).
rt_reap_stale() {
	local f=$CC_T/rt-daemons pid start name
	[ -s "$f" ] || return 0
	while read -r pid start name; do
		[ "$(proc_start "$pid")" = "$start" ] || continue
		note "stopping $name (PID $pid) left running by an earlier test"
		rt_kill_wait "$pid" 15
	done < "$f"
	: > "$f"
}

proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

# rt_kill_wait PID SECONDS: SIGTERM, wait, then SIGKILL.
rt_kill_wait() {
	local pid=$1 secs=$2
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_until "$secs" proc_gone "$pid" && return 0
	log "# PID $pid ignored SIGTERM for ${secs}s: SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	wait_until 5 proc_gone "$pid"
}

# rt_need BIN...: every BIN on PATH (or an executable path); installs the
# runtimes (install-runtimes) once when some are missing; skips when they
# still are.
rt_need() {
	local b missing=
	for b; do command -v "$b" >/dev/null 2>&1 || missing="$missing $b"; done
	[ -z "$missing" ] && return 0
	log "# missing:$missing; running install-runtimes"
	if ! timeout -k 5 600 "$CC_IT_DIR/install-runtimes" >"$CC_TT/install.log" 2>&1; then
		skip "not installed:$missing, and install-runtimes failed: $(tail -n 1 "$CC_TT/install.log")"
	fi
	missing=
	for b; do command -v "$b" >/dev/null 2>&1 || missing="$missing $b"; done
	[ -z "$missing" ] || skip "not installed:$missing (install-runtimes did not provide it)"
}

# rt_daemon NAME LOG CMD...: start CMD in its own session, detached from
# the test's stdio; sets DPID; stopped (SIGTERM, then SIGKILL) at the end.
rt_daemon() {
	local name=$1 dlog=$2
	shift 2
	setsid "$@" </dev/null >"$dlog" 2>&1 &
	DPID=$!
	echo "$DPID $(proc_start "$DPID") $name" >> "$CC_T/rt-daemons"
	rt_defer "rt_kill_wait $DPID 20"
	log "# started $name: PID $DPID"
}

# rt_rootfs DIR: the minimal root (static sleeper, empty proc sys dev etc).
rt_rootfs() {
	minimal_root "$1" && mkdir -p "$1/etc" "$1/tmp" && chmod 755 "$1/etc" && chmod 1777 "$1/tmp"
}

# rt_cg_new_parents NAME...: remember which top-level cgroups (in any
# hierarchy) do not exist yet; rt_cg_remove_new removes those of them that
# are empty at the end (runtimes create their parents and leave them).
rt_cg_track() {
	local n c
	for n; do
		for c in /sys/fs/cgroup/*/; do
			[ -e "$c$n" ] || rt_defer "rt_cg_rmdir_tree '${c}$n'"
		done
	done
}
# rt_cg_rmdir_tree DIR: remove a cgroup directory tree, leaves first
rt_cg_rmdir_tree() {
	[ -d "$1" ] || return 0
	find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
	return 0
}

# rt_track PATH...: remove each PATH at the end if it does not exist now
# (what runtimes create outside their private roots: lock dirs, caches).
rt_track() {
	local p
	for p; do
		[ -e "$p" ] || rt_defer "rm -rf '$p'"
	done
}

# rt_umount_under DIR: unmount everything mounted below DIR, deepest first
rt_umount_under() {
	awk -v t="$1" 'index($5, t "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
}

# rt_dir NAME: a fresh 0755 directory under the test's directory
rt_dir() {
	local d=$CC_TT/$1
	mkdir -p "$d" && chmod 755 "$d" && printf '%s\n' "$d"
}

# ---------------------------------------------------------------- checks

# rt_resolves FORM PID WANT [VAR=VALUE...]: as the operator (with VARs in
# its environment), `crashcart -v FORM busybox hostname` resolves to PID
# and prints WANT (the container's hostname).
rt_resolves() {
	local form=$1 pid=$2 want=$3
	shift 3
	run as_op env "$@" "$CC_BIN" -v -i "$IMG_EXT4" "$form" "$BB" hostname
	expect_rc 0 "crashcart $form hostname"
	printf '%s\n' "$ERR" | grep -Eq "^crashcart: target .* PID $pid\$" ||
		fail "crashcart $form did not resolve to PID $pid: $ERR"
	expect_out "$want"
	RT_FORMS="${RT_FORMS:+$RT_FORMS, }$form"
}

# rt_refused FORM [VAR=VALUE...]: resolution fails with one error line
rt_unresolved() {
	local form=$1
	shift
	run as_op env "$@" "$CC_BIN" -i "$IMG_EXT4" "$form" "$BB" hostname
	expect_rc 125 "crashcart $form (want a resolution failure)"
	expect_one_error_line
}

# rt_session FORM PID [VAR=VALUE...]: -m, the image is there, a command in
# it works, -u, nothing left (no mount, no /dev/crashcart, no loop device).
rt_session() {
	local form=$1 pid=$2
	shift 2
	run as_op env "$@" "$CC_BIN" -i "$IMG_EXT4" -m "$form"
	expect_rc 0 "crashcart -m $form"
	expect_mounted "$pid" ext4
	run as_op env "$@" "$CC_BIN" -i "$IMG_EXT4" "$form" "$BB" cat /dev/crashcart/etc/crashcart-test
	expect_rc 0 "crashcart $form cat"
	expect_out "crashcart integration test image"
	expect_mounted "$pid" ext4
	run as_op env "$@" "$CC_BIN" -u "$form"
	expect_rc 0 "crashcart -u $form"
	expect_nothing_mounted "$pid" "$IMG_EXT4"
}

# rt_nothing_left DIR PID...: after the clean-up of a runtime: the PIDs are
# gone, nothing is mounted under DIR, no loop device backs the image.
rt_nothing_left() {
	local d=$1 p m
	shift
	for p; do
		wait_until 10 proc_gone "$p" || fail "PID $p ($(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)) still runs"
	done
	m=$(awk -v t="$d" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo)
	[ -z "$m" ] || fail "still mounted under $d: $m"
	wait_until 3 no_loops_for "$IMG_EXT4" || fail "loop device left for $IMG_EXT4"
}

# ---------------------------------------------------------------- user namespaces

# rt_subids NAME:START:COUNT...: add these subordinate id ranges to
# /etc/subuid and /etc/subgid (newuidmap/newgidmap read them) for the test;
# the files are put back as they were at the end. Once per test.
rt_subids() {
	local f l
	for f in /etc/subuid /etc/subgid; do
		if [ -e "$f" ]; then
			cp -p "$f" "$CC_TT/${f##*/}.orig" || fail "cannot save $f"
			rt_defer "cp -p '$CC_TT/${f##*/}.orig' '$f'"
		else
			rt_defer "rm -f '$f'"
		fi
		for l; do grep -qx "$l" "$f" 2>/dev/null || echo "$l" >> "$f"; done
	done
}

# rt_userns_session FORM PID: PID is in a user namespace of its own (its
# root is not host root); then rt_session, and the tool's identity there:
# the operator's uid, no capability, the initial user namespace (it does
# not join the container's), the image's shell; nothing left after.
rt_userns_session() {
	local form=$1 pid=$2 uid
	uid=$(op_uid)
	[ "$(awk 'NR == 1 {print $1, $2}' "/proc/$pid/uid_map")" != "0 0" ] ||
		fail "PID $pid is not user-namespaced: uid_map $(cat "/proc/$pid/uid_map")"
	log "# PID $pid: uid_map $(tr -s ' \n' ' ' < "/proc/$pid/uid_map")"
	rt_session "$form" "$pid"
	run as_op "$CC_BIN" -i "$IMG_EXT4" "$form" "$BB" sh -c \
		"$BB grep -E '^(Uid|CapEff):' /proc/self/status; $BB readlink /proc/self/ns/user; echo \$((6 * 7))"
	expect_rc 0 "the tool in $form"
	printf '%s\n' "$OUT" | grep -qE "^Uid:[[:space:]]+${uid}[[:space:]]" || fail "the tool is not the operator (uid $uid): $OUT"
	printf '%s\n' "$OUT" | grep -qx "CapEff:	0000000000000000" || fail "the tool has capabilities: $OUT"
	[ "$(printf '%s\n' "$OUT" | sed -n 3p)" = "$(readlink /proc/self/ns/user)" ] ||
		fail "the tool is not in the initial user namespace: $OUT"
	[ "$(printf '%s\n' "$OUT" | sed -n 4p)" = 42 ] || fail "the image's shell did not run: $OUT"
	expect_nothing_mounted "$pid" "$IMG_EXT4"
}
