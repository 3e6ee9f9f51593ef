# shellcheck shell=bash
# User-namespaced containers (sourced by tests.sh), made by hand the way
# rootless runtimes make theirs: host uid 100000 runs `unshare --user
# --map-root-user` plus mount/pid/net/uts/ipc/cgroup namespaces and a
# tmpfs /dev (ct_start NAME UID). The real runtimes (unprivileged LXC,
# podman --userns=auto, rootless podman) are in tests-runtimes.sh.
#   mount, shell, tools, unmount, nothing left; who owns what
#   the tool stays outside the container's user namespace: its root can
#     neither ptrace nor signal it (it could if the tool joined)
#   profiles with capabilities are refused there
#   a user namespace made inside the operator's own (subordinate ids) is
#     the operator's: refused
# shellcheck disable=SC2016,SC2034,SC2086,SC2154  # TESTS is read by run.sh; $BB unquoted as elsewhere

TESTS+=(
	t_userns_session
	t_userns_root_cannot_take_the_tool
	t_userns_root_unmounts_the_image
	t_userns_profile_refused
	t_userns_operator_subordinate_ids
)

PY3=/usr/bin/python3

start_userns_ct() { # start_userns_ct NAME: sets PID
	PID=$(ct_start "$1" "$CT_USERNS_UID") || fail "cannot start user-namespaced microcontainer $1"
	log "# user-namespaced microcontainer $1 (made by uid $CT_USERNS_UID): host pid $PID"
	[ "$(awk '{print $1, $2, $3}' "/proc/$PID/uid_map")" = "0 $CT_USERNS_UID 1" ] ||
		fail "container $1 has uid_map '$(cat "/proc/$PID/uid_map")', want '0 $CT_USERNS_UID 1'"
}

# tool_pid ARG: the host PID of the session's tool whose command line is
# "$BB sleep ARG" (a number no other process uses)
tool_pid() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(tr '\0' ' ' 2>/dev/null < "$p/cmdline")" = "$BB sleep $1 " ] && { echo "${p#/proc/}"; return 0; }
	done
	return 1
}

t_userns_session() {
	local uid gid st
	uid=$(op_uid)
	gid=$(id -g "$OP_USER")
	start_userns_ct cc-userns
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "crashcart -m into a user-namespaced container"
	expect_mounted "$PID" ext4
	no_state_xattr "/proc/$PID/root/dev" && fail "-m left no trusted.crashcart state on the container's /dev"
	# the directory belongs to the container's root (host uid 100000), the
	# image to the host's root: shown as nobody inside, and readable
	[ "$(stat -c '%u:%g %a' "/proc/$PID/root/dev/crashcart")" = "0:0 755" ] ||
		fail "the image's root is $(stat -c '%u:%g %a' "/proc/$PID/root/dev/crashcart"), want 0:0 755"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c "$BB stat -c '%u:%g' /dev; $BB stat -c '%u:%g %a' /dev/crashcart"
	expect_rc 0 "stat in the tool"
	[ "$(printf '%s\n' "$OUT" | sed -n 1p)" = "$CT_USERNS_UID:$CT_USERNS_UID" ] ||
		fail "the container's /dev is $(printf '%s\n' "$OUT" | sed -n 1p) as the tool sees it, want $CT_USERNS_UID:$CT_USERNS_UID"
	# the tools: a command from the image, its files, the container's view
	run as_op cc -i "$IMG_EXT4" "$PID" $BB cat /dev/crashcart/etc/crashcart-test
	expect_rc 0 "cat a file of the image"
	expect_out "crashcart integration test image"
	run as_op cc -i "$IMG_EXT4" "$PID" $BB hostname
	expect_rc 0 "hostname"
	expect_out cc-userns
	run as_op cc -i "$IMG_EXT4" "$PID" $BB ps -o pid,args
	expect_rc 0 "ps"
	printf '%s\n' "$OUT" | grep -qE '^ *1 +/sleeper *$' || fail "PID 1 in the tool's view is not the container's /sleeper: $OUT"
	# who the tool is: the operator's ids, no capability, no_new_privs, the
	# initial user namespace (not the container's)
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c "$BB cat /proc/self/status; $BB readlink /proc/self/ns/user"
	expect_rc 0 "the tool's status"
	st=$OUT
	for f in CapEff CapPrm CapInh CapAmb; do
		printf '%s\n' "$st" | grep -qx "$f:	0000000000000000" || fail "tool has $(printf '%s\n' "$st" | grep "^$f:"), want 0"
	done
	printf '%s\n' "$st" | grep -qx 'NoNewPrivs:	1' || fail "tool has $(printf '%s\n' "$st" | grep '^NoNewPrivs:'), want 1"
	printf '%s\n' "$st" | grep -qE "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}$" ||
		fail "tool uids: $(printf '%s\n' "$st" | grep '^Uid:'), want all $uid"
	printf '%s\n' "$st" | grep -qE "^Gid:[[:space:]]+${gid}[[:space:]]+${gid}[[:space:]]+${gid}[[:space:]]+${gid}$" ||
		fail "tool gids: $(printf '%s\n' "$st" | grep '^Gid:'), want all $gid"
	[ "$(printf '%s\n' "$st" | tail -n 1)" = "$(readlink /proc/self/ns/user)" ] ||
		fail "the tool is in user namespace $(printf '%s\n' "$st" | tail -n 1), want the initial one $(readlink /proc/self/ns/user)"
	# every namespace of the container's but its user namespace: entered
	# from the initial user namespace, where the launcher's CAP_SYS_ADMIN
	# covers namespaces that a child user namespace owns
	local ns want got
	for ns in mnt pid net uts ipc cgroup; do
		want=$(readlink "/proc/$PID/ns/$ns")
		[ "$want" != "$(readlink "/proc/self/ns/$ns")" ] || fail "the container shares the host's $ns namespace"
		got="${got:+$got }$want"
	done
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c \
		"for n in mnt pid net uts ipc cgroup; do $BB readlink /proc/self/ns/\$n; done | $BB tr '\n' ' '"
	expect_rc 0 "the tool's namespaces"
	[ "$OUT" = "$got " ] || fail "the tool's namespaces are '$OUT', want the container's '$got '"
	# the shell the image gives (no command: its sh), reading a script
	log "\$ as_op cc -i $IMG_EXT4 $PID  <<< 'echo in-shell; ...'"
	OUT=$(printf 'echo in-shell $(%s id -u)\nexit 7\n' "$BB" |
		timeout -k 5 "$CC_TIMEOUT" setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$CC_BIN" -i "$IMG_EXT4" "$PID" 2>"$CC_TT/shell.err")
	RC=$?
	log "  rc=$RC stdout: $OUT stderr: $(cat "$CC_TT/shell.err")"
	expect_rc 7 "the image's shell"
	expect_out "in-shell $uid"
	# the container cannot write as the tool there: its tmpfs knows no such owner
	run as_op cc -i "$IMG_EXT4" "$PID" $BB sh -c "echo x > /dev/by-the-tool"
	[ "$RC" != 0 ] || fail "the tool created a file in the container's /dev"
	case $ERR in *"Value too large for defined data type"*) ;; *) fail "not EOVERFLOW (README says so): $ERR" ;; esac
	[ -e "/proc/$PID/root/dev/by-the-tool" ] && fail "/dev/by-the-tool exists"
	run as_op cc -u "$PID"
	expect_rc 0 "crashcart -u"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	# and a session without -m leaves nothing either
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	expect_rc 0 "session without -m"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	no_state_xattr "/proc/$PID/root/dev" || fail "trusted.crashcart left on the container's /dev"
	return 0
}

# The container's root holds every capability in its user namespace. Had
# the tool joined that namespace (as it did before), its root could ptrace
# it and act with the operator's uid and groups, or kill it. Outside, it
# can do neither.
t_userns_root_cannot_take_the_tool() {
	local tp out
	start_userns_ct cc-userns-take
	run_bg tool as_op cc -i "$IMG_EXT4" "$PID" $BB sleep 41
	wait_until 10 tool_pid 41 >/dev/null || { wait_bg tool; fail "the tool never started"; }
	tp=$(tool_pid 41)
	log "# tool: host PID $tp"
	# the container's own view of the tool: the overflow id
	out=$(nsenter -t "$PID" -U -- awk '/^Uid:/ {print $2}' "/proc/$tp/status")
	[ "$out" = 65534 ] || fail "the container sees the tool as uid '$out', want the overflow id 65534"
	# its root (nsenter -U: uid 0 there, every capability there)
	out=$(nsenter -t "$PID" -U -- "$PY3" -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
pid = int(sys.argv[1])
r = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
print("attach", r, os.strerror(ctypes.get_errno()) if r else "ok")
try:
    os.kill(pid, 0)
    print("signal ok")
except OSError as e:
    print("signal", e.strerror)
' "$tp" 2>&1)
	log "  container root: $out"
	case $out in *"attach -1 Operation not permitted"*) ;; *) fail "the container's root could ptrace the tool: $out" ;; esac
	case $out in *"signal Operation not permitted"*) ;; *) fail "the container's root could signal the tool: $out" ;; esac
	kill -0 "$tp" 2>/dev/null || fail "the tool is gone"
	kill -TERM "$tp"
	wait_bg tool
	expect_nothing_mounted "$PID" "$IMG_EXT4"
}

# The container's root holds CAP_SYS_ADMIN over its own mount namespace:
# it can unmount the image, and re-mount its per-mount flags, but not make
# the filesystem writable. Unmounted by the container, the directory
# crashcart made shows, owned by the container's root; the next -u removes
# it and nothing is left.
t_userns_root_unmounts_the_image() {
	local name=cc-userns-umount
	start_userns_ct "$name"
	{ cp "$BUSYBOX" "$CTDIR/$name/root/busybox" && chmod 755 "$CTDIR/$name/root/busybox"; } || fail "cannot put busybox in"
	# the container's root: uid 0 of its user namespace, every capability there
	local ctroot=(nsenter -t "$PID" -U -m -p -- /busybox)
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m"
	# the image's files in the container's eyes: the host root's, unmapped
	# there (nobody), and readable
	run as_root "${ctroot[@]}" stat -c '%u:%g' /dev/crashcart/etc/crashcart-test
	expect_out "65534:65534"
	run as_root "${ctroot[@]}" cat /dev/crashcart/etc/crashcart-test
	expect_out "crashcart integration test image"
	run as_root "${ctroot[@]}" mount -o remount,bind,rw,suid,dev /dev/crashcart
	expect_rc 0 "the container's root re-mounts /dev/crashcart rw,suid,dev"
	run as_root "${ctroot[@]}" touch /dev/crashcart/by-the-container
	[ "$RC" != 0 ] || fail "the container's root wrote into the image"
	case $ERR in *"Read-only file system"*) ;; *) fail "not EROFS: $ERR" ;; esac
	run as_root "${ctroot[@]}" mount -o remount,rw /dev/crashcart
	[ "$RC" != 0 ] || fail "the container's root made the image's filesystem writable"
	run as_root "${ctroot[@]}" umount /dev/crashcart
	expect_rc 0 "the container's root unmounts the image"
	not_mounted_in "$PID" || fail "still mounted: $(mounted_in "$PID")"
	[ "$(stat -c '%u:%g %a' "/proc/$PID/root/dev/crashcart")" = "$CT_USERNS_UID:$CT_USERNS_UID 755" ] ||
		fail "/dev/crashcart is $(stat -c '%u:%g %a' "/proc/$PID/root/dev/crashcart"), want the container's root's ($CT_USERNS_UID), 755"
	run as_op cc -u "$PID"
	expect_rc 0 "-u after the container unmounted it"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	no_state_xattr "/proc/$PID/root/dev" || fail "trusted.crashcart left on the container's /dev"
}

# A profile with capabilities does not run in a user-namespaced container:
# one line, 125, refused on record, nothing attached.
t_userns_profile_refused() {
	pol_trap
	start_userns_ct cc-userns-prof
	set_policy <<-EOF
	[tracers]
	group = $OPS_GROUP
	actions = exec, mount, unmount
	image = $IMGDIR/*
	target = *
	profile = ptrace
	EOF
	audit_mark
	run as_op cc -i "$IMG_EXT4" "$PID" $BB true
	refusal "$PID" "$IMG_EXT4" "ptrace profile in a user-namespaced container"
	expect_err_match "user-namespaced container.*rule \[tracers\].*only profile = restricted"
	# -m needs no profile: allowed
	run as_op cc -i "$IMG_EXT4" -m "$PID"
	expect_rc 0 "-m under a ptrace rule"
	run as_op cc -u "$PID"
	expect_rc 0 "-u"
	expect_nothing_mounted "$PID" "$IMG_EXT4"
	# and the same rule still gives ptrace in a container without one
	start_ct cc-userns-prof-plain
	run as_op cc -i "$IMG_EXT4" "$PID" $BB grep '^CapEff' /proc/self/status
	expect_rc 0 "ptrace profile in a container without a user namespace"
	expect_out "CapEff:	0000000000080000"
}

# The operator's subordinate ids (/etc/subuid, newuidmap): a user namespace
# of theirs maps its root to host uid 200000, and in it a nested one is
# made by that root, so the nested one's owner is 200000, not the
# operator. Its parent is the operator's: not a container (target.c walks
# the chain up to the initial namespace).
t_userns_operator_subordinate_ids() {
	local top hmi
	tgt_trap
	command -v newuidmap >/dev/null || skip "newuidmap not installed (uidmap; tests/integration/install-runtimes)"
	cp /etc/subuid "$CC_TT/subuid.orig" 2>/dev/null || : > "$CC_TT/subuid.orig"
	cp /etc/subgid "$CC_TT/subgid.orig" 2>/dev/null || : > "$CC_TT/subgid.orig"
	trap 'rc=$?; trap - EXIT; tgt_kill; cp "$CC_TT/subuid.orig" /etc/subuid; cp "$CC_TT/subgid.orig" /etc/subgid; ct_stop_all; exit $rc' EXIT
	echo "$OP_USER:200000:65536" >> /etc/subuid
	echo "$OP_USER:200000:65536" >> /etc/subgid
	hmi=$(host_mounts)
	# outer: the operator's, 0 -> 200000 (subordinate); inner: made by that root
	setpriv --reuid="$(op_uid)" --regid="$(id -g "$OP_USER")" --init-groups -- \
		unshare --user --map-users=200000,0,65536 --map-groups=200000,0,65536 --setuid 0 --setgid 0 -- \
		unshare --user --map-root-user --mount --pid --fork --kill-child --propagation private -- \
		sh -c 'mount -t tmpfs -o mode=755 ccdev /dev && exec "$1"' sh "$HBIN/sleeper" \
		</dev/null >"$CC_TT/target.log" 2>&1 &
	top=$!
	TGT_PIDS="$TGT_PIDS $top"
	local i
	TPID=
	for i in $(seq 100); do
		TPID=$(for p in /proc/[0-9]*; do [ "$(tr '\0' ' ' 2>/dev/null < "$p/cmdline")" = "$HBIN/sleeper " ] &&
			[ "$(awk '{print $2}' "$p/uid_map" 2>/dev/null | head -n 1)" = 200000 ] && echo "${p#/proc/}"; done | head -n 1)
		[ -n "$TPID" ] && break
		kill -0 "$top" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$TPID" ] || fail "the nested namespace did not start: $(cat "$CC_TT/target.log")"
	[ "$(stat -c %u "/proc/$TPID/root/dev")" = 200000 ] || fail "the nested /dev is not owned by 200000"
	audit_mark
	run as_op cc -i "$IMG_EXT4" -m "$TPID"
	refusal "$TPID" "$IMG_EXT4" "a namespace inside the operator's own"
	expect_err_match "user namespace owned by you"
	run as_op cc -i "$IMG_EXT4" "$TPID" $BB true
	expect_rc 125 "session in the operator's nested namespace"
	[ -e "/proc/$TPID/root/dev/crashcart" ] && fail "the broker created /dev/crashcart there"
	tgt_kill
	[ "$(host_mounts)" = "$hmi" ] || fail "the host's mounts changed"
	return 0
}
